//! Regression metrics, as scikit-learn defines them.

use super::{Metric, Undefined, ratio, weight};

/// The weighted mean of `f(truth, prediction)` over the rows.
fn mean_of(
    truth: &[f64],
    predictions: &[f64],
    weights: Option<&[f64]>,
    f: impl Fn(f64, f64) -> f64,
) -> Metric {
    let (mut sum, mut total) = (0.0, 0.0);
    for (i, (&y, &p)) in truth.iter().zip(predictions).enumerate() {
        let w = weight(weights, i);
        sum += w * f(y, p);
        total += w;
    }
    ratio(sum, total, Undefined::Empty)
}

pub fn mae(truth: &[f64], predictions: &[f64], weights: Option<&[f64]>) -> Metric {
    mean_of(truth, predictions, weights, |y, p| (y - p).abs())
}

pub fn mse(truth: &[f64], predictions: &[f64], weights: Option<&[f64]>) -> Metric {
    mean_of(truth, predictions, weights, |y, p| (y - p) * (y - p))
}

pub fn rmse(truth: &[f64], predictions: &[f64], weights: Option<&[f64]>) -> Metric {
    mse(truth, predictions, weights).map(f64::sqrt)
}

/// Mean absolute percentage error as a fraction: `|y - p| / max(|y|, eps)` averaged, with the
/// float64 machine epsilon as scikit-learn uses.
pub fn mape(truth: &[f64], predictions: &[f64], weights: Option<&[f64]>) -> Metric {
    mean_of(truth, predictions, weights, |y, p| {
        (y - p).abs() / y.abs().max(f64::EPSILON)
    })
}

/// R² = 1 - `SS_res` / `SS_tot` around the weighted mean. A constant target is [`Undefined`], with
/// perfect predictions or not: scikit-learn's default `force_finite=True` reports 1.0 or 0.0 there,
/// and `force_finite=False` NaN or -inf (documented in docs/eval.md).
pub fn r2(truth: &[f64], predictions: &[f64], weights: Option<&[f64]>) -> Metric {
    let mean = mean_of(truth, predictions, weights, |y, _| y)?;
    let residual = mean_of(truth, predictions, weights, |y, p| (y - p) * (y - p))?;
    let spread = mean_of(truth, predictions, weights, |y, _| (y - mean) * (y - mean))?;
    if spread == 0.0 {
        return Err(Undefined::ConstantTarget);
    }
    Ok(1.0 - residual / spread)
}

/// The median absolute error; with weights, scikit-learn's averaged weighted median (the midpoint
/// of two values when the cumulative weight lands exactly on half).
pub fn median_ae(truth: &[f64], predictions: &[f64], weights: Option<&[f64]>) -> Metric {
    let mut errors: Vec<(f64, f64)> = truth
        .iter()
        .zip(predictions)
        .enumerate()
        .map(|(i, (y, p))| ((y - p).abs(), weight(weights, i)))
        .collect();
    errors.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = errors.iter().map(|e| e.1).sum();
    if total == 0.0 {
        return Err(Undefined::Empty);
    }
    let half = total / 2.0;
    let mut cumulative = Vec::with_capacity(errors.len());
    let mut running = 0.0;
    for e in &errors {
        running += e.1;
        cumulative.push(running);
    }
    let at = cumulative
        .partition_point(|&c| c < half)
        .min(errors.len() - 1);
    if cumulative[at] - half > f64::EPSILON {
        return Ok(errors[at].0);
    }
    // Exactly on the boundary: average with the next value that carries weight.
    let next = cumulative.partition_point(|&c| c <= cumulative[at]);
    let next = if next < errors.len() { next } else { at };
    Ok(f64::midpoint(errors[at].0, errors[next].0))
}

/// The largest absolute error (scikit-learn takes no weights here).
pub fn max_error(truth: &[f64], predictions: &[f64]) -> Metric {
    truth
        .iter()
        .zip(predictions)
        .map(|(y, p)| (y - p).abs())
        .reduce(f64::max)
        .ok_or(Undefined::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        let y = [3.0, -0.5, 2.0, 7.0];
        let p = [2.5, 0.0, 2.0, 8.0];
        assert_eq!(mae(&y, &p, None), Ok(0.5));
        assert_eq!(mse(&y, &p, None), Ok(0.375));
        assert_eq!(median_ae(&y, &p, None), Ok(0.5));
        assert_eq!(max_error(&y, &p), Ok(1.0));
        assert_eq!(
            r2(&[1.0, 1.0], &[1.0, 2.0], None),
            Err(Undefined::ConstantTarget)
        );
        assert_eq!(
            r2(&[1.0, 1.0], &[1.0, 1.0], None),
            Err(Undefined::ConstantTarget)
        );
    }
}
