//! A regression task in shards: per unit, the weighted sums behind MAE, MSE, RMSE, MAPE and the
//! fairness groups' mean prediction; the target's mean and spread for R²; the largest error;
//! the tested loss's mean and spread for the slice tests; and the absolute errors in a
//! histogram for the median.
//!
//! Means and spreads are kept as (weight, mean, sum of squared deviations) and merged as Chan,
//! Golub and `LeVeque` merge them, which keeps the precision that raw sums of squares lose to
//! cancellation. They equal the rows' values to rounding. The median comes from the histogram:
//! the rows' own when each bucket holds one distinct error, else within half the width of the
//! bucket it falls in (stated as the report's `sharded.max_error.median_ae`).

use serde::{Deserialize, Serialize};

use super::{Histogram, Partial, Unit, finish, tested_metric, unmeasured};
use crate::error::Result;
use crate::evaluate::Options;
use crate::fairness;
use crate::input::Task;
use crate::measure::{Measured, Measures};
use crate::metrics::{Metric, Undefined, ratio};
use crate::report::{EvalReport, Intervals};
use crate::sensitive::{self, Sensitive};
use crate::significance::{Outcomes, test_moments};
use crate::slices::{Dimension, SliceMetric, Tested};
use crate::stats::Moments;

/// One row of a regression task as a unit adds it up.
pub(super) struct ErrorRow {
    truth: f64,
    prediction: f64,
    pub(super) weight: f64,
    pub(super) absolute: f64,
    /// `|e| / max(|y|, eps)`, as scikit-learn's MAPE takes it.
    relative: f64,
    /// The loss the slice tests test (absolute, squared or relative).
    loss: f64,
}

impl ErrorRow {
    pub(super) fn new(truth: f64, prediction: f64, weight: f64, tested: SliceMetric) -> Self {
        let absolute = (truth - prediction).abs();
        let relative = absolute / truth.abs().max(f64::EPSILON);
        let loss = match tested {
            SliceMetric::Mae => absolute,
            SliceMetric::Mape => relative,
            _ => absolute * absolute,
        };
        Self {
            truth,
            prediction,
            weight,
            absolute,
            relative,
            loss,
        }
    }
}

/// A weighted mean and the weighted sum of squared deviations from it.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub(super) struct Spread {
    weight: f64,
    mean: f64,
    deviations: f64,
}

impl Spread {
    /// Welford's update.
    fn add(&mut self, x: f64, weight: f64) {
        if weight == 0.0 {
            return;
        }
        self.weight += weight;
        let delta = x - self.mean;
        self.mean += delta * weight / self.weight;
        self.deviations += weight * delta * (x - self.mean);
    }

    /// Chan, Golub and `LeVeque`'s merge.
    fn merge(&mut self, other: Spread) {
        if other.weight == 0.0 {
            return;
        }
        if self.weight == 0.0 {
            *self = other;
            return;
        }
        let weight = self.weight + other.weight;
        let delta = other.mean - self.mean;
        self.mean += delta * other.weight / weight;
        self.deviations += other.deviations + delta * delta * self.weight * other.weight / weight;
        self.weight = weight;
    }

    /// The moments of the values about `shift`, as the slice tests take them.
    fn moments(&self, shift: f64) -> Moments {
        let offset = self.mean - shift;
        Moments {
            n: self.weight,
            sum: self.weight * offset,
            sum_sq: self.deviations + self.weight * offset * offset,
        }
    }
}

/// A regression unit's sums.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct ErrorSums {
    weight: f64,
    absolute: f64,
    squared: f64,
    relative: f64,
    prediction: f64,
    /// The target, weighted, for R².
    target: Spread,
    /// The largest absolute error (rows unweighted, as scikit-learn's `max_error`).
    largest: f64,
    /// The tested loss, rows unweighted (the slice tests count rows).
    loss: Spread,
    /// Absolute errors, weighted, in buckets.
    pub(super) histogram: Histogram,
}

impl ErrorSums {
    pub(super) fn add(&mut self, row: &ErrorRow) {
        let w = row.weight;
        self.weight += w;
        self.absolute += w * row.absolute;
        self.squared += w * row.absolute * row.absolute;
        self.relative += w * row.relative;
        self.prediction += w * row.prediction;
        self.target.add(row.truth, w);
        self.largest = self.largest.max(row.absolute);
        self.loss.add(row.loss, 1.0);
    }

