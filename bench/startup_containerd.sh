#!/usr/bin/env bash
# Start-up of the real Spring Boot app testdata/spring/boot35 under containerd, for
# bench/bench.sh (its section "start-up under containerd"); runs on its own too:
#
#   sudo bench/startup_containerd.sh [WORK]     # Markdown section on stdout, progress on stderr
#
# Builds the app with Maven (offline first, then online) in a copy under WORK, a base image
# with a jlink'ed Java 17 runtime (the modules Spring Boot needs) at /opt/java/openjdk plus the
# glibc files it links (ldd), and four images on that base, pushed to a docker-registry:
#   1. `java -jar`: the fat jar as one layer (/app/app.jar), the command given to `ctr run`;
#   2. hoist exploded (the default mode);
#   3. hoist `--mode packaged` (its own `java -jar` entrypoint);
#   4. Spring's `extract --layers --launcher`: one layer per Boot layer under /app, run as
#      `java -cp /app org.springframework.boot.loader.launch.JarLauncher` in /app.
# Then starts a containerd of its own (config, root, state and socket under WORK, CRI off,
# overlayfs if an overlay mounts there, else native; runc), pulls the four with --plain-http
# and times `ctr run --rm --net-host` to the first 200 from /actuator/health
# (bench/startup_containerd.py): one warm-up round, then ROUNDS rounds taking turns.
#
# Never fails the bench for want of a piece: whatever stops it (not root, no containerd, no
# mvn, containerd does not start, an image does not answer) turns the rows into "not run: WHY".
#
# Environment:
#   HOIST            the hoist binary (default target/release/hoist)
#   BENCH_REGISTRY   HOST:PORT of a plain-HTTP registry to use (default: start docker-registry)
#   CTRD_ROUNDS      timed rounds (default 5; at least 5, made odd)
# Single quotes around `$` are deliberate: Markdown backticks in row names.
# shellcheck disable=SC2016
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
W=${1:-$ROOT/bench-work/containerd}
HOIST=${HOIST:-${CARGO_TARGET_DIR:-$ROOT/target}/release/hoist}
ROUNDS=${CTRD_ROUNDS:-5}
[[ $ROUNDS =~ ^[0-9]+$ ]] || ROUNDS=5
((ROUNDS >= 5)) || ROUNDS=5
((ROUNDS % 2 == 1)) || ROUNDS=$((ROUNDS + 1))
MODULES=java.base,java.desktop,java.instrument,java.logging,java.management,java.naming,java.security.jgss,java.sql,java.xml,jdk.crypto.ec,jdk.management,jdk.unsupported
LABELS=('`java -jar` (fat jar as one layer)' 'hoist exploded (default)' 'hoist `--mode packaged`'
  'Spring `extract --layers --launcher` (`JarLauncher`)')
NOTE=
RESULTS=()

log() { printf 'bench containerd: %s\n' "$*" >&2; }

