//! The reference band of a metric: the mean of its values on the reference windows ± 3 standard
//! deviations (population, NaN ignored), as NannyML's `StandardDeviationThreshold` draws it, with
//! each side cut at the metric's natural limit.

use serde::{Deserialize, Serialize};

/// How many standard deviations a band reaches each side of the mean.
pub const SPREAD: f64 = 3.0;

/// A metric's expected range; a missing side does not bound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// The mean of the reference windows' values.
    pub center: Option<f64>,
}

/// How a side of a band meets a limit the metric cannot cross.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// No limit on this side.
    None,
    /// A side beyond the limit is moved onto it (performance metrics within [0, 1]).
    Clip(f64),
    /// A side at or beyond the limit is dropped (a reconstruction error's lower side at 0).
    Drop(f64),
}

impl Band {
    /// The band of `values` (NaN ignored; none when all are NaN) with `lower` and `upper`
    /// limits, `upper` only when `two_sided` is false.
    pub fn of(values: &[f64], lower: Limit, upper: Limit, two_sided: bool) -> Self {
        let Some((mean, sd)) = mean_sd(values) else {
            return Self::default();
        };
        let low = mean - SPREAD * sd;
        let high = mean + SPREAD * sd;
        let lower = match lower {
            _ if !two_sided => None,
            Limit::None => Some(low),
            Limit::Clip(limit) => Some(if low <= limit { limit } else { low }),
            Limit::Drop(limit) => (low > limit).then_some(low),
        };
        let upper = match upper {
            Limit::None => Some(high),
            Limit::Clip(limit) => Some(if high >= limit { limit } else { high }),
            Limit::Drop(limit) => (high < limit).then_some(high),
        };
        Self {
            lower,
            upper,
            center: Some(mean),
        }
    }

    /// Whether `value` lies strictly outside (NaN never does).
    pub fn outside(&self, value: f64) -> bool {
        self.lower.is_some_and(|l| value < l) || self.upper.is_some_and(|u| value > u)
    }
}

/// The mean and population standard deviation of the values that are not NaN.
#[expect(clippy::cast_precision_loss, reason = "few windows")]
pub fn mean_sd(values: &[f64]) -> Option<(f64, f64)> {
    let kept: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if kept.is_empty() {
        return None;
    }
    let n = kept.len() as f64;
    let mean = kept.iter().sum::<f64>() / n;
    let var = kept.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    Some((mean, var.sqrt()))
}
