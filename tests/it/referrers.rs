//! OCI 1.1 referrers through hoist's registry client
//! (`hoist::registry::referrers`): an artifact manifest written here, with
//! `subject` = an image `hoist build` pushed, attached on a real
//! docker-registry (no referrers API: the `sha256-<hex>` fallback tag) and
//! on the ECR stand-in (the API: `OCI-Subject`), then read back by tools no
//! one here wrote: crane (the tag's index) and oras (`discover`, forced to
//! the tag schema or to the API). Refusals (ECR's 405, an immutable
//! fallback tag, a tag that is not an index) are outcomes, not errors.

use crate::support::artifacts::{
    artifact, crane_manifest, CRANE, IN_TOTO, OCI_INDEX, OCI_MANIFEST, ORAS, SBOM,
};
use crate::support::cli::{hoist, run_tool};
use crate::support::ecs_emulator::EcsEmulator;
use crate::support::fixtures::synthetic_boot;
use crate::support::registry::{Auth, TestRegistry};
use crate::support::registry_standin::{ecr_password, RegistryStandIn, ECR_HOST};
use hoist::registry::referrers::{Referrer, ReferrerOutcome, ReferrerPush, ReferrersClient};
use hoist::registry::ClientOptions;
use hoist::Digest;
use serde_json::{json, Value};

/// hoist's own kind of attestation, made by hand (see
/// [`artifact`]).
fn referrer(artifact_type: &str, document: &[u8], subject: &[u8], subject_type: &str) -> Referrer {
    artifact(artifact_type, document, subject, subject_type, true)
}

/// An image pushed without attestations to `ECR_HOST/demo/app:1`, in an
/// immutable repository of the ECR stand-in (with or without the referrers
/// API), and what reaches it.
struct EcrImage {
    standin: RegistryStandIn,
    _aws: EcsEmulator,
    _dir: tempfile::TempDir,
    /// The jar it was built from.
    jar: std::path::PathBuf,
    /// Its manifest, as crane reads it.
    subject: Vec<u8>,
    /// ECR's registry password (GetAuthorizationToken).
    password: String,
    /// Client options that reach the stand-in as `ECR_HOST`.
    options: ClientOptions,
}

fn ecr_image(referrers_api: bool) -> EcrImage {
    let aws = EcsEmulator::start();
    let standin = RegistryStandIn::ecr(&aws);
    if !referrers_api {
        standin.set(json!({"referrers_api": false}));
    }
    aws.boto3(
        "ecr",
        "client.create_repository(repositoryName='demo/app', imageTagMutability='IMMUTABLE')",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("docker")).unwrap();
    let jar = synthetic_boot(dir.path());
    let report = aws
        .aws(hoist().args([
            "build",
            "--json",
            "--attestations",
            "none",
            "--from",
            "scratch",
            "--jar",
        ]))
        .args([&jar])
        .args(["--to", &format!("{ECR_HOST}/demo/app:1")])
        .args(standin.ecr_flags())
        .env("DOCKER_CONFIG", dir.path().join("docker"))
        .report();
    let subject = crane_manifest(&standin.backend.image("demo/app:1"));
    assert_eq!(Digest::of(&subject).as_str(), report["digest"]);
    let options = ClientOptions {
        insecure_registries: vec![ECR_HOST.into()],
        resolve: vec![(ECR_HOST.into(), standin.host.parse().unwrap())],
        ..ClientOptions::default()
    };
    EcrImage {
        password: ecr_password(&aws),
        standin,
        _aws: aws,
        _dir: dir,
        jar,
        subject,
        options,
    }
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Runtime::new().unwrap().block_on(future)
}