report() {
  echo "### start-up under containerd"
  echo
  if ((${#RESULTS[@]} == 4)); then
    echo "testdata/spring/boot35 (Spring Boot 3.5, \`spring-boot-starter-web\` + actuator) in four" \
      "images on one base (a jlink'ed $JAVA_VERSION runtime with the modules Spring Boot needs plus the" \
      "glibc files it links), pulled from the local registry into a containerd $CTRD_VERSION of the" \
      "bench's own ($SNAPSHOTTER snapshotter, runc). Timed from \`ctr run --rm --net-host\` to the" \
      "first HTTP 200 from \`/actuator/health\` (polled every 20 ms); median of $ROUNDS runs after" \
      "one warm-up round, the four taking turns."
  else
    echo "testdata/spring/boot35 in four images under a containerd of the bench's own, timed from" \
      "\`ctr run\` to the first 200 from \`/actuator/health\`."
  fi
  echo
  echo "| image | median s | runs s |"
  echo "|---|---:|---|"
  local i
  for i in 0 1 2 3; do
    if ((${#RESULTS[@]} == 4)); then
      echo "| ${LABELS[i]} | ${RESULTS[i]%% *} | ${RESULTS[i]#* } |"
    else
      echo "| ${LABELS[i]} — $NOTE | n/a | n/a |"
    fi
  done
  echo
  if ((${#RESULTS[@]} == 4)); then
    local base=${RESULTS[0]%% *} r parts=()
    for i in 1 2 3; do
      r=$(awk -v a="${RESULTS[i]%% *}" -v b="$base" 'BEGIN {if (b > 0) printf "%.3f", a / b; else print "n/a"}')
      parts+=("${LABELS[i]} ${r}×")
    done
    echo "Ratios to \`java -jar\`: ${parts[0]}, ${parts[1]}, ${parts[2]}."
  fi
  echo "This is the baseline (no CDS archive, no AOT cache) that a later CDS/AOT-cache image is to beat."
}

# not_run WHY: the rows say why; the section ends without failing.
not_run() {
  NOTE="not run: $*"
  log "$NOTE"
  report
  exit 0
}

REG_PID=
CTRD_PID=
cleanup() {
  if [[ -n $CTRD_PID ]] && kill -0 "$CTRD_PID" 2>/dev/null; then
    local name
    for name in $(ctr_ tasks ls -q 2>/dev/null) $(ctr_ containers ls -q 2>/dev/null); do
      ctr_ tasks kill --signal SIGKILL "$name" >/dev/null 2>&1
      ctr_ tasks delete --force "$name" >/dev/null 2>&1
      ctr_ containers delete "$name" >/dev/null 2>&1
    done
    kill "$CTRD_PID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$CTRD_PID" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$CTRD_PID" 2>/dev/null
    wait "$CTRD_PID" 2>/dev/null
  fi
  # Shims of this daemon still alive (their command line names its socket).
  local pid
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $W/ctrd/c.sock" 2>/dev/null); do
    kill -KILL "$pid" 2>/dev/null
  done
  if [[ -n $REG_PID ]]; then
    kill "$REG_PID" 2>/dev/null
    wait "$REG_PID" 2>/dev/null
  fi
  if [[ -d $W/ctrd ]]; then
    awk -v root="$W/ctrd" '$5 == root || index($5, root "/") == 1 {print length($5), $5}' /proc/self/mountinfo |
      sort -rn | cut -d' ' -f2- | while read -r point; do umount --lazy "$point" 2>/dev/null; done
  fi
  rmdir "/sys/fs/cgroup/$NS" 2>/dev/null
  rm -rf "/run/containerd/runc/$NS" 2>/dev/null
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

NS=hoist-bench-$$
SOCK=$W/ctrd/c.sock
SYSTEM_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ctr_() {
  env -u CONTAINERD_ADDRESS -u CONTAINERD_NAMESPACE -u CONTAINERD_SNAPSHOTTER \
    PATH="$SYSTEM_PATH:$PATH" TMPDIR="$W/ctrd/tmp" ctr --address "$SOCK" --namespace "$NS" "$@" </dev/null
}

# --- what it needs ------------------------------------------------------------------------------
[[ $EUID -eq 0 ]] || not_run "needs root (containerd)"
for tool in containerd ctr containerd-shim-runc-v2 runc; do
  PATH="$SYSTEM_PATH:$PATH" command -v "$tool" >/dev/null ||
    not_run "\`$tool\` is not installed (apt-get install containerd)"
done
for tool in mvn jlink java ldd python3 curl; do
  command -v "$tool" >/dev/null || not_run "\`$tool\` is not installed"
done
[[ -x $HOIST ]] || not_run "no hoist binary at $HOIST (cargo build --release)"
[[ -n ${BENCH_REGISTRY:-} ]] || command -v docker-registry >/dev/null ||
  not_run "no registry: docker-registry is not installed and BENCH_REGISTRY is unset"
# sun_path is 108 bytes; the ttrpc socket's name is 6 longer.
((${#SOCK} + 6 < 108)) || not_run "the socket path $SOCK is too long for a unix socket"
JAVA_VERSION=$(java -version 2>&1 | head -n 1 | tr -d '"')

rm -rf "$W" && mkdir -p "$W"
W=$(cd "$W" && pwd)
SOCK=$W/ctrd/c.sock

# --- the app --------------------------------------------------------------------------------
log "building testdata/spring/boot35 with Maven (offline, else online)"
mkdir -p "$W/app"
(cd "$ROOT/testdata/spring/boot35" && tar --exclude=./target -cf - .) | tar -C "$W/app" -xf -
if ! (cd "$W/app" && mvn -B -q -o package -DskipTests >"$W/mvn.log" 2>&1); then
  log "offline build failed; trying online"
  (cd "$W/app" && mvn -B -q package -DskipTests >>"$W/mvn.log" 2>&1) ||
    { tail -n 20 "$W/mvn.log" >&2; not_run "mvn package failed (log: $W/mvn.log)"; }
fi
JAR=$W/app/target/boot35-1.0.0.jar
[[ -f $JAR ]] || not_run "mvn built no $JAR"

# --- the base: jlink'ed runtime + the glibc files it links ---------------------------------------
log "jlink ($MODULES) and the libraries it links"
BASE=$W/base
jlink --add-modules "$MODULES" --strip-debug --no-header-files --no-man-pages \
  --output "$BASE/runtime" >"$W/jlink.log" 2>&1 || { cat "$W/jlink.log" >&2; not_run "jlink failed"; }
rm -rf "$BASE/runtime/legal" # links into the JDK, dangling in an image
mkdir -p "$BASE/libs/tmp" && chmod 1777 "$BASE/libs/tmp"
for object in "$BASE/runtime/bin/java" "$BASE/runtime/lib/"*.so "$BASE/runtime/lib/server/"*.so; do
  # `name => /path (0x...)` or `/lib64/ld-linux-x86-64.so.2 (0x...)`
  ldd "$object" 2>/dev/null | awk '{p = ($2 == "=>") ? $3 : $1; if (p ~ /^\//) print p}'
done | sort -u | while read -r lib; do
  [[ $lib == "$BASE/runtime/"* ]] && continue
  mkdir -p "$BASE/libs$(dirname "$lib")"
  cp -L "$lib" "$BASE/libs$lib"
done

# --- the registry ---------------------------------------------------------------------------
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
if [[ -n ${BENCH_REGISTRY:-} ]]; then
  REGISTRY=$BENCH_REGISTRY
else
  port=$(free_port)
  mkdir -p "$W/registry/storage"
  printf '%s\n' 'version: 0.1' 'log:' '  level: error' '  accesslog:' '    disabled: true' \
    'storage:' '  filesystem:' "    rootdirectory: \"$W/registry/storage\"" 'http:' \
    "  addr: 127.0.0.1:$port" >"$W/registry/config.yml"
  docker-registry serve "$W/registry/config.yml" >"$W/registry/log" 2>&1 &
  REG_PID=$!
  for _ in $(seq 100); do
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/v2/" 2>/dev/null && break
    sleep 0.1
  done
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/v2/" 2>/dev/null ||
    not_run "docker-registry did not start (log: $W/registry/log)"
  REGISTRY=127.0.0.1:$port
fi
R=$REGISTRY/ctrd-bench

# --- the four images ------------------------------------------------------------------------
hoist_() { "$HOIST" "$@" >/dev/null 2>"$W/hoist.err" || { cat "$W/hoist.err" >&2; not_run "hoist $1 failed: $*"; }; }
log "images: base, java -jar, hoist exploded, hoist packaged, Spring extract ($R/...)"
hoist_ build --from scratch --layer-dir "$BASE/libs:/" --layer-dir "$BASE/runtime:/opt/java/openjdk" \
  --env PATH=/opt/java/openjdk/bin:/usr/bin:/bin --env JAVA_HOME=/opt/java/openjdk --to "$R/base:17"
mkdir -p "$W/fat" && cp "$JAR" "$W/fat/app.jar"
hoist_ build --from "$R/base:17" --layer-dir "$W/fat:/app" --to "$R/fatjar:1"
hoist_ build --from "$R/base:17" --jar "$JAR" --to "$R/exploded:1"
hoist_ build --from "$R/base:17" --jar "$JAR" --mode packaged --to "$R/packaged:1"
(cd "$W" && java -Djarmode=tools -jar "$JAR" extract --layers --launcher --destination "$W/extract" \
  >"$W/extract.log" 2>&1) || { cat "$W/extract.log" >&2; not_run "Spring's extract failed"; }
EXTRACT_FLAGS=()
for layer in dependencies spring-boot-loader snapshot-dependencies application; do
  d=$W/extract/$layer
  [[ -d $d && -n $(ls -A "$d") ]] && EXTRACT_FLAGS+=(--layer-dir "$d:/app")
done
hoist_ build --from "$R/base:17" "${EXTRACT_FLAGS[@]}" --to "$R/extract:1"

# --- containerd -----------------------------------------------------------------------------
log "starting containerd (root, state and socket under $W/ctrd)"
C=$W/ctrd
mkdir -p "$C/tmp"
cat >"$C/config.toml" <<EOF
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$SOCK"

[ttrpc]
  address = "$SOCK.ttrpc"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$C/opt"
EOF
PATH="$SYSTEM_PATH:$PATH" TMPDIR="$C/tmp" containerd --config "$C/config.toml" </dev/null >"$C/log" 2>&1 &
CTRD_PID=$!
up=
for _ in $(seq 400); do # up to ~20 s
  kill -0 "$CTRD_PID" 2>/dev/null || break
  [[ -S $SOCK ]] && ctr_ version >/dev/null 2>&1 && { up=1; break; }
  sleep 0.05
done
if [[ -z $up ]]; then
  tail -n 20 "$C/log" >&2
  why=$(grep -m1 -iE 'level=(fatal|error)' "$C/log" | sed 's/.*msg="\([^"]*\)".*/\1/' | cut -c1-120)
  not_run "containerd did not start${why:+ ($why)}"
fi
CTRD_VERSION=$(containerd --version 2>/dev/null | awk '{print $3}')

# overlayfs when an overlay with an upper dir mounts under $C and the plugin loaded, else native.
SNAPSHOTTER=native
P=$C/overlay-probe
mkdir -p "$P/lower" "$P/upper" "$P/work" "$P/merged"
if mount -t overlay overlay -o "lowerdir=$P/lower,upperdir=$P/upper,workdir=$P/work" "$P/merged" 2>/dev/null; then
  umount "$P/merged"
  ctr_ plugins ls 2>/dev/null | awk '$1 == "io.containerd.snapshotter.v1" && $2 == "overlayfs" && $NF == "ok"' |
    grep -q . && SNAPSHOTTER=overlayfs
fi
rm -rf "$P"
log "snapshotter: $SNAPSHOTTER"

IMAGES=("$R/fatjar:1" "$R/exploded:1" "$R/packaged:1" "$R/extract:1")
for image in "${IMAGES[@]}"; do
  ctr_ images pull --snapshotter "$SNAPSHOTTER" --plain-http "$image" >"$C/pull.log" 2>&1 ||
    { tail -n 20 "$C/pull.log" >&2; not_run "ctr images pull $image failed"; }
done

# --- timing ---------------------------------------------------------------------------------
mkdir -p "$W/logs"
python3 - "$W/specs.json" "$SOCK" "$NS" "$SNAPSHOTTER" "$ROUNDS" "$W/logs" "${IMAGES[@]}" <<'EOF'
import json, sys
out, sock, ns, snap, rounds, logs, fat, exploded, packaged, extract = sys.argv[1:]
java = "/opt/java/openjdk/bin/java"
spec = {
    "ctr": ["ctr", "--address", sock, "--namespace", ns],
    "snapshotter": snap, "rounds": int(rounds), "logs": logs, "timeout": 180,
    "images": [
        {"image": fat, "args": [java, "-jar", "/app/app.jar"]},
        {"image": exploded},
        {"image": packaged},
        {"image": extract, "cwd": "/app",
         "args": [java, "-cp", "/app", "org.springframework.boot.loader.launch.JarLauncher"]},
    ],
}
json.dump(spec, open(out, "w"), indent=1)
EOF
log "timing: one warm-up round, then $ROUNDS rounds of the four"
mapfile -t RESULTS < <(PATH="$SYSTEM_PATH:$PATH" TMPDIR="$C/tmp" python3 "$ROOT/bench/startup_containerd.py" "$W/specs.json")
((${#RESULTS[@]} == 4)) || { RESULTS=(); not_run "a container did not answer (see the log above; $W/logs)"; }
report
