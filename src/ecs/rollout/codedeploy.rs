//! Deploying a CODE_DEPLOY service: ECS refuses UpdateService with a new
//! task definition for them ("create a new CodeDeploy deployment",
//! API_UpdateService.html), so the revision goes out as a CodeDeploy
//! deployment whose AppSpec names the task definition and the container and
//! port behind the service's load balancer, and that deployment is followed
//! through its lifecycle events to its end.
//!
//! The application and deployment group default to the names the ECS
//! console gives them: `AppECS-<cluster>-<service>` and
//! `DgpECS-<cluster>-<service>`.

use crate::aws::error::{AwsError, Service};
use crate::aws::AwsOptions;
use crate::ecs::rollout::follow::{Ending, RolloutProgress, WaitOptions};
use crate::ecs::service::LoadBalancerTarget;
use crate::ecs::service::ServiceTarget;
use anyhow::{Context, Result};
use aws_sdk_codedeploy::error::ProvideErrorMetadata;
use aws_sdk_codedeploy::types::{
    AppSpecContent, DeploymentStatus, RevisionLocation, RevisionLocationType,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Which CodeDeploy application and deployment group deploy a service.
#[derive(Clone, Debug, Default)]
pub struct CodeDeployNames {
    /// The application (default `AppECS-<cluster>-<service>`).
    pub application: Option<String>,
    /// The deployment group (default `DgpECS-<cluster>-<service>`).
    pub deployment_group: Option<String>,
}

impl CodeDeployNames {
    /// The names to use for `target`: as given, else the console's.
    pub(crate) fn resolve(&self, target: &ServiceTarget) -> (String, String) {
        let last = |name: &str| name.rsplit('/').next().unwrap_or(name).to_string();
        let (cluster, service) = (last(&target.cluster), last(&target.service));
        (
            self.application
                .clone()
                .unwrap_or_else(|| format!("AppECS-{cluster}-{service}")),
            self.deployment_group
                .clone()
                .unwrap_or_else(|| format!("DgpECS-{cluster}-{service}")),
        )
    }
}

/// The ECS AppSpec for a new task definition (CodeDeploy User Guide,
/// "AppSpec 'resources' section for Amazon ECS deployments"): version 0.0,
/// one `AWS::ECS::Service` target with the task definition and the
/// container and port the load balancer sends traffic to.
pub(crate) fn app_spec(task_definition: &str, traffic: &LoadBalancerTarget) -> String {
    let spec = serde_json::json!({
        "version": 0.0,
        "Resources": [{
            "TargetService": {
                "Type": "AWS::ECS::Service",
                "Properties": {
                    "TaskDefinition": task_definition,
                    "LoadBalancerInfo": {
                        "ContainerName": traffic.container_name,
                        "ContainerPort": traffic.container_port,
                    }
                }
            }
        }]
    });
    serde_json::to_string_pretty(&spec).expect("an AppSpec serialises")
}

/// A CodeDeploy client.
pub(crate) struct CodeDeployClient {
    client: aws_sdk_codedeploy::Client,
}

fn api_error<E>(
    operation: &str,
    subject: &str,
    error: aws_sdk_codedeploy::error::SdkError<E, HttpResponse>,
) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let error = AwsError::of(Service::CodeDeploy, operation, subject, &error);
    let missing = error
        .code()
        .is_some_and(|c| c.ends_with("DoesNotExistException"));
    let error = anyhow::Error::new(error);
    if missing {
        error.context(
            "the CodeDeploy application or deployment group was not found (hint: name them with --codedeploy-application / --codedeploy-group, or codedeploy-application / codedeploy-group in hoist.toml)",
        )
    } else {
        error
    }
}

/// How one CodeDeploy deployment stands.
struct DeploymentState {
    status: String,
    error: Option<String>,
    rollback_deployment: Option<String>,
    rollback_message: Option<String>,
}

impl CodeDeployClient {
    /// A client from the same AWS configuration as ECS.
    pub(crate) async fn new(options: &AwsOptions) -> Self {
        let config = crate::aws::sdk_config(options).await;
        Self {
            client: aws_sdk_codedeploy::Client::new(&config),
        }
    }

