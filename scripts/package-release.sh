#!/usr/bin/env bash
# Build hoist for one target and package it as a release asset, the way
# .github/workflows/release.yml does for every target and .ci/run does for this machine's.
#
#   scripts/package-release.sh TARGET [--profile PROFILE] [--out DIR] [--zigbuild]
#                                     [--binary FILE] [--verify]
#
#   TARGET         a Rust target triple, e.g. x86_64-unknown-linux-musl
#   --profile P    Cargo profile (default: release)
#   --out DIR      where the asset goes (default: dist)
#   --zigbuild     build with `cargo zigbuild` (cargo-zigbuild and zig on PATH): static musl
#                  binaries for any Linux architecture from one runner
#   --binary FILE  package FILE instead of building (a binary built elsewhere)
#   --verify       afterwards: check the asset against SHA256SUMS, unpack it, and run the
#                  packaged `hoist --version` when this machine can run the target
#
# Writes DIR/hoist-VERSION-TARGET.tar.gz, holding the directory hoist-VERSION-TARGET/ with
# the binary, README.md and LICENSE* (whichever exist), and adds its line to DIR/SHA256SUMS
# (`sha256sum` format; a line for the same file name is replaced, the file stays sorted).
# VERSION is the package version in Cargo.toml. The names must agree with scripts/install.sh
# and [package.metadata.binstall] in Cargo.toml.
#
# When TARGET is this machine's own triple the build runs without --target, so it reuses
# target/<profile>/ (the test build, with --profile dev) instead of compiling everything again.
#
# Works with macOS's bash 3.2 and BSD tar.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf 'package-release: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}
usage() {
  sed -n '5,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

target=
profile=release
out=dist
zigbuild=
binary=
verify=
while [ $# -gt 0 ]; do
  case $1 in
    --profile) [ $# -ge 2 ] || usage; profile=$2; shift 2 ;;
    --profile=*) profile=${1#*=}; shift ;;
    --out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    --zigbuild) zigbuild=1; shift ;;
    --binary) [ $# -ge 2 ] || usage; binary=$2; shift 2 ;;
    --binary=*) binary=${1#*=}; shift ;;
    --verify) verify=1; shift ;;
    -h | --help) usage ;;
    -*) say "unknown option $1"; usage ;;
    *) [ -z "$target" ] || usage; target=$1; shift ;;
  esac
done
[ -n "$target" ] || usage
case $target in
  *[!A-Za-z0-9_.-]* | .* | -*) die "\"$target\" is not a target triple" ;;
esac

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{ print $1 }'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | awk '{ print $1 }'
  else
    openssl dgst -sha256 "$1" | awk '{ print $NF }'
  fi
}

