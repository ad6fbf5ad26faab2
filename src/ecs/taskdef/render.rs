//! Task-definition rendering: a task definition in DescribeTaskDefinition's
//! shape (`{"taskDefinition": …, "tags": […]}`, as ECS sent it or as
//! the task-file reader read it from a file) in, the
//! RegisterTaskDefinition input out. A pure function: no network, no clock.
//!
//! Working on the raw JSON rather than on the SDK's typed structs means no
//! field is dropped because the SDK is older than the API. The rules:
//!
//! - The read-only fields DescribeTaskDefinition adds ([`READ_ONLY_FIELDS`])
//!   are dropped; every other top-level field goes through unchanged. Fields
//!   that are neither read-only nor RegisterTaskDefinition inputs hoist knows
//!   ([`REGISTRATION_FIELDS`]) are named in [`Rendered::unknown_fields`] so the
//!   caller can say, on one line, that it passes them through: a field AWS
//!   added after this hoist should not block a deploy.
//! - `null` members are removed, at any depth. In ECS's JSON an unset field is
//!   an absent one (the SDKs never send `null`); old console copies print every
//!   unset field as `null`, and RegisterTaskDefinition does not accept that for
//!   all of them. `null` items of a list are left alone.
//! - Tags: the wrapper's `tags` and a `tags` list inside the task definition
//!   itself (the render action's input form keeps them there) both become the
//!   registration's `tags` (the wrapper's value wins for a key in both). Tags
//!   whose key or value starts with `aws:` (in any case) are not sent back: AWS
//!   reserves that prefix and "you cannot edit or delete tag keys or values with
//!   this prefix" (ECS API reference, Tag:
//!   <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Tag.html>).
//!   No tags left, no `tags` key.
//! - The patch: the named container's image is replaced; `environment` and
//!   `secrets` entries are set by name in place, new ones appended.

use crate::error::{usage, usage_hint};
use anyhow::Result;
use serde_json::{Map, Value};

/// RegisterTaskDefinition's request fields: all but `tags` and
/// `trustedExecutionConfiguration` are in aws-sdk-ecs 1.157's
/// RegisterTaskDefinitionInput; `tags` is folded in from the described form;
/// `trustedExecutionConfiguration` is newer than that SDK (AWS's API
/// reference, TrustedExecutionConfiguration: "You set this configuration when
/// you register a task definition").
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
    "tags",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
    "trustedExecutionConfiguration",
];

/// Fields of DescribeTaskDefinition's `taskDefinition` that only describe a
/// registered revision; never sent back.
pub(crate) const READ_ONLY_FIELDS: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
];

/// What to change in the task definition.
#[derive(Clone, Debug, Default)]
pub struct TaskDefinitionPatch {
    /// The container whose image is replaced.
    pub container: String,
    /// More containers of the same task definition that run the same image
    /// and get the same environment and secrets.
    pub more_containers: Vec<String>,
    /// The new image (pinned by digest, normally).
    pub image: String,
    /// Environment variables to set in that container (`KEY`, `VALUE`).
    pub environment: Vec<(String, String)>,
    /// Secrets to set in that container (`NAME`, `ARN`).
    pub secrets: Vec<(String, String)>,
}

/// A RegisterTaskDefinition input, with the top-level fields in it that hoist
/// does not know (passed through unchanged). Derefs to the body.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// RegisterTaskDefinition's JSON.
    pub body: Value,
    /// Top-level fields of `body` that are not RegisterTaskDefinition inputs
    /// hoist knows, sorted.
    pub unknown_fields: Vec<String>,
}

impl Rendered {
    /// The one line to print when unknown fields are passed through.
    pub fn unknown_fields_note(&self) -> Option<String> {
        (!self.unknown_fields.is_empty()).then(|| {
            format!(
                "passing through fields hoist does not know: {}",
                self.unknown_fields.join(", ")
            )
        })
    }

