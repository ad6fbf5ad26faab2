//! `hoist copy`: registry ↔ OCI layout ↔ docker archive, every platform or
//! one, digests kept — checked with skopeo, an independent client.

use crate::support::cli::{hoist, run_tool};
use crate::support::fixtures::uber;
use crate::support::registry::{Auth, TestRegistry};
use serde_json::Value;
use std::path::Path;

const SKOPEO: &str = "apt-get install skopeo";

/// The digest `tag` names in the OCI layout at `dir`.
fn layout_digest(dir: &Path, tag: &str) -> String {
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no tag {tag} in {index}"))["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The raw manifest skopeo reads at `image` (a transport:reference).
fn skopeo_raw(image: &str) -> Value {
    let raw = run_tool(
        "skopeo",
        &["inspect", "--raw", "--tls-verify=false", image],
        SKOPEO,
    );
    serde_json::from_str(&raw).unwrap()
}

fn copy(args: &[&str]) -> Value {
    let out = hoist().args(["copy", "--json"]).args(args).success();
    serde_json::from_str(&out).unwrap()
}

#[test]
fn copies_round_trip_between_layouts_registries_and_archives_keeping_digests() {
    let registry = TestRegistry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    let jar = uber(dir.path());
    let original = dir.path().join("original");
    hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&jar])
        .args(["--to", &format!("oci:{}:v1", original.display())])
        .args(["--platform", "linux/amd64", "--platform", "linux/arm64"])
        .args(["--compression", "gzip"])
        .success();
    let index_digest = layout_digest(&original, "v1");
    let index: Value = serde_json::from_slice(
        &std::fs::read(original.join("blobs/sha256").join(&index_digest[7..])).unwrap(),
    )
    .unwrap();
    let amd64 = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platform"]["architecture"] == "amd64")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();

    // oci → registry: the whole index, same digest; skopeo copies it back
    // into a layout byte for byte.
    let pushed = copy(&[
        &format!("oci:{}:v1", original.display()),
        &registry.image("copy/app:v1"),
    ]);
    assert_eq!(pushed["digest"], index_digest.as_str(), "{pushed}");
    assert_eq!(pushed["platforms"].as_array().unwrap().len(), 2);
    let checked = dir.path().join("skopeo-layout");
    run_tool(
        "skopeo",
        &[
            "copy",
            "--all",
            "--quiet",
            "--src-tls-verify=false",
            &format!("docker://{}", registry.image("copy/app:v1")),
            &format!("oci:{}:v1", checked.display()),
        ],
        SKOPEO,
    );
    assert_eq!(layout_digest(&checked, "v1"), index_digest);

    // registry → registry, same registry: layers are mounted, not sent.
    let mirrored = copy(&[
        &registry.image("copy/app:v1"),
        &registry.image("mirror/app"),
    ]);
    assert_eq!(mirrored["digest"], index_digest.as_str());
    assert!(
        mirrored["push"]["mounted"].as_u64().unwrap() >= 1,
        "{mirrored}"
    );
    assert_eq!(
        mirrored["push"]["tags"],
        serde_json::json!(["v1"]),
        "the source's tag is kept"
    );

    // registry → oci: the same index again.
    let back = dir.path().join("back");
    copy(&[
        &registry.image("mirror/app:v1"),
        &format!("oci:{}:v1", back.display()),
    ]);
    assert_eq!(layout_digest(&back, "v1"), index_digest);

    // registry → docker archive (one platform): skopeo reads it, and the
    // config — the image ID — is the one the registry holds.
    let archive = dir.path().join("app.tar");
    let one = copy(&[
        "--platform",
        "linux/amd64",
        &registry.image("copy/app:v1"),
        &format!("docker-archive:{}:copy/app:v1", archive.display()),
    ]);
    assert_eq!(one["digest"], amd64.as_str(), "{one}");
    let registry_manifest = skopeo_raw(&format!(
        "docker://{}",
        registry.image(&format!("copy/app@{amd64}"))
    ));
    let archive_manifest = skopeo_raw(&format!("docker-archive:{}", archive.display()));
    assert_eq!(
        archive_manifest["config"]["digest"], registry_manifest["config"]["digest"],
        "{archive_manifest}"
    );

    // docker archive → registry: the layers recompress to the same bytes, so
    // with the original's format the manifest digest comes back too.
    let returned = copy(&[
        "--format",
        "oci",
        &format!("docker-archive:{}", archive.display()),
        &registry.image("returned/app:v1"),
    ]);
    assert_eq!(returned["digest"], amd64.as_str(), "{returned}");
    let inspect: Value = serde_json::from_str(&run_tool(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            &format!("docker://{}", registry.image("returned/app:v1")),
        ],
        SKOPEO,
    ))
    .unwrap();
    assert_eq!(inspect["Digest"], amd64.as_str());

    // An index does not fit in a docker archive: one line, exit 2.
    let stderr = hoist()
        .args([
            "copy".to_string(),
            registry.image("copy/app:v1"),
            format!("docker-archive:{}", dir.path().join("all.tar").display()),
        ])
        .failure(2);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--platform"), "{stderr}");
}
