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
//! - uniqueness marks every occurrence of a duplicated value; it keeps, per distinct value (or
//!   combination of values), a count and the first 20 rows it was seen on, which is all that the
//!   first 20 unexpected rows can need, so that one pass suffices. Memory grows with the
//!   distinct values, as any exact uniqueness test's must.

use std::borrow::Cow;
use std::collections::HashMap;

use mlops_data::table::{Column, Table};
use serde_json::Value;

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

    fn is_null(self) -> bool {
        matches!(self, Cell::Null)
    }

    /// The value as a number: integers, floats, and booleans as 0 and 1 (as pandas compares
    /// them); `None` for text.
    #[expect(
        clippy::cast_precision_loss,
        reason = "as pandas compares an int64 with a float"
    )]
    fn number(self) -> Option<f64> {
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

    /// The value as an owned, hashable key (-0.0 is 0.0, as pandas counts them).
    fn key(self) -> Key {
        match self {
            Cell::Null => Key::Null,
            Cell::Bool(b) => Key::Bool(b),
            Cell::Int(i) => Key::Int(i),
            Cell::Float(x) => Key::Float((x + 0.0).to_bits()),
            Cell::Text(s) => Key::Text(s.into()),
        }
    }
}

/// An owned value that can be counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Null,
    Bool(bool),
    Int(i64),
    Float(u64),
    Text(Box<str>),
}

impl Key {
    fn to_json(&self) -> Value {
        match self {
            Key::Null => Value::Null,
            Key::Bool(b) => Value::Bool(*b),
            Key::Int(i) => Value::from(*i),
            Key::Float(bits) => Cell::Float(f64::from_bits(*bits)).to_json(),
            Key::Text(s) => Value::String(s.to_string()),
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
        self.unexpected += 1;
        if self.examples.len() < PARTIAL {
            self.examples.push(value.to_json());
            if let Some(id) = id {
                self.ids.push(id.to_json());
            }
        }
    }
}

/// Where a value was seen: its row and, with `--id`, that row's id.
type Sighting = (u64, Option<Key>);

/// A distinct value's (or combination's) count and the first [`PARTIAL`] rows it was seen on.
#[derive(Debug)]
struct Seen {
    count: u64,
    first: Sighting,
    more: Vec<Sighting>,
}

/// An unexpected row of a uniqueness rule: its row, its value(s) and its id.
type Unexpected<'a> = (u64, &'a [Key], Option<&'a Key>);

/// The distinct values of one column or a combination of columns.
#[derive(Debug, Default)]
struct Distinct {
    seen: HashMap<Box<[Key]>, Seen>,
    /// Rows left out: nulls, or the rows `ignore_row_if` ignores.
    missing: u64,
}

impl Distinct {
    fn add(&mut self, key: Box<[Key]>, row: u64, id: Option<Key>) {
        match self.seen.get_mut(&key) {
            Some(seen) => {
                seen.count += 1;
                if seen.more.len() + 1 < PARTIAL {
                    seen.more.push((row, id));
                }
            }
            None => {
                self.seen.insert(
                    key,
                    Seen {
                        count: 1,
                        first: (row, id),
                        more: Vec::new(),
                    },
                );
            }
        }
    }

