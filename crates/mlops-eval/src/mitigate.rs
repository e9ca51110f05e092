//! Post-processing mitigation: group-specific thresholds on a binary model's scores, chosen as
//! fairlearn's `ThresholdOptimizer` chooses them, so that a fairness constraint holds while an
//! objective is as good as it can be (Hardt, Price and Srebro 2016).
//!
//! Per group, every threshold between distinct scores is a point (x, y): x the constrained rate
//! (selection rate for demographic parity, true positive rate for its parity, false positive
//! rate with the true positive rate as y for equalized odds), y the objective. The upper convex
//! hull of a group's points is reachable by choosing between two thresholds at random, so each
//! group's best y is known at every x of a grid over [0, 1]. Demographic parity and true
//! positive rate parity take the x where the groups' y, weighted by their sizes, is largest;
//! equalized odds takes, on the false positive rate grid, the pointwise minimum of the groups'
//! true positive rates (the intersection of their ROC hulls) and the x where the objective of
//! that operating point is largest, each group mixing in a constant prediction to come down to
//! the common true positive rate.
//!
//! Every step follows fairlearn's arithmetic (the grid as `k * (1 / G)`, midpoint thresholds,
//! the hull's `<=`, sums left to right over the groups in sorted order, the first maximum, the
//! objective rounded to 15 places for equalized odds), so the thresholds and probabilities match
//! it to the last bits (`scripts/golden/eval_threshold_optimizer.py`, `tests/mitigate_golden.rs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::input::argmax;

/// The fairness constraint the thresholds meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Constraint {
    /// Equal selection rates.
    DemographicParity,
    /// Equal true positive and false positive rates.
    EqualizedOdds,
    /// Equal true positive rates (equal opportunity).
    TruePositiveRateParity,
}

/// What the thresholds make as good as the constraint allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    Accuracy,
    BalancedAccuracy,
}

/// A threshold: predict positive when the score is strictly above it (`>`), or, for flipped
/// points, strictly below (`<`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    pub below: bool,
    pub threshold: f64,
}

impl Operation {
    /// Whether `score` is predicted positive.
    #[must_use]
    pub fn positive(self, score: f64) -> bool {
        if self.below {
            score < self.threshold
        } else {
            score > self.threshold
        }
    }
}

/// One group's randomised threshold: `first` with probability `p_first`, else `second`; for
/// equalized odds, with probability `p_constant` the prediction is positive with probability
/// `constant` instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupThreshold {
    pub group: String,
    pub p_first: f64,
    pub first: Operation,
    pub p_second: f64,
    pub second: Operation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_constant: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<f64>,
}

impl GroupThreshold {
    /// The probability that a row of this group with `score` is predicted positive.
    #[must_use]
    pub fn probability(&self, score: f64) -> f64 {
        let positive = |op: Operation| if op.positive(score) { 1.0 } else { 0.0 };
        let p = self.p_first * positive(self.first) + self.p_second * positive(self.second);
        match (self.p_constant, self.constant) {
            (Some(ignore), Some(constant)) => ignore * constant + (1.0 - ignore) * p,
            _ => p,
        }
    }
}

/// The fitted thresholds: one per group, in sorted order of the groups, and the chosen point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub constraint: Constraint,
    pub objective: Objective,
    pub groups: Vec<GroupThreshold>,
    /// The constrained rate every group is brought to.
    pub x: f64,
    /// The objective there (for equalized odds, the common true positive rate).
    pub y: f64,
}

impl Thresholds {
    /// The probability that a row of `group` with `score` is predicted positive; 0 for a group
    /// the thresholds were not fitted on.
    #[must_use]
    pub fn probability(&self, group: &str, score: f64) -> f64 {
        self.groups
            .iter()
            .find(|g| g.group == group)
            .map_or(0.0, |g| g.probability(score))
    }
}

/// Confusion counts of one operating point.
#[derive(Debug, Clone, Copy)]
struct Counts {
    tp: f64,
    fp: f64,
    tn: f64,
    fn_: f64,
}

/// What a point's x and y measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    SelectionRate,
    FalsePositiveRate,
    TruePositiveRate,
    Accuracy,
    BalancedAccuracy,
}

