//! What one service's checks are decided on ([`TargetFacts`]) and the AWS
//! reads that gather it: ECS, IAM, Secrets Manager, SSM, CloudWatch Logs, ELB.
//! Judges nothing but whether the service itself could be read.

use super::secrets::{secret_uses, SecretRef};
use super::task_definition::{account_of, containers};
use super::trust::role_name;
use super::{Check, CheckStatus, VerifyTarget};
use crate::aws::error::{AwsCall, AwsError, Service};
use crate::aws::AwsOptions;
use crate::ecs::client::EcsClient;
use crate::ecs::logs::{LogReader, LogSource};
use crate::ecs::rollout::ServiceSnapshot;
use crate::error::UsageError;
use serde_json::Value;
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

/// What a lookup gave, or why it could not be made.
pub(super) type Answer<T> = Result<T, String>;

/// A log group: its region (else the task's) and name.
pub(super) type GroupKey = (Option<String>, String);

/// A Secrets Manager secret or SSM parameter, as far as the check goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SecretState {
    /// It is there.
    Found,
    /// It is not.
    Missing,
    /// Secrets Manager has it scheduled for deletion.
    Deleted,
}

/// A target group, as far as the checks go (DescribeTargetGroups).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct TargetGroupFacts {
    /// Its name.
    pub(super) name: String,
    /// `ip`, `instance`, `lambda`, `alb`.
    pub(super) target_type: Option<String>,
    /// HealthCheckProtocol.
    pub(super) health_check_protocol: Option<String>,
    /// HealthCheckPort: `traffic-port` or a number.
    pub(super) health_check_port: Option<String>,
    /// HealthCheckPath.
    pub(super) health_check_path: Option<String>,
    /// How many load balancers forward to it.
    pub(super) load_balancers: usize,
}

/// Everything the checks of one service are decided on, read at the edge.
#[derive(Clone, Debug, Default)]
pub(super) struct TargetFacts {
    /// The service and what hoist deploys to it.
    pub(super) target: Option<VerifyTarget>,
    /// The image deployed to the named containers.
    pub(super) image: Option<String>,
    /// DescribeServices' view.
    pub(super) snapshot: ServiceSnapshot,
    /// DescribeTaskDefinition's `taskDefinition`.
    pub(super) task_definition: Value,
    /// Per role ARN (as the task definition names it): its trust policy
    /// document as IAM sent it, `None` when there is no such role.
    pub(super) roles: BTreeMap<String, Answer<Option<String>>>,
    /// Per `valueFrom`.
    pub(super) secrets: BTreeMap<String, Answer<SecretState>>,
    /// Per (region, group): whether it exists.
    pub(super) log_groups: BTreeMap<GroupKey, Answer<bool>>,
    /// Per target group ARN: `None` when there is no such group.
    pub(super) target_groups: BTreeMap<String, Answer<Option<TargetGroupFacts>>>,
}

impl TargetFacts {
    pub(super) fn service_name(&self) -> String {
        self.target
            .as_ref()
            .map(|t| t.service.clone())
            .unwrap_or_default()
    }
}

/// Why a read failed, in a few words: the IAM action an AccessDenied
/// lacks, else the one-line AWS error.
fn why(error: &AwsError) -> String {
    if error.access_denied() {
        format!("needs {}: {}", error.iam_action(), error.short_reason())
    } else {
        error.to_string()
    }
}

fn why_any(error: &anyhow::Error) -> String {
    match crate::aws::error::find(error) {
        Some(aws) => why(aws),
        None => crate::error::one_line(error),
    }
}

/// The AWS clients the checks read with, made when first needed.
pub(super) struct Readers {
    aws: AwsOptions,
    region: String,
    configs: BTreeMap<String, aws_config::SdkConfig>,
    logs: LogReader,
}

impl Readers {
    pub(super) fn new(client: &EcsClient) -> Self {
        Self {
            aws: client.aws.clone(),
            region: client.region.clone(),
            configs: BTreeMap::new(),
            logs: LogReader::new(&client.aws, &client.region),
        }
    }

    async fn config(&mut self, region: Option<&str>) -> aws_config::SdkConfig {
        let region = region.unwrap_or(&self.region).to_string();
        if let Some(config) = self.configs.get(&region) {
            return config.clone();
        }
        let options = AwsOptions {
            region: Some(region.clone()),
            profile: self.aws.profile.clone(),
        };
        let config = crate::aws::sdk_config(&options).await;
        self.configs.insert(region, config.clone());
        config
    }

    /// The role's trust policy document; `None`: no such role.
    async fn role(&mut self, arn: &str, account: Option<&str>) -> Answer<Option<String>> {
        if let (Some(ours), Some(theirs)) = (account, account_of(arn)) {
            if ours != theirs {
                return Err(format!(
                    "in account {theirs}, not the task definition's ({ours})"
                ));
            }
        }
        let name = role_name(arn);
        let iam = aws_sdk_iam::Client::new(&self.config(None).await);
        match iam
            .get_role()
            .role_name(name)
            .send()
            .await
            .or_aws(Service::Iam, "GetRole", name)
        {
            Ok(answer) => Ok(Some(
                answer
                    .role()
                    .and_then(|r| r.assume_role_policy_document())
                    .unwrap_or_default()
                    .to_string(),
            )),
            Err(e) if e.code() == Some("NoSuchEntity") => Ok(None),
            Err(e) => Err(why(&e)),
        }
    }

