//! The image really starts: build, unpack the layers with an independent
//! reader, then run the image's own entrypoint, working directory and Cmd
//! with this machine's `java`, the image's `/app` mapped onto the unpacked tree.

use crate::support::cli::hoist;
use crate::support::fixtures::{self, boot2_plain, boot3_layered, plain_with_lib, uber};
use crate::support::oci::LayoutImage;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Started {
    stdout: String,
    stderr: String,
    workdir: PathBuf,
}

/// Builds `jar` with `extra` flags, unpacks the image and runs it.
fn build_and_start(jar: &Path, extra: &[&str]) -> (LayoutImage, Started) {
    let dir = tempfile::tempdir().unwrap().keep();
    let out = dir.join("out");
    hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([jar])
        .args(["--to", &format!("oci:{}:app", out.display())])
        .args(extra)
        .success();
    let image = LayoutImage::open(&out, "app");
    let root = dir.join("rootfs");
    image.unpack(&root);
    let map = |arg: &str| -> String {
        arg.split(':')
            .map(|part| {
                if part == "/app" || part.starts_with("/app/") {
                    format!("{}{part}", root.display())
                } else {
                    part.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(":")
    };
    let mut argv: Vec<String> = image.config_list("Entrypoint");
    argv.extend(image.config_list("Cmd"));
    assert_eq!(argv[0], "java", "entrypoint starts with java: {argv:?}");
    let workdir = PathBuf::from(map(image.config["config"]["WorkingDir"].as_str().unwrap()));
    let mut command = Command::new("java");
    command
        .args(argv[1..].iter().map(|a| map(a)))
        .current_dir(&workdir)
        .env_remove("SPRING_PROFILES_ACTIVE");
    for pair in image.config_list("Env") {
        let (k, v) = pair.split_once('=').unwrap();
        if k != "PATH" {
            command.env(k, v);
        }
    }
    let output = command
        .output()
        .expect("running java (install openjdk-17-jre-headless)");
    let started = Started {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        workdir,
    };
    assert!(
        output.status.success(),
        "the app failed:\n{}\n{}",
        started.stdout,
        started.stderr
    );
    (image, started)
}

fn layer_names(jar: &Path, extra: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let report = hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([jar])
        .args(["--to", &format!("oci:{}", dir.path().join("o").display())])
        .args(extra)
        .report();
    report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn boot3_exploded_starts_with_layers_in_index_order() {
    let jars = tempfile::tempdir().unwrap();
    let jar = boot3_layered(jars.path());
    let (image, started) = build_and_start(
        &jar,
        &[
            "--args",
            "one",
            "--args",
            "two",
            "--env",
            "SPRING_PROFILES_ACTIVE=dev",
        ],
    );
    assert_eq!(
        started.stdout,
        fixtures::expected_stdout(&["one", "two"], Some("dev"), &started.workdir)
    );
    assert!(
        started.stderr.contains("launcher: exploded"),
        "{}",
        started.stderr
    );
    assert_eq!(
        image.config_list("Entrypoint"),
        ["java", "-cp", "/app", fixtures::BOOT3_LAUNCHER]
    );
    assert_eq!(
        layer_names(&jar, &[]),
        [
            "dependencies",
            "spring-boot-loader",
            "snapshot-dependencies",
            "application"
        ]
    );
    let deps = image.layer_paths(0);
    assert!(
        deps.contains(&format!("app/BOOT-INF/lib/{}", fixtures::GREETING_JAR)),
        "{deps:?}"
    );
    assert!(!deps.iter().any(|p| p.contains("SNAPSHOT")), "{deps:?}");
    let snapshots = image.layer_paths(2);
    assert!(
        snapshots.contains(&format!("app/BOOT-INF/lib/{}", fixtures::SNAP_JAR)),
        "{snapshots:?}"
    );
    let application = image.layer_paths(3);
    assert!(
        application
            .iter()
            .any(|p| p.ends_with("DemoApplication.class")),
        "{application:?}"
    );
}

#[test]
fn boot3_packaged_starts() {
    let jars = tempfile::tempdir().unwrap();
    let jar = boot3_layered(jars.path());
    let (image, started) = build_and_start(&jar, &["--mode", "packaged", "--jvm-flag", "-Xss1m"]);
    assert_eq!(
        started.stdout,
        fixtures::expected_stdout(&[], None, &started.workdir)
    );
    assert!(
        started.stderr.contains("launcher: packaged"),
        "{}",
        started.stderr
    );
    assert_eq!(
        image.config_list("Entrypoint"),
        ["java", "-Xss1m", "-jar", "/app/app.jar"]
    );
}

#[test]
fn boot2_without_layers_index_starts_with_default_layers() {
    let jars = tempfile::tempdir().unwrap();
    let jar = boot2_plain(jars.path());
    let (image, started) = build_and_start(&jar, &[]);
    assert_eq!(
        started.stdout,
        fixtures::expected_stdout(&[], None, &started.workdir)
    );
    assert_eq!(image.config_list("Entrypoint")[3], fixtures::BOOT2_LAUNCHER);
    assert_eq!(
        layer_names(&jar, &[]),
        [
            "dependencies",
            "spring-boot-loader",
            "snapshot-dependencies",
            "resources",
            "classes"
        ]
    );
}

#[test]
fn boot_exploded_with_main_class_override_skips_the_launcher() {
    let jars = tempfile::tempdir().unwrap();
    let jar = boot3_layered(jars.path());
    let (image, started) = build_and_start(&jar, &["--main-class", fixtures::START_CLASS]);
    assert_eq!(
        started.stdout,
        fixtures::expected_stdout(&[], None, &started.workdir)
    );
    assert!(!started.stderr.contains("launcher:"), "{}", started.stderr);
    assert_eq!(
        image.config_list("Entrypoint").last().unwrap(),
        fixtures::START_CLASS
    );
}

#[test]
fn plain_jar_with_class_path_starts() {
    let dir = tempfile::tempdir().unwrap();
    let jar = plain_with_lib(dir.path());
    let (image, started) = build_and_start(&jar, &["--args", "x"]);
    assert_eq!(
        started.stdout,
        fixtures::expected_stdout(&["x"], None, &started.workdir)
    );
    assert_eq!(
        image.config_list("Entrypoint"),
        ["java", "-jar", &format!("/app/{}", fixtures::APP_JAR)]
    );
    assert_eq!(
        layer_names(&jar, &[]),
        ["dependencies", "snapshot-dependencies", "application"]
    );
    assert_eq!(
        image.layer_paths(0),
        ["app/", &format!("app/{}", fixtures::GREETING_JAR)]
    );
}

#[test]
fn uber_jar_starts() {
    let dir = tempfile::tempdir().unwrap();
    let jar = uber(dir.path());
    let (image, started) = build_and_start(&jar, &["--port", "8080", "--user", "1000:1000"]);
    assert_eq!(
        started.stdout,
        fixtures::expected_stdout(&[], None, &started.workdir)
    );
    assert_eq!(image.layer_digests().len(), 1);
    assert_eq!(
        image.config["config"]["ExposedPorts"],
        serde_json::json!({"8080/tcp": {}})
    );
    assert_eq!(image.config["config"]["User"], "1000:1000");
}
