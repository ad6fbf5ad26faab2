//! `moto_server` on a free loopback port: the AWS APIs (ECR, ECS, Secrets
//! Manager) for tests, reached through the SDK's endpoint override.

#![allow(dead_code)]

use crate::support::registry::free_port;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server; stopped when dropped.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl Moto {
    /// Starts `moto_server` (as `python3 -m moto.server`, which needs no
    /// script on PATH) and waits until it accepts connections.
    pub fn start() -> Self {
        let port = free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start moto_server ({e}); install it: pip install 'moto[server]'")
            });
        let moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// Environment for an AWS SDK client of this server: endpoint and dummy credentials.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "ap-northeast-2".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// Runs a boto3 snippet against this server and returns its stdout
    /// (`client` is bound to `boto3.client(SERVICE, …)`).
    pub fn boto3(&self, service: &str, code: &str) -> String {
        let script = format!(
            "import boto3, json\nclient = boto3.client('{service}', endpoint_url='{}', region_name='ap-northeast-2', aws_access_key_id='testing', aws_secret_access_key='testing')\n{code}\n",
            self.endpoint
        );
        let output = Command::new("python3")
            .arg("-c")
            .arg(script)
            .output()
            .expect("running python3");
        assert!(
            output.status.success(),
            "boto3 failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
