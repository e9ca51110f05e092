//! The drift tests and distances, each defined as Evidently (or, beneath it, scipy) defines it,
//! and Evidently's rule for choosing one per column.
//!
//! A test works on one column's values on both sides with missing values, NaN and infinities
//! dropped ([`Sides`]). P-value tests report their statistic and p-value and drift when the
//! p-value is low; distances report the distance and drift when it is high. `docs/drift.md`
//! gives each formula.

#![expect(
    clippy::many_single_char_names,
    reason = "the formulas' own names: samples u and v, shares p and q, counts r and c"
)]

use std::fmt;

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

use crate::binning;
use crate::edf;
use crate::ks;

/// One column's values on both sides.
#[derive(Debug, Clone, PartialEq)]
pub enum Sides {
    /// Sorted finite values.
    Numeric {
        reference: Vec<f64>,
        current: Vec<f64>,
    },
    /// Counts per category, the same categories in the same order on both sides: sorted by
    /// label, which decides the sign of the z-test's statistic (not its p-value).
    Categorical {
        reference: Vec<u64>,
        current: Vec<u64>,
    },
}

impl Sides {
    /// Rows on each side.
    pub(crate) fn sizes(&self) -> (usize, usize) {
        match self {
            Sides::Numeric {
                reference, current, ..
            } => (reference.len(), current.len()),
            Sides::Categorical { reference, current } => (total(reference), total(current)),
        }
    }

    /// Counts per distinct value (numbers) or category, aligned over both sides.
    #[expect(clippy::float_cmp, reason = "equal values are the same value")]
    pub(crate) fn value_counts(&self) -> (Vec<u64>, Vec<u64>) {
        match self {
            Sides::Categorical { reference, current } => reference
                .iter()
                .zip(current)
                .filter(|&(&r, &c)| r + c > 0)
                .map(|(&r, &c)| (r, c))
                .unzip(),
            Sides::Numeric {
                reference, current, ..
            } => {
                let (mut r, mut c) = (Vec::new(), Vec::new());
                let (mut i, mut j) = (0, 0);
                while i < reference.len() || j < current.len() {
                    let value = match (reference.get(i), current.get(j)) {
                        (Some(&a), Some(&b)) => a.min(b),
                        (Some(&a), None) | (None, Some(&a)) => a,
                        (None, None) => unreachable!("the loop condition"),
                    };
                    let (start_i, start_j) = (i, j);
                    while i < reference.len() && reference[i] == value {
                        i += 1;
                    }
                    while j < current.len() && current[j] == value {
                        j += 1;
                    }
                    r.push((i - start_i) as u64);
                    c.push((j - start_j) as u64);
                }
                (r, c)
            }
        }
    }

    /// Distinct values (or categories) over both sides together, counted up to `limit + 1`
    /// (enough to tell whether there are more than `limit`).
    pub(crate) fn distinct_up_to(&self, limit: usize) -> usize {
        match self {
            Sides::Categorical { .. } => self.value_counts().0.len(),
            Sides::Numeric { reference, current } => {
                let mut seen: Vec<f64> = Vec::with_capacity(limit + 1);
                for &v in reference.iter().chain(current) {
                    if !seen.contains(&v) {
                        seen.push(v);
                        if seen.len() > limit {
                            break;
                        }
                    }
                }
                seen.len()
            }
        }
    }
}

fn total(counts: &[u64]) -> usize {
    usize::try_from(counts.iter().sum::<u64>()).expect("counts fit usize")
}

/// A drift test or distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Ks,
    ChiSquare,
    ChiSquareContingency,
    ZTest,
    Psi,
    Wasserstein,
    JensenShannon,
    Kl,
    Hellinger,
    Energy,
    CramerVonMises,
    Anderson,
}

/// What a test found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// The test statistic, or the distance.
    pub statistic: f64,
    /// For tests: the p-value.
    pub p_value: Option<f64>,
}

/// Why a test cannot run on a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unfit {
    /// The test needs numbers and the column is categorical.
    NeedsNumbers,
    /// A side has no values.
    Empty,
    /// The test needs more values, or more distinct ones, than the column has.
    TooFew(&'static str),
}

