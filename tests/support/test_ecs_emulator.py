#!/usr/bin/env python3
"""Tests for tests/support/ecs_emulator.py (and the seed of ecs_emulator.rs),
through moto_server and boto3.

    python3 tests/support/test_ecs_emulator.py

Starts the patched server (the ECS emulator) on 127.0.0.1, a free port, and
for the seed also plain moto_server, and drives them with boto3 and, for
the answers plain moto gives to the calls it lacks, with raw HTTP requests.
The seeding snippets are read from ecs_emulator.rs, so there is one copy.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

HERE = Path(__file__).resolve().parent
REGION = "ap-northeast-2"
ACCOUNT = "123456789012"  # moto's default account
MAX_STEPS = 20  # DescribeServices calls any rollout here may take, at most
CLUSTER = "plog-cluster"
GROUP = "/ecs/plog-api"
CRASH_TEXT = "Caused by: java.net.UnknownHostException: db.plog.internal"
SECRET_ARN = re.compile(r"^arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:plog/db-[A-Za-z0-9]{6}$")
ECR = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
# What a task that cannot get its secrets says (ecs_emulator.py: ASM_MISSING_REASON, SSM_MISSING_REASON).
SECRETS_PREFIX = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "


def asm_missing(arn: str) -> str:
    return (SECRETS_PREFIX + "unable to retrieve secret from asm: service call has been retried 1 time(s): "
            f"failed to fetch secret {arn} from secrets manager: ResourceNotFoundException: "
            "Secrets Manager can't find the specified secret.")


def ssm_missing(names: str) -> str:
    return (SECRETS_PREFIX + "unable to retrieve secrets from ssm: service call has been retried 1 time(s): "
            f"invalid parameters: {names}")


def pull_timeout(image: str, registry: str, repo: str, ref: str) -> str:
    return ("CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref "
            f'{image}: failed to do request: Head "https://{registry}/v2/{repo}/manifests/{ref}": '
            "dial tcp 10.0.0.1:443: i/o timeout")

PATCHED = (
    "import sys; sys.path.insert(0, sys.argv[1]); import ecs_emulator; "
    "ecs_emulator.main(['-H', '127.0.0.1', '-p', sys.argv[2]])"
)
# As EcsEmulator::start_plain_moto starts it.
PLAIN = "from moto.server import main; main()"


def rust_str(name: str, raw: bool) -> str:
    """The Rust string constant `name` of ecs_emulator.rs."""
    source = (HERE / "ecs_emulator.rs").read_text()
    if raw:
        start = source.index(f'const {name}: &str = r#"') + len(f'const {name}: &str = r#"')
        return source[start : source.index('"#;', start)]
    m = re.search(rf'const {name}: &str = "([^"]*)";', source)
    return m.group(1)


SEED = rust_str("SEED", raw=True).replace("@IMAGE@", rust_str("PLOG_BACK_IMAGE", raw=False))
LB_SERVICE = rust_str("LB_SERVICE", raw=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process on a free loopback port; `args` end with the port."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        environment = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", PYTHONUNBUFFERED="1")
        environment.update(env or {})
        self.log = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(
            [sys.executable, *args, str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env=environment,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start listening within 30 s")

    @classmethod
    def patched(cls, env: dict[str, str] | None = None) -> "Server":
        return cls(["-c", PATCHED, str(HERE)], env)

    @classmethod
    def plain(cls) -> "Server":
        return cls(["-c", PLAIN, "-H", "127.0.0.1", "-p"], {"MOTO_ECS_SERVICE_RUNNING": "2"})

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def wait_for_output(self, text: str, seconds: float = 5) -> bool:
        """Whether `text` shows up in the server's stderr within `seconds`
        (werkzeug writes a traceback after the 500 went out)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if text in self.output():
                return True
            time.sleep(0.05)
        return text in self.output()

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}),
        )

    def snippet(self, service: str, code: str) -> str:
        """Runs `code` as EcsEmulator::boto3 does (client, client_for, boto3
        and json defined) and returns what it printed."""
        namespace = {"boto3": boto3, "json": json, "client_for": self.client, "client": self.client(service)}
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"<{service} snippet>", "exec"), namespace)
        return out.getvalue()

    def seed(self) -> dict:
        return json.loads(self.snippet("ecs", SEED))

    def raw_ecs(self, target: str, body: dict) -> tuple[int, str, str]:
        """An ECS call as bytes on the wire: (status, content type, body)."""
        request = urllib.request.Request(
            self.endpoint + "/",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": f"AmazonEC2ContainerServiceV20141113.{target}",
                "Authorization": (
                    f"AWS4-HMAC-SHA256 Credential=testing/20250101/{REGION}/ecs/aws4_request, "
                    "SignedHeaders=host;x-amz-target, Signature=0"
                ),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers.get("Content-Type", ""), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Content-Type", ""), error.read().decode()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


class SeedTest(unittest.TestCase):
    def check_seed(self, server: Server, seeded: dict) -> None:
        self.assertRegex(seeded["db_secret_arn"], SECRET_ARN)
        ecs = server.client("ecs")
        td = ecs.describe_task_definition(taskDefinition=seeded["task_definition_arn"])["taskDefinition"]
        back = next(c for c in td["containerDefinitions"] if c["name"] == "plog-back")
        self.assertEqual(back["secrets"], [{"name": "DB_PASSWORD", "valueFrom": seeded["db_secret_arn"]}])
        self.assertEqual(back["logConfiguration"]["options"]["awslogs-group"], GROUP)
        self.assertEqual(td["executionRoleArn"], f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole")
        self.assertEqual(td["taskRoleArn"], f"arn:aws:iam::{ACCOUNT}:role/plog-api-task")
        iam = server.client("iam")
        for name in ("ecsTaskExecutionRole", "plog-api-task"):
            policy = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
            if isinstance(policy, str):
                policy = json.loads(policy)
            (statement,) = policy["Statement"]
            self.assertEqual(statement["Principal"], {"Service": "ecs-tasks.amazonaws.com"})
            self.assertEqual(statement["Action"], "sts:AssumeRole")
            self.assertEqual(statement["Effect"], "Allow")
        groups = server.client("logs").describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]
        self.assertEqual([g["logGroupName"] for g in groups], [GROUP])
        secret = server.client("secretsmanager").describe_secret(SecretId="plog/db")
        self.assertEqual(secret["ARN"], seeded["db_secret_arn"])
        for key in ("cluster_arn", "prod_cluster_arn", "service_arn", "prod_service_arn", "subnet_id", "security_group_id"):
            self.assertTrue(seeded[key], key)

    def check_stable(self, server: Server, cluster: str, name: str) -> None:
        """The service is COMPLETED with 2 RUNNING tasks (its secret was
        found when CreateService started them)."""
        ecs = server.client("ecs")
        svc = ecs.describe_services(cluster=cluster, services=[name])["services"][0]
        self.assertEqual([(d["status"], d["rolloutState"], d["runningCount"]) for d in svc["deployments"]],
                         [("PRIMARY", "COMPLETED", 2)], name)
        arns = ecs.list_tasks(cluster=cluster, serviceName=name)["taskArns"]
        self.assertEqual(len(arns), 2, name)
        self.assertEqual(ecs.list_tasks(cluster=cluster, serviceName=name, desiredStatus="STOPPED")["taskArns"], [])

    def test_seed_on_the_emulator(self):
        server = Server.patched()
        try:
            self.check_seed(server, server.seed())
            self.check_stable(server, CLUSTER, "plog-api")
            self.check_stable(server, "plog-prod", "plog-api-prod")
        finally:
            server.stop()

    def test_demo_seed_on_the_emulator(self):
        """demo/demo.py seed (plog/db by its real ARN): the services are
        stable, and a new deployment of plog-api completes."""
        server = Server.patched()
        try:
            env = dict(os.environ, AWS_ENDPOINT_URL=server.endpoint, AWS_REGION=REGION,
                       AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
            subprocess.run([sys.executable, str(HERE.parent.parent / "demo" / "demo.py"), "seed"], env=env,
                           check=True, stdout=subprocess.DEVNULL, timeout=60)
            self.check_stable(server, CLUSTER, "plog-api")
            self.check_stable(server, "plog-prod", "plog-api-prod")
            ecs = server.client("ecs")
            ecs.update_service(cluster=CLUSTER, service="plog-api", forceNewDeployment=True)
            for _ in range(MAX_STEPS):
                svc = ecs.describe_services(cluster=CLUSTER, services=["plog-api"])["services"][0]
                if len(svc["deployments"]) == 1 and svc["deployments"][0]["rolloutState"] == "COMPLETED":
                    break
            else:
                self.fail(f"the deployment did not complete: {svc['deployments']}")
            self.assertEqual(svc["deployments"][0]["failedTasks"], 0)
        finally:
            server.stop()

    def test_seed_on_plain_moto_and_what_plain_moto_lacks(self):
        server = Server.plain()
        try:
            seeded = server.seed()
            self.check_seed(server, seeded)
            ecs = server.client("ecs")
            # MOTO_ECS_SERVICE_RUNNING=2: the desiredCount-2 service is done
            # from the start; no tasks, no events.
            svc = ecs.describe_services(cluster=CLUSTER, services=["plog-api"])["services"][0]
            self.assertEqual(svc["runningCount"], 2)
            self.assertEqual([(d["status"], d["rolloutState"]) for d in svc["deployments"]], [("PRIMARY", "COMPLETED")])
            self.assertEqual(svc["events"], [])
            self.assertEqual(ecs.list_tasks(cluster=CLUSTER, serviceName="plog-api")["taskArns"], [])
            # An update changes the service's task definition, not its one
            # deployment (still COMPLETED, on the old revision).
            td = ecs.describe_task_definition(taskDefinition=seeded["task_definition_arn"])["taskDefinition"]
            keep = ["family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions",
                    "requiresCompatibilities", "cpu", "memory", "runtimePlatform"]
            td2 = ecs.register_task_definition(**{k: td[k] for k in keep if k in td})["taskDefinition"]["taskDefinitionArn"]
            ecs.update_service(cluster=CLUSTER, service="plog-api", taskDefinition=td2)
            svc = ecs.describe_services(cluster=CLUSTER, services=["plog-api"])["services"][0]
            self.assertEqual(svc["taskDefinition"], td2)
            self.assertEqual([(d["rolloutState"], d["taskDefinition"], d["runningCount"]) for d in svc["deployments"]],
                             [("COMPLETED", seeded["task_definition_arn"], 2)])
            arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{CLUSTER}/plog-api/abc"
            for target, body in (
                ("ListServiceDeployments", {"cluster": CLUSTER, "service": "plog-api"}),
                ("DescribeServiceDeployments", {"serviceDeploymentArns": [arn]}),
                ("StopServiceDeployment", {"serviceDeploymentArn": arn, "stopType": "ROLLBACK"}),
            ):
                status, content_type, body = server.raw_ecs(target, body)
                self.assertEqual(status, 500, target)
                self.assertTrue(content_type.startswith("text/html"), content_type)
                self.assertIn("<title>500 Internal Server Error</title>", body)
                snake = re.sub(r"(?<!^)([A-Z])", r"_\1", target).lower()
                line = f"NotImplementedError: The {snake} action has not been implemented"
                self.assertTrue(server.wait_for_output(line), f"{line!r} not in {server.output()}")
        finally:
            server.stop()


class EcsEmulatorTest(unittest.TestCase):
    """One emulator, seeded once; every test makes its own services."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = Server.patched()
        cls.seeded = cls.server.seed()
        cls.ecs = cls.server.client("ecs")
        cls.logs = cls.server.client("logs")
        cls.elb = cls.server.client("elbv2")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    # --- helpers ---

    def register(self, image: str | None = None, env: dict | None = None, log_options: dict | None = None,
                 secrets: dict | None = None, other_env: dict | None = None) -> str:
        """A new revision of plog-api: plog-back with `image`, extra
        environment `env`, awslogs options updated by `log_options`, and
        `secrets` (name -> valueFrom) replacing or added to its secrets;
        the other containers with extra environment `other_env`."""
        td = self.ecs.describe_task_definition(taskDefinition=self.seeded["task_definition_arn"])["taskDefinition"]
        for c in td["containerDefinitions"]:
            if c["name"] != "plog-back":
                for name, value in (other_env or {}).items():
                    c.setdefault("environment", []).append({"name": name, "value": value})
                continue
            if image:
                c["image"] = image
            for name, value_from in (secrets or {}).items():
                c["secrets"] = [s for s in c["secrets"] if s["name"] != name] + [{"name": name, "valueFrom": value_from}]
            for name, value in (env or {}).items():
                c["environment"].append({"name": name, "value": value})
            if log_options:
                c["logConfiguration"]["options"].update(log_options)
        keep = ["family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions",
                "requiresCompatibilities", "cpu", "memory", "runtimePlatform"]
        return self.ecs.register_task_definition(**{k: td[k] for k in keep if k in td})["taskDefinition"]["taskDefinitionArn"]

    def service(self, name: str, td: str | None = None) -> dict:
        """A service like the seeded plog-api, on plog-api:1 (or `td`)."""
        return self.ecs.create_service(
            cluster=CLUSTER, serviceName=name, taskDefinition=td or self.seeded["task_definition_arn"], desiredCount=2,
            launchType="FARGATE", platformVersion="LATEST",
            deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                     "maximumPercent": 200, "minimumHealthyPercent": 100},
            networkConfiguration={"awsvpcConfiguration": {
                "subnets": [self.seeded["subnet_id"]], "securityGroups": [self.seeded["security_group_id"]],
                "assignPublicIp": "DISABLED"}},
        )["service"]

    def lb_service(self, name: str, path: str = "/actuator/health") -> str:
        code = (LB_SERVICE.replace("@NAME@", name).replace("@PATH@", path)
                .replace("@TD@", self.seeded["task_definition_arn"])
                .replace("@SUBNET@", self.seeded["subnet_id"]).replace("@SG@", self.seeded["security_group_id"]))
        return self.server.snippet("ecs", code).strip()

    def step(self, name: str) -> dict:
        return self.ecs.describe_services(cluster=CLUSTER, services=[name])["services"][0]

    def tasks(self, name: str, status: str) -> list[dict]:
        arns = self.ecs.list_tasks(cluster=CLUSTER, serviceName=name, desiredStatus=status)["taskArns"]
        if not arns:
            return []
        return self.ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"]

    def stopped_after_update(self, name: str, td: str) -> dict:
        """Updates `name` to `td`, takes one step, returns the stopped task."""
        self.ecs.update_service(cluster=CLUSTER, service=name, taskDefinition=td)
        self.step(name)
        (task,) = self.tasks(name, "STOPPED")
        return task

    def events(self, task: dict) -> list[dict]:
        task_id = task["taskArn"].rsplit("/", 1)[-1]
        stream = f"plog-back/plog-back/{task_id}"
        answer = self.logs.get_log_events(logGroupName=GROUP, logStreamName=stream, startFromHead=True)
        return answer["events"]

    def container(self, task: dict, name: str) -> dict:
        return next(c for c in task["containers"] if c["name"] == name)

    def assertIncreasingMillis(self, events: list[dict]) -> None:
        stamps = [e["timestamp"] for e in events]
        self.assertEqual(stamps, sorted(set(stamps)), "strictly increasing")
        for t in stamps:
            self.assertGreater(t, 1.6e12, "milliseconds since the epoch")

    def health(self, tg: str, ips: list[str] | None = None) -> dict[str, dict]:
        kwargs = {"Targets": [{"Id": ip, "Port": 8080} for ip in ips]} if ips else {}
        answer = self.elb.describe_target_health(TargetGroupArn=tg, **kwargs)["TargetHealthDescriptions"]
        return {d["Target"]["Id"]: d for d in answer}

    @staticmethod
    def ip(task: dict) -> str:
        for attachment in task["attachments"]:
            for detail in attachment["details"]:
                if detail["name"] == "privateIPv4Address":
                    return detail["value"]
        raise AssertionError(f"no IP in {task['attachments']}")

    # --- crashes and their logs ---

    def test_crash_on_start_with_a_message(self):
        self.service("crash-text")
        task = self.stopped_after_update("crash-text", self.register(env={"CRASH_ON_START": CRASH_TEXT}))
        self.assertEqual(task["stopCode"], "EssentialContainerExited")
        self.assertEqual(task["stoppedReason"], "Essential container in task exited")
        back = self.container(task, "plog-back")
        self.assertEqual(back["exitCode"], 1)
        self.assertNotIn("reason", back)
        self.assertEqual(self.container(task, "datadog-agent")["exitCode"], 0)
        events = self.events(task)
        self.assertGreater(len(events), 3, "start-up lines first")
        self.assertEqual(events[-1]["message"], CRASH_TEXT)
        self.assertIn("Application run failed", events[-2]["message"])
        self.assertIn("Starting", events[0]["message"])
        self.assertIncreasingMillis(events)
        started = task["startedAt"].timestamp() * 1000
        stopped = task["stoppedAt"].timestamp() * 1000
        self.assertTrue(started <= events[0]["timestamp"] and events[-1]["timestamp"] <= stopped)
        # datadog-agent logs nowhere: one stream only.
        streams = self.logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix="plog-back/")["logStreams"]
        self.assertIn(f"plog-back/plog-back/{task['taskArn'].rsplit('/', 1)[-1]}", [s["logStreamName"] for s in streams])
        self.assertFalse([s for s in streams if "datadog" in s["logStreamName"]])

    def test_crash_on_start_yes_keeps_its_contract(self):
        self.service("crash-yes")
        task = self.stopped_after_update("crash-yes", self.register(env={"CRASH_ON_START": "yes"}))
        self.assertEqual(task["stopCode"], "EssentialContainerExited")
        self.assertEqual([c["exitCode"] for c in task["containers"]], [0, 0])
        events = self.events(task)
        self.assertIn("Application run failed", events[-1]["message"])
        svc = self.step("crash-yes")
        self.assertEqual(svc["deployments"][0]["failedTasks"], 2)

    def test_a_missing_log_group_fails_the_task_before_it_starts(self):
        self.service("no-group")
        td = self.register(env={"CRASH_ON_START": CRASH_TEXT}, log_options={"awslogs-group": "/ecs/nowhere"})
        task = self.stopped_after_update("no-group", td)
        self.assertEqual(task["stopCode"], "TaskFailedToStart")
        self.assertTrue(task["stoppedReason"].startswith("ResourceInitializationError: failed to validate logger args: "))
        self.assertIn("The specified log group does not exist", task["stoppedReason"])
        self.assertNotIn("startedAt", task)
        for c in task["containers"]:
            self.assertNotIn("exitCode", c)
        self.assertEqual(self.logs.describe_log_groups(logGroupNamePrefix="/ecs/nowhere")["logGroups"], [])
        # It counts towards the circuit breaker like any task that failed to start.
        for _ in range(2):
            svc = self.step("no-group")
        failed = next(d for d in svc["deployments"] if d["taskDefinition"] == td)
        self.assertEqual(failed["rolloutState"], "FAILED")

        # awslogs-create-group "true": the driver makes the group.
        self.service("make-group")
        td = self.register(env={"CRASH_ON_START": CRASH_TEXT},
                           log_options={"awslogs-group": "/ecs/made", "awslogs-create-group": "true"})
        task = self.stopped_after_update("make-group", td)
        self.assertEqual(task["stopCode"], "EssentialContainerExited")
        stream = f"plog-back/plog-back/{task['taskArn'].rsplit('/', 1)[-1]}"
        events = self.logs.get_log_events(logGroupName="/ecs/made", logStreamName=stream, startFromHead=True)["events"]
        self.assertEqual(events[-1]["message"], CRASH_TEXT)

    def test_fail_rollout_is_killed_for_memory_and_its_log_just_stops(self):
        self.service("oom")
        image = self.seeded_image().replace("plog-back@", "plog-back-fail-rollout@")
        task = self.stopped_after_update("oom", self.register(image=image))
        back = self.container(task, "plog-back")
        self.assertEqual((back["exitCode"], back["reason"]), (137, "OutOfMemoryError: Container killed due to memory usage"))
        events = self.events(task)
        # Killed by the kernel: the log stops after the start-up lines.
        self.assertIn("Root WebApplicationContext: initialization completed", events[-1]["message"])
        self.assertFalse(any("Application run failed" in e["message"] for e in events))
        self.assertIncreasingMillis(events)

    def test_exec_format_error(self):
        self.service("exec-fmt")
        image = self.seeded_image().replace("plog-back@", "plog-back-exec-format@")
        task = self.stopped_after_update("exec-fmt", self.register(image=image))
        self.assertEqual(task["stopCode"], "EssentialContainerExited")
        back = self.container(task, "plog-back")
        self.assertEqual(back["exitCode"], 255)
        self.assertNotIn("reason", back)
        self.assertEqual([e["message"] for e in self.events(task)],
                         ["exec /opt/java/openjdk/bin/java: exec format error"])
        # A crash like the others: three of them trip the circuit breaker.
        for _ in range(2):
            svc = self.step("exec-fmt")
        self.assertEqual(svc["deployments"][1]["rolloutState"], "FAILED")
        self.assertEqual(svc["deployments"][1]["failedTasks"], 3)
        self.assertIn("rolling back", svc["deployments"][0]["rolloutStateReason"])

    def seeded_image(self) -> str:
        td = self.ecs.describe_task_definition(taskDefinition=self.seeded["task_definition_arn"])["taskDefinition"]
        return next(c["image"] for c in td["containerDefinitions"] if c["name"] == "plog-back")

    # --- tasks that never start: image pulls and secrets ---

    def assert_failed_to_start(self, task: dict, reason: str) -> None:
        """STOPPED before it ran, for `reason`: no startedAt, no exit code,
        no log stream."""
        self.assertEqual(task["lastStatus"], "STOPPED")
        self.assertEqual(task["stopCode"], "TaskFailedToStart")
        self.assertEqual(task["stoppedReason"], reason)
        self.assertNotIn("startedAt", task)
        for c in task["containers"]:
            self.assertNotIn("exitCode", c)
            self.assertEqual(c["lastStatus"], "STOPPED")
        task_id = task["taskArn"].rsplit("/", 1)[-1]
        streams = self.logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix="plog-back/")["logStreams"]
        self.assertFalse([s for s in streams if s["logStreamName"].endswith(task_id)], "nothing logged")

    def complete(self, name: str) -> dict:
        """Steps until `name` has one COMPLETED deployment."""
        for _ in range(MAX_STEPS):
            svc = self.step(name)
            if len(svc["deployments"]) == 1 and svc["deployments"][0].get("rolloutState") == "COMPLETED":
                return svc
        self.fail(f"{name} did not complete: {svc['deployments']}")

    def assert_rolled_back(self, name: str, td: str, reason: str) -> None:
        """After the first failed task of `td` (one step): the 2nd and 3rd
        fail too, the circuit breaker trips at 3 and rolls back to
        plog-api:1, which completes; the 3 tasks of `td` stopped for `reason`."""
        svc = self.step(name)
        self.assertEqual(svc["deployments"][0]["failedTasks"], 2)
        self.assertEqual(svc["deployments"][0]["rolloutState"], "IN_PROGRESS")
        svc = self.step(name)
        failed = next(d for d in svc["deployments"] if d["taskDefinition"] == td)
        self.assertEqual((failed["rolloutState"], failed["failedTasks"], failed["runningCount"]), ("FAILED", 3, 0))
        self.assertEqual(failed["rolloutStateReason"], "ECS deployment circuit breaker: tasks failed to start.")
        back = svc["deployments"][0]
        self.assertEqual(back["taskDefinition"], self.seeded["task_definition_arn"])
        self.assertIn("circuit breaker: rolling back to deploymentId", back["rolloutStateReason"])
        self.assertEqual(svc["taskDefinition"], self.seeded["task_definition_arn"])
        messages = [e["message"] for e in svc["events"]]
        self.assertIn(f"(service {name}) (deployment {failed['id']}) deployment failed: tasks failed to start.", messages)
        svc = self.complete(name)
        self.assertEqual(svc["deployments"][0]["taskDefinition"], self.seeded["task_definition_arn"])
        running = self.tasks(name, "RUNNING")
        self.assertEqual({t["taskDefinitionArn"] for t in running}, {self.seeded["task_definition_arn"]})
        self.assertEqual(len(running), 2, "the old tasks kept running")
        stopped = [t for t in self.tasks(name, "STOPPED") if t["taskDefinitionArn"] == td]
        self.assertEqual(len(stopped), 3)
        for task in stopped:
            self.assert_failed_to_start(task, reason)

    def test_an_image_pull_that_times_out(self):
        self.service("pull-fail")
        image = self.seeded_image().replace("plog-back@", "plog-back-pull-fails@")
        td = self.register(image=image)
        task = self.stopped_after_update("pull-fail", td)
        digest = image.split("@", 1)[1]
        reason = pull_timeout(image, ECR, "plog-back-pull-fails", digest)
        self.assert_failed_to_start(task, reason)
        self.assertEqual(self.container(task, "plog-back")["reason"], reason)
        self.assertNotIn("reason", self.container(task, "datadog-agent"))
        running = self.tasks("pull-fail", "RUNNING")
        self.assertEqual({t["taskDefinitionArn"] for t in running}, {self.seeded["task_definition_arn"]})
        self.assertEqual(len(running), 2, "the old deployment keeps running")
        self.assert_rolled_back("pull-fail", td, reason)

    def test_a_missing_secret_fails_the_task_before_it_starts(self):
        self.service("no-secret")
        missing = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:plog/missing"
        td = self.register(secrets={"API_KEY": missing})
        task = self.stopped_after_update("no-secret", td)
        self.assert_failed_to_start(task, asm_missing(missing))
        for c in task["containers"]:
            self.assertNotIn("reason", c)
        self.assertNotIn("pullStartedAt", task)
        self.assert_rolled_back("no-secret", td, asm_missing(missing))

    def test_a_missing_ssm_parameter_fails_the_task_before_it_starts(self):
        self.service("no-param")
        arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/plog/missing"
        td = self.register(secrets={"FEATURE_KEY": arn, "OTHER_KEY": "/plog/also-missing"})
        reason = ssm_missing(f"{arn},/plog/also-missing")
        task = self.stopped_after_update("no-param", td)
        self.assert_failed_to_start(task, reason)
        self.assert_rolled_back("no-param", td, reason)

    def test_which_secret_references_are_found(self):
        ssm = self.server.client("ssm")
        ssm.put_parameter(Name="/plog/flags", Value="beta=on", Type="SecureString")
        ssm.put_parameter(Name="toplevel", Value="x", Type="String")
        full = self.seeded["db_secret_arn"]
        partial = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:plog/db"
        missing = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:plog/missing"
        parameter = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"
        found = [
            partial,  # a partial ARN (no random suffix), as ECS accepts it (tests/it/ship.rs)
            f"{full}:password::",  # JSON key, default stage and version
            f"{partial}:password:AWSCURRENT:",  # partial ARN with a JSON key and a version stage
            f"{full}::AWSCURRENT:",
            f"{parameter}/plog/flags",
            "/plog/flags",  # a bare name: SSM, the task's region
            f"{parameter}/toplevel",
        ]
        for n, value_from in enumerate(found):
            with self.subTest(value_from=value_from):
                name = f"found-{n}"
                self.service(name)
                td = self.register(secrets={"DB_PASSWORD": value_from})
                self.ecs.update_service(cluster=CLUSTER, service=name, taskDefinition=td)
                svc = self.complete(name)
                self.assertEqual((svc["deployments"][0]["taskDefinition"], svc["deployments"][0]["failedTasks"]), (td, 0))
                self.assertEqual(self.tasks(name, "STOPPED")[0]["stopCode"], "ServiceSchedulerInitiated")
        not_found = [
            (full[:-6] + "ZZZZZZ", asm_missing(full[:-6] + "ZZZZZZ")),  # a full ARN with another suffix
            (f"{missing}:password::", asm_missing(missing)),  # named without its JSON key
            (partial.replace(REGION, "us-east-1"), asm_missing(partial.replace(REGION, "us-east-1"))),
            ("/plog/nope", ssm_missing("/plog/nope")),
        ]
        for n, (value_from, reason) in enumerate(not_found):
            with self.subTest(value_from=value_from):
                name = f"not-found-{n}"
                self.service(name)
                task = self.stopped_after_update(name, self.register(secrets={"DB_PASSWORD": value_from}))
                self.assert_failed_to_start(task, reason)

    def test_a_secret_created_during_the_rollout(self):
        self.service("later")
        arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:plog/later"
        td = self.register(secrets={"LATER": arn})
        self.assert_failed_to_start(self.stopped_after_update("later", td), asm_missing(arn))
        # Checked at each task start: from now on they start.
        self.server.client("secretsmanager").create_secret(Name="plog/later", SecretString="x")
        svc = self.complete("later")
        self.assertEqual((svc["deployments"][0]["taskDefinition"], svc["deployments"][0]["failedTasks"]), (td, 1))

    def test_create_service_with_a_missing_secret(self):
        arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:plog/not-yet"
        td = self.register(secrets={"NOT_YET": arn})
        created = self.service("not-yet", td)
        (deployment,) = created["deployments"]
        self.assertEqual((deployment["rolloutState"], deployment["runningCount"], deployment["pendingCount"]),
                         ("IN_PROGRESS", 0, 2))
        self.assertEqual(self.tasks("not-yet", "RUNNING"), [])
        for n in range(1, 4):
            svc = self.step("not-yet")
            (deployment,) = svc["deployments"]
            self.assertEqual((deployment["failedTasks"], deployment["runningCount"]), (n, 0))
        # Nothing to roll back to: it stays the PRIMARY, FAILED, and nothing moves any more.
        self.assertEqual((deployment["status"], deployment["rolloutState"]), ("PRIMARY", "FAILED"))
        self.assertEqual(self.step("not-yet")["deployments"][0]["failedTasks"], 3)
        stopped = self.tasks("not-yet", "STOPPED")
        self.assertEqual(len(stopped), 3)
        for task in stopped:
            self.assert_failed_to_start(task, asm_missing(arn))

        # Created before the secret exists, created after it: stable at once.
        self.server.client("secretsmanager").create_secret(Name="plog/not-yet", SecretString="x")
        created = self.service("now-there", td)
        self.assertEqual([(d["rolloutState"], d["runningCount"]) for d in created["deployments"]], [("COMPLETED", 2)])

    def test_a_scale_out_without_its_secret(self):
        secrets = self.server.client("secretsmanager")
        arn = secrets.create_secret(Name="plog/scale", SecretString="x")["ARN"]
        td = self.register(secrets={"SCALE": arn})
        self.service("scale", td)
        secrets.delete_secret(SecretId="plog/scale", ForceDeleteWithoutRecovery=True)
        self.ecs.update_service(cluster=CLUSTER, service="scale", desiredCount=3)
        (deployment,) = self.step("scale")["deployments"]
        self.assertEqual((deployment["rolloutState"], deployment["runningCount"], deployment["failedTasks"]),
                         ("COMPLETED", 2, 1))
        (task,) = self.tasks("scale", "STOPPED")
        self.assert_failed_to_start(task, asm_missing(arn))

    def test_a_missing_secret_behind_a_load_balancer(self):
        tg = self.lb_service("lb-secret")
        old = {self.ip(t) for t in self.tasks("lb-secret", "RUNNING")}
        arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/plog/lb-missing"
        td = self.register(env={"HEALTH_CHECK_CODES": "404"}, secrets={"LB": arn})
        self.ecs.update_service(cluster=CLUSTER, service="lb-secret", taskDefinition=td)
        for _ in range(3):
            svc = self.step("lb-secret")
        failed = next(d for d in svc["deployments"] if d["taskDefinition"] == td)
        self.assertEqual((failed["rolloutState"], failed["failedTasks"]), ("FAILED", 3))
        self.assertEqual(set(self.health(tg)), old, "never registered")
        for task in [t for t in self.tasks("lb-secret", "STOPPED") if t["taskDefinitionArn"] == td]:
            self.assert_failed_to_start(task, ssm_missing(arn))

    # --- load balancer targets ---

    def test_unhealthy_targets_fail_the_deployment_and_roll_it_back(self):
        tg = self.lb_service("lb-bad", "/actuator/health")
        svc = self.step("lb-bad")
        self.assertEqual(svc["healthCheckGracePeriodSeconds"], 60)
        self.assertEqual(svc["loadBalancers"][0]["targetGroupArn"], tg)
        old = {self.ip(t) for t in self.tasks("lb-bad", "RUNNING")}
        self.assertEqual(len(old), 2)
        self.assertEqual({ip: d["TargetHealth"]["State"] for ip, d in self.health(tg).items()},
                         {ip: "healthy" for ip in old})
        group = self.elb.describe_target_groups(TargetGroupArns=[tg])["TargetGroups"][0]
        self.assertEqual((group["HealthCheckPath"], group["HealthCheckPort"], group["Matcher"]["HttpCode"]),
                         ("/actuator/health", "traffic-port", "200"))

        bad = self.register(env={"HEALTH_CHECK_CODES": "404"})
        self.ecs.update_service(cluster=CLUSTER, service="lb-bad", taskDefinition=bad)
        started = []  # the IP of each new task, step by step
        for n in range(1, 4):
            svc = self.step("lb-bad")
            primary = svc["deployments"][0]
            self.assertEqual(primary["taskDefinition"], bad)
            self.assertEqual(primary["rolloutState"], "IN_PROGRESS")
            self.assertEqual(primary["failedTasks"], n - 1)
            new = [t for t in self.tasks("lb-bad", "RUNNING") if t["taskDefinitionArn"] == bad]
            self.assertEqual(len(new), 1, "one new task at a time")
            started.append(self.ip(new[0]))
            health = self.health(tg)
            self.assertEqual(set(health), old | {started[-1]}, "the old tasks keep serving")
            target = health[started[-1]]["TargetHealth"]
            self.assertEqual(target, {"State": "unhealthy", "Reason": "Target.ResponseCodeMismatch",
                                      "Description": "Health checks failed with these codes: [404]"})
        stopped = [t for t in self.tasks("lb-bad", "STOPPED") if t["taskDefinitionArn"] == bad]
        self.assertEqual(len(stopped), 2)
        for task in stopped:
            self.assertEqual(task["stopCode"], "ServiceSchedulerInitiated")
            self.assertEqual(task["stoppedReason"], f"Task failed ELB health checks in (target-group {tg})")
            self.assertEqual(self.container(task, "plog-back")["exitCode"], 143)
        first_id = next(t for t in stopped if self.ip(t) == started[0])["taskArn"].rsplit("/", 1)[-1]
        messages = [e["message"] for e in svc["events"]]
        self.assertIn(f"(service lb-bad) (task {first_id}) (port 8080) is unhealthy in (target-group lb-bad-tg) "
                      "due to (reason Health checks failed with these codes: [404]).", messages)
        self.assertIn(f"(service lb-bad) has stopped 1 running tasks: (task {first_id}).", messages)

        # 4th step: the third failure trips the breaker; the newest task is
        # still registered (unhealthy), the earlier ones are not.
        svc = self.step("lb-bad")
        failed = next(d for d in svc["deployments"] if d["taskDefinition"] == bad)
        self.assertEqual((failed["rolloutState"], failed["failedTasks"]), ("FAILED", 3))
        self.assertEqual(failed["rolloutStateReason"], "ECS deployment circuit breaker: tasks failed to start.")
        self.assertEqual(svc["deployments"][0]["taskDefinition"], self.seeded["task_definition_arn"])
        self.assertEqual(svc["taskDefinition"], self.seeded["task_definition_arn"])
        newest = [self.ip(t) for t in self.tasks("lb-bad", "RUNNING") if t["taskDefinitionArn"] == bad]
        self.assertEqual(len(newest), 1)
        health = self.health(tg)
        self.assertEqual(health[newest[0]]["TargetHealth"]["State"], "unhealthy")
        for ip in started:
            self.assertNotIn(ip, health)
        for ip, d in self.health(tg, started).items():
            self.assertEqual((d["TargetHealth"]["State"], d["TargetHealth"]["Reason"]), ("unused", "Target.NotRegistered"))

        # The rollback deployment completes; only its healthy tasks remain.
        for _ in range(MAX_STEPS):
            svc = self.step("lb-bad")
            if len(svc["deployments"]) == 1 and svc["deployments"][0]["rolloutState"] == "COMPLETED":
                break
        else:
            self.fail(f"the rollback did not complete: {svc['deployments']}")
        running = {self.ip(t) for t in self.tasks("lb-bad", "RUNNING")}
        self.assertEqual(len(running), 2)
        self.assertEqual({ip: d["TargetHealth"]["State"] for ip, d in self.health(tg).items()},
                         {ip: "healthy" for ip in running})

    def test_a_healthy_deployment_replaces_the_targets(self):
        tg = self.lb_service("lb-good")
        old = {self.ip(t) for t in self.tasks("lb-good", "RUNNING")}
        td = self.register(env={"FEATURE": "on"})
        self.ecs.update_service(cluster=CLUSTER, service="lb-good", taskDefinition=td)
        for _ in range(MAX_STEPS):
            svc = self.step("lb-good")
            if svc["deployments"][0]["rolloutState"] == "COMPLETED":
                break
        else:
            self.fail(f"the deployment did not complete: {svc['deployments']}")
        self.assertEqual(len(svc["deployments"]), 1)
        new = {self.ip(t) for t in self.tasks("lb-good", "RUNNING")}
        self.assertEqual(len(new), 2)
        self.assertFalse(new & old)
        health = self.health(tg)
        self.assertEqual({ip: d["TargetHealth"] for ip, d in health.items()},
                         {ip: {"State": "healthy"} for ip in new})
        self.assertEqual({d["Target"]["Port"] for d in health.values()}, {8080})
        for d in self.health(tg, sorted(old)).values():
            self.assertEqual(d["TargetHealth"]["State"], "unused")
        # HEALTH_CHECK_CODES means nothing without a load balancer.
        self.service("no-lb")
        self.ecs.update_service(cluster=CLUSTER, service="no-lb", taskDefinition=self.register(env={"HEALTH_CHECK_CODES": "404"}))
        states = [self.step("no-lb")["deployments"][0].get("rolloutState") for _ in range(3)]
        self.assertEqual(states[-1], "COMPLETED")


    # --- the time a rollout takes, on the emulator's clock ---

    @staticmethod
    def seconds(start, end) -> float:
        """Seconds from one timestamp boto3 parsed to another."""
        return (end - start).total_seconds()

    def assert_started_in(self, task: dict, pull: float) -> None:
        """API_Task.html stamps of a task that started: 2 s of provisioning,
        `pull` seconds of image pull, 1 s to start; connected as it started."""
        self.assertEqual(task["lastStatus"], "RUNNING" if task["desiredStatus"] == "RUNNING" else "STOPPED")
        self.assertEqual(self.seconds(task["createdAt"], task["pullStartedAt"]), 2)
        self.assertEqual(self.seconds(task["pullStartedAt"], task["pullStoppedAt"]), pull)
        self.assertEqual(self.seconds(task["pullStoppedAt"], task["startedAt"]), 1)
        self.assertEqual(task["connectivityAt"], task["startedAt"])

    def test_a_load_balanced_rollout_takes_its_time(self):
        """Health check every 10 s, 3 to be healthy, a 30 s deregistration
        delay, a 7 s pull and a 12 s start-up: each new task counts 42 s
        after it started, each old one drains for 30 s, and no test waits."""
        wall = time.monotonic()
        tg = self.lb_service("lb-clock")
        self.elb.modify_target_group(TargetGroupArn=tg, HealthCheckIntervalSeconds=10, HealthyThresholdCount=3)
        self.elb.modify_target_group_attributes(
            TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}])
        group = self.elb.describe_target_groups(TargetGroupArns=[tg])["TargetGroups"][0]
        self.assertEqual((group["HealthCheckIntervalSeconds"], group["HealthyThresholdCount"]), (10, 3))
        attributes = self.elb.describe_target_group_attributes(TargetGroupArn=tg)["Attributes"]
        self.assertIn({"Key": "deregistration_delay.timeout_seconds", "Value": "30"}, attributes)
        created = self.step("lb-clock")
        (old_deployment,) = created["deployments"]
        old = self.tasks("lb-clock", "RUNNING")
        for task in old:
            self.assert_started_in(task, 3)  # CreateService's: the default pull
        # Registered as they started, together (the default health check:
        # 30 s x 5 after an 8 s start-up before the service was steady).
        messages = {e["message"]: e["createdAt"] for e in created["events"]}
        self.assertEqual(messages[f"(service lb-clock) registered 2 targets in (target-group {tg})"], old[0]["startedAt"])
        self.assertGreaterEqual(self.seconds(old[0]["startedAt"], old_deployment["updatedAt"]), 8 + 150)

        td = self.register(env={"EMULATOR_PULL_SECONDS": "7", "EMULATOR_STARTUP_SECONDS": "12"})
        self.ecs.update_service(cluster=CLUSTER, service="lb-clock", taskDefinition=td)
        svc = self.step("lb-clock")
        primary = svc["deployments"][0]
        (first,) = [t for t in self.tasks("lb-clock", "RUNNING") if t["taskDefinitionArn"] == td]
        self.assertGreaterEqual(self.seconds(primary["createdAt"], first["createdAt"]), 0)
        # It counted once healthy: the step took the deployment there.
        self.assertEqual(self.seconds(first["startedAt"], primary["updatedAt"]), 12 + 10 * 3)
        self.assertEqual(primary["runningCount"], 1)
        svc = self.complete("lb-clock")
        done = svc["deployments"][0]
        self.assertEqual(done["id"], primary["id"])

        new = self.tasks("lb-clock", "RUNNING")
        self.assertEqual({t["taskDefinitionArn"] for t in new}, {td})
        for task in new:
            self.assert_started_in(task, 7)
            self.assertEqual(task["startedBy"], primary["id"])
        last = max(t["startedAt"] for t in new)
        # The last new task healthy 42 s after it started, then the last
        # old one drained for 30 s, then the deployment completed.
        self.assertGreaterEqual(self.seconds(last, done["updatedAt"]), 12 + 30 + 30)

        # ListTasks startedBy (API_ListTasks.html): a deployment's tasks,
        # running or, with desiredStatus STOPPED, stopped.
        running = self.ecs.list_tasks(cluster=CLUSTER, startedBy=primary["id"])["taskArns"]
        self.assertEqual(sorted(running), sorted(t["taskArn"] for t in new))
        stopped_arns = self.ecs.list_tasks(cluster=CLUSTER, startedBy=old_deployment["id"], desiredStatus="STOPPED")["taskArns"]
        self.assertEqual(sorted(stopped_arns), sorted(t["taskArn"] for t in old))
        self.assertEqual(self.ecs.list_tasks(cluster=CLUSTER, startedBy=old_deployment["id"])["taskArns"], [])
        stopped = self.ecs.describe_tasks(cluster=CLUSTER, tasks=stopped_arns)["tasks"]
        messages = {e["message"]: e["createdAt"] for e in svc["events"]}
        for task in stopped:
            self.assertEqual((task["lastStatus"], task["stopCode"]), ("STOPPED", "ServiceSchedulerInitiated"))
            self.assertEqual(self.seconds(task["stoppingAt"], task["stoppedAt"]), 30, "the deregistration delay")
            self.assertEqual(task["executionStoppedAt"], task["stoppedAt"])
            task_id = task["taskArn"].rsplit("/", 1)[-1]
            self.assertGreaterEqual(messages[f"(service lb-clock) has stopped 1 running tasks: (task {task_id})."],
                                    task["stoppedAt"])
        for task in new:
            # Each new task registered as it started, the old ones drained after.
            self.assertEqual(sum(1 for e in svc["events"] if e["createdAt"] == task["startedAt"]
                                 and e["message"] == f"(service lb-clock) registered 1 targets in (target-group {tg})"), 1)
        drains = [e for e in svc["events"] if e["message"] == "(service lb-clock) has begun draining connections on 1 tasks."]
        self.assertEqual(len(drains), 2)
        self.assertEqual(sum(1 for e in svc["events"]
                             if e["message"] == f"(service lb-clock) deregistered 1 targets in (target-group {tg})"), 2)
        stamps = [e["createdAt"] for e in svc["events"]]
        self.assertEqual(stamps, sorted(set(stamps), reverse=True), "newest first, strictly")
        for ip, d in self.health(tg, [self.ip(t) for t in stopped]).items():
            self.assertEqual(d["TargetHealth"]["State"], "unused", ip)

        # The service deployment, on the same clock (API_ServiceDeployment.html).
        record = self.server_deployment("lb-clock")
        self.assertEqual(record["status"], "SUCCESSFUL")
        self.assertEqual(record["startedAt"], record["createdAt"])
        self.assertLessEqual(record["createdAt"], first["createdAt"])
        self.assertGreaterEqual(record["finishedAt"], done["updatedAt"])
        self.assertGreaterEqual(record["updatedAt"], record["finishedAt"])
        # Minutes of modeled time, seconds of wall time.
        self.assertLess(time.monotonic() - wall, 60)
        self.assertGreater(self.seconds(created["createdAt"], done["updatedAt"]), 300)

    def server_deployment(self, name: str) -> dict:
        """The newest service deployment of `name`."""
        briefs = self.ecs.list_service_deployments(cluster=CLUSTER, service=name)["serviceDeployments"]
        arn = max(briefs, key=lambda b: b["createdAt"])["serviceDeploymentArn"]
        return self.ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]

    def test_a_rollout_without_a_load_balancer_takes_its_time(self):
        """The largest value over the containers counts; a task counts once
        its application started; an old task stops 2 s after SIGTERM."""
        self.service("clock")
        td = self.register(env={"EMULATOR_PULL_SECONDS": "5", "EMULATOR_STARTUP_SECONDS": "soon"},
                           other_env={"EMULATOR_PULL_SECONDS": "9", "EMULATOR_STARTUP_SECONDS": "4"})
        self.ecs.update_service(cluster=CLUSTER, service="clock", taskDefinition=td)
        primary = self.step("clock")["deployments"][0]
        (first,) = [t for t in self.tasks("clock", "RUNNING") if t["taskDefinitionArn"] == td]
        self.assert_started_in(first, 9)
        self.assertEqual(self.seconds(first["startedAt"], primary["updatedAt"]), 4)
        svc = self.complete("clock")
        for task in self.tasks("clock", "STOPPED"):
            self.assertEqual(self.seconds(task["stoppingAt"], task["stoppedAt"]), 2)
            self.assertGreaterEqual(task["stoppingAt"], first["startedAt"])
        messages = [e["message"] for e in svc["events"]]
        self.assertFalse([m for m in messages if "targets" in m or "draining" in m], messages)

    def test_bake_time_takes_its_minutes(self):
        """BLUE_GREEN with bakeTimeInMinutes 3: one DescribeServices call in
        BAKE_TIME stands for one minute on the clock."""
        self.ecs.create_service(
            cluster=CLUSTER, serviceName="bake", taskDefinition=self.seeded["task_definition_arn"], desiredCount=1,
            launchType="FARGATE", platformVersion="LATEST",
            deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 3,
                                     "maximumPercent": 200, "minimumHealthyPercent": 100},
            networkConfiguration={"awsvpcConfiguration": {
                "subnets": [self.seeded["subnet_id"]], "securityGroups": [self.seeded["security_group_id"]],
                "assignPublicIp": "DISABLED"}})
        self.ecs.update_service(cluster=CLUSTER, service="bake", taskDefinition=self.register(env={"BAKE": "1"}))
        baking = []
        for _ in range(MAX_STEPS):
            self.step("bake")
            record = self.server_deployment("bake")
            if record.get("lifecycleStage") == "BAKE_TIME":
                baking.append(record["updatedAt"])
            if record["status"] == "SUCCESSFUL":
                break
        else:
            self.fail(f"the deployment did not finish: {record}")
        self.assertEqual(len(baking), 4, "3 minutes, then the call that ends them")
        self.assertEqual([round(self.seconds(a, b)) for a, b in zip(baking, baking[1:])], [60, 60, 60])
        self.assertGreaterEqual(self.seconds(baking[0], record["finishedAt"]), 180)

    def test_failed_tasks_keep_their_timestamps(self):
        """A crash starts (startedAt), then stops at the end of its start-up
        (a JVM) or at once (exec error); a task whose pull fails never gets
        pullStoppedAt; one without its secret never pulls."""
        self.service("stamp-crash")
        task = self.stopped_after_update("stamp-crash", self.register(env={"CRASH_ON_START": CRASH_TEXT}))
        self.assert_started_in(task, 3)
        self.assertEqual(self.seconds(task["startedAt"], task["stoppedAt"]) // 1, 8)
        self.service("stamp-exec")
        image = self.seeded_image().replace("plog-back@", "plog-back-exec-format@")
        task = self.stopped_after_update("stamp-exec", self.register(image=image))
        self.assertLess(self.seconds(task["startedAt"], task["stoppedAt"]), 1)
        self.service("stamp-pull")
        image = self.seeded_image().replace("plog-back@", "plog-back-pull-fails@")
        task = self.stopped_after_update("stamp-pull", self.register(image=image, env={"EMULATOR_PULL_SECONDS": "20"}))
        self.assertEqual(self.seconds(task["createdAt"], task["pullStartedAt"]), 2)
        self.assertNotIn("pullStoppedAt", task)
        self.assertGreaterEqual(self.seconds(task["pullStartedAt"], task["stoppedAt"]), 20)
        self.service("stamp-secret")
        arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:plog/stamp"
        task = self.stopped_after_update("stamp-secret", self.register(secrets={"STAMP": arn}))
        self.assertNotIn("pullStartedAt", task)
        self.assertGreaterEqual(self.seconds(task["createdAt"], task["stoppedAt"]), 2)
        self.service("stamp-group")
        td = self.register(env={"CRASH_ON_START": CRASH_TEXT}, log_options={"awslogs-group": "/ecs/stamp-nowhere"})
        task = self.stopped_after_update("stamp-group", td)
        self.assertEqual(self.seconds(task["pullStartedAt"], task["pullStoppedAt"]), 3)
        self.assertNotIn("startedAt", task)

    def test_run_task_takes_its_time(self):
        """RunTask's tasks start together, through the same stamps."""
        tasks = self.ecs.run_task(
            cluster=CLUSTER, taskDefinition=self.register(env={"EMULATOR_PULL_SECONDS": "4"}), count=2,
            launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": {
                "subnets": [self.seeded["subnet_id"]], "securityGroups": [self.seeded["security_group_id"]]}})["tasks"]
        self.assertEqual(len({t["createdAt"] for t in tasks}), 1, "together")
        for task in tasks:
            self.assert_started_in(task, 4)

    def test_list_tasks_started_by_is_the_only_filter(self):
        """API_ListTasks.html: startedBy must be the only filter
        (desiredStatus aside)."""
        self.service("by")
        deployment = self.step("by")["deployments"][0]["id"]
        self.assertEqual(len(self.ecs.list_tasks(cluster=CLUSTER, startedBy=deployment, desiredStatus="RUNNING")["taskArns"]), 2)
        for extra in ({"serviceName": "by"}, {"family": "plog-api"}, {"launchType": "FARGATE"}):
            with self.subTest(extra=extra), self.assertRaises(self.ecs.exceptions.InvalidParameterException) as caught:
                self.ecs.list_tasks(cluster=CLUSTER, startedBy=deployment, **extra)
            self.assertEqual(caught.exception.response["Error"]["Message"], "cannot specify startedBy with other arguments")

    # --- task definitions: tags, listing, deregistration ---

    def test_task_definition_tags(self):
        """API_RegisterTaskDefinition.html (tags, answered back),
        API_TagResource.html, API_UntagResource.html,
        API_ListTagsForResource.html, API_DescribeTaskDefinition.html
        (include TAGS: top-level tags)."""
        registered = self.ecs.register_task_definition(
            family="tagged", containerDefinitions=[{"name": "app", "image": "nginx", "memory": 128}],
            tags=[{"key": "team", "value": "plog"}, {"key": "env", "value": "dev"}])
        self.assertEqual(registered["tags"], [{"key": "team", "value": "plog"}, {"key": "env", "value": "dev"}])
        arn = registered["taskDefinition"]["taskDefinitionArn"]
        self.ecs.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "prod"}, {"key": "hoist", "value": "1"}])
        self.ecs.untag_resource(resourceArn=arn, tagKeys=["team"])
        expected = {"env": "prod", "hoist": "1"}
        listed = self.ecs.list_tags_for_resource(resourceArn=arn)["tags"]
        self.assertEqual({t["key"]: t["value"] for t in listed}, expected)
        described = self.ecs.describe_task_definition(taskDefinition="tagged:1", include=["TAGS"])
        self.assertEqual({t["key"]: t["value"] for t in described["tags"]}, expected)
        self.assertNotIn("tags", self.ecs.describe_task_definition(taskDefinition=arn))
        self.assertNotIn("tags", described["taskDefinition"])

    def test_list_task_definitions(self):
        """API_ListTaskDefinitions.html: familyPrefix, status, sort, pages."""
        for family in ("list-b", "list-a", "list-b", "list-a", "list-b"):
            self.ecs.register_task_definition(family=family, containerDefinitions=[{"name": "a", "image": "x", "memory": 64}])

        def names(**kwargs) -> list[str]:
            arns = self.ecs.list_task_definitions(**kwargs)["taskDefinitionArns"]
            return [a.rsplit("/", 1)[-1] for a in arns]

        self.assertEqual(names(familyPrefix="list-b"), ["list-b:1", "list-b:2", "list-b:3"])
        self.assertEqual(names(familyPrefix="list-b", sort="DESC"), ["list-b:3", "list-b:2", "list-b:1"])
        self.assertEqual(names(familyPrefix="list"), [], "the full family name")
        everything = names()
        keys = [(n.rsplit(":", 1)[0], int(n.rsplit(":", 1)[1])) for n in everything]
        self.assertEqual(keys, sorted(keys))
        self.assertIn("list-a:2", everything)
        self.assertLess(everything.index("list-a:2"), everything.index("list-b:1"))
        self.assertEqual(names(sort="DESC"), everything[::-1])
        for order in ("ASC", "DESC"):
            pages, token = [], None
            for _ in range(len(everything) + 1):
                kwargs = {"nextToken": token} if token else {}
                answer = self.ecs.list_task_definitions(sort=order, maxResults=2, **kwargs)
                self.assertLessEqual(len(answer["taskDefinitionArns"]), 2)
                pages.extend(a.rsplit("/", 1)[-1] for a in answer["taskDefinitionArns"])
                token = answer.get("nextToken")
                if not token:
                    break
            self.assertEqual(pages, everything if order == "ASC" else everything[::-1])
        paginator = self.ecs.get_paginator("list_task_definitions")
        listed = [a for page in paginator.paginate(familyPrefix="list-a", PaginationConfig={"PageSize": 1})
                  for a in page["taskDefinitionArns"]]
        self.assertEqual([a.rsplit("/", 1)[-1] for a in listed], ["list-a:1", "list-a:2"])
        with self.assertRaises(self.ecs.exceptions.InvalidParameterException):
            self.ecs.list_task_definitions(maxResults=101)

        deregistered = self.ecs.deregister_task_definition(taskDefinition="list-b:2")["taskDefinition"]
        self.assertEqual(deregistered["status"], "INACTIVE")
        self.assertEqual(names(familyPrefix="list-b"), ["list-b:1", "list-b:3"])
        self.assertEqual(names(familyPrefix="list-b", status="INACTIVE"), ["list-b:2"])

    def test_deregister_task_definition(self):
        """API_DeregisterTaskDefinition.html: INACTIVE, with deregisteredAt."""
        arn = self.register(env={"DEREGISTER": "me"})
        before = self.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        self.assertEqual(before["status"], "ACTIVE")
        self.assertNotIn("deregisteredAt", before)
        answer = self.ecs.deregister_task_definition(taskDefinition=arn)["taskDefinition"]
        self.assertEqual((answer["taskDefinitionArn"], answer["status"]), (arn, "INACTIVE"))
        self.assertGreater(answer["deregisteredAt"], answer["registeredAt"])
        after = self.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        self.assertEqual((after["status"], after["deregisteredAt"]), ("INACTIVE", answer["deregisteredAt"]))
        self.assertEqual(after["registeredAt"], before["registeredAt"])
        self.assertEqual(after["containerDefinitions"], before["containerDefinitions"])


