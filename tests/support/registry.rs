//! A real registry for the tests: Debian's `docker-registry` (the CNCF
//! distribution registry) started on a free loopback port with a config in a
//! temp dir, its access log kept so tests can count the requests it saw.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL: &str = "apt-get install docker-registry";

/// How the registry authenticates.
pub enum Auth {
    /// Anyone may push and pull.
    None,
    /// htpasswd Basic auth with one user.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// Token auth: the registry trusts tokens signed by the key whose
    /// certificate is at `root_cert`, issued by `issuer` for `service`.
    Token {
        /// Token endpoint URL.
        realm: String,
        /// Service name.
        service: String,
        /// Issuer name.
        issuer: String,
        /// PEM certificate bundle of the token signer.
        root_cert: PathBuf,
    },
}

/// A running registry; stopped when dropped.
pub struct TestRegistry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub host: String,
    dir: tempfile::TempDir,
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl TestRegistry {
    /// Starts a registry with `auth`, plain HTTP.
    pub fn start(auth: Auth) -> Self {
        Self::start_with(auth, None)
    }

    /// Starts a registry; with `tls` = (cert, key) it serves HTTPS.
    pub fn start_with(auth: Auth, tls: Option<(&Path, &Path)>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let auth_section = match &auth {
            Auth::None => String::new(),
            Auth::Basic { user, password } => {
                let line = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .output()
                    .unwrap_or_else(|e| panic!("cannot run htpasswd ({e}); install it: apt-get install apache2-utils"));
                std::fs::write(dir.path().join("htpasswd"), &line.stdout).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: hoist-test\n    path: {}\n",
                    dir.path().join("htpasswd").display()
                )
            }
            Auth::Token { realm, service, issuer, root_cert } => format!(
                "auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {}\n",
                root_cert.display()
            ),
        };
        let tls_section = match tls {
            Some((cert, key)) => format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ),
            None => String::new(),
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n{tls_section}{auth_section}",
            dir.path().join("data").display()
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("access.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start docker-registry ({e}); install it: {INSTALL}")
            });
        let registry = Self { child, host, dir };
        registry.wait_until_listening();
        registry
    }

    fn wait_until_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(mut stream) = TcpStream::connect(&self.host) {
                let _ = stream.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n");
                let mut answer = [0u8; 12];
                if stream.read(&mut answer).is_ok_and(|n| n > 0) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "docker-registry did not start on {}: {}",
            self.host,
            self.log()
        );
    }

    /// The registry's log so far (access log included).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    /// Access-log lines of requests with `method` whose path contains `path_part`.
    pub fn requests(&self, method: &str, path_part: &str) -> usize {
        let needle = format!("\"{method} ");
        self.log()
            .lines()
            .filter(|l| l.contains(&needle) && l.contains(path_part))
            .count()
    }

    /// Removes tag `tag` of `repo` from the registry's storage, leaving the
    /// manifest and its blobs (as ECR's BatchDeleteImage by tag, or a
    /// lifecycle policy expiring the tag, would; docker-registry 2.8 has no
    /// API call for it).
    pub fn delete_tag(&self, repo: &str, tag: &str) {
        let path = self
            .dir
            .path()
            .join("data/docker/registry/v2/repositories")
            .join(repo)
            .join("_manifests/tags")
            .join(tag);
        std::fs::remove_dir_all(&path)
            .unwrap_or_else(|e| panic!("deleting tag {repo}:{tag} at {}: {e}", path.display()));
    }

    /// `HOST/REPO:TAG`.
    pub fn image(&self, repo_and_tag: &str) -> String {
        format!("{}/{repo_and_tag}", self.host)
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