impl fmt::Display for Unfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unfit::NeedsNumbers => f.write_str("needs a numeric column"),
            Unfit::Empty => f.write_str("a side has no values"),
            Unfit::TooFew(what) => f.write_str(what),
        }
    }
}

impl Method {
    pub const ALL: [Method; 12] = [
        Method::Ks,
        Method::ChiSquare,
        Method::ChiSquareContingency,
        Method::ZTest,
        Method::Psi,
        Method::Wasserstein,
        Method::JensenShannon,
        Method::Kl,
        Method::Hellinger,
        Method::Energy,
        Method::CramerVonMises,
        Method::Anderson,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::Ks => "ks",
            Method::ChiSquare => "chisquare",
            Method::ChiSquareContingency => "chisquare_contingency",
            Method::ZTest => "ztest",
            Method::Psi => "psi",
            Method::Wasserstein => "wasserstein",
            Method::JensenShannon => "jensenshannon",
            Method::Kl => "kl",
            Method::Hellinger => "hellinger",
            Method::Energy => "energy",
            Method::CramerVonMises => "cramervonmises",
            Method::Anderson => "anderson",
        }
    }

    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Evidently's default threshold: a significance level for tests (0.1 for Cramér-von Mises
    /// and Anderson-Darling, 0.05 for the others), a distance otherwise.
    pub fn default_threshold(self) -> f64 {
        match self {
            Method::Ks | Method::ChiSquare | Method::ChiSquareContingency | Method::ZTest => 0.05,
            _ => 0.1,
        }
    }

    /// Whether the method is a hypothesis test (with a p-value) rather than a distance.
    pub fn is_test(self) -> bool {
        matches!(
            self,
            Method::Ks
                | Method::ChiSquare
                | Method::ChiSquareContingency
                | Method::ZTest
                | Method::CramerVonMises
                | Method::Anderson
        )
    }

    /// Whether the method needs numbers (the rest also take categories).
    pub fn needs_numbers(self) -> bool {
        matches!(
            self,
            Method::Ks
                | Method::Wasserstein
                | Method::Energy
                | Method::CramerVonMises
                | Method::Anderson
        )
    }

    /// Whether `outcome` is drift at `threshold`, with Evidently's comparisons: `p <= t` for KS
    /// and Cramér-von Mises, `p < t` for the other tests, `d > t` for energy, `d >= t` for the
    /// other distances.
    pub fn drifted(self, outcome: Outcome, threshold: f64) -> bool {
        match (self, outcome.p_value) {
            (Method::Ks | Method::CramerVonMises, Some(p)) => p <= threshold,
            (_, Some(p)) => p < threshold,
            (Method::Energy, None) => outcome.statistic > threshold,
            (_, None) => outcome.statistic >= threshold,
        }
    }

    /// Runs the method on a column. `bins`: equal-width bins for the binned distances (PSI, KL,
    /// Jensen-Shannon, Hellinger) on numeric columns, instead of Sturges' rule.
    ///
    /// # Errors
    /// When the method does not fit the column.
    pub fn run(self, sides: &Sides, bins: Option<usize>) -> Result<Outcome, Unfit> {
        let (n_reference, n_current) = sides.sizes();
        if n_reference == 0 || n_current == 0 {
            return Err(Unfit::Empty);
        }
        let numbers = match sides {
            Sides::Numeric {
                reference, current, ..
            } => Some((reference.as_slice(), current.as_slice())),
            Sides::Categorical { .. } => None,
        };
        if self.needs_numbers() && numbers.is_none() {
            return Err(Unfit::NeedsNumbers);
        }
        let distance = |statistic| Outcome {
            statistic,
            p_value: None,
        };
        Ok(match self {
            Method::Ks => {
                let (reference, current) = numbers.expect("checked above");
                let result = ks::two_sample(reference, current);
                Outcome {
                    statistic: result.statistic,
                    p_value: Some(result.p_value),
                }
            }
            Method::ChiSquare => chi_square_goodness_of_fit(sides),
            Method::ChiSquareContingency => chi_square_contingency(sides),
            Method::ZTest => z_test(sides),
            Method::Psi => {
                let (mut r, mut c) = binned_shares(sides, bins);
                binning::fill_zeros(&mut r);
                binning::fill_zeros(&mut c);
                distance(r.iter().zip(&c).map(|(r, c)| (r - c) * (r / c).ln()).sum())
            }
            Method::Kl => {
                let (mut r, mut c) = binned_shares(sides, bins);
                binning::fill_zeros(&mut r);
                binning::fill_zeros(&mut c);
                distance(relative_entropy(&normalized(&r), &normalized(&c)))
            }
            Method::JensenShannon => {
                let (r, c) = binned_shares(sides, bins);
                distance(jensen_shannon(&r, &c))
            }
            Method::Hellinger => distance(hellinger(sides, bins)),
            Method::Wasserstein => {
                let (reference, current) = numbers.expect("checked above");
                let norm = population_std(reference).max(0.001);
                distance(cdf_distance(reference, current, 1) / norm)
            }
            Method::Energy => {
                let (reference, current) = numbers.expect("checked above");
                distance(std::f64::consts::SQRT_2 * cdf_distance(reference, current, 2))
            }
            Method::CramerVonMises => {
                let (reference, current) = numbers.expect("checked above");
                if reference.len() < 2 || current.len() < 2 {
                    return Err(Unfit::TooFew("needs at least two values on each side"));
                }
                let result = edf::cramer_von_mises(reference, current);
                Outcome {
                    statistic: result.statistic,
                    p_value: Some(result.p_value),
                }
            }
            Method::Anderson => {
                let (reference, current) = numbers.expect("checked above");
                let result = edf::anderson_darling(reference, current)
                    .ok_or(Unfit::TooFew("needs at least two distinct values"))?;
                Outcome {
                    statistic: result.statistic,
                    p_value: Some(result.p_value),
                }
            }
        })
    }
}

