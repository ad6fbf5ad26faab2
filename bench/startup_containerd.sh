#!/usr/bin/env bash
# Start-up of the real Spring Boot app testdata/spring/boot35 under containerd, for
# bench/bench.sh (its section "start-up under containerd"); runs on its own too:
#
#   sudo bench/startup_containerd.sh [WORK]     # Markdown section on stdout, progress on stderr
#
# Builds the app with Maven (offline first, then online) in a copy under WORK and two bases,
# each a Java runtime at /opt/java/openjdk with its default CDS archive (lib/server/classes.jsa)
# plus the glibc files it links (ldd):
#   * JDK 17: jlink'ed (`jlink --generate-cds-archive`, the modules Spring Boot needs);
#   * JDK 25: the machine's Temurin 25 (/usr/lib/jvm/temurin-25-*) jlink'ed the same way by its
#     own jlink, or, when that fails, copied without jmods/, include/, man/ and lib/src.zip.
# Then eight images on those bases, pushed to a docker-registry (in the table's order):
#   1. JDK 17, `java -jar`: the fat jar as one layer (/app/app.jar), the command given to ctr run;
#   2. JDK 17, hoist exploded (the default mode);
#   3. JDK 17, hoist `--mode packaged` (its own `java -jar` entrypoint);
#   4. JDK 17, hoist `--mode extracted` (Spring's thin app.jar + lib/, `java -jar`);
#   5. JDK 17, Spring's `extract --layers --launcher`: one layer per Boot layer under /app, run
#      as `java -cp /app org.springframework.boot.loader.launch.JarLauncher` in /app;
#   6. JDK 17, hoist `--startup cds` (extracted plus a trained CDS archive);
#   7. JDK 25, `java -jar` as in 1;
#   8. JDK 25, hoist `--startup aot-cache` (extracted plus a trained AOT cache);
# and, untimed, JDK 25 `--mode extracted`: the build the AOT cache's build time is compared to
# (as 4's is to 6's; those four builds run with --no-cache). Then it starts a containerd of its
# own (config, root, state and socket under WORK, CRI off, overlayfs if an overlay mounts there,
# else native; runc), pulls the eight with --plain-http and times `ctr run --rm --net-host` to
# the first 200 from /actuator/health (bench/startup_containerd.py): one warm-up round, then
# ROUNDS rounds taking turns. Before that, 6 and 8 are started once with the archive made
# mandatory (JAVA_TOOL_OPTIONS=-Xshare:on, -XX:AOTMode=on), which fails when the JVM cannot
# use it. The report adds the archive's bytes and its layer's, the build time the training
# adds and how 4 and 6 compare with the targets (CDS ≥ 25 % and AOT cache ≥ 40 % faster than
# `java -jar` on the same JDK).
#
# Never fails the bench for want of a piece: whatever stops it (not root, no containerd, no
# mvn, containerd does not start) turns the rows into "not run: WHY"; what stops one row (a
# hoist without --mode extracted or --startup, no Temurin 25, a build that fails, an image
# that does not answer) turns that row into "not run: WHY".
#
# On a quiet 2-core machine the whole section takes ~3 min at 5 rounds (the Maven build, the
# bases and builds ~1 min, then (ROUNDS + 1) × 8 + 2 starts of ~2-4 s); on a busy one starts
# take ~8 s and it nears 9 min.
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
LABELS=('JDK 17, `java -jar` (fat jar as one layer)' 'JDK 17, hoist exploded (default)'
  'JDK 17, hoist `--mode extracted`' 'JDK 17, hoist `--startup cds`'
  'JDK 25, `java -jar` (fat jar as one layer)' 'JDK 25, hoist `--startup aot-cache`'
  'JDK 17, hoist `--mode packaged`' 'JDK 17, Spring `extract --layers --launcher` (`JarLauncher`)')