    /// The body, after handing the unknown-fields line (if any) to `note`.
    pub fn into_body_noting(self, note: impl FnOnce(&str)) -> Value {
        if let Some(line) = self.unknown_fields_note() {
            note(&line);
        }
        self.body
    }
}

impl std::ops::Deref for Rendered {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.body
    }
}

/// Renders the registration input for `patch` applied to `described`, the
/// DescribeTaskDefinition response (`{"taskDefinition": …, "tags": […]}`).
pub(crate) fn render(described: &Value, patch: &TaskDefinitionPatch) -> Result<Rendered> {
    let mut rendered = prepare(described)?;
    let family = family_of(&rendered.body);
    let containers = rendered
        .body
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| {
            usage_hint(
                format!("task definition {family}: no containerDefinitions"),
                "a task definition lists its containers in containerDefinitions",
            )
        })?;
    let names: Vec<String> = containers
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect();
    for wanted in std::iter::once(&patch.container).chain(&patch.more_containers) {
        let container = containers
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .find(|c| c.get("name").and_then(Value::as_str) == Some(wanted.as_str()))
            .ok_or_else(|| {
                usage_hint(
                    format!("no container {wanted:?} in the task definition {family}"),
                    format!("its containers are: {}", names.join(", ")),
                )
            })?;
        container.insert("image".into(), Value::String(patch.image.clone()));
        merge_named(
            container,
            "environment",
            "name",
            "value",
            &patch.environment,
        )?;
        merge_named(container, "secrets", "name", "valueFrom", &patch.secrets)?;
    }
    Ok(rendered)
}

/// The registration input for a described task definition, unpatched: read-only
/// fields dropped, `null`s removed, tags folded in, everything else kept.
pub(crate) fn registration_input(described: &Value) -> Result<Value> {
    Ok(prepare(described)?.body)
}

/// The family named in a task definition (or `?`), for messages.
fn family_of(definition: &Value) -> String {
    definition
        .get("family")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string()
}

fn prepare(described: &Value) -> Result<Rendered> {
    let definition = described
        .get("taskDefinition")
        .and_then(Value::as_object)
        .ok_or_else(|| usage("the task definition has no taskDefinition object"))?;
    let family = family_of(&described["taskDefinition"]);
    let mut body = Map::new();
    let mut unknown_fields = Vec::new();
    let mut tags = Vec::new();
    for (key, value) in definition {
        if value.is_null() || READ_ONLY_FIELDS.contains(&key.as_str()) {
            continue;
        }
        if key == "tags" {
            tags = tag_list(&family, value)?;
            continue;
        }
        if !REGISTRATION_FIELDS.contains(&key.as_str()) {
            unknown_fields.push(key.clone());
        }
        body.insert(key.clone(), without_nulls(value));
    }
    if let Some(outer) = described.get("tags").filter(|t| !t.is_null()) {
        for tag in tag_list(&family, outer)? {
            tags.retain(|t: &Value| t.get("key") != tag.get("key"));
            tags.push(tag);
        }
    }
    tags.retain(|tag| !is_reserved_tag(tag));
    if !tags.is_empty() {
        body.insert("tags".into(), Value::Array(tags));
    }
    Ok(Rendered {
        body: Value::Object(body),
        unknown_fields,
    })
}

/// A `tags` value as a list of tag objects, `null`s removed.
fn tag_list(family: &str, tags: &Value) -> Result<Vec<Value>> {
    let list = tags
        .as_array()
        .filter(|list| list.iter().all(Value::is_object))
        .ok_or_else(|| {
            usage_hint(
                format!("task definition {family}: \"tags\" is not a list of tags"),
                "write tags as [{\"key\": \"team\", \"value\": \"payments\"}]",
            )
        })?;
    Ok(list.iter().map(without_nulls).collect())
}

/// A tag AWS reserves (key or value starting with `aws:`, in any case).
fn is_reserved_tag(tag: &Value) -> bool {
    ["key", "value"].iter().any(|field| {
        tag.get(*field)
            .and_then(Value::as_str)
            .and_then(|text| text.get(..4))
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("aws:"))
    })
}

