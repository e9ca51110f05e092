//! Contracts read and written: every mistake named by file and key, and `to_yaml` read back
//! to the same rules.

use super::*;

fn parse(text: &str) -> Result<Schema> {
    Schema::parse(text, Path::new("schema.yaml"))
}

fn message(text: &str) -> String {
    parse(text).expect_err("a mistake").to_string()
}

#[test]
fn reads_the_contract() {
    let schema = parse(
            "version: 1
table:
  - {name: rows, expect: table_row_count_to_be_between, min_value: 900, max_value: 1100}
  - {name: key, expect: expect_compound_columns_to_be_unique, column_list: [customer_id, branch]}
columns:
  age:
    - {name: age.nulls, expect: column_values_to_not_be_null, mostly: 0.99}
    - {name: age.range, expect: column_values_to_be_between, min_value: 18, max_value: 100, severity: warn}
",
        )
        .expect("valid");
    assert_eq!(schema.rules.len(), 4);
    assert_eq!(
        schema.rules[1].check.expect(),
        "compound_columns_to_be_unique"
    );
    assert!((schema.rules[2].mostly - 0.99).abs() < 1e-12);
    assert_eq!(schema.rules[3].severity, Severity::Warn);
    assert_eq!(schema.columns(), ["customer_id", "branch", "age"]);
}

#[test]
fn names_the_file_and_key_of_each_mistake() {
    let cases = [
        (
            "version: 1\ncolumns:\n  age:\n    - {expect: column_values_to_not_be_null}\n    - {expect: column_values_to_be_between, max_value: old}\n",
            "invalid schema `schema.yaml`: columns.age[1].max_value: expected a number",
        ),
        (
            "version: 1\ncolumns:\n  age:\n    - {expect: column_values_to_be_unique, maxvalue: 3}\n",
            "invalid schema `schema.yaml`: columns.age[0].maxvalue: unknown key for `column_values_to_be_unique` (expected one of name, severity, mostly)",
        ),
        (
            "version: 1\ntables: []\n",
            "invalid schema `schema.yaml`: tables: unknown key (expected `version`, `table` or `columns`)",
        ),
        (
            "table: []\n",
            "invalid schema `schema.yaml`: version: missing (write `version: 1`)",
        ),
        (
            "version: 1\ntable:\n  - {expect: column_values_to_be_unique}\n",
            "invalid schema `schema.yaml`: table[0].expect: `column_values_to_be_unique` is a column rule: put it under `columns.<name>`",
        ),
        (
            "version: 1\ncolumns:\n  a:\n    - {expect: column_values_to_be_between}\n",
            "invalid schema `schema.yaml`: columns.a[0]: needs `min_value`, `max_value` or both",
        ),
        (
            "version: 1\ncolumns:\n  a:\n    - {expect: column_values_to_match_regex, regex: '('}\n",
            "invalid schema `schema.yaml`: columns.a[0].regex: not a valid regex",
        ),
        (
            "version: 1\ncolumns:\n  a:\n    - {expect: column_values_to_be_null}\n",
            "invalid schema `schema.yaml`: columns.a[0].expect: unknown expectation `column_values_to_be_null`",
        ),
        (
            "version: 1\ncolumns:\n  a:\n    - {expect: column_values_to_be_unique, mostly: 2}\n",
            "invalid schema `schema.yaml`: columns.a[0].mostly: expected a number from 0 to 1",
        ),
    ];
    for (text, expected) in cases {
        let got = message(text);
        assert!(got.starts_with(expected), "{got}\n  expected: {expected}");
    }
}

#[test]
fn writes_yaml_that_reads_back() {
    let text = r##"version: 1
table:
  - {name: rows, expect: table_row_count_to_be_between, min_value: 900, max_value: 1100.5, strict_max: true}
  - {name: key, expect: compound_columns_to_be_unique, column_list: [customer id, branch], ignore_row_if: never}
columns:
  "a: b":
    - {expect: column_values_to_be_in_set, value_set: ["yes", "1", "x, y", 'q"t', 2.5, true, "", "#c"], mostly: 0.95}
    - {name: r, expect: column_values_to_match_regex, regex: '^\d+ [a-z]{2}$', severity: warn}
    - {expect: column_values_to_be_between, min_value: -1.0e-7, max_value: 12345678901}
    - {expect: column_values_to_be_in_type_list, type_list: [int64, str]}
"##;
    let mut schema = parse(text).expect("valid");
    schema.header = vec!["inferred".into(), String::new()];
    let yaml = schema.to_yaml();
    assert!(yaml.starts_with("# inferred\n#\nversion: 1\n"), "{yaml}");
    let back = parse(&yaml).expect("reads back");
    assert_eq!(back.rules.len(), schema.rules.len());
    for (a, b) in schema.rules.iter().zip(&back.rules) {
        assert_eq!(a.name, b.name);
        assert_eq!(a.column, b.column);
        assert_eq!(a.severity, b.severity);
        assert!((a.mostly - b.mostly).abs() < f64::EPSILON);
        assert_eq!(format!("{:?}", a.check), format!("{:?}", b.check), "{yaml}");
    }
    assert_eq!(back.to_yaml(), yaml.trim_start_matches("# inferred\n#\n"));
}
