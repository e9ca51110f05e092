//! Shallow trees of plain comparisons laid out [`Complete`], and rows walked down them a
//! block at a time: the layout tree scoring takes when it can (the parent module makes it).
//!
//! On x86-64 with AVX2 (checked at run time) eight rows step together in one vector: each
//! row's split is picked from registers by permutes on the top levels (sixteen nodes or
//! fewer) and fetched by gathers below, its value fetched by a gather, and four such vectors
//! are in flight at once so that one's loads overlap another's. Elsewhere eight rows step side
//! by side in plain code. Both reach the same places: the comparisons are the same float32
//! `<=`, and XGBoost's float32 sums are added in the same order and roundings.

/// The bit of a split's feature that sends NaN where `x <= threshold` goes.
pub(super) const NAN_YES: u32 = 1 << 31;

/// Rows one walk of the vector code takes at most.
const MAX_ROWS: usize = 32;

/// Nodes a level at most holds to be picked from registers instead of gathered; the splits
/// are padded by as many so that any such level can be loaded whole.
const HELD: usize = 16;

/// A shallow tree whose splits are all plain comparisons, laid out complete: node `i`'s
/// children are `2i + 1` (where `x <= threshold`) and `2i + 2`, so a walk reads no child
/// indices, and every row takes exactly `depth` steps. A leaf above the last level becomes
/// splits that always go left (threshold +inf, NaN left) down to the last level.
#[derive(Debug, Clone)]
pub(super) struct Complete {
    /// The splits of the levels above the last, in level order, then [`HELD`] of padding:
    /// thresholds, and features with [`NAN_YES`].
    thresholds: Vec<f32>,
    features: Vec<u32>,
    /// The highest feature any split reads.
    max_feature: u32,
    pub(super) depth: usize,
    /// For each node of the last level, the index of the leaf it stands for in the tree's
    /// nodes, and that leaf's value as a float32.
    pub(super) leaves: Vec<u32>,
    pub(super) values: Vec<f32>,
}

impl Complete {
    /// A complete tree of `depth` levels of splits, all going left until [`Complete::split`]
    /// and [`Complete::leaf`] set them.
    pub(super) fn new(depth: usize) -> Complete {
        let last = (1usize << depth) - 1;
        Complete {
            thresholds: vec![f32::INFINITY; last + HELD],
            features: vec![NAN_YES; last + HELD],
            max_feature: 0,
            depth,
            leaves: vec![0; 1 << depth],
            values: vec![0.0; 1 << depth],
        }
    }

    /// Sets the split at `place`: `x <= threshold` on `feature`, and where NaN goes.
    pub(super) fn split(&mut self, place: usize, feature: u32, threshold: f32, nan_yes: bool) {
        assert!(feature < NAN_YES, "fewer than 2^31 features");
        self.thresholds[place] = threshold;
        self.features[place] = feature | if nan_yes { NAN_YES } else { 0 };
        self.max_feature = self.max_feature.max(feature);
    }

    /// Sets the leaf at `place` on the last level (counted from the level's first node).
    pub(super) fn leaf(&mut self, place: usize, node: u32, value: f32) {
        self.leaves[place] = node;
        self.values[place] = value;
    }

    /// Whether the vector code can walk rows `width` values wide here.
    fn vector(&self, width: usize) -> bool {
        #[cfg(target_arch = "x86_64")]
        return (self.depth == 0 || (self.max_feature as usize) < width)
            && i32::try_from(MAX_ROWS * width).is_ok()
            && std::arch::is_x86_feature_detected!("avx2");
        #[cfg(not(target_arch = "x86_64"))]
        return false;
    }

