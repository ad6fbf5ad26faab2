//! The task-definition diff a dry run prints: a unified diff of the two
//! registration inputs as pretty JSON, with secret-looking environment
//! values masked (the diff lands in CI logs).

/// Names of environment variables whose values are masked in diffs.
const SECRET_LIKE: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "CREDENTIAL",
    "PRIVATE",
    "API_KEY",
    "ACCESS_KEY",
];

/// A copy of a task-definition input whose secret-looking environment
/// values are replaced by a short hash: a diff still shows *that* one
/// changed, never what it is (the diff lands in CI logs).
fn masked(input: &serde_json::Value) -> serde_json::Value {
    let mut copy = input.clone();
    if let Some(containers) = copy["containerDefinitions"].as_array_mut() {
        for container in containers {
            if let Some(environment) = container["environment"].as_array_mut() {
                for entry in environment {
                    let name = entry["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_ascii_uppercase();
                    if SECRET_LIKE.iter().any(|s| name.contains(s)) {
                        let value = entry["value"].as_str().unwrap_or_default();
                        let hash = crate::image::Digest::of(value.as_bytes());
                        entry["value"] =
                            serde_json::Value::String(format!("*** (sha256 {})", &hash.hex()[..8]));
                    }
                }
            }
        }
    }
    copy
}

/// A unified diff of two task-definition inputs as pretty JSON (keys sorted),
/// with secret-looking environment values masked.
pub(crate) fn unified_diff(before: &serde_json::Value, after: &serde_json::Value) -> String {
    let a = serde_json::to_string_pretty(&masked(before)).expect("JSON values serialise");
    let b = serde_json::to_string_pretty(&masked(after)).expect("JSON values serialise");
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header("current", "new")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_diff_shows_only_what_changes() {
        let before = json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "old"}], "cpu": "256"});
        let after = json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "new"}], "cpu": "256"});
        let diff = unified_diff(&before, &after);
        assert!(diff.contains("-      \"image\": \"old\""), "{diff}");
        assert!(diff.contains("+      \"image\": \"new\""), "{diff}");
        assert!(unified_diff(&before, &before).is_empty());
    }

    #[test]
    fn secret_looking_values_are_masked_in_diffs() {
        let before = json!({"containerDefinitions": [{"name": "a", "environment": [{"name": "DB_PASSWORD", "value": "hunter2"}, {"name": "B", "value": "1"}]}]});
        let after = json!({"containerDefinitions": [{"name": "a", "environment": [{"name": "DB_PASSWORD", "value": "hunter3"}, {"name": "B", "value": "2"}]}]});
        let diff = unified_diff(&before, &after);
        assert!(!diff.contains("hunter"), "{diff}");
        assert!(
            diff.contains("-          \"value\": \"*** (sha256 "),
            "{diff}"
        );
        assert!(diff.contains("+          \"value\": \"2\""), "{diff}");
    }
}
