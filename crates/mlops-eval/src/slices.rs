//! Slices: splitting the rows by the values of columns (categories, quantile bins of numbers,
//! crossings of columns), the metric tested per slice, and the slice reports of an evaluation.
//!
//! Slices come from categorical columns (one per value), numeric columns (quantile bins) and
//! crossings of columns. Each slice gets every metric of the task (see the private `measure`); the
//! tested metric ([`SliceMetric`]: a proportion for classification, a mean error for regression)
//! is tested against the rest of the data as the private `significance` describes, and the slices
//! where the model is significantly worse are flagged.

use std::borrow::Cow;
use std::collections::BTreeMap;

use mlops_data::table::{Column, Table};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::groupby::{self, Codes};
use crate::input::{Prepared, Task};
use crate::measure::{Measured, split};
use crate::report::{SliceReport, SliceTest};
pub use crate::significance::{Outcomes, SliceResult, discover, test};
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
    pub(crate) fn row(self, label: bool, prediction: bool) -> (bool, bool) {
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
    pub(crate) fn higher_is_better(self) -> bool {
        !matches!(self, Self::Fpr | Self::Fnr)
    }
}

/// The metric tested on each slice: a proportion for classification tasks (multiclass: accuracy
/// only), a mean error for regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SliceMetric {
    Accuracy,
    Recall,
    Precision,
    Fpr,
    Tnr,
    Fnr,
    SelectionRate,
    Mae,
    Mse,
    Rmse,
    Mape,
}

impl SliceMetric {
    /// Every slice metric, proportions first.
    pub const ALL: [SliceMetric; 11] = [
        Self::Accuracy,
        Self::Recall,
        Self::Precision,
        Self::Fpr,
        Self::Tnr,
        Self::Fnr,
        Self::SelectionRate,
        Self::Mae,
        Self::Mse,
        Self::Rmse,
        Self::Mape,
    ];

    /// The metric of a report name (`selection_rate`).
    pub fn from_name(name: &str) -> Option<SliceMetric> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The metric's name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Self::Accuracy => "accuracy",
            Self::Recall => "recall",
            Self::Precision => "precision",
            Self::Fpr => "fpr",
            Self::Tnr => "tnr",
            Self::Fnr => "fnr",
            Self::SelectionRate => "selection_rate",
            Self::Mae => "mae",
            Self::Mse => "mse",
            Self::Rmse => "rmse",
            Self::Mape => "mape",
        }
    }

    /// The proportion behind a classification metric; `None` for a regression one.
    pub fn proportion(self) -> Option<ProportionMetric> {
        Some(match self {
            Self::Accuracy => ProportionMetric::Accuracy,
            Self::Recall => ProportionMetric::Recall,
            Self::Precision => ProportionMetric::Precision,
            Self::Fpr => ProportionMetric::Fpr,
            Self::Tnr => ProportionMetric::Tnr,
            Self::Fnr => ProportionMetric::Fnr,
            Self::SelectionRate => ProportionMetric::SelectionRate,
            Self::Mae | Self::Mse | Self::Rmse | Self::Mape => return None,
        })
    }

    /// The metric tested for `task`: `chosen`, or the task's default (accuracy; MAE for
    /// regression).
    ///
    /// # Errors
    /// [`Error::SliceMetric`] when `chosen` does not fit the task: a regression metric on a
    /// classification task, a proportion on regression, or anything but accuracy on multiclass.
    pub fn resolve(chosen: Option<SliceMetric>, task: Task) -> Result<SliceMetric> {
        let default = if task == Task::Regression {
            Self::Mae
        } else {
            Self::Accuracy
        };
        let Some(metric) = chosen else {
            return Ok(default);
        };
        let fits = match task {
            Task::Binary => metric.proportion().is_some(),
            Task::Multiclass => metric == Self::Accuracy,
            Task::Regression => metric.proportion().is_none(),
        };
        if fits {
            Ok(metric)
        } else {
            Err(Error::SliceMetric {
                metric: metric.name(),
                task: crate::evaluate::task_name(task),
                expected: match task {
                    Task::Binary => "accuracy, recall, precision, fpr, tnr, fnr or selection_rate",
                    Task::Multiclass => "accuracy",
                    Task::Regression => "mae, mse, rmse or mape",
                },
            })
        }
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

/// A slicing column's rows as ids into its labels.
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
        SliceColumn::Numeric { name, values } => quantile_bins(name, values, bins),
    }
}