/// The digests of an index's (or oras discover's) `manifests`.
fn digests(listing: &Value) -> Vec<String> {
    listing["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("no manifests in {listing}"))
        .iter()
        .map(|d| d["digest"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn without_the_api_referrers_go_in_the_fallback_tag_that_crane_and_oras_read() {
    let registry = TestRegistry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    let jar = synthetic_boot(dir.path());
    let image = registry.image("demo/app:1");
    let report = hoist()
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
        .report();
    let subject = crane_manifest(&image);
    assert_eq!(Digest::of(&subject).as_str(), report["digest"]);
    let sbom = referrer(
        SBOM,
        br#"{"bomFormat":"CycloneDX"}"#,
        &subject,
        OCI_MANIFEST,
    );
    let provenance = referrer(
        IN_TOTO,
        br#"{"_type":"https://in-toto.io/Statement/v1"}"#,
        &subject,
        OCI_MANIFEST,
    );
    let tag = format!("sha256-{}", sbom.subject.hex());

    block_on(async {
        let client = ReferrersClient::connect(&registry.host, &ClientOptions::default(), None)
            .await
            .unwrap();
        let pushed = client.push("demo/app", &sbom).await.unwrap();
        assert_eq!(
            pushed,
            ReferrerPush {
                outcome: ReferrerOutcome::FallbackTag { tag: tag.clone() },
                uploaded_blobs: 2,
            }
        );
        // The second document shares the `{}` blob, and joins the same index.
        let pushed = client.push("demo/app", &provenance).await.unwrap();
        assert_eq!(
            pushed.outcome,
            ReferrerOutcome::FallbackTag { tag: tag.clone() }
        );
        assert_eq!(pushed.uploaded_blobs, 1);
        let listed = client.list("demo/app", &sbom.subject, None).await.unwrap();
        let listed: Vec<&Digest> = listed.iter().map(|d| &d.digest).collect();
        assert!(
            listed.contains(&&sbom.digest) && listed.contains(&&provenance.digest),
            "{listed:?}"
        );
        let only_sbom = client
            .list("demo/app", &sbom.subject, Some(SBOM))
            .await
            .unwrap();
        assert!(only_sbom.iter().all(|d| d.extra["artifactType"] == SBOM));
        assert!(only_sbom.iter().any(|d| d.digest == sbom.digest));

        // Again: already there, nothing sent.
        let puts = registry.requests("PUT", "/manifests/");
        let uploads = registry.requests("POST", "/blobs/uploads/");
        let again = client.push("demo/app", &sbom).await.unwrap();
        assert_eq!(
            again,
            ReferrerPush {
                outcome: ReferrerOutcome::AlreadyThere,
                uploaded_blobs: 0
            }
        );
        assert_eq!(registry.requests("PUT", "/manifests/"), puts);
        assert_eq!(registry.requests("POST", "/blobs/uploads/"), uploads);
    });

    // crane reads the tag: an OCI index whose entries carry artifactType and
    // the referrer's annotations.
    let index: Value =
        serde_json::from_slice(&crane_manifest(&registry.image(&format!("demo/app:{tag}"))))
            .unwrap();
    assert_eq!(index["mediaType"], OCI_INDEX);
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["digest"] == sbom.digest.as_str())
        .unwrap_or_else(|| panic!("the SBOM is not in {index}"));
    assert_eq!(entry["artifactType"], SBOM);
    assert_eq!(entry["mediaType"], OCI_MANIFEST);
    assert_eq!(entry["size"], sbom.manifest.len());
    assert_eq!(entry["annotations"]["dev.hoist.attestation"], SBOM);
    assert_eq!(
        digests(&index)
            .iter()
            .filter(|d| **d == sbom.digest.as_str())
            .count(),
        1,
        "listed once: {index}"
    );
    // oras, told to use the tag schema, finds both.
    let discovered: Value = serde_json::from_str(&run_tool(
        "oras",
        &[
            "discover",
            "--plain-http",
            "--distribution-spec",
            "v1.1-referrers-tag",
            "--format",
            "json",
            &format!("{}/demo/app@{}", registry.host, sbom.subject),
        ],
        ORAS,
    ))
    .unwrap();
    let found = digests(&discovered);
    assert!(found.contains(&sbom.digest.to_string()), "{discovered}");
    assert!(
        found.contains(&provenance.digest.to_string()),
        "{discovered}"
    );
}

#[test]
fn on_ecr_the_api_answers_and_no_fallback_tag_is_written() {
    let EcrImage {
        standin,
        subject,
        password,
        options,
        ..
    } = &ecr_image(true);
    let sbom = referrer(SBOM, br#"{"bomFormat":"CycloneDX"}"#, subject, OCI_MANIFEST);

    block_on(async {
        let client = ReferrersClient::connect(ECR_HOST, options, Some(("AWS", password)))
            .await
            .unwrap();
        let pushed = client.push("demo/app", &sbom).await.unwrap();
        assert_eq!(
            pushed,
            ReferrerPush {
                outcome: ReferrerOutcome::Api,
                uploaded_blobs: 2
            }
        );
        let listed = client
            .list("demo/app", &sbom.subject, Some(SBOM))
            .await
            .unwrap();
        assert_eq!(listed, vec![sbom.descriptor.clone()]);
        assert!(client
            .list("demo/app", &sbom.subject, Some(IN_TOTO))
            .await
            .unwrap()
            .is_empty());
        let again = client.push("demo/app", &sbom).await.unwrap();
        assert_eq!(
            again,
            ReferrerPush {
                outcome: ReferrerOutcome::AlreadyThere,
                uploaded_blobs: 0
            }
        );
        // A referrer of an index: ECR answers 405 (aws/containers-roadmap#2783);
        // an outcome, not an error.
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        let refused = client
            .push("demo/app", &referrer(SBOM, b"{}", index, OCI_INDEX))
            .await
            .unwrap();
        match refused.outcome {
            ReferrerOutcome::Refused { reason } => {
                assert!(reason.contains("405"), "{reason}");
                assert!(!reason.contains('\n'), "{reason}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    });

    // One manifest PUT for the referrer (answered with OCI-Subject), none
    // for a fallback tag, and the referrers API asked.
    assert_eq!(
        standin.count("PUT", &format!("/manifests/{}", sbom.digest), Some(201)),
        1,
        "{}",
        standin.log_text()
    );
    assert_eq!(
        standin.count("PUT", "/manifests/sha256-", None),
        0,
        "{}",
        standin.log_text()
    );
    assert!(
        standin.count("GET", "/referrers/", Some(200)) >= 1,
        "{}",
        standin.log_text()
    );
    // oras, told to use the API only, lists it.
    let discovered: Value = serde_json::from_str(&run_tool(
        "oras",
        &[
            "discover",
            "--plain-http",
            "--distribution-spec",
            "v1.1-referrers-api",
            "--username",
            "AWS",
            "--password",
            password,
            "--format",
            "json",
            &format!("{}/demo/app@{}", standin.host, sbom.subject),
        ],
        ORAS,
    ))
    .unwrap();
    assert_eq!(
        digests(&discovered),
        vec![sbom.digest.to_string()],
        "{discovered}"
    );
    assert_eq!(discovered["manifests"][0]["artifactType"], SBOM);
}

#[test]
fn a_refused_fallback_tag_is_an_outcome_and_a_tag_that_is_no_index_is_left_alone() {
    // ECR as it was before the referrers API (June 2024), in a repository
    // whose tags are immutable: the first referrer creates the fallback
    // tag, the second may not move it (TAG_INVALID).
    let EcrImage {
        standin,
        jar,
        subject,
        password,
        options,
        ..
    } = &ecr_image(false);
    let sbom = referrer(SBOM, br#"{"bomFormat":"CycloneDX"}"#, subject, OCI_MANIFEST);
    let provenance = referrer(IN_TOTO, b"{}", subject, OCI_MANIFEST);
    let tag = format!("sha256-{}", sbom.subject.hex());
    block_on(async {
        let client = ReferrersClient::connect(ECR_HOST, options, Some(("AWS", password)))
            .await
            .unwrap();
        let first = client.push("demo/app", &sbom).await.unwrap();
        assert_eq!(
            first.outcome,
            ReferrerOutcome::FallbackTag { tag: tag.clone() }
        );
        let second = client.push("demo/app", &provenance).await.unwrap();
        match second.outcome {
            ReferrerOutcome::Refused { reason } => {
                assert!(reason.contains("TAG_INVALID"), "{reason}");
                assert!(!reason.contains('\n'), "{reason}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        // The referrer itself went up (by digest); only the list is short.
        let listed = client.list("demo/app", &sbom.subject, None).await.unwrap();
        assert_eq!(listed, vec![sbom.descriptor.clone()]);
    });
    assert_eq!(
        standin.count(
            "PUT",
            &format!("/manifests/{}", provenance.digest),
            Some(201)
        ),
        1,
        "{}",
        standin.log_text()
    );

    // docker-registry with an image (not an index) at the fallback tag:
    // left as it is, said in one line.
    let registry = TestRegistry::start(Auth::None);
    let image = registry.image("demo/app:1");
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
        .report();
    let subject = crane_manifest(&image);
    let squatter = registry.image(&format!("demo/app:sha256-{}", Digest::of(&subject).hex()));
    run_tool("crane", &["copy", "--insecure", &image, &squatter], CRANE);
    let sbom = referrer(SBOM, b"{}", &subject, OCI_MANIFEST);
    block_on(async {
        let client = ReferrersClient::connect(&registry.host, &ClientOptions::default(), None)
            .await
            .unwrap();
        match client.push("demo/app", &sbom).await.unwrap().outcome {
            ReferrerOutcome::Refused { reason } => {
                assert!(reason.contains("not an OCI image index"), "{reason}");
                assert!(!reason.contains('\n'), "{reason}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        // A reader takes a tag that is no index for no referrers.
        assert!(client
            .list("demo/app", &sbom.subject, None)
            .await
            .unwrap()
            .is_empty());
    });
    assert_eq!(crane_manifest(&squatter), subject);
}
