//! Bad input: one line naming the thing, exit code 2, nothing written.

use crate::support::cli::hoist;
use crate::support::fixtures;
use std::path::{Path, PathBuf};

/// Runs a build that must fail with exit 2; checks the message and that the
/// destination's directory was never created. Returns stderr.
#[track_caller]
fn refused(jar: &Path, from: &str, extra: &[&str], expected: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out_parent = dir.path().join("never");
    let out = out_parent.join("image");
    let stderr = hoist()
        .args(["build", "--from", from, "--jar"])
        .args([jar])
        .args(["--to", &format!("oci:{}:t", out.display())])
        .args(extra)
        .failure(2);
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("hoist: error: "), "{stderr}");
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

fn jar_dir() -> PathBuf {
    tempfile::tempdir().unwrap().keep()
}

#[test]
fn missing_jar() {
    refused(
        Path::new("/nonexistent/app.jar"),
        "scratch",
        &[],
        &["/nonexistent/app.jar", "no such file", "hint"],
    );
}

#[test]
fn not_a_zip() {
    let jar = fixtures::not_a_zip(&jar_dir());
    refused(&jar, "scratch", &[], &["not-a-zip.jar", "not a jar"]);
}

#[test]
fn no_main_class() {
    let jar = fixtures::no_main_class(&jar_dir());
    refused(
        &jar,
        "scratch",
        &[],
        &["no-main-class.jar", "no Main-Class", "--main-class"],
    );
}

#[test]
fn parent_directory_entry() {
    let jar = fixtures::zip_slip(&jar_dir());
    refused(
        &jar,
        "scratch",
        &[],
        &["zip-slip.jar", "../evil.txt", "'..'"],
    );
}

#[test]
fn absolute_entry() {
    let jar = fixtures::absolute_entry(&jar_dir());
    refused(
        &jar,
        "scratch",
        &[],
        &["absolute-entry.jar", "/etc/evil", "absolute"],
    );
}

#[test]
fn duplicate_entry() {
    let jar = fixtures::duplicate_entry(&jar_dir());
    refused(
        &jar,
        "scratch",
        &[],
        &["duplicate-entry.jar", "duplicate", "dup.txt"],
    );
}

#[test]
fn unknown_base_path() {
    let jar = fixtures::synthetic_boot(&jar_dir());
    refused(
        &jar,
        "oci:/nonexistent/base:17",
        &[],
        &["oci:/nonexistent/base:17", "no OCI image layout"],
    );
    refused(
        &jar,
        "docker-archive:/nonexistent/base.tar",
        &[],
        &["/nonexistent/base.tar", "no such file"],
    );
}

#[test]
fn unknown_platform() {
    let jar = fixtures::synthetic_boot(&jar_dir());
    refused(
        &jar,
        "scratch",
        &["--platform", "amd64"],
        &["unknown platform", "amd64"],
    );
}

#[test]
fn bad_flags_exit_2() {
    let jar = fixtures::synthetic_boot(&jar_dir());
    refused(
        &jar,
        "scratch",
        &["--env", "NOEQUALS"],
        &["--env", "KEY=VALUE"],
    );
    refused(
        &jar,
        "scratch",
        &["--file", "/nonexistent.yaml:/app/x.yaml"],
        &["/nonexistent.yaml"],
    );
    refused(&jar, "Not A Reference!", &[], &["unknown image location"]);
}
