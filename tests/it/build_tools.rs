//! `[image] build`: `hoist ship` runs the project's Gradle or Maven build —
//! the wrapper (`./gradlew`, `./mvnw`) when the project has one, else the
//! tool on PATH — in the directory of hoist.toml, then packs the jar the
//! build left, never the files builds write beside it; `hoist init` writes
//! the setting for Maven and Gradle projects. Gradle and Maven's plugins
//! cannot be downloaded here, so the builds are stand-in scripts that record
//! how they were run and drop a fixture Boot jar where the real tool would.

use crate::support::cli::{hoist, Hoist};
use crate::support::ecs_emulator::EcsEmulator;
use crate::support::fixtures::{boot3_layered, APP_JAR};
use crate::support::registry::{Auth, TestRegistry};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A project directory with hoist.toml, and a directory where the
/// stand-in builds record their arguments and working directory.
struct BuildProject {
    dir: tempfile::TempDir,
    records: tempfile::TempDir,
    /// The Boot jar the stand-ins copy into place.
    fixture: PathBuf,
}

impl BuildProject {
    /// hoist.toml with `image_lines` in `[image]` (besides `from`, `to`
    /// and `ports`) and the `dev` environment of the emulator's seed.
    fn new(registry_host: &str, image_lines: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let records = tempfile::tempdir().unwrap();
        let fixture = boot3_layered(&records.path().join("fixture"));
        let toml = format!(
            r#"[image]
from = "scratch"
to = "{registry_host}/plog-back"
ports = [8080]
{image_lines}

[env.dev]
cluster = "plog-cluster"
service = "plog-api"
container = "plog-back"
tags = ["dev"]
"#
        );
        std::fs::write(dir.path().join("hoist.toml"), toml).unwrap();
        Self {
            dir,
            records,
            fixture,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes an executable stand-in for `tool` at `at`: it records its
    /// arguments (one a line) and working directory under the tool's name,
    /// prints a line on stdout as builds do, copies the fixture jar to
    /// `out/APP_JAR` and writes each of `decoys` (not jars) into `out`.
    fn stand_in(&self, at: &Path, tool: &str, out: &str, decoys: &[&str]) {
        let record = self.records.path().join(tool);
        let mut body = format!(
            "#!/bin/sh\n\
             # stands in for {tool}\n\
             printf '%s\\n' \"$@\" > '{record}.args'\n\
             pwd -P > '{record}.cwd'\n\
             echo '{tool}: BUILD SUCCESS'\n\
             mkdir -p '{out}'\n\
             cp '{fixture}' '{out}/{APP_JAR}'\n",
            record = record.display(),
            fixture = self.fixture.display(),
        );
        for decoy in decoys {
            body.push_str(&format!("echo 'not the app' > '{out}/{decoy}'\n"));
        }
        write_script(at, &body);
    }

    /// How the stand-in for `tool` was run: its arguments, and where.
    fn recorded(&self, tool: &str) -> Option<(Vec<String>, PathBuf)> {
        let record = self.records.path().join(tool);
        let args = std::fs::read_to_string(record.with_extension("args")).ok()?;
        let cwd = std::fs::read_to_string(record.with_extension("cwd")).unwrap();
        Some((
            args.lines().map(str::to_string).collect(),
            PathBuf::from(cwd.trim()),
        ))
    }

    /// `hoist ARGS` in the project directory.
    fn hoist(&self, args: &[&str]) -> Hoist {
        hoist().args(args).current_dir(self.dir.path())
    }

    /// The project directory as the build sees it (symlinks resolved).
    fn real_dir(&self) -> PathBuf {
        std::fs::canonicalize(self.dir.path()).unwrap()
    }
}

fn write_script(at: &Path, body: &str) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::fs::write(at, body).unwrap();
    std::fs::set_permissions(at, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// AWS settings that reach nothing: a command that gets as far as asking
/// ECS fails on the connection, not on what the test checks.
fn unreachable_aws(command: Hoist) -> Hoist {
    command
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "ap-northeast-2")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
}

/// The one `hoist: error:` line of `stderr`.
#[track_caller]
fn error_line(stderr: &str) -> &str {
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("hoist: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    errors[0]
}

#[test]
fn the_maven_wrapper_runs_in_batch_mode_in_the_config_dir_and_its_jar_is_shipped() {
    let registry = TestRegistry::start(Auth::None);
    let emulator = EcsEmulator::start();
    emulator.seed();
    let project = BuildProject::new(&registry.host, "build = \"maven package -DskipTests\"");
    project.stand_in(
        &project.path("mvnw"),
        "mvnw",
        "target",
        &["demo-0.0.1.jar.original"],
    );
    // Run from elsewhere: the build runs where hoist.toml is.
    let elsewhere = tempfile::tempdir().unwrap();
    let config = project.path("hoist.toml");
    let (shown, output) = emulator
        .aws(hoist().args(["ship", "dev", "--poll-interval", "20ms", "--config"]))
        .args([&config])
        .current_dir(elsewhere.path())
        .output();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}:\n{stderr}");

    let (args, cwd) = project.recorded("mvnw").expect("./mvnw ran");
    assert_eq!(args, ["-B", "package", "-DskipTests"]);
    assert_eq!(cwd, project.real_dir());
    assert!(
        stderr.contains("==> ./mvnw -B package -DskipTests\n"),
        "{stderr}"
    );
    // The default jar glob for Maven is target/*.jar; the .original is not it.
    let jar = project.real_dir().join("target").join(APP_JAR);
    assert!(
        stderr.contains(&format!("==> jar {}\n", jar.display())),
        "{stderr}"
    );
    // The build's output goes to stderr: stdout is hoist's result alone.
    assert!(stderr.contains("mvnw: BUILD SUCCESS"), "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with(&format!("{}/plog-back@sha256:", registry.host)),
        "{stdout}"
    );
}

#[test]
fn without_a_wrapper_maven_on_path_runs_and_side_artifacts_are_skipped() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    // `jar = "target/*"` matches everything Maven leaves there.
    let project = BuildProject::new(
        "127.0.0.1:9",
        "build = \"maven -B package\"\njar = \"target/*\"",
    );
    let bin = tempfile::tempdir().unwrap();
    project.stand_in(
        &bin.path().join("mvn"),
        "mvn",
        "target",
        &[
            "demo-0.0.1.jar.original",
            "demo-0.0.1-sources.jar",
            "demo-0.0.1-javadoc.jar",
        ],
    );
    let path = std::env::join_paths(
        std::iter::once(bin.path().to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let stderr = {
        let (shown, output) = emulator
            .aws(project.hoist(&["ship", "dev", "--dry-run"]))
            .env("PATH", &path)
            .output();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{shown}:\n{stderr}");
        stderr
    };
    let (args, cwd) = project.recorded("mvn").expect("mvn ran");
    // -B was given: not added twice.
    assert_eq!(args, ["-B", "package"]);
    assert_eq!(cwd, project.real_dir());
    assert!(stderr.contains("==> mvn -B package\n"), "{stderr}");
    let jar = project.real_dir().join("target").join(APP_JAR);
    assert!(
        stderr.contains(&format!("==> jar {}\n", jar.display())),
        "{stderr}"
    );
}

#[test]
fn the_gradle_wrapper_runs_for_build_and_for_the_older_gradle_task() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    for setting in ["build = \"gradle bootJar\"", "gradle-task = \"bootJar\""] {
        let project = BuildProject::new("127.0.0.1:9", setting);
        project.stand_in(
            &project.path("gradlew"),
            "gradlew",
            "build/libs",
            &["demo-0.0.1-plain.jar"],
        );
        let stderr = {
            let (shown, output) = emulator
                .aws(project.hoist(&["ship", "dev", "--dry-run"]))
                .output();
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            assert!(output.status.success(), "{setting}: {shown}:\n{stderr}");
            stderr
        };
        let (args, cwd) = project.recorded("gradlew").expect("./gradlew ran");
        assert_eq!(args, ["bootJar"], "{setting}");
        assert_eq!(cwd, project.real_dir());
        assert!(stderr.contains("==> ./gradlew bootJar\n"), "{stderr}");
        let jar = project.real_dir().join("build/libs").join(APP_JAR);
        assert!(
            stderr.contains(&format!("==> jar {}\n", jar.display())),
            "{setting}: {stderr}"
        );
    }
}

#[test]
fn skip_build_and_the_older_skip_gradle_pack_the_jar_as_it_is() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    let project = BuildProject::new("127.0.0.1:9", "build = \"maven package\"");
    boot3_layered(&project.path("target"));
    write_script(
        &project.path("mvnw"),
        "#!/bin/sh\necho 'must not run' >&2\nexit 7\n",
    );
    for flag in ["--skip-build", "--skip-gradle"] {
        let stderr = {
            let (shown, output) = emulator
                .aws(project.hoist(&["ship", "dev", "--dry-run", flag]))
                .output();
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            assert!(output.status.success(), "{shown}:\n{stderr}");
            stderr
        };
        assert!(!stderr.contains("must not run"), "{flag}: {stderr}");
        assert!(!stderr.contains("==> ./mvnw"), "{flag}: {stderr}");
    }
}

#[test]
fn init_in_a_maven_project_writes_a_maven_build() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pom.xml"),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>org.springframework.boot</groupId>
    <artifactId>spring-boot-starter-parent</artifactId>
    <version>3.3.0</version>
  </parent>
  <groupId>com.example</groupId>
  <artifactId>Plog-Maven</artifactId>
  <dependencies>
    <dependency><artifactId>spring-boot-starter-web</artifactId></dependency>
  </dependencies>
</project>
"#,
    )
    .unwrap();
    boot3_layered(&dir.path().join("target"));
    std::fs::write(dir.path().join("target/demo-0.0.1.jar.original"), "old").unwrap();
    let (shown, output) = hoist().args(["init"]).current_dir(dir.path()).output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}:\n{stderr}");
    assert!(
        stderr.starts_with("wrote hoist.toml for plog-maven (Maven: pom.xml), jar "),
        "{stderr}"
    );
    assert!(
        stderr.trim_end().ends_with(&format!("target/{APP_JAR}")),
        "{stderr}"
    );
    let text = std::fs::read_to_string(dir.path().join("hoist.toml")).unwrap();
    for line in [
        "/plog-maven\"",
        "\njar = \"target/*.jar\"",
        "\nbuild = \"maven package -DskipTests\"",
    ] {
        assert!(text.contains(line), "{line}:\n{text}");
    }
    assert!(!text.contains("gradle"), "{text}");
    // What init wrote is valid: ship gets as far as the environment check.
    let stderr = hoist()
        .args(["ship", "nope"])
        .current_dir(dir.path())
        .failure(2);
    assert!(stderr.contains("known environments: dev, prod"), "{stderr}");
}

