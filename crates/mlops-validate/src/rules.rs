//! One accumulator per rule, fed table pieces in row order and finished into GE's result
//! fields ([`Outcome`]), so that memory holds a piece and each rule's small state, not the data.
//!
//! The semantics are Great Expectations 1.24.1's (checked by running it):
//! - column map rules (between, in set, lengths, regex, unique) drop nulls and NaN before the
//!   test: `n` is the non-null rows, `u` the unexpected ones, success is `(n - u) / n >= mostly`
//!   (`mostly` 1 by default), and with no non-null row success is true and
//!   `unexpected_percent` null; `unexpected_percent` is `u / n * 100`, `unexpected_percent_total`
//!   `u / rows * 100`, `missing_percent` `nulls / rows * 100`;
//! - `column_values_to_not_be_null` counts the nulls as unexpected over every row;
//! - `partial_unexpected_list` is the first 20 unexpected values in row order;
//! - uniqueness marks every occurrence of a duplicated value; it keeps each distinct value (or
//!   combination) once, with the row it was first seen on (see `distinct`), and the first 20
//!   later sightings, which is all that the first 20 unexpected rows can need, so that one pass
//!   suffices. Memory grows with the distinct values, as any exact uniqueness test's must.
//!
//! Hand-written `check:` rules are fed here too: a row condition as a map rule of its own, a
//! table condition through `condition::TableState`.

use std::borrow::Cow;

use mlops_data::table::{Column, Table};
use serde_json::Value;

use crate::condition::{Condition, TableState};
use crate::distinct::Distinct;
use crate::error::Result;
use crate::report::Outcome;
use crate::schema::{Check, IgnoreRowIf, Rule, SetValue};

/// How many unexpected values (and ids) a result lists, as GE's `partial_unexpected_count`.
pub const PARTIAL: usize = 20;

/// One value of a row, as the rules see it; NaN is [`Cell::Null`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(&'a str),
}

impl<'a> Cell<'a> {
    /// Row `row` of `column`.
    pub fn of(column: &'a Column, row: usize) -> Cell<'a> {
        match column {
            Column::Bool(v) => v[row].map_or(Cell::Null, Cell::Bool),
            Column::Int(v) => v.get(row).map_or(Cell::Null, Cell::Int),
            Column::Float(v) => v
                .get(row)
                .filter(|x| !x.is_nan())
                .map_or(Cell::Null, Cell::Float),
            Column::Text { labels, ids } => {
                let id = ids[row];
                if id == Column::MISSING {
                    Cell::Null
                } else {
                    Cell::Text(&labels[id as usize])
                }
            }
        }
    }

    pub(crate) fn is_null(self) -> bool {
        matches!(self, Cell::Null)
    }

    /// The value as a number: integers, floats, and booleans as 0 and 1 (as pandas compares
    /// them); `None` for text.
    #[expect(
        clippy::cast_precision_loss,
        reason = "as pandas compares an int64 with a float"
    )]
    pub(crate) fn number(self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(i as f64),
            Cell::Float(x) => Some(x),
            Cell::Bool(b) => Some(f64::from(u8::from(b))),
            Cell::Null | Cell::Text(_) => None,
        }
    }

    /// The value as Python's `str` writes it (`1.0`, `True`), for regexes and lengths.
    fn text(self) -> Cow<'a, str> {
        match self {
            Cell::Text(s) => Cow::Borrowed(s),
            Cell::Int(i) => Cow::Owned(i.to_string()),
            Cell::Float(x) if x.fract() == 0.0 && x.abs() < 1e16 => Cow::Owned(format!("{x:.1}")),
            Cell::Float(x) => Cow::Owned(x.to_string()),
            Cell::Bool(true) => Cow::Borrowed("True"),
            Cell::Bool(false) => Cow::Borrowed("False"),
            Cell::Null => Cow::Borrowed("None"),
        }
    }

    /// The value as JSON.
    pub fn to_json(self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Bool(b) => Value::Bool(b),
            Cell::Int(i) => Value::from(i),
            Cell::Float(x) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
            Cell::Text(s) => Value::String(s.to_owned()),
        }
    }
}

/// `part / whole * 100`, GE's way; `None` over nothing.
#[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^53")]
fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64) * 100.0)
}

/// Whether `passed` of `tested` rows meet `mostly`; true when none were tested.
#[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^53")]
fn meets(passed: u64, tested: u64, mostly: f64) -> bool {
    tested == 0 || passed as f64 / tested as f64 >= mostly
}

/// The unexpected rows of a rule tested row by row.
#[derive(Debug, Default)]
struct Tally {
    missing: u64,
    unexpected: u64,
    examples: Vec<Value>,
    ids: Vec<Value>,
}

