//! Where a container's logs go, and reading them from CloudWatch Logs.
//!
//! A task definition's `logConfiguration` names the driver. With `awslogs`
//! the stream of a task's container is `PREFIX/CONTAINER/TASK-ID` in
//! `awslogs-group` (ECS Developer Guide, "Using the awslogs log driver":
//! "prefix-name/container-name/ecs-task-id"), in `awslogs-region`. Any other
//! driver (FireLens `awsfirelens`, splunk, …) sends them elsewhere: hoist
//! says where instead of reading them.
//!
//! [`LogReader`] keeps one CloudWatch Logs client per region.

use crate::aws::error::{AwsCall, AwsError, Service};
use crate::aws::AwsOptions;
use anyhow::Result;
use serde_json::Value;
use std::collections::BTreeMap;
use tokio::sync::Mutex;

/// Where one container's logs go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LogSource {
    /// The awslogs driver: CloudWatch Logs.
    Awslogs {
        /// `awslogs-group`.
        group: String,
        /// `awslogs-region` (else the task's region).
        region: Option<String>,
        /// `awslogs-stream-prefix`, if set (required on Fargate).
        prefix: Option<String>,
        /// `awslogs-create-group` is "true".
        create_group: bool,
    },
    /// Another driver: its name and, where its options say, the destination.
    Elsewhere {
        /// `logDriver`.
        driver: String,
        /// What its options say about where the lines go.
        destination: Option<String>,
    },
    /// No `logConfiguration`: the lines are not kept anywhere ECS knows.
    Nowhere,
}

impl LogSource {
    /// The log source of one container definition (DescribeTaskDefinition's JSON).
    pub(crate) fn of(container: &Value) -> Self {
        let config = &container["logConfiguration"];
        let Some(driver) = config["logDriver"].as_str() else {
            return LogSource::Nowhere;
        };
        let option = |key: &str| config["options"][key].as_str().map(str::to_string);
        if driver == "awslogs" {
            return match option("awslogs-group") {
                Some(group) => LogSource::Awslogs {
                    group,
                    region: option("awslogs-region"),
                    prefix: option("awslogs-stream-prefix"),
                    create_group: option("awslogs-create-group").as_deref() == Some("true"),
                },
                None => LogSource::Elsewhere {
                    driver: driver.into(),
                    destination: Some("no awslogs-group option".into()),
                },
            };
        }
        // FireLens (awsfirelens) names its output plugin in `Name`; the
        // common ones name their destination in another option.
        let destination = match option("Name") {
            Some(name) => {
                let place = [
                    "log_group_name",
                    "delivery_stream",
                    "Host",
                    "host",
                    "bucket",
                ]
                .iter()
                .find_map(|key| option(key).map(|v| format!("{key}={v}")));
                Some(match place {
                    Some(place) => format!("FireLens output {name}, {place}"),
                    None => format!("FireLens output {name}"),
                })
            }
            None => None,
        };
        LogSource::Elsewhere {
            driver: driver.into(),
            destination,
        }
    }

    /// The stream of `container` in task `task_id`, for awslogs with a prefix.
    pub(crate) fn stream(&self, container: &str, task_id: &str) -> Option<String> {
        match self {
            LogSource::Awslogs {
                prefix: Some(prefix),
                ..
            } => Some(format!("{prefix}/{container}/{task_id}")),
            _ => None,
        }
    }

    /// Where the lines are, in words, for a container whose logs hoist does not read.
    pub(crate) fn describe(&self) -> String {
        match self {
            LogSource::Awslogs {
                group,
                prefix: None,
                ..
            } => format!(
                "awslogs group {group} without awslogs-stream-prefix: the stream is named after the Docker container id, which ECS does not report"
            ),
            LogSource::Awslogs { group, .. } => format!("awslogs group {group}"),
            LogSource::Elsewhere {
                driver,
                destination: Some(destination),
            } => format!("the {driver} log driver ({destination}), not CloudWatch Logs"),
            LogSource::Elsewhere { driver, .. } => {
                format!("the {driver} log driver, not CloudWatch Logs")
            }
            LogSource::Nowhere => {
                "nowhere: the container has no logConfiguration (add the awslogs driver to keep its output)".into()
            }
        }
    }
}

/// One log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogLine {
    /// Milliseconds since the epoch.
    pub(crate) timestamp: i64,
    /// The message, without its trailing newline.
    pub(crate) message: String,
}

/// The answer of one read forward: lines and where to go on from.
pub(crate) struct LogPage {
    /// New lines, oldest first.
    pub(crate) lines: Vec<LogLine>,
    /// The token for the next read.
    pub(crate) next: Option<String>,
}

/// CloudWatch Logs clients, one per region, made when first needed.
pub(crate) struct LogReader {
    aws: AwsOptions,
    default_region: String,
    clients: Mutex<BTreeMap<String, aws_sdk_cloudwatchlogs::Client>>,
}

impl LogReader {
    /// A reader for the region `default_region` (and whichever a log
    /// configuration names).
    pub(crate) fn new(aws: &AwsOptions, default_region: &str) -> Self {
        Self {
            aws: aws.clone(),
            default_region: default_region.to_string(),
            clients: Mutex::new(BTreeMap::new()),
        }
    }

