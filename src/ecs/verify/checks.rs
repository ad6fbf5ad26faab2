//! The checks of one service: pure functions from its [`TargetFacts`] to
//! [`Check`] lines, and [`judge`], which runs them all. Reads nothing from
//! AWS: a fact that could not be read is a `could not check`, never a problem.

use super::facts::{GroupKey, SecretState, TargetFacts};
use super::platform::{platform_check, Platforms};
use super::secrets::{secret_uses, SecretRef, SecretUse};
use super::task_definition::{
    account_of, container_named, container_names, containers, is_ecr_image, mapped_ports,
    on_fargate,
};
use super::trust::{role_name, trusts_ecs_tasks};
use super::{Check, CheckStatus, PlatformsFrom, VerifyTarget};
use crate::ecs::diagnosis::logs::LogSource;
use crate::ecs::service::short_arn;
use std::collections::BTreeMap;

/// Why the task needs an execution role (empty: it does not), and whether
/// the need to pull from ECR went unjudged: on Fargate without the image
/// the named containers get (`facts.image`), whose registry decides it.
fn execution_role_needs(facts: &TargetFacts, target: &VerifyTarget) -> (Vec<&'static str>, bool) {
    let td = &facts.task_definition;
    let fargate = on_fargate(&facts.snapshot, td);
    let uses = secret_uses(td, target);
    let mut needs = Vec::new();
    if uses
        .iter()
        .any(|u| u.name != "repositoryCredentials" && !u.name.starts_with("log option "))
    {
        needs.push("to read its secrets");
    }
    if uses.iter().any(|u| u.name.starts_with("log option ")) {
        needs.push("to read its log driver's secretOptions");
    }
    if uses.iter().any(|u| u.name == "repositoryCredentials") {
        needs.push("to read its registry credentials");
    }
    let mut unjudged = false;
    if fargate {
        // The named containers get the image deployed; the others keep
        // theirs. Without that image, theirs is not guessed from the task
        // definition (hoist replaces it).
        let mut images = Vec::new();
        for c in containers(td) {
            let name = c["name"].as_str().unwrap_or_default();
            match (&facts.image, target.containers.iter().any(|n| n == name)) {
                (Some(image), true) => images.push(image.clone()),
                (None, true) => unjudged = true,
                _ => images.push(c["image"].as_str().unwrap_or_default().to_string()),
            }
        }
        if images.iter().any(|i| is_ecr_image(i)) {
            needs.push("to pull a private ECR image on Fargate");
            unjudged = false;
        }
        if containers(td)
            .iter()
            .any(|c| matches!(LogSource::of(c), LogSource::Awslogs { .. }))
        {
            needs.push("to write awslogs on Fargate");
        }
    }
    (needs, unjudged)
}

fn container_checks(facts: &TargetFacts, target: &VerifyTarget) -> Vec<Check> {
    let service = &target.service;
    let td = &facts.task_definition;
    let name = short_arn(&facts.snapshot.task_definition);
    let names = container_names(td);
    let listed = if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    };
    let mut checks = Vec::new();
    for container in &target.containers {
        checks.push(if names.contains(container) {
            Check::new(
                service,
                "container",
                CheckStatus::Ok,
                format!("{container} is in {name}"),
            )
        } else {
            Check::new(
                service,
                "container",
                CheckStatus::Problem,
                format!("no container {container:?} in {name} (its containers: {listed})"),
            )
        });
    }
    for lb in &facts.snapshot.load_balancers {
        let port = lb.container_port;
        let Some(container) = container_named(td, &lb.container_name) else {
            checks.push(Check::new(
                service,
                "container",
                CheckStatus::Problem,
                format!(
                    "the load balancer sends to {} port {port}, but {name} has no container {:?} (its containers: {listed})",
                    lb.container_name, lb.container_name
                ),
            ));
            continue;
        };
        let ports = mapped_ports(container);
        let shown = if ports.is_empty() {
            "none".to_string()
        } else {
            ports
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        checks.push(if ports.contains(&i64::from(port)) {
            Check::new(
                service,
                "container",
                CheckStatus::Ok,
                format!(
                    "the load balancer's port {port} of {} is in its portMappings ({name})",
                    lb.container_name
                ),
            )
        } else {
            Check::new(
                service,
                "container",
                CheckStatus::Problem,
                format!(
                    "the load balancer sends to {} port {port} (loadBalancers[].containerPort), but {name} maps no such port for it (its portMappings containerPort: {shown})",
                    lb.container_name
                ),
            )
        });
    }
    checks
}

