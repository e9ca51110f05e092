#!/usr/bin/env python3
"""The Python half of benches/trees.sh (run by it, not alone).

    trees_py.py make DIR ROWS
        Writes DIR/data.parquet (ROWS seeded rows: float32 columns f0..f31, about 3% NaN in
        f1, f5, f9, f13, f17 and f21, and a 0/1 `label`), trains on a 100k-row sample (fewer when
        ROWS is smaller) and writes DIR/xgb.json (XGBoost binary:logistic, 500 trees, max_depth 6,
        tree_method hist), DIR/lgb.txt (LightGBM binary, 500 trees, max_depth 6, num_leaves 63)
        and DIR/model.onnx (scikit-learn's HistGradientBoostingClassifier, max_iter 500,
        max_depth 6, no early stopping, through skl2onnx: one TreeEnsembleClassifier of 500
        trees, input `input` float [N, 32]). Prints one line per model on stdout.

    trees_py.py bench DIR MODEL THREADS RUNS
        Times the library on DIR/data.parquet with THREADS threads, best of RUNS: the compute
        alone (the float32 matrix already in memory) and end to end (pyarrow read, numpy, predict,
        pyarrow write of the score column to Parquet), each of the two stopping after one run
        that takes over 10 s. MODEL: xgb (Booster.inplace_predict, nthread), lgb
        (Booster.predict, num_threads) or onnx (onnxruntime InferenceSession,
        intra_op_num_threads, inter_op_num_threads 1). Prints `compute_s e2e_s`.

    trees_py.py check DIR MODEL SCORES.parquet
        Prints the largest absolute difference between the `score` column of SCORES.parquet
        (mlops' output) and the library's score, on the first 10,000 rows.

    trees_py.py synth DIR
        No third-party module: writes DIR/xgb.json, 500 random depth-6 trees in XGBoost's JSON
        schema over the columns x0..x31 of benches/infer_data.rs, for when the venv is missing.
"""

import json
import os
import random
import sys
import time

FEATURES = [f"f{i}" for i in range(32)]
NAN_COLUMNS = [1, 5, 9, 13, 17, 21]
TREES, DEPTH = 500, 6
CHECK_ROWS = 10_000
LONG = 10  # seconds: one run this long is enough


def make(out, rows):
    import lightgbm as lgb
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import xgboost as xgb
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(20240611)
    x = rng.standard_normal((rows, len(FEATURES)), dtype=np.float32)
    # A label with interactions and thresholds, so that deep trees have something to learn.
    z = np.nan_to_num(x.astype(np.float64))
    logit = (z[:, 0] - 0.8 * z[:, 1] * z[:, 2] + 0.6 * np.abs(z[:, 3]) - 0.5
             + np.sin(2 * z[:, 4]) + 0.4 * (z[:, 5] > 0.5) - 0.3 * z[:, 6] * (z[:, 7] < 0)
             + 0.2 * z[:, 8:16].sum(axis=1))
    label = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    for c in NAN_COLUMNS:
        x[rng.random(rows) < 0.03, c] = np.nan
    table = pa.table({**{f: pa.array(x[:, i]) for i, f in enumerate(FEATURES)},
                      "label": pa.array(label)})
    pq.write_table(table, os.path.join(out, "data.parquet"))

    n_train = min(rows, 100_000)
    xt, yt = x[:n_train], label[:n_train]
    cores = os.cpu_count() or 1

    t = time.perf_counter()
    booster = xgb.train({"objective": "binary:logistic", "max_depth": DEPTH, "eta": 0.1,
                         "tree_method": "hist", "nthread": cores, "seed": 0},
                        xgb.DMatrix(xt, label=yt, feature_names=FEATURES, missing=np.nan),
                        num_boost_round=TREES)
    booster.save_model(os.path.join(out, "xgb.json"))
    print(f"xgb: XGBoost {xgb.__version__}, binary:logistic, {TREES} trees, max_depth {DEPTH}, "
          f"tree_method hist, trained on {n_train} rows in {time.perf_counter() - t:.0f} s")

    t = time.perf_counter()
    gbm = lgb.train({"objective": "binary", "max_depth": DEPTH, "num_leaves": 63,
                     "learning_rate": 0.1, "num_threads": cores, "seed": 0, "verbose": -1},
                    lgb.Dataset(xt, label=yt, feature_name=FEATURES), num_boost_round=TREES)
    gbm.save_model(os.path.join(out, "lgb.txt"))
    print(f"lgb: LightGBM {lgb.__version__}, binary, {gbm.num_trees()} trees, max_depth {DEPTH}, "
          f"num_leaves 63, trained on {n_train} rows in {time.perf_counter() - t:.0f} s")

    t = time.perf_counter()
    # HistGradientBoostingClassifier, not GradientBoostingClassifier: it trains in seconds on
    # the same sample and takes NaN natively (skl2onnx writes its missing-value directions).
    hgb = HistGradientBoostingClassifier(max_iter=TREES, max_depth=DEPTH, max_leaf_nodes=None,
                                         learning_rate=0.1, early_stopping=False,
                                         random_state=0)
    hgb.fit(xt, yt)
    onx = convert_sklearn(hgb, initial_types=[("input", FloatTensorType([None, len(FEATURES)]))],
                          options={"zipmap": False}, target_opset=21)
    with open(os.path.join(out, "model.onnx"), "wb") as f:
        f.write(onx.SerializeToString())
    ops = sorted({n.op_type for n in onx.graph.node})
    import sklearn
    print(f"onnx: scikit-learn {sklearn.__version__} HistGradientBoostingClassifier(max_iter="
          f"{TREES}, max_depth={DEPTH}, no early stopping; {hgb.n_iter_} trees), skl2onnx, "
          f"ops {','.join(ops)}, trained on {n_train} rows in {time.perf_counter() - t:.0f} s")


