//! The shared fixtures of verify's unit tests: a clean Fargate service
//! (task definition, target, facts) and helpers that pick checks out.
//! Test-only: nothing here is compiled into hoist.

use super::checks::judge;
use super::facts::{SecretState, TargetFacts, TargetGroupFacts};
use super::{Check, CheckStatus, PlatformsFrom, VerifyTarget};
use crate::ecs::service::{LoadBalancerTarget, ServiceSnapshot};
use serde_json::{json, Value};

pub(super) const TD_ARN: &str =
    "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/plog-api:3";
pub(super) const EXEC: &str = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole";
pub(super) const TASK: &str = "arn:aws:iam::123456789012:role/plog-api-task";
pub(super) const DB: &str =
    "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:plog/db-AbCdEf";
pub(super) const TG: &str =
    "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/plog-tg/0123456789abcdef";
/// The image a ship deploys, in a private ECR repository.
pub(super) const ECR_IMAGE: &str =
    "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/plog-back@sha256:ab";
pub(super) const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

pub(super) fn task_definition() -> Value {
    json!({
        "taskDefinitionArn": TD_ARN,
        "family": "plog-api",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "executionRoleArn": EXEC,
        "taskRoleArn": TASK,
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        "containerDefinitions": [
            {
                "name": "plog-back",
                "image": "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/plog-back@sha256:ab",
                "portMappings": [{"containerPort": 8080}],
                "secrets": [{"name": "DB_PASSWORD", "valueFrom": DB}],
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": "/ecs/plog-api", "awslogs-region": "ap-northeast-2",
                    "awslogs-stream-prefix": "plog-back"}},
            },
            {"name": "datadog-agent", "image": "public.ecr.aws/datadog/agent:7"},
        ],
    })
}

pub(super) fn target() -> VerifyTarget {
    VerifyTarget {
        service: "plog-api".into(),
        containers: vec!["plog-back".into()],
        secrets: Vec::new(),
    }
}

/// A clean setup: every lookup answered as the seeded emulator would.
pub(super) fn facts() -> TargetFacts {
    let mut facts = TargetFacts {
        target: Some(target()),
        image: None,
        snapshot: ServiceSnapshot {
            task_definition: TD_ARN.into(),
            launch_type: Some("FARGATE".into()),
            ..ServiceSnapshot::default()
        },
        task_definition: task_definition(),
        ..TargetFacts::default()
    };
    facts.roles.insert(EXEC.into(), Ok(Some(TRUST.into())));
    facts.roles.insert(TASK.into(), Ok(Some(TRUST.into())));
    facts.secrets.insert(DB.into(), Ok(SecretState::Found));
    facts.log_groups.insert(
        (Some("ap-northeast-2".into()), "/ecs/plog-api".into()),
        Ok(true),
    );
    facts
}

pub(super) fn behind_load_balancer(mut facts: TargetFacts, grace: Option<i32>) -> TargetFacts {
    facts.snapshot.load_balancers = vec![LoadBalancerTarget {
        container_name: "plog-back".into(),
        container_port: 8080,
        target_group_arn: Some(TG.into()),
    }];
    facts.snapshot.health_check_grace_seconds = grace;
    facts.target_groups.insert(
        TG.into(),
        Ok(Some(TargetGroupFacts {
            name: "plog-tg".into(),
            target_type: Some("ip".into()),
            health_check_protocol: Some("HTTP".into()),
            health_check_port: Some("traffic-port".into()),
            health_check_path: Some("/actuator/health".into()),
            load_balancers: 1,
            ..Default::default()
        })),
    );
    facts
}

pub(super) fn amd64() -> Vec<String> {
    vec!["linux/amd64".into()]
}

pub(super) fn run(facts: &TargetFacts) -> Vec<Check> {
    judge(facts, &amd64(), PlatformsFrom::Configured)
}

pub(super) fn only<'a>(checks: &'a [Check], check: &str) -> Vec<&'a Check> {
    checks.iter().filter(|c| c.check == check).collect()
}

#[track_caller]
pub(super) fn problem<'a>(checks: &'a [Check], check: &str) -> &'a Check {
    let found: Vec<&Check> = checks
        .iter()
        .filter(|c| c.check == check && c.status == CheckStatus::Problem)
        .collect();
    assert_eq!(found.len(), 1, "{checks:#?}");
    found[0]
}
