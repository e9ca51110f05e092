# Recipes for working on mlops; `just --list` shows them. Install just with `cargo install just`.

# Build the debug binary
build:
    cargo build

# Format all code
fmt:
    cargo fmt --all

# Lint with warnings as errors, as CI does
lint:
    cargo clippy --workspace --all-targets -- -D warnings

# Run every test (README's test command)
test:
    cargo test --workspace

# Build the API docs with warnings as errors
doc:
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

# Check the dependency rules: mlops-core must not depend on clap, anyhow, indicatif or candle,
# nor core, pipeline and meta on arrow or parquet
deps:
    #!/usr/bin/env bash
    set -euo pipefail
    bad=$(cargo tree -p mlops-core -e normal --prefix none | grep -E '^(clap|anyhow|indicatif|candle-[a-z]+) ' || true)
    if [ -n "$bad" ]; then echo "mlops-core must not depend on:"; echo "$bad"; exit 1; fi
    # File formats live in mlops-data: versioning, pipelines and git metadata compile no Arrow.
    for crate in mlops-core mlops-pipeline mlops-meta; do
        bad=$(cargo tree -p "$crate" -e normal --prefix none | grep -E '^(arrow-[a-z]+|parquet) ' || true)
        if [ -n "$bad" ]; then echo "$crate must not depend on:"; echo "$bad"; exit 1; fi
    done
    # No unused dependency in any manifest (the fuzz crate's included). Not in .ci/run: CI must
    # work offline on a fresh machine, and cargo-machete is installed from crates.io
    # (`cargo install cargo-machete`).
    cargo machete
    echo "dependency rules hold"

# Benchmark every capability on generated data (release build): wall, CPU, peak memory
bench *ARGS:
    cargo build --release
    bash benches/versioning.sh {{ARGS}}
    bash benches/pipeline.sh
    bash benches/eval.sh
    bash benches/drift.sh
    bash benches/infer.sh
    bash benches/trees.sh
    bash benches/serve.sh
    bash benches/monitor.sh
    bash benches/exp.sh
    bash benches/fairness.sh
    bash benches/validate.sh
    bash benches/cluster.sh
    bash benches/history.sh
    bash benches/s3.sh
    bash benches/s3_read.sh

# Fuzz every parser with cargo-fuzz, SECS seconds each (nightly and `cargo install cargo-fuzz`)
fuzz SECS="60":
    #!/usr/bin/env bash
    set -euo pipefail
    # Longer than CI, which runs the proptest suites (crates/*/tests/fuzz_parsers.rs) for seconds.
    # The fuzz package is outside the workspace; the root lock pins it to the same versions.
    cp Cargo.lock fuzz/Cargo.lock
    for target in $(cargo +nightly fuzz list); do
        echo "== fuzz $target ({{SECS}} s)"
        cargo +nightly fuzz run "$target" -- -max_total_time={{SECS}}
    done

# Everything CI runs
ci:
    bash .ci/run