impl Tally {
    fn unexpected(&mut self, value: Cell<'_>, id: Option<Cell<'_>>) {
        self.unexpected_with(|| value.to_json(), id);
    }

    /// An unexpected row whose value is made only when it is listed.
    fn unexpected_with(&mut self, value: impl FnOnce() -> Value, id: Option<Cell<'_>>) {
        self.unexpected += 1;
        if self.examples.len() < PARTIAL {
            self.examples.push(value());
            if let Some(id) = id {
                self.ids.push(id.to_json());
            }
        }
    }
}

/// A rule's state while its pieces are read.
#[derive(Debug)]
enum State {
    RowCount,
    Map(Tally),
    NotNull(Tally),
    Distinct(Distinct),
    TypeName(TypeState),
    RowCondition(Tally),
    TableCondition(TableState),
    /// The file's columns, once told.
    Columns(Vec<String>),
    /// A column of the rule is not in the file: nothing is read for it.
    Absent(String),
}

/// What `column_values_to_be_in_type_list` has seen. GE 1.24.1 tests the dtype of a column
/// pandas types (int64, float64, bool) as a whole, but the values of an `object` column (text)
/// one by one, by their Python type (`str`), as a map rule.
#[derive(Debug, Default)]
struct TypeState {
    /// pandas's dtype name so far.
    name: Option<&'static str>,
    /// Whether a value was missing: pandas reads an integer column with a gap as float64.
    has_null: bool,
    /// The values of a text column tested as a map rule.
    tally: Tally,
}

/// One rule being checked: [`Accumulator::feed`] it every piece, then [`Accumulator::finish`].
#[derive(Debug)]
pub struct Accumulator<'r> {
    rule: &'r Rule,
    rows: u64,
    /// The `--id` column, whose values name the unexpected rows.
    id_column: Option<&'r str>,
    state: State,
}

/// pandas's name for a column's type, as `column_values_to_be_in_type_list` compares it.
pub fn pandas_type(column: &Column) -> &'static str {
    match column {
        Column::Bool(_) => "bool",
        Column::Int(_) => "int64",
        Column::Float(_) => "float64",
        Column::Text { .. } => "object",
    }
}

/// The type pandas reads a column as, of pieces read so far as `seen` and now as `this`:
/// integers beside floats read as floats; any other mix (numbers then text, say) as `object`.
pub(crate) fn merge_pandas_types(seen: Option<&'static str>, this: &'static str) -> &'static str {
    match (seen, this) {
        (None, this) => this,
        (Some(seen), this) if seen == this => seen,
        (Some("int64" | "float64"), "int64" | "float64") => "float64",
        (Some(_), _) => "object",
    }
}

impl<'r> Accumulator<'r> {
    /// A fresh accumulator of `rule`; `id_column` is `--id`, whose column will be given with
    /// each piece.
    pub fn new(rule: &'r Rule, id_column: Option<&'r str>) -> Self {
        let state = match &rule.check {
            Check::TableRowCount(_) => State::RowCount,
            Check::NotNull => State::NotNull(Tally::default()),
            Check::Unique => State::Distinct(Distinct::new(1)),
            Check::CompoundUnique { columns, .. } => State::Distinct(Distinct::new(columns.len())),
            Check::InTypeList(_) => State::TypeName(TypeState::default()),
            Check::Between(_) | Check::InSet(_) | Check::Lengths(_) | Check::MatchRegex(_) => {
                State::Map(Tally::default())
            }
            Check::ColumnSet { .. } => State::Columns(Vec::new()),
            Check::Condition(Condition::Rows(_)) => State::RowCondition(Tally::default()),
            Check::Condition(Condition::Table(table)) => {
                State::TableCondition(TableState::new(table))
            }
        };
        Accumulator {
            rule,
            rows: 0,
            id_column,
            state,
        }
    }

    /// Tells the rule the file's columns, before any piece: a rule on a column the file lacks
    /// fails naming it, and a column set rule compares them.
    pub fn see_columns(&mut self, columns: &[String]) {
        if let State::Columns(seen) = &mut self.state {
            *seen = columns.to_vec();
        } else if let Some(missing) = self
            .rule
            .columns()
            .into_iter()
            .find(|c| !columns.iter().any(|have| have == c))
        {
            self.state = State::Absent(missing.to_owned());
        }
    }

