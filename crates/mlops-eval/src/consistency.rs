//! Consistency, AIF360's measure of individual fairness: similar rows should get similar
//! predictions. With `idx_i` the `k` nearest rows to row `i` (row `i` itself among them, as
//! scikit-learn's `NearestNeighbors.kneighbors(X)` returns it) and `y` the predicted labels or
//! scores, consistency is `1 - mean_i |y_i - mean(y[idx_i])|` (Zemel et al. 2013;
//! `aif360.sklearn.metrics.consistency_score`). Per group it is the same mean over the group's
//! rows only, their neighbours still found among all rows.
//!
//! The neighbours are exact: the `k` smallest squared Euclidean distances, each summed in `f64`
//! dimension by dimension (`t = a[j] - b[j]; d += t * t`), ties broken by the lower row index,
//! which is what a stable argsort of each row's distances gives. scikit-learn leaves the order of
//! tied neighbours to its tree, so on data with ties (duplicated rows, one-hot or integer
//! features) its neighbours, and so its score, can differ from ours; without ties the two agree
//! to rounding. The means are sums in a fixed order divided by the count: a row's neighbours
//! nearest first, then the rows in row order (numpy's `mean` sums pairwise, so AIF360 may differ
//! in the last bits). `scripts/golden/eval_consistency.py` computes the same by brute force
//! (`tests/consistency_golden.rs`).
//!
//! The search is a k-d tree (splits on the widest dimension near its median, between two distinct
//! values where it has some; tight bounding boxes; each leaf's points copied column by column),
//! queried for every row in parallel. It stays exact because a node is skipped only when no point
//! in it can come before the current `k`-th neighbour in the order (distance, row index): its
//! box's distance, computed with the same rounded operations, is a lower bound on every computed
//! distance inside (rounding is monotonic), and its smallest row index a lower bound on theirs;
//! a node at exactly the `k`-th distance is still searched for lower indices. Since splits fall
//! between distinct values, all copies of a row end up together in tree order, where each copy
//! after the first takes the neighbours found for it (equal coordinates, equal distances); data
//! with many duplicated rows (one-hot features) is searched once per distinct row, nearly.

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};

/// AIF360's default number of neighbours, the row itself included.
pub const DEFAULT_NEIGHBOURS: usize = 5;

/// Points per leaf of the k-d tree.
const LEAF: usize = 32;

/// Points per leaf at most: the bound of a query's scratch space.
const MAX_LEAF: usize = 64;

/// No child: the node is a leaf.
const NONE: u32 = u32::MAX;

/// Rows of features, row-major: row `i` is `values[i * dims..(i + 1) * dims]`.
#[derive(Debug, Clone, Copy)]
pub struct Points<'a> {
    pub values: &'a [f64],
    pub dims: usize,
}

impl Points<'_> {
    /// The number of rows (0 without dimensions).
    #[must_use]
    pub fn rows(&self) -> usize {
        self.values.len().checked_div(self.dims).unwrap_or(0)
    }

    fn row(&self, i: u32) -> &[f64] {
        let i = i as usize;
        &self.values[i * self.dims..(i + 1) * self.dims]
    }

    /// Checks the shape and that every value is finite; returns the number of rows.
    fn check(&self) -> Result<usize> {
        if self.dims == 0 || !self.values.len().is_multiple_of(self.dims) {
            return Err(Error::BadShape {
                values: self.values.len(),
                dims: self.dims,
            });
        }
        let rows = self.rows();
        if u32::try_from(rows).is_err() {
            return Err(Error::TooManyRows {
                rows,
                max: u32::MAX,
            });
        }
        if let Some(at) = self.values.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFiniteFeature {
                row: at / self.dims,
                feature: at % self.dims,
                value: self.values[at],
            });
        }
        Ok(rows)
    }
}

/// The consistency score over all rows and per group.
#[derive(Debug, Clone, Serialize)]
pub struct Consistency {
    /// Neighbours per row, the row itself included.
    pub neighbours: usize,
    pub rows: usize,
    pub dims: usize,
    pub consistency: f64,
    /// In the order of the group names given; a group without rows is left out.
    pub groups: Vec<GroupConsistency>,
}

