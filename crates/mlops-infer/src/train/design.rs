//! The encoded training rows as the full-batch solvers read them, and the sums over rows they
//! need. Numbers (and the intercept's ones) are dense f64 columns; a one-hot block is one slot
//! index per row, so a text column with many categories costs four bytes a row, not eight per
//! category, and its products cost one addition a row, not one per category. Every pass runs
//! over chunks of rows in a fixed number of blocks summed in order, so the result does not
//! depend on the number of threads.

use rayon::prelude::*;

/// Rows summed at once: a chunk's columns stay in the L1/L2 cache while the sums run.
const CHUNK: usize = 256;
/// Bytes of per-block partial sums held at once; fewer blocks for a bigger Hessian.
const PARTIALS_BYTES: usize = 64 << 20;

/// The slot index of a row whose category is missing or unseen in training: no slot is 1.
pub(super) const NO_SLOT: u32 = u32::MAX;

/// One input, encoded for the solvers.
pub(super) enum Encoded {
    /// One value a row.
    Dense(Vec<f64>),
    /// A one-hot block `width` slots wide: the slot holding 1 in each row, or [`NO_SLOT`].
    OneHot { slots: Vec<u32>, width: usize },
}

/// The rows of a set (training or validation), encoded, with the slots' numbering: input by
/// input, a one-hot block taking its width.
pub(super) struct Design<'a> {
    pub(super) inputs: &'a [Encoded],
    /// The table's row of each encoded row (for the label).
    pub(super) rows: &'a [usize],
    /// Slots in all.
    pub(super) width: usize,
}

impl Design<'_> {
    /// Folds `visit(accumulator, chunk's rows, chunk)` over chunks of rows, in blocks that run
    /// in parallel; the blocks' accumulators are merged in order, and their number depends
    /// only on the row count and `partial_bytes`, not on the threads.
    pub(super) fn fold<A: Send>(
        &self,
        partial_bytes: usize,
        init: impl Fn() -> A + Sync,
        visit: impl Fn(&mut A, &[usize], &Chunk<'_>) + Sync,
        merge: impl Fn(&mut A, A),
    ) -> A {
        let chunks = self.rows.len().div_ceil(CHUNK);
        let blocks = (PARTIALS_BYTES / partial_bytes.max(1)).clamp(1, 64);
        let per_block = chunks.div_ceil(blocks).max(1);
        let partials: Vec<A> = (0..chunks.div_ceil(per_block))
            .into_par_iter()
            .map(|block| {
                let mut acc = init();
                for c in block * per_block..((block + 1) * per_block).min(chunks) {
                    let start = c * CHUNK;
                    let end = (start + CHUNK).min(self.rows.len());
                    visit(&mut acc, &self.rows[start..end], &self.chunk(start, end));
                }
                acc
            })
            .collect();
        let mut total = init();
        for part in partials {
            merge(&mut total, part);
        }
        total
    }

    fn chunk(&self, start: usize, end: usize) -> Chunk<'_> {
        let mut chunk = Chunk {
            rows: end - start,
            dense: Vec::new(),
            onehot: Vec::new(),
        };
        let mut offset = 0;
        for input in self.inputs {
            match input {
                Encoded::Dense(values) => {
                    chunk.dense.push((offset, &values[start..end]));
                    offset += 1;
                }
                Encoded::OneHot { slots, width } => {
                    chunk.onehot.push((offset, &slots[start..end]));
                    offset += width;
                }
            }
        }
        chunk
    }
}

