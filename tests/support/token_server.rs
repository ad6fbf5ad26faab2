//! A token server for the Docker registry token flow (as Docker Hub, GHCR
//! and most hosted registries use): the registry answers 401 with a
//! `Bearer realm=…,service=…,scope=…` challenge, the client fetches a JWT
//! from the realm with Basic credentials (or none) and retries with it.
//!
//! The server signs RS256 JWTs with a fresh RSA key whose self-signed
//! certificate it hands out as [`TokenServer::root_cert`], the
//! `rootcertbundle` that docker-registry verifies the tokens' `x5c` chains
//! against. Known users get the actions they ask for; anonymous clients get a
//! token granting nothing (so the registry then refuses them, as Docker Hub
//! does for private repositories); wrong credentials get a 401. Every request
//! is recorded so tests can count token fetches.
//!
//! Plain `std::net` and threads; signing through the `openssl` tool.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;

use super::certs::{openssl, run};
use super::registry::Auth;

/// How long tokens are good for, in seconds.
pub const EXPIRES_IN: u64 = 300;

/// Read/write timeout on each client connection.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest request head accepted.
const MAX_HEAD: usize = 64 * 1024;

/// One request the token server answered.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// The request line, e.g. `GET /token?service=…&scope=… HTTP/1.1`, with
    /// any secret-looking query parameter redacted.
    pub line: String,
    /// The Basic user name sent, if any (whether or not it was accepted).
    pub user: Option<String>,
    /// The scopes asked for, decoded (`repository:NAME:pull,push`).
    pub scopes: Vec<String>,
    /// The HTTP status answered.
    pub status: u16,
}

/// A running token server; stopped when dropped.
pub struct TokenServer {
    /// The token endpoint: `http://127.0.0.1:PORT/token`.
    pub realm: String,
    /// The service name the registry should be configured with.
    pub service: String,
    /// The issuer the tokens carry (`iss`).
    pub issuer: String,
    /// PEM certificate of the token signer: the registry's `rootcertbundle`.
    pub root_cert: PathBuf,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    dir: tempfile::TempDir,
}

/// What the server thread and the test share.
struct Shared {
    service: String,
    issuer: String,
    key: PathBuf,
    /// Base64 (standard, padded) DER of the signer certificate.
    x5c: String,
    users: Vec<(String, String)>,
    /// Users limited to some actions (see [`TokenServer::limit_actions`]).
    limits: Mutex<HashMap<String, Vec<String>>>,
    log: Mutex<Vec<TokenRequest>>,
    next_id: AtomicU64,
    /// OAuth2 refresh tokens (identity tokens) and the user each stands for.
    refresh_tokens: Mutex<Vec<(String, String)>>,
}

impl TokenServer {
    /// Starts a token server on a free loopback port that accepts the Basic
    /// credentials `users` (`(user, password)` pairs).
    pub fn start(users: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("creating a temp dir for the token signer");
        let key = dir.path().join("signer.key");
        let root_cert = dir.path().join("signer.pem");
        run(openssl()
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256"])
            .args(["-days", "2", "-subj", "/CN=hoist test token signer"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&root_cert));
        let pem = std::fs::read_to_string(&root_cert).unwrap();
        let x5c: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();

        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the token server");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let service = "hoist-test-registry".to_string();
        let issuer = "hoist-test-token-issuer".to_string();
        let shared = Arc::new(Shared {
            service: service.clone(),
            issuer: issuer.clone(),
            key,
            x5c,
            users: users
                .iter()
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .collect(),
            limits: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
            refresh_tokens: Mutex::new(Vec::new()),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let shared = Arc::clone(&shared);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || accept_loop(listener, &shared, &stop))
        };
        Self {
            realm: format!("http://127.0.0.1:{port}/token"),
            service,
            issuer,
            root_cert,
            shared,
            stop,
            thread: Some(thread),
            dir,
        }
    }

    /// The registry configuration that trusts this server's tokens.
    pub fn auth(&self) -> Auth {
        Auth::Token {
            realm: self.realm.clone(),
            service: self.service.clone(),
            issuer: self.issuer.clone(),
            root_cert: self.root_cert.clone(),
        }
    }

    /// From now on grants `user` at most `actions` (e.g. `["pull"]` for a
    /// read-only user), whatever it asks for.
    pub fn limit_actions(&self, user: &str, actions: &[&str]) {
        self.shared.limits.lock().unwrap().insert(
            user.to_string(),
            actions.iter().map(|a| a.to_string()).collect(),
        );
    }

    /// Accepts `token` as an OAuth2 refresh token for `user` from now on:
    /// `POST /token` with `grant_type=refresh_token` (the distribution token
    /// spec's OAuth2 flow, as `docker login` identity tokens use it).
    pub fn add_refresh_token(&self, token: &str, user: &str) {
        self.shared
            .refresh_tokens
            .lock()
            .unwrap()
            .push((token.to_string(), user.to_string()));
    }

    /// The request lines received so far, in order (query included,
    /// credentials never: they travel in the `Authorization` header).
    pub fn requests(&self) -> Vec<String> {
        self.token_requests().into_iter().map(|r| r.line).collect()
    }

    /// The requests received so far, in order, with who asked for what.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.shared.log.lock().unwrap().clone()
    }

