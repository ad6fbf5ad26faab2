//! Sources and destinations read by independent clients: skopeo reads the OCI
//! layout and the docker archive; bases come from layouts (multi-platform
//! indexes included) and archives; a directory tree keeps its metadata.

use crate::support::cli::{hoist, run_tool};
use crate::support::fixtures::synthetic_boot;
use crate::support::oci::{blob, sha256, LayoutImage};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

const SKOPEO: &str = "apt-get install skopeo";

fn build(jar: &Path, from: &str, to: &str, extra: &[&str]) -> String {
    hoist()
        .args(["build", "--from", from, "--jar"])
        .args([jar])
        .args(["--to", to])
        .args(extra)
        .success()
        .trim()
        .to_string()
}

#[test]
fn skopeo_reads_and_copies_the_oci_layout() {
    let dir = tempfile::tempdir().unwrap();
    let jar = synthetic_boot(dir.path());
    let out = dir.path().join("out");
    let digest = build(&jar, "scratch", &format!("oci:{}:v1", out.display()), &[]);
    let inspect: Value = serde_json::from_str(&run_tool(
        "skopeo",
        &["inspect", &format!("oci:{}:v1", out.display())],
        SKOPEO,
    ))
    .unwrap();
    assert_eq!(inspect["Digest"], digest);
    let image = LayoutImage::open(&out, "v1");
    assert_eq!(inspect["Layers"], json!(image.layer_digests()));
    let copied = dir.path().join("copied");
    run_tool(
        "skopeo",
        &[
            "copy",
            "--quiet",
            &format!("oci:{}:v1", out.display()),
            &format!("dir:{}", copied.display()),
        ],
        SKOPEO,
    );
    for layer in image.layer_digests() {
        let bytes = std::fs::read(copied.join(layer.strip_prefix("sha256:").unwrap())).unwrap();
        assert_eq!(sha256(&bytes), layer);
    }
    let manifest = std::fs::read(copied.join("manifest.json")).unwrap();
    assert_eq!(
        sha256(&manifest),
        digest,
        "skopeo copied the manifest byte for byte"
    );
}

#[test]
fn docker_archive_output_checks_out_and_skopeo_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let jar = synthetic_boot(dir.path());
    let archive = dir.path().join("app.tar");
    build(
        &jar,
        "scratch",
        &format!("docker-archive:{}:demo/app:1.0", archive.display()),
        &[],
    );
    let mut members: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut tar = tar::Archive::new(std::fs::File::open(&archive).unwrap());
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        members.insert(name, bytes);
    }
    let manifest: Value = serde_json::from_slice(&members["manifest.json"]).unwrap();
    assert_eq!(manifest[0]["RepoTags"], json!(["demo/app:1.0"]));
    let config_name = manifest[0]["Config"].as_str().unwrap();
    let config_bytes = &members[config_name];
    assert_eq!(
        format!("blobs/sha256/{}", &sha256(config_bytes)[7..]),
        config_name
    );
    let config: Value = serde_json::from_slice(config_bytes).unwrap();
    let layers = manifest[0]["Layers"].as_array().unwrap();
    assert_eq!(
        layers.len(),
        config["rootfs"]["diff_ids"].as_array().unwrap().len()
    );
    for (layer, diff_id) in layers
        .iter()
        .zip(config["rootfs"]["diff_ids"].as_array().unwrap())
    {
        let bytes = &members[layer.as_str().unwrap()];
        assert_eq!(
            &sha256(bytes),
            diff_id,
            "layer {layer} is the uncompressed tar of its diff_id"
        );
    }
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
    assert_eq!(inspect["rootfs"], config["rootfs"]);
}

#[test]
fn builds_on_a_docker_archive_base_in_docker_format() {
    let dir = tempfile::tempdir().unwrap();
    let jar = synthetic_boot(dir.path());
    let base = dir.path().join("base.tar");
    build(
        &jar,
        "scratch",
        &format!("docker-archive:{}:base:1", base.display()),
        &["--env", "JAVA_HOME=/opt/java"],
    );
    let out = dir.path().join("out");
    build(
        &jar,
        &format!("docker-archive:{}:base:1", base.display()),
        &format!("oci:{}:app", out.display()),
        &[],
    );
    let image = LayoutImage::open(&out, "app");
    assert_eq!(
        image.manifest["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(image.layer_digests().len(), 2 * 4);
    assert!(image
        .config_list("Env")
        .contains(&"JAVA_HOME=/opt/java".to_string()));
    for i in 0..8 {
        image.layer_tar(i);
    }
    let forced = dir.path().join("forced");
    build(
        &jar,
        &format!("docker-archive:{}", base.display()),
        &format!("oci:{}:app", forced.display()),
        &["--format", "oci"],
    );
    let forced = LayoutImage::open(&forced, "app");
    assert_eq!(
        forced.manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert!(forced.manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"));
}

/// Writes a layout with a two-platform index tagged `multi` (the amd64 and
/// arm64 images are built by hoist on scratch first).
fn multi_platform_base(dir: &Path, jar: &Path) -> std::path::PathBuf {
    let base = dir.join("base");
    let mut manifests = Vec::new();
    for (tag, platform) in [("amd", "linux/amd64"), ("arm", "linux/arm64/v8")] {
        build(
            jar,
            "scratch",
            &format!("oci:{}:{tag}", base.display()),
            &["--platform", platform, "--label", &format!("arch={tag}")],
        );
        let image = LayoutImage::open(&base, tag);
        let (os, rest) = platform.split_once('/').unwrap();
        let mut platform_json = json!({"os": os, "architecture": rest.split('/').next().unwrap()});
        if let Some(v) = rest.split('/').nth(1) {
            platform_json["variant"] = json!(v);
        }
        manifests.push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": image.digest,
            "size": blob(&base, &image.digest).len(),
            "platform": platform_json,
        }));
    }
    let index = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests})).unwrap();
    let digest = sha256(&index);
    std::fs::write(base.join("blobs/sha256").join(&digest[7..]), &index).unwrap();
    let mut top: Value =
        serde_json::from_slice(&std::fs::read(base.join("index.json")).unwrap()).unwrap();
    top["manifests"].as_array_mut().unwrap().push(json!({
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": digest,
        "size": index.len(),
        "annotations": {"org.opencontainers.image.ref.name": "multi"},
    }));
    std::fs::write(base.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    base
}

