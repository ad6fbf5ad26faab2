//! A fault-injecting HTTP/1.1 proxy for the registry tests.
//!
//! [`FaultProxy`] listens on a free loopback port and sits in front of a
//! registry (usually a [`TestRegistry`](super::registry::TestRegistry)).
//! Clients talk to it as if it were the registry: it forwards every request
//! upstream unchanged and relays the response, except for the requests that
//! a [`Fault`] picks out, which it answers itself, cuts off, or alters.
//!
//! The `Host` header passes through, so the `Location` headers the registry
//! builds point back at the proxy and the whole push goes through it.
//!
//! It speaks just enough HTTP/1.1 for registry clients: request and response
//! heads, bodies framed by `Content-Length`, `Transfer-Encoding: chunked` or
//! (responses only) the end of the connection, and no body for `HEAD`, 1xx,
//! 204 and 304. Client connections are kept alive for as many requests as
//! the client sends; every request gets a fresh upstream connection with
//! `Connection: close`. `Expect: 100-continue` is answered by the proxy
//! itself and not forwarded. Everything stays on 127.0.0.1, and all threads
//! stop when the proxy is dropped.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// What a [`Fault`] does to the request it matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Answer with this status (and `Retry-After: secs` if `Some`) and a
    /// registry-style JSON error body, without forwarding. The request body
    /// is read and discarded first, so the client connection stays usable.
    Respond {
        /// HTTP status code.
        status: u16,
        /// Seconds for a `Retry-After` header.
        retry_after: Option<u64>,
    },
    /// Answer with this status and this JSON body, without forwarding (the
    /// request body is read and discarded first): a registry's own error,
    /// word for word.
    RespondJson {
        /// HTTP status code.
        status: u16,
        /// The JSON body.
        body: String,
    },
    /// Read this many bytes of the request body from the client (all of it
    /// if it is shorter), then close the client connection without
    /// answering: a connection dropped mid-upload. Nothing of this request
    /// reaches the upstream registry.
    DropAfterRequestBytes(u64),
    /// Forward and relay the response, but with every occurrence of the
    /// response header `name` (case-insensitive) given `value` instead; the
    /// header is added if the response has none.
    RewriteResponseHeader {
        /// Header name.
        name: String,
        /// The value the client sees.
        value: String,
    },
    /// Forward and relay the response with the first byte of its body
    /// inverted (a registry that lies about blob content). A response
    /// without a body is relayed unchanged.
    CorruptResponseBody,
    /// Forward, but read the request body from the client at no more than
    /// this many bytes a second: a slow link, or a registry slow to ingest.
    SlowRequestBody(u64),
}

/// Picks out one request and says what to do to it.
///
/// A request matches when its method equals `method` (ASCII case-insensitive)
/// and its request target (path and query) contains `path_contains`; `None`
/// matches anything. The fault fires once, on the `nth` matching request in
/// arrival order (1-based), so with both filters `None` it fires on the
/// `nth` request the proxy sees at all (`nth: 0` never fires). If several
/// faults fire on the same request, the first one in the list wins and the
/// others never fire.
#[derive(Clone, Debug)]
pub struct Fault {
    /// Required method, e.g. `"PATCH"`.
    pub method: Option<String>,
    /// Required substring of the request target, e.g. `"/manifests/"`.
    pub path_contains: Option<String>,
    /// Which matching request (1-based) the fault fires on.
    pub nth: usize,
    /// What it does.
    pub action: Action,
}

impl Fault {
    /// Fires on the `nth` request of any kind (1-based, in arrival order).
    pub fn nth(nth: usize, action: Action) -> Self {
        Self {
            method: None,
            path_contains: None,
            nth,
            action,
        }
    }

    /// Fires on the `nth` request with `method` whose target contains
    /// `path_contains`.
    pub fn on(method: &str, path_contains: &str, nth: usize, action: Action) -> Self {
        Self {
            method: Some(method.to_string()),
            path_contains: Some(path_contains.to_string()),
            nth,
            action,
        }
    }

    fn matches(&self, method: &str, target: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| target.contains(p))
    }
}

