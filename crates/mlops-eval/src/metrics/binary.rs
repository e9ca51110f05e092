//! Binary classification metrics, as scikit-learn defines them with `pos_label` positive.
//!
//! Counts are weighted sums. Where scikit-learn would divide by zero (and by default report 0 with
//! a warning) these report [`Undefined`]; with `zero_division=np.nan` scikit-learn agrees.

use super::{Metric, Undefined, ratio, weight};

/// The weighted confusion matrix of binary predictions.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Confusion {
    pub tp: f64,
    pub fp: f64,
    pub tn: f64,
    pub fn_: f64,
}

impl Confusion {
    /// Counts `labels` against `predictions` (true = positive).
    pub fn new(labels: &[bool], predictions: &[bool], weights: Option<&[f64]>) -> Self {
        let mut c = Self::default();
        for (i, (&y, &p)) in labels.iter().zip(predictions).enumerate() {
            let w = weight(weights, i);
            match (y, p) {
                (true, true) => c.tp += w,
                (false, true) => c.fp += w,
                (false, false) => c.tn += w,
                (true, false) => c.fn_ += w,
            }
        }
        c
    }

    fn total(&self) -> f64 {
        self.tp + self.fp + self.tn + self.fn_
    }

    pub fn accuracy(&self) -> Metric {
        ratio(self.tp + self.tn, self.total(), Undefined::Empty)
    }

    pub fn precision(&self) -> Metric {
        ratio(self.tp, self.tp + self.fp, Undefined::NoPredictedPositives)
    }

    /// Recall, the true positive rate.
    pub fn recall(&self) -> Metric {
        ratio(self.tp, self.tp + self.fn_, Undefined::NoPositives)
    }

    /// F1 as `2 tp / (2 tp + fp + fn)`: defined whenever anything is positive, as in
    /// scikit-learn 1.3 and later.
    pub fn f1(&self) -> Metric {
        ratio(
            2.0 * self.tp,
            2.0 * self.tp + self.fp + self.fn_,
            Undefined::NoPositives,
        )
    }

    pub fn fpr(&self) -> Metric {
        ratio(self.fp, self.fp + self.tn, Undefined::NoNegatives)
    }

    pub fn tnr(&self) -> Metric {
        ratio(self.tn, self.fp + self.tn, Undefined::NoNegatives)
    }

    pub fn fnr(&self) -> Metric {
        ratio(self.fn_, self.tp + self.fn_, Undefined::NoPositives)
    }

    /// The share predicted positive (fairlearn's `selection_rate`).
    pub fn selection_rate(&self) -> Metric {
        ratio(self.tp + self.fp, self.total(), Undefined::Empty)
    }

    /// The mean recall of the classes present in the labels (scikit-learn leaves out a class
    /// with no instances).
    pub fn balanced_accuracy(&self) -> Metric {
        match (self.recall(), self.tnr()) {
            (Ok(tpr), Ok(tnr)) => Ok(f64::midpoint(tpr, tnr)),
            (Ok(one), Err(_)) | (Err(_), Ok(one)) => Ok(one),
            (Err(_), Err(_)) => Err(Undefined::Empty),
        }
    }
}

/// Rows sorted by descending score, grouped by equal score: (weight of positives, of negatives).
/// Sorts contiguous (score, label, weight) triples rather than indices: no indirection per compare.
fn score_groups(labels: &[bool], scores: &[f64], weights: Option<&[f64]>) -> Vec<(f64, f64)> {
    let mut rows: Vec<(f64, bool, f64)> = scores
        .iter()
        .zip(labels)
        .enumerate()
        .map(|(i, (&s, &y))| (s, y, weight(weights, i)))
        .collect();
    rows.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    let mut groups: Vec<(f64, f64)> = Vec::new();
    let mut last = None;
    for (score, label, w) in rows {
        if last != Some(score.to_bits()) {
            groups.push((0.0, 0.0));
            last = Some(score.to_bits());
        }
        let group = groups.last_mut().expect("a group was just pushed");
        if label {
            group.0 += w;
        } else {
            group.1 += w;
        }
    }
    groups
}

