//! The accumulators against hand-made columns, fed in pieces of several sizes: GE's counts,
//! percents and lists for every kind of rule.

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
    let mut acc = Accumulator::new(&rule, Some("id"));
    let mut start = 0;
    while start < rows.max(1) {
        let part: Vec<usize> = (start..(start + piece).min(rows)).collect();
        let id_part = Table {
            names: vec!["id".into()],
            columns: vec![ids.clone()],
            rows,
        }
        .take(&part);
        acc.feed(&table.take(&part), Some(&id_part.columns[0]))
            .expect("feeds");
        start += piece;
    }
    // What `check` reads afterwards: the id of row r is r.
    let mut finished = acc.finish();
    if let Some(ids) = &mut finished.outcome.partial_unexpected_ids {
        for (slot, row) in finished.missing_ids {
            ids[slot] = json!(row);
        }
    }
    finished.outcome
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

#[test]
fn a_row_condition_lists_the_rows_that_fail_it_and_leaves_unknown_rows_out() {
    let col = ints(&[Some(-1), None, Some(5), Some(130)]);
    for piece in [1, 3] {
        let out = run("{check: \"x >= 0 and x < 120\"}", x(col.clone()), piece);
        assert!(!out.success);
        assert_eq!(out.unexpected_count, Some(2));
        assert_eq!(out.missing_count, Some(1));
        assert_eq!(out.unexpected_percent, Some(2.0 / 3.0 * 100.0));
        assert_eq!(
            out.partial_unexpected_list,
            Some(vec![json!({"x": -1}), json!({"x": 130})])
        );
        assert_eq!(out.partial_unexpected_ids, Some(vec![json!(0), json!(3)]));
    }
    let out = run(
        "{check: \"x is not null and x >= 0\", mostly: 0.5}",
        x(col),
        2,
    );
    assert_eq!(out.unexpected_count, Some(2));
    assert!(out.success);
}

#[test]
fn a_table_condition_reports_its_aggregates() {
    let col = ints(&[Some(1), None, Some(2), None, Some(2)]);
    let cases = [
        (
            "share(x is null) < 0.2",
            false,
            json!({"share(x is null)": 0.4}),
        ),
        (
            "count(x == 2) == 2 and rows == 5",
            true,
            json!({"count(x == 2)": 2.0, "rows": 5.0}),
        ),
        ("unique(x)", false, json!({"unique(x)": false})),
        ("distinct(x) == 2", true, json!({"distinct(x)": 2.0})),
        (
            "mean(x) > 1.66 and min(x) == 1 and max(x) == 2 and sum(x) == 5",
            true,
            json!({"mean(x)": 5.0 / 3.0, "min(x)": 1.0, "max(x)": 2.0, "sum(x)": 5.0}),
        ),
    ];
    for (text, success, observed) in cases {
        for piece in [1, 2, 10] {
            let out = run(&format!("{{check: \"{text}\"}}"), x(col.clone()), piece);
            assert_eq!(out.success, success, "{text}");
            assert_eq!(out.observed_value, Some(observed.clone()), "{text}");
            assert_eq!(out.element_count, Some(5));
        }
    }
    // The mean of no values is undefined, and an undefined condition fails.
    let out = run("{check: \"mean(x) > 0\"}", x(ints(&[None, None])), 1);
    assert!(!out.success);
    assert_eq!(out.observed_value, Some(json!({"mean(x)": null})));
}

#[test]
fn a_statistic_of_text_is_an_error_naming_the_rule() {
    let rule = rule("{name: m, check: \"mean(x) > 0\"}");
    let table = Table {
        names: vec!["x".into()],
        columns: vec![texts(&[Some("a")])],
        rows: 1,
    };
    let err = Accumulator::new(&rule, None)
        .feed(&table, None)
        .expect_err("text has no mean");
    assert_eq!(
        err.to_string(),
        "rule `m`: `mean(x)` takes a number, and `x` is text"
    );
}
