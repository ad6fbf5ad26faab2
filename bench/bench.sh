#!/usr/bin/env bash
# The benchmark behind `just bench` (DESIGN.md, "Speed and memory targets").
#
# Builds a Spring Boot jar with ~BENCH_MB MB of dependency jars (fixture generator,
# examples/bench_jar.rs) to `oci:` three ways -- cold (empty layout and layer cache), after a
# change to one class, unchanged -- and runs references over the same bytes in the same run:
# `tar | pigz -6 | sha256sum`, `tar | sha256sum` and `umoci insert` of the same four layers.
# Each case runs BENCH_RUNS times (default 3); the table shows the median wall time, MB/s over
# the jar's uncompressed content, and the median peak RSS.
#
# Environment:
#   BENCH_MB     dependency megabytes (10^6 bytes) in the jar (default 140)
#   BENCH_RUNS   runs per case, odd (default 3)
#   BENCH_EXTRA  1: also time hoist cold with --compression stored and gzip:6 (diagnostics)
#   BENCH_WORK   work directory (default bench-work/ at the repository root; wiped per case)
#
# Needs: cargo, unzip, tar, pigz, sha256sum, umoci, GNU time (/usr/bin/time, Debian package
# `time`; without it peak RSS shows as n/a). The page cache stays warm: "cold" means no hoist
# state (layout, layer cache), not a cold disk.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MB=${BENCH_MB:-140}
RUNS=${BENCH_RUNS:-3}
EXTRA=${BENCH_EXTRA:-0}
WORK=${BENCH_WORK:-$ROOT/bench-work}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

[[ $MB =~ ^[0-9]+$ && $MB -gt 0 ]] || { echo "BENCH_MB must be a positive integer" >&2; exit 2; }
[[ $RUNS =~ ^[0-9]+$ && $RUNS -ge 1 && $RUNS -le 25 ]] || { echo "BENCH_RUNS must be 1..25" >&2; exit 2; }
for tool in cargo unzip tar pigz sha256sum umoci; do
  command -v "$tool" >/dev/null || { echo "bench: missing tool: $tool" >&2; exit 2; }
done
GNU_TIME=
if [[ -x /usr/bin/time ]] && /usr/bin/time -f %M true >/dev/null 2>&1; then
  GNU_TIME=/usr/bin/time
else
  echo "bench: GNU time not found (apt-get install time): peak RSS will show as n/a" >&2
fi

log() { printf 'bench: %s\n' "$*" >&2; }

# --- build ------------------------------------------------------------------------------------
log "cargo build --release (hoist, examples/bench_jar)"
(cd "$ROOT" && cargo build --release --quiet --bin hoist --example bench_jar)
HOIST=$TARGET/release/hoist
BENCH_JAR=$TARGET/release/examples/bench_jar

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
# "SECONDS RSS_KIB" to $TMP/samples. With GNU time the RSS is the peak of the largest process
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
  echo "$(( (t1 - t0) / 1000 )) $rss" >>"$TMP/samples"
}

ROWS=()
# row NAME: reduces $TMP/samples to a Markdown table row, then clears it.
row() {
  local name=$1 secs rss mbps
  secs=$(awk '{print $1}' "$TMP/samples" | sort -n | awk '{a[NR] = $1} END {printf "%.3f", a[int((NR + 1) / 2)] / 1e6}')
  rss=$(awk '{print $2}' "$TMP/samples" | { grep -v na || true; } | sort -n | awk '{a[NR] = $1} END {if (NR) printf "%.1f", a[int((NR + 1) / 2)] / 1024; else print "n/a"}')
  mbps=$(awk -v b="$IN_BYTES" -v s="$secs" 'BEGIN {printf "%.0f", (s > 0 ? b / 1e6 / s : 0)}')
  local all
  all=$(awk '{printf "%s%.3f", (NR > 1 ? " " : ""), $1 / 1e6}' "$TMP/samples")
  log "$(printf '%-40s median %ss  (runs: %s)  %s MB/s  %s MiB' "$name" "$secs" "$all" "$mbps" "$rss")"
  ROWS+=("| $name | $secs | $mbps | $rss |")
  rm -f "$TMP/samples"
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
  echo "Targets (DESIGN.md): cold ≤ 1.0 s on 2 cores; peak RSS flat in layer size."
} | tee "$WORK/results.md"
rm -rf "$TMP"
