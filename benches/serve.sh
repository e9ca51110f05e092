#!/usr/bin/env bash
# Benchmarks `mlops serve` under load (issue 17, item 8): an MLP 32 -> 64 -> 64 -> 1 (relu,
# sigmoid; trained here on generated data, the shape of the predict benchmark's) served on
# 127.0.0.1, loaded with wrk through the Open Inference Protocol (KServe V2: one FP32 tensor
# [N, 32] per request): 1 row per request at 16 connections, then 100 rows per request at 8, each
# for DUR seconds after a 2 s warm-up; once with each request scored alone and once with
# micro-batching (--batch-wait), and once through a shadow route (a copy of the model scores
# every request after its answer). Prints a Markdown table: requests/s, rows/s, p50 and p99 latency,
# the server's peak RSS, and the time from start to the ready line. Then, when MLServer's venv
# is there ($SERVE_VENV, made by the side-by-side harness), runs that harness (SERVE_BENCH,
# default ../shared/bench/serve.sh beside the repository), which serves the same MLP with Seldon
# MLServer 1.7 and mlops one after the other and prints both. Not a test: nothing here asserts
# a time. wrk shares the machine's cores with the server: on a small machine the generator is
# part of what is measured.
#
# Usage: benches/serve.sh [DUR]   (seconds per phase, default 10)
# Env: MLOPS (binary, default $CARGO_TARGET_DIR or target/, then release/mlops), BATCH_WAIT
# (microseconds, default 1000), WRK_THREADS (default 1, as the harness), SERVE_VENV, SERVE_BENCH,
# SCALE (passed to the harness, default 0.34: 5 s phases).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mlops=${MLOPS:-${CARGO_TARGET_DIR:-$root/target}/release/mlops}
[ -x "$mlops" ] || { echo "build first: cargo build --release" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is missing" >&2; exit 2; }
dur=${1:-10}
batch_wait=${BATCH_WAIT:-1000}
wrk_threads=${WRK_THREADS:-1}
work=$(mktemp -d)
server_pid=
stop_server() {
    [ -n "$server_pid" ] || return 0
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
source "$root/benches/lib.sh"

# The model: trained on 20,000 generated rows of x0..x31, as the predict benchmark's.
generator=$(generator infer_data)
"$generator" 20000 2 "$work/sample.parquet"
"$mlops" -q train --data "$work/sample.parquet" --label label --exclude id \
    --model mlp --hidden 64,64 --epochs 3 -o "$work/mlp" >/dev/null

# Request bodies (inputs rounded to 4 decimals, as the harness's) and wrk scripts that POST one
# and print their figures on one line.
python3 - "$work" <<'EOF'
import json, random, sys
random.seed(7)
for n in (1, 100):
    data = [round(random.gauss(0, 1), 4) for _ in range(n * 32)]
    body = {"inputs": [{"name": "input-0", "shape": [n, 32], "datatype": "FP32", "data": data}]}
    with open(f"{sys.argv[1]}/body{n}.json", "w") as f:
        json.dump(body, f, separators=(",", ":"))
EOF
for n in 1 100; do
    cat >"$work/wrk$n.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open([==[$work/body$n.json]==], "rb"))
wrk.body = f:read("*a")
f:close()
function done(summary, latency, requests)
  local e = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format("WRKSTATS %d %d %d %d %d\n", summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e))
end
EOF
done

# start_server ARGS...: starts `mlops serve ARGS` on a free port and waits for its ready line;
# sets $server_pid, $url and $ready_s (seconds from start to the ready line, polled every few
# ms). The model (or route) answering is `mlp`.
start_server() {
    local t0 t1 address
    : >"$work/serve.out"
    t0=$(date +%s.%N)
    "$mlops" serve "$@" --host 127.0.0.1 --port 0 --no-log >"$work/serve.out" 2>"$work/serve.err" &
    server_pid=$!
    until address=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/serve.out"); do
        kill -0 "$server_pid" 2>/dev/null || { echo "mlops serve did not start: $(cat "$work/serve.err")" >&2; exit 1; }
        sleep 0.002
    done
    t1=$(date +%s.%N)
    ready_s=$(echo "$t1 - $t0" | bc -l)
    url="$address/v2/models/mlp/infer"
    curl -sf -H 'Content-Type: application/json' --data-binary "@$work/body100.json" "$url" >/dev/null ||
        { echo "the check request failed" >&2; exit 1; }
}

# VmHWM of the server (its peak RSS so far), in MiB.
peak_mib() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$server_pid/status"; }

# load LABEL ROWS CONNS: wrk for $dur seconds; prints one table row.
load() {
    local label=$1 rows=$2 conns=$3 stats
    stats=$(wrk -t"$wrk_threads" -c"$conns" -d"${dur}s" --timeout 10s -s "$work/wrk$rows.lua" "$url" | grep '^WRKSTATS')
    read -r _ requests micros p50 p99 errors <<<"$stats"
    [ "$errors" -eq 0 ] || echo "($label: $errors wrk errors)" >&2
    awk -v l="$label" -v n="$requests" -v us="$micros" -v r="$rows" -v c="$conns" -v a="$p50" -v b="$p99" \
        -v m="$(peak_mib)" -v s="$ready_s" 'BEGIN {
        sec = us / 1e6
        printf "| %s | %d x %d | %.0f | %.0f | %.2f | %.2f | %s | %.3f |\n", l, r, c, n / sec, n * r / sec, a / 1000, b / 1000, m, s }'
}

echo "mlops serve, $(nproc) cores, wrk -t$wrk_threads, ${dur} s per phase after a 2 s warm-up, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| server | rows x connections | requests/s | rows/s | p50 ms | p99 ms | peak RSS MiB | start to ready s |"
echo "|---|---|---|---|---|---|---|---|"
# A shadow route: `mlp` answers, a copy of it scores every request after the answer is ready.
cp -r "$work/mlp" "$work/candidate"
cat >"$work/shadow.yaml" <<EOF
models: {champion: mlp, candidate: candidate}
route: {name: mlp, strategy: shadow, shadow: {model: candidate}}
EOF
for config in alone batched shadow; do
    case $config in
        alone) args=("$work/mlp") label="mlops serve" ;;
        batched) args=("$work/mlp" --batch-wait "$batch_wait") label="mlops serve --batch-wait $batch_wait" ;;
        shadow) args=(--config "$work/shadow.yaml") label="mlops serve, shadow route" ;;
    esac
    start_server "${args[@]}"
    wrk -t"$wrk_threads" -c16 -d2s -s "$work/wrk1.lua" "$url" >/dev/null
    load "$label" 1 16
    load "$label" 100 8
    stop_server
done

# Side by side with Seldon MLServer 1.7 (scikit-learn runtime), the harness's own run.
venv=${SERVE_VENV:-$HOME/.cache/mlops-bench-serve-venv}
harness=${SERVE_BENCH:-$root/../shared/bench/serve.sh}
echo
if [ -d "$venv" ] && [ -f "$harness" ]; then
    echo "side by side with MLServer ($harness, SCALE=${SCALE:-0.34}, RUNS=1):"
    MLOPS="$mlops" SCALE=${SCALE:-0.34} RUNS=1 SERVE_VENV="$venv" bash "$harness"
else
    echo "MLServer comparison skipped: it needs MLServer's venv ($venv) and the side-by-side harness"
    echo "($harness, which makes the venv on first use): MLOPS=$mlops bash path/to/bench/serve.sh"
fi
