//! Failed AWS calls as one line: service, operation, what it was about, the
//! error code and AWS's message, the HTTP status, the request id, and a hint.
//!
//! Every SDK call of hoist (ECS, ECR, CodeDeploy, Secrets Manager, CloudWatch
//! Logs, ELBv2, IAM, SSM) maps its `SdkError` through [`AwsCall::or_aws`].
//! The SDK's own `Display` of a failed response is "service error" and its
//! `Debug` is a dump of the raw response (headers, `SdkBody`, …); neither is
//! shown. What is shown comes from the error metadata (code, message,
//! request id) and, for answers that are not an AWS error at all (a proxy's
//! HTML page, an emulator's 500), the HTTP status alone.
//!
//! It also decides what an error *means* for hoist: the API is not there
//! ([`AwsError::api_missing`]: an endpoint or partition without it, or a
//! policy without the action), access was denied, or ECS is throttling.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::request_id::RequestId;
use std::fmt;

/// The AWS services hoist calls: their names in messages and IAM prefixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    /// Amazon ECS.
    Ecs,
    /// Amazon ECR.
    Ecr,
    /// AWS CodeDeploy.
    CodeDeploy,
    /// AWS Secrets Manager.
    SecretsManager,
    /// Amazon CloudWatch Logs.
    Logs,
    /// Elastic Load Balancing v2.
    Elbv2,
    /// AWS IAM.
    Iam,
    /// AWS Systems Manager (Parameter Store).
    Ssm,
}

impl Service {
    /// How messages name it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Service::Ecs => "ECS",
            Service::Ecr => "ECR",
            Service::CodeDeploy => "CodeDeploy",
            Service::SecretsManager => "Secrets Manager",
            Service::Logs => "CloudWatch Logs",
            Service::Elbv2 => "ELB",
            Service::Iam => "IAM",
            Service::Ssm => "SSM",
        }
    }

    /// The prefix of its IAM actions (`ecs:UpdateService`).
    pub(crate) fn iam_prefix(self) -> &'static str {
        match self {
            Service::Ecs => "ecs",
            Service::Ecr => "ecr",
            Service::CodeDeploy => "codedeploy",
            Service::SecretsManager => "secretsmanager",
            Service::Logs => "logs",
            Service::Elbv2 => "elasticloadbalancing",
            Service::Iam => "iam",
            Service::Ssm => "ssm",
        }
    }
}

/// What went wrong, as far as hoist acts on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// AWS answered with an error code.
    Service,
    /// The answer was not an AWS error (no code): an HTTP status only.
    Response,
    /// No answer: DNS, connection, TLS.
    Dispatch,
    /// No answer in time.
    Timeout,
    /// The request could not be built (a bug, or bad input).
    Construction,
}

/// A failed AWS call.
#[derive(Clone, Debug)]
pub(crate) struct AwsError {
    service: Service,
    operation: String,
    subject: String,
    kind: Kind,
    code: Option<String>,
    message: Option<String>,
    status: Option<u16>,
    request_id: Option<String>,
    /// For dispatch failures and timeouts: the innermost cause's text.
    cause: Option<String>,
}

/// Error codes meaning "this operation does not exist here": an endpoint,
/// partition or emulator that lacks it (API_Operations / Common Errors:
/// InvalidAction, UnknownOperationException, NotImplemented).
const MISSING_OPERATION_CODES: &[&str] = &[
    "UnknownOperationException",
    "UnknownOperation",
    "InvalidAction",
    "NotImplemented",
    "NotImplementedException",
    "UnsupportedOperation",
    "UnsupportedOperationException",
    "UnsupportedFeatureException",
];

const DENIED_CODES: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnauthorizedOperation",
    "AuthorizationError",
];

const CREDENTIAL_CODES: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "IncompleteSignature",
    "MissingAuthenticationToken",
];

const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
];

/// Longest AWS message shown (messages are short; a proxy's page is not).
const MAX_MESSAGE: usize = 400;

impl AwsError {
    /// The error of a failed call of `operation` on `subject` (a cluster and
    /// service, a secret id, … or empty).
    pub(crate) fn of<E>(
        service: Service,
        operation: &str,
        subject: &str,
        error: &SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let kind = match error {
            SdkError::ServiceError(_) if error.code().is_some() => Kind::Service,
            SdkError::ServiceError(_) | SdkError::ResponseError(_) => Kind::Response,
            SdkError::DispatchFailure(_) => Kind::Dispatch,
            SdkError::TimeoutError(_) => Kind::Timeout,
            _ => Kind::Construction,
        };
        let cause = match kind {
            Kind::Dispatch | Kind::Timeout | Kind::Construction => Some(innermost(error)),
            _ => None,
        };
        Self {
            service,
            operation: operation.to_string(),
            subject: subject.to_string(),
            kind,
            code: error.code().map(str::to_string),
            message: error.message().map(tidy).filter(|m| !m.is_empty()),
            status: error.raw_response().map(|r| r.status().as_u16()),
            request_id: error.request_id().map(str::to_string),
            cause,
        }
    }

