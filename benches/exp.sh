#!/usr/bin/env bash
# Benchmarks `mlops exp run` on a 12-experiment grid (train.lr in 0.001,0.01,0.1 x train.depth in
# range(3,7)) over a 3-stage pipeline whose first stage is cached (prepare: a copy of a tracked
# data file, unchanged across experiments; train and evaluate: a little fixed work each), with
# -j 1 and -j 2, side by side with DVC on the same pipeline: `dvc exp run --queue` with the same
# sweep + `dvc queue start -j N`, waiting until the 12 experiments are done. Then `mlops exp show`
# (text and --json, best of 3) over 1,000 experiments of HEAD (the 12 run here and 988 written
# with git plumbing). Prints Markdown tables. Not a test: nothing here asserts a time.
#
# Overhead per experiment = (jobs x wall - the stages' own time) / 12: the time each worker spends
# on anything but running a stage's command (worktree or temp copy, param apply, restoring the
# cached stage, record, and for DVC the queue). The stages' own time is, for mlops, the sum of the
# `duration_s` of its `"event":"stage"` JSON lines whose stage ran; for DVC, the time each stage
# script measures itself ($BENCH_STAGE_TIMES, a file outside the repository; the same figure is
# printed for mlops as a cross-check). The issue's targets: mlops <= 100 ms per experiment, >= 10x
# less than DVC; exp show over 1,000 experiments <= 0.5 s.
#
# Usage: benches/exp.sh
# Env: MLOPS (binary, default $CARGO_TARGET_DIR or target/, then release/mlops), DVC (default
# ~/.cache/mlops-bench-venv/bin/dvc, the venv of ../shared/bench/lib.sh, then `dvc` on PATH; when
# there is none, the DVC half is skipped with a note), DVC_JOBS (default "1 2"; empty: no DVC), DVC_TIMEOUT
# (seconds one DVC grid may take, default 900). When the queue's worker cannot run (no worker
# left and nothing done for 20 s), DVC runs the grid with `dvc exp run --temp`, one experiment
# after another, and a note says so. DVC's row stops its clock when the 12th experiment's ref
# appears (its worker's shutdown is not counted).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mlops=${MLOPS:-${CARGO_TARGET_DIR:-$root/target}/release/mlops}
[ -x "$mlops" ] || { echo "build first: cargo build --release" >&2; exit 2; }
mlops=$(cd "$(dirname "$mlops")" && pwd)/$(basename "$mlops")
dvc=${DVC:-$HOME/.cache/mlops-bench-venv/bin/dvc}
[ -x "$dvc" ] || dvc=$(command -v dvc 2>/dev/null || true)
dvc_jobs=${DVC_JOBS-1 2}
dvc_timeout=${DVC_TIMEOUT:-900}
work=$(mktemp -d)

# DVC's queue workers are detached processes that outlive `dvc queue start`; each writes its pid
# under .dvc/tmp/exps/celery. stop_workers DIR ends the ones of that repository.
stop_workers() {
    local f pid
    for f in "$1"/.dvc/tmp/exps/celery/dvc-exp-worker-*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f" 2>/dev/null) || continue
        case "$pid" in '' | *[!0-9]*) continue ;; esac
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
}
cleanup() {
    local d
    for d in "$work"/dvc-*; do [ -d "$d" ] && stop_workers "$d"; done
    rm -rf "$work"
}
trap cleanup EXIT

export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
export GIT_CONFIG_NOSYSTEM=1
# No telemetry, no update check, no user or system DVC config; DVC's state goes under $work.
export DVC_NO_ANALYTICS=1 DO_NOT_TRACK=1 ITERATIVE_DO_NOT_TRACK=1 DVC_STUDIO_OFFLINE=1
export DVC_GLOBAL_CONFIG_DIR="$work/dvc-config/global" DVC_SYSTEM_CONFIG_DIR="$work/dvc-config/system"
export DVC_SITE_CACHE_DIR="$work/dvc-site"

