//! The settings that make a deploy slow: `slow` lines, which never fail
//! the command. Each names the setting, the time it costs per deploy and
//! the change that saves it:
//!
//! * **deregistration delay**: the target group's
//!   `deregistration_delay.timeout_seconds` (ELB's default, 300 s) is how
//!   long every deploy waits for old tasks to drain; 30 s serves most HTTP
//!   APIs;
//! * **health check**: HealthCheckIntervalSeconds × HealthyThresholdCount
//!   is how long a task that is up waits to be called healthy, against
//!   the start-up measured in the environment's last deploy (the tag
//!   `hoist:startup-seconds` hoist leaves on the revision it deployed:
//!   seconds from the task's start to healthy); without one, `could not
//!   check`;
//! * **grace period**: `healthCheckGracePeriodSeconds` below that start-up
//!   (ECS may stop tasks before they could pass) or more than twice it (a
//!   task that never gets healthy is replaced that much later);
//! * **batch size**: `minimumHealthyPercent` / `maximumPercent` that let
//!   ECS replace only one task at a time;
//! * **image pull**: a slowest pull of the last deploy over
//!   [`SLOW_PULL_SECONDS`], and what makes images pull faster.
//!
//! Pure: decided on [`TargetFacts`].

use crate::ecs::verify::facts::TargetFacts;
use crate::ecs::verify::{Check, CheckStatus, VerifyTarget};

/// A deregistration delay above this is slow.
const ENOUGH_DRAIN_SECONDS: u64 = 30;
/// A health-check window (interval × threshold) this short is fast.
const FAST_WINDOW_SECONDS: i64 = 20;
/// Savings below this are not worth a line.
const WORTH_SECONDS: i64 = 30;
/// A slowest image pull above this is slow.
pub(crate) const SLOW_PULL_SECONDS: f64 = 20.0;

