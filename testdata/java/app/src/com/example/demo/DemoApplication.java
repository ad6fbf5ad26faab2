package com.example.demo;

import com.example.greeting.Greeting;
import com.example.snap.Snap;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * The demo app used by hoist's tests. Every line it prints proves one thing about how the
 * image was assembled: dependency jars on the class path, the resource in place, the
 * environment, the arguments and the working directory.
 */
public final class DemoApplication {
    private DemoApplication() {}

    public static void main(String[] args) throws IOException {
        System.out.println("demo: hello from " + Greeting.message());
        System.out.println("demo: snapshot " + Snap.version());
        System.out.println("demo: resource " + firstLine("application.properties"));
        String profile = System.getenv("SPRING_PROFILES_ACTIVE");
        System.out.println("demo: profile " + (profile == null ? "none" : profile));
        System.out.println("demo: args " + String.join(" ", args));
        System.out.println("demo: cwd " + System.getProperty("user.dir"));
    }

    /** First line of a class path resource, or {@code <missing>}. */
    private static String firstLine(String name) throws IOException {
        InputStream in = DemoApplication.class.getClassLoader().getResourceAsStream(name);
        if (in == null) {
            return "<missing>";
        }
        try (BufferedReader reader =
                new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line = reader.readLine();
            return line == null ? "" : line;
        }
    }
}
