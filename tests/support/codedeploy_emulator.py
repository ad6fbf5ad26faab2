#!/usr/bin/env python3
"""CodeDeploy (Amazon ECS compute platform) on moto, for hoist's deploy tests.

Installed next to the ECS emulator (tests/support/ecs_emulator.py), in its
install():

    import codedeploy_emulator; codedeploy_emulator.install(lock=LOCK)

It patches moto's CodeDeploy responses (moto/codedeploy/) so that services
whose deploymentController is CODE_DEPLOY can be deployed through the real
wire protocol (awsJson1_1, X-Amz-Target CodeDeploy_20141006.<Op>), following
the AWS CodeDeploy API Reference
(https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_<Op>.html)
and the CodeDeploy User Guide pages named at each behaviour below.

Every timestamp in every response of the operations below is an epoch-seconds
number (the Smithy model's Timestamp on awsJson1_1; moto 5.2.1 returned ISO
strings, which the Rust SDK cannot parse).

CreateDeploymentGroup (ECS applications):
  * ecsServices [{serviceName, clusterName}] is required and kept; the
    service must exist in moto's ECS and have deploymentController
    CODE_DEPLOY, else InvalidECSServiceException ("Deployment group's ECS
    service must be configured for a CODE_DEPLOY deployment controller.",
    the message AWS gives); a service already in another deployment group:
    ECSServiceMappingLimitExceededException.
  * deploymentConfigName defaults to CodeDeployDefault.ECSAllAtOnce.
GetDeploymentGroup / BatchGetDeploymentGroups: the group as created
  (ecsServices, autoRollbackConfiguration, deploymentStyle,
  blueGreenDeploymentConfiguration, loadBalancerInfo, alarmConfiguration ...)
  plus lastAttemptedDeployment / lastSuccessfulDeployment / targetRevision.

CreateDeployment (ECS applications; other platforms keep moto's behaviour):
  * application / group must exist (moto's ApplicationDoesNotExistException,
    DeploymentGroupDoesNotExistException, DeploymentGroupNameRequiredException);
    no revision: RevisionRequiredException.
  * revision must be {revisionType "AppSpecContent", appSpecContent {content,
    sha256?}}; a sha256 that is not the content's: InvalidRevisionException.
  * the content is parsed as JSON, else as YAML (PyYAML; without it a YAML
    AppSpec is refused with a message saying so) and checked as the ECS
    AppSpec (see _validate_appspec: version 0.0, exactly one resource of Type
    AWS::ECS::Service, Properties.TaskDefinition = a registered ACTIVE task
    definition ARN of this account/region, LoadBalancerInfo.ContainerName =
    a container of it, LoadBalancerInfo.ContainerPort = a number that is a
    containerPort of that container's portMappings, optional PlatformVersion,
    NetworkConfiguration (all or none), CapacityProviderStrategy, Hooks naming
    ECS hook events only). Anything wrong: InvalidRevisionException saying
    what. Keys are matched case-insensitively.
  * another deployment of the group (a rollback included) not yet Succeeded/
    Failed/Stopped: DeploymentLimitExceededException ("The Deployment Group
    'G' already has an active Deployment 'd-...'").
  * deployment ids are "d-" + 9 of [0-9A-Z], deterministic by call order.
  * the revision is registered with the application (GetApplicationRevision
    gives the content back, by sha256).

Progress is counted in GetDeployment calls (BatchGetDeployments counts as one
call for each deployment it names), never in wall-clock time. Call k on a
deployment shows:
   1  status Created, every lifecycle event Pending
   2  InProgress (startTime); BeforeInstall InProgress. The ECS service is
      checked here: gone, or not CODE_DEPLOY any more -> status Failed,
      errorInformation {code INVALID_ECS_SERVICE, ...}
 3-9  the InProgress event Succeeds and the next one starts, in the order
      BeforeInstall, Install, AfterInstall, AllowTestTraffic,
      AfterAllowTestTraffic, BeforeAllowTraffic, AllowTraffic,
      AfterAllowTraffic. When AllowTraffic Succeeds (call 9) the ECS service's
      taskDefinition becomes the AppSpec's (DescribeServices shows it).
  10  AfterAllowTraffic Succeeds; status Succeeded, completeTime.
Markers (the images of the AppSpec's task definition; any container counts):
  "fail-rollout": on call 7 AfterAllowTestTraffic ends Failed (diagnostics
      errorCode ScriptFailed), the later events are Skipped, the deployment is
      Failed with errorInformation {code HOOK_EXECUTION_FAILURE, message "The
      deployment failed because one or more of the lifecycle event validation
      functions failed."}. The service keeps its task definition. If the
      effective autoRollbackConfiguration (CreateDeployment's, else the
      group's) is enabled with DEPLOYMENT_FAILURE, a rollback deployment is
      created in the same call: rollbackInfo {rollbackDeploymentId,
      rollbackMessage} on the failed one; the rollback has creator
      codeDeployRollback, rollbackInfo {rollbackTriggeringDeploymentId,
      rollbackMessage}, deploys the service's previous task definition and
      progresses like any deployment (its own GetDeployment calls) to
      Succeeded. A rollback never fails and never rolls back.

StopDeployment(deploymentId, autoRollbackEnabled):
  * Created/InProgress: stops at once -> {"status": "Succeeded",
    "statusMessage": "No more commands will be scheduled for execution in the
    deployment instances"}; the deployment is Stopped (completeTime,
    errorInformation {code MANUAL_STOP}), the InProgress event Failed, the
    Pending ones Skipped. Except when the InProgress event is a hook the
    AppSpec names a function for: {"status": "Pending", "statusMessage":
    "Stopping Pending. Stopping to schedule commands in the deployment
    instances"}, the deployment stays InProgress until the next GetDeployment
    call, where the hook event Succeeds and the stop takes effect; more
    StopDeployment calls meanwhile answer Pending again.
  * rollback when autoRollbackEnabled is true, or (not given) the effective
    autoRollbackConfiguration is enabled with DEPLOYMENT_STOP_ON_REQUEST; it
    needs the replacement task set (Install started), else rollbackInfo has
    only a rollbackMessage saying there is nothing to roll back.
  * Stopped already: {"status": "Succeeded", ...} again; Succeeded or Failed:
    DeploymentAlreadyCompletedException. Unknown id:
    DeploymentDoesNotExistException; badly formed: InvalidDeploymentIdException.
ListDeploymentTargets -> {"targetIds": ["<cluster>:<service>"]};
GetDeploymentTarget / BatchGetDeploymentTargets -> ecsTarget {deploymentId,
  targetId, targetArn (service ARN), lastUpdatedAt, status, lifecycleEvents,
  taskSetsInfo (Blue = original, Green = replacement from Install on)}. Both
  raise DeploymentNotStartedException while the deployment is Created, and do
  not advance anything.
GetApplicationRevision(applicationName, revision {revisionType AppSpecContent,
  appSpecContent {sha256}}) -> the content. GetDeployment's revision carries
  only the sha256: "The content property of the appSpecContent object in the
  returned revision is always null" (API_GetDeployment.html).
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import re
import threading

from moto.codedeploy import responses as cd_responses
from moto.core.exceptions import JsonRESTError
from moto.ecs.models import ecs_backends

Response = cd_responses.CodeDeployResponse

CONTENT_TYPE = "application/x-amz-json-1.1"
FAIL_MARKER = "fail-rollout"

# CodeDeploy User Guide, deployment-steps-ecs.html, "What happens during an
# Amazon ECS deployment": the lifecycle events "listed in the order they
# execute".
ECS_EVENTS = (
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
)
# User Guide, reference-appspec-file-structure-hooks.html (ECS): the events a
# Lambda function can be attached to; "The Start, Install, TestTraffic,
# AllowTraffic, and End events in the deployment cannot be scripted".
ECS_HOOKS = ("BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic")
# API_DeploymentInfo.html: DeploymentStatus; these three are final (botocore
# waiter DeploymentSuccessful stops on them).
TERMINAL = ("Succeeded", "Failed", "Stopped")
DEPLOYMENT_ID_RE = re.compile(r"^d-[0-9A-Z]{9}$")
TASK_DEFINITION_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:ecs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):task-definition/"
    r"(?P<family>[A-Za-z0-9_-]{1,255})(?::(?P<revision>\d+))?$"
)

_LOCK = [threading.RLock()]
_counters: dict[str, int] = {}
_last_time = [0.0]


def _lock():
    return _LOCK[0]


# --- errors (API Reference, "Errors" of each operation; all HTTP 400) --------


class _Error(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__(type(self).__name__, message)
        self.content_type = CONTENT_TYPE


class ApplicationNameRequiredException(_Error):
    """API_CreateDeployment.html: "The minimum number of required application names was not specified." """


class ApplicationDoesNotExistException(_Error):
    """API_CreateDeployment.html: "The application does not exist with the user or AWS account." """


class DeploymentGroupNameRequiredException(_Error):
    """API_CreateDeployment.html: "The deployment group name was not specified." """


class DeploymentGroupDoesNotExistException(_Error):
    """API_CreateDeployment.html: "The named deployment group with the user or AWS account does not exist." """


class InvalidRevisionException(_Error):
    """API_CreateDeployment.html: "The revision was specified in an invalid format." """


class RevisionRequiredException(_Error):
    """API_CreateDeployment.html: "The revision ID was not specified." """


class RevisionDoesNotExistException(_Error):
    """API_GetApplicationRevision.html: "The named revision does not exist with the user or AWS account." """


class DeploymentLimitExceededException(_Error):
    """API_CreateDeployment.html: "The number of allowed deployments was exceeded." """


class InvalidECSServiceException(_Error):
    """API_CreateDeploymentGroup.html: "The Amazon ECS service identifier is not valid." """


class ECSServiceMappingLimitExceededException(_Error):
    """API_CreateDeploymentGroup.html: an ECS service can be in one deployment group only."""


class DeploymentAlreadyCompletedException(_Error):
    """API_StopDeployment.html: "The deployment is already complete." """


class DeploymentIdRequiredException(_Error):
    """API_GetDeployment.html: "At least one deployment ID must be specified." """


class InvalidDeploymentIdException(_Error):
    """API_GetDeployment.html: "At least one of the deployment IDs was specified in an invalid format." """


class DeploymentNotStartedException(_Error):
    """API_ListDeploymentTargets.html: "The specified deployment has not started." """


class DeploymentTargetIdRequiredException(_Error):
    """API_GetDeploymentTarget.html: "A deployment target ID was not provided." """


class DeploymentTargetDoesNotExistException(_Error):
    """API_GetDeploymentTarget.html: "The provided target ID does not belong to the attempted deployment." """


class InvalidTargetFilterNameException(_Error):
    """API_ListDeploymentTargets.html: "The target filter name is invalid." """


# --- ids and time ------------------------------------------------------------


def _next(kind: str) -> int:
    _counters[kind] = _counters.get(kind, 0) + 1
    return _counters[kind]


def _digest(kind: str, n: int) -> int:
    return int(hashlib.sha256(f"hoist-codedeploy-emulator:{kind}:{n}".encode()).hexdigest(), 16)


def _new_deployment_id(taken) -> str:
    """API_CreateDeployment.html: deploymentId, "d-" + 9 characters of
    [0-9A-Z] as AWS issues them (e.g. d-A1B2C3D4E); deterministic."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    while True:
        h = _digest("deployment", _next("deployment"))
        chars = []
        for _ in range(9):
            h, r = divmod(h, 36)
            chars.append(alphabet[r])
        deployment_id = "d-" + "".join(chars)
        if deployment_id not in taken:
            return deployment_id


