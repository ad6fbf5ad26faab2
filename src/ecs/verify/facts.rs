//! What one service's checks are decided on ([`TargetFacts`]) and the AWS
//! reads that gather it: ECS, IAM, Secrets Manager, SSM, CloudWatch Logs, ELB.
//! Judges nothing but whether the service itself could be read.

use super::secrets::{secret_uses, SecretRef};
use super::task_definition::{account_of, containers};
use super::trust::role_name;
use super::{Check, CheckStatus, VerifyTarget, VerifyTask};
use crate::aws::error::{AwsCall, AwsError, Service};
use crate::aws::AwsOptions;
use crate::ecs::client::EcsClient;
use crate::ecs::diagnosis::logs::{LogReader, LogSource};
use crate::ecs::service::ServiceSnapshot;
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
    /// HealthCheckIntervalSeconds.
    pub(super) health_check_interval: Option<i32>,
    /// HealthyThresholdCount.
    pub(super) healthy_threshold: Option<i32>,
    /// The attribute `deregistration_delay.timeout_seconds`
    /// (DescribeTargetGroupAttributes); `None`: not read.
    pub(super) deregistration_delay: Option<Answer<u64>>,
}

/// Everything the checks of one service are decided on, read at the edge.
#[derive(Clone, Debug, Default)]
pub(super) struct TargetFacts {
    /// The service and what hoist deploys to it (for a one-off task:
    /// `task NAME`, its container and secrets).
    pub(super) target: Option<VerifyTarget>,
    /// A one-off task: no service, so no grace period nor target groups.
    pub(super) one_off: bool,
    /// The image deployed to the named containers.
    pub(super) image: Option<String>,
    /// DescribeServices' view (a one-off task's: its task definition and
    /// the launch type it runs as).
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
    /// What hoist's tags on the task definition say (what its deploy
    /// measured).
    pub(super) revision: crate::ecs::taskdef::revision_tags::RevisionTags,
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

/// The AWS clients the checks read with, each made when first needed and
/// kept: one IAM and one ELB client (the client's region), one Secrets
/// Manager and one SSM client per region, and the log reader (which keeps
/// its own per region).
pub(super) struct Readers {
    aws: AwsOptions,
    region: String,
    configs: BTreeMap<String, aws_config::SdkConfig>,
    iam: Option<aws_sdk_iam::Client>,
    elb: Option<aws_sdk_elasticloadbalancingv2::Client>,
    secrets_manager: BTreeMap<String, aws_sdk_secretsmanager::Client>,
    ssm: BTreeMap<String, aws_sdk_ssm::Client>,
    logs: LogReader,
}

impl Readers {
    pub(super) fn new(client: &EcsClient) -> Self {
        Self {
            aws: client.aws.clone(),
            region: client.region.clone(),
            configs: BTreeMap::new(),
            iam: None,
            elb: None,
            secrets_manager: BTreeMap::new(),
            ssm: BTreeMap::new(),
            logs: LogReader::new(&client.aws, &client.region),
        }
    }

    fn region_of(&self, region: Option<&str>) -> String {
        region.unwrap_or(&self.region).to_string()
    }

    async fn config(&mut self, region: &str) -> aws_config::SdkConfig {
        if let Some(config) = self.configs.get(region) {
            return config.clone();
        }
        let options = AwsOptions {
            region: Some(region.to_string()),
            profile: self.aws.profile.clone(),
        };
        let config = crate::aws::sdk_config(&options).await;
        self.configs.insert(region.to_string(), config.clone());
        config
    }

    async fn iam(&mut self) -> aws_sdk_iam::Client {
        if let Some(client) = &self.iam {
            return client.clone();
        }
        let region = self.region.clone();
        let client = aws_sdk_iam::Client::new(&self.config(&region).await);
        self.iam = Some(client.clone());
        client
    }

    async fn elb(&mut self) -> aws_sdk_elasticloadbalancingv2::Client {
        if let Some(client) = &self.elb {
            return client.clone();
        }
        let region = self.region.clone();
        let client = aws_sdk_elasticloadbalancingv2::Client::new(&self.config(&region).await);
        self.elb = Some(client.clone());
        client
    }

    async fn secrets_manager(&mut self, region: &str) -> aws_sdk_secretsmanager::Client {
        if let Some(client) = self.secrets_manager.get(region) {
            return client.clone();
        }
        let client = aws_sdk_secretsmanager::Client::new(&self.config(region).await);
        self.secrets_manager
            .insert(region.to_string(), client.clone());
        client
    }

