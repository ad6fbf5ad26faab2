//! Start-up archives (`hoist build --startup`) and the extracted layout
//! they are trained on, checked on a real Spring Boot app (Boot 3.5, see
//! [`App`]) with JVM bases that are real runtimes ([`JvmBase`]: JDK 17 with
//! its default CDS archive, and Temurin 25).
//!
//! What the tests prove:
//!
//! * `--mode extracted` writes Spring's extracted layout: the jar's
//!   `BOOT-INF/lib/*.jar` (and nothing else) as `/app/lib/NAME` in the
//!   `dependencies` layer, a thin `/app/app.jar` alone in `application`,
//!   whose manifest starts the fat jar's `Start-Class` with a `Class-Path`
//!   naming every `lib/` jar; the image starts in containerd from
//!   `/app/app.jar` and serves.
//! * `--startup cds` on JDK 17 adds one `startup` layer holding only
//!   `/app/app.jsa` on top of the very same layers, puts
//!   `-XX:SharedArchiveFile=/app/app.jsa` before `-jar` and labels the
//!   image with the JVM it was trained on and the class path's digest; in
//!   containerd with `-Xshare:on` (the JVM exits when the archive does not
//!   map) the app serves and the JVM logs the dynamic archive mapped.
//! * `--startup auto` on JDK 25 makes an AOT cache (`-XX:AOTCache=
//!   /app/app.aot`) that the JVM opens with `-XX:AOTMode=on`.
//! * The archive is kept in the layer cache: the same jar again is
//!   `cached` with the same layer; a jar with one changed entry retrains
//!   and gets another class path digest.
//! * Bad input is one line with a hint, exit code 2, and nothing at the
//!   destination: a JVM flag the archive cannot live with (the JVM's reason
//!   quoted), `--mode exploded`, the AOT cache on JDK 17, a failing and a
//!   hanging training run (the app's own reason, the last line), a base
//!   without java, and `cds` for a platform this machine cannot run; `auto`
//!   builds that platform without the archive and says so.
//!
//! The containerd tests push their base to a registry of their own and
//! pull into a containerd of their own, as `spring_apps` does; the others
//! use an OCI layout base (`hoist build --from scratch --layer-dir …`).

use crate::support::cli::hoist;
use crate::support::containerd::{free_port, Containerd, JvmBase, RunOptions, RunningContainer};
use crate::support::oci::{blob, LayoutImage};
use crate::support::registry::{Auth, TestRegistry};
use crate::support::spring::{jar_files, App};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What Spring Boot web + actuator needs of the JDK (as `spring_apps`).
const JVM_MODULES: &[&str] = &[
    "java.base",
    "java.desktop",
    "java.instrument",
    "java.logging",
    "java.management",
    "java.naming",
    "java.security.jgss",
    "java.sql",
    "java.xml",
    "jdk.crypto.ec",
    "jdk.management",
    "jdk.unsupported",
];

/// How long an app may take from `ctr run` to `"status":"UP"`.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Pushes `jvm` to `registry` as `base:1` and returns its reference.
#[track_caller]
fn push_base(registry: &TestRegistry, jvm: &JvmBase) -> String {
    let image = registry.image("base:1");
    hoist()
        .args(["build", "--from", "scratch", "--to", &image])
        .args(jvm.hoist_args())
        .report();
    image
}

/// Writes the JDK 17 base into a new OCI layout under `dir` as tag `1`,
/// for `platforms` (an index when there are several: the same amd64
/// runtime under each), and returns `oci:LAYOUT:1`.
#[track_caller]
fn layout_base(dir: &Path, platforms: &[&str]) -> String {
    let base = format!("oci:{}:1", dir.join("base").display());
    let mut build = hoist()
        .args(["build", "--from", "scratch", "--to", &base])
        .args(JvmBase::get(JVM_MODULES).hoist_args());
    for platform in platforms {
        build = build.args(["--platform", platform]);
    }
    build.report();
    base
}