impl Measure {
    /// The rate of `c`, in fairlearn's order of operations.
    fn of(self, c: Counts) -> f64 {
        let n = c.tp + c.tn + c.fp + c.fn_;
        match self {
            Measure::SelectionRate => (c.tp + c.fp) / n,
            Measure::FalsePositiveRate => c.fp / (c.tn + c.fp),
            Measure::TruePositiveRate => c.tp / (c.tp + c.fn_),
            Measure::Accuracy => (c.tp + c.tn) / n,
            Measure::BalancedAccuracy => {
                (0.5 * c.tp) / (c.tp + c.fn_) + (0.5 * c.tn) / (c.tn + c.fp)
            }
        }
    }
}

impl From<Objective> for Measure {
    fn from(objective: Objective) -> Measure {
        match objective {
            Objective::Accuracy => Measure::Accuracy,
            Objective::BalancedAccuracy => Measure::BalancedAccuracy,
        }
    }
}

/// One threshold of one group and where it lands.
#[derive(Debug, Clone, Copy)]
struct Point {
    op: Operation,
    x: f64,
    y: f64,
}

/// One grid x of a group's hull: the two thresholds around it and their mix.
#[derive(Debug, Clone, Copy)]
struct Mix {
    y: f64,
    p_first: f64,
    first: Operation,
    p_second: f64,
    second: Operation,
}

/// Every threshold of a group's scores (`+inf`, the midpoints between distinct scores, `-inf`;
/// with `flip` each also as its complement), sorted by x then y, stably.
fn points(rows: &mut [(f64, bool)], flip: bool, x: Measure, y: Measure) -> Vec<Point> {
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let n = rows.len();
    #[expect(clippy::cast_precision_loss, reason = "row counts fit an f64 exactly")]
    let positives = rows.iter().filter(|r| r.1).count() as f64;
    #[expect(clippy::cast_precision_loss, reason = "row counts fit an f64 exactly")]
    let negatives = n as f64 - positives;
    let (mut above_negative, mut above_positive) = (0.0, 0.0);
    let mut out = Vec::new();
    let mut push = |threshold: f64, c0: f64, c1: f64| {
        let counts = [
            (
                false,
                Counts {
                    tp: c1,
                    fp: c0,
                    tn: negatives - c0,
                    fn_: positives - c1,
                },
            ),
            (
                true,
                Counts {
                    tp: positives - c1,
                    fp: negatives - c0,
                    tn: c0,
                    fn_: c1,
                },
            ),
        ];
        for (below, c) in counts.into_iter().take(if flip { 2 } else { 1 }) {
            out.push(Point {
                op: Operation { below, threshold },
                x: x.of(c),
                y: y.of(c),
            });
        }
    };
    push(f64::INFINITY, 0.0, 0.0);
    let mut i = 0;
    while i < n {
        let tied = rows[i].0;
        #[expect(clippy::float_cmp, reason = "fairlearn groups exactly equal scores")]
        while i < n && rows[i].0 == tied {
            if rows[i].1 {
                above_positive += 1.0;
            } else {
                above_negative += 1.0;
            }
            i += 1;
        }
        let next = if i < n { rows[i].0 } else { f64::NEG_INFINITY };
        // fairlearn's arithmetic, to the bit; `next` may be -inf, where midpoint() is NaN.
        #[expect(clippy::manual_midpoint, reason = "as fairlearn computes it")]
        let threshold = (tied + next) / 2.0;
        push(threshold, above_negative, above_positive);
    }
    out.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    out
}

/// The upper convex hull of `points` (sorted by x then y), as Andrew's monotone chain with
/// fairlearn's `<=`: of collinear points and duplicates, the middle ones go.
fn hull(points: &[Point]) -> Vec<Point> {
    let mut hull: Vec<Point> = Vec::new();
    for &r2 in points {
        while hull.len() >= 2 {
            let (r0, r1) = (hull[hull.len() - 2], hull[hull.len() - 1]);
            if (r1.y - r0.y) * (r2.x - r0.x) <= (r2.y - r0.y) * (r1.x - r0.x) {
                hull.pop();
            } else {
                break;
            }
        }
        hull.push(r2);
    }
    hull
}

