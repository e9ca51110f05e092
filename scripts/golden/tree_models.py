#!/usr/bin/env python3
"""Golden fixtures for native tree-model scoring in mlops-infer: XGBoost JSON models, LightGBM
text models and ONNX-ML files (from scikit-learn through skl2onnx), each with the input rows it
is scored on and the library's own predictions.

Writes to crates/mlops-infer/tests/fixtures/trees/ (README.md there lists every file):
- inputs, 300 seeded synthetic rows each (`*.input.csv`, and the same rows as `*.input.parquet`):
  `numeric` (f0..f5, float64; f1 and f4 ~10% NaN, f2 ~15% exact zeros) and `categorical`
  (the same rows plus `cat`, the integer code 0..5 of the categories a..f, ~5% missing).
  Row 0 is all missing and row 1 all zero. Values are rounded to 4 decimals, so the CSV text
  is the exact value. An empty cell is a missing value;
- `xgb_*.json` (Booster.save_model), `xgb_big.json.gz` (gzip of the JSON, mtime 0),
  `lgb_*.txt` (Booster.save_model, text), `onnx_*.onnx` (skl2onnx.convert_sklearn);
- `<model>.expected.csv`: the predictions of the model read back from its file, one column per
  output: `score` (binary probability, regression value), `p0,p1,p2` (class probabilities),
  `prediction` (the label, where the library gives one), and the raw score before the
  objective's transform: `margin`/`margin0..2` (XGBoost output_margin=True), `raw`/`raw0..2`
  (LightGBM raw_score=True). float64 outputs (LightGBM, scikit-learn) are Python's repr;
  float32 outputs (XGBoost, onnxruntime) are numpy's shortest text that reads back to the same
  float32, so parse them as f32 to compare exactly;
- `onnx_*.sklearn.csv`: scikit-learn's own predictions for the ONNX models (same columns);
- `bad_*`: files the readers must refuse;
- `versions.json`, `manifest.json` (every model: format, input, expected, objective, facts,
  checks) and `onnx_models.json` (inputs, outputs, operators and tree attributes per graph).

Checks, asserted: XGBoost predict(DMatrix(missing=nan)) == inplace_predict (exactly; dart to
1 float32 ulp, and expected.csv holds predict(DMatrix)), and the categorical model scores the
same from the integer codes (numpy, feature_types "c") as from the pandas categories; LightGBM
scores the categorical model the same from the codes as from the DataFrame; ORT and
scikit-learn agree to 1e-5 (onnx_et_regressor only on the rows without NaN: see its note).
Everything is seeded and single-threaded; running twice gives the same bytes.

    python3 -m venv ~/.cache/mlops/treevenv
    ~/.cache/mlops/treevenv/bin/pip install numpy==2.4.6 pandas==3.1.1 pyarrow==26.0.1 \\
        xgboost-cpu==3.2.0 lightgbm==4.7.0 scikit-learn==1.9.1 skl2onnx==1.20.0 onnx==1.23.2 \\
        onnxruntime==1.32.0 protobuf==6.33.6
    ~/.cache/mlops/treevenv/bin/python scripts/golden/tree_models.py

(xgboost-cpu is the xgboost package built without CUDA, same code and `import xgboost`; it
saves the ~300 MB nvidia-nccl wheel. protobuf is held at 6.x because under protobuf 7
skl2onnx 1.20 cannot build HistGradientBoosting's TreeEnsembleClassifier: it puts a Python
bool into an `ints` attribute, which protobuf 7 refuses.)

Generated with Python 3.11.7, numpy 2.4.6, pandas 3.1.1, pyarrow 26.0.1, xgboost 3.2.0
(xgboost-cpu), lightgbm 4.7.0, scikit-learn 1.9.1, scipy 1.17.1, skl2onnx 1.20.0, onnx 1.23.2,
onnxruntime 1.32.0, protobuf 6.33.6. Not run in CI.
"""

import gzip
import io
import json
import pathlib
import platform
import warnings

import google.protobuf
import lightgbm as lgb
import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import scipy
import sklearn
import skl2onnx
import xgboost as xgb
from onnx import TensorProto, helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (ExtraTreesRegressor, GradientBoostingClassifier,
                              HistGradientBoostingClassifier, RandomForestClassifier)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

