//! Pushing to and pulling from a real registry (docker-registry), checked
//! with skopeo and with the requests the registry logged.

use crate::support::cli::{hoist, run_tool};
use crate::support::fixtures::{big_boot_variant, boot3_layered, synthetic_boot, uber};
use crate::support::oci::{copied_by_skopeo, LayoutImage};
use crate::support::registry::{Auth, TestRegistry};
use serde_json::Value;
use std::path::Path;

const SKOPEO: &str = "apt-get install skopeo";

/// `hoist build … --metadata-file` → the report.
fn push(jar: &Path, from: &str, to: &str, extra: &[&str]) -> Value {
    hoist()
        .args(["build", "--from", from, "--jar"])
        .args([jar])
        .args(["--to", to])
        .args(extra)
        .report()
}

/// The blobs a build uploaded for its SBOM and provenance referrers.
fn attestation_uploads(report: &Value) -> usize {
    report["attestations"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["uploadedBlobs"].as_u64().unwrap() as usize)
                .sum()
        })
        .unwrap_or(0)
}

fn outcomes(report: &Value) -> Vec<(String, String)> {
    report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap().to_string(),
                l["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn skopeo_inspect(image: &str) -> Value {
    serde_json::from_str(&run_tool(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            &format!("docker://{image}"),
        ],
        SKOPEO,
    ))
    .unwrap()
}

#[test]
fn pushed_image_reads_back_with_skopeo_with_the_same_digests() {
    let registry = TestRegistry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    let jar = boot3_layered(dir.path());
    let image = registry.image("demo/app:1.0");
    let report = push(&jar, "scratch", &image, &["--tag", "latest"]);
    assert_eq!(report["tags"], serde_json::json!(["1.0", "latest"]));
    let inspect = skopeo_inspect(&image);
    assert_eq!(inspect["Digest"], report["digest"]);
    let ours: Vec<&Value> = report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["digest"])
        .collect();
    let theirs: Vec<&Value> = inspect["Layers"].as_array().unwrap().iter().collect();
    assert_eq!(ours, theirs);
    assert_eq!(
        skopeo_inspect(&registry.image("demo/app:latest"))["Digest"],
        report["digest"]
    );
    // Copy it back into a layout with skopeo: every blob checks out.
    let back = copied_by_skopeo(&format!("docker://{image}"), dir.path());
    assert_eq!(back.digest, report["digest"].as_str().unwrap());
}

