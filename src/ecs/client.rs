//! The ECS API through aws-sdk-ecs: services, raw task definitions
//! (DescribeTaskDefinition's body as sent, RegisterTaskDefinition from raw
//! JSON — both through interceptors, so no field is lost to an SDK older than
//! the API), updates and stopped tasks. It also carries, for the commands it
//! serves, what they learn along the way: which ServiceDeployments
//! operations are missing, and the load balancer's failing targets seen
//! while a rollout runs ([`TargetHealthWatch`], which does the ELB calls).

use crate::aws::error::{AwsError, Service};
use crate::ecs::failure::{ContainerExit, StoppedTask};
use crate::ecs::service::TaskTimes;
use crate::ecs::service::{
    Awsvpc, DeploymentView, LoadBalancerTarget, OurDeployment, ServiceDeploymentView, ServiceEvent,
    ServiceSnapshot,
};
use crate::ecs::target_health::TargetHealthWatch;
use crate::error::usage_hint;
use anyhow::{anyhow, Context, Result};
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::Value;
use std::sync::{Arc, Mutex};

use crate::aws::AwsOptions;

/// An ECS client.
pub struct EcsClient {
    client: aws_sdk_ecs::Client,
    /// The options it was made with (CodeDeploy uses the same).
    pub(crate) aws: AwsOptions,
    /// The region in use.
    pub region: String,
    /// Why each ServiceDeployments operation is not there, once a call
    /// found out: later calls of it (other services of a release, the
    /// rollback) fall back at once instead of waiting through the SDK's
    /// retries again. Per operation: a policy may allow one and not another.
    service_deployments_missing: Mutex<std::collections::BTreeMap<&'static str, String>>,
    /// The fallback was said (once per command).
    fallback_said: std::sync::atomic::AtomicBool,
    /// The load balancer's view of the services followed (ELBv2).
    pub(crate) target_health: TargetHealthWatch,
}

/// What a ServiceDeployments call gave: an answer, or the API is not
/// available to these credentials (AccessDenied: an IAM policy without the
/// new actions) or this endpoint (unknown or unsupported operation).
#[derive(Debug)]
pub(crate) enum ServiceDeploymentLookup<T> {
    /// The API answered.
    Found(T),
    /// Not available; the text says why (AWS's error code).
    Unavailable(String),
}

/// `Unavailable` when the API is not there for us (see
/// [`AwsError::api_missing`]: AccessDenied, an unknown or unsupported
/// operation, a 5xx after the SDK's retries), else the error.
fn unavailable_or_error<T, E>(
    operation: &str,
    subject: &str,
    error: SdkError<E, HttpResponse>,
) -> Result<ServiceDeploymentLookup<T>>
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    let error = AwsError::of(Service::Ecs, operation, subject, &error);
    if error.api_missing() {
        Ok(ServiceDeploymentLookup::Unavailable(format!(
            "{operation}: {}",
            error.short_reason()
        )))
    } else {
        Err(error.into())
    }
}

fn api_error<E>(operation: &str, subject: &str, error: SdkError<E, HttpResponse>) -> anyhow::Error
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    AwsError::of(Service::Ecs, operation, subject, &error).into()
}

impl EcsClient {
    /// A client from aws-config's default chain, with `options` on top.
    pub async fn new(options: &AwsOptions) -> Result<Self> {
        let config = crate::aws::sdk_config(options).await;
        let region = config
            .region()
            .map(|r| r.to_string())
            .ok_or_else(|| usage_hint("no AWS region", "pass --region or set AWS_REGION"))?;
        Ok(Self {
            client: aws_sdk_ecs::Client::new(&config),
            aws: options.clone(),
            region,
            service_deployments_missing: Mutex::new(Default::default()),
            fallback_said: std::sync::atomic::AtomicBool::new(false),
            target_health: TargetHealthWatch::new(options),
        })
    }