warnings.filterwarnings("ignore")

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/mlops-infer/tests/fixtures/trees"
SEED = 20260514
N_TRAIN, N_SCORE, N_BIG = 1000, 300, 5000
FEATS = [f"f{i}" for i in range(6)]
CATS = ["a", "b", "c", "d", "e", "f"]  # code i is CATS[i]
CAT_EFFECT = np.array([1.0, -0.8, 0.0, 0.6, -1.2, 0.3])
# target_opset for skl2onnx: ONNX opset 21 (skl2onnx 1.20 picks ai.onnx.ml 1 for these ops)
TARGET_OPSET = 21
ORT_TOL = 1e-5
MANIFEST = {}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def make(rng, n):
    """Features and every target, in one frame. Targets come from the complete features;
    missing values are cut in afterwards."""
    x = rng.normal(size=(n, 6))
    x[:, 3] = rng.uniform(0.0, 10.0, n)
    x[:, 5] = rng.exponential(1.0, n)
    x[rng.random(n) < 0.15, 2] = 0.0
    x = np.round(x, 4)
    cat = rng.integers(0, len(CATS), n)
    logit = (1.2 * x[:, 0] - 0.8 * x[:, 1] + 0.7 * np.sin(2.0 * x[:, 2]) + 0.25 * (x[:, 3] - 5.0)
             - 0.5 * x[:, 4] * x[:, 0] + CAT_EFFECT[cat])
    df = pd.DataFrame(x, columns=FEATS)
    df["y_bin"] = (rng.random(n) < sigmoid(logit)).astype(np.int64)
    df["y_reg"] = (2.0 * x[:, 0] + x[:, 1] ** 2 - x[:, 4] + 0.3 * x[:, 3] + CAT_EFFECT[cat]
                   + rng.normal(0.0, 0.3, n))
    df["y_prob"] = sigmoid(0.5 * logit + rng.normal(0.0, 0.2, n))
    df["y_count"] = rng.poisson(np.exp(0.4 * x[:, 0] - 0.3 * x[:, 1] + 0.1 * x[:, 3] - 0.2)
                                ).astype(np.int64)
    scores = np.stack([x[:, 0] - x[:, 1], 0.5 * x[:, 2] + 0.3 * x[:, 3] - 1.5,
                       -x[:, 0] + x[:, 4] + CAT_EFFECT[cat]], axis=1)
    df["y_multi"] = np.argmax(scores + rng.gumbel(size=(n, 3)), axis=1).astype(np.int64)
    df.loc[rng.random(n) < 0.10, "f1"] = np.nan
    df.loc[rng.random(n) < 0.10, "f4"] = np.nan
    codes = np.where(rng.random(n) < 0.05, -1, cat)
    df["cat"] = pd.Categorical.from_codes(codes, categories=CATS)
    return df


def data():
    rng = np.random.default_rng(SEED)
    train = make(rng, N_TRAIN)
    score = make(rng, N_SCORE)
    big = make(rng, N_BIG)
    score.loc[0, FEATS] = np.nan
    score.loc[0, "cat"] = np.nan
    score.loc[1, FEATS] = 0.0
    score.loc[1, "cat"] = "a"
    # The scoring rows as float32 values: mlops reads features as float32, as XGBoost and
    # onnxruntime do, while LightGBM compares float64 values with its float64 thresholds; with
    # rows already float32 every library sees the very values mlops scores (docs/models.md
    # states the difference for float64 data).
    score[FEATS] = score[FEATS].astype(np.float32).astype(np.float64)
    return train, score, big


def fmt(v):
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, np.float32):  # the shortest text that reads back to this float32
        return "" if np.isnan(v) else str(v)
    v = float(v)
    return "" if np.isnan(v) else repr(v)


def write_csv(path, cols):
    """cols: dict name -> 1-D array (float or int). Floats as repr, NaN as empty."""
    names = list(cols)
    n = len(cols[names[0]])
    lines = [",".join(names)]
    for i in range(n):
        lines.append(",".join(fmt(cols[c][i]) for c in names))
    path.write_text("\n".join(lines) + "\n")


def codes_of(df):
    """`cat` as float codes, NaN where missing (what the CSV holds)."""
    c = df["cat"].cat.codes.to_numpy().astype(np.float64)
    c[c < 0] = np.nan
    return c


