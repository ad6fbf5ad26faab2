#!/usr/bin/env bash
# The benchmark behind `just bench` (targets: docs/speed.md; docs/architecture.md).
#
# Builds a Spring Boot jar with ~BENCH_MB MB of dependency jars (fixture generator,
# examples/bench_jar.rs) to `oci:` four ways -- cold (empty layout and layer cache), after a
# change to one class, unchanged, and from a warm cache into a new layout (every cached blob
# hashed on its way in: the cost of verification, beside `cp` + `sync` of the same blobs) --
# and runs references over the same bytes in the same run:
# `tar | pigz -6 | sha256sum`, `tar | sha256sum` and `umoci insert` of the same four layers.
# Each case runs BENCH_RUNS times (default 3); the table shows the median wall time, MB/s over
# the jar's uncompressed content, and the median peak RSS.
#
# A second section pushes to a local registry (Debian's docker-registry on a free 127.0.0.1
# port, storage under BENCH_WORK, stopped on exit): a base image (a JRE-sized copy of the local
# JDK 17, else ~100 MB of generated files) is pushed first, untimed; then hoist builds the jar on
# it and pushes -- cold (new repository, empty layer cache: base layers mounted, app layers
# uploaded), after a one-class change (same repository), unchanged -- each checked through
# --metadata-file (what was uploaded, mounted, present). References over the same four layer
# dirs: `umoci insert` x4 + `skopeo copy`, and buildah from/add/commit/push (vfs storage under
# BENCH_WORK). skopeo and buildah run in a private mount namespace with their own
# /var/lib/containers, so their blob-info cache is empty per run and nothing global is touched.
# Then the same cold push with --compression zstd, and the floor for each: the bytes hoist
# uploaded (app layers + config, fetched back from the registry) sent again by one `curl` PUT
# (a monolithic upload) to a new repository per run, each run right after hoist's, so that
# a machine growing busier or quieter weighs on both alike. Target: the median of the
# run-by-run ratios hoist cold / floor ≤ 1.1.
# Then the default cold push again to Amazon ECR as it answers: the ECR stand-in
# (tests/support/registry_standin.py, its tokens and repositories from the AWS emulator,
# tests/support/ecs_emulator.py) in front of the same registry, reached as
# 123456789012.dkr.ecr.ap-northeast-2.amazonaws.com through --resolve, the base copied into it
# first (untimed) and BLOB_MOUNTING on, so that the base's layers are mounted as in the plain
# cold push; beside it, its own floor: the same bytes in one `curl` upload through the stand-in.
#
# A third section (BENCH_STARTUP) builds a runnable app (examples/bench_app: the fixture app and
# its stand-in Boot launcher, with the real jars under BENCH_REAL_JARS as dependencies) and
# reports its layer bytes -- hoist default and --compression zstd beside `gzip -6` and
# `zstd -3` of the same layer tars -- and its start-up to the first line of output for
# `java -jar`, hoist's exploded image and hoist's packaged image (bench/startup.py).
#
# A fourth section (BENCH_CONTAINERD, bench/startup_containerd.sh) times the real Spring Boot app
# testdata/spring/boot35 (built with Maven) under a containerd of the bench's own, from `ctr run`
# to the first 200 from /actuator/health: on a jlink'ed JDK 17 base, the fat jar as one layer
# run with `java -jar`, hoist exploded, packaged, extracted, Spring's `extract --layers
# --launcher` run with JarLauncher, and hoist `--startup cds`; on a JDK 25 base (from the
# machine's Temurin 25) `java -jar` and hoist `--startup aot-cache`; plus the bytes and build
# time the archives add, and the CDS / AOT-cache targets. It uses the registry section's
# registry (or starts its own) and never fails the bench: when it cannot run (not root, no
# containerd or mvn or Temurin 25, containerd does not start) its rows say why.
#
# Environment:
#   BENCH_MB     dependency megabytes (10^6 bytes) in the jar (default 140)
#   BENCH_RUNS   runs per case, odd (default 3)
#   BENCH_EXTRA  1: also time hoist cold with --compression stored and gzip:6 (diagnostics)
#   BENCH_WORK   work directory (default bench-work/ at the repository root; wiped per case)
#   BENCH_PUSH   0: skip the registry section (default 1)
#   BENCH_BASE_DIR  directory pushed as the base image's layer (default: see above)
#   BENCH_STARTUP 0: skip the layer-bytes and start-up section (default 1)
#   BENCH_CONTAINERD 0: skip the start-up under containerd section (default 1)
#   BENCH_REAL_JARS directory whose *.jar files are the app's dependencies (default
#                /usr/share/java; docs/speed.md names the Debian packages of the
#                recorded run; under 10 MB of jars there, synthetic jars stand in)
#
# Needs: cargo, unzip, tar, pigz, sha256sum, umoci, GNU time (/usr/bin/time, Debian package
# `time`; without it peak RSS shows as n/a). The page cache stays warm: "cold" means no hoist
# state (layout, layer cache), not a cold disk. The registry section also needs
# docker-registry, skopeo, curl and jq (Debian packages of those names) and python3 with
# moto[server] (the ECR stand-in's AWS emulator; pip install 'moto[server]'); buildah is optional
# (`apt-get install buildah`; without it, or if it fails here, its row says why). The third
# section needs java, javac (JDK 17), python3 and gzip; zstd for its `zstd -3` row. The fourth
# needs root, containerd (`apt-get install containerd`, brings runc), mvn (Maven), jlink (JDK 17
# with jmods) and docker-registry when the registry section is skipped.
# Single quotes around `$` are deliberate here: Markdown backticks in row names, scripts for an
# inner bash, jq filters.
# shellcheck disable=SC2016
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MB=${BENCH_MB:-140}
RUNS=${BENCH_RUNS:-3}
EXTRA=${BENCH_EXTRA:-0}
WORK=${BENCH_WORK:-$ROOT/bench-work}
PUSH=${BENCH_PUSH:-1}
STARTUP=${BENCH_STARTUP:-1}
CONTAINERD=${BENCH_CONTAINERD:-1}
REAL_JARS_DIR=${BENCH_REAL_JARS:-/usr/share/java}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

[[ $MB =~ ^[0-9]+$ && $MB -gt 0 ]] || { echo "BENCH_MB must be a positive integer" >&2; exit 2; }
[[ $RUNS =~ ^[0-9]+$ && $RUNS -ge 1 && $RUNS -le 25 ]] || { echo "BENCH_RUNS must be 1..25" >&2; exit 2; }
[[ $PUSH == 0 || $PUSH == 1 ]] || { echo "BENCH_PUSH must be 0 or 1" >&2; exit 2; }
[[ $STARTUP == 0 || $STARTUP == 1 ]] || { echo "BENCH_STARTUP must be 0 or 1" >&2; exit 2; }
[[ $CONTAINERD == 0 || $CONTAINERD == 1 ]] || { echo "BENCH_CONTAINERD must be 0 or 1" >&2; exit 2; }
for tool in cargo unzip tar pigz sha256sum umoci; do
  command -v "$tool" >/dev/null || { echo "bench: missing tool: $tool" >&2; exit 2; }
