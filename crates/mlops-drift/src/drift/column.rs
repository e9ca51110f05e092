//! One column's test: its two sides prepared (finite numbers sorted, or category counts over
//! both sides' categories), the test chosen (the one named, or Evidently's) and run, and what the
//! report says beside it (missing shares, new categories, values out of the reference's range, a
//! histogram to draw).

use std::collections::BTreeSet;

use mlops_data::table::Column;

use super::{Options, ReferenceColumn};
use crate::binning;
use crate::error::{Error, Result};
use crate::methods::{Method, Outcome, Sides, Unfit, default_method};
use crate::profile;
use crate::report::{ColumnReport, Histogram, Kind, Role};

/// Integer columns with at most this many distinct values in the batch are categories to
/// Evidently's Report (`INTEGER_CARDINALITY_LIMIT` in `evidently/core/datasets.py`).
const EVIDENTLY_INTEGER_CATEGORIES: usize = 10;

/// Whether Evidently 0.7's Report would call this batch's integer column categorical: pandas
/// keeps it an integer dtype (no missing value, which would make it floats) and it holds at most
/// [`EVIDENTLY_INTEGER_CATEGORIES`] distinct values. Evidently decides from the current data, so
/// this does too, from its `sorted` finite values (integers are all finite, so a value short of
/// the column's rows is a missing one).
fn evidently_categorical_integers(current: &Column, sorted: &[f64]) -> bool {
    matches!(current, Column::Int(_))
        && sorted.len() == current.len()
        && distinct_sorted_up_to(sorted, EVIDENTLY_INTEGER_CATEGORIES)
            <= EVIDENTLY_INTEGER_CATEGORIES
}

/// Distinct values in sorted `values`, counted up to `limit + 1`: one binary search per run of
/// equal values rather than a pass over a million.
fn distinct_sorted_up_to(values: &[f64], limit: usize) -> usize {
    let mut rest = values;
    let mut distinct = 0;
    while let Some(&first) = rest.first() {
        distinct += 1;
        if distinct > limit {
            break;
        }
        rest = &rest[rest.partition_point(|&v| v <= first)..];
    }
    distinct
}

fn is_text(column: &Column) -> bool {
    matches!(column, Column::Text { .. })
}

/// What became of one column.
pub(super) enum Tested {
    Report(ColumnReport),
    Skipped { reason: String, type_changed: bool },
}

/// One column's test (`inferred`: no `--kind` set `kind`). The error is a test that does not
/// fit the column, which the user chose.
pub(super) fn test_column(
    name: &str,
    kind: Kind,
    inferred: bool,
    reference: ReferenceColumn,
    current: &Column,
    options: &Options,
) -> Result<Tested> {
    if let Some(reason) = type_change(reference, current) {
        return Ok(Tested::Skipped {
            reason,
            type_changed: true,
        });
    }
    let skipped = |reason: String| {
        Ok(Tested::Skipped {
            reason,
            type_changed: false,
        })
    };
    if kind == Kind::Text {
        return skipped(
            "free text or identifiers (most values distinct) are not tested; \
             --kind COLUMN=categorical tests them as categories"
                .into(),
        );
    }
    let Prepared {
        sides,
        missing_ref,
        missing_cur,
        new_categories,
        out_of_range,
        histogram,
        integer_categories,
    } = match kind {
        Kind::Numeric => prepare_numbers(reference, current),
        Kind::Categorical | Kind::Text => prepare_categories(reference, current),
    };
    let (n_ref, n_cur) = sides.sizes();
    if n_ref == 0 || n_cur == 0 {
        let side = if n_ref == 0 { "reference" } else { "batch" };
        return skipped(format!("every value is missing in the {side}"));
    }
    let as_categories = kind == Kind::Numeric && inferred && integer_categories;
    let (method, sides) = choose_test(name, sides, as_categories, options);
    let profiled = matches!(reference, ReferenceColumn::Profiled(_));
    let outcome = match run_test(name, method, &sides, profiled, options)? {
        Ok(outcome) => outcome,
        Err(why) => return skipped(why.to_string()),
    };
    let threshold = options
        .threshold
        .unwrap_or_else(|| method.default_threshold());
    Ok(Tested::Report(ColumnReport {
        column: name.to_owned(),
        kind,
        role: role_of(name, options),
        test: method.name(),
        statistic: outcome.statistic,
        p_value: outcome.p_value,
        threshold,
        drifted: method.drifted(outcome, threshold),
        missing_share_ref: missing_ref,
        missing_share_cur: missing_cur,
        new_categories,
        out_of_range,
        histogram,
    }))
}

