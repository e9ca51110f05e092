//! Slices and error analysis: a proportion metric per slice of the data, with a Wilson interval,
//! and a flag on the slices where the model is significantly worse than on the rest.
//!
//! Slices come from categorical columns (one per value), numeric columns (quantile bins) and
//! crossings of columns. Each slice with at least `min_rows` rows is tested against the rest of
//! the data with the pooled two-proportion z-test; p-values are adjusted with Benjamini-Hochberg
//! across the tested slices. A slice is `underperforming` when its adjusted p-value is below
//! `alpha` and it is worse than the rest by more than `min_effect`.

use std::borrow::Cow;

use serde::Serialize;

use crate::groupby::{self, Codes};
use crate::stats::{benjamini_hochberg, two_proportion_p_value, wilson_interval};
use rayon::prelude::*;

/// Missing values form their own slice, named so.
pub const MISSING: &str = "(missing)";

/// A metric that is a proportion of rows, so a slice can be tested against the rest exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProportionMetric {
    Accuracy,
    Recall,
    Precision,
    Fpr,
    Tnr,
    Fnr,
    SelectionRate,
}

impl ProportionMetric {
    /// Whether a row counts in the denominator, and whether it is a success.
    pub fn row(self, label: bool, prediction: bool) -> (bool, bool) {
        match self {
            Self::Accuracy => (true, label == prediction),
            Self::Recall => (label, prediction),
            Self::Fnr => (label, !prediction),
            Self::Precision => (prediction, label),
            Self::Fpr => (!label, prediction),
            Self::Tnr => (!label, !prediction),
            Self::SelectionRate => (true, prediction),
        }
    }

    /// Whether larger values are better (a weak slice is then one with a lower value).
    pub fn higher_is_better(self) -> bool {
        !matches!(self, Self::Fpr | Self::Fnr)
    }
}

/// A column to slice by.
#[derive(Debug, Clone, Copy)]
pub enum SliceColumn<'a> {
    Categorical {
        name: &'a str,
        values: &'a [Option<String>],
    },
    Numeric {
        name: &'a str,
        values: &'a [Option<f64>],
    },
    /// Categories already coded: each row's id into `labels` (`u32::MAX` is missing).
    Coded {
        name: &'a str,
        labels: &'a [String],
        ids: &'a [u32],
    },
}

/// Settings for slicing and testing.
#[derive(Debug, Clone)]
pub struct SliceOptions {
    /// Quantile bins for numeric columns.
    pub bins: usize,
    /// Sets of column indices to cross, besides each column alone.
    pub crossings: Vec<Vec<usize>>,
    pub alpha: f64,
    pub min_effect: f64,
    pub min_rows: usize,
    /// For the Wilson intervals.
    pub confidence: f64,
}

impl Default for SliceOptions {
    fn default() -> Self {
        Self {
            bins: 4,
            crossings: Vec::new(),
            alpha: 0.05,
            min_effect: 0.05,
            min_rows: 30,
            confidence: 0.95,
        }
    }
}

/// One slice's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SliceResult {
    pub columns: Vec<String>,
    pub values: Vec<String>,
    pub rows: usize,
    /// The metric on the slice; `None` when the slice has no row in its denominator.
    pub value: Option<f64>,
    pub ci: Option<(f64, f64)>,
    /// The metric on the rest of the data.
    pub rest: Option<f64>,
    /// How much worse the slice is than the rest (positive: worse).
    pub effect_size: Option<f64>,
    /// The Benjamini-Hochberg adjusted p-value; `None` for slices that were not tested.
    pub p_value: Option<f64>,
    pub underperforming: bool,
}

/// One column's rows as small ids into its distinct labels (categories as they are, numbers as
/// quantile bins), so slicing compares integers, not strings. The last label may stand for a
/// missing value, with [`groupby::MISSING`] as its id (a coded column's ids, borrowed as they
/// are: the group-by reads that id as the last label).
struct Labelled<'a> {
    name: String,
    labels: Vec<String>,
    ids: Cow<'a, [u32]>,
}

fn intern<'a>(
    labels: &mut Vec<String>,
    index: &mut std::collections::HashMap<&'a str, u32>,
    value: &'a str,
) -> u32 {
    *index.entry(value).or_insert_with(|| {
        labels.push(value.to_owned());
        u32::try_from(labels.len() - 1).expect("fewer than 2^32 distinct values")
    })
}

