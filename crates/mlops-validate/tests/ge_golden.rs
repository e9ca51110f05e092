//! Every rule of `tests/fixtures/validate/schema.yaml` on each CSV there, against what Great
//! Expectations 1.24.1 returned (`expected.json`, written by `scripts/golden/validate_ge.py`):
//! success and counts exactly, percents to 1e-9, the partial lists value by value (numbers as
//! numbers: pandas reads an integer column with gaps as floats) and the index list, which the
//! script takes from the `id` column, against `partial_unexpected_ids` with `--id id`.

use std::path::{Path, PathBuf};

use mlops_data::{Dataset, ReadOptions};
use mlops_validate::{CheckOptions, Schema, check};
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/validate");

/// Whether two JSON values agree, numbers compared as numbers.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn matches_great_expectations() {
    let dir = Path::new(DIR);
    let expected_path = dir.join("expected.json");
    let expected: Value =
        serde_json::from_str(&fs_err::read_to_string(&expected_path).expect("readable"))
            .expect("JSON");
    let schema = Schema::read(&dir.join("schema.yaml")).expect("the golden schema is valid");
    let files = expected["files"].as_object().expect("files by name");
    assert!(!files.is_empty());
    let mut problems = Vec::new();
    for (file, golden) in files {
        let data = Dataset::open(&[PathBuf::from(DIR).join(file)], ReadOptions::default())
            .expect("the fixture opens");
        let options = CheckOptions {
            id: Some("id".into()),
            ..CheckOptions::default()
        };
        let report = check(&data, &schema, &options).expect("the check runs");
        let [ours] = &report.files[..] else {
            panic!("one file, one section")
        };
        let golden_rules = golden["rules"].as_object().expect("rules by name");
        assert_eq!(ours.rules.len(), golden_rules.len(), "{file}: rule count");
        for rule in &ours.rules {
            let want = &golden_rules[&rule.name];
            let got = serde_json::to_value(rule).expect("serialisable");
            assert_eq!(want["expect"], got["expect"], "{file} {}", rule.name);
            for key in [
                "success",
                "element_count",
                "missing_count",
                "unexpected_count",
            ] {
                if want[key] != got[key] {
                    problems.push(format!(
                        "{file} {} {key}: GE {} ours {}",
                        rule.name, want[key], got[key]
                    ));
                }
            }
            for key in [
                "missing_percent",
                "unexpected_percent",
                "unexpected_percent_total",
                "unexpected_percent_nonmissing",
            ] {
                let agree = match (want[key].as_f64(), got[key].as_f64()) {
                    (Some(a), Some(b)) => (a - b).abs() <= 1e-9,
                    (None, None) => true,
                    _ => false,
                };
                if !agree {
                    problems.push(format!(
                        "{file} {} {key}: GE {} ours {}",
                        rule.name, want[key], got[key]
                    ));
                }
            }
            for (theirs, ours) in [
                ("partial_unexpected_list", "partial_unexpected_list"),
                ("partial_unexpected_index_list", "partial_unexpected_ids"),
                ("observed_value", "observed_value"),
                ("details", "details"),
            ] {
                if !same(&want[theirs], &got[ours]) {
                    problems.push(format!(
                        "{file} {} {theirs}: GE {} ours {}",
                        rule.name, want[theirs], got[ours]
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
