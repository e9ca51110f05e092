//! Table-driven tests of the grammar, the errors' columns and the meaning of each operator.

use super::*;

/// Names for the tests: `a` = 2, `b` = 0.5, `third` = 0.1 + 0.2, `name` = "north", `flag` =
/// true, `nan` = NaN, `u` undefined ("no positives"); anything else unknown.
struct Names;

impl Resolver for Names {
    fn resolve(&self, path: &Path) -> Resolved {
        let value = match path.text.as_str() {
            "a" | "column(age).psi" | "slices.min(recall)" => Value::Number(2.0),
            "b" => Value::Number(0.5),
            "third" => Value::Number(0.1 + 0.2),
            "name" => Value::Text("north".into()),
            "flag" => Value::Bool(true),
            "nan" => Value::Number(f64::NAN),
            "u" => return Resolved::Undefined("no positives".into()),
            _ => return Resolved::Unknown,
        };
        Resolved::Value(value)
    }
}

fn value(text: &str) -> Outcome {
    Expr::parse(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .evaluate(&Names)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .value
}

#[test]
fn operators_mean_one_thing() {
    let t = Ok(Value::Bool(true));
    let f = Ok(Value::Bool(false));
    let cases: &[(&str, Outcome)] = &[
        ("a >= 2", t.clone()),
        ("a <= 1.5", f.clone()),
        ("a > 2", f.clone()),
        ("a < 2.5", t.clone()),
        ("a == 2", t.clone()),
        ("a != 2", f.clone()),
        // `==` is exact; a tolerance is stated.
        ("third == 0.3", f.clone()),
        ("0.1 + 0.2 == 0.3", f.clone()),
        ("third == 0.3 +- 1e-9", t.clone()),
        ("third == 0.3 ± 1e-9", t.clone()),
        ("third != 0.3 +- 1e-9", f.clone()),
        ("a == 2.5 +- 0.5", t.clone()),
        ("a == 2.6 +- 0.5", f.clone()),
        ("-0 == 0", t.clone()),
        // Arithmetic, precedence, signs.
        ("a + b * 2 == 3", t.clone()),
        ("(a + b) * 2 == 5", t.clone()),
        ("a - b - b == 1", t.clone()),
        ("a / 4 / b == 1", t.clone()),
        ("-a + +b == -1.5", t.clone()),
        ("a - -1 == 3", t.clone()),
        ("1e-3 * 1000 == 1", t.clone()),
        (".5 == b", t.clone()),
        ("a", Ok(Value::Number(2.0))),
        // Calls and dotted names.
        ("column(age).psi < slices.min(recall) + 1", t.clone()),
        // Text and conditions.
        ("name == \"north\"", t.clone()),
        ("name != 'south'", t.clone()),
        ("name < \"z\"", t.clone()),
        ("flag", t.clone()),
        ("flag == true", t.clone()),
        ("flag != false", t.clone()),
        ("not flag", f.clone()),
        ("a > 1 and b > 1", f.clone()),
        ("a > 1 or b > 1", t.clone()),
        ("not a > 1 or b < 1 and a == 2", t.clone()),
        ("not (a > 1 or b < 1)", f.clone()),
        ("a > 1 and b < 1 and name == 'north'", t.clone()),
        // Undefined spreads, but `and`/`or` decide when they can.
        ("u > 1", Err("no positives".into())),
        ("u + 1 > a", Err("no positives".into())),
        ("not u > 1", Err("no positives".into())),
        ("u > 1 and a > 5", f.clone()),
        ("u > 1 and a > 1", Err("no positives".into())),
        ("u > 1 or a > 1", t.clone()),
        ("u > 1 or a > 5", Err("no positives".into())),
        ("nan < 1", Err("`nan` is not a number (NaN)".into())),
        ("a / 0 > 1", Err("division by zero at column 5".into())),
        (
            "a / (b - b) > 1",
            Err("division by zero at column 5".into()),
        ),
        // `is null` asks whether a value is missing, and is never itself undefined.
        ("a is null", f.clone()),
        ("a is not null", t.clone()),
        ("u is null", t.clone()),
        ("u is not null", f.clone()),
        ("not (u is null)", f.clone()),
        ("not u is null", f.clone()),
        ("nan is null", t.clone()),
        ("name is not null", t.clone()),
        ("flag is null", f.clone()),
        ("u + 1 is null", t.clone()),
        ("a / 0 is null", t.clone()),
        ("u is null or u > 1", t.clone()),
        ("u is not null and u > 1", f.clone()),
        ("u is not null or a > 1", t.clone()),
    ];
    for (text, expected) in cases {
        assert_eq!(&value(text), expected, "{text}");
    }
}

/// Each `(expression, column, message)` fails to parse with that message at that column.
fn parse_errors(cases: &[(&str, usize, &str)]) {
    for &(text, column, message) in cases {
        let err = Expr::parse(text).expect_err(text);
        assert_eq!(
            (err.column, err.message.as_str()),
            (column, message),
            "{text}"
        );
        assert_eq!(err.expr, text);
    }
}

#[test]
fn is_null_errors_name_the_column() {
    parse_errors(&[
        ("a is", 5, "expected `null` after `is`, found the end"),
        (
            "a is not",
            9,
            "expected `null` after `is not`, found the end",
        ),
        ("a is nul", 6, "expected `null` after `is`, found `nul`"),
        ("a is 1", 6, "expected `null` after `is`, found `1`"),
        (
            "a is null == 1",
            11,
            "comparisons do not chain; join them with `and`",
        ),
        (
            "a is null is null",
            11,
            "comparisons do not chain; join them with `and`",
        ),
        (
            "a > 1 is null",
            7,
            "comparisons do not chain; join them with `and`",
        ),
        (
            "(a > 1) is null",
            1,
            "`is null` takes a value such as a name, not a condition",
        ),
        (
            "not a is not null and (b == 1) is not null",
            23,
            "`is not null` takes a value such as a name, not a condition",
        ),
        (
            "null > 1",
            1,
            "`null` stands only in `x is null` or `x is not null`; a name spelt so is written `column(null)` in a filter",
        ),
        (
            "a == null",
            6,
            "`null` stands only in `x is null` or `x is not null`; a name spelt so is written `column(null)` in a filter",
        ),
        (
            "is > 1",
            1,
            "`is` stands only in `x is null` or `x is not null`; a name spelt so is written `column(is)` in a filter",
        ),
        (
            "is null",
            1,
            "`is` stands only in `x is null` or `x is not null`; a name spelt so is written `column(is)` in a filter",
        ),
        ("ü + a > é", 1, "unexpected `ü`"),
    ]);
}

#[test]
fn parse_errors_name_the_column() {
    // (expression, column, message)
    let cases: &[(&str, usize, &str)] = &[
        ("accuracy >= 0.8x", 13, "`0.8x` is not a number"),
        (
            "accuracy 0.8",
            10,
            "expected an operator or the end, found `0.8`",
        ),
        ("a > 1 b", 7, "expected `and`, `or` or the end, found `b`"),
        ("a >=", 5, "expected a number, a name or `(`, found the end"),
        ("(a > 1", 7, "expected `)`, found the end"),
        ("a > 1)", 6, "expected `and`, `or` or the end, found `)`"),
        (
            "slices.min(recall >= 1",
            23,
            "expected `)` after the arguments of `min`",
        ),
        ("f(a, ) > 1", 6, "an argument of `f` is empty"),
        (
            "f(a(b)) > 1",
            4,
            "an argument of `f` is a name; quote a name with `(` in it",
        ),
        (
            "0 < a < 1",
            7,
            "comparisons do not chain; join them with `and`",
        ),
        (
            "a > 1 +- 0.1",
            7,
            "a tolerance (`+-`) follows only `==` or `!=`",
        ),
        (
            "a == 1 +- b",
            11,
            "expected a tolerance, a number such as `1e-9`, found `b`",
        ),
        ("a = 1", 3, "`=` compares as `==`"),
        ("a > 1 && b > 1", 7, "conditions are joined with `and`"),
        ("a > 1 || b > 1", 7, "conditions are joined with `or`"),
        ("!flag", 1, "a condition is negated with `not`"),
        ("a # 1", 3, "unexpected `#`"),
        ("name == \"north", 9, "`\"` is never closed"),
        ("a. > 1", 2, "expected a name after `.`"),
        ("1e999 > a", 1, "`1e999` is not a finite number"),
        ("\"x\" + 1 > a", 1, "arithmetic takes numbers, not text"),
        (
            "(a > 1) + 1 > a",
            1,
            "arithmetic takes numbers, not a condition",
        ),
        (
            "(a > 1) == (b > 1)",
            1,
            "a comparison takes numbers or text, not a condition; join conditions with `and` or `or`",
        ),
        ("a + 1 == \"x\"", 1, "a number cannot be compared with text"),
        (
            "name == \"x\" +- 1",
            13,
            "a tolerance (`+-`) compares numbers, not text",
        ),
        (
            "1 and a > 1",
            1,
            "`and` takes conditions such as `x > 1`, not a value",
        ),
        (
            "not 'x'",
            5,
            "`not` takes conditions such as `x > 1`, not a value",
        ),
        ("é > 1", 1, "unexpected `é`"),
    ];
    parse_errors(cases);
    let err = Expr::condition("accuracy").expect_err("a value");
    assert_eq!(err.column, 9);
    assert_eq!(
        err.named("gate").to_string(),
        "invalid gate `accuracy`: expected a comparison (`>=`, `<=`, `>`, `<`, `==` or `!=`) at column 9"
    );
}

#[test]
fn nesting_is_bounded_and_long_sums_are_flat() {
    let deep = format!("{}a{} > 1", "(".repeat(100), ")".repeat(100));
    let err = Expr::parse(&deep).expect_err("too deep");
    assert_eq!(err.message, "the expression is nested too deeply");
    let nots = format!("{}a > 1", "not ".repeat(100));
    assert!(Expr::parse(&nots).is_err());
    // 20,000 terms: one level of the tree, evaluated without deep recursion.
    let long = format!("{} == 20000", vec!["1"; 20_000].join(" + "));
    assert_eq!(value(&long), Ok(Value::Bool(true)));
}

#[test]
fn is_null_parses_into_one_node_and_keywords_stand_alone() {
    let expr = Expr::condition("not a is not null and column(null).x is null").expect("parses");
    let operands: Vec<usize> = expr.null_tests().iter().map(|n| n.column).collect();
    assert_eq!(operands, [5, 23]);
    let paths: Vec<&str> = expr.paths().iter().map(|p| p.text.as_str()).collect();
    assert_eq!(paths, ["a", "column(null).x"]);
    assert!(expr.comparisons().is_empty());
    let Kind::And(nodes) = &expr.root().kind else {
        panic!("an `and`")
    };
    let Kind::Not(inner) = &nodes[0].kind else {
        panic!("a `not`")
    };
    assert!(matches!(inner.kind, Kind::IsNull { negated: true, .. }));
    // `is` and `null` are keywords only alone: in a dotted name they are segments.
    let dotted = Expr::condition("is.x is null or x.null is not null").expect("parses");
    let paths: Vec<&str> = dotted.paths().iter().map(|p| p.text.as_str()).collect();
    assert_eq!(paths, ["is.x", "x.null"]);
    // Gates whose names are numbers take a name's `is null`.
    assert_eq!(
        Expr::parse("a is null or a > 1")
            .expect("parses")
            .names_are_numbers(),
        Ok(())
    );
    assert!(
        Expr::parse("'x' is null")
            .expect("parses")
            .names_are_numbers()
            .is_err()
    );
}

#[test]
fn names_calls_and_comparisons_are_listed() {
    let expr = Expr::parse("column(\"income (net)\").psi < 0.2 and slices.min( recall ) >= b")
        .expect("parses");
    let paths: Vec<(&str, usize)> = expr
        .paths()
        .iter()
        .map(|p| (p.text.as_str(), p.column))
        .collect();
    assert_eq!(
        paths,
        [
            ("column(\"income (net)\").psi", 1),
            ("slices.min( recall )", 38),
            ("b", 62)
        ]
    );
    let first = expr.paths()[0];
    assert_eq!(
        first.segments,
        [
            Segment {
                name: "column".into(),
                args: Some(vec!["income (net)".into()])
            },
            Segment {
                name: "psi".into(),
                args: None
            },
        ]
    );
    assert_eq!(first.dotted(), None);
    assert_eq!(expr.paths()[2].dotted().as_deref(), Some("b"));
    let comparisons = expr.comparisons();
    assert_eq!(comparisons.len(), 2);
    assert_eq!(comparisons[1].op, ast::CompareOp::Ge);
    assert_eq!(
        comparisons[1].left.as_path().map(|p| p.segments.len()),
        Some(2)
    );
}

#[test]
fn evaluation_errors_are_unknown_names_and_wrong_types() {
    let cases: &[(&str, usize, &str)] = &[
        ("a > wobble", 5, "unknown name `wobble`"),
        // Every operand is evaluated: an unknown name is an error even where `or` is decided.
        ("a > 1 or wobble > 1", 10, "unknown name `wobble`"),
        ("u > 1 and wobble > 1", 11, "unknown name `wobble`"),
        (
            "name + 1 > a",
            1,
            "arithmetic takes numbers, and this is text",
        ),
        (
            "a and flag",
            1,
            "`and` takes conditions, and this is a number",
        ),
        ("name > a", 1, "cannot compare text with a number"),
        (
            "flag > flag",
            1,
            "cannot compare a condition with a condition",
        ),
        ("true == 1", 1, "cannot compare a condition with a number"),
        ("wobble is null", 1, "unknown name `wobble`"),
        (
            "u is null and wobble is not null",
            15,
            "unknown name `wobble`",
        ),
    ];
    for &(text, column, message) in cases {
        let err = Expr::parse(text)
            .expect(text)
            .evaluate(&Names)
            .expect_err(text);
        assert_eq!(
            (err.column, err.message.as_str()),
            (column, message),
            "{text}"
        );
    }
}

#[test]
fn a_comparison_at_the_top_reports_its_sides() {
    let evaluation = Expr::condition("a >= b + 1")
        .expect("parses")
        .evaluate(&Names)
        .expect("known");
    assert!(evaluation.holds());
    let (left, right) = evaluation.sides.expect("a comparison");
    assert_eq!(Evaluation::number(&left), Ok(2.0));
    assert_eq!(Evaluation::number(&right), Ok(1.5));
    let joined = Expr::condition("a > 1 and b > 1")
        .expect("parses")
        .evaluate(&Names)
        .expect("known");
    assert!(!joined.holds());
    assert_eq!(joined.sides, None);
}

#[test]
fn callers_whose_names_are_numbers_refuse_other_uses_before_evaluating() {
    let cases: &[(&str, Option<(usize, &str)>)] = &[
        ("a > 1 and not (b < 2 or a == b +- 0.1)", None),
        (
            "a == \"x\"",
            Some((6, "text has no place here: every name is a number")),
        ),
        (
            "a == true",
            Some((6, "a number cannot be compared with `true` or `false`")),
        ),
        (
            "a > 1 and b",
            Some((
                11,
                "`b` is a number, not a condition; compare it, as in `b > 0`",
            )),
        ),
        (
            "not a",
            Some((
                5,
                "`a` is a number, not a condition; compare it, as in `a > 0`",
            )),
        ),
    ];
    for &(text, expected) in cases {
        let result = Expr::parse(text).expect(text).names_are_numbers();
        assert_eq!(
            result
                .as_ref()
                .err()
                .map(|e| (e.column, e.message.as_str())),
            expected,
            "{text}"
        );
    }
}
