//! Score calibration as NannyML 0.13.1's CBPE does it: an isotonic regression of the labels on
//! the scores (scikit-learn's `IsotonicRegression(out_of_bounds="clip")`), fitted only when a
//! check says it helps.
//!
//! The check (`nannyml/calibration.py`, `needs_calibration`) splits the reference ten times with
//! scikit-learn's `StratifiedShuffleSplit(n_splits=10, test_size=0.1, random_state=42)`, fits a
//! calibrator on each train part, pools the ten test parts and compares the expected calibration
//! error (10 equal-count bins) of the raw and the calibrated scores. Which rows land in which
//! part depends on numpy's legacy `RandomState` stream, so [`LegacyRng`] reproduces it bit for
//! bit: MT19937 seeded with `init_genrand`, and the legacy bounded-integer and shuffle
//! algorithms. The whole draw order is kept; a different one splits differently and can flip
//! the decision on data where calibration barely helps.

use rayon::prelude::*;

/// numpy's legacy `RandomState(seed)`: MT19937, with only the draws a stratified split makes.
pub(crate) struct LegacyRng {
    state: [u32; 624],
    index: usize,
}

impl LegacyRng {
    /// `RandomState(seed)` for a seed below 2^32: MT19937's `init_genrand`.
    pub(crate) fn new(seed: u32) -> Self {
        let mut state = [0_u32; 624];
        state[0] = seed;
        for i in 1..624 {
            let previous = state[i - 1];
            state[i] = 1_812_433_253_u32
                .wrapping_mul(previous ^ (previous >> 30))
                .wrapping_add(u32::try_from(i).expect("i < 624"));
        }
        Self { state, index: 624 }
    }

    fn next_u32(&mut self) -> u32 {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX: u32 = 0x9908_b0df;
        if self.index >= 624 {
            for i in 0..624 {
                let y = (self.state[i] & UPPER) | (self.state[(i + 1) % 624] & LOWER);
                let mut next = self.state[(i + 397) % 624] ^ (y >> 1);
                if y & 1 == 1 {
                    next ^= MATRIX;
                }
                self.state[i] = next;
            }
            self.index = 0;
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// numpy's `random_interval(max)`: a uniform integer in `0..=max` by masked rejection.
    fn interval(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16] {
            mask |= mask >> shift;
        }
        loop {
            let value = self.next_u32() & mask;
            if value <= max {
                return value;
            }
        }
    }

    /// The legacy `shuffle` of a one-dimensional array: Fisher-Yates from the end.
    pub(crate) fn shuffle<T>(&mut self, values: &mut [T]) {
        for i in (1..values.len()).rev() {
            let j = self.interval(u32::try_from(i).expect("fewer than 2^32 rows")) as usize;
            values.swap(i, j);
        }
    }

    /// `permutation(n)`: `0..n` shuffled.
    pub(crate) fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut values: Vec<usize> = (0..n).collect();
        self.shuffle(&mut values);
        values
    }
}

/// scikit-learn's `_approximate_mode`: how many of `draws` each class gets, in proportion to
/// `counts`, the remainders handed out largest first with ties broken at random.
#[expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "row counts are far below 2^52"
)]
fn approximate_mode(counts: &[usize], draws: usize, rng: &mut LegacyRng) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    let continuous: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / total as f64 * draws as f64)
        .collect();
    let mut floored: Vec<f64> = continuous.iter().map(|c| c.floor()).collect();
    let mut need = (draws as f64 - floored.iter().sum::<f64>()) as usize;
    if need > 0 {
        let remainder: Vec<f64> = continuous
            .iter()
            .zip(&floored)
            .map(|(c, f)| c - f)
            .collect();
        let mut values = remainder.clone();
        values.sort_by(|a, b| b.total_cmp(a));
        values.dedup();
        for value in values {
            #[expect(
                clippy::float_cmp,
                reason = "numpy's `remainder == value` over the distinct values"
            )]
            let at: Vec<usize> = (0..remainder.len())
                .filter(|&i| remainder[i] == value)
                .collect();
            let now = at.len().min(need);
            for &pick in &rng.permutation(at.len())[..now] {
                floored[at[pick]] += 1.0;
            }
            need -= now;
            if need == 0 {
                break;
            }
        }
    }
    floored.iter().map(|&f| f as usize).collect()
}

