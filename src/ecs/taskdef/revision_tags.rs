//! hoist's tags on the task-definition revisions it registers
//! (API_RegisterTaskDefinition.html `tags`, API_TagResource.html): that
//! hoist registered it (`hoist:registered-by`, so that clean-up touches only
//! hoist's revisions), and what the deploy of it measured
//! (`hoist:startup-seconds`, `hoist:pull-seconds`), for the next `verify`.
//!
//! Pure: the JSON of a registration and of a tag list.

use serde_json::{json, Value};

/// Set on every revision hoist registers; the value is hoist's version.
pub(crate) const REGISTERED_BY: &str = "hoist:registered-by";
/// Seconds from the last task's start to healthy in the deploy of it.
pub(crate) const STARTUP_SECONDS: &str = "hoist:startup-seconds";
/// Seconds the slowest image pull took in the deploy of it.
pub(crate) const PULL_SECONDS: &str = "hoist:pull-seconds";

/// Marks a registration `body` as hoist's: `hoist:registered-by` set, and
/// the measurements of the revision it was rendered from dropped (they
/// belong to that revision).
pub(crate) fn mark_registered(body: &mut Value) {
    let mut tags: Vec<Value> = body
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    tags.retain(|t| {
        !matches!(
            t.get("key").and_then(Value::as_str),
            Some(REGISTERED_BY | STARTUP_SECONDS | PULL_SECONDS)
        )
    });
    tags.push(
        json!({"key": REGISTERED_BY, "value": format!("hoist {}", env!("CARGO_PKG_VERSION"))}),
    );
    if let Some(object) = body.as_object_mut() {
        object.insert("tags".into(), Value::Array(tags));
    }
}

/// The tags a deploy leaves on its revision: the start-up (start to
/// healthy) and the slowest pull its timeline measured, whole seconds; only
/// the figures known.
pub(crate) fn measured(
    startup_seconds: Option<f64>,
    slowest_pull_seconds: Option<f64>,
) -> Vec<(&'static str, String)> {
    let mut tags = Vec::new();
    if let Some(startup) = startup_seconds {
        tags.push((STARTUP_SECONDS, format!("{}", startup.round() as u64)));
    }
    if let Some(pull) = slowest_pull_seconds {
        tags.push((PULL_SECONDS, format!("{}", pull.round() as u64)));
    }
    tags
}

/// What a revision's tags (`[{"key", "value"}]`) say.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct RevisionTags {
    /// hoist registered it.
    pub(crate) by_hoist: bool,
    /// The start-up its deploy measured.
    pub(crate) startup_seconds: Option<f64>,
    /// The slowest image pull of its deploy.
    pub(crate) pull_seconds: Option<f64>,
}

/// Reads hoist's tags from a tag list.
pub(crate) fn read(tags: &Value) -> RevisionTags {
    let value = |key: &str| {
        tags.as_array()?
            .iter()
            .find(|t| t.get("key").and_then(Value::as_str) == Some(key))?
            .get("value")?
            .as_str()
            .map(str::to_string)
    };
    RevisionTags {
        by_hoist: value(REGISTERED_BY).is_some(),
        startup_seconds: value(STARTUP_SECONDS).and_then(|v| v.parse().ok()),
        pull_seconds: value(PULL_SECONDS).and_then(|v| v.parse().ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_is_marked_and_old_measurements_dropped() {
        let mut body = json!({"family": "f", "tags": [
            {"key": "team", "value": "plog"},
            {"key": STARTUP_SECONDS, "value": "12"},
            {"key": REGISTERED_BY, "value": "hoist 0.0.1"}
        ]});
        mark_registered(&mut body);
        let read = read(&body["tags"]);
        assert!(read.by_hoist);
        assert_eq!(read.startup_seconds, None);
        assert_eq!(body["tags"][0], json!({"key": "team", "value": "plog"}));
        assert_eq!(body["tags"].as_array().unwrap().len(), 2);
        let mut bare = json!({"family": "f"});
        mark_registered(&mut bare);
        assert!(super::read(&bare["tags"]).by_hoist);
    }

    #[test]
    fn measurements_are_whole_seconds_and_only_what_is_known() {
        assert!(measured(None, None).is_empty());
        assert_eq!(
            measured(Some(11.6), None),
            [(STARTUP_SECONDS, "12".to_string())]
        );
        let tags =
            json!([{"key": STARTUP_SECONDS, "value": "12"}, {"key": PULL_SECONDS, "value": "7"}]);
        let read = read(&tags);
        assert_eq!(
            (read.startup_seconds, read.pull_seconds, read.by_hoist),
            (Some(12.0), Some(7.0), false)
        );
    }
}
