//! Proves the jar fixtures of `tests/support/fixtures.rs` are what they claim: the runnable
//! ones print the demo's lines under `java`, the synthetic ones are byte-identical on every
//! build, the bad ones carry their defect.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::fixtures::{self, *};
use sha2::{Digest, Sha256};
use zip::{CompressionMethod, ZipArchive};

/// One entry of a jar as the central directory lists it.
#[derive(Debug)]
struct Entry {
    name: String,
    method: CompressionMethod,
    is_dir: bool,
}

fn open(jar: &Path) -> ZipArchive<File> {
    ZipArchive::new(File::open(jar).expect("open jar")).expect("read jar")
}

fn entries(jar: &Path) -> Vec<Entry> {
    let mut archive = open(jar);
    (0..archive.len())
        .map(|i| {
            let file = archive.by_index(i).expect("entry");
            Entry {
                name: file.name().expect("utf-8 name").to_string(),
                method: file.compression(),
                is_dir: file.is_dir(),
            }
        })
        .collect()
}

fn names(jar: &Path) -> Vec<String> {
    entries(jar).into_iter().map(|e| e.name).collect()
}

fn read_entry(jar: &Path, name: &str) -> Vec<u8> {
    let mut archive = open(jar);
    let mut file = archive
        .by_name(name)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).expect("read entry");
    bytes
}

fn read_text(jar: &Path, name: &str) -> String {
    String::from_utf8(read_entry(jar, name)).expect("utf-8 entry")
}

/// A fresh temp dir and its canonical path (what `user.dir` reports).
fn tempdir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().canonicalize().expect("canonical temp dir");
    (dir, path)
}

/// Asserts a successful run with the demo's output and the launcher line, if any.
fn assert_demo(output: &Output, args: &[&str], cwd: &Path, launcher: Option<&str>) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "java failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    assert_eq!(
        stdout,
        expected_stdout(args, None, cwd),
        "stderr:\n{stderr}"
    );
    match launcher {
        Some(mode) => assert!(
            stderr.lines().any(|l| l == format!("launcher: {mode}")),
            "no `launcher: {mode}` on stderr:\n{stderr}"
        ),
        None => assert!(!stderr.contains("launcher:"), "stderr:\n{stderr}"),
    }
}

const MANIFEST: &str = "META-INF/MANIFEST.MF";

/// Checks the Boot jar layout shared by the real and synthetic Boot 3 jars.
fn assert_boot3_layout(jar: &Path) {
    let entries = entries(jar);
    assert_eq!(entries[0].name, MANIFEST, "manifest first");
    for dir in [
        "BOOT-INF/",
        "BOOT-INF/classes/",
        "BOOT-INF/lib/",
        "org/springframework/boot/loader/launch/",
    ] {
        assert!(
            entries.iter().any(|e| e.is_dir && e.name == dir),
            "directory entry {dir}"
        );
    }
    for e in &entries {
        let expected = if e.is_dir || e.name.starts_with("BOOT-INF/lib/") {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        assert_eq!(e.method, expected, "{}", e.name);
    }
    let manifest = read_text(jar, MANIFEST);
    for line in [
        "Manifest-Version: 1.0",
        "Main-Class: org.springframework.boot.loader.launch.JarLauncher",
        "Start-Class: com.example.demo.DemoApplication",
        "Spring-Boot-Version: 3.2.0",
        "Spring-Boot-Classes: BOOT-INF/classes/",
        "Spring-Boot-Lib: BOOT-INF/lib/",
        "Spring-Boot-Classpath-Index: BOOT-INF/classpath.idx",
        "Spring-Boot-Layers-Index: BOOT-INF/layers.idx",
        "Implementation-Title: demo",
        "Implementation-Version: 0.0.1",
    ] {
        assert!(manifest.lines().any(|l| l == line), "{line} in\n{manifest}");
    }
    assert!(manifest.ends_with("\r\n\r\n"));
    assert_eq!(
        read_text(jar, "BOOT-INF/classes/application.properties"),
        "greeting.source=resource-file\n"
    );
    let mut archive = open(jar);
    for i in 0..archive.len() {
        let file = archive.by_index(i).unwrap();
        let t = file.last_modified().expect("timestamp");
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2020, 1, 1, 0, 0, 0),
            "{}",
            file.name().unwrap()
        );
    }
}

