# hoist — tasks. `just --list` shows them.

# Run every test (unit + integration against real tools: skopeo, java).
test:
    cargo test --all-targets --locked

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
