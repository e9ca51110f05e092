#!/usr/bin/env bash
# Runs the credit-scoring example end to end in a throwaway git repository (default: a new temp
# directory; or the directory given, which must not exist or be empty): generate the data, track
# it, run the pipeline, then the checks a CI job would make. Each step prints what it runs.
#
# Usage: bash examples/credit-scoring/run.sh [DIR] [ROWS]
#   MLOPS=/path/to/mlops picks the binary (default: build this checkout's release binary, under
#   $CARGO_TARGET_DIR if set, else target/).
set -euo pipefail
example=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$example/../.." && pwd)
if [ -z "${MLOPS:-}" ]; then
    cargo build --release --quiet --manifest-path "$root/Cargo.toml"
    # Where cargo put it: $CARGO_TARGET_DIR (relative to here, as cargo reads it) or target/.
    MLOPS=${CARGO_TARGET_DIR:-$root/target}/release/mlops
fi
case $MLOPS in */*) MLOPS=$(cd "$(dirname "$MLOPS")" && pwd)/$(basename "$MLOPS") ;; esac
dir=${1:-$(mktemp -d)}
rows=${2:-200000}
mkdir -p "$dir"
[ -z "$(ls -A "$dir")" ] || { echo "$dir is not empty" >&2; exit 2; }
# The pipeline's stages call `mlops`: put this binary first on the PATH.
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
ln -s "$MLOPS" "$bin/mlops"
export PATH="$bin:$PATH"
export GIT_AUTHOR_NAME=${GIT_AUTHOR_NAME:-example} GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL:-example@example.com}
export GIT_COMMITTER_NAME=${GIT_COMMITTER_NAME:-example} GIT_COMMITTER_EMAIL=${GIT_COMMITTER_EMAIL:-example@example.com}
step() { echo; echo "\$ $*"; "$@"; }

cd "$dir"
cp "$example/mlops.yaml" "$example/params.yaml" .
step git init -q -b main .
step mlops init
step mlops quickstart --data-only . --rows "$rows"
step mlops add data/customers.parquet data/batches
git add -A && git commit -q -m "Data, pipeline and params"
step mlops run
git add -A && git commit -q -m "Run the pipeline"
step mlops metrics show
# The checks a CI job makes: both fail on this data, by design.
set +e
step mlops eval scores/test.parquet --label default --score score --sensitive gender \
    --gate 'roc_auc >= 0.7' --gate 'fairness.demographic_parity_ratio >= 0.8' --format markdown
echo "(exit status $?: the fairness gate fails)"
step mlops drift --reference data/prepared/train.parquet data/batches/2026-03.parquet \
    --exclude customer_id,default
echo "(exit status $?: the last batch drifted)"
set -e
step mlops run
echo
echo "The example ran in $dir"
