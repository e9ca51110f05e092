//! Gates on a drift report: `share_drifted < 0.3`, `column(income).psi < 0.2`,
//! `column(age).missing_share_cur <= 0.05 and rows >= 1000`. A gate is a condition of the
//! expression language (`mlops-expr`: arithmetic, comparisons with an optional `+-` tolerance on
//! `==`/`!=`, `and`, `or`, `not`, `is null`) whose names are a batch's values and
//! `column(NAME).FIELD`; it is checked on every batch and fails when it fails on any. A column
//! field with no value (a column not tested in the batch, a distance's `p_value`) is undefined,
//! so `column(x).p_value is null` holds there.

use mlops_expr::{Evaluation, Expr, Path, Resolved, Resolver, Value};
use serde::Serialize;

use crate::methods::Method;
use crate::report::{BatchReport, ColumnReport};

/// A parsed gate.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub text: String,
    expr: Expr,
    /// What each name stands for, by the name's column (unique in the gate).
    targets: Vec<(usize, Target)>,
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

/// A gate that does not parse, or names a field that does not exist, with the column of the
/// problem and, for an unknown field, the closest known one: the expression language's one error
/// type.
pub type GateError = mlops_expr::ParseError;

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
    /// Parses a condition on a batch's values and columns.
    ///
    /// # Errors
    /// Bad syntax, or a name that is no batch value or column field, with where it is.
    pub fn parse(text: &str) -> Result<Gate, GateError> {
        let expr = Expr::condition(text).map_err(|e| e.named("gate"))?;
        expr.names_are_numbers().map_err(|e| e.named("gate"))?;
        let targets = expr
            .paths()
            .into_iter()
            .map(|path| {
                parse_path(path)
                    .map(|target| (path.column, target))
                    .map_err(|(message, suggestion)| {
                        expr.error_at(path.column, message)
                            .named("gate")
                            .with_suggestion(suggestion)
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Gate {
            text: text.to_owned(),
            expr,
            targets,
        })
    }

    /// Checks that the columns the gate names, if any, are among `known` (the reference's and
    /// the batches' columns).
    ///
    /// # Errors
    /// [`UnknownColumn`], with the closest known column.
    pub(crate) fn check_column(&self, known: &[&str]) -> Result<(), UnknownColumn> {
        for (_, target) in &self.targets {
            if let Target::Column(name, _) = target
                && !known.contains(&name.as_str())
            {
                return Err(UnknownColumn {
                    gate: self.text.clone(),
                    column: name.clone(),
                    suggestion: mlops_core::suggest::closest(name, known.iter().copied()),
                });
            }
        }
        Ok(())
    }

    /// The gate on one batch: its left side's value when it is one comparison, and whether it
    /// passed (an undefined value fails it, with the reason).
    pub fn check(&self, batch: &BatchReport) -> GateResult {
        let names = Names {
            targets: &self.targets,
            batch,
        };
        let (value, passed, reason) = match self.expr.evaluate(&names) {
            Ok(evaluation) => (
                evaluation
                    .sides
                    .as_ref()
                    .and_then(|(left, _)| Evaluation::number(left).ok()),
                evaluation.holds(),
                evaluation.value.err(),
            ),
            // Not reached: `parse` resolved every name and checked that each stands where a
            // number does; should it be, the gate fails saying why.
            Err(e) => (None, false, Some(e.to_string())),
        };
        GateResult {
            gate: self.text.clone(),
            batch: batch.name.clone(),
            value,
            passed,
            reason,
        }
    }
}

/// A gate's names resolved against one batch.
struct Names<'a> {
    targets: &'a [(usize, Target)],
    batch: &'a BatchReport,
}

impl Resolver for Names<'_> {
    fn resolve(&self, path: &Path) -> Resolved {
        let Some((_, target)) = self.targets.iter().find(|(c, _)| *c == path.column) else {
            return Resolved::Unknown;
        };
        let value = match target {
            Target::Batch(field) => Ok(batch_value(self.batch, *field)),
            Target::Column(name, field) => self
                .batch
                .columns
                .iter()
                .find(|c| &c.column == name)
                .ok_or_else(|| format!("column `{name}` was not tested in this batch"))
                .and_then(|c| column_value(c, *field)),
        };
        match value {
            Ok(v) => Resolved::Value(Value::Number(v)),
            Err(why) => Resolved::Undefined(why),
        }
    }
}