    /// The service's current state; a missing cluster or service is a usage error.
    pub async fn snapshot(&self, cluster: &str, service: &str) -> Result<ServiceSnapshot> {
        let answer = self
            .client
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|s| s.is_cluster_not_found_exception())
                {
                    usage_hint(
                        format!("ECS cluster {cluster:?} not found in {}", self.region),
                        "check --cluster and --region",
                    )
                } else {
                    api_error("DescribeServices", &format!("{cluster}/{service}"), e)
                }
            })?;
        let Some(found) = answer
            .services()
            .iter()
            .find(|s| s.status() != Some("INACTIVE"))
        else {
            return Err(usage_hint(
                format!(
                    "ECS service {service:?} not found in cluster {cluster:?} ({})",
                    self.region
                ),
                "check --service and --cluster",
            ));
        };
        Ok(ServiceSnapshot {
            task_definition: found.task_definition().unwrap_or_default().to_string(),
            deployments: found
                .deployments()
                .iter()
                .map(|d| DeploymentView {
                    id: d.id().unwrap_or_default().to_string(),
                    status: d.status().unwrap_or_default().to_string(),
                    task_definition: d.task_definition().unwrap_or_default().to_string(),
                    rollout_state: d.rollout_state().map(|s| s.as_str().to_string()),
                    rollout_state_reason: d.rollout_state_reason().map(str::to_string),
                    running: d.running_count(),
                    pending: d.pending_count(),
                    desired: d.desired_count(),
                    failed: d.failed_tasks(),
                    created_at: d.created_at().map(|t| t.as_secs_f64()),
                    updated_at: d.updated_at().map(|t| t.as_secs_f64()),
                })
                .collect(),
            events: found
                .events()
                .iter()
                .map(|e| ServiceEvent {
                    id: e.id().unwrap_or_default().to_string(),
                    created_at: e.created_at().map(|t| t.to_string()).unwrap_or_default(),
                    message: e.message().unwrap_or_default().to_string(),
                })
                .collect(),
            current_service_deployment: found.current_service_deployment().map(str::to_string),
            controller: found
                .deployment_controller()
                .map(|c| c.r#type().as_str().to_string())
                .unwrap_or_else(|| "ECS".to_string()),
            strategy: found
                .deployment_configuration()
                .and_then(|c| c.strategy())
                .map(|s| s.as_str().to_string()),
            bake_minutes: found
                .deployment_configuration()
                .and_then(|c| c.bake_time_in_minutes()),
            load_balancers: found
                .load_balancers()
                .iter()
                .filter_map(|lb| {
                    Some(LoadBalancerTarget {
                        container_name: lb.container_name()?.to_string(),
                        container_port: lb.container_port()?,
                        target_group_arn: lb.target_group_arn().map(str::to_string),
                    })
                })
                .collect(),
            launch_type: found.launch_type().map(|l| l.as_str().to_string()),
            awsvpc: found
                .network_configuration()
                .and_then(|n| n.awsvpc_configuration())
                .map(|a| Awsvpc {
                    subnets: a.subnets().to_vec(),
                    security_groups: a.security_groups().to_vec(),
                    assign_public_ip: a.assign_public_ip().map(|p| p.as_str().to_string()),
                }),
            health_check_grace_seconds: found.health_check_grace_period_seconds(),
            desired: found.desired_count(),
            minimum_healthy_percent: found
                .deployment_configuration()
                .and_then(|c| c.minimum_healthy_percent()),
            maximum_percent: found
                .deployment_configuration()
                .and_then(|c| c.maximum_percent()),
        })
    }

    /// DescribeTaskDefinition (with tags) as the raw JSON body ECS sent.
    pub async fn describe_task_definition_raw(&self, task_definition: &str) -> Result<Value> {
        let capture = CaptureBody::default();
        self.client
            .describe_task_definition()
            .task_definition(task_definition)
            .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
            .customize()
            .interceptor(capture.clone())
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|s| s.is_client_exception())
                {
                    usage_hint(
                        format!(
                            "ECS task definition {task_definition:?} not found ({})",
                            e.message().unwrap_or("ClientException")
                        ),
                        "check the family and revision (--task-family, [[env.NAME.tasks]] task-definition)",
                    )
                } else {
                    api_error("DescribeTaskDefinition", task_definition, e)
                }
            })?;
        let bytes = capture
            .0
            .lock()
            .expect("capture lock")
            .take()
            .context("DescribeTaskDefinition: no body")?;
        serde_json::from_slice(&bytes).context("DescribeTaskDefinition: the body is not JSON")
    }

    /// Registers `input` (RegisterTaskDefinition's JSON) as sent, returning the new ARN and revision.
    pub async fn register_raw(&self, input: &Value) -> Result<(String, i32)> {
        let family = input["family"].as_str().unwrap_or_default().to_string();
        let body = serde_json::to_vec(input)?;
        // The typed request only carries the family; the interceptor swaps in the full JSON.
        let answer = self
            .client
            .register_task_definition()
            .family(&family)
            .customize()
            .interceptor(ReplaceBody(Arc::new(body)))
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                // A task definition AWS refuses: its message, and the fields it names.
                Some(s) if s.is_client_exception() || s.is_invalid_parameter_exception() => {
                    crate::ecs::taskdef::render::registration_refused(
                        &family,
                        aws_sdk_ecs::error::ProvideErrorMetadata::code(s)
                            .unwrap_or("ClientException"),
                        aws_sdk_ecs::error::ProvideErrorMetadata::message(s).unwrap_or_default(),
                        input,
                    )
                }
                _ => api_error("RegisterTaskDefinition", &family, e),
            })?;
        let registered = answer
            .task_definition()
            .context("RegisterTaskDefinition returned no task definition")?;
        Ok((
            registered
                .task_definition_arn()
                .unwrap_or_default()
                .to_string(),
            registered.revision(),
        ))
    }

    /// Tags a task-definition revision (TagResource).
    pub(crate) async fn tag_task_definition(
        &self,
        arn: &str,
        tags: &[(&str, String)],
    ) -> Result<()> {
        let tags = tags
            .iter()
            .map(|(key, value)| {
                aws_sdk_ecs::types::Tag::builder()
                    .key(*key)
                    .value(value.clone())
                    .build()
            })
            .collect();
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| api_error("TagResource", arn, e))?;
        Ok(())
    }

    /// Points the service at `task_definition` and returns the deployment
    /// this created, as UpdateService's answer names it: the PRIMARY
    /// deployment of that task definition (the newest, API_Deployment.html)
    /// and the service's `currentServiceDeployment` (API_Service.html).
    pub async fn update_service(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
        force: bool,
    ) -> Result<OurDeployment> {
        let answer = self
            .client
            .update_service()
            .cluster(cluster)
            .service(service)
            .task_definition(task_definition)
            .force_new_deployment(force)
            .send()
            .await
            .map_err(|e| api_error("UpdateService", &format!("{cluster}/{service}"), e))?;
        let updated = answer.service();
        let ours = updated
            .map(|s| s.deployments())
            .unwrap_or_default()
            .iter()
            .filter(|d| d.status() == Some("PRIMARY"))
            .max_by(|a, b| {
                let at = |d: &aws_sdk_ecs::types::Deployment| {
                    d.created_at().map(|t| t.as_secs_f64()).unwrap_or(0.0)
                };
                at(a).total_cmp(&at(b))
            });
        let Some(ours) = ours else {
            anyhow::bail!(
                "ECS UpdateService {cluster}/{service}: the answer names no PRIMARY deployment to follow"
            );
        };
        Ok(OurDeployment {
            id: ours.id().unwrap_or_default().to_string(),
            arn: updated
                .and_then(|s| s.current_service_deployment())
                .map(str::to_string),
            task_definition: ours
                .task_definition()
                .unwrap_or(task_definition)
                .to_string(),
            created_at: ours.created_at().map(|t| t.as_secs_f64()),
        })
    }

    /// The newest service deployment of the service created at or after
    /// `since` (seconds since the epoch): how our deployment's ARN is found
    /// when UpdateService's answer did not carry `currentServiceDeployment`.
    pub(crate) async fn newest_service_deployment(
        &self,
        cluster: &str,
        service: &str,
        since: f64,
    ) -> Result<ServiceDeploymentLookup<Option<String>>> {
        if let Some(why) = self.known_missing("ListServiceDeployments") {
            return Ok(ServiceDeploymentLookup::Unavailable(why));
        }
        let answer = self
            .client
            .list_service_deployments()
            .cluster(cluster)
            .service(service)
            .created_at(
                aws_sdk_ecs::types::CreatedAt::builder()
                    .after(aws_smithy_types::DateTime::from_secs_f64(since - 1.0))
                    .build(),
            )
            .send()
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) => {
                return self.remember(
                    "ListServiceDeployments",
                    unavailable_or_error(
                        "ListServiceDeployments",
                        &format!("{cluster}/{service}"),
                        e,
                    ),
                )
            }
        };
        Ok(ServiceDeploymentLookup::Found(
            answer
                .service_deployments()
                .iter()
                .max_by(|a, b| {
                    let at = |d: &aws_sdk_ecs::types::ServiceDeploymentBrief| {
                        d.created_at().map(|t| t.as_secs_f64()).unwrap_or(0.0)
                    };
                    at(a).total_cmp(&at(b))
                })
                .and_then(|d| d.service_deployment_arn())
                .map(str::to_string),
        ))
    }

    /// One service deployment (DescribeServiceDeployments).
    pub(crate) async fn service_deployment(
        &self,
        arn: &str,
    ) -> Result<ServiceDeploymentLookup<Option<ServiceDeploymentView>>> {
        if let Some(why) = self.known_missing("DescribeServiceDeployments") {
            return Ok(ServiceDeploymentLookup::Unavailable(why));
        }
        let answer = self
            .client
            .describe_service_deployments()
            .service_deployment_arns(arn)
            .send()
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) => {
                return self.remember(
                    "DescribeServiceDeployments",
                    unavailable_or_error("DescribeServiceDeployments", arn, e),
                )
            }
        };
        // Not there (yet): `failures` with reason MISSING.
        Ok(ServiceDeploymentLookup::Found(
            answer
                .service_deployments()
                .first()
                .map(|d| ServiceDeploymentView {
                    arn: d.service_deployment_arn().unwrap_or(arn).to_string(),
                    status: d
                        .status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    status_reason: d.status_reason().map(str::to_string),
                    lifecycle_stage: d.lifecycle_stage().map(|s| s.as_str().to_string()),
                    rollback_reason: d.rollback().and_then(|r| r.reason()).map(str::to_string),
                    finished_at: d.finished_at().map(|t| t.as_secs_f64()),
                    updated_at: d.updated_at().map(|t| t.as_secs_f64()),
                }),
        ))
    }

    /// Asks ECS to roll a service deployment back (StopServiceDeployment,
    /// stopType ROLLBACK). `Found(false)`: ECS refused because the deployment
    /// is over already (ConflictException).
    pub(crate) async fn roll_back_service_deployment(
        &self,
        arn: &str,
    ) -> Result<ServiceDeploymentLookup<bool>> {
        if let Some(why) = self.known_missing("StopServiceDeployment") {
            return Ok(ServiceDeploymentLookup::Unavailable(why));
        }
        let answer = self
            .client
            .stop_service_deployment()
            .service_deployment_arn(arn)
            .stop_type(aws_sdk_ecs::types::StopServiceDeploymentStopType::Rollback)
            .send()
            .await;
        match answer {
            Ok(_) => Ok(ServiceDeploymentLookup::Found(true)),
            Err(e) if e.code() == Some("ConflictException") => {
                Ok(ServiceDeploymentLookup::Found(false))
            }
            Err(e) => self.remember(
                "StopServiceDeployment",
                unavailable_or_error("StopServiceDeployment", arn, e),
            ),
        }
    }

    /// Why `operation` is known to be missing, if it is.
    fn known_missing(&self, operation: &str) -> Option<String> {
        self.service_deployments_missing
            .lock()
            .expect("service deployments lock")
            .get(operation)
            .cloned()
    }

    /// Keeps an `Unavailable` answer to `operation` for the later calls of
    /// this command.
    fn remember<T>(
        &self,
        operation: &'static str,
        lookup: Result<ServiceDeploymentLookup<T>>,
    ) -> Result<ServiceDeploymentLookup<T>> {
        if let Ok(ServiceDeploymentLookup::Unavailable(why)) = &lookup {
            self.service_deployments_missing
                .lock()
                .expect("service deployments lock")
                .insert(operation, why.clone());
        }
        lookup
    }

    /// True the first time it is asked: the fallback is said once per command.
    pub(crate) fn first_to_say_fallback(&self) -> bool {
        !self
            .fallback_said
            .swap(true, std::sync::atomic::Ordering::SeqCst)
    }

    /// The task definitions of `family`, oldest first (ARNs).
    pub async fn family_revisions(&self, family: &str) -> Result<Vec<String>> {
        let mut arns = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..100 {
            let answer = self
                .client
                .list_task_definitions()
                .family_prefix(family)
                .sort(aws_sdk_ecs::types::SortOrder::Asc)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| api_error("ListTaskDefinitions", family, e))?;
            arns.extend(
                answer
                    .task_definition_arns()
                    .iter()
                    .filter(|a| {
                        crate::ecs::service::short_arn(a)
                            .rsplit_once(':')
                            .is_some_and(|(f, _)| f == family)
                    })
                    .cloned(),
            );
            match answer.next_token() {
                Some(token) => next = Some(token.to_string()),
                None => break,
            }
        }
        Ok(arns)
    }

    /// Every task definition a service of `cluster` runs or is rolling to
    /// or from (each deployment's), from ListServices and DescribeServices.
    pub(crate) async fn task_definitions_in_use(&self, cluster: &str) -> Result<Vec<String>> {
        let mut services = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_SERVICE_PAGES {
            let answer = self
                .client
                .list_services()
                .cluster(cluster)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| api_error("ListServices", cluster, e))?;
            services.extend(answer.service_arns().iter().cloned());
            match answer.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_string()),
                _ => break,
            }
        }
        let mut in_use = Vec::new();
        for chunk in services.chunks(10) {
            let answer = self
                .client
                .describe_services()
                .cluster(cluster)
                .set_services(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| api_error("DescribeServices", cluster, e))?;
            for service in answer.services() {
                in_use.extend(service.task_definition().map(str::to_string));
                in_use.extend(
                    service
                        .deployments()
                        .iter()
                        .filter_map(|d| d.task_definition().map(str::to_string)),
                );
            }
        }
        Ok(in_use)
    }

    /// Deregisters a task-definition revision (DeregisterTaskDefinition).
    pub(crate) async fn deregister_task_definition(&self, arn: &str) -> Result<()> {
        self.client
            .deregister_task_definition()
            .task_definition(arn)
            .send()
            .await
            .map_err(|e| api_error("DeregisterTaskDefinition", arn, e))?;
        Ok(())
    }

    /// The service's stopped tasks that ECS still lists (it keeps them for
    /// at least an hour, API_ListTasks.html), up to [`MAX_LISTED_TASKS`],
    /// with their reasons and exit codes. (ListTasks' `startedBy` filter
    /// would find a deployment's tasks directly, but "must be the only
    /// filter", and without `desiredStatus` ListTasks lists RUNNING tasks
    /// only: the caller picks ours by `startedBy` from these.)
    pub(crate) async fn stopped_tasks(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Vec<StoppedTask>> {
        let tasks = self
            .service_tasks(cluster, service, aws_sdk_ecs::types::DesiredStatus::Stopped)
            .await?;
        Ok(tasks.iter().map(stopped_task).collect())
    }

    /// The ARNs and task-definition ARNs of the service's running tasks.
    pub(crate) async fn running_tasks(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Vec<(String, String)>> {
        let tasks = self
            .service_tasks(cluster, service, aws_sdk_ecs::types::DesiredStatus::Running)
            .await?;
        Ok(tasks
            .iter()
            .map(|t| {
                (
                    t.task_arn().unwrap_or_default().to_string(),
                    t.task_definition_arn().unwrap_or_default().to_string(),
                )
            })
            .collect())
    }

    /// The service's tasks, running (and stopped, `with_stopped`), that one
    /// of `deployments` started (`startedBy` is the deployment id), with their timestamps and
    /// private IPs: the timeline's facts.
    pub(crate) async fn deployment_tasks(
        &self,
        cluster: &str,
        service: &str,
        deployments: &[String],
        with_stopped: bool,
    ) -> Result<Vec<DeploymentTask>> {
        use aws_sdk_ecs::types::DesiredStatus;
        let mut found = Vec::new();
        let statuses: &[DesiredStatus] = if with_stopped {
            &[DesiredStatus::Running, DesiredStatus::Stopped]
        } else {
            &[DesiredStatus::Running]
        };
        for status in statuses.iter().cloned() {
            for t in self.service_tasks(cluster, service, status).await? {
                let Some(by) = t
                    .started_by()
                    .filter(|b| deployments.iter().any(|d| d == b))
                else {
                    continue;
                };
                let at = |d: Option<&aws_sdk_ecs::primitives::DateTime>| d.map(|d| d.as_secs_f64());
                let arn = t.task_arn().unwrap_or_default();
                found.push(DeploymentTask {
                    deployment: by.to_string(),
                    ip: t
                        .attachments()
                        .iter()
                        .flat_map(|a| a.details())
                        .find(|d| d.name() == Some("privateIPv4Address"))
                        .and_then(|d| d.value())
                        .map(str::to_string),
                    times: TaskTimes {
                        task: arn.rsplit('/').next().unwrap_or(arn).to_string(),
                        created_at: at(t.created_at()),
                        pull_started_at: at(t.pull_started_at()),
                        pull_stopped_at: at(t.pull_stopped_at()),
                        started_at: at(t.started_at()),
                        stopping_at: at(t.stopping_at()),
                        stopped_at: at(t.stopped_at()),
                    },
                });
            }
        }
        Ok(found)
    }

    /// The service's tasks of `status` (up to [`MAX_LISTED_TASKS`], a
    /// page of 100 at a time), described.
    async fn service_tasks(
        &self,
        cluster: &str,
        service: &str,
        status: aws_sdk_ecs::types::DesiredStatus,
    ) -> Result<Vec<aws_sdk_ecs::types::Task>> {
        let mut arns: Vec<String> = Vec::new();
        let mut next: Option<String> = None;
        while arns.len() < MAX_LISTED_TASKS {
            let listed = self
                .client
                .list_tasks()
                .cluster(cluster)
                .service_name(service)
                .desired_status(status.clone())
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| api_error("ListTasks", &format!("{cluster}/{service}"), e))?;
            arns.extend(listed.task_arns().iter().cloned());
            match listed.next_token() {
                Some(token) => next = Some(token.to_string()),
                None => break,
            }
        }
        arns.truncate(MAX_LISTED_TASKS);
        let mut tasks = Vec::new();
        for chunk in arns.chunks(100) {
            let described = self
                .client
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| api_error("DescribeTasks", cluster, e))?;
            tasks.extend(described.tasks().iter().cloned());
        }
        Ok(tasks)
    }
}

