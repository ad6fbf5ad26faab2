#!/usr/bin/env python3
"""moto_server with an ECS rollout emulator, for hoist's `deploy` tests.

Usage:  python3 tests/support/ecs_emulator.py --port 5000 [--host 127.0.0.1]

Starts moto's server with every service (ECR, Secrets Manager, EC2, ... all on
the one port), after patching moto's ECS backend so that services roll out
like real ECS does. Progress is counted in DescribeServices calls, never in
wall-clock time: every DescribeServices call that names a service advances
that service by exactly one step (before the response is built), so a client
sees every intermediate state, whatever its polling interval. What a step
stands for takes modeled time on the emulator's own clock ("Clock" below),
which the server's timestamps come from. ECR's GetAuthorizationToken is
patched too (ecr_tokens.py): a new token per call, good for 12 hours, as
ECR hands them out.

Clock: every timestamp the emulator writes (tasks, deployments, service
deployments, events, task definitions, crash logs) comes from `_now()`: the
wall clock plus however far the emulator has run ahead, strictly
increasing (at least 1 ms per call). `_advance(seconds)` moves it forward
by that many modeled seconds at once: modeled durations pass instantly in
wall time, so `_now()` may run ahead of the wall clock (minutes after one
load-balanced rollout); it never goes back. A step is instantaneous in
wall time and atomic for clients: it takes the clock through what it
models (a task's start and health checks, a drain, a minute of bake time),
and durations computed from the timestamps are exact:
  * a task's start (API_Task.html: createdAt, pullStartedAt, pullStoppedAt,
    startedAt, connectivityAt): createdAt; 2 s of provisioning (Fargate
    attaches the ENI) → pullStartedAt; the image pull, EMULATOR_PULL_SECONDS
    → pullStoppedAt; 1 s to start the containers → startedAt =
    connectivityAt; then the application starts up for
    EMULATOR_STARTUP_SECONDS. Both are environment variables of the task
    definition's containers (the largest over the containers counts; a
    value that is not a number >= 0 is ignored; defaults 3 and 8). Tasks
    started together (CreateService, a scale-out, RunTask with count > 1)
    share their createdAt.
  * when a started task counts as running: without a load balancer at
    startedAt + start-up; registered with target groups once the load
    balancer calls it healthy: startedAt + start-up +
    HealthCheckIntervalSeconds × HealthyThresholdCount (ELB User Guide,
    "Health checks for target groups"; DescribeTargetGroups answers them;
    moto's defaults, as AWS's, 30 s and 5), the longest over its groups.
    The step that starts it moves the clock there before counting it:
    the deployment's updatedAt is that moment, and what the step does
    next (draining an old task, its events) comes after.
  * a task stopped to be replaced or scaled in: stoppingAt now; registered
    with target groups, it drains (see "Load balancers") and stoppedAt =
    stoppingAt + the longest deregistration_delay.timeout_seconds of its
    groups (ELB User Guide, "Deregistration delay"; default 300); without,
    stoppedAt = stoppingAt + 2 s (the JVM answers SIGTERM). Tasks stopped in
    one step drain in parallel: one advance, the longest.
  * BAKE_TIME: each DescribeServices call in it is one minute (60 s).
  * failures keep their shape (see the markers below), timed: a missing
    secret stops the task after its 2 s of provisioning (no pullStartedAt);
    "pull-fails" after its pull time (pullStartedAt, no pullStoppedAt); a
    missing log group after the pull (no startedAt); a JVM crash at the end
    of its start-up (startedAt + EMULATOR_STARTUP_SECONDS), an exec error
    as it starts; a task failing ELB health checks is found unhealthy at
    startedAt + start-up + HealthCheckIntervalSeconds ×
    UnhealthyThresholdCount (the step that started it ends there), and
    stops at once at the next step (no drain).
Timestamps of the other services (ELB, ECR, Secrets Manager, CloudWatch
Logs' ingestion times, ...) are moto's, on the wall clock.

Services (deploymentController ECS, the default):
  * CreateService: one PRIMARY deployment, rolloutState COMPLETED, running ==
    desired, RUNNING tasks (group "service:NAME", startedBy = deployment id)
    started together on the clock (the service is steady once they all
    count as running), and the events "has started N tasks" (at their
    createdAt), "registered N targets in (target-group ARN)" (with a load
    balancer, at their startedAt) and "has reached a steady state".
    Markers in the image are ignored here: a new service is always stable,
    unless a secret of its task definition is missing (see "Secrets" below):
    then its one deployment stays IN_PROGRESS with running 0, and each
    DescribeServices call tries one task, as after an UpdateService.
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
      pending -1, once it counts as running: "Clock") and stop one task of
      the oldest draining deployment (it drains: "Clock").
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
  a container has the environment variable CRASH_ON_START: as
      "fail-rollout" (one service's bad configuration in a release of
      several that share an image). Value yes, true, 1 (or empty): every
      container exits 0, no container reason. Any other value: that
      container exits 1, no reason, and the value is its last log line
      (e.g. "Caused by: java.net.UnknownHostException: db.plog.internal").
  image contains "exec-format": as "fail-rollout", but that container
      exits 255, no reason, and logs exactly one line, "exec
      /opt/java/openjdk/bin/java: exec format error" (an image built for
      another CPU architecture).
  image contains "pull-fails": as "fail-rollout" (one task per call,
      failedTasks +1, the same circuit breaker and rollback), but the task
      never starts: its image pull times out, as for a Fargate task whose
      subnet has no route to the registry (DevGuide "CannotPullContainer
      task errors", task_cannot_pull_image.html; "Stopped task error
      codes", stopped-task-error-codes.html). The task is STOPPED with
      stopCode TaskFailedToStart, no startedAt, no exitCode on any
      container, and stoppedReason (also the reason of that container)
      "CannotPullContainerError: pull image manifest has been retried 5
      time(s): failed to resolve ref IMAGE: failed to do request: Head
      "https://REGISTRY/v2/REPO/manifests/REF": dial tcp 10.0.0.1:443: i/o
      timeout", IMAGE the container's image as containerd resolves it
      (a missing tag is ":latest"; Docker Hub names become
      docker.io/library/NAME, REGISTRY registry-1.docker.io), REF its tag
      or digest. pullStartedAt is set, pullStoppedAt is not. Nothing is
      logged.
  a secret of the task definition is missing: see "Secrets" below; the
      task never starts, whatever the deployment (any marker or none,
      rollbacks included) and it counts as a failed task the same way.
  a container has the environment variable HEALTH_CHECK_CODES (e.g. 404)
      and the service has a load balancer: see "Load balancers" below.
      Without a load balancer the variable means nothing.
  Precedence: a crash or "pull-fails" (any container) over
      HEALTH_CHECK_CODES over "never-stable"; within one container
      "exec-format" over "fail-rollout" over CRASH_ON_START. At the start
      of a task: a missing secret (execution resources are retrieved first)
      over "pull-fails" over a missing log group over a crash.
  image contains "never-stable": like normal, but running stops at
      desired - 1 (at least 0) and the rollout stays IN_PROGRESS forever.
  image contains "throttle-N" (N digits), or the environment variable
      ECS_EMULATOR_THROTTLE_DESCRIBE=N for every deployment: the first N
      DescribeServices calls naming the service after the UpdateService that
      opened the deployment fail with HTTP 400
      {"__type":"ThrottlingException","message":"Rate exceeded"} and do not
      advance anything. (SDK retries are calls too.)

  image contains "stale-N": right after the UpdateService that opened the
      deployment, the next N DescribeServices calls answer with the service
      as it was before the update (old taskDefinition, old deployments, old
      events) and advance nothing; DescribeServiceDeployments answers the
      new deployment's ARN with a failure {reason MISSING} meanwhile. Models
      "The Amazon ECS API follows an eventual consistency model" (API
      Reference, e.g. API_RunTask.html / API_CreateService.html).
  image contains "superseded-N": after N steps of this deployment, someone
      else deploys: a new revision of the family is registered (the marker
      replaced by "someone-else") and the service is updated to it, as
      another pipeline or a console click would. Our deployment becomes
      ACTIVE and drains; its service deployment goes STOPPED (DevGuide
      "Service deployment states": a new service deployment moves the
      current one to STOP_REQUESTED, then STOPPED).

Deployment strategies (deploymentConfiguration.strategy, API_DeploymentConfiguration.html):
  ROLLING (default): as above.
  BLUE_GREEN (also LINEAR, CANARY, followed the same way here): the green
      deployment scales up one task per call while blue keeps running
      (lifecycleStage SCALE_UP); then one call each of TEST_TRAFFIC_SHIFT and
      PRODUCTION_TRAFFIC_SHIFT; then BAKE_TIME for bakeTimeInMinutes calls
      (one DescribeServices call stands for one minute: each advances the
      clock 60 s), then CLEAN_UP (blue's tasks drain and stop together) and
      SUCCESSFUL. rolloutState is not reported for
      these deployments ("The rolloutState of a service is only returned for
      services that use the rolling update (ECS) deployment type",
      API_Deployment.html), and from PRODUCTION_TRAFFIC_SHIFT on blue is no
      longer listed as a deployment: DescribeServices shows one PRIMARY with
      running == desired — it *looks* done (the trap of the services-stable
      waiter) while the service deployment is still IN_PROGRESS in BAKE_TIME.

Service deployments (API_ListServiceDeployments.html,
API_DescribeServiceDeployments.html, API_StopServiceDeployment.html):
  * every deployment opened by UpdateService (not a rollback: "Amazon ECS
    doesn't create a new service revision for a rollback operation",
    DevGuide service-revision.html) has a service deployment
    arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID and a
    target service revision ...:service-revision/CLUSTER/SERVICE/DIGITS; the
    service's currentServiceDeployment names the newest (API_Service.html).
  * status PENDING → IN_PROGRESS → SUCCESSFUL as the deployment completes;
    circuit breaker with rollback: ROLLBACK_IN_PROGRESS (rollback.reason,
    rollback.serviceRevisionArn) → ROLLBACK_SUCCESSFUL when the rollback
    deployment completes; circuit breaker without rollback: STOPPED with
    statusReason; superseded: STOPPED.
  * StopServiceDeployment stopType ROLLBACK on a non-terminal one:
    ROLLBACK_REQUESTED at once, then (next DescribeServices call) a rollback
    deployment to the last completed task definition opens
    (ROLLBACK_IN_PROGRESS) and ROLLBACK_SUCCESSFUL follows when it
    completes; on a terminal one: ConflictException.
  * createdAt = startedAt when UpdateService opened it, updatedAt at each
    change, finishedAt when it reaches a terminal status (SUCCESSFUL,
    STOPPED, ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED; stoppedAt too for
    STOPPED), all on the emulator's clock.
  * ECS_EMULATOR_DENY_SERVICE_DEPLOYMENTS=1 in the server's environment:
    the three calls answer HTTP 400 AccessDeniedException, as for an IAM
    policy without ecs:ListServiceDeployments (the message follows the one
    IAM gives).

Events are listed newest first (at most 100), each with id, createdAt (on
the clock, strictly decreasing down the list) and message: "(service NAME)
has started 1 tasks: (task ID)." (when the tasks are created), "(service
NAME) registered 1 targets in (target-group ARN)" (at their startedAt),
"(service NAME) has begun draining connections on 1 tasks." and "(service
NAME) deregistered 1 targets in (target-group ARN)" (as a drain starts),
"(service NAME) has stopped 1 running tasks: (task ID)." (once stopped),
"(service NAME) has reached a steady state.", "(service NAME) (deployment
ID) deployment completed.", ... (DevGuide service-event-messages.html; the
target and draining ones as ECS words them for load-balanced services).

Secrets (DevGuide "Stopped task error codes", ResourceInitializationError;
secrets-envvar-secrets-manager.html, secrets-envvar-ssm-paramstore.html):
every time the emulator starts a task of a service (CreateService, each
rollout step, a rollback, a scale-out), each container's secrets[].valueFrom
is looked up in moto's Secrets Manager or SSM backend of the account and
region it names (a bare name: the task's), at that moment, not at
RegisterTaskDefinition: a secret created later lets the later tasks start.
  * Secrets Manager, arn:aws:secretsmanager:REGION:ACCOUNT:secret:ID...:
    only the first 7 ":" fields count (the JSON-key form
    ARN:json-key:version-stage:version-id is the secret ARN); found when a
    secret has that full ARN, or that name (a partial ARN without the
    6-character suffix, which ECS accepts). Missing: stoppedReason
    "ResourceInitializationError: unable to pull secrets or registry auth:
    execution resource retrieval failed: unable to retrieve secret from asm:
    service call has been retried 1 time(s): failed to fetch secret ARN from
    secrets manager: ResourceNotFoundException: Secrets Manager can't find
    the specified secret." (ARN: those 7 fields).
  * SSM, arn:aws:ssm:REGION:ACCOUNT:parameter/NAME (the parameter /NAME, or
    NAME) or a bare name (a ":N" version selector aside). Missing:
    "ResourceInitializationError: unable to pull secrets or registry auth:
    execution resource retrieval failed: unable to retrieve secrets from
    ssm: service call has been retried 1 time(s): invalid parameters:
    NAMES", NAMES the missing valueFroms of that region as written, joined
    by ",".
  The first missing one (containers and secrets in order) decides which.
  Other valueFroms are not checked, nor are repositoryCredentials or
  logConfiguration.secretOptions; a secret scheduled for deletion counts as
  there. Such a task is STOPPED at once: stopCode TaskFailedToStart, no
  startedAt, no pullStartedAt, no exitCode, no container reason, nothing
  logged, never registered with a target group; it counts as a failed task
  (failedTasks +1, "has started 1 tasks" event, circuit breaker at the same
  threshold as "fail-rollout", rollback unchanged), and the old deployment
  keeps running. A scale-out of a COMPLETED deployment (UpdateService
  desiredCount) fails its new tasks at once (failedTasks, pendingCount
  left) and does not retry. One-off tasks (RunTask) are not checked.

CODE_DEPLOY services (deploymentController CODE_DEPLOY): UpdateService with
another task definition is refused with InvalidParameterException, as ECS
does; they deploy through CodeDeploy, emulated in codedeploy_emulator.py.

Crash logs (CloudWatch Logs, written into moto's logs backend, so
GetLogEvents, FilterLogEvents, DescribeLogStreams answer them): when a
task crashes as above ("fail-rollout", "exec-format", CRASH_ON_START), each
container whose logConfiguration.logDriver is awslogs writes to group
awslogs-group (in awslogs-region, else the task's region), stream
awslogs-stream-prefix/CONTAINER-NAME/TASK-ID (TASK-ID = the last part of the
task ARN; DevGuide using_awslogs.html; without a prefix: the container's
runtimeId, as the driver names a stream after the container's ID): four
Spring-Boot-like start-up lines, just after startedAt ("... INFO 1 ---
[main] ... : Starting application using Java ..."), then, at the end of its
start-up, the crashing container adds "... ERROR 1 --- [main]
o.s.boot.SpringApplication ... : Application run failed" and its own line:
the CRASH_ON_START text (yes/true/1: nothing after "Application run
failed"); "fail-rollout" (killed by the kernel for memory) writes the
start-up lines only: a SIGKILL leaves no last words. "exec-format" writes
its one line only (at startedAt: the task stops at once); containers that
do not crash write the start-up lines only. Timestamps are milliseconds
since the epoch on the emulator's clock, strictly increasing, between the
task's startedAt and stoppedAt; they are written into the group directly,
past CloudWatch Logs' check against events more than 2 hours after its
(wall-clock) now, since the emulator's clock may be hours ahead.
If a group does not exist and awslogs-create-group is not "true", the task
never starts (DevGuide resource-initialization-error.html, "failed to
validate logger args"): stopCode TaskFailedToStart, stoppedReason
"ResourceInitializationError: failed to validate logger args: create stream
has been retried 1 times: failed to create Cloudwatch log stream:
ResourceNotFoundException: The specified log group does not exist. : exit
status 1", no startedAt, no container exitCode, nothing written; it counts
as a failed task (circuit breaker) all the same. With awslogs-create-group
"true" the group is made. Only crashing tasks are checked and logged: a task
that runs (normal rollouts, CreateService, RunTask) writes nothing, even
when its group is missing (real ECS would stop it with the same
ResourceInitializationError); nor does a task that never starts
("pull-fails", a missing secret).

Load balancers (ELBv2 in moto; DevGuide service-load-balancing.html): for an
ECS-controller service created with loadBalancers [{targetGroupArn,
containerName, containerPort}], every task the emulator starts for it is
registered with each target group as it starts (startedAt; event
"(service NAME) registered N targets in (target-group ARN)"): Id = the
privateIPv4Address of the task's ENI attachment, Port = containerPort. It
counts as running once healthy, HealthCheckIntervalSeconds ×
HealthyThresholdCount after its start-up ("Clock"); the step that starts
it moves the clock past that, so between calls a target is never seen in
an "initial" state: it is "healthy". A task the emulator replaces or
scales in (rollouts, the stop of what is left of old deployments,
blue/green CLEAN_UP, a scale-in) drains (ELB User Guide, "Deregistration
delay"; DevGuide service-load-balancing.html): stoppingAt now, events
"has begun draining connections on N tasks." and "deregistered N targets
in (target-group ARN)", its targets "draining" (DescribeTargetHealth
State draining, Reason Target.DeregistrationInProgress, API_TargetHealth.html)
until the group's deregistration_delay.timeout_seconds (the target group
attribute, DescribeTargetGroupAttributes / ModifyTargetGroupAttributes,
stored by moto; default 300) has passed on the clock, then gone, and the
task STOPPED at stoppingAt + that delay. A step is atomic, so clients see
the drain in those timestamps and events, not in DescribeTargetHealth. A
task that fails (crashes, never starts, fails its health checks) is
deregistered at once. Once gone, DescribeTargetHealth no longer lists a
target, and asked by Targets it answers moto's "unused" /
Target.NotRegistered. healthCheckGracePeriodSeconds is kept and answered
(API_Service.html) but delays nothing (it only holds back ECS's reaction
to unhealthy targets, and the unhealthy ones here are stopped a step
later anyway).
A deployment whose task definition has HEALTH_CHECK_CODES in any container
(the codes its health check path answers) never gets healthy:
  * its targets are "unhealthy", Reason Target.ResponseCodeMismatch,
    Description "Health checks failed with these codes: [CODES]"
    (API_TargetHealth.html, API_DescribeTargetHealth.html); CODES is the
    variable's value as written;
  * each DescribeServices call first stops the task started at the previous
    call (found unhealthy after its start-up and UnhealthyThresholdCount
    checks, "Clock"; stopped at once: stopCode ServiceSchedulerInitiated, API_Task.html; stoppedReason
    "Task failed ELB health checks in (target-group TARGET-GROUP-ARN)", as
    ECS words it; the load-balanced container exits 143 (SIGTERM), the
    others 0; failedTasks +1; deregistered; events "(service NAME)
    (task ID) (port PORT) is unhealthy in (target-group TARGET-GROUP-NAME)
    due to (reason Health checks failed with these codes: [CODES])."
    (DevGuide service-unhealthy-event-messages.html, the Fargate form) and
    "(service NAME) has stopped 1 running tasks: (task ID).") and then
    starts one task (registered, unhealthy; runningCount 1 while it runs,
    "has started 1 tasks" event);
  * the old deployment keeps running, registered and healthy;
  * the circuit breaker counts those tasks (DevGuide
    deployment-circuit-breaker.html: tasks that fail ELB health checks are
    failed tasks) and trips as for "fail-rollout", after the task of the
    same call was started: with desired 2 on the 4th call, failedTasks 3,
    the newest task still registered and unhealthy, the earlier ones
    deregistered. With rollback, the rollback deployment drains that task
    like the other old ones; without, it stays (nothing moves any more).
The tasks a new service starts at CreateService are healthy whatever the
task definition says (a new service is always stable).

Tasks: ListTasks honours serviceName (tasks whose group is "service:NAME")
and, as ECS does, lists only desiredStatus RUNNING tasks unless
desiredStatus is given. startedBy (API_ListTasks.html) lists the tasks
started with that value (a service's: its deployment id), with
desiredStatus (RUNNING by default; STOPPED lists a deployment's stopped
tasks); with family, serviceName, containerInstance or launchType as well
it is refused with InvalidParameterException "cannot specify startedBy
with other arguments" (the page: "When you specify startedBy as the
filter, it must be the only filter that you use"). Drained tasks are
STOPPED with stopCode ServiceSchedulerInitiated and stoppedReason "Scaling
activity initiated by (deployment ID)". DescribeTasks answers the
timestamps of "Clock" (createdAt, pullStartedAt, pullStoppedAt, startedAt,
connectivityAt, stoppingAt, executionStoppedAt, stoppedAt; a stamp a task
never reached is absent). Task states do not advance on DescribeTasks
(unlike plain moto; one-off RunTask tasks aside, see run_task). awsvpc task
definitions need the service's networkConfiguration (subnets must exist in
moto's EC2), as in ECS.

Task definitions: DescribeTaskDefinition answers one as it was registered
(fields moto does not know survive) plus the read-only fields
(API_DescribeTaskDefinition.html), registeredAt (on the clock, at
RegisterTaskDefinition) and, once deregistered, deregisteredAt.
  * Tags: RegisterTaskDefinition's `tags` are kept and answered back in its
    response, top-level (API_RegisterTaskDefinition.html; moto leaves them
    out); TagResource, UntagResource, ListTagsForResource on a task
    definition ARN and DescribeTaskDefinition include ["TAGS"] (top-level
    `tags`) are moto's (API_TagResource.html, API_UntagResource.html,
    API_ListTagsForResource.html).
  * ListTaskDefinitions (API_ListTaskDefinitions.html): familyPrefix is the
    full family name (as that page says, and as moto does), status ACTIVE
    (default) or INACTIVE, sort ASC (default: lexicographically by family,
    then by revision, newest last) or DESC (both reversed), maxResults 1-100
    (default 100) per page with a nextToken while more remain (moto:
    registration order, one page).
  * DeregisterTaskDefinition (API_DeregisterTaskDefinition.html): status
    INACTIVE (it stays describable, and listed with status INACTIVE),
    deregisteredAt now. ECS_EMULATOR_DENY_DEREGISTER=FAMILY:REVISION,... in
    the server's environment: those are refused with HTTP 400
    AccessDeniedException, in IAM's words for an explicit deny ("User: ...
    is not authorized to perform: ecs:DeregisterTaskDefinition on resource:
    TASK-DEFINITION-ARN with an explicit deny in an identity-based policy",
    IAM User Guide troubleshoot_access-denied.html) and nothing changes.
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime
import hashlib
import json
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
from moto.elbv2 import models as elbv2_models
from moto.logs.models import logs_backends
from moto.secretsmanager.models import secretsmanager_backends
from moto.ssm.models import ssm_backends

EcsBackend = ecs_models.EC2ContainerServiceBackend

LOCK = threading.RLock()
MAX_EVENTS = 100

FAIL_MARKER = "fail-rollout"
CRASH_ENV = "CRASH_ON_START"
NEVER_MARKER = "never-stable"
THROTTLE_RE = re.compile(r"throttle-(\d+)")
THROTTLE_ENV = "ECS_EMULATOR_THROTTLE_DESCRIBE"
STALE_RE = re.compile(r"stale-(\d+)")
SUPERSEDE_RE = re.compile(r"superseded-(\d+)")
DENY_ENV = "ECS_EMULATOR_DENY_SERVICE_DEPLOYMENTS"
# Service-deployment statuses after which nothing changes (DevGuide
# service-deployment.html, "Completed" stage).
SD_TERMINAL = {"SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"}

OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
OOM_EXIT_CODE = 137
# The JVM's own last words when the heap runs out.
# CRASH_ON_START values that only say "crash" (no message of their own).
CRASH_FLAGS = {"", "yes", "true", "1"}
CRASH_EXIT_CODE = 1
# A binary for another CPU architecture: the kernel refuses to exec it.
EXEC_FORMAT_MARKER = "exec-format"
EXEC_FORMAT_LINE = "exec /opt/java/openjdk/bin/java: exec format error"
EXEC_FORMAT_EXIT_CODE = 255
# DevGuide resource-initialization-error.html ("failed to validate logger
# args"): the awslogs driver cannot create its stream in a missing group.
NO_LOG_GROUP_REASON = (
    "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: "
    "failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist. "
    ": exit status 1"
)
# DevGuide "CannotPullContainer task errors" (task_cannot_pull_image.html,
# "Connection timed out": "When a Fargate task is launched, its elastic
# network interface requires a route to the internet to pull container
# images") and "Stopped task error codes" (stopped-task-error-codes.html,
# CannotPullContainerError, stopCode TaskFailedToStart). That page's example
# is the old Docker-era text ("API error (500): ... request canceled while
# waiting for connection"); today's Fargate (containerd) text, as reported
# from such tasks (e.g. GitHub ActionIQ/terraform-aws-retool-ecs-fargate#20:
# "pull image manifest has been retried 5 time(s): failed to resolve ref
# docker.io/tryretool/backend:2.110.5: failed to do request: Head
# "https://registry-1.docker.io/v2/tryretool/backend/manifests/2.110.5":
# dial tcp ...:443: i/o timeout"), names the resolved reference and the
# manifest request that timed out.
PULL_FAILS_MARKER = "pull-fails"
PULL_TIMEOUT_REASON = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref {image}: "
    'failed to do request: Head "https://{registry}/v2/{repo}/manifests/{ref}": dial tcp 10.0.0.1:443: i/o timeout'
)
# DevGuide "Stopped task error codes" (stopped-task-error-codes.html,
# ResourceInitializationError, stopCode TaskFailedToStart) and "Troubleshoot
# Amazon ECS ResourceInitializationError errors"
# (resource-initialization-error.html, "unable to pull secrets or registry
# auth"). AWS re:Post knowledge-center/ecs-unable-to-pull-secrets lists the
# Fargate text for Secrets Manager: "ResourceInitializationError: unable to
# pull secrets or registry auth: execution resource retrieval failed: unable
# to retrieve secret from asm: service call has been retried 1 time(s):
# failed to fetch secret arn:aws:secretsmanager:<region>:<accountID>:secret:
# <secretName> from secrets manager: ..."; what follows is Secrets Manager's
# own ResourceNotFoundException message ("Secrets Manager can't find the
# specified secret."). For SSM the text ends as the ECS agent words its
# GetParameters answer (amazon-ecs-agent agent/ssm/ssm.go: "invalid
# parameters: %s", the names as asked for, joined by ","); Fargate has been
# seen to say "invalid ssm parameters: NAME" there instead.
SECRET_PREFIX = (
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "
)
ASM_MISSING_REASON = (
    SECRET_PREFIX + "unable to retrieve secret from asm: service call has been retried 1 time(s): "
    "failed to fetch secret {arn} from secrets manager: ResourceNotFoundException: "
    "Secrets Manager can't find the specified secret."
)
SSM_MISSING_REASON = (
    SECRET_PREFIX + "unable to retrieve secrets from ssm: service call has been retried 1 time(s): "
    "invalid parameters: {names}"
)
# ELB health checks (API_TargetHealth.html, API_DescribeTargetHealth.html).
HEALTH_CODES_ENV = "HEALTH_CHECK_CODES"
SIGTERM_EXIT_CODE = 143  # 128 + SIGTERM: the container was stopped
# How long things take, on the emulator's clock ("Clock" in the docstring).
# A task's start (API_Task.html: createdAt, pullStartedAt, pullStoppedAt,
# startedAt): Fargate provisions it (attaches its ENI), pulls the images,
# starts the containers; then the application starts up.
PROVISION_SECONDS = 2
PULL_ENV = "EMULATOR_PULL_SECONDS"
PULL_DEFAULT_SECONDS = 3
START_SECONDS = 1
STARTUP_ENV = "EMULATOR_STARTUP_SECONDS"
STARTUP_DEFAULT_SECONDS = 8
# A task stopped without a load balancer: SIGTERM, the JVM shuts down.
SIGTERM_SECONDS = 2
# ELB User Guide, "Deregistration delay": the target group attribute
# deregistration_delay.timeout_seconds (default 300).
DEREGISTRATION_DELAY_ATTRIBUTE = "deregistration_delay.timeout_seconds"
DEREGISTRATION_DELAY_DEFAULT = 300
# One BAKE_TIME step stands for one minute.
BAKE_STEP_SECONDS = 60
# DeregisterTaskDefinition refused for these family:revision (comma-separated).
DENY_DEREGISTER_ENV = "ECS_EMULATOR_DENY_DEREGISTER"


class AccessDeniedException(JsonRESTError):
    """HTTP 400 AccessDeniedException, as IAM answers an action the policy
    lacks (API_ListServiceDeployments.html, Errors) or, `explicit`, one a
    policy denies (IAM User Guide, troubleshoot_access-denied.html: "...
    with an explicit deny in an identity-based policy")."""

    code = 400

    def __init__(self, action: str, resource: str, explicit: bool = False) -> None:
        why = (
            "with an explicit deny in an identity-based policy"
            if explicit
            else f"because no identity-based policy allows the ecs:{action} action"
        )
        super().__init__(
            "AccessDeniedException",
            f"User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecs:{action} "
            f"on resource: {resource} {why}",
        )
        self.content_type = "application/x-amz-json-1.1"


class ConflictException(JsonRESTError):
    """HTTP 400 ConflictException (API_StopServiceDeployment.html, Errors)."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("ConflictException", message)
        self.content_type = "application/x-amz-json-1.1"


class ThrottlingException(JsonRESTError):
    """HTTP 400, {"__type":"ThrottlingException","message":"Rate exceeded"}."""

    code = 400

    def __init__(self) -> None:
        super().__init__("ThrottlingException", "Rate exceeded")
        self.content_type = "application/x-amz-json-1.1"


# --- deterministic ids and monotonic timestamps -----------------------------

_counters: dict[str, int] = {}
# The emulator's clock (see "Clock" in the module docstring): the last
# moment it gave out, and how far it runs ahead of the wall clock.
_clock = {"last": datetime.datetime(1970, 1, 1), "ahead": datetime.timedelta(0)}


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


def _wall() -> datetime.datetime:
    """The wall clock (naive UTC, as moto uses), to the millisecond."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _now() -> datetime.datetime:
    """The emulator's time: the wall clock plus however far `_advance` has
    moved it ahead, strictly increasing by at least 1 ms per call so that
    ordering by createdAt is unambiguous."""
    now = _wall() + _clock["ahead"]
    if now <= _clock["last"]:
        now = _clock["last"] + datetime.timedelta(milliseconds=1)
    _clock["last"] = now
    return now


def _seconds(seconds: float) -> datetime.timedelta:
    return datetime.timedelta(milliseconds=round(seconds * 1000))


def _advance(seconds: float, since: datetime.datetime | None = None) -> datetime.datetime:
    """Moves the clock forward by `seconds` modeled seconds at once (from
    `since`, by default the last moment the clock gave) and returns that
    moment, exactly: durations modeled this way pass instantly in wall
    time. The clock never goes back: a moment already passed is returned
    as it is and changes nothing. The next `_now()` is later."""
    moment = (since if since is not None else _clock["last"]) + _seconds(seconds)
    if moment > _clock["last"]:
        _clock["last"] = moment
        _clock["ahead"] = max(_clock["ahead"], moment - _wall())
    return moment


def _clock_time() -> datetime.datetime:
    """The clock's present moment, without taking a new one."""
    return max(_clock["last"], _wall() + _clock["ahead"])


# --- per-service emulator state ---------------------------------------------


def _emu(svc) -> dict:
    state = getattr(svc, "_emu", None)
    if state is None:
        state = {
            "throttle": 0,  # DescribeServices calls still to refuse
            "stable": None,  # (deployment id, task definition ARN) last completed
            "meta": {},  # deployment id -> {"mode", "rollback", "tasks": [task ARNs], ...}
            "stale": 0,  # DescribeServices calls still answered from `stale_view`
            "stale_view": None,  # the service as it was before the last update
            "sds": {},  # service-deployment ARN -> record (API_ServiceDeployment.html)
            "revisions": {},  # task definition ARN -> service-revision ARN
        }
        svc._emu = state
    return state


def _images(td) -> list[str]:
    return [str(c.get("image") or "") for c in td.container_definitions]


def _marker_number(td, pattern) -> int:
    for image in _images(td):
        m = pattern.search(image)
        if m:
            return int(m.group(1))
    return 0


def _strategy(svc) -> str:
    config = getattr(svc, "deployment_configuration", None) or {}
    return config.get("strategy") or "ROLLING"


def _env_value(cdef: dict, name: str) -> str | None:
    for e in cdef.get("environment") or []:
        if e.get("name") == name:
            return str(e.get("value") or "")
    return None


def _crash_of(cdef: dict) -> tuple[int, str | None, list[str] | None] | None:
    """How container `cdef` dies right after starting, or None if it runs:
    (exitCode, container reason, the last lines it logs). None for the
    lines means "only the exec error" (exec-format)."""
    image = str(cdef.get("image") or "")
    if EXEC_FORMAT_MARKER in image:
        return EXEC_FORMAT_EXIT_CODE, None, None
    if FAIL_MARKER in image:
        return OOM_EXIT_CODE, OOM_REASON, []
    value = _env_value(cdef, CRASH_ENV)
    if value is None:
        return None
    if value.strip().lower() in CRASH_FLAGS:
        # The original CRASH_ON_START contract: the task stops, its
        # containers report exit code 0 (tests/it/release.rs relies on
        # nothing more).
        return 0, None, []
    return CRASH_EXIT_CODE, None, [value]


def _crashes(td) -> bool:
    """A container crashes on start: an image marker (fail-rollout,
    exec-format) or the environment variable CRASH_ON_START (a service's
    bad configuration: its tasks exit at once, whatever the image)."""
    return any(_crash_of(c) is not None for c in td.container_definitions)


def _health_codes(td) -> str | None:
    """HEALTH_CHECK_CODES of any container: the HTTP codes its health check
    path answers (the targets of its tasks are unhealthy)."""
    for c in td.container_definitions:
        value = _env_value(c, HEALTH_CODES_ENV)
        if value:
            return value
    return None


def _pull_fails(td) -> bool:
    """An image carries the marker "pull-fails": its pull times out."""
    return any(PULL_FAILS_MARKER in i for i in _images(td))


def _mode(td, svc=None) -> str:
    if _crashes(td) or _pull_fails(td):
        return "fail"
    if svc is not None and _target_groups(svc) and _health_codes(td):
        return "unhealthy"
    if any(NEVER_MARKER in i for i in _images(td)):
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


def _event(svc, message: str, at: datetime.datetime | None = None) -> None:
    """A service event, newest first, stamped now (or `at`, a moment the
    clock already passed); never earlier than, nor equal to, the newest."""
    moment = at if at is not None else _now()
    if svc.events and moment <= svc.events[0]["createdAt"]:
        moment = svc.events[0]["createdAt"] + datetime.timedelta(milliseconds=1)
    svc.events.insert(0, {"id": _event_id(), "createdAt": moment, "message": message})
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
    _emu(svc)["meta"][dep_id] = {
        "mode": _mode(td, svc),
        "health_codes": _health_codes(td),
        "rollback": rollback,
        "tasks": [],
        "supersede": 0 if rollback else _marker_number(td, SUPERSEDE_RE),
    }
    if _strategy(svc) != "ROLLING" and not rollback:
        # API_Deployment.html: rolloutState only for rolling deployments.
        del deployment["rolloutState"]
        del deployment["rolloutStateReason"]
    return deployment


def _recount(svc) -> None:
    svc.running_count = sum(d["runningCount"] for d in svc.deployments)
    svc.pending_count = sum(d["pendingCount"] for d in svc.deployments)


def _touch(deployment: dict, at: datetime.datetime | None = None) -> None:
    deployment["updatedAt"] = at if at is not None else _now()


# --- service deployments ------------------------------------------------------


def _arn_prefix(backend, kind: str, svc) -> str:
    return f"arn:aws:ecs:{backend.region_name}:{backend.account_id}:{kind}/{svc.cluster_name}/{svc.name}"


def _revision_arn(backend, svc, td_arn: str) -> str:
    """The service revision of `td_arn` (one per task definition here; a
    service revision is immutable, DevGuide service-revision.html)."""
    revisions = _emu(svc)["revisions"]
    if td_arn not in revisions:
        revisions[td_arn] = f"{_arn_prefix(backend, 'service-revision', svc)}/{4 * 10**18 + _next('revision')}"
    return revisions[td_arn]


def _new_service_deployment(backend, svc, deployment: dict, source_td: str | None) -> str:
    """The service deployment of a deployment UpdateService opened."""
    state = _emu(svc)
    token = hashlib.sha256(f"sd:{_next('sd')}".encode()).hexdigest()
    sd_id = "".join(c for c in token if c.isalnum())[:21]
    arn = f"{_arn_prefix(backend, 'service-deployment', svc)}/{sd_id}"
    now = _now()
    config = copy.deepcopy(getattr(svc, "deployment_configuration", None) or {})
    breaker = config.get("deploymentCircuitBreaker") or {}
    record = {
        "serviceDeploymentArn": arn,
        "serviceArn": svc.arn,
        "clusterArn": svc.cluster_arn,
        "createdAt": now,
        "startedAt": now,
        "updatedAt": now,
        "sourceServiceRevisions": (
            [{"arn": _revision_arn(backend, svc, source_td), "requestedTaskCount": svc.desired_count,
              "runningTaskCount": svc.desired_count, "pendingTaskCount": 0}]
            if source_td else []
        ),
        "targetServiceRevision": {
            "arn": _revision_arn(backend, svc, deployment["taskDefinition"]),
            "requestedTaskCount": deployment["desiredCount"],
            "runningTaskCount": 0,
            "pendingTaskCount": deployment["desiredCount"],
        },
        "status": "IN_PROGRESS",
        "deploymentConfiguration": config,
        "deploymentCircuitBreaker": {
            "status": "MONITORING" if breaker.get("enable") else "DISABLED",
            "failureCount": 0,
            "threshold": _failure_threshold(deployment["desiredCount"]),
        },
    }
    if _strategy(svc) != "ROLLING":
        record["lifecycleStage"] = "SCALE_UP"
    state["sds"][arn] = record
    state["meta"][deployment["id"]]["sd"] = arn
    svc.current_service_deployment = arn
    return arn


def _sd_of(svc, deployment_id: str) -> dict | None:
    state = _emu(svc)
    arn = state["meta"].get(deployment_id, {}).get("sd")
    return state["sds"].get(arn) if arn else None


def _sd_update(record: dict | None, **fields) -> None:
    if record is None:
        return
    now = _now()
    record.update(fields)
    record["updatedAt"] = now
    if fields.get("status") in SD_TERMINAL:
        record["finishedAt"] = now
        if fields["status"] == "STOPPED":
            record["stoppedAt"] = now


def _sd_counts(record: dict | None, deployment: dict) -> None:
    if record is not None:
        record["targetServiceRevision"]["runningTaskCount"] = deployment["runningCount"]
        record["targetServiceRevision"]["pendingTaskCount"] = deployment["pendingCount"]


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


def _env_seconds(td, name: str, default: float) -> float:
    """The largest number of seconds a container of `td` gives in its
    environment variable `name` (a number >= 0; anything else is ignored),
    else `default`."""
    found = []
    for cdef in td.container_definitions:
        value = _env_value(cdef, name)
        try:
            seconds = float(value) if value is not None else -1.0
        except ValueError:
            continue
        if 0 <= seconds < 10**7:
            found.append(seconds)
    return max(found) if found else default


def _service_task(backend, svc, deployment: dict, at: datetime.datetime | None = None):
    """A new task of `deployment` (group "service:NAME", startedBy = the
    deployment id), created now (or `at`) and not started yet."""
    return _make_task(
        backend,
        svc.cluster_name,
        deployment["taskDefinition"],
        svc.network_configuration,
        svc.launch_type,
        svc.platform_version,
        f"service:{svc.name}",
        deployment["id"],
        at=at,
    )


def _start_tasks(backend, svc, deployment: dict, count: int = 1, health_codes: str | None = None) -> list:
    """`count` RUNNING tasks of `deployment` (not yet counted), started
    together: created at one moment (the event "has started N tasks"), each
    taken through its start on the clock (`_launch`), then registered with
    the service's target groups at their startedAt (unhealthy there with
    `health_codes`; the event "registered N targets in (target-group ARN)",
    DevGuide service-load-balancing.html). The clock is left at the latest
    startedAt; when they count as running is `_ready_at`'s answer."""
    at = _now()
    tasks = [_service_task(backend, svc, deployment, at) for _ in range(count)]
    _event(svc, f"(service {svc.name}) has started {count} tasks: {_tasks_phrase([t.id for t in tasks])}.")
    td = backend.describe_task_definition(deployment["taskDefinition"])
    for task in tasks:
        _launch(task, td)
    for task in tasks:
        _register_targets(backend, svc, task, health_codes)
    _announce_registered(svc, tasks)
    return tasks


def _make_task(backend, cluster_name, td_arn, network, launch_type, platform_version, group, started_by,
               at: datetime.datetime | None = None):
    """A task of `td_arn` in `cluster_name`, created now (or `at`):
    PROVISIONING, no other timestamp yet (`_launch` starts it)."""
    cluster = backend._get_cluster(cluster_name)
    td = backend.describe_task_definition(td_arn)
    net = copy.deepcopy(network) or None
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
        group=group,
        launch_type=launch_type or "",
        started_by=started_by,
        networking_configuration=None,
        platform_version=platform_version,
    )
    if td.network_mode == "awsvpc":
        task.network_configuration = net
        task.attachments = _eni_attachment(backend, task, net["awsvpcConfiguration"])
    task.id = _task_id()
    task._transitions = []  # states change only through the emulator
    task.status = "PROVISIONING"
    task.desired_status = "RUNNING"
    task.created_at = at if at is not None else _now()
    task.pull_started_at = None
    task.pull_stopped_at = None
    task.started_at = None
    task.connectivity = None
    task.connectivity_at = None
    task.health_status = "UNKNOWN"
    task.availability_zone = f"{task.region_name}a"
    task.cpu = str(td.cpu) if td.cpu is not None else None
    task.memory = str(td.memory) if td.memory is not None else None
    task.platform_family = "Linux"
    task.version = 1
    task.containers = [_container(td, cdef, task.task_arn) for cdef in td.container_definitions]
    backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task
    return task