def write_inputs(score):
    num = {c: score[c].to_numpy() for c in FEATS}
    write_csv(OUT / "numeric.input.csv", num)
    cat = dict(num, cat=np.array([np.nan if np.isnan(c) else int(c) for c in codes_of(score)],
                                 dtype=object))
    write_csv(OUT / "categorical.input.csv", cat)
    for name, cols in [("numeric", num), ("categorical", cat)]:
        arrays = [pa.array(v, type=pa.float64(), from_pandas=True) for k, v in cols.items()
                  if k != "cat"]
        names = [k for k in cols if k != "cat"]
        if "cat" in cols:
            c = cols["cat"]
            arrays.append(pa.array([None if isinstance(v, float) else v for v in c],
                                   type=pa.int64()))
            names.append("cat")
        pq.write_table(pa.table(arrays, names=names), OUT / f"{name}.input.parquet",
                       compression="zstd")


def record(name, **kw):
    MANIFEST[name] = kw


# ---------------------------------------------------------------------------------------------
# XGBoost

XGB_COMMON = {"seed": 0, "nthread": 1, "max_depth": 4, "eta": 0.3}


def xgb_fit(name, params, train, label, rounds=20, categorical=False, file=None):
    feats = FEATS + (["cat"] if categorical else [])
    dtrain = xgb.DMatrix(train[feats], label=train[label], missing=np.nan,
                         enable_categorical=categorical)
    booster = xgb.train(dict(XGB_COMMON, **params), dtrain, num_boost_round=rounds)
    file = file or f"{name}.json"
    path = OUT / file
    if file.endswith(".gz"):
        raw = io.BytesIO()
        data_bytes = bytes(booster.save_raw(raw_format="json"))
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
            gz.write(data_bytes)
        path.write_bytes(raw.getvalue())
        loaded = xgb.Booster()
        loaded.load_model(bytearray(data_bytes))
        json_size = len(data_bytes)
    else:
        booster.save_model(str(path))
        loaded = xgb.Booster(model_file=str(path))
        json_size = path.stat().st_size
    return loaded, json_size


def xgb_predict(name, booster, score, categorical, kind, input_name, objective, extra=None,
                json_size=None, file=None):
    feats = FEATS + (["cat"] if categorical else [])
    x = score[feats]
    dm = xgb.DMatrix(x, missing=np.nan, enable_categorical=categorical)
    pred = booster.predict(dm)
    margin = booster.predict(dm, output_margin=True)
    inplace = booster.inplace_predict(x, missing=np.nan)
    inplace_margin = booster.inplace_predict(x, missing=np.nan, predict_type="margin")
    # exact for gbtree; dart sums its weighted trees in another order (1 ulp of float32)
    diff_inplace = float(max(np.abs(pred - inplace).max(), np.abs(margin - inplace_margin).max()))
    assert diff_inplace < 1e-6, (name, diff_inplace)
    checks = ["predict(DMatrix) == inplace_predict: " + (
        "exact" if diff_inplace == 0 else f"max abs diff {diff_inplace!r}")]
    if categorical:
        # the integer codes as a plain float matrix, feature type "c"
        xc = np.column_stack([score[FEATS].to_numpy(), codes_of(score)])
        dmc = xgb.DMatrix(xc, missing=np.nan, feature_names=feats,
                          feature_types=["q"] * len(FEATS) + ["c"], enable_categorical=True)
        assert np.array_equal(booster.predict(dmc), pred), name
        checks.append("same from integer codes (numpy, feature_types c) as from pandas")
    cols = {}
    if kind == "score":
        cols["score"] = pred
        cols["margin"] = margin
    elif kind == "proba":
        for k in range(pred.shape[1]):
            cols[f"p{k}"] = pred[:, k]
        cols["prediction"] = np.argmax(pred, axis=1)
        for k in range(margin.shape[1]):
            cols[f"margin{k}"] = margin[:, k]
    elif kind == "class":
        cols["prediction"] = pred.astype(np.int64)
        for k in range(margin.shape[1]):
            cols[f"margin{k}"] = margin[:, k]
    write_csv(OUT / f"{name}.expected.csv", cols)
    cfg = json.loads(booster.save_config())
    lp = cfg["learner"]["learner_model_param"]
    record(name, format="xgboost-json" + ("-gzip" if (file or "").endswith(".gz") else ""),
           model=file or f"{name}.json", input=input_name, expected=f"{name}.expected.csv",
           objective=objective, booster=cfg["learner"]["gradient_booster"]["name"],
           num_trees=booster.num_boosted_rounds() * max(1, int(lp["num_class"])),
           rounds=booster.num_boosted_rounds(), learner_model_param=lp,
           json_bytes=json_size, columns=list(cols), checks=checks, **(extra or {}))


