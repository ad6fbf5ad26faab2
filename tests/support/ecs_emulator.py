#!/usr/bin/env python3
"""moto_server with an ECS rollout emulator, for hoist's `deploy` tests.

Usage:  python3 tests/support/ecs_emulator.py --port 5000 [--host 127.0.0.1]

Starts moto's server with every service (ECR, Secrets Manager, EC2, ... all on
the one port), after patching moto's ECS backend so that services roll out
like real ECS does. Progress is counted in DescribeServices calls, never in
wall-clock time: every DescribeServices call that names a service advances
that service by exactly one step (before the response is built), so a client
sees every intermediate state, whatever its polling interval.

Services (deploymentController ECS, the default):
  * CreateService: one PRIMARY deployment, rolloutState COMPLETED, running ==
    desired, RUNNING tasks (group "service:NAME", startedBy = deployment id)
    and the events "has started N tasks" and "has reached a steady state".
    Markers in the image are ignored here: a new service is always stable.
  * UpdateService opens a new deployment when the task definition (resolved
    to its ARN) differs from the current one, or forceNewDeployment is set.
    The new one is PRIMARY, IN_PROGRESS, running 0, pending = desired; the
    previous PRIMARY becomes ACTIVE. A desiredCount change without a new
    deployment rescales the PRIMARY at once (if it is COMPLETED).
  * Deployment ids are "ecs-svc/" + 19 digits from a counter; task ids are
    32 hex digits; event ids are UUIDs (all deterministic by call order).

What each DescribeServices call does to an IN_PROGRESS PRIMARY deployment
(the task definition's images decide the behaviour; any container counts):
  normal (no marker): while running < desired: start one task (running +1,
      pending -1) and stop one task of the oldest draining deployment.
      The call after running reached desired: stop what is left of the old
      deployments, remove them, rolloutState COMPLETED ("ECS deployment ID
      completed."), events "(deployment ID) deployment completed." and
      "has reached a steady state." With desired 2 the PRIMARY is COMPLETED
      and alone on the 3rd call.
  image contains "fail-rollout": each call starts one task that stops at
      once (failedTasks +1; a STOPPED task with stoppedReason "Essential
      container in task exited", stopCode EssentialContainerExited; the
      marked container has exitCode 137 and reason "OutOfMemoryError:
      Container killed due to memory usage", the others exitCode 0). The old
      deployment keeps running. When failedTasks reaches the circuit-breaker
      threshold (desired/2 rounded up, at least 3, at most 200) and
      deploymentCircuitBreaker.enable is true: rolloutState FAILED,
      rolloutStateReason "ECS deployment circuit breaker: tasks failed to
      start.", event "(deployment ID) deployment failed: tasks failed to
      start.". Then, with rollback true: the service's taskDefinition goes
      back to the last definition that completed a rollout, a new PRIMARY
      deployment for it is opened in the same call (it rolls out like
      "normal" over the next calls), the event "rolling back to deployment
      OLD-ID." is added, and the failed deployment stays listed with status
      INACTIVE (rolloutState FAILED) until the rollback deployment completes,
      when it is removed with the other old ones. With rollback false the
      failed deployment stays PRIMARY and FAILED and nothing moves any more.
      Without the circuit breaker, failedTasks climbs forever (IN_PROGRESS).
      A rollback deployment never rolls back again.
  image contains "never-stable": like normal, but running stops at
      desired - 1 (at least 0) and the rollout stays IN_PROGRESS forever.
  image contains "throttle-N" (N digits), or the environment variable
      ECS_EMULATOR_THROTTLE_DESCRIBE=N for every deployment: the first N
      DescribeServices calls naming the service after the UpdateService that
      opened the deployment fail with HTTP 400
      {"__type":"ThrottlingException","message":"Rate exceeded"} and do not
      advance anything. (SDK retries are calls too.)

Events are listed newest first (at most 100), each with id, createdAt and
message: "(service NAME) has started 1 tasks: (task ID).", "(service NAME)
has stopped 1 running tasks: (task ID).", "(service NAME) has reached a
steady state.", "(service NAME) (deployment ID) deployment completed.", ...

Tasks: ListTasks honours serviceName (tasks whose group is "service:NAME")
and, as ECS does, lists only desiredStatus RUNNING tasks unless
desiredStatus is given. Drained tasks are STOPPED with stopCode
ServiceSchedulerInitiated and stoppedReason "Scaling activity initiated by
(deployment ID)". Task states do not advance on DescribeTasks (unlike plain
moto). awsvpc task definitions need the service's networkConfiguration
(subnets must exist in moto's EC2), as in ECS.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import math
import os
import re
import sys
import threading
import uuid

from moto.ecs import models as ecs_models
from moto.ecs import responses as ecs_responses
from moto.ec2 import ec2_backends
from moto.ec2.utils import random_private_ip
from moto.core.exceptions import JsonRESTError
from moto.ecs.exceptions import InvalidParameterException

EcsBackend = ecs_models.EC2ContainerServiceBackend

LOCK = threading.RLock()
MAX_EVENTS = 100

FAIL_MARKER = "fail-rollout"
NEVER_MARKER = "never-stable"
THROTTLE_RE = re.compile(r"throttle-(\d+)")
THROTTLE_ENV = "ECS_EMULATOR_THROTTLE_DESCRIBE"

OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
OOM_EXIT_CODE = 137


class ThrottlingException(JsonRESTError):
    """HTTP 400, {"__type":"ThrottlingException","message":"Rate exceeded"}."""

    code = 400

    def __init__(self) -> None:
        super().__init__("ThrottlingException", "Rate exceeded")
        self.content_type = "application/x-amz-json-1.1"


# --- deterministic ids and monotonic timestamps -----------------------------

_counters: dict[str, int] = {}
_last_time = [datetime.datetime(1970, 1, 1)]


def _next(kind: str) -> int:
    _counters[kind] = _counters.get(kind, 0) + 1
    return _counters[kind]


def _deployment_id() -> str:
    return f"ecs-svc/{10**18 + _next('deployment')}"


def _hex(kind: str, n: int, length: int) -> str:
    return hashlib.sha256(f"hoist-ecs-emulator:{kind}:{n}".encode()).hexdigest()[:length]


def _task_id() -> str:
    return _hex("task", _next("task"), 32)


def _uuid(kind: str) -> str:
    return str(uuid.UUID(hex=_hex(kind, _next(kind), 32), version=4))


def _event_id() -> str:
    return _uuid("event")


def _now() -> datetime.datetime:
    """Wall-clock time (naive UTC, as moto uses), strictly increasing by at
    least 1 ms per call so that ordering by createdAt is unambiguous."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    if now <= _last_time[0]:
        now = _last_time[0] + datetime.timedelta(milliseconds=1)
    _last_time[0] = now
    return now