def _launch(task, td, upto: str = "started") -> datetime.datetime:
    """Takes `task` through its start on the clock (API_Task.html):
    PROVISION_SECONDS of provisioning (Fargate attaches the ENI) →
    pullStartedAt; the image pull, EMULATOR_PULL_SECONDS (the largest over
    the containers, default 3) → pullStoppedAt; START_SECONDS to start the
    containers → startedAt and connectivityAt, RUNNING. `upto` stops short
    for a task that never starts: "provisioned" (its execution resources,
    fetched next, are missing: no pullStartedAt), "pulling" (the pull fails
    after as long as it would have taken: no pullStoppedAt), "pulled" (the
    containers cannot be created: no startedAt). Each stamp is exact,
    counted from createdAt; the clock is moved to the last one, which is
    returned."""
    moment = _advance(PROVISION_SECONDS, since=task.created_at)
    if upto == "provisioned":
        return moment
    task.pull_started_at = moment
    moment = _advance(_env_seconds(td, PULL_ENV, PULL_DEFAULT_SECONDS), since=moment)
    if upto == "pulling":
        return moment
    task.pull_stopped_at = moment
    if upto == "pulled":
        return moment
    moment = _advance(START_SECONDS, since=moment)
    task.started_at = moment
    task.connectivity = "CONNECTED"
    task.connectivity_at = moment
    task.status = "RUNNING"
    return moment