    /// The place on the last level (counted from the level's first node) that each of `rows`
    /// rows of `values` (`width` per row) reaches, into `places`.
    pub(super) fn walk(&self, values: &[f32], width: usize, rows: usize, places: &mut [u32]) {
        assert!(places.len() >= rows && values.len() >= rows * width);
        if !self.vector(width) {
            return self.walk_plain(values, width, rows, places);
        }
        #[cfg(target_arch = "x86_64")]
        for first in (0..rows).step_by(MAX_ROWS) {
            let block = MAX_ROWS.min(rows - first);
            let mut at = [0u32; MAX_ROWS];
            // SAFETY: see `avx2::descend`, whose bounds `vector` and the assert above check.
            #[allow(unsafe_code, reason = "the vector walk")]
            unsafe {
                avx2::places(
                    self,
                    values[first * width..].as_ptr(),
                    width,
                    block,
                    &mut at,
                );
            }
            places[first..first + block].copy_from_slice(&at[..block]);
        }
    }

    /// Adds `weight` times the value of the leaf each of `rows` rows of `values` (`width` per
    /// row) reaches to the row's sum in `sums`, in float32 (as XGBoost sums).
    pub(super) fn add(
        &self,
        values: &[f32],
        width: usize,
        rows: usize,
        weight: f32,
        sums: &mut [f32],
    ) {
        assert!(sums.len() >= rows && values.len() >= rows * width);
        if !self.vector(width) {
            let mut places = vec![0; rows];
            self.walk_plain(values, width, rows, &mut places);
            for (sum, place) in sums.iter_mut().zip(places) {
                *sum += weight * self.values[place as usize];
            }
            return;
        }
        #[cfg(target_arch = "x86_64")]
        for first in (0..rows).step_by(MAX_ROWS) {
            let block = MAX_ROWS.min(rows - first);
            let mut held = [0f32; MAX_ROWS];
            held[..block].copy_from_slice(&sums[first..first + block]);
            // SAFETY: see `avx2::descend`, whose bounds `vector` and the assert above check.
            #[allow(unsafe_code, reason = "the vector walk")]
            unsafe {
                avx2::add(
                    self,
                    values[first * width..].as_ptr(),
                    width,
                    block,
                    weight,
                    &mut held,
                );
            }
            sums[first..first + block].copy_from_slice(&held[..block]);
        }
    }

