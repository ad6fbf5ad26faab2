//! The load balancer's view of a service: each target group's health check
//! (DescribeTargetGroups: protocol, port, path, matcher) and its targets'
//! health (DescribeTargetHealth: state, reason, description, as
//! API_TargetHealth.html lists them — `Target.ResponseCodeMismatch`,
//! `Target.Timeout`, `Target.FailedHealthChecks`, …).
//!
//! ECS stops a task that fails its health checks and deregisters it, so by
//! the time a rollout has failed the evidence may be gone. [`TargetHealthWatch`]
//! keeps the failing targets it saw while the rollout was going on: the
//! follow loop asks it to look at each poll until the deployment is done
//! (one DescribeTargetHealth per target group and poll).

use crate::aws::error::{AwsCall, Service};
use crate::aws::AwsOptions;
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use tokio::sync::{Mutex, OnceCell};

/// One target that is not healthy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetState {
    /// The target: an IP address (awsvpc) or an instance id.
    pub id: String,
    /// Its port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// initial, unhealthy, draining, unused, unavailable, …
    pub state: String,
    /// `Target.ResponseCodeMismatch`, `Target.Timeout`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// "Health checks failed with these codes: [404]".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Seen while the rollout went on (the target may be gone now).
    pub seen_during_rollout: bool,
}

/// A target group's health check and the targets that are not healthy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroupHealth {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// HealthCheckProtocol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// HealthCheckPort (`traffic-port` or a number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// HealthCheckPath.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Matcher (HttpCode or GrpcCode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matcher: Option<String>,
    /// HealthCheckIntervalSeconds × UnhealthyThresholdCount: how long a
    /// failing target lasts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_to_unhealthy: Option<i32>,
    /// Targets healthy now.
    pub healthy: usize,
    /// Targets not healthy (now, or seen during the rollout).
    pub targets: Vec<TargetState>,
}

impl TargetGroupHealth {
    /// `HTTP traffic-port /actuator/health, matcher 200`.
    pub fn check(&self) -> String {
        let mut text = format!(
            "{} {}",
            self.protocol.as_deref().unwrap_or("?"),
            self.port.as_deref().unwrap_or("traffic-port"),
        );
        if let Some(path) = &self.path {
            text.push(' ');
            text.push_str(path);
        }
        if let Some(matcher) = &self.matcher {
            text.push_str(&format!(", matcher {matcher}"));
        }
        text
    }
}

/// Reads target groups, and remembers the unhealthy targets it saw.
pub(crate) struct TargetHealthWatch {
    aws: AwsOptions,
    client: OnceCell<aws_sdk_elasticloadbalancingv2::Client>,
    /// Unhealthy targets seen, per target group, by `id:port`.
    seen: Mutex<BTreeMap<String, BTreeMap<String, TargetState>>>,
    /// A sample failed or took too long: no more samples this command
    /// (a denied or unreachable ELB must not slow every poll down).
    given_up: std::sync::atomic::AtomicBool,
}