    /// How many requests asked for `scope` (exactly, e.g.
    /// `repository:app:pull,push`).
    pub fn fetches_for(&self, scope: &str) -> usize {
        self.token_requests()
            .iter()
            .filter(|r| r.scopes.iter().any(|s| s == scope))
            .count()
    }

    /// A token as the server would issue it to `user` (`None`: anonymous)
    /// for `scopes`, for tests that need one without the HTTP round trip.
    pub fn mint(&self, user: Option<&str>, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        self.shared.mint(user, &self.shared.service, &scopes)
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Accepts connections until `stop`, each handled on its own short-lived
/// thread (bounded by [`IO_TIMEOUT`]).
fn accept_loop(listener: TcpListener, shared: &Arc<Shared>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let shared = Arc::clone(shared);
                std::thread::spawn(move || {
                    let _ = handle(stream, &shared);
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Answers one request, then closes the connection.
fn handle(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);

    let mut line = String::new();
    let mut head_size = reader.read_line(&mut line)?;
    let request_line = line.trim_end().to_string();
    let mut authorization = None;
    let mut content_length = 0usize;
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        head_size += n;
        if n == 0 || line == "\r\n" || line == "\n" || head_size > MAX_HEAD {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("authorization") {
                authorization = Some(value.trim().to_string());
            }
            if name.trim().eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse().unwrap_or(0).min(MAX_HEAD);
            }
        }
    }

    let mut form = vec![0u8; content_length];
    std::io::Read::read_exact(&mut reader, &mut form)?;
    let form = String::from_utf8_lossy(&form).into_owned();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    // A POST carries its parameters in a form body.
    let params = parse_query(if method == "POST" { &form } else { query });
    let scopes: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' ').filter(|s| !s.is_empty()))
        .map(str::to_string)
        .collect();
    let service = params
        .iter()
        .find(|(k, _)| k == "service")
        .map_or(shared.service.as_str(), |(_, v)| v.as_str());
    let credentials = authorization.as_deref().map(parse_basic);
    let user = credentials
        .as_ref()
        .and_then(|c| c.as_ref().map(|(u, _)| u.clone()));

