//! Binary-task metrics for every group of several partitions of the rows (the whole data, each
//! slicing, the sensitive groups) in one pass over the rows in descending score order, and the
//! same pass with Poisson bootstrap multiplicities for confidence intervals.
//!
//! Sorting once and walking the rows in score order lets every group's ROC AUC and average
//! precision accumulate as they would from the group's own sort: a group's tied scores are a
//! subset of the whole data's ties, so a group's pending tie is settled when its next row comes
//! from a lower score. The pass gives the same values as [`crate::metrics::binary`] (checked
//! against the scikit-learn fixtures in `tests/golden.rs`).
//!
//! The bootstrap is the Poisson bootstrap: in each replicate every row is drawn k times, k from
//! Poisson(1), from a counter-based generator, so a replicate does not depend on how replicates
//! are spread over threads. It approximates drawing n rows with replacement closely for all but
//! tiny groups and needs no second copy of the data.

use crate::metrics::binary::{self, Confusion};
use crate::metrics::{Metric, Undefined, ratio};
use rayon::prelude::*;

/// Equal-width bins for the expected calibration error.
pub(crate) const CALIBRATION_BINS: usize = 10;

/// Per-position flags in [`Ranked::flags`].
const LABEL: u8 = 1;
const PREDICTION: u8 = 2;

/// Positions a pass handles at a time: their draws are made first, so the rows drawn zero times
/// are dropped without a hard-to-predict branch per row.
const CHUNK: usize = 4096;

/// The rows of a binary task in descending score order (input order without scores), with what
/// each pass needs laid out by position.
pub struct Ranked {
    /// The row at each position.
    order: Vec<u32>,
    /// LABEL and PREDICTION bits per position.
    flags: Vec<u8>,
    /// The index of each position's distinct score (0 for all without scores).
    ties: Vec<u32>,
    weights: Option<Vec<f64>>,
    scored: Option<Scored>,
}

/// Per-position score data.
struct Scored {
    scores: Vec<f64>,
    /// The clipped log loss of each row, computed once rather than in every replicate.
    log_losses: Vec<f64>,
    /// The calibration bin of each row.
    bins: Vec<u8>,
}

impl Ranked {
    /// Sorts the rows by descending score. Scores, when given, lie in `[0, 1]`.
    ///
    /// # Panics
    /// With 2^32 rows or more.
    pub fn new(
        labels: &[bool],
        predictions: &[bool],
        scores: Option<&[f64]>,
        weights: Option<&[f64]>,
    ) -> Self {
        let rows = u32::try_from(labels.len()).expect("fewer than 2^32 rows");
        let order: Vec<u32> = match scores {
            Some(scores) => {
                // Sort keys: the score's bits, flipped so that ascending keys are descending
                // scores (scores are not negative, so their bits order as the numbers do).
                let mut keyed: Vec<(u64, u32)> = (0..rows)
                    .map(|r| (!scores[r as usize].to_bits(), r))
                    .collect();
                keyed.par_sort_unstable();
                keyed.into_iter().map(|(_, r)| r).collect()
            }
            None => (0..rows).collect(),
        };
        let flags = order
            .iter()
            .map(|&r| {
                u8::from(labels[r as usize]) * LABEL
                    + u8::from(predictions[r as usize]) * PREDICTION
            })
            .collect();
        let mut tie = 0;
        let ties = order
            .iter()
            .enumerate()
            .map(|(i, &r)| {
                if let Some(s) = scores
                    && i > 0
                    && s[r as usize].to_bits() != s[order[i - 1] as usize].to_bits()
                {
                    tie += 1;
                }
                tie
            })
            .collect();
        let by_position = scores.map(|s| {
            let by_position: Vec<f64> = order.iter().map(|&r| s[r as usize]).collect();
            Scored {
                log_losses: order
                    .iter()
                    .map(|&r| row_log_loss(labels[r as usize], s[r as usize]))
                    .collect(),
                bins: by_position
                    .iter()
                    .map(|&p| {
                        u8::try_from(binary::calibration_bin(p, CALIBRATION_BINS))
                            .expect("few bins")
                    })
                    .collect(),
                scores: by_position,
            }
        });
        Self {
            weights: weights.map(|w| order.iter().map(|&r| w[r as usize]).collect()),
            order,
            flags,
            ties,
            scored: by_position,
        }
    }

