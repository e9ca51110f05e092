//! Gates on a drift report: `share_drifted < 0.3`, `column(income).psi < 0.2`,
//! `column(age).missing_share_cur <= 0.05`. A gate is `path OP number`, checked on every batch;
//! it fails when it fails on any.

use std::fmt;

use serde::Serialize;

use crate::methods::Method;
use crate::report::{BatchReport, ColumnReport};

/// A parsed gate.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub text: String,
    target: Target,
    op: Op,
    threshold: f64,
}

#[derive(Debug, Clone, PartialEq)]
enum Target {
    Batch(BatchField),
    Column(String, ColumnField),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BatchField {
    ShareDrifted,
    DriftedColumns,
    DatasetDrift,
    Rows,
    ColumnsAdded,
    ColumnsRemoved,
    ColumnsChanged,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ColumnField {
    Statistic,
    PValue,
    Drifted,
    MissingShareRef,
    MissingShareCur,
    NewCategories,
    OutOfRange,
    /// The statistic, when the column was tested with this method.
    Test(Method),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Ge,
    Le,
    Gt,
    Lt,
    Eq,
    Ne,
}

/// A gate that does not parse, with the character position of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateError {
    pub gate: String,
    pub message: String,
    pub column: usize,
    /// For an unknown field, the known one closest to it, when one is close enough.
    pub suggestion: Option<String>,
}

impl fmt::Display for GateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid gate `{}`: {} at column {}",
            self.gate, self.message, self.column
        )
    }
}

impl std::error::Error for GateError {}

/// A gate on a column that is neither in the reference nor in any batch: a mistake in the gate,
/// not a check that failed. A column that exists but was not tested in a batch (skipped, or
/// missing from that batch) is no such mistake: the gate fails there, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("gate `{gate}`: no column `{column}` in the reference or any batch")]
pub struct UnknownColumn {
    pub gate: String,
    pub column: String,
    /// The known column closest to `column`, when one is close enough to be the one meant.
    pub suggestion: Option<String>,
}

/// The batch values a gate can name: what parsing reads, what the error lists, what suggestions
/// come from.
const BATCH_FIELDS: [(&str, BatchField); 7] = [
    ("share_drifted", BatchField::ShareDrifted),
    ("drifted_columns", BatchField::DriftedColumns),
    ("dataset_drift", BatchField::DatasetDrift),
    ("rows", BatchField::Rows),
    ("columns_added", BatchField::ColumnsAdded),
    ("columns_removed", BatchField::ColumnsRemoved),
    ("columns_changed", BatchField::ColumnsChanged),
];
/// The same for `column(NAME).FIELD`, besides a test's name.
const COLUMN_FIELDS: [(&str, ColumnField); 7] = [
    ("statistic", ColumnField::Statistic),
    ("p_value", ColumnField::PValue),
    ("drifted", ColumnField::Drifted),
    ("missing_share_ref", ColumnField::MissingShareRef),
    ("missing_share_cur", ColumnField::MissingShareCur),
    ("new_categories", ColumnField::NewCategories),
    ("out_of_range", ColumnField::OutOfRange),
];

/// The field `name` stands for in `table`.
fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
}