/// Why a column cannot be compared because its type changed between the reference and the
/// batch (numbers on one side, text on the other), or `None`.
fn type_change(reference: ReferenceColumn, current: &Column) -> Option<String> {
    let (changed, reference_type) = match reference {
        ReferenceColumn::Raw(column) => (is_text(column) != is_text(current), column.type_name()),
        // A profile keeps no type name: its numeric columns held numbers.
        ReferenceColumn::Profiled(profile) => {
            (profile.kind == Kind::Numeric && is_text(current), "numbers")
        }
    };
    changed.then(|| {
        format!(
            "{reference_type} in the reference, {} in this batch",
            current.type_name()
        )
    })
}

/// Runs the column's test. Inside `Ok`, the outcome, or why the data cannot be tested (too few
/// values), which skips the column; the error is a test the user chose that cannot run: one
/// needing raw data against a profile (`profiled`), or numbers on categories.
fn run_test(
    name: &str,
    method: Method,
    sides: &Sides,
    profiled: bool,
    options: &Options,
) -> Result<std::result::Result<Outcome, Unfit>> {
    if profiled && matches!(method, Method::CramerVonMises | Method::Anderson) {
        return Err(Error::NeedsRawData {
            test: method.name(),
            column: name.to_owned(),
        });
    }
    match method.run(sides, options.bins) {
        Ok(outcome) => Ok(Ok(outcome)),
        Err(why @ (Unfit::Empty | Unfit::TooFew(_))) => Ok(Err(why)),
        Err(why @ Unfit::NeedsNumbers) => Err(Error::UnfitTest {
            test: method.name(),
            column: name.to_owned(),
            reason: why.to_string(),
        }),
    }
}

/// The column's role: the prediction, the target, or a feature.
fn role_of(name: &str, options: &Options) -> Role {
    if options.prediction.as_deref() == Some(name) {
        Role::Prediction
    } else if options.target.as_deref() == Some(name) {
        Role::Target
    } else {
        Role::Feature
    }
}

/// The column's test (named by `--test`, or Evidently's default) and the sides it runs on.
/// Integers that Evidently calls categories (`as_categories`): its default test, and every test
/// that takes categories, see their counts per value; tests that need numbers get the numbers,
/// and the counts are not built for them.
fn choose_test(
    name: &str,
    sides: Sides,
    as_categories: bool,
    options: &Options,
) -> (Method, Sides) {
    let named = options
        .column_tests
        .iter()
        .find(|(c, _)| c == name)
        .map(|(_, m)| *m)
        .or(options.test);
    if !as_categories || named.is_some_and(Method::needs_numbers) {
        return (named.unwrap_or_else(|| default_method(&sides)), sides);
    }
    let (reference, current) = sides.value_counts();
    let categories = Sides::Categorical { reference, current };
    let method = named.unwrap_or_else(|| default_method(&categories));
    if method.needs_numbers() {
        (method, sides)
    } else {
        (method, categories)
    }
}

/// One column's two sides, ready for its test, and what the report says beside the test.
struct Prepared {
    sides: Sides,
    missing_ref: f64,
    missing_cur: f64,
    new_categories: Vec<String>,
    out_of_range: usize,
    histogram: Histogram,
    /// Integers that Evidently would call categorical ([`evidently_categorical_integers`]).
    integer_categories: bool,
}

fn prepare_numbers(reference: ReferenceColumn, current_column: &Column) -> Prepared {
    let (mut current, missing_cur) = finite_sorted(current_column);
    // Before a profile's quantizing below, which can merge distinct integers.
    let integer_categories = evidently_categorical_integers(current_column, &current);
    let (reference_values, missing_ref, range) = match reference {
        ReferenceColumn::Raw(column) => {
            let (values, missing) = finite_sorted(column);
            let range = values.first().zip(values.last()).map(|(&a, &b)| (a, b));
            (values, missing, range)
        }
        ReferenceColumn::Profiled(profile) => {
            let sketch = profile.numbers.clone().unwrap_or_default();
            let values = sketch.values();
            #[expect(clippy::cast_precision_loss, reason = "counts fit an f64")]
            let missing =
                profile.missing as f64 / (values.len() as u64 + profile.missing).max(1) as f64;
            let range = (!values.is_empty()).then_some((sketch.min, sketch.max));
            (values, missing, range)
        }
    };
    let out_of_range = range.map_or(0, |(lo, hi)| {
        current.iter().filter(|&&v| v < lo || v > hi).count()
    });
    if matches!(reference, ReferenceColumn::Profiled(_)) {
        // Compare like with like: the current values through the same sketch.
        for value in &mut current {
            *value = profile::quantize(*value);
        }
    }
    Prepared {
        histogram: numeric_histogram(&reference_values, &current),
        sides: Sides::Numeric {
            reference: reference_values,
            current,
        },
        missing_ref,
        missing_cur,
        new_categories: Vec::new(),
        out_of_range,
        integer_categories,
    }
}