    pub(crate) fn rows(&self) -> usize {
        self.order.len()
    }

    /// A partition of the rows into `groups` groups (`ids[row]` in input order), laid out by
    /// position for [`pass`]. `scored`: whether its groups need the score metrics; a grouping
    /// that needs only confusion matrices (fairness rates) costs a pass a fraction as much.
    pub fn grouping(&self, ids: &[u32], groups: usize, scored: bool) -> Grouping {
        Grouping {
            ids: self.order.iter().map(|&r| ids[r as usize]).collect(),
            groups,
            scored,
        }
    }

    /// The whole data as one group.
    pub fn whole(&self) -> Grouping {
        Grouping {
            ids: Vec::new(),
            groups: 1,
            scored: true,
        }
    }

    /// Positives and negatives (weighted) at each of at most about `points` score thresholds,
    /// from the highest score down: what the ROC and precision-recall curves are drawn from.
    /// Neighbouring distinct scores are merged into one step when there are more of them, which
    /// keeps every drawn point exact. Empty without scores.
    pub(crate) fn score_groups(&self, points: usize) -> Vec<(f64, f64)> {
        if self.scored.is_none() {
            return Vec::new();
        }
        let distinct = self.ties.last().map_or(0, |&t| t as usize + 1);
        let step = distinct.div_ceil(points.max(1)).max(1);
        let mut groups: Vec<(f64, f64)> = Vec::new();
        for (i, &flags) in self.flags.iter().enumerate() {
            if i == 0
                || (self.ties[i] != self.ties[i - 1]
                    && (self.ties[i] as usize).is_multiple_of(step))
            {
                groups.push((0.0, 0.0));
            }
            let w = self.weights.as_ref().map_or(1.0, |w| w[i]);
            let group = groups.last_mut().expect("position 0 starts a group");
            if flags & LABEL != 0 {
                group.0 += w;
            } else {
                group.1 += w;
            }
        }
        groups
    }
}

/// One row's log loss, its score clipped to `[eps, 1 - eps]` as scikit-learn clips it.
pub(crate) fn row_log_loss(label: bool, score: f64) -> f64 {
    let eps = f64::EPSILON;
    let given = if label { score } else { 1.0 - score };
    -given.clamp(eps, 1.0 - eps).ln()
}

/// One partition of the rows, by position.
pub struct Grouping {
    /// Each position's group; empty for the whole data as one group.
    ids: Vec<u32>,
    groups: usize,
    /// Whether the score metrics are wanted.
    scored: bool,
}

/// What one group's metrics are computed from.
#[derive(Debug, Clone, Copy)]
pub struct Sums {
    /// Confusion cells indexed by `LABEL | PREDICTION` bits: tn, fn, fp, tp.
    cells: [f64; 4],
    /// Positives and negatives of the settled ties (all of them once a pass ends).
    positives: f64,
    negatives: f64,
    /// The current tie's negatives and positives, and the tie's index (`u32::MAX` before the
    /// first).
    pending: [f64; 2],
    tie: u32,
    /// Σ over negatives of the positives ranked above them (ties counting one half).
    area: f64,
    /// Σ over ties of the tie's positives times the precision down to it.
    precision_mass: f64,
    log_loss: f64,
    brier: f64,
    /// Per calibration bin: weight, weighted positives, weighted scores.
    calibration: [[f64; 3]; CALIBRATION_BINS],
}

impl Default for Sums {
    fn default() -> Self {
        Self {
            cells: [0.0; 4],
            positives: 0.0,
            negatives: 0.0,
            pending: [0.0; 2],
            tie: u32::MAX,
            area: 0.0,
            precision_mass: 0.0,
            log_loss: 0.0,
            brier: 0.0,
            calibration: [[0.0; 3]; CALIBRATION_BINS],
        }
    }
}

