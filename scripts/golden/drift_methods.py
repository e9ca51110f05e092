#!/usr/bin/env python3
"""Golden fixtures for mlops-drift's tests and distances, from Evidently's own implementations
(and scipy beneath them), plus Evidently's choice of default test per column.

Writes crates/mlops-drift/tests/fixtures/methods.json; the Rust tests compare to 1e-9.

Evidently 0.7 needs pandas < 2.2, so run it in its own environment:

    python3 -m venv /tmp/evenv && /tmp/evenv/bin/pip install "evidently==0.7.23" "pandas<2.2" "numpy==1.26.4" "scipy==1.17.1"
    /tmp/evenv/bin/python scripts/golden/drift_methods.py         # adds new cases only
    /tmp/evenv/bin/python scripts/golden/drift_methods.py --all   # recomputes every case

(numpy 2 changes a few of Evidently's results, and scipy's Cramer-von Mises p-values in the last
bit, so the versions are pinned.)
"""

import json
import pathlib
import sys

import evidently
import numpy as np
import pandas as pd
import scipy
from evidently.legacy.calculations.stattests.anderson_darling_stattest import _anderson_darling
from evidently.legacy.calculations.stattests.chisquare_stattest import _chi_stat_test
from evidently.legacy.calculations.stattests.cramer_von_mises_stattest import _cramer_von_mises, _cvm_2samp
from evidently.legacy.calculations.stattests.energy_distance import _energy_dist
from evidently.legacy.calculations.stattests.hellinger_distance import _hellinger_distance
from evidently.legacy.calculations.stattests.jensenshannon import _jensenshannon
from evidently.legacy.calculations.stattests.kl_div import _kl_div
from evidently.legacy.calculations.stattests.ks_stattest import _ks_stat_test
from evidently.legacy.calculations.stattests.psi import _psi
from evidently.legacy.calculations.stattests.registry import _get_default_stattest
from evidently.legacy.calculations.stattests.wasserstein_distance_norm import _wasserstein_distance_norm
from evidently.legacy.calculations.stattests.z_stattest import _z_stat_test, proportions_diff_z_stat_ind
from evidently.legacy.core import ColumnType
from scipy import stats

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/mlops-drift/tests/fixtures/methods.json"

NAMES = {
    "ks": "ks", "chisquare": "chisquare", "z": "ztest", "jensenshannon": "jensenshannon",
    "wasserstein": "wasserstein",
}


def cases():
    rng = np.random.default_rng(5)
    yield "normal, shifted", "num", rng.normal(0, 1, 200), rng.normal(0.4, 1.2, 150)
    yield "small integers", "num", rng.integers(0, 5, 300), rng.integers(0, 4, 250)
    yield "integers 0..40", "num", rng.integers(0, 41, 500), rng.integers(5, 41, 400)
    yield "tiny samples with ties (exact Cramer-von Mises)", "num", np.round(rng.normal(0, 1, 12), 1), np.round(rng.normal(0.8, 1, 15), 1)
    yield "twenty a side", "num", rng.normal(0, 1, 20), rng.normal(0.3, 1, 20)
    yield "constant", "num", np.full(50, 5.0), np.full(40, 5.0)
    yield "clustered with ties", "num", np.round(rng.exponential(1, 300), 1), np.round(rng.exponential(1.5, 280), 1)
    yield "large normal", "num", rng.normal(10, 2, 1200), rng.normal(10.3, 2, 1000)
    yield "large, three values", "num", rng.integers(0, 3, 1500), rng.integers(0, 3, 1300)
    yield "categories on one side only", "cat", rng.choice(["a", "b", "c"], 300), rng.choice(["b", "c", "d"], 200)
    yield "binary categories", "cat", rng.choice(["no", "yes"], 400, p=[0.7, 0.3]), rng.choice(["no", "yes"], 350, p=[0.6, 0.4])
    yield "one category both sides", "cat", np.array(["x"] * 30), np.array(["x"] * 20)
    yield "many categories, large", "cat", rng.choice(list("abcdefgh"), 2000), rng.choice(list("abcdefghi"), 1500)
    # Far apart, more than 20 a side: asymptotic Cramer-von Mises p-values from 1e-7 down to 1e-11,
    # where 1 - cdf cancels and only the same series, Bessel function and summation order agree.
    tiny = np.random.default_rng(15)
    for n, shift in [(60, 1.0), (60, 1.5), (100, 1.2), (200, 1.0), (400, 0.8), (40, 2.5)]:
        yield f"tiny Cramer-von Mises p, {n} a side, shift {shift}", "num", tiny.normal(0, 1, n), tiny.normal(shift, 1, n + 7)
    # Numbers with few distinct values stay numbers (issue 15, items 1 and b): the default test
    # comes from the distinct values of both sides, and every numeric test runs on them.
    few = np.random.default_rng(1516)
    yield "values 1-4, current adds 5 and 6", "num", few.integers(1, 5, 300).astype(float), np.concatenate([few.integers(1, 5, 200), [5, 6]]).astype(float)
    yield "values 1-4 over 1,000 rows, current adds 5 and 6", "num", few.integers(1, 5, 1500).astype(float), np.concatenate([few.integers(1, 5, 1200), [5, 6]]).astype(float)
    yield "two values, shifted", "num", few.choice([0.0, 1.0], 250, p=[0.7, 0.3]), few.choice([0.0, 1.0], 220, p=[0.6, 0.4])
    yield "three values, shifted", "num", few.choice([0.5, 1.5, 2.5], 400, p=[0.5, 0.3, 0.2]), few.choice([0.5, 1.5, 2.5], 300, p=[0.4, 0.3, 0.3])