def _startup_seconds(td) -> float:
    """EMULATOR_STARTUP_SECONDS of `td` (the largest; default 8): how long
    the application takes to start once its container runs."""
    return _env_seconds(td, STARTUP_ENV, STARTUP_DEFAULT_SECONDS)


def _stop_task(task, stop_code: str, reason: str, exits: dict | None = None, ran: bool = True,
               stopping_at: datetime.datetime | None = None, stopped_at: datetime.datetime | None = None) -> None:
    """STOPPED, deregistered from its target groups. `exits` maps container
    names to (exitCode, reason); the others exit 0. A task that never ran
    (`ran` false) has no exit codes and no startedAt. stoppingAt is now
    (or `stopping_at`), stoppedAt and executionStoppedAt `stopped_at`
    (default: the same moment)."""
    _deregister_targets(task)
    stopping = stopping_at if stopping_at is not None else _now()
    stopped = stopped_at if stopped_at is not None else stopping
    task.status = "STOPPED"
    task.desired_status = "STOPPED"
    task.stop_code = stop_code
    task.stopped_reason = reason
    task.stopping_at = stopping
    task.execution_stopped_at = stopped
    task.stopped_at = stopped
    task.health_status = "UNKNOWN"
    task.version = 3
    if not ran:
        task.started_at = None
        task.connectivity_at = None
    for c in task.containers:
        c.last_status = "STOPPED"
        code, why = (exits or {}).get(c.name, (0, None))
        c.exitCode = code if ran else None
        c.reason = why if ran else None


