package dev.hoist.company;

/** The company-wide way of saying hello; a plain library jar without Spring. */
public final class Salutation {

    private Salutation() {
    }

    public static String to(String who) {
        return "hello from " + who;
    }
}