#[test]
fn bad_build_settings_stop_hoist_before_anything_runs() {
    for (setting, wanted) in [
        (
            "build = \"ant jar\"",
            &[
                "[image] build \"ant jar\"",
                "unknown build tool \"ant\"",
                "gradle or maven",
            ][..],
        ),
        (
            "build = \"maven package\"\ngradle-task = \"bootJar\"",
            &["both build", "and gradle-task", "keep one"][..],
        ),
        ("build = \"maven\"", &["say what maven should run"][..]),
    ] {
        let project = BuildProject::new("127.0.0.1:9", setting);
        project.stand_in(&project.path("mvnw"), "mvnw", "target", &[]);
        project.stand_in(&project.path("gradlew"), "gradlew", "build/libs", &[]);
        let stderr = unreachable_aws(project.hoist(&["ship", "dev"])).failure(2);
        assert_eq!(stderr.lines().count(), 1, "{setting}: {stderr}");
        let line = error_line(&stderr);
        assert!(line.contains("hoist.toml: "), "{line}");
        for part in wanted {
            assert!(line.contains(part), "{setting}: {part}: {line}");
        }
        assert!(project.recorded("mvnw").is_none() && project.recorded("gradlew").is_none());
    }
}

#[test]
fn no_wrapper_and_no_tool_on_path_is_a_usage_error_before_ecs_is_asked() {
    let project = BuildProject::new("127.0.0.1:9", "build = \"gradle bootJar\"");
    let empty = tempfile::tempdir().unwrap();
    let stderr = unreachable_aws(project.hoist(&["ship", "dev"]))
        .env("PATH", empty.path())
        .failure(2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let line = error_line(&stderr);
    assert!(
        line.contains("no ./gradlew in") && line.contains("no gradle on PATH"),
        "{line}"
    );
    assert!(line.contains("(hint: add the Gradle wrapper"), "{line}");
}

#[test]
fn a_failing_build_is_one_line_naming_the_command_and_its_status() {
    let project = BuildProject::new("127.0.0.1:9", "build = \"maven package -DskipTests\"");
    write_script(
        &project.path("mvnw"),
        "#!/bin/sh\necho '[ERROR] COMPILATION ERROR' \necho 'BUILD FAILURE' >&2\nexit 3\n",
    );
    let stderr = unreachable_aws(project.hoist(&["ship", "dev", "--no-verify"])).failure(1);
    assert_eq!(
        error_line(&stderr),
        "hoist: error: build failed: ./mvnw -B package -DskipTests exited with status 3 (its output is above)"
    );
    assert!(stderr.contains("COMPILATION ERROR") && stderr.contains("BUILD FAILURE"));
    assert!(!stderr.contains("panicked"), "{stderr}");
}
