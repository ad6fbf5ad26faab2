//! Jar fixtures for hoist's tests.
//!
//! The Java sources in `testdata/java/` are compiled once per test process
//! (`javac --release 17`) and packed with the `zip` crate, never the `jar` tool: every entry has
//! the same fixed timestamp and the entry order is fixed. [`synthetic_boot`] and [`big_boot`]
//! need no JDK at all and give the same bytes on every machine.
//!
//! Every maker writes into the directory it is given (created if missing) and returns the path
//! of the jar to build.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, BufWriter, Cursor, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// File name of the app jar (Boot 3 fat jar, and the thin jar of [`plain_with_lib`]).
pub const APP_JAR: &str = "demo-0.0.1.jar";
/// File name of the release dependency jar.
pub const GREETING_JAR: &str = "greeting-1.0.jar";
/// File name of the snapshot dependency jar.
pub const SNAP_JAR: &str = "snap-2.0-SNAPSHOT.jar";
/// The app's main class (`Start-Class` of the Boot jars).
pub const START_CLASS: &str = "com.example.demo.DemoApplication";
/// Spring Boot 3.2+ launcher class.
pub const BOOT3_LAUNCHER: &str = "org.springframework.boot.loader.launch.JarLauncher";
/// Spring Boot 2 launcher class.
pub const BOOT2_LAUNCHER: &str = "org.springframework.boot.loader.JarLauncher";
/// Size of the random payload of each [`big_boot`] dependency jar.
pub const BIG_DEP_CHUNK: u64 = 500 * 1024;

/// Content of `application.properties` (the synthetic jars embed it, so they need no file).
const RESOURCE: &[u8] = b"greeting.source=resource-file\n";
const RESOURCE_NAME: &str = "application.properties";
const CLASSES: &str = "BOOT-INF/classes/";
const LIB: &str = "BOOT-INF/lib/";

/// Entries as (name, bytes), sorted by name.
type Entries = Vec<(String, Vec<u8>)>;

/// The stdout `DemoApplication` prints for these arguments, `SPRING_PROFILES_ACTIVE` value
/// (`None`: unset) and working directory.
pub fn expected_stdout(args: &[&str], profile: Option<&str>, cwd: &Path) -> String {
    format!(
        "demo: hello from greeting-lib\n\
         demo: snapshot 2.0-SNAPSHOT\n\
         demo: resource greeting.source=resource-file\n\
         demo: profile {}\n\
         demo: args {}\n\
         demo: cwd {}\n",
        profile.unwrap_or("none"),
        args.join(" "),
        cwd.display()
    )
}

/// Runs `java ARGS` in `cwd` with `SPRING_PROFILES_ACTIVE` unset; panics if there is no `java`.
pub fn run_java<I, S>(cwd: &Path, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new("java")
        .args(args)
        .current_dir(cwd)
        .env_remove("SPRING_PROFILES_ACTIVE")
        .output()
        .unwrap_or_else(|e| panic!("cannot run `java` ({e}): {}", JDK_HINT))
}

/// Unpacks `jar` into `dir` (the exploded layout the Boot launcher expects with `-cp dir`).
pub fn explode(jar: &Path, dir: &Path) {
    let mut archive = ZipArchive::new(File::open(jar).expect("open jar")).expect("read jar");
    archive.extract(dir).expect("extract jar");
}

// ---------------------------------------------------------------------------------------------
// Jars from compiled classes
// ---------------------------------------------------------------------------------------------

/// A Spring Boot 3.2 fat jar with `classpath.idx` and `layers.idx`: `dir/demo-0.0.1.jar`.
pub fn boot3_layered(dir: &Path) -> PathBuf {
    let c = compiled();
    let path = prepare(dir).join(APP_JAR);
    write_boot(&path, &c.boot_parts(), Style::Boot3Layered, &Extra::NONE);
    path
}

/// A Spring Boot 2 fat jar without `layers.idx` and `classpath.idx`:
/// `dir/demo-boot2-0.0.1.jar`.
pub fn boot2_plain(dir: &Path) -> PathBuf {
    let c = compiled();
    let path = prepare(dir).join("demo-boot2-0.0.1.jar");
    write_boot(&path, &c.boot_parts(), Style::Boot2Plain, &Extra::NONE);
    path
}

