//! Confidence-based performance estimation (CBPE) of a binary classifier, as NannyML 0.13.1
//! defines it: without labels, a calibrated score is the probability that the row is positive,
//! so the expected confusion matrix of a window is the sum of the calibrated scores over the
//! rows predicted positive (true positives), of their complements (false positives), and so on.
//!
//! Fit on a labelled reference: the sampling-error components of each metric (from the raw
//! scores), the reference band of each metric (from its *realised* value on each reference
//! window, raw scores), then the calibration check and, when it helps, an isotonic calibrator
//! fitted on the whole reference ([`crate::calibration`]). Estimates use the calibrated scores;
//! ROC AUC orders the rows by the raw score. Each estimate carries a sampling error: a reference
//! standard deviation over √(rows × the share of rows the metric counts).

use serde::{Deserialize, Serialize};

use mlops_eval::metrics::binary::Confusion;

use crate::band::{Band, Limit, SPREAD};
use crate::calibration::{Isotonic, needs_calibration};

/// The metrics CBPE estimates, in NannyML's order.
pub const METRICS: [Metric; 6] = [
    Metric::RocAuc,
    Metric::Accuracy,
    Metric::Precision,
    Metric::Recall,
    Metric::F1,
    Metric::Specificity,
];

/// A binary-classification metric CBPE can estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    RocAuc,
    Accuracy,
    Precision,
    Recall,
    F1,
    Specificity,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::RocAuc => "roc_auc",
            Metric::Accuracy => "accuracy",
            Metric::Precision => "precision",
            Metric::Recall => "recall",
            Metric::F1 => "f1",
            Metric::Specificity => "specificity",
        }
    }
}

/// The rows of a binary task: labels (absent without them), predictions and the raw scores.
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    pub labels: Option<&'a [bool]>,
    pub predictions: &'a [bool],
    pub scores: &'a [f64],
}

/// One metric's estimate on one window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// NaN when the window cannot define it.
    pub value: f64,
    pub sampling_error: f64,
    /// `value ± 3 sampling errors`, within [0, 1].
    pub lower: f64,
    pub upper: f64,
}

/// A fitted estimator.
#[derive(Debug, Clone)]
pub struct Cbpe {
    calibrator: Option<Isotonic>,
    /// Per metric of [`METRICS`]: the reference standard deviation and the share of rows.
    components: [(f64, f64); 6],
    /// Per metric of [`METRICS`]: the band of its realised reference-window values.
    bands: [Band; 6],
}

impl Cbpe {
    /// Fits on the reference: `rows` with labels, in the reference's own order (the
    /// calibration check depends on it), and its windows as row indices.
    ///
    /// # Panics
    /// When `rows` has no labels or no rows.
    pub fn fit(rows: Rows<'_>, windows: &[Vec<usize>]) -> Self {
        let labels = rows.labels.expect("a labelled reference");
        let whole = Confusion::new(labels, rows.predictions, None);
        let components = METRICS.map(|m| component(m, &whole, labels, rows.scores));
        // Each reference window's confusion matrix and ROC AUC, counted once for every metric.
        let measured: Vec<(Confusion, f64)> = windows
            .iter()
            .map(|w| {
                let y: Vec<bool> = w.iter().map(|&r| labels[r]).collect();
                let p: Vec<bool> = w.iter().map(|&r| rows.predictions[r]).collect();
                let s: Vec<f64> = w.iter().map(|&r| rows.scores[r]).collect();
                let auc = mlops_eval::metrics::binary::roc_auc(&y, &s, None).unwrap_or(f64::NAN);
                (Confusion::new(&y, &p, None), auc)
            })
            .collect();
        let bands = METRICS.map(|m| {
            let values: Vec<f64> = measured
                .iter()
                .map(|(c, auc)| realised(m, c, *auc))
                .collect();
            Band::of(&values, Limit::Clip(0.0), Limit::Clip(1.0), true)
        });
        let calibrator =
            needs_calibration(labels, rows.scores).then(|| Isotonic::fit(rows.scores, labels));
        Self {
            calibrator,
            components,
            bands,
        }
    }