def _task_set_id() -> str:
    """ECS task set ids look like deployment ids: ecs-svc/ + 19 digits."""
    return f"ecs-svc/{10**18 + _digest('task-set', _next('task-set')) % (9 * 10**18)}"


def _now() -> float:
    """Epoch seconds (ms precision), strictly increasing by at least 1 ms."""
    now = round(datetime.datetime.now(datetime.timezone.utc).timestamp(), 3)
    if now <= _last_time[0]:
        now = round(_last_time[0] + 0.001, 3)
    _last_time[0] = now
    return now


def _epoch(value) -> float | None:
    """A moto datetime (naive UTC) or ISO string as epoch seconds."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return round(value.timestamp(), 3)


def _naive(ts: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).replace(tzinfo=None)


def _json(body: dict):
    """awsJson1_1 response body (API Reference "Response Syntax")."""
    return json.dumps(_prune(body)), {"status": 200, "Content-Type": CONTENT_TYPE}


def _prune(value):
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _param(self, name: str, default=None):
    try:
        body = json.loads(self.body or "{}")
    except (TypeError, ValueError):
        body = {}
    if isinstance(body, dict) and name in body:
        return body[name]
    return default


def _ecs(self):
    return ecs_backends[self.current_account][self.region]


# --- AppSpec -------------------------------------------------------------------


def _get(mapping: dict, key: str):
    """AppSpec keys, case-insensitively (the User Guide writes 'resources'/'type'
    for Lambda and 'Resources'/'Type' for ECS; aws-actions/amazon-ecs-deploy-
    task-definition reads them case-insensitively)."""
    for k, v in mapping.items():
        if isinstance(k, str) and k.lower() == key.lower():
            return v
    return None


def _bad(message: str):
    return InvalidRevisionException(f"The AppSpec file is not valid: {message}")


def _parse_appspec(content: str) -> dict:
    """API_AppSpecContent.html: content is "The YAML-formatted or
    JSON-formatted revision string"."""
    try:
        doc = json.loads(content)
    except ValueError as json_error:
        try:
            import yaml  # noqa: PLC0415 - optional
        except ImportError:
            raise InvalidRevisionException(
                f"The AppSpec content is not JSON ({json_error}) and the emulator cannot read YAML: "
                "PyYAML is not installed in its Python (pip install pyyaml)"
            ) from None
        try:
            doc = yaml.safe_load(content)
        except yaml.YAMLError as yaml_error:
            raise InvalidRevisionException(
                f"The AppSpec content is neither JSON nor YAML: {yaml_error}"
            ) from None
    if not isinstance(doc, dict):
        raise _bad("the content must be a JSON object or a YAML mapping")
    return doc