sweep=(-S 'train.lr=0.001,0.01,0.1' -S 'train.depth=range(3,7)')
n_exps=12
now() { echo "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }
log() { echo "$*" >&2; }
# stage_sum FILE: the seconds the stage scripts measured (lines "STAGE START END")
stage_sum() { if [ -f "$1" ]; then awk '{ s += $3 - $2 } END { printf "%.4f", s }' "$1"; else echo 0; fi; }
# overhead_ms JOBS WALL STAGE: per experiment
overhead_ms() { awk -v j="$1" -v w="$2" -v s="$3" -v n=$n_exps 'BEGIN { printf "%.0f", (j * w - s) * 1000 / n }'; }

# The data (tracked by each tool) and the stage script, the same for both tools. Baseline params
# outside the grid, so that every experiment runs train and evaluate.
awk 'BEGIN { for (i = 1; i <= 20000; i++) printf "%d,%d,%.4f\n", i, i % 7, (i * 7919 % 10007) / 10007 }' >"$work/data.csv"
cat >"$work/stage.sh" <<'EOF'
# stage.sh NAME [LR DEPTH]: one stage of the benchmark pipeline. Appends "NAME START END" (its
# own run time) to $BENCH_STAGE_TIMES.
t0=$EPOCHREALTIME
case $1 in
prepare) sleep 0.05; cp data.csv prepared.csv ;;
train) sleep 0.05
    awk -F, -v lr="$2" -v d="$3" '{ w += lr * $3 * ($2 % d) } END { printf "%s %s %.6f\n", lr, d, w / NR }' prepared.csv >model.txt ;;
evaluate) sleep 0.05; read -r lr d w <model.txt
    awk -v lr="$lr" -v d="$d" -v w="$w" 'BEGIN { printf "{\"score\": %.6f}\n", 1 - (lr - 0.01) ^ 2 - 1 / (d * d) + w / 1000 }' >metrics.json ;;
esac
echo "$1 $t0 $EPOCHREALTIME" >>"${BENCH_STAGE_TIMES:-/dev/null}"
EOF
pipeline() { # pipeline METRICS_ENTRY
    cat <<EOF
stages:
  prepare:
    cmd: bash stage.sh prepare
    deps: [stage.sh, data.csv]
    outs: [prepared.csv]
  train:
    cmd: bash stage.sh train \${train.lr} \${train.depth}
    deps: [stage.sh, prepared.csv]
    params: [train.lr, train.depth]
    outs: [model.txt]
  evaluate:
    cmd: bash stage.sh evaluate
    deps: [stage.sh, model.txt]
    metrics: [$1]
EOF
}

# project TOOL DIR: a git repository with the pipeline, run once at the baseline and committed
project() {
    local tool=$1 dir=$2
    mkdir -p "$dir" && cd "$dir"
    git init -q -b main .
    cp "$work/data.csv" "$work/stage.sh" .
    printf 'train:\n  lr: 0.05\n  depth: 8\n' >params.yaml
    if [ "$tool" = mlops ]; then
        "$mlops" -q init >/dev/null
        "$mlops" -q add data.csv >/dev/null
        pipeline metrics.json >mlops.yaml
        "$mlops" -q run >/dev/null
    else
        "$dvc" init -q
        "$dvc" config core.analytics false
        "$dvc" config core.check_update false
        "$dvc" add -q data.csv >/dev/null
        pipeline '{metrics.json: {cache: false}}' >dvc.yaml
        "$dvc" repro -q >/dev/null
    fi
    git add -A && git commit -qm baseline
    [ -z "$(git status --porcelain)" ] || { echo "$tool: the baseline run left changes:"; git status --short; exit 1; } >&2
}

rows=() # "tool|jobs|wall|stage|overhead_ms"
notes=()
# check_failed TEXT: a disagreement, on stderr now and under the tables
check_failed() { echo "CHECK FAILED: $*" >&2; notes+=("CHECK FAILED: $*"); }
declare -A dvc_overhead mlops_own
# check_times FILE LABEL: every experiment ran train and evaluate, none ran the cached prepare
check_times() {
    local counts
    counts=$(awk '{ c[$1]++ } END { printf "%d %d %d", c["prepare"], c["train"], c["evaluate"] }' "$1" 2>/dev/null || echo "? ? ?")
    [ "$counts" = "0 $n_exps $n_exps" ] ||
        check_failed "$2: the stage scripts ran prepare, train, evaluate $counts times, not 0 $n_exps $n_exps"
}

