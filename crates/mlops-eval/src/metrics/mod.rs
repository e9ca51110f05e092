//! Metric definitions for binary, multiclass and regression tasks.
//!
//! Every function takes plain slices (labels, predictions, scores, optional sample weights) and
//! returns a [`Metric`]: a value, or the reason the data cannot define one. Weights default to 1.

pub mod binary;
pub mod multiclass;
pub mod regression;

use std::fmt;

/// Why a metric has no value for the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undefined {
    /// No rows (or all weights zero).
    Empty,
    /// No positive labels (recall, TPR, FNR, AUC, average precision).
    NoPositives,
    /// No negative labels (FPR, TNR, AUC).
    NoNegatives,
    /// Nothing predicted positive (precision).
    NoPredictedPositives,
    /// A class has no instances in the labels (one-vs-rest AUC).
    ClassWithoutInstances(usize),
    /// The target is constant (R²).
    ConstantTarget,
    /// The input has no scores or no predictions for this metric.
    MissingInput(&'static str),
}

impl fmt::Display for Undefined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Undefined::Empty => f.write_str("no rows"),
            Undefined::NoPositives => f.write_str("no positive labels"),
            Undefined::NoNegatives => f.write_str("no negative labels"),
            Undefined::NoPredictedPositives => f.write_str("nothing was predicted positive"),
            Undefined::ClassWithoutInstances(c) => {
                write!(f, "class {c} has no instances in the labels")
            }
            Undefined::ConstantTarget => f.write_str("the target is constant"),
            Undefined::MissingInput(what) => write!(f, "needs {what}"),
        }
    }
}

/// A metric's value, or why it has none.
pub type Metric = Result<f64, Undefined>;

/// `numerator / denominator`, undefined (with `why`) when the denominator is zero.
pub(crate) fn ratio(numerator: f64, denominator: f64, why: Undefined) -> Metric {
    if denominator == 0.0 {
        Err(why)
    } else {
        Ok(numerator / denominator)
    }
}

/// The weight of row `i` (1 without weights).
pub(crate) fn weight(weights: Option<&[f64]>, i: usize) -> f64 {
    weights.map_or(1.0, |w| w[i])
}