def xgboost_models(train, score, big):
    specs = [
        ("xgb_binary_logistic", {"objective": "binary:logistic"}, "y_bin", "score", {}),
        ("xgb_binary_logitraw", {"objective": "binary:logitraw"}, "y_bin", "score", {}),
        ("xgb_reg_squarederror", {"objective": "reg:squarederror", "base_score": 0.3},
         "y_reg", "score", {"note": "base_score=0.3 set explicitly"}),
        ("xgb_reg_logistic", {"objective": "reg:logistic"}, "y_prob", "score", {}),
        ("xgb_multi_softprob", {"objective": "multi:softprob", "num_class": 3}, "y_multi",
         "proba", {"note": "trees interleave classes: tree i belongs to class i % 3 "
                           "(tree_info)"}),
        ("xgb_multi_softmax", {"objective": "multi:softmax", "num_class": 3}, "y_multi",
         "class", {"note": "predict gives the class index (argmax of margins)"}),
        ("xgb_count_poisson", {"objective": "count:poisson"}, "y_count", "score",
         {"note": "score = exp(margin)"}),
        ("xgb_dart_binary", {"objective": "binary:logistic", "booster": "dart",
                             "rate_drop": 0.1, "skip_drop": 0.0}, "y_bin", "score",
         {"note": "dart: at inference predict() uses every tree, each scaled by its "
                  "weight_drop (gradient_booster.weight_drop, one per tree); no dropout"}),
    ]
    for name, params, label, kind, extra in specs:
        booster, size = xgb_fit(name, params, train, label)
        xgb_predict(name, booster, score, False, kind, "numeric.input.csv",
                    params["objective"], extra, json_size=size)

    name = "xgb_categorical"
    params = {"objective": "binary:logistic", "tree_method": "hist", "max_cat_to_onehot": 1}
    booster, size = xgb_fit(name, params, train, "y_bin", categorical=True)
    xgb_predict(name, booster, score, True, "score", "categorical.input.csv", "binary:logistic",
                {"note": "enable_categorical, max_cat_to_onehot=1: partition splits on cat "
                         "(split_type 1, categories listed per node); cat codes 0..5 = a..f"},
                json_size=size)

    name = "xgb_big"
    params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": 8,
              "eta": 0.1, "min_child_weight": 2}
    booster, size = xgb_fit(name, params, big, "y_bin", rounds=1000, file="xgb_big.json.gz")
    xgb_predict(name, booster, score, False, "score", "numeric.input.csv", "binary:logistic",
                {"note": "1000 trees, max_depth 8 (min_child_weight 2, to keep the file "
                         "small), trained on 5000 rows; gzip of the JSON"},
                json_size=size, file="xgb_big.json.gz")


# ---------------------------------------------------------------------------------------------
# LightGBM

LGB_COMMON = {"seed": 0, "deterministic": True, "num_threads": 1, "verbose": -1,
              "num_leaves": 15, "min_data_in_leaf": 20, "learning_rate": 0.2}