fn role_check(facts: &TargetFacts, arn: &str) -> (CheckStatus, String) {
    let name = role_name(arn);
    match facts.roles.get(arn) {
        None => (
            CheckStatus::CouldNotCheck,
            format!("{name}: not looked up"),
        ),
        Some(Err(why)) => (CheckStatus::CouldNotCheck, format!("{name} ({why})")),
        Some(Ok(None)) => (
            CheckStatus::Problem,
            format!("{name} ({arn}) does not exist: ECS cannot assume it, so the tasks cannot start"),
        ),
        Some(Ok(Some(document))) => match trusts_ecs_tasks(document) {
            Ok(true) => (
                CheckStatus::Ok,
                format!("{name} exists and trusts ecs-tasks.amazonaws.com"),
            ),
            Ok(false) => (
                CheckStatus::Problem,
                format!(
                    "{name}'s trust policy does not let ecs-tasks.amazonaws.com sts:AssumeRole: ECS cannot assume it (add a statement allowing it)"
                ),
            ),
            Err(why) => (CheckStatus::CouldNotCheck, format!("{name}: {why}")),
        },
    }
}

fn role_checks(facts: &TargetFacts, target: &VerifyTarget) -> Vec<Check> {
    let service = &target.service;
    let td = &facts.task_definition;
    let name = short_arn(&facts.snapshot.task_definition);
    let mut checks = Vec::new();
    let (needs, unjudged) = execution_role_needs(facts, target);
    let ecr = if unjudged {
        " (no image to judge ECR pulls by)"
    } else {
        ""
    };
    match td["executionRoleArn"].as_str().filter(|a| !a.is_empty()) {
        None if needs.is_empty() => checks.push(Check::new(
            service,
            "execution role",
            CheckStatus::Ok,
            format!("{name} has none and needs none{ecr}"),
        )),
        None => checks.push(Check::new(
            service,
            "execution role",
            CheckStatus::Problem,
            format!(
                "{name} has no executionRoleArn, but its tasks need one {}{ecr}: they would fail to start",
                needs.join(", ")
            ),
        )),
        Some(arn) => {
            let (status, message) = role_check(facts, arn);
            checks.push(Check::new(service, "execution role", status, message));
        }
    }
    if let Some(arn) = td["taskRoleArn"].as_str().filter(|a| !a.is_empty()) {
        let (status, message) = role_check(facts, arn);
        checks.push(Check::new(service, "task role", status, message));
    }
    checks
}

fn secret_checks(facts: &TargetFacts, target: &VerifyTarget) -> Vec<Check> {
    let service = &target.service;
    let td = &facts.task_definition;
    let uses = secret_uses(td, target);
    if uses.is_empty() {
        return vec![Check::new(
            service,
            "secret",
            CheckStatus::Ok,
            format!(
                "none ({} and hoist.toml name none)",
                short_arn(&facts.snapshot.task_definition)
            ),
        )];
    }
    let account = td["taskDefinitionArn"].as_str().and_then(account_of);
    let mut by_value: BTreeMap<&str, Vec<&SecretUse>> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for one in &uses {
        if !by_value.contains_key(one.value_from.as_str()) {
            order.push(&one.value_from);
        }
        by_value.entry(&one.value_from).or_default().push(one);
    }
    order
        .into_iter()
        .map(|value_from| {
            let who = by_value[value_from]
                .iter()
                .map(|u| format!("{} ({})", u.name, u.container))
                .collect::<Vec<_>>()
                .join(", ");
            let reference = SecretRef::parse(value_from, account);
            let (status, what) = match (&reference, facts.secrets.get(value_from)) {
                (SecretRef::Unknown, _) => (
                    CheckStatus::Problem,
                    "not a Secrets Manager secret ARN nor an SSM parameter (ARN or name): ECS cannot read it".to_string(),
                ),
                (SecretRef::OtherAccountParameter { account: theirs }, _) => (
                    CheckStatus::CouldNotCheck,
                    format!(
                        "a parameter of account {theirs}, not the task definition's ({}): ssm:DescribeParameters does not list another account's parameters, and hoist reads no values",
                        account.unwrap_or("?")
                    ),
                ),
                (_, None) => (CheckStatus::CouldNotCheck, "not looked up".to_string()),
                (_, Some(Err(why))) => (CheckStatus::CouldNotCheck, why.clone()),
                (r, Some(Ok(SecretState::Found))) => {
                    (CheckStatus::Ok, format!("found in {}", r.store()))
                }
                (SecretRef::SecretsManager { .. }, Some(Ok(SecretState::Missing))) => (
                    CheckStatus::Problem,
                    "no such secret in Secrets Manager: the tasks would fail to start (ResourceInitializationError)".to_string(),
                ),
                (_, Some(Ok(SecretState::Missing))) => (
                    CheckStatus::Problem,
                    "no such SSM parameter: the tasks would fail to start (ResourceInitializationError)".to_string(),
                ),
                (_, Some(Ok(SecretState::Deleted))) => (
                    CheckStatus::Problem,
                    "scheduled for deletion in Secrets Manager: the tasks would fail to start (ResourceInitializationError)".to_string(),
                ),
            };
            Check::new(
                service,
                "secret",
                status,
                format!("{who} {value_from}: {what}"),
            )
        })
        .collect()
}

