//! What the checks read off a task definition's JSON: its containers and
//! their port mappings, whether its tasks run on Fargate, whether an image is
//! in ECR, an ARN's account. Pure, and judges nothing.

use crate::ecs::service::ServiceSnapshot;
use serde_json::Value;

/// The account of an ARN.
pub(super) fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

pub(super) fn containers(td: &Value) -> Vec<&Value> {
    td["containerDefinitions"]
        .as_array()
        .map(|cs| cs.iter().collect())
        .unwrap_or_default()
}

pub(super) fn container_named<'a>(td: &'a Value, name: &str) -> Option<&'a Value> {
    containers(td).into_iter().find(|c| c["name"] == name)
}

pub(super) fn container_names(td: &Value) -> Vec<String> {
    containers(td)
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect()
}

pub(super) fn mapped_ports(container: &Value) -> Vec<i64> {
    container["portMappings"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m["containerPort"].as_i64())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the service's tasks run on Fargate.
pub(super) fn on_fargate(snapshot: &ServiceSnapshot, td: &Value) -> bool {
    match snapshot.launch_type.as_deref() {
        Some(launch_type) => launch_type == "FARGATE",
        None => td["requiresCompatibilities"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c == "FARGATE")),
    }
}

/// An image in a private Amazon ECR repository.
pub(super) fn is_ecr_image(image: &str) -> bool {
    let host = image.split('/').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    host.contains(".dkr.ecr.")
        && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"))
}
