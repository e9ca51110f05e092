#!/usr/bin/env bash
# Benchmarks S3 remotes against a local moto server (issue 16's target: push, then pull into an
# empty cache, at least 5x faster than `dvc push`/`dvc pull` with dvc-s3): 10,000 files of 4 KiB,
# and one 1 GiB file, side by side with DVC on the same server. Prints a Markdown table: wall time,
# CPU time (user+sys) and peak memory of the client (moto's own time is in the wall time). Not a
# test: nothing here asserts a time.
#
# Usage: benches/s3.sh [FILES] [BIG_MIB]   (defaults 10000 and 1024)
# Env: MLOPS (binary, default $CARGO_TARGET_DIR or target/, then release/mlops), DVC (default
# ~/.cache/mlops-bench-venv/bin/dvc; needs dvc-s3 installed there), JOBS (-j for both tools).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mlops=${MLOPS:-${CARGO_TARGET_DIR:-$root/target}/release/mlops}
[ -x "$mlops" ] || { echo "build first: cargo build --release" >&2; exit 2; }
dvc=${DVC:-$HOME/.cache/mlops-bench-venv/bin/dvc}
files=${1:-10000}
big_mib=${2:-1024}
work=$(mktemp -d)
moto_pid=
cleanup() {
    [ -z "$moto_pid" ] || kill "$moto_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
source "$root/benches/lib.sh"

start_moto
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
"$python" -c "
import boto3
s3 = boto3.client('s3', endpoint_url='$endpoint')
for b in ('mlops-bench', 'dvc-bench'): s3.create_bucket(Bucket=b)
"

# The data, generated once and copied into both projects.
"$python" -c "
import os, sys
n, d = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    sub = os.path.join(d, f'{i % 100:02d}')
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, f'f{i}.bin'), 'wb') as f: f.write(os.urandom(4096))
" "$files" "$work/src/small"
head -c "$((big_mib * 1024 * 1024))" /dev/urandom >"$work/src/big.bin"

jobs=()
[ -z "${JOBS:-}" ] || jobs=(-j "$JOBS")

mkdir -p "$work/m" "$work/d"
(cd "$work/m" && git init -q && "$mlops" -q init >/dev/null && cp -r "$work/src/small" "$work/src/big.bin" . \
    && "$mlops" -q add small big.bin >/dev/null \
    && "$mlops" -q remote add --default origin s3://mlops-bench/m --endpoint-url "$endpoint")
(cd "$work/d" && git init -q && "$dvc" init -q && cp -r "$work/src/small" "$work/src/big.bin" . \
    && "$dvc" add -q small big.bin >/dev/null \
    && "$dvc" remote add -d origin s3://dvc-bench/d >/dev/null \
    && "$dvc" remote modify origin endpointurl "$endpoint")

echo "| operation | wall | CPU | peak RSS |"
echo "|---|---|---|---|"
label() { if [ "$1" = small ]; then echo "$files files x 4 KiB"; else echo "1 file of $big_mib MiB"; fi; }
# Both pushes first: each pull then starts from an empty cache and no workspace copy, as in a
# fresh clone.
for what in small big.bin; do
    (cd "$work/m" && measure "mlops push, $(label $what)" "$mlops" -q push "${jobs[@]}" "$what")
    (cd "$work/d" && measure "dvc push, $(label $what)" "$dvc" push -q "${jobs[@]}" "$what.dvc")
done
for what in small big.bin; do
    cd "$work/m"
    rm -rf .mlops/cache "$what"
    measure "mlops pull, $(label $what)" "$mlops" -q pull "${jobs[@]}" "$what"
    diff -rq "$what" "$work/src/$what" >/dev/null || { echo "mlops pulled other bytes" >&2; exit 1; }
    cd "$work/d"
    rm -rf .dvc/cache "$what"
    measure "dvc pull, $(label $what)" "$dvc" pull -q "${jobs[@]}" "$what.dvc"
done