/// `hoist build --from BASE --jar JAR --to TO EXTRA…` → the report.
#[track_caller]
fn build(base: &str, jar: &Path, to: &str, extra: &[&str]) -> Value {
    let started = Instant::now();
    let report = hoist()
        .args(["build", "--from", base, "--jar"])
        .args([jar])
        .args(["--to", to])
        .args(extra)
        .report();
    eprintln!(
        "built {to} {extra:?} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    report
}

/// The report's layers that hoist made (not the base's): (name, digest,
/// media type), bottom first.
fn app_layers(report: &Value) -> Vec<(String, String, String)> {
    report["layers"]
        .as_array()
        .unwrap_or_else(|| panic!("no layers in the report: {report}"))
        .iter()
        .filter(|l| l["source"] == "app")
        .map(|l| {
            let field = |key: &str| l[key].as_str().unwrap().to_string();
            (field("name"), field("digest"), field("mediaType"))
        })
        .collect()
}

/// The digest of the report's `startup` layer.
#[track_caller]
fn startup_layer_digest(report: &Value) -> String {
    app_layers(report)
        .into_iter()
        .find(|(name, _, _)| name == "startup")
        .unwrap_or_else(|| panic!("no startup layer in the report: {report}"))
        .1
}

/// A blob containerd holds (`ctr content get`).
#[track_caller]
fn content(containerd: &Containerd, digest: &str) -> Vec<u8> {
    let output = containerd
        .ctr_command()
        .args(["content", "get", digest])
        .output()
        .expect("running ctr content get");
    assert!(
        output.status.success(),
        "ctr content get {digest}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The uncompressed tar of a gzip layer containerd pulled.
#[track_caller]
fn pulled_layer_tar(containerd: &Containerd, digest: &str, media_type: &str) -> Vec<u8> {
    assert!(
        media_type.ends_with("+gzip") || media_type.ends_with(".gzip"),
        "layer {digest} is {media_type}"
    );
    let blob = content(containerd, digest);
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(&blob[..])
        .read_to_end(&mut tar)
        .unwrap_or_else(|e| panic!("gunzipping layer {digest}: {e}"));
    tar
}

/// The image config (as containerd pulled it) of a build report.
#[track_caller]
fn pulled_config(containerd: &Containerd, report: &Value) -> Value {
    let digest = report["configDigest"].as_str().unwrap();
    serde_json::from_slice(&content(containerd, digest)).expect("the config is JSON")
}

/// The regular files of a layer tar: path (without a leading `/` or `./`)
/// → bytes.
fn tar_contents(tar: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in tar::Archive::new(tar).entries().unwrap() {
        let mut entry = entry.unwrap();
        if !matches!(
            entry.header().entry_type(),
            tar::EntryType::Regular | tar::EntryType::Continuous
        ) {
            continue;
        }
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let path = path.trim_start_matches("./").trim_start_matches('/');
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        files.insert(path.to_string(), bytes);
    }
    files
}

/// Path → size of a layer's files.
fn sizes(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, u64> {
    files
        .iter()
        .map(|(path, bytes)| (path.clone(), bytes.len() as u64))
        .collect()
}

/// A manifest's main attributes (continuation lines joined).
fn manifest_attributes(text: &str) -> BTreeMap<String, String> {
    let mut attributes: BTreeMap<String, String> = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in text.split("\r\n").flat_map(|l| l.split('\n')) {
        if line.is_empty() {
            if !attributes.is_empty() {
                break;
            }
            continue;
        }
        if let Some(more) = line.strip_prefix(' ') {
            let key = last.as_ref().expect("a continuation after an attribute");
            attributes
                .get_mut(key)
                .expect("the attribute continued")
                .push_str(more);
        } else {
            let (key, value) = line.split_once(": ").expect("NAME: VALUE");
            attributes.insert(key.to_string(), value.to_string());
            last = Some(key.to_string());
        }
    }
    attributes
}

/// The main attributes of a jar's `META-INF/MANIFEST.MF`.
#[track_caller]
fn jar_manifest(jar: impl Read + std::io::Seek) -> BTreeMap<String, String> {
    let mut archive = zip::ZipArchive::new(jar).expect("a jar");
    let mut text = String::new();
    archive
        .by_name("META-INF/MANIFEST.MF")
        .expect("a manifest")
        .read_to_string(&mut text)
        .unwrap();
    manifest_attributes(&text)
}

/// A string array of the runtime config (`Entrypoint`).
fn config_list(config: &Value, key: &str) -> Vec<String> {
    config["config"][key]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// The config's label `key`.
fn label<'a>(config: &'a Value, key: &str) -> Option<&'a str> {
    config["config"]["Labels"][key].as_str()
}

/// A field of the runtime's `release` file.
fn release_field(jvm: &JvmBase, key: &str) -> Option<String> {
    std::fs::read_to_string(jvm.runtime.join("release"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{key}=")))
        .map(|v| v.trim_matches('"').to_string())
}

/// Asserts the entrypoint is `java … FLAG … -jar /app/app.jar` with `flag`
/// before `-jar`, and the working directory `/app`.
#[track_caller]
fn assert_archive_flag(config: &Value, flag: &str) {
    let entrypoint = config_list(config, "Entrypoint");
    let at = |wanted: &str| entrypoint.iter().position(|a| a == wanted);
    let jar_at = at("-jar").unwrap_or_else(|| panic!("no -jar in {entrypoint:?}"));
    assert_eq!(
        &entrypoint[jar_at..],
        ["-jar", "/app/app.jar"],
        "{entrypoint:?}"
    );
    let flag_at = at(flag).unwrap_or_else(|| panic!("no {flag} in {entrypoint:?}"));
    assert!(flag_at < jar_at, "{flag} after -jar: {entrypoint:?}");
    assert_eq!(config["config"]["WorkingDir"], "/app", "{config}");
}

/// Asserts the labels that say what the archive was trained on.
#[track_caller]
fn assert_startup_labels(config: &Value, kind: &str, jvm: &JvmBase) {
    assert_eq!(label(config, "dev.hoist.startup"), Some(kind), "{config}");
    assert_eq!(
        label(config, "dev.hoist.startup.java.version"),
        Some(jvm.java_version().as_str()),
        "{config}"
    );
    assert_eq!(
        label(config, "dev.hoist.startup.java.runtime-version").map(str::to_string),
        release_field(jvm, "JAVA_RUNTIME_VERSION").or_else(|| Some(jvm.java_version())),
        "{config}"
    );
    assert_eq!(
        label(config, "dev.hoist.startup.java.implementor").map(str::to_string),
        release_field(jvm, "IMPLEMENTOR"),
        "{config}"
    );
    let digest = label(config, "dev.hoist.startup.classpath.digest").unwrap_or("");
    assert!(
        digest.len() == 71 && digest.starts_with("sha256:"),
        "classpath digest {digest:?}"
    );
}

/// Runs the pulled `image` as container `name` with `SERVER_PORT`,
/// `SPRING_PROFILES_ACTIVE=dev` and `extra_env`; waits for `"status":"UP"`
/// on `/actuator/health`, checks `/hello` and that the app started from
/// `/app/app.jar`. Returns the running container (killed when dropped).
#[track_caller]
fn expect_serves<'a>(
    containerd: &'a Containerd,
    image: &str,
    name: &str,
    extra_env: &[(&str, &str)],
) -> RunningContainer<'a> {
    let port = free_port();
    let port_text = port.to_string();
    let mut env = vec![
        ("SERVER_PORT", port_text.as_str()),
        ("SPRING_PROFILES_ACTIVE", "dev"),
    ];
    env.extend_from_slice(extra_env);
    let started = Instant::now();
    let mut container = containerd.run_with(
        image,
        name,
        &RunOptions {
            env: &env,
            ..RunOptions::default()
        },
    );
    let deadline = started + START_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (status, body) =
            container.expect_http(port, "/actuator/health", left.max(Duration::from_secs(1)));
        if status == 200 && body.contains("\"status\":\"UP\"") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: /actuator/health still answers {status} {body:?} after {START_TIMEOUT:?}:\n{}",
            container.logs()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let up = started.elapsed();
    let (status, body) = container.expect_http(port, "/hello", Duration::from_secs(10));
    let app = App::Boot35;
    assert_eq!(
        (status, body.trim_end()),
        (
            200,
            format!("hello from {} {} profile=dev", app.name(), app.version()).as_str()
        ),
        "{name}: /hello:\n{}",
        container.logs()
    );
    let logs = container.logs();
    assert!(
        logs.contains("(/app/app.jar started by"),
        "{name}: the app did not start from /app/app.jar:\n{logs}"
    );
    eprintln!("{name}: up in {:.1} s, /hello answered", up.as_secs_f64());
    container
}

/// Extracted mode and a CDS archive on the JDK 17 base, one registry and
/// one containerd. The extracted image: `dependencies` holds exactly the
/// jar's `BOOT-INF/lib/*.jar` as `app/lib/NAME` at their sizes,
/// `application` only the thin `app/app.jar`, whose manifest starts the
/// `Start-Class` with every `lib/` jar on its `Class-Path`; it serves from
/// `/app/app.jar`. The CDS image: the same layers plus `startup` (only
/// `app/app.jsa`), the flag before `-jar`, the labels; with `-Xshare:on`
/// it serves and the JVM says it mapped the dynamic archive.
#[test]
fn extracted_and_cds_on_jdk17_start_and_serve() {
    let jar = App::Boot35.jar();
    let jvm = JvmBase::get(JVM_MODULES);
    let registry = TestRegistry::start(Auth::None);
    let base = push_base(&registry, &jvm);
    let extracted = registry.image("boot35:extracted");
    let cds = registry.image("boot35:cds");
    let extracted_report = build(&base, &jar, &extracted, &["--mode", "extracted"]);
    assert!(
        extracted_report.get("startup").is_none(),
        "{extracted_report}"
    );
    let cds_report = build(&base, &jar, &cds, &["--startup", "cds"]);

    let containerd = Containerd::start();
    containerd.pull(&extracted);
    let layers = app_layers(&extracted_report);
    let names: Vec<&str> = layers.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["dependencies", "application"], "{extracted_report}");
    let expected_libs: BTreeMap<String, u64> = jar_files(&jar)
        .into_iter()
        .filter_map(|(name, size)| {
            let file = name.strip_prefix("BOOT-INF/lib/")?;
            (file.ends_with(".jar") && !file.contains('/'))
                .then(|| (format!("app/lib/{file}"), size))
        })
        .collect();
    assert!(expected_libs.len() > 10, "{expected_libs:?}");
    let dependencies = tar_contents(&pulled_layer_tar(&containerd, &layers[0].1, &layers[0].2));
    assert_eq!(
        sizes(&dependencies),
        expected_libs,
        "the dependencies layer: the jar's BOOT-INF/lib/*.jar under app/lib"
    );
    let application = tar_contents(&pulled_layer_tar(&containerd, &layers[1].1, &layers[1].2));
    let files: Vec<&String> = application.keys().collect();
    assert_eq!(files, ["app/app.jar"], "the application layer");
    let thin = jar_manifest(std::io::Cursor::new(&application["app/app.jar"]));
    let fat = jar_manifest(std::fs::File::open(&jar).unwrap());
    assert_eq!(
        thin.get("Main-Class"),
        Some(&fat["Start-Class"]),
        "the thin jar's Main-Class: {thin:?}"
    );
    let class_path: BTreeSet<String> = thin
        .get("Class-Path")
        .unwrap_or_else(|| panic!("no Class-Path: {thin:?}"))
        .split(' ')
        .map(|p| format!("app/{}", p.replace("%20", " ")))
        .collect();
    let libs: BTreeSet<String> = expected_libs.keys().cloned().collect();
    assert_eq!(class_path, libs, "the thin jar's Class-Path");
    let config = pulled_config(&containerd, &extracted_report);
    let entrypoint = config_list(&config, "Entrypoint");
    assert_eq!(
        &entrypoint[entrypoint.len() - 2..],
        ["-jar", "/app/app.jar"],
        "{entrypoint:?}"
    );
    assert!(
        !entrypoint.iter().any(|a| a.contains("SharedArchiveFile")),
        "{entrypoint:?}"
    );
    expect_serves(&containerd, &extracted, "boot35-extracted", &[]);

    // The CDS image: the extracted image's layers, then the archive's.
    let startup = &cds_report["startup"];
    assert_eq!(startup["kind"], "cds", "{cds_report}");
    assert_eq!(startup["archive"], "/app/app.jsa", "{cds_report}");
    assert_eq!(startup["javaVersion"], jvm.java_version().as_str());
    assert_eq!(startup["platform"], "linux/amd64");
    let cds_layers = app_layers(&cds_report);
    assert_eq!(cds_layers[..2], layers[..], "the layers below the archive");
    assert_eq!(cds_layers.len(), 3, "{cds_report}");
    assert_eq!(cds_layers[2].0, "startup");
    containerd.pull(&cds);
    let archive_layer = tar_contents(&pulled_layer_tar(
        &containerd,
        &cds_layers[2].1,
        &cds_layers[2].2,
    ));
    assert_eq!(
        sizes(&archive_layer),
        BTreeMap::from([(
            "app/app.jsa".to_string(),
            startup["archiveBytes"].as_u64().unwrap()
        )]),
        "the startup layer"
    );
    let config = pulled_config(&containerd, &cds_report);
    assert_archive_flag(&config, "-XX:SharedArchiveFile=/app/app.jsa");
    assert_startup_labels(&config, "cds", &jvm);
    let container = expect_serves(
        &containerd,
        &cds,
        "boot35-cds",
        &[("JAVA_TOOL_OPTIONS", "-Xshare:on -Xlog:cds=info")],
    );
    let logs = container.logs();
    assert!(
        logs.contains("Mapped dynamic region"),
        "boot35-cds: no sign that /app/app.jsa mapped:\n{logs}"
    );
    assert!(logs.contains("/app/app.jsa"), "{logs}");
}

/// `--startup auto` on the JDK 25 base makes an AOT cache: the report, the
/// entrypoint's `-XX:AOTCache=/app/app.aot`, the labels; with
/// `-XX:AOTMode=on` (no cache, no start) it serves and the JVM says it
/// opened the cache.
#[test]
fn auto_on_jdk25_makes_an_aot_cache_the_jvm_opens() {
    let jar = App::Boot35.jar();
    let jvm = JvmBase::temurin25(JVM_MODULES);
    let registry = TestRegistry::start(Auth::None);
    let base = push_base(&registry, &jvm);
    let image = registry.image("boot35:aot");
    let report = build(&base, &jar, &image, &["--startup", "auto"]);
    let startup = &report["startup"];
    assert_eq!(startup["kind"], "aot-cache", "{report}");
    assert_eq!(startup["archive"], "/app/app.aot", "{report}");
    assert_eq!(startup["javaVersion"], jvm.java_version().as_str());
    assert!(
        jvm.java_version().starts_with("25"),
        "{}",
        jvm.java_version()
    );
    let names: Vec<String> = app_layers(&report).into_iter().map(|l| l.0).collect();
    assert_eq!(
        names,
        ["dependencies", "application", "startup"],
        "{report}"
    );

    let containerd = Containerd::start();
    containerd.pull(&image);
    let config = pulled_config(&containerd, &report);
    assert_archive_flag(&config, "-XX:AOTCache=/app/app.aot");
    assert_startup_labels(&config, "aot-cache", &jvm);
    let container = expect_serves(
        &containerd,
        &image,
        "boot35-aot",
        &[("JAVA_TOOL_OPTIONS", "-XX:AOTMode=on -Xlog:aot=info")],
    );
    let logs = container.logs();
    assert!(
        logs.contains("Opened AOT cache"),
        "boot35-aot: no sign that /app/app.aot opened:\n{logs}"
    );
}

/// A copy of `jar` at `to` with `BOOT-INF/classes/application.properties`
/// one comment line longer; every other entry copied raw (nested jars stay
/// stored), that one written with its own compression method and time.
#[track_caller]
fn jar_with_changed_properties(jar: &Path, to: &Path) -> PathBuf {
    const CHANGED: &str = "BOOT-INF/classes/application.properties";
    let mut source = zip::ZipArchive::new(std::fs::File::open(jar).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    let mut changed = false;
    for i in 0..source.len() {
        let entry = source.by_index_raw(i).unwrap();
        if entry.name().unwrap() != CHANGED {
            out.raw_copy_file(entry).unwrap();
            continue;
        }
        drop(entry);
        let mut entry = source.by_index(i).unwrap();
        let mut options =
            zip::write::SimpleFileOptions::default().compression_method(entry.compression());
        if let Some(time) = entry.last_modified() {
            options = options.last_modified_time(time);
        }
        if let Some(mode) = entry.unix_mode() {
            options = options.unix_permissions(mode);
        }
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        drop(entry);
        text.push_str("# changed by hoist's startup test\n");
        out.start_file(CHANGED, options).unwrap();
        out.write_all(text.as_bytes()).unwrap();
        changed = true;
    }
    out.finish().unwrap();
    assert!(changed, "{}: no {CHANGED}", jar.display());
    // The nested jars are still stored, as Spring's loader needs them.
    let mut copy = zip::ZipArchive::new(std::fs::File::open(to).unwrap()).unwrap();
    for i in 0..copy.len() {
        let entry = copy.by_index_raw(i).unwrap();
        let name = entry.name().unwrap().to_string();
        if name.starts_with("BOOT-INF/lib/") && name.ends_with(".jar") {
            assert_eq!(
                entry.compression(),
                zip::CompressionMethod::Stored,
                "{name} of the copy"
            );
        }
    }
    to.to_path_buf()
}

/// The archive is cached under everything that makes it: the same jar
/// again finds it (`cached`, the same startup layer and label), a jar with
/// one changed entry retrains and has another class path digest.
#[test]
fn the_same_jar_finds_its_archive_in_the_cache_and_a_changed_jar_retrains() {
    let jar = App::Boot35.jar();
    let dir = tempfile::tempdir().unwrap();
    let base = layout_base(dir.path(), &["linux/amd64"]);
    let cache = dir.path().join("cache");
    let cache_arg = cache.display().to_string();
    let out = dir.path().join("out");
    let to = |tag: &str| format!("oci:{}:{tag}", out.display());
    let extra = ["--startup", "cds", "--cache-dir", cache_arg.as_str()];

    let first = build(&base, &jar, &to("1"), &extra);
    assert_eq!(first["startup"]["cached"], false, "{first}");
    assert!(
        first["startup"]["trainingSeconds"].as_f64().unwrap() > 0.0,
        "{first}"
    );
    let second = build(&base, &jar, &to("2"), &extra);
    assert_eq!(second["startup"]["cached"], true, "{second}");
    assert_eq!(second["startup"]["trainingSeconds"], 0.0, "{second}");
    assert_eq!(startup_layer_digest(&second), startup_layer_digest(&first));
    assert_eq!(second["digest"], first["digest"], "the same image");

    let changed = jar_with_changed_properties(&jar, &dir.path().join("changed.jar"));
    let third = build(&base, &changed, &to("3"), &extra);
    assert_eq!(third["startup"]["cached"], false, "{third}");
    assert_ne!(startup_layer_digest(&third), startup_layer_digest(&first));

    let digest_of = |tag: &str| {
        let image = LayoutImage::open(&out, tag);
        assert_archive_flag(&image.config, "-XX:SharedArchiveFile=/app/app.jsa");
        label(&image.config, "dev.hoist.startup.classpath.digest")
            .unwrap_or_else(|| panic!("no classpath digest label: {}", image.config))
            .to_string()
    };
    let (one, two, three) = (digest_of("1"), digest_of("2"), digest_of("3"));
    assert!(one.starts_with("sha256:"), "{one}");
    assert_eq!(one, two, "the same jar, the same class path");
    assert_ne!(one, three, "a changed jar, another class path");
}

/// Runs a build that must fail with exit 2 and one line (with a hint)
/// holding each of `expected`; checks nothing was left where the
/// destination would have gone. Returns the line.
#[track_caller]
fn refused(jar: &Path, from: &str, extra: &[&str], expected: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out_parent = dir.path().join("never");
    let out = out_parent.join("image");
    let started = Instant::now();
    let stderr = hoist()
        .args(["build", "--from", from, "--jar"])
        .args([jar])
        .args(["--to", &format!("oci:{}:t", out.display())])
        .args(extra)
        .failure(2);
    eprintln!(
        "refused {extra:?} in {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        stderr.trim_end()
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("hoist: error: "), "{stderr}");
    assert!(stderr.contains("(hint: "), "no hint: {stderr}");
    for part in expected {
        assert!(stderr.contains(part), "{part:?} not in {stderr}");
    }
    assert!(!out_parent.exists(), "output left behind");
    let leftovers: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    stderr
}

/// The images of the index tagged `tag` in the layout at `dir`: platform
/// → (manifest, config).
#[track_caller]
fn index_images(dir: &Path, tag: &str) -> BTreeMap<String, (Value, Value)> {
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let descriptor = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no tag {tag} in {index}"));
    let image_index: Value =
        serde_json::from_slice(&blob(dir, descriptor["digest"].as_str().unwrap())).unwrap();
    image_index["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("not an index: {image_index}"))
        .iter()
        .map(|m| {
            let platform = format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            );
            let manifest: Value =
                serde_json::from_slice(&blob(dir, m["digest"].as_str().unwrap())).unwrap();
            let config: Value =
                serde_json::from_slice(&blob(dir, manifest["config"]["digest"].as_str().unwrap()))
                    .unwrap();
            (platform, (manifest, config))
        })
        .collect()
}

/// Bad input, on one base (an OCI layout index of linux/amd64 and
/// linux/arm64, the same JDK 17 under each): each refusal is one line with
/// a hint, exit code 2 and nothing written. Then `auto` for both platforms
/// builds, warns about linux/arm64 and puts the archive (layer, flag,
/// labels) only in the amd64 image.
#[test]
fn bad_startup_input_is_one_line_and_auto_skips_the_foreign_platform() {
    let jar = App::Boot35.jar();
    let dir = tempfile::tempdir().unwrap();
    let base = layout_base(dir.path(), &["linux/amd64", "linux/arm64"]);

    // Refused before anything is read.
    refused(
        &jar,
        &base,
        &["--mode", "exploded", "--startup", "cds"],
        &["--startup cds", "extracted", "--mode exploded"],
    );
    refused(
        &jar,
        &base,
        &["--startup", "cds", "--jvm-flag=-Xshare:off"],
        &["-Xshare:off"],
    );
    refused(
        &jar,
        &base,
        &[
            "--startup",
            "cds",
            "--jvm-flag=-XX:SharedArchiveFile=/tmp/x.jsa",
        ],
        &["-XX:SharedArchiveFile"],
    );
    refused(
        &jar,
        &base,
        &[
            "--startup",
            "cds",
            "--platform",
            "linux/amd64",
            "--platform",
            "linux/arm64",
        ],
        &["--startup cds", "linux/arm64", "auto"],
    );
    // Refused once the base's JVM is known.
    refused(
        &jar,
        &base,
        &["--startup", "aot-cache"],
        &["aot-cache", "JDK 17", "JDK 24"],
    );
    refused(
        &jar,
        "scratch",
        &["--startup", "cds"],
        &["no java on the image's PATH or JAVA_HOME"],
    );
    // Refused by the training run.
    refused(
        &jar,
        &base,
        &[
            "--startup",
            "cds",
            "--jvm-flag=-XX:-UseCompressedClassPointers",
        ],
        &[
            "the JVM refused the image's flags for an archive",
            "DynamicDumpSharedSpaces is unsupported when base CDS archive is not loaded",
        ],
    );
    refused(
        &jar,
        &base,
        &[
            "--startup",
            "cds",
            "--training-env",
            "SPRING_CONFIG_IMPORT=file:/nonexistent.properties",
        ],
        &[
            "training run failed (java exited with 1)",
            "/nonexistent.properties",
        ],
    );
    refused(
        &jar,
        &base,
        &["--startup", "cds", "--training-timeout", "2s"],
        &["did not finish in 2 s", "its last line: "],
    );

    // auto: amd64 with the archive, arm64 without, and a warning.
    let out = dir.path().join("out");
    let meta = dir.path().join("auto.json");
    let (shown, output) = hoist()
        .args(["build", "--from", &base, "--jar"])
        .args([&jar])
        .args(["--to", &format!("oci:{}:auto", out.display())])
        .args(["--startup", "auto"])
        .args(["--platform", "linux/amd64", "--platform", "linux/arm64"])
        .args([std::ffi::OsStr::new("--metadata-file"), meta.as_os_str()])
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown} failed:\n{stderr}");
    assert!(
        stderr.lines().any(|l| l.starts_with("hoist: warning: ")
            && l.contains("linux/arm64")
            && l.contains("without a start-up archive")),
        "no warning about linux/arm64:\n{stderr}"
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    assert_eq!(report["startup"]["kind"], "cds", "{report}");
    assert_eq!(report["startup"]["platform"], "linux/amd64", "{report}");
    let startup_layer = startup_layer_digest(&report);
    let images = index_images(&out, "auto");
    let platforms: Vec<&String> = images.keys().collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    let layer_digests = |manifest: &Value| -> Vec<String> {
        manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap().to_string())
            .collect()
    };
    let (amd64, amd64_config) = &images["linux/amd64"];
    let (arm64, arm64_config) = &images["linux/arm64"];
    let amd64_layers = layer_digests(amd64);
    let arm64_layers = layer_digests(arm64);
    assert_eq!(amd64_layers.last(), Some(&startup_layer));
    assert!(!arm64_layers.contains(&startup_layer), "{arm64}");
    assert_eq!(
        arm64_layers[..],
        amd64_layers[..amd64_layers.len() - 1],
        "arm64: the amd64 image's layers without the archive's"
    );
    assert_archive_flag(amd64_config, "-XX:SharedArchiveFile=/app/app.jsa");
    assert_startup_labels(amd64_config, "cds", &JvmBase::get(JVM_MODULES));
    let arm64_entrypoint = config_list(arm64_config, "Entrypoint");
    assert!(
        !arm64_entrypoint
            .iter()
            .any(|a| a.contains("SharedArchiveFile")),
        "{arm64_entrypoint:?}"
    );
    assert_eq!(
        &arm64_entrypoint[arm64_entrypoint.len() - 2..],
        ["-jar", "/app/app.jar"]
    );
    let arm64_labels: Vec<&String> = arm64_config["config"]["Labels"]
        .as_object()
        .map(|m| {
            m.keys()
                .filter(|k| k.starts_with("dev.hoist.startup"))
                .collect()
        })
        .unwrap_or_default();
    assert!(arm64_labels.is_empty(), "arm64 labels: {arm64_labels:?}");
}
