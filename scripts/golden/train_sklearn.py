#!/usr/bin/env python3
"""Golden fixtures for `mlops train`'s default (newton) solver: small data sets and the
coefficients scikit-learn fits on them, on the same encoded inputs.

Writes tests/fixtures/train/<case>/{data.parquet, expected.json}. Each case's `args` are the
extra `mlops train` flags; the tests run `mlops train --data data.parquet --label y
--validation 0 ARGS` and compare the weights of `model.safetensors` with `coef` (one row per
output, inputs in `mlops`'s order) and `intercept`, and the last iteration's train loss with
`train_loss`.

The encoding is mlops's: every column but `y`, in file order; numbers standardised with the
rows' mean and population standard deviation (StandardScaler), text one-hot over the sorted
categories (OneHotEncoder, no category dropped). The estimators:

- logistic: LogisticRegression(C=C, fit_intercept=..., solver="newton-cholesky", tol=1e-10),
  checked against solver="lbfgs" at tol=1e-12 (to 1e-5: lbfgs stops on
  its relative objective change first); two classes: sigmoid, more: multinomial (the
  only multiclass form scikit-learn 1.8+ fits). `train_loss` is sklearn.metrics.log_loss.
- linear: LinearRegression() (lstsq: least norm where the one-hot block and the intercept are
  collinear) or Ridge(alpha); `train_loss` is the mean squared error over the target's
  population variance (mlops reports the loss of the standardised target).

    python3 -m venv venv && venv/bin/pip install scikit-learn pandas pyarrow
    venv/bin/python scripts/golden/train_sklearn.py

Generated with scikit-learn 1.9.1, numpy 2.4.6. Not run in CI.
"""

import json
import pathlib

import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.metrics import log_loss
from sklearn.preprocessing import OneHotEncoder, StandardScaler

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests/fixtures/train"
rng = np.random.default_rng(20261207)


def features(rows):
    """Numbers on different scales, an integer column and a three-way category."""
    return pd.DataFrame(
        {
            "age": rng.normal(40, 12, rows),
            "income": rng.lognormal(10, 0.5, rows),
            "visits": rng.poisson(3, rows).astype(np.int64),
            "plan": rng.choice(["basic", "plus", "pro"], rows, p=[0.5, 0.3, 0.2]),
        }
    )


def encode(frame):
    """mlops's encoding of every column but `y`, in file order."""
    blocks = []
    for name in frame.columns:
        if name == "y":
            continue
        column = frame[[name]]
        if not pd.api.types.is_numeric_dtype(column[name]):
            blocks.append(OneHotEncoder(sparse_output=False).fit_transform(column))
        else:
            blocks.append(StandardScaler().fit_transform(column.astype(float)))
    return np.hstack(blocks)


def logistic(frame, C, fit_intercept=True):
    x, y = encode(frame), frame["y"].to_numpy()
    fits = [
        LogisticRegression(C=C, fit_intercept=fit_intercept, solver=solver, tol=tol, max_iter=1000).fit(x, y)
        for solver, tol in [("newton-cholesky", 1e-10), ("lbfgs", 1e-12)]
    ]
    newton, lbfgs = fits
    gap = np.max(np.abs(newton.coef_ - lbfgs.coef_))
    # lbfgs stops on its relative objective change first: a sanity check, not the golden.
    assert gap < 1e-5, f"newton-cholesky and lbfgs disagree by {gap}"
    return {
        "coef": newton.coef_.tolist(),
        "intercept": np.atleast_1d(newton.intercept_).tolist(),
        "train_loss": log_loss(y, newton.predict_proba(x)),
        "classes": newton.classes_.tolist(),
    }


def linear(frame, alpha):
    x, y = encode(frame), frame["y"].to_numpy()
    model = LinearRegression() if alpha == 0 else Ridge(alpha=alpha)
    model.fit(x, y)
    residual = y - model.predict(x)
    return {
        "coef": [model.coef_.tolist()],
        "intercept": [float(model.intercept_)],
        "train_loss": float(np.mean(residual**2) / np.var(y)),
    }


def write(name, frame, args, expected):
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / "data.parquet", index=False)
    expected = {"args": args, "sklearn": sklearn.__version__, **expected}
    (folder / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


def main():
    rows = 400
    frame = features(rows)
    plan_effect = frame["plan"].map({"basic": -0.5, "plus": 0.3, "pro": 1.2})
    logit = 0.08 * (frame["age"] - 40) - 0.6 * np.log(frame["income"] / 22000) + 0.2 * frame["visits"] + plan_effect - 0.4
    frame["y"] = (rng.uniform(size=rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    write("binary", frame, ["--model", "logistic"], logistic(frame, 1.0))
    write("binary_c", frame, ["--model", "logistic", "--c", "0.05"], logistic(frame, 0.05))
    numeric = frame.drop(columns="plan")
    write("binary_no_penalty", numeric, ["--model", "logistic", "--c", "inf"], logistic(numeric, np.inf))
    write(
        "binary_no_intercept",
        frame,
        ["--model", "logistic", "--no-intercept"],
        logistic(frame, 1.0, fit_intercept=False),
    )

    frame = features(rows)
    score = np.stack(
        [
            0.05 * (frame["age"] - 40),
            -0.5 * np.log(frame["income"] / 22000) + 0.3 * frame["visits"],
            (frame["plan"] == "pro") * 1.5 - 0.2,
        ],
        axis=1,
    ) + rng.gumbel(size=(rows, 3))
    frame["y"] = np.array(["churn", "stay", "upgrade"])[score.argmax(axis=1)]
    write("multiclass", frame, ["--model", "logistic"], logistic(frame, 1.0))

    frame = features(rows)
    plan_effect = frame["plan"].map({"basic": 0.0, "plus": 5.0, "pro": 12.0})
    frame["y"] = 100 + 0.7 * frame["age"] + 0.001 * frame["income"] - 2 * frame["visits"] + plan_effect + rng.normal(0, 3, rows)
    write("linear", frame, ["--model", "linear"], linear(frame, 0.0))
    write("ridge", frame, ["--model", "linear", "--alpha", "2.5"], linear(frame, 2.5))


if __name__ == "__main__":
    main()