def _validate_appspec(doc: dict, ecs, account: str, region: str) -> dict:
    """User Guide, reference-appspec-file-structure-resources.html ("AppSpec
    'resources' section for Amazon ECS deployments") and
    reference-appspec-file-structure-hooks.html (ECS hooks)."""
    # reference-appspec-file-structure-version.html: "Currently the only
    # allowed value is 0.0".
    version = _get(doc, "version")
    if version is None:
        raise _bad("'version' is missing (it must be 0.0)")
    if isinstance(version, bool) or not (
        (isinstance(version, (int, float)) and version == 0) or version == "0.0"
    ):
        raise _bad(f"'version' is {version!r}; the only allowed value is 0.0")

    resources = _get(doc, "Resources")
    if not isinstance(resources, list) or len(resources) != 1:
        raise _bad("'Resources' must be a list with exactly one target service (- TargetService: ...)")
    entry = resources[0]
    if not isinstance(entry, dict) or len(entry) != 1:
        raise _bad("each 'Resources' entry must be a mapping with one key, e.g. TargetService")
    name, target = next(iter(entry.items()))
    if not isinstance(target, dict):
        raise _bad(f"Resources[0].{name} must be a mapping with Type and Properties")
    if _get(target, "Type") != "AWS::ECS::Service":
        raise _bad(f"Resources[0].{name}.Type is {_get(target, 'Type')!r}; an ECS deployment needs AWS::ECS::Service")
    props = _get(target, "Properties")
    if not isinstance(props, dict):
        raise _bad(f"Resources[0].{name}.Properties is missing")
    where = f"Resources[0].{name}.Properties"

    # "Each property is specified with a string except for ContainerPort,
    # which is a number."  TaskDefinition: "Required ... specified with the
    # ARN of the task definition".
    td_arn = _get(props, "TaskDefinition")
    if not isinstance(td_arn, str) or not td_arn:
        raise _bad(f"{where}.TaskDefinition (the task definition ARN) is missing")
    m = TASK_DEFINITION_ARN_RE.match(td_arn)
    if not m:
        raise _bad(
            f"{where}.TaskDefinition {td_arn!r} is not a task definition ARN "
            "(arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION)"
        )
    if m["region"] != region or m["account"] != account:
        raise _bad(f"{where}.TaskDefinition {td_arn!r} is not in this account and Region ({account}, {region})")
    revisions = ecs.task_definitions.get(m["family"], {})
    if m["revision"]:
        td = revisions.get(int(m["revision"]))
    else:
        # API_CreateService.html (taskDefinition): without a revision "the
        # latest ACTIVE revision is used".
        active = [r for r, t in revisions.items() if t.status == "ACTIVE"]
        td = revisions[max(active)] if active else None
    if td is None:
        raise _bad(f"{where}.TaskDefinition {td_arn!r} is not a registered task definition")
    if td.status != "ACTIVE":
        raise _bad(f"{where}.TaskDefinition {td_arn!r} is {td.status}, not ACTIVE")

    lb = _get(props, "LoadBalancerInfo")
    if not isinstance(lb, dict):
        raise _bad(f"{where}.LoadBalancerInfo (ContainerName, ContainerPort) is missing")
    container_name = _get(lb, "ContainerName")
    if not isinstance(container_name, str) or not container_name:
        raise _bad(f"{where}.LoadBalancerInfo.ContainerName is missing")
    # "ContainerName ... must be a container specified in your Amazon ECS task definition"
    containers = {c.get("name"): c for c in td.container_definitions}
    if container_name not in containers:
        raise _bad(
            f"{where}.LoadBalancerInfo.ContainerName {container_name!r} is not a container of {td.arn} "
            f"(containers: {', '.join(sorted(str(n) for n in containers))})"
        )
    container_port = _get(lb, "ContainerPort")
    if isinstance(container_port, bool) or not isinstance(container_port, int):
        raise _bad(f"{where}.LoadBalancerInfo.ContainerPort must be a number, not {container_port!r}")
    ports = [p.get("containerPort") for p in containers[container_name].get("portMappings") or []]
    if container_port not in ports:
        raise _bad(
            f"{where}.LoadBalancerInfo.ContainerPort {container_port} is not a containerPort of "
            f"container {container_name!r} in {td.arn} (portMappings: {ports})"
        )

    platform_version = _get(props, "PlatformVersion")
    if platform_version is not None and not isinstance(platform_version, str):
        raise _bad(f"{where}.PlatformVersion must be a string")
    network = _get(props, "NetworkConfiguration")
    if network is not None:
        # "All or none of the settings under NetworkConfiguration must be specified."
        awsvpc = _get(network, "AwsvpcConfiguration") if isinstance(network, dict) else None
        if not isinstance(awsvpc, dict):
            raise _bad(f"{where}.NetworkConfiguration.AwsvpcConfiguration is missing")
        subnets, groups, public = (_get(awsvpc, k) for k in ("Subnets", "SecurityGroups", "AssignPublicIp"))
        if not (isinstance(subnets, list) and subnets and isinstance(groups, list) and public is not None):
            raise _bad(
                f"{where}.NetworkConfiguration: all or none of Subnets, SecurityGroups and AssignPublicIp "
                "must be specified"
            )
        if public not in ("ENABLED", "DISABLED"):
            raise _bad(f"{where}.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp must be ENABLED or DISABLED")
    strategy = _get(props, "CapacityProviderStrategy")
    if strategy is not None and (
        not isinstance(strategy, list)
        or not all(isinstance(s, dict) and isinstance(_get(s, "CapacityProvider"), str) for s in strategy)
    ):
        raise _bad(f"{where}.CapacityProviderStrategy must be a list of {{CapacityProvider, Base, Weight}}")

    hooks: dict[str, str] = {}
    raw_hooks = _get(doc, "Hooks")
    if raw_hooks is not None:
        if not isinstance(raw_hooks, list):
            raise _bad("'Hooks' must be a list of - EventName: lambda-function")
        for hook in raw_hooks:
            if not isinstance(hook, dict) or len(hook) != 1:
                raise _bad("each 'Hooks' entry must be one EventName: lambda-function")
            event, function = next(iter(hook.items()))
            canonical = next((h for h in ECS_HOOKS if h.lower() == str(event).lower()), None)
            if canonical is None:
                raise _bad(f"hook {event!r} is not an Amazon ECS lifecycle event hook ({', '.join(ECS_HOOKS)})")
            if not isinstance(function, str) or not function:
                raise _bad(f"hook {canonical} must name a Lambda function")
            hooks[canonical] = function

    images = [str(c.get("image") or "") for c in td.container_definitions]
    return {
        "task_definition": td.arn,
        "hooks": hooks,
        "fail": any(FAIL_MARKER in i for i in images),
    }


