//! Fairness across groups of a sensitive attribute: per-group rates, and the aggregates fairlearn
//! reports (demographic parity, equalized odds, equal opportunity) plus AIF360's disparate impact.
//!
//! Aggregates follow fairlearn's `MetricFrame.difference` and `.ratio`: `between_groups` compares
//! the largest and smallest group values; `to_overall` compares each group with the whole data.
//! A rate a group cannot define (TPR with no positives, FPR with no negatives) is left out of the
//! aggregate by default and reported as undefined; `fairlearn_compat` reports it as 0 instead,
//! in the group's rates as in the aggregates, which is what fairlearn does (through
//! scikit-learn's `confusion_matrix(normalize="true")`, and `precision_score`'s `zero_division`).
//!
//! Regression and multiclass tasks get what fairlearn's `MetricFrame` gives for them
//! (`by_group`, `difference()`, `ratio()`): per group the mean absolute error and the mean
//! prediction, with their differences and ratios ([`regression`]); per class, one-vs-rest, the
//! binary rates and aggregates above ([`multiclass`]).

use serde::Serialize;

use crate::metrics::binary::Confusion;
use crate::metrics::{Metric, Undefined};

/// How group values are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Largest group against smallest.
    BetweenGroups,
    /// Each group against the whole data.
    ToOverall,
}

impl Method {
    /// The method's name, as the report and `eval.yaml` write it (`between_groups`).
    pub fn name(self) -> &'static str {
        match self {
            Self::BetweenGroups => "between_groups",
            Self::ToOverall => "to_overall",
        }
    }

    /// The method of a name, in any case, with `-` or `_` between its words.
    pub fn from_name(name: &str) -> Option<Method> {
        let name = name.replace('-', "_");
        [Self::BetweenGroups, Self::ToOverall]
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(&name))
    }
}

/// One group's rates.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRates {
    /// Sum of the group's weights (its row count without weights).
    pub rows: f64,
    pub selection_rate: Metric,
    pub tpr: Metric,
    pub fpr: Metric,
    pub precision: Metric,
}

impl GroupRates {
    pub(crate) fn of(c: &Confusion, fairlearn_compat: bool) -> Self {
        let rate = |r: Metric| {
            if fairlearn_compat { as_fairlearn(r) } else { r }
        };
        Self {
            rows: c.tp + c.fp + c.tn + c.fn_,
            selection_rate: c.selection_rate(),
            tpr: rate(c.recall()),
            fpr: rate(c.fpr()),
            precision: rate(c.precision()),
        }
    }
}

/// A group rate as fairlearn's `MetricFrame.by_group` reports it: scikit-learn counts a TPR with
/// no positive labels, an FPR with no negatives and a precision with nothing predicted positive
/// as 0 (with a warning). A group with no rows (all weights zero) stays undefined: fairlearn
/// refuses such weights.
pub(crate) fn as_fairlearn(rate: Metric) -> Metric {
    match rate {
        Err(Undefined::NoPositives | Undefined::NoNegatives | Undefined::NoPredictedPositives) => {
            Ok(0.0)
        }
        other => other,
    }
}

/// Per-group rates and the fairness aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct Fairness {
    pub groups: Vec<GroupRates>,
    pub overall: GroupRates,
    pub demographic_parity_difference: Metric,
    pub demographic_parity_ratio: Metric,
    pub equalized_odds_difference: Metric,
    pub equalized_odds_ratio: Metric,
    pub equal_opportunity_difference: Metric,
}

/// Computes fairness over `groups` (a group index per row, `0..group_count`).
pub fn fairness(
    labels: &[bool],
    predictions: &[bool],
    groups: &[usize],
    group_count: usize,
    weights: Option<&[f64]>,
    method: Method,
    fairlearn_compat: bool,
) -> Fairness {
    let mut confusions = vec![Confusion::default(); group_count];
    for (i, ((&y, &p), &g)) in labels.iter().zip(predictions).zip(groups).enumerate() {
        let w = crate::metrics::weight(weights, i);
        let c = &mut confusions[g];
        match (y, p) {
            (true, true) => c.tp += w,
            (false, true) => c.fp += w,
            (false, false) => c.tn += w,
            (true, false) => c.fn_ += w,
        }
    }
    let overall = Confusion::new(labels, predictions, weights);
    from_confusions(&confusions, &overall, method, fairlearn_compat)
}

