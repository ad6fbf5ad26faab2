//! `hoist verify ENV`, and the same checks `hoist ship` makes before it
//! registers anything: can the environment's ECS setup run this image?
//! Modelled on ecspresso's `verify`, and going further.
//!
//! For each service (and the containers hoist deploys to), on its current
//! task definition, and for each one-off task (`[[env.NAME.tasks]]`, its
//! family's latest revision, lines named `[task NAME]`: all but the grace
//! period and target groups, which a task has not):
//!
//! * **platform**: the image's platforms (handed in as `os/arch[/variant]`
//!   strings: this module knows no image format) include the task's
//!   `runtimePlatform` (X86_64 ↔ amd64, ARM64 ↔ arm64; none on Fargate
//!   means X86_64 LINUX);
//! * **container**: each container named exists, and each `loadBalancers[]`
//!   entry's container exists and maps its `containerPort`;
//! * **execution role** / **task role**: set where the task needs one
//!   (secrets, awslogs or an ECR image on Fargate, registry credentials),
//!   exists (IAM GetRole) and trusts `ecs-tasks.amazonaws.com` to
//!   `sts:AssumeRole`;
//! * **secret**: every `valueFrom` (the task definition's, with hoist.toml's
//!   over them, log-driver `secretOptions`, `repositoryCredentials`) names a
//!   Secrets Manager secret (DescribeSecret) or an SSM parameter
//!   (DescribeParameters, by name) that exists; no value is ever read (an
//!   SSM parameter ARN of another account, which DescribeParameters cannot
//!   see, is `could not check`);
//! * **log group**: each awslogs group exists (or `awslogs-create-group` is
//!   "true"), with a stream prefix on Fargate;
//! * **grace period**: a load-balanced service has
//!   `healthCheckGracePeriodSeconds` > 0;
//! * **target group**: each target group exists, is attached to a load
//!   balancer, has target type `ip` for awsvpc tasks, and health-checks a
//!   port the task maps.
//!
//! Each check is one [`Check`]: `ok`, `problem` or `could not check` (with
//! why; an AccessDenied names the IAM action needed). The decisions are
//! pure ([`judge`] on [`TargetFacts`](facts::TargetFacts));
//! the AWS reads are done at the edge ([`verify`]), and a read that fails
//! never counts as a problem.
//!
//! Here: the report's types and [`verify`]. The checks are in `checks` (the
//! platform's in `platform`), the reads in `facts`; `secrets`, `trust` and
//! `task_definition` parse what they look at.

mod checks;
mod facts;
#[cfg(test)]
mod fixtures;
mod platform;
mod secrets;
mod speed;
mod task_definition;
mod trust;

use crate::ecs::client::EcsClient;
use checks::judge;
use facts::{gather, gather_task, Readers};
use serde::Serialize;

/// What a check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckStatus {
    /// Fine.
    Ok,
    /// The deploy would fail, or its tasks would.
    Problem,
    /// The facts could not be read (never blocks).
    CouldNotCheck,
    /// A setting that makes deploys slow (never blocks).
    Slow,
}

impl CheckStatus {
    /// `ok`, `problem`, `could not check`, `slow`.
    pub fn label(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Problem => "problem",
            CheckStatus::CouldNotCheck => "could not check",
            CheckStatus::Slow => "slow",
        }
    }
}

/// One check of one service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// The ECS service, or `task NAME` for a one-off task.
    pub service: String,
    /// `platform`, `container`, `execution role`, `task role`, `secret`,
    /// `log group`, `grace period`, `target group` (or `service` when the
    /// service itself could not be read, `task definition` when a one-off
    /// task's could not).
    pub check: String,
    /// Its outcome.
    pub status: CheckStatus,
    /// What was found, in words.
    pub message: String,
}

impl Check {
    fn new(service: &str, check: &str, status: CheckStatus, message: impl Into<String>) -> Self {
        Self {
            service: service.to_string(),
            check: check.to_string(),
            status,
            message: message.into(),
        }
    }

