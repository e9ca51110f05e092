#!/usr/bin/env bash
# Benchmarks the Slurm executor on the single-node cluster of scripts/slurm-setup.sh (started
# first; root needed). Not a test: nothing here asserts a time.
#
# 1. Submitting: `mlops run --executor slurm --no-wait` on a pipeline of 100 trivial stages (a
#    chain of 50 and a fan-out of 50): the driver's time before the first job is submitted, and
#    for all of them (the driver then returns).
# 2. Overhead inside a job: `mlops stage exec` (inputs read, command run, outputs cached, run
#    record and result written) for each of the 100 stages, against the same commands run by
#    `sh -c` alone, both on this machine outside Slurm, so the scheduler's own latency (a few
#    seconds per scheduling pass here) is left out of both; and the whole pipeline run on the
#    cluster against the same commands submitted as plain `srun` steps, one after another.
# 3. Sharded profile: 8 Parquet files (ROWS rows in all, default 12M, x 8 float columns: work worth a cluster) profiled
#    by `mlops profile --executor slurm --shards 8` against the local `mlops profile`, and
#    whether `mlops drift` gives the same results against both profiles.
# 4. Sharded evaluation: 8 Parquet files of binary predictions (ROWS rows) evaluated by
#    `mlops eval --executor slurm --shards 8` against the local `mlops eval --bootstrap 0`, and
#    how far the two reports differ.
#
# Usage: benches/cluster.sh        Env: MLOPS (binary, default $CARGO_TARGET_DIR or target/, then
# release/mlops), ROWS, PYTHON (with pyarrow and numpy, default ~/.cache/mlops/treevenv/bin/python).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mlops=${MLOPS:-${CARGO_TARGET_DIR:-$root/target}/release/mlops}
[ -x "$mlops" ] || { echo "build first: cargo build --release" >&2; exit 2; }
"$root/scripts/slurm-setup.sh" >/dev/null || {
    # Not a failure of the benchmarks: this machine cannot run a cluster (root is needed).
    echo "benches/cluster.sh: skipped, no Slurm cluster (scripts/slurm-setup.sh failed)" >&2
    exit 0
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$root/benches/lib.sh"
rows=${ROWS:-12000000}
py=${PYTHON:-$HOME/.cache/mlops/treevenv/bin/python}
now() { date +%s.%N; }
elapsed() { python3 -c 'import sys; print("%.3f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$2"; }

cd "$work"
mkdir pipe && cd pipe
git init -q -b main .
"$mlops" -q init
echo seed >input.txt
printf 'fan:\n  factor: 1\n' >params.yaml
{
    echo "executor: slurm"
    pipeline_100
} >mlops.yaml

echo "### Submitting 100 stages (\`mlops run --executor slurm --no-wait\`)"
echo
start=$(now)
"$mlops" --json run --no-wait >events.jsonl
end=$(now)
submitted=$(grep -c '"event":"submit"' events.jsonl)
echo "| | seconds |"
echo "|---|---|"
echo "| driver, all $submitted jobs submitted, wall | $(elapsed "$start" "$end") |"
# The time to the first submission: one stage's decision and one sbatch call, timed alone.
scancel -u "$(id -un)" >/dev/null 2>&1 || true
rm -f .mlops/cluster/jobs.json
sed -n '1,6p' mlops.yaml >one.yaml && cp mlops.yaml all.yaml && cp one.yaml mlops.yaml
start=$(now)
"$mlops" -q run --no-wait >/dev/null
end=$(now)
echo "| driver, one stage submitted (the time to the first job), wall | $(elapsed "$start" "$end") |"
scancel -u "$(id -un)" >/dev/null 2>&1 || true
rm -f .mlops/cluster/jobs.json
cp all.yaml mlops.yaml
echo

echo "### Overhead inside a job: \`mlops stage exec\` against \`sh -c\`, 100 stages, outside Slurm"
echo
mkdir -p chain fan .mlops/cluster
start=$(now)
for i in $(seq 0 49); do "$mlops" -q stage exec "chain$i" --result "$PWD/.mlops/cluster/b.json" >/dev/null; done
for i in $(seq 0 49); do "$mlops" -q stage exec "fan$i" --result "$PWD/.mlops/cluster/b.json" >/dev/null; done
end=$(now)
exec_s=$(elapsed "$start" "$end")
start=$(now)
while read -r command; do sh -c "$command" </dev/null; done < <(pipeline_100_floor)
end=$(now)
sh_s=$(elapsed "$start" "$end")
python3 - "$exec_s" "$sh_s" <<'EOF'
import sys
e, s = float(sys.argv[1]), float(sys.argv[2])
print("| | total | per stage |")
print("|---|---|---|")
print(f"| `mlops stage exec` | {e:.3f} s | {e * 10:.1f} ms |")
print(f"| `sh -c` | {s:.3f} s | {s * 10:.1f} ms |")
print(f"| overhead | | **{(e - s) * 10:.1f} ms** (target <= 50 ms) |")
EOF
echo

echo "### The 100-stage pipeline on the cluster, against the same commands as srun steps"
echo
rm -rf chain fan mlops.lock .mlops/cluster .mlops/runcache 2>/dev/null || true
start=$(now)
"$mlops" -q run --force >/dev/null
end=$(now)
run_s=$(elapsed "$start" "$end")
# The outputs are the cache's now (read-only): the srun steps write fresh files.
rm -rf chain fan
mkdir -p chain fan
start=$(now)
# srun forwards its stdin to the task: it must not read the list of commands.
while read -r command; do srun -Q sh -c "$command" </dev/null; done < <(pipeline_100_floor)
end=$(now)
srun_s=$(elapsed "$start" "$end")
echo "| | wall |"
echo "|---|---|"
echo "| \`mlops run --executor slurm\` (100 jobs, afterok edges) | $run_s s |"
echo "| 100 \`srun\` steps, one after another | $srun_s s |"
echo

cd "$work"
if [ -x "$py" ] && "$py" -c 'import pyarrow, numpy' 2>/dev/null; then
    echo "### Sharded profile: 8 Parquet files, $rows rows x 8 float columns"
    echo
    mkdir shards && cd shards
    "$py" - "$rows" <<'EOF'
import sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
rows = int(sys.argv[1]) // 8
rng = np.random.default_rng(7)
for part in range(8):
    cols = {f"x{c}": rng.normal(c, 1 + c, rows) for c in range(8)}
    pq.write_table(pa.table(cols), f"part{part}.parquet")
EOF
    start=$(now)
    "$mlops" -q profile part*.parquet -o local.profile >/dev/null
    end=$(now)
    local_s=$(elapsed "$start" "$end")
    start=$(now)
    "$mlops" -q profile part*.parquet -o sharded.profile --executor slurm --shards 8 >/dev/null
    end=$(now)
    sharded_s=$(elapsed "$start" "$end")
    "$mlops" --json drift --reference local.profile part0.parquet | python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("reference",None); print(json.dumps(d, sort_keys=True))' >a.json
    "$mlops" --json drift --reference sharded.profile part0.parquet | python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("reference",None); print(json.dumps(d, sort_keys=True))' >b.json
    same=$(cmp -s a.json b.json && echo "equal" || echo "DIFFERENT")
    identical=$(cmp -s local.profile sharded.profile && echo "byte for byte equal" || echo "different bytes")
    echo "| | wall |"
    echo "|---|---|"
    echo "| \`mlops profile\` here | $local_s s |"
    echo "| \`mlops profile --executor slurm --shards 8\` | $sharded_s s |"
    echo
    echo "Profiles: $identical; drift results against them: $same."
    echo

    echo "### Sharded evaluation: 8 Parquet files, $rows rows of binary predictions, 2 slice columns"
    echo
    "$py" - "$rows" <<'EOF2'
import sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
rows = int(sys.argv[1]) // 8
rng = np.random.default_rng(11)
for part in range(8):
    label = rng.random(rows) < 0.3
    # Scores rounded to 4 places: each distinct score keeps its own histogram bucket.
    p = np.round(np.clip(rng.normal(0.35 + 0.3 * label, 0.2), 0, 1), 4)
    region = rng.choice(["north", "south", "east", "west"], rows)
    plan = rng.choice(["basic", "plus", "pro"], rows)
    pq.write_table(pa.table({"label": label, "p": p, "region": region, "plan": plan}),
                   f"preds{part}.parquet")
EOF2
    eval_args=(eval preds*.parquet --score p --slice region --slice region,plan --sensitive plan --json)
    start=$(now)
    "$mlops" -q "${eval_args[@]}" --bootstrap 0 >local.json
    end=$(now)
    local_s=$(elapsed "$start" "$end")
    start=$(now)
    "$mlops" -q "${eval_args[@]}" --executor slurm --shards 8 >sharded.json
    end=$(now)
    sharded_s=$(elapsed "$start" "$end")
    same=$(python3 - <<'EOF2'
import json
a, b = json.load(open("local.json")), json.load(open("sharded.json"))
errors = b.pop("sharded")["max_error"]
worst = 0.0
def walk(x, y):
    global worst
    if isinstance(x, dict):
        for k in x:
            walk(x[k], y.get(k))
    elif isinstance(x, list):
        for u, v in zip(x, y):
            walk(u, v)
    elif isinstance(x, float) and isinstance(y, float):
        worst = max(worst, abs(x - y) / max(abs(x), abs(y), 1e-300))
walk(a, b)
print(f"largest relative difference {worst:.1e}; stated errors {errors}")
EOF2
)
    echo "| | wall |"
    echo "|---|---|"
    echo "| \`mlops eval --bootstrap 0\` here | $local_s s |"
    echo "| \`mlops eval --executor slurm --shards 8\` | $sharded_s s |"
    echo
    echo "Reports: $same."
else
    echo "(sharded profile and evaluation skipped: no Python with pyarrow and numpy at $py)"
fi