    /// Starts a deployment of `app_spec`; returns its id.
    pub(crate) async fn create(&self, app: &str, group: &str, app_spec: &str) -> Result<String> {
        let sha256 = hex::encode(Sha256::digest(app_spec.as_bytes()));
        let revision = RevisionLocation::builder()
            .revision_type(RevisionLocationType::AppSpecContent)
            .app_spec_content(
                AppSpecContent::builder()
                    .content(app_spec)
                    .sha256(sha256)
                    .build(),
            )
            .build();
        let answer = self
            .client
            .create_deployment()
            .application_name(app)
            .deployment_group_name(group)
            .revision(revision)
            .description("hoist deploy")
            .send()
            .await
            .map_err(|e| api_error("CreateDeployment", &format!("{app}/{group}"), e))?;
        answer
            .deployment_id()
            .map(str::to_string)
            .context("CodeDeploy CreateDeployment answered no deployment id")
    }

    async fn state(&self, id: &str) -> Result<DeploymentState> {
        let answer = self
            .client
            .get_deployment()
            .deployment_id(id)
            .send()
            .await
            .map_err(|e| api_error("GetDeployment", id, e))?;
        let info = answer.deployment_info();
        Ok(DeploymentState {
            status: info
                .and_then(|i| i.status())
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            error: info.and_then(|i| i.error_information()).map(|e| {
                format!(
                    "{}: {}",
                    e.code().map(|c| c.as_str()).unwrap_or("error"),
                    e.message().unwrap_or_default()
                )
            }),
            rollback_deployment: info
                .and_then(|i| i.rollback_info())
                .and_then(|r| r.rollback_deployment_id())
                .map(str::to_string),
            rollback_message: info
                .and_then(|i| i.rollback_info())
                .and_then(|r| r.rollback_message())
                .map(str::to_string),
        })
    }

    /// When deployment `id` was created and completed (GetDeployment's
    /// `createTime`, `completeTime`), as far as CodeDeploy says: the ends of
    /// its timeline.
    pub(crate) async fn times(&self, id: &str) -> (Option<f64>, Option<f64>) {
        let Ok(answer) = self.client.get_deployment().deployment_id(id).send().await else {
            return (None, None);
        };
        let info = answer.deployment_info();
        (
            info.and_then(|i| i.create_time()).map(|t| t.as_secs_f64()),
            info.and_then(|i| i.complete_time())
                .map(|t| t.as_secs_f64()),
        )
    }

    /// Lifecycle events of the deployment's ECS target: name → status.
    async fn lifecycle_events(&self, id: &str) -> Result<Vec<(String, String)>> {
        let targets = match self
            .client
            .list_deployment_targets()
            .deployment_id(id)
            .send()
            .await
        {
            Ok(answer) => answer.target_ids().to_vec(),
            // Not started yet (DeploymentNotStartedException): no events.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_deployment_not_started_exception()) =>
            {
                return Ok(Vec::new())
            }
            Err(e) => return Err(api_error("ListDeploymentTargets", id, e)),
        };
        let mut events = Vec::new();
        for target in targets {
            let answer = self
                .client
                .get_deployment_target()
                .deployment_id(id)
                .target_id(&target)
                .send()
                .await
                .map_err(|e| api_error("GetDeploymentTarget", id, e))?;
            let lifecycle = answer
                .deployment_target()
                .and_then(|t| t.ecs_target())
                .map(|t| t.lifecycle_events())
                .unwrap_or_default();
            for event in lifecycle {
                events.push((
                    event.lifecycle_event_name().unwrap_or("?").to_string(),
                    event
                        .status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                ));
            }
        }
        Ok(events)
    }

    /// Stops a deployment and asks CodeDeploy to roll it back.
    pub(crate) async fn stop_with_rollback(&self, id: &str) -> Result<()> {
        self.client
            .stop_deployment()
            .deployment_id(id)
            .auto_rollback_enabled(true)
            .send()
            .await
            .map_err(|e| api_error("StopDeployment", id, e))?;
        Ok(())
    }

