//! `hoist verify ENV`, and the same checks `hoist ship` makes before it
//! registers anything: can the environment's ECS setup run this image?
//! Modelled on ecspresso's `verify`, and going further.
//!
//! For each service (and the containers hoist deploys to), on its current
//! task definition:
//!
//! * **platform**: the image's platforms (handed in as `os/arch[/variant]`
//!   strings: this module knows no image format) include the task's
//!   `runtimePlatform` (X86_64 ↔ amd64, ARM64 ↔ arm64; none on Fargate
//!   means X86_64 LINUX);
//! * **container**: each container named exists, and each `loadBalancers[]`
//!   entry's container exists and maps its `containerPort`;
//! * **execution role** / **task role**: set where the task needs one
//!   (secrets, awslogs or an ECR image on Fargate, registry credentials),
//!   exists (IAM GetRole) and trusts `ecs-tasks.amazonaws.com` to
//!   `sts:AssumeRole`;
//! * **secret**: every `valueFrom` (the task definition's, with hoist.toml's
//!   over them, log-driver `secretOptions`, `repositoryCredentials`) names a
//!   Secrets Manager secret (DescribeSecret) or an SSM parameter
//!   (GetParameters) that exists; no value is ever read into a message;
//! * **log group**: each awslogs group exists (or `awslogs-create-group` is
//!   "true"), with a stream prefix on Fargate;
//! * **grace period**: a load-balanced service has
//!   `healthCheckGracePeriodSeconds` > 0;
//! * **target group**: each target group exists, is attached to a load
//!   balancer, has target type `ip` for awsvpc tasks, and health-checks a
//!   port the task maps.
//!
//! Each check is one [`Check`]: `ok`, `problem` or `could not check` (with
//! why; an AccessDenied names the IAM action needed). The decisions are
//! pure ([`judge`] on [`TargetFacts`]); the AWS reads are done at the edge
//! ([`verify`]), and a read that fails never counts as a problem.

use crate::aws::error::{AwsCall, AwsError, Service};
use crate::aws::AwsOptions;
use crate::ecs::client::EcsClient;
use crate::ecs::logs::{LogReader, LogSource};
use crate::ecs::rollout::{short_arn, ServiceSnapshot};
use crate::error::UsageError;
use serde::Serialize;
use serde_json::Value;
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

/// What a check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckStatus {
    /// Fine.
    Ok,
    /// The deploy would fail, or its tasks would.
    Problem,
    /// The facts could not be read (never blocks).
    CouldNotCheck,
}

impl CheckStatus {
    /// `ok`, `problem`, `could not check`.
    pub fn label(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Problem => "problem",
            CheckStatus::CouldNotCheck => "could not check",
        }
    }
}

/// One check of one service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// The ECS service.
    pub service: String,
    /// `platform`, `container`, `execution role`, `task role`, `secret`,
    /// `log group`, `grace period`, `target group` (or `service` when the
    /// service itself could not be read).
    pub check: String,
    /// Its outcome.
    pub status: CheckStatus,
    /// What was found, in words.
    pub message: String,
}

impl Check {
    fn new(service: &str, check: &str, status: CheckStatus, message: impl Into<String>) -> Self {
        Self {
            service: service.to_string(),
            check: check.to_string(),
            status,
            message: message.into(),
        }
    }

    /// `check: message`, with `[service] ` first when `with_service`.
    pub fn text(&self, with_service: bool) -> String {
        if with_service {
            format!("[{}] {}: {}", self.service, self.check, self.message)
        } else {
            format!("{}: {}", self.check, self.message)
        }
    }

    /// `ok       platform: …` / `problem  …` / `could not check …`.
    pub fn line(&self, with_service: bool) -> String {
        format!("{:<8} {}", self.status.label(), self.text(with_service))
    }
}

/// Where the image's platforms come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlatformsFrom {
    /// The image just built.
    Build,
    /// `[image] platforms` in hoist.toml.
    Configured,
    /// None configured: hoist's default (linux/amd64).
    Default,
}

/// One service to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyTarget {
    /// The ECS service.
    pub service: String,
    /// The containers whose image is replaced.
    pub containers: Vec<String>,
    /// The secrets a deploy adds to those containers (`NAME`, `valueFrom`).
    pub secrets: Vec<(String, String)>,
}

/// What to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyRequest {
    /// What the report is named after (the environment).
    pub label: String,
    /// The ECS cluster.
    pub cluster: String,
    /// Its services.
    pub targets: Vec<VerifyTarget>,
    /// The image's platforms, `os/arch[/variant]`.
    pub platforms: Vec<String>,
    /// Where they come from.
    pub platforms_from: PlatformsFrom,
    /// The image (or repository) deployed to the named containers, if
    /// known: whether it is in ECR decides whether an execution role is
    /// needed to pull it.
    pub image: Option<String>,
}

/// Every check of an environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// The environment.
    pub env: String,
    /// The ECS cluster.
    pub cluster: String,
    /// The image's platforms checked.
    pub platforms: Vec<String>,
    /// Where they came from.
    pub platforms_from: PlatformsFrom,
    /// Every check, service by service.
    pub checks: Vec<Check>,
    /// How many are ok.
    pub ok: usize,
    /// How many are problems.
    pub problems: usize,
    /// How many could not be checked.
    pub could_not_check: usize,
}

impl VerifyReport {
    /// A report of `checks`, counted.
    pub fn new(request: &VerifyRequest, checks: Vec<Check>) -> Self {
        let count = |s: CheckStatus| checks.iter().filter(|c| c.status == s).count();
        Self {
            env: request.label.clone(),
            cluster: request.cluster.clone(),
            platforms: request.platforms.clone(),
            platforms_from: request.platforms_from,
            ok: count(CheckStatus::Ok),
            problems: count(CheckStatus::Problem),
            could_not_check: count(CheckStatus::CouldNotCheck),
            checks,
        }
    }

    /// Whether the checks are of several services (lines then name them).
    fn several(&self) -> bool {
        self.checks
            .iter()
            .any(|c| c.service != self.checks[0].service)
    }

    /// One line per check.
    pub fn lines(&self) -> Vec<String> {
        let several = self.several();
        self.checks.iter().map(|c| c.line(several)).collect()
    }

    /// The checks that could not be made, as lines.
    pub fn unchecked_lines(&self) -> Vec<String> {
        let several = self.several();
        self.checks
            .iter()
            .filter(|c| c.status == CheckStatus::CouldNotCheck)
            .map(|c| c.line(several))
            .collect()
    }

    /// `verify dev (plog-cluster): 9 ok, 1 problem, 0 could not check`.
    pub fn summary(&self) -> String {
        format!(
            "verify {} ({}): {} ok, {} {}, {} could not check",
            self.env,
            self.cluster,
            self.ok,
            self.problems,
            if self.problems == 1 {
                "problem"
            } else {
                "problems"
            },
            self.could_not_check
        )
    }

