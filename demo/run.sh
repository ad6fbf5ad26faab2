#!/usr/bin/env bash
# `just demo`: hoist's whole pipeline on one machine, against local servers only.
#
#   1. build hoist (release)
#   2. start Debian's docker-registry, the ECS rollout emulator (moto) and, in front of the
#      registry, the ECR stand-in (answers as Amazon ECR does, tokens from the emulator's
#      GetAuthorizationToken) on free 127.0.0.1 ports; hoist reaches it as
#      123456789012.dkr.ecr.ap-northeast-2.amazonaws.com through [registry] resolve
#   3. a JDK 17 base image from Debian packages (debootstrap), built by hoist, cached in
#      ${XDG_CACHE_HOME:-~/.cache}/hoist-demo/ and copied into "ECR"
#   4. the app: testdata/spring/boot35, a real Spring Boot 3.5 web app, built with Maven in a
#      copy (offline first), the jar cached in DEMO_CACHE by a hash of the project's files
#   5. seed the emulator: clusters, a Fargate task definition with a sidecar, services
#   6. `hoist ship dev`: build, push, register a task-definition revision, roll it out, wait
#   7. run the image the task definition names: under a containerd of our own (pulled through
#      the ECR stand-in, `ctr run --net-host`), or, where containerd cannot run, unpacked into a
#      chroot; with the task's environment and SERVER_PORT, until /actuator/health says UP;
#      then GET /hello must say profile=dev
#   8. a summary
#
# Everything listens on 127.0.0.1; every server started here is stopped on exit (the trap).
# Needs root (debootstrap, containerd, chroot, mount). Installs what is missing (apt:
# docker-registry, containerd, maven, debootstrap, skopeo, umoci; pip: moto[server]) and says
# so. Work files go to demo-work/ at the repository root (DEMO_WORK to move it), wiped at the
# start of every run; the base image and the app's jar are cached in DEMO_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/hoist-demo; delete it to rebuild both). DEMO_CHROOT=1 skips
# containerd and runs the image in the chroot.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${DEMO_WORK:-$ROOT/demo-work}
CACHE=${DEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hoist-demo}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
HELPER=$ROOT/demo/demo.py
LOGS=$WORK/logs
STEPS=8

REG_PID=
EMU_PID=
ECR_PID=
ECR_HOST=123456789012.dkr.ecr.ap-northeast-2.amazonaws.com
PROC_MNT=
STEP_NO=0
STEP_START=
DEMO_START=$(date +%s.%N)
TIMES=()

# --- output --------------------------------------------------------------------------------

if [[ -t 1 ]]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'; else B='' G='' R='' D='' N=''; fi

elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(date +%s.%N)"; }
step_done() {
  if [[ -n $STEP_START ]]; then
    local t
    t=$(elapsed "$STEP_START")
    TIMES+=("$(printf '%-34s %6s s' "$STEP_NO. $STEP_LABEL" "$t")")
    printf '%s    (%s s)%s\n' "$D" "$t" "$N"
    STEP_START=
  fi
}
step() { # TITLE LABEL (LABEL: a short name for the timings)
  step_done
  STEP_NO=$((STEP_NO + 1))
  STEP_TITLE=$1
  STEP_LABEL=${2:-$1}
  STEP_START=$(date +%s.%N)
  printf '\n%s==> [%d/%d] %s%s\n' "$B" "$STEP_NO" "$STEPS" "$1" "$N"
}
say() { printf '    %s\n' "$*"; }
die() {
  printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2
  exit 1
}
quote() { # the arguments as a shell would need them
  local a out=()
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then out+=("$a"); else out+=("$(printf '%q' "$a")"); fi
  done
  echo "${out[*]}"
}
run() { # prints the command (to stderr, so stdout stays the command's), then runs it
  printf '%s    $ %s%s\n' "$D" "$(quote "$@")" "$N" >&2
  "$@"
}

# --- cleanup -------------------------------------------------------------------------------

# Unmounts everything mounted at or below $1, deepest first (debootstrap's /proc and /sys if it
# was interrupted, our /proc in the unpacked image).
unmount_under() {
  local dir=$1 m
  [[ -d $dir ]] || return 0
  dir=$(cd "$dir" && pwd -P)
  awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts |
    sort -r | while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
}

stop() { # pid name
  local pid=$1 name=$2
  [[ -n $pid ]] || return 0
  if kill "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    say "stopped $name (pid $pid)"
  fi
}

stop_servers() {
  if [[ -n $EMU_PID || -n $REG_PID || -n $ECR_PID ]]; then
    printf '\n%s==> stopping the servers this demo started%s\n' "$B" "$N"
    stop "$ECR_PID" "the ECR stand-in"
    stop "$EMU_PID" "the ECS emulator"
    stop "$REG_PID" "docker-registry"
    EMU_PID='' REG_PID='' ECR_PID=''
  fi
}

# --- containerd (step 7) -------------------------------------------------------------------