/// A task of a deployment, for the timeline.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct DeploymentTask {
    /// The deployment that started it.
    pub(crate) deployment: String,
    /// Its private IPv4 address (awsvpc), the load balancer's target id.
    pub(crate) ip: Option<String>,
    /// Its timestamps.
    pub(crate) times: TaskTimes,
}

/// Pages of ListServices read at most (10 services a page by default).
const MAX_SERVICE_PAGES: usize = 50;

/// How many of a service's tasks are read at most (three pages).
const MAX_LISTED_TASKS: usize = 300;

/// A task as the diagnosis shows it.
fn stopped_task(t: &aws_sdk_ecs::types::Task) -> StoppedTask {
    StoppedTask {
        task_arn: t.task_arn().unwrap_or_default().to_string(),
        task_definition_arn: t.task_definition_arn().unwrap_or_default().to_string(),
        stopped_reason: t
            .stopped_reason()
            .unwrap_or("(no reason given)")
            .to_string(),
        stop_code: t.stop_code().map(|c| c.as_str().to_string()),
        started_by: t.started_by().map(str::to_string),
        stopped_at: t.stopped_at().map(|at| at.as_secs_f64()),
        containers: t
            .containers()
            .iter()
            .map(|c| ContainerExit {
                name: c.name().unwrap_or("?").to_string(),
                exit_code: c.exit_code(),
                reason: c.reason().map(str::to_string),
            })
            .collect(),
        logs: Vec::new(),
    }
}

