//! The statistics behind confidence intervals and error analysis: Wilson score intervals for
//! proportions, the two-sided two-proportion z-test, Welch's t-test and the Student t interval of
//! a mean, and Benjamini-Hochberg adjustment.
//!
//! Each matches scipy (checked by `scripts/golden/eval_stats.py`): `binomtest(...).proportion_ci(
//! method="wilson")`, `chi2_contingency(..., correction=False)` (whose p-value equals the pooled
//! z-test's), `ttest_ind(..., equal_var=False)`, `t.interval(..., loc=mean, scale=sem)` and
//! `false_discovery_control(method="bh")`.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

fn standard_normal() -> Normal {
    Normal::standard()
}

/// The Wilson score interval for `successes` out of `trials` at `confidence` (say 0.95); `None`
/// without trials.
pub fn wilson_interval(successes: f64, trials: f64, confidence: f64) -> Option<(f64, f64)> {
    if trials <= 0.0 {
        return None;
    }
    let z = standard_normal().inverse_cdf(1.0 - (1.0 - confidence) / 2.0);
    let p = successes / trials;
    let z2 = z * z;
    let denominator = 1.0 + z2 / trials;
    let center = (p + z2 / (2.0 * trials)) / denominator;
    let half = z / denominator * (p * (1.0 - p) / trials + z2 / (4.0 * trials * trials)).sqrt();
    // At 0 or all successes the bound is exactly 0 or 1; say so rather than leave rounding dust.
    let low = if successes <= 0.0 {
        0.0
    } else {
        (center - half).max(0.0)
    };
    let high = if successes >= trials {
        1.0
    } else {
        (center + half).min(1.0)
    };
    Some((low, high))
}

/// The two-sided p-value of the pooled z-test that two proportions are equal; `None` when a side
/// is empty or the pooled proportion is 0 or 1 (no variance to test against).
pub fn two_proportion_p_value(
    successes_a: f64,
    trials_a: f64,
    successes_b: f64,
    trials_b: f64,
) -> Option<f64> {
    if trials_a <= 0.0 || trials_b <= 0.0 {
        return None;
    }
    let pooled = (successes_a + successes_b) / (trials_a + trials_b);
    let variance = pooled * (1.0 - pooled) * (1.0 / trials_a + 1.0 / trials_b);
    if variance <= 0.0 {
        return None;
    }
    let z = (successes_a / trials_a - successes_b / trials_b) / variance.sqrt();
    Some(2.0 * standard_normal().sf(z.abs()))
}

/// Count, sum and sum of squares of values shifted by a constant near their mean (the shifted-data
/// algorithm: sums of `x - shift` keep the variance's precision where sums of `x` would cancel),
/// so that the rest of the data's moments are the whole data's minus a slice's.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Moments {
    pub(crate) n: f64,
    pub(crate) sum: f64,
    pub(crate) sum_sq: f64,
}

impl Moments {
    /// `successes` ones among `trials` 0/1 values.
    #[expect(clippy::cast_precision_loss, reason = "row counts fit an f64 exactly")]
    pub(crate) fn of_counts(trials: usize, successes: usize) -> Self {
        Self {
            n: trials as f64,
            sum: successes as f64,
            sum_sq: successes as f64,
        }
    }

    pub(crate) fn add(&mut self, shifted: f64) {
        self.n += 1.0;
        self.sum += shifted;
        self.sum_sq += shifted * shifted;
    }

    /// The moments of the values in `self` but not in `part`.
    #[must_use]
    pub(crate) fn minus(&self, part: &Moments) -> Moments {
        Moments {
            n: self.n - part.n,
            sum: self.sum - part.sum,
            sum_sq: self.sum_sq - part.sum_sq,
        }
    }

    /// The mean of the shifted values; `None` without values.
    pub(crate) fn mean(&self) -> Option<f64> {
        (self.n > 0.0).then(|| self.sum / self.n)
    }

    /// The sample variance (n - 1 in the denominator); `None` with fewer than two values.
    pub(crate) fn variance(&self) -> Option<f64> {
        (self.n >= 2.0)
            .then(|| ((self.sum_sq - self.sum * self.sum / self.n) / (self.n - 1.0)).max(0.0))
    }
}

/// The two-sided p-value of Welch's t-test that two means are equal (scipy's `ttest_ind(a, b,
/// equal_var=False)`); `None` with fewer than two values on a side or no variance on either.
pub(crate) fn welch_p_value(a: &Moments, b: &Moments) -> Option<f64> {
    let (va, vb) = (a.variance()? / a.n, b.variance()? / b.n);
    let se2 = va + vb;
    if se2 <= 0.0 || !se2.is_finite() {
        return None;
    }
    let t = (a.mean()? - b.mean()?) / se2.sqrt();
    let df = se2 * se2 / (va * va / (a.n - 1.0) + vb * vb / (b.n - 1.0));
    // 2 * sf(|t|) as the regularized incomplete beta function, which keeps tiny p-values exact
    // where 1 - cdf would round them to 0.
    Some(statrs::function::beta::beta_reg(
        df / 2.0,
        0.5,
        df / (df + t * t),
    ))
}

/// The Student t interval of the mean of the values in `m` at `confidence` (scipy's
/// `t.interval(confidence, n - 1, loc=mean, scale=sem)`), in the shifted values' terms; `None`
/// with fewer than two values.
pub(crate) fn t_interval(m: &Moments, confidence: f64) -> Option<(f64, f64)> {
    let (mean, variance) = (m.mean()?, m.variance()?);
    let t = StudentsT::new(0.0, 1.0, m.n - 1.0).ok()?;
    let half = t.inverse_cdf(1.0 - (1.0 - confidence) / 2.0) * (variance / m.n).sqrt();
    Some((mean - half, mean + half))
}

/// Benjamini-Hochberg adjusted p-values (q-values), in the order given.
pub fn benjamini_hochberg(p_values: &[f64]) -> Vec<f64> {
    let n = p_values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![0.0; n];
    let mut running_min = 1.0_f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        #[expect(clippy::cast_precision_loss, reason = "counts of tests are small")]
        let scaled = p_values[i] * n as f64 / (rank + 1) as f64;
        running_min = running_min.min(scaled);
        adjusted[i] = running_min;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        let (lo, hi) = wilson_interval(8.0, 10.0, 0.95).expect("an interval");
        assert!(
            (lo - 0.490_162_4).abs() < 1e-6 && (hi - 0.943_317_8).abs() < 1e-6,
            "{lo} {hi}"
        );
        assert_eq!(
            benjamini_hochberg(&[0.01, 0.04, 0.03]),
            vec![0.03, 0.04, 0.04]
        );
        assert!(
            two_proportion_p_value(5.0, 10.0, 5.0, 10.0).is_some_and(|p| (p - 1.0).abs() < 1e-12)
        );
        assert_eq!(two_proportion_p_value(0.0, 10.0, 0.0, 5.0), None);
    }
}
