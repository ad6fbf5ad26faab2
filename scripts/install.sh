#!/bin/sh
# Install a released hoist binary, checksum-verified.
#
#   sh scripts/install.sh [VERSION]
#   curl -fsSL https://raw.githubusercontent.com/hoist-dev/hoist/main/scripts/install.sh | sh -s -- 0.1.0
#
# VERSION (argument or HOIST_VERSION) is like 0.1.0 or v0.1.0, or `latest` (the default),
# looked up through the GitHub API. The script picks the asset for this machine
#
#   Linux x86_64 / aarch64   hoist-VERSION-{x86_64,aarch64}-unknown-linux-musl.tar.gz (static)
#   macOS arm64              hoist-VERSION-aarch64-apple-darwin.tar.gz (also under Rosetta)
#
# downloads it and SHA256SUMS from the release, refuses it unless its SHA-256 matches, and
# installs bin/hoist into the install directory. It prints what it does on stderr and the
# installed binary's path on stdout. The same version already installed there is a no-op.
# Where no asset fits (another OS or architecture, or the release has none for it), it builds
# from source with `cargo install --locked` instead, and says so.
#
# Environment:
#   HOIST_VERSION             version to install (the argument wins)
#   HOIST_INSTALL_DIR         install directory (default: ~/.local/bin, or the tool cache below)
#   HOIST_TOOL_CACHE          a tool-cache root such as $RUNNER_TOOL_CACHE: install into
#                             ROOT/hoist/VERSION/ARCH (ARCH: x64, arm64) and mark it complete
#                             with ROOT/hoist/VERSION/ARCH.complete, as actions/tool-cache does
#   HOIST_REPO                GitHub owner/name of the releases (default: hoist-dev/hoist; a fork
#                             sets its own)
#   HOIST_DOWNLOAD_URL        base URL of the release assets instead of
#                             https://github.com/HOIST_REPO/releases/download/vVERSION (a mirror,
#                             or a local server in the tests); `{version}` in it is replaced
#   HOIST_API_URL             GitHub API base for `latest` (default: https://api.github.com)
#   HOIST_GITHUB_TOKEN        token for that API call only (else GITHUB_TOKEN), against rate limits
#   HOIST_INSTALL_TARGET      the Rust target triple to fetch, instead of detecting it
#   HOIST_CARGO_INSTALL_ARGS  what the fallback passes to `cargo install --locked --root DIR`
#                             (default: --git https://github.com/HOIST_REPO --tag vVERSION hoist;
#                             once hoist is on crates.io: "hoist --version VERSION")
#   HOIST_INSTALL_NO_FALLBACK=1  no cargo fallback: where no asset fits, fail
#
# When GITHUB_OUTPUT is set (GitHub Actions), it also writes the step outputs version, dir,
# path and source (release, cargo or cached).
#
# Exit status: 0 installed or already there; 1 anything else (nothing is installed then).
set -eu

say() { printf 'hoist-install: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}

repo=${HOIST_REPO:-hoist-dev/hoist}
[ -n "$repo" ] || repo=hoist-dev/hoist
requested=${1:-${HOIST_VERSION:-latest}}
[ -n "$requested" ] || requested=latest

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t hoist-install)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- downloads ----------------------------------------------------------------------------------

# fetch URL FILE [AUTH_HEADER]: 0 when saved, 2 when the server says it has no such file
# (404/410), 1 on any other failure. Bounded: 3 retries of transient errors, 15 s to connect,
# 5 minutes in all.
fetch() {
	_url=$1
	_file=$2
	_auth=${3:-}
	if command -v curl >/dev/null 2>&1; then
		set -- -sS -L --retry 3 --retry-delay 1 --connect-timeout 15 --max-time 300
		case $_url in https://*) set -- "$@" --proto-redir =https ;; esac
		[ -z "$_auth" ] || set -- "$@" -H "$_auth"
		if ! _code=$(curl "$@" -o "$_file" -w '%{http_code}' "$_url" 2>"$tmp/fetch.err"); then
			say "download of $_url failed: $(tail -n 1 "$tmp/fetch.err")"
			return 1
		fi
		case $_code in
			2??) return 0 ;;
			404 | 410) return 2 ;;
			*)
				say "download of $_url failed: HTTP $_code"
				return 1
				;;
		esac
	elif command -v wget >/dev/null 2>&1; then
		set -- -S -T 15 -t 3 -O "$_file"
		[ -z "$_auth" ] || set -- "$@" --header "$_auth"
		if wget "$@" "$_url" 2>"$tmp/fetch.err"; then
			return 0
		fi
		if grep -Eq 'HTTP/[0-9.]+ (404|410)' "$tmp/fetch.err"; then
			return 2
		fi
		say "download of $_url failed: $(grep -v '^ ' "$tmp/fetch.err" | tail -n 1)"
		return 1
	else
		die "neither curl nor wget is installed; one of them is needed to download hoist"
	fi
}

