package org.springframework.boot.loader.launch;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A small stand-in for Spring Boot's launcher (Boot 3.2+ name), for hoist's tests.
 *
 * <p>Exploded mode ({@code java -cp /app org.springframework.boot.loader.launch.JarLauncher},
 * this class loaded from a directory): the class path is {@code BOOT-INF/classes} plus the jars
 * of {@code BOOT-INF/lib}, in the order of {@code BOOT-INF/classpath.idx} when it exists, else
 * sorted by name. Packaged mode ({@code java -jar app.jar}): the same, after copying the classes
 * and the nested jars out to a temporary directory. Then {@code Start-Class} from the manifest
 * is run in a fresh class loader. One line, {@code launcher: exploded} or {@code launcher:
 * packaged}, goes to stderr.
 */
public class JarLauncher {
    private static final String CLASSES = "BOOT-INF/classes/";
    private static final String LIB = "BOOT-INF/lib/";
    private static final String CLASSPATH_INDEX = "BOOT-INF/classpath.idx";

    public static void main(String[] args) {
        try {
            launch(args);
        } catch (InvocationTargetException e) {
            fail(e.getCause());
        } catch (Throwable e) {
            fail(e);
        }
    }

    private static void fail(Throwable e) {
        System.err.println("launcher: error: " + e);
        e.printStackTrace();
        System.exit(1);
    }

    private static void launch(String[] args) throws Exception {
        URL location = JarLauncher.class.getProtectionDomain().getCodeSource().getLocation();
        Path root = Paths.get(location.toURI());
        List<URL> classPath = new ArrayList<>();
        String startClass;
        if (Files.isDirectory(root)) {
            System.err.println("launcher: exploded");
            try (InputStream in = Files.newInputStream(root.resolve("META-INF/MANIFEST.MF"))) {
                startClass = startClass(new Manifest(in));
            }
            Path classes = root.resolve(CLASSES);
            if (Files.isDirectory(classes)) {
                classPath.add(classes.toUri().toURL());
            }
            Path index = root.resolve(CLASSPATH_INDEX);
            List<String> libs;
            if (Files.isRegularFile(index)) {
                libs = parseIndex(Files.readAllLines(index, StandardCharsets.UTF_8));
            } else {
                libs = listLibs(root.resolve(LIB));
            }
            for (String lib : libs) {
                classPath.add(root.resolve(lib).toUri().toURL());
            }
        } else {
            System.err.println("launcher: packaged");
            try (JarFile jar = new JarFile(root.toFile())) {
                startClass = startClass(jar.getManifest());
                Path tmp = Files.createTempDirectory("fake-boot-");
                tmp.toFile().deleteOnExit();
                Path classes = tmp.resolve("classes");
                mkdirs(classes);
                classPath.add(classes.toUri().toURL());
                List<String> libs = new ArrayList<>();
                for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements(); ) {
                    JarEntry entry = e.nextElement();
                    String name = entry.getName();
                    if (entry.isDirectory()) {
                        continue;
                    }
                    if (name.startsWith(CLASSES)) {
                        try (InputStream in = jar.getInputStream(entry)) {
                            copy(in, inside(classes, name.substring(CLASSES.length())));
                        }
                    } else if (name.startsWith(LIB)
                            && name.endsWith(".jar")
                            && name.indexOf('/', LIB.length()) < 0) {
                        libs.add(name);
                    }
                }
                JarEntry index = jar.getJarEntry(CLASSPATH_INDEX);
                if (index != null) {
                    try (InputStream in = jar.getInputStream(index)) {
                        String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                        libs = parseIndex(text.lines().collect(Collectors.toList()));
                    }
                } else {
                    libs.sort(null);
                }
                Path libDir = tmp.resolve("lib");
                for (String lib : libs) {
                    JarEntry entry = jar.getJarEntry(lib);
                    if (entry == null) {
                        throw new IOException("classpath.idx names a missing entry: " + lib);
                    }
                    Path target = inside(libDir, lib.substring(LIB.length()));
                    try (InputStream in = jar.getInputStream(entry)) {
                        copy(in, target);
                    }
                    classPath.add(target.toUri().toURL());
                }
            }
        }
        ClassLoader loader =
                new URLClassLoader(
                        classPath.toArray(new URL[0]), ClassLoader.getPlatformClassLoader());
        Thread.currentThread().setContextClassLoader(loader);
        Class<?> main = Class.forName(startClass, false, loader);
        Method method = main.getMethod("main", String[].class);
        method.invoke(null, (Object) args);
    }

    private static String startClass(Manifest manifest) throws IOException {
        String value = manifest == null ? null : manifest.getMainAttributes().getValue("Start-Class");
        if (value == null || value.isBlank()) {
            throw new IOException("no Start-Class in META-INF/MANIFEST.MF");
        }
        return value.trim();
    }

    /** Lines like {@code - "BOOT-INF/lib/greeting-1.0.jar"} to their paths. */
    private static List<String> parseIndex(List<String> lines) {
        List<String> libs = new ArrayList<>();
        for (String line : lines) {
            String l = line.trim();
            if (l.startsWith("- \"") && l.endsWith("\"") && l.length() > 4) {
                libs.add(l.substring(3, l.length() - 1));
            }
        }
        return libs;
    }

    /** The jars directly in {@code dir}, as {@code BOOT-INF/lib/NAME}, sorted by name. */
    private static List<String> listLibs(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return new ArrayList<>();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".jar"))
                    .sorted()
                    .map(n -> LIB + n)
                    .collect(Collectors.toList());
        }
    }

    /** {@code dir/relative}, refusing names that would leave {@code dir}. */
    private static Path inside(Path dir, String relative) throws IOException {
        Path target = dir.resolve(relative).normalize();
        if (!target.startsWith(dir) || target.equals(dir)) {
            throw new IOException("entry outside its directory: " + relative);
        }
        return target;
    }

    /** Creates {@code dir} and its missing parents, each deleted at exit. */
    private static void mkdirs(Path dir) throws IOException {
        if (dir == null || Files.isDirectory(dir)) {
            return;
        }
        mkdirs(dir.getParent());
        Files.createDirectory(dir);
        dir.toFile().deleteOnExit();
    }

    /** Writes {@code in} to {@code target} (deleted at exit, before its directories). */
    private static void copy(InputStream in, Path target) throws IOException {
        mkdirs(target.getParent());
        Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        target.toFile().deleteOnExit();
    }
}
