"""The anchors of benches/fairness.sh, timed as whole processes by it.

    fairness_anchor.py mitigate SCORES.parquet CONSTRAINT
        fairlearn's ThresholdOptimizer (prefit, on the `score` column) fitted on `default` and
        `gender`, as `mlops fairness mitigate` fits its thresholds.
    fairness_anchor.py consistency SCORES.parquet
        AIF360's consistency score (1 - mean |y - mean of y over the 5 nearest rows|) with
        scikit-learn's NearestNeighbors over the model's inputs standardised by the data, on the
        predicted labels, as `mlops fairness consistency` computes it.

Needs fairlearn, scikit-learn and pyarrow (the shared benchmark venv has them).
"""

import sys

import numpy as np
import pyarrow.parquet as pq


def scores_model():
    """A fitted "model" whose prediction is its first column: the scores themselves (as
    scripts/golden/eval_threshold_optimizer.py has it)."""
    from sklearn.base import BaseEstimator

    class Scores(BaseEstimator):
        def fit(self, X, y):
            return self

        def predict(self, X):
            return np.asarray(X)[:, 0]

        def __sklearn_is_fitted__(self):
            return True

    return Scores()


def mitigate(path, constraint):
    from fairlearn.postprocessing import ThresholdOptimizer

    table = pq.read_table(path, columns=["score", "default", "gender"]).to_pandas()
    optimizer = ThresholdOptimizer(
        estimator=scores_model(),
        constraints=constraint,
        objective="accuracy_score",
        prefit=True,
        predict_method="predict",
    )
    optimizer.fit(table[["score"]], table["default"], sensitive_features=table["gender"])
    print(len(table))


def consistency(path):
    from sklearn.neighbors import NearestNeighbors

    inputs = ["age", "income", "debt_ratio", "credit_lines"]
    table = pq.read_table(path, columns=inputs + ["prediction"]).to_pandas()
    x = table[inputs].to_numpy(dtype=np.float64)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    y = table["prediction"].to_numpy(dtype=np.float64)
    _, index = NearestNeighbors(n_neighbors=5).fit(x).kneighbors(x)
    print(1 - np.abs(y - y[index].mean(axis=1)).mean())


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    {"mitigate": mitigate, "consistency": consistency}[mode](*args)
