package dev.hoist.shadow;

/** One of two classes of this name; the one the class loader finds first wins. */
public final class Which {

    private Which() {
    }

    /** The library this copy of the class came from. */
    public static String library() {
        return "shadow-b";
    }
}
