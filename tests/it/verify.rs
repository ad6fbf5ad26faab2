//! `hoist verify ENV` against the ECS emulator: a clean setup passes with
//! every line ok; each planted problem (platform, container, load-balancer
//! port, execution role, trust policy, secret, SSM parameter, log group,
//! grace period) is found, named on its line, and exits 2; SSM parameters
//! are looked up by name (DescribeParameters), never read; and `hoist ship`
//! refuses before it registers anything unless `--no-verify`.

use crate::support::cli::{hoist, Hoist};
use crate::support::denying::{denying_endpoint, Denying, Protocol};
use crate::support::ecs_emulator::{EcsEmulator, Seeded};
use crate::support::fixtures::boot3_layered;
use crate::support::registry::{Auth, TestRegistry};
use serde_json::Value;

const MISSING_PARAMETER: &str = "arn:aws:ssm:ap-northeast-2:123456789012:parameter/plog/missing";
const FLAGS_PARAMETER: &str = "arn:aws:ssm:ap-northeast-2:123456789012:parameter/plog/flags";
/// The secret as hoist.toml names it: a partial ARN (no random suffix).
const DB_SECRET: &str = "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:plog/db";

struct Setup {
    dir: tempfile::TempDir,
    emulator: EcsEmulator,
    seeded: Seeded,
}

impl Setup {
    /// The seeded emulator, an SSM parameter `/plog/flags`, and hoist.toml
    /// with `dev` (plog-api, hoist.toml's own secrets over the task
    /// definition's), `[image] to` set to `to` and `image_extra` spliced
    /// into `[image]`.
    fn new(to: &str, image_extra: &str, container: &str) -> Self {
        let emulator = EcsEmulator::start();
        let seeded = emulator.seed();
        emulator.boto3(
            "ssm",
            "client.put_parameter(Name='/plog/flags', Value='beta=on', Type='SecureString')",
        );
        let dir = tempfile::tempdir().unwrap();
        let setup = Self {
            dir,
            emulator,
            seeded,
        };
        setup.write_toml(to, image_extra, container, "");
        setup
    }

    fn write_toml(&self, to: &str, image_extra: &str, container: &str, more: &str) {
        let toml = format!(
            r#"[image]
from = "scratch"
to = "{to}"
{image_extra}

[env.dev]
cluster = "plog-cluster"
service = "plog-api"
container = "{container}"
tags = ["dev"]
secrets = {{ DB_PASSWORD = "{DB_SECRET}", FLAGS = "{FLAGS_PARAMETER}", FLAGS_BY_NAME = "/plog/flags" }}
{more}"#
        );
        std::fs::write(self.dir.path().join("hoist.toml"), toml).unwrap();
    }

    /// A load-balanced service `plog-lb` (on `task_definition`, else
    /// plog-api:1), and the environments `lb` (it alone) and `both` (it
    /// and plog-api).
    fn with_load_balanced_service(&self, task_definition: Option<&str>) {
        let mut seeded = self.seeded.clone();
        if let Some(arn) = task_definition {
            seeded.task_definition_arn = arn.to_string();
        }
        self.emulator
            .create_service_behind_load_balancer(&seeded, "plog-lb", "/actuator/health");
        self.write_toml(
            "registry.example/plog-back",
            "",
            "plog-back",
            r#"
[env.lb]
cluster = "plog-cluster"
service = "plog-lb"
container = "plog-back"

[env.both]
cluster = "plog-cluster"

[[env.both.targets]]
service = "plog-api"
container = "plog-back"

[[env.both.targets]]
service = "plog-lb"
container = "plog-back"
"#,
        );
    }

    fn hoist(&self, args: &[&str]) -> Hoist {
        self.emulator
            .aws(hoist().args(args).current_dir(self.dir.path()))
    }