/// The grid over [0, 1] as numpy's `linspace(0, 1, size + 1)` computes it.
fn grid(size: usize) -> Vec<f64> {
    #[expect(clippy::cast_precision_loss, reason = "grid sizes are small")]
    let step = 1.0 / size as f64;
    let mut grid: Vec<f64> = (0..=size)
        .map(|k| {
            #[expect(clippy::cast_precision_loss, reason = "grid sizes are small")]
            let k = k as f64;
            k * step + 0.0
        })
        .collect();
    if let Some(last) = grid.last_mut()
        && size > 0
    {
        *last = 1.0;
    }
    grid
}

/// The hull at each grid x: the hull points on either side and their mix.
fn interpolate(hull: &[Point], grid: &[f64]) -> Vec<Mix> {
    grid.iter()
        .enumerate()
        .map(|(k, &g)| {
            let mut j = hull.partition_point(|p| p.x <= g) - 1;
            #[expect(
                clippy::float_cmp,
                reason = "fairlearn's exact test: a grid x on a hull point"
            )]
            if k >= 1 && g == hull[j].x {
                j -= 1;
            }
            let (a, b) = (hull[j], hull[j + 1]);
            let p_first = (b.x - g) / (b.x - a.x);
            let p_second = 1.0 - p_first;
            Mix {
                y: p_first * a.y + p_second * b.y,
                p_first,
                first: a.op,
                p_second,
                second: b.op,
            }
        })
        .collect()
}

/// numpy's `around(v, 15)`: multiplied by 1e15, rounded half to even, divided back.
fn round15(v: f64) -> f64 {
    (v * 1e15).round_ties_even() / 1e15
}

/// How thresholds are fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FitOptions {
    pub constraint: Constraint,
    pub objective: Objective,
    /// Steps of the grid over [0, 1] (its points are one more).
    pub grid_size: usize,
    /// Whether a threshold may also predict positive below it (for scores that run the wrong
    /// way in some group).
    pub flip: bool,
}

impl Default for FitOptions {
    /// Demographic parity for accuracy, fairlearn's grid of 1000 steps, no flip.
    fn default() -> Self {
        Self {
            constraint: Constraint::DemographicParity,
            objective: Objective::Accuracy,
            grid_size: 1000,
            flip: false,
        }
    }
}

/// Fits group thresholds to `scores` (finite) and `labels`, the groups being `keys[ids[row]]`
/// (a row whose id is past the keys is in no group).
///
/// # Errors
/// [`Error::Argument`] for a score that is not finite or a grid of size 0, and
/// [`Error::DegenerateGroup`] for a group whose rows all have one label (no trade-off to
/// choose from).
pub fn fit(
    scores: &[f64],
    labels: &[bool],
    keys: &[String],
    ids: &[u32],
    options: &FitOptions,
) -> Result<Thresholds> {
    let FitOptions {
        constraint,
        objective,
        grid_size,
        flip,
    } = *options;
    if let Some(bad) = scores.iter().find(|s| !s.is_finite()) {
        return Err(Error::Argument(format!(
            "scores must be finite to choose thresholds, found {bad}"
        )));
    }
    if grid_size == 0 {
        return Err(Error::Argument("the grid needs at least one step".into()));
    }
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    let mut rows: Vec<Vec<(f64, bool)>> = vec![Vec::new(); keys.len()];
    for ((&score, &label), &id) in scores.iter().zip(labels).zip(ids) {
        if let Some(group) = rows.get_mut(id as usize) {
            group.push((score, label));
        }
    }
    let (x_rate, y_rate) = match constraint {
        Constraint::DemographicParity => (Measure::SelectionRate, objective.into()),
        Constraint::TruePositiveRateParity => (Measure::TruePositiveRate, objective.into()),
        Constraint::EqualizedOdds => (Measure::FalsePositiveRate, Measure::TruePositiveRate),
    };
    let grid = grid(grid_size);
    let mut curves: Vec<(usize, Vec<Mix>)> = Vec::new();
    for &g in &order {
        let group = &mut rows[g];
        if group.is_empty() {
            continue;
        }
        let positives = group.iter().filter(|r| r.1).count();
        if positives == 0 || positives == group.len() {
            return Err(Error::DegenerateGroup {
                group: keys[g].clone(),
                rows: group.len(),
            });
        }
        let points = points(group, flip, x_rate, y_rate);
        curves.push((g, interpolate(&hull(&points), &grid)));
    }
    let chosen = |i: usize, constant: Option<f64>, y_best: f64| -> Vec<GroupThreshold> {
        curves
            .iter()
            .map(|(g, curve)| {
                let m = curve[i];
                let x = grid[i];
                let p_constant = constant.map(|_| {
                    #[expect(clippy::float_cmp, reason = "fairlearn's exact test")]
                    if m.y == x {
                        0.0
                    } else {
                        (m.y - y_best) / (m.y - x)
                    }
                });
                GroupThreshold {
                    group: keys[*g].clone(),
                    p_first: m.p_first,
                    first: m.first,
                    p_second: m.p_second,
                    second: m.second,
                    p_constant,
                    constant,
                }
            })
            .collect()
    };
    let (i, y_best, constant) = if constraint == Constraint::EqualizedOdds {
        let (i, y) = equalized_odds_point(&curves, &grid, labels, objective);
        (i, y, Some(grid[i]))
    } else {
        let sizes: Vec<usize> = curves.iter().map(|(g, _)| rows[*g].len()).collect();
        let (i, y) = parity_point(&curves, &sizes, labels.len());
        (i, y, None)
    };
    Ok(Thresholds {
        constraint,
        objective,
        groups: chosen(i, constant, y_best),
        x: grid[i],
        y: y_best,
    })
}

