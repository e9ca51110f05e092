#!/usr/bin/env bash
# Benchmarks `mlops fairness` on the quickstart's data (1,000,000 customers by default): group
# thresholds fitted on the training split's scores (750k rows), counterfactual swaps and
# consistency on the test split (250k rows), and consistency on the training split. Prints a
# Markdown table: wall time, CPU time (user+sys) and peak memory.
#
# With FAIRNESS_PYTHON set to a Python that has fairlearn, scikit-learn and pyarrow (the shared
# harness's venv has them), the same work runs in the anchors beside: fairlearn's
# ThresholdOptimizer on the same scores, and AIF360's consistency formula on scikit-learn's
# NearestNeighbors over the same standardised inputs (benches/fairness_anchor.py).
# Not a test: nothing here asserts a time.
#
# Usage: benches/fairness.sh [ROWS]     Env: MLOPS (binary, default $CARGO_TARGET_DIR or target/,
# then release/mlops), FAIRNESS_PYTHON
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mlops=${MLOPS:-${CARGO_TARGET_DIR:-$root/target}/release/mlops}
[ -x "$mlops" ] || { echo "build first: cargo build --release" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rows=${1:-1000000}
source "$root/benches/lib.sh"

"$mlops" -q quickstart "$work/demo" --rows "$rows" >"$work/quickstart.log" 2>&1 || {
    echo "the quickstart failed:" >&2; cat "$work/quickstart.log" >&2; exit 1; }
cd "$work/demo"
"$mlops" -q predict --model models/credit data/prepared/train.parquet \
    --keep age,income,debt_ratio,credit_lines,gender,default -o scores/train.parquet
"$mlops" -q predict --model models/credit data/prepared/test.parquet \
    --keep age,income,debt_ratio,credit_lines,gender,default -o scores/test.parquet

echo "| operation | wall | CPU | peak RSS |"
echo "|---|---|---|---|"
for constraint in demographic_parity equalized_odds; do
    measure "mitigate ($constraint), the training split's scores" \
        "$mlops" -q fairness mitigate --scores scores/train.parquet --label default \
        --sensitive gender --constraint "$constraint" --model models/credit \
        -o "$work/fair-$constraint" --force
    if [ -n "${FAIRNESS_PYTHON:-}" ]; then
        measure "fairlearn ThresholdOptimizer ($constraint), the same scores" \
            "$FAIRNESS_PYTHON" "$root/benches/fairness_anchor.py" mitigate scores/train.parquet "$constraint"
    fi
done
measure "counterfactual (2 swaps) + consistency, the test split" \
    "$mlops" -q fairness counterfactual --model "$work/fair-demographic_parity" \
    data/prepared/test.parquet --sensitive gender
for split in test train; do
    measure "consistency (k = 5, exact), the $split split" \
        "$mlops" -q fairness consistency --model models/credit "data/prepared/$split.parquet" \
        --sensitive gender
    if [ -n "${FAIRNESS_PYTHON:-}" ]; then
        measure "scikit-learn NearestNeighbors + AIF360's formula, the $split split" \
            "$FAIRNESS_PYTHON" "$root/benches/fairness_anchor.py" consistency "scores/$split.parquet"
    fi
done