done
if [[ $PUSH == 1 ]]; then
  python3 -c 'import moto.server, boto3' 2>/dev/null ||
    { echo "bench: missing python3 module moto[server] (the ECR stand-in's AWS; pip install 'moto[server]'; BENCH_PUSH=0 skips it)" >&2; exit 2; }
  for tool in docker-registry skopeo curl jq; do
    command -v "$tool" >/dev/null ||
      { echo "bench: missing tool: $tool (the registry section; BENCH_PUSH=0 skips it)" >&2; exit 2; }
  done
fi
if [[ $STARTUP == 1 ]]; then
  for tool in java javac python3 gzip; do
    command -v "$tool" >/dev/null ||
      { echo "bench: missing tool: $tool (the start-up and bytes section; BENCH_STARTUP=0 skips it)" >&2; exit 2; }
  done
fi
GNU_TIME=
if [[ -x /usr/bin/time ]] && /usr/bin/time -f %M true >/dev/null 2>&1; then
  GNU_TIME=/usr/bin/time
else
  echo "bench: GNU time not found (apt-get install time): peak RSS will show as n/a" >&2
fi

log() { printf 'bench: %s\n' "$*" >&2; }

# --- build ------------------------------------------------------------------------------------
log "cargo build --release (hoist, examples/bench_jar, examples/bench_app)"
(cd "$ROOT" && cargo build --release --quiet --bin hoist --example bench_jar --example bench_app)
HOIST=$TARGET/release/hoist
BENCH_JAR=$TARGET/release/examples/bench_jar
APP_BIN=$TARGET/release/examples/bench_app

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
export XDG_CACHE_HOME=$WORK/xdg-cache # so a hoist layer cache lives (and is wiped) here
TMP=$WORK/tmp
rm -rf "$TMP" && mkdir -p "$TMP"

# --- jars: variant 0 for cold/unchanged; 1..RUNS each change one class -----------------------
log "writing ${MB} MB benchmark jars (variants 0..$RUNS)"
JARS=()
for v in $(seq 0 "$RUNS"); do
  JARS[v]=$("$BENCH_JAR" "$WORK/jar-v$v" "$MB" "$v")
done
JAR=${JARS[0]}
JAR_BYTES=$(stat -c %s "$JAR")
# Input size for MB/s: the sum of the jar's uncompressed entry sizes (= the exploded tree's
# file bytes, what every case reads or writes).
IN_BYTES=$(unzip -Zt "$JAR" | awk '{for (i = 1; i < NF; i++) if ($(i + 1) ~ /^bytes/) { print $i; exit }}')
[[ $IN_BYTES =~ ^[0-9]+$ ]] || { echo "bench: cannot read the jar's uncompressed size" >&2; exit 1; }

# --- exploded tree, split like hoist's four Boot layers ---------------------------------------
log "exploding the jar into four layer dirs"
EXP=$WORK/exploded
rm -rf "$EXP" && mkdir -p "$EXP/all" "$EXP/layers"
unzip -q "$JAR" -d "$EXP/all"
L=$EXP/layers
mkdir -p "$L/1-dependencies/BOOT-INF/lib" "$L/2-spring-boot-loader" \
  "$L/3-snapshot-dependencies/BOOT-INF/lib" "$L/4-application"
shopt -s nullglob
for f in "$EXP/all/BOOT-INF/lib/"*.jar; do
  case $(basename "$f") in
    *-SNAPSHOT.jar) mv "$f" "$L/3-snapshot-dependencies/BOOT-INF/lib/" ;;
    *) mv "$f" "$L/1-dependencies/BOOT-INF/lib/" ;;
  esac
done
shopt -u nullglob
rmdir "$EXP/all/BOOT-INF/lib"
mv "$EXP/all/org" "$L/2-spring-boot-loader/"
mv "$EXP/all" "$L/4-application"
LAYER_DIRS=("$L/1-dependencies" "$L/2-spring-boot-loader" "$L/3-snapshot-dependencies" "$L/4-application")
TREE_BYTES=$(find "$L" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
if [[ $TREE_BYTES != "$IN_BYTES" ]]; then
  log "warning: exploded tree holds $TREE_BYTES bytes, the jar lists $IN_BYTES"
fi

# --- measuring --------------------------------------------------------------------------------
# timed CMD...: runs CMD once (stdout to $TMP/out, stderr to $TMP/err), appends
# "MICROSECONDS RSS_KIB" to $SAMPLES (default $TMP/samples). With GNU time the RSS is the peak of the largest process
# (for a pipeline run through bash -c: of its biggest stage).
timed() {
  local t0 t1 rss=na
  t0=$(date +%s%N)
  if [[ -n $GNU_TIME ]]; then
    "$GNU_TIME" -f %M -o "$TMP/rss" "$@" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; return 1; }
  else
    "$@" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; return 1; }
  fi
  t1=$(date +%s%N)
  [[ -n $GNU_TIME ]] && rss=$(tail -n 1 "$TMP/rss")
  echo "$(( (t1 - t0) / 1000 )) $rss" >>"${SAMPLES:-$TMP/samples}"
}

median() { sort -n | awk '{a[NR] = $1} END {if (NR) printf "%.3f", a[int((NR + 1) / 2)]; else print "n/a"}'; }
# verdict VALUE LIMIT le|lt: "met" or "MISSED" (n/a stays n/a)
verdict() {
  awk -v s="$1" -v t="$2" -v op="$3" \
    'BEGIN {if (s == "n/a") print "n/a"; else print ((op == "le" ? s + 0 <= t : s + 0 < t) ? "met" : "MISSED")}'
}
# ratio A B: A / B to three places (n/a if either is n/a or B is 0)
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.3f", a / b}'
}

ROWS=()
PUSH_ROWS=()
ROW_TABLE=ROWS # which table row() appends to
LAST_SECS=     # the median of the last row()
# row NAME [SAMPLES-FILE]: reduces the samples (default $TMP/samples) to a Markdown table
# row, then clears them.
row() {
  local name=$1 file=${2:-$TMP/samples} secs rss mbps
  secs=$(awk '{print $1}' "$file" | sort -n | awk '{a[NR] = $1} END {printf "%.3f", a[int((NR + 1) / 2)] / 1e6}')
  rss=$(awk '{print $2}' "$file" | { grep -v na || true; } | sort -n | awk '{a[NR] = $1} END {if (NR) printf "%.1f", a[int((NR + 1) / 2)] / 1024; else print "n/a"}')
  mbps=$(awk -v b="$IN_BYTES" -v s="$secs" 'BEGIN {printf "%.0f", (s > 0 ? b / 1e6 / s : 0)}')
  local all
  all=$(awk '{printf "%s%.3f", (NR > 1 ? " " : ""), $1 / 1e6}' "$file")
  log "$(printf '%-40s median %ss  (runs: %s)  %s MB/s  %s MiB' "$name" "$secs" "$all" "$mbps" "$rss")"
  if [[ $ROW_TABLE == PUSH_ROWS ]]; then
    PUSH_ROWS+=("| $name | $secs | $mbps | $rss |")
  else
    ROWS+=("| $name | $secs | $mbps | $rss |")
  fi
  LAST_SECS=$secs
  rm -f "$file"
}