#[test]
fn a_class_change_uploads_one_layer_and_a_rerun_uploads_nothing() {
    let registry = TestRegistry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    // 20 MB of dependencies: a layer larger than a streamed piece.
    let v0 = big_boot_variant(&dir.path().join("v0"), 20_000_000, 0);
    let v1 = big_boot_variant(&dir.path().join("v1"), 20_000_000, 1);
    let image = registry.image("demo/big:1");
    let first = push(&v0, "scratch", &image, &[]);
    assert!(
        outcomes(&first).iter().all(|(_, o)| o == "uploaded"),
        "{first}"
    );
    // A new repository: layers stream while written. The ~20 MB dependency
    // layer goes up as one streamed PATCH, the small blobs in their closing
    // PUT; every upload closes with a PUT.
    assert_eq!(
        registry.requests("PATCH", "/v2/demo/big/blobs/uploads/"),
        1,
        "{}",
        registry.log()
    );
    assert_eq!(
        registry.requests("PUT", "/v2/demo/big/blobs/uploads/"),
        first["push"]["uploaded"].as_u64().unwrap() as usize + attestation_uploads(&first)
    );

    let uploads_before = registry.requests("POST", "/v2/demo/big/blobs/uploads/");
    let changed = push(&v1, "scratch", &image, &[]);
    let uploaded: Vec<String> = outcomes(&changed)
        .into_iter()
        .filter(|(_, o)| o == "uploaded")
        .map(|(n, _)| n)
        .collect();
    assert_eq!(uploaded, ["application"], "{changed}");
    assert_eq!(
        changed["push"]["uploaded"], 2,
        "the application layer and the config: {changed}"
    );
    assert_eq!(
        changed["push"]["streamed"], 1,
        "a warm cache lacked the application layer: it went up while written: {changed}"
    );
    assert_eq!(
        registry.requests("POST", "/v2/demo/big/blobs/uploads/") - uploads_before,
        2 + attestation_uploads(&changed),
        "the application layer, the config, and the new image's SBOM and provenance"
    );

    let uploads_before = registry.requests("POST", "/v2/demo/big/blobs/uploads/");
    let again = push(&v1, "scratch", &image, &[]);
    assert_eq!(again["push"]["uploaded"], 0, "{again}");
    assert_eq!(again["digest"], changed["digest"]);
    assert_eq!(
        registry.requests("POST", "/v2/demo/big/blobs/uploads/"),
        uploads_before,
        "no upload session on a re-run, for the image or its attestations"
    );
    let attached: Vec<&str> = again["attestations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(attached, ["already-there", "already-there"], "{again}");
    assert_eq!(skopeo_inspect(&image)["Digest"], changed["digest"]);
}

#[test]
fn base_layers_from_another_repository_are_mounted_not_uploaded() {
    let registry = TestRegistry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    let base_jar = synthetic_boot(&dir.path().join("base"));
    let base = registry.image("base/jdk:17");
    push(&base_jar, "scratch", &base, &[]);
    let app_jar = uber(&dir.path().join("app"));
    let report = push(&app_jar, &base, &registry.image("team/app:1"), &[]);
    let layers = report["layers"].as_array().unwrap();
    for layer in layers.iter().filter(|l| l["source"] == "base") {
        assert_eq!(layer["outcome"], "mounted", "{report}");
    }
    assert_eq!(layers.iter().filter(|l| l["source"] == "app").count(), 1);
    assert!(registry.requests("POST", "mount=") >= 4);
    assert_eq!(report["baseDigest"], skopeo_inspect(&base)["Digest"]);
}

#[test]
fn a_registry_base_is_pulled_into_an_oci_layout() {
    let registry = TestRegistry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    let base_jar = synthetic_boot(&dir.path().join("base"));
    let base = registry.image("base/jdk:17");
    push(
        &base_jar,
        "scratch",
        &base,
        &["--env", "JAVA_HOME=/opt/java"],
    );
    let out = dir.path().join("out");
    let cache = dir.path().join("cache");
    let app_jar = uber(&dir.path().join("app"));
    hoist()
        .args(["build", "--from", &base, "--jar"])
        .args([&app_jar])
        .args(["--to", &format!("oci:{}:app", out.display())])
        .env("HOIST_CACHE_DIR", &cache)
        .success();
    let image = LayoutImage::open(&out, "app");
    assert_eq!(image.layer_digests().len(), 5);
    for i in 0..5 {
        image.layer_tar(i);
    }
    assert!(image
        .config_list("Env")
        .contains(&"JAVA_HOME=/opt/java".to_string()));
    // A second build finds the base layers in the cache: no blob GET.
    let gets = registry.requests("GET", "/blobs/");
    hoist()
        .args(["build", "--from", &base, "--jar"])
        .args([&app_jar])
        .args(["--to", &format!("oci:{}:again", out.display())])
        .env("HOIST_CACHE_DIR", &cache)
        .success();
    assert_eq!(
        registry.requests("GET", "/blobs/"),
        gets,
        "base blobs are downloaded once"
    );
}

#[test]
fn basic_auth_with_the_docker_config_and_a_wrong_password() {
    let registry = TestRegistry::start(Auth::Basic {
        user: "ci".into(),
        password: "s3cret-pass".into(),
    });
    let dir = tempfile::tempdir().unwrap();
    let jar = uber(dir.path());
    let docker_config = dir.path().join("docker");
    std::fs::create_dir_all(&docker_config).unwrap();
    let write_auth = |password: &str| {
        use base64::Engine;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("ci:{password}"));
        let config = serde_json::json!({"auths": {registry.host.clone(): {"auth": auth}}});
        std::fs::write(docker_config.join("config.json"), config.to_string()).unwrap();
    };
    let image = registry.image("private/app:1");
    write_auth("wrong-pass");
    let stderr = hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&jar])
        .args(["--to", &image])
        .env("DOCKER_CONFIG", &docker_config)
        .failure(1);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&registry.host) && stderr.contains("401"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-pass"), "a secret leaked: {stderr}");
    assert_eq!(
        registry.requests("PUT", "/manifests/"),
        0,
        "no manifest pushed"
    );

    write_auth("s3cret-pass");
    hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&jar])
        .args(["--to", &image])
        .env("DOCKER_CONFIG", &docker_config)
        .success();
    let inspect = run_tool(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--creds",
            "ci:s3cret-pass",
            &format!("docker://{image}"),
        ],
        SKOPEO,
    );
    assert!(inspect.contains("\"Digest\""));
}