/// Gradle `installDist` layout: `dir/lib/demo-0.0.1.jar` (manifest `Class-Path`) with
/// `greeting-1.0.jar` and `snap-2.0-SNAPSHOT.jar` beside it. Returns the app jar.
pub fn plain_with_lib(dir: &Path) -> PathBuf {
    let c = compiled();
    let lib = prepare(&dir.join("lib"));
    fs::write(lib.join(GREETING_JAR), &c.greeting_jar).expect("write greeting jar");
    fs::write(lib.join(SNAP_JAR), &c.snap_jar).expect("write snap jar");
    let path = lib.join(APP_JAR);
    let mut jar = Jar::create(&path);
    jar.manifest(&[
        ("Manifest-Version", "1.0"),
        ("Main-Class", START_CLASS),
        ("Class-Path", &format!("{GREETING_JAR} {SNAP_JAR}")),
        ("Implementation-Title", "demo"),
        ("Implementation-Version", "0.0.1"),
    ]);
    jar.deflated_all("", &c.app);
    jar.deflated(RESOURCE_NAME, &c.resource);
    jar.finish();
    path
}

/// One shaded jar with the app, both dependencies and the resource: `dir/demo-all.jar`.
pub fn uber(dir: &Path) -> PathBuf {
    let c = compiled();
    let path = prepare(dir).join("demo-all.jar");
    let mut all: Entries = [&c.app, &c.greeting, &c.snap]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    all.push((RESOURCE_NAME.to_string(), c.resource.clone()));
    all.sort();
    let mut jar = Jar::create(&path);
    jar.manifest(&[("Manifest-Version", "1.0"), ("Main-Class", START_CLASS)]);
    jar.deflated_all("", &all);
    jar.finish();
    path
}

// ---------------------------------------------------------------------------------------------
// Jars without a JDK
// ---------------------------------------------------------------------------------------------

/// A Boot 3 layered jar like [`boot3_layered`], with fake class bytes and no JDK needed: the
/// same bytes on every machine and day. `dir/synthetic-0.0.1.jar`.
pub fn synthetic_boot(dir: &Path) -> PathBuf {
    let path = prepare(dir).join("synthetic-0.0.1.jar");
    write_boot(
        &path,
        &Synthetic::new().parts(),
        Style::Boot3Layered,
        &Extra::NONE,
    );
    path
}

/// [`synthetic_boot`] plus about `dep_bytes` of extra dependency jars
/// (`BOOT-INF/lib/bigdep-NNNNN-1.0.jar`, [`BIG_DEP_CHUNK`] of incompressible pseudo-random
/// bytes each, stored), streamed to disk. `dir/big-0.0.1.jar`.
pub fn big_boot(dir: &Path, dep_bytes: u64) -> PathBuf {
    big_boot_variant(dir, dep_bytes, 0)
}

/// [`big_boot`] with the bytes of exactly one application class
/// (`BOOT-INF/classes/com/example/demo/web/HelloController.class`) depending on `variant`;
/// every other entry keeps its name and bytes. Variant 0 is [`big_boot`], byte for byte.
/// For measuring a rebuild "after a change to one class". `dir/big-0.0.1.jar`.
pub fn big_boot_variant(dir: &Path, dep_bytes: u64, variant: u32) -> PathBuf {
    let path = prepare(dir).join("big-0.0.1.jar");
    let deps = big_dep_count(dep_bytes);
    let mut synthetic = Synthetic::new();
    if variant != 0 {
        let class = format!("{VARIED_CLASS}.class");
        let (_, bytes) = synthetic
            .app
            .iter_mut()
            .find(|(name, _)| *name == class)
            .expect("the varied class is one of the synthetic app classes");
        bytes.extend_from_slice(format!("\0variant {variant}").as_bytes());
    }
    let extra = Extra {
        synthetic: deps,
        files: &[],
    };
    write_boot(&path, &synthetic.parts(), Style::Boot3Layered, &extra);
    path
}

