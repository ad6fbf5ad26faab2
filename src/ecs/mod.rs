//! Deploying to Amazon ECS: task-definition rendering (pure) and task
//! definitions read from files, rollout judgement (pure), and the client that
//! registers, updates and waits.
//!
//! Knows nothing of tar, layers or how an image is built: it deploys an
//! image reference it is handed. What it knows of the JVM apps it runs is in
//! the words of its hints and checks (heap flags, Spring Boot Actuator).

pub(crate) mod client;
pub(crate) mod codedeploy;
pub(crate) mod deploy;
pub(crate) mod diagnose;
pub(crate) mod diff;
pub(crate) mod failure;
pub(crate) mod follow;
pub(crate) mod hints;
pub(crate) mod logs;
pub(crate) mod release;
pub(crate) mod render;
pub(crate) mod revision_tags;
pub(crate) mod revisions;
pub(crate) mod rollout;
pub(crate) mod service;
pub(crate) mod status;
pub(crate) mod tail;
pub(crate) mod target_health;
pub(crate) mod task_file;
pub(crate) mod timeline;
pub(crate) mod verify;

pub use client::EcsClient;
pub use codedeploy::CodeDeployNames;
pub use deploy::{deploy, rollback, DeployOptions, DeployReport};
pub use diagnose::{latest_stopped_tasks, ContainerExit, ContainerLog, Diagnosis, StoppedTask};
pub use follow::{RolloutProgress, WaitOptions};
pub use release::{release, OneOffTask, Release, ReleaseReport, TaskReport};
pub use render::{Rendered, TaskDefinitionPatch};
pub use revisions::RevisionCleanup;
pub use service::{short_arn, Awsvpc, DeploymentView, ServiceEvent, ServiceTarget};
pub use status::{service_status, ServiceStatus};
pub use tail::{tail_logs, LogSink, LogsOptions};
pub use target_health::{TargetGroupHealth, TargetState};
pub use task_file::{TaskDefinitionFile, TaskDefinitionForm};
pub use timeline::{seconds_text, Stage, TaskPull, Timeline};
pub use verify::{
    verify, Check, CheckStatus, PlatformsFrom, VerifyReport, VerifyRequest, VerifyTarget,
};
