//! Rebuilds: after a change to one class only the application layer is
//! written again; with nothing changed, nothing is; the cached result is the
//! same image a build without the cache makes.

use crate::support::cli::hoist;
use crate::support::fixtures::big_boot_variant;
use serde_json::Value;
use std::path::Path;

fn build(jar: &Path, out: &Path, cache: &Path, extra: &[&str]) -> Value {
    hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([jar])
        .args(["--to", &format!("oci:{}:app", out.display())])
        .env("HOIST_CACHE_DIR", cache)
        .args(extra)
        .report()
}

fn cached(report: &Value) -> Vec<(String, bool)> {
    report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap().to_string(),
                l["cached"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_class_change_rewrites_only_the_application_layer() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let out = dir.path().join("out");
    let v0 = big_boot_variant(&dir.path().join("v0"), 2_000_000, 0);
    let v1 = big_boot_variant(&dir.path().join("v1"), 2_000_000, 1);

    let first = build(&v0, &out, &cache, &[]);
    assert!(cached(&first).iter().all(|(_, hit)| !hit), "{first}");

    let changed = build(&v1, &out, &cache, &[]);
    let hits = cached(&changed);
    let rewritten: Vec<&str> = hits
        .iter()
        .filter(|(_, hit)| !hit)
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(rewritten, ["application"], "{changed}");
    assert_ne!(first["digest"], changed["digest"]);
    for i in 0..3 {
        assert_eq!(first["layers"][i]["digest"], changed["layers"][i]["digest"]);
    }

    let again = build(&v1, &out, &cache, &[]);
    assert!(cached(&again).iter().all(|(_, hit)| *hit), "{again}");
    assert_eq!(again["digest"], changed["digest"]);

    let fresh = build(&v1, &dir.path().join("fresh"), &cache, &["--no-cache"]);
    assert_eq!(
        fresh["digest"], changed["digest"],
        "the cache changes nothing but speed"
    );
}

#[test]
fn a_corrupt_cache_record_is_rebuilt_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let jar = big_boot_variant(&dir.path().join("jar"), 1_000_000, 0);
    let first = build(&jar, &dir.path().join("a"), &cache, &[]);
    for entry in std::fs::read_dir(cache.join("layers")).unwrap() {
        std::fs::write(entry.unwrap().path(), b"{not json").unwrap();
    }
    let second = build(&jar, &dir.path().join("b"), &cache, &[]);
    assert!(cached(&second).iter().all(|(_, hit)| !hit));
    assert_eq!(first["digest"], second["digest"]);
}
