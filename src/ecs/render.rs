//! Task-definition rendering: the current task definition (as the raw JSON
//! DescribeTaskDefinition returned) in, the RegisterTaskDefinition input out.
//! A pure function: no network, no clock.
//!
//! Working on the raw JSON rather than on the SDK's typed structs means no
//! field is dropped because the SDK is older than the API. Top-level fields
//! are sorted into three kinds: registration inputs (kept exactly),
//! read-only outputs (dropped), and unknown ones — which stop the render
//! with an error naming the field, since hoist cannot tell whether
//! registering would need it or refuse it.

use crate::error::{usage, usage_hint};
use anyhow::Result;
use serde_json::{Map, Value};

/// Fields of DescribeTaskDefinition's `taskDefinition` that RegisterTaskDefinition accepts.
pub(crate) const REGISTRATION_FIELDS: &[&str] = &[
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
];

/// Fields that only describe a registered revision; never sent back.
pub(crate) const READ_ONLY_FIELDS: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
];

/// What to change in the task definition.
#[derive(Clone, Debug, Default)]
pub struct TaskDefinitionPatch {
    /// The container whose image is replaced.
    pub container: String,
    /// The new image (pinned by digest, normally).
    pub image: String,
    /// Environment variables to set in that container (`KEY`, `VALUE`).
    pub environment: Vec<(String, String)>,
    /// Secrets to set in that container (`NAME`, `ARN`).
    pub secrets: Vec<(String, String)>,
}

/// Renders the registration input for `patch` applied to `described`, the
/// DescribeTaskDefinition response (`{"taskDefinition": …, "tags": […]}`).
pub(crate) fn render(described: &Value, patch: &TaskDefinitionPatch) -> Result<Value> {
    let mut input = registration_input(described)?;
    let containers = input
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| usage("the task definition has no containerDefinitions"))?;
    let names: Vec<String> = containers
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect();
    let container = containers
        .iter_mut()
        .find(|c| c["name"] == patch.container.as_str())
        .ok_or_else(|| {
            usage_hint(
                format!("no container {:?} in the task definition", patch.container),
                format!("its containers are: {}", names.join(", ")),
            )
        })?;
    let object = container
        .as_object_mut()
        .expect("container definitions are objects");
    object.insert("image".into(), Value::String(patch.image.clone()));
    merge_named(object, "environment", "name", "value", &patch.environment);
    merge_named(object, "secrets", "name", "valueFrom", &patch.secrets);
    Ok(input)
}

/// The registration input for a described task definition, unchanged:
/// registration fields kept, read-only ones dropped, tags added, unknown
/// fields refused.
pub(crate) fn registration_input(described: &Value) -> Result<Value> {
    let definition = described
        .get("taskDefinition")
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow::anyhow!("DescribeTaskDefinition returned no taskDefinition"))?;
    let mut input = Map::new();
    for (key, value) in definition {
        if REGISTRATION_FIELDS.contains(&key.as_str()) {
            input.insert(key.clone(), value.clone());
        } else if !READ_ONLY_FIELDS.contains(&key.as_str()) {
            return Err(usage_hint(
                format!(
                    "task definition {}: field {key:?} is unknown to this hoist",
                    definition.get("family").and_then(Value::as_str).unwrap_or("?")
                ),
                "it may be newer than hoist; upgrade hoist so the field is carried over, rather than dropped",
            ));
        }
    }
    if let Some(tags) = described.get("tags").and_then(Value::as_array) {
        if !tags.is_empty() {
            input.insert("tags".into(), Value::Array(tags.clone()));
        }
    }
    Ok(Value::Object(input))
}