# --- per-service emulator state ---------------------------------------------


def _emu(svc) -> dict:
    state = getattr(svc, "_emu", None)
    if state is None:
        state = {
            "throttle": 0,  # DescribeServices calls still to refuse
            "stable": None,  # (deployment id, task definition ARN) last completed
            "meta": {},  # deployment id -> {"mode", "rollback", "tasks": [task ARNs]}
        }
        svc._emu = state
    return state


def _images(td) -> list[str]:
    return [str(c.get("image") or "") for c in td.container_definitions]


def _mode(td) -> str:
    images = _images(td)
    if any(FAIL_MARKER in i for i in images):
        return "fail"
    if any(NEVER_MARKER in i for i in images):
        return "never"
    return "normal"


def _throttle_budget(td) -> int:
    for image in _images(td):
        m = THROTTLE_RE.search(image)
        if m:
            return int(m.group(1))
    try:
        return max(int(os.environ.get(THROTTLE_ENV, "0")), 0)
    except ValueError:
        return 0


def _event(svc, message: str) -> None:
    svc.events.insert(0, {"id": _event_id(), "createdAt": _now(), "message": message})
    del svc.events[MAX_EVENTS:]


def _tasks_phrase(task_ids: list[str]) -> str:
    return " ".join(f"(task {t})" for t in task_ids)