fn prepare_categories(reference: ReferenceColumn, current: &Column) -> Prepared {
    let categories = CategoryCounts::of(reference, current);
    Prepared {
        histogram: categories.histogram(),
        sides: Sides::Categorical {
            reference: categories.reference,
            current: categories.current,
        },
        missing_ref: categories.missing_ref,
        missing_cur: categories.missing_cur,
        new_categories: categories.new,
        out_of_range: 0,
        integer_categories: false,
    }
}

/// An unsigned key that orders as `f64::total_cmp` orders the floats: a negative float has
/// every bit flipped (a larger magnitude, a smaller key), any other only its sign bit.
fn order_key(value: f64) -> u64 {
    let bits = value.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// The float of an [`order_key`].
fn from_order_key(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    })
}

/// The finite values of a numeric column, sorted, and the share of rows without one (missing,
/// NaN or infinite: Evidently's per-column drift drops all three; its dataset-level count keeps
/// infinities on a side without NaN, a difference docs/drift.md lists).
#[expect(clippy::cast_precision_loss, reason = "row counts fit an f64")]
fn finite_sorted(column: &Column) -> (Vec<f64>, f64) {
    let rows = column.len();
    // Sorted as integer keys that order as `f64::total_cmp` does: the same order, bit for bit,
    // a third faster than comparing floats at 10M rows. Straight from the column: a converted
    // copy would cost a pass and its page faults.
    let mut keys: Vec<u64> = Vec::with_capacity(rows);
    match column {
        Column::Float(values) => keys.extend(
            values
                .present_values()
                .filter(|v| v.is_finite())
                .map(order_key),
        ),
        #[expect(clippy::cast_precision_loss, reason = "integers read as numbers")]
        Column::Int(values) => keys.extend(values.present_values().map(|v| order_key(v as f64))),
        Column::Bool(_) | Column::Text { .. } => {}
    }
    keys.sort_unstable();
    // Collected in place: the keys' allocation becomes the floats'.
    let finite: Vec<f64> = keys.into_iter().map(from_order_key).collect();
    let missing = if rows == 0 {
        0.0
    } else {
        (rows - finite.len()) as f64 / rows as f64
    };
    (finite, missing)
}

/// Bins and categories drawn in charts, at most.
const CHART_BARS: usize = 20;

/// Equal-width bins over both sides' range, each side's share per bin.
#[expect(clippy::cast_precision_loss, reason = "counts fit an f64")]
fn numeric_histogram(reference: &[f64], current: &[f64]) -> Histogram {
    let (Some(&lo), Some(&hi)) = (
        reference
            .first()
            .into_iter()
            .chain(current.first())
            .min_by(|a, b| a.total_cmp(b)),
        reference
            .last()
            .into_iter()
            .chain(current.last())
            .max_by(|a, b| a.total_cmp(b)),
    ) else {
        return Histogram::default();
    };
    let edges = binning::edges(&[lo, hi], Some(CHART_BARS));
    let shares = |values: &[f64]| -> Vec<f64> {
        let n = values.len().max(1) as f64;
        binning::counts(values, &edges)
            .iter()
            .map(|&c| c as f64 / n)
            .collect()
    };
    Histogram {
        labels: edges[..edges.len() - 1]
            .iter()
            .map(|e| format!("{e:.4}"))
            .collect(),
        reference: shares(reference),
        current: shares(current),
    }
}

/// One side's categories: each label's count, and the rows without a value.
struct Tally {
    labels: Vec<String>,
    counts: Vec<u64>,
    missing: u64,
}

impl Tally {
    fn of_column(column: &Column) -> Tally {
        let (labels, counts, missing) = column.counts();
        Tally {
            labels,
            counts,
            missing,
        }
    }

    #[expect(clippy::cast_precision_loss, reason = "row counts fit an f64")]
    fn missing_share(&self) -> f64 {
        let rows = self.counts.iter().sum::<u64>() + self.missing;
        if rows == 0 {
            0.0
        } else {
            self.missing as f64 / rows as f64
        }
    }
}

/// Category counts on both sides over the union of their categories, sorted by label.
struct CategoryCounts {
    labels: Vec<String>,
    reference: Vec<u64>,
    current: Vec<u64>,
    missing_ref: f64,
    missing_cur: f64,
    /// Categories only the current side has.
    new: Vec<String>,
}