    /// The problems on one line: `platform: …; log group: …`.
    pub fn problem_text(&self) -> String {
        let several = self.several();
        self.checks
            .iter()
            .filter(|c| c.status == CheckStatus::Problem)
            .map(|c| c.text(several))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What a lookup gave, or why it could not be made.
pub(crate) type Answer<T> = Result<T, String>;

/// A log group: its region (else the task's) and name.
pub(crate) type GroupKey = (Option<String>, String);

/// A Secrets Manager secret or SSM parameter, as far as the check goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SecretState {
    /// It is there.
    Found,
    /// It is not.
    Missing,
    /// Secrets Manager has it scheduled for deletion.
    Deleted,
}

/// A target group, as far as the checks go (DescribeTargetGroups).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TargetGroupFacts {
    /// Its name.
    pub(crate) name: String,
    /// `ip`, `instance`, `lambda`, `alb`.
    pub(crate) target_type: Option<String>,
    /// HealthCheckProtocol.
    pub(crate) health_check_protocol: Option<String>,
    /// HealthCheckPort: `traffic-port` or a number.
    pub(crate) health_check_port: Option<String>,
    /// HealthCheckPath.
    pub(crate) health_check_path: Option<String>,
    /// How many load balancers forward to it.
    pub(crate) load_balancers: usize,
}

/// Everything the checks of one service are decided on, read at the edge.
#[derive(Clone, Debug, Default)]
pub(crate) struct TargetFacts {
    /// The service and what hoist deploys to it.
    pub(crate) target: Option<VerifyTarget>,
    /// The image deployed to the named containers.
    pub(crate) image: Option<String>,
    /// DescribeServices' view.
    pub(crate) snapshot: ServiceSnapshot,
    /// DescribeTaskDefinition's `taskDefinition`.
    pub(crate) task_definition: Value,
    /// Per role ARN (as the task definition names it): its trust policy
    /// document as IAM sent it, `None` when there is no such role.
    pub(crate) roles: BTreeMap<String, Answer<Option<String>>>,
    /// Per `valueFrom`.
    pub(crate) secrets: BTreeMap<String, Answer<SecretState>>,
    /// Per (region, group): whether it exists.
    pub(crate) log_groups: BTreeMap<GroupKey, Answer<bool>>,
    /// Per target group ARN: `None` when there is no such group.
    pub(crate) target_groups: BTreeMap<String, Answer<Option<TargetGroupFacts>>>,
}

/// One secret a task reads, and who reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SecretUse {
    /// The container.
    pub(crate) container: String,
    /// The variable (or log option) name; `repositoryCredentials` for
    /// registry credentials.
    pub(crate) name: String,
    /// The ARN or parameter name.
    pub(crate) value_from: String,
}

/// What a `valueFrom` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SecretRef {
    /// A Secrets Manager secret: its ARN without the JSON key, version
    /// stage and version id, and its region.
    SecretsManager {
        /// The first seven `:`-fields of the ARN.
        id: String,
        /// The ARN's region.
        region: String,
    },
    /// An SSM parameter: the names to ask GetParameters for (a one-level
    /// name in an ARN may have been created with or without its leading
    /// `/`), in `region` (else the task's).
    Parameter {
        /// Names for GetParameters.
        names: Vec<String>,
        /// The ARN's region, if an ARN.
        region: Option<String>,
    },
    /// Neither.
    Unknown,
}

impl SecretRef {
    /// What `value_from` names; `account` is the task's account (an SSM ARN
    /// of another account is asked for by its ARN, as shared parameters are).
    pub(crate) fn parse(value_from: &str, account: Option<&str>) -> Self {
        if !value_from.starts_with("arn:") {
            return SecretRef::Parameter {
                names: vec![value_from.to_string()],
                region: None,
            };
        }
        let fields: Vec<&str> = value_from.split(':').collect();
        if fields.len() < 6 {
            return SecretRef::Unknown;
        }
        match fields[2] {
            "secretsmanager" if fields.len() >= 7 && fields[5] == "secret" => {
                SecretRef::SecretsManager {
                    id: fields[..7].join(":"),
                    region: fields[3].to_string(),
                }
            }
            "ssm" => {
                let resource = fields[5..].join(":");
                let Some(name) = resource.strip_prefix("parameter/") else {
                    return SecretRef::Unknown;
                };
                let names = if account.is_some_and(|a| a != fields[4]) {
                    vec![value_from.to_string()]
                } else if name.contains('/') {
                    vec![format!("/{name}")]
                } else {
                    vec![name.to_string(), format!("/{name}")]
                };
                SecretRef::Parameter {
                    names,
                    region: Some(fields[3].to_string()),
                }
            }
            _ => SecretRef::Unknown,
        }
    }

    /// `Secrets Manager` / `SSM Parameter Store`.
    fn store(&self) -> &'static str {
        match self {
            SecretRef::SecretsManager { .. } => "Secrets Manager",
            SecretRef::Parameter { .. } => "SSM Parameter Store",
            SecretRef::Unknown => "?",
        }
    }
}

/// The account of an ARN.
fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

fn containers(td: &Value) -> Vec<&Value> {
    td["containerDefinitions"]
        .as_array()
        .map(|cs| cs.iter().collect())
        .unwrap_or_default()
}

fn container_named<'a>(td: &'a Value, name: &str) -> Option<&'a Value> {
    containers(td).into_iter().find(|c| c["name"] == name)
}

fn container_names(td: &Value) -> Vec<String> {
    containers(td)
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect()
}

fn mapped_ports(container: &Value) -> Vec<i64> {
    container["portMappings"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m["containerPort"].as_i64())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the service's tasks run on Fargate.
fn on_fargate(snapshot: &ServiceSnapshot, td: &Value) -> bool {
    match snapshot.launch_type.as_deref() {
        Some(launch_type) => launch_type == "FARGATE",
        None => td["requiresCompatibilities"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c == "FARGATE")),
    }
}

/// An image in a private Amazon ECR repository.
fn is_ecr_image(image: &str) -> bool {
    let host = image.split('/').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    host.contains(".dkr.ecr.")
        && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"))
}

