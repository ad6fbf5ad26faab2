//! Where a rollout's minutes went: the stages of *our* deployment and how
//! long each took, from ECS's own clock — the task definition's
//! `registeredAt`, the deployment's `createdAt`, DescribeTasks' task
//! timestamps (`createdAt`, `pullStartedAt`, `pullStoppedAt`, `startedAt`,
//! `stoppingAt`, `stoppedAt`: API_Task.html), and what the follow sampled
//! (the moment the load balancer first called all our tasks healthy, the
//! lifecycle stage BAKE_TIME) stamped with the newest time ECS had shown.
//!
//! Pure: [`build`] takes plain facts. Each stage says when the last of our
//! tasks got there and how long the slowest task spent in it (so a rollout
//! of several rounds shows its rounds in the times); a figure that could not
//! be read is `None` ("not known"), never 0.

pub(crate) use crate::ecs::service::TaskTimes;
use serde::Serialize;
use time::OffsetDateTime;

/// What the timeline is made of.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct TimelineFacts {
    /// When the task definition was registered.
    pub(crate) registered_at: Option<f64>,
    /// When the service was updated: our deployment's `createdAt`.
    pub(crate) updated_at: Option<f64>,
    /// Our deployment's tasks.
    pub(crate) ours: Vec<TaskTimes>,
    /// The tasks of the deployments ours replaced, stopped during it.
    pub(crate) old: Vec<TaskTimes>,
    /// Whether the service has a load balancer (else there is no target
    /// health to wait for).
    pub(crate) load_balanced: bool,
    /// When the load balancer first had all our running tasks healthy.
    pub(crate) healthy_at: Option<f64>,
    /// When BAKE_TIME began and ended (blue/green, linear, canary).
    pub(crate) bake: Option<(f64, Option<f64>)>,
    /// When the deployment ended (its service deployment's `finishedAt`,
    /// else the newest time ECS showed at the last look).
    pub(crate) done_at: Option<f64>,
}

/// One stage of the timeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    /// `registered`, `service updated`, `provisioning`, `image pull`,
    /// `started`, `healthy`, `old tasks draining`, `bake time`, `done`.
    pub name: String,
    /// When it ended (RFC 3339, UTC), if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Seconds after the service was updated, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset_seconds: Option<f64>,
    /// How long it took, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// More about it (the slowest task's pull, how many tasks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One task's image pull.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskPull {
    /// The task's id.
    pub task: String,
    /// Seconds its pull took.
    pub seconds: f64,
}

/// The stages of a deployment, in order.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    /// The stages.
    pub stages: Vec<Stage>,
    /// From the service update to the end, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_seconds: Option<f64>,
    /// Each task's image pull, slowest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pulls: Vec<TaskPull>,
    /// Seconds from our last task's start to healthy: the app's start-up
    /// as the load balancer saw it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_seconds: Option<f64>,
}

/// The latest of some times.
fn latest(times: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    times.flatten().reduce(f64::max)
}

fn span(from: Option<f64>, to: Option<f64>) -> Option<f64> {
    match (from, to) {
        (Some(from), Some(to)) if to >= from => Some(to - from),
        _ => None,
    }
}

