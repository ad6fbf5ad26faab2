//! Deploying to Amazon ECS, in rooms a reader can name:
//!
//! - [`taskdef`]: the task definition — rendered for registration (pure),
//!   read from files, diffed, and hoist's tags on the revisions it registers;
//! - [`rollout`]: the rollout — deploy and rollback, following our
//!   deployment, judging each view (pure), CodeDeploy, releases of several
//!   services, the timeline, old revisions, status;
//! - [`diagnosis`]: why it failed — the diagnosis, its hints, container
//!   logs, `hoist logs`;
//! - [`verify`]: `hoist verify`'s checks;
//! - at the bottom, what all of them use: the ECS [`client`], the load
//!   balancer's [`target_health`], the [`service`] as ECS describes it and
//!   the [`failure`] facts a stopped task leaves.
//!
//! Knows nothing of tar, layers or how an image is built: it deploys an
//! image reference it is handed. What it knows of the JVM apps it runs is in
//! the words of its hints and checks (heap flags, Spring Boot Actuator).

pub(crate) mod client;
pub(crate) mod diagnosis;
pub(crate) mod failure;
pub(crate) mod rollout;
pub(crate) mod service;
pub(crate) mod target_health;
pub(crate) mod taskdef;
pub(crate) mod verify;

pub use client::EcsClient;
pub use diagnosis::diagnose::latest_stopped_tasks;
pub use diagnosis::tail::{tail_logs, LogSink, LogsOptions};
pub use failure::{ContainerExit, ContainerLog, Diagnosis, StoppedTask};
pub use rollout::codedeploy::CodeDeployNames;
pub use rollout::deploy::{deploy, rollback, DeployOptions, DeployReport};
pub use rollout::follow::{RolloutProgress, WaitOptions};
pub use rollout::release::{release, OneOffTask, Release, ReleaseReport, TaskReport};
pub use rollout::revisions::RevisionCleanup;
pub use rollout::status::{service_status, ServiceStatus};
pub use rollout::timeline::{seconds_text, Stage, TaskPull, Timeline};
pub use service::{short_arn, Awsvpc, DeploymentView, ServiceEvent, ServiceTarget};
pub use target_health::{TargetGroupHealth, TargetState};
pub use taskdef::render::{Rendered, TaskDefinitionPatch};
pub use taskdef::task_file::{TaskDefinitionFile, TaskDefinitionForm};
pub use verify::{
    verify, Check, CheckStatus, PlatformsFrom, VerifyReport, VerifyRequest, VerifyTarget,
};
