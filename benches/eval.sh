#!/usr/bin/env bash
# Benchmarks `mlops eval` on generated Parquet files (1M and 10M rows by default): a binary task
# with a score, five slicing columns and three sensitive columns (their intersection), as the eval
# issue specifies. Prints a Markdown table: wall time, CPU time (user+sys) and peak memory.
# Not a test: nothing here asserts a time.
#
# Usage: benches/eval.sh [ROWS...]     Env: MLOPS (binary, default target/release/mlops)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mlops=${MLOPS:-$root/target/release/mlops}
[ -x "$mlops" ] || { echo "build first: cargo build --release" >&2; exit 2; }
cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bench eval_data
generator=$(ls -t "$root"/target/release/deps/eval_data-* | grep -v '\.d$' | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
timing=$(mktemp)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000)

measure() {
    local label=$1; shift
    /usr/bin/time -f "%e %U %S %M" -o "$timing" "$@" >/dev/null 2>"$work/last.err" || {
        local rc=$?; [ $rc -eq 1 ] || { echo "$label failed ($rc):"; cat "$work/last.err"; exit 1; } >&2
    }
    read -r wall user sys rss_kib <"$timing"
    printf '| %s | %.2f s | %.2f s | %.0f MiB |\n' "$label" "$wall" "$(echo "$user + $sys" | bc -l)" "$(echo "$rss_kib / 1024" | bc -l)"
}

echo "| operation | wall | CPU | peak RSS |"
echo "|---|---|---|---|"
for rows in "${sizes[@]}"; do
    file="$work/eval-$rows.parquet"
    "$generator" "$rows" "$file"
    measure "overall metrics, $rows rows" "$mlops" -q eval "$file" --score score
    measure "overall + 5 slice columns + fairness over 3 sensitive columns, $rows rows" "$mlops" -q eval "$file" --score score \
        --slice region --slice segment --slice channel --slice age --slice income \
        --sensitive sex --sensitive race --sensitive senior --privileged sex=m
    rm -f "$file"
done