    /// `hoist verify ENV`: exit code, stdout lines, stderr.
    fn verify(&self, env: &str) -> (Option<i32>, Vec<String>, String) {
        let (_, output) = self.hoist(&["verify", env]).output();
        let stdout = String::from_utf8(output.stdout).unwrap();
        (
            output.status.code(),
            stdout.lines().map(str::to_string).collect(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// A new revision of plog-api (the latest, `edit` applied to its
    /// `plog-back` container as Python on `c`), which the service plog-api
    /// is pointed at; its ARN.
    fn point_plog_api_at_revision(&self, edit: &str) -> String {
        let code = format!(
            "td = client.describe_task_definition(taskDefinition='plog-api')['taskDefinition']\n\
             c = [c for c in td['containerDefinitions'] if c['name'] == 'plog-back'][0]\n\
             {edit}\n\
             keep = ['family', 'taskRoleArn', 'executionRoleArn', 'networkMode', 'containerDefinitions', 'volumes', 'placementConstraints', 'requiresCompatibilities', 'cpu', 'memory', 'runtimePlatform']\n\
             arn = client.register_task_definition(**{{k: td[k] for k in keep if k in td}})['taskDefinition']['taskDefinitionArn']\n\
             client.update_service(cluster='plog-cluster', service='plog-api', taskDefinition=arn)\n\
             print(arn)"
        );
        self.emulator.boto3("ecs", &code).trim().to_string()
    }

    fn revisions(&self) -> usize {
        self.emulator
            .boto3(
                "ecs",
                "print(len(client.list_task_definitions(familyPrefix='plog-api')['taskDefinitionArns']))",
            )
            .trim()
            .parse()
            .unwrap()
    }
}

fn clean() -> Setup {
    Setup::new("registry.example/plog-back", "", "plog-back")
}

/// Exit 2, exactly one problem line, naming `what`; the error line on
/// stderr names it too.
#[track_caller]
fn assert_one_problem(setup: &Setup, env: &str, check: &str, what: &[&str]) -> String {
    let (code, lines, stderr) = setup.verify(env);
    assert_eq!(code, Some(2), "{lines:#?}\n{stderr}");
    let problems: Vec<&String> = lines.iter().filter(|l| l.starts_with("problem")).collect();
    assert_eq!(problems.len(), 1, "{lines:#?}");
    let line = problems[0];
    assert!(
        line.starts_with(&format!("problem  {check}: ")),
        "{line}\n{lines:#?}"
    );
    for part in what {
        assert!(line.contains(part), "{part:?} not in {line}");
    }
    // Besides it: only what a load-balanced service's speed lines say (no
    // start-up measured yet to weigh its health check against; ELB's
    // default deregistration delay).
    let count = |prefix: &str| lines.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(
        count("could not check"),
        count("could not check health check: "),
        "{lines:#?}"
    );
    let slow = match count("slow ") {
        0 => String::new(),
        n => format!(", {n} slow"),
    };
    let summary = format!(
        "1 problem, {} could not check{slow}",
        count("could not check")
    );
    assert!(
        lines.last().is_some_and(|l| l.ends_with(&summary)),
        "{summary}\n{lines:#?}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("{check}: ")) && stderr.contains("hint: fix it"),
        "{stderr}"
    );
    line.clone()
}

#[test]
fn a_clean_setup_passes_with_every_line_ok() {
    let setup = clean();
    let (code, lines, stderr) = setup.verify("dev");
    assert_eq!(code, Some(0), "{lines:#?}\n{stderr}");
    let (summary, checks) = lines.split_last().unwrap();
    assert!(
        checks.iter().all(|l| l.starts_with("ok       ")),
        "{lines:#?}"
    );
    for expected in [
        "ok       platform: linux/amd64 (the default) matches X86_64 (plog-api:1)",
        "ok       container: plog-back is in plog-api:1",
        "ok       execution role: ecsTaskExecutionRole exists and trusts ecs-tasks.amazonaws.com",
        "ok       task role: plog-api-task exists and trusts ecs-tasks.amazonaws.com",
        &format!("ok       secret: DB_PASSWORD (plog-back) {DB_SECRET}: found in Secrets Manager"),
        &format!(
            "ok       secret: FLAGS (plog-back) {FLAGS_PARAMETER}: found in SSM Parameter Store"
        ),
        "ok       secret: FLAGS_BY_NAME (plog-back) /plog/flags: found in SSM Parameter Store",
        "ok       log group: /ecs/plog-api in ap-northeast-2 (plog-back) exists",
        "ok       grace period: not load-balanced: none needed",
    ] {
        assert!(
            lines.iter().any(|l| l == expected),
            "{expected}\n{lines:#?}"
        );
    }
    assert_eq!(
        summary,
        &format!(
            "verify dev (plog-cluster): {} ok, 0 problems, 0 could not check",
            checks.len()
        )
    );
    assert!(!lines
        .iter()
        .any(|l| l.contains("plog-dev-db-password") || l.contains("beta=on")));

    // --json: the same checks as a report.
    let json = setup.hoist(&["verify", "dev", "--json"]).success();
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["env"], "dev");
    assert_eq!(report["problems"], 0);
    assert_eq!(report["platformsFrom"], "default");
    assert_eq!(report["ok"].as_u64(), Some(checks.len() as u64), "{report}");
    assert!(report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "ok" && c["service"] == "plog-api"));

    // A load-balanced service: its target group and grace period too; an
    // environment of two services names each on its lines.
    setup.with_load_balanced_service(None);
    let (code, lines, stderr) = setup.verify("lb");
    assert_eq!(code, Some(0), "{lines:#?}\n{stderr}");
    for expected in [
        "ok       container: the load balancer's port 8080 of plog-back is in its portMappings (plog-api:1)",
        "ok       grace period: 60 s before failed load-balancer health checks count (healthCheckGracePeriodSeconds)",
        "ok       target group: plog-lb-tg (ip, health check HTTP traffic-port /actuator/health) fits plog-back:8080",
    ] {
        assert!(lines.iter().any(|l| l == expected), "{expected}\n{lines:#?}");
    }
    let (code, lines, stderr) = setup.verify("both");
    assert_eq!(code, Some(0), "{lines:#?}\n{stderr}");
    assert!(lines
        .iter()
        .any(|l| l.starts_with("ok       [plog-api] platform: ")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("ok       [plog-lb] target group: ")));
}

#[test]
fn a_denied_read_could_not_be_checked_names_the_iam_action_and_never_blocks() {
    let registry = TestRegistry::start(Auth::None);
    let setup = Setup::new(&format!("{}/plog-back", registry.host), "", "plog-back");
    boot3_layered(&setup.dir.path().join("build/libs"));
    let iam = denying_endpoint("iam", Protocol::Query, 64);
    let (_, output) = setup
        .hoist(&["verify", "dev"])
        .env("AWS_ENDPOINT_URL_IAM", &iam)
        .output();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    for expected in [
        "could not check execution role: ecsTaskExecutionRole (needs iam:GetRole: AccessDenied)",
        "could not check task role: plog-api-task (needs iam:GetRole: AccessDenied)",
    ] {
        assert!(
            stdout.lines().any(|l| l == expected),
            "{expected}\n{stdout}"
        );
    }
    assert!(
        stdout.trim_end().ends_with("0 problems, 2 could not check"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("SdkBody") && !stdout.contains("ServiceError"),
        "{stdout}"
    );

    // ship says so, and goes on.
    let (_, output) = setup
        .hoist(&["ship", "dev", "--poll-interval", "20ms"])
        .env("AWS_ENDPOINT_URL_IAM", &iam)
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("could not check execution role: ecsTaskExecutionRole (needs iam:GetRole: AccessDenied)"),
        "{stderr}"
    );
    assert_eq!(setup.revisions(), 2);
}

#[test]
fn an_image_for_another_cpu_is_a_problem() {
    let setup = Setup::new(
        "registry.example/plog-back",
        "platforms = [\"linux/arm64\"]",
        "plog-back",
    );
    assert_one_problem(
        &setup,
        "dev",
        "platform",
        &[
            "linux/arm64 (as configured) does not match X86_64",
            "plog-api:1",
            "exec format error",
        ],
    );
}

#[test]
fn a_container_the_task_definition_lacks_is_a_problem() {
    let setup = Setup::new("registry.example/plog-back", "", "plog-bak");
    assert_one_problem(
        &setup,
        "dev",
        "container",
        &["no container \"plog-bak\" in plog-api:1 (its containers: plog-back, datadog-agent)"],
    );
}

#[test]
fn a_load_balancer_port_the_container_does_not_map_is_a_problem() {
    let setup = clean();
    let portless = setup.point_plog_api_at_revision("c['portMappings'] = []");
    setup.with_load_balanced_service(Some(&portless));
    assert_one_problem(
        &setup,
        "lb",
        "container",
        &[
            "the load balancer sends to plog-back port 8080",
            "plog-api:2 maps no such port",
            "portMappings containerPort: none",
        ],
    );
}

#[test]
fn a_missing_execution_role_is_a_problem() {
    let setup = clean();
    setup
        .emulator
        .boto3("iam", "client.delete_role(RoleName='ecsTaskExecutionRole')");
    assert_one_problem(
        &setup,
        "dev",
        "execution role",
        &["ecsTaskExecutionRole (arn:aws:iam::123456789012:role/ecsTaskExecutionRole) does not exist"],
    );
}

#[test]
fn a_trust_policy_without_ecs_tasks_is_a_problem() {
    let setup = clean();
    setup.emulator.boto3(
        "iam",
        "client.update_assume_role_policy(RoleName='ecsTaskExecutionRole', PolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 'ec2.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]}))",
    );
    assert_one_problem(
        &setup,
        "dev",
        "execution role",
        &["ecsTaskExecutionRole's trust policy does not let ecs-tasks.amazonaws.com sts:AssumeRole"],
    );
}

#[test]
fn a_missing_secret_is_a_problem() {
    let setup = clean();
    setup.emulator.boto3(
        "secretsmanager",
        "client.delete_secret(SecretId='plog/db', ForceDeleteWithoutRecovery=True)",
    );
    assert_one_problem(
        &setup,
        "dev",
        "secret",
        &[&format!(
            "DB_PASSWORD (plog-back) {DB_SECRET}: no such secret in Secrets Manager"
        )],
    );
}

#[test]
fn a_missing_ssm_parameter_is_a_problem() {
    let setup = clean();
    setup.point_plog_api_at_revision(&format!(
        "c['secrets'] = c.get('secrets', []) + [{{'name': 'FEATURE_KEY', 'valueFrom': '{MISSING_PARAMETER}'}}]"
    ));
    assert_one_problem(
        &setup,
        "dev",
        "secret",
        &[&format!(
            "FEATURE_KEY (plog-back) {MISSING_PARAMETER}: no such SSM parameter"
        )],
    );
}

#[test]
fn ssm_parameters_are_looked_up_by_name_and_never_read() {
    // DescribeParameters with a Name/Equals filter, as moto answers it: the
    // name, never the value.
    let setup = clean();
    let listed = setup.emulator.boto3(
        "ssm",
        "print(json.dumps(client.describe_parameters(ParameterFilters=[{'Key': 'Name', 'Option': 'Equals', 'Values': ['/plog/flags', 'plog/flags']}])['Parameters'], default=str))",
    );
    let listed: Value = serde_json::from_str(listed.trim()).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["Name"], "/plog/flags");
    assert!(listed[0].get("Value").is_none(), "{listed}");

