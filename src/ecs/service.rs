//! The service as ECS describes it, below every room that reads it: which
//! service (`ServiceTarget`), what DescribeServices and
//! DescribeServiceDeployments say at one moment, the deployment hoist
//! started, and a task's timestamps. Plain data; the client fills it, the
//! rollout judges it, the diagnosis and the timeline read it.

/// Which service.
#[derive(Clone, Debug)]
pub struct ServiceTarget {
    /// Cluster name or ARN.
    pub cluster: String,
    /// Service name or ARN.
    pub service: String,
}

/// One deployment of a service, as DescribeServices reports it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeploymentView {
    /// `ecs-svc/…`.
    pub id: String,
    /// PRIMARY, ACTIVE or INACTIVE.
    pub status: String,
    /// The task definition ARN it runs.
    pub task_definition: String,
    /// IN_PROGRESS, COMPLETED or FAILED, where ECS reports it (rolling
    /// deployments only).
    pub rollout_state: Option<String>,
    /// Why the rollout state is what it is.
    pub rollout_state_reason: Option<String>,
    /// Tasks running.
    pub running: i32,
    /// Tasks pending.
    pub pending: i32,
    /// Tasks wanted.
    pub desired: i32,
    /// Tasks that failed to start.
    pub failed: i32,
    /// When ECS created it (seconds since the epoch).
    pub created_at: Option<f64>,
    /// When ECS last changed it (seconds since the epoch).
    pub updated_at: Option<f64>,
}

/// A service event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceEvent {
    /// Event id.
    pub id: String,
    /// When, as text.
    pub created_at: String,
    /// What happened.
    pub message: String,
}

/// A load balancer entry of a service: which container and port take traffic.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadBalancerTarget {
    /// `loadBalancers[].containerName`.
    pub container_name: String,
    /// `loadBalancers[].containerPort`.
    pub container_port: i32,
    /// `loadBalancers[].targetGroupArn` (absent for a Classic Load Balancer).
    pub target_group_arn: Option<String>,
}

/// What DescribeServices says about the service at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceSnapshot {
    /// The service's current task definition.
    pub task_definition: String,
    /// Its deployments.
    pub deployments: Vec<DeploymentView>,
    /// Its events, newest first (as ECS lists them).
    pub events: Vec<ServiceEvent>,
    /// `currentServiceDeployment`: the ARN of its newest service deployment.
    pub current_service_deployment: Option<String>,
    /// `deploymentController.type`: ECS, CODE_DEPLOY or EXTERNAL.
    pub controller: String,
    /// `deploymentConfiguration.strategy`: ROLLING, BLUE_GREEN, LINEAR, CANARY.
    pub strategy: Option<String>,
    /// `deploymentConfiguration.bakeTimeInMinutes`.
    pub bake_minutes: Option<i32>,
    /// `loadBalancers`.
    pub load_balancers: Vec<LoadBalancerTarget>,
    /// `launchType` (FARGATE, EC2, …), when set.
    pub launch_type: Option<String>,
    /// `networkConfiguration.awsvpcConfiguration`, when set.
    pub awsvpc: Option<Awsvpc>,
    /// `healthCheckGracePeriodSeconds`, when set.
    pub health_check_grace_seconds: Option<i32>,
    /// `desiredCount`.
    pub desired: i32,
    /// `deploymentConfiguration.minimumHealthyPercent`, when set.
    pub minimum_healthy_percent: Option<i32>,
    /// `deploymentConfiguration.maximumPercent`, when set.
    pub maximum_percent: Option<i32>,
}

/// An awsvpc network configuration: where a task's ENI goes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Awsvpc {
    /// Subnet ids.
    pub subnets: Vec<String>,
    /// Security group ids.
    pub security_groups: Vec<String>,
    /// `ENABLED` or `DISABLED`.
    pub assign_public_ip: Option<String>,
}

impl ServiceSnapshot {
    /// The PRIMARY deployment, if any.
    pub fn primary(&self) -> Option<&DeploymentView> {
        self.deployments.iter().find(|d| d.status == "PRIMARY")
    }

    /// The target groups of its load balancers.
    pub(crate) fn target_groups(&self) -> Vec<String> {
        let mut arns: Vec<String> = self
            .load_balancers
            .iter()
            .filter_map(|lb| lb.target_group_arn.clone())
            .collect();
        arns.dedup();
        arns
    }

