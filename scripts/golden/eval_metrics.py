#!/usr/bin/env python3
"""Golden fixtures for mlops-eval's metrics: seeded inputs and scikit-learn's values for them.

Writes crates/mlops-eval/tests/fixtures/metrics.json, which the Rust tests compare against to
1e-9. Run it again (and commit the output) when a metric is added or scikit-learn changes:

    pip install scikit-learn numpy
    python3 scripts/golden/eval_metrics.py

It is not run in CI: the fixture file is the reference. A value that mlops reports as undefined is
written as null; where scikit-learn differs on purpose (see docs/eval.md), the value here is
scikit-learn's with `zero_division=np.nan`, or null with the reason in a comment below.
"""

import json
import pathlib
import warnings

import numpy as np
import sklearn
from sklearn import metrics as m
from sklearn.calibration import calibration_curve

warnings.simplefilter("ignore")
OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/mlops-eval/tests/fixtures/metrics.json"
NAN = np.nan


def value(fn):
    """scikit-learn's value, or None where it is undefined (nan) or raises."""
    try:
        v = float(fn())
    except ValueError:
        return None
    return None if np.isnan(v) else v


def ece(y, p, bins=10):
    """Expected calibration error from calibration_curve (unweighted only)."""
    prob_true, prob_pred = calibration_curve(y, p, n_bins=bins, strategy="uniform")
    edges = np.linspace(0.0, 1.0, bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=bins)
    counts = counts[counts > 0]
    return float(np.sum(counts / len(y) * np.abs(prob_true - prob_pred)))


def binary_case(name, y, p, w):
    pred = (p >= 0.5).astype(int)
    has_pos, has_neg = y.sum() > 0, (1 - y).sum() > 0
    cm = lambda: m.confusion_matrix(y, pred, labels=[0, 1], sample_weight=w).ravel()
    tn, fp, fn, tp = cm()
    rate = lambda a, b: None if b == 0 else float(a / b)
    expected = {
        "accuracy": value(lambda: m.accuracy_score(y, pred, sample_weight=w)),
        "balanced_accuracy": value(lambda: m.balanced_accuracy_score(y, pred, sample_weight=w)),
        "precision": value(lambda: m.precision_score(y, pred, sample_weight=w, zero_division=NAN)),
        "recall": value(lambda: m.recall_score(y, pred, sample_weight=w, zero_division=NAN)),
        "f1": value(lambda: m.f1_score(y, pred, sample_weight=w, zero_division=NAN)),
        "fpr": rate(fp, fp + tn),
        "tnr": rate(tn, fp + tn),
        "fnr": rate(fn, fn + tp),
        "selection_rate": rate(tp + fp, tp + fp + tn + fn),
        # AUC and average precision need both classes; scikit-learn returns nan or 0 otherwise.
        "roc_auc": value(lambda: m.roc_auc_score(y, p, sample_weight=w)) if has_pos and has_neg else None,
        "average_precision": value(lambda: m.average_precision_score(y, p, sample_weight=w)) if has_pos else None,
        "log_loss": value(lambda: m.log_loss(y, p, sample_weight=w, labels=[0, 1])),
        "brier": value(lambda: m.brier_score_loss(y, p, sample_weight=w, pos_label=1)),
    }
    if w is None:
        expected["expected_calibration_error"] = ece(y, p)
    return {
        "name": name,
        "labels": y.tolist(),
        "scores": p.tolist(),
        "predictions": pred.tolist(),
        "weights": None if w is None else w.tolist(),
        "expected": expected,
    }


def multiclass_case(name, y, proba, pred, w, classes):
    avg = lambda f, a: value(lambda: f(y, pred, average=a, sample_weight=w, zero_division=NAN))
    present = set(y.tolist())
    expected = {
        "accuracy": value(lambda: m.accuracy_score(y, pred, sample_weight=w)),
        "balanced_accuracy": value(lambda: m.balanced_accuracy_score(y, pred, sample_weight=w)),
        "precision_macro": avg(m.precision_score, "macro"),
        "precision_weighted": avg(m.precision_score, "weighted"),
        "recall_macro": avg(m.recall_score, "macro"),
        "recall_weighted": avg(m.recall_score, "weighted"),
        "f1_macro": avg(m.f1_score, "macro"),
        "f1_weighted": avg(m.f1_score, "weighted"),
        "roc_auc_ovr": value(lambda: m.roc_auc_score(y, proba, multi_class="ovr", average="macro", sample_weight=w))
        if len(present) == classes
        else None,
        "log_loss": value(lambda: m.log_loss(y, proba, sample_weight=w, labels=list(range(classes)))),
    }
    return {
        "name": name,
        "classes": classes,
        "labels": y.tolist(),
        "predictions": pred.tolist(),
        "scores": proba.ravel().tolist(),
        "weights": None if w is None else w.tolist(),
        "expected": expected,
    }