/// Demographic or true positive rate parity: the grid index where the groups' objective,
/// weighted by their share of all `rows`, is largest (the first such), and that objective.
fn parity_point(curves: &[(usize, Vec<Mix>)], sizes: &[usize], rows: usize) -> (usize, f64) {
    #[expect(clippy::cast_precision_loss, reason = "row counts fit an f64 exactly")]
    let weights: Vec<f64> = sizes.iter().map(|&s| s as f64 / rows as f64).collect();
    let points = curves.first().map_or(0, |(_, c)| c.len());
    let overall: Vec<f64> = (0..points)
        .map(|k| {
            curves
                .iter()
                .zip(&weights)
                .fold(0.0, |sum, ((_, c), w)| sum + w * c[k].y)
        })
        .collect();
    let i = argmax(&overall);
    (i, overall[i])
}

/// Equalized odds: on the false positive rate grid, the lowest of the groups' true positive
/// rates (where every group can be brought), and the grid index where the objective of that
/// operating point over all the rows is largest (the first such, after rounding to 15 places
/// as fairlearn does); the index and the common true positive rate.
fn equalized_odds_point(
    curves: &[(usize, Vec<Mix>)],
    grid: &[f64],
    labels: &[bool],
    objective: Objective,
) -> (usize, f64) {
    #[expect(clippy::cast_precision_loss, reason = "row counts fit an f64 exactly")]
    let (positives, n) = (
        labels.iter().filter(|&&l| l).count() as f64,
        labels.len() as f64,
    );
    let negatives = n - positives;
    let lowest: Vec<f64> = (0..grid.len())
        .map(|k| {
            curves
                .iter()
                .map(|(_, c)| c[k].y)
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    let measure = Measure::from(objective);
    let values: Vec<f64> = grid
        .iter()
        .zip(&lowest)
        .map(|(&x, &y)| {
            round15(measure.of(Counts {
                tp: positives * y,
                fp: negatives * x,
                tn: negatives * (1.0 - x),
                fn_: positives * (1.0 - y),
            }))
        })
        .collect();
    let i = argmax(&values);
    (i, lowest[i])
}

/// Rates of a binary decision over some rows. For randomised thresholds each row counts with
/// its probability of being predicted positive: the rates are the expected ones over the draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    pub rows: usize,
    pub selection_rate: f64,
    pub true_positive_rate: f64,
    pub false_positive_rate: f64,
    pub accuracy: f64,
    pub balanced_accuracy: f64,
}

/// A decision's rates overall and per group, and the gaps between the groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub overall: Rates,
    pub groups: BTreeMap<String, Rates>,
    /// The lowest group selection rate over the highest (the four-fifths rule asks >= 0.8).
    pub demographic_parity_ratio: f64,
    pub demographic_parity_difference: f64,
    /// The larger of the groups' spreads in true and in false positive rate.
    pub equalized_odds_difference: f64,
    pub true_positive_rate_difference: f64,
}