class DenyDeregisterTest(unittest.TestCase):
    """ECS_EMULATOR_DENY_DEREGISTER=family:revision,...: DeregisterTaskDefinition
    of those is refused as an IAM policy that denies it would."""

    def test_refused(self):
        server = Server.patched({"ECS_EMULATOR_DENY_DEREGISTER": "kept:1, other:7"})
        try:
            ecs = server.client("ecs")
            for _ in range(2):
                ecs.register_task_definition(family="kept", containerDefinitions=[{"name": "a", "image": "x", "memory": 64}])
            arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/kept:1"
            for name in ("kept:1", arn):
                status, content_type, body = server.raw_ecs("DeregisterTaskDefinition", {"taskDefinition": name})
                self.assertEqual(status, 400, body)
                self.assertTrue(content_type.startswith("application/x-amz-json-1.1"), content_type)
                error = json.loads(body)
                self.assertEqual(error["__type"], "AccessDeniedException")
                self.assertEqual(error["message"],
                                 "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
                                 f"ecs:DeregisterTaskDefinition on resource: {arn} with an explicit deny in an "
                                 "identity-based policy")
            self.assertEqual(ecs.describe_task_definition(taskDefinition="kept:1")["taskDefinition"]["status"], "ACTIVE")
            self.assertEqual(ecs.deregister_task_definition(taskDefinition="kept:2")["taskDefinition"]["status"], "INACTIVE")
        finally:
            server.stop()


