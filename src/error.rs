//! Error kinds that decide the exit code.
//!
//! Library code returns [`anyhow::Error`] chains with context at each boundary;
//! an error caused by what the user asked for (a missing jar, a malformed entry,
//! an unknown platform) carries a [`UsageError`] at its root so that `main` can
//! exit with code 2 instead of 1.

use std::fmt;

/// Exit code for success.
pub const EXIT_OK: i32 = 0;
/// Exit code for a failure while doing the work (I/O, registry, …).
pub const EXIT_FAILURE: i32 = 1;
/// Exit code for bad usage, bad input or bad configuration.
pub const EXIT_USAGE: i32 = 2;
/// Exit code for a deployment that failed, was rolled back or timed out.
pub const EXIT_DEPLOYMENT_FAILED: i32 = 3;
/// Exit code for a deployment superseded by someone else's newer one
/// (nothing of ours to roll back).
pub const EXIT_SUPERSEDED: i32 = 4;

/// A rollout that did not become stable.
#[derive(Debug)]
pub struct DeploymentFailed(pub String);

impl fmt::Display for DeploymentFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeploymentFailed {}

/// A deployment that a newer deployment, not ours, took over.
#[derive(Debug)]
pub struct DeploymentSuperseded(pub String);

impl fmt::Display for DeploymentSuperseded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeploymentSuperseded {}

/// A problem with the user's input, with an optional hint on how to fix it.
#[derive(Debug)]
pub struct UsageError {
    message: String,
    hint: Option<String>,
}

impl UsageError {
    /// A usage error with a message naming the thing that is wrong.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint saying what to do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for UsageError {}

/// Shorthand: `Err(usage("…"))?`.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError::new(message).into()
}

/// Shorthand for a usage error with a hint.
pub fn usage_hint(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    UsageError::new(message).hint(hint).into()
}

/// The exit code for an error chain: 4 for a superseded deployment, 3 for
/// a failed one, 2 when any link is a [`UsageError`], else 1.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    if error.chain().any(|e| e.is::<DeploymentSuperseded>()) {
        EXIT_SUPERSEDED
    } else if error.chain().any(|e| e.is::<DeploymentFailed>()) {
        EXIT_DEPLOYMENT_FAILED
    } else if error.chain().any(|e| e.is::<UsageError>()) {
        EXIT_USAGE
    } else {
        EXIT_FAILURE
    }
}

/// Renders an error chain on one line: `outer: inner: root`.
pub fn one_line(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string().replace('\n', " ");
        if parts.last().is_some_and(|last| last.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}