    /// [`Complete::walk`] in plain code: eight rows side by side, a step each in turn, so
    /// that their loads and comparisons overlap.
    fn walk_plain(&self, values: &[f32], width: usize, rows: usize, places: &mut [u32]) {
        const LANES: usize = 8;
        let splits = self;
        let last = (1usize << splits.depth) - 1;
        for first in (0..rows).step_by(LANES) {
            let lanes = LANES.min(rows - first);
            let mut at = [0usize; LANES];
            for _ in 0..splits.depth {
                for (k, at) in at.iter_mut().enumerate().take(lanes) {
                    let feature = splits.features[*at];
                    let x = values[(first + k) * width + (feature & !NAN_YES) as usize];
                    // No branch: NaN fails the comparison, and takes its bit instead.
                    #[allow(clippy::needless_bitwise_bool, reason = "branch-free on purpose")]
                    let yes =
                        (x <= splits.thresholds[*at]) | (x.is_nan() & (feature & NAN_YES != 0));
                    *at = 2 * *at + 1 + usize::from(!yes);
                }
            }
            for (place, at) in places[first..first + lanes].iter_mut().zip(at) {
                *place = u32::try_from(at - last).expect("a complete tree is shallow");
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(
    unsafe_code,
    reason = "the AVX2 walk: gathers read through raw pointers"
)]
mod avx2 {
    use std::arch::x86_64::{
        __m256, __m256i, _CMP_LE_OQ, _CMP_UNORD_Q, _mm256_add_epi32, _mm256_add_ps, _mm256_and_ps,
        _mm256_and_si256, _mm256_blendv_ps, _mm256_castps_si256, _mm256_castsi256_ps,
        _mm256_cmp_ps, _mm256_cmpgt_epi32, _mm256_i32gather_epi32, _mm256_i32gather_ps,
        _mm256_loadu_ps, _mm256_mul_ps, _mm256_mullo_epi32, _mm256_or_ps, _mm256_permutevar8x32_ps,
        _mm256_set1_epi32, _mm256_set1_ps, _mm256_setr_epi32, _mm256_setzero_si256,
        _mm256_slli_epi32, _mm256_srai_epi32, _mm256_storeu_ps, _mm256_storeu_si256,
        _mm256_sub_epi32,
    };

    use super::{Complete, HELD, MAX_ROWS, NAN_YES};

    /// Walks `rows` rows: eight at a time when there are no more (a single row served),
    /// else [`MAX_ROWS`] in four vectors in flight at once, so that one's loads overlap
    /// another's.
    ///
    /// # Safety
    /// As [`descend`].
    #[target_feature(enable = "avx2")]
    unsafe fn walk(
        splits: &Complete,
        values: *const f32,
        width: usize,
        rows: usize,
    ) -> [__m256i; 4] {
        // SAFETY: the caller's.
        unsafe {
            if rows <= 8 {
                let [one] = descend::<1>(splits, values, width, rows);
                [one; 4]
            } else {
                descend::<4>(splits, values, width, rows)
            }
        }
    }

    /// Walks `rows` rows (at most [`MAX_ROWS`]) from `values`; `at` gets each one's place on
    /// the last level.
    ///
    /// # Safety
    /// As [`descend`].
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn places(
        splits: &Complete,
        values: *const f32,
        width: usize,
        rows: usize,
        at: &mut [u32; MAX_ROWS],
    ) {
        // SAFETY: the caller's.
        let nodes = unsafe { walk(splits, values, width, rows) };
        let last = _mm256_set1_epi32((1 << splits.depth) - 1);
        for (g, node) in nodes.iter().enumerate() {
            // SAFETY: eight u32s fit from g * 8 in a MAX_ROWS array.
            unsafe {
                _mm256_storeu_si256(
                    at[g * 8..].as_mut_ptr().cast(),
                    _mm256_sub_epi32(*node, last),
                );
            };
        }
    }

    /// Walks `rows` rows (at most [`MAX_ROWS`]) from `values`, and adds to each one's sum in
    /// `sums` `weight` times the value of the leaf it reaches.
    ///
    /// # Safety
    /// As [`descend`].
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn add(
        splits: &Complete,
        values: *const f32,
        width: usize,
        rows: usize,
        weight: f32,
        sums: &mut [f32; MAX_ROWS],
    ) {
        // SAFETY: the caller's.
        let nodes = unsafe { walk(splits, values, width, rows) };
        let last = _mm256_set1_epi32((1 << splits.depth) - 1);
        let weight = _mm256_set1_ps(weight);
        for (g, node) in nodes.iter().enumerate() {
            // SAFETY: a place on the last level is below 2^depth, the leaf values' length;
            // eight f32s fit from g * 8 in a MAX_ROWS array.
            unsafe {
                let value =
                    _mm256_i32gather_ps::<4>(splits.values.as_ptr(), _mm256_sub_epi32(*node, last));
                let sum = sums[g * 8..].as_mut_ptr();
                // Multiplied, then added: rounded twice, as the scalar sum is.
                _mm256_storeu_ps(
                    sum,
                    _mm256_add_ps(_mm256_loadu_ps(sum), _mm256_mul_ps(weight, value)),
                );
            }
        }
    }

    /// Walks `rows` rows (at most `8 * GROUPS`) of `values` (`width` per row) down the tree:
    /// each row's node on the last level, eight rows per vector.
    ///
    /// # Safety
    /// AVX2 must be present, and every index the walk uses in bounds: `rows` at most
    /// `8 * GROUPS`, `rows * width` values readable from `values` and fitting an i32, and every
    /// split's feature below `width`. The nodes are then in bounds by construction: a node at
    /// level l < depth is below 2^(l+1) - 1, the splits' length less the padding, and a level
    /// of [`HELD`] nodes or fewer is loaded whole from its first node, below 2^l <= [`HELD`];
    /// lanes past `rows` read the first row.
    #[target_feature(enable = "avx2")]
    #[allow(
        clippy::cast_possible_wrap,
        clippy::cast_possible_truncation,
        reason = "row and value indices checked to fit an i32"
    )]
    unsafe fn descend<const GROUPS: usize>(
        splits: &Complete,
        values: *const f32,
        width: usize,
        rows: usize,
    ) -> [__m256i; GROUPS] {
        let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let width_v = _mm256_set1_epi32(width as i32);
        let rows_v = _mm256_set1_epi32(rows as i32);
        // The index of each lane's row's first value; lanes past the rows read row 0.
        let mut bases = [_mm256_setzero_si256(); GROUPS];
        for (g, base) in bases.iter_mut().enumerate() {
            let row = _mm256_add_epi32(_mm256_set1_epi32((g * 8) as i32), lane);
            let row = _mm256_and_si256(row, _mm256_cmpgt_epi32(rows_v, row));
            *base = _mm256_mullo_epi32(row, width_v);
        }
        let thresholds = splits.thresholds.as_ptr();
        let features = splits.features.as_ptr().cast::<i32>();
        let mut nodes: [__m256i; GROUPS] = [_mm256_setzero_si256(); GROUPS];
        for level in 0..splits.depth {
            let first = (1usize << level) - 1;
            if first < HELD {
                // Sixteen nodes or fewer: the level's splits sit in registers, and each row's
                // is picked by a permute rather than fetched by a gather.
                // SAFETY: HELD values from `first` < HELD: in the padding at most.
                let (thresholds, features) = unsafe {
                    let t = splits.thresholds.as_ptr().add(first);
                    let f = splits.features.as_ptr().add(first).cast::<f32>();
                    (
                        [_mm256_loadu_ps(t), _mm256_loadu_ps(t.add(8))],
                        [_mm256_loadu_ps(f), _mm256_loadu_ps(f.add(8))],
                    )
                };
                let first_v = _mm256_set1_epi32(first as i32);
                for (node, base) in nodes.iter_mut().zip(&bases) {
                    let at = _mm256_sub_epi32(*node, first_v);
                    let feature = _mm256_castps_si256(pick(features, at));
                    let threshold = pick(thresholds, at);
                    // SAFETY: the caller's bounds.
                    *node = unsafe { step(*node, *base, feature, threshold, values) };
                }
            } else {
                for (node, base) in nodes.iter_mut().zip(&bases) {
                    // SAFETY: (for the two gathers) the caller's bounds.
                    let (feature, threshold) = unsafe {
                        (
                            _mm256_i32gather_epi32::<4>(features, *node),
                            _mm256_i32gather_ps::<4>(thresholds, *node),
                        )
                    };
                    // SAFETY: the caller's bounds.
                    *node = unsafe { step(*node, *base, feature, threshold, values) };
                }
            }
        }
        nodes
    }

    /// Of the [`HELD`] values in `held`, the one each lane's `at` (0 to 31) names.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn pick(held: [__m256; HELD / 8], at: __m256i) -> __m256 {
        // A permute picks among eight by the low three bits; bits 3 and 4, each moved in turn
        // to the sign, choose between the halves.
        let [a, b] = held.map(|eight| _mm256_permutevar8x32_ps(eight, at));
        let bit3 = _mm256_castsi256_ps(_mm256_slli_epi32::<28>(at));
        _mm256_blendv_ps(a, b, bit3)
    }

