//! Real Spring Boot apps (`testdata/spring/`, built with Maven) through
//! hoist into a registry and out again into containerd, where they must
//! start and serve: the JVM base (a jlink'd runtime, see
//! [`JvmBase`]) is pushed to a fresh registry, the app built on it with
//! `hoist build --from REGISTRY/base:1 --jar JAR --to REGISTRY/app:TAG`,
//! pulled with `ctr images pull --plain-http` into a fresh containerd and
//! run with the host's network, `SERVER_PORT` and `SPRING_PROFILES_ACTIVE=dev`
//! (what a task definition's environment gives). Each must report
//! `"status":"UP"` on `/actuator/health` and answer `/hello` with its name
//! and the dev profile.
//!
//! The layers are read back from what containerd pulled (`ctr content
//! get`, gzip by flate2, zstd by the `zstd` command) and compared file by
//! file with the plugin's own `BOOT-INF/layers.idx` in the jar.
//!
//! Each test has its own registry and containerd and runs its images one
//! after another; containerd that cannot start fails the test with why.

use crate::support::cli::hoist;
use crate::support::containerd::{
    free_port, wait_http, Containerd, JvmBase, RunOptions, RunningContainer,
};
use crate::support::registry::{Auth, TestRegistry};
use crate::support::spring::{jar_files, layer_of, layers_index, parse_layers_index, App};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// What Spring Boot web + actuator needs of the JDK (`java.desktop` for
/// `java.beans`, `jdk.management` for the GC metrics).
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

/// How long an app may take from `ctr run` to `"status":"UP"` (Spring Boot
/// takes 5–10 s on two cores; several tests share them).
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Pushes the JVM base to `registry` as `base:1` (an index when several
/// `platforms` are given: the same amd64 runtime under each) and returns
/// its reference.
#[track_caller]
fn push_base(registry: &TestRegistry, platforms: &[&str]) -> String {
    let jvm = JvmBase::get(JVM_MODULES);
    let image = registry.image("base:1");
    let mut build = hoist()
        .args(["build", "--from", "scratch", "--to", &image])
        .args(jvm.hoist_args());
    for platform in platforms {
        build = build.args(["--platform", platform]);
    }
    build.report();
    image
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

/// The report's layers that hoist made from the jar (not the base's):
/// (name, digest, media type), bottom first.
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

/// The uncompressed tar of a layer blob as containerd pulled it (`ctr
/// content get`), checked against its digest.
#[track_caller]
fn pulled_layer_tar(containerd: &Containerd, digest: &str, media_type: &str) -> Vec<u8> {
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
    let blob = output.stdout;
    assert_eq!(
        format!("sha256:{}", sha256_hex(&blob)),
        digest,
        "the blob containerd holds for {digest}"
    );
    if media_type.ends_with("+zstd") {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &blob).unwrap();
        let out = Command::new("zstd")
            .args(["-d", "-c", "-q"])
            .arg(file.path())
            .output()
            .unwrap_or_else(|e| panic!("running zstd ({e}); install it: apt-get install zstd"));
        assert!(out.status.success(), "zstd -d of layer {digest} failed");
        out.stdout
    } else {
        assert!(
            media_type.ends_with("+gzip") || media_type.ends_with(".gzip"),
            "layer {digest} is {media_type}"
        );
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&blob[..])
            .read_to_end(&mut tar)
            .unwrap_or_else(|e| panic!("gunzipping layer {digest}: {e}"));
        tar
    }
}

/// The regular files of a layer tar: path (without a leading `/` or `./`)
/// → size.
fn tar_files(tar: &[u8]) -> BTreeMap<String, u64> {
    let mut files = BTreeMap::new();
    for entry in tar::Archive::new(tar).entries().unwrap() {
        let entry = entry.unwrap();
        if !matches!(
            entry.header().entry_type(),
            tar::EntryType::Regular | tar::EntryType::Continuous
        ) {
            continue;
        }
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let path = path.trim_start_matches("./").trim_start_matches('/');
        files.insert(path.to_string(), entry.size());
    }
    files
}

/// The bytes of file `path` in a layer tar.
fn tar_file_bytes(tar: &[u8], path: &str) -> Vec<u8> {
    for entry in tar::Archive::new(tar).entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        if name.trim_start_matches("./").trim_start_matches('/') == path {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            return bytes;
        }
    }
    panic!("no {path} in the layer")
}