    let refresh_user = (method == "POST")
        .then(|| {
            let param = |k: &str| {
                params
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
            };
            let token = param("refresh_token")?;
            (param("grant_type").as_deref() == Some("refresh_token")).then_some(())?;
            shared
                .refresh_tokens
                .lock()
                .unwrap()
                .iter()
                .find(|(t, _)| *t == token)
                .map(|(_, u)| u.clone())
        })
        .flatten();
    let user = user.or(refresh_user.clone());
    let (status, body, extra) = if path != "/token" {
        (404, r#"{"details":"not found"}"#.to_string(), "")
    } else if method == "POST" {
        match &refresh_user {
            Some(subject) => {
                let token = shared.mint(Some(subject), service, &scopes);
                let body = serde_json::json!({
                    "access_token": token,
                    "expires_in": EXPIRES_IN,
                    "scope": scopes.join(" "),
                });
                (200, body.to_string(), "")
            }
            None => (400, r#"{"error":"invalid_grant"}"#.to_string(), ""),
        }
    } else if method != "GET" {
        (
            405,
            r#"{"details":"method not allowed"}"#.to_string(),
            "Allow: GET\r\n",
        )
    } else {
        let accepted = match &credentials {
            None => Some(None),
            Some(Some((u, p))) => shared
                .users
                .iter()
                .any(|(known, pass)| known == u && pass == p)
                .then_some(Some(u.as_str())),
            Some(None) => None,
        };
        match accepted {
            Some(subject) => {
                let token = shared.mint(subject, service, &scopes);
                let issued_at = time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap();
                let body = serde_json::json!({
                    "token": token,
                    "access_token": token,
                    "expires_in": EXPIRES_IN,
                    "issued_at": issued_at,
                });
                (200, body.to_string(), "")
            }
            None => (
                401,
                r#"{"details":"incorrect username or password"}"#.to_string(),
                "WWW-Authenticate: Basic realm=\"hoist-test-token\"\r\n",
            ),
        }
    };

    shared.log.lock().unwrap().push(TokenRequest {
        line: redact(&request_line),
        user,
        scopes,
        status,
    });
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let mut stream = reader.into_inner();
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

impl Shared {
    /// A signed JWT for `user` (`None`: anonymous, granted nothing) with
    /// audience `service`, granting the actions asked for in `scopes`.
    fn mint(&self, user: Option<&str>, service: &str, scopes: &[String]) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let access: Vec<serde_json::Value> = match user {
            None => Vec::new(),
            Some(user) => {
                let limit = self.limits.lock().unwrap().get(user).cloned();
                scopes
                    .iter()
                    .filter_map(|scope| parse_scope(scope))
                    .map(|(kind, name, actions)| {
                        let actions: Vec<&str> = actions
                            .into_iter()
                            .filter(|a| limit.as_ref().is_none_or(|l| l.iter().any(|x| x == a)))
                            .collect();
                        serde_json::json!({ "type": kind, "name": name, "actions": actions })
                    })
                    .collect()
            }
        };
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let header = serde_json::json!({ "alg": "RS256", "typ": "JWT", "x5c": [self.x5c] });
        let claims = serde_json::json!({
            "iss": self.issuer,
            "sub": user.unwrap_or(""),
            "aud": service,
            "exp": now + EXPIRES_IN,
            "nbf": now - 10,
            "iat": now,
            "jti": format!("{}-{now}-{id}", std::process::id()),
            "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `data`, by `openssl dgst`.
    fn sign(&self, data: &[u8]) -> Vec<u8> {
        let mut child = Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&self.key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run openssl ({e}); install it: apt-get install openssl")
            });
        child.stdin.take().unwrap().write_all(data).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "openssl dgst -sign failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }
}

/// `Basic base64(user:password)` → `Some((user, password))`; anything else
/// (another scheme, bad encoding) → `None`.
fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// `TYPE:NAME:ACTION,ACTION` → its parts (NAME may itself hold colons).
fn parse_scope(scope: &str) -> Option<(&str, &str, Vec<&str>)> {
    let (kind, rest) = scope.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    Some((
        kind,
        name,
        actions.split(',').filter(|a| !a.is_empty()).collect(),
    ))
}

/// Decoded `key=value` pairs of a query string, in order.
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Form-style URL decoding: `%XX` escapes and `+` for space.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, other) => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The request line with the values of secret-looking query parameters
/// replaced by `***`.
fn redact(request_line: &str) -> String {
    const SECRETS: [&str; 4] = ["password", "client_secret", "refresh_token", "access_token"];
    let Some((before, after)) = request_line.split_once('?') else {
        return request_line.to_string();
    };
    let (query, rest) = after.split_once(' ').unwrap_or((after, ""));
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if SECRETS.contains(&percent_decode(k).as_str()) => format!("{k}=***"),
            _ => pair.to_string(),
        })
        .collect();
    let sep = if rest.is_empty() { "" } else { " " };
    format!("{before}?{}{sep}{rest}", query.join("&"))
}
