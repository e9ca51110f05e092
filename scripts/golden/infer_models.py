#!/usr/bin/env python3
"""Golden fixtures for `mlops predict`: model directories written with numpy and safetensors
(no torch), their input batches, and the outputs of a numpy forward pass in float64.

Writes tests/fixtures/models/<name>/{model.yaml, model.safetensors, input.parquet, expected.json}
for three models that together use every layer and output kind:
- `binary`: standardised numbers and a one-hot category, linear, layer_norm, gelu, dropout,
  leaky_relu, a linear without bias, sigmoid; integer classes;
- `multiclass`: batch_norm (with num_batches_tracked, as PyTorch saves it), tanh, silu, softmax;
  text classes; an input stored as float32 and one as a boolean;
- `regression`: sigmoid between layers, identity output, weights stored as float64.

Tensor names and layouts are PyTorch's (`nn.Sequential` state_dict: `0.weight` [out, in]).

    pip install numpy safetensors pyarrow
    python3 scripts/golden/infer_models.py
"""

import json
import math
import pathlib

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from safetensors.numpy import save_file

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests/fixtures/models"
ROWS = 300
rng = np.random.default_rng(20261122)


def uniform(*shape, bound=0.5, dtype=np.float32):
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def layer_norm(x, w, b, eps):
    mean = x.mean(axis=1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def f64(t):
    return t.astype(np.float64)


def write(name, spec_yaml, tensors, table, expected):
    out = OUT / name
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.yaml").write_text(spec_yaml)
    save_file(tensors, str(out / "model.safetensors"))
    pq.write_table(table, out / "input.parquet")
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


def binary():
    age = rng.integers(18, 90, ROWS).astype(np.int64)
    income = rng.normal(50_000, 15_000, ROWS)
    tenure = rng.exponential(3.0, ROWS)
    plans = np.array(["basic", "plus", "pro", "trial"])  # "trial" is not a category of the model
    plan = plans[rng.integers(0, 4, ROWS)]
    mean = np.array([50.0, 48_000.0, 2.5])
    std = np.array([20.0, 14_000.0, 3.0])
    t = {
        "scaler.mean": mean.astype(np.float32),
        "scaler.std": std.astype(np.float32),
        "0.weight": uniform(16, 6),
        "0.bias": uniform(16),
        "1.weight": uniform(16, bound=1.0) + 1.0,
        "1.bias": uniform(16),
        "4.weight": uniform(8, 16),
        "4.bias": uniform(8),
        "6.weight": uniform(1, 8, bound=1.5),
    }
    # The scaler is read as stored (float32), so standardise with the same values.
    m, s = f64(t["scaler.mean"]), f64(t["scaler.std"])
    x = np.zeros((ROWS, 6))
    x[:, 0] = (age - m[0]) / s[0]
    x[:, 1] = (income - m[1]) / s[1]
    for i, p in enumerate(["basic", "plus", "pro"]):
        x[:, 2 + i] = plan == p
    x[:, 5] = (tenure - m[2]) / s[2]
    h = x @ f64(t["0.weight"]).T + f64(t["0.bias"])
    h = layer_norm(h, f64(t["1.weight"]), f64(t["1.bias"]), 1e-5)
    h = gelu(h)
    h = h @ f64(t["4.weight"]).T + f64(t["4.bias"])
    h = np.where(h > 0, h, 0.2 * h)
    score = sigmoid(h @ f64(t["6.weight"]).T)[:, 0]
    spec = """format: mlops-model/1
task: binary
inputs: [age, income, plan, tenure]
classes: [0, 1]
preprocess:
  standardize: {mean: scaler.mean, std: scaler.std}
  onehot: {plan: [basic, plus, pro]}
layers:
  - {linear: "0"}
  - {layer_norm: "1"}
  - gelu
  - dropout
  - {linear: "4"}
  - {leaky_relu: 0.2}
  - {linear: "6"}
output: sigmoid
"""
    table = pa.table(
        {"id": np.arange(ROWS), "age": age, "income": income, "plan": plan, "tenure": tenure}
    )
    expected = {"score": score.tolist(), "prediction": (score >= 0.5).astype(int).tolist()}
    write("binary", spec, t, table, expected)


def multiclass():
    a = rng.normal(0, 1, ROWS).astype(np.float32)
    b = rng.normal(2, 3, ROWS)
    flag = rng.integers(0, 2, ROWS).astype(bool)
    t = {
        "0.weight": uniform(12, 3),
        "0.bias": uniform(12),
        "1.running_mean": uniform(12),
        "1.running_var": uniform(12, bound=0.4) + 0.6,
        "1.weight": uniform(12) + 1.0,
        "1.bias": uniform(12),
        "1.num_batches_tracked": np.array(100, dtype=np.int64),
        "4.weight": uniform(3, 12, bound=1.0),
        "4.bias": uniform(3),
    }
    x = np.stack([f64(a), b, flag.astype(np.float64)], axis=1)
    h = x @ f64(t["0.weight"]).T + f64(t["0.bias"])
    h = (h - f64(t["1.running_mean"])) / np.sqrt(f64(t["1.running_var"]) + 1e-3)
    h = h * f64(t["1.weight"]) + f64(t["1.bias"])
    h = np.tanh(h)
    h = h * sigmoid(h)  # silu
    p = softmax(h @ f64(t["4.weight"]).T + f64(t["4.bias"]))
    spec = """format: mlops-model/1
task: multiclass
inputs: [a, b, flag]
classes: [cat, dog, fish]
layers:
  - {linear: "0"}
  - {batch_norm: "1", eps: 0.001}
  - tanh
  - silu
  - {linear: "4"}
output: softmax
"""
    classes = np.array(["cat", "dog", "fish"])
    table = pa.table({"a": a, "b": b, "flag": flag, "label": classes[rng.integers(0, 3, ROWS)]})
    expected = {
        "score_cat": p[:, 0].tolist(),
        "score_dog": p[:, 1].tolist(),
        "score_fish": p[:, 2].tolist(),
        "prediction": classes[p.argmax(axis=1)].tolist(),
    }
    write("multiclass", spec, t, table, expected)


def regression():
    x1 = rng.normal(0, 1, ROWS)
    x2 = rng.integers(-5, 5, ROWS).astype(np.int32)
    t = {
        "0.weight": uniform(4, 2, dtype=np.float64),
        "0.bias": uniform(4, dtype=np.float64),
        "2.weight": uniform(1, 4, bound=3.0, dtype=np.float64),
        "2.bias": np.array([10.0]),
    }
    x = np.stack([x1, x2.astype(np.float64)], axis=1)
    h = sigmoid(x @ t["0.weight"].T + t["0.bias"])
    y = (h @ t["2.weight"].T + t["2.bias"])[:, 0]
    spec = """format: mlops-model/1
task: regression
inputs: [x1, x2]
layers: [{linear: "0"}, sigmoid, {linear: "2"}]
output: identity
"""
    write("regression", spec, t, pa.table({"x1": x1, "x2": x2}), {"prediction": y.tolist()})


if __name__ == "__main__":
    binary()
    multiclass()
    regression()