/// A one-off task as DescribeTasks reports it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct OneOffTaskState {
    /// PROVISIONING … RUNNING … STOPPED.
    pub(crate) last_status: String,
    /// Why it stopped.
    pub(crate) stopped_reason: Option<String>,
    /// The watched container's exit code, once it has one.
    pub(crate) exit_code: Option<i32>,
    /// The watched container's reason, if any.
    pub(crate) container_reason: Option<String>,
}

impl EcsClient {
    /// Starts one task of `task_definition` (RunTask) with `command` for
    /// `container` when given; returns the task ARN.
    pub(crate) async fn run_task(
        &self,
        cluster: &str,
        task_definition: &str,
        launch_type: Option<&str>,
        awsvpc: Option<&Awsvpc>,
        container: &str,
        command: Option<&[String]>,
    ) -> Result<String> {
        use aws_sdk_ecs::types::{
            AssignPublicIp, AwsVpcConfiguration, ContainerOverride, LaunchType,
            NetworkConfiguration, TaskOverride,
        };
        let mut request = self
            .client
            .run_task()
            .cluster(cluster)
            .task_definition(task_definition)
            .count(1)
            .started_by("hoist");
        if let Some(launch_type) = launch_type {
            request = request.launch_type(LaunchType::from(launch_type));
        }
        if let Some(net) = awsvpc {
            let mut vpc = AwsVpcConfiguration::builder()
                .set_subnets(Some(net.subnets.clone()))
                .set_security_groups(Some(net.security_groups.clone()));
            if let Some(ip) = &net.assign_public_ip {
                vpc = vpc.assign_public_ip(AssignPublicIp::from(ip.as_str()));
            }
            request = request.network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(vpc.build().map_err(|e| anyhow!("RunTask: {e}"))?)
                    .build(),
            );
        }
        if let Some(command) = command {
            request = request.overrides(
                TaskOverride::builder()
                    .container_overrides(
                        ContainerOverride::builder()
                            .name(container)
                            .set_command(Some(command.to_vec()))
                            .build(),
                    )
                    .build(),
            );
        }
        let answer = request
            .send()
            .await
            .map_err(|e| api_error("RunTask", &format!("{cluster} {task_definition}"), e))?;
        if let Some(failure) = answer.failures().first() {
            anyhow::bail!(
                "ECS RunTask {cluster} {task_definition}: {} ({})",
                failure.reason().unwrap_or("failed"),
                failure.detail().unwrap_or_default()
            );
        }
        answer
            .tasks()
            .first()
            .and_then(|t| t.task_arn())
            .map(str::to_string)
            .ok_or_else(|| anyhow!("ECS RunTask {cluster} {task_definition}: no task started"))
    }

    /// A one-off task's state, watching `container`'s exit code.
    pub(crate) async fn one_off_task(
        &self,
        cluster: &str,
        task: &str,
        container: &str,
    ) -> Result<OneOffTaskState> {
        let answer = self
            .client
            .describe_tasks()
            .cluster(cluster)
            .tasks(task)
            .send()
            .await
            .map_err(|e| api_error("DescribeTasks", cluster, e))?;
        let Some(found) = answer.tasks().first() else {
            anyhow::bail!("ECS DescribeTasks {cluster}: task {task} not found");
        };
        let watched = found
            .containers()
            .iter()
            .find(|c| c.name() == Some(container));
        Ok(OneOffTaskState {
            last_status: found.last_status().unwrap_or_default().to_string(),
            stopped_reason: found.stopped_reason().map(str::to_string),
            exit_code: watched.and_then(|c| c.exit_code()),
            container_reason: watched.and_then(|c| c.reason()).map(str::to_string),
        })
    }
}

/// Keeps a copy of the response body after deserialization.
#[derive(Clone, Debug, Default)]
struct CaptureBody(Arc<Mutex<Option<Vec<u8>>>>);

impl Intercept for CaptureBody {
    fn name(&self) -> &'static str {
        "hoist::CaptureBody"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(bytes) = context.response().body().bytes() {
            *self.0.lock().expect("capture lock") = Some(bytes.to_vec());
        }
        Ok(())
    }
}

/// Replaces the serialized request body (before signing, so the signature covers it).
#[derive(Clone, Debug)]
struct ReplaceBody(Arc<Vec<u8>>);

impl Intercept for ReplaceBody {
    fn name(&self) -> &'static str {
        "hoist::ReplaceBody"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        *request.body_mut() = SdkBody::from(self.0.as_ref().clone());
        request
            .headers_mut()
            .insert("content-length", self.0.len().to_string());
        Ok(())
    }
}

/// Not a network call: kept here so callers need not know the SDK error type.
pub(crate) fn is_throttling(error: &anyhow::Error) -> bool {
    if let Some(aws) = crate::aws::error::find(error) {
        return aws.throttling();
    }
    let text = format!("{error:#}");
    text.contains("Throttling") || text.contains("Rate exceeded")
}
