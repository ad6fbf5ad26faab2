//! `hoist copy`: registry ↔ OCI layout ↔ docker archive, every platform or
//! one, digests kept — checked with skopeo, an independent client.

use crate::support::artifacts::{
    artifact, crane_manifest, IN_TOTO, OCI_INDEX, OCI_MANIFEST, ORAS, SBOM,
};
use crate::support::cli::{hoist, run_tool};
use crate::support::ecs_emulator::EcsEmulator;
use crate::support::fixtures::{synthetic_boot, uber};
use crate::support::registry::{Auth, TestRegistry};
use crate::support::registry_standin::{ecr_password, RegistryStandIn, ECR_HOST};
use hoist::registry::referrers::{Referrer, ReferrerOutcome, ReferrersClient};
use hoist::registry::ClientOptions;
use hoist::Digest;
use serde_json::{json, Value};
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

const SIGNATURE: &str = "application/vnd.example.signature";

/// An artifact manifest made by hand, not marked as hoist's (see
/// [`artifact`]): anyone's referrer.
fn referrer(artifact_type: &str, document: &[u8], subject: &[u8], subject_type: &str) -> Referrer {
    artifact(artifact_type, document, subject, subject_type, false)
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Runtime::new().unwrap().block_on(future)
}

/// An index of two platforms at `REGISTRY/src/app:1` with referrers: an
/// SBOM and a provenance on the amd64 manifest, a signature on the SBOM,
/// and an SBOM on the index itself. Returns them in that order.
fn image_with_referrers(registry: &TestRegistry, dir: &Path) -> [Referrer; 4] {
    let jar = synthetic_boot(dir);
    let image = registry.image("src/app:1");
    hoist()
        .args([
            "build",
            "--json",
            "--attestations",
            "none",
            "--from",
            "scratch",
            "--jar",
        ])
        .args([&jar])
        .args(["--to", &image])
        .args(["--platform", "linux/amd64", "--platform", "linux/arm64"])
        .report();
    let index_bytes = crane_manifest(&image);
    let index: Value = serde_json::from_slice(&index_bytes).unwrap();
    let amd64 = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platform"]["architecture"] == "amd64")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let amd64 = crane_manifest(&registry.image(&format!("src/app@{amd64}")));
    let sbom = referrer(SBOM, br#"{"bomFormat":"CycloneDX"}"#, &amd64, OCI_MANIFEST);
    let provenance = referrer(IN_TOTO, br#"{"_type":"x"}"#, &amd64, OCI_MANIFEST);
    let signature = referrer(SIGNATURE, b"signed", &sbom.manifest, OCI_MANIFEST);
    let on_index = referrer(
        SBOM,
        br#"{"bomFormat":"CycloneDX","i":1}"#,
        &index_bytes,
        OCI_INDEX,
    );
    let all = [sbom, provenance, signature, on_index];
    block_on(async {
        let client = ReferrersClient::connect(&registry.host, &ClientOptions::default(), None)
            .await
            .unwrap();
        for referrer in &all {
            let pushed = client.push("src/app", referrer).await.unwrap();
            assert!(
                matches!(pushed.outcome, ReferrerOutcome::FallbackTag { .. }),
                "{pushed:?}"
            );
        }
    });
    all
}

/// The digests oras discover lists for `subject` in `host/repo` (the
/// fallback tag schema, as docker-registry has no API).
fn oras_discover(host: &str, repo: &str, subject: &Digest) -> Vec<String> {
    let listing: Value = serde_json::from_str(&run_tool(
        "oras",
        &[
            "discover",
            "--plain-http",
            "--distribution-spec",
            "v1.1-referrers-tag",
            "--format",
            "json",
            &format!("{host}/{repo}@{subject}"),
        ],
        ORAS,
    ))
    .unwrap();
    discovered(&listing)
}

/// The digests, sorted, in what `oras discover --format json` printed.
fn discovered(listing: &Value) -> Vec<String> {
    let mut found: Vec<String> = listing["manifests"]
        .as_array()
        .or_else(|| listing["referrers"].as_array())
        .unwrap_or_else(|| panic!("{listing}"))
        .iter()
        .map(|d| d["digest"].as_str().unwrap().to_string())
        .collect();
    found.sort();
    found
}

/// oras, an independent client, finds at `host/repo` the referrers
/// [`image_with_referrers`] made, each by its subject, digests kept.
fn assert_all_discovered(host: &str, repo: &str, made: &[&Referrer; 4]) {
    let [sbom, provenance, signature, on_index] = *made;
    assert_eq!(
        oras_discover(host, repo, &sbom.subject),
        sorted(&[sbom, provenance])
    );
    assert_eq!(
        oras_discover(host, repo, &sbom.digest),
        sorted(&[signature])
    );
    assert_eq!(
        oras_discover(host, repo, &on_index.subject),
        sorted(&[on_index])
    );
}

fn sorted(referrers: &[&Referrer]) -> Vec<String> {
    let mut digests: Vec<String> = referrers.iter().map(|r| r.digest.to_string()).collect();
    digests.sort();
    digests
}

#[test]
fn copy_carries_every_referrer_and_the_referrers_of_referrers_digests_kept() {
    let registry = TestRegistry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    let [sbom, provenance, signature, on_index] = image_with_referrers(&registry, dir.path());
    let (shown, output) = hoist()
        .args(["copy", "--json"])
        .args([registry.image("src/app:1"), registry.image("dst/app")])
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}: {stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report["referrers"],
        json!({"copied": 4, "present": 0, "refused": 0, "leftBehind": 0}),
        "{report}"
    );
    assert!(stderr.contains("referrers: 4 copied"), "{stderr}");
    // oras, an independent client, finds each at the destination, by the
    // same digests.
    assert_all_discovered(
        &registry.host,
        "dst/app",
        &[&sbom, &provenance, &signature, &on_index],
    );
    assert_eq!(
        crane_manifest(&registry.image(&format!("dst/app@{}", signature.digest))),
        signature.manifest
    );

    // Again: everything is there; no referrer and no fallback tag is pushed.
    let referrer_puts = || {
        [&sbom, &provenance, &signature, &on_index]
            .iter()
            .map(|r| registry.requests("PUT", &format!("/manifests/{}", r.digest)))
            .sum::<usize>()
            + registry.requests("PUT", "/manifests/sha256-")
    };
    let puts = referrer_puts();
    let again = hoist()
        .args(["copy", "--json"])
        .args([registry.image("src/app:1"), registry.image("dst/app")])
        .report();
    assert_eq!(again["referrers"]["present"], 4, "{again}");
    assert_eq!(again["referrers"]["copied"], 0, "{again}");
    assert_eq!(referrer_puts(), puts);
}

#[test]
fn into_ecr_referrers_go_through_the_api_and_one_of_an_index_is_refused_in_one_line() {
    let registry = TestRegistry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    let [sbom, provenance, signature, on_index] = image_with_referrers(&registry, dir.path());
    let aws = EcsEmulator::start();
    let standin = RegistryStandIn::ecr(&aws);
    aws.boto3("ecr", "client.create_repository(repositoryName='prod/app')");
    std::fs::create_dir_all(dir.path().join("docker")).unwrap();
    let (shown, output) = aws
        .aws(hoist().args(["copy", "--json"]))
        .args([
            registry.image("src/app:1"),
            format!("{ECR_HOST}/prod/app:1"),
        ])
        .args(standin.ecr_flags())
        .env("DOCKER_CONFIG", dir.path().join("docker"))
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{shown}: {stderr}\n{}",
        standin.log_text()
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report["referrers"],
        json!({"copied": 3, "present": 0, "refused": 1, "leftBehind": 0}),
        "{report}"
    );
    // ECR's 405 for the referrer of the index (aws/containers-roadmap#2783):
    // one line naming it, its type and its subject.
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("hoist: warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    let expected = format!(
        "hoist: warning: referrer {} ({SBOM}) of {}: ",
        on_index.digest, on_index.subject
    );
    assert!(warnings[0].starts_with(&expected), "{stderr}");
    assert!(warnings[0].contains("405"), "{stderr}");
    assert!(warnings[0].ends_with("; not copied"), "{stderr}");
    // The others are listed by the referrers API; no fallback tag was written.
    let password = ecr_password(&aws);
    let options = ClientOptions {
        insecure_registries: vec![ECR_HOST.into()],
        resolve: vec![(ECR_HOST.into(), standin.host.parse().unwrap())],
        ..ClientOptions::default()
    };
    block_on(async {
        let client = ReferrersClient::connect(ECR_HOST, &options, Some(("AWS", &password)))
            .await
            .unwrap();
        let mut listed: Vec<String> = client
            .list("prod/app", &sbom.subject, None)
            .await
            .unwrap()
            .iter()
            .map(|d| d.digest.to_string())
            .collect();
        listed.sort();
        assert_eq!(listed, sorted(&[&sbom, &provenance]));
        let listed = client.list("prod/app", &sbom.digest, None).await.unwrap();
        assert_eq!(listed, vec![signature.descriptor.clone()]);
    });
    assert_eq!(
        standin.count("PUT", "/manifests/sha256-", None),
        0,
        "{}",
        standin.log_text()
    );
}