def _new_deployment(backend, svc, td_arn: str, rollback: bool = False) -> dict:
    td = backend.describe_task_definition(td_arn)
    now = _now()
    dep_id = _deployment_id()
    deployment = {
        "id": dep_id,
        "status": "PRIMARY",
        "taskDefinition": td.arn,
        "desiredCount": svc.desired_count,
        "pendingCount": svc.desired_count,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "launchType": svc.launch_type,
        "platformVersion": svc.platform_version,
        "platformFamily": "EC2" if svc.launch_type == "EC2" else "FARGATE",
        "networkConfiguration": svc.network_configuration or None,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {dep_id} in progress.",
    }
    _emu(svc)["meta"][dep_id] = {"mode": _mode(td), "rollback": rollback, "tasks": []}
    return deployment


def _recount(svc) -> None:
    svc.running_count = sum(d["runningCount"] for d in svc.deployments)
    svc.pending_count = sum(d["pendingCount"] for d in svc.deployments)


def _touch(deployment: dict) -> None:
    deployment["updatedAt"] = _now()


# --- tasks ------------------------------------------------------------------


def _container(td, cdef: dict, task_arn: str):
    c = ecs_models.Container(td)
    c.container_arn = f"{task_arn.replace(':task/', ':container/')}/{_uuid('container')}"
    c.task_arn = task_arn
    c.name = cdef.get("name")
    c.image = cdef.get("image")
    image = str(c.image or "")
    if "@sha256:" in image:
        c.image_digest = image.split("@", 1)[1]
    c.runtime_id = f"{task_arn.rsplit('/', 1)[-1]}-{int(_hex('runtime', _next('runtime'), 8), 16)}"
    c.cpu = str(cdef.get("cpu", 0))
    c.memory = str(cdef["memory"]) if cdef.get("memory") is not None else None
    if cdef.get("memoryReservation") is not None:
        c.memory_reservation = str(cdef["memoryReservation"])
    c.health_status = "UNKNOWN"
    c.last_status = "RUNNING"
    c.exitCode = None
    c.reason = None
    c.network_bindings = []
    return c


def _eni_attachment(backend, task, awsvpc: dict) -> list:
    """An ElasticNetworkInterface attachment like Fargate's, with an ENI
    made in moto's EC2 backend (none if that fails)."""
    try:
        ec2 = ec2_backends[backend.account_id][backend.region_name]
        eni = ec2.create_network_interface(
            subnet=awsvpc["subnets"][0],
            private_ip_address=random_private_ip(),
            group_ids=awsvpc.get("securityGroups") or [],
            description="moto ECS",
        )
        eni.status = "in-use"
        ip = eni.private_ip_address
    except Exception:  # noqa: BLE001 - the attachment is decoration
        return []
    return [
        {
            "id": _uuid("attachment"),
            "type": "ElasticNetworkInterface",
            "status": "ATTACHED",
            "details": [
                {"name": "subnetId", "value": awsvpc["subnets"][0]},
                {"name": "networkInterfaceId", "value": eni.id},
                {"name": "macAddress", "value": getattr(eni, "mac_address", "02:00:00:00:00:00")},
                {"name": "privateDnsName", "value": f"ip-{ip.replace('.', '-')}.{backend.region_name}.compute.internal"},
                {"name": "privateIPv4Address", "value": ip},
            ],
        }
    ]