#[test]
fn platform_is_picked_from_a_multi_platform_base() {
    let dir = tempfile::tempdir().unwrap();
    let jar = synthetic_boot(dir.path());
    let base = multi_platform_base(dir.path(), &jar);
    let from = format!("oci:{}:multi", base.display());
    let out = dir.path().join("out");
    build(&jar, &from, &format!("oci:{}:a", out.display()), &[]);
    build(
        &jar,
        &from,
        &format!("oci:{}:b", out.display()),
        &["--platform", "linux/arm64"],
    );
    let amd = LayoutImage::open(&out, "a");
    let arm = LayoutImage::open(&out, "b");
    assert_eq!(
        (
            amd.config["architecture"].as_str(),
            amd.config["config"]["Labels"]["arch"].as_str()
        ),
        (Some("amd64"), Some("amd"))
    );
    assert_eq!(
        (
            arm.config["architecture"].as_str(),
            arm.config["variant"].as_str()
        ),
        (Some("arm64"), Some("v8"))
    );
    assert_eq!(arm.config["config"]["Labels"]["arch"], "arm");
    let base_digest = LayoutImage::open(&base, "arm").digest;
    assert_eq!(
        arm.config["config"]["Labels"]["org.opencontainers.image.base.digest"],
        base_digest
    );
    let stderr = hoist()
        .args([
            "build",
            "--from",
            &from,
            "--platform",
            "linux/s390x",
            "--jar",
        ])
        .args([&jar])
        .args(["--to", &format!("oci:{}:c", out.display())])
        .failure(2);
    assert!(
        stderr.contains("unknown platform linux/s390x") && stderr.contains("linux/arm64/v8"),
        "{stderr}"
    );
}

#[test]
fn layer_dir_keeps_ownership_modes_and_links() {
    use std::os::unix::fs::{chown, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::create_dir_all(root.join("home/app")).unwrap();
    std::fs::write(root.join("usr/bin/tool"), b"#!/bin/sh\n").unwrap();
    std::fs::set_permissions(
        root.join("usr/bin/tool"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    std::fs::hard_link(root.join("usr/bin/tool"), root.join("usr/bin/tool2")).unwrap();
    std::os::unix::fs::symlink("/usr/bin/tool", root.join("usr/bin/link")).unwrap();
    chown(root.join("home/app"), Some(1000), Some(1000)).expect("tests run as root, like CI");
    let out = dir.path().join("out");
    hoist()
        .args(["build", "--from", "scratch", "--layer-dir"])
        .args([&root])
        .args([
            "--env",
            "PATH=/usr/bin",
            "--to",
            &format!("oci:{}:base", out.display()),
        ])
        .success();
    let image = LayoutImage::open(&out, "base");
    let tar = image.layer_tar(0);
    let mut archive = tar::Archive::new(&tar[..]);
    let mut seen = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let h = entry.header();
        let link = entry
            .link_name()
            .unwrap()
            .map(|l| l.to_string_lossy().into_owned());
        seen.insert(
            entry.path().unwrap().to_string_lossy().into_owned(),
            (
                h.entry_type(),
                h.mode().unwrap(),
                h.uid().unwrap(),
                link,
                h.mtime().unwrap(),
            ),
        );
    }
    assert_eq!(seen["home/app/"].2, 1000);
    assert_eq!(seen["usr/bin/tool"].1, 0o4755);
    assert_eq!(seen["usr/bin/tool"].0, tar::EntryType::Regular);
    assert_eq!(seen["usr/bin/tool2"].0, tar::EntryType::Link);
    assert_eq!(seen["usr/bin/tool2"].3.as_deref(), Some("usr/bin/tool"));
    assert_eq!(seen["usr/bin/link"].0, tar::EntryType::Symlink);
    assert_eq!(seen["usr/bin/link"].3.as_deref(), Some("/usr/bin/tool"));
    assert!(seen.values().all(|v| v.4 == 1), "mtimes are fixed");
    assert_eq!(image.config_list("Env"), ["PATH=/usr/bin"]);
}

#[test]
fn inspect_shows_the_layer_plan() {
    let dir = tempfile::tempdir().unwrap();
    let jar = synthetic_boot(dir.path());
    let table = hoist().args(["inspect"]).args([&jar]).success();
    assert!(
        table.contains("Spring Boot (layers.idx), exploded"),
        "{table}"
    );
    assert!(
        table.contains(
            "entrypoint: java -cp /app org.springframework.boot.loader.launch.JarLauncher"
        ),
        "{table}"
    );
    let json: Value =
        serde_json::from_str(&hoist().args(["inspect", "--json"]).args([&jar]).success()).unwrap();
    let names: Vec<&str> = json["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "dependencies",
            "spring-boot-loader",
            "snapshot-dependencies",
            "application"
        ]
    );
    assert!(json["layers"][0]["files"].as_u64().unwrap() >= 1);
    for line in ["dependencies", "spring-boot-loader", "application"] {
        assert!(
            table.lines().any(|l| l.starts_with(line)),
            "{line} row in {table}"
        );
    }
}