# paired_ratio A B: the median over runs of A's time / B's time, run by run (samples files
# of the same length, taken turn about).
paired_ratio() {
  paste -d ' ' <(awk '{print $1}' "$1") <(awk '{print $1}' "$2") | awk '$2 > 0 {print $1 / $2}' | median
}

OUT=$WORK/oci
hoist_build() { # JAR [more hoist flags]
  local jar=$1
  shift
  timed "$HOIST" build --from scratch --jar "$jar" --to "oci:$OUT:bench" "$@"
}
fresh() { rm -rf "$OUT" "$XDG_CACHE_HOME/hoist"; }

log "hoist cold"
DIGEST=
for _ in $(seq "$RUNS"); do
  fresh
  hoist_build "$JAR"
  [[ -z $DIGEST || $(cat "$TMP/out") == "$DIGEST" ]] || { echo "bench: cold builds differ" >&2; exit 1; }
  DIGEST=$(cat "$TMP/out")
done
row "hoist cold (empty layout + cache)"

if [[ $EXTRA == 1 ]]; then
  for c in stored gzip:6; do
    log "hoist cold --compression $c"
    for _ in $(seq "$RUNS"); do fresh; hoist_build "$JAR" --compression "$c"; done
    row "hoist cold, --compression $c"
  done
fi

log "hoist after a one-class change"
fresh
"$HOIST" build --from scratch --jar "$JAR" --to "oci:$OUT:bench" >/dev/null # variant 0, untimed
SEEN=" $DIGEST "
for v in $(seq "$RUNS"); do # 0 -> 1 -> 2 -> ...: each run a real change
  hoist_build "${JARS[v]}"
  d=$(cat "$TMP/out")
  # Guard against timing a no-op: every variant must give a new image.
  [[ $SEEN != *" $d "* ]] || { echo "bench: variant $v gave an image seen before ($d)" >&2; exit 1; }
  SEEN="$SEEN$d "
done
row "hoist after a one-class change"

log "hoist unchanged"
for _ in $(seq "$RUNS"); do
  hoist_build "${JARS[RUNS]}"
  [[ $(cat "$TMP/out") == "$d" ]] || { echo "bench: an unchanged rebuild gave another image" >&2; exit 1; }
done
row "hoist unchanged (same jar again)"

# The cost of verification: a warm cache filling a new layout hashes every cached blob as it
# copies it; the reference copies the same blobs (and syncs them) without hashing.
log "hoist warm cache -> new layout"
for _ in $(seq "$RUNS"); do
  rm -rf "$OUT"
  hoist_build "${JARS[RUNS]}"
  [[ $(cat "$TMP/out") == "$d" ]] || { echo "bench: a warm-cache build gave another image" >&2; exit 1; }
done
row "hoist warm cache → new layout (cached blobs hashed)"

log "cp + sync of the cached blobs"
CP=$WORK/cp
for _ in $(seq "$RUNS"); do
  rm -rf "$CP" && mkdir -p "$CP"
  timed bash -c 'cp "$1"/* "$2"/ && sync "$2"/*' _ "$XDG_CACHE_HOME/hoist/blobs/sha256" "$CP"
done
rm -rf "$CP"
row 'ref: `cp` + `sync` of the cached blobs (no hashing)'

log "tar | pigz -6 | sha256sum"
for _ in $(seq "$RUNS"); do
  timed bash -c 'set -o pipefail; tar -C "$1" -cf - . | pigz -6 | sha256sum' _ "$L"
done
row 'ref: `tar \| pigz -6 \| sha256sum`'

log "tar | sha256sum"
for _ in $(seq "$RUNS"); do timed bash -c 'set -o pipefail; tar -C "$1" -cf - . | sha256sum' _ "$L"; done
row 'ref: `tar \| sha256sum`'

log "umoci insert x4"
UL=$WORK/umoci
for _ in $(seq "$RUNS"); do
  rm -rf "$UL"
  umoci init --layout "$UL" >/dev/null
  umoci new --image "$UL:bench" >/dev/null
  timed bash -c 'set -e; image=$1; shift; for d; do umoci insert --image "$image" "$d" /app; done' \
    _ "$UL:bench" "${LAYER_DIRS[@]}"
done
row 'ref: `umoci insert` ×4 (peer)'