    async fn secret(&mut self, reference: &SecretRef) -> Answer<SecretState> {
        match reference {
            SecretRef::SecretsManager { id, region } => {
                let client = aws_sdk_secretsmanager::Client::new(&self.config(Some(region)).await);
                match client.describe_secret().secret_id(id).send().await.or_aws(
                    Service::SecretsManager,
                    "DescribeSecret",
                    id,
                ) {
                    Ok(answer) if answer.deleted_date().is_some() => Ok(SecretState::Deleted),
                    Ok(_) => Ok(SecretState::Found),
                    Err(e) if e.code() == Some("ResourceNotFoundException") => {
                        Ok(SecretState::Missing)
                    }
                    Err(e) => Err(why(&e)),
                }
            }
            SecretRef::Parameter { names, region } => {
                let client = aws_sdk_ssm::Client::new(&self.config(region.as_deref()).await);
                let subject = names.join(" ");
                match client
                    .get_parameters()
                    .set_names(Some(names.clone()))
                    .send()
                    .await
                    .or_aws(Service::Ssm, "GetParameters", &subject)
                {
                    // Only the names are looked at: the values are never kept.
                    Ok(answer) if !answer.parameters().is_empty() => Ok(SecretState::Found),
                    Ok(_) => Ok(SecretState::Missing),
                    Err(e) => Err(why(&e)),
                }
            }
            SecretRef::Unknown => Ok(SecretState::Missing),
        }
    }

    async fn log_group(&mut self, region: Option<&str>, group: &str) -> Answer<bool> {
        self.logs
            .group_exists(region, group)
            .await
            .map_err(|e| why_any(&e))
    }

    async fn target_group(&mut self, arn: &str) -> Answer<Option<TargetGroupFacts>> {
        let elb = aws_sdk_elasticloadbalancingv2::Client::new(&self.config(None).await);
        let answer = elb
            .describe_target_groups()
            .target_group_arns(arn)
            .send()
            .await
            .or_aws(Service::Elbv2, "DescribeTargetGroups", arn);
        match answer {
            Ok(answer) => Ok(answer
                .target_groups()
                .iter()
                .find(|g| g.target_group_arn() == Some(arn))
                .or(answer.target_groups().first())
                .map(|g| TargetGroupFacts {
                    name: g.target_group_name().unwrap_or_default().to_string(),
                    target_type: g.target_type().map(|t| t.as_str().to_string()),
                    health_check_protocol: g
                        .health_check_protocol()
                        .map(|p| p.as_str().to_string()),
                    health_check_port: g.health_check_port().map(str::to_string),
                    health_check_path: g.health_check_path().map(str::to_string),
                    load_balancers: g.load_balancer_arns().len(),
                })),
            Err(e) if e.code() == Some("TargetGroupNotFound") => Ok(None),
            Err(e) => Err(why(&e)),
        }
    }
}

/// Reads what one service's checks need; a service or task definition that
/// cannot be read is one check saying so.
pub(super) async fn gather(
    client: &EcsClient,
    readers: &mut Readers,
    cluster: &str,
    target: &VerifyTarget,
    image: Option<&str>,
) -> Result<TargetFacts, Check> {
    let service = &target.service;
    let snapshot = client.snapshot(cluster, service).await.map_err(|e| {
        let status = if e.chain().any(|c| c.is::<UsageError>()) {
            CheckStatus::Problem
        } else {
            CheckStatus::CouldNotCheck
        };
        Check::new(service, "service", status, why_any(&e))
    })?;
    let described = client
        .describe_task_definition_raw(&snapshot.task_definition)
        .await
        .map_err(|e| {
            Check::new(
                service,
                "service",
                CheckStatus::CouldNotCheck,
                format!("its task definition: {}", why_any(&e)),
            )
        })?;
    let td = described["taskDefinition"].clone();
    let account = td["taskDefinitionArn"]
        .as_str()
        .and_then(account_of)
        .map(str::to_string);
    let mut facts = TargetFacts {
        target: Some(target.clone()),
        image: image.map(str::to_string),
        snapshot,
        task_definition: td.clone(),
        ..TargetFacts::default()
    };
    for key in ["executionRoleArn", "taskRoleArn"] {
        if let Some(arn) = td[key].as_str().filter(|a| !a.is_empty()) {
            if !facts.roles.contains_key(arn) {
                let answer = readers.role(arn, account.as_deref()).await;
                facts.roles.insert(arn.to_string(), answer);
            }
        }
    }
    for one in secret_uses(&td, target) {
        if facts.secrets.contains_key(&one.value_from) {
            continue;
        }
        let reference = SecretRef::parse(&one.value_from, account.as_deref());
        if reference != SecretRef::Unknown {
            let answer = readers.secret(&reference).await;
            facts.secrets.insert(one.value_from.clone(), answer);
        }
    }
    for container in containers(&td) {
        if let LogSource::Awslogs {
            group,
            region,
            create_group: false,
            ..
        } = LogSource::of(container)
        {
            if let Entry::Vacant(entry) = facts.log_groups.entry((region, group)) {
                let (region, group) = entry.key();
                let answer = readers.log_group(region.as_deref(), group).await;
                entry.insert(answer);
            }
        }
    }
    for arn in facts.snapshot.target_groups() {
        if let Entry::Vacant(entry) = facts.target_groups.entry(arn) {
            let answer = readers.target_group(entry.key()).await;
            entry.insert(answer);
        }
    }
    Ok(facts)
}