/// Hex SHA-256 of bytes.
fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Hex SHA-256 of a file, read as a stream.
fn file_sha256_hex(path: &Path) -> String {
    let mut hasher = Sha256::new();
    let mut file = std::fs::File::open(path).unwrap();
    std::io::copy(&mut file, &mut hasher).unwrap();
    hex::encode(hasher.finalize())
}

/// Exploded mode: hoist's app layers are the index's layers that hold any
/// of the jar's files (`expected`, which the test states), in the index's
/// order, and each holds exactly the jar's files that the index puts in
/// it, under `/app`, at their sizes in the jar.
#[track_caller]
fn assert_layers_follow_index(
    containerd: &Containerd,
    report: &Value,
    jar: &Path,
    expected: &[&str],
) {
    let index = layers_index(jar);
    let mut by_layer: Vec<BTreeMap<String, u64>> = vec![BTreeMap::new(); index.len()];
    for (name, size) in jar_files(jar) {
        let slot = layer_of(&index, &name)
            .unwrap_or_else(|| panic!("{}: layers.idx puts {name} in no layer", jar.display()));
        by_layer[slot].insert(format!("app/{name}"), size);
    }
    let nonempty: Vec<&str> = index
        .iter()
        .zip(&by_layer)
        .filter(|(_, files)| !files.is_empty())
        .map(|(layer, _)| layer.name.as_str())
        .collect();
    assert_eq!(
        nonempty,
        expected,
        "the layers of {}'s layers.idx that hold files",
        jar.display()
    );
    let layers = app_layers(report);
    let names: Vec<&str> = layers.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        expected,
        "hoist's layers for {} (layers.idx order, empty layers left out)",
        jar.display()
    );
    for (name, digest, media_type) in &layers {
        let slot = index.iter().position(|l| &l.name == name).unwrap();
        let files = tar_files(&pulled_layer_tar(containerd, digest, media_type));
        if files != by_layer[slot] {
            let extra: Vec<_> = files
                .iter()
                .filter(|(p, s)| by_layer[slot].get(*p) != Some(s))
                .collect();
            let missing: Vec<_> = by_layer[slot]
                .iter()
                .filter(|(p, s)| files.get(*p) != Some(s))
                .collect();
            panic!(
                "layer {name} of {} does not hold what layers.idx puts in it:\nnot the index's (or another size): {extra:?}\nmissing (or another size): {missing:?}",
                jar.display()
            );
        }
    }
}

