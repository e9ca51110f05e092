#!/usr/bin/env python3
"""Golden fixture for `mlops fairness counterfactual`: a binary model that uses the sensitive
column through a planted weight, its data, and the flip rates a numpy forward pass gives.

Writes tests/fixtures/fairness/:
- `data.csv`: 600 rows of `id`, `x1`, `x2` (numbers), `sex` (three values: f, m, x) and
  `region` (north, south; not an input of the model);
- `model/model.yaml` and `model/model.safetensors`: inputs [x1, x2, sex], the numbers
  standardised, `sex` one-hot as [f, m, x], one linear layer with a large weight on `sex=f` and
  a small one on `sex=x`, output sigmoid. The safetensors file is written by hand (an 8-byte
  little-endian header length, a JSON header padded with spaces to a multiple of 8, the raw
  little-endian tensors), so numpy is the only dependency;
- `expected.json`: the counterfactual report's numbers: overall, per group (the row's own value)
  and per swap (from -> to), the rows and flipped rows and the flip rate, and the mean and max
  absolute change of the score.

The reference computes as mlops does: each number standardised in float64 as
`(v - mean) * (1 / std)` with the tensors' float32 values, then rounded to float32; the layer and
the sigmoid in float32; a row predicts its second class at a score of 0.5 or above. A row flips
when any swap of its sex changes its prediction. Rows whose logit under any sex value lies
within 1e-3 of 0 are not written, so no row sits on the boundary and the flip counts do not
depend on the order in which a matrix product sums; tests/cli/fairness.rs compares the flip
rates exactly and the score changes to 1e-6.

    python3 -m venv ~/.cache/mlops/golden-venv && ~/.cache/mlops/golden-venv/bin/pip install numpy
    ~/.cache/mlops/golden-venv/bin/python scripts/golden/fairness_counterfactual.py
"""

import json
import pathlib
import struct

import numpy as np

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests/fixtures/fairness"
ROWS = 600
SEXES = ["f", "m", "x"]
MARGIN = 1e-3
rng = np.random.default_rng(20260611)

MEAN = np.array([1.0, -2.0], dtype=np.float32)
STD = np.array([2.0, 3.0], dtype=np.float32)
# Slots: x1, x2, sex=f, sex=m, sex=x. A large weight on f, a small one on x.
WEIGHT = np.array([[1.25, -0.75, 2.5, 0.0, 0.3]], dtype=np.float32)
BIAS = np.array([-0.4], dtype=np.float32)


def safetensors(tensors):
    """The bytes of a safetensors file holding `tensors` (name -> float32 array)."""
    header, data, offset = {}, b"", 0
    for name, array in tensors.items():
        raw = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        data += raw
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def encode(x1, x2, sex):
    """Model input rows, float32, as mlops's row encoder fills them."""
    mean, inv_std = MEAN.astype(np.float64), 1.0 / STD.astype(np.float64)
    rows = np.zeros((len(x1), 2 + len(SEXES)), dtype=np.float32)
    rows[:, 0] = ((x1 - mean[0]) * inv_std[0]).astype(np.float32)
    rows[:, 1] = ((x2 - mean[1]) * inv_std[1]).astype(np.float32)
    for i, s in enumerate(SEXES):
        rows[:, 2 + i] = (sex == s).astype(np.float32)
    return rows


def logit(rows):
    return (rows @ WEIGHT.T + BIAS)[:, 0].astype(np.float32)


def score(rows):
    z = logit(rows)
    return (np.float32(1.0) / (np.float32(1.0) + np.exp(-z))).astype(np.float32)


def data():
    """ROWS rows, none of which lies within MARGIN of the boundary under any sex value."""
    n = ROWS * 2
    # Written with six decimals; the reference reads them back as mlops does.
    x1 = np.array([float(f"{v:.6f}") for v in rng.normal(1.0, 2.0, n)])
    x2 = np.array([float(f"{v:.6f}") for v in rng.normal(-2.0, 3.0, n)])
    sex = np.array(SEXES)[rng.choice(3, n, p=[0.3, 0.45, 0.25])]
    near = np.zeros(n, dtype=bool)
    for s in SEXES:
        near |= np.abs(logit(encode(x1, x2, np.full(n, s)))) < MARGIN
    keep = np.flatnonzero(~near)[:ROWS]
    assert len(keep) == ROWS
    region = np.array(["north", "south"])[rng.integers(0, 2, ROWS)]
    return x1[keep], x2[keep], sex[keep], region


def movement(rows, flipped, changes):
    changes = np.asarray(changes, dtype=np.float64)
    return {
        "rows": int(rows),
        "flipped": int(flipped),
        "flip_rate": float(flipped) / float(rows),
        "mean_abs_change": float(changes.mean()),
        "max_abs_change": float(changes.max()),
    }


def reference(x1, x2, sex):
    base = score(encode(x1, x2, sex)).astype(np.float64)
    predicted = base >= 0.5
    moved = {s: score(encode(x1, x2, np.full(len(sex), s))).astype(np.float64) for s in SEXES}
    flipped_any = np.zeros(len(sex), dtype=bool)
    swaps, group_changes = [], {s: [] for s in SEXES}
    for frm in SEXES:
        rows = sex == frm
        for to in SEXES:
            if to == frm:
                continue
            flips = (moved[to] >= 0.5) != predicted
            flipped_any |= flips & rows
            change = np.abs(moved[to] - base)[rows]
            group_changes[frm].extend(change)
            swaps.append({"from": frm, "to": to, **movement(rows.sum(), (flips & rows).sum(), change)})
    groups = {s: movement((sex == s).sum(), (flipped_any & (sex == s)).sum(), group_changes[s]) for s in SEXES}
    every = [c for s in SEXES for c in group_changes[s]]
    return {
        "rows": len(sex),
        "overall": movement(len(sex), flipped_any.sum(), every),
        "groups": groups,
        "swaps": swaps,
        "numpy": np.__version__,
    }


def main():
    x1, x2, sex, region = data()
    model = OUT / "model"
    model.mkdir(parents=True, exist_ok=True)
    (model / "model.yaml").write_text(
        """format: mlops-model/1
task: binary
inputs: [x1, x2, sex]
classes: [0, 1]
preprocess:
  standardize: {mean: scaler.mean, std: scaler.std}
  onehot: {sex: [f, m, x]}
layers:
  - {linear: "0"}
output: sigmoid
"""
    )
    (model / "model.safetensors").write_bytes(
        safetensors({"scaler.mean": MEAN, "scaler.std": STD, "0.weight": WEIGHT, "0.bias": BIAS})
    )
    lines = ["id,x1,x2,sex,region"] + [
        f"{i},{a:.6f},{b:.6f},{s},{r}" for i, (a, b, s, r) in enumerate(zip(x1, x2, sex, region))
    ]
    (OUT / "data.csv").write_text("\n".join(lines) + "\n")
    expected = reference(x1, x2, sex)
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(json.dumps({k: expected[k] for k in ["overall", "groups"]}, indent=1))


if __name__ == "__main__":
    main()
