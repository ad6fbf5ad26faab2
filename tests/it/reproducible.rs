//! Reproducibility: the same inputs give the same digest, whatever the time,
//! directory, umask or time zone; a golden digest pins the whole format.

use crate::support::cli::hoist;
use crate::support::fixtures::synthetic_boot;
use crate::support::oci::LayoutImage;
use std::path::Path;
use std::process::Command;

/// The digest of `synthetic_boot` built on scratch with default settings.
/// Changing it is a deliberate, documented break of reproducibility (see
/// docs/images.md, "Reproducibility"): tar format, gzip bytes, config or manifest.
const GOLDEN_DIGEST: &str =
    "sha256:3a053572bc48a8f8a53ba484bc4a87b017d3502b91643f22e533c401a1c28dc5";

fn build_in(dir: &Path, umask: &str, tz: &str) -> String {
    let jar = synthetic_boot(&dir.join("jar"));
    std::fs::write(dir.join("extra.yaml"), "greeting: hi\n").unwrap();
    let script = format!(
        "umask {umask}; exec \"$0\" build --from scratch --jar \"$1\" --file \"$2:/app/config/extra.yaml\" --to \"oci:$3:v1\"",
    );
    let output = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_hoist"))
        .arg(&jar)
        .arg(dir.join("extra.yaml"))
        .arg(dir.join("out"))
        .env("TZ", tz)
        // A cache per build: the second build must not be served from the first.
        .env("HOIST_CACHE_DIR", dir.join("cache"))
        .env_remove("SOURCE_DATE_EPOCH")
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

#[test]
fn same_inputs_same_digest_across_time_dirs_umask_and_tz() {
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    let first = build_in(one.path(), "022", "UTC");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // A different mtime and mode on the extra file must not matter either.
    let second = build_in(two.path(), "077", "Asia/Seoul");
    assert_eq!(first, second);
    assert!(first.starts_with("sha256:"), "{first}");
    let image = LayoutImage::open(&two.path().join("out"), "v1");
    assert_eq!(image.digest, second);
}

#[test]
fn golden_digest() {
    let dir = tempfile::tempdir().unwrap();
    let jar = synthetic_boot(dir.path());
    let out = dir.path().join("out");
    let digest = hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&jar])
        .args(["--to", &format!("oci:{}:golden", out.display())])
        .success();
    assert_eq!(
        digest.trim(),
        GOLDEN_DIGEST,
        "the golden digest moved: if on purpose, update it and say so in docs/images.md"
    );
}

#[test]
fn source_date_epoch_and_creation_time_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let jar = synthetic_boot(dir.path());
    let out = dir.path().join("out");
    let to = |tag: &str| format!("oci:{}:{tag}", out.display());
    let plain = hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&jar])
        .args(["--to", &to("a")])
        .success();
    let dated = hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&jar])
        .args(["--to", &to("b")])
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .success();
    assert_ne!(plain, dated);
    let image = LayoutImage::open(&out, "b");
    assert_eq!(image.config["created"], "2023-11-14T22:13:20Z");
    let tar = image.layer_tar(0);
    let mut archive = tar::Archive::new(&tar[..]);
    for entry in archive.entries().unwrap() {
        assert_eq!(entry.unwrap().header().mtime().unwrap(), 1_700_000_000);
    }
    hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&jar])
        .args(["--to", &to("c"), "--creation-time", "2024-05-01T12:00:00Z"])
        .success();
    assert_eq!(
        LayoutImage::open(&out, "c").config["created"],
        "2024-05-01T12:00:00Z"
    );
    // Tags a and b are still there: adding to a layout keeps its other tags.
    LayoutImage::open(&out, "a");
}