def _start_task(backend, svc, deployment: dict):
    """A RUNNING task of `deployment` (not yet counted)."""
    cluster = backend._get_cluster(svc.cluster_name)
    td = backend.describe_task_definition(deployment["taskDefinition"])
    net = copy.deepcopy(svc.network_configuration) or None
    if net and "awsvpcConfiguration" in net:
        net["awsvpcConfiguration"].setdefault("securityGroups", [])
    if td.network_mode == "awsvpc" and not net:
        raise InvalidParameterException(
            "Network Configuration must be provided when networkMode 'awsvpc' is specified."
        )
    # moto's own awsvpc path (Task with a networking configuration) breaks
    # in moto 5.2 (NetworkInterface has no private_dns_name), so the task is
    # built as a non-awsvpc one and gets its ENI attachment here.
    shim = copy.copy(td)
    shim.network_mode = "bridge" if td.network_mode == "awsvpc" else td.network_mode
    task = ecs_models.Task(
        cluster=cluster,
        task_definition=shim,
        container_instance_arn=None,
        resource_requirements=None,
        backend=backend,
        group=f"service:{svc.name}",
        launch_type=svc.launch_type or "",
        started_by=deployment["id"],
        networking_configuration=None,
        platform_version=svc.platform_version,
    )
    if td.network_mode == "awsvpc":
        task.network_configuration = net
        task.attachments = _eni_attachment(backend, task, net["awsvpcConfiguration"])
    task.id = _task_id()
    task._transitions = []  # states change only through the emulator
    task.status = "RUNNING"
    task.desired_status = "RUNNING"
    now = _now()
    task.created_at = now
    task.pull_started_at = now
    task.pull_stopped_at = now
    task.started_at = now
    task.connectivity = "CONNECTED"
    task.connectivity_at = now
    task.health_status = "UNKNOWN"
    task.availability_zone = f"{task.region_name}a"
    task.cpu = str(td.cpu) if td.cpu is not None else None
    task.memory = str(td.memory) if td.memory is not None else None
    task.platform_family = "Linux"
    task.version = 1
    task.containers = [_container(td, cdef, task.task_arn) for cdef in td.container_definitions]
    backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task
    return task


def _stop_task(task, stop_code: str, reason: str, failing_images: tuple = ()) -> None:
    now = _now()
    task.status = "STOPPED"
    task.desired_status = "STOPPED"
    task.stop_code = stop_code
    task.stopped_reason = reason
    task.stopping_at = now
    task.execution_stopped_at = now
    task.stopped_at = now
    task.health_status = "UNKNOWN"
    task.version = 3
    for c in task.containers:
        c.last_status = "STOPPED"
        if any(m in str(c.image or "") for m in failing_images):
            c.exitCode = OOM_EXIT_CODE
            c.reason = OOM_REASON
        else:
            c.exitCode = 0


def _task(backend, svc, arn: str):
    return backend.tasks.get(svc.cluster_name, {}).get(arn)


def _drain_one(backend, svc, primary: dict, limit: int | None = 1) -> None:
    """Stops up to `limit` (None: all) running tasks of the non-PRIMARY
    deployments, oldest deployment first, with one event."""
    state = _emu(svc)
    stopped = []
    for deployment in reversed(svc.deployments[1:]):
        meta = state["meta"].get(deployment["id"])
        while deployment["runningCount"] > 0 and (limit is None or len(stopped) < limit):
            arn = meta["tasks"].pop(0) if meta and meta["tasks"] else None
            if arn:
                task = _task(backend, svc, arn)
                if task is not None:
                    _stop_task(
                        task,
                        "ServiceSchedulerInitiated",
                        f"Scaling activity initiated by (deployment {primary['id']})",
                    )
                    stopped.append(task.id)
            deployment["runningCount"] -= 1
            _touch(deployment)
    if stopped:
        _event(
            svc,
            f"(service {svc.name}) has stopped {len(stopped)} running tasks: {_tasks_phrase(stopped)}.",
        )


def _scale_primary(backend, svc, primary: dict) -> None:
    """Brings a COMPLETED PRIMARY to its desiredCount at once."""
    meta = _emu(svc)["meta"].setdefault(primary["id"], {"mode": "normal", "rollback": False, "tasks": []})
    started, stopped = [], []
    while primary["runningCount"] < primary["desiredCount"]:
        task = _start_task(backend, svc, primary)
        meta["tasks"].append(task.task_arn)
        primary["runningCount"] += 1
        started.append(task.id)
    while primary["runningCount"] > primary["desiredCount"]:
        arn = meta["tasks"].pop() if meta["tasks"] else None
        task = _task(backend, svc, arn) if arn else None
        if task is not None:
            _stop_task(task, "ServiceSchedulerInitiated", f"Scaling activity initiated by (service {svc.name})")
            stopped.append(task.id)
        primary["runningCount"] -= 1
    primary["pendingCount"] = 0
    _touch(primary)
    if started:
        _event(svc, f"(service {svc.name}) has started {len(started)} tasks: {_tasks_phrase(started)}.")
    if stopped:
        _event(svc, f"(service {svc.name}) has stopped {len(stopped)} running tasks: {_tasks_phrase(stopped)}.")
    if started or stopped:
        _event(svc, f"(service {svc.name}) has reached a steady state.")


