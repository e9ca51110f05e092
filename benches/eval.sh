#!/usr/bin/env bash
# Benchmarks `mlops eval` on generated Parquet files (1M and 10M rows by default): a binary task
# with a score, five slicing columns and three sensitive columns (their intersection), as the eval
# issue specifies; without and with bootstrap intervals. Prints a Markdown table: wall time, CPU time (user+sys) and peak memory.
# Not a test: nothing here asserts a time.
#
# Usage: benches/eval.sh [ROWS...]     Env: MLOPS (binary, default $CARGO_TARGET_DIR or target/, then release/mlops)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mlops=${MLOPS:-${CARGO_TARGET_DIR:-$root/target}/release/mlops}
[ -x "$mlops" ] || { echo "build first: cargo build --release" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000)

source "$root/benches/lib.sh"
generator=$(generator eval_data)

echo "| operation | wall | CPU | peak RSS |"
echo "|---|---|---|---|"
for rows in "${sizes[@]}"; do
    file="$work/eval-$rows.parquet"
    "$generator" "$rows" "$file"
    full=(--slice region --slice segment --slice channel --slice age --slice income
        --sensitive sex --sensitive race --sensitive senior --privileged sex=m)
    measure "overall metrics, $rows rows" "$mlops" -q eval "$file" --score score --bootstrap 0
    measure "overall + 5 slice columns + fairness over 3 sensitive columns, $rows rows" \
        "$mlops" -q eval "$file" --score score "${full[@]}" --bootstrap 0
    measure "the same with 200 bootstrap replicates (intervals for every metric), $rows rows" \
        "$mlops" -q eval "$file" --score score "${full[@]}" --bootstrap 200
    rm -f "$file"
done