/// Runs the pulled `image` as container `name` with `SERVER_PORT` and
/// `SPRING_PROFILES_ACTIVE=dev`, waits for `"status":"UP"` on
/// `/actuator/health`, checks `/hello` and that the app says it started
/// from `started_from` (`/app/BOOT-INF/classes` exploded, `/app/app.jar`
/// packaged). Returns the running container and its port; the container is
/// killed when that is dropped.
#[track_caller]
fn expect_serves<'a>(
    containerd: &'a Containerd,
    image: &str,
    name: &str,
    app: App,
    platform: Option<&str>,
    started_from: &str,
) -> (RunningContainer<'a>, u16) {
    let port = free_port();
    let port_text = port.to_string();
    let env = [
        ("SERVER_PORT", port_text.as_str()),
        ("SPRING_PROFILES_ACTIVE", "dev"),
    ];
    let started = Instant::now();
    let mut container = containerd.run_with(
        image,
        name,
        &RunOptions {
            env: &env,
            platform,
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
        logs.contains(&format!("({started_from} started by")),
        "{name}: the app did not start from {started_from}:\n{logs}"
    );
    eprintln!("{name}: up in {:.1} s, /hello answered", up.as_secs_f64());
    (container, port)
}

/// Boot 3.5 in both modes on one daemon. Exploded (the default for a Boot
/// jar, gzip): three layers in layers.idx order (its empty
/// `snapshot-dependencies` left out), each holding exactly its files, and
/// the app runs from `/app/BOOT-INF/classes`. Packaged: one `application`
/// layer holding the jar itself as `/app/app.jar`, run with `java -jar`.
#[test]
fn boot35_exploded_and_packaged_start_and_serve_with_the_dev_profile() {
    let jar = App::Boot35.jar();
    let registry = TestRegistry::start(Auth::None);
    let base = push_base(&registry, &["linux/amd64"]);
    let exploded = registry.image("boot35:exploded");
    let packaged = registry.image("boot35:packaged");
    let exploded_report = build(&base, &jar, &exploded, &[]);
    let packaged_report = build(&base, &jar, &packaged, &["--mode", "packaged"]);

    let containerd = Containerd::start();
    containerd.pull(&exploded);
    assert_layers_follow_index(
        &containerd,
        &exploded_report,
        &jar,
        &["dependencies", "spring-boot-loader", "application"],
    );
    expect_serves(
        &containerd,
        &exploded,
        "boot35-exploded",
        App::Boot35,
        None,
        "/app/BOOT-INF/classes",
    );

    containerd.pull(&packaged);
    let layers = app_layers(&packaged_report);
    assert_eq!(layers.len(), 1, "{packaged_report}");
    let (name, digest, media_type) = &layers[0];
    assert_eq!(name, "application");
    let tar = pulled_layer_tar(&containerd, digest, media_type);
    let files: Vec<String> = tar_files(&tar).into_keys().collect();
    assert_eq!(files, ["app/app.jar"]);
    assert_eq!(
        sha256_hex(&tar_file_bytes(&tar, "app/app.jar")),
        file_sha256_hex(&jar),
        "/app/app.jar is not the jar"
    );
    expect_serves(
        &containerd,
        &packaged,
        "boot35-packaged",
        App::Boot35,
        None,
        "/app/app.jar",
    );
}

/// `--compression zstd`: the app's layers are zstd, and a containerd that
/// has never seen their content (a fresh daemon: one that had unpacked the
/// gzip image would find the same diff_ids and skip the unpacking) pulls,
/// unpacks and runs them.
#[test]
fn boot35_zstd_layers_unpack_in_a_fresh_containerd_and_start() {
    let jar = App::Boot35.jar();
    let registry = TestRegistry::start(Auth::None);
    let base = push_base(&registry, &["linux/amd64"]);
    let image = registry.image("boot35:zstd");
    let report = build(&base, &jar, &image, &["--compression", "zstd"]);
    let layers = app_layers(&report);
    assert!(
        layers
            .iter()
            .all(|(_, _, media_type)| media_type == "application/vnd.oci.image.layer.v1.tar+zstd"),
        "{report}"
    );

    let containerd = Containerd::start();
    containerd.pull(&image);
    assert_layers_follow_index(
        &containerd,
        &report,
        &jar,
        &["dependencies", "spring-boot-loader", "application"],
    );
    expect_serves(
        &containerd,
        &image,
        "boot35-zstd",
        App::Boot35,
        None,
        "/app/BOOT-INF/classes",
    );
}

/// On a base that is an index of linux/amd64 and linux/arm64: Boot 4.0
/// exploded for the default platform (amd64, taken from the base's index),
/// and Boot 3.5 built for both platforms into an index of its own, of
/// which containerd pulls and runs the amd64 member.
#[test]
fn boot40_and_the_amd64_member_of_a_two_platform_index_start() {
    let boot40 = App::Boot40.jar();
    let boot35 = App::Boot35.jar();
    let registry = TestRegistry::start(Auth::None);
    let base = push_base(&registry, &["linux/amd64", "linux/arm64"]);
    let boot40_image = registry.image("boot40:exploded");
    let boot40_report = build(&base, &boot40, &boot40_image, &[]);
    assert_eq!(boot40_report["platform"], "linux/amd64", "{boot40_report}");
    let multi = registry.image("boot35:multi");
    let multi_report = build(
        &base,
        &boot35,
        &multi,
        &["--platform", "linux/amd64", "--platform", "linux/arm64"],
    );
    assert_eq!(
        multi_report["mediaType"], "application/vnd.oci.image.index.v1+json",
        "{multi_report}"
    );
    let platforms: Vec<&str> = multi_report["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"], "{multi_report}");

    let containerd = Containerd::start();
    containerd.pull(&boot40_image);
    assert_layers_follow_index(
        &containerd,
        &boot40_report,
        &boot40,
        &["dependencies", "spring-boot-loader", "application"],
    );
    expect_serves(
        &containerd,
        &boot40_image,
        "boot40-exploded",
        App::Boot40,
        None,
        "/app/BOOT-INF/classes",
    );

    containerd.pull_platform(&multi, "linux/amd64");
    assert_layers_follow_index(
        &containerd,
        &multi_report,
        &boot35,
        &["dependencies", "spring-boot-loader", "application"],
    );
    expect_serves(
        &containerd,
        &multi,
        "boot35-index-amd64",
        App::Boot35,
        Some("linux/amd64"),
        "/app/BOOT-INF/classes",
    );
}

