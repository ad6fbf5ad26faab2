package com.example.snap;

/** The snapshot dependency: packaged as snap-2.0-SNAPSHOT.jar. */
public final class Snap {
    private Snap() {}

    public static String version() {
        return "2.0-SNAPSHOT";
    }
}