fn log_checks(facts: &TargetFacts, target: &VerifyTarget) -> Vec<Check> {
    let service = &target.service;
    let td = &facts.task_definition;
    let fargate = on_fargate(&facts.snapshot, td);
    let mut groups: Vec<(GroupKey, Vec<String>, bool)> = Vec::new();
    let mut checks = Vec::new();
    for container in containers(td) {
        let name = container["name"].as_str().unwrap_or("?").to_string();
        let LogSource::Awslogs {
            group,
            region,
            prefix,
            create_group,
        } = LogSource::of(container)
        else {
            continue;
        };
        if fargate && prefix.is_none() {
            checks.push(Check::new(
                service,
                "log group",
                CheckStatus::Problem,
                format!("{group} ({name}): no awslogs-stream-prefix, which Fargate requires"),
            ));
        }
        let key = (region, group);
        match groups.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, names, create)) => {
                names.push(name);
                *create |= create_group;
            }
            None => groups.push((key, vec![name], create_group)),
        }
    }
    if groups.is_empty() && checks.is_empty() {
        return vec![Check::new(
            service,
            "log group",
            CheckStatus::Ok,
            "no container logs with awslogs",
        )];
    }
    for ((region, group), names, create) in groups {
        let who = names.join(", ");
        let shown = match &region {
            Some(region) => format!("{group} in {region} ({who})"),
            None => format!("{group} ({who})"),
        };
        let answer = facts.log_groups.get(&(region.clone(), group.clone()));
        checks.push(match answer {
            _ if create => Check::new(
                service,
                "log group",
                CheckStatus::Ok,
                format!("{shown}: awslogs-create-group \"true\": created at first start (the execution role needs logs:CreateLogGroup)"),
            ),
            Some(Ok(true)) => Check::new(
                service,
                "log group",
                CheckStatus::Ok,
                format!("{shown} exists"),
            ),
            Some(Ok(false)) => Check::new(
                service,
                "log group",
                CheckStatus::Problem,
                format!("{shown} does not exist: the tasks would fail to start (ResourceInitializationError); create it, or set awslogs-create-group \"true\""),
            ),
            Some(Err(why)) => Check::new(
                service,
                "log group",
                CheckStatus::CouldNotCheck,
                format!("{shown} ({why})"),
            ),
            None => Check::new(
                service,
                "log group",
                CheckStatus::CouldNotCheck,
                format!("{shown}: not looked up"),
            ),
        });
    }
    checks
}