impl CategoryCounts {
    /// The most frequent categories (over both sides) and `(other)`, each side's share.
    #[expect(clippy::cast_precision_loss, reason = "counts fit an f64")]
    fn histogram(&self) -> Histogram {
        let mut order: Vec<usize> = (0..self.labels.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.reference[i] + self.current[i]));
        let (shown, rest) = order.split_at(order.len().min(CHART_BARS));
        let share = |counts: &[u64], indices: &[usize]| {
            let total = counts.iter().sum::<u64>().max(1) as f64;
            indices.iter().map(|&i| counts[i]).sum::<u64>() as f64 / total
        };
        let mut histogram = Histogram::default();
        for &i in shown {
            histogram.labels.push(self.labels[i].clone());
            histogram.reference.push(share(&self.reference, &[i]));
            histogram.current.push(share(&self.current, &[i]));
        }
        if !rest.is_empty() {
            histogram.labels.push("(other)".into());
            histogram.reference.push(share(&self.reference, rest));
            histogram.current.push(share(&self.current, rest));
        }
        histogram
    }

    fn of(reference: ReferenceColumn, current: &Column) -> Self {
        let reference = match reference {
            ReferenceColumn::Raw(column) => Tally::of_column(column),
            ReferenceColumn::Profiled(profile) => Tally {
                labels: profile.categories.keys().cloned().collect(),
                counts: profile.categories.values().copied().collect(),
                missing: profile.missing,
            },
        };
        let current = Tally::of_column(current);
        let labels: BTreeSet<&String> = reference.labels.iter().chain(&current.labels).collect();
        let labels: Vec<&String> = labels.into_iter().collect();
        // A side's counts laid out over the union of both sides' labels.
        let spread = |tally: &Tally| -> Vec<u64> {
            let mut counts = vec![0u64; labels.len()];
            for (label, &count) in tally.labels.iter().zip(&tally.counts) {
                counts[labels.binary_search(&label).expect("in the union")] += count;
            }
            counts
        };
        let (reference_counts, current_counts) = (spread(&reference), spread(&current));
        let (missing_ref, missing_cur) = (reference.missing_share(), current.missing_share());
        let new = labels
            .iter()
            .zip(reference_counts.iter().zip(&current_counts))
            .filter(|(_, (r, c))| **r == 0 && **c > 0)
            .map(|(l, _)| (*l).clone())
            .collect();
        Self {
            labels: labels.into_iter().cloned().collect(),
            reference: reference_counts,
            current: current_counts,
            missing_ref,
            missing_cur,
            new,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_values_of_sorted_numbers_are_counted_up_to_one_past_the_limit() {
        assert_eq!(distinct_sorted_up_to(&[], 3), 0);
        assert_eq!(
            distinct_sorted_up_to(&[1.0, 1.0, 2.0, 5.0, 5.0, 5.0], 10),
            3
        );
        assert_eq!(distinct_sorted_up_to(&[1.0, 2.0, 3.0, 4.0, 5.0], 3), 4);
        assert_eq!(distinct_sorted_up_to(&[-1.0, -1.0, 0.0, 7.5], 3), 3);
    }

    #[test]
    fn integers_are_evidently_categories_with_few_values_and_none_missing() {
        #[expect(clippy::cast_precision_loss, reason = "small integers")]
        let sorted = |values: &[Option<i64>]| -> Vec<f64> {
            let mut v: Vec<f64> = values.iter().flatten().map(|&x| x as f64).collect();
            v.sort_unstable_by(f64::total_cmp);
            v
        };
        let few: Vec<Option<i64>> = (0..100).map(|i| Some(i % 10)).collect();
        let column = Column::Int(few.clone().into());
        assert!(evidently_categorical_integers(&column, &sorted(&few)));
        let many: Vec<Option<i64>> = (0..100).map(|i| Some(i % 11)).collect();
        let column = Column::Int(many.clone().into());
        assert!(!evidently_categorical_integers(&column, &sorted(&many)));
        let mut missing = few.clone();
        missing[3] = None;
        let column = Column::Int(missing.clone().into());
        assert!(!evidently_categorical_integers(&column, &sorted(&missing)));
        #[expect(clippy::cast_precision_loss, reason = "small integers")]
        let floats = Column::Float(few.iter().map(|v| v.map(|x| x as f64)).collect());
        assert!(!evidently_categorical_integers(&floats, &sorted(&few)));
    }
    #[test]
    fn order_keys_sort_as_total_cmp_does() {
        let mut values = vec![
            3.5,
            -0.0,
            0.0,
            -2.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            1e300,
            -1e300,
            2.0,
            -3.5,
        ];
        let mut keys: Vec<u64> = values.iter().map(|&v| order_key(v)).collect();
        keys.sort_unstable();
        values.sort_unstable_by(f64::total_cmp);
        let back: Vec<u64> = keys
            .into_iter()
            .map(|k| from_order_key(k).to_bits())
            .collect();
        assert_eq!(back, values.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    }
}
