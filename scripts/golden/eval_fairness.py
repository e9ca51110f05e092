#!/usr/bin/env python3
"""Golden fixtures for mlops-eval's fairness aggregates, computed with fairlearn.

Writes crates/mlops-eval/tests/fixtures/fairness.json; the Rust tests compare to 1e-9.

    pip install fairlearn numpy pandas
    python3 scripts/golden/eval_fairness.py

Two modes per case: `fairlearn` is fairlearn as it is (a rate a group cannot define counts as 0);
`mlops` is mlops's default (such a rate is left out), reproduced in fairlearn by giving MetricFrame
rate functions that return nan there, which its aggregates skip.
"""

import json
import pathlib
import warnings

import fairlearn
import numpy as np
import pandas as pd
from fairlearn import metrics as fm

warnings.simplefilter("ignore")
OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/mlops-eval/tests/fixtures/fairness.json"


def nan_rate(num, den):
    """A rate from a weighted confusion count, nan when its denominator is zero."""

    def rate(y_true, y_pred, sample_weight=None):
        w = np.ones(len(y_true)) if sample_weight is None else np.asarray(sample_weight)
        y, p = np.asarray(y_true) == 1, np.asarray(y_pred) == 1
        d = w[den(y, p)].sum()
        return np.nan if d == 0 else w[num(y, p)].sum() / d

    return rate


TPR = nan_rate(lambda y, p: y & p, lambda y, p: y)
FPR = nan_rate(lambda y, p: ~y & p, lambda y, p: ~y)


def clean(v):
    v = float(v)
    return None if np.isnan(v) else v


def aggregates(y, p, features, w, method):
    params = {"sample_weight": w}
    kw = dict(y_true=y, y_pred=p, sensitive_features=features, sample_weight=w, method=method)
    fairlearn_mode = {
        "demographic_parity_difference": fm.demographic_parity_difference(**kw),
        "demographic_parity_ratio": fm.demographic_parity_ratio(**kw),
        "equalized_odds_difference": fm.equalized_odds_difference(**kw),
        "equalized_odds_ratio": fm.equalized_odds_ratio(**kw),
        "equal_opportunity_difference": fm.equal_opportunity_difference(**kw),
    }
    sel = fm.MetricFrame(metrics=fm.selection_rate, y_true=y, y_pred=p, sensitive_features=features, sample_params=params)
    rates = fm.MetricFrame(
        metrics={"tpr": TPR, "fpr": FPR}, y_true=y, y_pred=p, sensitive_features=features,
        sample_params={"tpr": params, "fpr": params},
    )
    diff, ratio = rates.difference(method=method), rates.ratio(method=method)
    mlops_mode = {
        "demographic_parity_difference": sel.difference(method=method),
        "demographic_parity_ratio": sel.ratio(method=method),
        "equalized_odds_difference": np.nanmax([diff["tpr"], diff["fpr"]]) if not np.all(np.isnan([diff["tpr"], diff["fpr"]])) else np.nan,
        "equalized_odds_ratio": np.nanmin([ratio["tpr"], ratio["fpr"]]) if not np.all(np.isnan([ratio["tpr"], ratio["fpr"]])) else np.nan,
        "equal_opportunity_difference": diff["tpr"],
    }
    return {k: clean(v) for k, v in fairlearn_mode.items()}, {k: clean(v) for k, v in mlops_mode.items()}


def case(name, y, p, columns, w):
    features = pd.DataFrame({f"s{i}": c for i, c in enumerate(columns)})
    combos = list(zip(*columns))
    order = sorted(set(combos))
    groups = [order.index(c) for c in combos]
    out = {"name": name, "labels": y.tolist(), "predictions": p.tolist(), "groups": groups, "group_count": len(order),
           "weights": None if w is None else w.tolist(), "expected": {}}
    for method in ["between_groups", "to_overall"]:
        fl, ours = aggregates(y, p, features, w, method)
        out["expected"][method] = {"fairlearn": fl, "mlops": ours}
    privileged = np.array([g == 0 for g in groups])
    sw = np.ones(len(y)) if w is None else w
    sel = lambda mask: (sw[mask] * p[mask]).sum() / sw[mask].sum()
    out["privileged"] = privileged.tolist()
    out["expected"]["disparate_impact"] = float(sel(~privileged) / sel(privileged))
    return out


def main():
    rng = np.random.default_rng(7)
    cases = []
    n = 300
    g = rng.integers(0, 3, n)
    y = rng.integers(0, 2, n)
    p = ((y + rng.uniform(0, 1, n) * (1 + g)) > 1.2).astype(int)
    cases.append(case("three-groups", y, p, [g], None))
    cases.append(case("three-groups-weighted", y, p, [g], rng.uniform(0.5, 2.0, n)))
    # Group 2 has no positive labels, group 0 no negatives: undefined TPR / FPR there.
    y2 = y.copy()
    y2[g == 2] = 0
    y2[g == 0] = 1
    cases.append(case("undefined-rates", y2, p, [g], None))
    cases.append(case("undefined-rates-weighted", y2, p, [g], rng.uniform(0.5, 2.0, n)))
    # An intersection of two attributes.
    h = rng.choice(["a", "b"], n)
    cases.append(case("intersection", y, p, [g, h], None))
    doc = {"fairlearn": fairlearn.__version__, "cases": cases}
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