def regression_case(name, y, p, w):
    constant = np.all(y == y[0])
    expected = {
        "mae": value(lambda: m.mean_absolute_error(y, p, sample_weight=w)),
        "mse": value(lambda: m.mean_squared_error(y, p, sample_weight=w)),
        "rmse": value(lambda: m.root_mean_squared_error(y, p, sample_weight=w)),
        # A constant target: mlops reports R² as undefined; scikit-learn forces 1.0 or 0.0.
        "r2": None if constant else value(lambda: m.r2_score(y, p, sample_weight=w)),
        "mape": value(lambda: m.mean_absolute_percentage_error(y, p, sample_weight=w)),
        "median_ae": value(lambda: m.median_absolute_error(y, p, sample_weight=w)),
        "max_error": value(lambda: m.max_error(y, p)),
    }
    return {"name": name, "truth": y.tolist(), "predictions": p.tolist(), "weights": None if w is None else w.tolist(), "expected": expected}


def main():
    rng = np.random.default_rng(20261122)
    binary = []
    for n, ties, weighted in [(200, False, False), (200, True, False), (200, True, True), (7, True, True), (1000, False, True)]:
        y = rng.integers(0, 2, n)
        p = np.clip(0.35 * y + rng.uniform(0, 0.65, n), 0, 1)
        if ties:
            p = np.round(p, 1)
        w = rng.uniform(0.5, 2.0, n) if weighted else None
        binary.append(binary_case(f"n{n}{'-ties' if ties else ''}{'-weighted' if weighted else ''}", y, p, w))
    # Scores exactly 0 and 1 (clipping in log loss) and scores on bin edges (calibration bins).
    y = np.array([1, 0, 1, 0, 1, 0, 1, 1, 0, 0])
    p = np.array([1.0, 0.0, 0.0, 1.0, 0.1, 0.2, 0.5, 0.9, 0.3, 0.7])
    binary.append(binary_case("extremes-and-edges", y, p, None))
    # One class only: recall, AUC and friends are undefined.
    binary.append(binary_case("only-negatives", np.zeros(20, dtype=int), rng.uniform(0, 1, 20), None))
    binary.append(binary_case("only-positives", np.ones(20, dtype=int), rng.uniform(0, 1, 20), None))

    multiclass = []
    for n, classes, weighted, drop in [(150, 3, False, False), (300, 4, True, False), (60, 3, False, True)]:
        y = rng.integers(0, classes, n)
        logits = rng.normal(0, 1, (n, classes))
        logits[np.arange(n), y] += 1.2
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        pred = proba.argmax(axis=1)
        if drop:
            pred[pred == classes - 1] = 0  # the last class is never predicted
        w = rng.uniform(0.5, 2.0, n) if weighted else None
        multiclass.append(multiclass_case(f"n{n}-k{classes}{'-weighted' if weighted else ''}{'-never-predicted' if drop else ''}", y, proba, pred, w, classes))

    regression = []
    for n, weighted in [(100, False), (100, True), (8, False), (9, True)]:
        y = rng.normal(10, 5, n)
        p = y + rng.normal(0, 2, n)
        w = rng.uniform(0.5, 2.0, n) if weighted else None
        regression.append(regression_case(f"n{n}{'-weighted' if weighted else ''}", y, p, w))
    # A weighted median that lands exactly on half the weight, and a zero in the target (MAPE).
    regression.append(regression_case("median-on-boundary", np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 3.0, 5.0, 7.0]), np.array([1.0, 1.0, 2.0, 2.0])))
    regression.append(regression_case("constant-target", np.full(5, 2.0), np.array([1.0, 2.0, 3.0, 2.0, 2.0]), None))

    doc = {"sklearn": sklearn.__version__, "numpy": np.__version__, "binary": binary, "multiclass": multiclass, "regression": regression}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
