//! Token auth (the Docker Hub / GHCR flow) and TLS against real registries.

use crate::support::certs::make_ca_and_server_cert_for;
use crate::support::cli::{hoist, run_tool};
use crate::support::fixtures::{synthetic_boot, uber};
use crate::support::registry::{Auth, TestRegistry};
use crate::support::token_server::TokenServer;
use std::path::Path;

fn docker_config(dir: &Path, host: &str, user: &str, password: &str) -> std::path::PathBuf {
    use base64::Engine;
    let config_dir = dir.join("docker");
    std::fs::create_dir_all(&config_dir).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let config = serde_json::json!({"auths": {host: {"auth": auth}}});
    std::fs::write(config_dir.join("config.json"), config.to_string()).unwrap();
    config_dir
}

#[test]
fn bearer_tokens_are_fetched_once_per_scope_and_mounts_ask_for_both_repositories() {
    let tokens = TokenServer::start(&[("alice", "wonder-land")]);
    let registry = TestRegistry::start(tokens.auth());
    let dir = tempfile::tempdir().unwrap();
    let config = docker_config(dir.path(), &registry.host, "alice", "wonder-land");
    let base_jar = synthetic_boot(&dir.path().join("base"));
    hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&base_jar])
        .args(["--to", &registry.image("base/jdk:17")])
        .env("DOCKER_CONFIG", &config)
        .success();
    assert_eq!(
        tokens.fetches_for("repository:base/jdk:pull,push"),
        1,
        "{:#?}",
        tokens.requests()
    );

    let app_jar = uber(&dir.path().join("app"));
    let report: serde_json::Value = serde_json::from_str(
        &hoist()
            .args(["build", "--from", &registry.image("base/jdk:17"), "--jar"])
            .args([&app_jar])
            .args(["--to", &registry.image("team/app:1"), "--json"])
            .env("DOCKER_CONFIG", &config)
            .success(),
    )
    .unwrap();
    assert_eq!(report["push"]["mounted"], 4, "{report}");
    let mount_scope = tokens.token_requests().into_iter().any(|r| {
        r.scopes
            .contains(&"repository:team/app:pull,push".to_string())
            && r.scopes.contains(&"repository:base/jdk:pull".to_string())
    });
    assert!(mount_scope, "{:#?}", tokens.requests());
    let inspect = run_tool(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--creds",
            "alice:wonder-land",
            &format!("docker://{}", registry.image("team/app:1")),
        ],
        "apt-get install skopeo",
    );
    assert!(inspect.contains(report["digest"].as_str().unwrap()));
}

#[test]
fn wrong_credentials_at_the_token_service_fail_without_pushing() {
    let tokens = TokenServer::start(&[("alice", "wonder-land")]);
    let registry = TestRegistry::start(tokens.auth());
    let dir = tempfile::tempdir().unwrap();
    let config = docker_config(dir.path(), &registry.host, "alice", "not-her-password");
    let jar = uber(dir.path());
    let stderr = hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&jar])
        .args(["--to", &registry.image("team/app:1")])
        .env("DOCKER_CONFIG", &config)
        .failure(1);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("token service refused"), "{stderr}");
    assert!(!stderr.contains("not-her-password"), "{stderr}");
    assert_eq!(registry.requests("PUT", "/manifests/"), 0);
}

#[test]
fn tls_registry_is_trusted_with_ca_file_and_refused_without() {
    let name = "registry.test";
    let (ca, cert, key) = make_ca_and_server_cert_for(&[name]);
    let registry = TestRegistry::start_with(Auth::None, Some((&cert, &key)));
    let port = registry.host.rsplit_once(':').unwrap().1.to_string();
    let host = format!("{name}:{port}");
    let dir = tempfile::tempdir().unwrap();
    let jar = uber(dir.path());
    let resolve = format!("{name}=127.0.0.1:{port}");
    let stderr = hoist()
        .args(["build", "--from", "scratch", "--retries", "1", "--jar"])
        .args([&jar])
        .args([
            "--to",
            &format!("{host}/secure/app:1"),
            "--resolve",
            &resolve,
        ])
        .failure(2);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("TLS") && stderr.contains("--ca-file"),
        "{stderr}"
    );
    assert_eq!(registry.requests("PUT", "/manifests/"), 0);
    let digest = hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&jar])
        .args([
            "--to",
            &format!("{host}/secure/app:1"),
            "--resolve",
            &resolve,
            "--ca-file",
        ])
        .args([&ca.ca_cert])
        .success();
    assert!(digest.starts_with("sha256:"));
    assert_eq!(registry.requests("PUT", "/manifests/1"), 1);
}