# --- layer bytes and start-up: a runnable app over real jars ----------------------------------
# The fixture app and launcher (testdata/java, compiled by examples/bench_app) with the real jars
# of BENCH_REAL_JARS as its dependencies. Bytes: the app's layers as hoist writes them by default
# and with --compression zstd, beside `gzip -6` and `zstd -3` of the very same layer tars (hoist's
# default layers decompressed). Start-up: `java -jar`, hoist's exploded image and hoist's packaged
# image, each on this machine's java, timed to the app's first line of output (bench/startup.py).
BYTES_ROWS=()
START_ROWS=()
APP_NOTE=
BYTES_VERDICTS=
START_VERDICTS=
if [[ $STARTUP == 1 ]]; then
  APP_DIR=$WORK/app
  rm -rf "$APP_DIR" && mkdir -p "$APP_DIR"
  # Real jars, one per file name (the first in sorted order), symlinks skipped.
  mapfile -t REAL_JARS < <(find "$REAL_JARS_DIR" -type f -name '*.jar' 2>/dev/null | sort |
    awk -F/ '!seen[$NF]++')
  REAL_BYTES=0
  ((${#REAL_JARS[@]} == 0)) ||
    REAL_BYTES=$(stat -c %s "${REAL_JARS[@]}" | awk '{s += $1} END {print s + 0}')
  if ((REAL_BYTES >= 10000000)); then
    APP_JAR=$("$APP_BIN" "$APP_DIR/jar" 0 "${REAL_JARS[@]}")
    APP_NOTE="${#REAL_JARS[@]} real jars from \`$REAL_JARS_DIR\` ($REAL_BYTES bytes)"
  else
    APP_JAR=$("$APP_BIN" "$APP_DIR/jar" "$MB")
    APP_NOTE="${MB} MB of synthetic random jars: fewer than 10 MB of jars under \`$REAL_JARS_DIR\`, so the compressors cannot differ (see BENCH_REAL_JARS)"
  fi
  log "app: $APP_NOTE"

  # Bytes. Layers from scratch, so every layer is an app layer.
  "$HOIST" build --from scratch --jar "$APP_JAR" --to "oci:$APP_DIR/default:app" \
    --metadata-file "$APP_DIR/default.json" >/dev/null
  "$HOIST" build --from scratch --jar "$APP_JAR" --compression zstd --to "oci:$APP_DIR/zstd:app" \
    --metadata-file "$APP_DIR/zstd.json" >/dev/null
  layer_bytes() { jq '[.layers[].size] | add' "$1"; }
  # ref_bytes CMD: the bytes CMD makes of each default layer's tar, summed.
  ref_bytes() {
    local total=0 digest n
    for digest in $(jq -r '.layers[].digest' "$APP_DIR/default.json"); do
      n=$(gzip -dc "$APP_DIR/default/blobs/sha256/${digest#sha256:}" | $1 | wc -c)
      total=$((total + n))
    done
    echo "$total"
  }
  B_DEFAULT=$(layer_bytes "$APP_DIR/default.json")
  B_ZSTD=$(layer_bytes "$APP_DIR/zstd.json")
  B_TAR=$(ref_bytes cat)
  log "app: gzip -6 of the layer tars (one core, a few seconds)"
  B_GZIP6=$(ref_bytes "gzip -6")
  B_ZSTD3=n/a
  command -v zstd >/dev/null && B_ZSTD3=$(ref_bytes "zstd -3 -q -c")
  bytes_row() { BYTES_ROWS+=("| $1 | $2 | $(ratio "$2" "$B_GZIP6") | $(ratio "$2" "$B_DEFAULT") |"); }
  bytes_row "layer tars, uncompressed" "$B_TAR"
  bytes_row "hoist default (stored gzip for jars, deflate 6 for classes)" "$B_DEFAULT"
  bytes_row "hoist \`--compression zstd\` (level 3)" "$B_ZSTD"
  bytes_row 'ref: `gzip -6` of the same tars' "$B_GZIP6"
  bytes_row 'ref: `zstd -3` of the same tars' "$B_ZSTD3"
  BYTES_VERDICTS="Targets: default ≤ 1.1× \`gzip -6\` ($(verdict "$(ratio "$B_DEFAULT" "$B_GZIP6")" 1.1 le)), zstd ≤ 0.93× the default ($(verdict "$(ratio "$B_ZSTD" "$B_DEFAULT")" 0.93 le))."

  # Start-up.
  START_RUNS=$((2 * RUNS + 1))
  "$HOIST" build --from scratch --jar "$APP_JAR" --mode packaged --to "oci:$APP_DIR/packaged:app" >/dev/null
  log "start-up: java -jar, exploded image, packaged image ($START_RUNS rounds)"
  mapfile -t STARTS < <(python3 "$ROOT/bench/startup.py" "$START_RUNS" jar "$APP_JAR" \
    image "$APP_DIR/default" app "$APP_DIR/root-exploded" \
    image "$APP_DIR/packaged" app "$APP_DIR/root-packaged")
  ((${#STARTS[@]} == 3)) || { echo "bench: bench/startup.py did not time all three starts" >&2; exit 1; }
  start_row() { START_ROWS+=("| $1 | ${2%% *} | ${2#* } |"); }
  start_row '`java -jar app.jar`' "${STARTS[0]}"
  start_row "hoist image, exploded (the default for Boot jars)" "${STARTS[1]}"
  start_row "hoist image, \`--mode packaged\`" "${STARTS[2]}"
  S_JAR=${STARTS[0]%% *}
  S_EXPLODED=${STARTS[1]%% *}
  S_PACKAGED=${STARTS[2]%% *}
  START_VERDICTS="Target: as fast as \`java -jar\` (within 1.1×, the spread of these runs): exploded $(ratio "$S_EXPLODED" "$S_JAR")× ($(verdict "$(ratio "$S_EXPLODED" "$S_JAR")" 1.1 le)), packaged $(ratio "$S_PACKAGED" "$S_JAR")× ($(verdict "$(ratio "$S_PACKAGED" "$S_JAR")" 1.1 le))."
  rm -rf "$APP_DIR"
fi

# --- push to a local registry ---------------------------------------------------------------
# docker-registry on a free 127.0.0.1 port with its storage under $WORK, stopped on exit.
REG=$WORK/registry         # config, log and storage
BH=$WORK/buildah           # buildah's --root, --runroot and TMPDIR
ISO=$WORK/containers-state # stands in for /var/lib/containers (skopeo's and buildah's blob-info cache)
UPL=$WORK/umoci-push       # the umoci layout that skopeo copies
BASE_COPY=$WORK/base-rootfs
REG_PID=
PORT=
EMU_PID=
ECR_PID=
ECR_HOST=123456789012.dkr.ecr.ap-northeast-2.amazonaws.com
stop_pid() { # PID: stops it if it is running
  [[ -n $1 ]] || return 0
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  stop_pid "$ECR_PID"
  stop_pid "$EMU_PID"
  stop_pid "$REG_PID"
  ECR_PID='' EMU_PID='' REG_PID=''
  rm -rf "$REG" "$BH" "$ISO" "$UPL" "$BASE_COPY"
}

# start_ecr: the AWS emulator (moto) on a free port and the ECR stand-in in front of the
# registry; sets ECR_STANDIN (its address), ECR_FLAGS (hoist's flags to reach it as $ECR_HOST)
# and exports the emulator's AWS environment.
start_ecr() {
  local emu_port ready=$REG/ecr-standin.json
  emu_port=$(free_port)
  python3 "$ROOT/tests/support/ecs_emulator.py" --port "$emu_port" </dev/null >>"$REG/emulator.log" 2>&1 &
  EMU_PID=$!
  for _ in $(seq 300); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$emu_port/" && break
    kill -0 "$EMU_PID" 2>/dev/null || break
    sleep 0.1
  done
  curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$emu_port/" ||
    { tail -n 20 "$REG/emulator.log" >&2; echo "bench: the AWS emulator did not start" >&2; exit 1; }
  export AWS_ENDPOINT_URL=http://127.0.0.1:$emu_port AWS_REGION=ap-northeast-2 AWS_DEFAULT_REGION=ap-northeast-2 \
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true \
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
  python3 "$ROOT/tests/support/registry_standin.py" --model ecr --backend "127.0.0.1:$PORT" \
    --aws-endpoint "$AWS_ENDPOINT_URL" --region ap-northeast-2 --account 123456789012 \
    --ready-file "$ready" </dev/null >>"$REG/ecr-standin.log" 2>&1 &
  ECR_PID=$!
  for _ in $(seq 150); do [[ -f $ready ]] && break; sleep 0.1; done
  [[ -f $ready ]] || { tail -n 20 "$REG/ecr-standin.log" >&2; echo "bench: the ECR stand-in did not start" >&2; exit 1; }
  ECR_STANDIN=$(jq -r .registry "$ready")
  ECR_FLAGS=(--insecure-registry "$ECR_HOST" --resolve "$ECR_HOST=$ECR_STANDIN")
}

# ecr_repositories NAME...: creates ECR repositories in the emulator (untimed).
ecr_repositories() {
  python3 -c 'import boto3, sys
client = boto3.client("ecr")
for name in sys.argv[1:]:
    client.create_repository(repositoryName=name)' "$@"
}

# ecr_password: the registry password of a fresh GetAuthorizationToken (user AWS).
ecr_password() {
  python3 -c 'import base64, boto3
data = boto3.client("ecr").get_authorization_token()["authorizationData"][0]
print(base64.b64decode(data["authorizationToken"]).decode().split(":", 1)[1])'
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
    2>/dev/null || echo $((20000 + RANDOM % 30000))
}

start_registry() { # sets PORT and REG_PID
  local port
  rm -rf "$REG" && mkdir -p "$REG/storage"
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    printf '%s\n' 'version: 0.1' 'log:' '  level: error' '  accesslog:' '    disabled: true' \
      'storage:' '  filesystem:' "    rootdirectory: \"$REG/storage\"" 'http:' \
      "  addr: 127.0.0.1:$port" >"$REG/config.yml"
    docker-registry serve "$REG/config.yml" >>"$REG/registry.log" 2>&1 &
    REG_PID=$!
    for _ in $(seq 100); do # up to ~10 s
      kill -0 "$REG_PID" 2>/dev/null || break
      if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/v2/" 2>/dev/null; then
        kill -0 "$REG_PID" 2>/dev/null || break # someone else answered on that port
        PORT=$port
        return 0
      fi
      sleep 0.1
    done
    kill "$REG_PID" 2>/dev/null || true
    wait "$REG_PID" 2>/dev/null || true
    REG_PID=
  done
  echo "bench: docker-registry did not start; its log:" >&2
  tail -n 20 "$REG/registry.log" >&2 || true
  return 1
}

# ISO_CMD: a command prefix that runs skopeo/buildah with a private, empty /var/lib/containers
# (as root: a mount namespace with $ISO/state bound there; otherwise XDG_DATA_HOME moved), so
# containers/image's blob-info cache neither carries blob locations from one run to the next
# (skopeo would mount the previous run's blobs instead of uploading) nor touches the host's.
# The namespace also gets a private /run (buildah creates /run/containers/networks).
# reset_iso empties it; call it before each run.
ISO_NOTE=
if [[ $EUID -eq 0 ]] && unshare -m true 2>/dev/null; then
  # shellcheck disable=SC2016 # expanded by the inner bash
  ISO_CMD=(unshare -m bash -c '
    set -e
    if [[ -d /var/lib/containers ]]; then
      mount --bind "$1" /var/lib/containers
    else # nothing to bind over: a private /var/lib (only in this namespace)
      mount -t tmpfs -o size=64m tmpfs /var/lib && mkdir /var/lib/containers
    fi
    mount -t tmpfs -o size=64m,mode=755 tmpfs /run
    shift
    exec "$@"' _ "$ISO/state")
elif [[ $EUID -ne 0 ]]; then
  ISO_CMD=(env "XDG_DATA_HOME=$ISO/state")
else
  ISO_CMD=(env)
  ISO_NOTE="skopeo and buildah used the host's blob-info cache (unshare -m failed): later runs may mount blobs of earlier ones."
fi
reset_iso() { rm -rf "$ISO" && mkdir -p "$ISO/state"; }

META=$TMP/meta.json
# check WHAT JQ-FILTER: fails the bench unless hoist's --metadata-file satisfies the filter.
check() {
  jq -e "$2" "$META" >/dev/null || {
    echo "bench: FAILED CHECK: $1; hoist's metadata said:"
    jq -c '{push, layers: [.layers[] | {name, source, cached, outcome, size}]}' "$META"
    exit 1
  } >&2
}
# Base layers mounted, every app layer and the config uploaded (and nothing else).
CHECK_COLD='([.layers[] | select(.source == "base")] | length) as $b
  | [.layers[] | select(.source == "app")] as $app
  | $b >= 1 and ($app | length) >= 1
    and .push.uploaded == ($app | length) + 1 and .push.mounted == $b and .push.present == 0
    and .push.config == "uploaded"
    and all(.layers[]; if .source == "base" then .outcome == "mounted" else .outcome == "uploaded" end)
    and .push.bytesUploaded > ($app | map(.size) | add)'
# Exactly two blobs uploaded: the application layer and the config; the rest already there.
CHECK_CHANGE='[.layers[] | select(.name == "application")] as $a
  | ($a | length) == 1
    and .push.uploaded == 2 and .push.mounted == 0 and .push.config == "uploaded"
    and ([.layers[] | select(.outcome != "present") | .name] == ["application"])
    and $a[0].outcome == "uploaded"
    and .push.bytesUploaded > $a[0].size and .push.bytesUploaded < $a[0].size + 1048576'
# Nothing uploaded or mounted.
CHECK_NOOP='.push.uploaded == 0 and .push.mounted == 0 and .push.bytesUploaded == 0
  and .push.config == "present" and all(.layers[]; .outcome == "present")'


if [[ $PUSH == 1 ]]; then
  ROW_TABLE=PUSH_ROWS
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  log "registry: starting docker-registry on 127.0.0.1"
  start_registry
  REGISTRY=127.0.0.1:$PORT
  log "registry: $REGISTRY (storage $REG/storage)"

  # --- the base image, untimed ---
  if [[ -n ${BENCH_BASE_DIR:-} ]]; then
    BASE_DIR=$BENCH_BASE_DIR
    BASE_DESC="\`$BASE_DIR\`"
  else
    BASE_DIR=$BASE_COPY
    rm -rf "$BASE_DIR"
    JDK=
    for j in /usr/lib/jvm/java-17-openjdk-*; do [[ -d $j && ! -L $j ]] && JDK=$j && break; done
    if [[ -n $JDK ]]; then
      # A JRE-sized tree: the JDK without jmods, headers, man pages and the src.zip link.
      cp -a "$JDK" "$BASE_DIR"
      rm -rf "$BASE_DIR/jmods" "$BASE_DIR/include" "$BASE_DIR/man" "$BASE_DIR/demo" "$BASE_DIR/lib/src.zip"
      BASE_DESC="a copy of \`$JDK\` without jmods/include/man"
    else
      # ~100 MB: 60 MB incompressible (like native libraries), 40 MB text.
      mkdir -p "$BASE_DIR/lib" "$BASE_DIR/conf"
      for i in $(seq 40); do head -c 1500000 /dev/urandom >"$BASE_DIR/lib/lib$i.so"; done
      for i in $(seq 20); do
        yes "jdk.bench.property.$i = some text that compresses like a JDK's resources" |
          head -c 2000000 >"$BASE_DIR/conf/file$i.properties" || true
      done
      BASE_DESC="~100 MB of generated files (no JDK 17 found under /usr/lib/jvm)"
    fi
  fi
  BASE_FILES=$(find "$BASE_DIR" -type f | wc -l)
  BASE_BYTES=$(find "$BASE_DIR" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  BASE_REF=$REGISTRY/base/jdk:17
  log "registry: pushing the base $BASE_REF ($BASE_BYTES bytes in $BASE_FILES files), untimed"
  t0=$(date +%s%N)
  "$HOIST" build --from scratch --layer-dir "$BASE_DIR:/opt/java/openjdk" --no-cache \
    --env JAVA_HOME=/opt/java/openjdk --to "$BASE_REF" --metadata-file "$META" >/dev/null 2>"$TMP/err" ||
    { cat "$TMP/err" >&2; exit 1; }
  BASE_SECS=$(awk -v n="$(( $(date +%s%N) - t0 ))" 'BEGIN {printf "%.1f", n / 1e9}')
  check "the base push uploads its layer and config" '.push.uploaded == 2 and .push.mounted == 0'
  BASE_COMPRESSED=$(jq '[.layers[].size] | add' "$META")
  BASE_PUSH_SECS=$(jq '.push.seconds * 1000 | round / 1000' "$META")
  BASE_DESC="$BASE_DESC: $BASE_BYTES bytes in $BASE_FILES files, one layer of $BASE_COMPRESSED bytes"

  hoist_push() { # JAR REPOSITORY
    timed "$HOIST" build --from "$BASE_REF" --jar "$1" --to "$REGISTRY/$2:1" --metadata-file "$META"
  }

  # --- the floor: one raw upload of the same bytes, taking turns with hoist's cold pushes ---
  # floor_prepare METADATA REPOSITORY NAME: the app layers and the config that hoist uploaded
  # to REPOSITORY:1, fetched back from the registry into $WORK/floor-NAME.bin.
  floor_prepare() {
    local digest file=$WORK/floor-$3.bin
    : >"$file"
    for digest in $(jq -r '[.layers[] | select(.source == "app") | .digest] + [.configDigest] | .[]' "$1"); do
      curl -fsS --max-time 120 "http://$REGISTRY/v2/$2/blobs/$digest" >>"$file"
    done
    [[ $(stat -c %s "$file") == "$(jq '.push.bytesUploaded' "$1")" ]] ||
      log "warning: the floor's $(stat -c %s "$file") bytes differ from hoist's bytesUploaded"
  }
  # floor_once NAME RUN [REGISTRY [CREDENTIALS]]: $WORK/floor-NAME.bin sent as one
  # monolithic upload (POST for a session, then one PUT of the whole body with its digest) to a
  # new repository floor-NAME-RUN of REGISTRY (default: the plain one), as user:password
  # CREDENTIALS if given, timed into $TMP/floor-NAME, then checked with a HEAD. The ECR
  # stand-in's Location is absolute and names $ECR_HOST: curl is sent there with --resolve.
  floor_once() {
    local file=$WORK/floor-$1.bin repo=floor-$1-$2 registry=${3:-$REGISTRY} creds=${4:-} digest
    digest=sha256:$(sha256sum "$file" | awk '{print $1}')
    local auth=() resolve=()
    [[ -z $creds ]] || auth=(-u "$creds")
    resolve=(--connect-to "$ECR_HOST:80:$registry")
    SAMPLES=$TMP/floor-$1 timed bash -c 'set -euo pipefail
      registry=$1 repo=$2 file=$3 digest=$4; shift 4
      location=$(curl -fsS --max-time 30 "$@" -X POST -o /dev/null -D - "http://$registry/v2/$repo/blobs/uploads/" |
        tr -d "\r" | awk "tolower(\$1) == \"location:\" {print \$2}")
      [[ $location == http* ]] || location=http://$registry$location
      if [[ $location == *"?"* ]]; then sep="&"; else sep="?"; fi
      curl -fsS --max-time 300 "$@" -X PUT -H "Expect:" -H "Content-Type: application/octet-stream" \
        -T "$file" -o /dev/null "$location${sep}digest=$digest"' \
      _ "$registry" "$repo" "$file" "$digest" "${auth[@]}" "${resolve[@]}"
    curl -fsS --max-time 30 "${auth[@]}" -I -o /dev/null "http://$registry/v2/$repo/blobs/$digest" ||
      { echo "bench: the floor upload to $repo left no blob $digest" >&2; exit 1; }
  }
  # floor_finish NAME: sets FLOOR_RATIO (hoist's runs over the floor's, run by run, from
  # $TMP/samples before row() clears it -- call before hoist's row) and FLOOR_BYTES; removes
  # the floor's file.
  floor_finish() {
    FLOOR_RATIO=$(paired_ratio "$TMP/samples" "$TMP/floor-$1")
    FLOOR_BYTES=$(stat -c %s "$WORK/floor-$1.bin")
    rm -f "$WORK/floor-$1.bin"
  }

  # --- 1. cold: a new repository and an empty layer cache per run ---
  log "hoist push cold"
  PUSH_DIGEST=
  : >"$TMP/push-secs"
  for i in $(seq "$RUNS"); do
    rm -rf "$XDG_CACHE_HOME/hoist"
    hoist_push "$JAR" "app-cold-$i"
    check "cold push $i: base layers mounted, app layers and config uploaded" "$CHECK_COLD"
    d=$(cat "$TMP/out")
    [[ -z $PUSH_DIGEST || $d == "$PUSH_DIGEST" ]] || { echo "bench: cold pushes differ" >&2; exit 1; }
    PUSH_DIGEST=$d
    jq '.push.seconds' "$META" >>"$TMP/push-secs"
    ((i > 1)) || floor_prepare "$META" "app-cold-1" default
    floor_once default "$i"
  done
  COLD_UPLOADED=$(jq '.push.uploaded' "$META")
  COLD_MOUNTED=$(jq '.push.mounted' "$META")
  COLD_BYTES=$(jq '.push.bytesUploaded' "$META")
  COLD_PUSH_PART=$(median <"$TMP/push-secs")
  floor_finish default
  FLOOR_DEFAULT_RATIO=$FLOOR_RATIO
  row "hoist push cold"
  COLD_SECS=$LAST_SECS
  row "floor: one \`curl\` upload of the cold push's bytes ($FLOOR_BYTES), taking turns with it" "$TMP/floor-default"
  APP_REPO=app-cold-$RUNS # holds the variant-0 image; the layer cache holds its layers
  reset_iso
  READBACK=$("${ISO_CMD[@]}" skopeo inspect --tls-verify=false --format '{{.Digest}}' \
    "docker://$REGISTRY/$APP_REPO:1")
  [[ $READBACK == "$PUSH_DIGEST" ]] ||
    { echo "bench: skopeo reads $READBACK from $APP_REPO:1, hoist pushed $PUSH_DIGEST" >&2; exit 1; }

  # --- 2. a one-class change, pushed to the same repository ---
  log "hoist push after a one-class change"
  SEEN=" $PUSH_DIGEST "
  for v in $(seq "$RUNS"); do
    hoist_push "${JARS[v]}" "$APP_REPO"
    check "class change $v: exactly the application layer and the config uploaded" "$CHECK_CHANGE"
    d=$(cat "$TMP/out")
    [[ $SEEN != *" $d "* ]] || { echo "bench: push of variant $v gave an image seen before ($d)" >&2; exit 1; }
    SEEN="$SEEN$d "
  done
  row "hoist push after a class change"
  CHANGE_SECS=$LAST_SECS

  # --- 3. no-op: the same jar to the same repository again ---
  log "hoist push no-op"
  for _ in $(seq "$RUNS"); do
    hoist_push "${JARS[RUNS]}" "$APP_REPO"
    check "no-op push: nothing uploaded or mounted" "$CHECK_NOOP"
    [[ $(cat "$TMP/out") == "$d" ]] || { echo "bench: a no-op push gave another image" >&2; exit 1; }
  done
  row "hoist push no-op"
  NOOP_SECS=$LAST_SECS

  # --- 4. cold with --compression zstd: new repositories, empty layer cache ---
  log "hoist push cold, --compression zstd"
  ZSTD_DIGEST=
  for i in $(seq "$RUNS"); do
    rm -rf "$XDG_CACHE_HOME/hoist"
    timed "$HOIST" build --from "$BASE_REF" --jar "$JAR" --compression zstd \
      --to "$REGISTRY/app-zstd-$i:1" --metadata-file "$META"
    check "zstd cold push $i: base layers mounted, app layers and config uploaded" "$CHECK_COLD"
    check "zstd cold push $i: app layers are tar+zstd" \
      'all(.layers[] | select(.source == "app"); .mediaType | endswith("tar+zstd"))'
    d=$(cat "$TMP/out")
    [[ -z $ZSTD_DIGEST || $d == "$ZSTD_DIGEST" ]] || { echo "bench: zstd cold pushes differ" >&2; exit 1; }
    ZSTD_DIGEST=$d
    ((i > 1)) || floor_prepare "$META" "app-zstd-1" zstd
    floor_once zstd "$i"
  done
  ZSTD_BYTES=$(jq '.push.bytesUploaded' "$META")
  ZSTD_BYTES_RATIO=$(ratio "$ZSTD_BYTES" "$COLD_BYTES")
  floor_finish zstd
  FLOOR_ZSTD_RATIO=$FLOOR_RATIO
  row "hoist push cold, \`--compression zstd\`"
  row "floor: one \`curl\` upload of the zstd push's bytes ($FLOOR_BYTES), taking turns with it" "$TMP/floor-zstd"
  reset_iso
  READBACK=$("${ISO_CMD[@]}" skopeo inspect --tls-verify=false --format '{{.Digest}}' \
    "docker://$REGISTRY/app-zstd-$RUNS:1")
  [[ $READBACK == "$ZSTD_DIGEST" ]] ||
    { echo "bench: skopeo reads $READBACK from app-zstd-$RUNS:1, hoist pushed $ZSTD_DIGEST" >&2; exit 1; }

  # --- 5. cold through the ECR stand-in: Amazon ECR as it answers ---
  log "hoist push cold through the ECR stand-in"
  start_ecr
  mapfile -t ECR_REPOS < <(for i in $(seq "$RUNS"); do echo "app-ecr-$i"; echo "floor-ecr-$i"; done)
  ecr_repositories base/jdk "${ECR_REPOS[@]}"
  # ECR links a blob across repositories only where the account enabled BLOB_MOUNTING (and a
  # manifest of the source references it): on here, so the base's layers are mounted as in
  # the plain registry's cold push and the bytes sent are the same.
  curl -fsS -o /dev/null --max-time 10 -X POST -d '{"blob_mounting": true}' "http://$ECR_STANDIN/_standin/settings"
  "$HOIST" copy -q "${ECR_FLAGS[@]}" "$BASE_REF" "$ECR_HOST/base/jdk:17" >/dev/null 2>"$TMP/err" ||
    { cat "$TMP/err" >&2; exit 1; }
  for i in $(seq "$RUNS"); do
    rm -rf "$XDG_CACHE_HOME/hoist"
    timed "$HOIST" build --from "$ECR_HOST/base/jdk:17" --jar "$JAR" "${ECR_FLAGS[@]}" \
      --to "$ECR_HOST/app-ecr-$i:1" --metadata-file "$META"
    check "ECR cold push $i: base layers mounted, app layers and config uploaded" "$CHECK_COLD"
    [[ $(cat "$TMP/out") == "$PUSH_DIGEST" ]] ||
      { echo "bench: the ECR push gave $(cat "$TMP/out"), the plain registry's $PUSH_DIGEST" >&2; exit 1; }
    ((i > 1)) || floor_prepare "$META" "app-cold-1" ecr
    floor_once ecr "$i" "$ECR_STANDIN" "AWS:$(ecr_password)"
  done
  ECR_PUSH_PART=$(jq '.push.seconds' "$META")
  floor_finish ecr
  FLOOR_ECR_RATIO=$FLOOR_RATIO
  row "hoist push cold through the ECR stand-in"
  ECR_SECS=$LAST_SECS
  row "floor: one \`curl\` upload of the same bytes ($FLOOR_BYTES) through the ECR stand-in" "$TMP/floor-ecr"
  READBACK=$(skopeo inspect --tls-verify=false --creds "AWS:$(ecr_password)" --format '{{.Digest}}' \
    "docker://$ECR_STANDIN/app-ecr-$RUNS:1")
  [[ $READBACK == "$PUSH_DIGEST" ]] ||
    { echo "bench: skopeo reads $READBACK through the ECR stand-in, hoist pushed $PUSH_DIGEST" >&2; exit 1; }
  stop_pid "$ECR_PID"
  stop_pid "$EMU_PID"
  ECR_PID='' EMU_PID=''

  # --- references: the same four layer dirs, no base ---
  log "umoci insert x4 + skopeo copy"
  SKOPEO_NOTE=
  for i in $(seq "$RUNS"); do
    rm -rf "$UPL"
    umoci init --layout "$UPL" >/dev/null
    umoci new --image "$UPL:bench" >/dev/null
    reset_iso
    # shellcheck disable=SC2016 # expanded by the inner bash
    timed "${ISO_CMD[@]}" bash -c 'set -e; image=$1 dest=$2; shift 2
      for d; do umoci insert --image "$image" "$d" /app; done
      skopeo copy --dest-tls-verify=false "oci:$image" "$dest"' \
      _ "$UPL:bench" "docker://$REGISTRY/umoci-$i:1" "${LAYER_DIRS[@]}"
    if grep -q 'skipped' "$TMP/out"; then SKOPEO_NOTE=" (skopeo reused blobs: not cold)"; fi
  done
  rm -rf "$UPL"
  row "ref: umoci insert ×4 + skopeo copy$SKOPEO_NOTE"

  log "buildah from/add/commit/push"
  BH_NOTE=
  if ! command -v buildah >/dev/null; then
    BH_NOTE="not run: buildah is not installed (apt-get install buildah)"
  else
    for i in $(seq "$RUNS"); do
      rm -rf "$BH" && mkdir -p "$BH/tmp"
      reset_iso
      # shellcheck disable=SC2016 # expanded by the inner bash
      if ! timed env TMPDIR="$BH/tmp" BUILDAH_ISOLATION=chroot "${ISO_CMD[@]}" bash -c 'set -e
          dir=$1 dest=$2; shift 2
          bh() { buildah --root "$dir/root" --runroot "$dir/run" --storage-driver vfs "$@"; }
          c=$(bh from --quiet scratch)
          bh add --quiet "$c" "$@" /app
          bh commit --quiet "$c" bench-buildah >/dev/null
          bh push --quiet --tls-verify=false bench-buildah "$dest"' \
        _ "$BH" "docker://$REGISTRY/buildah-$i:1" "${LAYER_DIRS[@]}"; then
        BH_NOTE="failed here: $(grep -v '^[[:space:]]*$' "$TMP/err" | tail -n 1 | tr '|' '/' | cut -c 1-200)"
        rm -f "$TMP/samples"
        break
      fi
    done
    rm -rf "$BH"
  fi
  if [[ -n $BH_NOTE ]]; then
    log "buildah: $BH_NOTE"
    PUSH_ROWS+=("| ref: buildah from/add/commit/push — $BH_NOTE | n/a | n/a | n/a |")
  else
    row "ref: buildah from/add/commit/push"
  fi
fi

# --- start-up under containerd: the real Spring Boot app ----------------------------------------
# bench/startup_containerd.sh prints its Markdown section (rows saying "not run: WHY" when it
# cannot run); it uses the registry above when there is one, else starts its own.
CTRD_SECTION=
if [[ $CONTAINERD == 1 ]]; then
  log "start-up under containerd (bench/startup_containerd.sh)"
  CTRD_WORK=$WORK/containerd
  CTRD_SECTION=$(HOIST=$HOIST BENCH_REGISTRY=${REGISTRY:-} CTRD_ROUNDS=$((2 * RUNS - 1)) \
    "$ROOT/bench/startup_containerd.sh" "$CTRD_WORK") ||
    CTRD_SECTION=$(printf '%s\n\n%s' '### start-up under containerd' \
      "not run: bench/startup_containerd.sh failed (exit $?)")
  # Its daemon's mounts are gone once it has ended; keep the tree if any is left.
  grep -qF " $CTRD_WORK/" /proc/self/mountinfo || rm -rf "$CTRD_WORK"
fi

# --- report -----------------------------------------------------------------------------------
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
  COMMIT="$COMMIT (dirty)"
fi
{
  echo "## hoist bench"
  echo
  echo "hoist $COMMIT · $(nproc) cores · $(date -u +%Y-%m-%dT%H:%M:%SZ) · $(uname -m)"
  echo
  echo "Boot jar with ${MB} MB of dependency jars: $JAR_BYTES bytes on disk, $IN_BYTES bytes" \
    "uncompressed ($(find "$L" -type f | wc -l) files). MB/s = uncompressed bytes / median time" \
    "(10^6 B/MB). Median of $RUNS runs; peak RSS = median of the runs' max RSS (for" \
    "pipelines: the biggest process). Page cache warm. Cold image digest: \`$DIGEST\`."
  echo
  echo "| case | median s | MB/s | peak RSS MiB |"
  echo "|---|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "The change and unchanged rows reuse the layer cache of the run before them; their MB/s"
  echo "is the whole input over their time (an effective rate, not bytes actually read)."
  echo "Warm cache → new layout: every blob comes from the cache and is hashed as it is copied;"
  echo "the difference to the \`cp\` + \`sync\` row is what verification costs."
  echo "Targets: cold ≤ 1.0 s on 2 cores; peak RSS flat in layer size."
  if [[ $PUSH == 1 ]]; then
    echo
    echo "### push to a local registry"
    echo
    echo "docker-registry $(docker-registry --version 2>/dev/null | awk '{print $NF}') on $REGISTRY" \
      "(plain HTTP over loopback, filesystem storage under the work dir). Base \`base/jdk:17\`:" \
      "$BASE_DESC; pushed first, untimed (${BASE_SECS} s, of which ${BASE_PUSH_SECS} s upload)." \
      "hoist runs \`build --from $REGISTRY/base/jdk:17 --jar JAR --to $REGISTRY/REPO:1\`." \
      "Cold: a new repository per run and an empty layer cache; checked: $COLD_MOUNTED base layer(s)" \
      "mounted, $COLD_UPLOADED blobs uploaded ($COLD_BYTES bytes), median upload phase" \
      "(\`push.seconds\`) $COLD_PUSH_PART s. The ECR rows: the same cold push to the ECR stand-in" \
      "(Amazon ECR's answers: \`201\` to a \`PATCH\`, tokens from GetAuthorizationToken, repositories" \
      "from DescribeRepositories, BLOB_MOUNTING on) in front of the same registry, same digest" \
      "checked; upload phase of the last run $ECR_PUSH_PART s; its floor sends the same bytes through" \
      "the stand-in. The class-change runs (variants 1..$RUNS) push to the" \
      "last cold run's repository; checked: exactly 2 blobs uploaded (application layer + config)." \
      "No-op: the last variant again; checked: 0 uploaded. The cold digest read back with skopeo." \
      "References push the same four layer dirs from scratch (no base to mount; buildah as one" \
      "layer, vfs storage, compressed by buildah at push); each run to a new repository with an" \
      "empty blob-info cache. Same MB/s and RSS definitions as above."
    [[ -z $ISO_NOTE ]] || echo "Note: $ISO_NOTE"
    echo
    echo "| case | median s | MB/s | peak RSS MiB |"
    echo "|---|---:|---:|---:|"
    printf '%s\n' "${PUSH_ROWS[@]}"
    echo
    echo "Targets: cold ≤ 1.0 s ($(verdict "$COLD_SECS" 1.0 le)), class change < 0.3 s" \
      "($(verdict "$CHANGE_SECS" 0.3 lt)), no-op < 0.15 s ($(verdict "$NOOP_SECS" 0.15 lt));" \
      "cold push ≤ 1.1× the floor of its own bytes (median of the run-by-run ratios): default" \
      "${FLOOR_DEFAULT_RATIO}× ($(verdict "$FLOOR_DEFAULT_RATIO" 1.1 le)), zstd ${FLOOR_ZSTD_RATIO}×" \
      "($(verdict "$FLOOR_ZSTD_RATIO" 1.1 le)), through the ECR stand-in ${FLOOR_ECR_RATIO}×" \
      "($(verdict "$FLOOR_ECR_RATIO" 1.1 le)); the ECR cold push $ECR_SECS s against the plain" \
      "registry's $COLD_SECS s. Bytes uploaded, zstd ÷ default: $ZSTD_BYTES ÷ $COLD_BYTES =" \
      "${ZSTD_BYTES_RATIO}× (target ≤ 0.93×: $(verdict "$ZSTD_BYTES_RATIO" 0.93 le); this jar's" \
      "dependencies are incompressible random bytes, so no compressor gets far below 1.0× here;" \
      "see the layer bytes table for real jars)."
  fi
  if [[ $STARTUP == 1 ]]; then
    echo
    echo "### layer bytes"
    echo
    echo "The fixture app (testdata/java, its stand-in Boot launcher) with $APP_NOTE as its" \
      "dependencies, built from scratch. Bytes are the sum of the app's layers; the references" \
      "compress the same layer tars (hoist's default layers, decompressed)."
    echo
    echo "| layers | bytes | ÷ gzip -6 | ÷ hoist default |"
    echo "|---|---:|---:|---:|"
    printf '%s\n' "${BYTES_ROWS[@]}"
    echo
    echo "$BYTES_VERDICTS"
    echo
    echo "### start-up"
    echo
    echo "The same app, on this machine's \`java\` ($(java -version 2>&1 | head -n 1 | tr -d '"'))," \
      "timed from process start to the app's first line on stdout; median of $START_RUNS runs" \
      "after one warm-up, the three starts taking turns. Images run from their unpacked layers with the image's own entrypoint," \
      "working directory and environment. The launcher is the test fixture's stand-in for Spring" \
      "Boot's: packaged (\`java -jar\`) it copies the nested jars out before starting the app," \
      "which the real launcher does not."
    echo
    echo "| start | median s | runs s |"
    echo "|---|---:|---|"
    printf '%s\n' "${START_ROWS[@]}"
    echo
    echo "$START_VERDICTS"
  fi
  if [[ -n $CTRD_SECTION ]]; then
    echo
    echo "$CTRD_SECTION"
  fi
} | tee "$WORK/results.md"
rm -rf "$TMP"