    // Only DescribeParameters is asked, and a refusal names it.
    let ssm = Denying::start("ssm", Protocol::Json, 64);
    let (_, output) = setup
        .hoist(&["verify", "dev"])
        .env("AWS_ENDPOINT_URL_SSM", &ssm.url)
        .output();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    for expected in [
        format!("could not check secret: FLAGS (plog-back) {FLAGS_PARAMETER}: needs ssm:DescribeParameters: AccessDeniedException"),
        "could not check secret: FLAGS_BY_NAME (plog-back) /plog/flags: needs ssm:DescribeParameters: AccessDeniedException".to_string(),
    ] {
        assert!(stdout.lines().any(|l| l == expected), "{expected}\n{stdout}");
    }
    assert!(
        stdout.trim_end().ends_with("0 problems, 2 could not check"),
        "{stdout}"
    );
    let asked = ssm.asked();
    assert!(
        !asked.is_empty() && asked.iter().all(|a| a == "DescribeParameters"),
        "{asked:?}"
    );
}

#[test]
fn another_accounts_parameter_could_not_be_checked() {
    let setup = clean();
    let shared = "arn:aws:ssm:ap-northeast-2:999999999999:parameter/shared/flags";
    setup.point_plog_api_at_revision(&format!(
        "c['secrets'] = c.get('secrets', []) + [{{'name': 'SHARED', 'valueFrom': '{shared}'}}]"
    ));
    let (code, lines, stderr) = setup.verify("dev");
    assert_eq!(code, Some(0), "{lines:#?}\n{stderr}");
    let expected = format!(
        "could not check secret: SHARED (plog-back) {shared}: a parameter of account 999999999999, not the task definition's (123456789012): ssm:DescribeParameters does not list another account's parameters, and hoist reads no values"
    );
    assert!(lines.contains(&expected), "{lines:#?}");
    assert!(
        lines
            .last()
            .is_some_and(|l| l.ends_with("0 problems, 1 could not check")),
        "{lines:#?}"
    );
}

