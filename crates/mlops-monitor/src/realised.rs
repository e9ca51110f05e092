//! Realised performance: where labels have arrived, the metrics of `mlops eval` on each
//! window's labelled rows, with percentile intervals from its Poisson bootstrap, all windows in
//! one pass over the rows in score order (`mlops_eval::grouped`).

use mlops_eval::grouped::{Ranked, bootstrap, pass, percentile_interval};

/// The realised metrics reported per window, as `mlops eval` names them (`tnr` is specificity),
/// with whether each lies in [0, 1].
pub const METRICS: [(&str, bool); 9] = [
    ("accuracy", true),
    ("precision", true),
    ("recall", true),
    ("f1", true),
    ("specificity", true),
    ("roc_auc", true),
    ("average_precision", true),
    ("brier", true),
    ("log_loss", false),
];

/// Confidence of the bootstrap intervals.
pub const CONFIDENCE: f64 = 0.95;

/// One metric on one window: the value, and its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// NaN when the window's labelled rows cannot define it.
    pub value: f64,
    pub interval: Option<(f64, f64)>,
}

/// The labelled rows of a side: per row its label (or none), prediction and score (NaN none).
#[derive(Debug, Clone, Copy)]
pub struct Labelled<'a> {
    pub labels: &'a [Option<bool>],
    pub predictions: &'a [Option<bool>],
    pub scores: Option<&'a [f64]>,
}

/// Every metric of [`METRICS`] on each window (row indices), `replicates` bootstrap replicates
/// for the intervals (0: none). Rows without a label or prediction, or with a missing score
/// when there are scores, count in no window.
#[expect(clippy::cast_possible_truncation, reason = "fewer than 2^32 windows")]
pub fn measure(
    rows: Labelled<'_>,
    windows: &[Vec<usize>],
    replicates: usize,
    seed: u64,
) -> Vec<Vec<Measured>> {
    let (mut labels, mut predictions, mut scores, mut ids) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (w, window) in windows.iter().enumerate() {
        for &r in window {
            let (Some(label), Some(prediction)) = (rows.labels[r], rows.predictions[r]) else {
                continue;
            };
            let score = rows.scores.map(|s| s[r]);
            if score.is_some_and(f64::is_nan) {
                continue;
            }
            labels.push(label);
            predictions.push(prediction);
            scores.extend(score);
            ids.push(w as u32);
        }
    }
    let with_scores = rows.scores.is_some();
    let ranked = Ranked::new(
        &labels,
        &predictions,
        with_scores.then_some(&scores[..]),
        None,
    );
    let grouping = ranked.grouping(&ids, windows.len(), with_scores);
    let values_of = |sums: &mlops_eval::grouped::Sums| -> Vec<f64> {
        let all = sums.metrics(with_scores);
        METRICS
            .iter()
            .map(|(name, _)| {
                let wanted = if *name == "specificity" { "tnr" } else { name };
                all.iter()
                    .find(|(n, _)| *n == wanted)
                    .and_then(|(_, m)| m.ok())
                    .unwrap_or(f64::NAN)
            })
            .collect()
    };
    let point: Vec<Vec<f64>> = pass(&ranked, &[&grouping], None)
        .remove(0)
        .iter()
        .map(values_of)
        .collect();
    let draws_per_replicate: Vec<Vec<Vec<f64>>> = if replicates == 0 || labels.is_empty() {
        Vec::new()
    } else {
        bootstrap(&ranked, &[&grouping], replicates, seed, |mut sums| {
            sums.remove(0).iter().map(values_of).collect()
        })
    };
    point
        .into_iter()
        .enumerate()
        .map(|(w, values)| {
            values
                .into_iter()
                .enumerate()
                .map(|(m, value)| {
                    let mut draws: Vec<f64> = draws_per_replicate
                        .iter()
                        .map(|r| r[w][m])
                        .filter(|v| !v.is_nan())
                        .collect();
                    Measured {
                        value,
                        interval: if value.is_nan() {
                            None
                        } else {
                            percentile_interval(&mut draws, CONFIDENCE)
                        },
                    }
                })
                .collect()
        })
        .collect()
}