# As the tests do (tests/support/containerd.rs): a daemon of our own, its config, root, state
# and socket in $CTRD_DIR, CRI off, driven with ctr in a namespace of its own.
CTRD_DIR=$WORK/containerd
CTRD_SOCK=$CTRD_DIR/containerd.sock
CTRD_NS=hoist-demo
CTRD_PID=
CTRD_WHY=
SNAPSHOTTER=
CTR_NAME=
CTR_RUN_PID=
CHROOT_PID=
SYS_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

ctr_() { # ctr against our daemon and namespace only, bounded by CTR_TIMEOUT s (0: not; default 30)
  timeout "${CTR_TIMEOUT:-30}" env -u CONTAINERD_ADDRESS -u CONTAINERD_NAMESPACE -u CONTAINERD_SNAPSHOTTER \
    PATH="$SYS_PATH" TMPDIR="$CTRD_DIR/tmp" \
    ctr --address "$CTRD_SOCK" --namespace "$CTRD_NS" "$@" </dev/null
}

# overlayfs if an overlay with an upper dir mounts in our dir (not on an overlay-backed
# filesystem) and the daemon loaded the plugin, else native.
pick_snapshotter() {
  local p=$CTRD_DIR/overlay-probe ok=
  mkdir -p "$p"/{lower,upper,work,merged}
  if mount -t overlay overlay -o "lowerdir=$p/lower,upperdir=$p/upper,workdir=$p/work" "$p/merged" 2>/dev/null; then
    umount "$p/merged"
    ok=1
  fi
  rm -rf "$p"
  if [[ -n $ok ]] && ctr_ plugins ls 2>/dev/null | awk '$1 == "io.containerd.snapshotter.v1" && $2 == "overlayfs" && $NF == "ok" { f = 1 } END { exit !f }'; then
    SNAPSHOTTER=overlayfs
  else
    SNAPSHOTTER=native
  fi
}

start_containerd() { # 0 when it answers; else 1, the reason in CTRD_WHY
  local program
  if [[ -n ${DEMO_CHROOT:-} ]]; then CTRD_WHY="DEMO_CHROOT is set"; return 1; fi
  for program in containerd ctr containerd-shim-runc-v2 runc; do
    PATH=$SYS_PATH command -v "$program" >/dev/null || { CTRD_WHY="$program is not installed"; return 1; }
  done
  mkdir -p "$CTRD_DIR/tmp"
  cat >"$CTRD_DIR/config.toml" <<EOF
version = 2
root = "$CTRD_DIR/root"
state = "$CTRD_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$CTRD_SOCK"

[ttrpc]
  address = "$CTRD_SOCK.ttrpc"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$CTRD_DIR/opt"
EOF
  PATH=$SYS_PATH TMPDIR=$CTRD_DIR/tmp containerd --config "$CTRD_DIR/config.toml" \
    </dev/null >"$LOGS/containerd.log" 2>&1 &
  CTRD_PID=$!
  for _ in $(seq 200); do
    if ! kill -0 "$CTRD_PID" 2>/dev/null; then
      CTRD_WHY="containerd exited at start: $(tail -n 1 "$LOGS/containerd.log")"
      CTRD_PID=
      return 1
    fi
    if [[ -S $CTRD_SOCK ]] && ctr_ version >/dev/null 2>&1; then
      pick_snapshotter
      return 0
    fi
    sleep 0.1
  done
  CTRD_WHY="containerd did not answer within 20 s (log: $LOGS/containerd.log)"
  return 1
}

wait_pid() { # PID SECONDS: 0 when PID (a child) exited within SECONDS
  for _ in $(seq $(($2 * 10))); do
    kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
    sleep 0.1
  done
  return 1
}

stop_container() { # SIGTERM (Spring shuts down gracefully), SIGKILL after 15 s
  [[ -n $CTR_NAME ]] || return 0
  ctr_ tasks kill --signal SIGTERM "$CTR_NAME" >/dev/null 2>&1 || true
  if [[ -n $CTR_RUN_PID ]] && ! wait_pid "$CTR_RUN_PID" 15; then
    ctr_ tasks kill --signal SIGKILL "$CTR_NAME" >/dev/null 2>&1 || true
    wait_pid "$CTR_RUN_PID" 10 || { kill "$CTR_RUN_PID" 2>/dev/null; wait "$CTR_RUN_PID" 2>/dev/null; }
  fi
  # --rm deletes them when ctr runs to its end; not when it was killed half way.
  ctr_ tasks delete --force "$CTR_NAME" >/dev/null 2>&1 || true
  ctr_ containers delete "$CTR_NAME" >/dev/null 2>&1 || true
  say "stopped container $CTR_NAME"
  CTR_NAME='' CTR_RUN_PID=''
  return 0
}