/// What fitted thresholds trade: the plain threshold's outcome and theirs, on the rows they
/// were fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tradeoff {
    /// The single threshold before: positive when the score is at least this.
    pub threshold: f64,
    pub before: Outcome,
    /// Expected over the random draws between each group's two thresholds.
    pub after: Outcome,
}

/// The outcome of predicting positive when the score is at least `threshold`, and of
/// `thresholds`, on the rows [`fit`] takes (rows in no group count overall only).
#[must_use]
pub fn tradeoff(
    scores: &[f64],
    labels: &[bool],
    keys: &[String],
    ids: &[u32],
    threshold: f64,
    thresholds: &Thresholds,
) -> Tradeoff {
    let plain = outcome(scores, labels, keys, ids, |_, score| {
        if score >= threshold { 1.0 } else { 0.0 }
    });
    let fitted = outcome(scores, labels, keys, ids, |group, score| {
        group.map_or(0.0, |g| thresholds.probability(g, score))
    });
    Tradeoff {
        threshold,
        before: plain,
        after: fitted,
    }
}

/// Sums of a decision over some rows: rows, positives, and the expected positive predictions
/// among positives and among negatives.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    rows: usize,
    positives: usize,
    true_positive: f64,
    false_positive: f64,
}

impl Sums {
    fn add(&mut self, label: bool, p: f64) {
        self.rows += 1;
        if label {
            self.positives += 1;
            self.true_positive += p;
        } else {
            self.false_positive += p;
        }
    }

    #[expect(clippy::cast_precision_loss, reason = "row counts fit an f64 exactly")]
    fn rates(self) -> Rates {
        let (n, positives) = (self.rows as f64, self.positives as f64);
        let negatives = n - positives;
        let tpr = self.true_positive / positives;
        let fpr = self.false_positive / negatives;
        Rates {
            rows: self.rows,
            selection_rate: (self.true_positive + self.false_positive) / n,
            true_positive_rate: tpr,
            false_positive_rate: fpr,
            accuracy: (self.true_positive + negatives - self.false_positive) / n,
            balanced_accuracy: (tpr + 1.0 - fpr) / 2.0,
        }
    }
}

/// The outcome of a decision that predicts a row of `group` with `score` positive with the
/// probability it returns.
fn outcome(
    scores: &[f64],
    labels: &[bool],
    keys: &[String],
    ids: &[u32],
    decide: impl Fn(Option<&str>, f64) -> f64,
) -> Outcome {
    let mut overall = Sums::default();
    let mut groups = vec![Sums::default(); keys.len()];
    for ((&score, &label), &id) in scores.iter().zip(labels).zip(ids) {
        let group = keys.get(id as usize);
        let p = decide(group.map(String::as_str), score);
        overall.add(label, p);
        if let Some(sums) = groups.get_mut(id as usize) {
            sums.add(label, p);
        }
    }
    let groups: BTreeMap<String, Rates> = keys
        .iter()
        .zip(groups)
        .filter(|(_, sums)| sums.rows > 0)
        .map(|(key, sums)| (key.clone(), sums.rates()))
        .collect();
    // Each rate's lowest and highest over the groups.
    let spread = |rate: fn(&Rates) -> f64| {
        groups
            .values()
            .map(rate)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            })
    };
    let selection = spread(|r| r.selection_rate);
    let positives = spread(|r| r.true_positive_rate);
    let negatives = spread(|r| r.false_positive_rate);
    Outcome {
        overall: overall.rates(),
        groups,
        demographic_parity_ratio: if selection.1 > 0.0 {
            selection.0 / selection.1
        } else {
            f64::NAN
        },
        demographic_parity_difference: selection.1 - selection.0,
        equalized_odds_difference: (positives.1 - positives.0).max(negatives.1 - negatives.0),
        true_positive_rate_difference: positives.1 - positives.0,
    }
}