def lgb_model(name, params, train, score, label, rounds=20, categorical=False, extra=None):
    feats = FEATS + (["cat"] if categorical else [])
    ds = lgb.Dataset(train[feats], label=train[label], free_raw_data=False,
                     categorical_feature=["cat"] if categorical else "auto")
    trained = lgb.train(dict(LGB_COMMON, **params), ds, num_boost_round=rounds)
    path = OUT / f"{name}.txt"
    trained.save_model(str(path))
    booster = lgb.Booster(model_file=str(path))
    x = score[feats]
    pred = booster.predict(x)
    raw = booster.predict(x, raw_score=True)
    assert np.array_equal(pred, trained.predict(x)), name
    checks = ["model read back from the text file predicts the same as the trained one"]
    if categorical:
        xc = np.column_stack([score[FEATS].to_numpy(), codes_of(score)])
        assert np.array_equal(booster.predict(xc), pred), name
        checks.append("same from integer codes (numpy) as from the pandas DataFrame")
    else:
        assert np.array_equal(booster.predict(x.to_numpy()), pred), name
    cols = {}
    if pred.ndim == 1:
        cols["score"] = pred
        cols["raw"] = raw
    else:
        for k in range(pred.shape[1]):
            cols[f"p{k}"] = pred[:, k]
        for k in range(raw.shape[1]):
            cols[f"raw{k}"] = raw[:, k]
    write_csv(OUT / f"{name}.expected.csv", cols)
    dump = booster.dump_model()
    record(name, format="lightgbm-text", model=f"{name}.txt",
           input="categorical.input.csv" if categorical else "numeric.input.csv",
           expected=f"{name}.expected.csv", objective=dump["objective"],
           num_trees=len(dump["tree_info"]), num_class=dump["num_class"],
           num_tree_per_iteration=dump["num_tree_per_iteration"], params=params,
           columns=list(cols), checks=checks, **(extra or {}))
    return path


def lightgbm_models(train, score):
    binary = lgb_model("lgb_binary", {"objective": "binary"}, train, score, "y_bin",
                       extra={"note": "NaN in f1, f4: default missing handling "
                                      "(missing_type NaN where the feature had NaN)"})
    lgb_model("lgb_regression", {"objective": "regression"}, train, score, "y_reg")
    lgb_model("lgb_multiclass", {"objective": "multiclass", "num_class": 3}, train, score,
              "y_multi", extra={"note": "softmax over 3 classes; tree i is class i % 3"})
    lgb_model("lgb_poisson", {"objective": "poisson"}, train, score, "y_count",
              extra={"note": "score = exp(raw)"})
    lgb_model("lgb_categorical", {"objective": "binary", "min_data_per_group": 5,
                                  "cat_smooth": 1.0, "max_cat_threshold": 32,
                                  "cat_l2": 1.0}, train, score, "y_bin", categorical=True,
              extra={"note": "categorical_feature=['cat'] (pandas category, codes 0..5 = "
                             "a..f; missing -> NaN); bitset splits (cat_boundaries, "
                             "cat_threshold); pandas_categorical line at the end of the file"})
    lgb_model("lgb_zero_as_missing", {"objective": "regression", "zero_as_missing": True},
              train, score, "y_reg",
              extra={"note": "zero_as_missing=True: missing_type Zero; NaN is read as 0 and "
                             "0 goes the default way"})
    lgb_model("lgb_linear_tree", {"objective": "regression", "linear_tree": True,
                                  "linear_lambda": 0.1}, train, score, "y_reg",
              extra={"note": "linear_tree=True: each leaf is leaf_const + sum(coeff * x) over "
                             "leaf_features; a NaN in any of the leaf's features gives "
                             "leaf_value instead"})
    # bad: an objective the reader should refuse
    text = binary.read_text()
    assert "objective=binary sigmoid:1\n" in text
    (OUT / "bad_lambdarank.txt").write_text(
        text.replace("objective=binary sigmoid:1\n", "objective=lambdarank\n", 1))


# ---------------------------------------------------------------------------------------------
# ONNX (scikit-learn -> skl2onnx -> onnxruntime)

def attr_value(a):
    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, list):
        return [x.decode() if isinstance(x, bytes) else x for x in v]
    if isinstance(v, onnx.TensorProto):
        return onnx.numpy_helper.to_array(v).tolist()
    return v


def value_info(v):
    t = v.type
    if t.HasField("tensor_type"):
        return {"name": v.name, "type": "tensor",
                "elem_type": TensorProto.DataType.Name(t.tensor_type.elem_type),
                "shape": [d.dim_param or d.dim_value or None for d in t.tensor_type.shape.dim]}
    if t.HasField("sequence_type"):
        m = t.sequence_type.elem_type.map_type
        return {"name": v.name, "type": "sequence(map)",
                "key_type": TensorProto.DataType.Name(m.key_type),
                "value_type": TensorProto.DataType.Name(m.value_type.tensor_type.elem_type)}
    return {"name": v.name, "type": str(t)}