/// Apps with layers.idx of their own: the multi-module app's SNAPSHOT
/// library (built in the same reactor) is alone in `snapshot-dependencies`,
/// and the custom-layers app keeps its five-layer file's names and order
/// (`company-dependencies` holding the company library; its empty
/// `snapshot-dependencies` left out). Both start from their layers.
#[test]
fn multimodule_and_custom_layers_keep_their_layers_and_start() {
    let multimodule = App::MultiModule.jar();
    let customlayers = App::CustomLayers.jar();
    let custom_names: Vec<String> = layers_index(&customlayers)
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(
        custom_names,
        [
            "dependencies",
            "spring-boot-loader",
            "company-dependencies",
            "snapshot-dependencies",
            "application"
        ]
    );
    let registry = TestRegistry::start(Auth::None);
    let base = push_base(&registry, &["linux/amd64"]);
    let multimodule_image = registry.image("multimodule:1");
    let customlayers_image = registry.image("customlayers:1");
    let multimodule_report = build(&base, &multimodule, &multimodule_image, &[]);
    let customlayers_report = build(&base, &customlayers, &customlayers_image, &[]);

    let containerd = Containerd::start();
    containerd.pull(&multimodule_image);
    assert_layers_follow_index(
        &containerd,
        &multimodule_report,
        &multimodule,
        &[
            "dependencies",
            "spring-boot-loader",
            "snapshot-dependencies",
            "application",
        ],
    );
    let (_, digest, media_type) = app_layers(&multimodule_report)
        .into_iter()
        .find(|(name, _, _)| name == "snapshot-dependencies")
        .unwrap();
    let snapshot: Vec<String> = tar_files(&pulled_layer_tar(&containerd, &digest, &media_type))
        .into_keys()
        .collect();
    assert_eq!(
        snapshot,
        ["app/BOOT-INF/lib/greeting-lib-1.1.0-SNAPSHOT.jar"]
    );
    expect_serves(
        &containerd,
        &multimodule_image,
        "multimodule",
        App::MultiModule,
        None,
        "/app/BOOT-INF/classes",
    );

    containerd.pull(&customlayers_image);
    assert_layers_follow_index(
        &containerd,
        &customlayers_report,
        &customlayers,
        &[
            "dependencies",
            "spring-boot-loader",
            "company-dependencies",
            "application",
        ],
    );
    let (_, digest, media_type) = app_layers(&customlayers_report)
        .into_iter()
        .find(|(name, _, _)| name == "company-dependencies")
        .unwrap();
    let company: Vec<String> = tar_files(&pulled_layer_tar(&containerd, &digest, &media_type))
        .into_keys()
        .collect();
    assert_eq!(company, ["app/BOOT-INF/lib/company-lib-1.0.0.jar"]);
    expect_serves(
        &containerd,
        &customlayers_image,
        "customlayers",
        App::CustomLayers,
        None,
        "/app/BOOT-INF/classes",
    );
}

/// The reader the tests above compare hoist with: layers in the file's
/// order, an empty layer kept, a trailing `/` a prefix, anything else a
/// whole name.
#[test]
fn layers_idx_reader_keeps_empty_layers_and_reads_prefixes() {
    let index = parse_layers_index(
        "- \"dependencies\":\n  - \"BOOT-INF/lib/\"\n- \"snapshot-dependencies\":\n- \"application\":\n  - \"BOOT-INF/classes/\"\n  - \"BOOT-INF/layers.idx\"\n",
    );
    let names: Vec<&str> = index.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        ["dependencies", "snapshot-dependencies", "application"]
    );
    assert!(index[1].entries.is_empty());
    assert_eq!(layer_of(&index, "BOOT-INF/lib/a.jar"), Some(0));
    assert_eq!(layer_of(&index, "BOOT-INF/classes/x/Y.class"), Some(2));
    assert_eq!(layer_of(&index, "BOOT-INF/layers.idx"), Some(2));
    assert_eq!(layer_of(&index, "BOOT-INF/layers.idx2"), None);
    assert_eq!(layer_of(&index, "org/x.class"), None);
}