# --- state ---------------------------------------------------------------------


def _app_revisions(app) -> dict:
    if not hasattr(app, "_emu_revisions"):
        app._emu_revisions = {}
    return app._emu_revisions


def _register_revision(app, content: str, sha: str, group_name: str | None, description: str | None) -> None:
    now = _now()
    rev = _app_revisions(app).setdefault(
        sha, {"content": content, "register": now, "first": None, "last": None, "groups": [], "description": description}
    )
    if group_name:
        rev["first"] = rev["first"] or now
        rev["last"] = now
        if group_name not in rev["groups"]:
            rev["groups"].append(group_name)


def _revision_ref(sha: str | None) -> dict | None:
    """API_GetDeployment.html: "The content property of the appSpecContent
    object in the returned revision is always null."  Only sha256 is kept."""
    if not sha:
        return None
    return {"revisionType": "AppSpecContent", "appSpecContent": {"sha256": sha}}


def _service(ecs, cluster: str, service: str):
    for svc in ecs.services.values():
        if svc.cluster_name == cluster.split("/")[-1] and service in (svc.name, svc.arn):
            return svc
    return None


def _group_services(group) -> list[dict]:
    return [s for s in (getattr(group, "ecs_services", None) or []) if isinstance(s, dict)]


def _effective_rollback(dep) -> dict:
    """API_CreateDeployment.html autoRollbackConfiguration: "Configuration
    information for an automatic rollback that is added when a deployment is
    created" (overrides the group's)."""
    return dep._emu["auto_rollback"] or {}


def _rolls_back_on(dep, event: str) -> bool:
    cfg = _effective_rollback(dep)
    return bool(cfg.get("enabled")) and event in (cfg.get("events") or [])


def _set_status(dep, status: str) -> None:
    dep._emu["status"] = status
    dep.status = status  # moto's ListDeployments filters on it
    dep._emu["updated"] = _now()


def _new_ecs_deployment(backend, app, group, revision: dict | None, spec: dict, *, sha, description, auto_rollback,
                        override_alarm, rollback_of=None, deployment_config_name=None) -> str:
    """Creates moto's DeploymentInfo (so ListDeployments sees it) under an
    AWS-style id, with the emulator's state in ._emu."""
    moto_id = backend.create_deployment(
        app.application_name,
        group.deployment_group_name,
        revision or {},
        deployment_config_name=deployment_config_name or None,
        description=description,
    )
    dep = backend.deployments.pop(moto_id)
    dep_id = _new_deployment_id(backend.deployments)
    dep.deployment_id = dep_id
    backend.deployments[dep_id] = dep
    if rollback_of:
        # API_DeploymentInfo.html creator: "codeDeployRollback: A rollback
        # process created the deployment."
        dep.creator = "codeDeployRollback"
    now = _now()
    dep.create_time = _naive(now)
    services = _group_services(group)
    cluster = services[0].get("clusterName", "default") if services else "default"
    service = services[0].get("serviceName", "") if services else ""
    target_groups = []
    for pair in (getattr(group, "load_balancer_info", None) or {}).get("targetGroupPairInfoList") or []:
        target_groups = [g.get("name") for g in pair.get("targetGroups") or []]
        break
    dep._emu = {
        "status": "Created",
        "calls": 0,
        "create": now,
        "start": None,
        "complete": None,
        "updated": now,
        "events": [{"name": n, "status": "Pending", "start": None, "end": None, "diagnostics": None} for n in ECS_EVENTS],
        "cluster": cluster,
        "service": service,
        "target_id": f"{cluster}:{service}",
        "target_td": spec["task_definition"],
        "original_td": None,
        "hooks": spec["hooks"],
        "fail": spec["fail"] and not rollback_of,
        "sha256": sha,
        "previous_sha256": getattr(group, "_emu_last_successful_sha", None),
        "rollback_of": rollback_of,
        "rollback_info": None,
        "error": None,
        "stop_pending": None,
        "shifted": False,
        "blue_id": _task_set_id(),
        "green_id": _task_set_id(),
        "target_groups": target_groups,
        "auto_rollback": copy.deepcopy(
            auto_rollback if auto_rollback is not None else getattr(group, "auto_rollback_configuration", None)
        ),
        "override_alarm": override_alarm,
    }
    group._emu_last_attempted = dep_id
    return dep_id


def _event(dep, name: str) -> dict:
    return next(e for e in dep._emu["events"] if e["name"] == name)


def _current(dep) -> dict | None:
    return next((e for e in dep._emu["events"] if e["status"] == "InProgress"), None)


def _finish(dep, status: str) -> None:
    emu = dep._emu
    now = _now()
    emu["complete"] = now
    dep.complete_time = _naive(now)
    _set_status(dep, status)


def _close_events(dep, in_progress_status: str) -> None:
    now = _now()
    for ev in dep._emu["events"]:
        if ev["status"] == "InProgress":
            ev["status"] = in_progress_status
            ev["end"] = now
        elif ev["status"] == "Pending":
            ev["status"] = "Skipped"


def _roll_back(backend, dep, verb: str) -> None:
    """User Guide deployments-rollback-and-redeploy.html: "CodeDeploy rolls
    back deployments by redeploying a previously deployed revision of an
    application as a new deployment ... technically new deployments, with new
    deployment IDs". deployment-steps-ecs.html: "CodeDeploy implements
    rollbacks by rerouting traffic from the replacement task set to the
    original task set."  API_RollbackInfo.html: rollbackDeploymentId,
    rollbackTriggeringDeploymentId, rollbackMessage (the wording follows the
    messages CodeDeploy gives, "Deployment d-X terminated. Automatic rollback
    is triggered with a DeploymentId d-Y.")."""
    emu = dep._emu
    if emu["original_td"] is None or _event(dep, "Install")["status"] in ("Pending", "Skipped"):
        # hooks doc, BeforeInstall: "A rollback is not possible at this point."
        emu["rollback_info"] = {
            "rollbackMessage": f"Deployment {dep.deployment_id} {verb} before the replacement task set was "
            "created; there is nothing to roll back."
        }
        return
    app = dep.application
    group = dep.deployment_group
    prev = emu["previous_sha256"]
    rollback_id = _new_ecs_deployment(
        backend,
        app,
        group,
        _revision_ref(prev),
        {"task_definition": emu["original_td"], "hooks": {}, "fail": False},
        sha=prev,
        description=None,
        auto_rollback=emu["auto_rollback"],
        override_alarm=None,
        rollback_of=dep.deployment_id,
        deployment_config_name=dep.deployment_config_name,
    )
    emu["rollback_info"] = {
        "rollbackDeploymentId": rollback_id,
        "rollbackMessage": f"Deployment {dep.deployment_id} {verb}. Automatic rollback is triggered with a "
        f"DeploymentId {rollback_id}.",
    }
    backend.deployments[rollback_id]._emu["rollback_info"] = {
        "rollbackTriggeringDeploymentId": dep.deployment_id,
        "rollbackMessage": f"Deployment {rollback_id} is triggered to roll back deployment {dep.deployment_id}.",
    }