/// A runnable Boot 3 layered jar like [`boot3_layered`] (compiled classes: needs a JDK) with
/// about `dep_bytes` of [`big_boot`]'s synthetic dependency jars and then the jar files
/// `jars`, stored as they are under their file names (names must differ). For timing start-up
/// and comparing compressors over real jars. `dir/app-0.0.1.jar`.
pub fn boot3_with_deps(dir: &Path, dep_bytes: u64, jars: &[PathBuf]) -> PathBuf {
    let path = prepare(dir).join("app-0.0.1.jar");
    let extra = Extra {
        synthetic: big_dep_count(dep_bytes),
        files: jars,
    };
    write_boot(&path, &compiled().boot_parts(), Style::Boot3Layered, &extra);
    path
}

/// The application class whose bytes [`big_boot_variant`] changes.
const VARIED_CLASS: &str = "com/example/demo/web/HelloController";

// ---------------------------------------------------------------------------------------------
// Bad inputs
// ---------------------------------------------------------------------------------------------

/// A text file named like a jar: `dir/not-a-zip.jar`.
pub fn not_a_zip(dir: &Path) -> PathBuf {
    let path = prepare(dir).join("not-a-zip.jar");
    fs::write(&path, b"this is not a zip archive\n").expect("write not-a-zip");
    path
}

/// A valid jar whose manifest has no `Main-Class` (and no `BOOT-INF/`):
/// `dir/no-main-class.jar`.
pub fn no_main_class(dir: &Path) -> PathBuf {
    let path = prepare(dir).join("no-main-class.jar");
    let mut jar = Jar::create(&path);
    jar.manifest(&[
        ("Manifest-Version", "1.0"),
        ("Created-By", "hoist-fixtures"),
    ]);
    jar.deflated(
        "com/example/lib/Lib.class",
        &fake_class("com/example/lib/Lib"),
    );
    jar.deflated("lib.properties", b"lib=true\n");
    jar.finish();
    path
}

/// A jar with `Main-Class` and an entry `../evil.txt`: `dir/zip-slip.jar`.
pub fn zip_slip(dir: &Path) -> PathBuf {
    let path = prepare(dir).join("zip-slip.jar");
    evil_jar(&path, "../evil.txt");
    path
}

/// A jar with `Main-Class` and an entry `/etc/evil`: `dir/absolute-entry.jar`.
pub fn absolute_entry(dir: &Path) -> PathBuf {
    let path = prepare(dir).join("absolute-entry.jar");
    evil_jar(&path, "/etc/evil");
    path
}

/// A jar with `Main-Class` and two entries named `dup.txt` (`first` then `second`):
/// `dir/duplicate-entry.jar`. Written by hand, as the zip crate refuses duplicates.
pub fn duplicate_entry(dir: &Path) -> PathBuf {
    let path = prepare(dir).join("duplicate-entry.jar");
    let manifest = manifest_bytes(&[("Manifest-Version", "1.0"), ("Main-Class", START_CLASS)]);
    let entries: [(&str, &[u8]); 3] = [
        ("META-INF/MANIFEST.MF", &manifest),
        ("dup.txt", b"first\n"),
        ("dup.txt", b"second\n"),
    ];
    fs::write(&path, stored_zip(&entries)).expect("write duplicate-entry jar");
    path
}

/// Manifest with `Main-Class`, one ordinary class, then `bad_name` written as is.
fn evil_jar(path: &Path, bad_name: &str) {
    let mut jar = Jar::create(path);
    jar.manifest(&[("Manifest-Version", "1.0"), ("Main-Class", START_CLASS)]);
    let class = "com/example/demo/DemoApplication";
    jar.deflated(&format!("{class}.class"), &fake_class(class));
    jar.raw(bad_name, b"evil\n", CompressionMethod::Deflated);
    jar.finish();
}

// ---------------------------------------------------------------------------------------------
// Compiling the Java sources
// ---------------------------------------------------------------------------------------------

const JDK_HINT: &str =
    "the jar fixtures need a JDK 17: install one (apt-get install openjdk-17-jdk-headless)";

/// The compiled `testdata/java` sources, split by module, plus the dependency jars.
struct Compiled {
    /// `com/example/demo/**` classes.
    app: Entries,
    /// `com/example/greeting/**` classes.
    greeting: Entries,
    /// `com/example/snap/**` classes.
    snap: Entries,
    /// `org/springframework/boot/loader/**` classes.
    loader: Entries,
    /// `app/resources/application.properties`.
    resource: Vec<u8>,
    greeting_jar: Vec<u8>,
    snap_jar: Vec<u8>,
}