/// The consistency score over one group's rows (neighbours found among all rows).
#[derive(Debug, Clone, Serialize)]
pub struct GroupConsistency {
    pub group: String,
    pub rows: usize,
    pub consistency: f64,
}

/// The consistency score of the predictions `y` (labels or scores, one per row) on `points`,
/// with `neighbours` neighbours per row (the row included; AIF360 uses
/// [`DEFAULT_NEIGHBOURS`]). `groups` is a group id per row, indexing the names.
///
/// ```
/// use mlops_eval::consistency::{self, Points};
///
/// // Two clusters of three rows; one row of the second disagrees with its neighbours.
/// let values = [0.0, 0.1, 0.2, 5.0, 5.1, 5.2];
/// let y = [1.0, 1.0, 1.0, 0.0, 0.0, 1.0];
/// let ids = [0, 0, 0, 1, 1, 1];
/// let names = ["a".to_owned(), "b".to_owned()];
/// let points = Points { values: &values, dims: 1 };
/// let c = consistency::consistency(points, &y, Some((&ids, &names)), 3)?;
/// assert!((c.groups[0].consistency - 1.0).abs() < 1e-12);
/// assert!((c.groups[1].consistency - 5.0 / 9.0).abs() < 1e-12);
/// assert!((c.consistency - 7.0 / 9.0).abs() < 1e-12);
/// # Ok::<(), mlops_eval::Error>(())
/// ```
pub fn consistency(
    points: Points<'_>,
    y: &[f64],
    groups: Option<(&[u32], &[String])>,
    neighbours: usize,
) -> Result<Consistency> {
    let rows = points.check()?;
    if y.len() != rows {
        return Err(Error::LengthMismatch {
            what: "the labels",
            found: y.len(),
            rows,
        });
    }
    if let Some((ids, names)) = groups {
        if ids.len() != rows {
            return Err(Error::LengthMismatch {
                what: "the group ids",
                found: ids.len(),
                rows,
            });
        }
        if let Some(row) = ids.iter().position(|&id| id as usize >= names.len()) {
            return Err(Error::UnknownGroup {
                row,
                id: ids[row],
                groups: names.len(),
            });
        }
    }
    if let Some(row) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFiniteLabel { row, value: y[row] });
    }
    let found = search(points, rows, neighbours)?;

    #[expect(
        clippy::cast_precision_loss,
        reason = "neighbour counts fit an f64 exactly"
    )]
    let k = neighbours as f64;
    let gaps: Vec<f64> = found
        .chunks_exact(neighbours)
        .zip(y)
        .map(|(near, &own)| {
            let sum = near.iter().fold(0.0, |sum, &j| sum + y[j as usize]);
            (own - sum / k).abs()
        })
        .collect();
    let score = |sum: f64, count: usize| {
        #[expect(clippy::cast_precision_loss, reason = "row counts fit an f64 exactly")]
        let count = count as f64;
        1.0 - sum / count
    };
    let overall = score(gaps.iter().fold(0.0, |sum, &g| sum + g), rows);

    let mut per_group = Vec::new();
    if let Some((ids, names)) = groups {
        let mut sums = vec![(0.0, 0_usize); names.len()];
        for (&id, &gap) in ids.iter().zip(&gaps) {
            let (sum, count) = &mut sums[id as usize];
            *sum += gap;
            *count += 1;
        }
        per_group = names
            .iter()
            .zip(sums)
            .filter(|(_, (_, count))| *count > 0)
            .map(|(name, (sum, count))| GroupConsistency {
                group: name.clone(),
                rows: count,
                consistency: score(sum, count),
            })
            .collect();
    }
    Ok(Consistency {
        neighbours,
        rows,
        dims: points.dims,
        consistency: overall,
        groups: per_group,
    })
}

/// The `k` nearest rows of every row (itself included), row-major `rows x k`, nearest first,
/// ties in distance broken by the lower row index.
pub fn neighbours(points: Points<'_>, k: usize) -> Result<Vec<u32>> {
    let rows = points.check()?;
    search(points, rows, k)
}