    /// Reads one piece. `piece` holds the rule's columns; `ids` is the `--id` column of the same
    /// rows.
    ///
    /// # Errors
    /// When a condition meets a column of a type it cannot read (`mean` of text, `region > 1`).
    ///
    /// # Panics
    /// When `piece` lacks a column of the rule: the caller reads them all.
    pub fn feed(&mut self, piece: &Table, ids: Option<&Column>) -> Result<()> {
        let column = |name: &str| {
            piece
                .column(name)
                .expect("the piece holds the rule's columns")
        };
        let id = |row: usize| ids.map(|c| Cell::of(c, row));
        let base = self.rows;
        match &mut self.state {
            State::RowCount | State::Columns(_) | State::Absent(_) => {}
            State::TypeName(state) => {
                let col = column(self.rule.column.as_deref().unwrap_or_default());
                if !col.is_empty() {
                    let this = pandas_type(col);
                    state.name = Some(merge_pandas_types(state.name, this));
                }
                let Check::InTypeList(types) = &self.rule.check else {
                    unreachable!("a type state is a type list rule's")
                };
                let str_expected = types.iter().any(|t| t == "str");
                for row in 0..piece.rows {
                    let value = Cell::of(col, row);
                    if value.is_null() {
                        state.has_null = true;
                        state.tally.missing += 1;
                    } else if matches!(value, Cell::Text(_)) && !str_expected {
                        state.tally.unexpected(value, id(row));
                    }
                }
            }
            State::NotNull(tally) => {
                let col = column(self.rule.column.as_deref().unwrap_or_default());
                for row in 0..piece.rows {
                    let value = Cell::of(col, row);
                    if value.is_null() {
                        tally.unexpected(value, id(row));
                    }
                }
            }
            State::Map(tally) => {
                let col = column(self.rule.column.as_deref().unwrap_or_default());
                feed_map(&self.rule.check, tally, col, id);
            }
            State::Distinct(distinct) => feed_distinct(
                &self.rule.check,
                self.rule.column.as_deref(),
                distinct,
                piece,
                base,
            ),
            State::RowCondition(tally) => {
                let Check::Condition(Condition::Rows(filter)) = &self.rule.check else {
                    unreachable!("a row condition state is a row condition's")
                };
                let verdicts = filter.verdicts(piece)?;
                let columns: Vec<(&String, &Column)> =
                    filter.columns().iter().map(|c| (c, column(c))).collect();
                // An unexpected row is listed with the values the condition read.
                let values = |row: usize| {
                    Value::Object(
                        columns
                            .iter()
                            .map(|(name, c)| ((*name).clone(), Cell::of(c, row).to_json()))
                            .collect(),
                    )
                };
                for (row, verdict) in verdicts.into_iter().enumerate() {
                    match verdict {
                        None => tally.missing += 1,
                        Some(true) => {}
                        Some(false) => tally.unexpected_with(|| values(row), id(row)),
                    }
                }
            }
            State::TableCondition(state) => {
                let Check::Condition(Condition::Table(table)) = &self.rule.check else {
                    unreachable!("a table condition state is a table condition's")
                };
                state.feed(&self.rule.name, table, piece, base)?;
            }
        }
        self.rows += piece.rows as u64;
        Ok(())
    }

    /// The rule's result over every piece fed.
    pub fn finish(self) -> Finished {
        let mut missing_ids = Vec::new();
        let outcome = self.outcome(&mut missing_ids);
        Finished {
            outcome,
            missing_ids,
        }
    }

