#!/usr/bin/env python3
"""Golden fixtures for mlops-eval's statistics (Wilson intervals, two-proportion test, BH), with scipy.

Writes crates/mlops-eval/tests/fixtures/stats.json; the Rust tests compare to 1e-9.

    pip install scipy numpy
    python3 scripts/golden/eval_stats.py
"""

import json
import pathlib

import numpy as np
import scipy
from scipy import stats

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/mlops-eval/tests/fixtures/stats.json"


def main():
    rng = np.random.default_rng(11)
    wilson = []
    for k, n, conf in [(0, 10, 0.95), (10, 10, 0.95), (8, 10, 0.95), (1, 1000, 0.95), (517, 1000, 0.9), (3, 7, 0.99)] + [
        (int(k), int(n), 0.95) for n in rng.integers(5, 5000, 10) for k in [rng.integers(0, n + 1)]
    ]:
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=conf, method="wilson")
        wilson.append({"successes": k, "trials": n, "confidence": conf, "low": ci.low, "high": ci.high})
    tests = []
    for _ in range(15):
        n1, n2 = (int(x) for x in rng.integers(10, 3000, 2))
        x1, x2 = int(rng.integers(0, n1 + 1)), int(rng.integers(0, n2 + 1))
        table = [[x1, n1 - x1], [x2, n2 - x2]]
        p = stats.chi2_contingency(table, correction=False).pvalue
        tests.append({"a": [x1, n1], "b": [x2, n2], "p_value": float(p)})
    bh = []
    for size in [1, 5, 20]:
        ps = rng.uniform(0, 0.2, size).tolist()
        bh.append({"p_values": ps, "adjusted": stats.false_discovery_control(ps, method="bh").tolist()})
    ties = [0.01, 0.01, 0.04, 0.2, 0.04]
    bh.append({"p_values": ties, "adjusted": stats.false_discovery_control(ties, method="bh").tolist()})
    doc = {"scipy": scipy.__version__, "wilson": wilson, "two_proportion": tests, "benjamini_hochberg": bh}
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
