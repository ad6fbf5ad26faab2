//! An AWS endpoint on 127.0.0.1 that denies every call as AWS does when the
//! caller's IAM policy lacks the action: for JSON-protocol services
//! (CloudWatch Logs, ECS: HTTP 400 `{"__type": "AccessDeniedException"}`)
//! or query-protocol ones (IAM, ELB: HTTP 403 XML `AccessDenied`). Point a
//! service at it with `AWS_ENDPOINT_URL_<SERVICE>`. It serves a bounded
//! number of connections, then stops; [`Denying::asked`] says which actions
//! were asked for.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a denied call is answered.
#[derive(Clone, Copy, Debug)]
pub enum Protocol {
    /// awsJson1_1 (CloudWatch Logs, ECS, Secrets Manager, SSM).
    Json,
    /// awsQuery (IAM, ELBv2): the XML `ErrorResponse`.
    Query,
}

/// A running denying endpoint.
pub struct Denying {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    asked: Arc<Mutex<Vec<String>>>,
}

impl Denying {
    /// Starts a denying endpoint for the service whose IAM prefix is
    /// `prefix` (`logs`, `iam`, `ssm`, …). At most `connections` are served.
    pub fn start(prefix: &'static str, protocol: Protocol, connections: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let asked = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&asked);
        std::thread::spawn(move || {
            for mut stream in listener.incoming().take(connections).flatten() {
                if let Ok(Some(action)) = deny(&mut stream, prefix, protocol) {
                    record.lock().unwrap().push(action);
                }
            }
        });
        Self { url, asked }
    }

    /// The actions asked for so far (`GetRole`, `DescribeParameters`, …),
    /// in the order they came.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

/// Starts a denying endpoint for the service whose IAM prefix is `prefix`
/// (`logs`, `iam`, …); its URL. At most `connections` are served.
pub fn denying_endpoint(prefix: &'static str, protocol: Protocol, connections: usize) -> String {
    Denying::start(prefix, protocol, connections).url
}

/// Reads one request and denies it; the action it named (`None` when the
/// connection closed before a request): the JSON protocol's `X-Amz-Target`
/// (`Logs_20140328.GetLogEvents`), the query protocol's `Action=`.
fn deny(
    stream: &mut TcpStream,
    prefix: &str,
    protocol: Protocol,
) -> std::io::Result<Option<String>> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0;
    let mut target = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        if line == "\r\n" {
            break;
        }
        if let Some((key, value)) = line.split_once(':') {
            if key.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
            if key.eq_ignore_ascii_case("x-amz-target") {
                target = value.trim().to_string();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body);
    let action = match protocol {
        Protocol::Json => target.rsplit('.').next().unwrap_or("?").to_string(),
        Protocol::Query => body
            .split('&')
            .find_map(|p| p.strip_prefix("Action="))
            .unwrap_or("?")
            .to_string(),
    };
    let message = format!(
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: {prefix}:{action}"
    );
    let (status, content_type, answer) = match protocol {
        Protocol::Json => (
            "400 Bad Request",
            "application/x-amz-json-1.1",
            format!("{{\"__type\":\"AccessDeniedException\",\"message\":\"{message}\"}}"),
        ),
        Protocol::Query => (
            "403 Forbidden",
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{message}</Message></Error><RequestId>denied-1</RequestId></ErrorResponse>"
            ),
        ),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nx-amzn-RequestId: denied-1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    )?;
    Ok(Some(action))
}