# The [package] table's version (the first `version = "…"` before the next table).
version=$(awk '
  /^\[/ { in_pkg = ($0 == "[package]") }
  in_pkg && /^version[ \t]*=/ { sub(/^[^"]*"/, ""); sub(/".*$/, ""); print; exit }
' "$ROOT/Cargo.toml")
[ -n "$version" ] || die "no version in the [package] table of $ROOT/Cargo.toml"

name=hoist-$version-$target
mkdir -p "$out"
out=$(cd "$out" && pwd)

# --- the binary -------------------------------------------------------------------------------

if [ -n "$binary" ]; then
  [ -f "$binary" ] || die "no such binary: $binary"
  say "packaging $binary as $name (no build)"
else
  host=$(rustc -vV | sed -n 's/^host: //p')
  cmd=(cargo build)
  [ -n "$zigbuild" ] && cmd=(cargo zigbuild)
  cmd+=(--locked --profile "$profile" --bin hoist --message-format=json-render-diagnostics)
  if [ -n "$zigbuild" ] || [ "$target" != "$host" ]; then
    cmd+=(--target "$target")
  fi
  say "building: ${cmd[*]}"
  messages=$(mktemp)
  (cd "$ROOT" && "${cmd[@]}") >"$messages" || {
    rm -f "$messages"
    die "the build failed"
  }
  # Cargo names the file it wrote; the last hoist executable in its messages is ours.
  binary=$(grep '"executable":"' "$messages" | grep '"name":"hoist"' |
    sed 's/.*"executable":"\([^"]*\)".*/\1/' | tail -n 1)
  rm -f "$messages"
  if [ -z "$binary" ] || [ ! -f "$binary" ]; then die "cargo reported no hoist executable"; fi
fi

# --- the archive ------------------------------------------------------------------------------

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
cp "$binary" "$stage/$name/hoist"
chmod 0755 "$stage/$name/hoist"
have_license=
for doc in README.md LICENSE LICENSE-APACHE LICENSE-MIT LICENSE.md LICENSE.txt NOTICE; do
  if [ -f "$ROOT/$doc" ]; then
    cp "$ROOT/$doc" "$stage/$name/$doc"
    chmod 0644 "$stage/$name/$doc"
    case $doc in LICENSE*) have_license=1 ;; esac
  fi
done
[ -n "$have_license" ] || say "warning: no LICENSE file at the repository root; the archive holds the binary and README.md"
# The man page and shell completions come from the binary itself; only a
# binary this machine can run can write them (a cross-built one is packaged
# without them, and says so).
if "$stage/$name/hoist" --version >/dev/null 2>&1; then
  mkdir -p "$stage/$name/man" "$stage/$name/completions"
  "$stage/$name/hoist" man >"$stage/$name/man/hoist.1"
  "$stage/$name/hoist" completions bash >"$stage/$name/completions/hoist.bash"
  "$stage/$name/hoist" completions zsh >"$stage/$name/completions/_hoist"
  "$stage/$name/hoist" completions fish >"$stage/$name/completions/hoist.fish"
else
  say "note: $target's binary does not run here; the archive has no man page or completions"
fi

# GNU tar: sorted entries, owner root, mtime from SOURCE_DATE_EPOCH (else the commit's time),
# so the same binary gives the same archive. BSD tar (macOS) keeps its defaults.
tar_flags=()
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
  epoch=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 0)}
  tar_flags=(--sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch")
fi
asset=$out/$name.tar.gz
(cd "$stage" && tar ${tar_flags[@]+"${tar_flags[@]}"} -cf - "$name") | gzip -n >"$asset.tmp"
mv -f "$asset.tmp" "$asset"
digest=$(sha256 "$asset")

# SHA256SUMS: replace this file's line, keep the rest, sorted by file name.
sums=$out/SHA256SUMS
{
  [ -f "$sums" ] && awk -v f="$name.tar.gz" '$2 != f && $2 != "*" f' "$sums"
  printf '%s  %s\n' "$digest" "$name.tar.gz"
} | sort -k 2 >"$sums.tmp"
mv -f "$sums.tmp" "$sums"

size=$(wc -c <"$asset" | tr -d ' ')
say "wrote $asset ($size bytes)"
say "sha256 $digest, recorded in $sums"

# --- verification -----------------------------------------------------------------------------

if [ -n "$verify" ]; then
  listed=$(awk -v f="$name.tar.gz" '$2 == f { print $1 }' "$sums")
  [ "$listed" = "$(sha256 "$asset")" ] || die "verify: $name.tar.gz does not match its SHA256SUMS line"
  check=$(mktemp -d)
  trap 'rm -rf "$stage" "$check"' EXIT
  tar -xzf "$asset" -C "$check"
  [ -x "$check/$name/hoist" ] || die "verify: the archive has no executable $name/hoist"
  [ -f "$check/$name/README.md" ] || die "verify: the archive has no $name/README.md"
  say "verify: checksum ok; archive holds: $(cd "$check/$name" && find . -type f | sed 's|^\./||' | sort | tr '\n' ' ')"

  # Run it where this machine can: same OS and architecture (glibc or musl alike on Linux).
  arch=$(uname -m)
  case $arch in amd64) arch=x86_64 ;; arm64) arch=aarch64 ;; esac
  case $(uname -s) in Linux) os=linux ;; Darwin) os=darwin ;; *) os=other ;; esac
  case $target in
    "$arch"-*-"$os"* | "$arch"-apple-"$os")
      got=$("$check/$name/hoist" --version) || die "verify: the packaged hoist --version failed"
      case $got in
        *"$version"*) say "verify: the packaged binary says: $got" ;;
        *) die "verify: the packaged hoist --version says \"$got\", not version $version" ;;
      esac
      ;;
    *) say "verify: $target does not run on this $(uname -s)/$(uname -m) machine; --version not run" ;;
  esac
fi