ORDER=(0 1 6 2 7 3 4 5) # the table's order of the rows
ROWS=${#LABELS[@]}
WHY=() # per row: why it did not run ("" while it may)
MEDIAN=() RUNS=() NOTES=()
for ((i = 0; i < ROWS; i++)); do WHY[i]='' MEDIAN[i]='' RUNS[i]='' NOTES[i]=''; done
JAVA17_VERSION='' JAVA25_VERSION='' CTRD_VERSION='' SNAPSHOTTER=''
declare -A BUILD_SECS=() # by build name: seconds
STARTED=$EPOCHSECONDS

log() { printf 'bench containerd: %s\n' "$*" >&2; }

# skip ROW WHY: the row says "not run: WHY" (the first reason given stays).
skip() {
  [[ -n ${WHY[$1]} ]] || WHY[$1]=$2
  log "row $(($1 + 1)) not run: $2"
}

# json FILE EXPR: EXPR (Python, on `r`, the parsed FILE) printed; empty when it fails.
json() {
  python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print("" if v is None else v)' "$1" "$2" 2>/dev/null
}

# ratio A B: A / B to 3 places, or n/a.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a != "" && b > 0) printf "%.3f", a / b; else print "n/a"}'; }

mb() { awk -v b="$1" 'BEGIN {if (b != "") printf "%.1f MB", b / 1e6; else print "n/a"}'; }

# target NAME ROW BASE_ROW GOAL_PERCENT: "NAME: A s vs B s = R×, P % faster (target ≥ G %: met|missed by Q points)".
target() {
  local name=$1 row=$2 base=$3 goal=$4
  if [[ -z ${MEDIAN[row]} || -z ${MEDIAN[base]} ]]; then
    echo "$name: not measured (${WHY[row]:-${WHY[base]:-no result}})."
    return
  fi
  awk -v n="$name" -v a="${MEDIAN[row]}" -v b="${MEDIAN[base]}" -v g="$goal" 'BEGIN {
    r = a / b; p = (1 - r) * 100
    v = (p >= g) ? "met" : sprintf("missed by %.1f points", g - p)
    printf "%s: %.3f s vs %.3f s = %.3f×, %.1f %% faster (target ≥ %d %% faster: %s).\n", n, a, b, r, p, g, v
  }'
}

# archive_line NAME ROW META EXTRACTED_META SECS EXTRACTED_SECS: what the archive adds.
archive_line() {
  local name=$1 row=$2 meta=$3 plain=$4 secs=$5 plain_secs=$6
  if [[ ! -s $meta ]] || [[ -z $(json "$meta" 'r.get("startup") and 1') ]]; then
    echo "$name: not built (${WHY[row]:-no startup object in the report})."
    return
  fi
  local kind bytes layer training cached version total plain_total added build
  kind=$(json "$meta" 'r["startup"]["kind"]')
  bytes=$(json "$meta" 'r["startup"]["archiveBytes"]')
  layer=$(json "$meta" 'r["startup"]["layerBytes"]')
  training=$(json "$meta" '"%.1f" % r["startup"]["trainingSeconds"]')
  cached=$(json "$meta" 'str(r["startup"]["cached"]).lower()')
  version=$(json "$meta" 'r["startup"]["javaVersion"]')
  total=$(json "$meta" 'sum(l["size"] for l in r["layers"])')
  added=
  if [[ -s $plain ]]; then
    plain_total=$(json "$plain" 'sum(l["size"] for l in r["layers"])')
    [[ -n $total && -n $plain_total ]] && added=$(mb $((total - plain_total)))
  fi
  build=$(awk -v a="$secs" -v b="$plain_secs" 'BEGIN {if (a != "" && b != "") printf "+%.1f s (%.1f s vs %.1f s)", a - b, a, b; else print "n/a"}')
  echo "$name ($kind, Java $version): archive $(mb "$bytes") ($bytes bytes), its layer $(mb "$layer")" \
    "compressed ($layer bytes; the image ${added:-n/a} over \`--mode extracted\`); the build" \
    "$build over the same build with \`--mode extracted\` (both \`--no-cache\`), of which" \
    "training ${training} s (report, cached: $cached)."
}