def _apply_stop(backend, dep, rollback: bool) -> None:
    """User Guide deployment-steps-ecs.html, "Stopped and failed deployments":
    "no more deployment lifecycle events are run on the deployment group for
    the stopped deployment"."""
    emu = dep._emu
    emu["stop_pending"] = None
    _close_events(dep, "Failed")
    # API_ErrorInformation.html: code MANUAL_STOP.
    emu["error"] = {"code": "MANUAL_STOP", "message": "The deployment was stopped by a StopDeployment request."}
    _finish(dep, "Stopped")
    if rollback:
        _roll_back(backend, dep, "terminated")


def _step(backend, ecs, dep) -> None:
    """One GetDeployment call's worth of progress (see the module docstring)."""
    emu = dep._emu
    if emu["status"] in TERMINAL:
        return
    emu["calls"] += 1
    if emu["calls"] == 1:
        return  # the first call sees Created
    now = _now()
    emu["updated"] = now

    if emu["status"] == "Created":
        _set_status(dep, "InProgress")
        emu["start"] = now
        dep.start_time = _naive(now)
        svc = _service(ecs, emu["cluster"], emu["service"])
        if svc is None or svc.status != "ACTIVE" or (svc.deployment_controller or {}).get("type") != "CODE_DEPLOY":
            # API_ErrorInformation.html ErrorCode INVALID_ECS_SERVICE (the
            # CreateDeployment API lists no error for it; CreateDeploymentGroup
            # raises InvalidECSServiceException with this message).
            message = (
                f"The ECS service {emu['service']} in cluster {emu['cluster']} does not exist."
                if svc is None or svc.status != "ACTIVE"
                else "Deployment group's ECS service must be configured for a CODE_DEPLOY deployment controller."
            )
            emu["error"] = {"code": "INVALID_ECS_SERVICE", "message": message}
            _close_events(dep, "Failed")
            _finish(dep, "Failed")
            return
        emu["original_td"] = svc.task_definition
        first = emu["events"][0]
        first["status"], first["start"] = "InProgress", now
        return

    current = _current(dep)
    if current is None:
        return
    if emu["fail"] and current["name"] == "AfterAllowTestTraffic":
        # deployment-steps-ecs.html, AfterAllowTestTraffic: "If validation
        # fails and rollbacks are configured, the deployment status is marked
        # Failed and components return to their state when the deployment
        # started."  ErrorCode HOOK_EXECUTION_FAILURE, message as CodeDeploy
        # words it.
        hook = emu["hooks"].get("AfterAllowTestTraffic")
        current["diagnostics"] = {
            "errorCode": "ScriptFailed",
            "scriptName": hook,
            "message": "The lifecycle event hook reported Failed (PutLifecycleEventHookExecutionStatus).",
            "logTail": "",
        }
        _close_events(dep, "Failed")
        emu["error"] = {
            "code": "HOOK_EXECUTION_FAILURE",
            "message": "The deployment failed because one or more of the lifecycle event validation functions failed.",
        }
        _finish(dep, "Failed")
        if _rolls_back_on(dep, "DEPLOYMENT_FAILURE"):
            _roll_back(backend, dep, "failed")
        return

    current["status"], current["end"] = "Succeeded", now
    if current["name"] == "AllowTraffic":
        # deployment-steps-ecs.html AllowTraffic: "Production traffic is
        # rerouted from the original task set to the replacement task set."
        emu["shifted"] = True
        svc = _service(ecs, emu["cluster"], emu["service"])
        if svc is not None:
            svc.task_definition = emu["target_td"]
    if emu["stop_pending"] is not None:
        _apply_stop(backend, dep, emu["stop_pending"]["rollback"])
        return
    index = ECS_EVENTS.index(current["name"])
    if index == len(ECS_EVENTS) - 1:
        # "After all events succeed, the deployment status is set to Succeeded
        # and the original task set is removed."
        _finish(dep, "Succeeded")
        group = dep.deployment_group
        group._emu_last_successful = dep.deployment_id
        if emu["sha256"]:
            group._emu_last_successful_sha = emu["sha256"]
        return
    nxt = emu["events"][index + 1]
    nxt["status"], nxt["start"] = "InProgress", now


# --- rendering -----------------------------------------------------------------


def _target_status(dep) -> str:
    # API_ECSTarget.html status: Pending | InProgress | Succeeded | Failed | ...
    return {"Created": "Pending", "InProgress": "InProgress", "Succeeded": "Succeeded"}.get(dep._emu["status"], "Failed")


def _deployment_info(dep) -> dict:
    """API_GetDeployment.html / API_DeploymentInfo.html."""
    emu = getattr(dep, "_emu", None)
    group = dep.deployment_group
    if emu is None:
        return _generic_deployment_info(dep)
    overview = {"Pending": 0, "InProgress": 0, "Succeeded": 0, "Failed": 0, "Skipped": 0, "Ready": 0}
    overview[_target_status(dep)] += 1
    return {
        "applicationName": dep.application_name,
        "deploymentGroupName": dep.deployment_group_name,
        "deploymentConfigName": str(dep.deployment_config_name),
        "deploymentId": dep.deployment_id,
        "previousRevision": _revision_ref(emu["previous_sha256"]),
        "revision": _revision_ref(emu["sha256"]),
        "status": emu["status"],
        "errorInformation": emu["error"],
        "createTime": emu["create"],
        "startTime": emu["start"],
        "completeTime": emu["complete"],
        "deploymentOverview": overview,
        "description": dep.description,
        "creator": dep.creator,
        "ignoreApplicationStopFailures": False,
        "autoRollbackConfiguration": emu["auto_rollback"] or None,
        "updateOutdatedInstancesOnly": False,
        "rollbackInfo": emu["rollback_info"],
        "deploymentStyle": getattr(group, "deployment_style", None) or None,
        "instanceTerminationWaitTimeStarted": False,
        "blueGreenDeploymentConfiguration": getattr(group, "blue_green_deployment_configuration", None) or None,
        "loadBalancerInfo": getattr(group, "load_balancer_info", None) or None,
        "deploymentStatusMessages": [],
        "computePlatform": dep.application.compute_platform,
        "overrideAlarmConfiguration": emu["override_alarm"],
    }


def _generic_deployment_info(dep) -> dict:
    """moto's DeploymentInfo for non-ECS deployments, with epoch timestamps."""
    group = dep.deployment_group
    return {
        "applicationName": dep.application_name,
        "deploymentGroupName": dep.deployment_group_name,
        "deploymentConfigName": str(dep.deployment_config_name),
        "deploymentId": dep.deployment_id,
        "revision": dep.revision or None,
        "status": dep.status,
        "createTime": _epoch(dep.create_time),
        "startTime": _epoch(dep.start_time),
        "completeTime": _epoch(dep.complete_time),
        "deploymentOverview": dep.deployment_overview,
        "description": dep.description,
        "creator": dep.creator,
        "autoRollbackConfiguration": dep.auto_rollback_configuration,
        "deploymentStyle": getattr(group, "deployment_style", None) or None,
        "blueGreenDeploymentConfiguration": getattr(group, "blue_green_deployment_configuration", None) or None,
        "loadBalancerInfo": getattr(group, "load_balancer_info", None) or None,
        "computePlatform": dep.application.compute_platform,
    }