impl Sums {
    /// The sums of a group known by its totals and its scores' ties instead of its rows (a
    /// sharded evaluation's merged histograms): `ties` holds each tie's (negatives, positives),
    /// from the highest score down. Confusion cells are indexed as [`Sums::cells`] says.
    pub(crate) fn from_ties(
        cells: [f64; 4],
        log_loss: f64,
        brier: f64,
        calibration: [[f64; 3]; CALIBRATION_BINS],
        ties: impl IntoIterator<Item = (f64, f64)>,
    ) -> Self {
        let mut sums = Self {
            cells,
            log_loss,
            brier,
            calibration,
            ..Self::default()
        };
        for (negatives, positives) in ties {
            sums.pending = [negatives, positives];
            sums.settle();
        }
        sums
    }

    pub fn confusion(&self) -> Confusion {
        let [tn, fn_, fp, tp] = self.cells;
        Confusion { tp, fp, tn, fn_ }
    }

    /// Settles the pending tie: its negatives rank below every earlier positive and level with
    /// its own positives.
    fn settle(&mut self) {
        let [neg, pos] = self.pending;
        self.area += neg * (self.positives + pos / 2.0);
        self.positives += pos;
        self.negatives += neg;
        // Without a branch on `pos`, which would be mispredicted for about every other row; a
        // tie without positives adds 0, and the floor keeps an empty start from making 0 / 0.
        self.precision_mass +=
            pos * (self.positives / (self.positives + self.negatives).max(f64::MIN_POSITIVE));
        self.pending = [0.0; 2];
    }

    /// Every metric of a binary task, named as the report names them; score metrics only when
    /// `scored`.
    pub fn metrics(&self, scored: bool) -> Vec<(&'static str, Metric)> {
        let c = &self.confusion();
        let mut out = vec![
            ("accuracy", c.accuracy()),
            ("balanced_accuracy", c.balanced_accuracy()),
            ("precision", c.precision()),
            ("recall", c.recall()),
            ("f1", c.f1()),
            ("tpr", c.recall()),
            ("fpr", c.fpr()),
            ("tnr", c.tnr()),
            ("fnr", c.fnr()),
            ("selection_rate", c.selection_rate()),
        ];
        if scored {
            let total = c.tp + c.fp + c.tn + c.fn_;
            out.extend([
                ("roc_auc", self.roc_auc()),
                ("average_precision", self.average_precision()),
                ("log_loss", ratio(self.log_loss, total, Undefined::Empty)),
                ("brier", ratio(self.brier, total, Undefined::Empty)),
                ("expected_calibration_error", self.calibration_error(total)),
            ]);
        }
        out
    }

    pub(crate) fn roc_auc(&self) -> Metric {
        if self.positives == 0.0 {
            return Err(Undefined::NoPositives);
        }
        if self.negatives == 0.0 {
            return Err(Undefined::NoNegatives);
        }
        Ok(self.area / (self.positives * self.negatives))
    }

    pub(crate) fn average_precision(&self) -> Metric {
        ratio(self.precision_mass, self.positives, Undefined::NoPositives)
    }

    fn calibration_error(&self, total: f64) -> Metric {
        if total == 0.0 {
            return Err(Undefined::Empty);
        }
        Ok(self
            .calibration_points()
            .iter()
            .map(|(score, rate, w)| (w / total) * (rate - score).abs())
            .sum())
    }

    /// (mean score, positive rate, weight) of each non-empty calibration bin.
    pub(crate) fn calibration_points(&self) -> Vec<(f64, f64, f64)> {
        self.calibration
            .iter()
            .filter(|[w, _, _]| *w > 0.0)
            .map(|&[w, positives, scores]| (scores / w, positives / w, w))
            .collect()
    }
}

/// A replicate of the Poisson bootstrap: how many times each position is drawn.
#[derive(Debug, Clone, Copy)]
pub struct Replicate {
    /// The `SplitMix64` state before position 0.
    start: u64,
}

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `P(K <= k)` for K ~ Poisson(1), k = 0..16, scaled to `u64`; beyond 16 the probability is
/// below 1e-14.
fn poisson_thresholds() -> [u64; 17] {
    let mut thresholds = [0u64; 17];
    let (mut term, mut cumulative) = ((-1.0f64).exp(), 0.0);
    for (k, t) in thresholds.iter_mut().enumerate() {
        cumulative += term;
        #[expect(clippy::cast_precision_loss, reason = "k is small")]
        {
            term /= (k + 1) as f64;
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a probability scaled into u64's range"
        )]
        {
            *t = (cumulative.min(1.0) * 18_446_744_073_709_551_615.0) as u64;
        }
    }
    thresholds
}

