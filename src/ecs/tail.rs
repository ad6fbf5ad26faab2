//! `hoist logs`: the last lines of each running task's essential containers
//! (their awslogs streams, as [`crate::ecs::logs`] names them), and with
//! `follow` the new lines as they come, polling CloudWatch Logs and picking
//! up tasks that start meanwhile. A container whose log goes elsewhere
//! (FireLens, another driver) is named with where it goes.

use crate::ecs::client::EcsClient;
use crate::ecs::deploy::ServiceTarget;
use crate::ecs::diagnose::{could_not_read, is_essential};
use crate::ecs::logs::{LogReader, LogSource};
use crate::ecs::rollout::short_arn;
use anyhow::Result;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

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
    /// One log line of `container` in `task` (short task id).
    fn line(&self, service: &str, container: &str, task: &str, message: &str);
    /// Something about the logs rather than a log line.
    fn note(&self, text: &str);
}

/// One stream being read.
struct Stream {
    service: String,
    container: String,
    task: String,
    region: Option<String>,
    group: String,
    name: String,
    token: Option<String>,
    last_timestamp: Option<i64>,
}

/// Prints the services' logs; with `follow`, forever (the caller's
/// interrupt ends it).
pub async fn tail_logs(
    client: &EcsClient,
    options: &LogsOptions,
    sink: &dyn LogSink,
) -> Result<()> {
    let reader = LogReader::new(&client.aws, &client.region);
    let mut definitions: BTreeMap<String, Value> = BTreeMap::new();
    let mut streams: Vec<Stream> = Vec::new();
    let mut known: BTreeSet<String> = BTreeSet::new();
    let mut said: BTreeSet<String> = BTreeSet::new();
    let mut round: u64 = 0;
    loop {
        // New tasks: at the start, then every tenth poll.
        if round % 10 == 0 {
            for target in &options.targets {
                let tasks = client
                    .running_tasks(&target.cluster, &target.service)
                    .await?;
                if tasks.is_empty() && said.insert(format!("none:{}", target.service)) {
                    sink.note(&format!(
                        "service {} has no running tasks{}",
                        target.service,
                        if options.follow {
                            "; waiting for some"
                        } else {
                            ""
                        }
                    ));
                }
                for (task_arn, definition) in tasks {
                    if !known.insert(task_arn.clone()) {
                        continue;
                    }
                    if !definitions.contains_key(&definition) {
                        let described = client.describe_task_definition_raw(&definition).await?;
                        definitions.insert(definition.clone(), described);
                    }
                    let task = task_arn.rsplit('/').next().unwrap_or(&task_arn).to_string();
                    let containers = definitions[&definition]["taskDefinition"]
                        ["containerDefinitions"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    for container in containers.iter().filter(|c| is_essential(c)) {
                        let name = container["name"].as_str().unwrap_or("?").to_string();
                        let source = LogSource::of(container);
                        match (source.stream(&name, &task), source) {
                            (Some(stream), LogSource::Awslogs { group, region, .. }) => {
                                let mut one = Stream {
                                    service: target.service.clone(),
                                    container: name,
                                    task: task.clone(),
                                    region,
                                    group,
                                    name: stream,
                                    token: None,
                                    last_timestamp: None,
                                };
                                if options.lines > 0 {
                                    show_last(&reader, &mut one, options.lines, sink).await;
                                }
                                streams.push(one);
                            }
                            (_, source) => {
                                if said.insert(format!("{}:{name}", short_arn(&definition))) {
                                    sink.note(&format!(
                                        "{}: {name} logs to {}",
                                        short_arn(&definition),
                                        source.describe()
                                    ));
                                }
                            }
                        }
                    }
                }
            }
        }
        if !options.follow {
            return Ok(());
        }
        tokio::time::sleep(options.interval).await;
        for stream in &mut streams {
            match reader
                .read_forward(
                    stream.region.as_deref(),
                    &stream.group,
                    &stream.name,
                    stream.token.as_deref(),
                    stream.last_timestamp.map(|t| t + 1),
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
                        stream.last_timestamp = Some(line.timestamp);
                    }
                    if page.next.is_some() {
                        stream.token = page.next;
                    }
                }
                Err(e) => {
                    let what = format!("the log {} {}", stream.group, stream.name);
                    if said.insert(what.clone()) {
                        sink.note(&could_not_read(&what, &e));
                    }
                }
            }
        }
        round += 1;
    }
}

async fn show_last(reader: &LogReader, stream: &mut Stream, lines: usize, sink: &dyn LogSink) {
    match reader
        .last_lines(stream.region.as_deref(), &stream.group, &stream.name, lines)
        .await
    {
        Ok(Some(found)) => {
            for line in &found {
                sink.line(
                    &stream.service,
                    &stream.container,
                    &stream.task,
                    &line.message,
                );
                stream.last_timestamp = Some(line.timestamp);
            }
        }
        Ok(None) => sink.note(&format!(
            "no log stream {} in {} yet",
            stream.name, stream.group
        )),
        Err(e) => sink.note(&could_not_read(
            &format!("the log {} {}", stream.group, stream.name),
            &e,
        )),
    }
}