const LAYERS_IDX: &str = "- \"dependencies\":
  - \"BOOT-INF/lib/greeting-1.0.jar\"
- \"spring-boot-loader\":
  - \"org/\"
- \"snapshot-dependencies\":
  - \"BOOT-INF/lib/snap-2.0-SNAPSHOT.jar\"
- \"application\":
  - \"BOOT-INF/classes/\"
  - \"BOOT-INF/classpath.idx\"
  - \"BOOT-INF/layers.idx\"
  - \"META-INF/\"
";

const CLASSPATH_IDX: &str = "- \"BOOT-INF/lib/greeting-1.0.jar\"
- \"BOOT-INF/lib/snap-2.0-SNAPSHOT.jar\"
";

#[test]
fn boot3_layered_layout() {
    let (_tmp, dir) = tempdir();
    let jar = boot3_layered(&dir);
    assert_eq!(jar, dir.join("demo-0.0.1.jar"));
    assert_boot3_layout(&jar);
    assert_eq!(read_text(&jar, "BOOT-INF/layers.idx"), LAYERS_IDX);
    assert_eq!(read_text(&jar, "BOOT-INF/classpath.idx"), CLASSPATH_IDX);
    let listed = names(&jar);
    for name in [
        "org/springframework/boot/loader/launch/JarLauncher.class",
        "org/springframework/boot/loader/JarLauncher.class",
        "BOOT-INF/classes/com/example/demo/DemoApplication.class",
        "BOOT-INF/lib/greeting-1.0.jar",
        "BOOT-INF/lib/snap-2.0-SNAPSHOT.jar",
    ] {
        assert!(listed.iter().any(|n| n == name), "{name} in {listed:?}");
    }
    // The nested jars are real jars holding their class.
    let nested = dir.join("greeting.jar");
    fs::write(&nested, read_entry(&jar, "BOOT-INF/lib/greeting-1.0.jar")).unwrap();
    assert!(names(&nested).contains(&"com/example/greeting/Greeting.class".to_string()));
}

#[test]
fn boot3_layered_runs_packaged() {
    let (_tmp, dir) = tempdir();
    let jar = boot3_layered(&dir.join("jars"));
    let out = run_java(
        &dir,
        [Path::new("-jar"), &jar, Path::new("a"), Path::new("b")],
    );
    assert_demo(&out, &["a", "b"], &dir, Some("packaged"));
}

#[test]
fn boot3_layered_runs_exploded() {
    let (_tmp, dir) = tempdir();
    let jar = boot3_layered(&dir.join("jars"));
    let app = dir.join("app");
    explode(&jar, &app);
    assert!(app.join("BOOT-INF/classpath.idx").is_file());
    let cwd = dir.join("work");
    fs::create_dir(&cwd).unwrap();
    let out = run_java(
        &cwd,
        ["-cp", app.to_str().unwrap(), BOOT3_LAUNCHER, "a", "b"],
    );
    assert_demo(&out, &["a", "b"], &cwd, Some("exploded"));
}

#[test]
fn profile_comes_from_the_environment() {
    let (_tmp, dir) = tempdir();
    let jar = boot3_layered(&dir);
    let out = Command::new("java")
        .arg("-jar")
        .arg(&jar)
        .current_dir(&dir)
        .env("SPRING_PROFILES_ACTIVE", "prod")
        .output()
        .expect("run java");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        expected_stdout(&[], Some("prod"), &dir)
    );
}