report() {
  local i
  echo "### start-up under containerd"
  echo
  if [[ -n $SNAPSHOTTER ]]; then
    echo "testdata/spring/boot35 (Spring Boot 3.5, \`spring-boot-starter-web\` + actuator) on two" \
      "bases, each a Java runtime with its default CDS archive plus the glibc files it links: a" \
      "jlink'ed ${JAVA17_VERSION:-JDK 17} with the modules Spring Boot needs, and" \
      "${JAVA25_VERSION:-Temurin 25} (the machine's Temurin 25, likewise). Pulled from the" \
      "local registry into a containerd $CTRD_VERSION of the bench's own ($SNAPSHOTTER" \
      "snapshotter, runc). Timed from \`ctr run --rm --net-host\` to the first HTTP 200 from" \
      "\`/actuator/health\` (polled every 20 ms); median of $ROUNDS runs after one warm-up" \
      "round, the images taking turns."
  else
    echo "testdata/spring/boot35 on a JDK 17 and a JDK 25 base under a containerd of the bench's" \
      "own, timed from \`ctr run\` to the first 200 from \`/actuator/health\`."
  fi
  echo
  echo "| image | median s | runs s |"
  echo "|---|---:|---|"
  for i in "${ORDER[@]}"; do
    if [[ -n ${MEDIAN[i]} ]]; then
      echo "| ${LABELS[i]}${NOTES[i]:+ — ${NOTES[i]}} | ${MEDIAN[i]} | ${RUNS[i]} |"
    else
      echo "| ${LABELS[i]} — not run: ${WHY[i]:-no result} | n/a | n/a |"
    fi
  done
  echo
  local parts=()
  for i in 1 6 2 7 3; do
    [[ -n ${MEDIAN[i]} ]] && parts+=("${LABELS[i]#JDK 17, } $(ratio "${MEDIAN[i]}" "${MEDIAN[0]}")×")
  done
  if ((${#parts[@]} > 0)) && [[ -n ${MEDIAN[0]} ]]; then
    local joined
    joined=$(printf '%s, ' "${parts[@]}")
    echo "Ratios to \`java -jar\` on JDK 17: ${joined%, }."
  fi
  target 'CDS vs `java -jar` on JDK 17' 3 0 25
  target 'AOT cache vs `java -jar` on JDK 25' 5 4 40
  echo
  archive_line "CDS archive" 3 "$W/meta/cds17.json" "$W/meta/extracted17.json" "${BUILD_SECS[cds17]:-}" \
    "${BUILD_SECS[extracted17]:-}"
  echo
  archive_line "AOT cache" 5 "$W/meta/aot25.json" "$W/meta/extracted25.json" "${BUILD_SECS[aot25]:-}" \
    "${BUILD_SECS[extracted25]:-}"
  log "section took $((EPOCHSECONDS - STARTED)) s"
}

# not_run WHY: every row that has not said why yet says this; the section ends without failing.
not_run() {
  local i
  for ((i = 0; i < ROWS; i++)); do skip "$i" "$*" 2>/dev/null; done
  log "not run: $*"
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
command -v python3 >/dev/null || not_run "\`python3\` is not installed"
[[ $EUID -eq 0 ]] || not_run "needs root (containerd)"
for tool in containerd ctr containerd-shim-runc-v2 runc; do
  PATH="$SYSTEM_PATH:$PATH" command -v "$tool" >/dev/null ||
    not_run "\`$tool\` is not installed (apt-get install containerd)"
done
for tool in mvn jlink java ldd curl; do
  command -v "$tool" >/dev/null || not_run "\`$tool\` is not installed"
done
[[ -x $HOIST ]] || not_run "no hoist binary at $HOIST (cargo build --release)"
[[ -n ${BENCH_REGISTRY:-} ]] || command -v docker-registry >/dev/null ||
  not_run "no registry: docker-registry is not installed and BENCH_REGISTRY is unset"
# sun_path is 108 bytes; the ttrpc socket's name is 6 longer.
((${#SOCK} + 6 < 108)) || not_run "the socket path $SOCK is too long for a unix socket"

# What this hoist can build.
HELP=$("$HOIST" build --help 2>&1)
if ! grep -q -- '--startup' <<<"$HELP"; then
  skip 3 "this hoist has no \`--startup\` (\`hoist build --help\`)"
  skip 5 "this hoist has no \`--startup\` (\`hoist build --help\`)"
fi
grep -q 'extracted' <<<"$HELP" || skip 2 "this hoist has no \`--mode extracted\` (\`hoist build --help\`)"
TEMURIN25=
for home in /usr/lib/jvm/temurin-25-*; do
  [[ -x $home/bin/java ]] && TEMURIN25=$home
done
if [[ -z $TEMURIN25 ]]; then
  for row in 4 5; do
    skip "$row" "no Temurin 25 JDK (/usr/lib/jvm/temurin-25-*): apt-get install temurin-25-jdk from Adoptium's apt repository"
  done
fi

rm -rf "$W" && mkdir -p "$W/meta"
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

# --- the bases: a runtime with its CDS archive + the glibc files it links -----------------------
# linked_libs RUNTIME LIBS: copies what RUNTIME's programs and libraries link (ldd), outside it,
# into LIBS at the same paths; LIBS/tmp is the image's /tmp.
linked_libs() {
  local runtime=$1 libs=$2
  mkdir -p "$libs/tmp" && chmod 1777 "$libs/tmp"
  {
    find "$runtime/bin" -type f
    find "$runtime/lib" -type f -name '*.so'
  } | while read -r object; do
    # `name => /path (0x...)` or `/lib64/ld-linux-x86-64.so.2 (0x...)`
    ldd "$object" 2>/dev/null | awk '{p = ($2 == "=>") ? $3 : $1; if (p ~ /^\//) print p}'
  done | sort -u | while read -r lib; do
    [[ $(realpath -m "$lib") == "$(realpath -m "$runtime")/"* ]] && continue
    mkdir -p "$libs$(dirname "$lib")"
    cp -L "$lib" "$libs$lib"
  done
}

# jlink_runtime JLINK OUT: the modules Spring Boot needs, with the default CDS archive.
jlink_runtime() {
  "$1" --add-modules "$MODULES" --strip-debug --no-header-files --no-man-pages --generate-cds-archive \
    --output "$2" >"$W/jlink.log" 2>&1 || return 1
  rm -rf "$2/legal" # links into the JDK, dangling in an image
}

java_version() { sed -n 's/^JAVA_VERSION="\(.*\)"/\1/p' "$1/release"; }

log "JDK 17: jlink --generate-cds-archive ($MODULES) and the libraries it links"
B17=$W/base17
jlink_runtime jlink "$B17/runtime" || { cat "$W/jlink.log" >&2; not_run "jlink failed"; }
[[ -f $B17/runtime/lib/server/classes.jsa ]] || not_run "jlink --generate-cds-archive made no lib/server/classes.jsa"
linked_libs "$B17/runtime" "$B17/libs"
JAVA17_VERSION="JDK $(java_version "$B17/runtime")"

B25=$W/base25
if [[ -n $TEMURIN25 ]]; then
  log "JDK 25: $TEMURIN25/bin/jlink --generate-cds-archive, else a copy; and the libraries it links"
  if ! jlink_runtime "$TEMURIN25/bin/jlink" "$B25/runtime"; then
    log "its jlink failed ($(tail -n 1 "$W/jlink.log")); copying $TEMURIN25"
    rm -rf "$B25/runtime" && mkdir -p "$B25"
    cp -a "$TEMURIN25" "$B25/runtime"
    rm -rf "$B25/runtime/jmods" "$B25/runtime/include" "$B25/runtime/man" "$B25/runtime/lib/src.zip"
    find "$B25/runtime" -xtype l -delete
  fi
  if [[ -f $B25/runtime/lib/server/classes.jsa ]]; then
    linked_libs "$B25/runtime" "$B25/libs"
    JAVA25_VERSION="Temurin $(java_version "$B25/runtime")"
  else
    skip 4 "the JDK 25 runtime has no lib/server/classes.jsa"
    skip 5 "the JDK 25 runtime has no lib/server/classes.jsa"
  fi
fi

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

# --- the images -----------------------------------------------------------------------------
# hoist_ ROW NAME ARGS...: `hoist ARGS --metadata-file meta/NAME.json --cache-dir ...`, timed
# into BUILD_SECS[NAME]. A failure makes ROW say why; ROW `all`: every row (the section ends),
# `-`: none.
hoist_() {
  local row=$1 name=$2
  shift 2
  local t0=$EPOCHREALTIME
  if "$HOIST" "$@" --cache-dir "$W/hoist-cache" --metadata-file "$W/meta/$name.json" \
    >/dev/null 2>"$W/hoist-$name.err"; then
    BUILD_SECS[$name]=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", b - a}')
    log "built $name in ${BUILD_SECS[$name]} s"
    return 0
  fi
  tail -n 15 "$W/hoist-$name.err" >&2
  local why
  why="hoist build failed: $(grep -m1 -iE 'error' "$W/hoist-$name.err" | cut -c1-160)"
  case $row in
    all) not_run "$why" ;;
    -) log "$why" ;;
    *) skip "$row" "$why (log: $W/hoist-$name.err)" ;;
  esac
  return 1
}
log "images ($R/...)"
hoist_ all base17 build --from scratch --layer-dir "$B17/libs:/" --layer-dir "$B17/runtime:/opt/java/openjdk" \
  --env PATH=/opt/java/openjdk/bin:/usr/bin:/bin --env JAVA_HOME=/opt/java/openjdk --to "$R/base:17"
if [[ -z ${WHY[4]} ]] && ! hoist_ 4 base25 build --from scratch --layer-dir "$B25/libs:/" \
  --layer-dir "$B25/runtime:/opt/java/openjdk" --env PATH=/opt/java/openjdk/bin:/usr/bin:/bin \
  --env JAVA_HOME=/opt/java/openjdk --to "$R/base:25"; then
  skip 5 "${WHY[4]}"
fi
mkdir -p "$W/fat" && cp "$JAR" "$W/fat/app.jar"
IMAGES=("$R/fatjar:17" "$R/exploded:17" "$R/extracted:17" "$R/cds:17" "$R/fatjar:25" "$R/aot:25"
  "$R/packaged:17" "$R/extract:17")
hoist_ 0 fatjar17 build --from "$R/base:17" --layer-dir "$W/fat:/app" --to "${IMAGES[0]}"
hoist_ 1 exploded17 build --from "$R/base:17" --jar "$JAR" --to "${IMAGES[1]}"
hoist_ 6 packaged17 build --from "$R/base:17" --jar "$JAR" --mode packaged --to "${IMAGES[6]}"
if (cd "$W" && java -Djarmode=tools -jar "$JAR" extract --layers --launcher --destination "$W/extract" \
  >"$W/extract.log" 2>&1); then
  EXTRACT_FLAGS=()
  for layer in dependencies spring-boot-loader snapshot-dependencies application; do
    d=$W/extract/$layer
    [[ -d $d && -n $(ls -A "$d") ]] && EXTRACT_FLAGS+=(--layer-dir "$d:/app")
  done
  hoist_ 7 extract17 build --from "$R/base:17" "${EXTRACT_FLAGS[@]}" --to "${IMAGES[7]}"
else
  tail -n 20 "$W/extract.log" >&2
  skip 7 "Spring's \`extract\` failed (log: $W/extract.log)"
fi
# The timed pairs: extracted and startup builds on the same base, both from scratch.
if [[ -z ${WHY[2]} || -z ${WHY[3]} ]]; then
  hoist_ 2 extracted17 build --from "$R/base:17" --jar "$JAR" --mode extracted --no-cache --to "${IMAGES[2]}"
fi
[[ -z ${WHY[3]} ]] &&
  hoist_ 3 cds17 build --from "$R/base:17" --jar "$JAR" --startup cds --no-cache --to "${IMAGES[3]}"
[[ -z ${WHY[4]} ]] && hoist_ 4 fatjar25 build --from "$R/base:25" --layer-dir "$W/fat:/app" --to "${IMAGES[4]}"
if [[ -z ${WHY[5]} ]]; then
  hoist_ - extracted25 build --from "$R/base:25" --jar "$JAR" --mode extracted --no-cache --to "$R/extracted:25" ||
    log "(the JDK 25 extracted build only gives the AOT cache's build time a reference)"
  hoist_ 5 aot25 build --from "$R/base:25" --jar "$JAR" --startup aot-cache --no-cache --to "${IMAGES[5]}"
fi
for row in 3 5; do
  meta=$W/meta/$([[ $row == 3 ]] && echo cds17 || echo aot25).json
  [[ -n ${WHY[row]} || -n $(json "$meta" 'r.get("startup") and 1') ]] ||
    skip "$row" "hoist's report has no \`startup\` object (did --startup train?)"
done

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

for ((i = 0; i < ROWS; i++)); do
  [[ -z ${WHY[i]} ]] || continue
  ctr_ images pull --snapshotter "$SNAPSHOTTER" --plain-http "${IMAGES[i]}" >"$C/pull.log" 2>&1 ||
    { tail -n 20 "$C/pull.log" >&2; skip "$i" "ctr images pull ${IMAGES[i]} failed"; }
done

# --- timing ---------------------------------------------------------------------------------
mkdir -p "$W/logs"
ROWSPEC=()
for i in "${ORDER[@]}"; do
  [[ -z ${WHY[i]} ]] && ROWSPEC+=("$i=${IMAGES[i]}")
done
((${#ROWSPEC[@]} > 0)) || { log "no image to time"; report; exit 0; }
python3 - "$W/specs.json" "$SOCK" "$NS" "$SNAPSHOTTER" "$ROUNDS" "$W/logs" "${ROWSPEC[@]}" <<'EOF'
import json, sys
out, sock, ns, snap, rounds, logs, *rows = sys.argv[1:]
java = "/opt/java/openjdk/bin/java"
run = {  # by row: how to start it, and the start-up that must work before it is timed
    0: {"args": [java, "-jar", "/app/app.jar"]},
    3: {"check": {"JAVA_TOOL_OPTIONS": "-Xshare:on"}},
    4: {"args": [java, "-jar", "/app/app.jar"]},
    5: {"check": {"JAVA_TOOL_OPTIONS": "-XX:AOTMode=on"}},
    7: {"cwd": "/app", "args": [java, "-cp", "/app", "org.springframework.boot.loader.launch.JarLauncher"]},
}
images = []
for row in rows:
    index, image = row.split("=", 1)
    images.append(dict(run.get(int(index), {}), id=index, image=image))
spec = {
    "ctr": ["ctr", "--address", sock, "--namespace", ns],
    "snapshotter": snap, "rounds": int(rounds), "logs": logs, "timeout": 180, "images": images,
}
json.dump(spec, open(out, "w"), indent=1)
EOF
log "timing: one warm-up round, then $ROUNDS rounds of ${#ROWSPEC[@]} images"
while IFS=$'\t' read -r id status median runs note; do
  [[ $id =~ ^[0-9]+$ ]] || continue
  ((id < ROWS)) || continue
  if [[ $status == ok ]]; then
    MEDIAN[id]=$median RUNS[id]=$runs NOTES[id]=$note
  else
    skip "$id" "$note"
  fi
done < <(PATH="$SYSTEM_PATH:$PATH" TMPDIR="$C/tmp" python3 "$ROOT/bench/startup_containerd.py" "$W/specs.json")
for ((i = 0; i < ROWS; i++)); do
  [[ -n ${MEDIAN[i]} || -n ${WHY[i]} ]] || skip "$i" "no result from bench/startup_containerd.py"
done
report