/// The secrets the task reads once deployed: each container's `secrets`
/// (hoist.toml's over them, by name, in the containers hoist deploys to),
/// its log driver's `secretOptions` and its `repositoryCredentials`.
pub(crate) fn secret_uses(td: &Value, target: &VerifyTarget) -> Vec<SecretUse> {
    let mut uses = Vec::new();
    for container in containers(td) {
        let name = container["name"].as_str().unwrap_or("?").to_string();
        let mut secrets: Vec<(String, String)> = container["secrets"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(|s| {
                        Some((
                            s["name"].as_str()?.to_string(),
                            s["valueFrom"].as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if target.containers.contains(&name) {
            for (key, value) in &target.secrets {
                match secrets.iter_mut().find(|(k, _)| k == key) {
                    Some(existing) => existing.1 = value.clone(),
                    None => secrets.push((key.clone(), value.clone())),
                }
            }
        }
        let options = container["logConfiguration"]["secretOptions"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(|s| {
                        Some((
                            format!("log option {}", s["name"].as_str()?),
                            s["valueFrom"].as_str()?.to_string(),
                        ))
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let credentials = container["repositoryCredentials"]["credentialsParameter"]
            .as_str()
            .map(|arn| ("repositoryCredentials".to_string(), arn.to_string()));
        for (key, value_from) in secrets.into_iter().chain(options).chain(credentials) {
            uses.push(SecretUse {
                container: name.clone(),
                name: key,
                value_from,
            });
        }
    }
    uses
}

/// Why the task needs an execution role (empty: it does not).
fn execution_role_needs(facts: &TargetFacts, target: &VerifyTarget) -> Vec<&'static str> {
    let td = &facts.task_definition;
    let fargate = on_fargate(&facts.snapshot, td);
    let uses = secret_uses(td, target);
    let mut needs = Vec::new();
    if uses
        .iter()
        .any(|u| u.name != "repositoryCredentials" && !u.name.starts_with("log option "))
    {
        needs.push("to read its secrets");
    }
    if uses.iter().any(|u| u.name.starts_with("log option ")) {
        needs.push("to read its log driver's secretOptions");
    }
    if uses.iter().any(|u| u.name == "repositoryCredentials") {
        needs.push("to read its registry credentials");
    }
    if fargate {
        let images = containers(td).into_iter().map(|c| {
            let name = c["name"].as_str().unwrap_or_default();
            match (&facts.image, target.containers.iter().any(|n| n == name)) {
                (Some(image), true) => image.clone(),
                _ => c["image"].as_str().unwrap_or_default().to_string(),
            }
        });
        if images.clone().any(|i| is_ecr_image(&i)) {
            needs.push("to pull a private ECR image on Fargate");
        }
        if containers(td)
            .iter()
            .any(|c| matches!(LogSource::of(c), LogSource::Awslogs { .. }))
        {
            needs.push("to write awslogs on Fargate");
        }
    }
    needs
}

/// The role's name in an ARN (`arn:aws:iam::1:role/path/NAME` → `NAME`),
/// or the name itself.
pub(crate) fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// `%XX` and `+` decoded (IAM sends policy documents URL-encoded).
fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `*` and `?` wildcards, ASCII case-insensitive (IAM action matching).
fn wildcard_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let t: Vec<char> = text.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether a trust policy (as IAM sends it: URL-encoded JSON, or plain
/// JSON) lets `ecs-tasks.amazonaws.com` call `sts:AssumeRole`: an Allow
/// statement naming that service (or `*`) and the action (wildcards
/// allowed), and no Deny statement that does. Conditions are not judged.
pub(crate) fn trusts_ecs_tasks(document: &str) -> Result<bool, String> {
    let text = if document.trim_start().starts_with('{') {
        document.to_string()
    } else {
        url_decode(document)
    };
    let policy: Value =
        serde_json::from_str(&text).map_err(|_| "its trust policy is not JSON".to_string())?;
    let statements: Vec<&Value> = match &policy["Statement"] {
        Value::Array(items) => items.iter().collect(),
        one @ Value::Object(_) => vec![one],
        _ => Vec::new(),
    };
    let applies = |s: &Value| {
        let principal = match &s["Principal"] {
            Value::String(p) => p == "*",
            Value::Object(p) => {
                strings(&p.get("Service").cloned().unwrap_or(Value::Null))
                    .iter()
                    .any(|s| s.starts_with("ecs-tasks.amazonaws.com"))
                    || strings(&p.get("AWS").cloned().unwrap_or(Value::Null)).contains(&"*")
            }
            _ => false,
        };
        principal
            && strings(&s["Action"])
                .iter()
                .any(|a| wildcard_matches(a, "sts:AssumeRole"))
    };
    let allowed = statements
        .iter()
        .any(|s| s["Effect"] == "Allow" && applies(s));
    let denied = statements
        .iter()
        .any(|s| s["Effect"] == "Deny" && applies(s));
    Ok(allowed && !denied)
}

/// `os`, `arch` of `os/arch[/variant]`.
fn os_arch(platform: &str) -> (&str, &str) {
    let mut parts = platform.split('/');
    (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    )
}

fn platform_check(facts: &TargetFacts, request: &Platforms<'_>) -> Check {
    let service = &facts.service_name();
    let td = &facts.task_definition;
    let name = short_arn(&facts.snapshot.task_definition);
    let shown = format!(
        "{}{}",
        request.platforms.join(", "),
        match request.from {
            PlatformsFrom::Build => "",
            PlatformsFrom::Configured => " (as configured)",
            PlatformsFrom::Default => " (as configured: the default)",
        }
    );
    let runtime = &td["runtimePlatform"];
    let (cpu, os_family, assumed) = match (
        runtime["cpuArchitecture"].as_str(),
        runtime["operatingSystemFamily"].as_str(),
    ) {
        (Some(cpu), os) => (cpu.to_string(), os.unwrap_or("LINUX").to_string(), None),
        (None, os) if on_fargate(&facts.snapshot, td) => (
            "X86_64".to_string(),
            os.unwrap_or("LINUX").to_string(),
            Some(if runtime.is_object() {
                format!("{name} sets no cpuArchitecture: Fargate runs X86_64")
            } else {
                format!("{name} has no runtimePlatform: Fargate runs X86_64")
            }),
        ),
        (None, _) => {
            return Check::new(
                service,
                "platform",
                CheckStatus::CouldNotCheck,
                format!(
                    "{shown}: {name} has no runtimePlatform.cpuArchitecture, so its tasks run on the container instances' CPU, which hoist does not read"
                ),
            )
        }
    };
    let arch = match cpu.as_str() {
        "X86_64" => "amd64",
        "ARM64" => "arm64",
        other => {
            return Check::new(
                service,
                "platform",
                CheckStatus::CouldNotCheck,
                format!("{shown}: {name} has cpuArchitecture {other:?}, which hoist does not know"),
            )
        }
    };
    let os = if os_family.starts_with("WINDOWS") {
        "windows"
    } else {
        "linux"
    };
    let note = match &assumed {
        Some(why) => format!("{name}; {why}"),
        None => name.to_string(),
    };
    let fits = request.platforms.iter().any(|p| os_arch(p) == (os, arch));
    let what = if os == "linux" {
        cpu.clone()
    } else {
        format!("{cpu} {os_family}")
    };
    if fits {
        let verb = if request.platforms.len() > 1 {
            "include"
        } else {
            "matches"
        };
        return Check::new(
            service,
            "platform",
            CheckStatus::Ok,
            format!("{shown} {verb} {what} ({note})"),
        );
    }
    let wanted = format!("{os}/{arch}");
    let other_cpu = if arch == "amd64" { "ARM64" } else { "X86_64" };
    let hint = if request.platforms.iter().all(|p| os_arch(p).0 == os) {
        format!(
            "build {wanted} ([image] platforms), or set runtimePlatform.cpuArchitecture to {other_cpu}"
        )
    } else {
        format!("build {wanted} ([image] platforms)")
    };
    Check::new(
        service,
        "platform",
        CheckStatus::Problem,
        format!(
            "{shown} does not match {what} ({note}): the tasks would stop with \"exec format error\"; {hint}"
        ),
    )
}

/// The image's platforms and where they come from.
struct Platforms<'a> {
    platforms: &'a [String],
    from: PlatformsFrom,
}

impl TargetFacts {
    fn service_name(&self) -> String {
        self.target
            .as_ref()
            .map(|t| t.service.clone())
            .unwrap_or_default()
    }
}

fn container_checks(facts: &TargetFacts, target: &VerifyTarget) -> Vec<Check> {
    let service = &target.service;
    let td = &facts.task_definition;
    let name = short_arn(&facts.snapshot.task_definition);
    let names = container_names(td);
    let listed = if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    };
    let mut checks = Vec::new();
    for container in &target.containers {
        checks.push(if names.contains(container) {
            Check::new(
                service,
                "container",
                CheckStatus::Ok,
                format!("{container} is in {name}"),
            )
        } else {
            Check::new(
                service,
                "container",
                CheckStatus::Problem,
                format!("no container {container:?} in {name} (its containers: {listed})"),
            )
        });
    }
    for lb in &facts.snapshot.load_balancers {
        let port = lb.container_port;
        let Some(container) = container_named(td, &lb.container_name) else {
            checks.push(Check::new(
                service,
                "container",
                CheckStatus::Problem,
                format!(
                    "the load balancer sends to {} port {port}, but {name} has no container {:?} (its containers: {listed})",
                    lb.container_name, lb.container_name
                ),
            ));
            continue;
        };
        let ports = mapped_ports(container);
        let shown = if ports.is_empty() {
            "none".to_string()
        } else {
            ports
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        checks.push(if ports.contains(&i64::from(port)) {
            Check::new(
                service,
                "container",
                CheckStatus::Ok,
                format!(
                    "the load balancer's port {port} of {} is in its portMappings ({name})",
                    lb.container_name
                ),
            )
        } else {
            Check::new(
                service,
                "container",
                CheckStatus::Problem,
                format!(
                    "the load balancer sends to {} port {port} (loadBalancers[].containerPort), but {name} maps no such port for it (its portMappings containerPort: {shown})",
                    lb.container_name
                ),
            )
        });
    }
    checks
}

fn role_check(facts: &TargetFacts, arn: &str) -> (CheckStatus, String) {
    let name = role_name(arn);
    match facts.roles.get(arn) {
        None => (
            CheckStatus::CouldNotCheck,
            format!("{name}: not looked up"),
        ),
        Some(Err(why)) => (CheckStatus::CouldNotCheck, format!("{name} ({why})")),
        Some(Ok(None)) => (
            CheckStatus::Problem,
            format!("{name} ({arn}) does not exist: ECS cannot assume it, so the tasks cannot start"),
        ),
        Some(Ok(Some(document))) => match trusts_ecs_tasks(document) {
            Ok(true) => (
                CheckStatus::Ok,
                format!("{name} exists and trusts ecs-tasks.amazonaws.com"),
            ),
            Ok(false) => (
                CheckStatus::Problem,
                format!(
                    "{name}'s trust policy does not let ecs-tasks.amazonaws.com sts:AssumeRole: ECS cannot assume it (add a statement allowing it)"
                ),
            ),
            Err(why) => (CheckStatus::CouldNotCheck, format!("{name}: {why}")),
        },
    }
}

fn role_checks(facts: &TargetFacts, target: &VerifyTarget) -> Vec<Check> {
    let service = &target.service;
    let td = &facts.task_definition;
    let name = short_arn(&facts.snapshot.task_definition);
    let mut checks = Vec::new();
    let needs = execution_role_needs(facts, target);
    match td["executionRoleArn"].as_str().filter(|a| !a.is_empty()) {
        None if needs.is_empty() => checks.push(Check::new(
            service,
            "execution role",
            CheckStatus::Ok,
            format!("{name} has none and needs none"),
        )),
        None => checks.push(Check::new(
            service,
            "execution role",
            CheckStatus::Problem,
            format!(
                "{name} has no executionRoleArn, but its tasks need one {}: they would fail to start",
                needs.join(", ")
            ),
        )),
        Some(arn) => {
            let (status, message) = role_check(facts, arn);
            checks.push(Check::new(service, "execution role", status, message));
        }
    }
    if let Some(arn) = td["taskRoleArn"].as_str().filter(|a| !a.is_empty()) {
        let (status, message) = role_check(facts, arn);
        checks.push(Check::new(service, "task role", status, message));
    }
    checks
}

fn secret_checks(facts: &TargetFacts, target: &VerifyTarget) -> Vec<Check> {
    let service = &target.service;
    let td = &facts.task_definition;
    let uses = secret_uses(td, target);
    if uses.is_empty() {
        return vec![Check::new(
            service,
            "secret",
            CheckStatus::Ok,
            format!(
                "none ({} and hoist.toml name none)",
                short_arn(&facts.snapshot.task_definition)
            ),
        )];
    }
    let account = td["taskDefinitionArn"].as_str().and_then(account_of);
    let mut by_value: BTreeMap<&str, Vec<&SecretUse>> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for one in &uses {
        if !by_value.contains_key(one.value_from.as_str()) {
            order.push(&one.value_from);
        }
        by_value.entry(&one.value_from).or_default().push(one);
    }
    order
        .into_iter()
        .map(|value_from| {
            let who = by_value[value_from]
                .iter()
                .map(|u| format!("{} ({})", u.name, u.container))
                .collect::<Vec<_>>()
                .join(", ");
            let reference = SecretRef::parse(value_from, account);
            let (status, what) = match (&reference, facts.secrets.get(value_from)) {
                (SecretRef::Unknown, _) => (
                    CheckStatus::Problem,
                    "not a Secrets Manager secret ARN nor an SSM parameter (ARN or name): ECS cannot read it".to_string(),
                ),
                (_, None) => (CheckStatus::CouldNotCheck, "not looked up".to_string()),
                (_, Some(Err(why))) => (CheckStatus::CouldNotCheck, why.clone()),
                (r, Some(Ok(SecretState::Found))) => {
                    (CheckStatus::Ok, format!("found in {}", r.store()))
                }
                (SecretRef::SecretsManager { .. }, Some(Ok(SecretState::Missing))) => (
                    CheckStatus::Problem,
                    "no such secret in Secrets Manager: the tasks would fail to start (ResourceInitializationError)".to_string(),
                ),
                (_, Some(Ok(SecretState::Missing))) => (
                    CheckStatus::Problem,
                    "no such SSM parameter: the tasks would fail to start (ResourceInitializationError)".to_string(),
                ),
                (_, Some(Ok(SecretState::Deleted))) => (
                    CheckStatus::Problem,
                    "scheduled for deletion in Secrets Manager: the tasks would fail to start (ResourceInitializationError)".to_string(),
                ),
            };
            Check::new(
                service,
                "secret",
                status,
                format!("{who} {value_from}: {what}"),
            )
        })
        .collect()
}

fn log_checks(facts: &TargetFacts, target: &VerifyTarget) -> Vec<Check> {
    let service = &target.service;
    let td = &facts.task_definition;
    let fargate = on_fargate(&facts.snapshot, td);
    let mut groups: Vec<(GroupKey, Vec<String>, bool)> = Vec::new();
    let mut checks = Vec::new();
    for container in containers(td) {
        let name = container["name"].as_str().unwrap_or("?").to_string();
        let LogSource::Awslogs {
            group,
            region,
            prefix,
            create_group,
        } = LogSource::of(container)
        else {
            continue;
        };
        if fargate && prefix.is_none() {
            checks.push(Check::new(
                service,
                "log group",
                CheckStatus::Problem,
                format!("{group} ({name}): no awslogs-stream-prefix, which Fargate requires"),
            ));
        }
        let key = (region, group);
        match groups.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, names, create)) => {
                names.push(name);
                *create |= create_group;
            }
            None => groups.push((key, vec![name], create_group)),
        }
    }
    if groups.is_empty() && checks.is_empty() {
        return vec![Check::new(
            service,
            "log group",
            CheckStatus::Ok,
            "no container logs with awslogs",
        )];
    }
    for ((region, group), names, create) in groups {
        let who = names.join(", ");
        let shown = match &region {
            Some(region) => format!("{group} in {region} ({who})"),
            None => format!("{group} ({who})"),
        };
        let answer = facts.log_groups.get(&(region.clone(), group.clone()));
        checks.push(match answer {
            _ if create => Check::new(
                service,
                "log group",
                CheckStatus::Ok,
                format!("{shown}: awslogs-create-group \"true\": created at first start (the execution role needs logs:CreateLogGroup)"),
            ),
            Some(Ok(true)) => Check::new(
                service,
                "log group",
                CheckStatus::Ok,
                format!("{shown} exists"),
            ),
            Some(Ok(false)) => Check::new(
                service,
                "log group",
                CheckStatus::Problem,
                format!("{shown} does not exist: the tasks would fail to start (ResourceInitializationError); create it, or set awslogs-create-group \"true\""),
            ),
            Some(Err(why)) => Check::new(
                service,
                "log group",
                CheckStatus::CouldNotCheck,
                format!("{shown} ({why})"),
            ),
            None => Check::new(
                service,
                "log group",
                CheckStatus::CouldNotCheck,
                format!("{shown}: not looked up"),
            ),
        });
    }
    checks
}

fn grace_checks(facts: &TargetFacts, target: &VerifyTarget) -> Vec<Check> {
    let service = &target.service;
    if facts.snapshot.load_balancers.is_empty() {
        return vec![Check::new(
            service,
            "grace period",
            CheckStatus::Ok,
            "not load-balanced: none needed",
        )];
    }
    match facts.snapshot.health_check_grace_seconds {
        Some(seconds) if seconds > 0 => vec![Check::new(
            service,
            "grace period",
            CheckStatus::Ok,
            format!("{seconds} s before failed load-balancer health checks count (healthCheckGracePeriodSeconds)"),
        )],
        _ => vec![Check::new(
            service,
            "grace period",
            CheckStatus::Problem,
            "the service is load-balanced but has no healthCheckGracePeriodSeconds: ECS may stop tasks that fail health checks while the JVM starts (set it above the app's start-up time, e.g. 60)",
        )],
    }
}

fn target_group_checks(facts: &TargetFacts, target: &VerifyTarget) -> Vec<Check> {
    let service = &target.service;
    let td = &facts.task_definition;
    let awsvpc = td["networkMode"] == "awsvpc";
    let all_ports: Vec<i64> = containers(td).into_iter().flat_map(mapped_ports).collect();
    let mut checks = Vec::new();
    for lb in &facts.snapshot.load_balancers {
        let Some(arn) = &lb.target_group_arn else {
            continue;
        };
        let short = arn
            .split(':')
            .next_back()
            .unwrap_or(arn)
            .trim_start_matches("targetgroup/");
        let check = |status, message: String| Check::new(service, "target group", status, message);
        let group = match facts.target_groups.get(arn) {
            None => {
                checks.push(check(
                    CheckStatus::CouldNotCheck,
                    format!("{short}: not looked up"),
                ));
                continue;
            }
            Some(Err(why)) => {
                checks.push(check(
                    CheckStatus::CouldNotCheck,
                    format!("{short} ({why})"),
                ));
                continue;
            }
            Some(Ok(None)) => {
                checks.push(check(
                    CheckStatus::Problem,
                    format!("{arn} does not exist: ECS cannot register the tasks"),
                ));
                continue;
            }
            Some(Ok(Some(group))) => group,
        };
        let name = &group.name;
        let mut wrong = Vec::new();
        if group.load_balancers == 0 {
            wrong.push(
                "it is attached to no load balancer: ECS refuses to register tasks in it"
                    .to_string(),
            );
        }
        let target_type = group.target_type.as_deref().unwrap_or("instance");
        if awsvpc && target_type != "ip" {
            wrong.push(format!(
                "its target type is {target_type}, but awsvpc tasks register by IP address: it needs target type ip"
            ));
        }
        let health_port = group.health_check_port.as_deref().unwrap_or("traffic-port");
        if let Ok(port) = health_port.parse::<i64>() {
            if port != i64::from(lb.container_port) && !all_ports.contains(&port) {
                wrong.push(format!(
                    "its health check goes to port {port}, which no container of {} maps (the traffic goes to {}:{})",
                    short_arn(&facts.snapshot.task_definition),
                    lb.container_name,
                    lb.container_port
                ));
            }
        }
        if wrong.is_empty() {
            let mut health = format!(
                "{} {health_port}",
                group.health_check_protocol.as_deref().unwrap_or("?")
            );
            if let Some(path) = &group.health_check_path {
                health.push(' ');
                health.push_str(path);
            }
            checks.push(check(
                CheckStatus::Ok,
                format!(
                    "{name} ({target_type}, health check {health}) fits {}:{}",
                    lb.container_name, lb.container_port
                ),
            ));
        } else {
            checks.push(check(
                CheckStatus::Problem,
                format!("{name}: {}", wrong.join("; ")),
            ));
        }
    }
    checks
}

/// Every check of one service, from what was read (pure).
pub(crate) fn judge(facts: &TargetFacts, platforms: &[String], from: PlatformsFrom) -> Vec<Check> {
    let Some(target) = &facts.target else {
        return Vec::new();
    };
    let mut checks = vec![platform_check(facts, &Platforms { platforms, from })];
    checks.extend(container_checks(facts, target));
    checks.extend(role_checks(facts, target));
    checks.extend(secret_checks(facts, target));
    checks.extend(log_checks(facts, target));
    checks.extend(grace_checks(facts, target));
    checks.extend(target_group_checks(facts, target));
    checks
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
struct Readers {
    aws: AwsOptions,
    region: String,
    configs: BTreeMap<String, aws_config::SdkConfig>,
    logs: LogReader,
}

impl Readers {
    fn new(client: &EcsClient) -> Self {
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
async fn gather(
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

/// Checks every service of `request`. Never fails: what cannot be read is
/// a `could not check` line (a service that does not exist is a problem).
pub async fn verify(client: &EcsClient, request: &VerifyRequest) -> VerifyReport {
    let mut readers = Readers::new(client);
    let mut checks = Vec::new();
    for target in &request.targets {
        match gather(
            client,
            &mut readers,
            &request.cluster,
            target,
            request.image.as_deref(),
        )
        .await
        {
            Ok(facts) => checks.extend(judge(&facts, &request.platforms, request.platforms_from)),
            Err(check) => checks.push(check),
        }
    }
    VerifyReport::new(request, checks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::rollout::LoadBalancerTarget;
    use serde_json::json;

    const TD_ARN: &str = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/plog-api:3";
    const EXEC: &str = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole";
    const TASK: &str = "arn:aws:iam::123456789012:role/plog-api-task";
    const DB: &str = "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:plog/db-AbCdEf";
    const TG: &str =
        "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/plog-tg/0123456789abcdef";
    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    fn task_definition() -> Value {
        json!({
            "taskDefinitionArn": TD_ARN,
            "family": "plog-api",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "executionRoleArn": EXEC,
            "taskRoleArn": TASK,
            "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
            "containerDefinitions": [
                {
                    "name": "plog-back",
                    "image": "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/plog-back@sha256:ab",
                    "portMappings": [{"containerPort": 8080}],
                    "secrets": [{"name": "DB_PASSWORD", "valueFrom": DB}],
                    "logConfiguration": {"logDriver": "awslogs", "options": {
                        "awslogs-group": "/ecs/plog-api", "awslogs-region": "ap-northeast-2",
                        "awslogs-stream-prefix": "plog-back"}},
                },
                {"name": "datadog-agent", "image": "public.ecr.aws/datadog/agent:7"},
            ],
        })
    }

    fn target() -> VerifyTarget {
        VerifyTarget {
            service: "plog-api".into(),
            containers: vec!["plog-back".into()],
            secrets: Vec::new(),
        }
    }

    /// A clean setup: every lookup answered as the seeded emulator would.
    fn facts() -> TargetFacts {
        let mut facts = TargetFacts {
            target: Some(target()),
            image: None,
            snapshot: ServiceSnapshot {
                task_definition: TD_ARN.into(),
                launch_type: Some("FARGATE".into()),
                ..ServiceSnapshot::default()
            },
            task_definition: task_definition(),
            ..TargetFacts::default()
        };
        facts.roles.insert(EXEC.into(), Ok(Some(TRUST.into())));
        facts.roles.insert(TASK.into(), Ok(Some(TRUST.into())));
        facts.secrets.insert(DB.into(), Ok(SecretState::Found));
        facts.log_groups.insert(
            (Some("ap-northeast-2".into()), "/ecs/plog-api".into()),
            Ok(true),
        );
        facts
    }

    fn behind_load_balancer(mut facts: TargetFacts, grace: Option<i32>) -> TargetFacts {
        facts.snapshot.load_balancers = vec![LoadBalancerTarget {
            container_name: "plog-back".into(),
            container_port: 8080,
            target_group_arn: Some(TG.into()),
        }];
        facts.snapshot.health_check_grace_seconds = grace;
        facts.target_groups.insert(
            TG.into(),
            Ok(Some(TargetGroupFacts {
                name: "plog-tg".into(),
                target_type: Some("ip".into()),
                health_check_protocol: Some("HTTP".into()),
                health_check_port: Some("traffic-port".into()),
                health_check_path: Some("/actuator/health".into()),
                load_balancers: 1,
            })),
        );
        facts
    }

    fn amd64() -> Vec<String> {
        vec!["linux/amd64".into()]
    }

    fn run(facts: &TargetFacts) -> Vec<Check> {
        judge(facts, &amd64(), PlatformsFrom::Build)
    }

    fn only<'a>(checks: &'a [Check], check: &str) -> Vec<&'a Check> {
        checks.iter().filter(|c| c.check == check).collect()
    }

    #[track_caller]
    fn problem<'a>(checks: &'a [Check], check: &str) -> &'a Check {
        let found: Vec<&Check> = checks
            .iter()
            .filter(|c| c.check == check && c.status == CheckStatus::Problem)
            .collect();
        assert_eq!(found.len(), 1, "{checks:#?}");
        found[0]
    }

    #[test]
    fn a_clean_setup_is_all_ok_and_says_so_line_by_line() {
        let checks = run(&behind_load_balancer(facts(), Some(60)));
        assert!(
            checks.iter().all(|c| c.status == CheckStatus::Ok),
            "{checks:#?}"
        );
        let lines: Vec<String> = checks.iter().map(|c| c.line(false)).collect();
        assert_eq!(
            lines[0],
            "ok       platform: linux/amd64 matches X86_64 (plog-api:3)"
        );
        for expected in [
            "ok       container: plog-back is in plog-api:3",
            "ok       container: the load balancer's port 8080 of plog-back is in its portMappings (plog-api:3)",
            "ok       execution role: ecsTaskExecutionRole exists and trusts ecs-tasks.amazonaws.com",
            "ok       task role: plog-api-task exists and trusts ecs-tasks.amazonaws.com",
            "ok       secret: DB_PASSWORD (plog-back) arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:plog/db-AbCdEf: found in Secrets Manager",
            "ok       log group: /ecs/plog-api in ap-northeast-2 (plog-back) exists",
            "ok       grace period: 60 s before failed load-balancer health checks count (healthCheckGracePeriodSeconds)",
            "ok       target group: plog-tg (ip, health check HTTP traffic-port /actuator/health) fits plog-back:8080",
        ] {
            assert!(lines.iter().any(|l| l == expected), "{expected}\n{lines:#?}");
        }
        let without_lb = run(&facts());
        assert_eq!(
            only(&without_lb, "grace period")[0].message,
            "not load-balanced: none needed"
        );
        assert!(only(&without_lb, "target group").is_empty());
    }

    #[test]
    fn the_platform_must_be_the_tasks_cpu() {
        let facts = facts();
        let arm = vec!["linux/arm64".to_string()];
        let checks = judge(&facts, &arm, PlatformsFrom::Configured);
        let bad = problem(&checks, "platform");
        assert!(
            bad.message
                .starts_with("linux/arm64 (as configured) does not match X86_64 (plog-api:3)")
                && bad.message.contains("exec format error")
                && bad.message.contains("build linux/amd64"),
            "{}",
            bad.message
        );
        // A multi-arch image that includes it is fine; arm64/v8 is arm64.
        let both = vec!["linux/amd64".to_string(), "linux/arm64/v8".to_string()];
        let checks = judge(&facts, &both, PlatformsFrom::Default);
        assert_eq!(
            only(&checks, "platform")[0].line(false),
            "ok       platform: linux/amd64, linux/arm64/v8 (as configured: the default) include X86_64 (plog-api:3)"
        );
        let mut arm_task = facts.clone();
        arm_task.task_definition["runtimePlatform"]["cpuArchitecture"] = json!("ARM64");
        assert_eq!(
            only(&judge(&arm_task, &arm, PlatformsFrom::Build), "platform")[0].status,
            CheckStatus::Ok
        );
        // No runtimePlatform: X86_64 on Fargate, said so; unknown on EC2.
        let mut bare = facts.clone();
        bare.task_definition
            .as_object_mut()
            .unwrap()
            .remove("runtimePlatform");
        let checks = judge(&bare, &arm, PlatformsFrom::Build);
        assert!(
            problem(&checks, "platform")
                .message
                .contains("plog-api:3 has no runtimePlatform: Fargate runs X86_64"),
            "{checks:#?}"
        );
        assert_eq!(
            only(&run(&bare), "platform")[0].message,
            "linux/amd64 matches X86_64 (plog-api:3; plog-api:3 has no runtimePlatform: Fargate runs X86_64)"
        );
        bare.snapshot.launch_type = Some("EC2".into());
        assert_eq!(
            only(&run(&bare), "platform")[0].status,
            CheckStatus::CouldNotCheck
        );
        // A Windows task needs a Windows image.
        let mut windows = facts.clone();
        windows.task_definition["runtimePlatform"]["operatingSystemFamily"] =
            json!("WINDOWS_SERVER_2022_CORE");
        let checks = run(&windows);
        assert!(problem(&checks, "platform")
            .message
            .contains("build windows/amd64"));
    }

    #[test]
    fn containers_and_load_balancer_ports_must_be_in_the_task_definition() {
        let mut facts = behind_load_balancer(facts(), Some(60));
        facts.target.as_mut().unwrap().containers = vec!["plog-bak".into()];
        let checks = run(&facts);
        assert_eq!(
            problem(&checks, "container").message,
            "no container \"plog-bak\" in plog-api:3 (its containers: plog-back, datadog-agent)"
        );
        let mut facts = behind_load_balancer(self::facts(), Some(60));
        facts.task_definition["containerDefinitions"][0]["portMappings"] =
            json!([{"containerPort": 9090}]);
        let checks = run(&facts);
        assert_eq!(
            problem(&checks, "container").message,
            "the load balancer sends to plog-back port 8080 (loadBalancers[].containerPort), but plog-api:3 maps no such port for it (its portMappings containerPort: 9090)"
        );
        facts.snapshot.load_balancers[0].container_name = "nginx".into();
        let checks = run(&facts);
        assert!(problem(&checks, "container")
            .message
            .contains("has no container \"nginx\""));
    }

    #[test]
    fn an_execution_role_is_needed_exists_and_trusts_ecs_tasks() {
        // Needed (secrets, awslogs and an ECR image on Fargate) but not set.
        let mut facts = facts();
        facts
            .task_definition
            .as_object_mut()
            .unwrap()
            .remove("executionRoleArn");
        let checks = run(&facts);
        let bad = problem(&checks, "execution role");
        assert_eq!(
            bad.message,
            "plog-api:3 has no executionRoleArn, but its tasks need one to read its secrets, to pull a private ECR image on Fargate, to write awslogs on Fargate: they would fail to start"
        );
        // Not needed: no secrets, no logs, a public image, on EC2.
        let mut plain = facts.clone();
        plain.snapshot.launch_type = Some("EC2".into());
        let container = &mut plain.task_definition["containerDefinitions"][0];
        container.as_object_mut().unwrap().remove("secrets");
        let checks = run(&plain);
        assert_eq!(
            only(&checks, "execution role")[0].message,
            "plog-api:3 has none and needs none"
        );
        // hoist.toml's secrets count too.
        plain.target.as_mut().unwrap().secrets = vec![("DB".into(), "plog/db".into())];
        assert_eq!(
            only(&run(&plain), "execution role")[0].status,
            CheckStatus::Problem
        );
        // The image ship deploys decides the ECR need.
        let mut public = self::facts();
        public.task_definition["containerDefinitions"][0]
            .as_object_mut()
            .unwrap()
            .remove("secrets");
        public.task_definition["containerDefinitions"][0]
            .as_object_mut()
            .unwrap()
            .remove("logConfiguration");
        public
            .task_definition
            .as_object_mut()
            .unwrap()
            .remove("executionRoleArn");
        public.image = Some("registry.example/plog-back@sha256:cd".into());
        assert_eq!(
            only(&run(&public), "execution role")[0].status,
            CheckStatus::Ok
        );
        // Missing, untrusting, unreadable.
        let mut gone = self::facts();
        gone.roles.insert(EXEC.into(), Ok(None));
        assert!(problem(&run(&gone), "execution role")
            .message
            .starts_with("ecsTaskExecutionRole (arn:aws:iam::123456789012:role/ecsTaskExecutionRole) does not exist"));
        let mut untrusting = self::facts();
        untrusting.roles.insert(
            EXEC.into(),
            Ok(Some(
                TRUST.replace("ecs-tasks.amazonaws.com", "ec2.amazonaws.com"),
            )),
        );
        assert!(problem(&run(&untrusting), "execution role")
            .message
            .contains("does not let ecs-tasks.amazonaws.com sts:AssumeRole"));
        let mut denied = self::facts();
        denied
            .roles
            .insert(TASK.into(), Err("needs iam:GetRole: AccessDenied".into()));
        let checks = run(&denied);
        let task = only(&checks, "task role")[0];
        assert_eq!(
            task.line(false),
            "could not check task role: plog-api-task (needs iam:GetRole: AccessDenied)"
        );
    }

    #[test]
    fn trust_policies_are_read_url_encoded_or_plain() {
        assert_eq!(trusts_ecs_tasks(TRUST), Ok(true));
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%5B%22ec2.amazonaws.com%22%2C%22ecs-tasks.amazonaws.com%22%5D%7D%2C%22Action%22%3A%5B%22sts%3AAssumeRole%22%5D%7D%5D%7D";
        assert_eq!(trusts_ecs_tasks(encoded), Ok(true));
        let wildcard = r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:Assume*"}}"#;
        assert_eq!(trusts_ecs_tasks(wildcard), Ok(true));
        let web_identity = TRUST.replace("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity");
        assert_eq!(trusts_ecs_tasks(&web_identity), Ok(false));
        let denied = r#"{"Statement":[
            {"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"},
            {"Effect":"Deny","Principal":"*","Action":"*"}]}"#;
        assert_eq!(trusts_ecs_tasks(denied), Ok(false));
        assert!(trusts_ecs_tasks("not json").is_err());
        assert_eq!(url_decode("a%2Fb+c%"), "a/b c%");
    }

    #[test]
    fn secret_arns_are_parsed_to_what_is_looked_up() {
        assert_eq!(
            SecretRef::parse(
                "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:plog/db-AbCdEf:password:AWSCURRENT:",
                Some("123456789012")
            ),
            SecretRef::SecretsManager {
                id: DB.into(),
                region: "ap-northeast-2".into()
            }
        );
        assert_eq!(
            SecretRef::parse(
                "arn:aws:ssm:us-east-1:123456789012:parameter/plog/missing",
                Some("123456789012")
            ),
            SecretRef::Parameter {
                names: vec!["/plog/missing".into()],
                region: Some("us-east-1".into())
            }
        );
        assert_eq!(
            SecretRef::parse(
                "arn:aws:ssm:us-east-1:123456789012:parameter/flat",
                Some("123456789012")
            ),
            SecretRef::Parameter {
                names: vec!["flat".into(), "/flat".into()],
                region: Some("us-east-1".into())
            }
        );
        let shared = "arn:aws:ssm:us-east-1:999999999999:parameter/shared/x";
        assert_eq!(
            SecretRef::parse(shared, Some("123456789012")),
            SecretRef::Parameter {
                names: vec![shared.into()],
                region: Some("us-east-1".into())
            }
        );
        assert_eq!(
            SecretRef::parse("/plog/db-url", None),
            SecretRef::Parameter {
                names: vec!["/plog/db-url".into()],
                region: None
            }
        );
        assert_eq!(
            SecretRef::parse("arn:aws:s3:::bucket/key", None),
            SecretRef::Unknown
        );
    }

    #[test]
    fn secrets_are_the_task_definitions_with_hoist_tomls_over_them() {
        let mut target = target();
        target.secrets = vec![
            (
                "DB_PASSWORD".into(),
                "arn:aws:ssm:ap-northeast-2:123456789012:parameter/plog/db".into(),
            ),
            ("API_KEY".into(), "/plog/api-key".into()),
        ];
        let mut td = task_definition();
        td["containerDefinitions"][1]["secrets"] =
            json!([{"name": "DD_API_KEY", "valueFrom": "/dd/key"}]);
        td["containerDefinitions"][1]["repositoryCredentials"] = json!({"credentialsParameter": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:hub-x"});
        let uses: Vec<(String, String, String)> = secret_uses(&td, &target)
            .into_iter()
            .map(|u| (u.container, u.name, u.value_from))
            .collect();
        assert_eq!(
            uses,
            [
                (
                    "plog-back",
                    "DB_PASSWORD",
                    "arn:aws:ssm:ap-northeast-2:123456789012:parameter/plog/db"
                ),
                ("plog-back", "API_KEY", "/plog/api-key"),
                ("datadog-agent", "DD_API_KEY", "/dd/key"),
                (
                    "datadog-agent",
                    "repositoryCredentials",
                    "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:hub-x"
                ),
            ]
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        );
    }

    #[test]
    fn missing_secrets_and_parameters_are_problems_unread_ones_are_not() {
        let missing = "arn:aws:ssm:ap-northeast-2:123456789012:parameter/plog/missing";
        let mut facts = facts();
        facts.target.as_mut().unwrap().secrets = vec![("EXTRA".into(), missing.into())];
        facts
            .secrets
            .insert(missing.into(), Ok(SecretState::Missing));
        facts.secrets.insert(DB.into(), Ok(SecretState::Deleted));
        let checks = run(&facts);
        let bad: Vec<&Check> = only(&checks, "secret")
            .into_iter()
            .filter(|c| c.status == CheckStatus::Problem)
            .collect();
        assert_eq!(bad.len(), 2, "{checks:#?}");
        assert!(bad[0].message.contains("scheduled for deletion"));
        assert_eq!(
            bad[1].message,
            format!("EXTRA (plog-back) {missing}: no such SSM parameter: the tasks would fail to start (ResourceInitializationError)")
        );
        facts.secrets.insert(
            DB.into(),
            Err("needs secretsmanager:DescribeSecret: AccessDeniedException".into()),
        );
        let checks = run(&facts);
        assert!(only(&checks, "secret")
            .iter()
            .any(|c| c.status == CheckStatus::CouldNotCheck
                && c.message
                    .ends_with("needs secretsmanager:DescribeSecret: AccessDeniedException")));
    }

    #[test]
    fn log_groups_must_exist_unless_created_at_first_start() {
        let mut facts = facts();
        facts.log_groups.insert(
            (Some("ap-northeast-2".into()), "/ecs/plog-api".into()),
            Ok(false),
        );
        let checks = run(&facts);
        assert!(problem(&checks, "log group")
            .message
            .starts_with("/ecs/plog-api in ap-northeast-2 (plog-back) does not exist"));
        facts.task_definition["containerDefinitions"][0]["logConfiguration"]["options"]
            ["awslogs-create-group"] = json!("true");
        let checks = run(&facts);
        assert!(only(&checks, "log group")[0]
            .message
            .contains("created at first start"));
        // Fargate wants a stream prefix.
        facts.task_definition["containerDefinitions"][0]["logConfiguration"]["options"]
            .as_object_mut()
            .unwrap()
            .remove("awslogs-stream-prefix");
        assert!(problem(&run(&facts), "log group")
            .message
            .contains("no awslogs-stream-prefix"));
    }

    #[test]
    fn a_load_balanced_service_needs_a_grace_period_and_a_fitting_target_group() {
        for grace in [None, Some(0)] {
            let checks = run(&behind_load_balancer(facts(), grace));
            assert!(problem(&checks, "grace period")
                .message
                .contains("ECS may stop tasks that fail health checks while the JVM starts"));
        }
        let mut facts = behind_load_balancer(facts(), Some(60));
        facts.target_groups.insert(
            TG.into(),
            Ok(Some(TargetGroupFacts {
                name: "plog-tg".into(),
                target_type: Some("instance".into()),
                health_check_port: Some("9999".into()),
                load_balancers: 0,
                ..TargetGroupFacts::default()
            })),
        );
        let bad = problem(&run(&facts), "target group").message.clone();
        assert!(
            bad.contains("attached to no load balancer")
                && bad.contains("needs target type ip")
                && bad.contains("health check goes to port 9999"),
            "{bad}"
        );
        facts.target_groups.insert(TG.into(), Ok(None));
        assert!(problem(&run(&facts), "target group")
            .message
            .ends_with("does not exist: ECS cannot register the tasks"));
    }

    #[test]
    fn the_report_counts_and_names_several_services() {
        let request = VerifyRequest {
            label: "dev".into(),
            cluster: "plog-cluster".into(),
            targets: Vec::new(),
            platforms: amd64(),
            platforms_from: PlatformsFrom::Build,
            image: None,
        };
        let checks = vec![
            Check::new("api", "platform", CheckStatus::Ok, "fine"),
            Check::new(
                "worker",
                "log group",
                CheckStatus::Problem,
                "/ecs/w does not exist",
            ),
            Check::new(
                "worker",
                "task role",
                CheckStatus::CouldNotCheck,
                "w (needs iam:GetRole: AccessDenied)",
            ),
        ];
        let report = VerifyReport::new(&request, checks);
        assert_eq!(
            report.summary(),
            "verify dev (plog-cluster): 1 ok, 1 problem, 1 could not check"
        );
        assert_eq!(
            report.problem_text(),
            "[worker] log group: /ecs/w does not exist"
        );
        assert_eq!(
            report.lines(),
            [
                "ok       [api] platform: fine",
                "problem  [worker] log group: /ecs/w does not exist",
                "could not check [worker] task role: w (needs iam:GetRole: AccessDenied)",
            ]
        );
        assert_eq!(report.unchecked_lines().len(), 1);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["checks"][2]["status"], "could-not-check");
        assert_eq!(json["couldNotCheck"], 1);
    }
}
