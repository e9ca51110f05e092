//! Hand-written rules in mlops's expression language (`check:` in a contract), beside the
//! Great Expectations ones:
//!
//! - a **row condition** names columns, and every row must meet it:
//!   `age >= 0 and age < 120`, `end >= start`, `country == "DE" or vat_id is not null`. It is read
//!   as a `--where` filter is (`mlops_data::Filter`); a row where a missing value leaves it
//!   unknown is not tested, as GE's map rules leave nulls out (write `x is not null and ...` to
//!   fail them);
//! - a **table condition** names aggregates of the whole file (or batch), and the file must meet
//!   it: `share(income is null) < 0.05`, `unique(customer_id)`, `rows >= 1000`,
//!   `mean(amount) < 500`, `count(status == "refund") <= 0.01 * rows`.
//!
//! An expression is a table condition when it names an aggregate (`rows` is one); then every
//! name in it must be one, since a column outside an aggregate has no single value. A column
//! called `rows` is written `column(rows)`.

use mlops_data::Filter;
use mlops_data::table::{Column, Table};
use mlops_expr::{Expr, Path, Resolved, Resolver, Value};

use crate::distinct::Distinct;
use crate::error::{Error, Result};
use crate::report::Outcome;
use crate::rules::Cell;
use crate::schema::IgnoreRowIf;

/// A hand-written rule's condition.
#[derive(Debug, Clone)]
pub enum Condition {
    Rows(Filter),
    Table(TableCondition),
}

/// A condition on a table's aggregates.
#[derive(Debug, Clone)]
pub struct TableCondition {
    pub expr: Expr,
    /// Each aggregate the expression names, once, with its text as written.
    pub aggregates: Vec<(String, Aggregate)>,
}

/// An aggregate of a table, a name in a table condition.
#[derive(Debug, Clone)]
pub enum Aggregate {
    /// `rows`: the row count.
    Rows,
    /// `count(COND)`: the rows where the condition is true.
    Count(Filter),
    /// `share(COND)`: those rows over every row.
    Share(Filter),
    /// `unique(a, ...)`: whether no value (or combination) repeats, rows with a null left out,
    /// as `column_values_to_be_unique` counts.
    Unique(Vec<String>),
    /// `distinct(a, ...)`: how many values (or combinations) there are, nulls left out.
    Distinct(Vec<String>),
    /// `mean(x)`, `min(x)`, `max(x)`, `sum(x)` of a numeric column's non-null values.
    Numeric(Statistic, String),
}

/// The statistic of a numeric aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    Mean,
    Min,
    Max,
    Sum,
}

/// The aggregates, with what each takes, for messages.
const AGGREGATES: &str = "rows, count(COND), share(COND), unique(COLUMN, ...), distinct(COLUMN, ...), mean(COLUMN), min(COLUMN), max(COLUMN), sum(COLUMN)";

