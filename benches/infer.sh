#!/usr/bin/env bash
# Benchmarks `mlops predict` and `mlops train` on generated Parquet: ROWS rows x 32 float
# columns. Scores with an MLP 32 -> 64 -> 64 -> 1 (relu, sigmoid; trained here on a small
# sample) at the default batch of 8192 rows, on one thread and on all cores, and trains a
# logistic model on all rows, with the default newton solver and with AdamW for 5 epochs.
# Prints a Markdown table of wall time, CPU time (user+sys) and peak memory, then the scoring
# rates: end to end (Parquet to Parquet) and of the network alone (the time predict spends in
# the network, from its --json report), and plain candle-nn layers running the same network on
# one thread, for reference. Not a test: nothing here asserts a time.
#
# Usage: benches/infer.sh [ROWS]     Env: MLOPS (binary, default $CARGO_TARGET_DIR or target/, then release/mlops)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mlops=${MLOPS:-${CARGO_TARGET_DIR:-$root/target}/release/mlops}
[ -x "$mlops" ] || { echo "build first: cargo build --release" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rows=${1:-1000000}
cores=$(nproc)

source "$root/benches/lib.sh"
generator=$(generator infer_data)
"$generator" "$rows" 1 "$work/data.parquet"
"$generator" 20000 2 "$work/sample.parquet"

echo "| operation | wall | CPU | peak RSS |"
echo "|---|---|---|---|"
measure "train mlp 32-64-64-1, 20000 rows, 3 epochs" \
    "$mlops" -q train --data "$work/sample.parquet" --label label --exclude id \
    --model mlp --hidden 64,64 --epochs 3 -o "$work/mlp"
measure "train logistic (newton, the default), $rows rows x 32 columns" \
    "$mlops" -q train --data "$work/data.parquet" --label label --exclude id \
    --model logistic -o "$work/logistic"
measure "train logistic (--solver adamw), $rows rows x 32 columns, 5 epochs" \
    "$mlops" -q train --data "$work/data.parquet" --label label --exclude id \
    --model logistic --solver adamw --epochs 5 -o "$work/logistic-adamw"
rates=()
for threads in 1 "$cores"; do
    measure "predict mlp, $rows rows, --threads $threads" \
        "$mlops" -q --json predict --model "$work/mlp" "$work/data.parquet" --keep id \
        -o "$work/scores.parquet" --threads "$threads"
    rates+=("$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("| %s | %.2f M rows/s | %.2f M rows/s |" % (sys.argv[2], r["rows_read"] / r["seconds"] / 1e6,
      r["rows_read"] / r["compute_seconds"] / 1e6))' "$work/.last.out" "$threads")")
done
echo
echo "| threads | end to end | network alone |"
echo "|---|---|---|"
printf '%s\n' "${rates[@]}"
echo
# The same network with plain candle-nn layers, now, on this machine: the figures above read
# against it (the machine's speed varies with its neighbours). Once as is, once with glibc told
# to keep freed memory, as predict does.
reference() {
    RAYON_NUM_THREADS=1 CANDLE_NUM_THREADS=1 cargo bench --quiet --manifest-path "$root/Cargo.toml" \
        -p mlops-infer --bench candle_nn 2>/dev/null
}
reference
keep=268435456
GLIBC_TUNABLES=glibc.malloc.trim_threshold=$keep:glibc.malloc.mmap_threshold=$keep reference |
    sed 's/^candle-nn alone/candle-nn alone, glibc keeping freed memory/'