/// Sets `name → value` pairs in the list `field` of `container` (a list of
/// `{key_name: …, value_name: …}` objects): an existing entry keeps its
/// place with the new value, a new one is appended.
fn merge_named(
    container: &mut Map<String, Value>,
    field: &str,
    key_name: &str,
    value_name: &str,
    pairs: &[(String, String)],
) {
    if pairs.is_empty() {
        return;
    }
    let list = container
        .entry(field)
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(items) = list.as_array_mut() else {
        return;
    };
    for (key, value) in pairs {
        match items.iter_mut().find(|item| item[key_name] == key.as_str()) {
            Some(item) => item[value_name] = Value::String(value.clone()),
            None => {
                let mut entry = Map::new();
                entry.insert(key_name.into(), Value::String(key.clone()));
                entry.insert(value_name.into(), Value::String(value.clone()));
                items.push(Value::Object(entry));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn described() -> Value {
        json!({
            "taskDefinition": {
                "taskDefinitionArn": "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/plog-api:7",
                "family": "plog-api",
                "revision": 7,
                "status": "ACTIVE",
                "cpu": "512",
                "containerDefinitions": [
                    {"name": "plog-back", "image": "old@sha256:aa", "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                    {"name": "sidecar", "image": "agent:7", "essential": false}
                ],
                "registeredAt": 1700000000.0,
                "compatibilities": ["EC2", "FARGATE"]
            },
            "tags": [{"key": "team", "value": "plog"}]
        })
    }

    #[test]
    fn replaces_the_image_and_merges_environment_in_place() {
        let patch = TaskDefinitionPatch {
            container: "plog-back".into(),
            image: "repo@sha256:bb".into(),
            environment: vec![("B".into(), "x=y".into()), ("C".into(), "3".into())],
            secrets: vec![("DB".into(), "arn:secret".into())],
        };
        let out = render(&described(), &patch).unwrap();
        let app = &out["containerDefinitions"][0];
        assert_eq!(app["image"], "repo@sha256:bb");
        assert_eq!(
            app["environment"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "x=y"}, {"name": "C", "value": "3"}])
        );
        assert_eq!(
            app["secrets"],
            json!([{"name": "DB", "valueFrom": "arn:secret"}])
        );
        assert_eq!(
            out["containerDefinitions"][1],
            described()["taskDefinition"]["containerDefinitions"][1]
        );
        assert_eq!(out["tags"], json!([{"key": "team", "value": "plog"}]));
        for field in READ_ONLY_FIELDS {
            assert!(out.get(field).is_none(), "{field} dropped");
        }
        assert_eq!(out["cpu"], "512");
    }

    #[test]
    fn an_unknown_container_lists_the_names() {
        let patch = TaskDefinitionPatch {
            container: "web".into(),
            image: "x".into(),
            ..Default::default()
        };
        let err = render(&described(), &patch).unwrap_err().to_string();
        assert!(
            err.contains("\"web\"") && err.contains("plog-back, sidecar"),
            "{err}"
        );
    }

    fn recorded(name: &str) -> Value {
        let path = format!("{}/testdata/ecs/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    /// Everything but the patched container's image/environment/secrets is unchanged.
    fn assert_only_the_patch_changed(described: &Value, out: &Value, patch: &TaskDefinitionPatch) {
        let definition = described["taskDefinition"].as_object().unwrap();
        for (key, value) in definition {
            if READ_ONLY_FIELDS.contains(&key.as_str()) {
                assert!(out.get(key).is_none(), "{key} must be dropped");
            } else if key != "containerDefinitions" {
                assert_eq!(&out[key], value, "{key} must be kept exactly");
            }
        }
        let before = definition["containerDefinitions"].as_array().unwrap();
        let after = out["containerDefinitions"].as_array().unwrap();
        assert_eq!(before.len(), after.len());
        for (b, a) in before.iter().zip(after) {
            if b["name"] != patch.container.as_str() {
                assert_eq!(a, b, "other containers are untouched");
                continue;
            }
            for (key, value) in b.as_object().unwrap() {
                if !["image", "environment", "secrets"].contains(&key.as_str()) {
                    assert_eq!(&a[key], value, "{key} of the patched container is kept");
                }
            }
            assert_eq!(a["image"], patch.image.as_str());
        }
    }

    #[test]
    fn recorded_fargate_task_definition_with_a_sidecar() {
        let described = recorded("fargate-two-containers.json");
        let patch = TaskDefinitionPatch {
            container: "plog-back".into(),
            image: format!(
                "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/plog-back@sha256:{}",
                "2".repeat(64)
            ),
            environment: vec![("SPRING_PROFILES_ACTIVE".into(), "prod".into())],
            secrets: vec![],
        };
        let out = render(&described, &patch).unwrap();
        assert_only_the_patch_changed(&described, &out, &patch);
        assert_eq!(
            out["containerDefinitions"][0]["environment"][0],
            json!({"name": "SPRING_PROFILES_ACTIVE", "value": "prod"})
        );
        assert_eq!(
            out["containerDefinitions"][0]["environment"][1]["value"],
            "-Xmx512m -Dfile.encoding=UTF-8"
        );
        assert_eq!(out["tags"], described["tags"]);
        assert_eq!(out["ephemeralStorage"], json!({"sizeInGiB": 30}));
    }

    #[test]
    fn recorded_ec2_task_definition_with_several_containers() {
        let described = recorded("ec2-bridge.json");
        let patch = TaskDefinitionPatch {
            container: "app".into(),
            image: format!(
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/legacy@sha256:{}",
                "3".repeat(64)
            ),
            environment: vec![("NEW_FLAG".into(), "a=b=c".into())],
            secrets: vec![(
                "TOKEN".into(),
                "arn:aws:ssm:us-east-1:123456789012:parameter/token".into(),
            )],
        };
        let out = render(&described, &patch).unwrap();
        assert_only_the_patch_changed(&described, &out, &patch);
        assert_eq!(
            out["containerDefinitions"][1]["environment"],
            json!([{"name": "NEW_FLAG", "value": "a=b=c"}])
        );
        assert!(out.get("tags").is_none(), "no tags, no tags key");
        assert!(out.get("deregisteredAt").is_none());
    }

    #[test]
    fn a_recorded_task_definition_with_an_unknown_field_is_refused() {
        let err = registration_input(&recorded("fargate-unknown-field.json"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("hypotheticalNewField"), "{err}");
    }

    #[test]
    fn an_unknown_field_is_refused_by_name() {
        let mut d = described();
        d["taskDefinition"]["quantumShielding"] = json!(true);
        let err = registration_input(&d).unwrap_err().to_string();
        assert!(err.contains("quantumShielding"), "{err}");
    }
}
