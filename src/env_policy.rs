//! `hoist policy ENV`'s facts, read: the environment's repository, cluster,
//! services and one-off tasks from hoist.toml; each service's task
//! definition (DescribeServices, DescribeTaskDefinition) for its family,
//! roles, awslogs groups and secrets; `[[image.files]]`' secrets. The policy
//! itself is [`crate::policy`]'s.

use crate::config::HoistConfig;
use crate::ecs::client::EcsClient;
use crate::ecs::ServiceTarget;
use crate::policy::{least_privilege, PolicyFacts};
use anyhow::{Context, Result};
use serde_json::Value;

/// The least-privilege policy of environment `name`.
pub async fn environment_policy(config: &HoistConfig, name: &str) -> Result<Value> {
    let env = config.environment(name)?;
    let repository = crate::env_plan::env_repository(config, name, env)?;
    let client = EcsClient::new(&crate::env_plan::aws_options(env)).await?;
    let mut facts = PolicyFacts {
        cluster: env
            .cluster
            .rsplit('/')
            .next()
            .unwrap_or(&env.cluster)
            .to_string(),
        create_repository: config.registry.create_repository,
        repository: crate::registry::ecr::ecr_host_parts(&repository.registry).map(
            |(account, region)| {
                (
                    account.to_string(),
                    region.to_string(),
                    repository.repository.clone(),
                )
            },
        ),
        image_file_secrets: config
            .image
            .files
            .iter()
            .filter_map(|f| f.secret.clone())
            .collect(),
        ..Default::default()
    };
    let mut definitions = Vec::new();
    for target in env.targets() {
        let snapshot = client.snapshot(&env.cluster, &target.service).await?;
        facts.services.push(target.service.clone());
        if snapshot.controller == "CODE_DEPLOY" {
            let names = crate::ecs::CodeDeployNames {
                application: env.codedeploy_application.clone(),
                deployment_group: env.codedeploy_group.clone(),
            };
            facts.codedeploy.push(names.resolve(&ServiceTarget {
                cluster: env.cluster.clone(),
                service: target.service.clone(),
            }));
        }
        definitions.push(snapshot.task_definition.clone());
        facts.secrets.extend(target.secrets.values().cloned());
    }
    for task in &env.tasks {
        definitions.push(task.task_definition.clone());
    }
    for definition in definitions {
        let described = client
            .describe_task_definition_raw(&definition)
            .await
            .with_context(|| format!("reading task definition {definition}"))?;
        read_definition(&described["taskDefinition"], &mut facts);
    }
    facts
        .secrets
        .retain(|s| s.starts_with("arn:") && s.split(':').nth(2) == Some("secretsmanager"));
    for list in [&mut facts.families, &mut facts.roles, &mut facts.secrets] {
        list.sort();
        list.dedup();
    }
    facts.log_groups.sort();
    facts.log_groups.dedup();
    Ok(least_privilege(&facts))
}

/// What one task definition adds: its family, region, account and
/// partition (from its ARN), roles, awslogs groups and secrets.
fn read_definition(definition: &Value, facts: &mut PolicyFacts) {
    let text = |v: &Value| v.as_str().map(str::to_string);
    if let Some(arn) = text(&definition["taskDefinitionArn"]) {
        let parts: Vec<&str> = arn.split(':').collect();
        if parts.len() > 4 && facts.account.is_empty() {
            facts.partition = parts[1].to_string();
            facts.region = parts[3].to_string();
            facts.account = parts[4].to_string();
        }
    }
    facts.families.extend(text(&definition["family"]));
    facts.roles.extend(text(&definition["taskRoleArn"]));
    facts.roles.extend(text(&definition["executionRoleArn"]));
    for container in definition["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let log = &container["logConfiguration"];
        if log["logDriver"] == "awslogs" {
            if let Some(group) = text(&log["options"]["awslogs-group"]) {
                let region =
                    text(&log["options"]["awslogs-region"]).unwrap_or_else(|| facts.region.clone());
                facts.log_groups.push((region, group));
            }
        }
        for secret in container["secrets"].as_array().into_iter().flatten() {
            facts.secrets.extend(text(&secret["valueFrom"]));
        }
    }
}