/// Fairness from each group's confusion matrix and the whole data's; empty groups are left out.
pub(crate) fn from_confusions(
    confusions: &[Confusion],
    overall: &Confusion,
    method: Method,
    fairlearn_compat: bool,
) -> Fairness {
    let groups: Vec<GroupRates> = confusions
        .iter()
        .filter(|c| c.tp + c.fp + c.tn + c.fn_ > 0.0)
        .map(|c| GroupRates::of(c, fairlearn_compat))
        .collect();
    let overall = GroupRates::of(overall, fairlearn_compat);
    let column = |f: fn(&GroupRates) -> Metric| -> (Vec<Metric>, Metric) {
        (groups.iter().map(f).collect(), f(&overall))
    };
    let (selection, selection_all) = column(|g| g.selection_rate);
    let (tpr, tpr_all) = column(|g| g.tpr);
    let (fpr, fpr_all) = column(|g| g.fpr);
    // Equalized odds takes the worse of the TPR and FPR aggregates. fairlearn does it with
    // Python's `max`/`min` over [TPR, FPR], which return the first value when the TPR one is
    // nan (0 / 0: no group selects any positive) and skip a nan FPR one; by default mlops takes
    // whichever is defined.
    let worst = |a: Metric, b: Metric, pick: fn(f64, f64) -> f64| match (a, b) {
        (Ok(a), Ok(b)) => Ok(pick(a, b)),
        (Err(e), _) if fairlearn_compat => Err(e),
        (Ok(v), Err(_)) | (Err(_), Ok(v)) => Ok(v),
        (Err(e), Err(_)) => Err(e),
    };
    Fairness {
        demographic_parity_difference: difference(&selection, selection_all, method),
        demographic_parity_ratio: ratio(&selection, selection_all, method),
        equalized_odds_difference: worst(
            difference(&tpr, tpr_all, method),
            difference(&fpr, fpr_all, method),
            f64::max,
        ),
        equalized_odds_ratio: worst(
            ratio(&tpr, tpr_all, method),
            ratio(&fpr, fpr_all, method),
            f64::min,
        ),
        equal_opportunity_difference: difference(&tpr, tpr_all, method),
        groups,
        overall,
    }
}

/// The defined values among `values`.
fn defined(values: &[Metric]) -> Vec<f64> {
    values.iter().filter_map(|v| v.ok()).collect()
}

/// fairlearn's `difference`: largest minus smallest group value, or the largest distance to the
/// overall value.
pub fn difference(values: &[Metric], overall: Metric, method: Method) -> Metric {
    let values = defined(values);
    let (min, max) = extremes(&values)?;
    match method {
        Method::BetweenGroups => Ok(max - min),
        Method::ToOverall => {
            let overall = overall?;
            Ok(values
                .iter()
                .map(|v| (v - overall).abs())
                .fold(0.0, f64::max))
        }
    }
}

/// fairlearn's `ratio`: smallest over largest group value, or the smallest of each group's ratio
/// to the overall value (inverted when above 1). 0 / 0 is undefined.
pub fn ratio(values: &[Metric], overall: Metric, method: Method) -> Metric {
    let values = defined(values);
    let (min, max) = extremes(&values)?;
    match method {
        Method::BetweenGroups => crate::metrics::ratio(min, max, Undefined::NoPositives),
        Method::ToOverall => {
            let overall = overall?;
            let ratios: Vec<f64> = values
                .iter()
                .filter(|v| !(**v == 0.0 && overall == 0.0))
                .map(|v| {
                    let r = v / overall;
                    if r > 1.0 { 1.0 / r } else { r }
                })
                .collect();
            ratios
                .into_iter()
                .reduce(f64::min)
                .ok_or(Undefined::NoPositives)
        }
    }
}

fn extremes(values: &[f64]) -> Result<(f64, f64), Undefined> {
    let min = values
        .iter()
        .copied()
        .reduce(f64::min)
        .ok_or(Undefined::Empty)?;
    let max = values
        .iter()
        .copied()
        .reduce(f64::max)
        .ok_or(Undefined::Empty)?;
    Ok((min, max))
}