/// How long one sample of a target group may take.
const SAMPLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl TargetHealthWatch {
    /// A watch calling ELB as `aws` says.
    pub(crate) fn new(aws: &AwsOptions) -> Self {
        Self {
            aws: aws.clone(),
            client: OnceCell::new(),
            seen: Mutex::new(BTreeMap::new()),
            given_up: std::sync::atomic::AtomicBool::new(false),
        }
    }

    async fn client(&self) -> &aws_sdk_elasticloadbalancingv2::Client {
        self.client
            .get_or_init(|| async {
                aws_sdk_elasticloadbalancingv2::Client::new(
                    &crate::aws::sdk_config(&self.aws).await,
                )
            })
            .await
    }

    /// Looks at each target group now and keeps the failing targets (best
    /// effort: a failure or a call slower than [`SAMPLE_TIMEOUT`] ends the
    /// sampling; the error shows up in [`Self::health`]).
    pub(crate) async fn sample(&self, target_groups: &[String]) {
        use std::sync::atomic::Ordering;
        for arn in target_groups {
            if self.given_up.load(Ordering::Relaxed) {
                return;
            }
            let answer = tokio::time::timeout(SAMPLE_TIMEOUT, self.states(arn)).await;
            if !matches!(answer, Ok(Ok(_))) {
                self.given_up.store(true, Ordering::Relaxed);
            }
            if let Ok(Ok(states)) = answer {
                let mut seen = self.seen.lock().await;
                let kept = seen.entry(arn.clone()).or_default();
                for state in states.into_iter().filter(failing) {
                    kept.insert(key(&state), state);
                }
            }
        }
    }

    /// Whether every target group lists each of `ids` (task IPs) as
    /// `healthy` now; `None` when a group could not be read.
    pub(crate) async fn all_healthy(
        &self,
        target_groups: &[String],
        ids: &[String],
    ) -> Option<bool> {
        for arn in target_groups {
            let states = tokio::time::timeout(SAMPLE_TIMEOUT, self.states(arn))
                .await
                .ok()?
                .ok()?;
            let healthy = ids
                .iter()
                .all(|id| states.iter().any(|s| &s.id == id && s.state == "healthy"));
            if !healthy {
                return Some(false);
            }
        }
        Some(true)
    }

    async fn states(&self, arn: &str) -> Result<Vec<TargetState>> {
        let answer = self
            .client()
            .await
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .or_aws(Service::Elbv2, "DescribeTargetHealth", arn)?;
        Ok(answer
            .target_health_descriptions()
            .iter()
            .map(|d| {
                let health = d.target_health();
                TargetState {
                    id: d.target().and_then(|t| t.id()).unwrap_or("?").to_string(),
                    port: d.target().and_then(|t| t.port()),
                    state: health
                        .and_then(|h| h.state())
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_else(|| "?".into()),
                    reason: health
                        .and_then(|h| h.reason())
                        .map(|r| r.as_str().to_string()),
                    description: health.and_then(|h| h.description()).map(str::to_string),
                    seen_during_rollout: false,
                }
            })
            .collect())
    }

    /// Each target group's health check and its targets that are not
    /// healthy, now and as seen during the rollout. Errors are per group.
    pub(crate) async fn health(&self, target_groups: &[String]) -> Vec<Result<TargetGroupHealth>> {
        let mut out = Vec::new();
        if target_groups.is_empty() {
            return out;
        }
        let described = self
            .client()
            .await
            .describe_target_groups()
            .set_target_group_arns(Some(target_groups.to_vec()))
            .send()
            .await
            .or_aws(
                Service::Elbv2,
                "DescribeTargetGroups",
                &target_groups.join(" "),
            );
        let described = match described {
            Ok(d) => d,
            Err(e) => return vec![Err(e.into())],
        };
        for arn in target_groups {
            let Some(group) = described
                .target_groups()
                .iter()
                .find(|g| g.target_group_arn() == Some(arn.as_str()))
            else {
                out.push(Err(anyhow::anyhow!(
                    "ELB DescribeTargetGroups did not return target group {arn}, which the service names (deleted?)"
                )));
                continue;
            };
            let states = match self.states(arn).await {
                Ok(states) => states,
                Err(e) => {
                    out.push(Err(e));
                    continue;
                }
            };
            let healthy = states.iter().filter(|s| s.state == "healthy").count();
            // Old tasks draining and targets gone are a rollout's ordinary
            // business: only failing and still-checked targets are shown.
            let mut targets: BTreeMap<String, TargetState> = states
                .into_iter()
                .filter(|s| failing(s) || s.state == "initial")
                .map(|s| (key(&s), s))
                .collect();
            if let Some(seen) = self.seen.lock().await.get(arn) {
                for (k, state) in seen {
                    // What it looked like while failing beats "draining" or
                    // "unused" after ECS took the task away.
                    let now_uninformative = targets.get(k).is_none_or(|t| !failing(t));
                    if now_uninformative {
                        targets.insert(
                            k.clone(),
                            TargetState {
                                seen_during_rollout: true,
                                ..state.clone()
                            },
                        );
                    }
                }
            }
            let matcher = group
                .matcher()
                .and_then(|m| m.http_code().or(m.grpc_code()))
                .map(str::to_string);
            out.push(Ok(TargetGroupHealth {
                arn: arn.clone(),
                name: group.target_group_name().unwrap_or_default().to_string(),
                protocol: group
                    .health_check_protocol()
                    .map(|p| p.as_str().to_string()),
                port: group.health_check_port().map(str::to_string),
                path: group.health_check_path().map(str::to_string),
                matcher,
                seconds_to_unhealthy: group
                    .health_check_interval_seconds()
                    .zip(group.unhealthy_threshold_count())
                    .map(|(i, n)| i * n),
                healthy,
                targets: targets.into_values().collect(),
            }));
        }
        out
    }
}

/// A target the health check fails (API_TargetHealth.html: `unhealthy`,
/// or `unavailable` when health checks are off and the target is not ok).
fn failing(state: &TargetState) -> bool {
    matches!(state.state.as_str(), "unhealthy" | "unavailable")
}

fn key(state: &TargetState) -> String {
    format!("{}:{}", state.id, state.port.unwrap_or(0))
}