#[test]
fn boot2_plain_layout_and_runs() {
    let (_tmp, dir) = tempdir();
    let jar = boot2_plain(&dir.join("jars"));
    let entries = entries(&jar);
    assert_eq!(entries[0].name, MANIFEST);
    assert!(!entries.iter().any(|e| e.name.ends_with(".idx")));
    let manifest = read_text(&jar, MANIFEST);
    assert!(manifest.contains("Main-Class: org.springframework.boot.loader.JarLauncher\r\n"));
    assert!(manifest.contains("Start-Class: com.example.demo.DemoApplication\r\n"));
    assert!(!manifest.contains("Index"));
    for e in entries
        .iter()
        .filter(|e| e.name.starts_with("BOOT-INF/lib/"))
    {
        assert_eq!(e.method, CompressionMethod::Stored, "{}", e.name);
    }

    let out = run_java(&dir, [Path::new("-jar"), &jar, Path::new("x")]);
    assert_demo(&out, &["x"], &dir, Some("packaged"));

    let app = dir.join("app");
    explode(&jar, &app);
    let out = run_java(&dir, ["-cp", app.to_str().unwrap(), BOOT2_LAUNCHER, "x"]);
    assert_demo(&out, &["x"], &dir, Some("exploded"));
}

#[test]
fn plain_with_lib_runs() {
    let (_tmp, dir) = tempdir();
    let jar = plain_with_lib(&dir.join("dist"));
    let lib = dir.join("dist/lib");
    assert_eq!(jar, lib.join("demo-0.0.1.jar"));
    assert!(lib.join("greeting-1.0.jar").is_file());
    assert!(lib.join("snap-2.0-SNAPSHOT.jar").is_file());
    let names = names(&jar);
    assert_eq!(names[0], MANIFEST);
    assert!(names.iter().any(|n| n == "application.properties"));
    assert!(!names
        .iter()
        .any(|n| n.contains("greeting") || n.contains("snap")));
    let manifest = read_text(&jar, MANIFEST);
    assert!(manifest.contains("Main-Class: com.example.demo.DemoApplication\r\n"));
    assert!(manifest.contains("Class-Path: greeting-1.0.jar snap-2.0-SNAPSHOT.jar\r\n"));

    let out = run_java(
        &dir,
        [Path::new("-jar"), &jar, Path::new("a"), Path::new("b")],
    );
    assert_demo(&out, &["a", "b"], &dir, None);
}

#[test]
fn uber_runs() {
    let (_tmp, dir) = tempdir();
    let jar = uber(&dir);
    assert_eq!(jar, dir.join("demo-all.jar"));
    let names = names(&jar);
    for name in [
        "com/example/demo/DemoApplication.class",
        "com/example/greeting/Greeting.class",
        "com/example/snap/Snap.class",
        "application.properties",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    let manifest = read_text(&jar, MANIFEST);
    assert!(!manifest.contains("Class-Path"));
    let out = run_java(
        &dir,
        [Path::new("-jar"), &jar, Path::new("a"), Path::new("b")],
    );
    assert_demo(&out, &["a", "b"], &dir, None);
}

#[test]
fn synthetic_boot_is_byte_identical() {
    let (_a, one) = tempdir();
    let (_b, two) = tempdir();
    let first = fs::read(synthetic_boot(&one)).unwrap();
    let second = fs::read(synthetic_boot(&two)).unwrap();
    assert!(first == second, "two builds of synthetic_boot differ");
    let jar = synthetic_boot(&one);
    assert_boot3_layout(&jar);
    assert_eq!(read_text(&jar, "BOOT-INF/layers.idx"), LAYERS_IDX);
    assert_eq!(read_text(&jar, "BOOT-INF/classpath.idx"), CLASSPATH_IDX);
    assert_eq!(
        read_entry(
            &jar,
            "BOOT-INF/classes/com/example/demo/DemoApplication.class"
        ),
        b"\xCA\xFE\xBA\xBEcom/example/demo/DemoApplication"
    );
}

/// The synthetic jar's digest, pinned: it changes only if the fixture or the zip/deflate
/// crates in Cargo.lock change, and then hoist's golden digests change with it.
#[test]
fn synthetic_boot_digest_is_pinned() {
    let (_tmp, dir) = tempdir();
    let digest = hex::encode(Sha256::digest(fs::read(synthetic_boot(&dir)).unwrap()));
    assert_eq!(digest, SYNTHETIC_SHA256, "synthetic_boot changed");
}

const SYNTHETIC_SHA256: &str = "104e1d117a961e79bbb584dafa3d6d45ac6bb638e334575148c78aa609de10df";

#[test]
fn big_boot_adds_stored_incompressible_deps() {
    let (_tmp, dir) = tempdir();
    let want: u64 = 3_000_000;
    let jar = big_boot(&dir, want);
    let entries = entries(&jar);
    let deps: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.name.starts_with("BOOT-INF/lib/bigdep-"))
        .collect();
    assert_eq!(deps.len(), 6);
    assert!(deps.iter().all(|e| e.method == CompressionMethod::Stored));
    let size = fs::metadata(&jar).unwrap().len();
    assert!(size > want && size < want + want / 5, "size {size}");
    let layers = read_text(&jar, "BOOT-INF/layers.idx");
    assert!(layers.contains("  - \"BOOT-INF/lib/bigdep-00006-1.0.jar\"\n"));
    let classpath = read_text(&jar, "BOOT-INF/classpath.idx");
    assert_eq!(classpath.lines().count(), 8);

    // Deterministic, and different deps hold different bytes.
    let (_tmp2, dir2) = tempdir();
    assert!(fs::read(&jar).unwrap() == fs::read(big_boot(&dir2, want)).unwrap());
    let first = read_entry(&jar, &deps[0].name);
    let second = read_entry(&jar, &deps[1].name);
    assert_ne!(first[first.len() - 4096..], second[second.len() - 4096..]);
}