    /// The AWS error code, if AWS gave one.
    pub(crate) fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// `ecs:UpdateService`: the IAM action the call needs.
    pub(crate) fn iam_action(&self) -> String {
        format!("{}:{}", self.service.iam_prefix(), self.operation)
    }

    /// The credentials may not call this (IAM said no).
    pub(crate) fn access_denied(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| DENIED_CODES.contains(&c))
    }

    /// ECS (or another service) asks us to slow down.
    pub(crate) fn throttling(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| THROTTLING_CODES.contains(&c))
            || self.status == Some(429)
    }

    /// The operation is not there for us: an unknown or unsupported
    /// operation, a policy without the action, or an endpoint that fails
    /// it with a 5xx that is no AWS error at all, after the SDK's retries
    /// (an emulator that lacks it: moto answers ListServiceDeployments with
    /// an HTML HTTP 500). A 5xx with an AWS error code (ECS's
    /// ServerException) is AWS failing for now, not an API that is missing.
    /// The caller falls back to an older API.
    pub(crate) fn api_missing(&self) -> bool {
        self.access_denied()
            || self
                .code
                .as_deref()
                .is_some_and(|c| MISSING_OPERATION_CODES.contains(&c))
            || (self.kind == Kind::Response
                && self
                    .status
                    .is_some_and(|s| s == 404 || (500..600).contains(&s)))
    }

    /// Why, in a few words: `HTTP 500` or `AccessDeniedException`.
    pub(crate) fn short_reason(&self) -> String {
        match (&self.code, self.status) {
            (Some(code), _) => code.clone(),
            (None, Some(status)) => format!("HTTP {status}"),
            (None, None) => self.cause.clone().unwrap_or_else(|| "no answer".into()),
        }
    }

    fn hint(&self) -> Option<String> {
        let code = self.code.as_deref().unwrap_or_default();
        if CREDENTIAL_CODES.contains(&code) {
            return Some(
                "the AWS credentials were refused: check them, their session token and the region"
                    .into(),
            );
        }
        if self.access_denied() {
            return Some(format!(
                "the credentials lack {} (add it to the IAM policy of the role hoist runs as)",
                self.iam_action()
            ));
        }
        if self.throttling() {
            return Some("AWS is throttling these calls: retry in a minute".into());
        }
        if MISSING_OPERATION_CODES.contains(&code) {
            return Some(format!(
                "this endpoint does not offer {}: check the region and AWS_ENDPOINT_URL",
                self.operation
            ));
        }
        match self.kind {
            Kind::Dispatch | Kind::Timeout => Some(
                "no answer from AWS: check the network, the region and AWS_ENDPOINT_URL".into(),
            ),
            Kind::Service if self.status.is_some_and(|s| s >= 500) => {
                Some("AWS failed the call after the SDK's retries: retry in a minute".into())
            }
            Kind::Response if self.status.is_some_and(|s| s >= 500) => Some(format!(
                "the endpoint failed the call and gave no AWS error; an emulator or endpoint without {} answers so",
                self.operation
            )),
            _ => None,
        }
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.service.name(), self.operation)?;
        if !self.subject.is_empty() {
            write!(f, " {}", self.subject)?;
        }
        f.write_str(": ")?;
        match (&self.code, &self.message) {
            (Some(code), Some(message)) => write!(f, "{code}: {message}")?,
            (Some(code), None) => f.write_str(code)?,
            (None, Some(message)) => f.write_str(message)?,
            (None, None) => match (self.kind, self.status) {
                (Kind::Dispatch, _) => write!(
                    f,
                    "could not reach the endpoint ({})",
                    self.cause.as_deref().unwrap_or("connection failed")
                )?,
                (Kind::Timeout, _) => write!(
                    f,
                    "no answer in time ({})",
                    self.cause.as_deref().unwrap_or("timeout")
                )?,
                (Kind::Construction, _) => write!(
                    f,
                    "the request could not be made ({})",
                    self.cause.as_deref().unwrap_or("invalid input")
                )?,
                (_, Some(status)) => write!(f, "HTTP {status} with no AWS error in the answer")?,
                (_, None) => f.write_str("failed with no answer")?,
            },
        }
        let mut details = Vec::new();
        if let (Some(status), Some(_)) = (self.status, &self.code) {
            details.push(format!("HTTP {status}"));
        }
        if let Some(id) = &self.request_id {
            details.push(format!("request id {id}"));
        }
        if let Some(hint) = self.hint() {
            details.push(format!("hint: {hint}"));
        }
        if !details.is_empty() {
            write!(f, " ({})", details.join("; "))?;
        }
        Ok(())
    }
}