def _ecs_target(ecs, dep) -> dict:
    """API_GetDeploymentTarget.html / API_ECSTarget.html / API_ECSTaskSet.html."""
    emu = dep._emu
    svc = _service(ecs, emu["cluster"], emu["service"])
    region, account = ecs.region_name, ecs.account_id
    arn = svc.arn if svc else f"arn:aws:ecs:{region}:{account}:service/{emu['cluster']}/{emu['service']}"
    desired = svc.desired_count if svc else 0
    tgs = emu["target_groups"]
    blue = {
        "identifer": emu["blue_id"],  # sic, API_ECSTaskSet.html
        "desiredCount": desired,
        "pendingCount": 0,
        "runningCount": desired,
        "status": "ACTIVE" if emu["shifted"] else "PRIMARY",
        "trafficWeight": 0.0 if emu["shifted"] else 100.0,
        "targetGroup": {"name": tgs[0]} if tgs else None,
        "taskSetLabel": "Blue",
    }
    task_sets = [blue]
    install = _event(dep, "Install")
    if install["status"] in ("InProgress", "Succeeded") or (install["status"] == "Failed" and install["start"]):
        ready = install["status"] == "Succeeded"
        task_sets.append(
            {
                "identifer": emu["green_id"],
                "desiredCount": desired,
                "pendingCount": 0 if ready else desired,
                "runningCount": desired if ready else 0,
                "status": "PRIMARY" if emu["shifted"] else "ACTIVE",
                "trafficWeight": 100.0 if emu["shifted"] else 0.0,
                "targetGroup": {"name": tgs[1]} if len(tgs) > 1 else None,
                "taskSetLabel": "Green",
            }
        )
    return {
        "deploymentTargetType": "ECSTarget",
        "ecsTarget": {
            "deploymentId": dep.deployment_id,
            "targetId": emu["target_id"],
            "targetArn": arn,
            "lastUpdatedAt": emu["updated"],
            "status": _target_status(dep),
            "lifecycleEvents": [
                {
                    "lifecycleEventName": e["name"],
                    "status": e["status"],
                    "startTime": e["start"],
                    "endTime": e["end"],
                    "diagnostics": e["diagnostics"],
                }
                for e in emu["events"]
            ],
            "taskSetsInfo": task_sets,
        },
    }


def _last_deployment(backend, dep_id: str | None) -> dict | None:
    # API_LastDeploymentInfo.html: deploymentId, status, endTime, createTime.
    dep = backend.deployments.get(dep_id) if dep_id else None
    if dep is None:
        return None
    emu = getattr(dep, "_emu", None)
    if emu is None:
        return {"deploymentId": dep_id, "status": dep.status, "createTime": _epoch(dep.create_time)}
    return {"deploymentId": dep_id, "status": emu["status"], "endTime": emu["complete"], "createTime": emu["create"]}


def _group_info(backend, group) -> dict:
    """API_GetDeploymentGroup.html / API_DeploymentGroupInfo.html."""
    last = getattr(group, "_emu_last_attempted", None)
    last_dep = backend.deployments.get(last) if last else None
    target_sha = getattr(last_dep, "_emu", {}).get("sha256") if last_dep is not None else None
    attr = lambda name: getattr(group, name, None) or None  # noqa: E731 - moto versions differ
    return {
        "applicationName": group.application.application_name,
        "deploymentGroupId": group.deployment_group_id,
        "deploymentGroupName": group.deployment_group_name,
        "deploymentConfigName": str(group.deployment_config_name),
        "ec2TagFilters": attr("ec2_tag_filters") or [],
        "onPremisesInstanceTagFilters": attr("on_premises_instance_tag_filters") or [],
        "autoScalingGroups": attr("auto_scaling_groups") or [],
        "serviceRoleArn": attr("service_role_arn"),
        "targetRevision": _revision_ref(target_sha),
        "triggerConfigurations": attr("trigger_configurations") or [],
        "alarmConfiguration": getattr(group, "_emu_alarm_configuration", None),
        "autoRollbackConfiguration": attr("auto_rollback_configuration"),
        "deploymentStyle": attr("deployment_style"),
        "outdatedInstancesStrategy": attr("outdated_instances_strategy"),
        "blueGreenDeploymentConfiguration": attr("blue_green_deployment_configuration"),
        "loadBalancerInfo": attr("load_balancer_info"),
        "lastSuccessfulDeployment": _last_deployment(backend, getattr(group, "_emu_last_successful", None)),
        "lastAttemptedDeployment": _last_deployment(backend, last),
        "computePlatform": group.application.compute_platform,
        "ecsServices": _group_services(group),
        "terminationHookEnabled": bool(getattr(group, "termination_hook_enabled", False)),
    }


def _application_info(app) -> dict:
    # API_ApplicationInfo.html
    return {
        "applicationId": app.id,
        "applicationName": app.application_name,
        "createTime": _epoch(app.create_time),
        "linkedToGitHub": False,
        "computePlatform": app.compute_platform,
    }


# --- patched / added response methods -------------------------------------------

_orig_create_deployment_group = Response.create_deployment_group
_orig_create_deployment = Response.create_deployment


def _get_deployment_or_raise(backend, deployment_id) -> object:
    # API_GetDeployment.html errors.
    if not deployment_id:
        raise DeploymentIdRequiredException("At least one deployment ID must be specified.")
    if not isinstance(deployment_id, str) or not DEPLOYMENT_ID_RE.match(deployment_id):
        if deployment_id not in backend.deployments:
            raise InvalidDeploymentIdException(f"Specified DeploymentId is not in the valid format: {deployment_id}")
    return backend.get_deployment(deployment_id)


def get_application(self):
    """API_GetApplication.html"""
    with _lock():
        app = self.codedeploy_backend.get_application(_param(self, "applicationName"))
        return _json({"application": _application_info(app)})


def batch_get_applications(self):
    """API_BatchGetApplications.html"""
    with _lock():
        apps = self.codedeploy_backend.batch_get_applications(_param(self, "applicationNames") or [])
        return _json({"applicationsInfo": [_application_info(a) for a in apps]})