def matrix(table):
    """The 32 feature columns of a pyarrow table as one C-ordered float32 matrix."""
    import numpy as np
    x = np.empty((table.num_rows, len(FEATURES)), dtype=np.float32)
    for i, f in enumerate(FEATURES):
        x[:, i] = table.column(f).to_numpy()
    return x


def predictor(out, model, threads):
    """A function of a float32 matrix that returns the positive class' scores."""
    import numpy as np
    if model == "xgb":
        import xgboost as xgb
        booster = xgb.Booster(model_file=os.path.join(out, "xgb.json"))
        booster.set_param({"nthread": threads})
        return lambda x: booster.inplace_predict(x, missing=np.nan)
    if model == "lgb":
        import lightgbm as lgb
        booster = lgb.Booster(model_file=os.path.join(out, "lgb.txt"))
        return lambda x: booster.predict(x, num_threads=threads)
    if model == "onnx":
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(os.path.join(out, "model.onnx"), options,
                                       providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return lambda x: session.run(None, {name: x})[1][:, 1]
    raise SystemExit(f"unknown model {model}")


def bench(out, model, threads, runs):
    import pyarrow as pa
    import pyarrow.parquet as pq
    pa.set_cpu_count(threads)
    pa.set_io_thread_count(threads)
    predict = predictor(out, model, threads)
    data = os.path.join(out, "data.parquet")
    x = matrix(pq.read_table(data))
    predict(x[:1000])  # warm up (lazy initialisation, first-call allocations)
    compute = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        predict(x)
        compute = min(compute, time.perf_counter() - t)
        if compute > LONG:
            break
    del x
    scores = os.path.join(out, f"py_{model}.parquet")
    e2e = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        table = pq.read_table(data, use_threads=threads > 1)
        score = predict(matrix(table)).astype("float32")
        pq.write_table(pa.table({"score": score}), scores)
        e2e = min(e2e, time.perf_counter() - t)
        del table, score
        if e2e > LONG:
            break
    os.remove(scores)
    print(f"{compute:.6f} {e2e:.6f}")


def check(out, model, scores):
    import numpy as np
    import pyarrow.parquet as pq
    x = matrix(pq.read_table(os.path.join(out, "data.parquet")).slice(0, CHECK_ROWS))
    ours = pq.read_table(scores, columns=["score"]).column("score").to_numpy()[:len(x)]
    theirs = predictor(out, model, 1)(x)
    print(f"{float(np.abs(ours.astype(np.float64) - theirs.astype(np.float64)).max()):.3g}")


def synth(out):
    rng = random.Random(7)
    trees = []
    nodes = 2 ** (DEPTH + 1) - 1
    inner = 2 ** DEPTH - 1
    for _ in range(TREES):
        left = [2 * i + 1 if i < inner else -1 for i in range(nodes)]
        right = [2 * i + 2 if i < inner else -1 for i in range(nodes)]
        trees.append({
            "left_children": left, "right_children": right,
            "split_indices": [rng.randrange(32) if i < inner else 0 for i in range(nodes)],
            "split_conditions": [round(rng.gauss(0, 1), 4) if i < inner
                                 else round(rng.gauss(0, 0.05), 6) for i in range(nodes)],
            "default_left": [rng.randrange(2) if i < inner else 0 for i in range(nodes)],
            "split_type": [0] * nodes,
        })
    model = {
        "version": [3, 2, 0],
        "learner": {
            "feature_names": [f"x{i}" for i in range(32)],
            "learner_model_param": {"base_score": "5E-1", "num_class": "0", "num_feature": "32"},
            "objective": {"name": "binary:logistic"},
            "gradient_booster": {"name": "gbtree",
                                 "model": {"trees": trees, "tree_info": [0] * TREES}},
        },
    }
    with open(os.path.join(out, "xgb.json"), "w") as f:
        json.dump(model, f)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "make":
        make(args[0], int(args[1]))
    elif cmd == "bench":
        bench(args[0], args[1], int(args[2]), int(args[3]))
    elif cmd == "check":
        check(args[0], args[1], args[2])
    elif cmd == "synth":
        synth(args[0])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
