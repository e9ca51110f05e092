#!/usr/bin/env bash
# Benchmarks `mlops run` on a generated pipeline of 100 trivial stages (a chain of 50, and a fan-out
# of 50 independent stages), next to the floor: the same commands run by one shell script. Prints a
# Markdown table: wall time, CPU time (user+sys) and peak resident memory per row. Not a test.
#
# Usage: benches/pipeline.sh         Env: MLOPS (binary, default $CARGO_TARGET_DIR or target/, then release/mlops)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mlops=${MLOPS:-${CARGO_TARGET_DIR:-$root/target}/release/mlops}
[ -x "$mlops" ] || { echo "build first: cargo build --release" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

MEASURE_DECIMALS=3
source "$root/benches/lib.sh"

cd "$work"
git init -q -b main .
"$mlops" -q init
echo seed >input.txt
printf 'fan:\n  factor: 1\n' >params.yaml
pipeline_100 >mlops.yaml
mkdir -p chain fan
# The floor: the same 100 commands, one after another, from one shell.
pipeline_100_floor >floor.sh

echo "| operation | wall | CPU | peak RSS |"
echo "|---|---|---|---|"
measure "floor: the 100 commands from one shell script" bash floor.sh
rm -rf chain/* fan/*
measure "first run, 100 stages, -j 1" "$mlops" -q run -j 1
measure "no-op run, 100 stages" "$mlops" -q run
measure "dry run, 100 stages" "$mlops" -q run --dry-run
printf 'fan:\n  factor: 2\n' >params.yaml
measure "50 stages rerun after a param change, -j 1" "$mlops" -q run -j 1
printf 'fan:\n  factor: 1\n' >params.yaml
measure "50 stages restored from the run cache (param reverted)" "$mlops" -q run -j 1
"$mlops" -q run --force -j 2 >/dev/null
measure "all 100 stages forced, -j 2" "$mlops" -q run --force -j 2

# Parallelism: 4 independent stages that each sleep 1 s.
mkdir -p sleepy && cd sleepy && git init -q -b main . && "$mlops" -q init
{
    echo "stages:"
    for i in 1 2 3 4; do
        echo "  nap$i:"
        echo "    cmd: sleep 1 && echo $i > nap$i.txt"
        echo "    outs: [nap$i.txt]"
    done
} >mlops.yaml
measure "4 independent stages sleeping 1 s, -j 1" "$mlops" -q run -j 1 --force
measure "4 independent stages sleeping 1 s, -j 2" "$mlops" -q run -j 2 --force