/// AIF360's disparate impact: the selection rate of the unprivileged rows over that of the
/// privileged rows (the four-fifths rule flags values under 0.8).
pub fn disparate_impact(
    predictions: &[bool],
    privileged: &[bool],
    weights: Option<&[f64]>,
) -> Metric {
    let mut sides = [Confusion::default(); 2]; // [unprivileged, privileged]
    for (i, (&p, &privileged)) in predictions.iter().zip(privileged).enumerate() {
        let w = crate::metrics::weight(weights, i);
        let side = &mut sides[usize::from(privileged)];
        // Only the selection rate matters: count selected rows as true positives.
        if p {
            side.tp += w;
        } else {
            side.tn += w;
        }
    }
    disparate_impact_of(&sides[0], &sides[1])
}

/// Disparate impact from the confusion matrices of the unprivileged and privileged rows.
pub(crate) fn disparate_impact_of(unprivileged: &Confusion, privileged: &Confusion) -> Metric {
    let unprivileged = unprivileged.selection_rate()?;
    let privileged = privileged.selection_rate()?;
    crate::metrics::ratio(unprivileged, privileged, Undefined::NoPredictedPositives)
}

/// A rate's name and value, in the order reports list a group's rates.
pub(crate) fn rates(g: &GroupRates) -> Vec<(&'static str, Metric)> {
    vec![
        ("selection_rate", g.selection_rate),
        ("tpr", g.tpr),
        ("fpr", g.fpr),
        ("precision", g.precision),
    ]
}

/// The binary aggregates by name, in the order reports list them (disparate impact aside).
pub fn aggregates(f: &Fairness) -> Vec<(&'static str, Metric)> {
    vec![
        (
            "demographic_parity_difference",
            f.demographic_parity_difference,
        ),
        ("demographic_parity_ratio", f.demographic_parity_ratio),
        ("equalized_odds_difference", f.equalized_odds_difference),
        ("equalized_odds_ratio", f.equalized_odds_ratio),
        (
            "equal_opportunity_difference",
            f.equal_opportunity_difference,
        ),
    ]
}

/// The rows of `groups` (ids below `group_count`; a larger id is a row left out) summed into
/// `T` per group by `add`; the weights default to 1.
fn per_group<T: Default + Clone>(
    rows: usize,
    groups: &[u32],
    group_count: usize,
    weights: Option<&[f64]>,
    mut add: impl FnMut(&mut T, usize, f64),
) -> Vec<T> {
    let mut sums = vec![T::default(); group_count];
    for (i, &g) in groups.iter().enumerate().take(rows) {
        if let Some(sum) = sums.get_mut(g as usize) {
            add(sum, i, crate::metrics::weight(weights, i));
        }
    }
    sums
}

/// One group's regression metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegressionGroup {
    /// Sum of the group's weights (its row count without weights).
    pub rows: f64,
    /// Mean absolute error (scikit-learn's `mean_absolute_error`).
    pub mae: Metric,
    /// Mean prediction (fairlearn's `mean_prediction`).
    pub mean_prediction: Metric,
}

/// Weighted sums of one group's rows: weight, absolute error, prediction.
#[derive(Debug, Clone, Copy, Default)]
struct RegressionSums {
    weight: f64,
    abs_error: f64,
    prediction: f64,
}

impl RegressionSums {
    fn group(&self) -> RegressionGroup {
        let mean = |sum: f64| crate::metrics::ratio(sum, self.weight, Undefined::Empty);
        RegressionGroup {
            rows: self.weight,
            mae: mean(self.abs_error),
            mean_prediction: mean(self.prediction),
        }
    }
}

/// Regression fairness: each group's metrics, the whole data's, and their differences and ratios.
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionFairness {
    pub groups: Vec<RegressionGroup>,
    pub overall: RegressionGroup,
    pub mae_difference: Metric,
    pub mae_ratio: Metric,
    pub mean_prediction_difference: Metric,
    pub mean_prediction_ratio: Metric,
}