/// A chunk of rows: each dense column and each one-hot block with the number of its first slot.
pub(super) struct Chunk<'a> {
    pub(super) rows: usize,
    dense: Vec<(usize, &'a [f64])>,
    onehot: Vec<(usize, &'a [u32])>,
}

impl Chunk<'_> {
    /// `outputs` linear functions of the rows, `weights[k * p + j]` for slot `j` of output `k`:
    /// `z[k * m + t]` for the chunk's `m` rows.
    pub(super) fn outputs(&self, weights: &[f64], p: usize, outputs: usize) -> Vec<f64> {
        let m = self.rows;
        let mut z = vec![0.0; outputs * m];
        for (k, zk) in z.chunks_exact_mut(m).enumerate() {
            let w = &weights[k * p..(k + 1) * p];
            for &(j, column) in &self.dense {
                if w[j] != 0.0 {
                    for (zt, xv) in zk.iter_mut().zip(column) {
                        *zt += w[j] * xv;
                    }
                }
            }
            for &(offset, slots) in &self.onehot {
                for (zt, &s) in zk.iter_mut().zip(slots) {
                    if s != NO_SLOT {
                        *zt += w[offset + s as usize];
                    }
                }
            }
        }
        z
    }

    /// Adds `sum_t x_j[t] r[t]` to `out[j]` for every slot `j` (`r` `None`: all ones, the
    /// slots' sums).
    pub(super) fn add_products(&self, r: Option<&[f64]>, out: &mut [f64]) {
        let at = |t: usize| r.map_or(1.0, |r| r[t]);
        for &(j, column) in &self.dense {
            out[j] += match r {
                Some(r) => dot(column, r),
                None => column.iter().sum(),
            };
        }
        for &(offset, slots) in &self.onehot {
            for (t, &s) in slots.iter().enumerate() {
                if s != NO_SLOT {
                    out[offset + s as usize] += at(t);
                }
            }
        }
    }

    /// Adds `sum_t weight[t] x_i[t] x_j[t]` to `out[i * stride + j]` for every pair of slots
    /// `i <= j` (`weight` `None`: all ones). A one-hot block adds to its diagonal only (one
    /// slot is 1 in a row), and to the entries it shares with a column or another block.
    pub(super) fn add_gram(&self, weight: Option<&[f64]>, out: &mut [f64], stride: usize) {
        let at = |t: usize| weight.map_or(1.0, |w| w[t]);
        let mut add = |i: usize, j: usize, v: f64| {
            let (lo, hi) = if i <= j { (i, j) } else { (j, i) };
            out[lo * stride + hi] += v;
        };
        let mut scaled = vec![0.0; self.rows];
        for (n, &(i, xi)) in self.dense.iter().enumerate() {
            let a = match weight {
                Some(w) => {
                    for ((s, xv), wv) in scaled.iter_mut().zip(xi).zip(w) {
                        *s = xv * wv;
                    }
                    &scaled[..]
                }
                None => xi,
            };
            for &(j, xj) in &self.dense[n..] {
                add(i, j, dot(a, xj));
            }
            for &(offset, slots) in &self.onehot {
                for (&s, v) in slots.iter().zip(a) {
                    if s != NO_SLOT {
                        add(i, offset + s as usize, *v);
                    }
                }
            }
        }
        for (n, &(first, slots)) in self.onehot.iter().enumerate() {
            for (t, &s) in slots.iter().enumerate() {
                if s != NO_SLOT {
                    let i = first + s as usize;
                    add(i, i, at(t));
                }
            }
            for &(second, others) in &self.onehot[n + 1..] {
                for (t, (&s, &o)) in slots.iter().zip(others).enumerate() {
                    if s != NO_SLOT && o != NO_SLOT {
                        add(first + s as usize, second + o as usize, at(t));
                    }
                }
            }
        }
    }
}

/// `a . b`, in eight running sums so that it vectorises.
pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in a8.zip(b8) {
        for l in 0..8 {
            lanes[l] += ca[l] * cb[l];
        }
    }
    lanes.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same rows as dense columns and with a one-hot block give the same sums.
    #[test]
    fn one_hot_blocks_sum_as_their_dense_columns() {
        let number = vec![0.5, -1.0, 2.0, 0.25, 1.5];
        let slots = vec![0, 2, NO_SLOT, 1, 0];
        let other = vec![1, 0, 1, NO_SLOT, 0];
        let dense_of = |slots: &[u32], width: usize| -> Vec<Encoded> {
            (0..width)
                .map(|k| {
                    Encoded::Dense(
                        slots
                            .iter()
                            .map(|&s| f64::from(u8::from(s as usize == k)))
                            .collect(),
                    )
                })
                .collect()
        };
        let sparse = [
            Encoded::Dense(number.clone()),
            Encoded::OneHot {
                slots: slots.clone(),
                width: 3,
            },
            Encoded::OneHot {
                slots: other.clone(),
                width: 2,
            },
        ];
        let mut dense = vec![Encoded::Dense(number)];
        dense.extend(dense_of(&slots, 3));
        dense.extend(dense_of(&other, 2));
        let rows: Vec<usize> = (0..5).collect();
        let weight = [0.2, 0.1, 0.3, 0.05, 0.25];
        let r = [1.0, -2.0, 0.5, 3.0, -1.0];
        let sums = |inputs: &[Encoded]| {
            let design = Design {
                inputs,
                rows: &rows,
                width: 6,
            };
            let chunk = design.chunk(0, 5);
            let mut gram = vec![0.0; 36];
            chunk.add_gram(Some(&weight), &mut gram, 6);
            let mut products = vec![0.0; 6];
            chunk.add_products(Some(&r), &mut products);
            let w: Vec<f64> = (0..12).map(|i| f64::from(i) * 0.1 - 0.4).collect();
            (gram, products, chunk.outputs(&w, 6, 2))
        };
        let (a, b) = (sums(&sparse), sums(&dense));
        for (x, y) in
            a.0.iter()
                .chain(&a.1)
                .chain(&a.2)
                .zip(b.0.iter().chain(&b.1).chain(&b.2))
        {
            assert!((x - y).abs() < 1e-15, "{a:?} vs {b:?}");
        }
    }
}