/// The names in `table`.
fn names<'t, T>(table: &'t [(&'static str, T)]) -> impl Iterator<Item = &'static str> + 't {
    table.iter().map(|&(n, _)| n)
}

impl Gate {
    /// Parses `path OP number`.
    ///
    /// # Errors
    /// A missing or unknown operator, path or number, with where it is.
    pub fn parse(text: &str) -> Result<Gate, GateError> {
        let error = |message: String, at: usize| GateError {
            gate: text.to_owned(),
            message,
            column: at + 1,
            suggestion: None,
        };
        let ops = [
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">", Op::Gt),
            ("<", Op::Lt),
        ];
        let (at, symbol, op) = ops
            .iter()
            .filter_map(|&(symbol, op)| text.find(symbol).map(|at| (at, symbol, op)))
            .min_by_key(|&(at, symbol, _)| (at, std::cmp::Reverse(symbol.len())))
            .ok_or_else(|| error("no comparison (>=, <=, >, <, ==, !=)".into(), 0))?;
        let left = &text[..at];
        let right = &text[at + symbol.len()..];
        let path = left.trim();
        let path_at = left.len() - left.trim_start().len();
        let number = right.trim();
        let number_at = at + symbol.len() + (right.len() - right.trim_start().len());
        let threshold: f64 = number
            .parse()
            .map_err(|_| error(format!("`{number}` is not a number"), number_at))?;
        let target = parse_path(path).map_err(|(message, suggestion)| GateError {
            suggestion,
            ..error(message, path_at)
        })?;
        Ok(Gate {
            text: text.to_owned(),
            target,
            op,
            threshold,
        })
    }

    /// Checks that the column the gate names, if any, is one of `known` (the reference's and the
    /// batches' columns).
    ///
    /// # Errors
    /// [`UnknownColumn`], with the closest known column.
    pub fn check_column(&self, known: &[&str]) -> Result<(), UnknownColumn> {
        match &self.target {
            Target::Column(name, _) if !known.contains(&name.as_str()) => Err(UnknownColumn {
                gate: self.text.clone(),
                column: name.clone(),
                suggestion: mlops_core::suggest::closest(name, known.iter().copied()),
            }),
            _ => Ok(()),
        }
    }

    /// The gate on one batch: its value, and whether it passed (a missing value fails).
    pub fn check(&self, batch: &BatchReport) -> GateResult {
        let value = match &self.target {
            Target::Batch(field) => Ok(batch_value(batch, *field)),
            Target::Column(name, field) => batch
                .columns
                .iter()
                .find(|c| &c.column == name)
                .ok_or_else(|| format!("column `{name}` was not tested in this batch"))
                .and_then(|c| column_value(c, *field)),
        };
        let passed = value.as_ref().is_ok_and(|&v| self.holds(v));
        GateResult {
            gate: self.text.clone(),
            batch: batch.name.clone(),
            value: value.as_ref().ok().copied(),
            passed,
            reason: value.err(),
        }
    }

    #[expect(clippy::float_cmp, reason = "== and != compare as written")]
    fn holds(&self, value: f64) -> bool {
        let t = self.threshold;
        match self.op {
            Op::Ge => value >= t,
            Op::Le => value <= t,
            Op::Gt => value > t,
            Op::Lt => value < t,
            Op::Eq => value == t,
            Op::Ne => value != t,
        }
    }
}

/// The path's target, or what is wrong with it and the closest known field.
fn parse_path(path: &str) -> Result<Target, (String, Option<String>)> {
    if let Some(rest) = path.strip_prefix("column(") {
        let (name, name_of_field) = rest
            .split_once(").")
            .ok_or_else(|| (format!("`{path}` should be `column(NAME).FIELD`"), None))?;
        let field = lookup(&COLUMN_FIELDS, name_of_field)
            .or_else(|| Method::parse(name_of_field).map(ColumnField::Test))
            .ok_or_else(|| {
                let tests = Method::ALL.map(Method::name);
                let list = names(&COLUMN_FIELDS).collect::<Vec<_>>().join(", ");
                (
                    format!("`{name_of_field}` is not a column field ({list}, or a test's name)"),
                    mlops_core::suggest::closest(name_of_field, names(&COLUMN_FIELDS).chain(tests)),
                )
            })?;
        return Ok(Target::Column(name.to_owned(), field));
    }
    lookup(&BATCH_FIELDS, path)
        .map(Target::Batch)
        .ok_or_else(|| {
            let list = names(&BATCH_FIELDS).collect::<Vec<_>>().join(", ");
            (
                format!("`{path}` is not a batch value ({list}) or `column(NAME).FIELD`"),
                mlops_core::suggest::closest(path, names(&BATCH_FIELDS)),
            )
        })
}

#[expect(clippy::cast_precision_loss, reason = "counts fit an f64")]
fn batch_value(batch: &BatchReport, field: BatchField) -> f64 {
    match field {
        BatchField::ShareDrifted => batch.share_drifted,
        BatchField::DriftedColumns => batch.drifted_columns as f64,
        BatchField::DatasetDrift => f64::from(u8::from(batch.dataset_drift)),
        BatchField::Rows => batch.rows as f64,
        BatchField::ColumnsAdded => batch.schema.added.len() as f64,
        BatchField::ColumnsRemoved => batch.schema.removed.len() as f64,
        BatchField::ColumnsChanged => batch.schema.changed_type.len() as f64,
    }
}