#[test]
fn unknown_repository_and_unreachable_host_fail_in_one_line() {
    let registry = TestRegistry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    let jar = uber(dir.path());
    let stderr = hoist()
        .args(["build", "--from", &registry.image("no/such:1"), "--jar"])
        .args([&jar])
        .args(["--to", &registry.image("x/y:1")])
        .failure(1);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no/such") && stderr.contains("MANIFEST_UNKNOWN"),
        "{stderr}"
    );
    let port = crate::support::registry::free_port();
    let stderr = hoist()
        .args(["build", "--from", "scratch", "--retries", "2", "--jar"])
        .args([&jar])
        .args(["--to", &format!("127.0.0.1:{port}/x/y:1")])
        .failure(1);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot reach it"), "{stderr}");
}

#[test]
fn several_platforms_are_pushed_as_one_index_on_their_bases() {
    let registry = TestRegistry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    let base_jar = synthetic_boot(&dir.path().join("base"));
    let platforms = ["--platform", "linux/amd64", "--platform", "linux/arm64/v8"];
    let base = registry.image("base/multi:1");
    let base_report = push(&base_jar, "scratch", &base, &platforms);
    assert_eq!(
        base_report["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let app_jar = uber(&dir.path().join("app"));
    let github_output = dir.path().join("github_output");
    let meta = dir.path().join("meta.json");
    hoist()
        .args(["build", "--from", &base, "--jar"])
        .args([&app_jar])
        .args(["--to", &registry.image("team/multi:1"), "--metadata-file"])
        .args([&meta])
        .args(platforms)
        .env("GITHUB_OUTPUT", &github_output)
        .success();
    let report: Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    let raw: Value = serde_json::from_str(&run_tool(
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{}", registry.image("team/multi:1")),
        ],
        SKOPEO,
    ))
    .unwrap();
    let manifests = raw["manifests"].as_array().unwrap();
    let arches: Vec<&str> = manifests
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(arches, ["amd64", "arm64"]);
    assert_eq!(report["manifests"].as_array().unwrap().len(), 2);
    for (ours, theirs) in report["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .zip(manifests)
    {
        assert_eq!(ours["digest"], theirs["digest"]);
    }
    // Each platform image sits on its own platform's base.
    let arm = skopeo_inspect_config(
        &registry.image("team/multi@"),
        manifests[1]["digest"].as_str().unwrap(),
    );
    assert_eq!(arm["architecture"], "arm64");
    assert_eq!(arm["variant"], "v8");
    let outputs = std::fs::read_to_string(&github_output).unwrap();
    assert!(
        outputs.contains(&format!("digest={}\n", report["digest"].as_str().unwrap())),
        "{outputs}"
    );
    assert!(
        outputs.contains("tags=1\n")
            && outputs.contains(&format!("image={}\n", registry.image("team/multi:1"))),
        "{outputs}"
    );
}

fn skopeo_inspect_config(repo_at: &str, digest: &str) -> Value {
    serde_json::from_str(&run_tool(
        "skopeo",
        &[
            "inspect",
            "--config",
            "--tls-verify=false",
            &format!("docker://{repo_at}{digest}"),
        ],
        SKOPEO,
    ))
    .unwrap()
}

#[test]
fn several_platforms_to_a_docker_archive_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let jar = uber(dir.path());
    let stderr = hoist()
        .args([
            "build",
            "--from",
            "scratch",
            "--platform",
            "linux/amd64",
            "--platform",
            "linux/arm64",
            "--jar",
        ])
        .args([&jar])
        .args([
            "--to",
            &format!("docker-archive:{}", dir.path().join("a.tar").display()),
        ])
        .failure(2);
    assert!(stderr.contains("one platform"), "{stderr}");
    assert!(!dir.path().join("a.tar").exists());
}

/// Line of the registry's access log that closed the upload of `digest`
/// (`PUT …?digest=`), however the query is encoded.
fn closing_put(log: &str, digest: &str) -> Option<usize> {
    let hex = digest.trim_start_matches("sha256:");
    log.lines()
        .position(|l| l.contains("\"PUT ") && l.contains("/blobs/uploads/") && l.contains(hex))
}

#[test]
fn new_layers_go_up_while_they_are_written_and_a_fresh_cache_on_a_used_repository_waits() {
    let registry = TestRegistry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    let v0 = big_boot_variant(&dir.path().join("v0"), 20_000_000, 7);
    let image = registry.image("demo/stream:1");
    // An empty repository: every layer is new, so each streams to the
    // registry while it is compressed.
    let first = hoist()
        .env("HOIST_CACHE_DIR", dir.path().join("cache-a"))
        .args(["build", "--from", "scratch", "--jar"])
        .args([&v0])
        .args(["--to", &image])
        .report();
    let layers = first["layers"].as_array().unwrap();
    assert_eq!(
        first["push"]["streamed"].as_u64().unwrap() as usize,
        layers.len(),
        "{first}"
    );
    assert!(
        outcomes(&first).iter().all(|(_, o)| o == "uploaded"),
        "{first}"
    );
    // The config exists only once every layer is written: with streaming,
    // every layer's upload is closed before the config's.
    let log = registry.log();
    let config = closing_put(&log, first["configDigest"].as_str().unwrap()).expect("config PUT");
    for layer in layers {
        let at = closing_put(&log, layer["digest"].as_str().unwrap()).expect("layer PUT");
        assert!(at < config, "layer {layer} closed after the config:\n{log}");
    }
    // The dependency layer (20 MB) goes in one PATCH whose body is the
    // stream (the registry's work is that of a monolithic upload); small
    // layers in their closing PUT.
    assert_eq!(
        registry.requests("PATCH", "/v2/demo/stream/blobs/uploads/"),
        1,
        "{log}"
    );
    assert_eq!(skopeo_inspect(&image)["Digest"], first["digest"]);

    // A fresh runner (empty cache) pushing to a repository with tags: most
    // layers are likely there, so nothing streams; a HEAD finds them.
    let posts = registry.requests("POST", "/v2/demo/stream/blobs/uploads/");
    let again = hoist()
        .env("HOIST_CACHE_DIR", dir.path().join("cache-b"))
        .args(["build", "--from", "scratch", "--jar"])
        .args([&v0])
        .args(["--to", &image])
        .report();
    assert_eq!(again["push"]["streamed"], 0, "{again}");
    assert_eq!(again["push"]["uploaded"], 0, "{again}");
    assert_eq!(again["digest"], first["digest"]);
    assert_eq!(
        registry.requests("POST", "/v2/demo/stream/blobs/uploads/"),
        posts
    );
}