/// One-off tasks (`[[env.NAME.tasks]]`) are checked too, each on its
/// family's latest revision, on lines named `[task NAME]`.
#[test]
fn one_off_tasks_are_checked_on_their_familys_latest_revision() {
    let setup = clean();
    setup.emulator.boto3(
        "ecs",
        &format!(
            "td = client.describe_task_definition(taskDefinition='plog-api')['taskDefinition']\n\
             c = [c for c in td['containerDefinitions'] if c['name'] == 'plog-back'][0]\n\
             c['secrets'] = c.get('secrets', []) + [{{'name': 'MIGRATE_KEY', 'valueFrom': '{MISSING_PARAMETER}'}}]\n\
             td['family'] = 'plog-migrate'\n\
             keep = ['family', 'taskRoleArn', 'executionRoleArn', 'networkMode', 'containerDefinitions', 'requiresCompatibilities', 'cpu', 'memory', 'runtimePlatform']\n\
             client.register_task_definition(**{{k: td[k] for k in keep if k in td}})"
        ),
    );
    setup.write_toml(
        "registry.example/plog-back",
        "",
        "plog-back",
        r#"
[[env.dev.tasks]]
name = "db-migrate"
task-definition = "plog-migrate"
container = "plog-back"

[[env.dev.tasks]]
name = "gone"
task-definition = "plog-gone"
container = "plog-back"
"#,
    );
    let (code, lines, stderr) = setup.verify("dev");
    assert_eq!(code, Some(2), "{lines:#?}\n{stderr}");
    for expected in [
        "ok       [plog-api] platform: linux/amd64 (the default) matches X86_64 (plog-api:1)".to_string(),
        "ok       [task db-migrate] platform: linux/amd64 (the default) matches X86_64 (plog-migrate:1)".to_string(),
        "ok       [task db-migrate] container: plog-back is in plog-migrate:1".to_string(),
        "ok       [task db-migrate] execution role: ecsTaskExecutionRole exists and trusts ecs-tasks.amazonaws.com".to_string(),
        format!("ok       [task db-migrate] secret: FLAGS (plog-back) {FLAGS_PARAMETER}: found in SSM Parameter Store"),
        format!("problem  [task db-migrate] secret: MIGRATE_KEY (plog-back) {MISSING_PARAMETER}: no such SSM parameter: the tasks would fail to start (ResourceInitializationError)"),
        "ok       [task db-migrate] log group: /ecs/plog-api in ap-northeast-2 (plog-back) exists".to_string(),
        "problem  [task gone] task definition: no task definition family \"plog-gone\" (its task-definition): the release would stop before it updates any service".to_string(),
    ] {
        assert!(lines.contains(&expected), "{expected}\n{lines:#?}");
    }
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("[task db-migrate] grace period")
                || l.contains("[task db-migrate] target group")),
        "{lines:#?}"
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.ends_with("2 problems, 0 could not check")),
        "{lines:#?}"
    );
}

