//! Stand-ins of the registries users really push to and pull from: Amazon
//! ECR, Docker Hub and ECR Public, each answering as that service does where
//! it departs from the distribution spec (`registry_standin.py`, which names
//! the public source of every behaviour), in front of a real
//! [`TestRegistry`] that stores the bytes.
//!
//! The ECR stand-in checks the tokens the AWS emulator's
//! GetAuthorizationToken hands out and asks it (DescribeRepositories)
//! whether a repository exists and whether its tags are immutable, so a test
//! creates its repositories there, as a user does in AWS. hoist reaches it
//! under the real ECR host name [`ECR_HOST`] through `--resolve`.

#![allow(dead_code)]

use crate::support::ecs_emulator::EcsEmulator;
use crate::support::registry::{Auth, TestRegistry};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The private ECR registry host the tests push to (the emulator's account
/// and region).
pub const ECR_HOST: &str = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com";

/// Which service the stand-in answers as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// Amazon ECR (private).
    Ecr,
    /// Docker Hub.
    DockerHub,
    /// Amazon ECR Public.
    EcrPublic,
}

impl Model {
    fn name(self) -> &'static str {
        match self {
            Model::Ecr => "ecr",
            Model::DockerHub => "dockerhub",
            Model::EcrPublic => "ecr-public",
        }
    }
}

/// A running stand-in and the registry behind it; both stop when dropped.
pub struct RegistryStandIn {
    child: Child,
    /// `127.0.0.1:PORT`: the stand-in's registry endpoint.
    pub host: String,
    /// The blob storage it redirects downloads to (ECR's S3, Docker Hub's
    /// CDN), if the model has one.
    pub storage: Option<String>,
    /// The registry that stores the bytes (plain docker-registry, no auth).
    pub backend: TestRegistry,
    dir: tempfile::TempDir,
}

impl RegistryStandIn {
    /// Amazon ECR, its API the emulator `aws`.
    pub fn ecr(aws: &EcsEmulator) -> Self {
        Self::start(Model::Ecr, Some(aws))
    }

    /// Docker Hub (anonymous Bearer tokens from its own auth service).
    pub fn docker_hub() -> Self {
        Self::start(Model::DockerHub, None)
    }

    /// Amazon ECR Public (anonymous Bearer tokens).
    pub fn ecr_public() -> Self {
        Self::start(Model::EcrPublic, None)
    }

    fn start(model: Model, aws: Option<&EcsEmulator>) -> Self {
        let backend = TestRegistry::start(Auth::None);
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("ready.json");
        let log = std::fs::File::create(dir.path().join("standin.log")).unwrap();
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/registry_standin.py"
        );
        let mut command = Command::new("python3");
        command
            .arg(script)
            .args(["--model", model.name(), "--backend", &backend.host])
            .arg("--ready-file")
            .arg(&ready)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        if let Some(aws) = aws {
            command.args([
                "--aws-endpoint",
                &aws.endpoint,
                "--region",
                "ap-northeast-2",
                "--account",
                "123456789012",
            ]);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start python3 {script} ({e}); install python3"));
        let mut standin = Self {
            child,
            host: String::new(),
            storage: None,
            backend,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let addresses: serde_json::Value = loop {
            if let Ok(text) = std::fs::read_to_string(&ready) {
                break serde_json::from_str(&text).unwrap();
            }
            if let Ok(Some(status)) = standin.child.try_wait() {
                panic!(
                    "the registry stand-in exited ({status}) before it was ready:\n{}",
                    standin.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the registry stand-in was not ready within 30 s:\n{}",
                standin.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        standin.host = addresses["registry"].as_str().unwrap().to_string();
        standin.storage = addresses["storage"].as_str().map(str::to_string);
        standin
    }

    /// The stand-in's own output (tracebacks, if any).
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("standin.log")).unwrap_or_default()
    }

    /// The hoist flags that send [`ECR_HOST`] to this stand-in, over plain
    /// HTTP.
    pub fn ecr_flags(&self) -> Vec<String> {
        vec![
            "--insecure-registry".into(),
            ECR_HOST.into(),
            "--resolve".into(),
            format!("{ECR_HOST}={}", self.host),
        ]
    }

    /// The same as a `[registry]` table of `hoist.toml`.
    pub fn ecr_toml(&self) -> String {
        format!(
            "\n[registry]\ninsecure = [\"{ECR_HOST}\"]\nresolve = [\"{ECR_HOST}={}\"]\n",
            self.host
        )
    }

    /// Merges `settings` (JSON) into the stand-in's settings: `blob_mounting`,
    /// `mount_refusal`, `put_image_per_second`, `immutable_wording`,
    /// `pull_rate_limit`.
    pub fn set(&self, settings: serde_json::Value) {
        let (status, body) = self.control("POST", "/_standin/settings", &settings.to_string());
        assert_eq!(status, 200, "{body}");
    }

    /// Every token the stand-in has seen so far expires now (the 12 hours
    /// of an ECR token pass for them); tokens not seen yet stay good.
    pub fn expire_tokens(&self) {
        let (status, body) = self.control("POST", "/_standin/expire-tokens", "");
        assert_eq!(status, 200, "{body}");
    }

    /// One entry per request seen, in order: `method`, `path`, `status`,
    /// `authorization` (bool), `bytes`, `listener` (`registry` or `storage`).
    pub fn log(&self) -> Vec<serde_json::Value> {
        let (status, body) = self.control("GET", "/_standin/log", "");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// How many requests had `method`, a path containing `path_part` and
    /// (if given) the answer `status`.
    pub fn count(&self, method: &str, path_part: &str, status: Option<u64>) -> usize {
        self.log()
            .iter()
            .filter(|e| {
                e["method"] == method
                    && e["path"].as_str().unwrap_or("").contains(path_part)
                    && status.is_none_or(|s| e["status"] == s)
            })
            .count()
    }

    /// The log's lines as `METHOD PATH -> STATUS`, for failure messages.
    pub fn log_text(&self) -> String {
        self.log()
            .iter()
            .map(|e| format!("{} {} -> {}", e["method"], e["path"], e["status"]))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn control(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        http(&self.host, method, path, body)
    }
}

impl Drop for RegistryStandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The registry password the emulator's GetAuthorizationToken hands out
/// now (user `AWS`).
pub fn ecr_password(aws: &EcsEmulator) -> String {
    aws.boto3(
        "ecr",
        "import base64\nprint(base64.b64decode(client.get_authorization_token()['authorizationData'][0]['authorizationToken']).decode().split(':', 1)[1])",
    )
    .trim()
    .to_string()
}

/// One HTTP/1.1 request with `Connection: close` to `host`; the status and
/// the body as text.
pub fn http(host: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
