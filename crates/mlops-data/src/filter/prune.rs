//! What a filter lets the reader skip unread: the row groups of a Parquet file whose statistics
//! (least and greatest value, count of missing values) prove that no row can match, and whole
//! files whose partition values (`region=eu/`) do.
//!
//! Correctness comes first: a part is skipped only when the bounds prove the condition false or
//! unknown on every row of it. The proof covers comparisons of a column with a literal (`x > 0`,
//! `"2026-12-01" <= date`, `region == "eu"`), boolean columns standing as conditions, `x is null`
//! and `x is not null` (from the count of missing values, or a partition value that is Hive's
//! `__HIVE_DEFAULT_PARTITION__` or not), and `and` and `or` of those; anything else (`not`,
//! arithmetic, two columns compared) may match.

use arrow_array::Array;
use arrow_schema::Schema;
use mlops_expr::{CompareOp, Kind, Node};
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::file::metadata::ParquetMetaData;

use super::eval::{Vector, flip, parse_days, strings, vector_of};
use super::{Filter, column_name};
use crate::batches::Partition;

/// What is known of one column over some rows: a row group's statistics, or a file's partition
/// value (its least and greatest value alike).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bound {
    /// NaN where a side is not known; dates as days since 1970. `complete` in each: no value
    /// is missing (a partition value, a row group whose statistics count no null).
    Numbers {
        min: f64,
        max: f64,
        date: bool,
        complete: bool,
    },
    Text {
        min: String,
        max: String,
        complete: bool,
    },
    Bool {
        min: bool,
        max: bool,
        complete: bool,
    },
    /// Every value missing: no comparison on the column holds.
    Missing,
    /// Nothing known.
    Unknown,
}

/// A file's partition value as a bound: the one value is its least and greatest.
pub(super) fn bound(partition: &Partition) -> Bound {
    match partition {
        Partition::Int(Some(n)) => {
            #[expect(clippy::cast_precision_loss, reason = "numbers compare as f64")]
            let n = *n as f64;
            Bound::Numbers {
                min: n,
                max: n,
                date: false,
                complete: true,
            }
        }
        Partition::Date(Some(days)) => Bound::Numbers {
            min: f64::from(*days),
            max: f64::from(*days),
            date: true,
            complete: true,
        },
        Partition::Text(Some(text)) => Bound::Text {
            min: text.clone(),
            max: text.clone(),
            complete: true,
        },
        Partition::Int(None) | Partition::Date(None) | Partition::Text(None) => Bound::Missing,
    }
}

/// Whether `node` may hold on some row where each column lies within its bound (a column
/// without one may hold anything).
pub(super) fn possible<'a>(node: &Node, bound: &impl Fn(&str) -> Option<&'a Bound>) -> bool {
    let of = |node: &Node| {
        node.as_path()
            .and_then(column_name)
            .and_then(|name| bound(&name).cloned())
    };
    match &node.kind {
        Kind::And(nodes) => nodes.iter().all(|n| possible(n, bound)),
        Kind::Or(nodes) => nodes.iter().any(|n| possible(n, bound)),
        Kind::Path(_) => !matches!(
            of(node),
            Some(Bound::Missing | Bound::Bool { max: false, .. })
        ),
        // `x is null` may hold unless no value of `x` is missing; `x is not null` unless all are.
        Kind::IsNull { operand, negated } => match of(operand) {
            Some(Bound::Missing) => !negated,
            Some(
                Bound::Numbers { complete, .. }
                | Bound::Text { complete, .. }
                | Bound::Bool { complete, .. },
            ) => *negated || !complete,
            Some(Bound::Unknown) | None => true,
        },
        Kind::Compare {
            left,
            op,
            right,
            tolerance,
        } => {
            let (column, op, literal) = match (of(left), of(right)) {
                (Some(Bound::Missing), _) | (_, Some(Bound::Missing)) => return false,
                (Some(column), None) => (column, *op, &right.kind),
                (None, Some(column)) => (column, flip(*op), &left.kind),
                _ => return true,
            };
            may_compare(&column, op, literal, *tolerance)
        }
        _ => true,
    }
}

