//! moto_server with an ECS rollout emulator (`tests/support/ecs_emulator.py`)
//! on a free loopback port: every AWS API moto has (ECR, Secrets Manager,
//! EC2, ...) plus ECS services that roll out step by step, one step per
//! DescribeServices call. Image markers in a task definition choose the
//! rollout's fate (see the script's header for the full contract):
//!
//! * no marker: the new deployment's running count climbs by one per
//!   DescribeServices call while the old one drains; the call after it
//!   reaches desiredCount it is COMPLETED and alone (3rd call for 2 tasks);
//! * `fail-rollout`: one STOPPED task per call (exit code 137, OOM reason);
//!   the circuit breaker trips at 3 failed tasks (FAILED), then with
//!   rollback the service goes back to its previous task definition;
//! * `never-stable`: running stays at desiredCount - 1 forever;
//! * `throttle-N`: the first N DescribeServices calls after the update get
//!   HTTP 400 `ThrottlingException` (or `ECS_EMULATOR_THROTTLE_DESCRIBE=N`
//!   in the server's environment, through [`EcsEmulator::start_with_env`]);
//! * `exec-format`: like `fail-rollout`, but the container exits 255 and
//!   logs the one line `exec /opt/java/openjdk/bin/java: exec format error`;
//! * `pull-fails`: like `fail-rollout` (one failed task per call, the same
//!   circuit breaker and rollback), but the task never starts (ECS Developer
//!   Guide, "CannotPullContainer task errors" / "Stopped task error codes"):
//!   STOPPED, stopCode `TaskFailedToStart`, no `startedAt`, no exit codes,
//!   no logs, stoppedReason (also that container's reason)
//!   `CannotPullContainerError: pull image manifest has been retried 5
//!   time(s): failed to resolve ref IMAGE: failed to do request: Head
//!   "https://REGISTRY/v2/REPO/manifests/REF": dial tcp 10.0.0.1:443: i/o
//!   timeout`, from the container's image (the seeded image with
//!   `plog-back-pull-fails@` gives `REGISTRY` = the ECR host, `REPO` =
//!   `plog-back-pull-fails`, `REF` = the digest).
//!
//! Secrets are looked up whenever the emulator starts a service task
//! (CreateService, every rollout step, rollbacks, scale-outs): a
//! `secrets[].valueFrom` naming a Secrets Manager secret (full ARN, partial
//! ARN without the 6-character suffix, or the JSON-key form `ARN:key:stage:
//! version`) or an SSM parameter (ARN or bare name) that does not exist in
//! moto at that moment makes the task fail to start: stopCode
//! `TaskFailedToStart`, no `startedAt`, no exit codes, no logs, counted as a
//! failed task (circuit breaker and rollback as for `fail-rollout`); the
//! stoppedReason is `ResourceInitializationError: unable to pull secrets or
//! registry auth: execution resource retrieval failed: unable to retrieve
//! secret from asm: service call has been retried 1 time(s): failed to fetch
//! secret ARN from secrets manager: ResourceNotFoundException: Secrets
//! Manager can't find the specified secret.` (ARN without the JSON key), or
//! for SSM `...: unable to retrieve secrets from ssm: service call has been
//! retried 1 time(s): invalid parameters: NAMES` (the missing valueFroms,
//! `,`-joined). A new service whose secret is missing is not stable: its one
//! deployment stays IN_PROGRESS and tries one task per DescribeServices call
//! (FAILED at 3, nothing to roll back to). The seed creates `plog/db` before
//! the task definition and the services, so it is unaffected.
//!
//! The container environment variable `CRASH_ON_START` crashes the tasks as
//! `fail-rollout` does: `yes`/`true`/`1` (or empty) with exit code 0 for
//! every container, any other value with exit code 1 for its container and
//! that value as its last log line (e.g. `Caused by:
//! java.net.UnknownHostException: db.plog.internal`).
//!
//! Crashing tasks write their output to CloudWatch Logs (moto's logs
//! backend, so `logs:GetLogEvents` & co. answer it), as the awslogs driver
//! does (ECS Developer Guide, "Using the awslogs log driver"): group
//! `awslogs-group`, stream `PREFIX/CONTAINER/TASK-ID` (the seeded task:
//! group `/ecs/plog-api`, stream `plog-back/plog-back/TASK-ID`); a few
//! Spring Boot start-up lines, `... ERROR ... Application run failed`, then
//! the crash's own line (the `CRASH_ON_START` text, or `java.lang.
//! OutOfMemoryError: Java heap space` for `fail-rollout`; nothing more for
//! `CRASH_ON_START=yes`); containers that do not crash write the start-up
//! lines only, `exec-format` its one line only. Timestamps in
//! milliseconds, strictly increasing. When the group does not exist (and
//! `awslogs-create-group` is not `"true"`) the task stops before it runs
//! instead: stopCode `TaskFailedToStart`, stoppedReason
//! `ResourceInitializationError: failed to validate logger args: create
//! stream has been retried 1 times: failed to create Cloudwatch log stream:
//! ResourceNotFoundException: The specified log group does not exist. :
//! exit status 1`, no exit codes, no logs.
//!
//! Load-balanced services ([`EcsEmulator::create_service_behind_load_balancer`]):
//! every task the emulator starts is registered with the service's target
//! groups (its ENI's private IPv4 address, port = containerPort) and
//! deregistered when it stops; targets are healthy. A deployment whose task
//! definition has the container environment variable `HEALTH_CHECK_CODES`
//! (e.g. `404`) never gets healthy: its targets are `unhealthy`,
//! `Target.ResponseCodeMismatch`, `Health checks failed with these codes:
//! [404]` (API_TargetHealth.html); each DescribeServices call stops the task
//! started at the previous call (stopCode `ServiceSchedulerInitiated`,
//! stoppedReason `Task failed ELB health checks in (target-group ARN)`,
//! exit code 143, failedTasks + 1, deregistered; events `(service NAME)
//! (task ID) (port 8080) is unhealthy in (target-group NAME) due to (reason
//! Health checks failed with these codes: [404]).` and `(service NAME) has
//! stopped 1 running tasks: (task ID).`) and starts one more (registered,
//! unhealthy). The circuit breaker trips as for `fail-rollout` (3 failed
//! tasks; for desiredCount 2 on the 4th call), with the newest task still
//! registered and unhealthy and the earlier ones deregistered.
//!
//! [`EcsEmulator::start_plain_moto`] starts moto itself instead, with none
//! of the above.