run_mlops() {
    local j=$1 dir="$work/mlops-j$1" times="$work/times.mlops-j$1" t0 t1 wall stage own n
    project mlops "$dir"
    log "mlops exp run -j $j ..."
    t0=$(now)
    BENCH_STAGE_TIMES=$times "$mlops" --json exp run "${sweep[@]}" -j "$j" >"$work/mlops-j$j.jsonl" 2>"$work/mlops-j$j.err" ||
        { echo "mlops exp run -j $j failed:"; tail -n 20 "$work/mlops-j$j.err"; exit 1; } >&2
    t1=$(now)
    wall=$(elapsed "$t0" "$t1")
    stage=$(awk '/"event":"stage"/ && /"status":"ran"/ && match($0, /"duration_s":[0-9.eE+-]+/) {
        s += substr($0, RSTART + 13, RLENGTH - 13) } END { printf "%.4f", s }' "$work/mlops-j$j.jsonl")
    own=$(stage_sum "$times")
    n=$(git -C "$dir" for-each-ref refs/mlops/exps | wc -l)
    [ "$n" -eq $n_exps ] || check_failed "mlops exp run -j $j recorded $n experiments, not $n_exps"
    check_times "$times" "mlops exp run -j $j"
    rows+=("mlops exp run|$j|$wall|$stage|$(overhead_ms "$j" "$wall" "$stage")")
    mlops_own[$j]="$own $(overhead_ms "$j" "$wall" "$own")"
    log "  ${wall} s"
}