/// A numeric column in `bins` quantile bins (fewer where quantiles tie), labelled by their
/// bounds, and a last label for missing and NaN values.
fn quantile_bins<'a>(name: &str, values: &[Option<f64>], bins: usize) -> Labelled<'a> {
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
        name: name.to_owned(),
        labels,
        ids,
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
    pub(crate) fn rows(&self) -> Vec<Vec<usize>> {
        let mut rows = vec![Vec::new(); self.slices.len()];
        for (r, &id) in self.ids.iter().enumerate() {
            rows[id as usize].push(r);
        }
        rows
    }

    /// The number of rows in each slice.
    pub(crate) fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![0; self.slices.len()];
        for &id in &self.ids {
            sizes[id as usize] += 1;
        }
        sizes
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
pub fn outcomes(metric: ProportionMetric, labels: &[bool], predictions: &[bool]) -> Outcomes {
    Outcomes::Proportion {
        rows: labels
            .iter()
            .zip(predictions)
            .map(|(&y, &p)| metric.row(y, p))
            .collect(),
        higher_is_better: metric.higher_is_better(),
    }
}

/// Computes `metric` on every slice of a binary task and flags the underperforming ones.
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
        options,
    )
}

/// The tested metric of an evaluation and each row's outcome for it.
pub(crate) struct Tested {
    pub(crate) metric: SliceMetric,
    pub(crate) outcomes: Outcomes,
}

impl Tested {
    /// How the slices are tested, as the report records it.
    pub(crate) fn describe(&self, options: &SliceOptions) -> SliceTest {
        SliceTest {
            metric: self.metric.name().to_owned(),
            test: self.outcomes.test_name().to_owned(),
            effect: self.outcomes.effect_kind().to_owned(),
            alpha: options.alpha,
            min_effect: options.min_effect,
            min_rows: options.min_rows,
        }
    }
}

/// Each row's outcome for `metric`, which [`SliceMetric::resolve`] has checked fits the task.
pub(crate) fn tested(prepared: &Prepared, metric: SliceMetric) -> Tested {
    let outcomes = match prepared {
        Prepared::Binary {
            labels,
            predictions,
            ..
        } => outcomes(
            metric.proportion().expect("resolved for the task"),
            labels,
            predictions,
        ),
        Prepared::Multiclass {
            labels,
            predictions,
            ..
        } => Outcomes::Proportion {
            rows: labels
                .iter()
                .zip(predictions)
                .map(|(y, p)| (true, y == p))
                .collect(),
            higher_is_better: true,
        },
        Prepared::Regression { truth, predictions } => {
            let loss: fn(f64, f64) -> f64 = match metric {
                SliceMetric::Mae => |y, p| (y - p).abs(),
                SliceMetric::Mape => |y, p| (y - p).abs() / y.abs().max(f64::EPSILON),
                _ => |y, p| (y - p) * (y - p),
            };
            Outcomes::Mean {
                losses: truth
                    .iter()
                    .zip(predictions)
                    .map(|(&y, &p)| loss(y, p))
                    .collect(),
                root: metric == SliceMetric::Rmse,
            }
        }
    };
    Tested { metric, outcomes }
}

/// The distinct slice columns, in the order the options name them, with buffers for the values
/// that need converting (numbers to floats, booleans to coded labels) so slicing can borrow them.
struct SliceBuffers<'o> {
    names: Vec<&'o str>,
    coded: Vec<(Vec<String>, Vec<u32>)>,
    numbers: Vec<Vec<Option<f64>>>,
}

impl<'o> SliceBuffers<'o> {
    fn new(sets: &'o [Vec<String>]) -> Self {
        let mut names: Vec<&str> = Vec::new();
        for name in sets.iter().flatten() {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        Self {
            coded: vec![(Vec::new(), Vec::new()); names.len()],
            numbers: vec![Vec::new(); names.len()],
            names,
        }
    }

    fn columns<'a>(&'a mut self, table: &'a Table) -> Vec<SliceColumn<'a>> {
        self.names
            .iter()
            .zip(self.coded.iter_mut().zip(self.numbers.iter_mut()))
            .map(|(name, (t, n))| {
                slice_column(
                    name,
                    table.column(name).expect("slice columns were read"),
                    t,
                    n,
                )
            })
            .collect()
    }
}

/// A column as a slicing column: numbers are binned, everything else is a category. Text is
/// borrowed; other columns are converted into the holders.
fn slice_column<'a>(
    name: &'a str,
    column: &'a Column,
    coded: &'a mut (Vec<String>, Vec<u32>),
    numbers: &'a mut Vec<Option<f64>>,
) -> SliceColumn<'a> {
    match column {
        Column::Int(_) | Column::Float(_) => {
            *numbers = column.to_floats().expect("numeric columns convert");
            SliceColumn::Numeric {
                name,
                values: numbers,
            }
        }
        Column::Text { labels, ids } => SliceColumn::Coded { name, labels, ids },
        Column::Bool(_) => {
            *coded = column.to_coded();
            SliceColumn::Coded {
                name,
                labels: &coded.0,
                ids: &coded.1,
            }
        }
    }
}