fn labelled<'a>(column: &SliceColumn<'a>, bins: usize) -> Labelled<'a> {
    match column {
        SliceColumn::Categorical { name, values } => {
            let mut labels = Vec::new();
            let mut index = std::collections::HashMap::new();
            let ids = values
                .iter()
                .map(|v| intern(&mut labels, &mut index, v.as_deref().unwrap_or(MISSING)))
                .collect();
            Labelled {
                name: (*name).to_owned(),
                labels,
                ids,
            }
        }
        SliceColumn::Coded { name, labels, ids } => {
            let mut labels = labels.to_vec();
            labels.push(MISSING.to_owned());
            Labelled {
                name: (*name).to_owned(),
                labels,
                ids: Cow::Borrowed(ids),
            }
        }
        SliceColumn::Numeric { name, values } => {
            let mut finite: Vec<f64> = values
                .iter()
                .flatten()
                .copied()
                .filter(|v| !v.is_nan())
                .collect();
            let bins = bins.max(1);
            // The k/bins quantiles by successive selections, each in what the last one left
            // above it: linear time, where a sort of millions of values takes most of a second.
            let n = finite.len();
            let mut edges: Vec<f64> = Vec::new();
            let mut from = 0;
            for k in 1..bins {
                let at = k * n / bins;
                if at >= n {
                    break;
                }
                let (_, edge, _) = finite[from..].select_nth_unstable_by(at - from, f64::total_cmp);
                edges.push(*edge);
                from = at;
            }
            edges.dedup();
            // Label k is the bin with k edges at or below its values; the last label is MISSING.
            let mut labels: Vec<String> = (0..=edges.len())
                .map(
                    |k| match (k.checked_sub(1).map(|j| edges[j]), edges.get(k)) {
                        (None, Some(hi)) => format!("< {hi}"),
                        (Some(lo), Some(hi)) => format!("[{lo}, {hi})"),
                        (Some(lo), None) => format!(">= {lo}"),
                        (None, None) => "all".to_owned(),
                    },
                )
                .collect();
            labels.push(MISSING.to_owned());
            let missing = u32::try_from(labels.len() - 1).expect("few bins");
            let ids = values
                .iter()
                .map(|v| match v.filter(|v| !v.is_nan()) {
                    Some(v) => u32::try_from(edges.partition_point(|&e| e <= v)).expect("few bins"),
                    None => missing,
                })
                .collect();
            Labelled {
                name: (*name).to_owned(),
                labels,
                ids,
            }
        }
    }
}

/// One way of slicing the rows (one column, or a crossing of several): its slices, and the
/// slice of each row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dimension {
    pub columns: Vec<String>,
    /// Each slice's values (one per column), sorted.
    pub slices: Vec<Vec<String>>,
    /// Each row's slice: an index into `slices`.
    pub ids: Vec<u32>,
}

impl Dimension {
    /// The rows of each slice.
    pub fn rows(&self) -> Vec<Vec<usize>> {
        let mut rows = vec![Vec::new(); self.slices.len()];
        for (r, &id) in self.ids.iter().enumerate() {
            rows[id as usize].push(r);
        }
        rows
    }

    /// The number of rows in each slice.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![0; self.slices.len()];
        for &id in &self.ids {
            sizes[id as usize] += 1;
        }
        sizes
    }

    /// Per slice: rows, rows in the denominator of `outcomes`, and successes among them.
    fn counts(&self, outcomes: &[(bool, bool)]) -> Vec<(usize, usize, usize)> {
        let mut counts = vec![(0, 0, 0); self.slices.len()];
        for (&id, &(trial, success)) in self.ids.iter().zip(outcomes) {
            let c = &mut counts[id as usize];
            c.0 += 1;
            c.1 += usize::from(trial);
            c.2 += usize::from(trial && success);
        }
        counts
    }
}