impl std::error::Error for AwsError {}

/// One line, at most [`MAX_MESSAGE`] characters.
fn tidy(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > MAX_MESSAGE {
        let cut: String = one_line.chars().take(MAX_MESSAGE).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

/// The innermost cause's `Display` (a connector's "Connection refused"),
/// never a `Debug` dump.
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut last = error.to_string();
    let mut source = error.source();
    let mut depth = 0;
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() {
            last = text;
        }
        source = cause.source();
        depth += 1;
        if depth > 16 {
            break;
        }
    }
    tidy(&last)
}

/// `.or_aws(Service::Ecs, "UpdateService", "cluster/service")` on an SDK
/// call's result. The error is as large as what it says (a few strings);
/// it is made once per failed call, never in a loop that could mind.
#[allow(clippy::result_large_err)]
pub(crate) trait AwsCall<T> {
    /// The result with its error as an [`AwsError`].
    fn or_aws(self, service: Service, operation: &str, subject: &str) -> Result<T, AwsError>;
}

#[allow(clippy::result_large_err)]
impl<T, E> AwsCall<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn or_aws(self, service: Service, operation: &str, subject: &str) -> Result<T, AwsError> {
        self.map_err(|e| AwsError::of(service, operation, subject, &e))
    }
}

/// An AccessDenied answer to `operation`, as IAM gives it (for tests of
/// what callers make of one).
#[cfg(test)]
pub(crate) fn access_denied_for_test(service: Service, operation: &str) -> AwsError {
    AwsError {
        service,
        operation: operation.into(),
        subject: String::new(),
        kind: Kind::Service,
        code: Some("AccessDeniedException".into()),
        message: Some(format!(
            "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: {}:{operation}",
            service.iam_prefix()
        )),
        status: Some(400),
        request_id: Some("0f6c-test".into()),
        cause: None,
    }
}

/// The [`AwsError`] in an error chain, if there is one.
pub(crate) fn find(error: &anyhow::Error) -> Option<&AwsError> {
    error.chain().find_map(|e| e.downcast_ref::<AwsError>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: Option<&str>, status: Option<u16>, kind: Kind) -> AwsError {
        AwsError {
            service: Service::Ecs,
            operation: "ListServiceDeployments".into(),
            subject: "plog-cluster/plog-api".into(),
            kind,
            code: code.map(str::to_string),
            message: code.map(|_| "User: arn:aws:iam::1:user/ci is not authorized".into()),
            status,
            request_id: Some("8c2b-11".into()),
            cause: None,
        }
    }

    #[test]
    fn one_line_with_code_message_request_id_and_hint() {
        let denied = error(Some("AccessDeniedException"), Some(400), Kind::Service);
        assert_eq!(
            denied.to_string(),
            "ECS ListServiceDeployments plog-cluster/plog-api: AccessDeniedException: User: arn:aws:iam::1:user/ci is not authorized (HTTP 400; request id 8c2b-11; hint: the credentials lack ecs:ListServiceDeployments (add it to the IAM policy of the role hoist runs as))"
        );
        assert!(denied.api_missing() && denied.access_denied());
    }

    #[test]
    fn an_answer_that_is_not_an_aws_error_shows_its_status() {
        let moto = error(None, Some(500), Kind::Response);
        let text = moto.to_string();
        assert!(text.starts_with("ECS ListServiceDeployments plog-cluster/plog-api: HTTP 500 with no AWS error in the answer (request id 8c2b-11; hint: the endpoint failed"), "{text}");
        assert!(moto.api_missing());
        assert_eq!(moto.short_reason(), "HTTP 500");
    }

    #[test]
    fn what_counts_as_a_missing_api() {
        for code in [
            "UnknownOperationException",
            "InvalidAction",
            "NotImplemented",
        ] {
            assert!(
                error(Some(code), Some(400), Kind::Service).api_missing(),
                "{code}"
            );
        }
        assert!(!error(Some("ClusterNotFoundException"), Some(400), Kind::Service).api_missing());
        // ECS failing for now (ServerException, HTTP 500) is no missing API.
        let server = error(Some("ServerException"), Some(500), Kind::Service);
        assert!(!server.api_missing());
        assert!(
            server.to_string().contains("hint: AWS failed the call"),
            "{server}"
        );
        assert!(!error(None, None, Kind::Dispatch).api_missing());
        let throttled = error(Some("ThrottlingException"), Some(400), Kind::Service);
        assert!(throttled.throttling() && !throttled.api_missing());
    }

    #[test]
    fn long_messages_are_cut_and_kept_on_one_line() {
        let text = tidy(&format!("a\nb {}", "x".repeat(1000)));
        assert!(!text.contains('\n') && text.chars().count() == MAX_MESSAGE + 1);
    }
}