#![allow(dead_code)]

use crate::support::cli::Hoist;
use crate::support::registry::free_port;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The image of `plog-back` in revision 1 of the seeded `plog-api` family.
pub const PLOG_BACK_IMAGE: &str = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/plog-back@sha256:abababababababababababababababababababababababababababababababab";

/// The ECR repository of `plog-back`, as the seeded task definition names it.
pub const PLOG_BACK_REPO: &str = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/plog-back";

/// A digest-pinned `plog-back` image (`sha256:` and 64 × `digest_char`);
/// a non-empty `marker` is appended to the repository name
/// (`plog-back-MARKER@…`) and steers the emulator (see the module header).
/// Each test file keeps its own `digest_char`, so their images differ.
pub fn marked_image(marker: &str, digest_char: char) -> String {
    let digest = format!("sha256:{}", digest_char.to_string().repeat(64));
    if marker.is_empty() {
        format!("{PLOG_BACK_REPO}@{digest}")
    } else {
        format!("{PLOG_BACK_REPO}-{marker}@{digest}")
    }
}

/// `COMMAND --cluster plog-cluster --service SERVICE`: the arguments of
/// `hoist status` or `hoist rollback` for `service` of `plog-cluster`.
pub fn service_args<'a>(command: &'a str, service: &'a str) -> [&'a str; 5] {
    [command, "--cluster", "plog-cluster", "--service", service]
}

/// The arguments of `hoist deploy` for `plog-back` in `service` of
/// `plog-cluster` to `image` (no wait or poll flags).
pub fn deploy_args<'a>(service: &'a str, image: &'a str) -> [&'a str; 9] {
    [
        "deploy",
        "--cluster",
        "plog-cluster",
        "--service",
        service,
        "--container",
        "plog-back",
        "--image",
        image,
    ]
}