def create_deployment_group(self):
    """API_CreateDeploymentGroup.html; ecsServices per API_ECSService.html."""
    with _lock():
        backend = self.codedeploy_backend
        app_name = _param(self, "applicationName")
        group_name = _param(self, "deploymentGroupName")
        app = backend.applications.get(app_name)
        services = _param(self, "ecsServices")
        if app is not None and app.compute_platform == "ECS":
            if not services:
                raise InvalidECSServiceException(
                    "An Amazon ECS deployment group needs ecsServices [{serviceName, clusterName}]."
                )
            ecs = _ecs(self)
            for entry in services:
                cluster = (entry or {}).get("clusterName") or ""
                name = (entry or {}).get("serviceName") or ""
                svc = _service(ecs, cluster, name)
                if svc is None or svc.status != "ACTIVE":
                    raise InvalidECSServiceException(
                        f"Could not load ECS service information for cluster: {cluster}, service: {name}."
                    )
                if (svc.deployment_controller or {}).get("type") != "CODE_DEPLOY":
                    raise InvalidECSServiceException(
                        "Deployment group's ECS service must be configured for a CODE_DEPLOY deployment controller."
                    )
                for other_app, groups in backend.deployment_groups.items():
                    for other in groups.values():
                        if any(
                            s.get("clusterName") == cluster and s.get("serviceName") == name
                            for s in _group_services(other)
                        ):
                            raise ECSServiceMappingLimitExceededException(
                                f"The ECS service {cluster}:{name} is already associated with deployment group "
                                f"{other.deployment_group_name} of application {other_app}; an Amazon ECS service "
                                "can be associated with only one deployment group."
                            )
        result = _orig_create_deployment_group(self)
        group = backend.deployment_groups.get(app_name, {}).get(group_name)
        if group is not None:
            group.ecs_services = copy.deepcopy(services or [])
            group._emu_alarm_configuration = _param(self, "alarmConfiguration")
            if app is not None and app.compute_platform == "ECS" and not _param(self, "deploymentConfigName"):
                # User Guide deployment-configurations.html: the default for
                # the ECS compute platform.
                group.deployment_config_name = "CodeDeployDefault.ECSAllAtOnce"
        return result


def get_deployment_group(self):
    """API_GetDeploymentGroup.html"""
    with _lock():
        backend = self.codedeploy_backend
        group = backend.get_deployment_group(_param(self, "applicationName"), _param(self, "deploymentGroupName"))
        return _json({"deploymentGroupInfo": _group_info(backend, group)})


def batch_get_deployment_groups(self):
    """API_BatchGetDeploymentGroups.html"""
    with _lock():
        backend = self.codedeploy_backend
        app_name = _param(self, "applicationName")
        backend.get_application(app_name)
        infos, missing = [], []
        for name in _param(self, "deploymentGroupNames") or []:
            group = backend.deployment_groups.get(app_name, {}).get(name)
            if group is None:
                missing.append(name)
            else:
                infos.append(_group_info(backend, group))
        body = {"deploymentGroupsInfo": infos}
        if missing:
            body["errorMessage"] = f"Deployment groups not found: {', '.join(missing)}"
        return _json(body)


def create_deployment(self):
    """API_CreateDeployment.html"""
    with _lock():
        backend = self.codedeploy_backend
        app_name = _param(self, "applicationName")
        group_name = _param(self, "deploymentGroupName")
        if not app_name:
            raise ApplicationNameRequiredException("The application name is required.")
        app = backend.applications.get(app_name)
        if app is None:
            raise ApplicationDoesNotExistException(
                f"The application {app_name} does not exist with the user or AWS account."
            )
        if app.compute_platform != "ECS":
            return _orig_create_deployment(self)
        if not group_name:
            raise DeploymentGroupNameRequiredException("Deployment group name is required.")
        group = backend.deployment_groups.get(app_name, {}).get(group_name)
        if group is None:
            raise DeploymentGroupDoesNotExistException("Deployment group name does not exist.")

        revision = _param(self, "revision")
        if not revision:
            # aws/aws-cli#4256: "RevisionLocation must be specified"
            raise RevisionRequiredException("RevisionLocation must be specified")
        if revision.get("revisionType") != "AppSpecContent":
            raise InvalidRevisionException(
                f"revisionType {revision.get('revisionType')!r}: this emulator deploys Amazon ECS revisions given "
                "as revisionType AppSpecContent (API_RevisionLocation.html) only"
            )
        spec_content = revision.get("appSpecContent") or {}
        content = spec_content.get("content")
        if not isinstance(content, str) or not content.strip():
            raise InvalidRevisionException("appSpecContent.content (the AppSpec file) is missing")
        sha = hashlib.sha256(content.encode()).hexdigest()
        if spec_content.get("sha256") and spec_content["sha256"].lower() != sha:
            # API_AppSpecContent.html sha256: "The SHA256 hash value of the revision content."
            raise InvalidRevisionException(
                f"appSpecContent.sha256 {spec_content['sha256']} is not the SHA-256 of the content ({sha})"
            )
        spec = _validate_appspec(_parse_appspec(content), _ecs(self), self.current_account, self.region)

        for other in backend.deployments.values():
            emu = getattr(other, "_emu", None)
            if (
                other.application_name == app_name
                and other.deployment_group_name == group_name
                and (emu["status"] if emu else other.status) not in TERMINAL
            ):
                # aws-ecs-orb#181 quotes the message.
                raise DeploymentLimitExceededException(
                    f"The Deployment Group '{group_name}' already has an active Deployment '{other.deployment_id}'"
                )

        _register_revision(app, content, sha, group_name, None)
        dep_id = _new_ecs_deployment(
            backend,
            app,
            group,
            _revision_ref(sha),
            spec,
            sha=sha,
            description=_param(self, "description"),
            auto_rollback=_param(self, "autoRollbackConfiguration"),
            override_alarm=_param(self, "overrideAlarmConfiguration"),
            deployment_config_name=_param(self, "deploymentConfigName"),
        )
        return _json({"deploymentId": dep_id})


def get_deployment(self):
    """API_GetDeployment.html; every call advances the deployment one step."""
    with _lock():
        backend = self.codedeploy_backend
        dep = _get_deployment_or_raise(backend, _param(self, "deploymentId"))
        if getattr(dep, "_emu", None) is not None:
            _step(backend, _ecs(self), dep)
        return _json({"deploymentInfo": _deployment_info(dep)})


def batch_get_deployments(self):
    """API_BatchGetDeployments.html; one step for each deployment named."""
    with _lock():
        backend = self.codedeploy_backend
        ids = list(dict.fromkeys(_param(self, "deploymentIds") or []))
        if not ids:
            raise DeploymentIdRequiredException("At least one deployment ID must be specified.")
        infos = []
        for dep_id in ids:
            dep = backend.deployments.get(dep_id)
            if dep is None:
                continue
            if getattr(dep, "_emu", None) is not None:
                _step(backend, _ecs(self), dep)
            infos.append(_deployment_info(dep))
        return _json({"deploymentsInfo": infos})