    /// `check: message`, with `[service] ` first when `with_service`.
    pub fn text(&self, with_service: bool) -> String {
        if with_service {
            format!("[{}] {}: {}", self.service, self.check, self.message)
        } else {
            format!("{}: {}", self.check, self.message)
        }
    }

    /// `ok       platform: …` / `problem  …` / `could not check …`.
    pub fn line(&self, with_service: bool) -> String {
        format!("{:<8} {}", self.status.label(), self.text(with_service))
    }
}

/// Where the image's platforms come from. The checks run before anything
/// is built, so they are always hoist.toml's (or its default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlatformsFrom {
    /// As configured: `[image] platforms` in hoist.toml.
    Configured,
    /// None configured: the default, linux/amd64.
    Default,
}

/// One service to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyTarget {
    /// The ECS service.
    pub service: String,
    /// The containers whose image is replaced.
    pub containers: Vec<String>,
    /// The secrets a deploy adds to those containers (`NAME`, `valueFrom`).
    pub secrets: Vec<(String, String)>,
}

/// One one-off task (`[[env.NAME.tasks]]`) to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VerifyTask {
    /// Its name (`db-migrate`): its lines are named `[task NAME]`.
    pub name: String,
    /// Its task definition family: the latest revision is checked.
    pub family: String,
    /// The container that gets the image.
    pub container: String,
    /// The secrets a release adds to that container (`NAME`, `valueFrom`).
    pub secrets: Vec<(String, String)>,
}

/// What to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyRequest {
    /// What the report is named after (the environment).
    pub label: String,
    /// The ECS cluster.
    pub cluster: String,
    /// Its services.
    pub targets: Vec<VerifyTarget>,
    /// The image's platforms, `os/arch[/variant]`.
    pub platforms: Vec<String>,
    /// Where they come from.
    pub platforms_from: PlatformsFrom,
    /// The image (or repository) deployed to the named containers, if
    /// known: whether it is in ECR decides whether an execution role is
    /// needed to pull it.
    pub image: Option<String>,
}

/// Every check of an environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// The environment.
    pub env: String,
    /// The ECS cluster.
    pub cluster: String,
    /// The image's platforms checked.
    pub platforms: Vec<String>,
    /// Where they came from.
    pub platforms_from: PlatformsFrom,
    /// Every check, service by service.
    pub checks: Vec<Check>,
    /// How many are ok.
    pub ok: usize,
    /// How many are problems.
    pub problems: usize,
    /// How many could not be checked.
    pub could_not_check: usize,
    /// How many settings make deploys slow.
    pub slow: usize,
}

impl VerifyReport {
    /// A report of `checks`, counted.
    pub fn new(request: &VerifyRequest, checks: Vec<Check>) -> Self {
        let count = |s: CheckStatus| checks.iter().filter(|c| c.status == s).count();
        Self {
            env: request.label.clone(),
            cluster: request.cluster.clone(),
            platforms: request.platforms.clone(),
            platforms_from: request.platforms_from,
            ok: count(CheckStatus::Ok),
            problems: count(CheckStatus::Problem),
            could_not_check: count(CheckStatus::CouldNotCheck),
            slow: count(CheckStatus::Slow),
            checks,
        }
    }

    /// Whether the checks are of several services (lines then name them).
    fn several(&self) -> bool {
        self.checks
            .iter()
            .any(|c| c.service != self.checks[0].service)
    }

    /// One line per check.
    pub fn lines(&self) -> Vec<String> {
        let several = self.several();
        self.checks.iter().map(|c| c.line(several)).collect()
    }