/// Splits the rows into slices: one dimension per column, plus one per crossing in `options`.
pub fn partition(columns: &[SliceColumn], options: &SliceOptions) -> Vec<Dimension> {
    let per_column: Vec<Labelled> = columns
        .par_iter()
        .map(|c| labelled(c, options.bins))
        .collect();
    let rows = per_column.first().map_or(0, |c| c.ids.len());
    let mut sets: Vec<Vec<usize>> = (0..columns.len()).map(|i| vec![i]).collect();
    sets.extend(options.crossings.iter().cloned());
    sets.par_iter()
        .map(|set| {
            let columns: Vec<Codes> = set
                .iter()
                .map(|&c| Codes {
                    ids: &per_column[c].ids,
                    radix: u32::try_from(per_column[c].labels.len())
                        .expect("fewer than 2^32 labels"),
                })
                .collect();
            // Slices in the order of their values.
            let (slices, ids) = groupby::named_groups(
                &columns,
                rows,
                |c, id| Some(per_column[set[c]].labels[id as usize].clone()),
                groupby::Order::Name,
            );
            Dimension {
                columns: set.iter().map(|&c| per_column[c].name.clone()).collect(),
                slices,
                ids,
            }
        })
        .collect()
}

/// Per-row outcomes of a proportion metric: (counts in the denominator, is a success).
pub fn outcomes(
    metric: ProportionMetric,
    labels: &[bool],
    predictions: &[bool],
) -> Vec<(bool, bool)> {
    labels
        .iter()
        .zip(predictions)
        .map(|(&y, &p)| metric.row(y, p))
        .collect()
}

/// One slice to test: its name and counts.
struct Candidate<'d> {
    columns: &'d [String],
    values: &'d [String],
    counts: Counts,
}

/// The slices of `dimensions` with their counts, in dimension then slice order.
fn candidates<'d>(dimensions: &'d [Dimension], outcomes: &[(bool, bool)]) -> Vec<Candidate<'d>> {
    let (all_trials, all_successes) = outcomes.iter().fold((0usize, 0usize), |(t, s), &(i, ok)| {
        (t + usize::from(i), s + usize::from(i && ok))
    });
    dimensions
        .iter()
        .flat_map(|d| {
            d.counts(outcomes).into_iter().zip(&d.slices).map(
                move |((rows, trials, successes), values)| Candidate {
                    columns: &d.columns,
                    values,
                    counts: Counts {
                        rows,
                        trials,
                        successes,
                        all_trials,
                        all_successes,
                    },
                },
            )
        })
        .collect()
}

/// Tests each slice's proportion against the rest of the data and flags the underperforming
/// ones (see the module comment); `higher_is_better` says which direction is worse. Results in
/// dimension then slice order.
pub fn test(
    dimensions: &[Dimension],
    outcomes: &[(bool, bool)],
    higher_is_better: bool,
    options: &SliceOptions,
) -> Vec<SliceResult> {
    test_candidates(&candidates(dimensions, outcomes), higher_is_better, options)
}

fn test_candidates(
    candidates: &[Candidate],
    higher_is_better: bool,
    options: &SliceOptions,
) -> Vec<SliceResult> {
    let mut results: Vec<SliceResult> = candidates
        .iter()
        .map(|c| slice_result(c, higher_is_better, options))
        .collect();
    // Benjamini-Hochberg over the tested slices.
    let tested: Vec<usize> = (0..results.len())
        .filter(|&i| results[i].p_value.is_some())
        .collect();
    let raw: Vec<f64> = tested
        .iter()
        .map(|&i| results[i].p_value.expect("tested"))
        .collect();
    for (&i, q) in tested.iter().zip(benjamini_hochberg(&raw)) {
        let r = &mut results[i];
        r.p_value = Some(q);
        r.underperforming =
            q < options.alpha && r.effect_size.is_some_and(|e| e > options.min_effect);
    }
    results
}

/// Computes `metric` on every slice and flags the underperforming ones.
pub fn analyze(
    labels_true: &[bool],
    predictions: &[bool],
    metric: ProportionMetric,
    columns: &[SliceColumn],
    options: &SliceOptions,
) -> Vec<SliceResult> {
    test(
        &partition(columns, options),
        &outcomes(metric, labels_true, predictions),
        metric.higher_is_better(),
        options,
    )
}

/// One slice's counts and the totals it is tested against.
#[derive(Clone, Copy)]
struct Counts {
    rows: usize,
    trials: usize,
    successes: usize,
    all_trials: usize,
    all_successes: usize,
}

