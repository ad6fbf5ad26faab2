//! One registry host: the HTTP client (TLS, timeouts, plain HTTP only where
//! allowed), authentication on challenge (Basic, or Bearer tokens cached per
//! scope until they expire), credentials renewed once when the registry says
//! they expired, and bounded retries of temporary failures.

use crate::error::usage_hint;
use crate::registry::auth::{Challenge, Credentials};
pub use crate::registry::options::ClientOptions;
use crate::registry::retry::{is_temporary_status, parse_retry_after};
use anyhow::{anyhow, Context, Result};
use reqwest::header::{AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Where a registry's credentials come from again once they have expired:
/// for Amazon ECR, `GetAuthorizationToken` (a token lasts 12 hours).
pub(crate) struct CredentialRenewal {
    /// What is asked, for the note that says so (`GetAuthorizationToken`).
    pub source: &'static str,
    /// Fetches new credentials.
    pub fetch: Box<
        dyn Fn() -> futures_util::future::BoxFuture<'static, Result<Credentials>> + Send + Sync,
    >,
}

/// True for hosts reached over plain HTTP without being named: loopback only.
pub(crate) fn is_loopback_host(registry: &str) -> bool {
    let host = registry.rsplit_once(':').map_or(registry, |(h, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            registry
        }
    });
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

#[derive(Default)]
struct AuthState {
    /// The last challenge the registry sent.
    challenge: Option<Challenge>,
    /// Bearer tokens by scope, with when they stop being good.
    tokens: HashMap<String, (String, Option<Instant>)>,
}

/// A client for one registry host.
pub(crate) struct Registry {
    host: String,
    base_url: String,
    http: reqwest::Client,
    /// The client for streamed uploads (no read timeout), made on first use.
    stream_http: tokio::sync::OnceCell<reqwest::Client>,
    options: ClientOptions,
    credentials: std::sync::Mutex<Option<Credentials>>,
    /// How to get new credentials when the registry says they expired.
    renewal: Option<CredentialRenewal>,
    /// Bumped each time the credentials are renewed, so that requests
    /// refused together renew them once.
    generation: AtomicU64,
    renewing: Mutex<()>,
    auth: Mutex<AuthState>,
}

impl Registry {
    /// A client for `host` with `credentials` (none: anonymous).
    pub(crate) fn new(
        host: &str,
        options: &ClientOptions,
        credentials: Option<Credentials>,
    ) -> Result<Self> {
        let plain = is_loopback_host(host) || options.insecure_registries.iter().any(|h| h == host);
        let scheme = if plain { "http" } else { "https" };
        let http = http_client(host, plain, options, Some(options.read_timeout))?;
        Ok(Self {
            host: host.to_string(),
            base_url: format!("{scheme}://{host}"),
            http,
            stream_http: tokio::sync::OnceCell::new(),
            options: options.clone(),
            credentials: std::sync::Mutex::new(credentials),
            renewal: None,
            generation: AtomicU64::new(0),
            renewing: Mutex::new(()),
            auth: Mutex::new(AuthState::default()),
        })
    }

    /// The same client, renewing its credentials through `renewal` once
    /// they have expired.
    pub(crate) fn with_renewal(mut self, renewal: CredentialRenewal) -> Self {
        self.renewal = Some(renewal);
        self
    }

    /// The credentials in use now.
    fn credentials(&self) -> Option<Credentials> {
        self.credentials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The time allowed without progress: between bytes of a response, or
    /// for a streamed body to move on.
    pub(crate) fn read_timeout(&self) -> Duration {
        self.options.read_timeout
    }

    /// True when `url` has this registry's scheme, host and port.
    fn is_same_origin(&self, url: &reqwest::Url) -> bool {
        let Ok(base) = reqwest::Url::parse(&self.base_url) else {
            return false;
        };
        url.scheme() == base.scheme()
            && url.host_str() == base.host_str()
            && url.port_or_known_default() == base.port_or_known_default()
    }

    /// The registry host.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// An absolute URL for `path` (`/v2/...`) or a `Location` header value.
    pub(crate) fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_string()
        } else {
            format!("{}{}", self.base_url, path_or_url)
        }
    }

    /// Starts a request.
    pub(crate) fn request(&self, method: Method, path_or_url: &str) -> RequestBuilder {
        self.http.request(method, self.url(path_or_url))
    }

    /// Sends the request `make` builds — again after an auth challenge, and
    /// again (bounded, with backoff) after temporary failures. `scope` is the
    /// token scope (`repository:NAME:pull,push`). Returns the last response,
    /// whatever its status, unless the connection itself failed.
    pub(crate) async fn send(
        &self,
        scope: &str,
        what: &str,
        make: impl Fn() -> RequestBuilder,
    ) -> Result<Response> {
        let mut challenged = false;
        let mut renewed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let generation = self.generation.load(Ordering::SeqCst);
            let (client, request) = make().build_split();
            let mut request = request.context("building a registry request")?;
            let mut used = None;
            // Credentials go only to the registry itself: a Location header
            // naming another host (blob storage, or a hostile server) gets none.
            if self.is_same_origin(request.url()) {
                used = self.authorization(scope).await?;
                if let Some(header) = &used {
                    let value = reqwest::header::HeaderValue::from_str(header)
                        .context("an Authorization value that is not a valid header")?;
                    request.headers_mut().insert(AUTHORIZATION, value);
                }
            }
            let outcome = client.execute(request).await;
            let last_try = attempt >= self.options.retry.max_attempts;
            let response = match outcome {
                Ok(response) => response,
                Err(error)
                    if !last_try
                        && (error.is_connect()
                            || error.is_timeout()
                            || error.is_request()
                            || error.is_body())
                        && !is_tls_error(&error) =>
                {
                    tokio::time::sleep(self.options.retry.delay(attempt, None, rand::random()))
                        .await;
                    continue;
                }
                Err(error) => return Err(self.connection_error(what, &error)),
            };
            let status = response.status();
            if status == StatusCode::FORBIDDEN && self.renewal.is_some() && !renewed {
                let (response, answer) = peek_error(response).await;
                if !is_expired_token_answer(&answer) {
                    return Ok(response);
                }
                renewed = true;
                self.renew_credentials(generation).await?;
                attempt -= 1;
                continue;
            }
            if status == StatusCode::UNAUTHORIZED && !challenged {
                challenged = true;
                let header = response
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Challenge::parse);
                let Some(challenge) = header else {
                    return Ok(response);
                };
                if scope.is_empty() {
                    // A ping: learning the challenge is all it was for.
                    self.auth.lock().await.challenge = Some(challenge);
                    return Ok(response);
                }
                self.refresh_auth(challenge, scope, used.as_deref()).await?;
                attempt -= 1;
                continue;
            }
            if is_temporary_status(status.as_u16()) && !last_try {
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after);
                tokio::time::sleep(
                    self.options
                        .retry
                        .delay(attempt, retry_after, rand::random()),
                )
                .await;
                continue;
            }
            return Ok(response);
        }
    }

    /// Sends `request` once, with the registry's credentials: for a body
    /// that can be read only once (a stream). No retry and no second try
    /// after an auth challenge: the caller falls back to a path that can
    /// retry. Sent by a client without a read timeout (a body made while a
    /// layer is written can take longer than that): the caller watches for
    /// progress. Returns the response, whatever its status.
    pub(crate) async fn send_once(
        &self,
        scope: &str,
        what: &str,
        request: RequestBuilder,
    ) -> Result<Response> {
        let (_, request) = request.build_split();
        let mut request = request.context("building a registry request")?;
        let client = self
            .stream_http
            .get_or_try_init(|| async {
                let plain = self.base_url.starts_with("http://");
                http_client(&self.host, plain, &self.options, None)
            })
            .await?;
        if self.is_same_origin(request.url()) {
            if let Some(header) = self.authorization(scope).await? {
                let value = reqwest::header::HeaderValue::from_str(&header)
                    .context("an Authorization value that is not a valid header")?;
                request.headers_mut().insert(AUTHORIZATION, value);
            }
        }
        client
            .execute(request)
            .await
            .map_err(|error| self.connection_error(what, &error))
    }

    /// After the registry said the credentials of `generation` expired:
    /// fetches new ones, unless a request refused at the same time already
    /// did, and says so once.
    async fn renew_credentials(&self, generation: u64) -> Result<()> {
        let Some(renewal) = &self.renewal else {
            return Ok(());
        };
        let _one_at_a_time = self.renewing.lock().await;
        if self.generation.load(Ordering::SeqCst) != generation {
            return Ok(());
        }
        let fresh = (renewal.fetch)().await?;
        *self.credentials.lock().unwrap_or_else(|e| e.into_inner()) = Some(fresh);
        self.auth.lock().await.tokens.clear();
        self.generation.fetch_add(1, Ordering::SeqCst);
        eprintln!(
            "note: registry {}: the authorization token expired; fetched a new one ({}) and went on",
            self.host, renewal.source
        );
        Ok(())
    }

    /// Pings `/v2/` to learn how the registry authenticates, so later
    /// requests carry credentials (or a token) from the start instead of
    /// each collecting a 401 first. Also tells early when it is unreachable.
    pub(crate) async fn ping(&self) -> Result<()> {
        let response = self
            .send("", "checking the registry (/v2/)", || {
                self.request(Method::GET, "/v2/")
            })
            .await?;
        match response.status().as_u16() {
            200 | 401 => Ok(()),
            404 => Err(usage_hint(
                format!("{}: /v2/ answered 404: not an OCI registry", self.host),
                "check the host and port",
            )),
            _ => Err(response_error(response, &self.host, "checking the registry (/v2/)").await),
        }
    }

    /// The `Authorization` value for `scope`, if the registry asked for one;
    /// a Bearer token missing or expired for the scope is fetched first.
    async fn authorization(&self, scope: &str) -> Result<Option<String>> {
        let challenge = self.auth.lock().await.challenge.clone();
        match challenge {
            None => Ok(None),
            Some(Challenge::Basic) => Ok(self
                .credentials()
                .filter(|c| !c.identity_token)
                .map(|c| c.basic_header())),
            Some(challenge @ Challenge::Bearer { .. }) => {
                if scope.is_empty() {
                    return Ok(None);
                }
                let current = self.current_token(scope).await;
                if current.is_none() {
                    self.refresh_auth(challenge, scope, None).await?;
                }
                Ok(self.current_token(scope).await)
            }
        }
    }

    async fn current_token(&self, scope: &str) -> Option<String> {
        let state = self.auth.lock().await;
        let (token, expires) = state.tokens.get(scope)?;
        match expires {
            Some(when) if Instant::now() >= *when => None,
            _ => Some(format!("Bearer {token}")),
        }
    }

    /// After a 401: records the challenge and, for Bearer, gets a token for
    /// `scope` from the realm. The lock is held while fetching, so requests
    /// challenged together share one fetch: whoever comes second finds a
    /// token other than the one it was refused with and uses that.
    async fn refresh_auth(
        &self,
        challenge: Challenge,
        scope: &str,
        refused: Option<&str>,
    ) -> Result<()> {
        let mut state = self.auth.lock().await;
        state.challenge = Some(challenge.clone());
        let credentials = self.credentials();
        let Challenge::Bearer { realm, service, .. } = challenge else {
            if credentials.as_ref().is_some_and(|c| c.identity_token) {
                return Err(usage_hint(
                    format!(
                        "registry {}: asks for Basic authentication, and the docker config holds an identity token for it",
                        self.host
                    ),
                    "identity tokens work with token (Bearer) authentication only; log in with a password instead",
                ));
            }
            if credentials.is_none() {
                return Err(usage_hint(
                    format!(
                        "registry {}: authentication required and no credentials found",
                        self.host
                    ),
                    "add them to ~/.docker/config.json (docker login writes it) or $DOCKER_CONFIG",
                ));
            }
            return Ok(());
        };
        if let Some((token, expires)) = state.tokens.get(scope) {
            let fresh = expires.is_none_or(|when| Instant::now() < when);
            if fresh && refused != Some(format!("Bearer {token}").as_str()) {
                return Ok(());
            }
        }
        // Never send a password or token in clear text to a token service,
        // unless the registry itself is reached over plain HTTP (loopback or
        // named with --insecure-registry).
        if !realm.starts_with("https://")
            && !self.base_url.starts_with("http://")
            && credentials.is_some()
        {
            return Err(anyhow!(
                "registry {}: the token service {realm} is plain HTTP; refusing to send credentials there",
                self.host
            ));
        }
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(service) = &service {
            query.push(("service", service));
        }
        for part in scope.split(' ').filter(|s| !s.is_empty()) {
            query.push(("scope", part));
        }
        let mut request = self.http.get(&realm).query(&query);
        if let Some(credentials) = credentials.as_ref().filter(|c| c.identity_token) {
            // OAuth2 (the distribution token spec's POST form): the identity
            // token is a refresh token, traded for an access token.
            let mut form = reqwest::Url::parse("http://form.invalid/").expect("a valid URL");
            {
                let mut pairs = form.query_pairs_mut();
                pairs
                    .append_pair("grant_type", "refresh_token")
                    .append_pair("refresh_token", &credentials.secret)
                    .append_pair("client_id", "hoist")
                    .append_pair("scope", scope);
                if let Some(service) = &service {
                    pairs.append_pair("service", service);
                }
            }
            request = self
                .http
                .post(&realm)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(form.query().unwrap_or_default().to_string());
        } else if let Some(credentials) = &credentials {
            request = request.header(AUTHORIZATION, credentials.basic_header());
        }
        let response = request.send().await.map_err(|e| {
            anyhow!(
                "registry {}: token service {realm}: {}",
                self.host,
                short_error(&e)
            )
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(anyhow!(
                "registry {}: the token service refused ({status}) (hint: check the credentials for {} in the docker config)",
                self.host,
                self.host
            ));
        }
        let what = "reading the token service's answer";
        let bytes = read_limited(response, MAX_SMALL_BODY_BYTES, &self.host, what).await?;
        let body: serde_json::Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("registry {}: {what}", self.host))?;
        let token = body["token"]
            .as_str()
            .or(body["access_token"].as_str())
            .ok_or_else(|| anyhow!("registry {}: the token service sent no token", self.host))?
            .to_string();
        // Refresh a little before the stated end; 60 s when none is stated (the spec's default).
        let lifetime = body["expires_in"].as_u64().unwrap_or(60).min(86_400);
        let expires = Instant::now() + Duration::from_secs(lifetime.saturating_sub(5).max(1));
        state
            .tokens
            .insert(scope.to_string(), (token, Some(expires)));
        Ok(())
    }

    fn connection_error(&self, what: &str, error: &reqwest::Error) -> anyhow::Error {
        let detail = short_error(error);
        if is_tls_error(error) {
            return usage_hint(
                format!("registry {}: {what}: TLS failed ({detail})", self.host),
                "trust its CA with --ca-file, or for a test registry use --insecure-registry",
            );
        }
        anyhow!(
            "registry {}: {what}: cannot reach it ({detail}) (hint: check the host and port, and that the registry is running)",
            self.host
        )
    }
}