class ClockTest(unittest.TestCase):
    """The emulator's clock and ELB's draining state, in process."""

    @classmethod
    def setUpClass(cls) -> None:
        sys.path.insert(0, str(HERE))
        import ecs_emulator

        cls.emu = ecs_emulator

    def test_advance_moves_the_clock_ahead_and_never_back(self):
        emu = self.emu
        first = emu._now()
        later = emu._advance(90)
        self.assertEqual((later - first).total_seconds(), 90)
        after = emu._now()
        self.assertGreater(after, later)
        self.assertLess((after - later).total_seconds(), 5)
        self.assertEqual(emu._advance(10, since=first), first + emu._seconds(10), "a moment already passed")
        self.assertGreater(emu._now(), after, "the clock did not go back")
        stamps = [emu._now() for _ in range(50)]
        self.assertEqual(stamps, sorted(set(stamps)))
        import datetime

        wall = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        self.assertGreater((emu._now() - wall).total_seconds(), 85, "ahead of the wall clock")

    def test_a_deregistered_target_drains_until_its_delay_has_passed(self):
        from moto.elbv2.models import FakeTargetGroup

        emu = self.emu
        group = FakeTargetGroup("drain", ACCOUNT, REGION, "vpc-12345678", "HTTP", "8080", target_type="ip")
        group.register([{"Id": "10.0.0.9", "Port": 8080}])
        emu._DRAINING[(group.arn, "10.0.0.9")] = emu._now() + emu._seconds(30)
        health = emu.health_for(group, {"Id": "10.0.0.9"}, None)
        self.assertEqual((health.status, health.reason, health.description),
                         ("draining", "Target.DeregistrationInProgress", "Target deregistration is in progress"))
        emu._advance(30)
        self.assertEqual(emu.health_for(group, {"Id": "10.0.0.9"}, None).status, "healthy")