    /// The result, noting in `missing_ids` the listed rows whose id was not kept.
    fn outcome(self, missing_ids: &mut Vec<(usize, u64)>) -> Outcome {
        let all = self.rows;
        let mostly = self.rule.mostly;
        let with_ids = self.id_column.is_some();
        let ids = |list: Vec<Value>| with_ids.then_some(list);
        match self.state {
            State::RowCount => {
                let Check::TableRowCount(bounds) = &self.rule.check else {
                    unreachable!("a row count state is a row count rule's")
                };
                #[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^53")]
                let success = bounds.contains(all as f64);
                Outcome {
                    success,
                    observed_value: Some(Value::from(all)),
                    ..Outcome::default()
                }
            }
            State::TypeName(state) => {
                let Check::InTypeList(types) = &self.rule.check else {
                    unreachable!("a type state is a type list rule's")
                };
                if state.name == Some("object") {
                    return map_outcome(all, state.tally, mostly, with_ids);
                }
                let name = match state.name {
                    Some("int64") if state.has_null => Some("float64"),
                    name => name,
                };
                Outcome {
                    success: name.is_some_and(|n| types.iter().any(|t| t == n)),
                    observed_value: name.map(Value::from),
                    ..Outcome::default()
                }
            }
            State::NotNull(tally) => Outcome {
                success: meets(all - tally.unexpected, all, mostly),
                element_count: Some(all),
                unexpected_count: Some(tally.unexpected),
                unexpected_percent: percent(tally.unexpected, all),
                partial_unexpected_ids: ids(tally.ids),
                partial_unexpected_list: Some(tally.examples),
                ..Outcome::default()
            },
            State::Map(tally) | State::RowCondition(tally) => {
                map_outcome(all, tally, mostly, with_ids)
            }
            State::TableCondition(state) => {
                let Check::Condition(Condition::Table(table)) = &self.rule.check else {
                    unreachable!("a table condition state is a table condition's")
                };
                state.finish(table, all)
            }
            State::Columns(seen) => {
                let Check::ColumnSet { columns, exact } = &self.rule.check else {
                    unreachable!("a columns state is a column set rule's")
                };
                column_set_outcome(seen, columns, *exact)
            }
            State::Absent(column) => Outcome {
                success: false,
                details: Some(serde_json::json!({ "missing_column": column })),
                ..Outcome::default()
            },
            State::Distinct(mut distinct) => {
                let outcome =
                    distinct_outcome(self.rule, self.id_column, &mut distinct, all, missing_ids);
                Outcome {
                    partial_unexpected_ids: outcome.partial_unexpected_ids.filter(|_| with_ids),
                    ..outcome
                }
            }
        }
    }
}

/// A uniqueness rule's result over `all` rows, noting in `missing_ids` the listed rows whose id
/// the caller must read (with `--id`, the `id_column`).
fn distinct_outcome(
    rule: &Rule,
    id_column: Option<&str>,
    distinct: &mut Distinct,
    all: u64,
    missing_ids: &mut Vec<(usize, u64)>,
) -> Outcome {
    let tested = all - distinct.missing;
    let unexpected = distinct.unexpected_count();
    let rows = distinct.first_unexpected();
    let columns = match &rule.check {
        Check::CompoundUnique { columns, .. } => Some(columns),
        _ => None,
    };
    // A single column's values are the ids when it is the `--id` column.
    let values_are_ids = columns.is_none() && rule.column.as_deref() == id_column;
    let mut examples = Vec::with_capacity(rows.len());
    let mut id_list = Vec::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        let id = if values_are_ids {
            row.values[0].clone()
        } else {
            if id_column.is_some() {
                missing_ids.push((i, row.row));
            }
            Value::Null
        };
        id_list.push(id);
        examples.push(match columns {
            Some(columns) => Value::Object(columns.iter().cloned().zip(row.values).collect()),
            None => row.values.into_iter().next().unwrap_or_default(),
        });
    }
    Outcome {
        success: meets(tested - unexpected, tested, rule.mostly),
        element_count: Some(all),
        missing_count: Some(distinct.missing),
        missing_percent: percent(distinct.missing, all),
        unexpected_count: Some(unexpected),
        unexpected_percent: percent(unexpected, tested),
        unexpected_percent_nonmissing: percent(unexpected, tested),
        unexpected_percent_total: percent(unexpected, all),
        partial_unexpected_ids: Some(id_list),
        partial_unexpected_list: Some(examples),
        observed_value: None,
        details: None,
    }
}

/// GE's `table_columns_to_match_set` of a file with columns `seen`: every one of `expected`
/// present and, when `exact`, no other; the columns observed sorted, the mismatch in
/// `details`.
fn column_set_outcome(seen: Vec<String>, expected: &[String], exact: bool) -> Outcome {
    let mut observed = seen;
    observed.sort();
    observed.dedup();
    let unexpected: Vec<&String> = observed.iter().filter(|c| !expected.contains(c)).collect();
    let mut missing: Vec<&String> = expected.iter().filter(|c| !observed.contains(c)).collect();
    missing.sort();
    let mut mismatched = serde_json::Map::new();
    if !unexpected.is_empty() {
        mismatched.insert("unexpected".into(), serde_json::json!(unexpected));
    }
    if !missing.is_empty() {
        mismatched.insert("missing".into(), serde_json::json!(missing));
    }
    Outcome {
        success: missing.is_empty() && (!exact || unexpected.is_empty()),
        details: (!mismatched.is_empty()).then(|| serde_json::json!({ "mismatched": mismatched })),
        observed_value: Some(serde_json::json!(observed)),
        ..Outcome::default()
    }
}