impl Replicate {
    /// Replicate `index` of the bootstrap seeded with `seed`.
    pub fn new(seed: u64, index: usize) -> Self {
        Self {
            start: mix(seed ^ mix(index as u64 ^ 0x5851_F42D_4C95_7F2D)),
        }
    }

    /// How many times `position` is drawn.
    fn draws(self, position: usize, thresholds: &[u64; 17]) -> u32 {
        let u = mix(self
            .start
            .wrapping_add((position as u64).wrapping_add(1).wrapping_mul(GOLDEN_GAMMA)));
        // Thresholds ascend, so the count of those below `u` is the draw; counting them all
        // avoids a data-dependent loop exit.
        let k = thresholds.iter().filter(|&&t| u > t).count();
        u32::try_from(k).expect("at most 17")
    }

    /// Each row's draw count, in input order, for bootstraps that do not go through a [`pass`].
    pub(crate) fn counts(self, rows: usize) -> Vec<u32> {
        let thresholds = poisson_thresholds();
        (0..rows).map(|r| self.draws(r, &thresholds)).collect()
    }
}

/// Sums for every group of every grouping, from one walk over the rows: each row counted once,
/// or as many times as `replicate` draws it. The walk goes row by row, updating every grouping,
/// so each row's data is read once.
pub fn pass(
    ranked: &Ranked,
    groupings: &[&Grouping],
    replicate: Option<Replicate>,
) -> Vec<Vec<Sums>> {
    let mut sums: Vec<Vec<Sums>> = groupings
        .iter()
        .map(|g| vec![Sums::default(); g.groups])
        .collect();
    let ids: Vec<(&[u32], bool)> = groupings
        .iter()
        .map(|g| (g.ids.as_slice(), g.scored))
        .collect();
    let thresholds = poisson_thresholds();
    let mut drawn = vec![(0u32, 0u32); CHUNK];
    for start in (0..ranked.rows()).step_by(CHUNK) {
        let end = (start + CHUNK).min(ranked.rows());
        let mut kept = 0;
        for i in start..end {
            let k = replicate.map_or(1, |r| r.draws(i, &thresholds));
            drawn[kept] = (u32::try_from(i).expect("fewer than 2^32 rows"), k);
            kept += usize::from(k > 0);
        }
        for &(i, draws) in &drawn[..kept] {
            let i = i as usize;
            let w = f64::from(draws) * ranked.weights.as_ref().map_or(1.0, |w| w[i]);
            let flags = ranked.flags[i];
            let tie = ranked.ties[i];
            let cell = usize::from(flags & (LABEL | PREDICTION));
            let label = flags & LABEL;
            for (group_sums, &(ids, wanted)) in sums.iter_mut().zip(&ids) {
                let s = &mut group_sums[ids.get(i).map_or(0, |&id| id as usize)];
                s.cells[cell] += w;
                if let Some(scored) = ranked.scored.as_ref().filter(|_| wanted) {
                    if s.tie != tie {
                        s.settle();
                        s.tie = tie;
                    }
                    let y = f64::from(label);
                    s.pending[usize::from(label)] += w;
                    s.log_loss += w * scored.log_losses[i];
                    let score = scored.scores[i];
                    s.brier += w * (score - y) * (score - y);
                    let bin = &mut s.calibration[usize::from(scored.bins[i])];
                    bin[0] += w;
                    bin[1] += w * y;
                    bin[2] += w * score;
                }
            }
        }
    }
    for s in sums.iter_mut().flatten() {
        s.settle();
    }
    sums
}

/// Runs `replicates` bootstrap replicates of [`pass`] (seeded with `seed`) over the available
/// cores and hands each replicate's sums, in replicate order, to `summarize`.
pub fn bootstrap<T: Send>(
    ranked: &Ranked,
    groupings: &[&Grouping],
    replicates: usize,
    seed: u64,
    summarize: impl Fn(Vec<Vec<Sums>>) -> T + Sync,
) -> Vec<T> {
    (0..replicates)
        .into_par_iter()
        .map(|b| summarize(pass(ranked, groupings, Some(Replicate::new(seed, b)))))
        .collect()
}

