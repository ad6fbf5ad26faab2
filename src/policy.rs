//! `hoist policy ENV`: the least-privilege IAM policy (JSON) for the role
//! that runs `ship`, `promote`, `verify`, `logs` and `status` for one
//! environment, scoped to that environment's own resources — its ECR
//! repository, cluster, services, task-definition families, log groups,
//! roles and secrets — with `"*"` only where the API has no resource-level
//! permission (the IAM Service Authorization Reference's "Actions defined
//! by …" tables: ecr:GetAuthorizationToken, ecs:RegisterTaskDefinition,
//! ecs:DescribeTaskDefinition, ecs:ListTaskDefinitions,
//! ecs:DeregisterTaskDefinition, ecs:DescribeServiceDeployments' listing,
//! logs:DescribeLogGroups, ssm:DescribeParameters and ELB's Describe*).
//!
//! Pure: [`least_privilege`] takes the facts as plain values; reading them
//! (hoist.toml, DescribeServices, DescribeTaskDefinition) is the caller's.

use serde::Serialize;
use serde_json::{json, Value};

/// What the policy is made of.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyFacts {
    /// The AWS partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: String,
    /// The environment's region.
    pub region: String,
    /// Its account.
    pub account: String,
    /// The ECR repository pushed to: (account, region, name); `None` when
    /// the registry is not ECR.
    pub repository: Option<(String, String, String)>,
    /// `[registry] create-repository`.
    pub create_repository: bool,
    /// The cluster's name.
    pub cluster: String,
    /// The services' names.
    pub services: Vec<String>,
    /// The task-definition families deployed (services' and one-off tasks').
    pub families: Vec<String>,
    /// The task and execution roles (ARNs) the task definitions name.
    pub roles: Vec<String>,
    /// The awslogs groups: (region, name).
    pub log_groups: Vec<(String, String)>,
    /// Secrets Manager secrets the tasks get (ARNs, as written).
    pub secrets: Vec<String>,
    /// Secrets Manager secrets `[[image.files]]` bakes into the image.
    pub image_file_secrets: Vec<String>,
    /// CODE_DEPLOY services: (application, deployment group).
    pub codedeploy: Vec<(String, String)>,
}

