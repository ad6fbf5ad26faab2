//! `hoist status`: what a service runs now — its deployments with counts, the
//! images of each deployment's task definition, and its last events.

use crate::ecs::client::EcsClient;
use crate::ecs::rollout::codedeploy::{CodeDeployClient, CodeDeployNames};
use crate::ecs::service::ServiceSnapshot;
use crate::ecs::service::ServiceTarget;
use anyhow::Result;
use std::collections::BTreeMap;

/// A service's deployments and the images each one runs.
pub struct ServiceStatus {
    /// DescribeServices' view of the service.
    pub snapshot: ServiceSnapshot,
    /// Per task-definition ARN: `container=image` for each container.
    pub images: BTreeMap<String, Vec<String>>,
    /// For CODE_DEPLOY services: the group's newest deployment (id, status).
    pub codedeploy: Option<(String, String)>,
}

/// Reads the service and the task definition of each of its deployments.
/// For CODE_DEPLOY services (which list no ECS deployments) the service's
/// task definition and the CodeDeploy group's newest deployment.
pub async fn service_status(
    client: &EcsClient,
    target: &ServiceTarget,
    codedeploy: &CodeDeployNames,
) -> Result<ServiceStatus> {
    let snapshot = client.snapshot(&target.cluster, &target.service).await?;
    let mut images = BTreeMap::new();
    let mut task_definitions: Vec<&str> = snapshot
        .deployments
        .iter()
        .map(|d| d.task_definition.as_str())
        .collect();
    if task_definitions.is_empty() && !snapshot.task_definition.is_empty() {
        task_definitions.push(&snapshot.task_definition);
    }
    for task_definition in task_definitions {
        if images.contains_key(task_definition) {
            continue;
        }
        let described = client.describe_task_definition_raw(task_definition).await?;
        let containers: Vec<String> = described["taskDefinition"]["containerDefinitions"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        format!(
                            "{}={}",
                            c["name"].as_str().unwrap_or("?"),
                            c["image"].as_str().unwrap_or("?")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        images.insert(task_definition.to_string(), containers);
    }
    let codedeploy = if snapshot.controller == "CODE_DEPLOY" {
        let (app, group) = codedeploy.resolve(target);
        CodeDeployClient::new(&client.aws)
            .await
            .latest(&app, &group)
            .await?
    } else {
        None
    };
    Ok(ServiceStatus {
        snapshot,
        images,
        codedeploy,
    })
}