    /// `verify dev (plog-cluster): 9 ok, 1 problem, 0 could not check`
    /// (and `, 2 slow` when settings make deploys slow).
    pub fn summary(&self) -> String {
        let slow = if self.slow > 0 {
            format!(", {} slow", self.slow)
        } else {
            String::new()
        };
        format!(
            "verify {} ({}): {} ok, {} {}, {} could not check{slow}",
            self.env,
            self.cluster,
            self.ok,
            self.problems,
            if self.problems == 1 {
                "problem"
            } else {
                "problems"
            },
            self.could_not_check
        )
    }

    /// The `slow` lines, for a note after a deploy.
    pub fn slow_lines(&self) -> Vec<String> {
        let several = self.several();
        self.checks
            .iter()
            .filter(|c| c.status == CheckStatus::Slow)
            .map(|c| c.text(several))
            .collect()
    }

    /// The problems on one line: `platform: …; log group: …`.
    pub fn problem_text(&self) -> String {
        let several = self.several();
        self.checks
            .iter()
            .filter(|c| c.status == CheckStatus::Problem)
            .map(|c| c.text(several))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Checks every service of `request`. Never fails: what cannot be read is
/// a `could not check` line (a service that does not exist is a problem).
pub async fn verify(client: &EcsClient, request: &VerifyRequest) -> VerifyReport {
    verify_with_tasks(client, request, &[]).await
}

/// [`verify`], and the one-off `tasks` after the services: each on its
/// family's latest revision, run as the first service's launch type (as a
/// release runs them).
pub(crate) async fn verify_with_tasks(
    client: &EcsClient,
    request: &VerifyRequest,
    tasks: &[VerifyTask],
) -> VerifyReport {
    let mut readers = Readers::new(client);
    let mut checks = Vec::new();
    let mut launch_type = None;
    for (i, target) in request.targets.iter().enumerate() {
        match gather(
            client,
            &mut readers,
            &request.cluster,
            target,
            request.image.as_deref(),
        )
        .await
        {
            Ok(facts) => {
                if i == 0 {
                    launch_type = facts.snapshot.launch_type.clone();
                }
                checks.extend(judge(&facts, &request.platforms, request.platforms_from));
            }
            Err(check) => checks.push(check),
        }
    }
    for task in tasks {
        match gather_task(
            client,
            &mut readers,
            task,
            launch_type.as_deref(),
            request.image.as_deref(),
        )
        .await
        {
            Ok(facts) => checks.extend(judge(&facts, &request.platforms, request.platforms_from)),
            Err(check) => checks.push(check),
        }
    }
    VerifyReport::new(request, checks)
}

#[cfg(test)]
mod tests {
    use super::fixtures::amd64;
    use super::*;

    #[test]
    fn the_report_counts_and_names_several_services() {
        let request = VerifyRequest {
            label: "dev".into(),
            cluster: "plog-cluster".into(),
            targets: Vec::new(),
            platforms: amd64(),
            platforms_from: PlatformsFrom::Configured,
            image: None,
        };
        let checks = vec![
            Check::new("api", "platform", CheckStatus::Ok, "fine"),
            Check::new(
                "worker",
                "log group",
                CheckStatus::Problem,
                "/ecs/w does not exist",
            ),
            Check::new(
                "worker",
                "task role",
                CheckStatus::CouldNotCheck,
                "w (needs iam:GetRole: AccessDenied)",
            ),
        ];
        let report = VerifyReport::new(&request, checks);
        assert_eq!(
            report.summary(),
            "verify dev (plog-cluster): 1 ok, 1 problem, 1 could not check"
        );
        assert_eq!(
            report.problem_text(),
            "[worker] log group: /ecs/w does not exist"
        );
        assert_eq!(
            report.lines(),
            [
                "ok       [api] platform: fine",
                "problem  [worker] log group: /ecs/w does not exist",
                "could not check [worker] task role: w (needs iam:GetRole: AccessDenied)",
            ]
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["checks"][2]["status"], "could-not-check");
        assert_eq!(json["couldNotCheck"], 1);
        assert_eq!(json["platformsFrom"], "configured");
    }
}
