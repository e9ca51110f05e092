//! Multivariate drift by PCA reconstruction error, as NannyML 0.13.1's
//! `DataReconstructionDriftCalculator` computes it.
//!
//! Fit on the reference: missing numbers take the column's mean, missing categories its most
//! frequent value (the smallest of tied ones); a category becomes its share of the reference
//! rows (an unseen one 0); every column is standardised (population standard deviation, 1 when
//! constant); PCA keeps the fewest components whose explained variance exceeds 65%. A row's
//! error is the Euclidean distance between it and its projection back from those components; a
//! window's value is the mean error, its sampling error the errors' standard deviation (ddof 1)
//! over √rows. The band is the reference windows' mean ± 3 sd, its lower side dropped when at
//! or below 0; a value on or outside the band, or NaN, alerts.
//!
//! The eigendecomposition is a cyclic Jacobi one, exact to rounding like LAPACK's `syevd` that
//! scikit-learn calls: an iterative solver can pick other components where eigenvalues nearly
//! tie at the cut.

use std::collections::HashMap;

use crate::band::{Band, Limit, SPREAD};
use crate::input::View;

/// Rows encoded at a time when measuring a window.
const ENCODED_ROWS: usize = 8192;

/// The share of variance the kept components must exceed.
pub const VARIANCE_KEPT: f64 = 0.65;

/// How one column is turned into a number before scaling.
#[derive(Debug, Clone)]
enum Encoding {
    /// The reference mean fills a missing value.
    Number { fill: f64 },
    /// Each category's reference share, by name; the most frequent fills a missing value.
    Category {
        shares: HashMap<String, f64>,
        fill: f64,
    },
}

/// One window's reconstruction error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Error {
    /// The mean error of the window's rows; NaN without rows.
    pub value: f64,
    /// Standard deviation (ddof 1) over √rows; NaN with fewer than 2 rows.
    pub sampling_error: f64,
    pub lower: f64,
    pub upper: f64,
    pub alert: bool,
}

/// A fitted reconstruction.
#[derive(Debug, Clone)]
pub struct Reconstruction {
    encodings: Vec<Encoding>,
    means: Vec<f64>,
    scales: Vec<f64>,
    /// The column means of the standardised reference (≈ 0; kept as PCA keeps them).
    centre: Vec<f64>,
    /// Kept components, each a unit vector of `means.len()` values.
    components: Vec<Vec<f64>>,
    explained: Vec<f64>,
    band: Band,
}