/// The target of a name, or what is wrong with it and the closest known field.
fn parse_path(path: &Path) -> Result<Target, (String, Option<String>)> {
    if let [column, field] = path.segments.as_slice()
        && column.name == "column"
        && let Some(args) = &column.args
    {
        let [name] = args.as_slice() else {
            return Err((format!("`{path}` should be `column(NAME).FIELD`"), None));
        };
        let name_of_field = field.name.as_str();
        let known = field
            .args
            .is_none()
            .then(|| {
                lookup(&COLUMN_FIELDS, name_of_field)
                    .or_else(|| Method::parse(name_of_field).map(ColumnField::Test))
            })
            .flatten();
        let field = known.ok_or_else(|| {
            let tests = Method::ALL.map(Method::name);
            let list = names(&COLUMN_FIELDS).collect::<Vec<_>>().join(", ");
            (
                format!("`{name_of_field}` is not a column field ({list}, or a test's name)"),
                mlops_core::suggest::closest(name_of_field, names(&COLUMN_FIELDS).chain(tests)),
            )
        })?;
        return Ok(Target::Column(name.clone(), field));
    }
    if path
        .segments
        .first()
        .is_some_and(|s| s.name == "column" && s.args.is_some())
    {
        return Err((format!("`{path}` should be `column(NAME).FIELD`"), None));
    }
    lookup(&BATCH_FIELDS, &path.text)
        .map(Target::Batch)
        .ok_or_else(|| {
            let list = names(&BATCH_FIELDS).collect::<Vec<_>>().join(", ");
            (
                format!("`{path}` is not a batch value ({list}) or `column(NAME).FIELD`"),
                mlops_core::suggest::closest(&path.text, names(&BATCH_FIELDS)),
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
            assert_eq!(gate.targets, [(1, Target::Batch(field))]);
        }
        for (name, field) in COLUMN_FIELDS {
            let gate = Gate::parse(&format!("column(a).{name} < 1")).expect("a column field");
            assert_eq!(gate.targets, [(1, Target::Column("a".into(), field))]);
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

    fn batch() -> BatchReport {
        BatchReport {
            name: "b1".into(),
            rows: 1000,
            columns: Vec::new(),
            skipped: Vec::new(),
            schema: crate::report::SchemaChanges::default(),
            drifted_columns: 1,
            share_drifted: 0.25,
            dataset_drift: false,
        }
    }

    #[test]
    fn conditions_join_and_equality_is_exact_unless_a_tolerance_is_stated() {
        let cases = [
            ("share_drifted < 0.3 and rows >= 1000", true, None),
            ("share_drifted > 0.3 or drifted_columns == 1", true, None),
            ("not dataset_drift == 1", true, None),
            ("share_drifted == 0.25", true, Some(0.25)),
            ("share_drifted * 3 == 0.75", true, Some(0.75)),
            ("share_drifted - 0.2 == 0.05", false, Some(0.05)),
            ("share_drifted - 0.2 == 0.05 +- 1e-9", true, Some(0.05)),
            ("rows / drifted_columns >= 1000", true, Some(1000.0)),
            // A column that was not tested is undefined: `or` with a true side still passes.
            ("column(x).psi < 0.2 or rows > 1", true, None),
            ("column(x).psi < 0.2 and rows > 1", false, None),
            // `is null` asks whether a value is undefined, and is never undefined itself.
            ("column(x).psi is null", true, None),
            ("column(x).psi is not null", false, None),
            ("not (column(x).psi is null) or rows is null", false, None),
            ("rows is not null and share_drifted is null", false, None),
        ];
        for (text, passed, value) in cases {
            let result = Gate::parse(text).expect(text).check(&batch());
            assert_eq!(result.passed, passed, "{text}: {result:?}");
            let rounded = result.value.map(|v| (v * 1e9).round() / 1e9);
            assert_eq!(rounded, value, "{text}");
        }
        let result = Gate::parse("column(x).psi < 0.2 and rows > 1")
            .expect("parse")
            .check(&batch());
        assert_eq!(
            result.reason.as_deref(),
            Some("column `x` was not tested in this batch")
        );
    }

    #[test]
    fn numbers_that_are_not_numbers_are_refused() {
        // `NaN` and `inf` parsed as thresholds before; a NaN threshold fails every gate.
        for (text, column) in [("share_drifted < NaN", 17), ("rows < inf", 8)] {
            let err = Gate::parse(text).expect_err(text);
            assert_eq!(err.column, column, "{text}");
            assert!(err.message.contains("is not a batch value"), "{err}");
        }
        let err = Gate::parse("column(a, b).psi < 1").expect_err("two names");
        assert_eq!(
            err.message,
            "`column(a, b).psi` should be `column(NAME).FIELD`"
        );
        let err = Gate::parse("column(a) < 1").expect_err("no field");
        assert_eq!(err.message, "`column(a)` should be `column(NAME).FIELD`");
    }
}
