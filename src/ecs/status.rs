//! `hoist status`: what a service runs now — its deployments with counts, the
//! images of each deployment's task definition, and its last events.

use crate::ecs::client::EcsClient;
use crate::ecs::deploy::ServiceTarget;
use crate::ecs::rollout::ServiceSnapshot;
use anyhow::Result;
use std::collections::BTreeMap;

/// A service's deployments and the images each one runs.
pub struct ServiceStatus {
    /// DescribeServices' view of the service.
    pub snapshot: ServiceSnapshot,
    /// Per task-definition ARN: `container=image` for each container.
    pub images: BTreeMap<String, Vec<String>>,
}

/// Reads the service and the task definition of each of its deployments.
pub async fn service_status(client: &EcsClient, target: &ServiceTarget) -> Result<ServiceStatus> {
    let snapshot = client.snapshot(&target.cluster, &target.service).await?;
    let mut images = BTreeMap::new();
    for deployment in &snapshot.deployments {
        if images.contains_key(&deployment.task_definition) {
            continue;
        }
        let described = client
            .describe_task_definition_raw(&deployment.task_definition)
            .await?;
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
        images.insert(deployment.task_definition.clone(), containers);
    }
    Ok(ServiceStatus { snapshot, images })
}