    /// Whether the scores are calibrated before estimating.
    pub fn calibrated(&self) -> bool {
        self.calibrator.is_some()
    }

    /// The reference band of `metric`.
    pub fn band(&self, metric: Metric) -> Band {
        self.bands[index(metric)]
    }

    /// The calibrated scores of `scores` (themselves without calibration).
    pub fn calibrate(&self, scores: &[f64]) -> Vec<f64> {
        match &self.calibrator {
            Some(c) => scores.iter().map(|&s| c.predict(s)).collect(),
            None => scores.to_vec(),
        }
    }

    /// Every metric's estimate on the window `window` (row indices) of `rows`, whose
    /// `calibrated` scores come from [`Cbpe::calibrate`].
    #[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^52")]
    pub fn estimate(&self, rows: Rows<'_>, calibrated: &[f64], window: &[usize]) -> [Estimate; 6] {
        let (mut tp, mut fp, mut fn_, mut tn) = (0.0, 0.0, 0.0, 0.0);
        for &r in window {
            let p = calibrated[r];
            if rows.predictions[r] {
                tp += p;
                fp += 1.0 - p;
            } else {
                fn_ += p;
                tn += 1.0 - p;
            }
        }
        let n = window.len() as f64;
        let or_zero = |num: f64, den: f64| if den == 0.0 { 0.0 } else { num / den };
        METRICS.map(|m| {
            let value = match m {
                Metric::RocAuc => estimated_roc_auc(rows.scores, calibrated, window),
                Metric::Accuracy => (tp + tn) / n,
                Metric::Precision => or_zero(tp, tp + fp),
                Metric::Recall => or_zero(tp, tp + fn_),
                Metric::Specificity => or_zero(tn, tn + fp),
                Metric::F1 => or_zero(tp, tp + 0.5 * (fp + fn_)),
            };
            let (sd, share) = self.components[index(m)];
            let sampling_error = sd / (n * share).sqrt();
            Estimate {
                value,
                sampling_error,
                lower: (value - SPREAD * sampling_error).max(0.0),
                upper: (value + SPREAD * sampling_error).min(1.0),
            }
        })
    }
}

fn index(metric: Metric) -> usize {
    METRICS
        .iter()
        .position(|&m| m == metric)
        .expect("every metric is listed")
}

/// NannyML's estimated ROC AUC: rows from the highest raw score down, the running sums of the
/// calibrated scores (expected true positives) and of their complements (false positives),
/// each rounded to 5 decimals, then the trapezoid area under the normalised curve.
fn estimated_roc_auc(raw: &[f64], calibrated: &[f64], window: &[usize]) -> f64 {
    // Descending raw score, each row with its calibrated score: the sort moves the values it
    // needs rather than reading them through indices. A probability orders as its bits (+ 0.0
    // makes -0.0 the same as 0.0); tied raw scores have equal calibrated scores, so an
    // unstable sort changes nothing.
    let mut order: Vec<(u64, f64)> = window
        .iter()
        .map(|&r| (!(raw[r] + 0.0).to_bits(), calibrated[r]))
        .collect();
    order.sort_unstable_by_key(|&(key, _)| key);
    let round = |v: f64| (v * 1e5).round_ties_even() / 1e5;
    let mut tps = Vec::with_capacity(order.len() + 1);
    let mut fps = Vec::with_capacity(order.len() + 1);
    tps.push(0.0);
    fps.push(0.0);
    let mut sum = 0.0;
    for (i, &(_, p)) in order.iter().enumerate() {
        sum += p;
        tps.push(round(sum));
        #[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^52")]
        fps.push(round(1.0 + i as f64 - sum));
    }
    let (tp_all, fp_all) = (tps[tps.len() - 1], fps[fps.len() - 1]);
    if tp_all == 0.0 || fp_all == 0.0 {
        return f64::NAN;
    }
    tps.windows(2)
        .zip(fps.windows(2))
        .map(|(t, f)| (f[1] - f[0]) / fp_all * (t[1] + t[0]) / tp_all / 2.0)
        .sum()
}