/// The digests oras discover lists for `reference` (`@DIGEST` or `:TAG`)
/// in the OCI layout `dir`, for `platform` of an index if given (oras
/// resolves in a layout only what index.json lists, so a platform manifest
/// is reached through its index).
fn oras_discover_layout(dir: &Path, reference: &str, platform: Option<&str>) -> Vec<String> {
    let target = format!("{}{reference}", dir.display());
    let mut args = vec!["discover", "--oci-layout", "--format", "json", &target];
    if let Some(platform) = platform {
        args.extend(["--platform", platform]);
    }
    discovered(&serde_json::from_str(&run_tool("oras", &args, ORAS)).unwrap())
}

#[test]
fn copy_carries_referrers_into_an_oci_layout_and_out_of_it_again() {
    let registry = TestRegistry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    let [sbom, provenance, signature, on_index] = image_with_referrers(&registry, dir.path());
    let layout = dir.path().join("layout");
    let to_layout = format!("oci:{}:1", layout.display());

    // Registry → layout: each referrer is an untagged entry of index.json.
    let report = copy(&[&registry.image("src/app:1"), &to_layout]);
    assert_eq!(
        report["referrers"],
        json!({"copied": 4, "present": 0, "refused": 0, "leftBehind": 0}),
        "{report}"
    );
    assert_eq!(
        oras_discover_layout(&layout, ":1", Some("linux/amd64")),
        sorted(&[&sbom, &provenance])
    );
    assert_eq!(
        oras_discover_layout(&layout, &format!("@{}", sbom.digest), None),
        sorted(&[&signature])
    );
    assert_eq!(
        oras_discover_layout(&layout, &format!("@{}", on_index.subject), None),
        sorted(&[&on_index])
    );
    let stored = std::fs::read(
        layout
            .join("blobs/sha256")
            .join(signature.digest.as_str().trim_start_matches("sha256:")),
    )
    .unwrap();
    assert_eq!(stored, signature.manifest);

    // Again: all there, the same entries in index.json (the image rewritten
    // moves last; none is added).
    let entries = || crate::support::oci::index_entries(&layout);
    let before = entries();
    assert_eq!(before.len(), 5, "{before:?}");
    let again = copy(&[&registry.image("src/app:1"), &to_layout]);
    assert_eq!(again["referrers"]["present"], 4, "{again}");
    assert_eq!(again["referrers"]["copied"], 0, "{again}");
    assert_eq!(entries(), before);

    // Layout (untagged: the referrers beside the image are not images to
    // pick) → another registry repository: the same digests, found by oras.
    let back = copy(&[
        &format!("oci:{}", layout.display()),
        &registry.image("back/app:1"),
    ]);
    assert_eq!(
        back["referrers"],
        json!({"copied": 4, "present": 0, "refused": 0, "leftBehind": 0}),
        "{back}"
    );
    assert_all_discovered(
        &registry.host,
        "back/app",
        &[&sbom, &provenance, &signature, &on_index],
    );

    // Layout → layout: the same four.
    let other = dir.path().join("other");
    let between = copy(&[&to_layout, &format!("oci:{}:1", other.display())]);
    assert_eq!(between["referrers"]["copied"], 4, "{between}");
    assert_eq!(
        oras_discover_layout(&other, ":1", Some("linux/amd64")),
        sorted(&[&sbom, &provenance])
    );

    // A docker archive holds none: the report says nothing of referrers.
    let archive = dir.path().join("one.tar");
    let out = copy(&[
        "--platform",
        "linux/amd64",
        &to_layout,
        &format!("docker-archive:{}", archive.display()),
    ]);
    assert!(out.get("referrers").is_none(), "{out}");
}