#[test]
fn a_missing_log_group_is_a_problem() {
    let setup = clean();
    setup.emulator.boto3(
        "logs",
        "client.delete_log_group(logGroupName='/ecs/plog-api')",
    );
    assert_one_problem(
        &setup,
        "dev",
        "log group",
        &["/ecs/plog-api in ap-northeast-2 (plog-back) does not exist"],
    );
}

#[test]
fn a_load_balanced_service_without_a_grace_period_is_a_problem() {
    let setup = clean();
    setup.with_load_balanced_service(None);
    setup.emulator.boto3(
        "ecs",
        "client.update_service(cluster='plog-cluster', service='plog-lb', healthCheckGracePeriodSeconds=0)",
    );
    assert_one_problem(
        &setup,
        "lb",
        "grace period",
        &["ECS may stop tasks that fail health checks while the JVM starts"],
    );
}

#[test]
fn ship_refuses_before_registering_anything_unless_no_verify() {
    let registry = TestRegistry::start(Auth::None);
    let setup = Setup::new(
        &format!("{}/plog-back", registry.host),
        "platforms = [\"linux/arm64\"]",
        "plog-back",
    );
    boot3_layered(&setup.dir.path().join("build/libs"));
    assert_eq!(setup.revisions(), 1);
    let stderr = setup
        .hoist(&["ship", "dev", "--poll-interval", "20ms"])
        .failure(2);
    let error = stderr
        .lines()
        .find(|l| l.starts_with("hoist: error:"))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    assert!(
        error.contains("1 problem")
            && error.contains("platform: linux/arm64 (as configured) does not match X86_64")
            && error.ends_with("(hint: fix it, or pass --no-verify)"),
        "{error}"
    );
    assert_eq!(setup.revisions(), 1, "nothing registered");
    assert_eq!(
        setup
            .emulator
            .update_service_calls("plog-cluster", "plog-api"),
        0
    );
    // Checked before the build: nothing was pushed either.
    assert_eq!(
        registry.requests("PUT", "/manifests/"),
        0,
        "{}",
        registry.log()
    );
    assert!(
        stderr.contains("problem  platform: linux/arm64 (as configured) does not match X86_64"),
        "each problem on its own line: {stderr}"
    );

    // --no-verify goes on.
    let report = setup
        .hoist(&["ship", "dev", "--poll-interval", "20ms", "--no-verify"])
        .report();
    assert_eq!(report["deploy"]["outcome"], "stable", "{report}");
    assert!(report.get("verify").is_none(), "{report}");
    assert_eq!(setup.revisions(), 2);

    // A clean setup ships, its checks in the report.
    setup.write_toml(&format!("{}/plog-back", registry.host), "", "plog-back", "");
    let report = setup
        .hoist(&["ship", "dev", "--poll-interval", "20ms"])
        .report();
    assert_eq!(report["deploy"]["outcome"], "stable", "{report}");
    assert_eq!(report["verify"]["problems"], 0, "{report}");
    assert!(report["verify"]["ok"].as_u64().unwrap() >= 7, "{report}");
    assert_eq!(setup.revisions(), 3);
}

