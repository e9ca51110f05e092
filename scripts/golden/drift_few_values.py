#!/usr/bin/env python3
"""Golden fixture for `mlops drift` on numeric columns with few distinct values, end to end:
Evidently 0.7.23's Report (its own column-type inference and default test) per case, the default
test and explicit ones, each as `ValueDrift` reports it (the p-value of a test, the distance).

Writes crates/mlops-drift/tests/fixtures/few_values.json; tests/cli/drift.rs writes each case to
Parquet, runs mlops drift and compares to 1e-9 (issue 15, items 1 and b).

Run it in the environment of drift_methods.py (Evidently 0.7.23, pandas < 2.2, numpy 1.26.4,
scipy 1.17.1):

    /tmp/evenv/bin/python scripts/golden/drift_few_values.py

What Evidently's Report does here: a float column is numerical whatever its values; an integer
column is categorical when the *current* data holds at most 10 distinct values (numerical
otherwise). A numerical column's default test is chosen from the distinct values of both sides
together (5 or fewer: chi-square or z-test, Jensen-Shannon above 1,000 reference rows; more:
KS, Wasserstein above 1,000). Numeric tests (ks, wasserstein, ...) on a categorical column are
refused by Evidently; mlops runs them on the numbers (a deliberate difference), so the explicit
cases here are float columns.
"""

import json
import pathlib
import warnings

import evidently
import numpy as np
import pandas as pd
import scipy
from evidently import Report
from evidently.metrics import ValueDrift

warnings.filterwarnings("ignore")

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/mlops-drift/tests/fixtures/few_values.json"

# Evidently's method names (explicit, and as the default reports itself) -> mlops's.
NAMES = {
    "ks": "ks", "K-S p_value": "ks", "wasserstein": "wasserstein",
    "Wasserstein distance (normed)": "wasserstein", "anderson": "anderson",
    "cramer_von_mises": "cramervonmises", "ed": "energy", "psi": "psi", "kl_div": "kl",
    "jensenshannon": "jensenshannon", "Jensen-Shannon distance": "jensenshannon",
    "hellinger": "hellinger", "chi-square p_value": "chisquare", "Z-test p_value": "ztest",
}
EXPLICIT = ["ks", "wasserstein", "anderson", "cramer_von_mises", "ed", "psi", "kl_div", "jensenshannon", "hellinger"]


def cases():
    rng = np.random.default_rng(1515)
    # The example: values 1-4 in the reference, two rows of 5 and 6 added in the batch.
    ref = rng.integers(1, 5, 300)
    cur = np.concatenate([rng.integers(1, 5, 200), [5, 6]])
    yield "float 1-4, batch adds 5 and 6", ref.astype(float), cur.astype(float), EXPLICIT
    yield "integer 1-4, batch adds 5 and 6", ref, cur, []
    big_ref = rng.integers(1, 5, 1500)
    big_cur = np.concatenate([rng.integers(1, 5, 1200), [5, 6]])
    yield "float 1-4 over 1,000 rows, batch adds 5 and 6", big_ref.astype(float), big_cur.astype(float), []
    three_ref = rng.choice([0.5, 1.5, 2.5], 400, p=[0.5, 0.3, 0.2])
    three_cur = rng.choice([0.5, 1.5, 2.5], 300, p=[0.4, 0.3, 0.3])
    yield "float three values, shifted", three_ref, three_cur, EXPLICIT
    yield "float three values over 1,000 rows", rng.choice([0.0, 1.0, 2.0], 1200), rng.choice([0.0, 1.0, 2.0], 1100), ["ks", "wasserstein"]
    two_ref = rng.choice([0.0, 1.0], 250, p=[0.7, 0.3])
    two_cur = rng.choice([0.0, 1.0], 220, p=[0.6, 0.4])
    yield "float two values", two_ref, two_cur, EXPLICIT
    yield "integer 0-3, batch 0-20", rng.integers(0, 4, 300), rng.integers(0, 21, 200), []
    yield "integer 0-20, batch 0-3", rng.integers(0, 21, 300), rng.integers(0, 4, 200), []
    yield "integer 0-7 both sides", rng.integers(0, 8, 300), rng.integers(0, 8, 200), []


def value_drift(ref, cur, method=None):
    metric = ValueDrift(column="x") if method is None else ValueDrift(column="x", method=method)
    snapshot = Report([metric]).run(pd.DataFrame({"x": cur}), pd.DataFrame({"x": ref}))
    [result] = snapshot.dict()["metrics"]
    name = result["config"]["method"]
    return {"test": NAMES[name], "value": float(result["value"])}


def main():
    out = []
    for name, ref, cur, explicit in cases():
        out.append({
            "name": name,
            "integer": bool(np.issubdtype(ref.dtype, np.integer)),
            "reference": ref.tolist(),
            "current": cur.tolist(),
            "default": value_drift(ref, cur),
            "explicit": [value_drift(ref, cur, m) for m in explicit],
        })
    OUT.write_text(json.dumps({
        "evidently": evidently.__version__, "scipy": scipy.__version__, "numpy": np.__version__,
        "cases": out,
    }) + "\n")
    print(f"wrote {OUT}: {len(out)} cases")


if __name__ == "__main__":
    main()