#[test]
fn not_a_zip_is_not_a_zip() {
    let (_tmp, dir) = tempdir();
    let jar = fixtures::not_a_zip(&dir);
    assert!(ZipArchive::new(File::open(&jar).unwrap()).is_err());
}

#[test]
fn no_main_class_has_a_manifest_without_main_class() {
    let (_tmp, dir) = tempdir();
    let jar = no_main_class(&dir);
    let manifest = read_text(&jar, MANIFEST);
    assert!(manifest.starts_with("Manifest-Version: 1.0\r\n"));
    assert!(!manifest.contains("Main-Class"));
    assert!(!names(&jar).iter().any(|n| n.starts_with("BOOT-INF")));
}

#[test]
fn zip_slip_holds_a_parent_entry() {
    let (_tmp, dir) = tempdir();
    let jar = zip_slip(&dir);
    assert_evil(&jar, "../evil.txt");
    let mut archive = open(&jar);
    assert_eq!(
        archive.by_name("../evil.txt").unwrap().enclosed_name(),
        None
    );
}

#[test]
fn absolute_entry_holds_an_absolute_entry() {
    let (_tmp, dir) = tempdir();
    let jar = absolute_entry(&dir);
    assert_evil(&jar, "/etc/evil");
}

fn assert_evil(jar: &Path, bad: &str) {
    let archive = open(jar);
    let raw: Vec<&[u8]> = archive.file_names_raw().collect();
    assert!(raw.contains(&bad.as_bytes()), "{bad} in {raw:?}");
    assert!(read_text(jar, MANIFEST).contains("Main-Class: com.example.demo.DemoApplication"));
    assert_eq!(read_text(jar, bad), "evil\n");
}

#[test]
fn duplicate_entry_holds_a_name_twice() {
    let (_tmp, dir) = tempdir();
    let jar = duplicate_entry(&dir);
    let archive = open(&jar);
    assert!(archive.has_duplicate_names());
    assert!(read_text(&jar, MANIFEST).contains("Main-Class: com.example.demo.DemoApplication"));
    // Both copies are there, in order, each a valid local entry.
    let bytes = fs::read(&jar).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let first = text.find("dup.txtfirst\n").expect("first copy");
    let second = text.find("dup.txtsecond\n").expect("second copy");
    assert!(first < second);
    assert_eq!(
        text.matches("dup.txt").count(),
        4,
        "2 local + 2 central headers"
    );
    // unzip-style readers accept it (the JDK's `jar` lists both).
    let out = Command::new("jar").arg("tf").arg(&jar).output();
    if let Ok(out) = out {
        let listing = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            listing.lines().filter(|l| *l == "dup.txt").count(),
            2,
            "{listing}"
        );
    }
}
