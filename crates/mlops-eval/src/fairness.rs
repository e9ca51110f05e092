//! Fairness across groups of a sensitive attribute: per-group rates, and the aggregates fairlearn
//! reports (demographic parity, equalized odds, equal opportunity) plus AIF360's disparate impact.
//!
//! Aggregates follow fairlearn's `MetricFrame.difference` and `.ratio`: `between_groups` compares
//! the largest and smallest group values; `to_overall` compares each group with the whole data.
//! A rate a group cannot define (TPR with no positives, FPR with no negatives) is left out of the
//! aggregate by default and reported as undefined; `fairlearn_compat` reports it as 0 instead,
//! in the group's rates as in the aggregates, which is what fairlearn does (through
//! scikit-learn's `confusion_matrix(normalize="true")`, and `precision_score`'s `zero_division`).

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
    fn of(c: &Confusion, fairlearn_compat: bool) -> Self {
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
pub fn as_fairlearn(rate: Metric) -> Metric {
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
pub fn from_confusions(
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
pub fn disparate_impact_of(unprivileged: &Confusion, privileged: &Confusion) -> Metric {
    let unprivileged = unprivileged.selection_rate()?;
    let privileged = privileged.selection_rate()?;
    crate::metrics::ratio(unprivileged, privileged, Undefined::NoPredictedPositives)
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
