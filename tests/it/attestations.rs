//! The SBOM and provenance `hoist build` attaches to a pushed image as OCI
//! 1.1 referrers, on a real docker-registry (no referrers API: the
//! `sha256-<hex>` fallback tag), read back by tools no one here wrote:
//! `oras discover` lists them, `crane` reads the tag's index and the
//! documents; the SBOM validates against CycloneDX's schema and lists every
//! jar of the real Spring Boot app. A re-run pushes nothing new, and
//! `--attestations none` attaches nothing.

use crate::sbom::assert_valid;
use crate::support::artifacts::{CRANE, ORAS};
use crate::support::cli::{hoist, run_tool};
use crate::support::registry::{Auth, TestRegistry};
use crate::support::spring::{jar_files, App};
use serde_json::Value;

/// A small base pushed as `base:1` (one layer: a file), and its reference.
fn push_base(registry: &TestRegistry) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "base").unwrap();
    let image = registry.image("base:1");
    hoist()
        .args(["build", "--from", "scratch", "--to", &image, "--layer-dir"])
        .args([format!("{}:/etc/base", dir.path().display())])
        .report();
    image
}

fn build(base: &str, to: &str, extra: &[&str]) -> Value {
    hoist()
        .args(["build", "--from", base, "--jar"])
        .args([App::Boot35.jar()])
        .args(["--to", to])
        .args(extra)
        .report()
}

#[test]
fn a_pushed_image_carries_its_sbom_and_provenance_as_referrers() {
    let registry = TestRegistry::start(Auth::None);
    let base = push_base(&registry);
    let target = registry.image("app:1");
    let report = build(&base, &target, &[]);
    let digest = report["digest"].as_str().unwrap().to_string();
    let attached = report["attestations"]
        .as_array()
        .expect("attestations in the report");
    let kinds: Vec<(&str, &str)> = attached
        .iter()
        .map(|a| (a["kind"].as_str().unwrap(), a["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [("sbom", "fallback-tag"), ("provenance", "fallback-tag")],
        "{report}"
    );
    let repo = target.rsplit_once(':').unwrap().0;
    // oras, told the registry has no API, reads the tag schema.
    let discovered: Value = serde_json::from_str(&run_tool(
        "oras",
        &[
            "discover",
            "--plain-http",
            "--distribution-spec",
            "v1.1-referrers-tag",
            "--format",
            "json",
            &format!("{repo}@{digest}"),
        ],
        ORAS,
    ))
    .unwrap();
    let listed = discovered["manifests"]
        .as_array()
        .or_else(|| discovered["referrers"].as_array())
        .unwrap_or_else(|| panic!("oras discover: {discovered}"));
    let mut types: Vec<&str> = listed
        .iter()
        .map(|m| m["artifactType"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "application/vnd.cyclonedx+json",
            "application/vnd.in-toto+json"
        ]
    );
    // crane reads the fallback tag's index, then the SBOM document.
    let tag = format!("{repo}:sha256-{}", digest.trim_start_matches("sha256:"));
    let index: Value =
        serde_json::from_str(&run_tool("crane", &["manifest", "--insecure", &tag], CRANE)).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2, "{index}");
    let sbom_ref = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["artifactType"] == "application/vnd.cyclonedx+json")
        .unwrap();
    let sbom_manifest: Value = serde_json::from_str(&run_tool(
        "crane",
        &[
            "manifest",
            "--insecure",
            &format!("{repo}@{}", sbom_ref["digest"].as_str().unwrap()),
        ],
        CRANE,
    ))
    .unwrap();
    assert_eq!(sbom_manifest["subject"]["digest"], digest.as_str());
    let layer = sbom_manifest["layers"][0]["digest"].as_str().unwrap();
    let document = std::process::Command::new("crane")
        .args(["blob", "--insecure", &format!("{repo}@{layer}")])
        .output()
        .expect("running crane blob")
        .stdout;
    assert_valid(&document);
    let sbom: Value = serde_json::from_slice(&document).unwrap();
    let libs: Vec<String> = jar_files(&App::Boot35.jar())
        .into_iter()
        .filter(|(name, _)| name.starts_with("BOOT-INF/lib/") && name.ends_with(".jar"))
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        sbom["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["type"] == "library")
            .count(),
        libs.len(),
        "one library component per BOOT-INF/lib jar"
    );
    assert!(
        sbom["components"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "container"),
        "the base image is a component: {}",
        sbom["components"]
    );
    // A re-run of the same inputs pushes no new referrer.
    let again = build(&base, &target, &[]);
    assert_eq!(again["digest"], digest.as_str());
    let outcomes: Vec<&str> = again["attestations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["already-there", "already-there"], "{again}");
    assert_eq!(again["push"]["uploaded"], 0, "{again}");
    let index_again: Value =
        serde_json::from_str(&run_tool("crane", &["manifest", "--insecure", &tag], CRANE)).unwrap();
    assert_eq!(index_again, index, "the fallback index is unchanged");
}

#[test]
fn attestations_none_attaches_nothing() {
    let registry = TestRegistry::start(Auth::None);
    let base = push_base(&registry);
    let target = registry.image("plain:1");
    let report = build(&base, &target, &["--attestations", "none"]);
    assert!(report.get("attestations").is_none(), "{report}");
    let repo = target.rsplit_once(':').unwrap().0;
    let tags = run_tool("crane", &["ls", "--insecure", repo], CRANE);
    assert_eq!(tags.trim(), "1", "no fallback tag: {tags}");
}

#[test]
fn an_oci_layout_lists_the_attestations_in_its_index_and_hoist_sbom_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let to = format!("oci:{}:1", layout.display());
    let report = build("scratch", &to, &[]);
    let outcomes: Vec<(&str, &str)> = report["attestations"]
        .as_array()
        .expect("attestations in the report")
        .iter()
        .map(|a| (a["kind"].as_str().unwrap(), a["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(outcomes, [("sbom", "layout"), ("provenance", "layout")]);
    // oras finds them through the layout's index.json.
    let discovered: Value = serde_json::from_str(&run_tool(
        "oras",
        &[
            "discover",
            "--oci-layout",
            "--format",
            "json",
            &format!(
                "{}@{}",
                layout.display(),
                report["digest"].as_str().unwrap()
            ),
        ],
        ORAS,
    ))
    .unwrap();
    let listed = discovered["manifests"]
        .as_array()
        .or_else(|| discovered["referrers"].as_array())
        .unwrap_or_else(|| panic!("oras discover: {discovered}"));
    assert_eq!(listed.len(), 2, "{discovered}");
    let sbom = hoist().args(["sbom", &to, "--json"]).success();
    assert_valid(sbom.as_bytes());
    // The index's entries, in any order (a rebuild moves the tagged image last).
    let entries = || crate::support::oci::index_entries(&layout);
    let index_before = entries();
    assert_eq!(index_before.len(), 3, "the image and its two attestations");
    let again = build("scratch", &to, &[]);
    let outcomes: Vec<&str> = again["attestations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["already-there", "already-there"]);
    assert!(
        entries() == index_before,
        "a re-run adds nothing to the layout's index"
    );
}
