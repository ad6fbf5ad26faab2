# hoist — tasks. `just --list` shows them.

# Install what the tests need, only what is missing, and say what (apt-get, pip, npm ci).
deps:
    bash scripts/install-test-deps.sh

# Run every test: installs the test tools (deps), then cargo's tests, the installer tests, the workflow lint and the docs site.
test: deps test-rust test-install test-emulators docs

# The docs site (mkdocs.yml, docs/): built with warnings as errors, so a broken link or anchor fails.
docs: deps
    NO_MKDOCS_2_WARNING=1 python3 -m mkdocs build --strict --quiet

# Unit + integration tests against real tools (skopeo, java, docker-registry, moto).
test-rust: deps
    cargo test --all-targets --locked

# scripts/install.sh and action.yml against a release served on 127.0.0.1; actionlint on every workflow; action.yml against its schema; shellcheck.
test-install: deps
    python3 tests/install/test_install.py
    node tests/install/lint-workflows.mjs
    shellcheck --shell=sh scripts/install.sh
    shellcheck scripts/package-release.sh scripts/install-test-deps.sh .ci/run bench/bench.sh run

# The test emulators and the registry stand-in checked against the behaviour they model (boto3, skopeo).
test-emulators: deps
    python3 tests/support/test_codedeploy_emulator.py
    python3 tests/support/test_ecs_emulator.py
    python3 tests/support/test_registry_standin.py

# The release workflow's packaging for this machine's target, verified (dev profile: reuses the test build).
package-check:
    bash scripts/package-release.sh "$(rustc -vV | sed -n 's/^host: //p')" --profile dev --out target/package-check --verify

# Formatting and lints, as CI runs them.
lint:
    cargo fmt --check
    cargo clippy --all-targets --locked -- -D warnings

# Benchmarks: build speed and memory against pigz, sha256sum and umoci (release build).
bench:
    bash bench/bench.sh

# The whole pipeline on local servers: JDK base from Debian packages, ship to an ECS emulator, run it (root).
demo:
    bash demo/run.sh