# --- the rollout step ---------------------------------------------------------


def _failure_threshold(desired: int) -> int:
    return min(max(math.ceil(desired / 2), 3), 200)


def _step(backend, svc) -> None:
    """Advances `svc` by one DescribeServices step."""
    if svc.status != "ACTIVE" or not svc.deployments:
        return
    primary = svc.deployments[0]
    if primary.get("status") != "PRIMARY" or primary.get("rolloutState") != "IN_PROGRESS":
        return
    state = _emu(svc)
    meta = state["meta"].setdefault(primary["id"], {"mode": "normal", "rollback": False, "tasks": []})
    desired = primary["desiredCount"]

    if meta["mode"] == "fail":
        task = _start_task(backend, svc, primary)
        _stop_task(
            task,
            "EssentialContainerExited",
            "Essential container in task exited",
            failing_images=(FAIL_MARKER,),
        )
        primary["failedTasks"] += 1
        primary["pendingCount"] = desired
        _touch(primary)
        _event(svc, f"(service {svc.name}) has started 1 tasks: {_tasks_phrase([task.id])}.")
        breaker = (getattr(svc, "deployment_configuration", None) or {}).get("deploymentCircuitBreaker") or {}
        if breaker.get("enable") and primary["failedTasks"] >= _failure_threshold(desired):
            _trip(backend, svc, primary, meta, bool(breaker.get("rollback")))
        _recount(svc)
        return

    target = max(desired - 1, 0) if meta["mode"] == "never" else desired
    if primary["runningCount"] < target:
        task = _start_task(backend, svc, primary)
        meta["tasks"].append(task.task_arn)
        primary["runningCount"] += 1
        primary["pendingCount"] = desired - primary["runningCount"]
        _touch(primary)
        _event(svc, f"(service {svc.name}) has started 1 tasks: {_tasks_phrase([task.id])}.")
        _drain_one(backend, svc, primary, 1)
        _recount(svc)
        return
    if meta["mode"] == "never":
        return

    # running == desired since the previous call: finish.
    _drain_one(backend, svc, primary, None)
    for old in svc.deployments[1:]:
        state["meta"].pop(old["id"], None)
    del svc.deployments[1:]
    primary["pendingCount"] = 0
    primary["rolloutState"] = "COMPLETED"
    primary["rolloutStateReason"] = f"ECS deployment {primary['id']} completed."
    _touch(primary)
    state["stable"] = (primary["id"], primary["taskDefinition"])
    _event(svc, f"(service {svc.name}) (deployment {primary['id']}) deployment completed.")
    _event(svc, f"(service {svc.name}) has reached a steady state.")
    _recount(svc)


