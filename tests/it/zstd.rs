//! zstd layers (`--compression zstd[:LEVEL]`): OCI media type, the same tars
//! (diff_ids) as gzip, bytes that do not depend on the core count, read back
//! by the `zstd` command and skopeo; Docker v2s2 refuses them; docker
//! archives and registries take them.

use crate::support::cli::{hoist, run_tool};
use crate::support::fixtures::{big_boot, big_boot_variant, boot3_layered};
use crate::support::oci::{copied_by_skopeo, LayoutImage};
use crate::support::registry::{Auth, TestRegistry};
use serde_json::Value;
use std::path::Path;

const ZSTD_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// The digest of `big_boot(20 MB)` built on scratch with `--compression zstd`
/// (multi-threaded libzstd, level 3, 2 MiB jobs). Changing it is a
/// deliberate, documented break (docs/images.md, "Compression"): it moved on
/// 2026-12-07, when zstd went from no worker threads to one per core with
/// 2 MiB jobs.
const ZSTD_GOLDEN_DIGEST: &str =
    "sha256:ea005fb6779ae1ed86dbe0c95aedcb35d03da05b5ddd8d80f3cb2870ac956e20";
const SKOPEO: &str = "apt-get install skopeo";

fn build_to_layout(jar: &Path, out: &Path, extra: &[&str], cache: &Path) -> String {
    hoist()
        .env("HOIST_CACHE_DIR", cache)
        .args(["build", "--from", "scratch", "--jar"])
        .args([jar])
        .args(["--to", &format!("oci:{}:t", out.display())])
        .args(extra)
        .success()
        .trim()
        .to_string()
}

#[test]
fn zstd_layers_are_oci_zstd_with_the_same_tars_as_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let jar = boot3_layered(dir.path());
    let cache = dir.path().join("cache");
    let gzip_out = dir.path().join("gzip");
    let zstd_out = dir.path().join("zstd");
    build_to_layout(&jar, &gzip_out, &[], &cache);
    build_to_layout(&jar, &zstd_out, &["--compression", "zstd:9"], &cache);
    let gzip = LayoutImage::open(&gzip_out, "t");
    let zstd = LayoutImage::open(&zstd_out, "t");
    assert_eq!(
        zstd.manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let layers = zstd.layer_digests().len();
    assert_eq!(layers, gzip.layer_digests().len());
    for i in 0..layers {
        assert_eq!(zstd.layer_media_type(i), ZSTD_LAYER);
        // Decompressed by the zstd command and checked against the diff_id:
        // the very tar the gzip image holds.
        assert_eq!(zstd.layer_tar(i), gzip.layer_tar(i), "layer {i}");
        assert_ne!(zstd.layer_digests()[i], gzip.layer_digests()[i]);
    }
    assert_eq!(
        zstd.config["rootfs"]["diff_ids"],
        gzip.config["rootfs"]["diff_ids"]
    );
    // skopeo copies it to another layout, checking every blob.
    let back = copied_by_skopeo(&format!("oci:{}:t", zstd_out.display()), dir.path());
    assert_eq!(back.digest, zstd.digest);
}

#[test]
fn zstd_bytes_do_not_depend_on_the_cores_hoist_may_use() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(
        cores >= 2,
        "this test compares 1 core with several; the machine has {cores}"
    );
    let dir = tempfile::tempdir().unwrap();
    // 20 MB of dependency jars: a dependency layer of 10 zstd jobs (2 MiB each
    // at level 3), compressed by 1 worker under taskset and by one per core.
    let jar = big_boot(&dir.path().join("jar"), 20_000_000);
    let digests: Vec<String> = [None, Some("0")]
        .into_iter()
        .enumerate()
        .map(|(run, cpus)| {
            let out = dir.path().join(format!("out{run}"));
            let cache = dir.path().join(format!("cache{run}"));
            let target = format!("oci:{}:t", out.display());
            // taskset: the process (and its available_parallelism) sees one core.
            let hoist = env!("CARGO_BIN_EXE_hoist");
            let mut command = match cpus {
                Some(list) => {
                    let mut c = std::process::Command::new("taskset");
                    c.args(["-c", list, hoist]);
                    c
                }
                None => std::process::Command::new(hoist),
            };
            let output = command
                .env("HOIST_CACHE_DIR", &cache)
                .args([
                    "build",
                    "--from",
                    "scratch",
                    "--compression",
                    "zstd",
                    "--jar",
                ])
                .arg(&jar)
                .args(["--to", &target])
                .output()
                .expect("running hoist (taskset: apt-get install util-linux)");
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8(output.stdout).unwrap().trim().to_string()
        })
        .collect();
    assert_eq!(digests[0], digests[1], "all cores vs one core");
    assert_eq!(
        digests[0], ZSTD_GOLDEN_DIGEST,
        "the zstd golden digest moved: if on purpose, update it and say so in docs/images.md"
    );
}