/// RFC 3339, UTC, whole seconds.
fn rfc3339(at: f64) -> Option<String> {
    let moment = OffsetDateTime::from_unix_timestamp(at.floor() as i64).ok()?;
    moment
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// The timeline of `facts`.
pub(crate) fn build(facts: &TimelineFacts) -> Timeline {
    let updated = facts.updated_at;
    let stage = |name: &str, at: Option<f64>, seconds: Option<f64>, detail: Option<String>| Stage {
        name: name.to_string(),
        at: at.and_then(rfc3339),
        offset_seconds: span(updated, at),
        seconds,
        detail,
    };
    let ours = &facts.ours;
    let tasks = |n: usize| {
        if n == 1 {
            "1 task".to_string()
        } else {
            format!("{n} tasks")
        }
    };
    // Each stage: when the last task got there ("at"), and how long the
    // slowest task spent in it ("took"): in a rollout of several rounds the
    // stages repeat, and "at" shows the rounds.
    let slowest =
        |from: fn(&TaskTimes) -> Option<f64>,
         to: fn(&TaskTimes) -> Option<f64>,
         tasks: &[TaskTimes]| { latest(tasks.iter().map(|t| span(from(t), to(t)))) };
    let pull_started = latest(ours.iter().map(|t| t.pull_started_at));
    let pull_stopped = latest(ours.iter().map(|t| t.pull_stopped_at));
    let started = latest(ours.iter().map(|t| t.started_at));
    let mut pulls: Vec<TaskPull> = ours
        .iter()
        .filter_map(|t| {
            Some(TaskPull {
                task: t.task.clone(),
                seconds: span(t.pull_started_at, t.pull_stopped_at)?,
            })
        })
        .collect();
    pulls.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
    let provisioned = |t: &TaskTimes| t.pull_started_at.or(t.started_at);
    let mut stages = vec![
        stage("registered", facts.registered_at, None, None),
        stage(
            "service updated",
            updated,
            span(facts.registered_at, updated),
            None,
        ),
        stage(
            "provisioning",
            pull_started.or(started),
            latest(ours.iter().map(|t| span(t.created_at, provisioned(t)))),
            (!ours.is_empty()).then(|| tasks(ours.len())),
        ),
        stage(
            "image pull",
            pull_stopped,
            pulls.first().map(|p| p.seconds),
            pulls
                .first()
                .map(|p| format!("slowest {} (task {})", seconds_text(p.seconds), p.task)),
        ),
        stage(
            "started",
            started,
            slowest(|t| t.pull_stopped_at, |t| t.started_at, ours),
            None,
        ),
    ];
    let startup_seconds = span(started, facts.healthy_at);
    stages.push(if facts.load_balanced {
        stage("healthy", facts.healthy_at, startup_seconds, None)
    } else {
        stage(
            "healthy",
            None,
            None,
            Some("no load balancer: running is ready".into()),
        )
    });
    if !facts.old.is_empty() {
        stages.push(stage(
            "old tasks draining",
            latest(facts.old.iter().map(|t| t.stopped_at)),
            slowest(|t| t.stopping_at, |t| t.stopped_at, &facts.old),
            Some(tasks(facts.old.len())),
        ));
    }
    if let Some((from, to)) = facts.bake {
        stages.push(stage("bake time", to, span(Some(from), to), None));
    }
    stages.push(stage("done", facts.done_at, None, None));
    Timeline {
        stages,
        total_seconds: span(updated, facts.done_at),
        pulls,
        startup_seconds,
    }
}

/// `42s`, `3m 05s`.
pub fn seconds_text(seconds: f64) -> String {
    let whole = seconds.round() as u64;
    if whole < 60 {
        format!("{whole}s")
    } else {
        format!("{}m {:02}s", whole / 60, whole % 60)
    }
}

impl Timeline {
    /// The timeline as lines for people: `STAGE  +OFFSET  TOOK  DETAIL`,
    /// "not known" where a figure could not be read.
    pub fn lines(&self) -> Vec<String> {
        let known = |s: Option<f64>| s.map_or_else(|| "not known".to_string(), seconds_text);
        let mut lines: Vec<String> = self
            .stages
            .iter()
            .map(|s| {
                let at = match (s.offset_seconds, &s.at) {
                    (Some(o), _) => format!("+{}", seconds_text(o)),
                    // Before the service update: the registration.
                    (None, Some(_)) => "before".into(),
                    (None, None) => "not known".into(),
                };
                let took = match s.name.as_str() {
                    "registered" | "done" => String::new(),
                    _ => known(s.seconds),
                };
                let line = format!(
                    "  {:<20} {:<11} {:<10} {}",
                    s.name,
                    at,
                    took,
                    s.detail.as_deref().unwrap_or("")
                );
                line.trim_end().to_string()
            })
            .collect();
        lines.insert(
            0,
            format!(
                "timeline (from the service update: {})",
                known(self.total_seconds)
            ),
        );
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: f64 = 1_800_000_000.0;

    fn task(id: &str, created: f64, pull: f64, start: f64) -> TaskTimes {
        TaskTimes {
            task: id.into(),
            created_at: Some(T + created),
            pull_started_at: Some(T + created + 2.0),
            pull_stopped_at: Some(T + created + 2.0 + pull),
            started_at: Some(T + created + 2.0 + pull + start),
            ..Default::default()
        }
    }

    fn facts() -> TimelineFacts {
        TimelineFacts {
            registered_at: Some(T - 1.0),
            updated_at: Some(T),
            ours: vec![task("a", 0.0, 7.0, 1.0), task("b", 0.0, 5.0, 1.0)],
            old: vec![TaskTimes {
                task: "old".into(),
                stopping_at: Some(T + 60.0),
                stopped_at: Some(T + 90.0),
                ..Default::default()
            }],
            load_balanced: true,
            healthy_at: Some(T + 60.0),
            bake: None,
            done_at: Some(T + 91.0),
        }
    }

    fn seconds(timeline: &Timeline, name: &str) -> Option<f64> {
        timeline
            .stages
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no stage {name}"))
            .seconds
    }

    #[test]
    fn each_stage_spans_to_its_last_task_in_order() {
        let timeline = build(&facts());
        let names: Vec<&str> = timeline.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "registered",
                "service updated",
                "provisioning",
                "image pull",
                "started",
                "healthy",
                "old tasks draining",
                "done"
            ]
        );
        assert_eq!(seconds(&timeline, "service updated"), Some(1.0));
        assert_eq!(seconds(&timeline, "provisioning"), Some(2.0));
        assert_eq!(seconds(&timeline, "image pull"), Some(7.0));
        assert_eq!(seconds(&timeline, "started"), Some(1.0));
        assert_eq!(seconds(&timeline, "healthy"), Some(50.0));
        assert_eq!(seconds(&timeline, "old tasks draining"), Some(30.0));
        assert_eq!(timeline.total_seconds, Some(91.0));
        assert_eq!(timeline.startup_seconds, Some(50.0));
        assert_eq!(
            timeline.pulls[0],
            TaskPull {
                task: "a".into(),
                seconds: 7.0
            }
        );
        let lines = timeline.lines();
        assert_eq!(lines[0], "timeline (from the service update: 1m 31s)");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("image pull") && l.contains("slowest 7s (task a)")),
            "{lines:?}"
        );
    }

    #[test]
    fn what_could_not_be_read_is_not_known_never_zero() {
        let mut facts = facts();
        facts.healthy_at = None;
        facts.done_at = None;
        for t in &mut facts.ours {
            t.pull_stopped_at = None;
        }
        let timeline = build(&facts);
        assert_eq!(seconds(&timeline, "image pull"), None);
        assert_eq!(seconds(&timeline, "healthy"), None);
        assert_eq!(timeline.total_seconds, None);
        let lines = timeline.lines();
        assert!(lines[0].ends_with("not known)"), "{lines:?}");
        let pull = lines.iter().find(|l| l.contains("image pull")).unwrap();
        assert!(pull.contains("not known"), "{pull}");
        assert!(!lines.iter().any(|l| l.contains(" 0s")), "{lines:?}");
    }
}