sha256_of() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | awk '{ print $1 }'
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | awk '{ print $1 }'
	elif command -v openssl >/dev/null 2>&1; then
		openssl dgst -sha256 "$1" | awk '{ print $NF }'
	else
		die "no sha256sum, shasum or openssl to verify the download with"
	fi
}

# --- version ------------------------------------------------------------------------------------

version=${requested#v}
if [ "$version" = latest ]; then
	api=${HOIST_API_URL:-https://api.github.com}
	api=${api%/}/repos/$repo/releases/latest
	token=${HOIST_GITHUB_TOKEN:-${GITHUB_TOKEN:-}}
	auth=
	[ -z "$token" ] || auth="Authorization: Bearer $token"
	status=0
	fetch "$api" "$tmp/latest.json" "$auth" || status=$?
	[ "$status" -eq 0 ] || die "could not look up the latest hoist release at $api (pass a version such as 0.1.0, or a github-token against rate limits)"
	# One JSON member per line (GitHub pretty-prints, a mirror may not), then tag_name's value.
	# shellcheck disable=SC2020
	tag=$(tr ',{}' '\n\n\n' <"$tmp/latest.json" | sed -n 's/^[[:space:]]*"tag_name"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' | head -n 1)
	[ -n "$tag" ] || die "no tag_name in the answer of $api"
	version=${tag#v}
	say "latest release: $tag"
fi
case $version in
	'' | *[!A-Za-z0-9.+-]*) die "\"$requested\" is not a version (like 0.1.0, v0.1.0 or latest)" ;;
esac

# --- platform -----------------------------------------------------------------------------------

if [ -n "${HOIST_INSTALL_TARGET:-}" ]; then
	target=$HOIST_INSTALL_TARGET
	platform="target $target"
	case $target in
		x86_64-*) arch_label=x64 ;;
		aarch64-*) arch_label=arm64 ;;
		*) arch_label=${target%%-*} ;;
	esac
else
	os=$(uname -s)
	machine=$(uname -m)
	platform="$os/$machine"
	case $os in
		MINGW* | MSYS* | CYGWIN* | Windows*) die "hoist runs on Linux and macOS; on Windows, use WSL" ;;
	esac
	case $machine in
		x86_64 | amd64) arch=x86_64 arch_label=x64 ;;
		aarch64 | arm64) arch=aarch64 arch_label=arm64 ;;
		*) arch='' arch_label=$machine ;;
	esac
	# An x86_64 shell under Rosetta on Apple silicon: the arm64 binary runs natively.
	if [ "$os" = Darwin ] && [ "$arch" = x86_64 ] &&
		[ "$(sysctl -n sysctl.proc_translated 2>/dev/null || echo 0)" = 1 ]; then
		arch=aarch64 arch_label=arm64
	fi
	target=
	if [ -n "$arch" ]; then
		case $os in
			Linux) target=$arch-unknown-linux-musl ;;
			Darwin) target=$arch-apple-darwin ;;
		esac
	fi
fi
case $target in
	*[!A-Za-z0-9_.-]*) die "\"$target\" is not a target triple" ;;
esac

# --- where --------------------------------------------------------------------------------------

marker=
if [ -n "${HOIST_INSTALL_DIR:-}" ]; then
	dir=$HOIST_INSTALL_DIR
elif [ -n "${HOIST_TOOL_CACHE:-}" ]; then
	dir=$HOIST_TOOL_CACHE/hoist/$version/$arch_label
	marker=$dir.complete
else
	[ -n "${HOME:-}" ] || die "HOME is not set; set HOIST_INSTALL_DIR"
	dir=$HOME/.local/bin
fi
bin=$dir/hoist