def describe_onnx(model):
    nodes = []
    for n in model.graph.node:
        attrs = {}
        for a in n.attribute:
            v = attr_value(a)
            if isinstance(v, list) and len(v) > 8:
                if a.name == "nodes_modes" or all(isinstance(x, str) for x in v):
                    v = {"len": len(v), "distinct": sorted(set(v))}
                elif a.name.endswith("tracks_true") or a.name.endswith("ids"):
                    v = {"len": len(v), "distinct": sorted(set(v))[:8]}
                else:
                    v = {"len": len(v), "first": v[:4]}
            attrs[a.name] = v
        nodes.append({"op_type": n.op_type, "domain": n.domain or "ai.onnx",
                      "inputs": list(n.input), "outputs": list(n.output), "attributes": attrs})
    return {
        "ir_version": model.ir_version,
        "opset_import": [{"domain": o.domain or "ai.onnx", "version": o.version}
                         for o in model.opset_import],
        "producer": f"{model.producer_name} {model.producer_version}",
        "inputs": [value_info(v) for v in model.graph.input],
        "outputs": [value_info(v) for v in model.graph.output],
        "initializers": [{"name": t.name, "dims": list(t.dims),
                          "data_type": TensorProto.DataType.Name(t.data_type)}
                         for t in model.graph.initializer],
        "ops": [{"op_type": n["op_type"], "domain": n["domain"]} for n in nodes],
        "nodes": nodes,
    }


def onnx_model(name, pipe, train_x, train_y, score_x, initial_types, feed, kind, complete,
               options=None, extra=None):
    pipe.fit(train_x, train_y)
    model = convert_sklearn(pipe, initial_types=initial_types, target_opset=TARGET_OPSET,
                            options=options)
    # skl2onnx names the graph with a random uuid and writes opset_import in set order, with
    # the default domain twice: fix both so that the bytes do not change from run to run
    model.graph.name = name
    opsets = {}
    for o in model.opset_import:
        opsets[o.domain] = max(o.version, opsets.get(o.domain, 0))
    del model.opset_import[:]
    model.opset_import.extend(helper.make_opsetid(d, v) for d, v in sorted(opsets.items()))
    path = OUT / f"{name}.onnx"
    path.write_bytes(model.SerializeToString())
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outs = sess.run(None, feed)
    out_names = [o.name for o in sess.get_outputs()]
    cols, sk = {}, {}
    if kind == "classifier":
        label, proba = outs[0], outs[1]
        if isinstance(proba, list):  # ZipMap: a list of {class: probability}
            keys = sorted(proba[0])
            proba = np.array([[row[k] for k in keys] for row in proba], dtype=np.float32)
        sk_proba = pipe.predict_proba(score_x)
        sk_label = pipe.predict(score_x)
        for k in range(proba.shape[1]):
            cols[f"p{k}"] = proba[:, k]
            sk[f"p{k}"] = sk_proba[:, k]
        cols["prediction"] = label.astype(np.int64)
        sk["prediction"] = sk_label.astype(np.int64)
        diff = float(np.abs(proba - sk_proba).max())
        diff_complete = float(np.abs(proba - sk_proba)[complete].max())
        mismatched = int((label.astype(np.int64) != sk_label).sum())
    else:
        pred = outs[0].ravel()
        sk_pred = pipe.predict(score_x)
        cols["score"] = pred
        sk["score"] = sk_pred
        diff = float(np.abs(pred - sk_pred).max())
        diff_complete = float(np.abs(pred - sk_pred)[complete].max())
        mismatched = None
    write_csv(OUT / f"{name}.expected.csv", cols)
    write_csv(OUT / f"{name}.sklearn.csv", sk)
    desc = describe_onnx(model)
    desc.update(ort_output_names=out_names, max_abs_diff_vs_sklearn=diff,
                max_abs_diff_vs_sklearn_rows_without_nan=diff_complete,
                labels_differing_from_sklearn=mismatched)
    record(name, format="onnx", model=f"{name}.onnx",
           input="categorical.input.csv" if "cat" in feed else "numeric.input.csv",
           expected=f"{name}.expected.csv", sklearn=f"{name}.sklearn.csv",
           estimator=str(pipe).replace("\n", " ").replace("  ", ""),
           options=options or {}, ops=desc["ops"], max_abs_diff_vs_sklearn=diff,
           max_abs_diff_vs_sklearn_rows_without_nan=diff_complete,
           labels_differing_from_sklearn=mismatched, columns=list(cols), **(extra or {}))
    return desc, diff, diff_complete