fn search(points: Points<'_>, rows: usize, k: usize) -> Result<Vec<u32>> {
    if k == 0 {
        return Err(Error::NoNeighbours);
    }
    if rows < k {
        return Err(Error::TooFewRows {
            rows,
            neighbours: k,
        });
    }
    Ok(Tree::build(points, LEAF, PARALLEL_BUILD).nearest(k))
}

/// Whether `(d, i)` comes before `(e, j)`: by distance, then by row index.
#[expect(clippy::float_cmp, reason = "a tie is an exact equality of distances")]
fn before(d: f64, i: u32, e: f64, j: u32) -> bool {
    d < e || (d == e && i < j)
}

#[derive(Debug, Clone, Copy)]
struct Node {
    /// The node's points are `start..end` in tree order.
    start: u32,
    end: u32,
    /// The smallest row index among them.
    first: u32,
    /// Children, or [`NONE`] for a leaf: `left` holds the points whose coordinate `dim` is at
    /// most `split`, `right` those at least `split`.
    left: u32,
    right: u32,
    dim: u32,
    split: f64,
}

/// Moves the items that `keep` keeps to the front; returns how many there are.
fn partition(items: &mut [u32], keep: impl Fn(u32) -> bool) -> usize {
    let mut kept = 0;
    for i in 0..items.len() {
        if keep(items[i]) {
            items.swap(kept, i);
            kept += 1;
        }
    }
    kept
}

/// A k-d tree over the rows. Each leaf's points are copied column by column (every point's
/// first coordinate, then every second one, ...), so that a query's distances to all of them are
/// summed together, dimension by dimension for each.
struct Tree<'a> {
    points: Points<'a>,
    /// The leaves' blocks in tree order: the leaf `start..end` at `start * dims`.
    columns: Vec<f64>,
    /// The row index of each point in tree order.
    rows: Vec<u32>,
    nodes: Vec<Node>,
    /// Each node's bounding box: `dims` lower then `dims` upper corners.
    boxes: Vec<f64>,
}

/// Subtrees of at least this many points are built in parallel.
const PARALLEL_BUILD: usize = 1 << 15;

/// Queries one task runs, one after the other.
const QUERY_BATCH: usize = 256;

/// The nodes of a subtree, depth first, left first, numbered from 0.
struct Subtree<'a> {
    points: Points<'a>,
    leaf: usize,
    /// Subtrees of at least this many points are built in parallel.
    parallel: usize,
    nodes: Vec<Node>,
    boxes: Vec<f64>,
}

impl<'a> Subtree<'a> {
    fn new(points: Points<'a>, leaf: usize, parallel: usize) -> Self {
        Self {
            points,
            leaf,
            parallel,
            nodes: Vec::new(),
            boxes: Vec::new(),
        }
    }