/// `value` with every `null` object member removed, at any depth.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
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
) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    let name = container
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let list = container
        .entry(field)
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(items) = list.as_array_mut() else {
        return Err(usage_hint(
            format!("container {name:?}: {field:?} is not a list"),
            format!("write it as [{{\"{key_name}\": …, \"{value_name}\": …}}]"),
        ));
    };
    for (key, value) in pairs {
        let existing = items
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .find(|item| item.get(key_name).and_then(Value::as_str) == Some(key.as_str()));
        match existing {
            Some(item) => {
                item.insert(value_name.into(), Value::String(value.clone()));
            }
            None => {
                let mut entry = Map::new();
                entry.insert(key_name.into(), Value::String(key.clone()));
                entry.insert(value_name.into(), Value::String(value.clone()));
                items.push(Value::Object(entry));
            }
        }
    }
    Ok(())
}

/// The fields of `body` (a RegisterTaskDefinition input) that AWS's error
/// `message` names, in the order the message names them: any top-level key,
/// and any key inside a container definition, written as a whole word
/// (`trustedExecutionConfiguration`, `restartPolicy`). Lets a refused
/// registration say which field it was about.
pub(crate) fn fields_named_in(message: &str, body: &Value) -> Vec<String> {
    let mut fields: Vec<&str> = Vec::new();
    if let Some(top) = body.as_object() {
        fields.extend(top.keys().map(String::as_str));
    }
    for container in body["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(object) = container.as_object() {
            fields.extend(object.keys().map(String::as_str));
        }
    }
    let mut named: Vec<(usize, String)> = Vec::new();
    for field in fields {
        if named.iter().any(|(_, f)| f == field) {
            continue;
        }
        if let Some(at) = whole_word_at(message, field) {
            named.push((at, field.to_string()));
        }
    }
    named.sort();
    named.into_iter().map(|(_, field)| field).collect()
}