def onnx_models(train, score):
    x_tr = train[FEATS].to_numpy()
    x_sc = score[FEATS].to_numpy()
    num_types = [("input", FloatTensorType([None, len(FEATS)]))]
    num_feed = {"input": x_sc.astype(np.float32)}
    complete = ~score[FEATS].isna().any(axis=1).to_numpy()  # rows without NaN
    summary = {}
    ok = {}

    def add(name, *args, **kw):
        desc, diff, diff_complete = onnx_model(name, *args, complete=complete, **kw)
        summary[name] = desc
        ok[name] = diff_complete if name == "onnx_et_regressor" else diff

    add("onnx_rf_binary",
        Pipeline([("impute", SimpleImputer(strategy="mean")),
                  ("rf", RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0,
                                                n_jobs=1))]),
        x_tr, train["y_bin"].to_numpy(), x_sc, num_types, num_feed, "classifier",
        extra={"note": "default ZipMap: output_probability is seq(map(int64, float)); "
                       "RF probabilities are the mean of the trees' leaf class fractions"})
    add("onnx_et_regressor",
        ExtraTreesRegressor(n_estimators=20, max_depth=6, random_state=0, n_jobs=1),
        x_tr, train["y_reg"].to_numpy(), x_sc, num_types, num_feed, "regressor",
        extra={"note": "trained on NaN directly (scikit-learn's missing_go_to_left); "
                       "skl2onnx 1.20 does not carry missing_go_to_left for RF/ET "
                       "(nodes_missing_value_tracks_true all 0), so in ONNX a NaN fails "
                       "BRANCH_LEQ and goes to the false child: rows with NaN differ from "
                       "scikit-learn. expected.csv is onnxruntime, the ONNX semantics"})
    add("onnx_gb_multiclass",
        Pipeline([("impute", SimpleImputer(strategy="median")),
                  ("gb", GradientBoostingClassifier(n_estimators=20, max_depth=3,
                                                    random_state=0))]),
        x_tr, train["y_multi"].to_numpy(), x_sc, num_types, num_feed, "classifier",
        options={"zipmap": False},
        extra={"note": "GradientBoostingClassifier does not take NaN, hence the imputer; "
                       "post_transform SOFTMAX, base_values = the init estimator's log priors"})
    add("onnx_hgb_binary",
        HistGradientBoostingClassifier(max_iter=20, max_leaf_nodes=15, random_state=0),
        x_tr, train["y_bin"].to_numpy(), x_sc, num_types, num_feed, "classifier",
        options={"zipmap": False},
        extra={"note": "NaN handled natively: nodes_missing_value_tracks_true=1 sends NaN "
                       "to the true (left) child"})
    cat_tr = train[FEATS].copy()
    cat_tr["cat"] = train["cat"].astype(object).where(train["cat"].notna(), "").astype(str)
    cat_sc = score[FEATS].copy()
    cat_sc["cat"] = score["cat"].astype(object).where(score["cat"].notna(), "").astype(str)
    ct_types = [(c, FloatTensorType([None, 1])) for c in FEATS] + \
               [("cat", StringTensorType([None, 1]))]
    ct_feed = {c: cat_sc[c].to_numpy().astype(np.float32).reshape(-1, 1) for c in FEATS}
    ct_feed["cat"] = cat_sc["cat"].to_numpy().astype(object).reshape(-1, 1)
    add("onnx_logreg_columntransformer",
        Pipeline([("prep", ColumnTransformer([
            ("num", Pipeline([("impute", SimpleImputer(strategy="mean")),
                              ("scale", StandardScaler())]), FEATS),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["cat"])])),
            ("lr", LogisticRegression(C=1.0, max_iter=1000))]),
        cat_tr, train["y_bin"].to_numpy(), cat_sc, ct_types, ct_feed, "classifier",
        options={"zipmap": False},
        extra={"note": "one input per column: f0..f5 float [N,1], cat string [N,1] holding "
                       "the category label (code 0..5 -> a..f) or the empty string when "
                       "missing (the encoder learnt \"\" as a category of its own)"})
    add("onnx_ridge",
        Pipeline([("impute", SimpleImputer(strategy="mean")), ("scale", StandardScaler()),
                  ("ridge", Ridge(alpha=1.0))]),
        x_tr, train["y_reg"].to_numpy(), x_sc, num_types, num_feed, "regressor")

    for name, diff in ok.items():  # ET: only the rows without NaN agree (see its note)
        assert diff < ORT_TOL, (name, diff)
    # bad: graphs that are valid ONNX but use operators a tree scorer does not run
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, len(FEATS)])
    y = helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, 1])
    w = helper.make_tensor("W", TensorProto.FLOAT, [len(FEATS), 1],
                           [0.5, -0.25, 1.0, 0.125, -1.0, 2.0])
    g = helper.make_graph([helper.make_node("MatMul", ["input", "W"], ["variable"])],
                          "bad_matmul", [x], [y], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", TARGET_OPSET)],
                          producer_name="tree_models.py")
    m.ir_version = 10
    onnx.checker.check_model(m)
    (OUT / "bad_matmul.onnx").write_bytes(m.SerializeToString())
    ort.InferenceSession(str(OUT / "bad_matmul.onnx"), providers=["CPUExecutionProvider"])
    label = helper.make_tensor_value_info("label", TensorProto.INT64, [None])
    scores = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])
    svm = helper.make_node(
        "SVMClassifier", ["input"], ["label", "probabilities"], domain="ai.onnx.ml",
        classlabels_ints=[0, 1], kernel_type="LINEAR", kernel_params=[0.0, 0.0, 3.0],
        coefficients=[1.0, -1.0],
        support_vectors=[0.5, -0.25, 1.0, 0.125, -1.0, 2.0, -0.5, 0.25, -1.0, 0.0, 1.0, -2.0],
        vectors_per_class=[1, 1], rho=[0.1], post_transform="NONE")
    g = helper.make_graph([svm], "bad_svm", [x], [label, scores])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", TARGET_OPSET),
                                            helper.make_opsetid("ai.onnx.ml", 1)],
                          producer_name="tree_models.py")
    m.ir_version = 10
    onnx.checker.check_model(m)
    (OUT / "bad_svm.onnx").write_bytes(m.SerializeToString())
    ort.InferenceSession(str(OUT / "bad_svm.onnx"), providers=["CPUExecutionProvider"])
    for bad in ["bad_matmul.onnx", "bad_svm.onnx"]:
        summary[bad.removesuffix(".onnx")] = describe_onnx(onnx.load(str(OUT / bad)))
    return summary


