#!/usr/bin/env python3
"""Tests for tests/support/codedeploy_emulator.py, through moto_server and boto3.

    python3 tests/support/test_codedeploy_emulator.py

Starts moto's server on 127.0.0.1 (a free port) with the ECS emulator and the
CodeDeploy emulator installed, and drives it with boto3 and, for the wire
format of timestamps, with raw HTTP requests.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

HERE = Path(__file__).resolve().parent
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
DEPLOYMENT_ID = re.compile(r"^d-[0-9A-Z]{9}$")
ECS_EVENTS = [
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
]
MAX_POLLS = 40

LAUNCHER = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "import ecs_emulator, codedeploy_emulator; "
    "ecs_emulator.install(); codedeploy_emulator.install(lock=ecs_emulator.LOCK); "
    "from moto.server import main; main(['-H', '127.0.0.1', '-p', sys.argv[2]])"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        self.log = tempfile.TemporaryFile("w+")  # the server's output, shown if it dies
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(HERE), str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"emulator exited: {self.log.read()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("emulator did not start listening within 30 s")

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}),
        )

    def raw(self, target: str, body: dict) -> tuple[int, dict]:
        """A CodeDeploy call as bytes on the wire (awsJson1_1)."""
        request = urllib.request.Request(
            self.endpoint + "/",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": f"CodeDeploy_20141006.{target}",
                "Authorization": (
                    f"AWS4-HMAC-SHA256 Credential=testing/20250101/{REGION}/codedeploy/aws4_request, "
                    "SignedHeaders=host;x-amz-target, Signature=0"
                ),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def appspec(td_arn: str, container="web", port=80, hooks=None) -> str:
    doc = {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": td_arn,
                        "LoadBalancerInfo": {"ContainerName": container, "ContainerPort": port},
                    },
                }
            }
        ],
    }
    if hooks:
        doc["Hooks"] = [{k: v} for k, v in hooks.items()]
    return json.dumps(doc)


def revision(content: str, sha: str | None = None) -> dict:
    return {
        "revisionType": "AppSpecContent",
        "appSpecContent": {"content": content, "sha256": sha or hashlib.sha256(content.encode()).hexdigest()},
    }


class CodeDeployEmulatorTest(unittest.TestCase):
    emu: Emulator

    @classmethod
    def setUpClass(cls) -> None:
        cls.emu = Emulator()
        cls.ecs = cls.emu.client("ecs")
        cls.cd = cls.emu.client("codedeploy")
        cls.ec2 = cls.emu.client("ec2")
        cls.elb = cls.emu.client("elbv2")
        cls.vpc = cls.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        cls.subnets = [
            cls.ec2.create_subnet(VpcId=cls.vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")[
                "Subnet"
            ]["SubnetId"]
            for i, az in ((1, "a"), (2, "b"))
        ]

    @classmethod
    def tearDownClass(cls) -> None:
        cls.emu.stop()

    # --- world ----------------------------------------------------------------

    def register(self, family: str, image: str, port: int = 80) -> str:
        return self.ecs.register_task_definition(
            family=family,
            containerDefinitions=[
                {"name": "web", "image": image, "memory": 256, "portMappings": [{"containerPort": port}]},
                {"name": "sidecar", "image": "busybox:1", "memory": 64, "essential": False},
            ],
        )["taskDefinition"]["taskDefinitionArn"]

    def world(self, name: str, *, rollback_events=("DEPLOYMENT_FAILURE",), controller="CODE_DEPLOY") -> dict:
        """Cluster, service (revision 1), two target groups, CodeDeploy
        application and deployment group: what the ECS console sets up."""
        cluster = f"c-{name}"
        self.ecs.create_cluster(clusterName=cluster)
        td1 = self.register(f"web-{name}", "nginx:1")
        lb = self.elb.create_load_balancer(Name=f"lb-{name}", Subnets=self.subnets)["LoadBalancers"][0]
        tgs = [
            self.elb.create_target_group(
                Name=f"tg{i}-{name}", Protocol="HTTP", Port=80, VpcId=self.vpc, TargetType="ip"
            )["TargetGroups"][0]
            for i in (1, 2)
        ]
        listener = self.elb.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"],
            Protocol="HTTP",
            Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": tgs[0]["TargetGroupArn"]}],
        )["Listeners"][0]
        service = self.ecs.create_service(
            cluster=cluster,
            serviceName=f"svc-{name}",
            taskDefinition=td1,
            desiredCount=2,
            deploymentController={"type": controller},
            loadBalancers=[{"targetGroupArn": tgs[0]["TargetGroupArn"], "containerName": "web", "containerPort": 80}],
        )["service"]
        app = f"AppECS-{cluster}-svc-{name}"
        group = f"DgpECS-{cluster}-svc-{name}"
        self.cd.create_application(applicationName=app, computePlatform="ECS")
        group_args = dict(
            applicationName=app,
            deploymentGroupName=group,
            serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ecsCodeDeployRole",
            ecsServices=[{"serviceName": f"svc-{name}", "clusterName": cluster}],
            deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            blueGreenDeploymentConfiguration={
                "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5},
                "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
            },
            loadBalancerInfo={
                "targetGroupPairInfoList": [
                    {
                        "targetGroups": [{"name": f"tg1-{name}"}, {"name": f"tg2-{name}"}],
                        "prodTrafficRoute": {"listenerArns": [listener["ListenerArn"]]},
                    }
                ]
            },
            autoRollbackConfiguration={"enabled": bool(rollback_events), "events": list(rollback_events)},
        )
        return {
            "cluster": cluster,
            "service": f"svc-{name}",
            "service_arn": service["serviceArn"],
            "family": f"web-{name}",
            "td1": td1,
            "app": app,
            "group": group,
            "group_args": group_args,
        }

    def world_with_group(self, name: str, **kw) -> dict:
        w = self.world(name, **kw)
        self.cd.create_deployment_group(**w["group_args"])
        return w

    def deploy(self, w: dict, content: str, **kw) -> str:
        return self.cd.create_deployment(
            applicationName=w["app"], deploymentGroupName=w["group"], revision=revision(content), **kw
        )["deploymentId"]

    def poll(self, dep_id: str, until=("Succeeded", "Failed", "Stopped")) -> list[dict]:
        infos = []
        for _ in range(MAX_POLLS):
            info = self.cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]
            infos.append(info)
            if info["status"] in until:
                return infos
        self.fail(f"{dep_id} did not reach {until} in {MAX_POLLS} GetDeployment calls: {infos[-1]['status']}")

    def target(self, w: dict, dep_id: str) -> dict:
        return self.cd.get_deployment_target(deploymentId=dep_id, targetId=f"{w['cluster']}:{w['service']}")[
            "deploymentTarget"
        ]

    def service_td(self, w: dict) -> str:
        return self.ecs.describe_services(cluster=w["cluster"], services=[w["service"]])["services"][0][
            "taskDefinition"
        ]

    def assertCode(self, ctx, code: str) -> None:
        self.assertEqual(ctx.exception.response["Error"]["Code"], code, ctx.exception.response)

    # --- tests ----------------------------------------------------------------

    def test_deployment_succeeds_step_by_step(self):
        w = self.world_with_group("ok")
        td2 = self.register(w["family"], "nginx:2")
        content = appspec(td2)
        dep_id = self.deploy(w, content, description="hoist deploy")
        self.assertRegex(dep_id, DEPLOYMENT_ID)

        statuses, patterns = [], []
        for _ in range(MAX_POLLS):
            info = self.cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]
            statuses.append(info["status"])
            if info["status"] == "Created":
                with self.assertRaises(self.cd.exceptions.DeploymentNotStartedException):
                    self.cd.list_deployment_targets(deploymentId=dep_id)
            else:
                ecs_target = self.target(w, dep_id)["ecsTarget"]
                patterns.append("".join(e["status"][0] for e in ecs_target["lifecycleEvents"]))
                if info["status"] == "InProgress":
                    # every call before AllowTraffic succeeds leaves the old revision serving
                    succeeded = [e["lifecycleEventName"] for e in ecs_target["lifecycleEvents"] if e["status"] == "Succeeded"]
                    self.assertEqual(self.service_td(w), td2 if "AllowTraffic" in succeeded else w["td1"])
            if info["status"] in ("Succeeded", "Failed", "Stopped"):
                break
        self.assertEqual(statuses, ["Created"] + ["InProgress"] * 8 + ["Succeeded"])
        # one lifecycle event per call: I = InProgress, S = Succeeded, P = Pending
        self.assertEqual(
            patterns,
            ["IPPPPPPP", "SIPPPPPP", "SSIPPPPP", "SSSIPPPP", "SSSSIPPP", "SSSSSIPP", "SSSSSSIP", "SSSSSSSI", "SSSSSSSS"],
        )

        info = self.cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]
        self.assertEqual(info["status"], "Succeeded")
        self.assertEqual(info["computePlatform"], "ECS")
        self.assertEqual(info["creator"], "user")
        self.assertEqual(info["description"], "hoist deploy")
        self.assertEqual(info["deploymentConfigName"], "CodeDeployDefault.ECSAllAtOnce")
        self.assertEqual(info["deploymentOverview"]["Succeeded"], 1)
        self.assertLessEqual(info["createTime"], info["startTime"])
        self.assertLessEqual(info["startTime"], info["completeTime"])
        self.assertNotIn("errorInformation", info)
        # API_GetDeployment.html: content is always null; GetApplicationRevision gives it.
        sha = hashlib.sha256(content.encode()).hexdigest()
        self.assertEqual(info["revision"], {"revisionType": "AppSpecContent", "appSpecContent": {"sha256": sha}})
        rev = self.cd.get_application_revision(
            applicationName=w["app"], revision={"revisionType": "AppSpecContent", "appSpecContent": {"sha256": sha}}
        )
        self.assertEqual(rev["revision"]["appSpecContent"]["content"], content)
        self.assertEqual(rev["revisionInfo"]["deploymentGroups"], [w["group"]])

        self.assertEqual(
            self.cd.list_deployment_targets(deploymentId=dep_id)["targetIds"], [f"{w['cluster']}:{w['service']}"]
        )
        target = self.target(w, dep_id)
        self.assertEqual(target["deploymentTargetType"], "ECSTarget")
        ecs_target = target["ecsTarget"]
        self.assertEqual(ecs_target["deploymentId"], dep_id)
        self.assertEqual(ecs_target["targetArn"], w["service_arn"])
        self.assertEqual(ecs_target["status"], "Succeeded")
        self.assertEqual([e["lifecycleEventName"] for e in ecs_target["lifecycleEvents"]], ECS_EVENTS)
        for e in ecs_target["lifecycleEvents"]:
            self.assertLessEqual(e["startTime"], e["endTime"])
        sets = {s["taskSetLabel"]: s for s in ecs_target["taskSetsInfo"]}
        self.assertEqual(sets["Green"]["trafficWeight"], 100.0)
        self.assertEqual(sets["Green"]["status"], "PRIMARY")
        self.assertEqual(sets["Green"]["targetGroup"]["name"], "tg2-ok")
        self.assertEqual(sets["Blue"]["trafficWeight"], 0.0)

        self.assertEqual(self.service_td(w), td2)
        group = self.cd.get_deployment_group(applicationName=w["app"], deploymentGroupName=w["group"])[
            "deploymentGroupInfo"
        ]
        self.assertEqual(group["ecsServices"], [{"serviceName": w["service"], "clusterName": w["cluster"]}])
        self.assertEqual(group["autoRollbackConfiguration"], w["group_args"]["autoRollbackConfiguration"])
        self.assertEqual(group["deploymentStyle"], w["group_args"]["deploymentStyle"])
        self.assertEqual(group["loadBalancerInfo"], w["group_args"]["loadBalancerInfo"])
        self.assertEqual(group["computePlatform"], "ECS")
        self.assertEqual(group["lastSuccessfulDeployment"]["deploymentId"], dep_id)
        self.assertEqual(group["lastAttemptedDeployment"]["status"], "Succeeded")

        # the next deployment names the previous revision
        td3 = self.register(w["family"], "nginx:3")
        dep2 = self.deploy(w, appspec(td3))
        infos = self.poll(dep2)
        self.assertEqual(infos[-1]["status"], "Succeeded")
        self.assertEqual(infos[-1]["previousRevision"]["appSpecContent"]["sha256"], sha)
        self.assertEqual(self.service_td(w), td3)
        listed = self.cd.list_deployments(applicationName=w["app"], deploymentGroupName=w["group"])["deployments"]
        self.assertEqual(sorted(listed), sorted([dep_id, dep2]))

    def test_deployment_ids_are_distinct_and_aws_shaped(self):
        w = self.world_with_group("ids")
        ids = []
        for image in ("nginx:2", "nginx:3", "nginx:4"):
            dep_id = self.deploy(w, appspec(self.register(w["family"], image)))
            self.poll(dep_id)
            ids.append(dep_id)
        for dep_id in ids:
            self.assertRegex(dep_id, DEPLOYMENT_ID)
        self.assertEqual(len(set(ids)), 3)

    def test_yaml_appspec(self):
        w = self.world_with_group("yaml")
        td2 = self.register(w["family"], "nginx:2")
        content = (
            "version: 0.0\n"
            "Resources:\n"
            "  - TargetService:\n"
            "      Type: AWS::ECS::Service\n"
            "      Properties:\n"
            f"        TaskDefinition: \"{td2}\"\n"
            "        LoadBalancerInfo:\n"
            "          ContainerName: \"web\"\n"
            "          ContainerPort: 80\n"
            "Hooks:\n"
            "  - AfterAllowTestTraffic: \"arn:aws:lambda:us-east-1:123456789012:function:smoke\"\n"
        )
        dep_id = self.deploy(w, content)
        self.assertEqual(self.poll(dep_id)[-1]["status"], "Succeeded")
        self.assertEqual(self.service_td(w), td2)

    def test_invalid_requests(self):
        w = self.world_with_group("bad")
        td2 = self.register(w["family"], "nginx:2")
        other_region_td = td2.replace(REGION, "eu-west-1")
        bad = {
            "not a document": "[1, 2",
            "wrong version": appspec(td2).replace('"version": 0.0', '"version": 1.0'),
            "wrong type": appspec(td2).replace("AWS::ECS::Service", "AWS::Lambda::Function"),
            "unregistered task definition": appspec(td2.rsplit(":", 1)[0] + ":99"),
            "family instead of ARN": appspec(f"{w['family']}:2"),
            "other region": appspec(other_region_td),
            "unknown container": appspec(td2, container="api"),
            "unknown port": appspec(td2, port=8080),
            "port as a string": appspec(td2).replace('"ContainerPort": 80', '"ContainerPort": "80"'),
            "no load balancer info": json.dumps(
                {"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": td2}}}]}
            ),
            "Lambda hook name": appspec(td2, hooks={"ApplicationStart": "fn"}),
        }
        for what, content in bad.items():
            with self.subTest(what), self.assertRaises(self.cd.exceptions.InvalidRevisionException) as ctx:
                self.deploy(w, content)
            self.assertIn("AppSpec", ctx.exception.response["Error"]["Message"])
        with self.assertRaises(self.cd.exceptions.InvalidRevisionException):
            self.cd.create_deployment(
                applicationName=w["app"], deploymentGroupName=w["group"], revision=revision(appspec(td2), sha="0" * 64)
            )
        with self.assertRaises(self.cd.exceptions.RevisionRequiredException):
            self.cd.create_deployment(applicationName=w["app"], deploymentGroupName=w["group"])
        with self.assertRaises(self.cd.exceptions.ApplicationDoesNotExistException):
            self.cd.create_deployment(applicationName="nope", deploymentGroupName=w["group"], revision=revision(appspec(td2)))
        with self.assertRaises(self.cd.exceptions.DeploymentGroupDoesNotExistException):
            self.cd.create_deployment(applicationName=w["app"], deploymentGroupName="nope", revision=revision(appspec(td2)))
        with self.assertRaises(self.cd.exceptions.DeploymentDoesNotExistException):
            self.cd.get_deployment(deploymentId="d-AAAAAAAAA")
        with self.assertRaises(self.cd.exceptions.InvalidDeploymentIdException):
            self.cd.get_deployment(deploymentId="not-an-id")
        # nothing was created by the refused calls
        self.assertEqual(self.cd.list_deployments(applicationName=w["app"], deploymentGroupName=w["group"])["deployments"], [])

    def test_deployment_group_needs_a_code_deploy_service(self):
        w = self.world("ecsctl", controller="ECS")
        with self.assertRaises(self.cd.exceptions.InvalidECSServiceException) as ctx:
            self.cd.create_deployment_group(**w["group_args"])
        self.assertEqual(
            ctx.exception.response["Error"]["Message"],
            "Deployment group's ECS service must be configured for a CODE_DEPLOY deployment controller.",
        )
        args = dict(w["group_args"], ecsServices=[{"serviceName": "missing", "clusterName": w["cluster"]}])
        with self.assertRaises(self.cd.exceptions.InvalidECSServiceException):
            self.cd.create_deployment_group(**args)

        w2 = self.world_with_group("mapped")
        args = dict(w2["group_args"], deploymentGroupName="second")
        with self.assertRaises(self.cd.exceptions.ECSServiceMappingLimitExceededException):
            self.cd.create_deployment_group(**args)

    def test_fail_rollout_rolls_back(self):
        w = self.world_with_group("fail")
        td2 = self.register(w["family"], "registry.example/app:fail-rollout")
        dep_id = self.deploy(w, appspec(td2, hooks={"AfterAllowTestTraffic": "smoke"}))
        infos = self.poll(dep_id)
        self.assertEqual(len(infos), 7)
        failed = infos[-1]
        self.assertEqual(failed["status"], "Failed")
        self.assertEqual(failed["errorInformation"]["code"], "HOOK_EXECUTION_FAILURE")
        self.assertTrue(failed["errorInformation"]["message"])
        rollback_id = failed["rollbackInfo"]["rollbackDeploymentId"]
        self.assertRegex(rollback_id, DEPLOYMENT_ID)
        self.assertIn(rollback_id, failed["rollbackInfo"]["rollbackMessage"])
        self.assertEqual(self.service_td(w), w["td1"])

        events = {e["lifecycleEventName"]: e for e in self.target(w, dep_id)["ecsTarget"]["lifecycleEvents"]}
        self.assertEqual(
            [events[n]["status"] for n in ECS_EVENTS],
            ["Succeeded"] * 4 + ["Failed"] + ["Skipped"] * 3,
        )
        self.assertEqual(events["AfterAllowTestTraffic"]["diagnostics"]["scriptName"], "smoke")
        self.assertEqual(self.target(w, dep_id)["ecsTarget"]["status"], "Failed")

        # the rollback is the group's active deployment until it completes
        with self.assertRaises(self.cd.exceptions.DeploymentLimitExceededException) as ctx:
            self.deploy(w, appspec(w["td1"]))
        self.assertIn(rollback_id, ctx.exception.response["Error"]["Message"])

        rb = self.poll(rollback_id)[-1]
        self.assertEqual(rb["status"], "Succeeded")
        self.assertEqual(rb["creator"], "codeDeployRollback")
        self.assertEqual(rb["rollbackInfo"]["rollbackTriggeringDeploymentId"], dep_id)
        self.assertEqual(self.service_td(w), w["td1"])
        # the failed one stays failed; a new deployment is accepted again
        self.assertEqual(self.cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]["status"], "Failed")
        self.assertEqual(self.poll(self.deploy(w, appspec(self.register(w["family"], "nginx:3"))))[-1]["status"], "Succeeded")

    def test_fail_rollout_without_rollback(self):
        w = self.world_with_group("failnorb", rollback_events=())
        td2 = self.register(w["family"], "app:fail-rollout")
        failed = self.poll(self.deploy(w, appspec(td2)))[-1]
        self.assertEqual(failed["status"], "Failed")
        self.assertNotIn("rollbackInfo", failed)
        self.assertEqual(self.service_td(w), w["td1"])

    def test_stop_deployment(self):
        w = self.world_with_group("stop", rollback_events=("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"))
        td2 = self.register(w["family"], "nginx:2")
        dep_id = self.deploy(w, appspec(td2))
        for _ in range(3):  # Created, BeforeInstall, Install in progress
            self.cd.get_deployment(deploymentId=dep_id)
        stopped = self.cd.stop_deployment(deploymentId=dep_id, autoRollbackEnabled=True)
        self.assertEqual(stopped["status"], "Succeeded")
        self.assertTrue(stopped["statusMessage"])
        info = self.cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]
        self.assertEqual(info["status"], "Stopped")
        self.assertEqual(info["errorInformation"]["code"], "MANUAL_STOP")
        self.assertRegex(info["rollbackInfo"]["rollbackDeploymentId"], DEPLOYMENT_ID)
        events = [e["status"] for e in self.target(w, dep_id)["ecsTarget"]["lifecycleEvents"]]
        self.assertEqual(events, ["Succeeded", "Failed"] + ["Skipped"] * 6)
        self.assertEqual(self.cd.stop_deployment(deploymentId=dep_id)["status"], "Succeeded")
        rb = self.poll(info["rollbackInfo"]["rollbackDeploymentId"])[-1]
        self.assertEqual(rb["status"], "Succeeded")
        self.assertEqual(self.service_td(w), w["td1"])

        # without rollback
        dep2 = self.deploy(w, appspec(td2))
        self.cd.get_deployment(deploymentId=dep2)
        self.assertEqual(self.cd.stop_deployment(deploymentId=dep2, autoRollbackEnabled=False)["status"], "Succeeded")
        info = self.cd.get_deployment(deploymentId=dep2)["deploymentInfo"]
        self.assertEqual(info["status"], "Stopped")
        self.assertNotIn("rollbackInfo", info)

        # a completed deployment cannot be stopped
        done = self.deploy(w, appspec(td2))
        self.poll(done)
        with self.assertRaises(self.cd.exceptions.DeploymentAlreadyCompletedException):
            self.cd.stop_deployment(deploymentId=done)

    def test_stop_during_a_hook_is_pending(self):
        w = self.world_with_group("pending", rollback_events=("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST"))
        td2 = self.register(w["family"], "nginx:2")
        dep_id = self.deploy(w, appspec(td2, hooks={"BeforeInstall": "prepare"}))
        self.cd.get_deployment(deploymentId=dep_id)  # Created
        self.cd.get_deployment(deploymentId=dep_id)  # BeforeInstall (a hook with a function) in progress
        first = self.cd.stop_deployment(deploymentId=dep_id)
        self.assertEqual(first["status"], "Pending")
        self.assertEqual(self.cd.stop_deployment(deploymentId=dep_id)["status"], "Pending")
        info = self.cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]
        self.assertEqual(info["status"], "Stopped")
        # stopped before the replacement task set existed: nothing to roll back
        self.assertNotIn("rollbackDeploymentId", info["rollbackInfo"])
        self.assertTrue(info["rollbackInfo"]["rollbackMessage"])
        events = [e["status"] for e in self.target(w, dep_id)["ecsTarget"]["lifecycleEvents"]]
        self.assertEqual(events, ["Succeeded"] + ["Skipped"] * 7)
        self.assertEqual(self.cd.stop_deployment(deploymentId=dep_id)["status"], "Succeeded")

    def test_timestamps_are_numbers_on_the_wire(self):
        w = self.world_with_group("wire")
        td2 = self.register(w["family"], "nginx:2")
        content = appspec(td2)
        dep_id = self.deploy(w, content)
        target_id = f"{w['cluster']}:{w['service']}"
        bodies = []
        for _ in range(12):
            status, body = self.emu.raw("GetDeployment", {"deploymentId": dep_id})
            self.assertEqual(status, 200, body)
            bodies.append(body)
            if body["deploymentInfo"]["status"] != "Created":
                status, body = self.emu.raw("GetDeploymentTarget", {"deploymentId": dep_id, "targetId": target_id})
                self.assertEqual(status, 200, body)
                bodies.append(body)
        self.assertEqual(bodies[-2]["deploymentInfo"]["status"], "Succeeded")
        for target, body in (
            ("GetApplication", {"applicationName": w["app"]}),
            ("BatchGetApplications", {"applicationNames": [w["app"]]}),
            ("GetDeploymentGroup", {"applicationName": w["app"], "deploymentGroupName": w["group"]}),
            ("BatchGetDeployments", {"deploymentIds": [dep_id]}),
            (
                "GetApplicationRevision",
                {
                    "applicationName": w["app"],
                    "revision": {
                        "revisionType": "AppSpecContent",
                        "appSpecContent": {"sha256": hashlib.sha256(content.encode()).hexdigest()},
                    },
                },
            ),
        ):
            status, answer = self.emu.raw(target, body)
            self.assertEqual(status, 200, (target, answer))
            bodies.append(answer)

        time_keys = {"createTime", "startTime", "completeTime", "endTime", "lastUpdatedAt", "firstUsedTime", "lastUsedTime", "registerTime"}
        seen = set()

        def walk(value, path):
            if isinstance(value, dict):
                for k, v in value.items():
                    if k in time_keys:
                        seen.add(k)
                        self.assertIsInstance(v, (int, float), f"{path}.{k} = {v!r}")
                        self.assertNotIsInstance(v, bool)
                        self.assertGreater(v, 1.6e9, f"{path}.{k}")
                    walk(v, f"{path}.{k}")
            elif isinstance(value, list):
                for i, v in enumerate(value):
                    walk(v, f"{path}[{i}]")

        walk(bodies, "")
        self.assertEqual(seen, time_keys)

        # errors are awsJson1_1 errors
        status, body = self.emu.raw("StopDeployment", {"deploymentId": dep_id})
        self.assertEqual(status, 400)
        self.assertEqual(body["__type"], "DeploymentAlreadyCompletedException")
        self.assertTrue(body["message"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
