//! Immutable tags as ECR enforces them, played by the fault proxy in front
//! of a real registry: a manifest `PUT` to an existing tag answered exactly
//! as ECR answers it for an IMMUTABLE repository (400, `TAG_INVALID`, its
//! message). A moving tag is skipped with one warning line, or fails with a
//! hint (`--immutable-tags fail`); unique tags still go up; an identical
//! re-push is success.

use crate::support::cli::{hoist, run_tool};
use crate::support::fault_proxy::{Action, Fault, FaultProxy};
use crate::support::fixtures::{synthetic_boot, uber};
use crate::support::registry::{Auth, TestRegistry};
use std::path::Path;

/// ECR's answer to a manifest PUT that would move an immutable tag: HTTP
/// 400 with the distribution error code TAG_INVALID (docker prints it as
/// "tag invalid: The image tag 'latest' already exists in the '…' repository
/// and cannot be overwritten because the repository is immutable.", see
/// aws/containers-roadmap#862; the ECR user guide, "Preventing image tags
/// from being overwritten", names the API's ImageTagAlreadyExistsException).
fn ecr_immutable_answer(tag: &str, repo: &str) -> Action {
    Action::RespondJson {
        status: 400,
        body: format!(
            r#"{{"errors":[{{"code":"TAG_INVALID","message":"The image tag '{tag}' already exists in the '{repo}' repository and cannot be overwritten because the repository is immutable."}}]}}"#
        ),
    }
}

fn refuse_moving_dev(registry: &TestRegistry) -> FaultProxy {
    FaultProxy::start(
        &registry.host,
        vec![Fault::on(
            "PUT",
            "/manifests/dev",
            1,
            ecr_immutable_answer("dev", "imm/app"),
        )],
    )
}

fn push(jar: &Path, to: &str, extra: &[&str]) -> crate::support::cli::Hoist {
    hoist()
        .args(["build", "--from", "scratch", "--json", "--jar"])
        .args([jar])
        .args(["--to", to, "--tag", "dev"])
        .args(extra)
}

fn digest_of(registry: &TestRegistry, repo_and_tag: &str) -> String {
    run_tool(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--format",
            "{{.Digest}}",
            &format!("docker://{}", registry.image(repo_and_tag)),
        ],
        "apt-get install skopeo",
    )
    .trim()
    .to_string()
}

#[test]
fn a_moving_immutable_tag_is_skipped_or_fails_and_an_identical_push_succeeds() {
    let registry = TestRegistry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    let first_jar = uber(&dir.path().join("one"));
    let second_jar = synthetic_boot(&dir.path().join("two"));
    let first: serde_json::Value =
        serde_json::from_str(&push(&first_jar, &registry.image("imm/app:build-1"), &[]).success())
            .unwrap();
    let first_digest = first["digest"].as_str().unwrap().to_string();

    // Skip (the default): build-2 goes up, dev stays on build-1, one warning.
    let proxy = refuse_moving_dev(&registry);
    let (shown, output) =
        push(&second_jar, &format!("{}/imm/app:build-2", proxy.host), &[]).output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}: {stderr}");
    assert_eq!(proxy.injected(), 1, "{:#?}", proxy.log());
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("immutable tag dev"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["tags"], serde_json::json!(["build-2"]));
    assert_eq!(report["skippedTags"], serde_json::json!(["dev"]));
    assert_eq!(digest_of(&registry, "imm/app:dev"), first_digest);
    assert_eq!(
        digest_of(&registry, "imm/app:build-2"),
        report["digest"].as_str().unwrap()
    );

    // Fail: one line naming the tag, with a hint; exit 1.
    let proxy = refuse_moving_dev(&registry);
    let stderr = push(
        &second_jar,
        &format!("{}/imm/app:build-3", proxy.host),
        &["--immutable-tags", "fail"],
    )
    .failure(1);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert_eq!(
        stderr.trim_end().lines().last(),
        Some(errors[0]),
        "{stderr}"
    );
    assert!(
        stderr.contains("imm/app:dev is immutable")
            && stderr.contains("TAG_INVALID")
            && stderr.contains("hint:"),
        "{stderr}"
    );
    assert_eq!(digest_of(&registry, "imm/app:dev"), first_digest);

    // The identical image again: ECR refuses the PUT, but dev already names
    // it, so that is success, with no warning.
    let proxy = refuse_moving_dev(&registry);
    let (shown, output) = push(
        &first_jar,
        &format!("{}/imm/app:build-1", proxy.host),
        &["--immutable-tags", "fail"],
    )
    .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}: {stderr}");
    assert_eq!(proxy.injected(), 1, "{:#?}", proxy.log());
    assert!(!stderr.contains("warning:"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["digest"], first_digest.as_str());
    assert_eq!(report["tags"], serde_json::json!(["build-1", "dev"]));
}
