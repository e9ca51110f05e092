//! A multiclass task in shards: per unit, the weighted confusion matrix over the classes it has
//! seen (by name, so that parts that saw different classes merge), the rows predicted right (for
//! the accuracy's Wilson interval and the slice tests), the log loss, and per class a histogram
//! of that class's score (its rows positive, the rest negative) for the one-vs-rest ROC AUC.
//!
//! Accuracy, balanced accuracy, the averaged precision, recall and F1, the confusion matrix, the
//! slice tests and the fairness groups come from the merged matrices, exactly on unweighted data;
//! ROC AUC from the histograms, as a binary task's does.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{
    Histogram, HistogramBuilder, Partial, Unit, finish, proportion_tests, tested_metric, unmeasured,
};
use crate::error::Result;
use crate::evaluate::Options;
use crate::fairness;
use crate::input::Task;
use crate::measure::{Measured, Measures};
use crate::metrics::multiclass::{counted_metrics, per_class_of_matrix};
use crate::metrics::{Metric, Undefined, ratio};
use crate::report::{ConfusionMatrix, EvalReport, Intervals};
use crate::sensitive::{self, Sensitive};
use crate::significance::Outcomes;
use crate::slices::{Dimension, Tested};
use crate::stats::wilson_interval;

/// One row of a multiclass task as a unit adds it up: classes as indices into the shard's
/// classes.
pub(super) struct ClassRow<'a> {
    pub(super) label: usize,
    pub(super) prediction: usize,
    pub(super) weight: f64,
    /// The row's score per class, when scores are given.
    pub(super) scores: Option<&'a [f64]>,
}

/// A multiclass unit's sums over the classes it has seen, sorted by name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct ClassSums {
    classes: Vec<String>,
    /// Weighted, row-major: true classes by predicted ones.
    matrix: Vec<f64>,
    /// Rows predicted right, unweighted.
    right: u64,
    log_loss: f64,
    /// Per class, its score's histogram; empty without scores.
    histograms: Vec<Histogram>,
}

impl ClassSums {
    /// Empty sums over `classes`.
    pub(super) fn over(classes: &[String]) -> Self {
        Self {
            classes: classes.to_vec(),
            matrix: vec![0.0; classes.len() * classes.len()],
            ..Self::default()
        }
    }

    /// Adds `row`; its scores to `histograms` (one builder per class) when given.
    pub(super) fn add(&mut self, row: &ClassRow, histograms: &mut [HistogramBuilder]) {
        let k = self.classes.len();
        self.matrix[row.label * k + row.prediction] += row.weight;
        self.right += u64::from(row.label == row.prediction);
        let Some(scores) = row.scores else {
            return;
        };
        let given = scores[row.label].clamp(f64::EPSILON, 1.0 - f64::EPSILON);
        self.log_loss -= row.weight * given.ln();
        for (class, (histogram, &score)) in histograms.iter_mut().zip(scores).enumerate() {
            let (negatives, positives) = if class == row.label {
                (0.0, row.weight)
            } else {
                (row.weight, 0.0)
            };
            histogram.add(score, negatives, positives);
        }
    }

    pub(super) fn finish(&mut self, histograms: Vec<HistogramBuilder>) {
        self.histograms = histograms
            .into_iter()
            .map(HistogramBuilder::finish)
            .collect();
    }

    /// These sums over `classes`, a sorted superset of their own: the matrix laid out anew,
    /// and an empty histogram for a class they never saw.
    fn over_all(&self, classes: &[String]) -> ClassSums {
        let k = classes.len();
        let place: Vec<usize> = self
            .classes
            .iter()
            .map(|c| classes.binary_search(c).expect("a superset"))
            .collect();
        let mut matrix = vec![0.0; k * k];
        let own = self.classes.len();
        for (y, &to_y) in place.iter().enumerate() {
            for (p, &to_p) in place.iter().enumerate() {
                matrix[to_y * k + to_p] = self.matrix[y * own + p];
            }
        }
        let histograms = if self.histograms.is_empty() {
            Vec::new()
        } else {
            classes
                .iter()
                .map(|c| {
                    self.classes
                        .binary_search(c)
                        .map_or_else(|_| Histogram::default(), |i| self.histograms[i].clone())
                })
                .collect()
        };
        ClassSums {
            classes: classes.to_vec(),
            matrix,
            right: self.right,
            log_loss: self.log_loss,
            histograms,
        }
    }