#[expect(clippy::cast_precision_loss, reason = "counts fit an f64")]
fn column_value(c: &ColumnReport, field: ColumnField) -> Result<f64, String> {
    Ok(match field {
        ColumnField::Statistic => c.statistic,
        ColumnField::PValue => c
            .p_value
            .ok_or_else(|| format!("`{}` is a distance, with no p-value", c.test))?,
        ColumnField::Drifted => f64::from(u8::from(c.drifted)),
        ColumnField::MissingShareRef => c.missing_share_ref,
        ColumnField::MissingShareCur => c.missing_share_cur,
        ColumnField::NewCategories => c.new_categories.len() as f64,
        ColumnField::OutOfRange => c.out_of_range as f64,
        ColumnField::Test(method) if method.name() == c.test => c.statistic,
        ColumnField::Test(method) => {
            return Err(format!(
                "column `{}` was tested with `{}`, not `{}`; choose it with --test {}={}",
                c.column,
                c.test,
                method.name(),
                c.column,
                method.name()
            ));
        }
    })
}

/// One gate on one batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateResult {
    pub gate: String,
    pub batch: String,
    pub value: Option<f64>,
    pub passed: bool,
    /// Why there is no value, if there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_and_points_at_errors() {
        assert!(Gate::parse("share_drifted < 0.3").is_ok());
        assert!(Gate::parse("column(income).psi <= 0.2").is_ok());
        let err = Gate::parse("share_drifted < 0.3x").expect_err("bad number");
        assert_eq!(
            (err.message.as_str(), err.column),
            ("`0.3x` is not a number", 17)
        );
        let err = Gate::parse("column(age).wobble < 1").expect_err("bad field");
        assert!(
            err.message.contains("`wobble` is not a column field"),
            "{err}"
        );
        assert!(Gate::parse("share_drifted 0.3").is_err());
        let err = Gate::parse("share_drifed < 0.3").expect_err("typo");
        assert_eq!(err.suggestion.as_deref(), Some("share_drifted"));
        let err = Gate::parse("column(age).wassertein < 0.3").expect_err("typo");
        assert_eq!(err.suggestion.as_deref(), Some("wasserstein"));
    }

    #[test]
    fn every_listed_field_parses_and_an_unknown_one_lists_them() {
        for (name, field) in BATCH_FIELDS {
            let gate = Gate::parse(&format!("{name} < 1")).expect("a batch field");
            assert_eq!(gate.target, Target::Batch(field));
        }
        for (name, field) in COLUMN_FIELDS {
            let gate = Gate::parse(&format!("column(a).{name} < 1")).expect("a column field");
            assert_eq!(gate.target, Target::Column("a".into(), field));
        }
        let err = Gate::parse("wobble < 1").expect_err("unknown");
        assert_eq!(
            err.message,
            "`wobble` is not a batch value (share_drifted, drifted_columns, dataset_drift, rows, \
             columns_added, columns_removed, columns_changed) or `column(NAME).FIELD`"
        );
        let err = Gate::parse("column(a).p_valeu < 1").expect_err("unknown");
        assert_eq!(
            err.message,
            "`p_valeu` is not a column field (statistic, p_value, drifted, missing_share_ref, \
             missing_share_cur, new_categories, out_of_range, or a test's name)"
        );
        assert_eq!(err.suggestion.as_deref(), Some("p_value"));
    }

    #[test]
    fn unknown_columns_are_errors_with_the_closest_name() {
        let known = ["income", "age"];
        let gate = Gate::parse("column(incom).psi < 0.2").expect("parse");
        let err = gate.check_column(&known).expect_err("unknown");
        assert_eq!(err.column, "incom");
        assert_eq!(err.suggestion.as_deref(), Some("income"));
        assert_eq!(
            err.to_string(),
            "gate `column(incom).psi < 0.2`: no column `incom` in the reference or any batch"
        );
        let far = Gate::parse("column(zzzzzz).psi < 0.2").expect("parse");
        assert_eq!(
            far.check_column(&known).expect_err("unknown").suggestion,
            None
        );
        assert!(
            Gate::parse("column(age).psi < 0.2")
                .expect("parse")
                .check_column(&known)
                .is_ok()
        );
        assert!(
            Gate::parse("rows > 1")
                .expect("parse")
                .check_column(&known)
                .is_ok()
        );
    }
}
