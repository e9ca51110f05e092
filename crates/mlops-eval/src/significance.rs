//! Testing each slice against the rest of the data, and flagging the ones where the model is
//! significantly worse.
//!
//! Two kinds of tested metric, each with the test that fits it:
//! - a **proportion** (accuracy, recall, ...: a share of the rows in a denominator): the pooled
//!   two-sided two-proportion z-test, a Wilson interval, and the effect as the difference of the
//!   proportions;
//! - a **mean of a per-row loss** (regression MAE, MSE, RMSE, MAPE: the mean of the absolute,
//!   squared or percentage errors): Welch's unequal-variance t-test on the slice's losses against
//!   the rest's (a proportion is the mean of 0/1 outcomes, so this is the same question asked of
//!   losses that are not 0/1), a Student t interval of the mean, and the effect relative to the
//!   rest (`0.25`: the slice's error is 25% above the rest's), since an absolute difference in the
//!   target's units could not share one `min_effect` across targets. RMSE is tested on the squared
//!   errors, the mean behind it.
//!
//! p-values are adjusted with Benjamini-Hochberg across the tested slices; a slice with at least
//! `min_rows` rows is `underperforming` when its adjusted p-value is below `alpha` and its effect
//! exceeds `min_effect`. Tests count rows, not sample weights.

use serde::Serialize;

use crate::slices::{Dimension, SliceColumn, SliceOptions, partition};
use crate::stats::{Moments, wilson_interval};
use crate::stats::{benjamini_hochberg, t_interval, two_proportion_p_value, welch_p_value};

/// What each row contributes to the tested metric.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcomes {
    /// Per row: (counts in the denominator, is a success).
    Proportion {
        rows: Vec<(bool, bool)>,
        higher_is_better: bool,
    },
    /// Per row: its loss. The tested value is their mean, or its square root with `root`; lower
    /// is better.
    Mean { losses: Vec<f64>, root: bool },
}

impl Outcomes {
    /// The name of the test behind the p-values, as the report records it.
    pub(crate) fn test_name(&self) -> &'static str {
        match self {
            Outcomes::Proportion { .. } => "two_proportion_z",
            Outcomes::Mean { .. } => "welch_t",
        }
    }

    /// How the effect size is measured, as the report records it.
    pub(crate) fn effect_kind(&self) -> &'static str {
        match self {
            Outcomes::Proportion { .. } => "difference",
            Outcomes::Mean { .. } => "relative",
        }
    }

    /// The moments of the whole data's outcomes, about `shift` (see [`Moments`]).
    fn shift(&self) -> f64 {
        match self {
            Outcomes::Proportion { .. } => 0.0,
            Outcomes::Mean { losses, .. } => {
                #[expect(clippy::cast_precision_loss, reason = "row counts fit an f64 exactly")]
                let n = losses.len().max(1) as f64;
                losses.iter().sum::<f64>() / n
            }
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
    /// How much worse the slice is than the rest (positive: worse); for a mean, relative to the
    /// rest (infinite when the rest has no error at all and the slice has some).
    pub effect_size: Option<f64>,
    /// The Benjamini-Hochberg adjusted p-value; `None` for slices that were not tested.
    pub p_value: Option<f64>,
    pub underperforming: bool,
}

impl Dimension {
    /// Per slice: rows, and the moments of the outcomes in the denominator about `shift`.
    fn moments(&self, outcomes: &Outcomes, shift: f64) -> Vec<(usize, Moments)> {
        let mut per_slice = vec![(0, Moments::default()); self.slices.len()];
        match outcomes {
            Outcomes::Proportion { rows, .. } => {
                // Counted as integers: the hot path of binary tasks at millions of rows.
                let mut counts = vec![(0usize, 0usize, 0usize); self.slices.len()];
                for (&id, &(trial, success)) in self.ids.iter().zip(rows) {
                    let c = &mut counts[id as usize];
                    c.0 += 1;
                    c.1 += usize::from(trial);
                    c.2 += usize::from(trial && success);
                }
                for (out, (rows, trials, successes)) in per_slice.iter_mut().zip(counts) {
                    *out = (rows, Moments::of_counts(trials, successes));
                }
            }
            Outcomes::Mean { losses, .. } => {
                for (&id, &loss) in self.ids.iter().zip(losses) {
                    let (rows, m) = &mut per_slice[id as usize];
                    *rows += 1;
                    m.add(loss - shift);
                }
            }
        }
        per_slice
    }
}

/// One slice to test: its name, rows, and the moments of its outcomes and of all the data's.
struct Candidate<'d> {
    columns: &'d [String],
    values: &'d [String],
    rows: usize,
    slice: Moments,
    all: Moments,
}