/// A running emulator; stopped when dropped.
pub struct EcsEmulator {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The server's stderr (its request log and any traceback).
    log: tempfile::NamedTempFile,
}

/// What [`EcsEmulator::seed`] created.
#[derive(Clone, Debug)]
pub struct Seeded {
    /// `…:cluster/plog-cluster`.
    pub cluster_arn: String,
    /// `…:cluster/plog-prod`.
    pub prod_cluster_arn: String,
    /// `…:task-definition/plog-api:1`, used by both services.
    pub task_definition_arn: String,
    /// `…:service/plog-cluster/plog-api` (desiredCount 2, circuit breaker
    /// with rollback).
    pub service_arn: String,
    /// `…:service/plog-prod/plog-api-prod` (the same settings).
    pub prod_service_arn: String,
    /// The subnet both services' awsvpc configuration names.
    pub subnet_id: String,
    /// The security group both services' awsvpc configuration names.
    pub security_group_id: String,
    /// The Secrets Manager secret `plog/db` (its ARN as Secrets Manager made
    /// it, with the random 6-character suffix): `plog-back`'s `DB_PASSWORD`.
    pub db_secret_arn: String,
}

impl EcsEmulator {
    /// Starts the emulator and waits (30 s at most) until it accepts
    /// connections.
    pub fn start() -> Self {
        Self::start_with_env(&[])
    }