impl Condition {
    /// Parses a rule's `check:` text.
    ///
    /// # Errors
    /// A message saying what is wrong, at which character.
    pub fn parse(text: &str) -> Result<Condition, String> {
        let expr = Expr::parse(text).map_err(|e| e.to_string())?;
        let names: Vec<(&Path, Option<Aggregate>)> = expr
            .paths()
            .into_iter()
            .map(|path| aggregate(path).map(|a| (path, a)))
            .collect::<Result<_, _>>()?;
        if names.iter().all(|(_, a)| a.is_none()) {
            return Filter::parse(text)
                .map(Condition::Rows)
                .map_err(|e| e.to_string());
        }
        if let Some((path, _)) = names.iter().find(|(_, a)| a.is_none()) {
            return Err(expr
                .error_at(
                    path.column,
                    format!(
                        "`{path}` is a column outside an aggregate; a condition on the whole table reads columns only inside one of {AGGREGATES}"
                    ),
                )
                .to_string());
        }
        let mut aggregates: Vec<(String, Aggregate)> = Vec::new();
        for (path, a) in names {
            if !aggregates.iter().any(|(t, _)| *t == path.text) {
                aggregates.push((path.text.clone(), a.expect("checked above")));
            }
        }
        let condition = TableCondition { expr, aggregates };
        // Evaluated once on made-up values of the right types, so that a mistake of types
        // (`unique(id) > 1`, `mean(x) and rows`) shows now, not after the data is read.
        let made_up: Vec<(String, Value)> = condition
            .aggregates
            .iter()
            .map(|(text, a)| {
                let value = match a {
                    Aggregate::Unique(_) => Value::Bool(true),
                    _ => Value::Number(1.0),
                };
                (text.clone(), value)
            })
            .collect();
        let evaluation = condition
            .evaluate(
                &made_up
                    .into_iter()
                    .map(|(t, v)| (t, Ok(v)))
                    .collect::<Vec<_>>(),
            )
            .map_err(|e| e.to_string())?;
        // Undefined is fine here (`count(x) / (rows - 1)` divides by zero on made-up values); a
        // value that is not a condition is not.
        if matches!(evaluation, Ok(Value::Number(_) | Value::Text(_))) {
            return Err(format!(
                "`{text}` is a value, not a condition; compare it, as in `{text} > 0`"
            ));
        }
        Ok(Condition::Table(condition))
    }

    /// Every column the condition reads, each once.
    pub fn columns(&self) -> Vec<&str> {
        let named: Vec<&str> = match self {
            Condition::Rows(filter) => filter.columns().iter().map(String::as_str).collect(),
            Condition::Table(table) => table
                .aggregates
                .iter()
                .flat_map(|(_, a)| match a {
                    Aggregate::Rows => Vec::new(),
                    Aggregate::Count(f) | Aggregate::Share(f) => {
                        f.columns().iter().map(String::as_str).collect()
                    }
                    Aggregate::Unique(c) | Aggregate::Distinct(c) => {
                        c.iter().map(String::as_str).collect()
                    }
                    Aggregate::Numeric(_, c) => vec![c.as_str()],
                })
                .collect(),
        };
        let mut out: Vec<&str> = Vec::new();
        for name in named {
            if !out.contains(&name) {
                out.push(name);
            }
        }
        out
    }

    /// The condition as written.
    pub fn text(&self) -> &str {
        match self {
            Condition::Rows(filter) => filter.text(),
            Condition::Table(table) => table.expr.text(),
        }
    }
}

impl TableCondition {
    /// The condition's value, each aggregate's value (or why it has none) given by its text.
    ///
    /// # Errors
    /// A value of the wrong type for its place, which [`Condition::parse`] finds first.
    pub fn evaluate(
        &self,
        values: &[(String, Result<Value, String>)],
    ) -> Result<Result<Value, String>, mlops_expr::ParseError> {
        struct Values<'a>(&'a [(String, Result<Value, String>)]);
        impl Resolver for Values<'_> {
            fn resolve(&self, path: &Path) -> Resolved {
                match self.0.iter().find(|(t, _)| *t == path.text) {
                    Some((_, Ok(value))) => Resolved::Value(value.clone()),
                    Some((_, Err(why))) => Resolved::Undefined(why.clone()),
                    None => Resolved::Unknown,
                }
            }
        }
        Ok(self.expr.evaluate(&Values(values))?.value)
    }
}

/// What a table condition has gathered of each of its aggregates so far.
#[derive(Debug)]
pub(crate) struct TableState {
    aggregates: Vec<Gathered>,
}

/// One aggregate's state.
#[derive(Debug)]
enum Gathered {
    Rows,
    Count(u64),
    Keys(Distinct),
    Numbers {
        n: u64,
        sum: f64,
        min: f64,
        max: f64,
    },
}

impl TableState {
    pub(crate) fn new(condition: &TableCondition) -> Self {
        let aggregates = condition
            .aggregates
            .iter()
            .map(|(_, a)| match a {
                Aggregate::Rows => Gathered::Rows,
                Aggregate::Count(_) | Aggregate::Share(_) => Gathered::Count(0),
                Aggregate::Unique(columns) | Aggregate::Distinct(columns) => {
                    Gathered::Keys(Distinct::new(columns.len()))
                }
                Aggregate::Numeric(..) => Gathered::Numbers {
                    n: 0,
                    sum: 0.0,
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                },
            })
            .collect();
        TableState { aggregates }
    }