/// Evidently's default method for a column: with at most 1,000 reference rows, KS for numbers
/// with more than 5 distinct values, otherwise chi-square (3 or more values) or the z-test (2 or
/// fewer); with more rows, the normed Wasserstein distance for numbers with more than 5 values,
/// otherwise Jensen-Shannon. Distinct values count over both sides together.
pub fn default_method(sides: &Sides) -> Method {
    let numeric = matches!(sides, Sides::Numeric { .. });
    let distinct = sides.distinct_up_to(5);
    let (n_reference, _) = sides.sizes();
    if n_reference <= 1000 {
        if numeric && distinct > 5 {
            Method::Ks
        } else if distinct > 2 {
            Method::ChiSquare
        } else {
            Method::ZTest
        }
    } else if numeric && distinct > 5 {
        Method::Wasserstein
    } else {
        Method::JensenShannon
    }
}

#[expect(clippy::cast_precision_loss, reason = "counts fit an f64")]
fn as_floats(counts: &[u64]) -> Vec<f64> {
    counts.iter().map(|&c| c as f64).collect()
}

/// Evidently's chi-square: current counts against reference counts scaled to the current size,
/// `K - 1` degrees of freedom (scipy's `chisquare`).
fn chi_square_goodness_of_fit(sides: &Sides) -> Outcome {
    let (reference, current) = sides.value_counts();
    let (reference, current) = (as_floats(&reference), as_floats(&current));
    let scale = current.iter().sum::<f64>() / reference.iter().sum::<f64>();
    let statistic: f64 = reference
        .iter()
        .zip(&current)
        .map(|(r, o)| {
            let expected = r * scale;
            (o - expected).powi(2) / expected
        })
        .sum();
    Outcome {
        statistic,
        p_value: Some(chi_square_sf(statistic, reference.len().saturating_sub(1))),
    }
}

