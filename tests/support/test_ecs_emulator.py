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
    def patched(cls) -> "Server":
        return cls(["-c", PATCHED, str(HERE)])

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

    def test_seed_on_the_emulator(self):
        server = Server.patched()
        try:
            self.check_seed(server, server.seed())
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

    def register(self, image: str | None = None, env: dict | None = None, log_options: dict | None = None) -> str:
        """A new revision of plog-api: plog-back with `image`, extra
        environment `env`, and awslogs options updated by `log_options`."""
        td = self.ecs.describe_task_definition(taskDefinition=self.seeded["task_definition_arn"])["taskDefinition"]
        for c in td["containerDefinitions"]:
            if c["name"] != "plog-back":
                continue
            if image:
                c["image"] = image
            for name, value in (env or {}).items():
                c["environment"].append({"name": name, "value": value})
            if log_options:
                c["logConfiguration"]["options"].update(log_options)
        keep = ["family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions",
                "requiresCompatibilities", "cpu", "memory", "runtimePlatform"]
        return self.ecs.register_task_definition(**{k: td[k] for k in keep if k in td})["taskDefinition"]["taskDefinitionArn"]

    def service(self, name: str) -> None:
        """A service like the seeded plog-api, on plog-api:1."""
        self.ecs.create_service(
            cluster=CLUSTER, serviceName=name, taskDefinition=self.seeded["task_definition_arn"], desiredCount=2,
            launchType="FARGATE", platformVersion="LATEST",
            deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                     "maximumPercent": 200, "minimumHealthyPercent": 100},
            networkConfiguration={"awsvpcConfiguration": {
                "subnets": [self.seeded["subnet_id"]], "securityGroups": [self.seeded["security_group_id"]],
                "assignPublicIp": "DISABLED"}},
        )

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

    def test_fail_rollout_logs_the_out_of_memory_error(self):
        self.service("oom")
        image = self.seeded_image().replace("plog-back@", "plog-back-fail-rollout@")
        task = self.stopped_after_update("oom", self.register(image=image))
        back = self.container(task, "plog-back")
        self.assertEqual((back["exitCode"], back["reason"]), (137, "OutOfMemoryError: Container killed due to memory usage"))
        events = self.events(task)
        self.assertEqual(events[-1]["message"], "java.lang.OutOfMemoryError: Java heap space")
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