impl RegressionFairness {
    /// The aggregates by name, in the order reports list them.
    pub fn aggregates(&self) -> Vec<(&'static str, Metric)> {
        vec![
            ("mae_difference", self.mae_difference),
            ("mae_ratio", self.mae_ratio),
            (
                "mean_prediction_difference",
                self.mean_prediction_difference,
            ),
            ("mean_prediction_ratio", self.mean_prediction_ratio),
        ]
    }
}

/// Regression fairness over `groups` (a group per row, `0..group_count`; a larger id leaves the
/// row out of every group and of the overall values), as fairlearn's `MetricFrame` with
/// `mean_absolute_error` and `mean_prediction` gives it. Groups without weight are left out of the
/// aggregates.
pub fn regression(
    truth: &[f64],
    predictions: &[f64],
    groups: &[u32],
    group_count: usize,
    weights: Option<&[f64]>,
    method: Method,
) -> RegressionFairness {
    let sums = per_group(
        truth.len(),
        groups,
        group_count,
        weights,
        |s: &mut RegressionSums, i, w| {
            s.weight += w;
            s.abs_error += w * (truth[i] - predictions[i]).abs();
            s.prediction += w * predictions[i];
        },
    );
    regression_of(&sums, method)
}

/// Regression fairness from each group's (weight, weighted absolute errors, weighted
/// predictions), summed elsewhere (an evaluation in shards).
pub(crate) fn regression_of_sums(groups: &[(f64, f64, f64)], method: Method) -> RegressionFairness {
    let sums: Vec<RegressionSums> = groups
        .iter()
        .map(|&(weight, abs_error, prediction)| RegressionSums {
            weight,
            abs_error,
            prediction,
        })
        .collect();
    regression_of(&sums, method)
}

/// Regression fairness from each group's sums.
fn regression_of(sums: &[RegressionSums], method: Method) -> RegressionFairness {
    let mut all = RegressionSums::default();
    for s in sums {
        all.weight += s.weight;
        all.abs_error += s.abs_error;
        all.prediction += s.prediction;
    }
    let groups: Vec<RegressionGroup> = sums.iter().map(RegressionSums::group).collect();
    let overall = all.group();
    let present: Vec<&RegressionGroup> = groups.iter().filter(|g| g.rows > 0.0).collect();
    let column = |f: fn(&RegressionGroup) -> Metric| -> (Vec<Metric>, Metric) {
        (present.iter().map(|g| f(g)).collect(), f(&overall))
    };
    let (mae, mae_all) = column(|g| g.mae);
    let (mean, mean_all) = column(|g| g.mean_prediction);
    RegressionFairness {
        mae_difference: difference(&mae, mae_all, method),
        mae_ratio: ratio(&mae, mae_all, method),
        mean_prediction_difference: difference(&mean, mean_all, method),
        mean_prediction_ratio: ratio(&mean, mean_all, method),
        groups,
        overall,
    }
}

/// Multiclass fairness: each group's accuracy, and per class the one-vs-rest binary fairness.
#[derive(Debug, Clone, PartialEq)]
pub struct MulticlassFairness {
    /// Per group: sum of weights and accuracy.
    pub groups: Vec<(f64, Metric)>,
    /// Per class: each group's one-vs-rest rates (`Fairness::groups` keeps every group here,
    /// empty ones included, in group order) and the aggregates.
    pub classes: Vec<Fairness>,
}

