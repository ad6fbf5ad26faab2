//! The ECR credential path: `GetAuthorizationToken` from moto_server gives
//! Basic credentials (moto 5.2: `AWS:123456789012-auth-token`, already
//! expired when issued); the blobs go to a local registry that accepts that
//! user, reached for the ECR host name through `--resolve`.

use crate::support::cli::{hoist, run_tool};
use crate::support::ecs_emulator::EcsEmulator;
use crate::support::fixtures::{synthetic_boot, uber};
use crate::support::registry::{Auth, TestRegistry};

const ECR_HOST: &str = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com";

#[test]
fn pushes_to_an_ecr_host_with_a_token_from_get_authorization_token() {
    // The emulator is moto with ECS extended; its ECR is moto's own.
    let moto = EcsEmulator::start();
    let registry = TestRegistry::start(Auth::Basic {
        user: "AWS".into(),
        password: "123456789012-auth-token".into(),
    });
    let dir = tempfile::tempdir().unwrap();
    let jar = uber(dir.path());
    let empty_docker_config = dir.path().join("docker");
    std::fs::create_dir_all(&empty_docker_config).unwrap();
    let run = |extra: &[&str]| {
        let mut command = hoist()
            .args(["build", "--from", "scratch", "--jar"])
            .args([&jar])
            .args(["--to", &format!("{ECR_HOST}/plog-back:dev-1")])
            .args([
                "--insecure-registry",
                ECR_HOST,
                "--resolve",
                &format!("{ECR_HOST}={}", registry.host),
            ])
            .args(extra)
            .env("DOCKER_CONFIG", &empty_docker_config);
        for (key, value) in moto.env() {
            command = command.env(key, value);
        }
        command
    };
    let digest = run(&["--create-repository"]).success();
    let repos = moto.boto3("ecr", "print(json.dumps([r['repositoryName'] for r in client.describe_repositories()['repositories']]))");
    assert!(
        repos.contains("plog-back"),
        "CreateRepository was called: {repos}"
    );
    let inspect = run_tool(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--creds",
            "AWS:123456789012-auth-token",
            &format!("docker://{}/plog-back:dev-1", registry.host),
        ],
        "apt-get install skopeo",
    );
    assert!(inspect.contains(digest.trim()), "{inspect}");
    // A second run: the repository exists, nothing is uploaded.
    let stderr_free = run(&["--create-repository", "--json"]).success();
    let report: serde_json::Value = serde_json::from_str(&stderr_free).unwrap();
    assert_eq!(report["push"]["uploaded"], 0);
}

#[test]
fn bad_aws_credentials_fail_in_one_line_without_leaking_them() {
    let dir = tempfile::tempdir().unwrap();
    let jar = uber(dir.path());
    let port = crate::support::registry::free_port();
    let stderr = hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&jar])
        .args(["--to", &format!("{ECR_HOST}/plog-back:1")])
        .env("DOCKER_CONFIG", dir.path())
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEY")
        .env("AWS_SECRET_ACCESS_KEY", "very-secret-value")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .failure(1);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("GetAuthorizationToken"), "{stderr}");
    assert!(!stderr.contains("very-secret-value"), "{stderr}");
}

/// A `hoist build` of `jar` to `image` on the ECR host, its registry the
/// local one (through `--resolve`), its API moto.
fn ecr_build(
    moto: &EcsEmulator,
    registry: &TestRegistry,
    jar: &std::path::Path,
    image: &str,
    docker_config: &std::path::Path,
) -> crate::support::cli::Hoist {
    let mut command = hoist()
        .args(["build", "--from", "scratch", "--json", "--jar"])
        .args([jar])
        .args(["--to", &format!("{ECR_HOST}/{image}")])
        .args([
            "--insecure-registry",
            ECR_HOST,
            "--resolve",
            &format!("{ECR_HOST}={}", registry.host),
        ])
        .env("DOCKER_CONFIG", docker_config);
    for (key, value) in moto.env() {
        command = command.env(key, value);
    }
    command
}

#[test]
fn a_stale_docker_login_for_an_ecr_host_loses_to_get_authorization_token() {
    use base64::Engine;
    let moto = EcsEmulator::start();
    let registry = TestRegistry::start(Auth::Basic {
        user: "AWS".into(),
        password: "123456789012-auth-token".into(),
    });
    let dir = tempfile::tempdir().unwrap();
    let jar = uber(dir.path());
    // `docker login` from yesterday: its token has expired.
    let docker_config = dir.path().join("docker");
    std::fs::create_dir_all(&docker_config).unwrap();
    let stale =
        base64::engine::general_purpose::STANDARD.encode("AWS:expired-token-from-yesterday");
    std::fs::write(
        docker_config.join("config.json"),
        serde_json::json!({"auths": {ECR_HOST: {"auth": stale}}}).to_string(),
    )
    .unwrap();
    moto.boto3(
        "ecr",
        "client.create_repository(repositoryName='plog-back')",
    );
    let report: serde_json::Value = serde_json::from_str(
        &ecr_build(&moto, &registry, &jar, "plog-back:1", &docker_config).success(),
    )
    .unwrap();
    assert!(report["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(registry.requests("PUT", "/manifests/1"), 1);
}

#[test]
fn an_immutable_ecr_repository_is_read_once_and_a_moving_tag_is_not_even_tried() {
    let moto = EcsEmulator::start();
    let registry = TestRegistry::start(Auth::Basic {
        user: "AWS".into(),
        password: "123456789012-auth-token".into(),
    });
    let dir = tempfile::tempdir().unwrap();
    let first = uber(&dir.path().join("one"));
    let second = synthetic_boot(&dir.path().join("two"));
    let empty_docker_config = dir.path().join("docker");
    std::fs::create_dir_all(&empty_docker_config).unwrap();
    moto.boto3(
        "ecr",
        "client.create_repository(repositoryName='imm-app', imageTagMutability='IMMUTABLE')",
    );
    let one: serde_json::Value = serde_json::from_str(
        &ecr_build(
            &moto,
            &registry,
            &first,
            "imm-app:one",
            &empty_docker_config,
        )
        .args(["--tag", "dev"])
        .success(),
    )
    .unwrap();
    assert_eq!(one["tags"], serde_json::json!(["one", "dev"]));
    let (shown, output) = ecr_build(
        &moto,
        &registry,
        &second,
        "imm-app:two",
        &empty_docker_config,
    )
    .args(["--tag", "dev"])
    .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}: {stderr}");
    let two: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(two["tags"], serde_json::json!(["two"]));
    assert_eq!(two["skippedTags"], serde_json::json!(["dev"]));
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("warning:")).count(),
        1,
        "{stderr}"
    );
    // DescribeRepositories said IMMUTABLE: dev was looked up, never PUT again.
    assert_eq!(registry.requests("PUT", "/manifests/dev"), 1);
}