    async fn client(&self, region: Option<&str>) -> aws_sdk_cloudwatchlogs::Client {
        let region = region.unwrap_or(&self.default_region).to_string();
        let mut clients = self.clients.lock().await;
        if let Some(client) = clients.get(&region) {
            return client.clone();
        }
        let options = AwsOptions {
            region: Some(region.clone()),
            profile: self.aws.profile.clone(),
        };
        let client = aws_sdk_cloudwatchlogs::Client::new(&crate::aws::sdk_config(&options).await);
        clients.insert(region, client.clone());
        client
    }

    /// The last `n` lines of `stream` in `group`, oldest first. A stream
    /// that does not exist gives `Ok(None)`.
    pub(crate) async fn last_lines(
        &self,
        region: Option<&str>,
        group: &str,
        stream: &str,
        n: usize,
    ) -> Result<Option<Vec<LogLine>>> {
        Ok(self
            .tail(region, group, stream, n)
            .await?
            .map(|page| page.lines))
    }

    /// The last `n` lines of `stream` (none for 0) and the token to read on
    /// from its end: what a follow starts with. A stream that does not
    /// exist gives `Ok(None)`.
    pub(crate) async fn tail(
        &self,
        region: Option<&str>,
        group: &str,
        stream: &str,
        n: usize,
    ) -> Result<Option<LogPage>> {
        let client = self.client(region).await;
        let answer = client
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(false)
            .limit(i32::try_from(n.clamp(1, 10_000)).unwrap_or(10_000))
            .send()
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(None)
            }
            Err(e) => {
                return Err(AwsError::of(
                    Service::Logs,
                    "GetLogEvents",
                    &format!("{group} {stream}"),
                    &e,
                )
                .into())
            }
        };
        let mut lines: Vec<LogLine> = answer.events().iter().map(line).collect();
        let keep = lines.len().saturating_sub(n);
        lines.drain(..keep);
        Ok(Some(LogPage {
            lines,
            next: answer.next_forward_token().map(str::to_string),
        }))
    }

    /// Lines of `stream` after `token` (from its start when `None`: a
    /// stream that did not exist when the follow began); a stream not there
    /// yet gives no lines and no token.
    pub(crate) async fn read_forward(
        &self,
        region: Option<&str>,
        group: &str,
        stream: &str,
        token: Option<&str>,
    ) -> Result<LogPage> {
        let client = self.client(region).await;
        let request = client
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .set_next_token(token.map(str::to_string));
        match request.send().await {
            Ok(answer) => Ok(LogPage {
                lines: answer.events().iter().map(line).collect(),
                next: answer.next_forward_token().map(str::to_string),
            }),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(LogPage {
                    lines: Vec::new(),
                    next: None,
                })
            }
            Err(e) => Err(AwsError::of(
                Service::Logs,
                "GetLogEvents",
                &format!("{group} {stream}"),
                &e,
            )
            .into()),
        }
    }

    /// Whether log group `group` exists (DescribeLogGroups by prefix).
    pub(crate) async fn group_exists(&self, region: Option<&str>, group: &str) -> Result<bool> {
        let client = self.client(region).await;
        let answer = client
            .describe_log_groups()
            .log_group_name_prefix(group)
            .send()
            .await
            .or_aws(Service::Logs, "DescribeLogGroups", group)?;
        Ok(answer
            .log_groups()
            .iter()
            .any(|g| g.log_group_name() == Some(group)))
    }
}

fn line(event: &aws_sdk_cloudwatchlogs::types::OutputLogEvent) -> LogLine {
    LogLine {
        timestamp: event.timestamp().unwrap_or(0),
        message: event
            .message()
            .unwrap_or_default()
            .trim_end_matches(['\n', '\r'])
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn awslogs_streams_are_prefix_container_task() {
        let source = LogSource::of(&json!({"name": "plog-back", "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": "/ecs/plog-api", "awslogs-region": "ap-northeast-2", "awslogs-stream-prefix": "plog"}}}));
        assert_eq!(
            source.stream("plog-back", "0123abcd"),
            Some("plog/plog-back/0123abcd".into())
        );
        assert!(matches!(
            source,
            LogSource::Awslogs {
                create_group: false,
                ..
            }
        ));
    }

    #[test]
    fn other_drivers_say_where_the_lines_go() {
        let firelens = LogSource::of(&json!({"logConfiguration": {
            "logDriver": "awsfirelens",
            "options": {"Name": "datadog", "Host": "http-intake.logs.datadoghq.com"}}}));
        assert_eq!(firelens.stream("c", "t"), None);
        assert_eq!(
            firelens.describe(),
            "the awsfirelens log driver (FireLens output datadog, Host=http-intake.logs.datadoghq.com), not CloudWatch Logs"
        );
        assert!(LogSource::of(&json!({"name": "x"}))
            .describe()
            .starts_with("nowhere"));
        let no_prefix = LogSource::of(&json!({"logConfiguration": {
            "logDriver": "awslogs", "options": {"awslogs-group": "/ecs/x"}}}));
        assert_eq!(no_prefix.stream("c", "t"), None);
        assert!(no_prefix.describe().contains("awslogs-stream-prefix"));
    }
}