impl MulticlassFairness {
    /// The worst class's aggregates by name (largest difference, smallest ratio, over the
    /// classes that define them), in the order reports list them.
    pub(crate) fn worst(&self) -> Vec<(&'static str, Metric)> {
        let per_class: Vec<Vec<(&'static str, Metric)>> =
            self.classes.iter().map(aggregates).collect();
        let Some(first) = per_class.first() else {
            return Vec::new();
        };
        first
            .iter()
            .enumerate()
            .map(|(k, (name, _))| {
                let pick: fn(f64, f64) -> f64 = if name.ends_with("_ratio") {
                    f64::min
                } else {
                    f64::max
                };
                let value = per_class
                    .iter()
                    .filter_map(|c| c[k].1.ok())
                    .reduce(pick)
                    .ok_or(Undefined::Empty);
                (*name, value)
            })
            .collect()
    }
}

/// Multiclass fairness over `groups` (as in [`regression`]): for each class `k`, the rows as a
/// binary task "class k or not", labels and predictions alike (one-vs-rest), with the binary
/// rates and aggregates, which is what fairlearn's `MetricFrame` and aggregate functions give
/// for `y_true == k`, `y_pred == k`.
#[expect(clippy::too_many_arguments, reason = "the columns and the two options")]
pub fn multiclass(
    labels: &[usize],
    predictions: &[usize],
    classes: usize,
    groups: &[u32],
    group_count: usize,
    weights: Option<&[f64]>,
    method: Method,
    fairlearn_compat: bool,
) -> MulticlassFairness {
    // One k x k confusion matrix per group: every class's one-vs-rest cells follow from it.
    let matrices = per_group(
        labels.len(),
        groups,
        group_count,
        weights,
        |m: &mut Vec<f64>, i, w| {
            if m.is_empty() {
                m.resize(classes * classes, 0.0);
            }
            m[labels[i] * classes + predictions[i]] += w;
        },
    );
    multiclass_of_matrices(&matrices, classes, method, fairlearn_compat)
}

/// Multiclass fairness from each group's weighted confusion matrix (row-major, true classes by
/// predicted ones; empty for a group without rows), summed elsewhere (an evaluation in shards).
pub(crate) fn multiclass_of_matrices(
    matrices: &[Vec<f64>],
    classes: usize,
    method: Method,
    fairlearn_compat: bool,
) -> MulticlassFairness {
    let cell = |m: &Vec<f64>, y: usize, p: usize| m.get(y * classes + p).copied().unwrap_or(0.0);
    let one_vs_rest = |m: &Vec<f64>, k: usize| {
        let total: f64 = m.iter().sum();
        let tp = cell(m, k, k);
        let predicted: f64 = (0..classes).map(|y| cell(m, y, k)).sum();
        let actual: f64 = (0..classes).map(|p| cell(m, k, p)).sum();
        Confusion {
            tp,
            fp: predicted - tp,
            fn_: actual - tp,
            tn: total - predicted - actual + tp,
        }
    };
    let group_accuracy = matrices
        .iter()
        .map(|m| {
            let total: f64 = m.iter().sum();
            let right: f64 = (0..classes).map(|k| cell(m, k, k)).sum();
            (total, crate::metrics::ratio(right, total, Undefined::Empty))
        })
        .collect();
    let classes = (0..classes)
        .map(|k| {
            let confusions: Vec<Confusion> = matrices.iter().map(|m| one_vs_rest(m, k)).collect();
            let mut overall = Confusion::default();
            for c in &confusions {
                overall.tp += c.tp;
                overall.fp += c.fp;
                overall.tn += c.tn;
                overall.fn_ += c.fn_;
            }
            Fairness {
                groups: confusions
                    .iter()
                    .map(|c| GroupRates::of(c, fairlearn_compat))
                    .collect(),
                ..from_confusions(&confusions, &overall, method, fairlearn_compat)
            }
        })
        .collect();
    MulticlassFairness {
        groups: group_accuracy,
        classes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_without_positives_is_left_out_unless_compat() {
        // Group 1 has no positive labels: its TPR is undefined.
        let y = [true, false, true, false, false];
        let p = [true, false, false, true, false];
        let g = [0, 0, 0, 1, 1];
        let ours = fairness(&y, &p, &g, 2, None, Method::BetweenGroups, false);
        assert_eq!(ours.groups[1].tpr, Err(Undefined::NoPositives));
        assert_eq!(ours.equal_opportunity_difference, Ok(0.0));
        let compat = fairness(&y, &p, &g, 2, None, Method::BetweenGroups, true);
        assert_eq!(compat.groups[1].tpr, Ok(0.0));
        assert_eq!(compat.equal_opportunity_difference, Ok(0.5));
    }

    #[test]
    fn four_fifths() {
        let p = [true, true, false, false, true, false, false, false];
        let privileged = [true, true, true, true, false, false, false, false];
        assert_eq!(disparate_impact(&p, &privileged, None), Ok(0.5));
    }
}
