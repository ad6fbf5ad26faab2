#!/usr/bin/env python3
"""Small helpers for demo/run.sh (standard library, plus boto3 for the AWS calls).

  free-port                         a free TCP port on 127.0.0.1
  wait-http URL SECONDS [PID]       until URL answers (any HTTP status); fails early if PID dies
  apt-source                        "MIRROR SUITE" of this machine's Debian apt sources
  ecr-password                      the registry password of a fresh GetAuthorizationToken (user AWS)
  seed                              the plog fixtures in the ECS emulator (see seed())
  service CLUSTER SERVICE           the service's state as JSON (task definition, deployments, events)
  container CLUSTER SERVICE NAME    the container definition of NAME in the service's task definition, as JSON
  task-env CLUSTER SERVICE NAME     that container's environment, NUL-terminated KEY=VALUE items
  image-config LAYOUT TAG FIELD     from an OCI layout's image config: argv (Entrypoint + Cmd),
                                    env or workdir, NUL-terminated items
  standin-log STANDIN [FROM]        what the ECR stand-in served from request FROM on (default 0):
                                    blob GETs redirected, fetched from the S3 stand-in, and whether
                                    any of those carried an Authorization header (exit 1 if so)
  summary WORK ECR_HOST SUITE [PREVIOUS_DIGEST]
                                    the closing summary, from WORK's ship.json, service JSONs,
                                    app.answers (runtime, health, greeting) and app.out

The AWS commands use AWS_ENDPOINT_URL, AWS_REGION and the dummy keys from the environment.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import re
import socket
import sys
import time
import urllib.error
import urllib.request

# The image plog-back runs before the demo deploys anything (revision 1), as in
# tests/support/ecs_emulator.rs.
SEED_IMAGE = (
    "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/plog-back@sha256:"
    + "ab" * 32
)


def out0(items) -> None:
    sys.stdout.write("".join(f"{i}\0" for i in items))


def free_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def wait_http(url: str, seconds: str, pid: str | None = None) -> None:
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        if pid:
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                sys.exit(f"process {pid} exited before {url} answered")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{url} did not answer within {seconds} s")


def apt_source() -> None:
    """The first Debian main archive (not -security/-updates) among the apt sources."""
    found: list[tuple[str, str]] = []
    root = pathlib.Path("/etc/apt")
    files = [root / "sources.list"] + sorted((root / "sources.list.d").glob("*"))
    for f in files:
        if not f.is_file() or f.name.endswith((".disabled", ".save")) or "disabled" in f.name:
            continue
        text = f.read_text(errors="replace")
        if f.suffix == ".sources":  # deb822
            for stanza in re.split(r"\n\s*\n", text):
                fields = {}
                for line in stanza.splitlines():
                    if line.startswith("#") or ":" not in line or line[:1].isspace():
                        continue
                    k, v = line.split(":", 1)
                    fields[k.strip().lower()] = v.split()
                if "deb" not in fields.get("types", []) or fields.get("enabled", ["yes"]) == ["no"]:
                    continue
                for uri in fields.get("uris", []):
                    for suite in fields.get("suites", []):
                        found.append((uri, suite))
        else:
            for line in text.splitlines():
                parts = re.sub(r"\[[^]]*\]", "", line).split()
                if len(parts) >= 3 and parts[0] == "deb":
                    found.append((parts[1], parts[2]))
    for uri, suite in found:
        if uri.rstrip("/").endswith("/debian") and "-" not in suite and "/" not in suite:
            print(uri.rstrip("/"), suite)
            return
    # No Debian mirror configured: say so rather than guess one.
    sys.exit("demo: no Debian mirror found in /etc/apt/sources.list*; debootstrap needs one")


def client(service: str):
    import boto3

    return boto3.client(
        service,
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        region_name=os.environ.get("AWS_REGION", "ap-northeast-2"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
    )


def ecr_password() -> None:
    """Prints the registry password of a fresh GetAuthorizationToken (user AWS)."""
    data = client("ecr").get_authorization_token()["authorizationData"][0]
    print(base64.b64decode(data["authorizationToken"]).decode().split(":", 1)[1])


def seed() -> None:
    """What tests/support/ecs_emulator.rs seeds: clusters plog-cluster and plog-prod, a VPC,
    subnet and security group, the execution and task roles (trusting ecs-tasks), the awslogs
    group, the secret plog/db, the Fargate task definition plog-api:1 (plog-back + a
    datadog-agent sidecar) and the services plog-api and plog-api-prod on it (desiredCount 2,
    circuit breaker with rollback), stable from the start: a setup `hoist verify` passes; and
    the ECR repository plog-back, which ship pushes to."""
    ecs, ec2 = client("ecs"), client("ec2")
    client("ecr").create_repository(repositoryName="plog-back")
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    for role in ("ecsTaskExecutionRole", "plog-api-task"):
        client("iam").create_role(RoleName=role, AssumeRolePolicyDocument=trust)
    client("logs").create_log_group(logGroupName="/ecs/plog-api")
    db_secret = client("secretsmanager").create_secret(Name="plog/db", SecretString="demo-only")["ARN"]
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24", AvailabilityZone="ap-northeast-2a")[
        "Subnet"
    ]["SubnetId"]
    sg = ec2.create_security_group(GroupName="plog-api", Description="plog-api tasks", VpcId=vpc)["GroupId"]
    for name in ("plog-cluster", "plog-prod"):
        ecs.create_cluster(clusterName=name)
    td = ecs.register_task_definition(
        family="plog-api",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="512",
        memory="1024",
        executionRoleArn="arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
        taskRoleArn="arn:aws:iam::123456789012:role/plog-api-task",
        runtimePlatform={"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        tags=[{"key": "app", "value": "plog"}, {"key": "env", "value": "dev"}],
        containerDefinitions=[
            {
                "name": "plog-back",
                "image": SEED_IMAGE,
                "essential": True,
                "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}],
                "environment": [
                    {"name": "SPRING_PROFILES_ACTIVE", "value": "local"},
                    {"name": "JAVA_OPTS", "value": "-Xmx512m"},
                ],
                "secrets": [
                    {
                        "name": "DB_PASSWORD",
                        "valueFrom": db_secret,
                    }
                ],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": "/ecs/plog-api",
                        "awslogs-region": "ap-northeast-2",
                        "awslogs-stream-prefix": "plog-back",
                    },
                },
            },
            {
                "name": "datadog-agent",
                "image": "public.ecr.aws/datadog/agent:7",
                "essential": False,
                "environment": [{"name": "ECS_FARGATE", "value": "true"}],
            },
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    for cluster, name in (("plog-cluster", "plog-api"), ("plog-prod", "plog-api-prod")):
        ecs.create_service(
            cluster=cluster,
            serviceName=name,
            taskDefinition=td,
            desiredCount=2,
            launchType="FARGATE",
            platformVersion="LATEST",
            deploymentConfiguration={
                "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
            },
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg], "assignPublicIp": "DISABLED"}
            },
        )
        print(f"    service {cluster}/{name}: {td.rsplit('/', 1)[1]}, 2 tasks, circuit breaker with rollback")
    print(f"    task definition {td.rsplit('/', 1)[1]}: plog-back on {SEED_IMAGE[:60]}…, sidecar datadog-agent")


def standin_log(standin: str, start: str = "0") -> None:
    with urllib.request.urlopen(f"http://{standin}/_standin/log", timeout=10) as r:
        entries = json.load(r)
    new = entries[int(start):]
    redirected = [e for e in new if e["listener"] == "registry" and e["status"] == 307]
    storage = [e for e in new if e["listener"] == "storage"]
    with_auth = [e for e in storage if e["authorization"]]
    print(f"{len(entries)} {len(redirected)} {len(storage)} {len(with_auth)}")
    if with_auth:
        sys.exit(1)


def _service(cluster: str, name: str) -> dict:
    services = client("ecs").describe_services(cluster=cluster, services=[name])["services"]
    if not services:
        sys.exit(f"no service {name} in {cluster}")
    return services[0]


def service(cluster: str, name: str) -> None:
    svc = _service(cluster, name)
    print(json.dumps(
        {
            "taskDefinition": svc["taskDefinition"],
            "runningCount": svc["runningCount"],
            "desiredCount": svc["desiredCount"],
            "deployments": [
                {k: d.get(k) for k in ("status", "taskDefinition", "rolloutState", "runningCount", "desiredCount")}
                for d in svc["deployments"]
            ],
            "events": [e["message"] for e in svc.get("events", [])[:6]],
        },
        default=str,
    ))


def _container(cluster: str, name: str, container: str) -> dict:
    td = client("ecs").describe_task_definition(taskDefinition=_service(cluster, name)["taskDefinition"])
    for c in td["taskDefinition"]["containerDefinitions"]:
        if c["name"] == container:
            return c
    sys.exit(f"no container {container} in {td['taskDefinition']['taskDefinitionArn']}")


def container(cluster: str, name: str, container_name: str) -> None:
    print(json.dumps(_container(cluster, name, container_name), default=str))


def task_env(cluster: str, name: str, container_name: str) -> None:
    c = _container(cluster, name, container_name)
    out0(f"{e['name']}={e['value']}" for e in c.get("environment", []))


def _blob(layout: pathlib.Path, digest: str) -> dict:
    algo, hexd = digest.split(":", 1)
    return json.loads((layout / "blobs" / algo / hexd).read_text())


def image_config(layout: str, tag: str, field: str) -> None:
    root = pathlib.Path(layout)
    index = json.loads((root / "index.json").read_text())
    for m in index["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            manifest = _blob(root, m["digest"])
            break
    else:
        sys.exit(f"no tag {tag} in {layout}")
    cfg = _blob(root, manifest["config"]["digest"]).get("config") or {}
    if field == "argv":
        out0((cfg.get("Entrypoint") or []) + (cfg.get("Cmd") or []))
    elif field == "env":
        out0(cfg.get("Env") or [])
    elif field == "workdir":
        out0([cfg.get("WorkingDir") or "/"])
    else:
        sys.exit(f"unknown field {field}")


def _arn_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def summary(work: str, registry: str, suite: str, previous: str = "") -> None:
    w = pathlib.Path(work)
    ship = json.loads((w / "ship.json").read_text())
    build, deploy = ship["build"], ship["deploy"]
    dev = json.loads((w / "service.json").read_text())
    prod = json.loads((w / "service-prod.json").read_text())
    runtime, health, hello = ((w / "app.answers").read_text().splitlines() + ["", "", ""])[:3]
    log = (w / "app.out").read_text(errors="replace").splitlines()
    started = next((l.split("Started ", 1)[1] for l in log if "Started " in l and " seconds" in l), "")
    push = build.get("push") or {}
    base = build.get("baseDigest") or "?"
    lines = [
        ("base image", f"{build['baseImage']}  {base}"),
        ("", f"(Debian {suite} + openjdk-17-jre-headless: a debootstrap rootfs, made a layer by hoist)"),
        ("app image", ship["image"]),
    ]
    digest = ship["image"].rsplit("@", 1)[-1]
    if previous == digest:
        lines.append(("", "the same digest as the previous demo run: same jar + same base = same image"))
    elif previous:
        lines.append(("", f"the previous demo run shipped {previous} (jar, base or hoist changed)"))
    lines += [
        ("", "tags: " + ", ".join(build.get("tags") or [])),
        ("", f"{len(build['layers'])} layers, {_size(sum(l['size'] for l in build['layers']))}:"),
    ]
    for layer in build["layers"]:
        lines.append(("", f"  {layer['name']:<22} {_size(layer['size']):>9}  {layer.get('outcome') or ''}"))
    if push:
        lines.append((
            "",
            f"push: {push['uploaded']} blobs uploaded ({_size(push.get('bytesUploaded', 0))}), "
            f"{push['mounted']} mounted from base/jdk, {push['present']} already there, "
            f"{push.get('seconds', 0):.2f} s",
        ))
    rollout = "; ".join(
        f"{d['status']} {_arn_name(d['taskDefinition'])} {d['rolloutState']} {d['runningCount']}/{d['desiredCount']} running"
        for d in dev["deployments"]
    )
    lines += [
        ("ECS dev", f"plog-cluster/plog-api: {_arn_name(deploy['previousTaskDefinitionArn'])} -> "
                    f"{_arn_name(deploy['taskDefinitionArn'])} (revision {deploy['revision']}), "
                    f"{deploy['outcome']} after {deploy['seconds']:.1f} s"),
        ("", f"deployments now: {rollout}"),
    ]
    for event in dev["events"][:2]:
        lines.append(("", f"event: {event}"))
    lines += [
        ("ECS prod", f"plog-prod/plog-api-prod still on {_arn_name(prod['taskDefinition'])}: "
                     "dev never reached prod"),
        ("the app", f"ran from that digest under {runtime}"),
    ]
    if started:
        lines.append(("", f"Spring Boot: Started {started.strip()}"))
    lines += [
        ("", f"GET /actuator/health  {health}"),
        ("", f"GET /hello            {hello}"),
        ("", f"(its log: {w / 'app.out'}, {len(log)} lines)"),
    ]
    for key, value in lines:
        print(f"    {key:<14} {value}")


COMMANDS = {
    "free-port": free_port,
    "ecr-password": ecr_password,
    "wait-http": wait_http,
    "apt-source": apt_source,
    "seed": seed,
    "service": service,
    "container": container,
    "task-env": task_env,
    "image-config": image_config,
    "standin-log": standin_log,
    "summary": summary,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