/// A metric's realised value on a reference window (its confusion matrix `c` and ROC AUC), as
/// NannyML computes it for the band: NaN where scikit-learn warns (a single class among the
/// labels, or for precision, recall and F1 also among the predictions; specificity without
/// negatives).
fn realised(metric: Metric, c: &Confusion, roc_auc: f64) -> f64 {
    let Confusion { tp, fp, tn, fn_ } = *c;
    let both_labels = tp + fn_ > 0.0 && tn + fp > 0.0;
    let both_predictions = tp + fp > 0.0 && tn + fn_ > 0.0;
    let or_zero = |num: f64, den: f64| if den == 0.0 { 0.0 } else { num / den };
    match metric {
        Metric::RocAuc => roc_auc,
        Metric::Accuracy if tp + fp + tn + fn_ > 0.0 => (tp + tn) / (tp + fp + tn + fn_),
        Metric::Specificity if tn + fp > 0.0 => tn / (tn + fp),
        Metric::Precision if both_labels && both_predictions => or_zero(tp, tp + fp),
        Metric::Recall if both_labels && both_predictions => or_zero(tp, tp + fn_),
        Metric::F1 if both_labels && both_predictions => or_zero(2.0 * tp, 2.0 * tp + fp + fn_),
        _ => f64::NAN,
    }
}

/// The population standard deviation of `ones` ones and `zeros` zeros.
fn bernoulli_sd(ones: f64, zeros: f64) -> f64 {
    let n = ones + zeros;
    if n == 0.0 {
        return f64::NAN;
    }
    let p = ones / n;
    (p * (1.0 - p)).sqrt()
}

/// A metric's sampling-error components on the reference: the standard deviation of what one
/// row contributes, and the share of rows that contribute
/// (`nannyml/sampling_error/binary_classification.py`).
fn component(metric: Metric, whole: &Confusion, labels: &[bool], scores: &[f64]) -> (f64, f64) {
    let Confusion { tp, fp, tn, fn_ } = *whole;
    let n = tp + fp + tn + fn_;
    match metric {
        Metric::RocAuc => roc_auc_component(labels, scores),
        Metric::Accuracy => (bernoulli_sd(tp + tn, fp + fn_), 1.0),
        Metric::Precision => (bernoulli_sd(tp, fp), (tp + fp) / n),
        Metric::Recall => (bernoulli_sd(tp, fn_), (tp + fn_) / n),
        Metric::Specificity => (bernoulli_sd(tn, fp), (tn + fp) / n),
        Metric::F1 => {
            let counted = tp + fn_ + fp;
            let scale = counted / (tp + 0.5 * (fn_ + fp));
            (scale * bernoulli_sd(tp, fn_ + fp), counted / n)
        }
    }
}

/// ROC AUC's components: with the minority class as positive, each positive's rank among the
/// rows sorted by score, less the positives before it, over the negatives (the share of
/// negatives it outranks); their standard deviation, and the share of positives. A positive at
/// rank 0 is dropped, as NannyML's `np.unique(y * ranks)[1:]` drops it.
#[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^52")]
fn roc_auc_component(labels: &[bool], scores: &[f64]) -> (f64, f64) {
    let n = labels.len();
    let positives = labels.iter().filter(|&&y| y).count();
    let flip = positives as f64 / n as f64 > 0.5;
    let (y, p): (Vec<bool>, Vec<f64>) = labels
        .iter()
        .zip(scores)
        .map(|(&y, &s)| if flip { (!y, 1.0 - s) } else { (y, s) })
        .unzip();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let positives = y.iter().filter(|&&v| v).count();
    let negatives = (n - positives) as f64;
    let ranks: Vec<usize> = order
        .iter()
        .enumerate()
        .filter(|&(rank, &r)| y[r] && rank > 0)
        .map(|(rank, _)| rank)
        .collect();
    let shares: Vec<f64> = ranks
        .iter()
        .enumerate()
        .map(|(i, &rank)| (rank - i) as f64 / negatives)
        .collect();
    let sd = crate::band::mean_sd(&shares).map_or(f64::NAN, |(_, sd)| sd);
    (sd, positives as f64 / n as f64)
}