    /// Adds the node holding `order` (tree positions from `start`) and its subtree, reordering
    /// `order` into tree order; returns the node's index.
    fn split(&mut self, order: &mut [u32], start: u32) -> u32 {
        let points = self.points;
        let dims = points.dims;
        let index = u32::try_from(self.nodes.len()).expect("fewer nodes than rows");
        let mut lower = points.row(order[0]).to_vec();
        let mut upper = lower.clone();
        let mut first = order[0];
        for &i in &order[1..] {
            for ((lo, hi), &v) in lower.iter_mut().zip(&mut upper).zip(points.row(i)) {
                *lo = lo.min(v);
                *hi = hi.max(v);
            }
            first = first.min(i);
        }
        let mut widest = 0;
        for j in 1..dims {
            if upper[j] - lower[j] > upper[widest] - lower[widest] {
                widest = j;
            }
        }
        let spread = upper[widest] - lower[widest];
        self.boxes.extend(lower);
        self.boxes.extend(upper);
        let end = start + u32::try_from(order.len()).expect("fewer points than rows");
        self.nodes.push(Node {
            start,
            end,
            first,
            left: NONE,
            right: NONE,
            dim: u32::try_from(widest).expect("fewer dimensions than values"),
            split: 0.0,
        });
        if order.len() <= self.leaf {
            return index;
        }
        let coordinate = |i: u32| points.values[i as usize * dims + widest];
        let mid = order.len() / 2;
        // Equal coordinates in row order: a block of duplicates is split by row index.
        order.select_nth_unstable_by(mid, |&a, &b| {
            coordinate(a).total_cmp(&coordinate(b)).then(a.cmp(&b))
        });
        // Where the widest dimension has distinct values the split goes between two of them,
        // as near the middle as it can: the copies of a row all stay on one side, so they come
        // one after the other in tree order. Without distinct values, the middle.
        let value = coordinate(order[mid]);
        let (at, split) = if spread > 0.0 {
            let (left, right) = order.split_at_mut(mid);
            let below = partition(left, |i| coordinate(i) < value);
            // The right part is at least `value`: at most is equal.
            let equal = mid + partition(right, |i| coordinate(i) <= value);
            if below > 0 && (equal == order.len() || mid - below <= equal - mid) {
                let split = order[..below]
                    .iter()
                    .map(|&i| coordinate(i))
                    .fold(f64::NEG_INFINITY, f64::max);
                (below, split)
            } else {
                (equal, value)
            }
        } else {
            (mid, value)
        };
        let parallel = order.len() >= self.parallel;
        let (left, right) = order.split_at_mut(at);
        let middle = start + u32::try_from(at).expect("fewer points than rows");
        let (left, right) = if parallel {
            let (l, r) = rayon::join(
                || {
                    let mut nodes = Subtree::new(points, self.leaf, self.parallel);
                    nodes.split(left, start);
                    nodes
                },
                || {
                    let mut nodes = Subtree::new(points, self.leaf, self.parallel);
                    nodes.split(right, middle);
                    nodes
                },
            );
            (self.append(l), self.append(r))
        } else {
            (self.split(left, start), self.split(right, middle))
        };
        let node = &mut self.nodes[index as usize];
        node.left = left;
        node.right = right;
        node.split = split;
        index
    }

    /// Appends a subtree built apart; returns the index of its root.
    fn append(&mut self, other: Subtree<'_>) -> u32 {
        let offset = u32::try_from(self.nodes.len()).expect("fewer nodes than rows");
        self.nodes.extend(other.nodes.into_iter().map(|mut node| {
            if node.left != NONE {
                node.left += offset;
                node.right += offset;
            }
            node
        }));
        self.boxes.extend(other.boxes);
        offset
    }
}

impl<'a> Tree<'a> {
    /// A tree with at most `leaf` points per leaf, subtrees of `parallel` points or more built
    /// in parallel.
    fn build(points: Points<'a>, leaf: usize, parallel: usize) -> Self {
        let n = u32::try_from(points.rows()).expect("rows were checked to fit a u32");
        let mut order: Vec<u32> = (0..n).collect();
        let mut nodes = Subtree::new(points, leaf.clamp(1, MAX_LEAF), parallel.max(2));
        nodes.split(&mut order, 0);
        let dims = points.dims;
        let mut columns = Vec::with_capacity(order.len() * dims);
        // Depth first, left first: the leaves come in tree order.
        for node in nodes.nodes.iter().filter(|node| node.left == NONE) {
            let block = &order[node.start as usize..node.end as usize];
            for j in 0..dims {
                columns.extend(block.iter().map(|&i| points.values[i as usize * dims + j]));
            }
        }
        Self {
            points,
            columns,
            rows: order,
            nodes: nodes.nodes,
            boxes: nodes.boxes,
        }
    }

    /// A lower bound on the computed distance from `q` to any point in the node: the distance to
    /// its box, with the same rounded operations (rounding is monotonic, so no point inside can
    /// come out closer).
    fn bound(&self, node: u32, q: &[f64]) -> f64 {
        let dims = self.points.dims;
        let at = node as usize * 2 * dims;
        let (lower, upper) = self.boxes[at..at + 2 * dims].split_at(dims);
        let mut d = 0.0;
        for ((&x, &lo), &hi) in q.iter().zip(lower).zip(upper) {
            let t = if x < lo {
                lo - x
            } else if x > hi {
                x - hi
            } else {
                0.0
            };
            d += t * t;
        }
        d
    }