fn grace_checks(facts: &TargetFacts, target: &VerifyTarget) -> Vec<Check> {
    let service = &target.service;
    if facts.snapshot.load_balancers.is_empty() {
        return vec![Check::new(
            service,
            "grace period",
            CheckStatus::Ok,
            "not load-balanced: none needed",
        )];
    }
    match facts.snapshot.health_check_grace_seconds {
        Some(seconds) if seconds > 0 => vec![Check::new(
            service,
            "grace period",
            CheckStatus::Ok,
            format!("{seconds} s before failed load-balancer health checks count (healthCheckGracePeriodSeconds)"),
        )],
        _ => vec![Check::new(
            service,
            "grace period",
            CheckStatus::Problem,
            "the service is load-balanced but has no healthCheckGracePeriodSeconds: ECS may stop tasks that fail health checks while the JVM starts (set it above the app's start-up time, e.g. 60)",
        )],
    }
}

fn target_group_checks(facts: &TargetFacts, target: &VerifyTarget) -> Vec<Check> {
    let service = &target.service;
    let td = &facts.task_definition;
    let awsvpc = td["networkMode"] == "awsvpc";
    let all_ports: Vec<i64> = containers(td).into_iter().flat_map(mapped_ports).collect();
    let mut checks = Vec::new();
    for lb in &facts.snapshot.load_balancers {
        let Some(arn) = &lb.target_group_arn else {
            continue;
        };
        let short = arn
            .split(':')
            .next_back()
            .unwrap_or(arn)
            .trim_start_matches("targetgroup/");
        let check = |status, message: String| Check::new(service, "target group", status, message);
        let group = match facts.target_groups.get(arn) {
            None => {
                checks.push(check(
                    CheckStatus::CouldNotCheck,
                    format!("{short}: not looked up"),
                ));
                continue;
            }
            Some(Err(why)) => {
                checks.push(check(
                    CheckStatus::CouldNotCheck,
                    format!("{short} ({why})"),
                ));
                continue;
            }
            Some(Ok(None)) => {
                checks.push(check(
                    CheckStatus::Problem,
                    format!("target group ARN not found: {arn} (DescribeTargetGroups did not return it), so ECS cannot register the tasks"),
                ));
                continue;
            }
            Some(Ok(Some(group))) => group,
        };
        let name = &group.name;
        let mut wrong = Vec::new();
        if group.load_balancers == 0 {
            wrong.push(
                "it is attached to no load balancer: ECS refuses to register tasks in it"
                    .to_string(),
            );
        }
        let target_type = group.target_type.as_deref().unwrap_or("instance");
        if awsvpc && target_type != "ip" {
            wrong.push(format!(
                "its target type is {target_type}, but awsvpc tasks register by IP address: it needs target type ip"
            ));
        }
        let health_port = group.health_check_port.as_deref().unwrap_or("traffic-port");
        if let Ok(port) = health_port.parse::<i64>() {
            if port != i64::from(lb.container_port) && !all_ports.contains(&port) {
                wrong.push(format!(
                    "its health check goes to port {port}, which no container of {} maps (the traffic goes to {}:{})",
                    short_arn(&facts.snapshot.task_definition),
                    lb.container_name,
                    lb.container_port
                ));
            }
        }
        if wrong.is_empty() {
            let mut health = format!(
                "{} {health_port}",
                group.health_check_protocol.as_deref().unwrap_or("?")
            );
            if let Some(path) = &group.health_check_path {
                health.push(' ');
                health.push_str(path);
            }
            checks.push(check(
                CheckStatus::Ok,
                format!(
                    "{name} ({target_type}, health check {health}) fits {}:{}",
                    lb.container_name, lb.container_port
                ),
            ));
        } else {
            checks.push(check(
                CheckStatus::Problem,
                format!("{name}: {}", wrong.join("; ")),
            ));
        }
    }
    checks
}

/// Every check of one service (or one-off task: no grace period nor target
/// groups), from what was read (pure).
pub(super) fn judge(facts: &TargetFacts, platforms: &[String], from: PlatformsFrom) -> Vec<Check> {
    let Some(target) = &facts.target else {
        return Vec::new();
    };
    let mut checks = vec![platform_check(facts, &Platforms { platforms, from })];
    checks.extend(container_checks(facts, target));
    checks.extend(role_checks(facts, target));
    checks.extend(secret_checks(facts, target));
    checks.extend(log_checks(facts, target));
    if !facts.one_off {
        checks.extend(grace_checks(facts, target));
        checks.extend(target_group_checks(facts, target));
        checks.extend(super::speed::speed_checks(facts, target));
    }
    checks
}