#[expect(clippy::cast_precision_loss, reason = "row counts fit an f64 exactly")]
fn slice_result(
    candidate: &Candidate,
    higher_is_better: bool,
    options: &SliceOptions,
) -> SliceResult {
    let c = candidate.counts;
    let (rest_trials, rest_successes) = (c.all_trials - c.trials, c.all_successes - c.successes);
    let share = |s: usize, t: usize| (t > 0).then(|| s as f64 / t as f64);
    let (value, rest) = (
        share(c.successes, c.trials),
        share(rest_successes, rest_trials),
    );
    let effect_size = match (value, rest) {
        (Some(v), Some(r)) => Some(if higher_is_better { r - v } else { v - r }),
        _ => None,
    };
    let p_value = if c.rows >= options.min_rows {
        two_proportion_p_value(
            c.successes as f64,
            c.trials as f64,
            rest_successes as f64,
            rest_trials as f64,
        )
    } else {
        None
    };
    SliceResult {
        columns: candidate.columns.to_vec(),
        values: candidate.values.to_vec(),
        rows: c.rows,
        value,
        ci: wilson_interval(c.successes as f64, c.trials as f64, options.confidence),
        rest,
        effect_size,
        p_value,
        underperforming: false,
    }
}

/// SliceFinder-style search: every slice of one column, then every crossing of two columns
/// except those inside a slice already flagged (they would repeat it). All tested slices are
/// adjusted together with Benjamini-Hochberg. Returns the flagged slices, largest first (then
/// the most severe), at most `top`.
pub fn discover(
    columns: &[SliceColumn],
    outcomes: &[(bool, bool)],
    higher_is_better: bool,
    options: &SliceOptions,
    top: usize,
) -> Vec<SliceResult> {
    let pairs: Vec<Vec<usize>> = (0..columns.len())
        .flat_map(|a| ((a + 1)..columns.len()).map(move |b| vec![a, b]))
        .collect();
    let dimensions = partition(
        columns,
        &SliceOptions {
            crossings: pairs,
            ..options.clone()
        },
    );
    let all = candidates(&dimensions, outcomes);
    let (singles, crossed): (Vec<Candidate>, Vec<Candidate>) =
        all.into_iter().partition(|c| c.columns.len() == 1);
    let first = test_candidates(&singles, higher_is_better, options);
    let flagged: Vec<(&str, &str)> = first
        .iter()
        .filter(|r| r.underperforming)
        .map(|r| (r.columns[0].as_str(), r.values[0].as_str()))
        .collect();
    let kept = crossed.into_iter().filter(|c| {
        !c.columns
            .iter()
            .zip(c.values)
            .any(|(c, v)| flagged.contains(&(c.as_str(), v.as_str())))
    });
    let all: Vec<Candidate> = singles.into_iter().chain(kept).collect();
    let mut found: Vec<SliceResult> = test_candidates(&all, higher_is_better, options)
        .into_iter()
        .filter(|r| r.underperforming)
        .collect();
    found.sort_by(|a, b| {
        b.rows.cmp(&a.rows).then_with(|| {
            b.effect_size
                .unwrap_or(0.0)
                .total_cmp(&a.effect_size.unwrap_or(0.0))
        })
    });
    found.truncate(top);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_coded_column_slices_as_its_values_do_missing_ones_included() {
        let labels = ["b".to_owned(), "a".to_owned()];
        let ids = [0, groupby::MISSING, 1, 0, groupby::MISSING, 1, 1];
        let values: Vec<Option<String>> = ids
            .iter()
            .map(|&i| labels.get(i as usize).cloned())
            .collect();
        let numbers: Vec<Option<f64>> = (0u8..7).map(|i| Some(f64::from(i))).collect();
        let options = SliceOptions {
            crossings: vec![vec![0, 1]],
            ..SliceOptions::default()
        };
        let with = |first: SliceColumn| {
            partition(
                &[
                    first,
                    SliceColumn::Numeric {
                        name: "n",
                        values: &numbers,
                    },
                ],
                &options,
            )
        };
        let coded = with(SliceColumn::Coded {
            name: "c",
            labels: &labels,
            ids: &ids,
        });
        let plain = with(SliceColumn::Categorical {
            name: "c",
            values: &values,
        });
        assert_eq!(coded, plain);
        assert_eq!(
            coded[0].slices,
            [
                vec!["(missing)".to_owned()],
                vec!["a".into()],
                vec!["b".into()]
            ]
        );
        assert_eq!(coded[0].ids, [2, 0, 1, 2, 0, 1, 1]);
    }
}