/// The dimensions `sets` asks for (each entry one column alone, or a crossing of several), in
/// that order.
pub(crate) fn dimensions(
    table: &Table,
    sets: &[Vec<String>],
    options: &SliceOptions,
) -> Vec<Dimension> {
    if sets.is_empty() {
        return Vec::new();
    }
    let mut buffers = SliceBuffers::new(sets);
    let names = buffers.names.clone();
    let columns = buffers.columns(table);
    let index = |n: &String| names.iter().position(|m| m == n).expect("listed above");
    let mut slice_options = options.clone();
    slice_options.crossings = sets
        .iter()
        .filter(|s| s.len() > 1)
        .map(|s| s.iter().map(index).collect())
        .collect();
    let singles: Vec<usize> = sets
        .iter()
        .filter(|s| s.len() == 1)
        .map(|s| index(&s[0]))
        .collect();
    partition(&columns, &slice_options)
        .into_iter()
        .filter(|d| d.columns.len() > 1 || singles.contains(&index(&d.columns[0])))
        .collect()
}

/// The slice reports, most severe first: each slice's metrics and intervals with its test.
/// `tests`: the slices' test results in the same order, from [`test`] or a sharded evaluation.
pub(crate) fn reports(
    dimensions: &[Dimension],
    measured: Vec<Vec<Measured>>,
    tests: Option<&[SliceResult]>,
) -> Vec<SliceReport> {
    let named = dimensions
        .iter()
        .flat_map(|d| d.slices.iter().map(move |values| (&d.columns, values)));
    let mut reports: Vec<SliceReport> = named
        .zip(measured.into_iter().flatten())
        .enumerate()
        .map(|(i, ((columns, values), m))| {
            let outcome = tests.map(|t| &t[i]);
            let (metrics, _) = split(m.metrics);
            SliceReport {
                columns: columns.clone(),
                values: values.clone(),
                rows: m.rows,
                metrics,
                ci: m.ci,
                underperforming: outcome.is_some_and(|t| t.underperforming),
                p_value: outcome.and_then(|t| t.p_value),
                effect_size: outcome.and_then(|t| t.effect_size),
            }
        })
        .collect();
    sort_by_severity(&mut reports);
    reports
}

/// `--discover`: the `top` flagged slices of up to two of the slice columns.
pub(crate) fn discovered(
    table: &Table,
    sets: &[Vec<String>],
    tested: &Tested,
    options: &SliceOptions,
    top: usize,
) -> Vec<SliceReport> {
    let name = tested.metric.name();
    let mut buffers = SliceBuffers::new(sets);
    let columns = buffers.columns(table);
    discover(&columns, &tested.outcomes, options, top)
        .into_iter()
        .map(|r| SliceReport {
            columns: r.columns,
            values: r.values,
            rows: r.rows,
            metrics: BTreeMap::from([(name.to_owned(), r.value)]),
            ci: r
                .ci
                .map(|(lo, hi)| BTreeMap::from([(name.to_owned(), [lo, hi])]))
                .unwrap_or_default(),
            underperforming: r.underperforming,
            p_value: r.p_value,
            effect_size: r.effect_size,
        })
        .collect()
}

/// Most severe first: flagged slices by effect size, then the rest in slicing order.
fn sort_by_severity(reports: &mut [SliceReport]) {
    let effect = |r: &SliceReport| {
        if r.underperforming {
            r.effect_size.unwrap_or(0.0)
        } else {
            0.0
        }
    };
    reports.sort_by(|a, b| {
        b.underperforming
            .cmp(&a.underperforming)
            .then_with(|| effect(b).total_cmp(&effect(a)))
    });
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