    /// Like [`start`](Self::start), with extra environment variables for the
    /// server (e.g. `ECS_EMULATOR_THROTTLE_DESCRIBE`).
    pub fn start_with_env(vars: &[(&str, &str)]) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/ecs_emulator.py");
        Self::spawn(&[script, "--port"], vars)
    }

    /// Plain, unpatched moto_server (`python3 -c "from moto.server import
    /// main; main()" -H 127.0.0.1 -p PORT`): what hoist meets in a user's
    /// own moto set-up. [`env`](Self::env), [`log`](Self::log),
    /// [`boto3`](Self::boto3) and [`seed`](Self::seed) work as with the
    /// emulator, but nothing of the rollout model does: no step-by-step
    /// deployments, no markers, no events, no service tasks (ListTasks is
    /// empty), no crash logs, no target registration; RunTask tasks advance
    /// on DescribeTasks by moto's own model. It runs with
    /// `MOTO_ECS_SERVICE_RUNNING=2`, moto's documented knob
    /// (docs.getmoto.org, ECS: "Set the environment variable
    /// MOTO_ECS_SERVICE_RUNNING to a number of running tasks you want ...
    /// Every describe_services() will return runningCount AND deployment of
    /// 2"), so a desiredCount-2 service has runningCount 2 and one PRIMARY
    /// deployment, COMPLETED, from the start. UpdateService changes the
    /// service's taskDefinition but not that deployment: it stays the only
    /// one, COMPLETED, on the old task definition. moto has no
    /// ListServiceDeployments, DescribeServiceDeployments or
    /// StopServiceDeployment: each answers HTTP 500 with Werkzeug's HTML
    /// "Internal Server Error" page (`Content-Type: text/html;
    /// charset=utf-8`), and the log gets `NotImplementedError: The
    /// list_service_deployments action has not been implemented` (resp.
    /// describe_/stop_).
    pub fn start_plain_moto() -> Self {
        Self::spawn(
            &[
                "-c",
                "from moto.server import main; main()",
                "-H",
                "127.0.0.1",
                "-p",
            ],
            &[("MOTO_ECS_SERVICE_RUNNING", "2")],
        )
    }

    /// `python3 ARGS... PORT` on a free port, with `vars`; waits (30 s at
    /// most) until it accepts connections.
    fn spawn(args: &[&str], vars: &[(&str, &str)]) -> Self {
        let port = free_port();
        let what = args.join(" ");
        let log = tempfile::NamedTempFile::new().expect("creating the emulator's log file");
        let stderr = log.reopen().expect("opening the emulator's log file");
        let mut command = Command::new("python3");
        command
            .args(args)
            .arg(port.to_string())
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr));
        for (key, value) in vars {
            command.env(key, value);
        }
        let child = command.spawn().unwrap_or_else(|e| {
            panic!("cannot start python3 {what} ({e}); it needs python3 with moto: pip install 'moto[server]'")
        });
        let mut emulator = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = emulator.child.try_wait() {
                panic!(
                    "the ECS emulator exited ({status}) before listening on port {port}; pip install 'moto[server]'?\n{}",
                    emulator.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the ECS emulator did not start on port {port} within 30 s:\n{}",
                emulator.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        emulator
    }

    /// The server's stderr so far: one line per request, and tracebacks of
    /// internal errors (HTTP 500s).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Environment for an AWS SDK client of this server: endpoint, dummy
    /// credentials, region `ap-northeast-2`, no instance metadata.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "ap-northeast-2".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// `command` with this server's AWS environment ([`env`](Self::env)) and
    /// no AWS config or credentials file (`AWS_CONFIG_FILE` and
    /// `AWS_SHARED_CREDENTIALS_FILE` are `/nonexistent`), so that nothing of
    /// the user's own AWS set-up is read.
    pub fn aws(&self, command: Hoist) -> Hoist {
        let mut command = command
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
        for (key, value) in self.env() {
            command = command.env(key, value);
        }
        command
    }

    /// Runs a Python snippet against this server and returns its stdout;
    /// panics with its stderr if it fails. In the snippet, `client` is
    /// `boto3.client(SERVICE, …)`, `client_for(name)` makes a client for
    /// another service, and `boto3` and `json` are imported.
    #[track_caller]
    pub fn boto3(&self, service: &str, code: &str) -> String {
        let script = format!(
            "import boto3, json\n\
             def client_for(name):\n    \
                 return boto3.client(name, endpoint_url='{endpoint}', region_name='ap-northeast-2', aws_access_key_id='testing', aws_secret_access_key='testing')\n\
             client = client_for('{service}')\n\
             {code}\n",
            endpoint = self.endpoint,
        );
        let output = Command::new("python3")
            .arg("-c")
            .arg(script)
            .output()
            .expect("running python3");
        assert!(
            output.status.success(),
            "boto3 snippet failed:\n{code}\n--- stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Creates the `plog` fixtures: clusters `plog-cluster` and `plog-prod`;
    /// a VPC, subnet and security group; the CloudWatch Logs group
    /// `/ecs/plog-api`; the IAM roles `ecsTaskExecutionRole` and
    /// `plog-api-task`, both assumable by `ecs-tasks.amazonaws.com`; the
    /// Secrets Manager secret `plog/db`; the Fargate task definition
    /// `plog-api:1` (awsvpc, cpu 512, memory 1024, those execution and task
    /// roles, runtimePlatform, tags; containers `plog-back` on
    /// [`PLOG_BACK_IMAGE`] with port 8080, environment, `DB_PASSWORD` from
    /// the secret's full ARN and awslogs to `/ecs/plog-api` with prefix
    /// `plog-back`, and the non-essential sidecar `datadog-agent`); and the
    /// services `plog-api` in `plog-cluster` and `plog-api-prod` in
    /// `plog-prod`, both on `plog-api:1`, desiredCount 2, FARGATE, circuit
    /// breaker with rollback, stable from the start. Works on
    /// [`start_plain_moto`](Self::start_plain_moto) too.
    pub fn seed(&self) -> Seeded {
        let out = self.boto3("ecs", &SEED.replace("@IMAGE@", PLOG_BACK_IMAGE));
        let v: serde_json::Value =
            serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("seed output {out:?}: {e}"));
        let get = |key: &str| {
            v[key]
                .as_str()
                .unwrap_or_else(|| panic!("seed output lacks {key}: {out}"))
                .to_string()
        };
        Seeded {
            cluster_arn: get("cluster_arn"),
            prod_cluster_arn: get("prod_cluster_arn"),
            task_definition_arn: get("task_definition_arn"),
            service_arn: get("service_arn"),
            prod_service_arn: get("prod_service_arn"),
            subnet_id: get("subnet_id"),
            security_group_id: get("security_group_id"),
            db_secret_arn: get("db_secret_arn"),
        }
    }

    /// Registers a new revision of `plog-api` (the latest one with the
    /// `plog-back` container's image replaced by `image`) and returns its
    /// ARN: a quick way to a revision carrying an image marker.
    pub fn register_plog_api(&self, image: &str) -> String {
        let code = format!(
            "td = client.describe_task_definition(taskDefinition='plog-api')['taskDefinition']\n\
             for c in td['containerDefinitions']:\n    \
                 if c['name'] == 'plog-back':\n        \
                     c['image'] = {image:?}\n\
             keep = ['family', 'taskRoleArn', 'executionRoleArn', 'networkMode', 'containerDefinitions', 'volumes', 'placementConstraints', 'requiresCompatibilities', 'cpu', 'memory', 'runtimePlatform']\n\
             out = client.register_task_definition(**{{k: td[k] for k in keep if k in td}})\n\
             print(out['taskDefinition']['taskDefinitionArn'])"
        );
        self.boto3("ecs", &code).trim().to_string()
    }
}

impl EcsEmulator {
    /// Creates another service on `plog-api:1` in `plog-cluster`, like the
    /// seeded one but with `deployment_configuration` (a Python literal,
    /// e.g. `{'strategy': 'BLUE_GREEN', 'bakeTimeInMinutes': 3}`).
    pub fn create_service(&self, seeded: &Seeded, name: &str, deployment_configuration: &str) {
        self.boto3(
            "ecs",
            &format!(
                "client.create_service(cluster='plog-cluster', serviceName='{name}', taskDefinition='{td}', \
                 desiredCount=2, launchType='FARGATE', platformVersion='LATEST', \
                 deploymentConfiguration={deployment_configuration}, \
                 networkConfiguration={{'awsvpcConfiguration': {{'subnets': ['{subnet}'], 'securityGroups': ['{sg}'], 'assignPublicIp': 'DISABLED'}}}})",
                td = seeded.task_definition_arn,
                subnet = seeded.subnet_id,
                sg = seeded.security_group_id,
            ),
        );
    }

    /// Creates an ECS service `name` on `plog-api:1` in `plog-cluster`
    /// behind an Application Load Balancer and returns its target group's
    /// ARN: the ALB `NAME-alb` in the seeded VPC (the seeded subnet and a
    /// second one), the target group `NAME-tg` (HTTP, port 8080, target type
    /// ip, health check path `health_check_path` on the traffic port,
    /// matcher 200), an HTTP listener on port 80 forwarding to it, and the
    /// service (`plog-back` on port 8080 in that target group,
    /// healthCheckGracePeriodSeconds 60, desiredCount 2, FARGATE, awsvpc as
    /// the seeded services, circuit breaker with rollback). Its two tasks
    /// are registered (healthy) when this returns.
    pub fn create_service_behind_load_balancer(
        &self,
        seeded: &Seeded,
        name: &str,
        health_check_path: &str,
    ) -> String {
        let code = LB_SERVICE
            .replace("@NAME@", name)
            .replace("@PATH@", health_check_path)
            .replace("@TD@", &seeded.task_definition_arn)
            .replace("@SUBNET@", &seeded.subnet_id)
            .replace("@SG@", &seeded.security_group_id);
        self.boto3("ecs", &code).trim().to_string()
    }

    /// Creates a CODE_DEPLOY service `name` on `plog-api:1` in
    /// `plog-cluster` behind a load balancer (`plog-back` on port 8080, two
    /// target groups), and its CodeDeploy application and deployment group
    /// under the console's names (`AppECS-plog-cluster-NAME`,
    /// `DgpECS-plog-cluster-NAME`), rolling back on DEPLOYMENT_FAILURE.
    pub fn create_codedeploy_service(&self, seeded: &Seeded, name: &str) {
        let code = format!(
            r#"
ec2 = client_for('ec2')
elb = client_for('elbv2')
cd = client_for('codedeploy')
vpc = ec2.describe_subnets(SubnetIds=['{subnet}'])['Subnets'][0]['VpcId']
other = ec2.create_subnet(VpcId=vpc, CidrBlock='10.20.2.0/24', AvailabilityZone='ap-northeast-2b')['Subnet']['SubnetId']
lb = elb.create_load_balancer(Name='{name}-lb', Subnets=['{subnet}', other])['LoadBalancers'][0]
tgs = [elb.create_target_group(Name='{name}-tg' + str(i), Protocol='HTTP', Port=8080, VpcId=vpc, TargetType='ip')['TargetGroups'][0] for i in (1, 2)]
listener = elb.create_listener(LoadBalancerArn=lb['LoadBalancerArn'], Protocol='HTTP', Port=80,
    DefaultActions=[{{'Type': 'forward', 'TargetGroupArn': tgs[0]['TargetGroupArn']}}])['Listeners'][0]
client.create_service(cluster='plog-cluster', serviceName='{name}', taskDefinition='{td}', desiredCount=2,
    launchType='FARGATE', deploymentController={{'type': 'CODE_DEPLOY'}},
    loadBalancers=[{{'targetGroupArn': tgs[0]['TargetGroupArn'], 'containerName': 'plog-back', 'containerPort': 8080}}],
    networkConfiguration={{'awsvpcConfiguration': {{'subnets': ['{subnet}'], 'securityGroups': ['{sg}'], 'assignPublicIp': 'DISABLED'}}}})
cd.create_application(applicationName='AppECS-plog-cluster-{name}', computePlatform='ECS')
cd.create_deployment_group(applicationName='AppECS-plog-cluster-{name}', deploymentGroupName='DgpECS-plog-cluster-{name}',
    serviceRoleArn='arn:aws:iam::123456789012:role/ecsCodeDeployRole',
    ecsServices=[{{'serviceName': '{name}', 'clusterName': 'plog-cluster'}}],
    deploymentStyle={{'deploymentType': 'BLUE_GREEN', 'deploymentOption': 'WITH_TRAFFIC_CONTROL'}},
    blueGreenDeploymentConfiguration={{
        'terminateBlueInstancesOnDeploymentSuccess': {{'action': 'TERMINATE', 'terminationWaitTimeInMinutes': 5}},
        'deploymentReadyOption': {{'actionOnTimeout': 'CONTINUE_DEPLOYMENT'}}}},
    loadBalancerInfo={{'targetGroupPairInfoList': [{{
        'targetGroups': [{{'name': '{name}-tg1'}}, {{'name': '{name}-tg2'}}],
        'prodTrafficRoute': {{'listenerArns': [listener['ListenerArn']]}}}}]}},
    autoRollbackConfiguration={{'enabled': True, 'events': ['DEPLOYMENT_FAILURE']}})
"#,
            td = seeded.task_definition_arn,
            subnet = seeded.subnet_id,
            sg = seeded.security_group_id,
        );
        self.boto3("ecs", &code);
    }

    /// The AppSpec of CodeDeploy deployment `id`, as CodeDeploy stored it
    /// (GetDeployment names its sha256; GetApplicationRevision gives the
    /// content).
    pub fn codedeploy_app_spec(&self, id: &str) -> serde_json::Value {
        let out = self.boto3(
            "codedeploy",
            &format!(
                "d = client.get_deployment(deploymentId='{id}')['deploymentInfo']\n\
                 rev = client.get_application_revision(applicationName=d['applicationName'], revision={{'revisionType': 'AppSpecContent', 'appSpecContent': {{'sha256': d['revision']['appSpecContent']['sha256']}}}})\n\
                 print(rev['revision']['appSpecContent']['content'])"
            ),
        );
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("AppSpec {out:?}: {e}"))
    }

    /// How many UpdateService calls named `cluster/service` so far (the
    /// emulator logs each one).
    pub fn update_service_calls(&self, cluster: &str, service: &str) -> usize {
        let needle = format!("emulator: UpdateService {cluster}/{service} ");
        self.log()
            .lines()
            .filter(|l| l.starts_with(&needle))
            .count()
    }

    /// The top-level field names of the registration body of `arn`, as sent.
    pub fn registered_fields(&self, arn: &str) -> Vec<String> {
        let needle = format!("emulator: RegisterTaskDefinition {arn} fields=");
        let line = self
            .log()
            .lines()
            .find(|l| l.starts_with(&needle))
            .unwrap_or_else(|| panic!("no registration of {arn} in the emulator's log"))
            .to_string();
        line[needle.len()..]
            .trim_matches(['[', ']'])
            .split(", ")
            .map(|f| f.trim_matches('\'').to_string())
            .collect()
    }

    /// The task definition ARN service `cluster/service` runs
    /// (DescribeServices).
    pub fn service_task_definition(&self, cluster: &str, service: &str) -> String {
        self.boto3(
            "ecs",
            &format!("print(client.describe_services(cluster='{cluster}', services=['{service}'])['services'][0]['taskDefinition'])"),
        )
        .trim()
        .to_string()
    }

    /// The status of a service deployment (DescribeServiceDeployments).
    pub fn service_deployment_status(&self, arn: &str) -> String {
        self.boto3(
            "ecs",
            &format!("print(client.describe_service_deployments(serviceDeploymentArns=['{arn}'])['serviceDeployments'][0]['status'])"),
        )
        .trim()
        .to_string()
    }
}