    async fn ssm(&mut self, region: Option<&str>) -> aws_sdk_ssm::Client {
        let region = self.region_of(region);
        if let Some(client) = self.ssm.get(&region) {
            return client.clone();
        }
        let client = aws_sdk_ssm::Client::new(&self.config(&region).await);
        self.ssm.insert(region, client.clone());
        client
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
        match self
            .iam()
            .await
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
                let client = self.secrets_manager(region).await;
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
                let client = self.ssm(region.as_deref()).await;
                parameter_exists(&client, names).await
            }
            // Judged without a lookup.
            SecretRef::OtherAccountParameter { .. } | SecretRef::Unknown => {
                Err("not looked up".to_string())
            }
        }
    }

    async fn log_group(&mut self, region: Option<&str>, group: &str) -> Answer<bool> {
        self.logs
            .group_exists(region, group)
            .await
            .map_err(|e| why_any(&e))
    }

    async fn target_group(&mut self, arn: &str) -> Answer<Option<TargetGroupFacts>> {
        let answer = self
            .elb()
            .await
            .describe_target_groups()
            .target_group_arns(arn)
            .send()
            .await
            .or_aws(Service::Elbv2, "DescribeTargetGroups", arn);
        let mut facts = match answer {
            Ok(answer) => target_group_facts(answer.target_groups(), arn),
            Err(e) if e.code() == Some("TargetGroupNotFound") => return Ok(None),
            Err(e) => return Err(why(&e)),
        };
        if let Some(facts) = &mut facts {
            facts.deregistration_delay = Some(self.deregistration_delay(arn).await);
        }
        Ok(facts)
    }

    /// The target group's `deregistration_delay.timeout_seconds`
    /// (DescribeTargetGroupAttributes; ELB's default, 300, when unlisted).
    async fn deregistration_delay(&mut self, arn: &str) -> Answer<u64> {
        let answer = self
            .elb()
            .await
            .describe_target_group_attributes()
            .target_group_arn(arn)
            .send()
            .await
            .or_aws(Service::Elbv2, "DescribeTargetGroupAttributes", arn)
            .map_err(|e| why(&e))?;
        let listed = answer
            .attributes()
            .iter()
            .find(|a| a.key() == Some("deregistration_delay.timeout_seconds"))
            .and_then(|a| a.value());
        match listed {
            None => Ok(300),
            Some(value) => value
                .parse()
                .map_err(|_| format!("deregistration_delay.timeout_seconds is {value:?}")),
        }
    }
}

/// Whether an SSM parameter of one of `names` exists: DescribeParameters
/// with a `Name` `Equals` filter, which lists names and never values (at
/// most a few pages: a filtered answer may come a page at a time).
async fn parameter_exists(client: &aws_sdk_ssm::Client, names: &[String]) -> Answer<SecretState> {
    let subject = names.join(" ");
    let filter = aws_sdk_ssm::types::ParameterStringFilter::builder()
        .key("Name")
        .option("Equals")
        .set_values(Some(names.to_vec()))
        .build()
        .map_err(|e| e.to_string())?;
    let mut next_token: Option<String> = None;
    for _ in 0..10 {
        let answer = client
            .describe_parameters()
            .parameter_filters(filter.clone())
            .set_next_token(next_token.take())
            .send()
            .await
            .or_aws(Service::Ssm, "DescribeParameters", &subject)
            .map_err(|e| why(&e))?;
        if answer
            .parameters()
            .iter()
            .any(|p| p.name().is_some_and(|n| names.iter().any(|m| m == n)))
        {
            return Ok(SecretState::Found);
        }
        match answer.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
            _ => return Ok(SecretState::Missing),
        }
    }
    Err(format!(
        "DescribeParameters gave no answer for {subject} in 10 pages"
    ))
}

/// The group `arn` among those DescribeTargetGroups returned; `None` when
/// it is not there (no other group is ever judged in its place).
fn target_group_facts(
    groups: &[aws_sdk_elasticloadbalancingv2::types::TargetGroup],
    arn: &str,
) -> Option<TargetGroupFacts> {
    groups
        .iter()
        .find(|g| g.target_group_arn() == Some(arn))
        .map(|g| TargetGroupFacts {
            name: g.target_group_name().unwrap_or_default().to_string(),
            target_type: g.target_type().map(|t| t.as_str().to_string()),
            health_check_protocol: g.health_check_protocol().map(|p| p.as_str().to_string()),
            health_check_port: g.health_check_port().map(str::to_string),
            health_check_path: g.health_check_path().map(str::to_string),
            load_balancers: g.load_balancer_arns().len(),
            health_check_interval: g.health_check_interval_seconds(),
            healthy_threshold: g.healthy_threshold_count(),
            deregistration_delay: None,
        })
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
    let mut facts = TargetFacts {
        target: Some(target.clone()),
        image: image.map(str::to_string),
        snapshot,
        task_definition: described["taskDefinition"].clone(),
        revision: crate::ecs::taskdef::revision_tags::read(&described["tags"]),
        ..TargetFacts::default()
    };
    read_task_definition_facts(readers, &mut facts).await;
    for arn in facts.snapshot.target_groups() {
        if let Entry::Vacant(entry) = facts.target_groups.entry(arn) {
            let answer = readers.target_group(entry.key()).await;
            entry.insert(answer);
        }
    }
    Ok(facts)
}