    /// The deployment with this id, if listed.
    pub(crate) fn deployment(&self, id: &str) -> Option<&DeploymentView> {
        self.deployments.iter().find(|d| d.id == id)
    }
}

/// One service deployment, as DescribeServiceDeployments reports it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ServiceDeploymentView {
    /// Its ARN.
    pub(crate) arn: String,
    /// PENDING, IN_PROGRESS, SUCCESSFUL, STOPPED, STOP_REQUESTED,
    /// ROLLBACK_REQUESTED, ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL,
    /// ROLLBACK_FAILED.
    pub(crate) status: String,
    /// Why it is in that status.
    pub(crate) status_reason: Option<String>,
    /// RECONCILE_SERVICE … BAKE_TIME, CLEAN_UP (blue/green, linear, canary).
    pub(crate) lifecycle_stage: Option<String>,
    /// `rollback.reason`, once a rollback started.
    pub(crate) rollback_reason: Option<String>,
    /// When it reached a terminal status (seconds since the epoch).
    pub(crate) finished_at: Option<f64>,
    /// When ECS last changed it (seconds since the epoch).
    pub(crate) updated_at: Option<f64>,
}

/// The deployment hoist started and follows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OurDeployment {
    /// Its deployment id (`ecs-svc/…`), from UpdateService's answer.
    pub id: String,
    /// Its service deployment ARN, when ECS gave one.
    pub arn: Option<String>,
    /// The task definition it rolls out.
    pub task_definition: String,
    /// When ECS created it (seconds since the epoch), when known.
    pub created_at: Option<f64>,
}

/// Who rolled a deployment back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RolledBackBy {
    /// ECS itself (circuit breaker, alarms, lifecycle hooks).
    Ecs,
    /// hoist, with `--rollback-on-failure`.
    Hoist,
    /// CodeDeploy's automatic rollback (CODE_DEPLOY services).
    Codedeploy,
}

/// `arn:…:task-definition/plog-api:8` → `plog-api:8`.
pub fn short_arn(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// One task's timestamps, seconds since the epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct TaskTimes {
    /// The task's id (the last part of its ARN).
    pub(crate) task: String,
    /// Created (provisioning starts).
    pub(crate) created_at: Option<f64>,
    /// The image pull started.
    pub(crate) pull_started_at: Option<f64>,
    /// The image pull ended.
    pub(crate) pull_stopped_at: Option<f64>,
    /// The containers started.
    pub(crate) started_at: Option<f64>,
    /// Stopping began (for an old task: its targets draining).
    pub(crate) stopping_at: Option<f64>,
    /// Stopped.
    pub(crate) stopped_at: Option<f64>,
}

/// A snapshot from a DescribeServices response in the API's JSON form
/// (recorded responses, as the AWS CLI prints them).
#[cfg(test)]
pub(crate) fn snapshot_from_json(response: &serde_json::Value) -> Option<ServiceSnapshot> {
    let service = response["services"].as_array()?.first()?;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let count = |v: &serde_json::Value| v.as_i64().unwrap_or(0) as i32;
    Some(ServiceSnapshot {
        task_definition: text(&service["taskDefinition"]),
        deployments: service["deployments"]
            .as_array()?
            .iter()
            .map(|d| DeploymentView {
                id: text(&d["id"]),
                status: text(&d["status"]),
                task_definition: text(&d["taskDefinition"]),
                rollout_state: d["rolloutState"].as_str().map(str::to_string),
                rollout_state_reason: d["rolloutStateReason"].as_str().map(str::to_string),
                running: count(&d["runningCount"]),
                pending: count(&d["pendingCount"]),
                desired: count(&d["desiredCount"]),
                failed: count(&d["failedTasks"]),
                created_at: d["createdAt"].as_f64(),
                updated_at: d["updatedAt"].as_f64(),
            })
            .collect(),
        events: service["events"]
            .as_array()
            .map(|events| {
                events
                    .iter()
                    .map(|e| ServiceEvent {
                        id: text(&e["id"]),
                        created_at: e["createdAt"].to_string(),
                        message: text(&e["message"]),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        current_service_deployment: service["currentServiceDeployment"]
            .as_str()
            .map(str::to_string),
        controller: service["deploymentController"]["type"]
            .as_str()
            .unwrap_or("ECS")
            .to_string(),
        ..ServiceSnapshot::default()
    })
}