# --- tasks that never start (TaskFailedToStart) --------------------------------
#
# DevGuide "Stopped task error codes" (stopped-task-error-codes.html): a task
# whose secrets cannot be retrieved (ResourceInitializationError) or whose
# image cannot be pulled (CannotPullContainerError) stops with stopCode
# TaskFailedToStart (API_Task.html) before any container runs: no startedAt,
# no exit codes, nothing logged.


def _pull_ref(image: str) -> tuple[str, str, str, str]:
    """(reference, registry host, repository, tag or digest) of `image` as
    containerd resolves it: Docker Hub names are normalized
    (docker.io/library/NAME:latest, served by registry-1.docker.io), a
    missing tag is "latest"."""
    name, _, digest = image.partition("@")
    tag = ""
    if not digest and ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, host, repo = first, first, rest
    else:
        registry, host, repo = "docker.io", "registry-1.docker.io", name if rest else f"library/{name}"
    ref = digest or tag or "latest"
    reference = f"{registry}/{repo}" + (f"@{digest}" if digest else f":{ref}")
    return reference, host, repo, ref


def _pull_timeout_reason(image: str) -> str:
    reference, host, repo, ref = _pull_ref(image)
    return PULL_TIMEOUT_REASON.format(image=reference, registry=host, repo=repo, ref=ref)


def _secret_ref(backend, value_from: str) -> tuple[str, str, str, str] | None:
    """What a container secret's valueFrom names, as ECS reads it
    (DevGuide secrets-envvar-secrets-manager.html, secrets-envvar-ssm-paramstore.html):
    ("asm", account, region, secret ARN without the JSON key, version stage
    and version id: the first 7 ":" fields; a full ARN or a partial one
    without the 6-character suffix), ("ssm", account, region, name or ARN as
    written; a bare name is a parameter of the task's account and region),
    or None for anything else (not checked)."""
    if not value_from.startswith("arn:"):
        return ("ssm", backend.account_id, backend.region_name, value_from) if value_from else None
    fields = value_from.split(":")
    if len(fields) < 6:
        return None
    if fields[2] == "secretsmanager" and len(fields) >= 7 and fields[5] == "secret":
        return "asm", fields[4], fields[3], ":".join(fields[:7])
    if fields[2] == "ssm" and fields[5].startswith("parameter/"):
        return "ssm", fields[4], fields[3], value_from
    return None


def _secret_exists(account: str, region: str, secret_id: str) -> bool:
    """Whether Secrets Manager (moto's backend of that account and region)
    has the secret `secret_id` names: its full ARN, or a partial ARN (the
    name without the random suffix, which ECS accepts)."""
    try:
        store = secretsmanager_backends[account][region].secrets
    except Exception:  # noqa: BLE001 - an account/region moto does not know
        return False
    name = secret_id.split(":", 6)[-1]
    for secret in dict.values(store):
        if getattr(secret, "arn", None) == secret_id or getattr(secret, "name", None) == name:
            return True
    return False


def _parameter_exists(account: str, region: str, value_from: str) -> bool:
    """Whether SSM Parameter Store (moto's backend) has the parameter: by
    ARN (...:parameter/NAME; a name with "/" in it is "/NAME", a one-level
    one may have been created with or without its leading "/") or by name;
    a version or label selector (":N") is not part of the name."""
    if value_from.startswith("arn:"):
        rest = value_from.split(":")[5][len("parameter"):]  # "/NAME"
        names = [rest, rest[1:]]
    else:
        names = [value_from.split(":")[0]]
    try:
        parameters = ssm_backends[account][region]._parameters
    except Exception:  # noqa: BLE001 - an account/region moto does not know
        return False
    for name in names:
        try:
            if name and name in parameters:
                return True
        except Exception:  # noqa: BLE001 - e.g. a /aws/reference/secretsmanager/ name that is missing
            continue
    return False


def _secrets_failure(backend, td) -> str | None:
    """The stoppedReason of a task of `td` whose secrets[].valueFrom names a
    Secrets Manager secret or SSM parameter that does not exist, or None.
    The first missing one (containers and their secrets in order) decides:
    a secret is named alone; parameters are listed together, those of its
    region (the agent asks GetParameters per region)."""
    missing = []
    for cdef in td.container_definitions:
        for secret in cdef.get("secrets") or []:
            ref = _secret_ref(backend, str(secret.get("valueFrom") or ""))
            if ref is None:
                continue
            kind, account, region, what = ref
            exists = _secret_exists if kind == "asm" else _parameter_exists
            if not exists(account, region, what):
                missing.append(ref)
    if not missing:
        return None
    kind, _, region, what = missing[0]
    if kind == "asm":
        return ASM_MISSING_REASON.format(arn=what)
    names = [m[3] for m in missing if m[0] == "ssm" and m[2] == region]
    return SSM_MISSING_REASON.format(names=",".join(dict.fromkeys(names)))


def _start_failure(backend, td) -> tuple[str, dict] | None:
    """Why a task of `td` does not start, as (stoppedReason, {container
    name: its reason}), or None: a missing secret (the execution resources
    are retrieved before any image is pulled), else an image marked
    "pull-fails" (that container's reason is the pull error too)."""
    reason = _secrets_failure(backend, td)
    if reason is not None:
        return reason, {}
    for cdef in td.container_definitions:
        image = str(cdef.get("image") or "")
        if PULL_FAILS_MARKER in image:
            reason = _pull_timeout_reason(image)
            return reason, {cdef.get("name"): reason}
    return None


def _fail_to_start(task, reason: str, container_reasons: dict | None = None) -> None:
    """Stops `task` before it ran: stopCode TaskFailedToStart, no startedAt,
    no exit codes; a container named in `container_reasons` gets its reason."""
    _stop_task(task, "TaskFailedToStart", reason, ran=False)
    if not (container_reasons or {}):
        # Nothing was pulled either (the secrets come first).
        task.pull_started_at = None
    task.pull_stopped_at = None
    for c in task.containers:
        if c.name in (container_reasons or {}):
            c.reason = container_reasons[c.name]