#[cfg(test)]
mod tests {
    use crate::ecs::verify::facts::{SecretState, TargetGroupFacts};
    use crate::ecs::verify::fixtures::{
        behind_load_balancer, facts, only, problem, run, DB, ECR_IMAGE, EXEC, TASK, TG, TRUST,
    };
    use crate::ecs::verify::{Check, CheckStatus};
    use serde_json::json;

    #[test]
    fn a_clean_setup_is_all_ok_and_says_so_line_by_line() {
        let checks = run(&behind_load_balancer(facts(), Some(60)));
        assert!(
            checks.iter().all(|c| c.status == CheckStatus::Ok),
            "{checks:#?}"
        );
        let lines: Vec<String> = checks.iter().map(|c| c.line(false)).collect();
        assert_eq!(
            lines[0],
            "ok       platform: linux/amd64 (as configured) matches X86_64 (plog-api:3)"
        );
        for expected in [
            "ok       container: plog-back is in plog-api:3",
            "ok       container: the load balancer's port 8080 of plog-back is in its portMappings (plog-api:3)",
            "ok       execution role: ecsTaskExecutionRole exists and trusts ecs-tasks.amazonaws.com",
            "ok       task role: plog-api-task exists and trusts ecs-tasks.amazonaws.com",
            "ok       secret: DB_PASSWORD (plog-back) arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:plog/db-AbCdEf: found in Secrets Manager",
            "ok       log group: /ecs/plog-api in ap-northeast-2 (plog-back) exists",
            "ok       grace period: 60 s before failed load-balancer health checks count (healthCheckGracePeriodSeconds)",
            "ok       target group: plog-tg (ip, health check HTTP traffic-port /actuator/health) fits plog-back:8080",
        ] {
            assert!(lines.iter().any(|l| l == expected), "{expected}\n{lines:#?}");
        }
        let without_lb = run(&facts());
        assert_eq!(
            only(&without_lb, "grace period")[0].message,
            "not load-balanced: none needed"
        );
        assert!(only(&without_lb, "target group").is_empty());
    }

    #[test]
    fn containers_and_load_balancer_ports_must_be_in_the_task_definition() {
        let mut facts = behind_load_balancer(facts(), Some(60));
        facts.target.as_mut().unwrap().containers = vec!["plog-bak".into()];
        let checks = run(&facts);
        assert_eq!(
            problem(&checks, "container").message,
            "no container \"plog-bak\" in plog-api:3 (its containers: plog-back, datadog-agent)"
        );
        let mut facts = behind_load_balancer(self::facts(), Some(60));
        facts.task_definition["containerDefinitions"][0]["portMappings"] =
            json!([{"containerPort": 9090}]);
        let checks = run(&facts);
        assert_eq!(
            problem(&checks, "container").message,
            "the load balancer sends to plog-back port 8080 (loadBalancers[].containerPort), but plog-api:3 maps no such port for it (its portMappings containerPort: 9090)"
        );
        facts.snapshot.load_balancers[0].container_name = "nginx".into();
        let checks = run(&facts);
        assert!(problem(&checks, "container")
            .message
            .contains("has no container \"nginx\""));
    }