    pub(super) fn merge(&mut self, other: ErrorSums) {
        self.weight += other.weight;
        self.absolute += other.absolute;
        self.squared += other.squared;
        self.relative += other.relative;
        self.prediction += other.prediction;
        self.target.merge(other.target);
        self.largest = self.largest.max(other.largest);
        self.loss.merge(other.loss);
        self.histogram.merge(other.histogram);
    }

    /// Every metric of a regression task, as the rows give them (`crate::measure`'s order).
    fn metrics(&self, rows: usize) -> Vec<(&'static str, Metric)> {
        let mse = ratio(self.squared, self.weight, Undefined::Empty);
        let r2 = ratio(self.target.deviations, self.weight, Undefined::Empty).and_then(|spread| {
            if spread == 0.0 {
                return Err(Undefined::ConstantTarget);
            }
            Ok(1.0 - mse? / spread)
        });
        vec![
            ("mae", ratio(self.absolute, self.weight, Undefined::Empty)),
            ("mse", mse),
            ("rmse", mse.map(f64::sqrt)),
            ("r2", r2),
            ("mape", ratio(self.relative, self.weight, Undefined::Empty)),
            ("median_ae", self.median().map(|(value, _)| value)),
            (
                "max_error",
                if rows > 0 {
                    Ok(self.largest)
                } else {
                    Err(Undefined::Empty)
                },
            ),
        ]
    }

    /// The weighted median of the absolute errors as scikit-learn takes it (the midpoint of two
    /// values where the cumulative weight lands exactly on half), and how far from it the rows'
    /// median may be: half the width of the buckets it comes from, 0 when they hold one value.
    pub(super) fn median(&self) -> Result<(f64, f64), Undefined> {
        let buckets = &self.histogram.buckets;
        let total: f64 = buckets.iter().map(|b| b.2).sum();
        if total == 0.0 {
            return Err(Undefined::Empty);
        }
        let half = total / 2.0;
        let mut running = 0.0;
        let cumulative: Vec<f64> = buckets
            .iter()
            .map(|b| {
                running += b.2;
                running
            })
            .collect();
        let value = |i: usize| {
            let (_, _, _, low, high) = buckets[i];
            (f64::midpoint(low, high), (high - low) / 2.0)
        };
        let at = cumulative
            .partition_point(|&c| c < half)
            .min(buckets.len() - 1);
        if cumulative[at] - half > f64::EPSILON {
            return Ok(value(at));
        }
        let next = cumulative.partition_point(|&c| c <= cumulative[at]);
        let next = if next < buckets.len() { next } else { at };
        let ((a, error_a), (b, error_b)) = (value(at), value(next));
        Ok((f64::midpoint(a, b), error_a.max(error_b)))
    }
}

/// The report of a regression task's merged sums, before gates.
pub(super) fn report(
    merged: &Partial,
    dimensions: &[Dimension],
    sensitive: Option<&Sensitive>,
    options: &Options,
) -> Result<EvalReport> {
    let unit_measures = |u: &Unit| Measured {
        rows: u.rows(),
        metrics: u.errors.metrics(u.rows()),
        ci: Intervals::new(),
    };
    let overall = Measured {
        rows: merged.rows,
        ..unit_measures(&merged.whole)
    };
    let fairness = sensitive.map(|s| {
        let sums: Vec<(f64, f64, f64)> = merged
            .groups
            .iter()
            .map(|(_, u)| (u.errors.weight, u.errors.absolute, u.errors.prediction))
            .collect();
        let f = fairness::regression_of_sums(&sums, options.fairness_method);
        let (units, rows) = sensitive::regression_units(&f);
        let units = units.into_iter().map(unmeasured).collect();
        sensitive::rows_report(None, s, units, &rows, options)
    });
    let tested = tested_metric(options, Task::Regression)?.map(|metric| {
        let outcomes = Outcomes::Mean {
            losses: Vec::new(),
            root: metric == SliceMetric::Rmse,
        };
        // About the whole data's mean loss, as the rows' test takes its moments.
        let shift = merged.whole.errors.loss.mean;
        let moments = merged.per_slice(|u| (u.rows(), u.errors.loss.moments(shift)));
        let all = merged.whole.errors.loss.moments(shift);
        let tests = test_moments(
            dimensions,
            &moments,
            all,
            &outcomes,
            shift,
            &options.slice_options,
        );
        (Tested { metric, outcomes }, tests)
    });
    let measures = Measures {
        overall,
        slices: merged.per_slice(unit_measures),
        fairness,
        confusion_matrix: None,
        curves: None,
    };
    Ok(finish(
        Task::Regression,
        merged,
        dimensions,
        measures,
        tested,
        options,
    ))
}