# --- crashes and their logs (CloudWatch Logs, in moto's logs backend) ---------


def _millis(moment: datetime.datetime) -> int:
    return int((moment - datetime.datetime(1970, 1, 1)).total_seconds() * 1000)


def _spring_line(moment: datetime.datetime, level: str, logger: str, message: str) -> str:
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return f"{stamp} {level:>5} 1 --- [           main] {logger:<40} : {message}"


def _startup_lines(task, cdef: dict) -> list[tuple[int, str]]:
    """What a Spring Boot application prints before it gets anywhere."""
    lines = []
    profile = _env_value(cdef, "SPRING_PROFILES_ACTIVE") or "default"
    for level, logger, message in (
        ("INFO", "o.s.boot.SpringApplication", "Starting application using Java 21.0.5 with PID 1 (/app started by 1000 in /app)"),
        ("INFO", "o.s.boot.SpringApplication", f'The following 1 profile is active: "{profile}"'),
        ("INFO", "o.s.b.w.embedded.tomcat.TomcatWebServer", "Tomcat initialized with port 8080 (http)"),
        ("INFO", "o.s.b.w.s.c.ServletWebServerApplicationContext", "Root WebApplicationContext: initialization completed"),
    ):
        moment = _now()
        lines.append((_millis(moment), _spring_line(moment, level, logger, message)))
    return lines


def _first_lines(task, cdef: dict, crash) -> list[tuple[int, str]]:
    """The log events (timestamp ms, message) container `cdef` writes as it
    starts: the exec error alone (exec-format: the JVM never started), else
    the start-up lines."""
    if crash is not None and crash[2] is None:
        return [(_millis(_now()), EXEC_FORMAT_LINE)]
    return _startup_lines(task, cdef)


def _last_lines(crash) -> list[tuple[int, str]]:
    """What it writes as it dies: nothing if it does not crash (it runs
    until the task stops), nor when killed by the kernel for memory
    (SIGKILL, exit 137: no last words, the log just stops; DevGuide
    "Stopped task error codes", OutOfMemoryError: Container killed due to
    memory usage), nor after an exec error; else "Application run failed"
    and its CRASH_ON_START text."""
    if crash is None or crash[2] is None or crash[1] == OOM_REASON:
        return []
    moment = _now()
    lines = [(_millis(moment), _spring_line(moment, "ERROR", "o.s.boot.SpringApplication", "Application run failed"))]
    for text in crash[2]:
        lines.append((_millis(_now()), text))
    return lines


def _awslogs(task, cdef: dict):
    """(logs backend, group, stream, create-group?) of an awslogs container,
    or None. Stream names as the driver makes them (DevGuide
    using_awslogs.html, awslogs-stream-prefix: prefix-name/container-name/
    ecs-task-id; without a prefix, the container's id)."""
    config = cdef.get("logConfiguration") or {}
    if config.get("logDriver") != "awslogs":
        return None
    options = config.get("options") or {}
    group = options.get("awslogs-group")
    if not group:
        return None
    region = options.get("awslogs-region") or task.region_name
    prefix = options.get("awslogs-stream-prefix")
    task_id = task.task_arn.rsplit("/", 1)[-1]
    if prefix:
        stream = f"{prefix}/{cdef.get('name')}/{task_id}"
    else:
        runtime = next((c.runtime_id for c in task.containers if c.name == cdef.get("name")), task_id)
        stream = runtime
    create = str(options.get("awslogs-create-group", "")).lower() == "true"
    return logs_backends[task._account_id][region], group, stream, create


def _crash_task(backend, task, td) -> None:
    """Starts `task` (created, not started), whose containers crash on
    start (`_crash_of`), and stops it after writing their awslogs output;
    or, when an awslogs group does not exist (and awslogs-create-group is
    not "true"), stops it after its pull, before its containers are
    created (stopCode TaskFailedToStart, API_Task.html; no startedAt) with
    nothing written. On the clock: an exec error ends the task as it
    starts; a JVM that crashes gets through its start-up lines and dies at
    the end of its start-up (EMULATOR_STARTUP_SECONDS after startedAt)."""
    outputs = []
    for cdef in td.container_definitions:
        where = _awslogs(task, cdef)
        if where is None:
            continue
        logs, group, stream, create = where
        if group not in logs.groups:
            if not create:
                _launch(task, td, "pulled")
                _stop_task(task, "TaskFailedToStart", NO_LOG_GROUP_REASON, ran=False)
                return
            logs.create_log_group(group, {})
        outputs.append((cdef, logs, group, stream))
    started = _launch(task, td)
    crashes = [_crash_of(cdef) for cdef in td.container_definitions]
    events = {id(cdef): _first_lines(task, cdef, _crash_of(cdef)) for cdef, *_ in outputs}
    exec_error = any(c is not None and c[2] is None for c in crashes)
    _advance(0 if exec_error else _startup_seconds(td), since=started)
    for cdef, logs, group, stream in outputs:
        events[id(cdef)] += _last_lines(_crash_of(cdef))
        if stream not in logs.groups[group].streams:
            logs.create_log_stream(group, stream)
        # Written into the group itself: CloudWatch Logs' own check (no
        # event more than 2 hours after its now) is against the wall
        # clock, and these are stamped on the emulator's clock.
        logs.groups[group].put_log_events(stream, [{"timestamp": t, "message": m} for t, m in events[id(cdef)]])
    exits = {}
    for cdef, crash in zip(td.container_definitions, crashes):
        if crash is not None:
            exits[cdef.get("name")] = (crash[0], crash[1])
    _stop_task(task, "EssentialContainerExited", "Essential container in task exited", exits=exits)


# --- load balancer targets (moto's ELBv2 backend) ------------------------------
#
# DevGuide service-load-balancing.html: ECS registers each task of a service
# with its target groups (awsvpc: the task's ENI private IPv4 address, port
# = containerPort) and deregisters it when the task stops.

_UNHEALTHY: dict[tuple[str, str], str] = {}  # (target group ARN, IP) -> HTTP codes answered
# (target group ARN, IP) -> the moment its deregistration delay ends: a
# target ECS deregistered that ELB still drains (ELB User Guide,
# "Deregistration delay").
_DRAINING: dict[tuple[str, str], datetime.datetime] = {}


def _target_groups(svc) -> list[dict]:
    return [lb for lb in (getattr(svc, "load_balancers", None) or []) if lb.get("targetGroupArn")]


def _task_ip(task) -> str | None:
    for attachment in getattr(task, "attachments", None) or []:
        for detail in attachment.get("details") or []:
            if detail.get("name") == "privateIPv4Address":
                return detail.get("value")
    return None


def _target_group(task, arn: str):
    return elbv2_models.elbv2_backends[task._account_id][task.region_name].target_groups.get(arn)


def _register_targets(backend, svc, task, health_codes: str | None) -> None:
    """Registers `task` (started) with each target group of `svc`."""
    ip = _task_ip(task)
    task._targets = []
    if ip is None:
        return
    for lb in _target_groups(svc):
        group = _target_group(task, lb["targetGroupArn"])
        if group is None:
            continue
        port = int(lb.get("containerPort") or group.port)
        group.register([{"Id": ip, "Port": port}])
        task._targets.append((group.arn, ip, port, lb.get("containerName")))
        if health_codes:
            _UNHEALTHY[(group.arn, ip)] = health_codes
        else:
            _UNHEALTHY.pop((group.arn, ip), None)


def _announce_registered(svc, tasks: list) -> None:
    """ECS's event for targets it registered (DevGuide
    service-event-messages.html, service-load-balancing.html): "(service
    NAME) registered N targets in (target-group ARN)", one per target
    group, stamped when they were registered (the tasks' startedAt)."""
    counts: dict[str, int] = {}
    for task in tasks:
        for arn, *_ in getattr(task, "_targets", None) or []:
            counts[arn] = counts.get(arn, 0) + 1
    if not counts:
        return
    at = max(t.started_at for t in tasks if getattr(t, "_targets", None))
    for arn, n in counts.items():
        _event(svc, f"(service {svc.name}) registered {n} targets in (target-group {arn})", at=at)


def _deregister_targets(task) -> None:
    for arn, ip, port, _ in getattr(task, "_targets", None) or []:
        group = _target_group(task, arn)
        _UNHEALTHY.pop((arn, ip), None)
        _DRAINING.pop((arn, ip), None)
        if group is not None and ip in group.targets:
            group.deregister([{"Id": ip, "Port": port}])
    task._targets = []


_orig_health_for = elbv2_models.FakeTargetGroup.health_for


def health_for(self, target, ec2_backend):
    """API_TargetHealth.html: a target ECS deregistered is "draining",
    Reason Target.DeregistrationInProgress, until its deregistration delay
    has passed on the emulator's clock; a target whose health check path
    answers a code the matcher does not accept is unhealthy, Reason
    Target.ResponseCodeMismatch; the rest is moto's (healthy when
    registered, unused / Target.NotRegistered after deregistration)."""
    with LOCK:
        key = (self.arn, target.get("Id"))
        codes = _UNHEALTHY.get(key)
        registered = self.targets.get(target.get("Id"))
        until = _DRAINING.get(key)
        if until is not None and registered is not None and _clock_time() < until:
            return elbv2_models.FakeHealthStatus(
                registered["Id"],
                registered["Port"],
                self.health_check_port,
                "draining",
                "Target.DeregistrationInProgress",
                "Target deregistration is in progress",
            )
        if codes is not None and registered is not None:
            return elbv2_models.FakeHealthStatus(
                registered["Id"],
                registered["Port"],
                self.health_check_port,
                "unhealthy",
                "Target.ResponseCodeMismatch",
                f"Health checks failed with these codes: [{codes}]",
            )
        return _orig_health_for(self, target, ec2_backend)


def _task_groups(task) -> list:
    """The target groups (moto's objects) `task` is registered with."""
    groups = []
    for arn, *_ in getattr(task, "_targets", None) or []:
        group = _target_group(task, arn)
        if group is not None:
            groups.append(group)
    return groups


def _checks_seconds(task, threshold_field: str) -> float:
    """How long the load balancer takes to decide about `task`'s targets
    once the application answers: HealthCheckIntervalSeconds × the
    threshold count (ELB User Guide, "Health checks for target groups";
    DescribeTargetGroups answers both; moto's defaults when not set, 30 s
    and 5 healthy / 2 unhealthy), the longest over its target groups."""
    seconds = [int(g.health_check_interval_seconds) * int(getattr(g, threshold_field)) for g in _task_groups(task)]
    return max(seconds, default=0)


def _ready_at(task, td) -> datetime.datetime:
    """When a started task counts as running: its application has started
    (EMULATOR_STARTUP_SECONDS after startedAt) and, registered with target
    groups, the load balancer has seen HealthyThresholdCount passing
    checks, one per HealthCheckIntervalSeconds."""
    return task.started_at + _seconds(_startup_seconds(td) + _checks_seconds(task, "healthy_threshold_count"))


def _found_unhealthy_at(task, td) -> datetime.datetime:
    """When the load balancer calls a target that answers HEALTH_CHECK_CODES
    unhealthy: its start-up, then UnhealthyThresholdCount failed checks."""
    return task.started_at + _seconds(_startup_seconds(td) + _checks_seconds(task, "unhealthy_threshold_count"))


def _deregistration_delay(group) -> float:
    """The target group attribute deregistration_delay.timeout_seconds
    (DescribeTargetGroupAttributes, ModifyTargetGroupAttributes; default
    300)."""
    value = (getattr(group, "attributes", None) or {}).get(DEREGISTRATION_DELAY_ATTRIBUTE, DEREGISTRATION_DELAY_DEFAULT)
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return float(DEREGISTRATION_DELAY_DEFAULT)