/// The innermost cause of a reqwest error, on one line, with no URL query.
fn short_error(error: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = error;
    while let Some(inner) = source.source() {
        source = inner;
    }
    source.to_string().replace('\n', " ")
}

fn is_tls_error(error: &reqwest::Error) -> bool {
    let text = format!("{error:?}").to_ascii_lowercase();
    text.contains("certificate") || text.contains("tls") || text.contains("handshake")
}

/// The largest manifest hoist reads: the distribution spec has registries
/// accept manifests of at least 4 MiB, and hoist asks no more of them.
pub(crate) const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// The largest token-service answer or error body hoist reads.
pub(crate) const MAX_SMALL_BODY_BYTES: usize = 1 << 20;

/// A response body that grew past its bound.
#[derive(Debug, thiserror::Error)]
#[error(
    "registry {host}: {what}: the answer is larger than {limit} bytes (hint: is this a registry?)"
)]
pub(crate) struct BodyTooLarge {
    host: String,
    what: String,
    limit: usize,
}

/// Reads a whole response body of at most `limit` bytes; a longer one (by
/// its `Content-Length` or as it streams) is an error, never buffered whole.
pub(crate) async fn read_limited(
    response: Response,
    limit: usize,
    host: &str,
    what: &str,
) -> Result<Vec<u8>> {
    use futures_util::StreamExt;
    let too_large = || BodyTooLarge {
        host: host.to_string(),
        what: what.to_string(),
        limit,
    };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large().into());
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            anyhow!(
                "registry {host}: {what}: reading the answer: {}",
                short_error(&e)
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large().into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A registry's error answer: its status and the first error's code and message.
#[derive(Clone, Debug, Default)]
pub(crate) struct ErrorAnswer {
    /// HTTP status.
    pub status: u16,
    /// `errors[0].code`, e.g. `TAG_INVALID`.
    pub code: String,
    /// `errors[0].message`.
    pub message: String,
}

impl ErrorAnswer {
    /// Reads the (bounded) error body of `response`.
    pub(crate) async fn read(response: Response) -> Self {
        let status = response.status().as_u16();
        let body = read_limited(response, MAX_SMALL_BODY_BYTES, "", "")
            .await
            .unwrap_or_default();
        Self::parse(status, &body)
    }

    /// The answer of status `status` with error body `body`.
    fn parse(status: u16, body: &[u8]) -> Self {
        let body: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let first = &body["errors"][0];
        Self {
            status,
            code: first["code"].as_str().unwrap_or("").to_string(),
            message: first["message"].as_str().unwrap_or("").to_string(),
        }
    }
}

/// True for a registry's answer that the credentials have expired: Amazon
/// ECR's `403 DENIED` "Your authorization token has expired. Reauthenticate
/// and try again." (a token from GetAuthorizationToken, or from `docker
/// login`, lasts 12 hours: ECR API reference, GetAuthorizationToken).
pub(crate) fn is_expired_token_answer(answer: &ErrorAnswer) -> bool {
    answer.status == 403
        && answer
            .message
            .to_ascii_lowercase()
            .contains("token has expired")
}

/// Reads the error answer of `response` and gives back a response with the
/// same status, headers and body, for the caller to read as it would have.
async fn peek_error(response: Response) -> (Response, ErrorAnswer) {
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_limited(response, MAX_SMALL_BODY_BYTES, "", "")
        .await
        .unwrap_or_default();
    let answer = ErrorAnswer::parse(status.as_u16(), &body);
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.headers_mut() = headers;
    (Response::from(rebuilt), answer)
}

/// Turns a failed response into a one-line error naming the registry, what
/// was being done and the registry's own error code and message.
pub(crate) async fn response_error(response: Response, host: &str, what: &str) -> anyhow::Error {
    answer_error(&ErrorAnswer::read(response).await, host, what)
}

/// The one-line error for an [`ErrorAnswer`], with a hint where one helps.
pub(crate) fn answer_error(answer: &ErrorAnswer, host: &str, what: &str) -> anyhow::Error {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (code, message) = (answer.code.as_str(), answer.message.as_str());
    let detail = match (code, message) {
        ("", "") => status.to_string(),
        (code, message) => format!("{status} {code}: {message}"),
    };
    let hint = match (status.as_u16(), code) {
        (401 | 403, _) if crate::registry::hosts::is_ecr_public_host(host) => Some(
            "ECR Public pulls need no login; to push, run `aws ecr-public get-login-password --region us-east-1 | docker login --username AWS --password-stdin public.ecr.aws`"
                .to_string(),
        ),
        (401, _) | (_, "UNAUTHORIZED") => Some(
            "check the credentials in ~/.docker/config.json (or the AWS credentials for ECR)"
                .to_string(),
        ),
        (403, _) | (_, "DENIED") => {
            Some("the credentials lack permission for this repository".to_string())
        }
        // Docker Hub's pull rate limit (docs.docker.com, "Docker Hub usage
        // and limits"): retrying does not help for hours.
        (429, _) if message.contains("pull rate limit") => Some(
            "Docker Hub limits pulls; copy the base into your own registry once (hoist copy docker.io/library/IMAGE:TAG ACCOUNT.dkr.ecr.REGION.amazonaws.com/IMAGE:TAG) and build from there, or pull through an ECR pull-through cache rule for Docker Hub"
                .to_string(),
        ),
        (429, _) => Some(
            "the registry is throttling (ECR allows 10 manifest PUTs a second); hoist retried with backoff; try again in a moment"
                .to_string(),
        ),
        (404, "NAME_UNKNOWN") => Some(if crate::registry::hosts::is_ecr_host(host) {
            "create the repository (aws ecr create-repository --repository-name NAME) or pass --create-repository".to_string()
        } else {
            "check the repository name".to_string()
        }),
        _ => None,
    };
    let text = format!("registry {host}: {what}: {detail}");
    match hint {
        Some(hint) => anyhow!("{text} (hint: {hint})"),
        None => anyhow!(text),
    }
}

/// The HTTP client for `host`; `read_timeout`: the time allowed between bytes
/// of a response (`None` for streamed uploads, whose body may take longer
/// than that to produce; they watch their own progress).
fn http_client(
    host: &str,
    plain: bool,
    options: &ClientOptions,
    read_timeout: Option<Duration>,
) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .user_agent(concat!("hoist/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::limited(5));
    if plain {
        // No TLS here: skip loading the system's CA certificates (~15 ms).
        builder = builder.tls_certs_only(std::iter::empty());
    }
    if let Some(path) = &options.ca_file {
        let pem = std::fs::read(path).map_err(|_| {
            usage_hint(
                format!("--ca-file {}: cannot read it", path.display()),
                "give a PEM file of CA certificates",
            )
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| {
            usage_hint(
                format!("--ca-file {}: not PEM certificates", path.display()),
                "give a PEM file of CA certificates",
            )
        })?;
        builder = builder.tls_certs_merge(certs);
    }
    let bare_host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    for (name, addr) in &options.resolve {
        if name == host || name == bare_host {
            builder = builder.resolve(bare_host, *addr);
        }
    }
    if let Some(timeout) = read_timeout {
        builder = builder.read_timeout(timeout);
    }
    builder.build().context("setting up the HTTP client")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_go_only_to_the_registry_itself() {
        let registry = Registry::new("127.0.0.1:5000", &ClientOptions::default(), None).unwrap();
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        assert!(
            registry.is_same_origin(&url("http://127.0.0.1:5000/v2/a/blobs/uploads/x?_state=1"))
        );
        assert!(!registry.is_same_origin(&url("http://127.0.0.1:5001/v2/a/blobs/uploads/x")));
        assert!(!registry.is_same_origin(&url("https://127.0.0.1:5000/v2/")));
        assert!(!registry.is_same_origin(&url("http://storage.example/blob")));
        let tls = Registry::new("registry.example", &ClientOptions::default(), None).unwrap();
        assert!(tls.is_same_origin(&url("https://registry.example:443/v2/")));
    }

    #[test]
    fn only_loopback_is_plain_by_default() {
        assert!(is_loopback_host("127.0.0.1:5000"));
        assert!(is_loopback_host("localhost"));
        assert!(!is_loopback_host("registry.example:5000"));
        assert!(!is_loopback_host("127.0.0.1.nip.io"));
    }
}