/// The speed lines of one service.
pub(super) fn speed_checks(facts: &TargetFacts, target: &VerifyTarget) -> Vec<Check> {
    let service = &target.service;
    let slow =
        |check: &str, message: String| Check::new(service, check, CheckStatus::Slow, message);
    let mut checks = Vec::new();
    let startup = facts.revision.startup_seconds;
    for group in facts.target_groups.values().flatten().flatten() {
        let name = &group.name;
        if let Some(Ok(delay)) = group.deregistration_delay {
            if delay > ENOUGH_DRAIN_SECONDS {
                checks.push(slow(
                    "deregistration delay",
                    format!(
                        "target group {name} drains old tasks for {delay} s (deregistration_delay.timeout_seconds): up to {delay} s of every deploy; {ENOUGH_DRAIN_SECONDS} s is enough for most HTTP APIs and saves up to {} s (aws elbv2 modify-target-group-attributes --attributes Key=deregistration_delay.timeout_seconds,Value={ENOUGH_DRAIN_SECONDS})",
                        delay - ENOUGH_DRAIN_SECONDS
                    ),
                ));
            }
        }
        let (Some(interval), Some(threshold)) =
            (group.health_check_interval, group.healthy_threshold)
        else {
            continue;
        };
        let window = i64::from(interval) * i64::from(threshold);
        match startup {
            None => checks.push(Check::new(
                service,
                "health check",
                CheckStatus::CouldNotCheck,
                format!(
                    "target group {name} needs {interval} s × {threshold} = {window} s of passing checks; no start-up measured yet to weigh it against (hoist keeps it on the revision a deploy measured, tag hoist:startup-seconds)"
                ),
            )),
            Some(measured) if window - FAST_WINDOW_SECONDS >= WORTH_SECONDS => checks.push(slow(
                "health check",
                format!(
                    "target group {name} needs {interval} s × {threshold} = {window} s of passing checks before a task is healthy (it took {} s from start to healthy in the last deploy): interval 10 s × healthy threshold 2 would save about {} s per batch of tasks",
                    measured.round(),
                    window - FAST_WINDOW_SECONDS
                ),
            )),
            Some(_) => {}
        }
    }
    if !facts.snapshot.load_balancers.is_empty() {
        if let (Some(grace), Some(measured)) = (facts.snapshot.health_check_grace_seconds, startup)
        {
            let grace_f = f64::from(grace);
            let suggested = (measured * 1.5).ceil();
            if grace > 0 && grace_f < measured {
                checks.push(slow(
                    "grace period",
                    format!(
                        "healthCheckGracePeriodSeconds {grace} s is below the {} s the last deploy took from start to healthy: ECS may stop tasks before they could pass, and start them again; set it to about {suggested}",
                        measured.round()
                    ),
                ));
            } else if grace_f > 2.0 * measured && grace_f - suggested >= WORTH_SECONDS as f64 {
                checks.push(slow(
                    "grace period",
                    format!(
                        "healthCheckGracePeriodSeconds {grace} s is more than twice the {} s the last deploy took from start to healthy: a task that never gets healthy is replaced {} s later than it could be; set it to about {suggested}",
                        measured.round(),
                        grace_f - suggested
                    ),
                ));
            }
        }
    }
    let desired = facts.snapshot.desired;
    let min = facts.snapshot.minimum_healthy_percent.unwrap_or(100);
    let max = facts.snapshot.maximum_percent.unwrap_or(200);
    if desired > 1 {
        // ECS keeps at least ceil(desired × min%) healthy and runs at most
        // floor(desired × max%) (API_DeploymentConfiguration.html).
        let floor = (i64::from(desired) * i64::from(min) + 99) / 100;
        let ceiling = i64::from(desired) * i64::from(max) / 100;
        if ceiling - floor <= 1 {
            let per_round = startup
                .map(|s| {
                    format!(
                        " (about {} s each, from the last deploy's start-up)",
                        s.round()
                    )
                })
                .unwrap_or_default();
            checks.push(slow(
                "batch size",
                format!(
                    "desiredCount {desired} with minimumHealthyPercent {min} and maximumPercent {max} lets ECS replace one task at a time: {desired} rounds of start, health checks and draining{per_round}; maximumPercent 200 starts all {desired} new tasks at once"
                ),
            ));
        }
    }
    if let Some(pull) = facts
        .revision
        .pull_seconds
        .filter(|p| *p > SLOW_PULL_SECONDS)
    {
        checks.push(slow(
            "image pull",
            format!(
                "the last deploy's slowest image pull took {} s: zstd layers (compression = \"zstd\") unpack faster than gzip, and a JRE base is smaller than a JDK one; ECR in the service's region keeps pulls short",
                pull.round()
            ),
        ));
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::taskdef::revision_tags::RevisionTags;
    use crate::ecs::verify::facts::TargetGroupFacts;
    use crate::ecs::verify::fixtures::{behind_load_balancer, facts, TG};

    fn target() -> VerifyTarget {
        VerifyTarget {
            service: "plog-api".into(),
            containers: vec!["plog-back".into()],
            secrets: Vec::new(),
        }
    }

    fn with_group(
        mut facts: TargetFacts,
        delay: u64,
        interval: i32,
        threshold: i32,
    ) -> TargetFacts {
        facts.target_groups.insert(
            TG.into(),
            Ok(Some(TargetGroupFacts {
                name: "plog-tg".into(),
                health_check_interval: Some(interval),
                healthy_threshold: Some(threshold),
                deregistration_delay: Some(Ok(delay)),
                ..Default::default()
            })),
        );
        facts
    }

    fn lines(facts: &TargetFacts) -> Vec<String> {
        speed_checks(facts, &target())
            .iter()
            .map(|c| c.line(false))
            .collect()
    }

    #[test]
    fn aws_defaults_are_slow_and_say_what_saves_time() {
        let mut facts = with_group(behind_load_balancer(facts(), Some(300)), 300, 30, 5);
        facts.revision = RevisionTags {
            by_hoist: true,
            startup_seconds: Some(40.0),
            pull_seconds: Some(35.0),
        };
        facts.snapshot.desired = 2;
        facts.snapshot.minimum_healthy_percent = Some(100);
        facts.snapshot.maximum_percent = Some(150);
        let lines = lines(&facts);
        let find = |check: &str| {
            lines
                .iter()
                .find(|l| l.starts_with(&format!("slow     {check}:")))
                .unwrap_or_else(|| panic!("no {check} line: {lines:#?}"))
                .clone()
        };
        assert!(find("deregistration delay").contains("saves up to 270 s"));
        assert!(
            find("health check").contains("30 s × 5 = 150 s")
                && find("health check").contains("save about 130 s")
        );
        assert!(
            find("grace period").contains("more than twice the 40 s")
                && find("grace period").contains("about 60")
        );
        assert!(find("batch size").contains("one task at a time"));
        assert!(find("image pull").contains("35 s"));
    }

    #[test]
    fn quick_settings_give_no_line_and_no_measurement_cannot_be_checked() {
        let mut facts = with_group(behind_load_balancer(facts(), Some(60)), 30, 10, 2);
        facts.snapshot.desired = 2;
        facts.revision.startup_seconds = Some(45.0);
        assert!(lines(&facts).is_empty(), "{:#?}", lines(&facts));
        facts.revision.startup_seconds = None;
        let lines = lines(&facts);
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(
            lines[0].starts_with(
                "could not check health check: target group plog-tg needs 10 s × 2 = 20 s"
            ),
            "{lines:#?}"
        );
    }

    #[test]
    fn a_grace_period_below_the_start_up_is_slow() {
        let mut facts = with_group(behind_load_balancer(facts(), Some(20)), 30, 10, 2);
        facts.revision.startup_seconds = Some(45.0);
        let lines = lines(&facts);
        assert!(
            lines.iter().any(|l| l.starts_with(
                "slow     grace period: healthCheckGracePeriodSeconds 20 s is below the 45 s"
            )),
            "{lines:#?}"
        );
    }
}