    /// Every row's `k` nearest, row-major.
    fn nearest(&self, k: usize) -> Vec<u32> {
        let n = self.rows.len();
        // Queried in tree order, so that queries one after the other walk the same nodes, and
        // duplicated rows mostly come one after the other: a row equal to the one before has
        // the same distances to every row, so the same neighbours.
        let mut by_position = vec![0_u32; n * k];
        by_position
            .par_chunks_mut(k * QUERY_BATCH)
            .zip(self.rows.par_chunks(QUERY_BATCH))
            .for_each_init(
                || Best::new(k),
                |best, (out, rows)| {
                    let mut previous: Option<&[f64]> = None;
                    for (i, &row) in rows.iter().enumerate() {
                        let q = self.points.row(row);
                        if previous == Some(q) {
                            out.copy_within((i - 1) * k..i * k, i * k);
                            continue;
                        }
                        previous = Some(q);
                        best.items.clear();
                        self.search(0, q, best);
                        for (o, &(_, row)) in out[i * k..(i + 1) * k].iter_mut().zip(&best.items) {
                            *o = row;
                        }
                    }
                },
            );
        let mut position = vec![0_usize; n];
        for (p, &row) in self.rows.iter().enumerate() {
            position[row as usize] = p;
        }
        let mut found = vec![0_u32; n * k];
        found
            .par_chunks_mut(k)
            .zip(position.par_iter())
            .with_min_len(1024)
            .for_each(|(out, &p)| out.copy_from_slice(&by_position[p * k..(p + 1) * k]));
        found
    }

    fn search(&self, node: u32, q: &[f64], best: &mut Best) {
        let node = self.nodes[node as usize];
        if node.left == NONE {
            let (start, end) = (node.start as usize, node.end as usize);
            let dims = self.points.dims;
            let block = &self.columns[start * dims..end * dims];
            let distances = &mut best.distances[..end - start];
            distances.fill(0.0);
            // The squared Euclidean distance summed dimension by dimension (`t = a[j] - b[j];
            // d += t * t`): the order the ties and the reference depend on.
            for (&x, column) in q.iter().zip(block.chunks_exact(end - start)) {
                for (d, &c) in distances.iter_mut().zip(column) {
                    let t = x - c;
                    *d += t * t;
                }
            }
            for p in start..end {
                let (d, row) = (best.distances[p - start], self.rows[p]);
                if best.admits(d, row) {
                    best.insert(d, row);
                }
            }
            return;
        }
        // The side of the split the query is on first, then the other, each skipped only when
        // every point inside comes after the current k-th in the order (distance, row index):
        // points at the same distance with lower indices are still found.
        let (near, far) = if q[node.dim as usize] <= node.split {
            (node.left, node.right)
        } else {
            (node.right, node.left)
        };
        for child in [near, far] {
            if best.admits(self.bound(child, q), self.nodes[child as usize].first) {
                self.search(child, q, best);
            }
        }
    }
}

/// The `k` best (distance, row) so far, sorted, best first.
struct Best {
    k: usize,
    items: Vec<(f64, u32)>,
    /// Scratch space: the distances to a leaf's points.
    distances: [f64; MAX_LEAF],
}

impl Best {
    fn new(k: usize) -> Self {
        Self {
            k,
            items: Vec::with_capacity(k + 1),
            distances: [0.0; MAX_LEAF],
        }
    }

    /// Whether `(d, row)` comes before the current k-th (always, until there are `k`).
    fn admits(&self, d: f64, row: u32) -> bool {
        match self.items.last() {
            Some(&(e, j)) if self.items.len() == self.k => before(d, row, e, j),
            _ => true,
        }
    }

