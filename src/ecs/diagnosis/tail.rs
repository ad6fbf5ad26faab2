//! `hoist logs`: the last lines of each running task's essential containers
//! (their awslogs streams, as [`crate::ecs::diagnosis::logs`] names them), and with
//! `follow` the new lines as they come: each stream is read on from the
//! token its last lines came with, tasks that start meanwhile are picked up
//! and those that stopped are let go. A container whose log goes elsewhere
//! (FireLens, another driver) is named with where it goes. A read that
//! fails is a note, never the end of a follow.

use crate::ecs::client::EcsClient;
use crate::ecs::diagnosis::diagnose::{could_not_read, is_essential};
use crate::ecs::diagnosis::logs::{LogReader, LogSource};
use crate::ecs::service::short_arn;
use crate::ecs::service::ServiceTarget;
use anyhow::Result;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How many polls pass between two looks for new (and stopped) tasks.
const RELIST_EVERY: u64 = 10;

/// What `hoist logs` shows.
#[derive(Clone, Debug)]
pub struct LogsOptions {
    /// The services.
    pub targets: Vec<ServiceTarget>,
    /// The last lines first shown per container.
    pub lines: usize,
    /// Keep printing new lines until interrupted.
    pub follow: bool,
    /// How often to poll when following.
    pub interval: Duration,
}

/// Where the lines go (the CLI prints them).
pub trait LogSink: Send + Sync {
    /// One log line of `container` in task `task` (its id).
    fn line(&self, service: &str, container: &str, task: &str, message: &str);
    /// Something about the logs rather than a log line.
    fn note(&self, text: &str);
}

/// One stream being read.
struct Stream {
    service: String,
    container: String,
    task_arn: String,
    task: String,
    region: Option<String>,
    group: String,
    name: String,
    /// Where to read on from; `None` until the stream exists.
    token: Option<String>,
}

/// What the loop keeps between polls.
#[derive(Default)]
struct Following {
    definitions: BTreeMap<String, Value>,
    streams: Vec<Stream>,
    said: BTreeSet<String>,
    /// Reads that answered, and reads that failed.
    read: usize,
    failed: usize,
}

impl Following {
    /// Says `text` once.
    fn note_once(&mut self, key: String, text: &str, sink: &dyn LogSink) {
        if self.said.insert(key) {
            sink.note(text);
        }
    }
}

/// Prints the services' logs; with `follow`, until the caller's interrupt
/// ends it. Without `follow`, an error when not one stream could be read.
pub async fn tail_logs(
    client: &EcsClient,
    options: &LogsOptions,
    sink: &dyn LogSink,
) -> Result<()> {
    let reader = LogReader::new(&client.aws, &client.region);
    let mut state = Following::default();
    let mut round: u64 = 0;
    loop {
        if round % RELIST_EVERY == 0 {
            for target in &options.targets {
                look_for_tasks(client, &reader, target, options, &mut state, sink).await;
            }
            if round == 0 && options.follow {
                sink.note(&format!(
                    "following {} log streams (new lines as they come; Ctrl-C to stop)",
                    state.streams.len()
                ));
            }
        }
        if !options.follow {
            if state.read == 0 && state.failed > 0 {
                anyhow::bail!(
                    "could not read any of the {} log streams (the notes above say why)",
                    state.failed
                );
            }
            return Ok(());
        }
        tokio::time::sleep(options.interval).await;
        for stream in &mut state.streams {
            match reader
                .read_forward(
                    stream.region.as_deref(),
                    &stream.group,
                    &stream.name,
                    stream.token.as_deref(),
                )
                .await
            {
                Ok(page) => {
                    for line in &page.lines {
                        sink.line(
                            &stream.service,
                            &stream.container,
                            &stream.task,
                            &line.message,
                        );
                    }
                    if page.next.is_some() {
                        stream.token = page.next;
                    }
                }
                Err(e) => {
                    let what = format!("the log {} {}", stream.group, stream.name);
                    if state.said.insert(what.clone()) {
                        sink.note(&could_not_read(&what, &e));
                    }
                }
            }
        }
        round += 1;
    }
}

/// Lists `target`'s running tasks: new ones get their streams (and their
/// last lines), streams of tasks no longer running are dropped.
async fn look_for_tasks(
    client: &EcsClient,
    reader: &LogReader,
    target: &ServiceTarget,
    options: &LogsOptions,
    state: &mut Following,
    sink: &dyn LogSink,
) {
    let tasks = match client.running_tasks(&target.cluster, &target.service).await {
        Ok(tasks) => tasks,
        Err(e) => {
            let text = could_not_read(&format!("the tasks of {}", target.service), &e);
            state.note_once(format!("tasks:{}", target.service), &text, sink);
            return;
        }
    };
    let running: BTreeSet<&str> = tasks.iter().map(|(arn, _)| arn.as_str()).collect();
    state
        .streams
        .retain(|s| s.service != target.service || running.contains(s.task_arn.as_str()));
    if tasks.is_empty() {
        let text = format!(
            "service {} has no running tasks{}",
            target.service,
            if options.follow {
                "; waiting for some"
            } else {
                ""
            }
        );
        state.note_once(format!("none:{}", target.service), &text, sink);
    }
    for (task_arn, definition) in tasks {
        if state.streams.iter().any(|s| s.task_arn == task_arn)
            || state.said.contains(&format!("task:{task_arn}"))
        {
            continue;
        }
        state.said.insert(format!("task:{task_arn}"));
        if !state.definitions.contains_key(&definition) {
            match client.describe_task_definition_raw(&definition).await {
                Ok(described) => {
                    state.definitions.insert(definition.clone(), described);
                }
                Err(e) => {
                    let text =
                        could_not_read(&format!("task definition {}", short_arn(&definition)), &e);
                    state.note_once(format!("td:{definition}"), &text, sink);
                    continue;
                }
            }
        }
        let task = task_arn.rsplit('/').next().unwrap_or(&task_arn).to_string();
        let containers = state.definitions[&definition]["taskDefinition"]["containerDefinitions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for container in containers.iter().filter(|c| is_essential(c)) {
            let name = container["name"].as_str().unwrap_or("?").to_string();
            let source = LogSource::of(container);
            let (Some(stream), LogSource::Awslogs { group, region, .. }) =
                (source.stream(&name, &task), &source)
            else {
                let text = format!(
                    "{}: {name} logs to {}",
                    short_arn(&definition),
                    source.describe()
                );
                state.note_once(format!("{}:{name}", short_arn(&definition)), &text, sink);
                continue;
            };
            let mut one = Stream {
                service: target.service.clone(),
                container: name,
                task_arn: task_arn.clone(),
                task: task.clone(),
                region: region.clone(),
                group: group.clone(),
                name: stream,
                token: None,
            };
            match reader
                .tail(region.as_deref(), group, &one.name, options.lines)
                .await
            {
                Ok(Some(page)) => {
                    state.read += 1;
                    for line in &page.lines {
                        sink.line(&one.service, &one.container, &one.task, &line.message);
                    }
                    one.token = page.next;
                }
                Ok(None) => {
                    state.read += 1;
                    sink.note(&format!("no log stream {} in {} yet", one.name, one.group));
                }
                Err(e) => {
                    state.failed += 1;
                    sink.note(&could_not_read(
                        &format!("the log {} {}", one.group, one.name),
                        &e,
                    ));
                }
            }
            state.streams.push(one);
        }
    }
}