impl Reconstruction {
    /// Fits on the reference `features` (equal lengths, at least 2 rows), and sets the band
    /// from the reference `windows`.
    ///
    /// # Panics
    /// Without features or with fewer than 2 rows.
    pub fn fit(features: &[View<'_>], windows: &[Vec<usize>]) -> Self {
        let encodings: Vec<Encoding> = features.iter().map(encoding).collect();
        let rows = features[0].len();
        let d = features.len();
        let encoded = encode(features, &encodings);
        #[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^52")]
        let n = rows as f64;
        let mut means = vec![0.0; d];
        for row in encoded.chunks_exact(d) {
            for (m, v) in means.iter_mut().zip(row) {
                *m += v;
            }
        }
        for m in &mut means {
            *m /= n;
        }
        let mut scales = vec![0.0; d];
        for row in encoded.chunks_exact(d) {
            for ((s, v), m) in scales.iter_mut().zip(row).zip(&means) {
                *s += (v - m) * (v - m);
            }
        }
        for s in &mut scales {
            *s = (*s / n).sqrt();
            if *s == 0.0 {
                *s = 1.0;
            }
        }
        let standardised: Vec<f64> = encoded
            .chunks_exact(d)
            .flat_map(|row| {
                row.iter()
                    .zip(&means)
                    .zip(&scales)
                    .map(|((v, m), s)| (v - m) / s)
            })
            .collect();
        let mut centre = vec![0.0; d];
        for row in standardised.chunks_exact(d) {
            for (c, v) in centre.iter_mut().zip(row) {
                *c += v;
            }
        }
        for c in &mut centre {
            *c /= n;
        }
        let mut covariance = vec![0.0; d * d];
        for row in standardised.chunks_exact(d) {
            for i in 0..d {
                let a = row[i] - centre[i];
                for j in i..d {
                    covariance[i * d + j] += a * (row[j] - centre[j]);
                }
            }
        }
        for i in 0..d {
            for j in i..d {
                covariance[i * d + j] /= n - 1.0;
                covariance[j * d + i] = covariance[i * d + j];
            }
        }
        let (values, vectors) = symmetric_eigen(&covariance, d);
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        let values: Vec<f64> = order.iter().map(|&i| values[i].max(0.0)).collect();
        let total: f64 = values.iter().sum();
        let mut cumulative = 0.0;
        let mut kept = d;
        for (k, v) in values.iter().enumerate() {
            cumulative += v / total;
            if cumulative > VARIANCE_KEPT {
                kept = k + 1;
                break;
            }
        }
        let components = order[..kept]
            .iter()
            .map(|&i| (0..d).map(|r| vectors[r * d + i]).collect())
            .collect();
        let mut fitted = Self {
            encodings,
            means,
            scales,
            centre,
            components,
            explained: values[..kept].iter().map(|v| v / total).collect(),
            band: Band::default(),
        };
        let reference: Vec<f64> = windows
            .iter()
            .map(|w| fitted.error(features, w).value)
            .collect();
        fitted.band = Band::of(&reference, Limit::Drop(0.0), Limit::None, true);
        fitted
    }

    /// How many components PCA keeps.
    pub fn components(&self) -> usize {
        self.components.len()
    }

    /// The share of the variance each kept component explains.
    pub fn explained_variance(&self) -> &[f64] {
        &self.explained
    }

    pub fn band(&self) -> Band {
        self.band
    }

    /// The reconstruction error of the rows `window` of `features` (the reference's columns,
    /// in its order).
    pub fn error(&self, features: &[View<'_>], window: &[usize]) -> Error {
        let kept = self.components.len();
        let mut errors = Vec::with_capacity(window.len());
        // A block of rows at a time, column by column (each step a loop over the block's rows,
        // which vectorises); a row's sums are taken in the same order as one row at a time.
        for block in window.chunks(ENCODED_ROWS) {
            let rows = block.len();
            let mut z = encode_columns(features, &self.encodings, block);
            for (j, column) in z.chunks_exact_mut(rows).enumerate() {
                let (mean, scale, centre) = (self.means[j], self.scales[j], self.centre[j]);
                for v in column {
                    *v = (*v - mean) / scale - centre;
                }
            }
            let mut projection = vec![0.0; kept * rows];
            for (p, component) in projection.chunks_exact_mut(rows).zip(&self.components) {
                for (c, column) in component.iter().zip(z.chunks_exact(rows)) {
                    for (p, v) in p.iter_mut().zip(column) {
                        *p += c * v;
                    }
                }
            }
            let mut squared = vec![0.0; rows];
            let mut back = vec![0.0; rows];
            for (j, column) in z.chunks_exact(rows).enumerate() {
                back.fill(0.0);
                for (p, component) in projection.chunks_exact(rows).zip(&self.components) {
                    let c = component[j];
                    for (acc, p) in back.iter_mut().zip(p) {
                        *acc += p * c;
                    }
                }
                for ((sq, v), back) in squared.iter_mut().zip(column).zip(&back) {
                    let diff = v - back;
                    *sq += diff * diff;
                }
            }
            errors.extend(squared.iter().map(|s| s.sqrt()));
        }
        #[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^52")]
        let n = errors.len() as f64;
        let value = if errors.is_empty() {
            f64::NAN
        } else {
            errors.iter().sum::<f64>() / n
        };
        let sampling_error = if errors.len() < 2 {
            f64::NAN
        } else {
            let var = errors
                .iter()
                .map(|e| (e - value) * (e - value))
                .sum::<f64>()
                / (n - 1.0);
            var.sqrt() / n.sqrt()
        };
        let lower = self.band.lower.unwrap_or(f64::NEG_INFINITY);
        let upper = self.band.upper.unwrap_or(f64::INFINITY);
        Error {
            value,
            sampling_error,
            lower: (value - SPREAD * sampling_error).max(0.0),
            upper: value + SPREAD * sampling_error,
            alert: !(lower < value && value < upper),
        }
    }
}

/// A column's encoding from the reference: the mean, or the category shares and mode.
fn encoding(feature: &View<'_>) -> Encoding {
    match feature {
        View::Numbers(values) => {
            let kept: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
            #[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^52")]
            let fill = kept.iter().sum::<f64>() / kept.len() as f64;
            Encoding::Number { fill }
        }
        View::Categories { labels, codes } => {
            let mut counts = vec![0_usize; labels.len()];
            for code in codes.iter().flatten() {
                counts[*code as usize] += 1;
            }
            // The most frequent category, the smallest name among ties (scikit-learn's
            // `SimpleImputer(strategy="most_frequent")`); missing values then count as it.
            let mode = (0..labels.len())
                .filter(|&i| counts[i] > 0)
                .max_by(|&a, &b| counts[a].cmp(&counts[b]).then(labels[b].cmp(&labels[a])));
            let missing = codes.iter().filter(|c| c.is_none()).count();
            if let Some(mode) = mode {
                counts[mode] += missing;
            }
            #[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^52")]
            let n = codes.len() as f64;
            #[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^52")]
            let shares: HashMap<String, f64> = labels
                .iter()
                .zip(&counts)
                .filter(|(_, c)| **c > 0)
                .map(|(l, &c)| (l.clone(), c as f64 / n))
                .collect();
            let fill = mode.map_or(0.0, |m| shares[&labels[m]]);
            Encoding::Category { shares, fill }
        }
    }
}

/// Every row as numbers, row-major (for the reference's covariance).
fn encode(features: &[View<'_>], encodings: &[Encoding]) -> Vec<f64> {
    let rows: Vec<usize> = (0..features[0].len()).collect();
    let d = features.len();
    let mut out = vec![0.0; rows.len() * d];
    for (j, (feature, encoding)) in features.iter().zip(encodings).enumerate() {
        match (feature, encoding) {
            (View::Numbers(values), Encoding::Number { fill }) => {
                for (i, &r) in rows.iter().enumerate() {
                    let v = values[r];
                    out[i * d + j] = if v.is_nan() { *fill } else { v };
                }
            }
            (View::Categories { labels, codes }, Encoding::Category { shares, fill }) => {
                let by_code = shares_by_code(labels, shares);
                for (i, &r) in rows.iter().enumerate() {
                    out[i * d + j] = codes[r].map_or(*fill, |c| by_code[c as usize]);
                }
            }
            _ => unreachable!("a window's columns have the reference's kinds"),
        }
    }
    out
}

/// The rows `block` as numbers, column-major: column `j` at `j * block.len()`.
fn encode_columns(features: &[View<'_>], encodings: &[Encoding], block: &[usize]) -> Vec<f64> {
    let b = block.len();
    let mut out = vec![0.0; b * features.len()];
    for ((feature, encoding), column) in features.iter().zip(encodings).zip(out.chunks_exact_mut(b))
    {
        match (feature, encoding) {
            (View::Numbers(values), Encoding::Number { fill }) => {
                for (o, &r) in column.iter_mut().zip(block) {
                    let v = values[r];
                    *o = if v.is_nan() { *fill } else { v };
                }
            }
            (View::Categories { labels, codes }, Encoding::Category { shares, fill }) => {
                let by_code = shares_by_code(labels, shares);
                for (o, &r) in column.iter_mut().zip(block) {
                    *o = codes[r].map_or(*fill, |c| by_code[c as usize]);
                }
            }
            _ => unreachable!("a window's columns have the reference's kinds"),
        }
    }
    out
}

/// Each label's reference share (0 for one the reference lacks), by code.
fn shares_by_code(labels: &[String], shares: &HashMap<String, f64>) -> Vec<f64> {
    labels
        .iter()
        .map(|l| shares.get(l).copied().unwrap_or(0.0))
        .collect()
}

/// Eigenvalues and eigenvectors (columns of the row-major result) of the symmetric `d × d`
/// matrix `a`, by cyclic Jacobi rotations until the off-diagonal part vanishes.
#[expect(
    clippy::many_single_char_names,
    reason = "the textbook's names (Golub & Van Loan 8.5)"
)]
fn symmetric_eigen(a: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j] * a[i * d + j])
            .sum();
        let scale: f64 = (0..d).map(|i| a[i * d + i] * a[i * d + i]).sum();
        if off <= f64::EPSILON * f64::EPSILON * scale || off == 0.0 {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let akp = a[k * d + p];
                    let akq = a[k * d + q];
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let apk = a[p * d + k];
                    let aqk = a[q * d + k];
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let vkp = v[k * d + p];
                    let vkq = v[k * d + q];
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_diagonalises_a_symmetric_matrix() {
        let a = [4.0, 1.0, 2.0, 1.0, 3.0, 0.5, 2.0, 0.5, 5.0];
        let (values, vectors) = symmetric_eigen(&a, 3);
        for k in 0..3 {
            for i in 0..3 {
                let av: f64 = (0..3).map(|j| a[i * 3 + j] * vectors[j * 3 + k]).sum();
                assert!((av - values[k] * vectors[i * 3 + k]).abs() < 1e-12);
            }
        }
        let trace: f64 = values.iter().sum();
        assert!((trace - 12.0).abs() < 1e-12);
    }
}