#[test]
fn docker_v2s2_refuses_zstd_in_one_line_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let jar = boot3_layered(dir.path());
    let out = dir.path().join("out");
    let stderr = hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&jar])
        .args(["--to", &format!("oci:{}:t", out.display())])
        .args(["--compression", "zstd", "--format", "docker"])
        .failure(2);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--compression zstd:3 needs OCI manifests") && stderr.contains("hint"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing written");
    let stderr = hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&jar])
        .args(["--to", &format!("oci:{}:t", out.display())])
        .args(["--compression", "zstd:42"])
        .failure(2);
    assert!(stderr.contains("zstd:1..19"), "{stderr}");
}

#[test]
fn a_docker_archive_of_a_zstd_build_holds_the_plain_tars() {
    let dir = tempfile::tempdir().unwrap();
    let jar = boot3_layered(dir.path());
    let archive = dir.path().join("app.tar");
    hoist()
        .args([
            "build",
            "--from",
            "scratch",
            "--compression",
            "zstd",
            "--jar",
        ])
        .args([&jar])
        .args([
            "--to",
            &format!("docker-archive:{}:app:1", archive.display()),
        ])
        .success();
    // skopeo reads the archive; its layers are the uncompressed tars whose
    // digests are the diff_ids.
    let inspect: Value = serde_json::from_str(&run_tool(
        "skopeo",
        &[
            "inspect",
            "--config",
            &format!("docker-archive:{}", archive.display()),
        ],
        SKOPEO,
    ))
    .unwrap();
    let back = copied_by_skopeo(&format!("docker-archive:{}", archive.display()), dir.path());
    assert_eq!(back.config["rootfs"], inspect["rootfs"]);
}

#[test]
fn a_zstd_image_goes_to_a_registry_and_comes_back_verified() {
    let registry = TestRegistry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    let jar = big_boot_variant(&dir.path().join("jar"), 12_000_000, 4);
    let image = registry.image("zstd/app:1");
    let report = hoist()
        .args([
            "build",
            "--from",
            "scratch",
            "--compression",
            "zstd",
            "--jar",
        ])
        .args([&jar])
        .args(["--to", &image])
        .report();
    assert_eq!(
        report["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let raw: Value = serde_json::from_str(&run_tool(
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{image}"),
        ],
        SKOPEO,
    ))
    .unwrap();
    for layer in raw["layers"].as_array().unwrap() {
        assert_eq!(layer["mediaType"], ZSTD_LAYER, "{raw}");
    }
    let back = copied_by_skopeo(&format!("docker://{image}"), dir.path());
    assert_eq!(back.digest, report["digest"].as_str().unwrap());
}

#[test]
fn inspect_names_the_compression_per_layer_and_who_pulls_zstd() {
    let dir = tempfile::tempdir().unwrap();
    let jar = boot3_layered(dir.path());
    let out = hoist()
        .args(["inspect", "--compression", "zstd"])
        .args([&jar])
        .success();
    assert!(out.contains("zstd:3"), "{out}");
    assert!(
        out.contains("containerd 1.5+") && out.contains("Fargate"),
        "{out}"
    );
    let out = hoist().args(["inspect"]).args([&jar]).success();
    assert!(out.contains("stored") && out.contains("gzip:6"), "{out}");
}