# dvc_refs DIR, dvc_failed DIR: experiments finished (refs) and failed (celery results) so far
dvc_refs() { git -C "$1" for-each-ref --format='%(refname)' refs/exps/ | grep -c -v -e '^refs/exps/celery/' -e '^refs/exps/exec/' || true; }
dvc_failed() { { grep -l '"status": "FAILURE"' "$1"/.dvc/tmp/exps/celery/result/* 2>/dev/null || true; } | wc -l; }
dvc_workers_alive() {
    local f pid
    for f in "$1"/.dvc/tmp/exps/celery/dvc-exp-worker-*.pid; do
        [ -f "$f" ] && pid=$(cat "$f" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && return 0
    done
    return 1
}

# run_dvc_queue JOBS: returns 1 when the queue could not be used (the caller falls back)
run_dvc_queue() {
    local j=$1 dir="$work/dvc-j$1" times="$work/times.dvc-j$1" t0 t1 wall stage ok=0 failed=0 seen=0 last start_ok
    project dvc "$dir"
    log "dvc exp run --queue + dvc queue start -j $j ..."
    export BENCH_STAGE_TIMES=$times
    t0=$(now)
    "$dvc" exp run --queue "${sweep[@]}" >"$work/dvc-j$j.log" 2>&1 ||
        { echo "dvc exp run --queue failed:"; tail -n 20 "$work/dvc-j$j.log"; unset BENCH_STAGE_TIMES; return 1; } >&2
    start_ok=true
    "$dvc" queue start -j "$j" >>"$work/dvc-j$j.log" 2>&1 || start_ok=false
    last=$t0
    while $start_ok; do
        ok=$(dvc_refs "$dir")
        failed=$(dvc_failed "$dir")
        [ $((ok + failed)) -ge $n_exps ] && break
        t1=$(now)
        if [ $((ok + failed)) -gt "$seen" ]; then seen=$((ok + failed)); last=$t1; fi
        # no worker left and nothing finished for 20 s, or too long in all: the queue is unusable
        if awk -v a="$t0" -v b="$t1" -v m="$dvc_timeout" 'BEGIN { exit !(b - a > m) }' ||
            { ! dvc_workers_alive "$dir" && awk -v a="$last" -v b="$t1" 'BEGIN { exit !(b - a > 20) }'; }; then
            start_ok=false
            break
        fi
        sleep 0.1
    done
    t1=$(now)
    unset BENCH_STAGE_TIMES
    stop_workers "$dir"
    if ! $start_ok || [ "$ok" -eq 0 ]; then
        { echo "dvc queue did not run the experiments ($ok done, $failed failed); its log:"
          tail -n 20 "$work/dvc-j$j.log"
          tail -n 20 "$dir"/.dvc/tmp/exps/celery/dvc-exp-worker-*.out 2>/dev/null || true; } >&2
        return 1
    fi
    [ "$failed" -eq 0 ] || check_failed "$failed of DVC's $n_exps queued experiments (-j $j) failed"
    wall=$(elapsed "$t0" "$t1")
    stage=$(stage_sum "$times")
    check_times "$times" "dvc queue -j $j"
    dvc_overhead[$j]=$(overhead_ms "$j" "$wall" "$stage")
    rows+=("dvc exp run --queue + queue start|$j|$wall|$stage|${dvc_overhead[$j]}")
    log "  ${wall} s"
    cd "$work" && rm -rf "$dir"
}

# Fallback when the queue (a celery worker) cannot run here: the 12 experiments one after another,
# each `dvc exp run --temp` (a temporary copy, as the queue uses, without the worker).
run_dvc_temp() {
    local dir="$work/dvc-temp" times="$work/times.dvc-temp" t0 t1 wall stage lr d
    project dvc "$dir"
    log "dvc exp run --temp x $n_exps (fallback) ..."
    export BENCH_STAGE_TIMES=$times
    t0=$(now)
    for lr in 0.001 0.01 0.1; do
        for d in 3 4 5 6; do
            "$dvc" exp run --temp -S "train.lr=$lr" -S "train.depth=$d" >>"$work/dvc-temp.log" 2>&1 ||
                { echo "dvc exp run --temp failed:"; tail -n 20 "$work/dvc-temp.log"; exit 1; } >&2
        done
    done
    t1=$(now)
    unset BENCH_STAGE_TIMES
    wall=$(elapsed "$t0" "$t1")
    stage=$(stage_sum "$times")
    check_times "$times" "dvc exp run --temp"
    dvc_overhead[1]=$(overhead_ms 1 "$wall" "$stage")
    rows+=("dvc exp run --temp x $n_exps (fallback)|1|$wall|$stage|${dvc_overhead[1]}")
    cd "$work" && rm -rf "$dir"
}

dvc_version=""
if [ -n "$dvc" ] && dvc_version=$("$dvc" --version 2>/dev/null); then
    # The queue's worker runs `dvc` by name.
    export PATH="$(dirname "$dvc"):$PATH"
else
    dvc=""
    notes+=("DVC not found (DVC=, ~/.cache/mlops-bench-venv/bin/dvc or PATH): its half is skipped. ../shared/bench/pipeline.sh makes that venv on first use, or: python3 -m venv ~/.cache/mlops-bench-venv && ~/.cache/mlops-bench-venv/bin/pip install dvc")
fi
echo "exp benchmark: $("$mlops" --version | head -n 1)${dvc_version:+, DVC $dvc_version}; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo

queue_ok=true
for j in 1 2; do
    run_mlops "$j"
    if [ -n "$dvc" ] && $queue_ok && [[ " $dvc_jobs " == *" $j "* ]]; then
        if ! run_dvc_queue "$j"; then
            queue_ok=false
            notes+=("dvc queue start could not run the experiments here: DVC ran them with \`dvc exp run --temp\`, one after another (-j 1 only)")
            run_dvc_temp
        fi
    fi
done

echo "| $n_exps-experiment grid, 3 stages (first cached) | jobs | wall | stages' own time | overhead per experiment | DVC / mlops overhead |"
echo "|---|---|---|---|---|---|"
for r in "${rows[@]}"; do
    IFS='|' read -r tool j wall stage over <<<"$r"
    ratio="-"
    if [ "${tool%% *}" = mlops ]; then
        ref=${dvc_overhead[$j]:-${dvc_overhead[1]:-}}
        [ -z "$ref" ] || ratio=$(awk -v a="$ref" -v b="$over" 'BEGIN { if (b > 0) printf "%.0fx", a / b; else print "inf" }')
    fi
    printf '| %s | %s | %.2f s | %.2f s | %s ms | %s |\n' "$tool" "$j" "$wall" "$stage" "$over" "$ratio"
done
# mlops' stage time as DVC's is measured (inside the scripts: without starting the process and bash)
for j in 1 2; do
    read -r own over <<<"${mlops_own[$j]}"
    line="mlops -j $j with the stages' time measured inside the scripts, as DVC's: ${own} s, overhead $over ms per experiment"
    ref=${dvc_overhead[$j]:-${dvc_overhead[1]:-}}
    [ -z "$ref" ] || line+=$(awk -v a="$ref" -v b="$over" 'BEGIN { if (b > 0) printf ", DVC / mlops %.0fx", a / b }')
    notes+=("$line")
done
[ -z "${dvc_overhead[1]:-}" ] || [ -n "${dvc_overhead[2]:-}" ] || notes+=("no DVC -j 2 run: the mlops -j 2 ratio is against DVC -j 1")
echo

# exp show over 1,000 experiments: the 12 of the -j 1 run and 988 more commits on HEAD, each with
# HEAD's tree and a format-1 summary line, written by one `git fast-import`.
cd "$work/mlops-j1"
have=$(git for-each-ref refs/mlops/exps | wc -l)
head=$(git rev-parse HEAD)
version=$("$mlops" --version | awk '{ print $2; exit }')
awk -v n=$((1000 - have)) -v head="$head" -v v="$version" -v t0="$(date +%s)" 'BEGIN {
    for (i = 1; i <= n; i++) {
        name = sprintf("bench-%04d", i); lr = sprintf("%.4g", 0.0001 * (1 + i % 100)); d = 2 + i % 10
        score = 1 - (lr - 0.01) ^ 2 - 1 / (d * d)
        p = sprintf("{\"params.yaml:train.depth\":%d,\"params.yaml:train.lr\":%s}", d, lr)
        json = sprintf("{\"format\":1,\"name\":\"%s\",\"baseline\":\"%s\",\"state\":\"done\",\"overrides\":%s,\"params\":%s,\"metrics\":{\"metrics.json:score\":%.6f},\"stages\":{\"evaluate\":\"ran\",\"prepare\":\"restored\",\"train\":\"ran\"},\"duration_s\":0.15,\"mlops_version\":\"%s\"}", name, head, p, p, score, v)
        msg = sprintf("mlops exp %s: train.depth=%d train.lr=%s\n\nmlops-exp: %s\n", name, d, lr, json)
        printf "commit refs/mlops/exps/%s/%s/%s\n", substr(head, 1, 2), substr(head, 3), name
        printf "author bench <bench@example.com> %d +0000\ncommitter bench <bench@example.com> %d +0000\n", t0 + i, t0 + i
        printf "data %d\n%s\nfrom %s\n\n", length(msg), msg, head
    }
}' | git fast-import --quiet
total=$(git for-each-ref refs/mlops/exps | wc -l)
best_of_3() {
    local best="" t0 t1 e
    for _ in 1 2 3; do
        t0=$(now)
        "$@" >"$work/show.out" 2>"$work/show.err" || { echo "$* failed:"; tail -n 20 "$work/show.err"; exit 1; } >&2
        t1=$(now)
        e=$(elapsed "$t0" "$t1")
        best=$(awk -v a="$e" -v b="$best" 'BEGIN { print (b == "" || a < b) ? a : b }')
    done
    echo "$best"
}
show_text=$(best_of_3 "$mlops" exp show)
text_rows=$(grep -c '── ' "$work/show.out" || true)
show_json=$(best_of_3 "$mlops" --json exp show)
json_rows=$(grep -c '"kind": *"experiment"' "$work/show.out" || true)
[ "$json_rows" -eq 1000 ] || check_failed "mlops --json exp show listed $json_rows experiments, not 1000 ($total refs)"
echo "| exp show over $total experiments of HEAD | best of 3 |"
echo "|---|---|"
printf '| mlops exp show (text, %s rows) | %.3f s |\n' "$text_rows" "$show_text"
printf '| mlops --json exp show (%s experiments) | %.3f s |\n' "$json_rows" "$show_json"

if [ ${#notes[@]} -gt 0 ]; then
    echo
    for n in "${notes[@]}"; do echo "- $n"; done
fi