def _drain_tasks(svc, tasks: list, stop_code: str, reason: str) -> None:
    """Stops running `tasks` together, as ECS does for tasks it replaces or
    scales in (ELB User Guide, "Deregistration delay"; DevGuide
    service-load-balancing.html). stoppingAt is now for all of them. A task
    registered with target groups is deregistered from them at once: its
    targets are draining (DescribeTargetHealth State draining, Reason
    Target.DeregistrationInProgress) for the longest
    deregistration_delay.timeout_seconds of its groups, then gone, and the
    task is STOPPED with stoppedAt = stoppingAt + that delay (events "(service
    NAME) has begun draining connections on N tasks." and "(service NAME)
    deregistered N targets in (target-group ARN)" as it starts). A task
    without targets stops SIGTERM_SECONDS after stoppingAt (the JVM answers
    SIGTERM). They drain in parallel: the clock advances once, to the
    latest stoppedAt, and "has stopped N running tasks" is stamped then."""
    if not tasks:
        return
    stopping = _now()
    ends = []
    counts: dict[str, int] = {}
    for task in tasks:
        groups = _task_groups(task)
        if groups:
            until = stopping + _seconds(max(_deregistration_delay(g) for g in groups))
            for arn, ip, *_ in task._targets:
                _DRAINING[(arn, ip)] = until
                counts[arn] = counts.get(arn, 0) + 1
        else:
            until = stopping + _seconds(SIGTERM_SECONDS)
        task.desired_status = "STOPPED"
        task.stopping_at = stopping
        ends.append(until)
    draining = sum(1 for task in tasks if _task_groups(task))
    if draining:
        _event(svc, f"(service {svc.name}) has begun draining connections on {draining} tasks.")
        for arn, n in counts.items():
            _event(svc, f"(service {svc.name}) deregistered {n} targets in (target-group {arn})")
    _advance(0, since=max(ends))
    for task, until in zip(tasks, ends):
        _stop_task(task, stop_code, reason, stopping_at=stopping, stopped_at=until)
    _event(svc, f"(service {svc.name}) has stopped {len(tasks)} running tasks: {_tasks_phrase([t.id for t in tasks])}.")


def _task(backend, svc, arn: str):
    return backend.tasks.get(svc.cluster_name, {}).get(arn)


def _drain_one(backend, svc, primary: dict, limit: int | None = 1) -> None:
    """Stops up to `limit` (None: all) running tasks of the non-PRIMARY
    deployments, oldest deployment first, draining them together
    (`_drain_tasks`)."""
    state = _emu(svc)
    tasks, touched = [], []
    for deployment in reversed(svc.deployments[1:]):
        meta = state["meta"].get(deployment["id"])
        while deployment["runningCount"] > 0 and (limit is None or len(tasks) < limit):
            arn = meta["tasks"].pop(0) if meta and meta["tasks"] else None
            task = _task(backend, svc, arn) if arn else None
            if task is not None and task.status != "STOPPED":
                tasks.append(task)
            deployment["runningCount"] -= 1
            touched.append(deployment)
    _drain_tasks(svc, tasks, "ServiceSchedulerInitiated", f"Scaling activity initiated by (deployment {primary['id']})")
    for deployment in touched:
        _touch(deployment)


def _announced_task(backend, svc, deployment: dict):
    """A new task of `deployment`, created now, with its "has started 1
    tasks" event."""
    task = _service_task(backend, svc, deployment)
    _event(svc, f"(service {svc.name}) has started 1 tasks: {_tasks_phrase([task.id])}.")
    return task


def _failed_task(backend, svc, deployment: dict, td, reason: str, container_reasons: dict | None = None):
    """A new task of `deployment` that never starts (`_fail_to_start`): it
    fails after its provisioning (its secrets are fetched first), or, for
    a pull that fails (`container_reasons`), after its pull time."""
    task = _announced_task(backend, svc, deployment)
    _launch(task, td, "pulling" if container_reasons else "provisioned")
    _fail_to_start(task, reason, container_reasons)
    return task


def _scale_primary(backend, svc, primary: dict) -> None:
    """Brings a COMPLETED PRIMARY to its desiredCount at once: the missing
    tasks start together (counted once ready, `_ready_at`: the clock moves
    there), extra ones drain together (`_drain_tasks`)."""
    meta = _emu(svc)["meta"].setdefault(primary["id"], {"mode": "normal", "rollback": False, "tasks": []})
    td = backend.describe_task_definition(primary["taskDefinition"])
    missing = primary["desiredCount"] - primary["runningCount"]
    reason = _secrets_failure(backend, td) if missing > 0 else None
    if reason is not None:
        # A scale-out whose tasks cannot get their secrets: each fails to
        # start (failedTasks), the rest stays pending; nothing retries.
        at = _now()
        tasks = [_service_task(backend, svc, primary, at) for _ in range(missing)]
        _event(svc, f"(service {svc.name}) has started {missing} tasks: {_tasks_phrase([t.id for t in tasks])}.")
        for task in tasks:
            _launch(task, td, "provisioned")
            _fail_to_start(task, reason)
            primary["failedTasks"] += 1
        primary["pendingCount"] = missing
        _touch(primary)
        return
    changed = False
    if missing > 0:
        tasks = _start_tasks(backend, svc, primary, missing)
        meta["tasks"].extend(t.task_arn for t in tasks)
        primary["runningCount"] += missing
        _advance(0, since=max(_ready_at(t, td) for t in tasks))
        changed = True
    extra = []
    while primary["runningCount"] > primary["desiredCount"]:
        arn = meta["tasks"].pop() if meta["tasks"] else None
        task = _task(backend, svc, arn) if arn else None
        if task is not None and task.status != "STOPPED":
            extra.append(task)
        primary["runningCount"] -= 1
    if extra:
        _drain_tasks(svc, extra, "ServiceSchedulerInitiated", f"Scaling activity initiated by (service {svc.name})")
        changed = True
    primary["pendingCount"] = 0
    _touch(primary)
    if changed:
        _event(svc, f"(service {svc.name}) has reached a steady state.")


# --- the rollout step ---------------------------------------------------------


def _failure_threshold(desired: int) -> int:
    return min(max(math.ceil(desired / 2), 3), 200)


def _step(backend, svc) -> None:
    """Advances `svc` by one DescribeServices step."""
    if svc.status != "ACTIVE" or not svc.deployments:
        return
    primary = svc.deployments[0]
    if primary.get("status") != "PRIMARY":
        return
    state = _emu(svc)
    meta = state["meta"].setdefault(primary["id"], {"mode": "normal", "rollback": False, "tasks": []})
    if meta.get("rollback_requested"):
        _open_rollback(backend, svc, primary, meta, "Rollback requested by StopServiceDeployment.")
        return
    if meta.get("phase") in ("traffic", "bake", "cleanup"):
        _step_blue_green_tail(backend, svc, primary, meta)
        return
    if primary.get("rolloutState", "IN_PROGRESS") != "IN_PROGRESS" or meta.get("done"):
        return
    desired = primary["desiredCount"]
    record = _sd_of(svc, primary["id"])
    meta["steps"] = meta.get("steps", 0) + 1
    if meta.get("supersede") and meta["steps"] > meta["supersede"]:
        _supersede(backend, svc, primary)
        return

    if meta["mode"] == "fail":
        td = backend.describe_task_definition(primary["taskDefinition"])
        failure = _start_failure(backend, td)
        if failure is not None:
            task = _failed_task(backend, svc, primary, td, *failure)
        else:
            task = _announced_task(backend, svc, primary)
            _crash_task(backend, task, td)
        _count_failed_start(backend, svc, primary, meta, record, task)
        return
    if meta["mode"] == "unhealthy":
        _step_unhealthy(backend, svc, primary, meta, record)
        return

    blue_green = _strategy(svc) != "ROLLING" and not meta["rollback"] and not meta.get("initial")
    target = max(desired - 1, 0) if meta["mode"] == "never" else desired
    if primary["runningCount"] < target:
        td = backend.describe_task_definition(primary["taskDefinition"])
        reason = _secrets_failure(backend, td)
        if reason is not None:
            # The task never starts: nothing registered, nothing drained.
            task = _failed_task(backend, svc, primary, td, reason)
            _count_failed_start(backend, svc, primary, meta, record, task)
            return
        (task,) = _start_tasks(backend, svc, primary)
        meta["tasks"].append(task.task_arn)
        # It counts once ready (healthy in its target groups): the step
        # takes the clock there; what follows in the step (the old task it
        # replaces draining) comes after.
        ready = _advance(0, since=_ready_at(task, td))
        primary["runningCount"] += 1
        primary["pendingCount"] = desired - primary["runningCount"]
        _touch(primary, at=ready)
        _sd_counts(record, primary)
        if not blue_green:  # blue/green keeps blue at full size until traffic moved
            _drain_one(backend, svc, primary, 1)
        _recount(svc)
        return
    if meta["mode"] == "never":
        return
    if blue_green:
        meta["phase"] = "traffic"
        meta["stage_list"] = ["TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"]
        _step_blue_green_tail(backend, svc, primary, meta)
        return

    # running == desired since the previous call: finish.
    _finish(backend, svc, primary, meta)


def _count_failed_start(backend, svc, primary: dict, meta: dict, record: dict | None, task) -> None:
    """`task` of `primary` stopped as soon as it was started (a crash, or
    it never started): failedTasks + 1, and the circuit breaker."""
    primary["failedTasks"] += 1
    _counted_start(backend, svc, primary, meta, record, task)


def _counted_start(backend, svc, primary: dict, meta: dict, record: dict | None, task) -> None:
    """After `task` of `primary` started (and maybe failed at once; its "has
    started" event was written when it was created): the counts, the
    service deployment's, and the circuit breaker."""
    primary["pendingCount"] = max(primary["desiredCount"] - primary["runningCount"], 0)
    _touch(primary)
    _sd_counts(record, primary)
    if record is not None:
        record["deploymentCircuitBreaker"]["failureCount"] = primary["failedTasks"]
    _maybe_trip(backend, svc, primary, meta)
    _recount(svc)


def _maybe_trip(backend, svc, primary: dict, meta: dict) -> None:
    """The circuit breaker, once failedTasks reaches its threshold."""
    breaker = (getattr(svc, "deployment_configuration", None) or {}).get("deploymentCircuitBreaker") or {}
    if breaker.get("enable") and primary["failedTasks"] >= _failure_threshold(primary["desiredCount"]):
        _trip(backend, svc, primary, meta, bool(breaker.get("rollback")))


def _step_unhealthy(backend, svc, primary: dict, meta: dict, record: dict | None) -> None:
    """A step of a deployment whose targets fail their ELB health checks
    (DevGuide service-load-balancing.html: ECS stops and replaces a task
    its load balancer reports unhealthy; deployment-circuit-breaker.html:
    such tasks count as failed). The task found unhealthy at the previous
    step is stopped, then one task is started (registered, unhealthy)."""
    codes = meta.get("health_codes")
    for arn in list(meta["tasks"]):
        meta["tasks"].remove(arn)
        primary["runningCount"] = max(primary["runningCount"] - 1, 0)
        task = _task(backend, svc, arn)
        if task is None or task.status == "STOPPED":
            continue
        targets = getattr(task, "_targets", None) or []
        if targets:
            tg_arn, _, port, container = targets[0]
            tg_name = tg_arn.split(":targetgroup/", 1)[-1].split("/", 1)[0]
            # service-unhealthy-event-messages.html (Fargate form).
            _event(
                svc,
                f"(service {svc.name}) (task {task.id}) (port {port}) is unhealthy in (target-group {tg_name}) "
                f"due to (reason Health checks failed with these codes: [{codes}]).",
            )
            # ECS's stoppedReason for it, "Task failed ELB health checks in
            # (target-group ARN)"; stopCode ServiceSchedulerInitiated (API_Task.html).
            _stop_task(
                task,
                "ServiceSchedulerInitiated",
                f"Task failed ELB health checks in (target-group {tg_arn})",
                exits={container: (SIGTERM_EXIT_CODE, None)},
            )
        else:
            _stop_task(task, "ServiceSchedulerInitiated", "Task failed ELB health checks")
        _event(svc, f"(service {svc.name}) has stopped 1 running tasks: {_tasks_phrase([task.id])}.")
        primary["failedTasks"] += 1
    td = backend.describe_task_definition(primary["taskDefinition"])
    reason = _secrets_failure(backend, td)
    if reason is not None:
        # It never starts, so it is never registered (nor found unhealthy).
        task = _failed_task(backend, svc, primary, td, reason)
        _count_failed_start(backend, svc, primary, meta, record, task)
        return
    (task,) = _start_tasks(backend, svc, primary, health_codes=codes)
    meta["tasks"].append(task.task_arn)
    # The step ends when the load balancer has called it unhealthy.
    _advance(0, since=_found_unhealthy_at(task, td))
    primary["runningCount"] += 1
    _counted_start(backend, svc, primary, meta, record, task)


def _finish(backend, svc, primary: dict, meta: dict) -> None:
    """Stops what is left of the old deployments and completes `primary`."""
    state = _emu(svc)
    _drain_one(backend, svc, primary, None)
    for old in svc.deployments[1:]:
        state["meta"].pop(old["id"], None)
    del svc.deployments[1:]
    primary["pendingCount"] = 0
    if _strategy(svc) == "ROLLING" or meta["rollback"] or meta.get("initial"):
        primary["rolloutState"] = "COMPLETED"
        primary["rolloutStateReason"] = f"ECS deployment {primary['id']} completed."
    meta["done"] = True
    _touch(primary)
    state["stable"] = (primary["id"], primary["taskDefinition"])
    _event(svc, f"(service {svc.name}) (deployment {primary['id']}) deployment completed.")
    _event(svc, f"(service {svc.name}) has reached a steady state.")
    _recount(svc)
    if meta["rollback"]:
        # A rollback completes the service deployment that failed or was
        # stopped (rollback status, API_ServiceDeployment.html).
        _sd_update(state["sds"].get(meta.get("rolls_back")), status="ROLLBACK_SUCCESSFUL",
                   statusReason="Rollback completed.")
    else:
        record = _sd_of(svc, primary["id"])
        _sd_counts(record, primary)
        _sd_update(record, status="SUCCESSFUL", statusReason=None)
        if record is not None:
            record["deploymentCircuitBreaker"]["status"] = (
                "MONITORING_COMPLETE" if record["deploymentCircuitBreaker"]["status"] == "MONITORING" else "DISABLED"
            )