    pub(super) fn merge(&mut self, other: ClassSums) {
        if other.classes.is_empty() {
            return;
        }
        if self.classes.is_empty() {
            *self = other;
            return;
        }
        let classes: Vec<String> = self
            .classes
            .iter()
            .chain(&other.classes)
            .cloned()
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        let (mut mine, theirs) = (self.over_all(&classes), other.over_all(&classes));
        for (a, b) in mine.matrix.iter_mut().zip(&theirs.matrix) {
            *a += b;
        }
        mine.right += theirs.right;
        mine.log_loss += theirs.log_loss;
        if mine.histograms.is_empty() {
            mine.histograms = theirs.histograms;
        } else {
            for (a, b) in mine.histograms.iter_mut().zip(theirs.histograms) {
                a.merge(b);
            }
        }
        *self = mine;
    }

    fn total(&self) -> f64 {
        self.matrix.iter().sum()
    }

    /// Every metric of a multiclass task, as the rows give them (`crate::measure`'s order).
    fn metrics(&self, scored: bool) -> Vec<(&'static str, Metric)> {
        let k = self.classes.len();
        let mut out = counted_metrics(&per_class_of_matrix(&self.matrix, k));
        if scored {
            out.extend([
                ("roc_auc", self.roc_auc()),
                (
                    "log_loss",
                    ratio(self.log_loss, self.total(), Undefined::Empty),
                ),
            ]);
        }
        out
    }

    /// One-vs-rest ROC AUC, the mean over classes, each from its histogram with buckets as ties.
    fn roc_auc(&self) -> Metric {
        let mut sum = 0.0;
        for (class, histogram) in self.histograms.iter().enumerate() {
            sum += histogram
                .roc_auc()
                .map_err(|_| Undefined::ClassWithoutInstances(class))?;
        }
        #[expect(clippy::cast_precision_loss, reason = "class counts are small")]
        Ok(sum / self.histograms.len() as f64)
    }

    /// The largest error of a class's ROC AUC from its histogram.
    pub(super) fn auc_error(&self) -> f64 {
        self.histograms
            .iter()
            .map(|h| h.errors().0)
            .fold(0.0, f64::max)
    }
}

/// The report of a multiclass task's merged sums, before gates.
pub(super) fn report(
    merged: &Partial,
    dimensions: &[Dimension],
    sensitive: Option<&Sensitive>,
    options: &Options,
) -> Result<EvalReport> {
    let classes = merged.whole.classes.classes.clone();
    let confidence = options.slice_options.confidence;
    let unit_measures = |u: &Unit| {
        let sums = u.classes.over_all(&classes);
        let mut ci = Intervals::new();
        if !merged.weighted {
            #[expect(clippy::cast_precision_loss, reason = "row counts fit an f64 exactly")]
            let interval = wilson_interval(sums.right as f64, u.rows() as f64, confidence);
            ci.extend(interval.map(|(lo, hi)| ("accuracy".to_owned(), [lo, hi])));
        }
        Measured {
            rows: u.rows(),
            metrics: sums.metrics(merged.scored),
            ci,
        }
    };
    let overall = Measured {
        rows: merged.rows,
        ..unit_measures(&merged.whole)
    };
    let fairness = sensitive.map(|s| fairness_report(merged, &classes, s, options));
    // Accuracy, the one metric a multiclass task's slices are tested on: every row a trial.
    let tested = tested_metric(options, Task::Multiclass)?.map(|metric| {
        let right = |u: &Unit| usize::try_from(u.classes.right).expect("rows fit usize");
        let counted = |u: &Unit| (u.rows(), right(u));
        let outcomes = Outcomes::Proportion {
            rows: Vec::new(),
            higher_is_better: true,
        };
        let tests = proportion_tests(merged, dimensions, true, counted, options);
        (Tested { metric, outcomes }, tests)
    });
    let whole = merged.whole.classes.over_all(&classes);
    let k = classes.len();
    let measures = Measures {
        overall,
        slices: merged.per_slice(unit_measures),
        fairness,
        confusion_matrix: Some(ConfusionMatrix {
            classes: classes.clone(),
            counts: (0..k)
                .map(|y| whole.matrix[y * k..(y + 1) * k].to_vec())
                .collect(),
        }),
        curves: None,
    };
    Ok(finish(
        Task::Multiclass,
        merged,
        dimensions,
        measures,
        tested,
        options,
    ))
}

/// The fairness report of the merged groups' confusion matrices over `classes`.
fn fairness_report(
    merged: &Partial,
    classes: &[String],
    sensitive: &Sensitive,
    options: &Options,
) -> crate::report::FairnessReport {
    let matrices: Vec<Vec<f64>> = merged
        .groups
        .iter()
        .map(|(_, u)| u.classes.over_all(classes).matrix)
        .collect();
    let f = fairness::multiclass_of_matrices(
        &matrices,
        classes.len(),
        options.fairness_method,
        options.fairlearn_compat,
    );
    let (units, rows) = sensitive::multiclass_units(&f);
    let units = units.into_iter().map(unmeasured).collect();
    sensitive::rows_report(Some(classes), sensitive, units, &rows, options)
}