stop_containerd() {
  [[ -n $CTRD_PID ]] || return 0
  stop_container
  kill "$CTRD_PID" 2>/dev/null || true
  wait_pid "$CTRD_PID" 5 || { kill -KILL "$CTRD_PID" 2>/dev/null; wait "$CTRD_PID" 2>/dev/null; }
  # Shims of this daemon (their command line names its socket) that outlived it.
  local pid
  for pid in $(pgrep -f -- "-address $CTRD_SOCK" 2>/dev/null || true); do
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == containerd-shim* ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  unmount_under "$CTRD_DIR"
  rmdir "/sys/fs/cgroup/$CTRD_NS" /sys/fs/cgroup/*/"$CTRD_NS" "/run/containerd/runc/$CTRD_NS" 2>/dev/null || true
  say "stopped containerd (pid $CTRD_PID)"
  CTRD_PID=
  return 0
}

stop_chroot_app() {
  [[ -n $CHROOT_PID ]] || return 0
  kill "$CHROOT_PID" 2>/dev/null || true
  wait_pid "$CHROOT_PID" 15 || { kill -KILL "$CHROOT_PID" 2>/dev/null; wait "$CHROOT_PID" 2>/dev/null; }
  say "stopped the app (pid $CHROOT_PID)"
  CHROOT_PID=
  if [[ -n $PROC_MNT ]]; then
    umount "$PROC_MNT" 2>/dev/null || umount -l "$PROC_MNT" 2>/dev/null
    PROC_MNT=
  fi
  return 0
}

wait_up() { # PORT PID SECONDS: until /actuator/health says UP (in HEALTH); 1 if PID exits first
  local deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    if HEALTH=$(curl -fsS --max-time 2 "http://127.0.0.1:$1/actuator/health" 2>/dev/null) &&
      [[ $HEALTH == *'"UP"'* ]]; then
      return 0
    fi
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.25
  done
  return 1
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  stop_chroot_app
  stop_containerd
  if [[ -n $PROC_MNT ]]; then
    umount "$PROC_MNT" 2>/dev/null || umount -l "$PROC_MNT" 2>/dev/null
  fi
  unmount_under "$WORK"
  stop_servers
  if [[ $rc -ne 0 ]]; then
    printf '\n%sdemo FAILED (exit %d) in step %d (%s).%s Logs: %s/\n' \
      "$R" "$rc" "$STEP_NO" "${STEP_TITLE:-start}" "$N" "$LOGS" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 0. prerequisites ----------------------------------------------------------------------

[[ $(id -u) -eq 0 ]] || die "run as root: debootstrap, chroot and mounting /proc need it"
for tool in cargo python3 javac; do
  command -v "$tool" >/dev/null || die "missing $tool (the demo expects Rust, Python 3 and a JDK 17 with javac)"
done

# A fresh work dir (after unmounting anything an interrupted run left mounted inside).
unmount_under "$WORK"
rm -rf --one-file-system "$WORK"
mkdir -p "$LOGS" "$CACHE"

ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
read -r MIRROR SUITE < <(python3 "$HELPER" apt-source)
JAVA_HOME_IN_IMAGE=/usr/lib/jvm/java-17-openjdk-$ARCH
BASE_LAYOUT=$CACHE/jdk17-$SUITE-$ARCH-v1 # bump v1 when the recipe below changes
BASE_TAG=17
have_base() { [[ -f $BASE_LAYOUT/index.json ]]; }

printf '%shoist demo%s: jar -> OCI image -> registry -> ECS, all on 127.0.0.1\n' "$B" "$N"
say "work dir $WORK, cache $CACHE"

apt_missing=()
command -v docker-registry >/dev/null || apt_missing+=(docker-registry)
command -v skopeo >/dev/null || apt_missing+=(skopeo)
command -v umoci >/dev/null || apt_missing+=(umoci)
PATH=$PATH:/usr/sbin command -v containerd >/dev/null || apt_missing+=(containerd) # brings runc and ctr
command -v mvn >/dev/null || apt_missing+=(maven)
if ! have_base; then
  command -v debootstrap >/dev/null || apt_missing+=(debootstrap)
  [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || apt_missing+=(debian-archive-keyring)
fi
INSTALL_START=$(date +%s.%N)
if [[ ${#apt_missing[@]} -gt 0 ]]; then
  printf '\n%s==> installing with apt-get: %s%s\n' "$B" "${apt_missing[*]}" "$N"
  say "docker-registry: the local registry; skopeo: checks and pulls what is in it;"
  say "umoci: unpacks the pulled image; debootstrap: the JDK base's root filesystem;"
  say "containerd: runs the shipped image; maven: builds the app"
  export DEBIAN_FRONTEND=noninteractive
  run apt-get update -qq
  run apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >"$LOGS/apt.log" 2>&1 ||
    { tail -n 20 "$LOGS/apt.log" >&2; die "apt-get install failed"; }
fi
if ! python3 -c 'import moto.server, boto3' 2>/dev/null; then
  printf '\n%s==> installing with pip: moto[server] (the ECS emulator is moto with rollouts)%s\n' "$B" "$N"
  run python3 -m pip install --quiet 'moto[server]>=5.1,<6'
  PIP_INSTALLED=1
fi
hash -r
if [[ ${#apt_missing[@]} -gt 0 ]] || [[ -n ${PIP_INSTALLED:-} ]]; then
  TIMES+=("$(printf '%-34s %6s s' "0. installs" "$(elapsed "$INSTALL_START")")")
fi

# --- 1. hoist ------------------------------------------------------------------------------

step "build hoist" "hoist"
# Whichever profile is already built (a clean release build takes ~8 min on 2 cores, a dev
# build ~3): the dev binary if it is newer than every source (as after `just test`), else
# release if it was built before, else dev. DEMO_PROFILE=release|dev decides instead.
profile=${DEMO_PROFILE:-}
if [[ -z $profile ]]; then
  if [[ -x $TARGET/debug/hoist && $TARGET/debug/hoist -nt $TARGET/release/hoist &&
    -z $(cd "$ROOT" && find src Cargo.toml Cargo.lock -newer "$TARGET/debug/hoist" -print -quit) ]]; then
    profile=dev
  elif [[ -x $TARGET/release/hoist ]]; then
    profile=release
  else
    profile=dev
  fi
fi
case $profile in
  release) (cd "$ROOT" && run cargo build --release --locked); HOIST=$TARGET/release/hoist ;;
  dev) (cd "$ROOT" && run cargo build --locked); HOIST=$TARGET/debug/hoist ;;
  *) die "DEMO_PROFILE must be release or dev" ;;
esac
say "$("$HOIST" --version), $profile profile: $HOIST"
# The demo's own layer cache and registry credentials (none), apart from the user's.
export HOIST_CACHE_DIR=$CACHE/hoist-cache
export DOCKER_CONFIG=$WORK/docker-config
mkdir -p "$DOCKER_CONFIG"

# --- 2. servers ----------------------------------------------------------------------------

step "start docker-registry, the ECS rollout emulator and the ECR stand-in on 127.0.0.1" "servers"
mkdir -p "$WORK/registry/storage"
for attempt in 1 2 3; do
  REG_PORT=$(python3 "$HELPER" free-port)
  printf '%s\n' 'version: 0.1' 'log:' '  level: warn' '  accesslog:' '    disabled: true' \
    'storage:' '  filesystem:' "    rootdirectory: \"$WORK/registry/storage\"" \
    'http:' "  addr: 127.0.0.1:$REG_PORT" >"$WORK/registry/config.yml"
  docker-registry serve "$WORK/registry/config.yml" >>"$LOGS/registry.log" 2>&1 &
  REG_PID=$!
  if python3 "$HELPER" wait-http "http://127.0.0.1:$REG_PORT/v2/" 15 "$REG_PID" 2>>"$LOGS/registry.log"; then
    break
  fi
  stop "$REG_PID" "docker-registry"
  REG_PID=
  [[ $attempt -lt 3 ]] || { tail -n 20 "$LOGS/registry.log" >&2; die "docker-registry did not start"; }
done
REGISTRY=127.0.0.1:$REG_PORT
say "docker-registry $(docker-registry --version | awk '{print $NF}') on http://$REGISTRY (pid $REG_PID, storage $WORK/registry/storage)"

for attempt in 1 2 3; do
  EMU_PORT=$(python3 "$HELPER" free-port)
  PYTHONUNBUFFERED=1 python3 "$ROOT/tests/support/ecs_emulator.py" --port "$EMU_PORT" --host 127.0.0.1 \
    </dev/null >>"$LOGS/emulator.log" 2>&1 &
  EMU_PID=$!
  if python3 "$HELPER" wait-http "http://127.0.0.1:$EMU_PORT/" 60 "$EMU_PID" 2>>"$LOGS/emulator.log"; then
    break
  fi
  stop "$EMU_PID" "the ECS emulator"
  EMU_PID=
  [[ $attempt -lt 3 ]] || { tail -n 20 "$LOGS/emulator.log" >&2; die "the ECS emulator did not start"; }
done
say "ECS rollout emulator (moto $(python3 -c 'import moto; print(moto.__version__)')) on http://127.0.0.1:$EMU_PORT (pid $EMU_PID)"

# Every AWS client below (hoist, boto3) talks to the emulator with dummy credentials, and to
# nothing else: no profile, no config files, no instance metadata.
while read -r var; do unset "$var"; done < <(env | awk -F= '/^AWS_/ {print $1}')
export AWS_ENDPOINT_URL=http://127.0.0.1:$EMU_PORT
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=ap-northeast-2
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
say "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL AWS_REGION=$AWS_REGION (dummy keys)"

# The ECR stand-in in front of the registry: every push and pull below goes through it, as
# it would go to Amazon ECR (PATCH answered 201, 5 MiB parts, downloads redirected to an S3
# stand-in, 12-hour tokens from the emulator's GetAuthorizationToken, repositories that must
# exist, ...). hoist reaches it under ECR's host name through [registry] resolve.
PYTHONUNBUFFERED=1 python3 "$ROOT/tests/support/registry_standin.py" --model ecr --backend "$REGISTRY" \
  --aws-endpoint "$AWS_ENDPOINT_URL" --region ap-northeast-2 --account 123456789012 \
  --ready-file "$WORK/ecr-standin.json" </dev/null >>"$LOGS/ecr-standin.log" 2>&1 &
ECR_PID=$!
for _ in $(seq 150); do [[ -f $WORK/ecr-standin.json ]] && break; sleep 0.1; done
[[ -f $WORK/ecr-standin.json ]] || { tail -n 20 "$LOGS/ecr-standin.log" >&2; die "the ECR stand-in did not start"; }
ECR_STANDIN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registry"])' "$WORK/ecr-standin.json")
say "ECR stand-in for $ECR_HOST on http://$ECR_STANDIN (pid $ECR_PID), in front of $REGISTRY"
ECR_FLAGS=(--insecure-registry "$ECR_HOST" --resolve "$ECR_HOST=$ECR_STANDIN")
# This demo account has BLOB_MOUNTING enabled (ECR's registry setting for mounting blobs across
# repositories), so ship mounts the base's layers from base/jdk; without it ECR opens a plain
# upload session instead, and hoist uploads them.
curl -fsS -o /dev/null --max-time 10 -X POST -d '{"blob_mounting": true}' "http://$ECR_STANDIN/_standin/settings" ||
  die "could not turn BLOB_MOUNTING on in the ECR stand-in"
# skopeo reads what hoist pushed through the stand-in, with a token from GetAuthorizationToken.
skopeo_ecr() { # SUBCOMMAND ARGS... (docker:// references name $ECR_STANDIN)
  local sub=$1 password
  shift
  password=$(python3 "$HELPER" ecr-password)
  case $sub in
    inspect) skopeo inspect --tls-verify=false --creds "AWS:$password" "$@" ;;
    copy) skopeo copy --src-tls-verify=false --src-creds "AWS:$password" "$@" ;;
  esac
}

# --- 3. base image -------------------------------------------------------------------------

step "JDK 17 base image from Debian packages" "base image"
if have_base; then
  say "cached: $BASE_LAYOUT (delete it to rebuild from debootstrap)"
else
  ROOTFS=$WORK/jdk-rootfs
  say "debootstrap $SUITE from $MIRROR: minbase + openjdk-17-jre-headless (log: $LOGS/debootstrap.log)"
  printf '%s    $ debootstrap --variant=minbase --include=openjdk-17-jre-headless %s %s %s%s\n' \
    "$D" "$SUITE" "$ROOTFS" "$MIRROR" "$N"
  # In the foreground (so Ctrl-C stops it too), its phases shown, every line in the log.
  t=$(date +%s.%N)
  if ! debootstrap --variant=minbase --include=openjdk-17-jre-headless "$SUITE" "$ROOTFS" "$MIRROR" 2>&1 |
    tee "$LOGS/debootstrap.log" |
    sed -un -E '/^I: (Resolving|Checking component|Installing|Unpacking (required|the base)|Configuring (required|the base)|Base system)/s/^/    /p'; then
    tail -n 30 "$LOGS/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  say "debootstrap: $(elapsed "$t") s"
  unmount_under "$ROOTFS"
  say "rootfs: $(du -sh --one-file-system "$ROOTFS" | cut -f1), $(chroot "$ROOTFS" dpkg-query -W -f='.\n' | wc -l) packages"
  # Trim what a runtime image does not need: package caches and lists, docs, man pages,
  # locales, logs.
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/cache/apt/*.bin \
    "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* \
    "$ROOTFS"/usr/share/info/* "$ROOTFS"/usr/share/locale/* "$ROOTFS"/usr/share/lintian \
    "$ROOTFS"/var/log/*.log "$ROOTFS"/var/log/apt/* "$ROOTFS"/var/cache/debconf/*-old \
    "$ROOTFS"/var/lib/dpkg/*-old "$ROOTFS"/tmp/* "$ROOTFS"/var/tmp/*
  mkdir -p "$ROOTFS"/var/lib/apt/lists/partial
  say "trimmed (apt caches, docs, man pages, locales, logs): $(du -sh --one-file-system "$ROOTFS" | cut -f1)"
  [[ -x $ROOTFS$JAVA_HOME_IN_IMAGE/bin/java ]] || die "no java at $JAVA_HOME_IN_IMAGE in the rootfs"
  rm -rf "$BASE_LAYOUT.partial"
  t=$(date +%s.%N)
  run "$HOIST" build --from scratch --layer-dir "$ROOTFS" \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env JAVA_HOME="$JAVA_HOME_IN_IMAGE" \
    --label org.opencontainers.image.title="openjdk-17-jre-headless on Debian $SUITE" \
    --platform "linux/$ARCH" --no-cache \
    --to "oci:$BASE_LAYOUT.partial:$BASE_TAG" >"$WORK/base.digest"
  mv "$BASE_LAYOUT.partial" "$BASE_LAYOUT"
  say "hoist build ($profile profile): $(elapsed "$t") s, $(cat "$WORK/base.digest")"
  unmount_under "$ROOTFS"
  rm -rf --one-file-system "$ROOTFS"
  say "cached as $BASE_LAYOUT ($(du -sh "$BASE_LAYOUT" | cut -f1)); the next run starts here"
fi
# The cached layout goes into "ECR" with hoist copy (digest kept, as skopeo checks); the
# repository is made on the way (CreateRepository).
BASE_PINNED=$(run "$HOIST" copy "${ECR_FLAGS[@]}" --create-repository \
  "oci:$BASE_LAYOUT:$BASE_TAG" "$ECR_HOST/base/jdk:$BASE_TAG") || die "hoist copy of the base failed"
BASE_DIGEST=$(skopeo_ecr inspect --format '{{.Digest}}' "docker://$ECR_STANDIN/base/jdk:$BASE_TAG")
[[ $BASE_PINNED == "$ECR_HOST/base/jdk@$BASE_DIGEST" ]] || die "hoist copy printed $BASE_PINNED, ECR holds $BASE_DIGEST"
say "$ECR_HOST/base/jdk:$BASE_TAG = $BASE_DIGEST"

# --- 4. the app ----------------------------------------------------------------------------

step "the app: testdata/spring/boot35, a real Spring Boot 3.5 web app, built with Maven" "app jar"
# Built in a copy (the source tree stays clean), offline first. The jar is kept in DEMO_CACHE
# under a hash of the project's files and reused while they are unchanged.
command -v mvn >/dev/null || die "missing mvn (apt-get install maven)"
APP_SRC=$ROOT/testdata/spring/boot35
APP_HASH=$(cd "$APP_SRC" && find . -path ./target -prune -o -type f -print0 | LC_ALL=C sort -z |
  xargs -0 sha256sum | sha256sum | cut -c1-16)
APP_JAR_DIR=$CACHE/boot35-$APP_HASH
JAR=$APP_JAR_DIR/boot35-1.0.0.jar
if [[ -f $JAR ]]; then
  say "cached: $JAR (sources unchanged: hash $APP_HASH)"
else
  rm -rf "$WORK/boot35"
  mkdir -p "$WORK/boot35"
  (cd "$APP_SRC" && tar --exclude=./target -cf - .) | tar -xf - -C "$WORK/boot35"
  t=$(date +%s.%N)
  if ! (cd "$WORK/boot35" && run mvn -B -q -o package -DskipTests) >"$LOGS/maven.log" 2>&1; then
    say "offline build failed (dependencies not in ~/.m2 yet?); again online"
    (cd "$WORK/boot35" && run mvn -B -q package -DskipTests) >>"$LOGS/maven.log" 2>&1 ||
      { tail -n 30 "$LOGS/maven.log" >&2; die "mvn package failed"; }
  fi
  say "mvn package: $(elapsed "$t") s (log: $LOGS/maven.log)"
  rm -rf "$CACHE"/boot35-*
  mkdir -p "$APP_JAR_DIR.partial"
  cp "$WORK/boot35/target/boot35-1.0.0.jar" "$APP_JAR_DIR.partial/"
  mv "$APP_JAR_DIR.partial" "$APP_JAR_DIR"
  rm -rf "$WORK/boot35"
  say "cached as $JAR"
fi
run "$HOIST" inspect "$JAR" | sed -e 's/^/    /' -e 's/ *$//'

# --- 5. ECS ----------------------------------------------------------------------------------

step "seed the ECS emulator (what is running before the deploy)" "seed ECS"
python3 "$HELPER" seed

# --- 6. ship ---------------------------------------------------------------------------------

step "hoist ship dev: build, push, deploy, wait" "hoist ship dev"
"$HOIST" ship --help >/dev/null 2>&1 || die "this hoist has no \`ship\` command"
# The jar glob is relative to hoist.toml, which lives in the work dir for this run.
JAR_GLOB="$(python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' \
  "$APP_JAR_DIR" "$WORK")/*.jar"
sed -e "s|@ECR_HOST@|$ECR_HOST|g" -e "s|@ECR_STANDIN@|$ECR_STANDIN|g" -e "s|@JAR_GLOB@|$JAR_GLOB|g" \
  "$ROOT/demo/hoist.toml.in" >"$WORK/hoist.toml"
say "$WORK/hoist.toml:"
grep -v '^#' "$WORK/hoist.toml" | sed -e '/./!d' -e 's/^/      /'
# From the app's directory, as in a project ({git_sha} is its HEAD). The emulator moves one
# step per DescribeServices call, so a short poll interval only makes the demo quicker.
(cd "$APP_SRC" && run "$HOIST" ship dev --config "$WORK/hoist.toml" --poll-interval 2s \
  --metadata-file "$WORK/ship.json") >"$WORK/ship.out"
say "stdout: $(cat "$WORK/ship.out")"

say "and prod is protected (protect = true): without --yes, \`hoist ship prod\` must refuse"
set +e
printf '%s    $ %s ship prod --config %s%s\n' "$D" "$HOIST" "$WORK/hoist.toml" "$N"
(cd "$APP_SRC" && "$HOIST" ship prod --config "$WORK/hoist.toml" </dev/null) >/dev/null 2>"$LOGS/ship-prod.err"
PROD_RC=$?
set -e
sed 's/^/    /' "$LOGS/ship-prod.err"
[[ $PROD_RC -ne 0 ]] || die "hoist ship prod went ahead without --yes"
say "refused (exit $PROD_RC)"

# --- 7. run it -------------------------------------------------------------------------------

step "run the deployed image: containerd (or a chroot), health, /hello" "pull + run"
python3 "$HELPER" container plog-cluster plog-api plog-back >"$WORK/plog-back.json"
IMAGE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"])' "$WORK/plog-back.json")
say "the service's task definition runs plog-back on $IMAGE"
[[ $IMAGE == "$ECR_HOST/plog-back@sha256:"* ]] || die "plog-back's image is not $ECR_HOST/plog-back pinned by digest: $IMAGE"
[[ $IMAGE == "$(cat "$WORK/ship.out")" ]] || die "the task definition's image is not what hoist ship printed"
APP_DIGEST=${IMAGE#*@}
mapfile -d '' TASK_ENV < <(python3 "$HELPER" task-env plog-cluster plog-api plog-back)
APP_PORT=$(python3 "$HELPER" free-port)
say "task environment: ${TASK_ENV[*]} (the secret DB_PASSWORD is ECS's to inject; not here)"
say "plus SERVER_PORT=$APP_PORT (a free port: the container shares the host's network)"
HEALTH='' HELLO='' RUNTIME=''
show_answers() {
  say "up after $(elapsed "$APP_T") s; $(grep -o 'Started .* seconds' "$WORK/app.out" | head -n 1 || true)"
  say "GET /actuator/health: $HEALTH"
  say "GET /hello:           $HELLO"
}

if start_containerd; then
  RUNTIME="containerd $(containerd --version | awk '{print $3}'), $SNAPSHOTTER snapshotter"
  say "containerd (pid $CTRD_PID) on $CTRD_SOCK, namespace $CTRD_NS, $SNAPSHOTTER snapshotter"
  # Pulled through the ECR stand-in with a token, as ECS would. Its blob GETs answer 307 to the
  # S3 stand-in on another port, which refuses a request that still carries the Authorization
  # header (as S3 does): containerd drops credentials on a redirect to another host, so the pull
  # only succeeds if it does.
  REF=$ECR_STANDIN/plog-back@$APP_DIGEST
  read -r LOG_START _ < <(python3 "$HELPER" standin-log "$ECR_STANDIN")
  t=$(date +%s.%N)
  printf '%s    $ ctr images pull --plain-http --user AWS:… --snapshotter %s %s%s\n' "$D" "$SNAPSHOTTER" "$REF" "$N"
  CTR_TIMEOUT=180 ctr_ images pull --plain-http --user "AWS:$(python3 "$HELPER" ecr-password)" \
    --snapshotter "$SNAPSHOTTER" "$REF" >"$LOGS/ctr-pull.log" 2>&1 ||
    { tail -n 20 "$LOGS/ctr-pull.log" >&2; die "ctr images pull failed (containerd's log: $LOGS/containerd.log)"; }
  read -r _ REDIRECTED FETCHED WITH_AUTH < <(python3 "$HELPER" standin-log "$ECR_STANDIN" "$LOG_START" || true)
  say "pulled and unpacked in $(elapsed "$t") s: $REDIRECTED blob GETs answered 307 by the stand-in, $FETCHED fetched"
  say "from its S3 stand-in, $WITH_AUTH of them with an Authorization header (containerd drops it on the redirect)"
  [[ $WITH_AUTH == 0 && $FETCHED -gt 0 ]] || die "containerd's pull did not go through the S3 redirect as expected"
  CTR_ENV=()
  for kv in "${TASK_ENV[@]}" "SERVER_PORT=$APP_PORT"; do CTR_ENV+=(--env "$kv"); done
  CTR_NAME=plog-back
  printf '%s    $ ctr run --rm --net-host %s %s %s%s\n' "$D" "$(quote "${CTR_ENV[@]}")" "$REF" "$CTR_NAME" "$N"
  # The container's own cgroup, read-only, where the JVM reads its limits (ctr mounts none).
  APP_T=$(date +%s.%N)
  CTR_TIMEOUT=0 ctr_ run --rm --net-host --snapshotter "$SNAPSHOTTER" \
    --mount type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:noexec:nodev \
    "${CTR_ENV[@]}" "$REF" "$CTR_NAME" >"$WORK/app.out" 2>&1 &
  CTR_RUN_PID=$!
  wait_up "$APP_PORT" "$CTR_RUN_PID" 90 || {
    sed 's/^/    | /' "$WORK/app.out" | tail -n 30 >&2
    die "the container did not answer UP on 127.0.0.1:$APP_PORT/actuator/health within 90 s"
  }
  HELLO=$(curl -fsS --max-time 5 "http://127.0.0.1:$APP_PORT/hello") || die "GET /hello failed"
  show_answers
  stop_containerd
else
  say "containerd is not usable here ($CTRD_WHY): the image runs in a chroot instead"
  RUNTIME="chroot (containerd: $CTRD_WHY)"
  stop_containerd
  printf '%s    $ skopeo copy --src-creds AWS:… docker://%s oci:%s%s\n' "$D" "$ECR_STANDIN/plog-back@$APP_DIGEST" "$WORK/pulled:app" "$N"
  skopeo_ecr copy --quiet --insecure-policy "docker://$ECR_STANDIN/plog-back@$APP_DIGEST" "oci:$WORK/pulled:app"
  run umoci unpack --image "$WORK/pulled:app" "$WORK/bundle" >"$LOGS/umoci.log" 2>&1 ||
    { cat "$LOGS/umoci.log" >&2; die "umoci unpack failed"; }
  APP_ROOT=$WORK/bundle/rootfs
  mapfile -d '' ARGV < <(python3 "$HELPER" image-config "$WORK/pulled" app argv)
  mapfile -d '' IMAGE_ENV < <(python3 "$HELPER" image-config "$WORK/pulled" app env)
  mapfile -d '' WORKDIR < <(python3 "$HELPER" image-config "$WORK/pulled" app workdir)
  say "image Entrypoint+Cmd: ${ARGV[*]}"
  say "image WorkingDir:     ${WORKDIR[0]}"
  say "image Env:            ${IMAGE_ENV[*]}"
  [[ ${#ARGV[@]} -gt 0 ]] || die "the image has no Entrypoint or Cmd"
  PROC_MNT=$APP_ROOT/proc
  mkdir -p "$PROC_MNT"
  run mount -t proc proc "$PROC_MNT" # java finds libjli.so through /proc/self/exe
  # The task's variables after the image's, so they win (as in ECS).
  APP_T=$(date +%s.%N)
  chroot "$APP_ROOT" /usr/bin/env -i -C "${WORKDIR[0]}" "${IMAGE_ENV[@]}" "${TASK_ENV[@]}" \
    "SERVER_PORT=$APP_PORT" "${ARGV[@]}" >"$WORK/app.out" 2>&1 &
  CHROOT_PID=$!
  wait_up "$APP_PORT" "$CHROOT_PID" 90 || {
    sed 's/^/    | /' "$WORK/app.out" | tail -n 30 >&2
    die "the app did not answer UP on 127.0.0.1:$APP_PORT/actuator/health within 90 s"
  }
  HELLO=$(curl -fsS --max-time 5 "http://127.0.0.1:$APP_PORT/hello") || die "GET /hello failed"
  show_answers
  stop_chroot_app
fi
[[ $HELLO == *profile=dev* ]] || die "/hello does not say profile=dev"
printf '%s\n' "$RUNTIME" "$HEALTH" "$HELLO" >"$WORK/app.answers"
say "${G}ok: the app ran from the image ECS was given, with SPRING_PROFILES_ACTIVE=dev from hoist.toml${N}"

# --- 8. summary ------------------------------------------------------------------------------

step "summary" "summary"
python3 "$HELPER" service plog-cluster plog-api >"$WORK/service.json"
python3 "$HELPER" service plog-prod plog-api-prod >"$WORK/service-prod.json"
grep -q '"taskDefinition": "[^"]*/plog-api:1"' "$WORK/service-prod.json" || die "plog-api-prod moved off plog-api:1"
LAST=$CACHE/last-app-digest # what the previous run shipped
python3 "$HELPER" summary "$WORK" "$ECR_HOST" "$SUITE" "$(cat "$LAST" 2>/dev/null || true)"
echo "$APP_DIGEST" >"$LAST"
step_done
stop_servers
if [[ -z ${DEMO_KEEP:-} ]]; then # the big files; DEMO_KEEP=1 keeps them for a look
  rm -rf --one-file-system "$WORK/bundle" "$WORK/pulled" "$WORK/registry/storage" "$CTRD_DIR"
  say "removed the pulled image (containerd's or the unpacked one) and the registry's storage from $WORK"
  say "(kept: hoist.toml, ship.json, app.out (the app's log), logs/; DEMO_KEEP=1 keeps everything)"
fi
printf '\n    timings:\n'
printf '      %s\n' "${TIMES[@]}"
printf '      %-34s %6s s\n' "total" "$(elapsed "$DEMO_START")"
cat <<'EOF'

    The same hoist.toml on real AWS (demo/README.md shows the whole file):
      [image]  from = "eclipse-temurin:17-jre"      # or an ECR copy of this demo's base
               to   = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/plog-back"
               jar  = "target/*.jar"                # relative to hoist.toml (Maven)
      [env.*]  your clusters, services and container names
    with credentials from the AWS default chain (a profile, SSO, or GitHub OIDC through
    aws-actions/configure-aws-credentials): no docker login, no AWS_ENDPOINT_URL.
      hoist ship dev                 # then, the digest dev runs: hoist promote dev prod --yes
EOF
printf '\n%sdemo OK%s\n' "$G" "$N"
