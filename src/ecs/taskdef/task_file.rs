//! Task definitions kept in files: read one in any of the three forms teams
//! keep, normalise it to DescribeTaskDefinition's shape (what
//! [`crate::ecs::taskdef::render`] takes), and write a rendered registration back out
//! as pretty JSON with the keys in the order they were read.
//!
//! The forms:
//!
//! - **bare**: the task definition as kept in a repository (the input of the
//!   `amazon-ecs-render-task-definition` action, `register-task-definition
//!   --cli-input-json`, an old console "Configure via JSON" paste); it may
//!   carry its own `tags`;
//! - **wrapped**: a DescribeTaskDefinition (or RegisterTaskDefinition)
//!   response, `{"taskDefinition": {…}, "tags": […]}`; other keys beside
//!   those two (boto3's `ResponseMetadata`) are not part of the task
//!   definition and are ignored;
//! - **unwrapped**: the inner `taskDefinition` object on its own, still with
//!   the read-only fields (`--query taskDefinition`, the console's JSON tab).
//!
//! Bare and unwrapped files are the same to hoist: render drops read-only
//! fields wherever they come from.
//!
//! Key order: `serde_json` keeps objects sorted (hoist relies on that for
//! image configs), so the order of the file's keys is read separately, as a
//! skeleton of key lists, and the output follows it: keys in the order read,
//! then keys the render added, sorted.

use crate::ecs::taskdef::render::{render, Rendered, TaskDefinitionPatch};
use crate::error::usage_hint;
use anyhow::Result;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};
use std::path::Path;

/// Which of the three forms a file was in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskDefinitionForm {
    /// The task definition alone, without read-only fields.
    Bare,
    /// `{"taskDefinition": …, "tags": […]}`.
    Wrapped,
    /// The task definition alone, with DescribeTaskDefinition's read-only fields.
    Unwrapped,
}

/// A task definition read from a file.
#[derive(Clone, Debug)]
pub struct TaskDefinitionFile {
    described: Value,
    form: TaskDefinitionForm,
    order: Shape,
}