/// The chi-square test of the 2 x K contingency table of reference and current counts (scipy's
/// `chi2_contingency`, with Yates' correction when there is one degree of freedom).
fn chi_square_contingency(sides: &Sides) -> Outcome {
    let (reference, current) = sides.value_counts();
    let rows = [as_floats(&reference), as_floats(&current)];
    let row_totals = [rows[0].iter().sum::<f64>(), rows[1].iter().sum::<f64>()];
    let total = row_totals[0] + row_totals[1];
    let degrees = reference.len().saturating_sub(1);
    if degrees == 0 {
        return Outcome {
            statistic: 0.0,
            p_value: Some(1.0),
        };
    }
    let mut statistic = 0.0;
    for k in 0..reference.len() {
        let column_total = rows[0][k] + rows[1][k];
        for (row, row_total) in rows.iter().zip(row_totals) {
            let expected = row_total * column_total / total;
            let mut observed = row[k];
            if degrees == 1 {
                let diff = expected - observed;
                observed += diff.signum() * diff.abs().min(0.5);
            }
            statistic += (observed - expected).powi(2) / expected;
        }
    }
    Outcome {
        statistic,
        p_value: Some(chi_square_sf(statistic, degrees)),
    }
}

#[expect(clippy::cast_precision_loss, reason = "degrees of freedom are small")]
fn chi_square_sf(statistic: f64, degrees: usize) -> f64 {
    if degrees == 0 {
        return 1.0;
    }
    ChiSquared::new(degrees as f64)
        .expect("positive degrees of freedom")
        .sf(statistic)
}

/// Evidently's z-test for two proportions: the share of the first value (in sorted order) on
/// each side, pooled two-sided test, `p = 2 (1 - Phi(|z|))`. Both sides holding the same single
/// value give p = 1.
fn z_test(sides: &Sides) -> Outcome {
    let (reference, current) = sides.value_counts();
    let present = |counts: &[u64]| counts.iter().filter(|&&c| c > 0).count();
    if reference.len() == 1 && present(&reference) == 1 && present(&current) == 1 {
        return Outcome {
            statistic: 0.0,
            p_value: Some(1.0),
        };
    }
    let (r, c) = (as_floats(&reference), as_floats(&current));
    let (n1, n2) = (r.iter().sum::<f64>(), c.iter().sum::<f64>());
    // Evidently counts the rows *not* equal to the first value.
    let (p1, p2) = ((n1 - r[0]) / n1, (n2 - c[0]) / n2);
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let p_value = 2.0 * (1.0 - Normal::standard().cdf(z.abs()));
    Outcome {
        statistic: z,
        p_value: Some(p_value),
    }
}

/// Evidently's binned shares: numbers with more than 20 distinct reference values in equal-width
/// bins over both sides (Sturges' count, or `bins`), anything else by value; each side's counts
/// over its own size.
fn binned_shares(sides: &Sides, bins: Option<usize>) -> (Vec<f64>, Vec<f64>) {
    let (reference, current) = match sides {
        Sides::Numeric { reference, current } if distinct_sorted(reference) > 20 => {
            let combined = merged(reference, current);
            let edges = binning::edges(&combined, bins);
            (
                binning::counts(reference, &edges),
                binning::counts(current, &edges),
            )
        }
        _ => sides.value_counts(),
    };
    (shares(&reference), shares(&current))
}

#[expect(clippy::cast_precision_loss, reason = "counts fit an f64")]
fn shares(counts: &[u64]) -> Vec<f64> {
    let total = counts.iter().sum::<u64>() as f64;
    counts.iter().map(|&c| c as f64 / total).collect()
}

#[expect(clippy::float_cmp, reason = "equal values are the same value")]
fn distinct_sorted(values: &[f64]) -> usize {
    values.windows(2).filter(|w| w[0] != w[1]).count() + usize::from(!values.is_empty())
}