    fn insert(&mut self, d: f64, row: u32) {
        if self.items.len() == self.k {
            self.items.pop();
        }
        let at = self.items.partition_point(|&(e, j)| before(e, j, d, row));
        self.items.insert(at, (d, row));
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn distance(a: &[f64], b: &[f64]) -> f64 {
        let mut d = 0.0;
        for (x, y) in a.iter().zip(b) {
            let t = x - y;
            d += t * t;
        }
        d
    }

    /// The definition: every row's distances, a stable sort, the first `k`.
    fn brute_force(points: Points<'_>, k: usize) -> Vec<u32> {
        let n = u32::try_from(points.rows()).expect("small");
        let mut out = Vec::new();
        for i in 0..n {
            let d: Vec<f64> = (0..n)
                .map(|j| distance(points.row(i), points.row(j)))
                .collect();
            let mut order: Vec<u32> = (0..n).collect();
            order.sort_by(|&a, &b| d[a as usize].total_cmp(&d[b as usize]));
            out.extend_from_slice(&order[..k]);
        }
        out
    }

    /// The tree's answer, its subtrees of 16 points or more built in parallel (and appended).
    fn tree(points: Points<'_>, k: usize, leaf: usize) -> Vec<u32> {
        Tree::build(points, leaf, 16).nearest(k)
    }

    /// Rows of `dims` values drawn from `levels` (few levels: many ties and duplicates).
    fn grid(max_rows: usize) -> impl Strategy<Value = (Vec<f64>, usize)> {
        (1_usize..6, 1_u32..5).prop_flat_map(move |(dims, levels)| {
            (
                prop::collection::vec((0..levels).prop_map(f64::from), dims..=max_rows * dims),
                Just(dims),
            )
                .prop_map(|(mut values, dims)| {
                    values.truncate(values.len() / dims * dims);
                    (values, dims)
                })
        })
    }

    proptest! {
        #[test]
        fn the_tree_finds_what_brute_force_finds_on_grids(
            (values, dims) in grid(120), k in 1_usize..8, leaf in 1_usize..6,
        ) {
            let points = Points { values: &values, dims };
            let k = k.min(points.rows());
            prop_assert_eq!(tree(points, k, leaf), brute_force(points, k));
        }

        #[test]
        fn the_tree_finds_what_brute_force_finds_with_duplicates(
            distinct in prop::collection::vec(prop::collection::vec(-2.0_f64..2.0, 3), 1..8),
            picks in prop::collection::vec(0_usize..8, 1..150),
            k in 1_usize..8,
            leaf in 1_usize..30,
        ) {
            let values: Vec<f64> =
                picks.iter().flat_map(|&p| distinct[p % distinct.len()].clone()).collect();
            let points = Points { values: &values, dims: 3 };
            let k = k.min(points.rows());
            prop_assert_eq!(tree(points, k, leaf), brute_force(points, k));
        }

        #[test]
        fn the_tree_finds_what_brute_force_finds_on_continuous_data(
            values in prop::collection::vec(-1e3_f64..1e3, 2..400), k in 1_usize..6,
        ) {
            let values = &values[..values.len() / 2 * 2];
            let points = Points { values, dims: 2 };
            let k = k.min(points.rows());
            prop_assert_eq!(tree(points, k, 3), brute_force(points, k));
        }
    }

    #[test]
    fn one_hot_blocks_of_duplicates_match_brute_force() {
        // 600 rows, 3 + 2 one-hot columns and a 0/1 flag: 12 distinct points.
        let values: Vec<f64> = (0_u32..600)
            .flat_map(|i| {
                let (a, b, c) = ((i * 7) % 3, (i * 11) % 2, (i / 5) % 2);
                [
                    f64::from(a == 0),
                    f64::from(a == 1),
                    f64::from(a == 2),
                    f64::from(b == 0),
                    f64::from(b == 1),
                    f64::from(c),
                ]
            })
            .collect();
        let points = Points {
            values: &values,
            dims: 6,
        };
        for k in [1, 5, 60, 200] {
            assert_eq!(
                neighbours(points, k).expect("valid"),
                brute_force(points, k)
            );
        }
    }

    #[test]
    fn a_row_is_its_own_nearest_and_ties_go_to_the_lower_row() {
        let values = [0.0, 1.0, 1.0, -1.0, 0.0];
        let points = Points {
            values: &values,
            dims: 1,
        };
        let found = neighbours(points, 3).expect("valid");
        // Row 0: itself and row 4 at 0, then rows 1, 2, 3 at 1: row 1.
        assert_eq!(&found[..3], &[0, 4, 1]);
        // Row 2 duplicates row 1: row 1 comes first.
        assert_eq!(&found[6..9], &[1, 2, 0]);
    }

    #[test]
    fn consistency_is_one_when_neighbours_agree() {
        let values = [0.0, 0.0, 0.1, 0.1, 9.0, 9.0, 9.1, 9.1];
        let points = Points {
            values: &values,
            dims: 2,
        };
        let c = consistency(points, &[1.0, 1.0, 0.0, 0.0], None, 2).expect("valid");
        assert!((c.consistency - 1.0).abs() < 1e-15);
        assert_eq!((c.rows, c.dims, c.neighbours), (4, 2, 2));
        assert!(c.groups.is_empty());
    }

    #[test]
    fn groups_follow_the_names_and_empty_ones_are_left_out() {
        let values = [0.0, 1.0, 2.0, 3.0];
        let points = Points {
            values: &values,
            dims: 1,
        };
        let names = ["x".to_owned(), "empty".to_owned(), "y".to_owned()];
        let c = consistency(
            points,
            &[1.0, 0.0, 0.0, 0.0],
            Some((&[2, 0, 2, 0], &names)),
            2,
        )
        .expect("valid");
        let seen: Vec<(&str, usize)> = c
            .groups
            .iter()
            .map(|g| (g.group.as_str(), g.rows))
            .collect();
        assert_eq!(seen, [("x", 2), ("y", 2)]);
        // Row 0 (y): |1 - 0.5|; row 1 (x): |0 - 0.5| (neighbours 1, 0); rows 2, 3: 0.
        assert!((c.groups[0].consistency - 0.75).abs() < 1e-15);
        assert!((c.groups[1].consistency - 0.75).abs() < 1e-15);
        assert!((c.consistency - 0.75).abs() < 1e-15);
    }

    #[test]
    fn bad_inputs_are_refused_with_what_is_wrong() {
        let values = [0.0, 1.0, 2.0, 3.0];
        let points = Points {
            values: &values,
            dims: 2,
        };
        let message = |e: Error| e.to_string();
        let y = [0.0, 1.0];
        assert_eq!(
            message(consistency(points, &y, None, 0).expect_err("k = 0")),
            "the consistency score needs at least one neighbour per row, got 0"
        );
        assert_eq!(
            message(consistency(points, &y, None, 3).expect_err("2 rows")),
            "2 rows are too few for 3 neighbours per row (a row is its own nearest)"
        );
        assert_eq!(
            message(
                consistency(
                    Points {
                        values: &values,
                        dims: 3
                    },
                    &y,
                    None,
                    1
                )
                .expect_err("shape")
            ),
            "4 feature values do not make rows of 3 dimensions"
        );
        assert!(
            consistency(
                Points {
                    values: &values,
                    dims: 0
                },
                &y,
                None,
                1
            )
            .is_err()
        );
        let nan = [0.0, 1.0, 2.0, f64::NAN];
        assert_eq!(
            message(
                consistency(
                    Points {
                        values: &nan,
                        dims: 2
                    },
                    &y,
                    None,
                    1
                )
                .expect_err("NaN")
            ),
            "feature 1 of row 1 is NaN; features must be finite"
        );
        assert_eq!(
            message(consistency(points, &[0.0], None, 1).expect_err("labels")),
            "the labels have 1 values for 2 rows"
        );
        assert_eq!(
            message(consistency(points, &[0.0, f64::INFINITY], None, 1).expect_err("label")),
            "the label of row 1 is inf; labels must be finite"
        );
        let names = ["a".to_owned()];
        assert_eq!(
            message(consistency(points, &y, Some((&[0], &names)), 1).expect_err("ids")),
            "the group ids have 1 values for 2 rows"
        );
        assert_eq!(
            message(consistency(points, &y, Some((&[0, 1], &names)), 1).expect_err("id")),
            "row 1 has the group id 1, but there are 1 group names"
        );
    }
}