/// The ten (train, test) splits of `StratifiedShuffleSplit(10, test_size=0.1, random_state=42)`
/// over binary labels, as row indices in scikit-learn's order.
#[expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "row counts are far below 2^52"
)]
fn stratified_splits(labels: &[bool]) -> Vec<(Vec<usize>, Vec<usize>)> {
    let n = labels.len();
    let test = (0.1 * n as f64).ceil() as usize;
    let train = n - test;
    // Classes in sorted order (false, then true), each class's rows in ascending order, as
    // `argsort(y_indices, kind="mergesort")` lists them.
    let by_class: Vec<Vec<usize>> = [false, true]
        .iter()
        .map(|&class| (0..n).filter(|&i| labels[i] == class).collect())
        .filter(|rows: &Vec<usize>| !rows.is_empty())
        .collect();
    let counts: Vec<usize> = by_class.iter().map(Vec::len).collect();
    let mut rng = LegacyRng::new(42);
    (0..10)
        .map(|_| {
            let train_counts = approximate_mode(&counts, train, &mut rng);
            let left: Vec<usize> = counts
                .iter()
                .zip(&train_counts)
                .map(|(c, t)| c - t)
                .collect();
            let test_counts = approximate_mode(&left, test, &mut rng);
            let (mut train_rows, mut test_rows) = (Vec::new(), Vec::new());
            for (class, rows) in by_class.iter().enumerate() {
                let order = rng.permutation(rows.len());
                let (a, b) = (train_counts[class], test_counts[class]);
                train_rows.extend(order[..a].iter().map(|&i| rows[i]));
                test_rows.extend(order[a..a + b].iter().map(|&i| rows[i]));
            }
            rng.shuffle(&mut train_rows);
            rng.shuffle(&mut test_rows);
            (train_rows, test_rows)
        })
        .collect()
}

/// A fitted isotonic regression: increasing, linear between its points, clipped outside them.
#[derive(Debug, Clone, PartialEq)]
pub struct Isotonic {
    x: Vec<f64>,
    y: Vec<f64>,
}

impl Isotonic {
    /// Fits labels (0 or 1) on scores (probabilities, in [0, 1]), as scikit-learn's
    /// `IsotonicRegression.fit` does: points sorted by score (then label), scores closer than
    /// 1e-15 merged into their mean label, pool-adjacent-violators, and interior points equal to
    /// both neighbours dropped.
    ///
    /// # Panics
    /// With no rows.
    pub fn fit(scores: &[f64], labels: &[bool]) -> Self {
        let order = sorted_points(scores, labels);
        Self::fit_sorted(order.iter().map(|&i| (scores[i], labels[i])))
    }

    /// [`Isotonic::fit`] on points already sorted by score, then label.
    ///
    /// # Panics
    /// With no points.
    fn fit_sorted(points: impl Iterator<Item = (f64, bool)>) -> Self {
        let mut points = points.peekable();
        let (mut x, mut y, mut w) = (Vec::new(), Vec::new(), Vec::new());
        let mut current = points.peek().expect("at least one point").0;
        let (mut sum, mut weight) = (0.0, 0.0);
        for (xi, label) in points {
            let yi = f64::from(u8::from(label));
            if xi >= current + 1e-15 {
                x.push(current);
                y.push(sum / weight);
                w.push(weight);
                current = xi;
                sum = yi;
                weight = 1.0;
            } else {
                sum += yi;
                weight += 1.0;
            }
        }
        x.push(current);
        y.push(sum / weight);
        w.push(weight);
        pool_adjacent_violators(&mut y, &mut w);
        #[expect(
            clippy::float_cmp,
            reason = "scikit-learn drops points equal to both neighbours"
        )]
        let keep: Vec<bool> = (0..y.len())
            .map(|i| i == 0 || i + 1 == y.len() || y[i] != y[i - 1] || y[i] != y[i + 1])
            .collect();
        let pick = |v: &[f64]| {
            v.iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(v, _)| *v)
                .collect()
        };
        Self {
            x: pick(&x),
            y: pick(&y),
        }
    }

    /// The calibrated value of a score: scipy's linear `interp1d` over the fitted points, the
    /// score first clipped to their range.
    pub fn predict(&self, score: f64) -> f64 {
        if self.x.len() == 1 {
            return self.y[0];
        }
        let t = score.clamp(self.x[0], self.x[self.x.len() - 1]);
        let i = self
            .x
            .partition_point(|&x| x < t)
            .clamp(1, self.x.len() - 1);
        let (x0, x1, y0, y1) = (self.x[i - 1], self.x[i], self.y[i - 1], self.y[i]);
        (y1 - y0) / (x1 - x0) * (t - x0) + y0
    }
}

/// The rows in the order scikit-learn's `lexsort((y, x))` puts them: by score, then label.
/// Rows equal in both are interchangeable, so an unstable sort is exact.
fn sorted_points(scores: &[f64], labels: &[bool]) -> Vec<usize> {
    let mut keyed: Vec<(u64, usize)> = scores
        .iter()
        .zip(labels)
        .enumerate()
        // A score in [0, 1] orders as its bits (+ 0.0 makes -0.0 the same as 0.0); the top
        // bit, always 0, makes room for the label.
        .map(|(i, (&s, &l))| (((s + 0.0).to_bits() << 1) | u64::from(l), i))
        .collect();
    keyed.sort_unstable_by_key(|&(k, _)| k);
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// scikit-learn's `_inplace_contiguous_isotonic_regression`: the non-decreasing fit of `y`
/// weighted by `w`, in place, in the same order of operations.
#[expect(
    clippy::many_single_char_names,
    reason = "scikit-learn's names, to compare line by line"
)]
fn pool_adjacent_violators(y: &mut [f64], w: &mut [f64]) {
    let n = y.len();
    let mut target: Vec<usize> = (0..n).collect();
    let mut i = 0;
    while i < n {
        let mut k = target[i] + 1;
        if k == n {
            break;
        }
        if y[i] < y[k] {
            i = k;
            continue;
        }
        let mut sum_wy = w[i] * y[i];
        let mut sum_w = w[i];
        loop {
            let previous = y[k];
            sum_wy += w[k] * y[k];
            sum_w += w[k];
            k = target[k] + 1;
            if k == n || previous < y[k] {
                y[i] = sum_wy / sum_w;
                w[i] = sum_w;
                target[i] = k - 1;
                target[k - 1] = i;
                if i > 0 {
                    i = target[i - 1];
                }
                break;
            }
        }
    }
    let mut i = 0;
    while i < n {
        let k = target[i] + 1;
        let value = y[i];
        y[i + 1..k].fill(value);
        i = k;
    }
}