    /// The unexpected count and the first [`PARTIAL`] unexpected rows, in row order, with their
    /// values and ids.
    fn duplicates(&self) -> (u64, Vec<Unexpected<'_>>) {
        let mut count = 0;
        let mut rows = Vec::new();
        for (key, seen) in &self.seen {
            if seen.count > 1 {
                count += seen.count;
                for (row, id) in std::iter::once(&seen.first).chain(&seen.more) {
                    rows.push((*row, &key[..], id.as_ref()));
                }
            }
        }
        rows.sort_unstable_by_key(|r| r.0);
        rows.truncate(PARTIAL);
        (count, rows)
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
    /// Whether ids are listed (`--id`).
    with_ids: bool,
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

impl<'r> Accumulator<'r> {
    /// A fresh accumulator of `rule`; `with_ids` when an id column will be given with each piece.
    pub fn new(rule: &'r Rule, with_ids: bool) -> Self {
        let state = match &rule.check {
            Check::TableRowCount(_) => State::RowCount,
            Check::NotNull => State::NotNull(Tally::default()),
            Check::Unique | Check::CompoundUnique { .. } => State::Distinct(Distinct::default()),
            Check::InTypeList(_) => State::TypeName(TypeState::default()),
            Check::Between(_) | Check::InSet(_) | Check::Lengths(_) | Check::MatchRegex(_) => {
                State::Map(Tally::default())
            }
        };
        Accumulator {
            rule,
            rows: 0,
            with_ids,
            state,
        }
    }

    /// Whether `value` (not null) passes a map rule.
    fn expected(&self, value: Cell<'_>) -> bool {
        match &self.rule.check {
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

    /// Reads one piece. `piece` holds the rule's columns; `ids` is the `--id` column of the same
    /// rows.
    ///
    /// # Panics
    /// When `piece` lacks a column of the rule: the caller reads them all.
    pub fn feed(&mut self, piece: &Table, ids: Option<&Column>) {
        let column = |name: &str| {
            piece
                .column(name)
                .expect("the piece holds the rule's columns")
        };
        let id = |row: usize| ids.map(|c| Cell::of(c, row));
        let base = self.rows;
        match &mut self.state {
            State::RowCount => {}
            State::TypeName(state) => {
                let col = column(self.rule.column.as_deref().unwrap_or_default());
                if !col.is_empty() {
                    let this = pandas_type(col);
                    // An integer piece after a float one (or before) reads as floats overall.
                    state.name = Some(match (state.name, this) {
                        (Some("int64"), "float64") | (Some("float64"), "int64") => "float64",
                        (Some(seen), _) => seen,
                        (None, this) => this,
                    });
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
            State::Map(_) => {
                let col = column(self.rule.column.as_deref().unwrap_or_default());
                for row in 0..piece.rows {
                    let value = Cell::of(col, row);
                    let verdict = if value.is_null() {
                        None
                    } else {
                        Some(self.expected(value))
                    };
                    let State::Map(tally) = &mut self.state else {
                        unreachable!("matched above")
                    };
                    match verdict {
                        None => tally.missing += 1,
                        Some(true) => {}
                        Some(false) => tally.unexpected(value, id(row)),
                    }
                }
            }
            State::Distinct(distinct) => {
                let names: Vec<&str> = match &self.rule.check {
                    Check::CompoundUnique { columns, .. } => {
                        columns.iter().map(String::as_str).collect()
                    }
                    _ => vec![self.rule.column.as_deref().unwrap_or_default()],
                };
                let ignore = match &self.rule.check {
                    Check::CompoundUnique { ignore_row_if, .. } => *ignore_row_if,
                    // A single column's nulls are never duplicates.
                    _ => IgnoreRowIf::AnyValueIsMissing,
                };
                let cols: Vec<&Column> = names.iter().map(|n| column(n)).collect();
                for row in 0..piece.rows {
                    let key: Box<[Key]> = cols.iter().map(|c| Cell::of(c, row).key()).collect();
                    let ignored = match ignore {
                        IgnoreRowIf::AllValuesAreMissing => key.iter().all(|k| *k == Key::Null),
                        IgnoreRowIf::AnyValueIsMissing => key.contains(&Key::Null),
                        IgnoreRowIf::Never => false,
                    };
                    if ignored {
                        distinct.missing += 1;
                    } else {
                        let id = if self.with_ids {
                            id(row).map(Cell::key)
                        } else {
                            None
                        };
                        distinct.add(key, base + row as u64, id);
                    }
                }
            }
        }
        self.rows += piece.rows as u64;
    }

    /// The rule's result over every piece fed.
    pub fn finish(self) -> Outcome {
        let all = self.rows;
        let mostly = self.rule.mostly;
        let ids = |list: Vec<Value>| self.with_ids.then_some(list);
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
                    return map_outcome(all, state.tally, mostly, self.with_ids);
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
            State::Map(tally) => map_outcome(all, tally, mostly, self.with_ids),
            State::Distinct(distinct) => {
                let tested = all - distinct.missing;
                let (unexpected, rows) = distinct.duplicates();
                let columns = match &self.rule.check {
                    Check::CompoundUnique { columns, .. } => Some(columns),
                    _ => None,
                };
                let examples = rows
                    .iter()
                    .map(|(_, key, _)| match columns {
                        Some(columns) => Value::Object(
                            columns
                                .iter()
                                .zip(key.iter())
                                .map(|(c, k)| (c.clone(), k.to_json()))
                                .collect(),
                        ),
                        None => key[0].to_json(),
                    })
                    .collect();
                let id_list = rows
                    .iter()
                    .map(|(_, _, id)| id.map_or(Value::Null, Key::to_json))
                    .collect();
                Outcome {
                    success: meets(tested - unexpected, tested, mostly),
                    element_count: Some(all),
                    missing_count: Some(distinct.missing),
                    missing_percent: percent(distinct.missing, all),
                    unexpected_count: Some(unexpected),
                    unexpected_percent: percent(unexpected, tested),
                    unexpected_percent_nonmissing: percent(unexpected, tested),
                    unexpected_percent_total: percent(unexpected, all),
                    partial_unexpected_ids: ids(id_list),
                    partial_unexpected_list: Some(examples),
                    observed_value: None,
                }
            }
        }
    }
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
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use mlops_data::Nullable;
    use serde_json::json;

    use super::*;
    use crate::schema::Schema;

    fn ints(values: &[Option<i64>]) -> Column {
        let mut n = Nullable::new();
        for v in values {
            n.push(*v);
        }
        Column::Int(n)
    }

    fn floats(values: &[Option<f64>]) -> Column {
        let mut n = Nullable::new();
        for v in values {
            n.push(*v);
        }
        Column::Float(n)
    }

    fn texts(values: &[Option<&str>]) -> Column {
        Column::text(values.iter().copied())
    }

    /// One rule written as a schema's `columns.x` (or `table`) entry.
    fn rule(yaml: &str) -> Rule {
        let table = yaml.contains("table_row_count") || yaml.contains("compound");
        let text = if table {
            format!("version: 1\ntable:\n  - {yaml}\n")
        } else {
            format!("version: 1\ncolumns:\n  x:\n    - {yaml}\n")
        };
        let mut schema = Schema::parse(&text, Path::new("t.yaml")).expect("a valid rule");
        schema.rules.remove(0)
    }

    /// `rule` over `columns`, fed in pieces of `piece` rows, with ids 0, 1, 2...
    fn run(yaml: &str, columns: Vec<(&str, Column)>, piece: usize) -> Outcome {
        let rule = rule(yaml);
        let rows = columns[0].1.len();
        let table = Table {
            names: columns.iter().map(|(n, _)| (*n).to_owned()).collect(),
            columns: columns.into_iter().map(|(_, c)| c).collect(),
            rows,
        };
        let ids = ints(&(0..rows).map(|i| i64::try_from(i).ok()).collect::<Vec<_>>());
        let mut acc = Accumulator::new(&rule, true);
        let mut start = 0;
        while start < rows.max(1) {
            let part: Vec<usize> = (start..(start + piece).min(rows)).collect();
            let id_part = Table {
                names: vec!["id".into()],
                columns: vec![ids.clone()],
                rows,
            }
            .take(&part);
            acc.feed(&table.take(&part), Some(&id_part.columns[0]));
            start += piece;
        }
        acc.finish()
    }

    fn x(column: Column) -> Vec<(&'static str, Column)> {
        vec![("x", column)]
    }

    /// A rule, its column, and the expected success, unexpected count, unexpected percent and
    /// partial list.
    type Case = (&'static str, Column, bool, u64, Option<f64>, Value);

    #[test]
    #[expect(clippy::too_many_lines, reason = "one table of cases")]
    fn map_rules_drop_nulls_and_count_as_ge() {
        let cases: Vec<Case> = vec![
            (
                "{expect: column_values_to_be_between, min_value: 18, max_value: 100}",
                ints(&[Some(17), None, Some(18), Some(100), Some(101), None]),
                false,
                2,
                Some(50.0),
                json!([17, 101]),
            ),
            (
                "{expect: column_values_to_be_between, min_value: 18, max_value: 100, strict_min: true, strict_max: true}",
                ints(&[Some(18), Some(50), Some(100)]),
                false,
                2,
                Some(2.0 / 3.0 * 100.0),
                json!([18, 100]),
            ),
            (
                "{expect: column_values_to_be_between, max_value: 1.5}",
                floats(&[Some(1.5), Some(f64::NAN), Some(2.5)]),
                false,
                1,
                Some(50.0),
                json!([2.5]),
            ),
            (
                "{expect: column_values_to_be_between, min_value: 0, mostly: 0.5}",
                ints(&[Some(-1), Some(1)]),
                true,
                1,
                Some(50.0),
                json!([-1]),
            ),
            (
                "{expect: column_values_to_be_between, min_value: 0}",
                ints(&[None, None]),
                true,
                0,
                None,
                json!([]),
            ),
            (
                "{expect: column_values_to_be_in_set, value_set: [1, 2.0, a]}",
                floats(&[Some(1.0), Some(2.0), Some(3.0)]),
                false,
                1,
                Some(1.0 / 3.0 * 100.0),
                json!([3.0]),
            ),
            (
                "{expect: column_values_to_be_in_set, value_set: [a, b]}",
                texts(&[Some("a"), Some("c"), None, Some("b")]),
                false,
                1,
                Some(1.0 / 3.0 * 100.0),
                json!(["c"]),
            ),
            (
                "{expect: column_value_lengths_to_be_between, min_value: 2, max_value: 3}",
                texts(&[Some("éé"), Some("a"), Some("日本語x")]),
                false,
                2,
                Some(2.0 / 3.0 * 100.0),
                json!(["a", "日本語x"]),
            ),
            (
                "{expect: column_values_to_match_regex, regex: 'b+'}",
                texts(&[Some("abc"), Some("xyz"), None]),
                false,
                1,
                Some(50.0),
                json!(["xyz"]),
            ),
            (
                "{expect: column_values_to_match_regex, regex: '^\\d+$'}",
                ints(&[Some(12), Some(-3)]),
                false,
                1,
                Some(50.0),
                json!([-3]),
            ),
            (
                "{expect: column_values_to_be_unique}",
                ints(&[
                    Some(2),
                    Some(2),
                    Some(3),
                    Some(3),
                    Some(3),
                    Some(4),
                    None,
                    None,
                ]),
                false,
                5,
                Some(5.0 / 6.0 * 100.0),
                json!([2, 2, 3, 3, 3]),
            ),
            (
                "{expect: column_values_to_be_unique}",
                floats(&[Some(1.0), Some(1.5), Some(1.0)]),
                false,
                2,
                Some(2.0 / 3.0 * 100.0),
                json!([1.0, 1.0]),
            ),
        ];
        for (yaml, column, success, unexpected, pct, examples) in cases {
            for piece in [1, 2, 100] {
                let out = run(yaml, x(column.clone()), piece);
                assert_eq!(out.success, success, "{yaml}");
                assert_eq!(out.unexpected_count, Some(unexpected), "{yaml}");
                assert_eq!(out.unexpected_percent, pct, "{yaml}");
                assert_eq!(
                    Value::from(out.partial_unexpected_list.clone().expect("a list")),
                    examples,
                    "{yaml}"
                );
                assert_eq!(out.element_count, Some(column.len() as u64));
            }
        }
    }

    #[test]
    fn percents_over_all_rows_and_non_null_rows() {
        let out = run(
            "{expect: column_values_to_be_between, min_value: 0}",
            x(ints(&[Some(-1), None, Some(1), None])),
            3,
        );
        assert_eq!(out.missing_count, Some(2));
        assert_eq!(out.missing_percent, Some(50.0));
        assert_eq!(out.unexpected_percent, Some(50.0));
        assert_eq!(out.unexpected_percent_total, Some(25.0));
        assert_eq!(out.partial_unexpected_ids, Some(vec![json!(0)]));
    }

    #[test]
    fn not_null_counts_nulls_over_every_row() {
        let col = ints(&[Some(1), None, Some(2), None]);
        let out = run("{expect: column_values_to_not_be_null}", x(col.clone()), 3);
        assert!(!out.success);
        assert_eq!(out.unexpected_count, Some(2));
        assert_eq!(out.unexpected_percent, Some(50.0));
        assert_eq!(out.missing_count, None);
        assert_eq!(
            out.partial_unexpected_list,
            Some(vec![Value::Null, Value::Null])
        );
        assert_eq!(out.partial_unexpected_ids, Some(vec![json!(1), json!(3)]));
        let out = run(
            "{expect: column_values_to_not_be_null, mostly: 0.5}",
            x(col),
            1,
        );
        assert!(out.success);
    }

    #[test]
    fn lists_the_first_twenty_in_row_order() {
        let values: Vec<Option<i64>> = (0..30).map(|i| Some(i % 10)).collect();
        let out = run("{expect: column_values_to_be_unique}", x(ints(&values)), 7);
        assert_eq!(out.unexpected_count, Some(30));
        let list = out.partial_unexpected_list.expect("a list");
        assert_eq!(list.len(), 20);
        assert_eq!(
            list[..12],
            (0..12).map(|i| json!(i % 10)).collect::<Vec<_>>()[..]
        );
        let ids = out.partial_unexpected_ids.expect("ids");
        assert_eq!(ids, (0..20).map(|i| json!(i)).collect::<Vec<_>>());
    }

    #[test]
    fn compound_uniqueness_ignores_rows_as_asked() {
        let a = ints(&[Some(1), Some(1), None, None, Some(2), None]);
        let b = texts(&[Some("x"), Some("x"), None, None, Some("y"), Some("y")]);
        let cols = || vec![("a", a.clone()), ("b", b.clone())];
        let base = "{expect: compound_columns_to_be_unique, column_list: [a, b]";
        // Default: all missing rows are left out; the two `1,x` rows are duplicates.
        let out = run(&format!("{base}}}"), cols(), 4);
        assert_eq!(out.unexpected_count, Some(2));
        assert_eq!(out.missing_count, Some(2));
        assert_eq!(out.unexpected_percent, Some(50.0));
        assert_eq!(
            out.partial_unexpected_list,
            Some(vec![json!({"a": 1, "b": "x"}), json!({"a": 1, "b": "x"})])
        );
        // Never: null equals null, so the two all-null rows are duplicates too.
        let out = run(&format!("{base}, ignore_row_if: never}}"), cols(), 2);
        assert_eq!(out.unexpected_count, Some(4));
        assert_eq!(out.missing_count, Some(0));
        let out = run(
            &format!("{base}, ignore_row_if: any_value_is_missing}}"),
            cols(),
            5,
        );
        assert_eq!(out.unexpected_count, Some(2));
        assert_eq!(out.missing_count, Some(3));
        assert!(!out.success);
    }

    #[test]
    fn row_count_and_type_list() {
        let col = ints(&[Some(1), Some(2), Some(3)]);
        let out = run(
            "{expect: table_row_count_to_be_between, min_value: 3, max_value: 3}",
            x(col.clone()),
            2,
        );
        assert!(out.success);
        assert_eq!(out.observed_value, Some(json!(3)));
        let out = run(
            "{expect: table_row_count_to_be_between, max_value: 3, strict_max: true}",
            x(col.clone()),
            2,
        );
        assert!(!out.success);
        let cases = [
            (col, "[int64, int32]", true, "int64"),
            (floats(&[Some(1.0)]), "[int64]", false, "float64"),
            (ints(&[Some(1), None]), "[int64]", false, "float64"),
            (Column::Bool(vec![Some(true)]), "[bool]", true, "bool"),
        ];
        for (column, list, success, name) in cases {
            let yaml = format!("{{expect: column_values_to_be_in_type_list, type_list: {list}}}");
            let out = run(&yaml, x(column), 1);
            assert_eq!(out.success, success, "{yaml}");
            assert_eq!(out.observed_value, Some(json!(name)));
        }
        // Text is tested value by value, by Python's type name.
        let column = texts(&[Some("a"), None, Some("b")]);
        let yaml = "{expect: column_values_to_be_in_type_list, type_list: [str]}";
        let out = run(yaml, x(column.clone()), 2);
        assert!(out.success);
        assert_eq!(out.missing_count, Some(1));
        assert_eq!(out.observed_value, None);
        let yaml = "{expect: column_values_to_be_in_type_list, type_list: [object]}";
        let out = run(yaml, x(column), 2);
        assert!(!out.success);
        assert_eq!(out.unexpected_count, Some(2));
        assert_eq!(
            out.partial_unexpected_list,
            Some(vec![json!("a"), json!("b")])
        );
    }
}