    /// Reads one piece, whose first row is row `base` of the file, for the rule `rule`.
    pub(crate) fn feed(
        &mut self,
        rule: &str,
        condition: &TableCondition,
        piece: &Table,
        base: u64,
    ) -> Result<()> {
        let column = |name: &str| -> &Column {
            piece
                .column(name)
                .expect("the piece holds the rule's columns")
        };
        for ((text, aggregate), gathered) in condition.aggregates.iter().zip(&mut self.aggregates) {
            match (aggregate, gathered) {
                (Aggregate::Count(filter) | Aggregate::Share(filter), Gathered::Count(count)) => {
                    let verdicts = filter.verdicts(piece)?;
                    *count += verdicts.iter().filter(|v| **v == Some(true)).count() as u64;
                }
                (Aggregate::Unique(names) | Aggregate::Distinct(names), Gathered::Keys(keys)) => {
                    let columns: Vec<&Column> = names.iter().map(|n| column(n)).collect();
                    keys.add_rows(&columns, piece.rows, base, IgnoreRowIf::AnyValueIsMissing);
                }
                (Aggregate::Numeric(_, name), Gathered::Numbers { n, sum, min, max }) => {
                    let values = column(name);
                    if matches!(values, Column::Text { .. }) {
                        return Err(Error::Condition {
                            rule: rule.to_owned(),
                            message: format!("`{text}` takes a number, and `{name}` is text"),
                        });
                    }
                    for row in 0..piece.rows {
                        if let Some(x) = Cell::of(values, row).number() {
                            *n += 1;
                            *sum += x;
                            *min = min.min(x);
                            *max = max.max(x);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The condition's result over `rows` rows: `observed_value` holds each aggregate's value
    /// (`null` where it has none, as the mean of no values).
    pub(crate) fn finish(self, condition: &TableCondition, rows: u64) -> Outcome {
        #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^53")]
        let values: Vec<(String, std::result::Result<Value, String>)> = condition
            .aggregates
            .iter()
            .zip(self.aggregates)
            .map(|((text, aggregate), gathered)| {
                let value = match (aggregate, gathered) {
                    (Aggregate::Share(_), Gathered::Count(_)) if rows == 0 => {
                        Err("there are no rows".to_owned())
                    }
                    (Aggregate::Share(_), Gathered::Count(c)) => {
                        Ok(Value::Number(c as f64 / rows as f64))
                    }
                    (_, Gathered::Count(c)) => Ok(Value::Number(c as f64)),
                    (_, Gathered::Rows) => Ok(Value::Number(rows as f64)),
                    (Aggregate::Unique(_), Gathered::Keys(mut keys)) => {
                        Ok(Value::Bool(keys.unexpected_count() == 0))
                    }
                    (_, Gathered::Keys(mut keys)) => Ok(Value::Number(keys.keys() as f64)),
                    (_, Gathered::Numbers { n: 0, .. }) => {
                        Err("the column has no values".to_owned())
                    }
                    (Aggregate::Numeric(statistic, _), Gathered::Numbers { n, sum, min, max }) => {
                        Ok(Value::Number(match statistic {
                            Statistic::Mean => sum / n as f64,
                            Statistic::Sum => sum,
                            Statistic::Min => min,
                            Statistic::Max => max,
                        }))
                    }
                    (_, Gathered::Numbers { .. }) => unreachable!("numbers are a statistic's"),
                };
                (text.clone(), value)
            })
            .collect();
        let success = matches!(condition.evaluate(&values), Ok(Ok(Value::Bool(true))));
        let observed = values
            .into_iter()
            .map(|(text, value)| {
                let json = match value {
                    Ok(Value::Number(x)) => serde_json::Number::from_f64(x)
                        .map_or(serde_json::Value::Null, serde_json::Value::Number),
                    Ok(Value::Bool(b)) => serde_json::Value::Bool(b),
                    Ok(Value::Text(t)) => serde_json::Value::String(t),
                    Err(_) => serde_json::Value::Null,
                };
                (text, json)
            })
            .collect();
        Outcome {
            success,
            element_count: Some(rows),
            observed_value: Some(serde_json::Value::Object(observed)),
            ..Outcome::default()
        }
    }
}

/// Whether `path` is `rows`.
fn is_rows(path: &Path) -> bool {
    path.dotted().as_deref() == Some("rows")
}

/// The aggregate `path` names; `None` for a column; an error for an aggregate written wrong.
fn aggregate(path: &Path) -> Result<Option<Aggregate>, String> {
    if is_rows(path) {
        return Ok(Some(Aggregate::Rows));
    }
    let [segment] = path.segments.as_slice() else {
        return Ok(None);
    };
    let Some(args) = &segment.args else {
        return Ok(None);
    };
    let wrong = |what: &str| {
        Err(format!(
            "`{path}` (character {}): `{}` takes {what}",
            path.column, segment.name
        ))
    };
    let condition = |args: &[String]| match args {
        [one] => Filter::parse(one).map_err(|e| format!("`{path}`: {e}")),
        _ => Err(format!(
            "`{path}` (character {}): `{}` takes one condition (quote it if it holds a comma or parenthesis: `{}(\"(a > 1) or b\")`)",
            path.column, segment.name, segment.name
        )),
    };
    Ok(Some(match segment.name.as_str() {
        "count" => Aggregate::Count(condition(args)?),
        "share" => Aggregate::Share(condition(args)?),
        "unique" | "distinct" if args.is_empty() || args.iter().any(String::is_empty) => {
            return wrong("one or more column names");
        }
        "unique" => Aggregate::Unique(args.clone()),
        "distinct" => Aggregate::Distinct(args.clone()),
        "mean" | "min" | "max" | "sum" => {
            let [column] = args.as_slice() else {
                return wrong("one column name");
            };
            let statistic = match segment.name.as_str() {
                "mean" => Statistic::Mean,
                "min" => Statistic::Min,
                "max" => Statistic::Max,
                _ => Statistic::Sum,
            };
            Aggregate::Numeric(statistic, column.clone())
        }
        // `column(name)` is a column.
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_and_table_conditions_are_told_apart() {
        let rows = [
            "age >= 0 and age < 120",
            "churned",
            "column(rows) > 1",
            "x is null",
        ];
        for text in rows {
            assert!(
                matches!(Condition::parse(text), Ok(Condition::Rows(_))),
                "{text}"
            );
        }
        let tables = [
            "share(income is null) < 0.05",
            "unique(customer_id)",
            "unique(a, b) and rows >= 10",
            "rows >= 1000",
            "count(status == \"refund\") <= 0.01 * rows",
            "mean(amount) < 500 and min(amount) >= 0",
            "distinct(country) <= 200",
            "count(x > 0) / (rows - 1) < 0.5",
        ];
        for text in tables {
            assert!(
                matches!(Condition::parse(text), Ok(Condition::Table(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            (
                "share(x > 1) < 0.1 and y > 2",
                "`y` is a column outside an aggregate",
            ),
            ("mean(a, b) > 1", "`mean` takes one column name"),
            ("unique(id) > 1", "cannot"),
            ("mean(x)", "is a value, not a condition"),
            ("mean(x) + rows", "is a value, not a condition"),
            ("share(x >) < 1", "`share(x >)`"),
            ("age >=", "expected"),
        ];
        for (text, message) in cases {
            let err = Condition::parse(text).expect_err(text);
            assert!(err.contains(message), "{text}: {err}");
        }
    }

    #[test]
    fn columns_are_listed_once() {
        let c = Condition::parse("share(a is null) < 0.1 and unique(a, b) and mean(c) > 0")
            .expect("parses");
        assert_eq!(c.columns(), ["a", "b", "c"]);
    }
}