impl TaskDefinitionFile {
    /// Reads `path`: a usage error (exit code 2) naming the file when it
    /// cannot be read, is not JSON (with line and column) or is not a task
    /// definition in one of the three forms.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| {
            usage_hint(
                format!("task definition file {}: {e}", path.display()),
                "check the path given to --task-definition",
            )
        })?;
        Self::parse(&bytes, &path.display().to_string())
    }

    /// Parses a file's bytes; `name` is how errors call the file.
    pub fn parse(bytes: &[u8], name: &str) -> Result<Self> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            usage_hint(
                format!("task definition file {name}: not JSON: {e}"),
                "a task definition is a JSON object; check the file at that line and column",
            )
        })?;
        let order: Shape = serde_json::from_slice(bytes).map_err(|e| {
            usage_hint(
                format!("task definition file {name}: not JSON: {e}"),
                "a task definition is a JSON object",
            )
        })?;
        let bad = |what: String| {
            usage_hint(
                format!("task definition file {name}: {what}"),
                "give a task definition (the render action's input), or DescribeTaskDefinition's output with or without the {\"taskDefinition\": …} wrapper",
            )
        };
        let Value::Object(top) = value else {
            return Err(bad(format!(
                "expected a JSON object, found {}",
                kind_of(&value)
            )));
        };
        let (definition, form, order) = match top.get("taskDefinition") {
            Some(Value::Object(inner)) => {
                let mut order = order.member("taskDefinition").clone();
                if let (Shape::Object(keys), Some(tags)) = (&mut order, top.get("tags")) {
                    if !tags.is_null() && !keys.iter().any(|(k, _)| k == "tags") {
                        keys.push(("tags".into(), shape_of(tags)));
                    }
                }
                (inner.clone(), TaskDefinitionForm::Wrapped, order)
            }
            Some(other) => {
                return Err(bad(format!(
                    "\"taskDefinition\" is {}, not an object",
                    kind_of(other)
                )))
            }
            None => {
                let form = if top
                    .keys()
                    .any(|k| crate::ecs::taskdef::render::READ_ONLY_FIELDS.contains(&k.as_str()))
                {
                    TaskDefinitionForm::Unwrapped
                } else {
                    TaskDefinitionForm::Bare
                };
                (top.clone(), form, order)
            }
        };
        match definition.get("containerDefinitions") {
            Some(Value::Array(list)) if !list.is_empty() => {
                if let Some(at) = list.iter().position(|c| !c["name"].is_string()) {
                    return Err(bad(format!("containerDefinitions[{at}] has no \"name\"")));
                }
            }
            Some(Value::Array(_)) => return Err(bad("containerDefinitions is empty".into())),
            Some(Value::Null) | None => return Err(bad("no containerDefinitions".into())),
            Some(other) => {
                return Err(bad(format!(
                    "containerDefinitions is {}, not a list",
                    kind_of(other)
                )))
            }
        }
        let mut described = Map::new();
        described.insert("taskDefinition".into(), Value::Object(definition));
        if form == TaskDefinitionForm::Wrapped {
            if let Some(tags) = top.get("tags") {
                described.insert("tags".into(), tags.clone());
            }
        }
        Ok(Self {
            described: Value::Object(described),
            form,
            order,
        })
    }

    /// The task definition in DescribeTaskDefinition's shape:
    /// `{"taskDefinition": …}`, plus `"tags"` when the file had the wrapper's.
    pub fn described(&self) -> &Value {
        &self.described
    }

    /// The form the file was in.
    pub fn form(&self) -> TaskDefinitionForm {
        self.form
    }

    /// Renders `patch` into the RegisterTaskDefinition input (no AWS call).
    pub fn render(&self, patch: &TaskDefinitionPatch) -> Result<Rendered> {
        render(&self.described, patch)
    }

    /// `body` (a render of this file) as pretty JSON, keys in the order the
    /// file had them, keys it did not have after those, sorted; ends with a
    /// newline.
    pub fn to_pretty_json(&self, body: &Value) -> String {
        let mut text = serde_json::to_string_pretty(&InOrder {
            value: body,
            order: Some(&self.order),
        })
        .expect("JSON values serialise");
        text.push('\n');
        text
    }
}

/// "an array", "a string", … for messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The key order of a JSON document: objects as their keys in the order
/// read (with the shapes below them), lists item by item.
#[derive(Clone, Debug, Default, PartialEq)]
enum Shape {
    #[default]
    Leaf,
    Object(Vec<(String, Shape)>),
    List(Vec<Shape>),
}

impl Shape {
    /// The shape under `key` (a leaf when there is none).
    fn member(&self, key: &str) -> &Shape {
        static LEAF: Shape = Shape::Leaf;
        match self {
            Shape::Object(keys) => keys
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map_or(&LEAF, |(_, shape)| shape),
            _ => &LEAF,
        }
    }
}

/// The shape of a value already parsed (its keys in serde_json's order).
fn shape_of(value: &Value) -> Shape {
    match value {
        Value::Object(map) => {
            Shape::Object(map.iter().map(|(k, v)| (k.clone(), shape_of(v))).collect())
        }
        Value::Array(items) => Shape::List(items.iter().map(shape_of).collect()),
        _ => Shape::Leaf,
    }
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShapeVisitor;

        impl<'de> Visitor<'de> for ShapeVisitor {
            type Value = Shape;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
                Ok(Shape::Leaf)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
                Ok(Shape::Leaf)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
                Ok(Shape::Leaf)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
                Ok(Shape::Leaf)
            }
            fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
                Ok(Shape::Leaf)
            }
            fn visit_unit<E>(self) -> Result<Shape, E> {
                Ok(Shape::Leaf)
            }
            fn visit_none<E>(self) -> Result<Shape, E> {
                Ok(Shape::Leaf)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Shape::List(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
                let mut keys = Vec::new();
                while let Some((key, shape)) = map.next_entry::<String, Shape>()? {
                    keys.push((key, shape));
                }
                Ok(Shape::Object(keys))
            }
        }

        deserializer.deserialize_any(ShapeVisitor)
    }
}