/// Where `word` first occurs in `text` not inside a longer identifier.
fn whole_word_at(text: &str, word: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).map(|(at, _)| at).find(|&at| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// The error for a registration AWS refused as invalid (ClientException,
/// InvalidParameterException): AWS's message, and the fields of `body` it
/// names, saying which of them hoist passed through without knowing them.
pub(crate) fn registration_refused(
    family: &str,
    code: &str,
    message: &str,
    body: &Value,
) -> anyhow::Error {
    let message = message.replace('\n', " ");
    let text = format!(
        "ECS RegisterTaskDefinition {family} refused the task definition: {code}: {message}"
    );
    let named = fields_named_in(&message, body);
    if named.is_empty() {
        return usage_hint(
            text,
            "fix the task definition as AWS's message says (`hoist deploy --dry-run` or `hoist render` shows what is sent)",
        );
    }
    let unknown: Vec<&str> = named
        .iter()
        .map(String::as_str)
        .filter(|f| body.get(*f).is_some() && !REGISTRATION_FIELDS.contains(f))
        .collect();
    let passed = if unknown.is_empty() {
        String::new()
    } else {
        format!(
            "; hoist passed {} through without knowing it",
            unknown.join(", ")
        )
    };
    let (field, that) = match named.len() {
        1 => ("field", "that field"),
        _ => ("fields", "those fields"),
    };
    usage_hint(
        format!("{text} ({field}: {})", named.join(", ")),
        format!("change or remove {that} in the task definition{passed}"),
    )
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

    fn patch(container: &str) -> TaskDefinitionPatch {
        TaskDefinitionPatch {
            container: container.into(),
            more_containers: Vec::new(),
            image: "repo@sha256:bb".into(),
            ..Default::default()
        }
    }

    #[test]
    fn replaces_the_image_and_merges_environment_in_place() {
        let patch = TaskDefinitionPatch {
            container: "plog-back".into(),
            more_containers: Vec::new(),
            image: "repo@sha256:bb".into(),
            environment: vec![("B".into(), "x=y".into()), ("C".into(), "3".into())],
            secrets: vec![("DB".into(), "arn:secret".into())],
        };
        let out = render(&described(), &patch).unwrap();
        assert!(out.unknown_fields.is_empty());
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
        let err = render(&described(), &patch("web")).unwrap_err().to_string();
        assert!(
            err.contains("\"web\"") && err.contains("plog-back, sidecar"),
            "{err}"
        );
    }

    #[test]
    fn odd_shapes_are_errors_not_panics() {
        let mut d = described();
        d["taskDefinition"]["containerDefinitions"] =
            json!([7, "x", {"name": "plog-back", "image": "i", "environment": "A=1"}]);
        let env = TaskDefinitionPatch {
            environment: vec![("A".into(), "2".into())],
            ..patch("plog-back")
        };
        let err = render(&d, &env).unwrap_err().to_string();
        assert!(err.contains("\"environment\" is not a list"), "{err}");
        assert!(render(&d, &patch("plog-back")).is_ok());
        d["taskDefinition"]["containerDefinitions"] = json!({"name": "plog-back"});
        let err = render(&d, &patch("plog-back")).unwrap_err().to_string();
        assert!(err.contains("no containerDefinitions"), "{err}");
        d["taskDefinition"]["tags"] = json!({"team": "x"});
        let err = registration_input(&d).unwrap_err().to_string();
        assert!(err.contains("\"tags\" is not a list"), "{err}");
        assert!(registration_input(&json!([1])).is_err());
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
            more_containers: Vec::new(),
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
            more_containers: Vec::new(),
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
    fn a_recorded_task_definition_with_an_unknown_field_passes_it_through_and_names_it() {
        let described = recorded("fargate-unknown-field.json");
        let out = render(&described, &patch("plog-back")).unwrap();
        assert_eq!(out.unknown_fields, ["hypotheticalNewField"]);
        assert_eq!(
            out.unknown_fields_note().unwrap(),
            "passing through fields hoist does not know: hypotheticalNewField"
        );
        let definition = &described["taskDefinition"];
        assert_eq!(
            out["hypotheticalNewField"],
            definition["hypotheticalNewField"]
        );
        // Newer registration inputs go through silently; newer read-only fields are dropped.
        assert_eq!(
            out["trustedExecutionConfiguration"],
            definition["trustedExecutionConfiguration"]
        );
        assert!(definition.get("deleteRequestedAt").is_some());
        assert!(out.get("deleteRequestedAt").is_none());
        assert_only_the_patch_changed(&described, &out, &patch("plog-back"));
    }

    #[test]
    fn unknown_fields_pass_through_and_are_named_in_order() {
        let mut d = described();
        d["taskDefinition"]["quantumShielding"] = json!({"level": 3, "x": null});
        d["taskDefinition"]["aardvarkMode"] = json!(true);
        d["taskDefinition"]["nothingHere"] = Value::Null;
        let mut notes = Vec::new();
        let out = render(&d, &patch("plog-back"))
            .unwrap()
            .into_body_noting(|line| notes.push(line.to_string()));
        assert_eq!(
            notes,
            ["passing through fields hoist does not know: aardvarkMode, quantumShielding"]
        );
        assert_eq!(out["quantumShielding"], json!({"level": 3}));
        assert_eq!(out["aardvarkMode"], json!(true));
        assert!(out.get("nothingHere").is_none(), "a null field is not sent");
        let mut quiet = true;
        render(&described(), &patch("plog-back"))
            .unwrap()
            .into_body_noting(|_| quiet = false);
        assert!(quiet, "nothing unknown, nothing said");
    }

    #[test]
    fn nulls_are_removed_at_every_depth_but_list_items_stay() {
        let d = json!({"taskDefinition": {
            "family": "f",
            "pidMode": null,
            "containerDefinitions": [{
                "name": "app", "image": "i", "secrets": null, "command": ["a", null],
                "logConfiguration": {"logDriver": "awslogs", "secretOptions": null}
            }],
            "volumes": [{"name": "v", "host": null, "efsVolumeConfiguration": null}]
        }});
        let with_secret = TaskDefinitionPatch {
            secrets: vec![("S".into(), "arn:s".into())],
            ..patch("app")
        };
        let out = render(&d, &with_secret).unwrap();
        assert_eq!(
            *out,
            json!({
                "family": "f",
                "containerDefinitions": [{
                    "name": "app", "image": "repo@sha256:bb", "command": ["a", null],
                    "logConfiguration": {"logDriver": "awslogs"},
                    "secrets": [{"name": "S", "valueFrom": "arn:s"}]
                }],
                "volumes": [{"name": "v"}]
            })
        );
    }

    #[test]
    fn tags_inside_the_definition_become_the_registrations_and_aws_tags_stay_behind() {
        let bare = json!({"taskDefinition": {
            "family": "f",
            "containerDefinitions": [{"name": "app", "image": "i"}],
            "tags": [
                {"key": "team", "value": "a"},
                {"key": "aws:cloudformation:stack-name", "value": "s"},
                {"key": "AWS:Other", "value": "x"},
                {"key": "origin", "value": "aws:made-this"},
                {"key": "awsome", "value": "kept"}
            ]
        }});
        let out = registration_input(&bare).unwrap();
        assert_eq!(
            out["tags"],
            json!([{"key": "team", "value": "a"}, {"key": "awsome", "value": "kept"}])
        );
        let mut both = bare.clone();
        both["tags"] = json!([{"key": "team", "value": "b"}, {"key": "env", "value": "dev"}]);
        assert_eq!(
            registration_input(&both).unwrap()["tags"],
            json!([{"key": "awsome", "value": "kept"}, {"key": "team", "value": "b"}, {"key": "env", "value": "dev"}]),
            "the wrapper's value wins for a key in both"
        );
        let mut only_aws = bare;
        only_aws["taskDefinition"]["tags"] = json!([{"key": "aws:x", "value": "y"}]);
        only_aws["tags"] = json!([]);
        assert!(registration_input(&only_aws).unwrap().get("tags").is_none());
    }

    #[test]
    fn the_fields_an_aws_message_names_are_found() {
        let body = json!({
            "family": "f",
            "trustedExecutionConfiguration": {"isolationMode": "CONFIDENTIAL_SANDBOX"},
            "quantumShielding": true,
            "containerDefinitions": [{"name": "app", "image": "i", "restartPolicy": {"enabled": true}}]
        });
        assert_eq!(
            fields_named_in(
                "Invalid restartPolicy for container app; trustedExecutionConfiguration is not supported with FARGATE",
                &body
            ),
            ["restartPolicy", "trustedExecutionConfiguration"]
        );
        assert_eq!(
            fields_named_in("Unknown parameter 'quantumShielding.level'", &body),
            ["quantumShielding"]
        );
        assert!(fields_named_in("Family is invalid; xfamily; family_x", &body).is_empty());
        assert!(fields_named_in("Too many requests", &json!(null)).is_empty());

        let error = registration_refused(
            "f",
            "ClientException",
            "quantumShielding is not a valid\nparameter",
            &body,
        );
        let text = crate::error::one_line(&error);
        assert!(!text.contains('\n'), "{text}");
        assert!(
            text.contains("ClientException: quantumShielding is not a valid parameter"),
            "{text}"
        );
        assert!(text.contains("field: quantumShielding"), "{text}");
        assert!(
            text.contains("passed quantumShielding through without knowing it"),
            "{text}"
        );
        assert_eq!(crate::error::exit_code(&error), crate::error::EXIT_USAGE);
        let plain =
            registration_refused("f", "InvalidParameterException", "bad", &body).to_string();
        assert!(
            plain.contains("InvalidParameterException: bad (hint:"),
            "{plain}"
        );
    }
}
