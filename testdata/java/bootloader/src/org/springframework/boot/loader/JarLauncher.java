package org.springframework.boot.loader;

/**
 * Spring Boot 2's launcher name; like Boot 3.2's deprecated class of the same name, it hands
 * over to {@link org.springframework.boot.loader.launch.JarLauncher}.
 */
public class JarLauncher {
    public static void main(String[] args) {
        org.springframework.boot.loader.launch.JarLauncher.main(args);
    }
}