impl Compiled {
    fn boot_parts(&self) -> BootParts<'_> {
        BootParts {
            loader: &self.loader,
            classes: &self.app,
            resource: &self.resource,
            greeting_jar: &self.greeting_jar,
            snap_jar: &self.snap_jar,
        }
    }
}

/// Compiles once per test process.
fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(compile)
}

fn compile() -> Compiled {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/java");
    let mut sources = Vec::new();
    for module in ["app", "greeting", "snap", "bootloader"] {
        walk(&root.join(module).join("src"), &mut sources);
    }
    sources.retain(|p| p.extension().is_some_and(|e| e == "java"));
    sources.sort();
    let out = tempfile::tempdir().expect("temp dir for javac");
    let result = Command::new("javac")
        .args(["--release", "17", "-encoding", "UTF-8", "-nowarn", "-d"])
        .arg(out.path())
        .args(&sources)
        .output();
    let output = match result {
        Ok(output) => output,
        Err(e) if e.kind() == io::ErrorKind::NotFound => panic!("javac not found: {JDK_HINT}"),
        Err(e) => panic!("cannot run javac ({e}): {JDK_HINT}"),
    };
    assert!(
        output.status.success(),
        "javac failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let mut classes = Vec::new();
    walk(out.path(), &mut classes);
    classes.sort();
    let (mut app, mut greeting, mut snap, mut loader) = (vec![], vec![], vec![], vec![]);
    for file in classes {
        let rel = file.strip_prefix(out.path()).unwrap();
        let name = rel.to_str().unwrap().replace('\\', "/");
        let bucket = if name.starts_with("com/example/demo/") {
            &mut app
        } else if name.starts_with("com/example/greeting/") {
            &mut greeting
        } else if name.starts_with("com/example/snap/") {
            &mut snap
        } else if name.starts_with("org/springframework/boot/loader/") {
            &mut loader
        } else {
            panic!("unexpected class from testdata/java: {name}");
        };
        bucket.push((name, fs::read(&file).expect("read class")));
    }
    let resource = fs::read(root.join("app/resources").join(RESOURCE_NAME)).expect("read resource");
    let greeting_jar = lib_jar("greeting", "1.0", &greeting);
    let snap_jar = lib_jar("snap", "2.0-SNAPSHOT", &snap);
    Compiled {
        app,
        greeting,
        snap,
        loader,
        resource,
        greeting_jar,
        snap_jar,
    }
}

/// All files under `dir`, recursively.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Synthetic content
// ---------------------------------------------------------------------------------------------

/// Fake class file bytes: the class magic number and the class name.
fn fake_class(internal_name: &str) -> Vec<u8> {
    let mut bytes = b"\xCA\xFE\xBA\xBE".to_vec();
    bytes.extend_from_slice(internal_name.as_bytes());
    bytes
}

/// Entries `NAME.class` with fake bytes, sorted.
fn fake_classes(names: &[&str]) -> Entries {
    let mut entries: Entries = names
        .iter()
        .map(|n| (format!("{n}.class"), fake_class(n)))
        .collect();
    entries.sort();
    entries
}

/// The fake-bytes counterpart of [`Compiled`].
struct Synthetic {
    loader: Entries,
    app: Entries,
    greeting_jar: Vec<u8>,
    snap_jar: Vec<u8>,
}

impl Synthetic {
    fn new() -> Self {
        let loader = fake_classes(&[
            "org/springframework/boot/loader/JarLauncher",
            "org/springframework/boot/loader/launch/JarLauncher",
            "org/springframework/boot/loader/launch/LaunchedClassLoader",
        ]);
        let app = fake_classes(&[
            "com/example/demo/DemoApplication",
            "com/example/demo/web/HelloController",
        ]);
        let greeting = fake_classes(&["com/example/greeting/Greeting"]);
        let snap = fake_classes(&["com/example/snap/Snap"]);
        Synthetic {
            loader,
            app,
            greeting_jar: lib_jar("greeting", "1.0", &greeting),
            snap_jar: lib_jar("snap", "2.0-SNAPSHOT", &snap),
        }
    }

    fn parts(&self) -> BootParts<'_> {
        BootParts {
            loader: &self.loader,
            classes: &self.app,
            resource: RESOURCE,
            greeting_jar: &self.greeting_jar,
            snap_jar: &self.snap_jar,
        }
    }
}

