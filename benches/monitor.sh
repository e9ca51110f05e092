#!/usr/bin/env bash
# Benchmarks `mlops monitor` on a generated day-partitioned log: CBPE, PCA reconstruction drift,
# Jensen-Shannon drift per column and missing values on 10 daily windows of ROWS rows x 20
# features against a labelled reference of 100k rows (what ../shared/bench/monitor.sh runs
# NannyML on); the same with a state file, then its rerun with nothing new (it reads no
# prediction); and a week of 1M-row days. Prints a Markdown table: wall time, CPU time
# (user+sys) and peak memory. Not a test: nothing here asserts a time.
#
# Usage: benches/monitor.sh [ROWS]     Env: MLOPS (binary, default $CARGO_TARGET_DIR or target/, then release/mlops)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mlops=${MLOPS:-${CARGO_TARGET_DIR:-$root/target}/release/mlops}
[ -x "$mlops" ] || { echo "build first: cargo build --release" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rows=${1:-100000}

source "$root/benches/lib.sh"
generator=$(generator monitor_data)
args=(--window 1d --timestamp timestamp --score y_pred_proba --prediction y_pred --label label --json --no-fail)

echo "| operation | wall | CPU | peak RSS |"
echo "|---|---|---|---|"
"$generator" "$rows" 100000 10 "$work/ten"
measure "monitor, 10 windows x $rows rows, 20 features, reference 100k" \
    "$mlops" -q monitor --reference "$work/ten/ref.parquet" --predictions "$work/ten/predictions" "${args[@]}" --no-state
measure "monitor with a state file, first run" \
    "$mlops" -q monitor --reference "$work/ten/ref.parquet" --predictions "$work/ten/predictions" "${args[@]}" --state "$work/state.json"
measure "monitor with a state file, rerun with nothing new" \
    "$mlops" -q monitor --reference "$work/ten/ref.parquet" --predictions "$work/ten/predictions" "${args[@]}" --state "$work/state.json"
rm -rf "$work/ten" "$work/state.json"
"$generator" 1000000 100000 7 "$work/week"
measure "monitor, a week of 1M-row days, 20 features" \
    "$mlops" -q monitor --reference "$work/week/ref.parquet" --predictions "$work/week/predictions" "${args[@]}" --no-state
