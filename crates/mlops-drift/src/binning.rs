//! Histograms as numpy draws them, and the binned shares Evidently compares.
//!
//! Edges follow `numpy.histogram_bin_edges` as numpy 1.26 (what Evidently 0.7 installs) draws
//! them: the range of the data (widened by 0.5 each way when constant), Sturges' bin count
//! `ceil(range / (range / (log2(n) + 1)))`, and `numpy.linspace` for the edges. (numpy 2 also
//! keeps bins of integer data at least 1 wide; Evidently's results come from numpy 1.) Counting
//! follows `numpy.histogram` given explicit edges: `[e_k, e_k+1)`, the last bin closed.

/// Equal-width edges over `[min, max]` of sorted, non-empty `values`: `bins` of them, or
/// Sturges' count when `None`.
///
/// # Panics
/// When `values` is empty.
#[expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "bin counts are small"
)]
pub(crate) fn edges(values: &[f64], bins: Option<usize>) -> Vec<f64> {
    let (lo, hi) = (values[0], values[values.len() - 1]);
    let range = hi - lo;
    let (first, last) = if range == 0.0 {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    };
    let count = if let Some(bins) = bins {
        bins.max(1)
    } else {
        let width = range / ((values.len() as f64).log2() + 1.0);
        if width == 0.0 {
            1
        } else {
            ((last - first) / width).ceil() as usize
        }
    };
    linspace(first, last, count + 1)
}

/// `numpy.linspace(start, stop, num)` (endpoint included, `start < stop`): `k * step + start`,
/// the last exactly `stop`.
#[expect(clippy::cast_precision_loss, reason = "few points")]
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 1 {
        return vec![start];
    }
    let spacing = (stop - start) / (num - 1) as f64;
    let mut points: Vec<f64> = (0..num).map(|k| k as f64 * spacing + start).collect();
    points[num - 1] = stop;
    points
}

/// numpy's `histogram_bin_edges(values, bins="doane")` for float data (NannyML's univariate
/// drift bins): Doane's width `ptp / (1 + log2 n + log2(1 + |g1| / σ_g1))` from the sample
/// skewness `g1`, over `[min, max]` (widened by 0.5 each way when constant), and one bin when the
/// data has fewer than 3 values or no spread.
///
/// # Panics
/// When `values` is empty.
#[expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "bin counts are small"
)]
pub fn doane_edges(values: &[f64]) -> Vec<f64> {
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    #[expect(clippy::float_cmp, reason = "numpy widens exactly constant data")]
    let (first, last) = if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    };
    let n = values.len() as f64;
    let mut width = 0.0;
    if values.len() > 2 {
        let mean = values.iter().sum::<f64>() / n;
        let sigma = (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt();
        if sigma > 0.0 {
            let sg1 = (6.0 * (n - 2.0) / ((n + 1.0) * (n + 3.0))).sqrt();
            let g1 = values
                .iter()
                .map(|v| ((v - mean) / sigma).powi(3))
                .sum::<f64>()
                / n;
            width = (hi - lo) / (1.0 + n.log2() + (1.0 + g1.abs() / sg1).log2());
        }
    }
    let count = if width == 0.0 {
        1
    } else {
        ((last - first) / width).ceil() as usize
    };
    linspace(first, last, count + 1)
}

/// Finds values' bins among equal-width edges as `numpy.histogram` counts them
/// (`[e_k, e_k+1)`, the last bin closed): the arithmetic bin first, then the comparisons with
/// the edges themselves decide, as numpy's search over them does.
#[derive(Debug, Clone, Copy)]
pub struct Binner<'a> {
    edges: &'a [f64],
    per_width: f64,
}

impl<'a> Binner<'a> {
    /// The binner of `edges` (at least two).
    #[expect(clippy::cast_precision_loss, reason = "bin counts are small")]
    pub fn new(edges: &'a [f64]) -> Self {
        let bins = edges.len() - 1;
        Self {
            edges,
            per_width: bins as f64 / (edges[bins] - edges[0]),
        }
    }

    /// The bin of `value`; `None` outside the edges or for NaN.
    // Inlined into the caller's loop over a column: called once per value, across crates.
    #[inline]
    pub fn bin(&self, value: f64) -> Option<usize> {
        let edges = self.edges;
        let last = edges.len() - 1;
        if !(value >= edges[0] && value <= edges[last]) {
            return None;
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a non-negative guess, clamped to the bins"
        )]
        let mut bin = (((value - edges[0]) * self.per_width) as usize).min(last - 1);
        while bin > 0 && value < edges[bin] {
            bin -= 1;
        }
        while bin + 1 < last && value >= edges[bin + 1] {
            bin += 1;
        }
        Some(bin)
    }
}

/// Counts of sorted `values` per bin of `edges`, as `numpy.histogram(values, edges)`: values
/// outside the edges are not counted.
pub(crate) fn counts(values: &[f64], edges: &[f64]) -> Vec<u64> {
    let below = |edge: f64| values.partition_point(|&v| v < edge);
    let mut cumulative: Vec<usize> = edges[..edges.len() - 1].iter().map(|&e| below(e)).collect();
    cumulative.push(values.partition_point(|&v| v <= edges[edges.len() - 1]));
    cumulative
        .windows(2)
        .map(|w| (w[1] - w[0]) as u64)
        .collect()
}

/// Evidently's zero fill for shares that take logarithms (PSI, KL): an empty bin gets 0.0001,
/// or the smallest non-zero share over a million when that share is at most 0.0001.
pub(crate) fn fill_zeros(shares: &mut [f64]) {
    let smallest = shares
        .iter()
        .copied()
        .filter(|&s| s != 0.0)
        .fold(f64::INFINITY, f64::min);
    if !smallest.is_finite() {
        return;
    }
    let fill = if smallest <= 0.0001 {
        smallest / 1e6
    } else {
        0.0001
    };
    for share in shares.iter_mut().filter(|s| **s == 0.0) {
        *share = fill;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sturges_edges_and_closed_last_bin() {
        // numpy.histogram_bin_edges([0, 1, 2, 3, 4, 5, 6, 7], "sturges") has 4 bins.
        let values: Vec<f64> = (0..8).map(f64::from).collect();
        let e = edges(&values, None);
        assert_eq!(e, vec![0.0, 1.75, 3.5, 5.25, 7.0]);
        assert_eq!(counts(&values, &e), vec![2, 2, 2, 2]);
        assert_eq!(counts(&[7.0, 7.0, 9.0], &e), vec![0, 0, 0, 2]);
    }

    #[test]
    fn constant_data_gets_one_bin_around_it() {
        assert_eq!(edges(&[3.0, 3.0], None), vec![2.5, 3.5]);
    }
}