/// A value serialised with its object keys in `order`'s order.
struct InOrder<'a> {
    value: &'a Value,
    order: Option<&'a Shape>,
}

impl Serialize for InOrder<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Object(map) => {
                let known: &[(String, Shape)] = match self.order {
                    Some(Shape::Object(keys)) => keys,
                    _ => &[],
                };
                let mut out = serializer.serialize_map(Some(map.len()))?;
                let mut written = std::collections::BTreeSet::new();
                for (key, shape) in known {
                    if let Some(value) = map.get(key) {
                        if written.insert(key.as_str()) {
                            // A key read twice: serde_json kept the last one.
                            let shape = self.order.map(|o| o.member(key)).unwrap_or(shape);
                            out.serialize_entry(
                                key,
                                &InOrder {
                                    value,
                                    order: Some(shape),
                                },
                            )?;
                        }
                    }
                }
                for (key, value) in map {
                    if !written.contains(key.as_str()) {
                        out.serialize_entry(key, &InOrder { value, order: None })?;
                    }
                }
                out.end()
            }
            Value::Array(items) => {
                let shapes: &[Shape] = match self.order {
                    Some(Shape::List(shapes)) => shapes,
                    _ => &[],
                };
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for (at, value) in items.iter().enumerate() {
                    out.serialize_element(&InOrder {
                        value,
                        order: shapes.get(at),
                    })?;
                }
                out.end()
            }
            other => other.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Result<TaskDefinitionFile> {
        TaskDefinitionFile::parse(text.as_bytes(), "td.json")
    }

    fn error(text: &str) -> String {
        crate::error::one_line(&parse(text).unwrap_err())
    }

    const BARE: &str = r#"{
        "family": "shop",
        "containerDefinitions": [{"name": "app", "image": "old", "essential": true}],
        "cpu": "256",
        "tags": [{"key": "team", "value": "a"}]
    }"#;

    #[test]
    fn the_three_forms_come_out_in_describe_shape() {
        let bare = parse(BARE).unwrap();
        assert_eq!(bare.form(), TaskDefinitionForm::Bare);
        assert_eq!(bare.described()["taskDefinition"]["family"], "shop");
        assert!(bare.described().get("tags").is_none(), "kept inside");

        let unwrapped = parse(
            r#"{"taskDefinitionArn": "arn:x", "revision": 3, "family": "shop",
                "containerDefinitions": [{"name": "app", "image": "old"}]}"#,
        )
        .unwrap();
        assert_eq!(unwrapped.form(), TaskDefinitionForm::Unwrapped);
        assert_eq!(unwrapped.described()["taskDefinition"]["revision"], 3);

        let wrapped = parse(
            r#"{"taskDefinition": {"family": "shop", "revision": 3,
                  "containerDefinitions": [{"name": "app", "image": "old"}]},
                "tags": [{"key": "team", "value": "a"}],
                "ResponseMetadata": {"HTTPStatusCode": 200}}"#,
        )
        .unwrap();
        assert_eq!(wrapped.form(), TaskDefinitionForm::Wrapped);
        assert_eq!(
            *wrapped.described(),
            json!({"taskDefinition": {"family": "shop", "revision": 3,
                     "containerDefinitions": [{"name": "app", "image": "old"}]},
                   "tags": [{"key": "team", "value": "a"}]})
        );
    }

    #[test]
    fn output_keeps_the_order_read() {
        let file = parse(BARE).unwrap();
        let patch = TaskDefinitionPatch {
            container: "app".into(),
            more_containers: Vec::new(),
            image: "new".into(),
            environment: vec![("Z".into(), "1".into())],
            secrets: vec![],
        };
        let text = file.to_pretty_json(&file.render(&patch).unwrap());
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle} in {text}"))
        };
        assert!(at("\"family\"") < at("\"containerDefinitions\""), "{text}");
        assert!(at("\"containerDefinitions\"") < at("\"cpu\""), "{text}");
        assert!(at("\"cpu\"") < at("\"tags\""), "{text}");
        assert!(at("\"name\": \"app\"") < at("\"image\": \"new\""), "{text}");
        assert!(at("\"image\": \"new\"") < at("\"essential\""), "{text}");
        assert!(
            at("\"essential\"") < at("\"environment\""),
            "added keys come last"
        );
        assert!(text.ends_with("}\n"));
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            back["containerDefinitions"][0]["environment"][0]["name"],
            "Z"
        );
    }

    #[test]
    fn the_wrappers_tags_come_last_and_duplicate_keys_keep_the_last_value() {
        let file = parse(
            r#"{"taskDefinition": {"family": "a", "family": "b",
                  "containerDefinitions": [{"name": "app", "image": "old"}]},
                "tags": [{"key": "team", "value": "x"}]}"#,
        )
        .unwrap();
        let text = file.to_pretty_json(
            &crate::ecs::taskdef::render::registration_input(file.described()).unwrap(),
        );
        assert_eq!(text.matches("\"family\"").count(), 1, "{text}");
        assert!(text.contains("\"family\": \"b\""), "{text}");
        assert!(
            text.find("\"containerDefinitions\"") < text.find("\"tags\""),
            "{text}"
        );
    }

    #[test]
    fn bad_files_are_one_line_usage_errors() {
        let not_json = error("{\n  \"family\": \"x\",\n  oops\n}");
        assert!(
            not_json.contains("td.json: not JSON") && not_json.contains("line 3 column 3"),
            "{not_json}"
        );
        assert!(error("").contains("not JSON"));
        assert!(error("[1, 2]").contains("expected a JSON object, found a list"));
        assert!(error(r#"{"family": "x"}"#).contains("no containerDefinitions"));
        assert!(error(r#"{"family": "x", "containerDefinitions": []}"#)
            .contains("containerDefinitions is empty"));
        assert!(error(r#"{"containerDefinitions": {"name": "a"}}"#)
            .contains("containerDefinitions is an object, not a list"));
        assert!(
            error(r#"{"containerDefinitions": [{"name": "a"}, {"image": "b"}]}"#)
                .contains("containerDefinitions[1] has no \"name\"")
        );
        assert!(error(r#"{"taskDefinition": "x"}"#).contains("\"taskDefinition\" is a string"));
        assert!(error(r#"{"taskDefinition": {"family": "x"}, "tags": []}"#)
            .contains("no containerDefinitions"));
        for text in [
            "{\"family\": \"x\"}",
            "[",
            "\"x\"",
            "{\"taskDefinition\": {\"containerDefinitions\": null}}",
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!(
                crate::error::exit_code(&err),
                crate::error::EXIT_USAGE,
                "{text}"
            );
            assert!(!crate::error::one_line(&err).contains('\n'));
        }
        let missing = TaskDefinitionFile::read(Path::new("/nonexistent/td.json")).unwrap_err();
        assert_eq!(crate::error::exit_code(&missing), crate::error::EXIT_USAGE);
        assert!(
            missing.to_string().contains("/nonexistent/td.json"),
            "{missing}"
        );
    }

    #[test]
    fn every_fixture_reads_in_the_form_the_index_gives() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/ecs/taskdefs");
        let index: Value =
            serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
        for entry in index.as_array().unwrap() {
            let file =
                TaskDefinitionFile::read(&dir.join(entry["file"].as_str().unwrap())).unwrap();
            let form = match file.form() {
                TaskDefinitionForm::Bare => "bare",
                TaskDefinitionForm::Wrapped => "wrapped",
                TaskDefinitionForm::Unwrapped => "unwrapped",
            };
            assert_eq!(form, entry["form"], "{}", entry["file"]);
        }
    }
}