/// NannyML's expected calibration error: rows sorted by probability into 10 bins of equal
/// count (the last takes the rest), each bin's |mean probability − positive rate| weighted by
/// its share of rows. The sort is stable (numpy's is not: ties may order differently there).
#[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^52")]
fn calibration_error(labels: &[bool], probabilities: &[f64]) -> f64 {
    let n = probabilities.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b]));
    let width = n / 10;
    let mut edges: Vec<usize> = (0..=n).step_by(width.max(1)).collect();
    *edges.last_mut().expect("at least the 0 edge") = n;
    edges
        .windows(2)
        .filter(|e| e[1] > e[0])
        .map(|e| {
            let rows = &order[e[0]..e[1]];
            let count = rows.len() as f64;
            let mean_p = rows.iter().map(|&r| probabilities[r]).sum::<f64>() / count;
            let mean_y = rows.iter().filter(|&&r| labels[r]).count() as f64 / count;
            count / n as f64 * (mean_p - mean_y).abs()
        })
        .sum()
}

/// Whether calibrating the scores lowers the pooled expected calibration error of ten
/// stratified 90/10 splits (strictly). Never with one class, nor when the scores already rank
/// almost perfectly (ROC AUC above 0.999), as NannyML decides. `labels` and `scores` are in the
/// reference's own row order, which the splits depend on.
pub fn needs_calibration(labels: &[bool], scores: &[f64]) -> bool {
    let positives = labels.iter().filter(|&&l| l).count();
    if positives == 0 || positives == labels.len() {
        return false;
    }
    if mlops_eval::metrics::binary::roc_auc(labels, scores, None).is_ok_and(|auc| auc > 0.999) {
        return false;
    }
    let (mut pooled_labels, mut raw, mut calibrated) = (Vec::new(), Vec::new(), Vec::new());
    // The splits come from one random stream, in order; their calibrators are independent,
    // each fitted on its train rows taken in the order of the whole reference sorted once.
    let splits = stratified_splits(labels);
    let order = sorted_points(scores, labels);
    let fitted: Vec<Isotonic> = splits
        .par_iter()
        .map(|(train, _)| {
            let mut in_train = vec![false; scores.len()];
            for &i in train {
                in_train[i] = true;
            }
            Isotonic::fit_sorted(
                order
                    .iter()
                    .filter(|&&i| in_train[i])
                    .map(|&i| (scores[i], labels[i])),
            )
        })
        .collect();
    for ((_, test), calibrator) in splits.iter().zip(&fitted) {
        for &i in test {
            pooled_labels.push(labels[i]);
            raw.push(scores[i]);
            calibrated.push(calibrator.predict(scores[i]));
        }
    }
    calibration_error(&pooled_labels, &raw) > calibration_error(&pooled_labels, &calibrated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_matches_numpys_first_draws_for_seed_42() {
        // np.random.RandomState(42).randint(0, 2**32, size=3, dtype=np.uint64) draws whole
        // words: 1608637542, 3421126067, 4083286876.
        let mut rng = LegacyRng::new(42);
        let words: Vec<u32> = (0..3).map(|_| rng.next_u32()).collect();
        assert_eq!(words, [1_608_637_542, 3_421_126_067, 4_083_286_876]);
    }

    #[test]
    fn legacy_permutation_matches_numpy() {
        // np.random.RandomState(42).permutation(10)
        let mut rng = LegacyRng::new(42);
        assert_eq!(rng.permutation(10), [8, 1, 5, 0, 7, 2, 9, 4, 3, 6]);
    }

    #[test]
    fn isotonic_pools_violators_and_interpolates() {
        let fit = Isotonic::fit(&[0.1, 0.2, 0.3, 0.4], &[false, true, false, true]);
        // PAVA pools 0.2 and 0.3 into 0.5.
        assert_eq!(fit.x, [0.1, 0.2, 0.3, 0.4]);
        assert_eq!(fit.y, [0.0, 0.5, 0.5, 1.0]);
        assert!((fit.predict(0.35) - 0.75).abs() < 1e-12);
        assert!(fit.predict(0.0).abs() < 1e-15);
        assert!((fit.predict(1.0) - 1.0).abs() < 1e-15);
    }
}