/// ROC AUC and average precision from one sort of the scores.
#[cfg(test)]
pub(crate) fn ranking(
    labels: &[bool],
    scores: &[f64],
    weights: Option<&[f64]>,
) -> (Metric, Metric) {
    let groups = score_groups(labels, scores, weights);
    (auc_of(&groups), average_precision_of(&groups))
}

/// Area under the ROC curve: tied scores count one half, as the trapezoids of scikit-learn's
/// `roc_curve` do.
pub fn roc_auc(labels: &[bool], scores: &[f64], weights: Option<&[f64]>) -> Metric {
    auc_of(&score_groups(labels, scores, weights))
}

fn auc_of(groups: &[(f64, f64)]) -> Metric {
    let (positives, negatives) = groups
        .iter()
        .fold((0.0, 0.0), |(p, n), g| (p + g.0, n + g.1));
    if positives == 0.0 {
        return Err(Undefined::NoPositives);
    }
    if negatives == 0.0 {
        return Err(Undefined::NoNegatives);
    }
    let mut area = 0.0;
    let mut tp_before = 0.0;
    for &(tp, fp) in groups {
        area += fp * (tp_before + tp / 2.0);
        tp_before += tp;
    }
    Ok(area / (positives * negatives))
}

/// Average precision: the step-wise sum of precision times the rise in recall over distinct
/// thresholds (scikit-learn's definition; not the interpolated area).
pub fn average_precision(labels: &[bool], scores: &[f64], weights: Option<&[f64]>) -> Metric {
    average_precision_of(&score_groups(labels, scores, weights))
}

fn average_precision_of(groups: &[(f64, f64)]) -> Metric {
    let positives: f64 = groups.iter().map(|g| g.0).sum();
    if positives == 0.0 {
        return Err(Undefined::NoPositives);
    }
    let (mut tp, mut fp, mut recall_before, mut ap) = (0.0, 0.0, 0.0, 0.0);
    for &(gtp, gfp) in groups {
        tp += gtp;
        fp += gfp;
        let recall = tp / positives;
        ap += (recall - recall_before) * (tp / (tp + fp));
        recall_before = recall;
    }
    Ok(ap)
}

/// Log loss of the positive-class probability: the probability given to the true class, clipped
/// to `[eps, 1 - eps]` with the float64 machine epsilon, as scikit-learn clips (without
/// renormalising). Scores must lie in `[0, 1]`; the caller checks.
pub fn log_loss(labels: &[bool], scores: &[f64], weights: Option<&[f64]>) -> Metric {
    let eps = f64::EPSILON;
    let (mut loss, mut total) = (0.0, 0.0);
    for (i, (&y, &p)) in labels.iter().zip(scores).enumerate() {
        let w = weight(weights, i);
        let given = if y { p } else { 1.0 - p };
        loss -= w * given.clamp(eps, 1.0 - eps).ln();
        total += w;
    }
    ratio(loss, total, Undefined::Empty)
}

/// The Brier score: the mean squared difference between probability and outcome.
pub fn brier(labels: &[bool], scores: &[f64], weights: Option<&[f64]>) -> Metric {
    let (mut sum, mut total) = (0.0, 0.0);
    for (i, (&y, &p)) in labels.iter().zip(scores).enumerate() {
        let w = weight(weights, i);
        let d = p - f64::from(u8::from(y));
        sum += w * d * d;
        total += w;
    }
    ratio(sum, total, Undefined::Empty)
}

/// The ROC curve from (positives, negatives) per distinct score, highest first.
pub(crate) fn roc_points(groups: &[(f64, f64)]) -> Option<Vec<(f64, f64)>> {
    let (positives, negatives) = groups
        .iter()
        .fold((0.0, 0.0), |(p, n), g| (p + g.0, n + g.1));
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0.0, 0.0);
    for &(gtp, gfp) in groups {
        tp += gtp;
        fp += gfp;
        points.push((fp / negatives, tp / positives));
    }
    Some(points)
}