#[test]
fn credentials_from_a_docker_credential_helper() {
    let registry = TestRegistry::start(Auth::Basic {
        user: "helper-user".into(),
        password: "helper-pass".into(),
    });
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // A credential helper speaks JSON on stdout for the host on stdin.
    let helper = bin.join("docker-credential-hoisttest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread host\n[ \"$1\" = get ] && [ \"$host\" = \"{}\" ] || exit 1\necho '{{\"ServerURL\":\"'$host'\",\"Username\":\"helper-user\",\"Secret\":\"helper-pass\"}}'\n",
            registry.host
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config_dir = dir.path().join("docker");
    std::fs::create_dir_all(&config_dir).unwrap();
    let config = serde_json::json!({"credHelpers": {registry.host.clone(): "hoisttest"}});
    std::fs::write(config_dir.join("config.json"), config.to_string()).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let jar = uber(dir.path());
    // Manifest PUTs are counted below: the images' only.
    hoist()
        .args([
            "build",
            "--attestations",
            "none",
            "--from",
            "scratch",
            "--jar",
        ])
        .args([&jar])
        .args(["--to", &registry.image("helped/app:1")])
        .env("DOCKER_CONFIG", &config_dir)
        .env("PATH", &path)
        .success();
    // credsStore is the fallback for hosts without a helper of their own.
    let config = serde_json::json!({"credsStore": "hoisttest"});
    std::fs::write(config_dir.join("config.json"), config.to_string()).unwrap();
    hoist()
        .args([
            "build",
            "--attestations",
            "none",
            "--from",
            "scratch",
            "--jar",
        ])
        .args([&jar])
        .args(["--to", &registry.image("helped/app:2")])
        .env("DOCKER_CONFIG", &config_dir)
        .env("PATH", &path)
        .success();
    assert_eq!(registry.requests("PUT", "/manifests/"), 2);
}

#[test]
fn docker_hub_names_reach_registry_1_under_library_with_the_v1_login() {
    // Docker Hub played by a local TLS registry reached through --resolve;
    // `docker login` files its credentials under the v1 index URL.
    let name = "registry-1.docker.io";
    let (ca, cert, key) = make_ca_and_server_cert_for(&[name]);
    let registry = TestRegistry::start_with(
        Auth::Basic {
            user: "hubuser".into(),
            password: "hub-pass".into(),
        },
        Some((&cert, &key)),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = docker_config(
        dir.path(),
        "https://index.docker.io/v1/",
        "hubuser",
        "hub-pass",
    );
    let jar = uber(dir.path());
    let resolve = format!("{name}={}", registry.host);
    for (i, reference) in [
        "docker.io/library/hoisttest",
        "index.docker.io/library/hoisttest",
        "docker.io/hoisttest",
        "hoisttest",
    ]
    .iter()
    .enumerate()
    {
        // Manifest PUTs are counted: the image's only.
        hoist()
            .args([
                "build",
                "--attestations",
                "none",
                "--from",
                "scratch",
                "--jar",
            ])
            .args([&jar])
            .args(["--to", &format!("{reference}:{i}"), "--resolve", &resolve])
            .args(["--ca-file".as_ref(), ca.ca_cert.as_os_str()])
            .env("DOCKER_CONFIG", &config)
            .success();
    }
    assert_eq!(
        registry.requests("PUT", "/v2/library/hoisttest/manifests/"),
        4,
        "{}",
        registry.log()
    );
}

#[test]
fn an_identity_token_is_traded_for_access_tokens_and_never_sent_as_basic() {
    let tokens = TokenServer::start(&[]);
    tokens.add_refresh_token("refresh-0123456789", "carol");
    let registry = TestRegistry::start(tokens.auth());
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("docker");
    std::fs::create_dir_all(&config_dir).unwrap();
    // What `docker login` writes for a registry that hands out identity tokens.
    let config = serde_json::json!({"auths": {registry.host.clone(): {"auth": "", "identitytoken": "refresh-0123456789"}}});
    std::fs::write(config_dir.join("config.json"), config.to_string()).unwrap();
    let jar = uber(dir.path());
    hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&jar])
        .args(["--to", &registry.image("team/app:1")])
        .env("DOCKER_CONFIG", &config_dir)
        .success();
    let requests = tokens.token_requests();
    assert!(
        requests.iter().any(|r| r.line.starts_with("POST /token")
            && r.user.as_deref() == Some("carol")
            && r.status == 200),
        "{requests:#?}"
    );
    assert!(
        requests
            .iter()
            .all(|r| !r.line.contains("refresh-0123456789")),
        "{requests:#?}"
    );
    assert_eq!(registry.requests("PUT", "/manifests/1"), 1);
}