    #[test]
    fn an_execution_role_is_needed_exists_and_trusts_ecs_tasks() {
        // Needed (secrets, awslogs and an ECR image on Fargate) but not set.
        let mut facts = facts();
        facts
            .task_definition
            .as_object_mut()
            .unwrap()
            .remove("executionRoleArn");
        facts.image = Some(ECR_IMAGE.into());
        let checks = run(&facts);
        let bad = problem(&checks, "execution role");
        assert_eq!(
            bad.message,
            "plog-api:3 has no executionRoleArn, but its tasks need one to read its secrets, to pull a private ECR image on Fargate, to write awslogs on Fargate: they would fail to start"
        );
        // Without the image deployed, the ECR need is not guessed from the
        // task definition's image (which hoist replaces): said so.
        facts.image = None;
        assert_eq!(
            problem(&run(&facts), "execution role").message,
            "plog-api:3 has no executionRoleArn, but its tasks need one to read its secrets, to write awslogs on Fargate (no image to judge ECR pulls by): they would fail to start"
        );
        // Not needed: no secrets, no logs, a public image, on EC2.
        let mut plain = facts.clone();
        plain.snapshot.launch_type = Some("EC2".into());
        let container = &mut plain.task_definition["containerDefinitions"][0];
        container.as_object_mut().unwrap().remove("secrets");
        let checks = run(&plain);
        assert_eq!(
            only(&checks, "execution role")[0].message,
            "plog-api:3 has none and needs none"
        );
        // hoist.toml's secrets count too.
        plain.target.as_mut().unwrap().secrets = vec![("DB".into(), "plog/db".into())];
        assert_eq!(
            only(&run(&plain), "execution role")[0].status,
            CheckStatus::Problem
        );
        // The image ship deploys decides the ECR need.
        let mut public = self::facts();
        public.task_definition["containerDefinitions"][0]
            .as_object_mut()
            .unwrap()
            .remove("secrets");
        public.task_definition["containerDefinitions"][0]
            .as_object_mut()
            .unwrap()
            .remove("logConfiguration");
        public
            .task_definition
            .as_object_mut()
            .unwrap()
            .remove("executionRoleArn");
        public.image = Some("registry.example/plog-back@sha256:cd".into());
        assert_eq!(
            only(&run(&public), "execution role")[0].message,
            "plog-api:3 has none and needs none"
        );
        public.image = None;
        let unknown = only(&run(&public), "execution role")[0].clone();
        assert_eq!(
            (unknown.status, unknown.message.as_str()),
            (
                CheckStatus::Ok,
                "plog-api:3 has none and needs none (no image to judge ECR pulls by)"
            )
        );
        // On EC2 the instance pulls: nothing to judge.
        public.snapshot.launch_type = Some("EC2".into());
        assert_eq!(
            only(&run(&public), "execution role")[0].message,
            "plog-api:3 has none and needs none"
        );
        public.snapshot.launch_type = Some("FARGATE".into());
        public.image = Some(ECR_IMAGE.into());
        assert!(problem(&run(&public), "execution role")
            .message
            .contains("to pull a private ECR image on Fargate"));
        // Missing, untrusting, unreadable.
        let mut gone = self::facts();
        gone.roles.insert(EXEC.into(), Ok(None));
        assert!(problem(&run(&gone), "execution role")
            .message
            .starts_with("ecsTaskExecutionRole (arn:aws:iam::123456789012:role/ecsTaskExecutionRole) does not exist"));
        let mut untrusting = self::facts();
        untrusting.roles.insert(
            EXEC.into(),
            Ok(Some(
                TRUST.replace("ecs-tasks.amazonaws.com", "ec2.amazonaws.com"),
            )),
        );
        assert!(problem(&run(&untrusting), "execution role")
            .message
            .contains("does not let ecs-tasks.amazonaws.com sts:AssumeRole"));
        let mut denied = self::facts();
        denied
            .roles
            .insert(TASK.into(), Err("needs iam:GetRole: AccessDenied".into()));
        let checks = run(&denied);
        let task = only(&checks, "task role")[0];
        assert_eq!(
            task.line(false),
            "could not check task role: plog-api-task (needs iam:GetRole: AccessDenied)"
        );
    }

    #[test]
    fn missing_secrets_and_parameters_are_problems_unread_ones_are_not() {
        let missing = "arn:aws:ssm:ap-northeast-2:123456789012:parameter/plog/missing";
        let mut facts = facts();
        facts.target.as_mut().unwrap().secrets = vec![("EXTRA".into(), missing.into())];
        facts
            .secrets
            .insert(missing.into(), Ok(SecretState::Missing));
        facts.secrets.insert(DB.into(), Ok(SecretState::Deleted));
        let checks = run(&facts);
        let bad: Vec<&Check> = only(&checks, "secret")
            .into_iter()
            .filter(|c| c.status == CheckStatus::Problem)
            .collect();
        assert_eq!(bad.len(), 2, "{checks:#?}");
        assert!(bad[0].message.contains("scheduled for deletion"));
        assert_eq!(
            bad[1].message,
            format!("EXTRA (plog-back) {missing}: no such SSM parameter: the tasks would fail to start (ResourceInitializationError)")
        );
        facts.secrets.insert(
            DB.into(),
            Err("needs secretsmanager:DescribeSecret: AccessDeniedException".into()),
        );
        let checks = run(&facts);
        assert!(only(&checks, "secret")
            .iter()
            .any(|c| c.status == CheckStatus::CouldNotCheck
                && c.message
                    .ends_with("needs secretsmanager:DescribeSecret: AccessDeniedException")));
    }