def stop_deployment(self):
    """API_StopDeployment.html; User Guide deployment-steps-ecs.html,
    "Stopped and failed deployments"."""
    with _lock():
        backend = self.codedeploy_backend
        dep = _get_deployment_or_raise(backend, _param(self, "deploymentId"))
        emu = getattr(dep, "_emu", None)
        status = emu["status"] if emu else dep.status
        if status == "Stopped":
            # "After the pending operation is complete, subsequent calls to
            # stop the deployment return a status of succeeded."
            return _json({"status": "Succeeded", "statusMessage": f"Deployment {dep.deployment_id} is stopped."})
        if status in TERMINAL:
            raise DeploymentAlreadyCompletedException(f"Deployment {dep.deployment_id} is already completed.")
        if emu is None:
            dep.status = "Stopped"
            return _json({"status": "Succeeded", "statusMessage": "No more commands will be scheduled for execution in the deployment instances"})
        requested = _param(self, "autoRollbackEnabled")
        # API_StopDeployment.html autoRollbackEnabled; AutoRollbackConfiguration
        # event DEPLOYMENT_STOP_ON_REQUEST when it is not given.
        rollback = bool(requested) if requested is not None else _rolls_back_on(dep, "DEPLOYMENT_STOP_ON_REQUEST")
        current = _current(dep)
        if emu["stop_pending"] is not None or (
            current is not None and current["name"] in emu["hooks"]
        ):
            # "The deployment does not immediately stop, and the operation
            # returns a status of pending ... some deployment lifecycle events
            # might still be running" (a hook's Lambda function here).
            if emu["stop_pending"] is None:
                emu["stop_pending"] = {"rollback": rollback}
            return _json(
                {
                    "status": "Pending",
                    "statusMessage": "Stopping Pending. Stopping to schedule commands in the deployment instances",
                }
            )
        _apply_stop(backend, dep, rollback)
        # AWS CLI example for stop-deployment (API_StopDeployment.html).
        return _json(
            {"status": "Succeeded", "statusMessage": "No more commands will be scheduled for execution in the deployment instances"}
        )


def _started_ecs_deployment(self):
    backend = self.codedeploy_backend
    dep = _get_deployment_or_raise(backend, _param(self, "deploymentId"))
    emu = getattr(dep, "_emu", None)
    if emu is None:
        raise DeploymentTargetDoesNotExistException(f"Deployment {dep.deployment_id} has no Amazon ECS target.")
    if emu["status"] == "Created":
        raise DeploymentNotStartedException(f"The deployment {dep.deployment_id} has not started.")
    return dep


def list_deployment_targets(self):
    """API_ListDeploymentTargets.html: ECS target ids are "<clustername>:
    <servicename>" (API_BatchGetDeploymentTargets.html)."""
    with _lock():
        dep = _started_ecs_deployment(self)
        filters = _param(self, "targetFilters") or {}
        for key in filters:
            if key not in ("TargetStatus", "ServerInstanceLabel"):
                raise InvalidTargetFilterNameException(f"Invalid target filter name: {key}")
        wanted = filters.get("TargetStatus")
        ids = [dep._emu["target_id"]]
        if wanted and _target_status(dep) not in wanted:
            ids = []
        if filters.get("ServerInstanceLabel"):
            ids = []  # EC2/On-premises blue/green labels; an ECS target has none
        return _json({"targetIds": ids})


def get_deployment_target(self):
    """API_GetDeploymentTarget.html"""
    with _lock():
        dep = _started_ecs_deployment(self)
        target_id = _param(self, "targetId")
        if not target_id:
            raise DeploymentTargetIdRequiredException("A deployment target ID was not provided.")
        if target_id != dep._emu["target_id"]:
            raise DeploymentTargetDoesNotExistException(
                f"The target {target_id} does not belong to deployment {dep.deployment_id}."
            )
        return _json({"deploymentTarget": _ecs_target(_ecs(self), dep)})


def batch_get_deployment_targets(self):
    """API_BatchGetDeploymentTargets.html"""
    with _lock():
        dep = _started_ecs_deployment(self)
        targets = []
        for target_id in _param(self, "targetIds") or []:
            if target_id != dep._emu["target_id"]:
                raise DeploymentTargetDoesNotExistException(
                    f"The target {target_id} does not belong to deployment {dep.deployment_id}."
                )
            targets.append(_ecs_target(_ecs(self), dep))
        return _json({"deploymentTargets": targets})


def _revision_sha(revision) -> str | None:
    if not isinstance(revision, dict) or revision.get("revisionType") != "AppSpecContent":
        return None
    spec = revision.get("appSpecContent") or {}
    if spec.get("sha256"):
        return str(spec["sha256"]).lower()
    if isinstance(spec.get("content"), str):
        return hashlib.sha256(spec["content"].encode()).hexdigest()
    return None


def register_application_revision(self):
    """API_RegisterApplicationRevision.html (AppSpecContent revisions)."""
    with _lock():
        backend = self.codedeploy_backend
        app_name = _param(self, "applicationName")
        if not app_name:
            raise ApplicationNameRequiredException("The application name is required.")
        app = backend.get_application(app_name)
        revision = _param(self, "revision")
        if not revision:
            raise RevisionRequiredException("RevisionLocation must be specified")
        content = ((revision.get("appSpecContent") or {}).get("content")) if isinstance(revision, dict) else None
        if revision.get("revisionType") != "AppSpecContent" or not isinstance(content, str):
            raise InvalidRevisionException("This emulator registers AppSpecContent revisions with content only.")
        _register_revision(app, content, hashlib.sha256(content.encode()).hexdigest(), None, _param(self, "description"))
        return _json({})


def get_application_revision(self):
    """API_GetApplicationRevision.html: what API_GetDeployment.html points to
    for the AppSpec content ("Use GetApplicationRevision and the sha256
    property of the returned appSpecContent object")."""
    with _lock():
        backend = self.codedeploy_backend
        app_name = _param(self, "applicationName")
        if not app_name:
            raise ApplicationNameRequiredException("The application name is required.")
        app = backend.get_application(app_name)
        revision = _param(self, "revision")
        if not revision:
            raise RevisionRequiredException("RevisionLocation must be specified")
        sha = _revision_sha(revision)
        if sha is None:
            raise InvalidRevisionException("Give revisionType AppSpecContent with appSpecContent.sha256.")
        rev = _app_revisions(app).get(sha)
        if rev is None:
            raise RevisionDoesNotExistException(f"No application revision found for revision AppSpecContent sha256 {sha}")
        return _json(
            {
                "applicationName": app_name,
                "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": rev["content"], "sha256": sha}},
                "revisionInfo": {
                    "description": rev["description"],
                    "deploymentGroups": rev["groups"],
                    "firstUsedTime": rev["first"],
                    "lastUsedTime": rev["last"],
                    "registerTime": rev["register"],
                },
            }
        )


def install(lock=None) -> None:
    """Patches moto's CodeDeploy responses. Pass the ECS emulator's lock so
    both emulators serialise on one lock."""
    if lock is not None:
        _LOCK[0] = lock
    Response.get_application = get_application
    Response.batch_get_applications = batch_get_applications
    Response.create_deployment_group = create_deployment_group
    Response.get_deployment_group = get_deployment_group
    Response.batch_get_deployment_groups = batch_get_deployment_groups
    Response.create_deployment = create_deployment
    Response.get_deployment = get_deployment
    Response.batch_get_deployments = batch_get_deployments
    Response.stop_deployment = stop_deployment
    Response.list_deployment_targets = list_deployment_targets
    Response.get_deployment_target = get_deployment_target
    Response.batch_get_deployment_targets = batch_get_deployment_targets
    Response.register_application_revision = register_application_revision
    Response.get_application_revision = get_application_revision
