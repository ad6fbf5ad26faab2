//! Registry authentication: `WWW-Authenticate` challenges and where
//! credentials come from (`~/.docker/config.json`: `auths` with `auth`,
//! `username`/`password` or an `identitytoken`, `credHelpers`, `credsStore`).
//! Docker Hub's names (`docker.io`, `index.docker.io`, its v1 URL) all find
//! its entry. Credentials never appear in `Debug` output or errors.

use anyhow::{Context, Result};
use base64::Engine;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// A user name and a secret (password or token).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    /// User name.
    pub username: String,
    /// Password or identity token.
    pub secret: String,
    /// The secret is an OAuth2 refresh token (the docker config's
    /// `identitytoken`, or a helper's answer with user `<token>`): it is
    /// traded at the token service for access tokens, never sent as Basic.
    pub identity_token: bool,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({}, ***)", self.username)
    }
}

impl Credentials {
    /// The `Authorization: Basic …` value.
    pub(crate) fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.secret);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    /// Decodes a base64 `user:secret` pair (docker config `auth`, ECR tokens).
    pub(crate) fn from_base64_pair(encoded: &str) -> Option<Self> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (username, secret) = text.split_once(':')?;
        Some(Self::password(username, secret))
    }

    /// A user name and password.
    pub(crate) fn password(username: &str, secret: &str) -> Self {
        Self {
            username: username.to_string(),
            secret: secret.to_string(),
            identity_token: false,
        }
    }

    /// An identity (refresh) token.
    pub(crate) fn identity_token(token: &str) -> Self {
        Self {
            username: "<token>".to_string(),
            secret: token.to_string(),
            identity_token: true,
        }
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// `Basic realm=…`.
    Basic,
    /// `Bearer realm=…,service=…,scope=…`.
    Bearer {
        /// Token endpoint.
        realm: String,
        /// Service name to ask for.
        service: Option<String>,
        /// Scope the registry asked for.
        scope: Option<String>,
    },
}

impl Challenge {
    /// Parses a `WWW-Authenticate` header value.
    pub(crate) fn parse(header: &str) -> Option<Self> {
        let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        let params = parse_params(rest);
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => Some(Challenge::Basic),
            "bearer" => Some(Challenge::Bearer {
                realm: params.get("realm")?.clone(),
                service: params.get("service").cloned(),
                scope: params.get("scope").cloned(),
            }),
            _ => None,
        }
    }
}

/// `a="x",b=y` → map; commas inside quotes are kept.
fn parse_params(text: &str) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        params.insert(key, value.to_string());
        rest = remaining.trim_start_matches([',', ' ']);
    }
    params
}

/// The docker config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
fn docker_config_path() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => Some(PathBuf::from(dir).join("config.json")),
        None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json")),
    }
}

/// Credentials for `registry` from the docker config, if any.
pub(crate) fn docker_credentials(registry: &str) -> Result<Option<Credentials>> {
    match docker_config_path() {
        Some(path) => docker_credentials_in(&path, registry),
        None => Ok(None),
    }
}

/// Credentials for `registry` from the docker config at `path`, if any.
fn docker_credentials_in(path: &std::path::Path, registry: &str) -> Result<Option<Credentials>> {
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(None);
    };
    let config: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))?;
    let mut keys = vec![
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
        format!("https://{registry}/v1/"),
    ];
    if registry == crate::registry::reference::DOCKER_HUB {
        // `docker login` files Docker Hub under its v1 index address.
        keys.extend(
            [
                "https://index.docker.io/v1/",
                "index.docker.io",
                "docker.io",
                "https://docker.io",
                "https://registry-1.docker.io/v2/",
            ]
            .map(String::from),
        );
    }
    if let Some(helper) = keys.iter().find_map(|k| config["credHelpers"][k].as_str()) {
        return credential_helper(helper, registry).map(Some);
    }
    if let Some(entry) = keys.iter().find_map(|k| config["auths"].get(k)) {
        if let Some(token) = entry["identitytoken"].as_str().filter(|t| !t.is_empty()) {
            return Ok(Some(Credentials::identity_token(token)));
        }
        if let Some(auth) = entry["auth"].as_str().filter(|a| !a.is_empty()) {
            return Ok(Credentials::from_base64_pair(auth));
        }
        if let (Some(u), Some(p)) = (entry["username"].as_str(), entry["password"].as_str()) {
            return Ok(Some(Credentials::password(u, p)));
        }
    }
    if let Some(store) = config["credsStore"].as_str() {
        return Ok(credential_helper(store, registry).ok());
    }
    Ok(None)
}

/// Runs `docker-credential-NAME get` with the registry on stdin.
fn credential_helper(name: &str, registry: &str) -> Result<Credentials> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let program = format!("docker-credential-{name}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("running {program} (named in the docker config)"))?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(registry.as_bytes())?;
    // A helper waiting on a keychain prompt must not hang hoist: 30 s at most.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait()?.is_none() {
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("{program} get did not answer within 30 s (is it waiting for a prompt?)");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        anyhow::bail!("{program} has no credentials for {registry}");
    }
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("reading {program}'s answer"))?;
    let username = answer["Username"].as_str().unwrap_or_default();
    let secret = answer["Secret"].as_str().unwrap_or_default();
    // Helpers hand out identity tokens with the user name `<token>`.
    Ok(if username == "<token>" {
        Credentials::identity_token(secret)
    } else {
        Credentials::password(username, secret)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::parse("Negotiate"), None);
    }

    #[test]
    fn docker_hub_and_identity_tokens_are_found_in_the_docker_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},"ghcr.io":{"auth":"","identitytoken":"refresh-me"}}}"#,
        )
        .unwrap();
        let hub = docker_credentials_in(&dir.path().join("config.json"), "registry-1.docker.io")
            .unwrap()
            .unwrap();
        assert_eq!((hub.username.as_str(), hub.identity_token), ("user", false));
        let ghcr = docker_credentials_in(&dir.path().join("config.json"), "ghcr.io")
            .unwrap()
            .unwrap();
        assert!(ghcr.identity_token);
        assert_eq!(ghcr.secret, "refresh-me");
        assert!(!format!("{ghcr:?}").contains("refresh-me"));
    }

    #[test]
    fn credentials_hide_their_secret() {
        let c = Credentials::from_base64_pair("QVdTOnNlY3JldA==").unwrap();
        assert_eq!(c.username, "AWS");
        assert!(!format!("{c:?}").contains("secret"));
    }
}