    /// One step of eight rows from `node`, given each one's split: reads each row's value
    /// (the row's first value at `base`) and goes to `2i + 1` or `2i + 2`.
    ///
    /// # Safety
    /// The caller's bounds for the value gather.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn step(
        node: __m256i,
        base: __m256i,
        feature: __m256i,
        threshold: __m256,
        values: *const f32,
    ) -> __m256i {
        #[allow(clippy::cast_possible_wrap, reason = "a bit mask")]
        let feature_bits = _mm256_set1_epi32(!NAN_YES as i32);
        let index = _mm256_add_epi32(base, _mm256_and_si256(feature, feature_bits));
        // SAFETY: the caller's bounds.
        let x = unsafe { _mm256_i32gather_ps::<4>(values, index) };
        let le = _mm256_cmp_ps::<_CMP_LE_OQ>(x, threshold);
        let nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x);
        // The sign bit says yes: the comparison held, or NaN where the NaN bit is set.
        let yes = _mm256_or_ps(le, _mm256_and_ps(nan, _mm256_castsi256_ps(feature)));
        // 2i + 1 for yes, 2i + 2 otherwise: 2i + 2 plus -1 or 0.
        let minus = _mm256_srai_epi32::<31>(_mm256_castps_si256(yes));
        _mm256_add_epi32(
            _mm256_add_epi32(_mm256_slli_epi32::<1>(node), _mm256_set1_epi32(2)),
            minus,
        )
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{Complete, NAN_YES};

    /// The place one row reaches, walked plainly.
    fn place(tree: &Complete, row: &[f32]) -> u32 {
        let mut at = 0;
        for _ in 0..tree.depth {
            let feature = tree.features[at];
            let x = row[(feature & !NAN_YES) as usize];
            let yes = x <= tree.thresholds[at] || (x.is_nan() && feature & NAN_YES != 0);
            at = 2 * at + if yes { 1 } else { 2 };
        }
        u32::try_from(at + 1 - (1 << tree.depth)).expect("shallow")
    }

    /// A tree of `depth` levels whose splits read features below `width`, from `seed`.
    fn tree(depth: usize, width: u32, seeds: &[(u32, i8, bool)]) -> Complete {
        let mut tree = Complete::new(depth);
        for place in 0..(1 << depth) - 1 {
            let (feature, threshold, nan_yes) = seeds[place % seeds.len()];
            tree.split(place, feature % width, f32::from(threshold) / 8.0, nan_yes);
        }
        for place in 0..1 << depth {
            #[allow(clippy::cast_precision_loss, reason = "small places")]
            tree.leaf(
                place,
                u32::try_from(place).expect("shallow"),
                place as f32 * 0.25 - 1.0,
            );
        }
        tree
    }

    proptest! {
        /// The vector walk (where the machine has one) and the plain walk reach the places
        /// one row at a time does, for any count of rows (partial blocks too), NaNs included,
        /// and `add` sums the same leaf values in the same float32 steps.
        #[test]
        fn every_walk_reaches_the_same_places(
            depth in 0usize..=10,
            width in 1u32..40,
            seeds in prop::collection::vec((any::<u32>(), any::<i8>(), any::<bool>()), 1..64),
            cells in prop::collection::vec(prop::option::weighted(0.9, -20i8..20), 1..4000),
            weight in 0.1f32..2.0,
        ) {
            let tree = tree(depth, width, &seeds);
            let width = width as usize;
            let rows = cells.len() / width;
            let values: Vec<f32> = cells[..rows * width]
                .iter()
                .map(|c| c.map_or(f32::NAN, |c| f32::from(c) / 8.0))
                .collect();
            let expected: Vec<u32> = values.chunks_exact(width).map(|row| place(&tree, row)).collect();
            let mut walked = vec![0; rows];
            tree.walk(&values, width, rows, &mut walked);
            prop_assert_eq!(&walked, &expected);
            let mut plain = vec![0; rows];
            tree.walk_plain(&values, width, rows, &mut plain);
            prop_assert_eq!(&plain, &expected);
            let mut sums: Vec<f32> = (0..rows).map(|r| f32::from(u8::try_from(r % 7).expect("small"))).collect();
            let mut sums_expected = sums.clone();
            for (sum, place) in sums_expected.iter_mut().zip(&expected) {
                *sum += weight * tree.values[*place as usize];
            }
            tree.add(&values, width, rows, weight, &mut sums);
            prop_assert_eq!(sums, sums_expected);
        }
    }
}
