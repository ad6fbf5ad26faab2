package com.example.greeting;

/** The "release" dependency: packaged as greeting-1.0.jar. */
public final class Greeting {
    private Greeting() {}

    public static String message() {
        return "greeting-lib";
    }
}