/// The slices of `dimensions` with their moments, in dimension then slice order.
fn candidates<'d>(
    dimensions: &'d [Dimension],
    outcomes: &Outcomes,
    shift: f64,
) -> Vec<Candidate<'d>> {
    let all = match outcomes {
        Outcomes::Proportion { rows, .. } => {
            let (trials, successes) = rows.iter().fold((0usize, 0usize), |(t, s), &(i, ok)| {
                (t + usize::from(i), s + usize::from(i && ok))
            });
            Moments::of_counts(trials, successes)
        }
        Outcomes::Mean { losses, .. } => {
            let mut m = Moments::default();
            for &loss in losses {
                m.add(loss - shift);
            }
            m
        }
    };
    dimensions
        .iter()
        .flat_map(|d| {
            d.moments(outcomes, shift).into_iter().zip(&d.slices).map(
                move |((rows, slice), values)| Candidate {
                    columns: &d.columns,
                    values,
                    rows,
                    slice,
                    all,
                },
            )
        })
        .collect()
}

/// Tests each slice's metric against the rest of the data and flags the underperforming ones
/// (see the module comment). Results in dimension then slice order.
pub fn test(
    dimensions: &[Dimension],
    outcomes: &Outcomes,
    options: &SliceOptions,
) -> Vec<SliceResult> {
    let shift = outcomes.shift();
    test_candidates(
        &candidates(dimensions, outcomes, shift),
        outcomes,
        shift,
        options,
    )
}

/// [`test`] for proportions counted elsewhere (a sharded evaluation's merged counts): per
/// dimension, each slice's (rows, trials, successes), and the whole data's (trials, successes).
pub(crate) fn test_counts(
    dimensions: &[Dimension],
    counts: &[Vec<(usize, usize, usize)>],
    all: (usize, usize),
    higher_is_better: bool,
    options: &SliceOptions,
) -> Vec<SliceResult> {
    let moments: Vec<Vec<(usize, Moments)>> = counts
        .iter()
        .map(|counts| {
            counts
                .iter()
                .map(|&(rows, trials, successes)| (rows, Moments::of_counts(trials, successes)))
                .collect()
        })
        .collect();
    let outcomes = Outcomes::Proportion {
        rows: Vec::new(),
        higher_is_better,
    };
    let all = Moments::of_counts(all.0, all.1);
    test_moments(dimensions, &moments, all, &outcomes, 0.0, options)
}

/// [`test`] for outcomes summed elsewhere: per dimension, each slice's rows and the moments of
/// its outcomes about `shift`, and the whole data's; `outcomes` says only which test (its rows
/// are not read).
pub(crate) fn test_moments(
    dimensions: &[Dimension],
    moments: &[Vec<(usize, Moments)>],
    all: Moments,
    outcomes: &Outcomes,
    shift: f64,
    options: &SliceOptions,
) -> Vec<SliceResult> {
    let candidates: Vec<Candidate> = dimensions
        .iter()
        .zip(moments)
        .flat_map(|(d, moments)| {
            d.slices
                .iter()
                .zip(moments)
                .map(move |(values, &(rows, slice))| Candidate {
                    columns: &d.columns,
                    values,
                    rows,
                    slice,
                    all,
                })
        })
        .collect();
    test_candidates(&candidates, outcomes, shift, options)
}

