//! When to try a request again, and how long to wait first.
//!
//! Connection errors, 429 and 5xx answers are temporary; everything else is
//! final. Waits grow exponentially with full jitter and honour `Retry-After`
//! (seconds, or an HTTP-date) up to a cap; the number of attempts is always
//! bounded.

use std::time::Duration;

/// How many times to try and how long to wait between tries.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The wait before the second attempt (before jitter).
    pub base_delay: Duration,
    /// No wait is longer than this, `Retry-After` included.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based), given a
    /// server's `Retry-After` and a jitter draw in `[0, 1)`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_delay);
        }
        let exponent = attempt.saturating_sub(1).min(16);
        let ceiling = self
            .base_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        // Full jitter, but never less than half the ceiling: spreads clients
        // apart without collapsing to zero.
        ceiling.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
    }
}

/// True for HTTP statuses worth retrying: 408, 429 and 5xx.
pub(crate) fn is_temporary_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

/// Parses `Retry-After`: delay seconds, or an HTTP-date (RFC 9110 §10.2.3),
/// which is measured from now; a date already past means no wait.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    retry_after_at(value, std::time::SystemTime::now())
}

/// [`parse_retry_after`] as seen at `now`.
fn retry_after_at(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, None, 1.0), Duration::from_millis(200));
        assert_eq!(p.delay(2, None, 0.0), Duration::from_millis(200));
        assert_eq!(p.delay(3, None, 1.0), Duration::from_millis(800));
        assert_eq!(p.delay(30, None, 1.0), Duration::from_secs(10));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(2)), 0.3),
            Duration::from_secs(2)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(99)), 0.3),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn temporary_statuses() {
        assert!(is_temporary_status(429) && is_temporary_status(503) && is_temporary_status(408));
        assert!(!is_temporary_status(404) && !is_temporary_status(401));
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO),
            "a date in the past: no wait"
        );
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            retry_after_at("Wed, 21 Oct 2015 07:28:07 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after_at("Wednesday, 21-Oct-15 07:28:03 GMT", now),
            Some(Duration::from_secs(3)),
            "the obsolete RFC 850 form too"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