/// The percentile interval of `values` at `confidence`, with numpy's linear interpolation;
/// `None` when there are no values.
pub fn percentile_interval(values: &mut [f64], confidence: f64) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    let quantile = |q: f64| {
        #[expect(clippy::cast_precision_loss, reason = "few replicates")]
        let h = (values.len() - 1) as f64 * q;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "h is a small non-negative index"
        )]
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(values.len() - 1);
        #[expect(clippy::cast_precision_loss, reason = "small index")]
        let fraction = h - lo as f64;
        values[lo] + fraction * (values[hi] - values[lo])
    };
    let tail = (1.0 - confidence) / 2.0;
    Some((quantile(tail), quantile(1.0 - tail)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::binary;

    fn data() -> (Vec<bool>, Vec<bool>, Vec<f64>, Vec<u32>) {
        let scores = vec![0.9, 0.5, 0.5, 0.2, 0.7, 0.5, 0.1, 0.8, 0.3, 0.5];
        let labels = vec![
            true, false, true, false, true, true, false, false, true, false,
        ];
        let predictions = scores.iter().map(|&s| s >= 0.5).collect();
        let groups = vec![0, 1, 0, 1, 0, 1, 1, 0, 1, 1];
        (labels, predictions, scores, groups)
    }

    #[test]
    #[expect(
        clippy::many_single_char_names,
        clippy::cast_precision_loss,
        reason = "y, s, w as in the metric functions; small counts"
    )]
    fn a_pass_matches_the_metric_functions_for_each_group() {
        let (labels, predictions, scores, groups) = data();
        let weights: Vec<f64> = (0..labels.len()).map(|i| 0.5 + i as f64 / 4.0).collect();
        for weights in [None, Some(weights.as_slice())] {
            let ranked = Ranked::new(&labels, &predictions, Some(&scores), weights);
            let grouping = ranked.grouping(&groups, 2, true);
            let sums = pass(&ranked, &[&grouping], None);
            for g in 0..2u32 {
                let rows: Vec<usize> = (0..labels.len()).filter(|&r| groups[r] == g).collect();
                let y: Vec<bool> = rows.iter().map(|&r| labels[r]).collect();
                let s: Vec<f64> = rows.iter().map(|&r| scores[r]).collect();
                let w: Option<Vec<f64>> = weights.map(|w| rows.iter().map(|&r| w[r]).collect());
                let w = w.as_deref();
                let (auc, ap) = binary::ranking(&y, &s, w);
                let expected = [
                    ("roc_auc", auc),
                    ("average_precision", ap),
                    ("log_loss", binary::log_loss(&y, &s, w)),
                    ("brier", binary::brier(&y, &s, w)),
                    (
                        "expected_calibration_error",
                        binary::expected_calibration_error(&y, &s, w, CALIBRATION_BINS),
                    ),
                ];
                let ours = sums[0][g as usize].metrics(true);
                for (name, value) in expected {
                    let (_, got) = ours.iter().find(|(n, _)| *n == name).expect("named");
                    let (a, b) = (got.expect("defined"), value.expect("defined"));
                    assert!((a - b).abs() < 1e-12, "{name} of group {g}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    #[expect(clippy::cast_precision_loss, reason = "small counts")]
    fn replicates_are_poisson_and_reproducible() {
        let counts = Replicate::new(7, 3).counts(200_000);
        assert_eq!(counts, Replicate::new(7, 3).counts(200_000));
        assert_ne!(counts, Replicate::new(7, 4).counts(200_000));
        let n = counts.len() as f64;
        let mean = counts.iter().map(|&k| f64::from(k)).sum::<f64>() / n;
        let zeros = counts.iter().filter(|&&k| k == 0).count() as f64 / n;
        assert!((mean - 1.0).abs() < 0.01, "mean {mean}");
        assert!((zeros - (-1.0f64).exp()).abs() < 0.005, "P(0) {zeros}");
    }

    #[test]
    fn percentiles_interpolate_as_numpy_does() {
        // numpy.percentile([1, 2, 3, 4], [2.5, 97.5]) == [1.075, 3.925]
        let (lo, hi) = percentile_interval(&mut [4.0, 1.0, 3.0, 2.0], 0.95).expect("values");
        assert!((lo - 1.075).abs() < 1e-12 && (hi - 3.925).abs() < 1e-12);
    }
}