/// The precision-recall curve from (positives, negatives) per distinct score, highest first.
pub(crate) fn pr_points(groups: &[(f64, f64)]) -> Option<Vec<(f64, f64)>> {
    let positives: f64 = groups.iter().map(|g| g.0).sum();
    if positives == 0.0 {
        return None;
    }
    let (mut tp, mut fp) = (0.0, 0.0);
    Some(
        groups
            .iter()
            .map(|&(gtp, gfp)| {
                tp += gtp;
                fp += gfp;
                (tp / positives, tp / (tp + fp))
            })
            .collect(),
    )
}

/// Calibration bins as `expected_calibration_error` forms them: (mean score, positive rate,
/// weight) of each non-empty bin.
pub(crate) fn calibration_bins(
    labels: &[bool],
    scores: &[f64],
    weights: Option<&[f64]>,
    bins: usize,
) -> Vec<(f64, f64, f64)> {
    let bins = bins.max(1);
    let mut sums = vec![(0.0_f64, 0.0_f64, 0.0_f64); bins];
    for (i, (&y, &p)) in labels.iter().zip(scores).enumerate() {
        let w = weight(weights, i);
        let bin = &mut sums[calibration_bin(p, bins)];
        bin.0 += w;
        bin.1 += w * f64::from(u8::from(y));
        bin.2 += w * p;
    }
    sums.into_iter()
        .filter(|b| b.0 > 0.0)
        .map(|b| (b.2 / b.0, b.1 / b.0, b.0))
        .collect()
}

/// The equal-width bin of `[0, 1]` a score falls in: a score on an inner edge falls in the
/// lower bin, as in scikit-learn's `calibration_curve(strategy="uniform")`.
pub(crate) fn calibration_bin(score: f64, bins: usize) -> usize {
    #[expect(clippy::cast_precision_loss, reason = "bin counts are small")]
    (1..bins)
        .filter(|&k| (k as f64 / bins as f64) < score)
        .count()
}

/// Expected calibration error over `bins` equal-width bins of `[0, 1]`: the weight-averaged gap
/// between the positive rate and the mean score in each non-empty bin. A score on an inner edge
/// falls in the lower bin, as in scikit-learn's `calibration_curve(strategy="uniform")`.
pub fn expected_calibration_error(
    labels: &[bool],
    scores: &[f64],
    weights: Option<&[f64]>,
    bins: usize,
) -> Metric {
    let bins = calibration_bins(labels, scores, weights, bins);
    let total: f64 = bins.iter().map(|b| b.2).sum();
    if total == 0.0 {
        return Err(Undefined::Empty);
    }
    Ok(bins
        .iter()
        .map(|(score, rate, w)| (w / total) * (rate - score).abs())
        .sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_and_rates() {
        let y = [true, true, false, false, true];
        let p = [true, false, false, true, true];
        let c = Confusion::new(&y, &p, None);
        assert_eq!((c.tp, c.fp, c.tn, c.fn_), (2.0, 1.0, 1.0, 1.0));
        assert_eq!(c.accuracy(), Ok(0.6));
        assert_eq!(c.precision(), Ok(2.0 / 3.0));
        assert_eq!(c.fpr(), Ok(0.5));
    }

    #[test]
    fn undefined_is_never_zero() {
        let c = Confusion::new(&[false, false], &[false, false], None);
        assert_eq!(c.recall(), Err(Undefined::NoPositives));
        assert_eq!(c.precision(), Err(Undefined::NoPredictedPositives));
        assert_eq!(
            roc_auc(&[true, true], &[0.1, 0.9], None),
            Err(Undefined::NoNegatives)
        );
    }

    #[test]
    fn ties_count_half() {
        assert_eq!(roc_auc(&[true, false], &[0.5, 0.5], None), Ok(0.5));
        assert_eq!(
            roc_auc(&[true, false, true, false], &[0.9, 0.1, 0.5, 0.5], None),
            Ok(0.875)
        );
    }
}