/// The policy for `facts`.
pub fn least_privilege(facts: &PolicyFacts) -> Value {
    let arn = |service: &str, resource: &str| {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            facts.partition, facts.region, facts.account
        )
    };
    let mut statements = Vec::new();
    let mut add = |sid: &str,
                   actions: &[&str],
                   resources: Vec<String>,
                   condition: Option<Value>| {
        if resources.is_empty() {
            return;
        }
        let mut statement = json!({
            "Sid": sid,
            "Effect": "Allow",
            "Action": actions,
            "Resource": if resources.len() == 1 { json!(resources[0]) } else { json!(resources) },
        });
        if let Some(condition) = condition {
            statement["Condition"] = condition;
        }
        statements.push(statement);
    };
    if let Some((account, region, name)) = &facts.repository {
        let repository = format!(
            "arn:{}:ecr:{region}:{account}:repository/{name}",
            facts.partition
        );
        add(
            "EcrLogin",
            &["ecr:GetAuthorizationToken"],
            vec!["*".into()],
            None,
        );
        let mut actions = vec![
            "ecr:BatchCheckLayerAvailability",
            "ecr:BatchGetImage",
            "ecr:CompleteLayerUpload",
            "ecr:DescribeImages",
            "ecr:DescribeRepositories",
            "ecr:GetDownloadUrlForLayer",
            "ecr:GetLifecyclePolicy",
            "ecr:InitiateLayerUpload",
            "ecr:ListImages",
            "ecr:PutImage",
            "ecr:UploadLayerPart",
        ];
        if facts.create_repository {
            actions.push("ecr:CreateRepository");
        }
        add("EcrRepository", &actions, vec![repository], None);
    }
    let cluster = arn("ecs", &format!("cluster/{}", facts.cluster));
    let services: Vec<String> = facts
        .services
        .iter()
        .map(|s| arn("ecs", &format!("service/{}/{s}", facts.cluster)))
        .collect();
    add(
        "EcsServices",
        &[
            "ecs:DescribeServices",
            "ecs:ListServiceDeployments",
            "ecs:UpdateService",
        ],
        services.clone(),
        None,
    );
    add(
        "EcsServiceDeployments",
        &[
            "ecs:DescribeServiceDeployments",
            "ecs:StopServiceDeployment",
        ],
        facts
            .services
            .iter()
            .map(|s| {
                arn(
                    "ecs",
                    &format!("service-deployment/{}/{s}/*", facts.cluster),
                )
            })
            .collect(),
        None,
    );
    add(
        "EcsTasks",
        &["ecs:DescribeTasks", "ecs:ListTasks", "ecs:ListServices"],
        vec![
            cluster.clone(),
            arn("ecs", &format!("task/{}/*", facts.cluster)),
            arn("ecs", "container-instance/*"),
        ],
        None,
    );
    add(
        "EcsTaskDefinitionFamilies",
        &["ecs:RunTask", "ecs:TagResource"],
        facts
            .families
            .iter()
            .map(|f| arn("ecs", &format!("task-definition/{f}:*")))
            .collect(),
        None,
    );
    add(
        "EcsTaskDefinitions",
        &[
            "ecs:DeregisterTaskDefinition",
            "ecs:DescribeTaskDefinition",
            "ecs:ListTaskDefinitions",
            "ecs:RegisterTaskDefinition",
        ],
        vec!["*".into()],
        None,
    );
    add(
        "PassTheTaskRoles",
        &["iam:PassRole"],
        facts.roles.clone(),
        Some(json!({"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}})),
    );
    add(
        "ReadTheTaskRoles",
        &["iam:GetRole"],
        facts.roles.clone(),
        None,
    );
    add(
        "LogGroups",
        &[
            "logs:DescribeLogStreams",
            "logs:FilterLogEvents",
            "logs:GetLogEvents",
        ],
        facts
            .log_groups
            .iter()
            .map(|(region, name)| {
                format!(
                    "arn:{}:logs:{region}:{}:log-group:{name}:*",
                    facts.partition, facts.account
                )
            })
            .collect(),
        None,
    );
    add(
        "ListLogGroups",
        &["logs:DescribeLogGroups"],
        vec!["*".into()],
        None,
    );
    add(
        "LoadBalancerHealth",
        &[
            "elasticloadbalancing:DescribeTargetGroupAttributes",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetHealth",
        ],
        vec!["*".into()],
        None,
    );
    add(
        "TaskSecretsExist",
        &["secretsmanager:DescribeSecret"],
        facts.secrets.iter().map(|s| secret_resource(s)).collect(),
        None,
    );
    add(
        "ImageFileSecrets",
        &["secretsmanager:GetSecretValue"],
        facts
            .image_file_secrets
            .iter()
            .map(|s| {
                if s.starts_with("arn:") {
                    secret_resource(s)
                } else {
                    arn("secretsmanager", &format!("secret:{s}-*"))
                }
            })
            .collect(),
        None,
    );
    add(
        "SsmParametersExist",
        &["ssm:DescribeParameters"],
        vec!["*".into()],
        None,
    );
    for (application, group) in &facts.codedeploy {
        add(
            "CodeDeploy",
            &[
                "codedeploy:CreateDeployment",
                "codedeploy:GetDeployment",
                "codedeploy:GetDeploymentTarget",
                "codedeploy:ListDeploymentTargets",
                "codedeploy:ListDeployments",
                "codedeploy:StopDeployment",
            ],
            vec![
                arn(
                    "codedeploy",
                    &format!("deploymentgroup:{application}/{group}"),
                ),
                arn("codedeploy", &format!("application:{application}")),
            ],
            None,
        );
        add(
            "CodeDeployRevisions",
            &[
                "codedeploy:GetApplicationRevision",
                "codedeploy:RegisterApplicationRevision",
            ],
            vec![arn("codedeploy", &format!("application:{application}"))],
            None,
        );
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// A secret as an IAM resource: the ARN up to the secret's name, with `*`
/// for the six-character suffix a partial ARN leaves out (a `:json-key…`
/// tail of an ECS `valueFrom` dropped).
fn secret_resource(value_from: &str) -> String {
    let fields: Vec<&str> = value_from.split(':').collect();
    let base = fields[..fields.len().min(7)].join(":");
    if base.ends_with('*') {
        base
    } else {
        format!("{base}*")
    }
}

/// Whether `policy` allows `action` (`service:Name`), wildcards in its
/// `Action` lists taken as IAM takes them (`*` any run of characters).
pub fn allows(policy: &Value, action: &str) -> bool {
    let action = action.to_ascii_lowercase();
    let matches = |pattern: &str| {
        let pattern = pattern.to_ascii_lowercase();
        match pattern.strip_suffix('*') {
            Some(prefix) => action.starts_with(prefix),
            None => pattern == action,
        }
    };
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| match &s["Action"] {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        })
        .any(|pattern| matches(&pattern))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> PolicyFacts {
        PolicyFacts {
            partition: "aws".into(),
            region: "ap-northeast-2".into(),
            account: "123456789012".into(),
            repository: Some((
                "123456789012".into(),
                "ap-northeast-2".into(),
                "plog-back".into(),
            )),
            cluster: "plog-cluster".into(),
            services: vec!["plog-api".into()],
            families: vec!["plog-api".into()],
            roles: vec!["arn:aws:iam::123456789012:role/ecsTaskExecutionRole".into()],
            log_groups: vec![("ap-northeast-2".into(), "/ecs/plog-api".into())],
            secrets: vec![
                "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:plog/db:password::"
                    .into(),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn each_statement_is_scoped_to_the_environments_own_resources() {
        let policy = least_privilege(&facts());
        let statement = |sid: &str| {
            policy["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["Sid"] == sid)
                .unwrap_or_else(|| panic!("no {sid} in {policy:#}"))
                .clone()
        };
        assert_eq!(
            statement("EcsServices")["Resource"],
            "arn:aws:ecs:ap-northeast-2:123456789012:service/plog-cluster/plog-api"
        );
        assert_eq!(
            statement("EcrRepository")["Resource"],
            "arn:aws:ecr:ap-northeast-2:123456789012:repository/plog-back"
        );
        assert_eq!(
            statement("TaskSecretsExist")["Resource"],
            "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:plog/db*"
        );
        assert_eq!(
            statement("PassTheTaskRoles")["Condition"]["StringEquals"]["iam:PassedToService"],
            "ecs-tasks.amazonaws.com"
        );
        assert_eq!(
            statement("LogGroups")["Resource"],
            "arn:aws:logs:ap-northeast-2:123456789012:log-group:/ecs/plog-api:*"
        );
        assert!(allows(&policy, "ecs:UpdateService"));
        assert!(allows(&policy, "ECR:PutImage"));
        assert!(!allows(&policy, "ecs:DeleteService"));
        assert!(!allows(&policy, "ecr:CreateRepository"));
        // Nothing without a resource is emitted.
        let bare = least_privilege(&PolicyFacts::default());
        assert!(!allows(&bare, "ecr:PutImage"));
    }
}
