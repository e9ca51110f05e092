#!/usr/bin/env bash
# Benchmarks reading inputs from S3 (issue 16's target: `drift` reading its two inputs from a
# local S3 server takes at most 1.5x the time of the same files on local disk): the drift
# benchmark's reference and current Parquet files (ROWS rows x 25 columns), read from disk, then
# as s3:// URLs from a local moto server; also `eval`-style projection (2 of the 25 columns).
# Prints a Markdown table: wall time, CPU time (user+sys) and peak memory of the client (moto's
# own time is in the wall time). Not a test: nothing here asserts a time.
#
# Usage: benches/s3_read.sh [ROWS...]   (default 1000000)
# Env: MLOPS (binary, default $CARGO_TARGET_DIR or target/, then release/mlops)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mlops=${MLOPS:-${CARGO_TARGET_DIR:-$root/target}/release/mlops}
[ -x "$mlops" ] || { echo "build first: cargo build --release" >&2; exit 2; }
work=$(mktemp -d)
moto_pid=
cleanup() {
    [ -z "$moto_pid" ] || kill "$moto_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000)
source "$root/benches/lib.sh"
generator=$(generator drift_data)

start_moto
# The client reads the endpoint as the AWS SDKs do.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=$endpoint AWS_ALLOW_HTTP=true
"$python" -c "
import boto3
boto3.client('s3', endpoint_url='$endpoint').create_bucket(Bucket='mlops-bench')
"

echo "| operation | wall | CPU | peak RSS |"
echo "|---|---|---|---|"
for rows in "${sizes[@]}"; do
    "$generator" "$rows" 1 "$work/ref.parquet"
    "$generator" "$rows" 2 "$work/cur.parquet" drifted
    "$python" -c "
import boto3, sys
s3 = boto3.client('s3', endpoint_url='$endpoint')
for name in ('ref', 'cur'): s3.upload_file(f'$work/{name}.parquet', 'mlops-bench', f'd/{name}.parquet')
"
    local_args=(--reference "$work/ref.parquet" "$work/cur.parquet")
    s3_args=(--reference s3://mlops-bench/d/ref.parquet s3://mlops-bench/d/cur.parquet)
    # Twice each, alternating, so that neither side gets a warmer page cache.
    for round in 1 2; do
        measure "drift, local disk, $rows + $rows rows x 25 columns (round $round)" \
            "$mlops" -q drift "${local_args[@]}" --json --no-fail
        measure "drift, s3:// on local moto, $rows + $rows rows x 25 columns (round $round)" \
            "$mlops" -q drift "${s3_args[@]}" --json --no-fail
    done
    measure "drift, local disk, 2 of 25 columns" \
        "$mlops" -q drift "${local_args[@]}" --json --no-fail --columns n0,c0
    measure "drift, s3:// on local moto, 2 of 25 columns" \
        "$mlops" -q drift "${s3_args[@]}" --json --no-fail --columns n0,c0
    rm -f "$work"/*.parquet
done
