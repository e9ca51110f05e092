#!/usr/bin/env python3
"""Golden fixtures for mlops-monitor, from NannyML 0.13.1: CBPE (binary classification),
DataReconstructionDriftCalculator and UnivariateDriftCalculator (its Jensen-Shannon defaults).

Writes to crates/mlops-monitor/tests/fixtures/, for each case (`overconfident`, `calibrated`):
- `<case>_reference.parquet`: 10 days x 300 labelled rows from 2024-01-01;
- `<case>_analysis.parquet`: 10 days x 300 rows from 2024-02-01. num_00 and num_01 drift
  gradually, and cat_0 drifts. The file keeps `y_true`, so realised metrics can be checked too,
  but NannyML never sees it;
and `nannyml.json`, holding `{"versions": {...}, "cases": {case: {"cbpe", "reconstruction",
"univariate"}}}`. Each `chunks` list holds the records of `result.to_df(multilevel=False)` for
the reference chunks and then the analysis chunks. Floats have 15 decimals, NaN is null, and
chunk dates are ISO strings cut to milliseconds (a day ends at "T23:59:59.999"). `bin_edges`
(the Doane edges per numeric column) and `explained_variance_ratio` keep every digit.
The Rust tests in crates/mlops-monitor compare to 1e-6.

The columns are timestamp (timestamp[us], no zone), num_00..num_07 (float64; num_05 has 2%
nulls), cat_0..cat_2 (string; cat_1 has 2% nulls), y_true (int64 0/1), y_pred_proba (float64,
no ties) and y_pred (int64, proba >= 0.5). Rows are left unsorted on purpose, because CBPE's
calibration check depends on row order. The scores of `overconfident` are
sigmoid(1.6 * logit + noise), which makes CBPE calibrate. The scores of `calibrated` are the
true probabilities, so CBPE does not calibrate. The script asserts both decisions. Their ECE
margins are wider than the spread that comes from ordering tied calibrated scores, which
NumPy's unstable argsort leaves open.

NannyML runs on the parquet files read back (with nulls turned into NaN), so that it sees the
same values as the Rust side. Periods are days: PeriodBasedChunker(offset="D").

    python3 -m venv ~/.cache/mlops/nmvenv
    ~/.cache/mlops/nmvenv/bin/pip install nannyml==0.13.1 pandas==2.2.3 numpy==2.2.6 \\
        scikit-learn==1.6.1 scipy==1.15.3 category_encoders==2.8.1 statsmodels pyarrow==26.0.1
    NML_DISABLE_USAGE_LOGGING=1 ~/.cache/mlops/nmvenv/bin/python scripts/golden/monitor_nannyml.py

(Set NML_DISABLE_USAGE_LOGGING=1, or NannyML sends usage statistics. pandas 3 changes the
string dtype that NannyML checks, so the versions are pinned.)
"""

import json
import os
import pathlib
import platform
import warnings

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")

import category_encoders  # noqa: E402
import nannyml as nml  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow  # noqa: E402
import scipy  # noqa: E402
import sklearn  # noqa: E402
from nannyml.chunk import PeriodBasedChunker  # noqa: E402

warnings.filterwarnings("ignore")

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/mlops-monitor/tests/fixtures"
DAYS, PER_DAY = 10, 300
NUMS = [f"num_{i:02d}" for i in range(8)]
CAT_LEVELS = [["a", "b", "c"], ["w", "x", "y", "z"], ["lo", "mid", "hi"]]
CATS = [f"cat_{j}" for j in range(len(CAT_LEVELS))]
FEATURES = NUMS + CATS
METRICS = ["roc_auc", "accuracy", "precision", "recall", "f1", "specificity"]
# case -> (seed of the features' mixing matrix, reference seed, analysis seed,
#          scores are over-confident, CBPE should calibrate)
CASES = {
    "overconfident": (10, 1, 2, True, True),
    "calibrated": (100, 10, 11, False, False),
}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def make(mix_seed, seed, start, shift, overconfident):
    mix = np.random.default_rng(mix_seed).normal(size=(len(NUMS), len(NUMS)))  # shared by ref/analysis
    rng = np.random.default_rng(seed)
    n = DAYS * PER_DAY
    ts = (pd.Timestamp(start)
          + pd.to_timedelta(np.repeat(np.arange(DAYS), PER_DAY), "D")
          + pd.to_timedelta(rng.integers(0, 86_400, n), "s"))
    d = len(NUMS)
    x = rng.normal(size=(n, d)) @ mix * 0.3 + rng.normal(size=(n, d))
    x[:, :2] += shift * np.linspace(0.0, 1.0, n)[:, None]  # gradual drift, in time order
    df = pd.DataFrame(x, columns=NUMS)
    for col, levels in zip(CATS, CAT_LEVELS):
        p = np.ones(len(levels)) / len(levels)
        if col == "cat_0":
            p[0] += shift * 0.2  # drifts in analysis
        df[col] = rng.choice(levels, size=n, p=p / p.sum()).astype(object)
    df.loc[rng.random(n) < 0.02, "num_05"] = np.nan
    df.loc[rng.random(n) < 0.02, "cat_1"] = np.nan
    logit = x[:, 0] - 0.5 * x[:, 1] + (df["cat_0"] == "a").to_numpy() * 0.7
    df["y_true"] = (rng.random(n) < sigmoid(logit)).astype(np.int64)
    if overconfident:
        df["y_pred_proba"] = sigmoid(1.6 * logit + rng.normal(0.0, 0.3, n))
    else:
        df["y_pred_proba"] = sigmoid(logit)
    df["y_pred"] = (df["y_pred_proba"] >= 0.5).astype(np.int64)
    df["timestamp"] = ts.astype("datetime64[us]")
    df = df[["timestamp"] + FEATURES + ["y_true", "y_pred_proba", "y_pred"]]
    # unsorted rows on purpose: the calibration check depends on the caller's row order
    return df.sample(frac=1, random_state=seed).reset_index(drop=True)