def _step_blue_green_tail(backend, svc, primary: dict, meta: dict) -> None:
    """Traffic shifts, bake time and clean-up of a BLUE_GREEN deployment."""
    record = _sd_of(svc, primary["id"])
    if meta["phase"] == "traffic":
        stage = meta["stage_list"].pop(0)
        _sd_update(record, lifecycleStage=stage)
        if stage == "PRODUCTION_TRAFFIC_SHIFT":
            # Blue no longer takes traffic: DescribeServices lists green
            # alone at full count (rolloutState absent for blue/green).
            meta["blue"] = svc.deployments[1:]
            del svc.deployments[1:]
            _recount(svc)
        if not meta["stage_list"]:
            meta["phase"] = "bake"
            minutes = int((getattr(svc, "deployment_configuration", None) or {}).get("bakeTimeInMinutes") or 0)
            meta["bake_left"] = minutes
        return
    if meta["phase"] == "bake":
        _sd_update(record, lifecycleStage="BAKE_TIME")
        if meta["bake_left"] > 0:
            meta["bake_left"] -= 1
            # One DescribeServices call stands for one minute of bake time.
            _advance(BAKE_STEP_SECONDS)
            return
        meta["phase"] = "cleanup"
        return
    # Clean-up: blue's tasks stop, the deployment is done.
    _sd_update(record, lifecycleStage="CLEAN_UP")
    svc.deployments.extend(meta.pop("blue", []))
    meta["phase"] = None
    _finish(backend, svc, primary, meta)


def _supersede(backend, svc, ours: dict) -> None:
    """Someone else deploys a new revision of the family over `ours`."""
    td = backend.describe_task_definition(ours["taskDefinition"])
    containers = copy.deepcopy(td.container_definitions)
    for c in containers:
        c["image"] = SUPERSEDE_RE.sub("someone-else", str(c.get("image") or ""))
    newer = backend.register_task_definition(
        family=td.family,
        container_definitions=containers,
        volumes=td.volumes,
        network_mode=td.network_mode,
        placement_constraints=td.placement_constraints,
        requires_compatibilities=td.requires_compatibilities,
        cpu=td.cpu,
        memory=td.memory,
        task_role_arn=getattr(td, "task_role_arn", None),
        execution_role_arn=getattr(td, "execution_role_arn", None),
    )
    _open_deployment(backend, svc, newer.arn)
    # DevGuide "Service deployment states": a new service deployment moves
    # the running one to STOP_REQUESTED, then STOPPED.
    _sd_update(_sd_of(svc, ours["id"]), status="STOPPED",
               statusReason="The service deployment was stopped because a new service deployment started.")
    _recount(svc)


def _open_rollback(backend, svc, primary: dict, meta: dict, reason: str) -> None:
    """A rollback deployment to the last completed task definition, for the
    service deployment of `primary` (StopServiceDeployment ROLLBACK)."""
    meta.pop("rollback_requested", None)
    stable = _emu(svc)["stable"]
    record = _sd_of(svc, primary["id"])
    if stable is None:
        _sd_update(record, status="ROLLBACK_FAILED", statusReason="No service revision to roll back to.")
        return
    stable_id, stable_td = stable
    primary["status"] = "ACTIVE"
    primary["pendingCount"] = 0
    _touch(primary)
    back = _new_deployment(backend, svc, stable_td, rollback=True)
    back["rolloutStateReason"] = f"ECS deployment rolling back to deploymentId {stable_id}."
    _emu(svc)["meta"][back["id"]]["rolls_back"] = record["serviceDeploymentArn"] if record else None
    svc.deployments.insert(0, back)
    svc.task_definition = stable_td
    _sd_update(record, status="ROLLBACK_IN_PROGRESS", statusReason=reason,
               rollback={"reason": reason, "startedAt": _now(),
                         "serviceRevisionArn": _revision_arn(backend, svc, stable_td)})
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
    record = _sd_of(svc, primary["id"])
    if record is not None:
        record["deploymentCircuitBreaker"]["status"] = "TRIGGERED"
    stable = _emu(svc)["stable"]
    if not rollback or meta["rollback"] or stable is None:
        # DevGuide "Service deployment states": the failure detection is on
        # without its rollback option and the service fails → STOPPED.
        _sd_update(record, status="STOPPED",
                   statusReason="ECS deployment circuit breaker: tasks failed to start.")
        return
    stable_id, stable_td = stable
    # The failed deployment stays listed (ACTIVE, rolloutState FAILED) while
    # the rollback deployment replaces it (API_Deployment.html: ACTIVE
    # deployments still have running tasks being replaced).
    primary["status"] = "ACTIVE"
    back = _new_deployment(backend, svc, stable_td, rollback=True)
    back["rolloutStateReason"] = f"ECS deployment circuit breaker: rolling back to deploymentId {stable_id}."
    _emu(svc)["meta"][back["id"]]["rolls_back"] = record["serviceDeploymentArn"] if record else None
    svc.deployments.insert(0, back)
    svc.task_definition = stable_td
    _sd_update(record, status="ROLLBACK_IN_PROGRESS",
               statusReason="ECS deployment circuit breaker: tasks failed to start.",
               rollback={"reason": "ECS deployment circuit breaker: rolling back.", "startedAt": _now(),
                         "serviceRevisionArn": _revision_arn(backend, svc, stable_td)})


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
    if svc.desired_count > 0 and _secrets_failure(backend, backend.describe_task_definition(svc.task_definition)):
        # Its tasks cannot get their secrets: the first deployment stays
        # IN_PROGRESS (running 0) and every DescribeServices call tries one
        # task, as for an update; markers and HEALTH_CHECK_CODES still mean
        # nothing here. Once the secret exists, it rolls out and completes.
        # It rolls out as a rolling deployment whatever the strategy (there
        # is no blue to shift traffic from).
        meta = _emu(svc)["meta"][deployment["id"]]
        meta.update(mode="normal", health_codes=None, supersede=0, initial=True)
        deployment["rolloutState"] = "IN_PROGRESS"
        deployment["rolloutStateReason"] = f"ECS deployment {deployment['id']} in progress."
        _recount(svc)
        return svc
    _scale_primary(backend, svc, deployment)
    deployment["rolloutState"] = "COMPLETED"
    deployment["rolloutStateReason"] = f"ECS deployment {deployment['id']} completed."
    _emu(svc)["stable"] = (deployment["id"], deployment["taskDefinition"])
    _recount(svc)
    return svc


def _open_deployment(backend, svc, new_td: str) -> dict:
    """UpdateService with a new task definition (or forceNewDeployment): the
    PRIMARY becomes ACTIVE, a new PRIMARY with its service deployment opens."""
    source_td = svc.task_definition
    for d in svc.deployments:
        if d["status"] == "PRIMARY":
            d["status"] = "ACTIVE"
            d["pendingCount"] = 0
            _touch(d)
    # The running service deployment, if any, is superseded (DevGuide
    # "Service deployment states": STOP_REQUESTED, then STOPPED).
    for record in _emu(svc)["sds"].values():
        if record["status"] in ("PENDING", "IN_PROGRESS"):
            _sd_update(record, status="STOPPED",
                       statusReason="The service deployment was stopped because a new service deployment started.")
    svc.task_definition = new_td
    deployment = _new_deployment(backend, svc, new_td)
    svc.deployments.insert(0, deployment)
    _new_service_deployment(backend, svc, deployment, source_td)
    return deployment


def _stale_view(svc):
    """A copy of what DescribeServices shows now, to answer with later."""
    view = copy.copy(svc)
    view.deployments = copy.deepcopy(svc.deployments)
    view.events = copy.deepcopy(svc.events)
    return view


def update_service(self, service_properties):
    with LOCK:
        props = dict(service_properties)
        cluster_str = props.get("cluster") or "default"
        svc = self._get_service(cluster_str, props["service"].split("/")[-1])
        force = bool(props.pop("force_new_deployment", False))
        td_str = props.get("task_definition")
        new_td = self.describe_task_definition(td_str).arn if td_str else svc.task_definition
        if svc.deployment_controller.get("type") == "CODE_DEPLOY" and td_str and new_td != svc.task_definition:
            # Reported verbatim by users of the real API (boto3 #1936); the
            # UpdateService page: "If the network configuration, platform
            # version, task definition, or load balancer need to be updated,
            # create a new CodeDeploy deployment."
            raise InvalidParameterException(
                "Unable to update task definition on services with a CODE_DEPLOY deployment controller. "
                "Use AWS CodeDeploy to trigger a new deployment."
            )
        old_td = svc.task_definition
        # One line per call on stderr, for tests that count updates.
        print(f"emulator: UpdateService {svc.cluster_name}/{svc.name} {new_td}", file=sys.stderr, flush=True)
        before = _stale_view(svc)
        svc = _orig_update_service(self, props)
        svc.task_definition = old_td
        if svc.deployment_controller.get("type") != "ECS" or not svc.deployments:
            svc.task_definition = new_td
            _recount(svc)
            return svc
        if new_td != old_td or force:
            deployment = _open_deployment(self, svc, new_td)
            td = self.describe_task_definition(new_td)
            _emu(svc)["throttle"] = _throttle_budget(td)
            stale = _marker_number(td, STALE_RE)
            _emu(svc)["stale"] = stale
            _emu(svc)["stale_view"] = before if stale else None
            del deployment  # the response below shows it
        else:
            primary = svc.deployments[0]
            if primary["desiredCount"] != svc.desired_count:
                primary["desiredCount"] = svc.desired_count
                if primary.get("rolloutState") == "COMPLETED":
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
        answer = []
        for svc in services:
            state = _emu(svc)
            if state["stale"] > 0 and state["stale_view"] is not None:
                state["stale"] -= 1
                answer.append(state["stale_view"])
                continue
            state["stale_view"] = None
            _step(self, svc)
            answer.append(svc)
        return answer, failures


# --- the ServiceDeployments API (absent from moto) -----------------------------


def _deny_service_deployments() -> bool:
    return os.environ.get(DENY_ENV, "") not in ("", "0")


def _service_for_sd(backend, arn: str):
    for svc in backend.services.values():
        if arn in _emu(svc)["sds"]:
            return svc
    return None


def response_list_service_deployments(self):
    """API_ListServiceDeployments.html: briefs (no lifecycleStage, no
    rollback), filtered by status and createdAt when given."""
    with LOCK:
        cluster = self._get_param("cluster") or "default"
        service = self._get_param("service")
        svc = self.ecs_backend._get_service(cluster, service.split("/")[-1])
        if _deny_service_deployments():
            raise AccessDeniedException("ListServiceDeployments", svc.arn)
        statuses = self._get_param("status") or []
        created = self._get_param("createdAt") or {}
        briefs = []
        for record in _emu(svc)["sds"].values():
            if statuses and record["status"] not in statuses:
                continue
            after, before = created.get("after"), created.get("before")
            if after is not None and record["createdAt"] < after.replace(tzinfo=None):
                continue
            if before is not None and record["createdAt"] > before.replace(tzinfo=None):
                continue
            brief = {k: record[k] for k in ("serviceDeploymentArn", "serviceArn", "clusterArn", "startedAt",
                                            "createdAt", "status") if k in record}
            brief["targetServiceRevisionArn"] = record["targetServiceRevision"]["arn"]
            for key in ("finishedAt", "statusReason"):
                if record.get(key) is not None:
                    brief[key] = record[key]
            briefs.append(brief)
        briefs.sort(key=lambda b: b["createdAt"], reverse=True)
        return ecs_responses.ActionResult({"serviceDeployments": briefs})


def response_describe_service_deployments(self):
    """API_DescribeServiceDeployments.html: full records; an unknown ARN (or
    one not visible yet, "stale-N") is a failure with reason MISSING."""
    with LOCK:
        arns = self._get_param("serviceDeploymentArns") or []
        found, failures = [], []
        for arn in arns:
            svc = _service_for_sd(self.ecs_backend, arn)
            if _deny_service_deployments():
                raise AccessDeniedException("DescribeServiceDeployments", arn)
            if svc is None or _emu(svc)["stale"] > 0:
                failures.append({"arn": arn, "reason": "MISSING"})
                continue
            record = {k: v for k, v in _emu(svc)["sds"][arn].items() if v is not None}
            found.append(copy.deepcopy(record))
        return ecs_responses.ActionResult({"serviceDeployments": found, "failures": failures})