def number(x):
    """JSON has no infinity or NaN: those go as strings."""
    x = float(x)
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def outcome(value, p=None):
    return {"statistic": number(value), "p_value": None if p is None else number(p)}


def main():
    # Cases already in the fixture keep their recorded values unless `--all` is given: Evidently
    # sums a few categorical distances in the order of a Python set of labels, which follows the
    # string hash seed (PYTHONHASHSEED), so a full rerun moves them in the last bit or two.
    rewrite = "--all" in sys.argv
    kept = {} if rewrite or not OUT.exists() else {c["name"]: c for c in json.loads(OUT.read_text())["cases"]}
    out = []
    for name, kind, ref, cur in cases():
        if name in kept:
            out.append(kept[name])
            continue
        ref_s, cur_s = pd.Series(ref), pd.Series(cur)
        ctype = ColumnType.Numerical if kind == "num" else ColumnType.Categorical
        copy = lambda: (ref_s.copy(), cur_s.copy())  # noqa: E731 (Evidently mutates its inputs)
        results = {}
        keys = sorted(set(ref_s.unique()) | set(cur_s.unique()))
        # chi-square: Evidently's p-value; its statistic from scipy on the same expected counts.
        ref_counts = np.array([(ref_s == k).sum() for k in keys], dtype=float)
        cur_counts = np.array([(cur_s == k).sum() for k in keys], dtype=float)
        chi = stats.chisquare(cur_counts, ref_counts * len(cur_s) / len(ref_s))
        p, _ = _chi_stat_test(*copy(), ctype, 0.05)
        results["chisquare"] = outcome(chi.statistic, p)
        table = np.array([ref_counts, cur_counts])
        if len(keys) > 1:
            c = stats.chi2_contingency(table)
            results["chisquare_contingency"] = outcome(c.statistic, c.pvalue)
        else:
            results["chisquare_contingency"] = outcome(0.0, 1.0)
        if len(keys) <= 2:
            p, _ = _z_stat_test(*copy(), ctype, 0.05)
            if len(keys) == 2:
                z = proportions_diff_z_stat_ind(
                    ref_s.apply(lambda x: 0 if x == keys[0] else 1),
                    cur_s.apply(lambda x: 0 if x == keys[0] else 1),
                )
            else:
                z = 0.0
            results["ztest"] = outcome(z, p)
        for method, fn in [("psi", _psi), ("kl", _kl_div), ("jensenshannon", _jensenshannon)]:
            value, _ = fn(*copy(), ctype, 0.1)
            results[method] = outcome(value)
        value, _ = _hellinger_distance(*copy(), ctype, 0.1)
        results["hellinger"] = outcome(value)
        if kind == "num":
            p, _ = _ks_stat_test(*copy(), ctype, 0.05)
            results["ks"] = outcome(stats.ks_2samp(ref, cur).statistic, p)
            value, _ = _wasserstein_distance_norm(*copy(), ctype, 0.1)
            results["wasserstein"] = outcome(value)
            value, _ = _energy_dist(*copy(), ctype, 0.1)
            results["energy"] = outcome(value)
            p, _ = _cramer_von_mises(*copy(), ctype, 0.1)
            # Above 20 a side (the asymptotic p-value) Evidently's port and scipy's own function
            # agree bit for bit; their exact p-values (20 a side or fewer) can differ by 1e-7
            # relative. scipy's goes beside Evidently's: mlops is held to it relative to its size.
            scipy_p = stats.cramervonmises_2samp(ref, cur).pvalue
            if max(len(ref), len(cur)) > 20:
                assert p == scipy_p, name
            results["cramervonmises"] = outcome(_cvm_2samp(ref, cur).statistic, p)
            results["cramervonmises"]["scipy_p_value"] = number(scipy_p)
            if len(keys) > 1:
                p, _ = _anderson_darling(*copy(), ctype, 0.1)
                results["anderson"] = outcome(stats.anderson_ksamp([ref, cur]).statistic, p)
        default = _get_default_stattest(ref_s, cur_s, ctype).name
        out.append({
            "name": name,
            "kind": kind,
            "reference": [x.item() if hasattr(x, "item") else x for x in ref],
            "current": [x.item() if hasattr(x, "item") else x for x in cur],
            "default": NAMES[default],
            "results": results,
        })
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "evidently": evidently.__version__, "scipy": scipy.__version__, "numpy": np.__version__,
        "cases": out,
    }) + "\n")
    print(f"wrote {OUT}: {len(out)} cases")


if __name__ == "__main__":
    main()