def read_back(path):
    df = pd.read_parquet(path)
    for col in CATS:
        df[col] = df[col].astype(object).where(df[col].notna(), np.nan)
    assert str(df["timestamp"].dtype) == "datetime64[us]", df["timestamp"].dtype
    return df


def records(res):
    df = res.to_df(multilevel=False)
    return json.loads(df.to_json(orient="records", date_format="iso", double_precision=15))


def chunker():
    return PeriodBasedChunker(timestamp_column_name="timestamp", offset="D")


def alerts(rows, column):
    return [r["chunk_key"] for r in rows if r["chunk_period"] == "analysis" and r[column]]


def run_case(name, mix_seed, ref_seed, ana_seed, overconfident, want_calibration):
    paths = {}
    for part, seed, start, shift in [("reference", ref_seed, "2024-01-01", 0.0),
                                     ("analysis", ana_seed, "2024-02-01", 1.5)]:
        df = make(mix_seed, seed, start, shift, overconfident)
        assert df["y_pred_proba"].is_unique, f"{name} {part}: tied scores"
        paths[part] = OUT / f"{name}_{part}.parquet"
        df.to_parquet(paths[part], index=False)
    ref = read_back(paths["reference"])
    ana = read_back(paths["analysis"]).drop(columns=["y_true"])

    cbpe = nml.CBPE(problem_type="classification_binary", y_pred_proba="y_pred_proba",
                    y_pred="y_pred", y_true="y_true", timestamp_column_name="timestamp",
                    metrics=METRICS, chunker=chunker())
    cbpe.fit(ref)
    cbpe_rows = records(cbpe.estimate(ana))
    needs_calibration = bool(cbpe.needs_calibration)
    assert needs_calibration == want_calibration, (name, needs_calibration)

    dr = nml.DataReconstructionDriftCalculator(column_names=FEATURES,
                                               timestamp_column_name="timestamp",
                                               chunker=chunker())
    dr.fit(ref)
    dr_rows = records(dr.calculate(ana))

    uv = nml.UnivariateDriftCalculator(column_names=FEATURES, timestamp_column_name="timestamp",
                                       chunker=chunker())
    uv.fit(ref)
    uv_rows = records(uv.calculate(ana))
    bin_edges = {c: m[0]._bins.tolist() for c, m in uv._column_to_models_mapping.items()
                 if c in NUMS}

    case = {
        "cbpe": {"needs_calibration": needs_calibration, "chunks": cbpe_rows},
        "reconstruction": {"n_components": int(dr._pca.n_components_),
                           "explained_variance_ratio": dr._pca.explained_variance_ratio_.tolist(),
                           "chunks": dr_rows},
        "univariate": {"bin_edges": bin_edges, "chunks": uv_rows},
    }

    print(f"{name}: needs_calibration={needs_calibration} "
          f"n_components={case['reconstruction']['n_components']}")
    for m in METRICS:
        print(f"  cbpe {m} alerts: {alerts(cbpe_rows, f'{m}_alert')}")
    print(f"  reconstruction alerts: {alerts(dr_rows, 'reconstruction_error_alert')}")
    for c in FEATURES:
        print(f"  jensen_shannon {c} alerts: {alerts(uv_rows, f'{c}_jensen_shannon_alert')}")
    return case


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    out = {
        "versions": {
            "python": platform.python_version(),
            "nannyml": nml.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scikit-learn": sklearn.__version__,
            "scipy": scipy.__version__,
            "category_encoders": category_encoders.__version__,
            "pyarrow": pyarrow.__version__,
        },
        "cases": {name: run_case(name, *spec) for name, spec in CASES.items()},
    }
    path = OUT / "nannyml.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path} and {2 * len(CASES)} parquet files")


if __name__ == "__main__":
    main()