/// Feeds one piece to a uniqueness rule (`check`, on `column` or a list of columns), whose first
/// row is row `base`.
fn feed_distinct(
    check: &Check,
    column: Option<&str>,
    distinct: &mut Distinct,
    piece: &Table,
    base: u64,
) {
    let names: Vec<&str> = match check {
        Check::CompoundUnique { columns, .. } => columns.iter().map(String::as_str).collect(),
        _ => vec![column.unwrap_or_default()],
    };
    let ignore = match check {
        Check::CompoundUnique { ignore_row_if, .. } => *ignore_row_if,
        // A single column's nulls are never duplicates.
        _ => IgnoreRowIf::AnyValueIsMissing,
    };
    let cols: Vec<&Column> = names
        .iter()
        .map(|n| piece.column(n).expect("the piece holds the rule's columns"))
        .collect();
    distinct.add_rows(&cols, piece.rows, base, ignore);
}

/// Feeds one piece of `col` to a map rule's tally. Text is tested once per distinct value of the
/// piece, then counted by its codes; numbers in a loop over the values.
fn feed_map<'a>(
    check: &Check,
    tally: &mut Tally,
    col: &'a Column,
    id: impl Fn(usize) -> Option<Cell<'a>>,
) {
    match col {
        Column::Text { labels, ids } => {
            let passes: Vec<bool> = labels
                .iter()
                .map(|label| expected(check, Cell::Text(label)))
                .collect();
            for (row, &code) in ids.iter().enumerate() {
                if code == Column::MISSING {
                    tally.missing += 1;
                } else if !passes[code as usize] {
                    tally.unexpected(Cell::Text(&labels[code as usize]), id(row));
                }
            }
        }
        Column::Float(values) if matches!(check, Check::Between(_)) => {
            let Check::Between(bounds) = check else {
                unreachable!("matched above")
            };
            for (row, &x) in values.values().iter().enumerate() {
                if x.is_nan() || !values.is_present(row) {
                    tally.missing += 1;
                } else if !bounds.contains(x) {
                    tally.unexpected(Cell::Float(x), id(row));
                }
            }
        }
        #[expect(
            clippy::cast_precision_loss,
            reason = "as pandas compares an int64 with a float"
        )]
        Column::Int(values) if matches!(check, Check::Between(_)) => {
            let Check::Between(bounds) = check else {
                unreachable!("matched above")
            };
            for (row, &i) in values.values().iter().enumerate() {
                if !values.is_present(row) {
                    tally.missing += 1;
                } else if !bounds.contains(i as f64) {
                    tally.unexpected(Cell::Int(i), id(row));
                }
            }
        }
        _ => {
            for row in 0..col.len() {
                match Cell::of(col, row) {
                    Cell::Null => tally.missing += 1,
                    value if expected(check, value) => {}
                    value => tally.unexpected(value, id(row)),
                }
            }
        }
    }
}

/// Whether `value` (not null) passes a map rule's `check`.
fn expected(check: &Check, value: Cell<'_>) -> bool {
    match check {
        Check::Between(bounds) => value.number().is_some_and(|x| bounds.contains(x)),
        #[expect(clippy::cast_precision_loss, reason = "lengths are far below 2^53")]
        Check::Lengths(bounds) => bounds.contains(value.text().chars().count() as f64),
        Check::MatchRegex(regex) => regex.is_match(&value.text()),
        Check::InSet(set) => set.iter().any(|member| match (member, value) {
            (SetValue::Text(t), Cell::Text(s)) => t == s,
            (SetValue::Bool(a), Cell::Bool(b)) => *a == b,
            (SetValue::Number(x), Cell::Int(_) | Cell::Float(_)) => value.number() == Some(*x),
            _ => false,
        }),
        _ => true,
    }
}

/// A rule's result, and the listed rows whose `--id` value could not be kept while reading.
#[derive(Debug)]
pub struct Finished {
    pub outcome: Outcome,
    /// `(index into partial_unexpected_ids, row number)` of each id the caller must read.
    pub missing_ids: Vec<(usize, u64)>,
}

/// A map rule's result from its tally over `all` rows.
fn map_outcome(all: u64, tally: Tally, mostly: f64, with_ids: bool) -> Outcome {
    let tested = all - tally.missing;
    Outcome {
        success: meets(tested - tally.unexpected, tested, mostly),
        element_count: Some(all),
        missing_count: Some(tally.missing),
        missing_percent: percent(tally.missing, all),
        unexpected_count: Some(tally.unexpected),
        unexpected_percent: percent(tally.unexpected, tested),
        unexpected_percent_nonmissing: percent(tally.unexpected, tested),
        unexpected_percent_total: percent(tally.unexpected, all),
        partial_unexpected_ids: with_ids.then_some(tally.ids),
        partial_unexpected_list: Some(tally.examples),
        observed_value: None,
        details: None,
    }
}

#[cfg(test)]
mod tests;