def versions():
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": pa.__version__,
        "xgboost": xgb.__version__,
        "lightgbm": lgb.__version__,
        "scikit-learn": sklearn.__version__,
        "scipy": scipy.__version__,
        "skl2onnx": skl2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
        "protobuf": google.protobuf.__version__,
    }


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    train, score, big = data()
    write_inputs(score)
    xgboost_models(train, score, big)
    src = (OUT / "xgb_binary_logistic.json").read_bytes()
    (OUT / "bad_truncated.json").write_bytes(src[: len(src) // 2])
    lightgbm_models(train, score)
    summary = onnx_models(train, score)
    (OUT / "onnx_models.json").write_text(json.dumps(summary, indent=1) + "\n")
    (OUT / "manifest.json").write_text(json.dumps(
        {"categories": {str(i): c for i, c in enumerate(CATS)}, "models": MANIFEST},
        indent=1) + "\n")
    (OUT / "versions.json").write_text(json.dumps(versions(), indent=1) + "\n")
    total = 0
    for p in sorted(OUT.iterdir()):
        total += p.stat().st_size
        print(f"{p.stat().st_size:>9}  {p.name}")
    print(f"{total:>9}  total")
    for name, m in MANIFEST.items():
        if "max_abs_diff_vs_sklearn" in m:
            print(f"{name}: max |ort - sklearn| = {m['max_abs_diff_vs_sklearn']:.3g} "
                  f"(rows without NaN: {m['max_abs_diff_vs_sklearn_rows_without_nan']:.3g}), "
                  f"labels differing: {m['labels_differing_from_sklearn']}")


if __name__ == "__main__":
    main()