/// Reads what one one-off task's checks need, on its family's latest
/// revision, run as `launch_type` (the first service's); its checks are
/// named `task NAME`. A task definition that cannot be read is one check
/// saying so.
pub(super) async fn gather_task(
    client: &EcsClient,
    readers: &mut Readers,
    task: &VerifyTask,
    launch_type: Option<&str>,
    image: Option<&str>,
) -> Result<TargetFacts, Check> {
    let subject = format!("task {}", task.name);
    let described = client
        .describe_task_definition_raw(&task.family)
        .await
        .map_err(|e| {
            if e.chain().any(|c| c.is::<UsageError>()) {
                Check::new(
                    &subject,
                    "task definition",
                    CheckStatus::Problem,
                    format!(
                        "no task definition family {:?} (its task-definition): the release would stop before it updates any service",
                        task.family
                    ),
                )
            } else {
                Check::new(
                    &subject,
                    "task definition",
                    CheckStatus::CouldNotCheck,
                    format!("{} ({})", task.family, why_any(&e)),
                )
            }
        })?;
    let td = described["taskDefinition"].clone();
    let arn = td["taskDefinitionArn"]
        .as_str()
        .unwrap_or(&task.family)
        .to_string();
    let mut facts = TargetFacts {
        target: Some(VerifyTarget {
            service: subject,
            containers: vec![task.container.clone()],
            secrets: task.secrets.clone(),
        }),
        one_off: true,
        image: image.map(str::to_string),
        snapshot: ServiceSnapshot {
            task_definition: arn,
            launch_type: launch_type.map(str::to_string),
            ..ServiceSnapshot::default()
        },
        task_definition: td,
        ..TargetFacts::default()
    };
    read_task_definition_facts(readers, &mut facts).await;
    Ok(facts)
}

/// Reads what the task definition's checks need: its roles, secrets and
/// awslogs groups.
async fn read_task_definition_facts(readers: &mut Readers, facts: &mut TargetFacts) {
    let td = facts.task_definition.clone();
    let Some(target) = facts.target.clone() else {
        return;
    };
    let account = td["taskDefinitionArn"]
        .as_str()
        .and_then(account_of)
        .map(str::to_string);
    for key in ["executionRoleArn", "taskRoleArn"] {
        if let Some(arn) = td[key].as_str().filter(|a| !a.is_empty()) {
            if !facts.roles.contains_key(arn) {
                let answer = readers.role(arn, account.as_deref()).await;
                facts.roles.insert(arn.to_string(), answer);
            }
        }
    }
    for one in secret_uses(&td, &target) {
        if facts.secrets.contains_key(&one.value_from) {
            continue;
        }
        let reference = SecretRef::parse(&one.value_from, account.as_deref());
        if matches!(
            reference,
            SecretRef::SecretsManager { .. } | SecretRef::Parameter { .. }
        ) {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_elasticloadbalancingv2::types::TargetGroup;

    #[test]
    fn only_the_target_group_asked_for_is_judged() {
        let asked =
            "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/plog-tg/01";
        let other = TargetGroup::builder()
            .target_group_arn(asked.replace("plog-tg/01", "other-tg/02"))
            .target_group_name("other-tg")
            .load_balancer_arns("arn:lb")
            .build();
        assert_eq!(
            target_group_facts(std::slice::from_ref(&other), asked),
            None
        );
        assert_eq!(target_group_facts(&[], asked), None);
        let mine = TargetGroup::builder()
            .target_group_arn(asked)
            .target_group_name("plog-tg")
            .health_check_port("traffic-port")
            .build();
        let found = target_group_facts(&[other, mine], asked).unwrap();
        assert_eq!((found.name.as_str(), found.load_balancers), ("plog-tg", 0));
        assert_eq!(found.health_check_port.as_deref(), Some("traffic-port"));
    }
}
