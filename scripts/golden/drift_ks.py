#!/usr/bin/env python3
"""Golden fixtures for mlops-drift's Kolmogorov-Smirnov test, with scipy.

Writes crates/mlops-drift/tests/fixtures/ks.json:
- `kstwo`: scipy's `kstwo.sf(x, n)` over a grid that reaches every algorithm scipy selects
  (Ruben-Gambino, Durbin's matrix, Pomeranz, Pelz-Good, Smirnov's one-sided sum);
- `two_sample`: `ks_2samp(a, b)` (method="auto") on samples both sides can rebuild: value i of a
  sample is `round(frac(i * step + offset) * scale) / scale`, so ties appear when `scale` is small.
  Samples of more than 10,000 values take scipy's asymptotic branch.

    pip install scipy numpy
    python3 scripts/golden/drift_ks.py
"""

import json
import pathlib

import numpy as np
import scipy
from scipy import stats

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/mlops-drift/tests/fixtures/ks.json"


def sample(n, step, offset, scale, shift):
    i = np.arange(n, dtype=np.float64)
    frac = np.mod(i * step + offset, 1.0)
    return np.round(frac * scale) / scale + shift


def main():
    kstwo = []
    for n in [1, 2, 5, 10, 50, 100, 140, 141, 500, 1000, 5000, 20000, 99999, 100001, 500000]:
        for x in [0.001, 0.004, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.45, 0.5, 0.7, 0.95]:
            kstwo.append({"n": n, "x": x, "sf": float(stats.kstwo.sf(x, n))})
    pairs = []
    specs = [
        # (n1, step1, offset1, scale1, shift1, n2, step2, offset2, scale2, shift2)
        (20, 0.618034, 0.1, 1e6, 0.0, 20, 0.414214, 0.3, 1e6, 0.0),
        (50, 0.618034, 0.1, 10.0, 0.0, 50, 0.414214, 0.3, 10.0, 0.1),
        (37, 0.618034, 0.2, 1e6, 0.0, 91, 0.732051, 0.5, 1e6, 0.05),
        (300, 0.618034, 0.0, 1e6, 0.0, 700, 0.414214, 0.0, 1e6, 0.0),
        (1000, 0.618034, 0.0, 1e6, 0.0, 2500, 0.236068, 0.7, 1e6, 0.02),
        (3000, 0.618034, 0.0, 20.0, 0.0, 4000, 0.414214, 0.2, 20.0, 0.0),
        (10000, 0.618034, 0.0, 1e6, 0.0, 9000, 0.414214, 0.2, 1e6, 0.01),
        (120, 0.618034, 0.0, 1e6, 0.0, 12000, 0.414214, 0.2, 1e6, 0.0),
        (130, 0.618034, 0.0, 1e6, 0.0, 12000, 0.414214, 0.2, 1e6, 0.2),
        (800, 0.618034, 0.0, 1e6, 0.0, 15000, 0.414214, 0.2, 1e6, 0.0),
        (20000, 0.618034, 0.0, 1e6, 0.0, 30000, 0.414214, 0.2, 1e6, 0.003),
        (20000, 0.618034, 0.0, 1e6, 0.0, 30000, 0.414214, 0.2, 1e6, 0.03),
        (50000, 0.618034, 0.0, 100.0, 0.0, 50000, 0.414214, 0.2, 100.0, 0.0),
    ]
    for n1, s1, o1, c1, h1, n2, s2, o2, c2, h2 in specs:
        a = sample(n1, s1, o1, c1, h1)
        b = sample(n2, s2, o2, c2, h2)
        r = stats.ks_2samp(a, b)
        pairs.append({
            "a": [n1, s1, o1, c1, h1],
            "b": [n2, s2, o2, c2, h2],
            "statistic": float(r.statistic),
            "p_value": float(r.pvalue),
        })
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"scipy": scipy.__version__, "kstwo": kstwo, "two_sample": pairs}, indent=1) + "\n")
    print(f"wrote {OUT}: {len(kstwo)} kstwo values, {len(pairs)} sample pairs")


if __name__ == "__main__":
    main()