fn test_candidates(
    candidates: &[Candidate],
    outcomes: &Outcomes,
    shift: f64,
    options: &SliceOptions,
) -> Vec<SliceResult> {
    let mut results: Vec<SliceResult> = candidates
        .iter()
        .map(|c| slice_result(c, outcomes, shift, options))
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

/// The tested value of a slice's outcomes from their moments about `shift`.
fn value_of(m: &Moments, outcomes: &Outcomes, shift: f64) -> Option<f64> {
    let mean = m.mean()?;
    Some(match outcomes {
        Outcomes::Proportion { .. } => mean,
        Outcomes::Mean { root, .. } => {
            let mean = shift + mean;
            if *root { mean.max(0.0).sqrt() } else { mean }
        }
    })
}

fn slice_result(
    c: &Candidate,
    outcomes: &Outcomes,
    shift: f64,
    options: &SliceOptions,
) -> SliceResult {
    let rest = c.all.minus(&c.slice);
    let (value, rest_value) = (
        value_of(&c.slice, outcomes, shift),
        value_of(&rest, outcomes, shift),
    );
    let effect_size = match (value, rest_value, outcomes) {
        (
            Some(v),
            Some(r),
            Outcomes::Proportion {
                higher_is_better, ..
            },
        ) => Some(if *higher_is_better { r - v } else { v - r }),
        (Some(v), Some(r), Outcomes::Mean { .. }) => Some(if r > 0.0 {
            (v - r) / r
        } else if v > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }),
        _ => None,
    };
    let tested = c.rows >= options.min_rows;
    let (p_value, ci) = match outcomes {
        Outcomes::Proportion { .. } => (
            tested
                .then(|| two_proportion_p_value(c.slice.sum, c.slice.n, rest.sum, rest.n))
                .flatten(),
            wilson_interval(c.slice.sum, c.slice.n, options.confidence),
        ),
        Outcomes::Mean { root, .. } => (
            tested.then(|| welch_p_value(&c.slice, &rest)).flatten(),
            t_interval(&c.slice, options.confidence).map(|(lo, hi)| {
                let (lo, hi) = (shift + lo, shift + hi);
                if *root {
                    (lo.max(0.0).sqrt(), hi.max(0.0).sqrt())
                } else {
                    (lo, hi)
                }
            }),
        ),
    };
    SliceResult {
        columns: c.columns.to_vec(),
        values: c.values.to_vec(),
        rows: c.rows,
        value,
        ci,
        rest: rest_value,
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
    outcomes: &Outcomes,
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
    let shift = outcomes.shift();
    let all = candidates(&dimensions, outcomes, shift);
    let (singles, crossed): (Vec<Candidate>, Vec<Candidate>) =
        all.into_iter().partition(|c| c.columns.len() == 1);
    let first = test_candidates(&singles, outcomes, shift, options);
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
    let mut found: Vec<SliceResult> = test_candidates(&all, outcomes, shift, options)
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

    fn dimension(ids: Vec<u32>) -> Dimension {
        Dimension {
            columns: vec!["part".into()],
            slices: vec![vec!["a".into()], vec!["b".into()]],
            ids,
        }
    }

    #[test]
    fn a_slice_with_larger_errors_is_flagged_relative_to_the_rest() {
        // Slice a: errors around 2, the rest around 1.
        let ids: Vec<u32> = (0..200).map(|i| u32::from(i % 4 == 0)).collect();
        let losses: Vec<f64> = ids
            .iter()
            .enumerate()
            .map(|(i, &id)| {
                let noise = f64::from(u32::try_from(i % 7).expect("small")) / 10.0;
                if id == 1 { 2.0 + noise } else { 1.0 + noise }
            })
            .collect();
        let outcomes = Outcomes::Mean {
            losses,
            root: false,
        };
        let results = test(&[dimension(ids)], &outcomes, &SliceOptions::default());
        let b = &results[1];
        assert!(b.underperforming, "{b:?}");
        let (v, r) = (b.value.expect("value"), b.rest.expect("rest"));
        assert!((b.effect_size.expect("effect") - (v - r) / r).abs() < 1e-12);
        assert!(!results[0].underperforming);
        let (lo, hi) = b.ci.expect("an interval");
        assert!(lo < v && v < hi);
    }

    #[test]
    fn a_rest_without_error_makes_any_error_infinitely_worse() {
        let ids: Vec<u32> = (0..100).map(|i| u32::from(i >= 50)).collect();
        let losses: Vec<f64> = (0..100)
            .map(|i| if i >= 50 { f64::from(i % 3) } else { 0.0 })
            .collect();
        let results = test(
            &[dimension(ids)],
            &Outcomes::Mean { losses, root: true },
            &SliceOptions::default(),
        );
        assert_eq!(results[1].effect_size, Some(f64::INFINITY));
        assert!(results[1].underperforming);
        assert_eq!(results[0].rest.map(|r| r > 0.0), Some(true));
    }
}