/// splitmix64: a tiny deterministic PRNG.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// How many [`BIG_DEP_CHUNK`] dependency jars come nearest to `dep_bytes`.
fn big_dep_count(dep_bytes: u64) -> usize {
    ((dep_bytes + BIG_DEP_CHUNK / 2) / BIG_DEP_CHUNK) as usize
}

/// File name of the `index`-th (0-based) extra dependency of [`big_boot`].
fn big_dep_name(index: usize) -> String {
    format!("bigdep-{:05}-1.0.jar", index + 1)
}

/// The `index`-th extra dependency jar of [`big_boot`]; `payload` is a reused buffer.
fn big_dep_jar(index: usize, payload: &mut Vec<u8>) -> Vec<u8> {
    payload.resize(BIG_DEP_CHUNK as usize, 0);
    SplitMix64(index as u64 + 1).fill(payload);
    let version = format!("{:05}", index + 1);
    let mut jar = Jar::new(Cursor::new(Vec::with_capacity(payload.len() + 1024)));
    jar.manifest(&[
        ("Manifest-Version", "1.0"),
        ("Implementation-Title", "bigdep"),
        ("Implementation-Version", &version),
    ]);
    jar.stored(&format!("bigdep/d{version}/blob.bin"), payload);
    jar.finish().into_inner()
}

// ---------------------------------------------------------------------------------------------
// Boot jar layout
// ---------------------------------------------------------------------------------------------

/// Which Spring Boot generation to imitate.
#[derive(Clone, Copy, PartialEq)]
enum Style {
    /// Boot 3.2: `launch.JarLauncher`, `classpath.idx`, `layers.idx`.
    Boot3Layered,
    /// Boot 2: `loader.JarLauncher`, no index files.
    Boot2Plain,
}

/// The content of a Boot jar, compiled or synthetic.
struct BootParts<'a> {
    /// Entries under `org/springframework/boot/loader/`.
    loader: &'a Entries,
    /// Classes, named relative to `BOOT-INF/classes/`.
    classes: &'a Entries,
    /// `BOOT-INF/classes/application.properties`.
    resource: &'a [u8],
    greeting_jar: &'a [u8],
    snap_jar: &'a [u8],
}

/// Dependency jars added after the fixture's own: `synthetic` of [`big_dep_jar`], then `files`.
struct Extra<'a> {
    synthetic: usize,
    files: &'a [PathBuf],
}

impl Extra<'_> {
    const NONE: Extra<'static> = Extra {
        synthetic: 0,
        files: &[],
    };

    /// File names under `BOOT-INF/lib/`, in the order they are written.
    fn names(&self) -> Vec<String> {
        let files = self.files.iter().map(|f| file_name(f));
        (0..self.synthetic).map(big_dep_name).chain(files).collect()
    }
}

/// The file name of `path`, as UTF-8.
fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_else(|| panic!("jar file name of {}", path.display()))
        .to_string()
}