class PullReferenceTest(unittest.TestCase):
    """The reference a timed-out pull names, as containerd resolves it."""

    def test_references(self):
        sys.path.insert(0, str(HERE))
        import ecs_emulator

        digest = "sha256:" + "ab" * 32
        cases = {
            f"{ECR}/plog-back@{digest}": (f"{ECR}/plog-back@{digest}", ECR, "plog-back", digest),
            f"{ECR}/plog-back:1.2": (f"{ECR}/plog-back:1.2", ECR, "plog-back", "1.2"),
            f"{ECR}/team/plog-back": (f"{ECR}/team/plog-back:latest", ECR, "team/plog-back", "latest"),
            "public.ecr.aws/datadog/agent:7": ("public.ecr.aws/datadog/agent:7", "public.ecr.aws", "datadog/agent", "7"),
            "localhost:5000/plog-back": ("localhost:5000/plog-back:latest", "localhost:5000", "plog-back", "latest"),
            "nginx": ("docker.io/library/nginx:latest", "registry-1.docker.io", "library/nginx", "latest"),
            "tryretool/backend:2.110.5": ("docker.io/tryretool/backend:2.110.5", "registry-1.docker.io",
                                          "tryretool/backend", "2.110.5"),
        }
        for image, expected in cases.items():
            self.assertEqual(ecs_emulator._pull_ref(image), expected, image)
        # A message of this shape, reported from a real Fargate task without a route to the registry.
        self.assertEqual(
            ecs_emulator._pull_timeout_reason("tryretool/backend:2.110.5"),
            "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref "
            "docker.io/tryretool/backend:2.110.5: failed to do request: Head "
            '"https://registry-1.docker.io/v2/tryretool/backend/manifests/2.110.5": dial tcp 10.0.0.1:443: i/o timeout',
        )


if __name__ == "__main__":
    unittest.main(verbosity=2)