/// Whether `column op literal` may hold for a value within `column`'s bound.
fn may_compare(column: &Bound, op: CompareOp, literal: &Kind, tolerance: Option<f64>) -> bool {
    match (column, literal) {
        (Bound::Numbers { min, max, date, .. }, _) => {
            let value = match (literal, date) {
                (Kind::Number(n), false) => *n,
                (Kind::Text(text), true) => match parse_days(text) {
                    Some(days) => days,
                    None => return true,
                },
                _ => return true,
            };
            if min.is_nan() || max.is_nan() || value.is_nan() {
                return true;
            }
            match (op, tolerance) {
                (CompareOp::Eq, Some(t)) => *max >= value - t && *min <= value + t,
                (CompareOp::Ne, Some(_)) => true,
                _ => within(min, max, &value, op),
            }
        }
        // Only ASCII bounds are trusted: writers before Parquet's column orders sorted bytes as
        // signed, which orders other text differently.
        (Bound::Text { min, max, .. }, Kind::Text(text))
            if tolerance.is_none()
                && op != CompareOp::Ne
                && min.is_ascii()
                && max.is_ascii()
                && text.is_ascii() =>
        {
            within(min.as_str(), max.as_str(), text.as_str(), op)
        }
        (Bound::Bool { min, max, .. }, Kind::Bool(b))
            if matches!(op, CompareOp::Eq | CompareOp::Ne) =>
        {
            within(min, max, b, op)
        }
        _ => true,
    }
}

/// Whether some value between `min` and `max` may stand in `op` to `value`.
fn within<T: PartialOrd + ?Sized>(min: &T, max: &T, value: &T, op: CompareOp) -> bool {
    match op {
        CompareOp::Gt => max > value,
        CompareOp::Ge => max >= value,
        CompareOp::Lt => min < value,
        CompareOp::Le => min <= value,
        CompareOp::Eq => min <= value && value <= max,
        CompareOp::Ne => !(min == value && max == value),
    }
}

/// The row groups of a Parquet file where `filter` may match, in order: those its statistics
/// (and `partitions`, the file's partition values) do not rule out. `schema` is the file's own
/// Arrow schema, which the statistics are typed by.
pub(crate) fn row_groups(
    filter: &Filter,
    metadata: &ParquetMetaData,
    schema: &Schema,
    partitions: &[(String, Bound)],
) -> Vec<usize> {
    let groups = metadata.row_groups().len();
    let columns: Vec<(&str, Vec<Bound>)> = filter
        .columns()
        .iter()
        .filter(|name| !partitions.iter().any(|(key, _)| key == *name))
        .map(|name| {
            let bounds = column_bounds(name, metadata, schema)
                .unwrap_or_else(|| vec![Bound::Unknown; groups]);
            (name.as_str(), bounds)
        })
        .collect();
    (0..groups)
        .filter(|&group| {
            filter.may_match(|name| {
                partitions
                    .iter()
                    .find(|(key, _)| key == name)
                    .map(|(_, bound)| bound)
                    .or_else(|| {
                        columns
                            .iter()
                            .find(|(column, _)| *column == name)
                            .map(|(_, bounds)| &bounds[group])
                    })
            })
        })
        .collect()
}

/// Each row group's bound for column `name`; `None` when the file has no statistics mlops can
/// read for it (a nested column, a type a filter does not compare).
fn column_bounds(name: &str, metadata: &ParquetMetaData, schema: &Schema) -> Option<Vec<Bound>> {
    let groups = metadata.row_groups();
    let converter =
        StatisticsConverter::try_new(name, schema, metadata.file_metadata().schema_descr())
            .ok()?
            .with_column_orders(metadata.file_metadata().column_orders().map(Vec::as_slice));
    let mins = converter.row_group_mins(groups).ok()?;
    let maxes = converter.row_group_maxes(groups).ok()?;
    let nulls = converter.row_group_null_counts(groups).ok()?;
    let (mins, maxes) = (vector_of(&mins)?, vector_of(&maxes)?);
    let (min_text, max_text) = match (&mins, &maxes) {
        (Vector::Text(a), Vector::Text(b)) => (strings(a), strings(b)),
        _ => (Vec::new(), Vec::new()),
    };
    let bounds = groups.iter().enumerate().map(|(g, group)| {
        let all_missing =
            nulls.is_valid(g) && u64::try_from(group.num_rows()).is_ok_and(|n| nulls.value(g) == n);
        if all_missing {
            return Bound::Missing;
        }
        let complete = nulls.is_valid(g) && nulls.value(g) == 0;
        match (&mins, &maxes) {
            (Vector::Numbers { values: a, date }, Vector::Numbers { values: b, .. }) => {
                Bound::Numbers {
                    min: a[g],
                    max: b[g],
                    date: *date,
                    complete,
                }
            }
            (Vector::Text(_), Vector::Text(_)) => match (min_text[g], max_text[g]) {
                (Some(min), Some(max)) => Bound::Text {
                    min: min.to_owned(),
                    max: max.to_owned(),
                    complete,
                },
                _ => Bound::Unknown,
            },
            (Vector::Truth(a), Vector::Truth(b)) if a.is_known(g) && b.is_known(g) => Bound::Bool {
                min: a.value.value(g),
                max: b.value.value(g),
                complete,
            },
            _ => Bound::Unknown,
        }
    });
    Some(bounds.collect())
}