/// Writes a Boot fat jar in Spring's entry order: manifest, loader, classes, libs (stored),
/// then the index files. `extra` adds dependency jars after the fixture's two.
fn write_boot(path: &Path, parts: &BootParts<'_>, style: Style, extra: &Extra<'_>) {
    let mut jar = Jar::create(path);
    match style {
        Style::Boot3Layered => jar.manifest(&[
            ("Manifest-Version", "1.0"),
            ("Main-Class", BOOT3_LAUNCHER),
            ("Start-Class", START_CLASS),
            ("Spring-Boot-Version", "3.2.0"),
            ("Spring-Boot-Classes", CLASSES),
            ("Spring-Boot-Lib", LIB),
            ("Spring-Boot-Classpath-Index", "BOOT-INF/classpath.idx"),
            ("Spring-Boot-Layers-Index", "BOOT-INF/layers.idx"),
            ("Implementation-Title", "demo"),
            ("Implementation-Version", "0.0.1"),
        ]),
        Style::Boot2Plain => jar.manifest(&[
            ("Manifest-Version", "1.0"),
            ("Main-Class", BOOT2_LAUNCHER),
            ("Start-Class", START_CLASS),
            ("Spring-Boot-Version", "2.7.18"),
            ("Spring-Boot-Classes", CLASSES),
            ("Spring-Boot-Lib", LIB),
            ("Implementation-Title", "demo"),
            ("Implementation-Version", "0.0.1"),
        ]),
    }
    jar.deflated_all("", parts.loader);
    let mut classes = parts.classes.clone();
    classes.push((RESOURCE_NAME.to_string(), parts.resource.to_vec()));
    classes.sort();
    jar.deflated_all(CLASSES, &classes);

    jar.stored(&format!("{LIB}{GREETING_JAR}"), parts.greeting_jar);
    jar.stored(&format!("{LIB}{SNAP_JAR}"), parts.snap_jar);
    let mut payload = Vec::new();
    for i in 0..extra.synthetic {
        let bytes = big_dep_jar(i, &mut payload);
        jar.stored(&format!("{LIB}{}", big_dep_name(i)), &bytes);
    }
    for file in extra.files {
        let bytes = fs::read(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        jar.stored(&format!("{LIB}{}", file_name(file)), &bytes);
    }

    if style == Style::Boot3Layered {
        let libs: Vec<String> = [GREETING_JAR.to_string(), SNAP_JAR.to_string()]
            .into_iter()
            .chain(extra.names())
            .collect();
        let line = |name: &String| format!("- \"{LIB}{name}\"\n");
        let classpath: String = libs.iter().map(line).collect();
        jar.deflated("BOOT-INF/classpath.idx", classpath.as_bytes());
        let (snapshots, releases): (Vec<&String>, Vec<&String>) =
            libs.iter().partition(|n| n.contains("-SNAPSHOT"));
        let mut layers = String::from("- \"dependencies\":\n");
        for name in releases {
            layers += &format!("  {}", line(name));
        }
        layers += "- \"spring-boot-loader\":\n  - \"org/\"\n- \"snapshot-dependencies\":\n";
        for name in snapshots {
            layers += &format!("  {}", line(name));
        }
        layers += &format!(
            "- \"application\":\n  - \"{CLASSES}\"\n  - \"BOOT-INF/classpath.idx\"\n  \
             - \"BOOT-INF/layers.idx\"\n  - \"META-INF/\"\n"
        );
        jar.deflated("BOOT-INF/layers.idx", layers.as_bytes());
    }
    jar.finish();
}

/// A plain library jar (manifest, then the classes), in memory.
fn lib_jar(title: &str, version: &str, classes: &Entries) -> Vec<u8> {
    let mut jar = Jar::new(Cursor::new(Vec::new()));
    jar.manifest(&[
        ("Manifest-Version", "1.0"),
        ("Implementation-Title", title),
        ("Implementation-Version", version),
    ]);
    jar.deflated_all("", classes);
    jar.finish().into_inner()
}

// ---------------------------------------------------------------------------------------------
// Writing jars
// ---------------------------------------------------------------------------------------------

/// Creates `dir` (and parents) and returns it.
fn prepare(dir: &Path) -> PathBuf {
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir.to_path_buf()
}

/// 2020-01-01 00:00:00, the timestamp of every entry.
fn fixed_time() -> DateTime {
    DateTime::from_date_and_time(2020, 1, 1, 0, 0, 0).expect("valid date")
}

/// Options shared by every file entry: fixed time, mode 0644, deflate level 6.
fn file_options(method: CompressionMethod) -> SimpleFileOptions {
    let options = SimpleFileOptions::default()
        .compression_method(method)
        .last_modified_time(fixed_time())
        .unix_permissions(0o644);
    match method {
        CompressionMethod::Deflated => options.compression_level(Some(6)),
        _ => options,
    }
}

/// Writes entries in call order, each file preceded by the directory entries of its parents
/// not written yet (as `jar` and Spring Boot do).
struct Jar<W: Write + Seek> {
    zip: ZipWriter<W>,
    dirs: BTreeSet<String>,
}

impl Jar<BufWriter<File>> {
    fn create(path: &Path) -> Self {
        let file = File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        Jar::new(BufWriter::with_capacity(1 << 20, file))
    }
}

impl<W: Write + Seek> Jar<W> {
    fn new(writer: W) -> Self {
        Jar {
            zip: ZipWriter::new(writer),
            dirs: BTreeSet::new(),
        }
    }

    /// `META-INF/MANIFEST.MF` from these main attributes, as the very first entry (no
    /// `META-INF/` directory entry).
    fn manifest(&mut self, attributes: &[(&str, &str)]) {
        self.dirs.insert("META-INF/".to_string());
        self.raw(
            "META-INF/MANIFEST.MF",
            &manifest_bytes(attributes),
            CompressionMethod::Deflated,
        );
    }

    /// A deflated file entry.
    fn deflated(&mut self, name: &str, data: &[u8]) {
        self.parents(name);
        self.raw(name, data, CompressionMethod::Deflated);
    }

    /// A stored (uncompressed) file entry.
    fn stored(&mut self, name: &str, data: &[u8]) {
        self.parents(name);
        self.raw(name, data, CompressionMethod::Stored);
    }

    /// Every entry of `entries`, deflated, named `prefix` + its name.
    fn deflated_all(&mut self, prefix: &str, entries: &Entries) {
        for (name, data) in entries {
            self.deflated(&format!("{prefix}{name}"), data);
        }
    }

    /// A file entry named exactly `name`, without parent directory entries.
    fn raw(&mut self, name: &str, data: &[u8], method: CompressionMethod) {
        self.zip
            .start_file(name, file_options(method))
            .unwrap_or_else(|e| panic!("start entry {name}: {e}"));
        self.zip.write_all(data).expect("write entry");
    }

    /// Directory entries for the parents of `name`, outermost first.
    fn parents(&mut self, name: &str) {
        for (i, _) in name.match_indices('/') {
            let dir = &name[..=i];
            if self.dirs.insert(dir.to_string()) {
                let options = SimpleFileOptions::default()
                    .last_modified_time(fixed_time())
                    .unix_permissions(0o755);
                self.zip
                    .add_directory(dir, options)
                    .unwrap_or_else(|e| panic!("add directory {dir}: {e}"));
            }
        }
    }

    fn finish(self) -> W {
        let mut writer = self.zip.finish().expect("finish jar");
        writer.flush().expect("flush jar");
        writer
    }
}

/// A manifest main section: `Name: value` lines split at 72 bytes, CRLF, a blank line at
/// the end (as the JDK writes them).
fn manifest_bytes(attributes: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in attributes {
        let line = format!("{name}: {value}");
        let mut rest = line.as_bytes();
        let mut width = 72;
        while rest.len() > width {
            out.extend_from_slice(&rest[..width]);
            out.extend_from_slice(b"\r\n ");
            rest = &rest[width..];
            width = 71;
        }
        out.extend_from_slice(rest);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A minimal zip of stored entries, written by hand so names may repeat.
fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    const DOS_TIME: u16 = 0; // 00:00:00
    const DOS_DATE: u16 = ((2020 - 1980) << 9) | (1 << 5) | 1; // 2020-01-01
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for (name, data) in entries {
        let offset = out.len() as u32;
        let (crc, size, name_len) = (crc32(data), data.len() as u32, name.len() as u16);
        // Local file header.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        for v in [20u16, 0x0800, 0, DOS_TIME, DOS_DATE] {
            out.extend_from_slice(&v.to_le_bytes()); // version, flags (UTF-8), stored, time, date
        }
        for v in [crc, size, size] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra length
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        // Central directory header.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        for v in [0x031Eu16, 20, 0x0800, 0, DOS_TIME, DOS_DATE] {
            central.extend_from_slice(&v.to_le_bytes()); // made by Unix 3.0, needed 2.0, ...
        }
        for v in [crc, size, size] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [name_len, 0, 0, 0, 0] {
            central.extend_from_slice(&v.to_le_bytes()); // name, extra, comment, disk, attrs
        }
        central.extend_from_slice(&(0o100644u32 << 16).to_le_bytes()); // external: -rw-r--r--
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let (cd_offset, cd_size, count) = (out.len() as u32, central.len() as u32, entries.len());
    out.extend_from_slice(&central);
    // End of central directory.
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, count as u16, count as u16] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    out
}

/// CRC-32 (IEEE), bit by bit; only used for the tiny hand-written zip.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
