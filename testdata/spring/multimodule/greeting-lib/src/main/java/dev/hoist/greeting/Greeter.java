package dev.hoist.greeting;

/** Builds the greeting text; kept free of Spring so it is a plain library jar. */
public final class Greeter {

    private final String who;

    public Greeter(String who) {
        this.who = who;
    }

    public String greet() {
        return "hello from " + who;
    }
}