/// Two sorted slices merged into one sorted vector.
fn merged(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if b[j] < a[i] {
            out.push(b[j]);
            j += 1;
        } else {
            out.push(a[i]);
            i += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

fn normalized(values: &[f64]) -> Vec<f64> {
    let total: f64 = values.iter().sum();
    values.iter().map(|v| v / total).collect()
}

/// `Σ x ln(x / y)` (scipy's `rel_entr` summed): 0 where `x` is 0, infinite where only `y` is.
fn relative_entropy(x: &[f64], y: &[f64]) -> f64 {
    x.iter()
        .zip(y)
        .map(|(&x, &y)| match (x > 0.0, y > 0.0) {
            (true, true) => x * (x / y).ln(),
            (false, _) => 0.0,
            (true, false) => f64::INFINITY,
        })
        .sum()
}

/// scipy's `jensenshannon` (natural logarithm): the square root of the mean relative entropy of
/// each distribution to their midpoint. Each side is normalised to sum to 1 first.
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let (p, q) = (normalized(p), normalized(q));
    let midpoint: Vec<f64> = p
        .iter()
        .zip(&q)
        .map(|(&a, &b)| f64::midpoint(a, b))
        .collect();
    f64::midpoint(
        relative_entropy(&p, &midpoint),
        relative_entropy(&q, &midpoint),
    )
    .sqrt()
}

/// Evidently's Hellinger distance `sqrt(1 - Σ sqrt(p q))`: categories by their shares; numbers
/// by density histograms on Sturges edges over the distinct values of both sides (or `bins`
/// equal-width bins), each bin weighted by the mean bin width.
#[expect(clippy::cast_precision_loss, reason = "bin counts are small")]
fn hellinger(sides: &Sides, bins: Option<usize>) -> f64 {
    let affinity: f64 = match sides {
        Sides::Categorical { .. } => {
            let (reference, current) = sides.value_counts();
            shares(&reference)
                .iter()
                .zip(shares(&current))
                .map(|(p, q)| (p * q).sqrt())
                .sum()
        }
        Sides::Numeric { reference, current } => {
            let mut keys = merged(reference, current);
            keys.dedup();
            let edges = binning::edges(&keys, bins);
            let density = |values: &[f64]| -> Vec<f64> {
                let counts = binning::counts(values, &edges);
                let inside = counts.iter().sum::<u64>() as f64;
                counts
                    .iter()
                    .zip(edges.windows(2))
                    .map(|(&c, w)| c as f64 / (w[1] - w[0]) / inside)
                    .collect()
            };
            let width = (edges[edges.len() - 1] - edges[0]) / (edges.len() - 1) as f64;
            density(reference)
                .iter()
                .zip(density(current))
                .map(|(p, q)| (p * q).sqrt() * width)
                .sum()
        }
    };
    (1.0 - affinity.clamp(0.0, 1.0)).sqrt()
}

/// `numpy.std` (population).
#[expect(clippy::cast_precision_loss, reason = "sizes fit an f64")]
fn population_std(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
}

/// scipy's `_cdf_distance`: `(Σ |F_u - F_v|^p · Δx)^(1/p)` over the merged values of two sorted
/// samples; p = 1 is the Wasserstein distance, `sqrt(2)` times p = 2 the energy distance.
#[expect(clippy::cast_precision_loss, reason = "sizes fit an f64")]
fn cdf_distance(u: &[f64], v: &[f64], p: i32) -> f64 {
    let (nu, nv) = (u.len() as f64, v.len() as f64);
    // The two samples are merged as they are walked, not into a third vector: at each next value
    // every value up to the previous one has been taken, so `i` and `j` count them (the CDFs just
    // after it); equal neighbours add nothing, as in scipy.
    let (mut i, mut j) = (0, 0);
    let mut previous: Option<f64> = None;
    let mut sum = 0.0;
    loop {
        let next = match (u.get(i), v.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => break,
        };
        if let Some(previous) = previous {
            let gap = (i as f64 / nu - j as f64 / nv).abs();
            sum += gap.powi(p) * (next - previous);
        }
        if u.get(i) == Some(&next) {
            i += 1;
        } else {
            j += 1;
        }
        previous = Some(next);
    }
    if p == 1 { sum } else { sum.sqrt() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_thresholds_follow_the_kind() {
        for m in Method::ALL {
            assert_eq!(Method::parse(m.name()), Some(m));
        }
        assert!((Method::Ks.default_threshold() - 0.05).abs() < 1e-15);
        assert!((Method::Psi.default_threshold() - 0.1).abs() < 1e-15);
    }

    #[test]
    fn numeric_value_counts_align_both_sides() {
        let sides = Sides::Numeric {
            reference: vec![1.0, 1.0, 2.0],
            current: vec![2.0, 3.0],
        };
        assert_eq!(sides.value_counts(), (vec![2, 1, 0], vec![0, 1, 1]));
        assert_eq!(default_method(&sides), Method::ChiSquare);
    }
}