    #[test]
    fn log_groups_must_exist_unless_created_at_first_start() {
        let mut facts = facts();
        facts.log_groups.insert(
            (Some("ap-northeast-2".into()), "/ecs/plog-api".into()),
            Ok(false),
        );
        let checks = run(&facts);
        assert!(problem(&checks, "log group")
            .message
            .starts_with("/ecs/plog-api in ap-northeast-2 (plog-back) does not exist"));
        facts.task_definition["containerDefinitions"][0]["logConfiguration"]["options"]
            ["awslogs-create-group"] = json!("true");
        let checks = run(&facts);
        assert!(only(&checks, "log group")[0]
            .message
            .contains("created at first start"));
        // Fargate wants a stream prefix.
        facts.task_definition["containerDefinitions"][0]["logConfiguration"]["options"]
            .as_object_mut()
            .unwrap()
            .remove("awslogs-stream-prefix");
        assert!(problem(&run(&facts), "log group")
            .message
            .contains("no awslogs-stream-prefix"));
    }

    #[test]
    fn a_load_balanced_service_needs_a_grace_period_and_a_fitting_target_group() {
        for grace in [None, Some(0)] {
            let checks = run(&behind_load_balancer(facts(), grace));
            assert!(problem(&checks, "grace period")
                .message
                .contains("ECS may stop tasks that fail health checks while the JVM starts"));
        }
        let mut facts = behind_load_balancer(facts(), Some(60));
        facts.target_groups.insert(
            TG.into(),
            Ok(Some(TargetGroupFacts {
                name: "plog-tg".into(),
                target_type: Some("instance".into()),
                health_check_port: Some("9999".into()),
                load_balancers: 0,
                ..TargetGroupFacts::default()
            })),
        );
        let bad = problem(&run(&facts), "target group").message.clone();
        assert!(
            bad.contains("attached to no load balancer")
                && bad.contains("needs target type ip")
                && bad.contains("health check goes to port 9999"),
            "{bad}"
        );
        facts.target_groups.insert(TG.into(), Ok(None));
        assert_eq!(
            problem(&run(&facts), "target group").message,
            format!("target group ARN not found: {TG} (DescribeTargetGroups did not return it), so ECS cannot register the tasks")
        );
    }

    #[test]
    fn another_accounts_parameter_could_not_be_checked_and_is_not_looked_up() {
        let shared = "arn:aws:ssm:ap-northeast-2:999999999999:parameter/shared/flags";
        let mut facts = facts();
        facts.target.as_mut().unwrap().secrets = vec![("SHARED".into(), shared.into())];
        let checks = run(&facts);
        let line = only(&checks, "secret")
            .into_iter()
            .find(|c| c.message.contains(shared))
            .unwrap()
            .line(false);
        assert_eq!(
            line,
            format!("could not check secret: SHARED (plog-back) {shared}: a parameter of account 999999999999, not the task definition's (123456789012): ssm:DescribeParameters does not list another account's parameters, and hoist reads no values")
        );
    }

    #[test]
    fn a_one_off_task_gets_the_task_definitions_checks_and_no_service_ones() {
        let mut task = behind_load_balancer(facts(), None);
        task.one_off = true;
        task.snapshot.load_balancers.clear();
        let target = task.target.as_mut().unwrap();
        target.service = "task db-migrate".into();
        target.secrets = vec![("FLAGS".into(), "/plog/flags".into())];
        task.secrets
            .insert("/plog/flags".into(), Ok(SecretState::Missing));
        let checks = run(&task);
        let kinds: Vec<&str> = checks.iter().map(|c| c.check.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "platform",
                "container",
                "execution role",
                "task role",
                "secret",
                "secret",
                "log group"
            ]
        );
        assert_eq!(
            problem(&checks, "secret").text(true),
            "[task db-migrate] secret: FLAGS (plog-back) /plog/flags: no such SSM parameter: the tasks would fail to start (ResourceInitializationError)"
        );
    }
}