impl Drop for EcsEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The seeding snippet; `@IMAGE@` is [`PLOG_BACK_IMAGE`]. Plain boto3 calls
/// only: it runs on unpatched moto too (tests/support/test_ecs_emulator.py
/// runs it on both).
const SEED: &str = r#"
ec2 = client_for('ec2')
vpc = ec2.create_vpc(CidrBlock='10.20.0.0/16')['Vpc']['VpcId']
subnet = ec2.create_subnet(VpcId=vpc, CidrBlock='10.20.1.0/24', AvailabilityZone='ap-northeast-2a')['Subnet']['SubnetId']
sg = ec2.create_security_group(GroupName='plog-api', Description='plog-api tasks', VpcId=vpc)['GroupId']
dev = client.create_cluster(clusterName='plog-cluster')['cluster']['clusterArn']
prod = client.create_cluster(clusterName='plog-prod')['cluster']['clusterArn']
# The awslogs group plog-back names (the driver does not create it).
client_for('logs').create_log_group(logGroupName='/ecs/plog-api')
# The task execution role and the task role: both assumed by ECS tasks
# (DevGuide task_execution_IAM_role.html / task-iam-roles.html trust policy).
iam = client_for('iam')
trust = json.dumps({'Version': '2012-10-17', 'Statement': [{
    'Effect': 'Allow', 'Principal': {'Service': 'ecs-tasks.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]})
execution_role = iam.create_role(RoleName='ecsTaskExecutionRole', AssumeRolePolicyDocument=trust)['Role']['Arn']
task_role = iam.create_role(RoleName='plog-api-task', AssumeRolePolicyDocument=trust)['Role']['Arn']
# valueFrom is the ARN Secrets Manager answers (name plus a random suffix).
db_secret = client_for('secretsmanager').create_secret(Name='plog/db', SecretString='plog-dev-db-password')['ARN']
td = client.register_task_definition(
    family='plog-api',
    requiresCompatibilities=['FARGATE'],
    networkMode='awsvpc',
    cpu='512',
    memory='1024',
    executionRoleArn=execution_role,
    taskRoleArn=task_role,
    runtimePlatform={'cpuArchitecture': 'X86_64', 'operatingSystemFamily': 'LINUX'},
    tags=[{'key': 'app', 'value': 'plog'}, {'key': 'env', 'value': 'dev'}],
    containerDefinitions=[
        {
            'name': 'plog-back',
            'image': '@IMAGE@',
            'essential': True,
            'portMappings': [{'containerPort': 8080, 'hostPort': 8080, 'protocol': 'tcp'}],
            'environment': [
                {'name': 'SPRING_PROFILES_ACTIVE', 'value': 'dev'},
                {'name': 'JAVA_OPTS', 'value': '-Xmx512m'},
            ],
            'secrets': [
                {'name': 'DB_PASSWORD', 'valueFrom': db_secret},
            ],
            'logConfiguration': {
                'logDriver': 'awslogs',
                'options': {
                    'awslogs-group': '/ecs/plog-api',
                    'awslogs-region': 'ap-northeast-2',
                    'awslogs-stream-prefix': 'plog-back',
                },
            },
        },
        {
            'name': 'datadog-agent',
            'image': 'public.ecr.aws/datadog/agent:7',
            'essential': False,
            'environment': [{'name': 'ECS_FARGATE', 'value': 'true'}],
        },
    ],
)['taskDefinition']['taskDefinitionArn']

def service(cluster, name):
    return client.create_service(
        cluster=cluster,
        serviceName=name,
        taskDefinition=td,
        desiredCount=2,
        launchType='FARGATE',
        platformVersion='LATEST',
        deploymentConfiguration={
            'deploymentCircuitBreaker': {'enable': True, 'rollback': True},
            'maximumPercent': 200,
            'minimumHealthyPercent': 100,
        },
        networkConfiguration={'awsvpcConfiguration': {
            'subnets': [subnet], 'securityGroups': [sg], 'assignPublicIp': 'DISABLED',
        }},
    )['service']['serviceArn']

print(json.dumps({
    'cluster_arn': dev,
    'prod_cluster_arn': prod,
    'task_definition_arn': td,
    'service_arn': service('plog-cluster', 'plog-api'),
    'prod_service_arn': service('plog-prod', 'plog-api-prod'),
    'subnet_id': subnet,
    'security_group_id': sg,
    'db_secret_arn': db_secret,
}))
"#;

/// The snippet of [`EcsEmulator::create_service_behind_load_balancer`]
/// (`@NAME@`, `@PATH@`, `@TD@`, `@SUBNET@`, `@SG@`); prints the target
/// group's ARN. A second subnet of the VPC (for the ALB's two Availability
/// Zones) is reused if there is one.
const LB_SERVICE: &str = r#"
ec2 = client_for('ec2')
elb = client_for('elbv2')
vpc = ec2.describe_subnets(SubnetIds=['@SUBNET@'])['Subnets'][0]['VpcId']
others = [s['SubnetId'] for s in ec2.describe_subnets(Filters=[{'Name': 'vpc-id', 'Values': [vpc]}])['Subnets']
          if s['SubnetId'] != '@SUBNET@']
other = others[0] if others else ec2.create_subnet(
    VpcId=vpc, CidrBlock='10.20.3.0/24', AvailabilityZone='ap-northeast-2b')['Subnet']['SubnetId']
lb = elb.create_load_balancer(Name='@NAME@-alb', Subnets=['@SUBNET@', other], SecurityGroups=['@SG@'],
    Scheme='internal', Type='application')['LoadBalancers'][0]
tg = elb.create_target_group(Name='@NAME@-tg', Protocol='HTTP', Port=8080, VpcId=vpc, TargetType='ip',
    HealthCheckProtocol='HTTP', HealthCheckPort='traffic-port', HealthCheckPath='@PATH@',
    Matcher={'HttpCode': '200'})['TargetGroups'][0]['TargetGroupArn']
elb.create_listener(LoadBalancerArn=lb['LoadBalancerArn'], Protocol='HTTP', Port=80,
    DefaultActions=[{'Type': 'forward', 'TargetGroupArn': tg}])
client.create_service(cluster='plog-cluster', serviceName='@NAME@', taskDefinition='@TD@', desiredCount=2,
    launchType='FARGATE', platformVersion='LATEST', healthCheckGracePeriodSeconds=60,
    loadBalancers=[{'targetGroupArn': tg, 'containerName': 'plog-back', 'containerPort': 8080}],
    deploymentConfiguration={'deploymentCircuitBreaker': {'enable': True, 'rollback': True},
                             'maximumPercent': 200, 'minimumHealthyPercent': 100},
    networkConfiguration={'awsvpcConfiguration': {
        'subnets': ['@SUBNET@'], 'securityGroups': ['@SG@'], 'assignPublicIp': 'DISABLED'}})
print(tg)
"#;