/// What `GET /which` of the class-order app answers when `java -jar` (this
/// machine's JVM, Spring's own launcher over the jar) runs it: the library
/// whose copy of `dev.hoist.shadow.Which` Spring loads.
#[track_caller]
fn which_under_java_jar(jar: &Path) -> String {
    let port = free_port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut java = Command::new("java")
        .arg("-jar")
        .arg(jar)
        .env("SERVER_PORT", port.to_string())
        .stdout(log.reopen().unwrap())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run java ({e}); install a JDK 17 (apt-get install openjdk-17-jdk-headless)"
            )
        });
    let answer = wait_http(port, "/which", START_TIMEOUT);
    let _ = java.kill();
    let _ = java.wait();
    match answer {
        Some((200, body)) => body.trim().to_string(),
        other => panic!(
            "java -jar {}: /which answered {other:?}:\n{}",
            jar.display(),
            std::fs::read_to_string(log.path()).unwrap_or_default()
        ),
    }
}

/// The regular files under `dir`, relative to it, with their sizes.
fn tree_files(dir: &Path) -> BTreeMap<String, u64> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                let relative = entry
                    .path()
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.insert(relative, entry.metadata().unwrap().len());
            }
        }
    }
    files
}

/// Two libraries hold the same class (`shadow-a` and `shadow-b`, both with
/// `dev.hoist.shadow.Which`): the exploded image loads the copy that `java
/// -jar` loads, since hoist starts Spring's own launcher over the unpacked
/// jar and the launcher orders the classpath by `BOOT-INF/classpath.idx`.
/// And hoist's layers hold, file for file, what Spring's own container
/// layout (`java -Djarmode=tools -jar app.jar extract --layers --launcher`)
/// puts in each layer directory: hoist unpacks them into one `/app` tree
/// (what a Dockerfile's `COPY` of each directory into one `WORKDIR` makes),
/// leaves out the empty ones, and writes its own fixed times and modes.
#[test]
fn exploded_mode_loads_the_class_java_jar_loads_and_matches_springs_extract_layout() {
    let jar = App::ClassOrder.jar();
    let spring = which_under_java_jar(&jar);
    assert!(spring.starts_with("shadow-"), "{spring}");
    let libs: Vec<String> = jar_files(&jar)
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name.contains("/shadow-"))
        .collect();
    assert_eq!(libs.len(), 2, "both libraries are in the jar: {libs:?}");

    let registry = TestRegistry::start(Auth::None);
    let base = push_base(&registry, &["linux/amd64"]);
    let image = registry.image("classorder:exploded");
    let report = build(&base, &jar, &image, &[]);
    let containerd = Containerd::start();
    containerd.pull(&image);
    let expected = ["dependencies", "spring-boot-loader", "application"];
    assert_layers_follow_index(&containerd, &report, &jar, &expected);
    let (mut container, port) = expect_serves(
        &containerd,
        &image,
        "classorder-exploded",
        App::ClassOrder,
        None,
        "/app/BOOT-INF/classes",
    );
    let (status, body) = container.expect_http(port, "/which", Duration::from_secs(10));
    assert_eq!(
        (status, body.trim()),
        (200, spring.as_str()),
        "{}",
        container.logs()
    );
    drop(container);

    // Spring's own layout, layer directory by layer directory.
    let extracted = tempfile::tempdir().unwrap();
    let output = Command::new("java")
        .arg("-Djarmode=tools")
        .arg("-jar")
        .arg(&jar)
        .args(["extract", "--layers", "--launcher", "--destination"])
        .arg(extracted.path())
        .output()
        .expect("running java -Djarmode=tools");
    assert!(
        output.status.success(),
        "extract: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut spring_layers: Vec<String> = std::fs::read_dir(extracted.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !tree_files(&extracted.path().join(name)).is_empty())
        .collect();
    spring_layers.sort();
    let mut ours: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    ours.sort();
    assert_eq!(spring_layers, ours, "the layers holding files");
    for (name, digest, media_type) in app_layers(&report) {
        let in_image: BTreeMap<String, u64> =
            tar_files(&pulled_layer_tar(&containerd, &digest, &media_type))
                .into_iter()
                .map(|(path, size)| (path.strip_prefix("app/").unwrap_or(&path).to_string(), size))
                .collect();
        assert_eq!(
            in_image,
            tree_files(&extracted.path().join(&name)),
            "layer {name}: hoist's files (under /app) and Spring's extract"
        );
    }
}
