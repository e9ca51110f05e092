#!/usr/bin/env bash
# Benchmarks `mlops predict` on imported tree models side by side with the libraries that made
# them, in one run on this machine, on 1 and 2 threads: ROWS rows (default 1M) x 32 float32
# features f0..f31 (about 3% NaN in six of them) in Parquet, scored with three binary models of
# 500 depth-6 trees trained here on a 100k-row sample (benches/trees_py.py): XGBoost
# (binary:logistic, tree_method hist) against Booster.inplace_predict, LightGBM (num_leaves 63)
# against Booster.predict, and scikit-learn's HistGradientBoostingClassifier(max_iter=500,
# max_depth=6) through skl2onnx (one TreeEnsembleClassifier) against onnxruntime. Each model
# goes through `mlops model import`, then `mlops --json predict --threads T`.
#
# Two figures per tool: compute, the time in the model alone (mlops: `compute_seconds` of its
# --json report; the libraries: the call on a float32 matrix already in memory), and end to end,
# Parquet to Parquet (mlops: `seconds`; the libraries: pyarrow read_table, numpy matrix,
# predict, pyarrow write_table of the score column). Best of RUNS (default 3; a tool's figure
# stops repeating once one run takes over 10 s). Prints one Markdown table per model with the
# ratios library / mlops: the issue's targets are compute >= 1.5x XGBoost and LightGBM and
# >= 2x onnxruntime, end to end >= 1x. Then the largest difference between mlops' scores and the
# library's on the first 10,000 rows (CHECK FAILED above 1e-5). Not a test: nothing here asserts
# a time.
#
# Threads: mlops --threads 1 reads, scores and writes in turn on one thread; --threads N (N > 1)
# reads and writes on threads of their own and scores a tree model on N (rayon's pool, sized
# by predict: decoding is little beside walking trees).
# The libraries get T threads for the call (XGBoost nthread, LightGBM num_threads, onnxruntime
# intra_op_num_threads with inter_op 1) and pyarrow's pools are set to T.
#
# The Python side needs the venv of scripts/golden/tree_models.py (TREES_PYTHON, default
# ~/.cache/mlops/treevenv/bin/python). Without it, the script says how to make it and runs the
# mlops rows alone, on the data of benches/infer_data.rs (x0..x31, float64, no NaN) and an
# XGBoost JSON of 500 random depth-6 trees written by trees_py.py with the standard library.
#
# Usage: benches/trees.sh [ROWS]
# Env: MLOPS (binary, default $CARGO_TARGET_DIR or target/, then release/mlops), ROWS (instead of
# the argument), RUNS (default 3), THREADS (default "1 2"), TREES_PYTHON.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mlops=${MLOPS:-${CARGO_TARGET_DIR:-$root/target}/release/mlops}
[ -x "$mlops" ] || { echo "build first: cargo build --release" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rows=${1:-${ROWS:-1000000}}
runs=${RUNS:-3}
threads_list=${THREADS:-1 2}
py=${TREES_PYTHON:-$HOME/.cache/mlops/treevenv/bin/python}
helper="$root/benches/trees_py.py"
features=$(seq -s, -f 'f%g' 0 31)

if [ -x "$py" ] && "$py" -c 'import xgboost, lightgbm, sklearn, skl2onnx, onnxruntime, pyarrow' 2>/dev/null; then
    echo "Data: $rows rows x 32 float32 columns. Models, trained on a sample of the same rows:"
    echo
    "$py" "$helper" make "$work" "$rows" | sed 's/^/- /'
    models="xgb lgb onnx"
else
    cat <<EOF
No Python venv with xgboost, lightgbm, scikit-learn, skl2onnx and onnxruntime at $py:
the libraries' rows are skipped. To make it (about 1 GB):

    python3 -m venv ~/.cache/mlops/treevenv
    ~/.cache/mlops/treevenv/bin/pip install numpy==2.4.6 pandas==3.1.1 pyarrow==26.0.1 \\
        xgboost-cpu==3.2.0 lightgbm==4.7.0 scikit-learn==1.9.1 skl2onnx==1.20.0 onnx==1.23.2 \\
        onnxruntime==1.32.0 protobuf==6.33.6

mlops alone: $rows rows x 32 float64 columns (benches/infer_data.rs, no NaN), an XGBoost JSON
of 500 random depth-6 trees.
EOF
    py=
    source "$root/benches/lib.sh"
    "$(generator infer_data)" "$rows" 1 "$work/data.parquet"
    python3 "$helper" synth "$work"
    models="xgb"
    features=
fi
echo

# best_mlops MODEL THREADS: the best compute and end-to-end seconds of `mlops predict`.
best_mlops() {
    local compute=inf e2e=inf n
    for ((n = 0; n < runs; n++)); do
        "$mlops" -q --json predict --model "$work/m_$1" "$work/data.parquet" \
            -o "$work/out_$1.parquet" --threads "$2" >"$work/report.json"
        read -r compute e2e long < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(min(float(sys.argv[2]), r["compute_seconds"]), min(float(sys.argv[3]), r["seconds"]), r["seconds"] > 10)
' "$work/report.json" "$compute" "$e2e")
        [ "$long" = False ] || break
    done
    echo "$compute $e2e"
}

# ratio A B: A / B as "1.23x"
ratio() { python3 -c 'import sys; print("%.2fx" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"; }

for model in $models; do
    case $model in
        xgb) file=xgb.json; name="XGBoost inplace_predict"; target=1.5 ;;
        lgb) file=lgb.txt; name="LightGBM predict"; target=1.5 ;;
        onnx) file=model.onnx; name="onnxruntime TreeEnsembleClassifier"; target=2 ;;
    esac
    if [ "$model" = onnx ]; then
        "$mlops" -q model import "$work/$file" --inputs "$features" -o "$work/m_$model" >/dev/null
    else
        "$mlops" -q model import "$work/$file" -o "$work/m_$model" >/dev/null
    fi
    table=("| tool | threads | compute | end to end | library / mlops, compute | library / mlops, end to end |"
        "|---|---|---|---|---|---|")
    for threads in $threads_list; do
        best_mlops "$model" "$threads" >"$work/best"
        read -r m_compute m_e2e <"$work/best"
        table+=("$(printf '| mlops predict | %s | %.3f s | %.3f s | | |' "$threads" "$m_compute" "$m_e2e")")
        [ -n "$py" ] || continue
        "$py" "$helper" bench "$work" "$model" "$threads" "$runs" >"$work/best"
        read -r p_compute p_e2e <"$work/best"
        table+=("$(printf '| %s | %s | %.3f s | %.3f s | %s | %s |' "$name" "$threads" "$p_compute" "$p_e2e" \
            "$(ratio "$p_compute" "$m_compute")" "$(ratio "$p_e2e" "$m_e2e")")")
    done
    echo "### $file: $rows rows (targets: compute >= ${target}x, end to end >= 1x)"
    echo
    printf '%s\n' "${table[@]}"
    echo
    if [ -n "$py" ]; then
        diff=$("$py" "$helper" check "$work" "$model" "$work/out_$model.parquet")
        if python3 -c 'import sys; sys.exit(not float(sys.argv[1]) <= 1e-5)' "$diff"; then
            echo "Largest |mlops - ${name%% *}| over the first 10,000 scores: $diff"
        else
            echo "CHECK FAILED: mlops' scores differ from ${name%% *}'s by up to $diff (first 10,000 rows)" | tee /dev/stderr
        fi
        echo
    fi
    rm -f "$work/out_$model.parquet"
done
