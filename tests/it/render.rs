//! `hoist render` on every task definition in `testdata/ecs/taskdefs/`: the
//! real binary, offline, checked against an expected registration this file
//! computes on its own from the fixture (read-only fields and `null`s
//! removed, the wrapper's tags folded in, `aws:` tags left out, then only the
//! image, one environment variable and one secret changed).

use crate::support::cli::hoist;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

const IMAGE: &str =
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/rendered@sha256:4444444444444444444444444444444444444444444444444444444444444444";
const ENV: (&str, &str) = ("HOIST_RENDER_CHECK", "a=b=c");
const SECRET: (&str, &str) = (
    "HOIST_RENDER_SECRET",
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:render/check-AbCdEf",
);

/// DescribeTaskDefinition's read-only fields (its API reference's response
/// syntax, minus RegisterTaskDefinition's request fields).
const READ_ONLY: &[&str] = &[
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

/// RegisterTaskDefinition's request fields.
const REGISTRATION: &[&str] = &[
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

fn taskdefs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/ecs/taskdefs")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn strip_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

fn reserved(tag: &Value) -> bool {
    ["key", "value"].iter().any(|f| {
        tag[*f]
            .as_str()
            .is_some_and(|s| s.to_ascii_lowercase().starts_with("aws:"))
    })
}

/// Sets `name` in a `[{name_key, value_key}]` list: in place, else appended.
fn set_named(list: &mut Vec<Value>, value_key: &str, name: &str, value: &str) {
    match list.iter_mut().find(|item| item["name"] == name) {
        Some(item) => item[value_key] = json!(value),
        None => list.push(json!({"name": name, value_key: value})),
    }
}

/// What `hoist render` must write for `fixture` with `container` patched,
/// and the unknown top-level fields it must name.
fn expected(fixture: &Value, form: &str, container: &str) -> (Value, Vec<String>) {
    let (definition, outer_tags) = match form {
        "wrapped" => (&fixture["taskDefinition"], fixture.get("tags")),
        _ => (fixture, None),
    };
    let definition = strip_nulls(definition);
    let mut out = Map::new();
    let mut tags: Vec<Value> = Vec::new();
    let mut unknown = Vec::new();
    for (key, value) in definition.as_object().unwrap() {
        if READ_ONLY.contains(&key.as_str()) {
            continue;
        }
        if key == "tags" {
            tags.extend(value.as_array().unwrap().iter().cloned());
            continue;
        }
        if !REGISTRATION.contains(&key.as_str()) {
            unknown.push(key.clone());
        }
        out.insert(key.clone(), value.clone());
    }
    for tag in outer_tags.and_then(Value::as_array).into_iter().flatten() {
        tags.retain(|t| t["key"] != tag["key"]);
        tags.push(strip_nulls(tag));
    }
    tags.retain(|t| !reserved(t));
    if !tags.is_empty() {
        out.insert("tags".into(), Value::Array(tags));
    }
    let patched = out["containerDefinitions"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["name"] == container)
        .expect("the index names a container of the fixture");
    patched["image"] = json!(IMAGE);
    for (field, value_key, (name, value)) in [
        ("environment", "value", ENV),
        ("secrets", "valueFrom", SECRET),
    ] {
        let mut list = patched[field].as_array().cloned().unwrap_or_default();
        set_named(&mut list, value_key, name, value);
        patched[field] = Value::Array(list);
    }
    (Value::Object(out), unknown)
}

fn render_args(file: &Path, container: &str) -> Vec<String> {
    vec![
        "render".into(),
        "--task-definition".into(),
        file.display().to_string(),
        "--container".into(),
        container.into(),
        "--image".into(),
        IMAGE.into(),
        "--env".into(),
        format!("{}={}", ENV.0, ENV.1),
        "--secret".into(),
        format!("{}={}", SECRET.0, SECRET.1),
    ]
}

#[test]
fn every_fixture_round_trips_with_only_image_env_and_secret_changed() {
    let index = read_json(&taskdefs().join("index.json"));
    let entries = index.as_array().unwrap();
    assert!(entries.len() >= 20, "the index lists the fixtures");
    for entry in entries {
        let name = entry["file"].as_str().unwrap();
        let container = entry["container"].as_str().unwrap();
        let form = entry["form"].as_str().unwrap();
        let path = taskdefs().join(name);
        let fixture = read_json(&path);
        let (shown, output) = hoist().args(render_args(&path, container)).output();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{shown}: {stderr}");
        let out: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{name}: the output is not JSON: {e}"));
        let (want, unknown) = expected(&fixture, form, container);

        let containers = out["containerDefinitions"].as_array().unwrap();
        let ours = containers.iter().find(|c| c["name"] == container).unwrap();
        assert_eq!(ours["image"], IMAGE, "{name}: the new image");
        assert!(
            ours["environment"]
                .as_array()
                .unwrap()
                .contains(&json!({"name": ENV.0, "value": ENV.1})),
            "{name}: env merged"
        );
        assert!(
            ours["secrets"]
                .as_array()
                .unwrap()
                .contains(&json!({"name": SECRET.0, "valueFrom": SECRET.1})),
            "{name}: secret merged"
        );
        for other in want["containerDefinitions"].as_array().unwrap() {
            if other["name"] != container {
                let got = containers.iter().find(|c| c["name"] == other["name"]);
                assert_eq!(
                    got,
                    Some(other),
                    "{name}: container {} unchanged",
                    other["name"]
                );
            }
        }
        let got_keys: Vec<&String> = out.as_object().unwrap().keys().collect();
        let want_keys: Vec<&String> = want.as_object().unwrap().keys().collect();
        assert_eq!(got_keys, want_keys, "{name}: top-level fields");
        for (key, value) in want.as_object().unwrap() {
            assert_eq!(&out[key], value, "{name}: field {key}");
        }
        assert_eq!(out, want, "{name}");
        for field in READ_ONLY {
            assert!(!String::from_utf8_lossy(&output.stdout).contains(&format!("\"{field}\"")));
        }
        match unknown.is_empty() {
            true => assert!(!stderr.contains("does not know"), "{name}: {stderr}"),
            false => assert!(
                stderr.contains(&format!(
                    "passing through fields hoist does not know: {}",
                    unknown.join(", ")
                )),
                "{name}: {stderr}"
            ),
        }
    }
}

#[test]
fn the_reserved_aws_tag_and_null_console_fields_are_not_sent() {
    let path = taskdefs().join("placement-quote-engine.wrapped.json");
    let out: Value =
        serde_json::from_str(&hoist().args(render_args(&path, "quote-engine")).success()).unwrap();
    assert_eq!(
        out["tags"],
        json!([{"key": "service", "value": "quote-engine"}])
    );

    let path = taskdefs().join("console-legacy-pricing-api.bare.json");
    let text = hoist().args(render_args(&path, "pricing-api")).success();
    assert!(!text.contains("null"), "{text}");
    let out: Value = serde_json::from_str(&text).unwrap();
    assert!(out.get("tags").is_none(), "an empty tag list is not sent");
    assert!(out.get("pidMode").is_none());
}

#[test]
fn an_unknown_field_is_passed_through_and_named_on_one_line() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/ecs/fargate-unknown-field.json");
    let (shown, output) = hoist()
        .args([
            "render",
            "--task-definition",
            path.to_str().unwrap(),
            "--container",
            "plog-back",
            "--image",
            IMAGE,
        ])
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{shown}: {stderr}");
    assert_eq!(
        stderr.trim_end(),
        "hoist: passing through fields hoist does not know: hypotheticalNewField"
    );
    let out: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(out["hypotheticalNewField"], json!({"enabled": true}));
    assert_eq!(
        out["trustedExecutionConfiguration"]["isolationMode"],
        "ISOLATED_SANDBOX"
    );
    assert!(out.get("deleteRequestedAt").is_none());
    assert!(out.get("registeredAt").is_none());
}

#[test]
fn output_goes_to_a_file_in_the_order_read() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("rendered.json");
    let path = taskdefs().join("render-action-gateway-bff.bare.json");
    let stdout = hoist()
        .args(render_args(&path, "gateway-bff"))
        .args(["--output", target.to_str().unwrap()])
        .success();
    assert!(stdout.is_empty(), "{stdout}");
    let written = std::fs::read_to_string(&target).unwrap();
    let again = hoist().args(render_args(&path, "gateway-bff")).success();
    assert_eq!(written, again, "the same bytes as on stdout, every time");
    // The fixture lists family, requiresCompatibilities, networkMode, …, tags: so does the output.
    let input = std::fs::read_to_string(&path).unwrap();
    let top_keys = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("  \""))
            .filter_map(|l| l.split_once('"').map(|(k, _)| k.to_string()))
            .collect()
    };
    assert_eq!(top_keys(&written), top_keys(&input));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp files left"
    );
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad_json = dir.path().join("bad.json");
    std::fs::write(
        &bad_json,
        "{\n  \"family\": \"x\",\n  \"containerDefinitions\": [\n}\n",
    )
    .unwrap();
    let no_containers = dir.path().join("empty.json");
    std::fs::write(&no_containers, r#"{"family": "x", "cpu": "256"}"#).unwrap();
    let good = taskdefs().join("firelens-ledger-api.wrapped.json");
    let missing = dir.path().join("missing.json");
    let cases: Vec<(Vec<String>, &[&str])> = vec![
        (
            render_args(&missing, "app"),
            &["missing.json", "hint: check the path"],
        ),
        (
            render_args(&bad_json, "app"),
            &["bad.json: not JSON", "line 4 column 1"],
        ),
        (
            render_args(&no_containers, "app"),
            &["empty.json", "no containerDefinitions"],
        ),
        (
            render_args(&good, "web"),
            &[
                "no container \"web\"",
                "its containers are: log-router, ledger-api",
            ],
        ),
        (
            {
                let mut args = render_args(&good, "ledger-api");
                args[6] = "Not An Image!".into();
                args
            },
            &["--image", "image reference"],
        ),
        (
            {
                let mut args = render_args(&good, "ledger-api");
                args[8] = "NOVALUE".into();
                args
            },
            &["--env \"NOVALUE\": expected KEY=VALUE"],
        ),
    ];
    for (args, expected) in cases {
        let stderr = hoist().args(&args).failure(2);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("hoist: error: "), "{stderr}");
        for part in expected {
            assert!(stderr.contains(part), "{args:?}: {part:?} in {stderr}");
        }
    }
}