outputs() { # SOURCE
	case $1 in
		release) say "installed hoist $version ($target) at $bin" ;;
		cargo) say "installed hoist $version, built by cargo install, at $bin" ;;
	esac
	case ":${PATH:-}:" in
		*":$dir:"*) ;;
		*) [ -n "${GITHUB_OUTPUT:-}" ] || say "note: $dir is not on PATH; add it, or run $bin" ;;
	esac
	if [ -n "${GITHUB_OUTPUT:-}" ]; then
		printf 'version=%s\ndir=%s\npath=%s\nsource=%s\n' "$version" "$dir" "$bin" "$1" >>"$GITHUB_OUTPUT"
	fi
	printf '%s\n' "$bin"
}

# The same version already there: `hoist --version` says `hoist VERSION …`.
if [ -x "$bin" ]; then
	have=$("$bin" --version 2>/dev/null | head -n 1 | awk '{ print $2 }') || have=
	if [ "${have#v}" = "$version" ]; then
		[ -z "$marker" ] || : >"$marker"
		say "hoist $version is already installed in $dir; nothing to do"
		outputs cached
		exit 0
	fi
fi

# place FILE SOURCE: put FILE at $bin atomically (a copy beside it, then a rename).
place() {
	mkdir -p "$dir" || die "cannot create $dir"
	cp "$1" "$dir/.hoist.new.$$" || die "cannot write to $dir"
	chmod 0755 "$dir/.hoist.new.$$"
	mv -f "$dir/.hoist.new.$$" "$bin" || {
		rm -f "$dir/.hoist.new.$$"
		die "cannot write $bin"
	}
	[ -z "$marker" ] || : >"$marker"
	outputs "$2"
}

# No asset fits: build from source, unless told not to.
fallback() { # REASON
	if [ "${HOIST_INSTALL_NO_FALLBACK:-}" = 1 ]; then
		die "$1 (HOIST_INSTALL_NO_FALLBACK=1, so no cargo install)"
	fi
	command -v cargo >/dev/null 2>&1 ||
		die "$1, and cargo is not installed to build it from source (https://rustup.rs)"
	args=${HOIST_CARGO_INSTALL_ARGS:---git https://github.com/$repo --tag v$version hoist}
	say "$1: building it from source instead: cargo install --locked $args (this takes minutes)"
	set -f # the arguments are split on spaces, never globbed
	# shellcheck disable=SC2086
	cargo install --locked --root "$tmp/cargo" $args || die "cargo install failed; nothing installed"
	set +f
	[ -x "$tmp/cargo/bin/hoist" ] || die "cargo install built no hoist binary"
	place "$tmp/cargo/bin/hoist" cargo
	exit 0
}

[ -n "$target" ] || fallback "no prebuilt hoist for $platform"

# --- download, verify, install ------------------------------------------------------------------

asset=hoist-$version-$target.tar.gz
if [ -n "${HOIST_DOWNLOAD_URL:-}" ]; then
	base=$(printf '%s\n' "$HOIST_DOWNLOAD_URL" | sed "s/{version}/$version/g")
else
	base=https://github.com/$repo/releases/download/v$version
fi
base=${base%/}

say "downloading $base/$asset"
status=0
fetch "$base/$asset" "$tmp/$asset" || status=$?
case $status in
	0) ;;
	2) fallback "no release asset $asset at $base" ;;
	*) die "could not download $asset; nothing installed" ;;
esac
status=0
fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS" || status=$?
[ "$status" -eq 0 ] || die "could not download $base/SHA256SUMS, and hoist is not installed unverified"

expected=$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/SHA256SUMS" | tr 'A-F' 'a-f')
[ -n "$expected" ] || die "SHA256SUMS at $base lists no $asset; nothing installed"
actual=$(sha256_of "$tmp/$asset" | tr 'A-F' 'a-f')
[ "$expected" = "$actual" ] ||
	die "checksum mismatch for $asset: SHA256SUMS says $expected, the download is $actual; nothing installed"
say "sha256 ok ($actual)"

mkdir "$tmp/unpacked"
tar -xzf "$tmp/$asset" -C "$tmp/unpacked" || die "cannot unpack $asset; nothing installed"
unpacked=$tmp/unpacked/hoist-$version-$target/hoist
[ -f "$unpacked" ] || die "$asset holds no hoist-$version-$target/hoist; nothing installed"
place "$unpacked" release