def _trip(backend, svc, primary: dict, meta: dict, rollback: bool) -> None:
    primary["rolloutState"] = "FAILED"
    primary["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
    primary["pendingCount"] = 0
    _touch(primary)
    _event(
        svc,
        f"(service {svc.name}) (deployment {primary['id']}) deployment failed: tasks failed to start.",
    )
    stable = _emu(svc)["stable"]
    if not rollback or meta["rollback"] or stable is None:
        return
    stable_id, stable_td = stable
    primary["status"] = "INACTIVE"
    back = _new_deployment(backend, svc, stable_td, rollback=True)
    svc.deployments.insert(0, back)
    svc.task_definition = stable_td
    _event(svc, f"(service {svc.name}) rolling back to deployment {stable_id}.")


# --- patched backend methods ---------------------------------------------------

_orig_create_service = EcsBackend.create_service
_orig_update_service = EcsBackend.update_service
_orig_describe_services = EcsBackend.describe_services
_orig_list_tasks = EcsBackend.list_tasks
_orig_describe_tasks = EcsBackend.describe_tasks
_orig_response_create_service = ecs_responses.EC2ContainerServiceResponse.create_service


def create_service(self, *args, **kwargs):
    with LOCK:
        svc = _orig_create_service(self, *args, **kwargs)
        try:
            return _set_up_service(self, svc)
        except Exception:
            # e.g. an awsvpc task definition without networkConfiguration:
            # refuse the service as ECS does instead of keeping half of it.
            self.services.pop(f"{svc.cluster_name}:{svc.name}", None)
            raise


def _set_up_service(backend, svc):
    """A new service's stable first deployment, its tasks and events."""
    svc.created_at = _now()
    if not getattr(svc, "deployment_configuration", None):
        svc.deployment_configuration = {
            "deploymentCircuitBreaker": {"enable": False, "rollback": False},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        }
    if svc.deployment_controller.get("type") != "ECS" or not svc.task_definition:
        return svc
    deployment = _new_deployment(backend, svc, svc.task_definition)
    svc.deployments = [deployment]
    _scale_primary(backend, svc, deployment)
    deployment["rolloutState"] = "COMPLETED"
    deployment["rolloutStateReason"] = f"ECS deployment {deployment['id']} completed."
    _emu(svc)["stable"] = (deployment["id"], deployment["taskDefinition"])
    _recount(svc)
    return svc


def update_service(self, service_properties):
    with LOCK:
        props = dict(service_properties)
        cluster_str = props.get("cluster") or "default"
        svc = self._get_service(cluster_str, props["service"].split("/")[-1])
        force = bool(props.pop("force_new_deployment", False))
        td_str = props.get("task_definition")
        new_td = self.describe_task_definition(td_str).arn if td_str else svc.task_definition
        old_td = svc.task_definition
        svc = _orig_update_service(self, props)
        svc.task_definition = new_td
        if svc.deployment_controller.get("type") != "ECS" or not svc.deployments:
            _recount(svc)
            return svc
        if new_td != old_td or force:
            for d in svc.deployments:
                if d["status"] == "PRIMARY":
                    d["status"] = "ACTIVE"
                    d["pendingCount"] = 0
                    _touch(d)
            deployment = _new_deployment(self, svc, new_td)
            svc.deployments.insert(0, deployment)
            _emu(svc)["throttle"] = _throttle_budget(self.describe_task_definition(new_td))
        else:
            primary = svc.deployments[0]
            if primary["desiredCount"] != svc.desired_count:
                primary["desiredCount"] = svc.desired_count
                if primary["rolloutState"] == "COMPLETED":
                    _scale_primary(self, svc, primary)
                else:
                    primary["pendingCount"] = max(svc.desired_count - primary["runningCount"], 0)
                    _touch(primary)
        _recount(svc)
        return svc


def describe_services(self, cluster_str, service_names_or_arns):
    with LOCK:
        services, failures = _orig_describe_services(self, cluster_str, service_names_or_arns)
        throttled = [s for s in services if _emu(s)["throttle"] > 0]
        if throttled:
            for s in throttled:
                _emu(s)["throttle"] -= 1
            raise ThrottlingException()
        for svc in services:
            _step(self, svc)
        return services, failures


def list_tasks(
    self,
    cluster_str=None,
    container_instance=None,
    family=None,
    started_by=None,
    service_name=None,
    desiredStatus=None,
):
    with LOCK:
        tasks = _orig_list_tasks(
            self,
            cluster_str,
            container_instance,
            family,
            started_by,
            None,
            desiredStatus or "RUNNING",
        )
        if service_name:
            name = service_name.split("/")[-1]
            tasks = [t for t in tasks if t.group == f"service:{name}"]
        return tasks


def _describe_tasks_locked(self, cluster_str, tasks):
    with LOCK:
        return _orig_describe_tasks(self, cluster_str, tasks)


def response_create_service(self):
    with LOCK:
        result = _orig_response_create_service(self)
        config = self._get_param("deploymentConfiguration")
        if config:
            svc = result.result["service"]
            merged = {
                "deploymentCircuitBreaker": {"enable": False, "rollback": False},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
            }
            merged.update(config)
            svc.deployment_configuration = merged
        return result


def install() -> None:
    EcsBackend.create_service = create_service
    EcsBackend.update_service = update_service
    EcsBackend.describe_services = describe_services
    EcsBackend.list_tasks = list_tasks
    EcsBackend.describe_tasks = _describe_tasks_locked
    ecs_responses.EC2ContainerServiceResponse.create_service = response_create_service


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    install()
    from moto.server import main as moto_main

    moto_main(["-H", args.host, "-p", str(args.port)])


if __name__ == "__main__":
    main(sys.argv[1:])
