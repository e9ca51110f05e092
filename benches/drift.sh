#!/usr/bin/env bash
# Benchmarks `mlops drift` on generated Parquet: a reference and a current file of ROWS rows x (20
# numeric + 5 categorical) columns, drift planted in 3 columns; the default report (Evidently's
# choice of tests), KS on every numeric column, profiling the reference, and the report against
# that profile. Prints a Markdown table: wall time, CPU time
# (user+sys) and peak memory. Not a test: nothing here asserts a time.
#
# Usage: benches/drift.sh [ROWS...]     Env: MLOPS (binary, default $CARGO_TARGET_DIR or target/, then release/mlops)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mlops=${MLOPS:-${CARGO_TARGET_DIR:-$root/target}/release/mlops}
[ -x "$mlops" ] || { echo "build first: cargo build --release" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000)

source "$root/benches/lib.sh"
generator=$(generator drift_data)

echo "| operation | wall | CPU | peak RSS |"
echo "|---|---|---|---|"
for rows in "${sizes[@]}"; do
    "$generator" "$rows" 1 "$work/ref.parquet"
    "$generator" "$rows" 2 "$work/cur.parquet" drifted
    measure "startup (--version)" "$mlops" --version
    measure "drift --json, defaults, $rows + $rows rows x 25 columns" \
        "$mlops" -q drift --reference "$work/ref.parquet" "$work/cur.parquet" --json --no-fail
    measure "drift --json --test ks (numeric columns), $rows + $rows rows" \
        "$mlops" -q drift --reference "$work/ref.parquet" "$work/cur.parquet" --json --no-fail \
        --columns "$(seq -s, -f 'n%g' 0 19)" --test ks
    measure "profile, $rows rows x 25 columns" \
        "$mlops" -q profile "$work/ref.parquet" -o "$work/ref.profile"
    measure "drift --json against the profile, $rows rows" \
        "$mlops" -q drift --reference "$work/ref.profile" "$work/cur.parquet" --json --no-fail
    rm -f "$work"/*.parquet "$work"/*.profile
done
