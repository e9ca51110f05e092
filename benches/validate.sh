#!/usr/bin/env bash
# Benchmarks `mlops validate check` on a generated Parquet file (10M rows x 20 columns by
# default) against 30 rules: the issue's performance target. mlops runs twice: with the ids in
# order (as ids usually come) and in no order (the uniqueness rules' hash tables at full size).
# With GE_PYTHON set to a Python that has great-expectations 1.24.1, pandas<3 and pyarrow
# (scripts/golden/validate_ge.py says how to make one), Great Expectations (pandas engine)
# checks the same rules beside (benches/validate_anchor.py). Prints a Markdown table: wall
# time, CPU time (user+sys), peak memory.
# Not a test: nothing here asserts a time.
#
# Usage: benches/validate.sh [ROWS]     Env: MLOPS (binary, default $CARGO_TARGET_DIR or target/,
# then release/mlops), GE_PYTHON
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mlops=${MLOPS:-${CARGO_TARGET_DIR:-$root/target}/release/mlops}
[ -x "$mlops" ] || { echo "build first: cargo build --release" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rows=${1:-10000000}
source "$root/benches/lib.sh"
generator=$(generator validate_data)
"$generator" "$rows" "$work/data.parquet"
"$generator" "$rows" "$work/shuffled.parquet" shuffled

low=$((rows * 9 / 10))
high=$((rows * 11 / 10))
last=$((rows - 1))
{
    echo "version: 1"
    echo "table:"
    echo "  - {name: rows, expect: table_row_count_to_be_between, min_value: $low, max_value: $high}"
    echo "  - {name: key, expect: compound_columns_to_be_unique, column_list: [id, i0]}"
    echo "columns:"
    echo "  id:"
    echo "    - {name: id.unique, expect: column_values_to_be_unique}"
    echo "    - {name: id.type, expect: column_values_to_be_in_type_list, type_list: [int64]}"
    echo "    - {name: id.range, expect: column_values_to_be_between, min_value: 0, max_value: $last}"
    echo "  i0:"
    echo "    - {name: i0.type, expect: column_values_to_be_in_type_list, type_list: [int64]}"
    echo "    - {name: i0.range, expect: column_values_to_be_between, min_value: 0, max_value: 999}"
    for c in 1 2 3 4 5 6; do
        echo "  i$c:"
        echo "    - {name: i$c.range, expect: column_values_to_be_between, min_value: 0, max_value: 999}"
    done
    echo "  f0:"
    echo "    - {name: f0.nulls, expect: column_values_to_not_be_null, mostly: 0.98}"
    echo "    - {name: f0.range, expect: column_values_to_be_between, min_value: 0, max_value: 1}"
    for c in 1 2 3 4 5 6 7; do
        echo "  f$c:"
        echo "    - {name: f$c.range, expect: column_values_to_be_between, min_value: 0, max_value: 1, mostly: 0.99}"
    done
    echo "  c0:"
    echo "    - {name: c0.nulls, expect: column_values_to_not_be_null}"
    echo "    - {name: c0.set, expect: column_values_to_be_in_set, value_set: [alpha, beta, gamma, delta, eps, zeta]}"
    echo "  c1:"
    echo "    - {name: c1.nulls, expect: column_values_to_not_be_null}"
    echo "    - {name: c1.set, expect: column_values_to_be_in_set, value_set: [alpha, beta, gamma, delta, eps, zeta]}"
    echo "  c2:"
    echo "    - {name: c2.nulls, expect: column_values_to_not_be_null}"
    echo "    - {name: c2.length, expect: column_value_lengths_to_be_between, min_value: 1, max_value: 3}"
    echo "  c3:"
    echo "    - {name: c3.nulls, expect: column_values_to_not_be_null}"
    echo "    - {name: c3.pattern, expect: column_values_to_match_regex, regex: '^[a-z]+$'}"
} >"$work/schema.yaml"

echo "| operation ($rows rows x 20 columns, 30 rules) | wall | CPU | peak RSS |"
echo "|---|---|---|---|"
measure "mlops validate check" "$mlops" -q validate check --schema "$work/schema.yaml" "$work/data.parquet" --id id
measure "mlops validate check, ids in no order" "$mlops" -q validate check --schema "$work/schema.yaml" "$work/shuffled.parquet" --id id
if [ -n "${GE_PYTHON:-}" ]; then
    measure "Great Expectations 1.24.1 (pandas), the same rules" \
        "$GE_PYTHON" "$root/benches/validate_anchor.py" "$work/schema.yaml" "$work/data.parquet"
fi