/// A running proxy; its threads stop when it is dropped.
pub struct FaultProxy {
    /// `127.0.0.1:PORT`, where clients connect.
    pub host: String,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (`"127.0.0.1:PORT"`) that
    /// injects `faults`.
    pub fn start(upstream: &str, faults: Vec<Fault>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        listener
            .set_nonblocking(true)
            .expect("make the fault proxy's listener non-blocking");
        let host = listener.local_addr().unwrap().to_string();
        let shared = Arc::new(Shared {
            upstream: upstream.to_string(),
            stop: AtomicBool::new(false),
            state: Mutex::new(State {
                faults: faults
                    .into_iter()
                    .map(|fault| Armed {
                        fault,
                        seen: 0,
                        fired: false,
                    })
                    .collect(),
                log: Vec::new(),
                injected: 0,
            }),
            sockets: Mutex::new(HashMap::new()),
            next_socket: AtomicU64::new(0),
        });
        let acceptor = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("fault-proxy-accept".into())
                .spawn(move || accept_loop(&shared, &listener))
                .expect("spawn the fault proxy")
        };
        Self {
            host,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// One line per request seen, in arrival order: `"METHOD TARGET -> 201"`
    /// when relayed, `"… -> injected 500"`, `"… -> dropped"`,
    /// `"… -> 201 (rewrote NAME)"`, `"… -> 200 (corrupted body)"`,
    /// `"… -> upstream error: …"`, `"… -> client gone"`, or `"… -> ..."`
    /// while no answer has been decided yet. A request's line is final
    /// before the client sees any of the answer.
    pub fn log(&self) -> Vec<String> {
        self.shared
            .state()
            .log
            .iter()
            .map(|(request, outcome)| {
                format!("{request} -> {}", outcome.as_deref().unwrap_or("..."))
            })
            .collect()
    }

    /// How many faults have fired.
    pub fn injected(&self) -> usize {
        self.shared.state().injected
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for socket in self.shared.sockets().values() {
            let _ = socket.shutdown(Shutdown::Both);
        }
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// How long a connection may sit idle (or a read may block) before the
/// proxy gives up on it.
const IDLE: Duration = Duration::from_secs(300);
/// Upper bound on requests served on one client connection.
const MAX_REQUESTS_PER_CONNECTION: usize = 100_000;
/// Upper bound on a request or response head, and on a chunk-size line.
const MAX_HEAD: usize = 64 * 1024;
/// Upper bound on interim (1xx) responses skipped before the real one.
const MAX_INTERIM: usize = 16;

struct Shared {
    upstream: String,
    stop: AtomicBool,
    state: Mutex<State>,
    /// Clones of every open socket, shut down on drop to unblock threads.
    sockets: Mutex<HashMap<u64, TcpStream>>,
    next_socket: AtomicU64,
}

struct State {
    faults: Vec<Armed>,
    /// `(METHOD TARGET, outcome)` per request.
    log: Vec<(String, Option<String>)>,
    injected: usize,
}

struct Armed {
    fault: Fault,
    seen: usize,
    fired: bool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sockets(&self) -> MutexGuard<'_, HashMap<u64, TcpStream>> {
        self.sockets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a request; returns its log index and the fault action that
    /// fires on it, if any.
    fn arrive(&self, method: &str, target: &str) -> (usize, Option<Action>) {
        let mut state = self.state();
        state.log.push((format!("{method} {target}"), None));
        let index = state.log.len() - 1;
        let mut action = None;
        for armed in &mut state.faults {
            if !armed.fault.matches(method, target) {
                continue;
            }
            armed.seen += 1;
            if !armed.fired && armed.seen == armed.fault.nth && action.is_none() {
                armed.fired = true;
                action = Some(armed.fault.action.clone());
            }
        }
        if action.is_some() {
            state.injected += 1;
        }
        (index, action)
    }

    /// Sets the outcome of the request logged at `index`.
    fn finish(&self, index: usize, outcome: String) {
        if let Some(entry) = self.state().log.get_mut(index) {
            entry.1 = Some(outcome);
        }
    }

    /// Keeps a clone of `socket` so that dropping the proxy can shut it
    /// down; forgotten when the returned guard drops.
    fn track(&self, socket: &TcpStream) -> Tracked<'_> {
        let id = self.next_socket.fetch_add(1, Ordering::SeqCst);
        if let Ok(clone) = socket.try_clone() {
            self.sockets().insert(id, clone);
        }
        if self.stop.load(Ordering::SeqCst) {
            let _ = socket.shutdown(Shutdown::Both);
        }
        Tracked { shared: self, id }
    }
}

struct Tracked<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        self.shared.sockets().remove(&self.id);
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                connections.retain(|c| !c.is_finished());
                let shared = shared.clone();
                let spawned = std::thread::Builder::new()
                    .name("fault-proxy-conn".into())
                    .spawn(move || serve(&shared, client));
                if let Ok(handle) = spawned {
                    connections.push(handle);
                }
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    for connection in connections {
        let _ = connection.join();
    }
}

/// What to do with a client connection after a request.
enum Next {
    KeepAlive,
    Close,
}

/// Serves requests on one client connection until either side closes it.
fn serve(shared: &Shared, client: TcpStream) {
    let _ = client.set_nonblocking(false);
    let _ = client.set_nodelay(true);
    let _ = client.set_read_timeout(Some(IDLE));
    let _ = client.set_write_timeout(Some(IDLE));
    let _tracked = shared.track(&client);
    let mut client = BufReader::with_capacity(64 * 1024, client);
    for _ in 0..MAX_REQUESTS_PER_CONNECTION {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        match handle_request(shared, &mut client) {
            Ok(Next::KeepAlive) => {}
            Ok(Next::Close) | Err(_) => break,
        }
    }
    let _ = client.get_ref().shutdown(Shutdown::Both);
}

/// A parsed message head: the start line and the header fields.
struct Head {
    start: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn parse(lines: Vec<String>) -> io::Result<Self> {
        let mut lines = lines.into_iter();
        let start = lines.next().ok_or_else(|| invalid("empty head"))?;
        let headers = lines
            .map(|line| {
                let (name, value) = line
                    .split_once(':')
                    .ok_or_else(|| invalid(&format!("bad header line {line:?}")))?;
                Ok((name.trim().to_string(), value.trim().to_string()))
            })
            .collect::<io::Result<_>>()?;
        Ok(Self { start, headers })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the comma-separated header `name` lists `token`.
    fn lists(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// How the message's body is framed, `otherwise` if by neither
    /// `Transfer-Encoding` nor `Content-Length`.
    fn body(&self, otherwise: Body) -> io::Result<Body> {
        if let Some(te) = self.get("transfer-encoding") {
            return if te
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
            {
                Ok(Body::Chunked)
            } else {
                Ok(Body::UntilEof)
            };
        }
        match self.get("content-length") {
            Some(length) => length
                .parse()
                .map(Body::Length)
                .map_err(|_| invalid(&format!("bad Content-Length {length:?}"))),
            None => Ok(otherwise),
        }
    }

    /// The head as sent on the wire: start line, headers except those
    /// named in `drop`, then `extra`.
    fn encode(&self, drop: &[&str], extra: &[(&str, &str)]) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.start);
        for (name, value) in &self.headers {
            if !drop.iter().any(|d| name.eq_ignore_ascii_case(d)) {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        for (name, value) in extra {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

/// How a body is framed.
#[derive(Clone, Copy, Debug)]
enum Body {
    None,
    Length(u64),
    Chunked,
    UntilEof,
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Reads one line (with its line ending) of at most `limit` bytes; empty at
/// end of stream.
fn read_line(r: &mut impl BufRead, limit: usize) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    r.by_ref()
        .take(limit as u64 + 1)
        .read_until(b'\n', &mut line)?;
    if line.len() > limit {
        return Err(invalid("line too long"));
    }
    if !line.is_empty() && !line.ends_with(b"\n") {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(line)
}

/// Reads a message head; `None` if the stream ends before it starts.
fn read_head(r: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut lines = Vec::new();
    let mut total = 0;
    while total <= MAX_HEAD {
        let line = read_line(r, MAX_HEAD)?;
        if line.is_empty() {
            return if total == 0 {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        total += line.len();
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        match (text.is_empty(), lines.is_empty()) {
            (true, true) => {} // blank lines before a start line are allowed
            (true, false) => return Head::parse(lines).map(Some),
            (false, _) => lines.push(text),
        }
    }
    Err(invalid("head too long"))
}

/// Body copying options.
#[derive(Default)]
struct Relay<'a> {
    /// Invert the next data byte copied.
    flip_first: bool,
    /// Stop once this many data bytes have been copied.
    stop_after: Option<u64>,
    /// Data bytes copied so far.
    copied: u64,
    /// Pace of the copy: at most this many data bytes a second.
    bytes_per_second: Option<u64>,
    /// When the paced copy started.
    started: Option<std::time::Instant>,
    /// The proxy's stop flag: a paced copy ends when it is set.
    stop: Option<&'a AtomicBool>,
}

impl Relay<'_> {
    /// Copies `left` data bytes (or until end of stream if `None`); false if
    /// it stopped early at `stop_after`.
    fn data(
        &mut self,
        r: &mut impl BufRead,
        w: &mut impl Write,
        left: Option<u64>,
    ) -> io::Result<bool> {
        let mut left = left;
        while left != Some(0) {
            if self.stop_after.is_some_and(|limit| self.copied >= limit) {
                return Ok(false);
            }
            let available = r.fill_buf()?;
            if available.is_empty() {
                return match left {
                    None => Ok(true),
                    Some(_) => Err(io::ErrorKind::UnexpectedEof.into()),
                };
            }
            let mut n = available.len() as u64;
            if let Some(left) = left {
                n = n.min(left);
            }
            if let Some(rate) = self.bytes_per_second {
                // At most a tenth of a second's worth at a time, each sent no
                // earlier than the pace allows.
                n = n.min((rate / 10).max(1));
                let started = *self.started.get_or_insert_with(std::time::Instant::now);
                let due = std::time::Duration::from_secs_f64(self.copied as f64 / rate as f64);
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    std::thread::sleep(wait);
                }
                if self.stop.is_some_and(|stop| stop.load(Ordering::SeqCst)) {
                    return Err(io::ErrorKind::ConnectionAborted.into());
                }
            }
            if let Some(limit) = self.stop_after {
                n = n.min(limit - self.copied);
            }
            let bytes = &available[..n as usize];
            if self.flip_first && !bytes.is_empty() {
                self.flip_first = false;
                w.write_all(&[!bytes[0]])?;
                w.write_all(&bytes[1..])?;
            } else {
                w.write_all(bytes)?;
            }
            r.consume(n as usize);
            self.copied += n;
            left = left.map(|l| l - n);
        }
        Ok(true)
    }

    /// Copies a whole body framed as `body`, framing included; false if it
    /// stopped early at `stop_after`.
    fn body(&mut self, r: &mut impl BufRead, w: &mut impl Write, body: Body) -> io::Result<bool> {
        match body {
            Body::None => Ok(true),
            Body::Length(n) => self.data(r, w, Some(n)),
            Body::UntilEof => self.data(r, w, None),
            Body::Chunked => loop {
                let line = read_line(r, MAX_HEAD)?;
                if line.is_empty() {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                w.write_all(&line)?;
                let text = String::from_utf8_lossy(&line);
                let size = text.split(';').next().unwrap_or_default().trim();
                let size = u64::from_str_radix(size, 16)
                    .map_err(|_| invalid(&format!("bad chunk size {size:?}")))?;
                if size == 0 {
                    // Trailer fields, then the blank line that ends the body.
                    loop {
                        let line = read_line(r, MAX_HEAD)?;
                        if line.is_empty() {
                            return Err(io::ErrorKind::UnexpectedEof.into());
                        }
                        w.write_all(&line)?;
                        if line == b"\r\n" || line == b"\n" {
                            return Ok(true);
                        }
                    }
                }
                if !self.data(r, w, Some(size))? {
                    return Ok(false);
                }
                let end = read_line(r, 2)?;
                if end != b"\r\n" && end != b"\n" {
                    return Err(invalid("chunk not followed by CRLF"));
                }
                w.write_all(&end)?;
            },
        }
    }
}

/// A writer that, after its first error, quietly discards everything: lets
/// the proxy keep reading a request body the upstream stopped accepting
/// (it may still have answered).
struct Lenient<W> {
    inner: W,
    failed: bool,
}

impl<W: Write> Write for Lenient<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.failed && self.inner.write_all(buf).is_err() {
            self.failed = true;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.failed && self.inner.flush().is_err() {
            self.failed = true;
        }
        Ok(())
    }
}

/// Reads one request from `client` and deals with it.
fn handle_request(shared: &Shared, client: &mut BufReader<TcpStream>) -> io::Result<Next> {
    let Some(request) = read_head(client)? else {
        return Ok(Next::Close);
    };
    let mut parts = request.start.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        client.get_mut().write_all(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return Ok(Next::Close);
    };
    let (method, target) = (method.to_string(), target.to_string());
    let body = request.body(Body::None)?;
    let client_closes = request.lists("connection", "close")
        || (version == "HTTP/1.0" && !request.lists("connection", "keep-alive"));
    let after = if client_closes {
        Next::Close
    } else {
        Next::KeepAlive
    };
    let expects_continue = request
        .get("expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"));
    let (index, action) = shared.arrive(&method, &target);
    if expects_continue && !matches!(body, Body::None) {
        client
            .get_mut()
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    match action {
        Some(Action::Respond {
            status,
            retry_after,
        }) => {
            shared.finish(index, format!("injected {status}"));
            Relay::default().body(client, &mut io::sink(), body)?;
            let response = injected_response(status, retry_after, method == "HEAD", client_closes);
            client.get_mut().write_all(&response)?;
            Ok(after)
        }
        Some(Action::RespondJson { status, body: json }) => {
            shared.finish(index, format!("injected {status}"));
            Relay::default().body(client, &mut io::sink(), body)?;
            let mut response = format!(
                "HTTP/1.1 {status} Injected\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n",
                json.len()
            );
            if client_closes {
                response.push_str("Connection: close\r\n");
            }
            response.push_str("\r\n");
            response.push_str(&json);
            client.get_mut().write_all(response.as_bytes())?;
            Ok(after)
        }
        Some(Action::DropAfterRequestBytes(n)) => {
            let mut copy = Relay {
                stop_after: Some(n),
                ..Relay::default()
            };
            shared.finish(index, "dropped".to_string());
            let _ = copy.body(client, &mut io::sink(), body);
            let _ = client.get_ref().shutdown(Shutdown::Both);
            Ok(Next::Close)
        }
        action => forward(
            shared, client, index, &method, &request, body, after, action,
        ),
    }
}

/// Forwards a request upstream and relays the answer, applying `action`
/// (a response rewrite or corruption) if any.
#[allow(clippy::too_many_arguments)]
fn forward(
    shared: &Shared,
    client: &mut BufReader<TcpStream>,
    index: usize,
    method: &str,
    request: &Head,
    body: Body,
    after: Next,
    action: Option<Action>,
) -> io::Result<Next> {
    let upstream = match connect(&shared.upstream) {
        Ok(upstream) => upstream,
        Err(e) => {
            Relay::default().body(client, &mut io::sink(), body)?;
            shared.finish(index, format!("upstream error: {e}"));
            let closes = matches!(after, Next::Close);
            client
                .get_mut()
                .write_all(&injected_response(502, None, method == "HEAD", closes))?;
            return Ok(after);
        }
    };
    let _tracked = shared.track(&upstream);
    let mut to_upstream = Lenient {
        inner: BufWriter::with_capacity(64 * 1024, &upstream),
        failed: false,
    };
    to_upstream.write_all(&request.encode(
        &["connection", "keep-alive", "proxy-connection", "expect"],
        &[("Connection", "close")],
    ))?;
    let mut request_copy = Relay {
        bytes_per_second: match action {
            Some(Action::SlowRequestBody(rate)) => Some(rate.max(1)),
            _ => None,
        },
        stop: Some(&shared.stop),
        ..Relay::default()
    };
    if let Err(e) = request_copy.body(client, &mut to_upstream, body) {
        shared.finish(index, "client gone".to_string());
        return Err(e);
    }
    to_upstream.flush()?;
    drop(to_upstream);

    let mut from_upstream = BufReader::with_capacity(64 * 1024, &upstream);
    let (mut response, status) = match read_response_head(&mut from_upstream) {
        Ok(head) => head,
        Err(e) => {
            shared.finish(index, format!("upstream error: {e}"));
            let closes = matches!(after, Next::Close);
            client
                .get_mut()
                .write_all(&injected_response(502, None, method == "HEAD", closes))?;
            return Ok(after);
        }
    };
    let response_body = if method.eq_ignore_ascii_case("HEAD")
        || (100..200).contains(&status)
        || status == 204
        || status == 304
    {
        Body::None
    } else {
        response.body(Body::UntilEof)?
    };
    let mut copy = Relay::default();
    let outcome = match &action {
        Some(Action::RewriteResponseHeader { name, value }) => {
            let mut found = false;
            for (n, v) in &mut response.headers {
                if n.eq_ignore_ascii_case(name) {
                    *v = value.clone();
                    found = true;
                }
            }
            if !found {
                response.headers.push((name.clone(), value.clone()));
            }
            format!("{status} (rewrote {name})")
        }
        Some(Action::CorruptResponseBody) => {
            copy.flip_first = true;
            format!("{status} (corrupted body)")
        }
        _ => status.to_string(),
    };
    let after = match response_body {
        Body::UntilEof => Next::Close,
        _ => after,
    };
    let closing: &[(&str, &str)] = match after {
        Next::Close => &[("Connection", "close")],
        Next::KeepAlive => &[],
    };
    shared.finish(index, outcome);
    let mut to_client = BufWriter::with_capacity(64 * 1024, client.get_ref());
    to_client
        .write_all(&response.encode(&["connection", "keep-alive", "proxy-connection"], closing))?;
    copy.body(&mut from_upstream, &mut to_client, response_body)?;
    to_client.flush()?;
    Ok(after)
}

/// Opens a connection to the upstream registry.
fn connect(upstream: &str) -> io::Result<TcpStream> {
    let address = upstream
        .parse()
        .map_err(|_| invalid(&format!("bad upstream address {upstream:?}")))?;
    let stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IDLE))?;
    stream.set_write_timeout(Some(IDLE))?;
    Ok(stream)
}

/// Reads the upstream's final response head (skipping interim 1xx ones)
/// and its status code.
fn read_response_head(r: &mut impl BufRead) -> io::Result<(Head, u16)> {
    for _ in 0..MAX_INTERIM {
        let head = read_head(r)?.ok_or(io::ErrorKind::UnexpectedEof)?;
        let status = head
            .start
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| invalid(&format!("bad status line {:?}", head.start)))?;
        if !(100..200).contains(&status) || status == 101 {
            return Ok((head, status));
        }
    }
    Err(invalid("too many interim responses"))
}

/// A complete response the proxy makes up itself: `status`, an optional
/// `Retry-After`, and a registry-style JSON error body (none for `HEAD`,
/// 1xx, 204 and 304).
fn injected_response(status: u16, retry_after: Option<u64>, head: bool, close: bool) -> Vec<u8> {
    let (reason, code) = match status {
        400 => ("Bad Request", "UNKNOWN"),
        401 => ("Unauthorized", "UNAUTHORIZED"),
        403 => ("Forbidden", "DENIED"),
        404 => ("Not Found", "UNKNOWN"),
        408 => ("Request Timeout", "UNKNOWN"),
        416 => ("Range Not Satisfiable", "BLOB_UPLOAD_INVALID"),
        429 => ("Too Many Requests", "TOOMANYREQUESTS"),
        500 => ("Internal Server Error", "UNKNOWN"),
        502 => ("Bad Gateway", "UNKNOWN"),
        503 => ("Service Unavailable", "UNAVAILABLE"),
        504 => ("Gateway Timeout", "UNKNOWN"),
        _ => ("Injected", "UNKNOWN"),
    };
    let body = if head || (100..200).contains(&status) || status == 204 || status == 304 {
        String::new()
    } else {
        format!(
            r#"{{"errors":[{{"code":"{code}","message":"fault injected by the test proxy","detail":null}}]}}"#
        )
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(secs) = retry_after {
        out.push_str(&format!("Retry-After: {secs}\r\n"));
    }
    if close {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    out.push_str(&body);
    out.into_bytes()
}