def response_stop_service_deployment(self):
    """API_StopServiceDeployment.html: stopType ROLLBACK rolls the service
    deployment back to the previous service revision; a terminal one is a
    ConflictException."""
    with LOCK:
        arn = self._get_param("serviceDeploymentArn")
        stop_type = self._get_param("stopType") or "ROLLBACK"
        svc = _service_for_sd(self.ecs_backend, arn)
        if _deny_service_deployments():
            raise AccessDeniedException("StopServiceDeployment", arn)
        if svc is None:
            raise JsonRESTError("ServiceDeploymentNotFoundException", f"Service deployment {arn} not found.")
        record = _emu(svc)["sds"][arn]
        if record["status"] in SD_TERMINAL or record["status"].startswith("ROLLBACK"):
            raise ConflictException(f"The service deployment {arn} is in status {record['status']}.")
        if stop_type != "ROLLBACK":
            raise InvalidParameterException("Only stopType ROLLBACK is supported.")
        _sd_update(record, status="ROLLBACK_REQUESTED", statusReason="Rollback requested.")
        for deployment in svc.deployments:
            meta = _emu(svc)["meta"].get(deployment["id"], {})
            if meta.get("sd") == arn and deployment["status"] == "PRIMARY":
                meta["rollback_requested"] = True
        return ecs_responses.ActionResult({"serviceDeploymentArn": arn})


_orig_response_list_tasks = ecs_responses.EC2ContainerServiceResponse.list_tasks


def response_list_tasks(self):
    """API_ListTasks.html, startedBy: "When you specify startedBy as the
    filter, it must be the only filter that you use"; ECS answers
    InvalidParameterException "cannot specify startedBy with other
    arguments" (as reported in aws/aws-sdk-go-v2#1893, with family and
    launchType). desiredStatus is accepted with it here (listing a
    deployment's STOPPED tasks), the other filters are refused."""
    if self._get_param("startedBy"):
        for name in ("containerInstance", "family", "serviceName", "launchType"):
            if self._get_param(name):
                raise InvalidParameterException("cannot specify startedBy with other arguments")
    return _orig_response_list_tasks(self)


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


# --- one-off tasks (RunTask) ----------------------------------------------------
#
# API_RunTask.html: a task started outside a service runs its containers and
# stops when the essential container exits (stopCode EssentialContainerExited,
# API_Task.html); the container's exitCode says how it went. Here a task is
# RUNNING for two DescribeTasks calls, then STOPPED; the exit code of the
# container named in the command override (or the first container) is N when
# its command contains a token "exit-N", else 0. RunTask's tasks start
# together, through the timestamps of the module docstring's "Clock".

EXIT_RE = re.compile(r"^exit-(\d+)$")


def run_task(
    self,
    cluster_str,
    task_definition_str,
    count,
    overrides,
    started_by,
    tags,
    launch_type,
    networking_configuration=None,
    group=None,
    platform_version=None,
    capacity_provider_strategy=None,
):
    with LOCK:
        cluster = self._get_cluster(cluster_str)
        td = self.describe_task_definition(task_definition_str)
        if td.network_mode == "awsvpc" and not networking_configuration:
            raise InvalidParameterException(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified."
            )
        container_overrides = (overrides or {}).get("containerOverrides") or []
        tasks = []
        at = _now()  # started together
        for _ in range(max(int(count or 1), 1)):
            task = _make_task(
                self,
                cluster.name,
                td.arn,
                networking_configuration,
                launch_type,
                platform_version,
                group or f"family:{td.family}",
                started_by or "",
                at=at,
            )
            _launch(task, td)
            watched = container_overrides[0].get("name") if container_overrides else td.container_definitions[0]["name"]
            command = container_overrides[0].get("command") if container_overrides else None
            command = command or td.container_definitions[0].get("command") or []
            code = 0
            for token in command:
                m = EXIT_RE.match(str(token))
                if m:
                    code = int(m.group(1))
            task._one_off = {"container": watched, "exit": code, "calls": 0}
            task.overrides = overrides or {}
            tasks.append(task)
        print(f"emulator: RunTask {cluster.name} {td.arn} exit={tasks[0]._one_off['exit']}", file=sys.stderr, flush=True)
        return tasks


def _describe_tasks_locked(self, cluster_str, tasks):
    with LOCK:
        found = _orig_describe_tasks(self, cluster_str, tasks)
        for task in found:
            one_off = getattr(task, "_one_off", None)
            if one_off is None or task.status == "STOPPED":
                continue
            one_off["calls"] += 1
            if one_off["calls"] >= 2:
                _stop_task(task, "EssentialContainerExited", "Essential container in task exited")
                for c in task.containers:
                    c.exitCode = one_off["exit"] if c.name == one_off["container"] else 0
        return found


# --- task definitions as registered ------------------------------------------
#
# ECS keeps a task definition as it was registered and answers
# DescribeTaskDefinition with it plus the read-only fields
# (API_DescribeTaskDefinition.html: taskDefinitionArn, revision, status,
# requiresAttributes, compatibilities, registeredAt, registeredBy). moto
# keeps only the fields its model knows, so the raw registration body is
# kept here and answered back: a field newer than moto (or than hoist's
# SDK) survives the round trip, as it does in ECS.

_REGISTERED: dict[str, dict] = {}
_orig_response_register = ecs_responses.EC2ContainerServiceResponse.register_task_definition
_orig_response_describe_td = ecs_responses.EC2ContainerServiceResponse.describe_task_definition
_orig_register_td = EcsBackend.register_task_definition
REGISTERED_BY = "arn:aws:iam::123456789012:user/ci"


def register_task_definition(self, *args, **kwargs):
    """moto's registration, stamped: registeredAt (API_TaskDefinition.html)
    on the emulator's clock, registeredBy."""
    with LOCK:
        td = _orig_register_td(self, *args, **kwargs)
        td.registered_at = _now()
        td.registered_by = REGISTERED_BY
        return td


def response_register_task_definition(self):
    """API_RegisterTaskDefinition.html: the answer carries the task
    definition and, top-level, its `tags` (moto's leaves them out)."""
    with LOCK:
        raw = json.loads(self.body or "{}")
        result = _orig_response_register(self)
        td = result.result["taskDefinition"]
        result.result["tags"] = list(td.tags or [])
        raw.pop("tags", None)
        _REGISTERED[td.arn] = raw
        # One line per registration on stderr, for tests that check what
        # was sent (field names only, never values).
        print(f"emulator: RegisterTaskDefinition {td.arn} fields={sorted(raw)}", file=sys.stderr, flush=True)
        return result


def _epoch_seconds(moment: datetime.datetime) -> float:
    return (moment - datetime.datetime(1970, 1, 1)).total_seconds()


def _td_body(td) -> dict | None:
    """`td` as DescribeTaskDefinition answers it: as registered, plus the
    read-only fields (deregisteredAt once deregistered); None for one not
    registered through the API (moto's own answer then)."""
    raw = _REGISTERED.get(td.arn)
    if raw is None:
        return None
    body = copy.deepcopy(raw)
    body.update(
        {
            "taskDefinitionArn": td.arn,
            "revision": td.revision,
            "status": getattr(td, "status", "ACTIVE"),
            "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.task-iam-role"}],
            "compatibilities": td.compatibilities,
            "registeredAt": _epoch_seconds(getattr(td, "registered_at", None) or _now()),
            "registeredBy": REGISTERED_BY,
        }
    )
    if getattr(td, "deregistered_at", None) is not None:
        body["deregisteredAt"] = _epoch_seconds(td.deregistered_at)
    return body


def response_describe_task_definition(self):
    """API_DescribeTaskDefinition.html; include ["TAGS"] adds the
    top-level `tags`."""
    with LOCK:
        name = self._get_param("taskDefinition")
        td = self.ecs_backend.describe_task_definition(name)
        body = _td_body(td)
        if body is None:
            return _orig_response_describe_td(self)
        answer = {"taskDefinition": body}
        if "TAGS" in (self._get_param("include") or []):
            answer["tags"] = self.ecs_backend.list_tags_for_resource(td.arn)
        return json.dumps(answer)


def _denied_deregistrations() -> set[str]:
    return {item.strip() for item in os.environ.get(DENY_DEREGISTER_ENV, "").split(",") if item.strip()}


def response_deregister_task_definition(self):
    """API_DeregisterTaskDefinition.html: the revision becomes INACTIVE and
    gets its deregisteredAt (the first time). A family:revision listed in
    ECS_EMULATOR_DENY_DEREGISTER is refused with HTTP 400
    AccessDeniedException, as IAM refuses an action a policy denies
    explicitly."""
    with LOCK:
        name = str(self._get_param("taskDefinition") or "")
        revision = name.rsplit("/", 1)[-1]
        if revision in _denied_deregistrations():
            backend = self.ecs_backend
            arn = name if name.startswith("arn:") else (
                f"arn:aws:ecs:{backend.region_name}:{backend.account_id}:task-definition/{revision}")
            raise AccessDeniedException("DeregisterTaskDefinition", arn, explicit=True)
        td = self.ecs_backend.deregister_task_definition(name)
        if getattr(td, "deregistered_at", None) is None:
            td.deregistered_at = _now()
        body = _td_body(td)
        if body is None:
            return ecs_responses.ActionResult({"taskDefinition": td})
        return json.dumps({"taskDefinition": body})


def _page_token(family: str, revision: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([family, revision]).encode()).decode()


def _page_after(token: str) -> tuple[str, int]:
    try:
        family, revision = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(family), int(revision)
    except Exception:  # noqa: BLE001 - anything not ours
        raise InvalidParameterException("Invalid nextToken.") from None


def response_list_task_definitions(self):
    """API_ListTaskDefinitions.html: familyPrefix (the full family name, as
    that page says), status (default ACTIVE), sort ASC (default:
    lexicographically by family, then by revision, newest last) or DESC
    (both reversed), at most maxResults (1-100, default 100) per page with
    a nextToken while more remain (moto: exact family and status only, in
    registration order, one page)."""
    with LOCK:
        family = self._get_param("familyPrefix") or None
        status = self._get_param("status") or "ACTIVE"
        order = self._get_param("sort") or "ASC"
        limit = self._get_param("maxResults")
        token = self._get_param("nextToken")
        if order not in ("ASC", "DESC"):
            raise InvalidParameterException(f"Invalid sort order: {order}.")
        if status not in ("ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS"):
            raise InvalidParameterException(f"Invalid status: {status}.")
        limit = 100 if limit is None else int(limit)
        if not 1 <= limit <= 100:
            raise InvalidParameterException("maxResults must be between 1 and 100.")
        keys = sorted(
            (name, revision)
            for name, revisions in self.ecs_backend.task_definitions.items()
            if family is None or name == family
            for revision, td in revisions.items()
            if getattr(td, "status", "ACTIVE") == status
        )
        if order == "DESC":
            keys.reverse()
        if token:
            after = _page_after(token)
            keys = [k for k in keys if (k > after if order == "ASC" else k < after)]
        page = keys[:limit]
        answer = {"taskDefinitionArns": [self.ecs_backend.task_definitions[f][r].arn for f, r in page]}
        if len(keys) > limit:
            answer["nextToken"] = _page_token(*page[-1])
        return ecs_responses.ActionResult(answer)


def response_create_service(self):
    with LOCK:
        result = _orig_response_create_service(self)
        grace = self._get_param("healthCheckGracePeriodSeconds")
        if grace is not None:
            # API_Service.html: healthCheckGracePeriodSeconds (kept and
            # answered; steps are not seconds, so it does not delay the
            # health checks here).
            result.result["service"].health_check_grace_period_seconds = int(grace)
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
    # CODE_DEPLOY services deploy through CodeDeploy (its own emulator, on
    # the same server and lock).
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import codedeploy_emulator
    import ecr_tokens

    codedeploy_emulator.install(lock=LOCK)
    # ECR's GetAuthorizationToken: a new token per call, good for 12 hours.
    ecr_tokens.install()
    responses = ecs_responses.EC2ContainerServiceResponse
    responses.list_service_deployments = response_list_service_deployments
    responses.describe_service_deployments = response_describe_service_deployments
    responses.stop_service_deployment = response_stop_service_deployment
    EcsBackend.create_service = create_service
    EcsBackend.update_service = update_service
    EcsBackend.describe_services = describe_services
    EcsBackend.list_tasks = list_tasks
    EcsBackend.describe_tasks = _describe_tasks_locked
    EcsBackend.run_task = run_task
    elbv2_models.FakeTargetGroup.health_for = health_for
    ecs_responses.EC2ContainerServiceResponse.create_service = response_create_service
    responses.register_task_definition = response_register_task_definition
    responses.describe_task_definition = response_describe_task_definition
    responses.deregister_task_definition = response_deregister_task_definition
    responses.list_task_definitions = response_list_task_definitions
    responses.list_tasks = response_list_tasks
    EcsBackend.register_task_definition = register_task_definition


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