    /// The newest deployment of the group, with its status, for `status`.
    pub(crate) async fn latest(&self, app: &str, group: &str) -> Result<Option<(String, String)>> {
        let answer = self
            .client
            .list_deployments()
            .application_name(app)
            .deployment_group_name(group)
            .send()
            .await
            .map_err(|e| api_error("ListDeployments", &format!("{app}/{group}"), e))?;
        let mut newest: Option<(f64, String, String)> = None;
        for id in answer.deployments() {
            let got = self
                .client
                .get_deployment()
                .deployment_id(id)
                .send()
                .await
                .map_err(|e| api_error("GetDeployment", id, e))?;
            let Some(info) = got.deployment_info() else {
                continue;
            };
            let created = info.create_time().map(|t| t.as_secs_f64()).unwrap_or(0.0);
            if newest.as_ref().is_none_or(|(t, _, _)| created > *t) {
                let status = info
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default();
                newest = Some((created, id.clone(), status));
            }
        }
        Ok(newest.map(|(_, id, status)| (id, status)))
    }

    /// Follows deployment `id` to its end, printing lifecycle events as
    /// they change (GetDeployment's status: Succeeded, Failed, Stopped end
    /// it; Created, Queued, InProgress, Baking, Ready do not).
    pub(crate) async fn follow(
        &self,
        id: &str,
        wait: WaitOptions,
        progress: &dyn RolloutProgress,
    ) -> Result<Ending> {
        let deadline = Instant::now() + wait.timeout;
        let mut shown: BTreeMap<String, String> = BTreeMap::new();
        let mut last_status = String::new();
        loop {
            if Instant::now() >= deadline {
                return Ok(Ending::TimedOut(wait.timeout));
            }
            let state = self.state(id).await?;
            if state.status != last_status {
                progress.step(&format!("CodeDeploy deployment {id}: {}", state.status));
                last_status = state.status.clone();
            }
            for (name, status) in self.lifecycle_events(id).await? {
                if shown.get(&name) != Some(&status) && status != "Pending" {
                    progress.step(&format!("lifecycle event {name}: {status}"));
                    shown.insert(name, status);
                }
            }
            match DeploymentStatus::from(state.status.as_str()) {
                DeploymentStatus::Succeeded => return Ok(Ending::Stable),
                DeploymentStatus::Failed | DeploymentStatus::Stopped => {
                    let reason = state.error.unwrap_or_else(|| state.status.clone());
                    return Ok(match state.rollback_deployment {
                        Some(back) => Ending::RolledBack(format!(
                            "{reason}; CodeDeploy rolled back with deployment {back}{}",
                            state
                                .rollback_message
                                .map(|m| format!(" ({m})"))
                                .unwrap_or_default()
                        )),
                        None => Ending::Failed(reason),
                    });
                }
                _ => {}
            }
            tokio::time::sleep(
                wait.interval
                    .min(deadline.saturating_duration_since(Instant::now()))
                    .max(Duration::from_millis(1)),
            )
            .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_spec_names_the_task_definition_container_and_port() {
        let spec = app_spec(
            "arn:aws:ecs:r:1:task-definition/plog-api:3",
            &LoadBalancerTarget {
                container_name: "plog-back".into(),
                container_port: 8080,
                target_group_arn: None,
            },
        );
        let v: serde_json::Value = serde_json::from_str(&spec).unwrap();
        let props = &v["Resources"][0]["TargetService"]["Properties"];
        assert_eq!(v["version"], 0.0);
        assert_eq!(
            v["Resources"][0]["TargetService"]["Type"],
            "AWS::ECS::Service"
        );
        assert_eq!(
            props["TaskDefinition"],
            "arn:aws:ecs:r:1:task-definition/plog-api:3"
        );
        assert_eq!(props["LoadBalancerInfo"]["ContainerName"], "plog-back");
        assert_eq!(props["LoadBalancerInfo"]["ContainerPort"], 8080);
    }

    #[test]
    fn names_default_to_the_consoles() {
        let target = ServiceTarget {
            cluster: "arn:aws:ecs:r:1:cluster/plog".into(),
            service: "plog-api".into(),
        };
        assert_eq!(
            CodeDeployNames::default().resolve(&target),
            ("AppECS-plog-plog-api".into(), "DgpECS-plog-plog-api".into())
        );
        let named = CodeDeployNames {
            application: Some("app".into()),
            deployment_group: Some("group".into()),
        };
        assert_eq!(named.resolve(&target), ("app".into(), "group".into()));
    }
}