#[test]
fn promote_checks_the_target_environment_before_it_copies_or_registers_anything() {
    let registry = TestRegistry::start(Auth::None);
    let setup = Setup::new(&format!("{}/plog-back", registry.host), "", "plog-back");
    setup.write_toml(
        &format!("{}/plog-back", registry.host),
        "",
        "plog-back",
        r#"
[env.prod]
cluster = "plog-prod"
service = "plog-api-prod"
container = "plog-back"
tags = ["prod"]
secrets = { API_KEY = "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:plog/prod-api-key" }
"#,
    );
    boot3_layered(&setup.dir.path().join("build/libs"));
    setup
        .hoist(&["ship", "dev", "--poll-interval", "20ms"])
        .success();
    let revisions = setup.revisions();
    let manifests = registry.requests("PUT", "/manifests/");
    let stderr = setup
        .hoist(&["promote", "dev", "prod", "--poll-interval", "20ms"])
        .failure(2);
    assert!(
        stderr.contains("problem  secret: API_KEY (plog-back)")
            && stderr.contains("no such secret in Secrets Manager"),
        "{stderr}"
    );
    assert!(
        stderr.contains("(hint: fix it, or pass --no-verify)"),
        "{stderr}"
    );
    assert_eq!(setup.revisions(), revisions, "nothing registered");
    assert_eq!(
        registry.requests("PUT", "/manifests/"),
        manifests,
        "nothing tagged or copied"
    );
    assert_eq!(
        setup
            .emulator
            .update_service_calls("plog-prod", "plog-api-prod"),
        0
    );
}
