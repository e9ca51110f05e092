//! `mlops validate check` on the Great Expectations golden fixtures (the planted file fails
//! naming every violation with its count and example ids, the clean one passes, a bad contract
//! is a usage error), on batches by a date column, with hand-written conditions, in every
//! output format, and with a drift profile written from the same pass.

use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::Value;

use crate::support::TestEnv;

// The report's schema, pinned: a key added or renamed fails here.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    schema: String,
    files: Vec<Section>,
    passed: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    file: Option<String>,
    batch: Option<String>,
    rows: u64,
    passed: bool,
    rules: Vec<RuleResult>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "the fields pin the schema; some are only parsed")]
struct RuleResult {
    name: String,
    expect: String,
    column: Option<String>,
    column_list: Option<Vec<String>>,
    severity: String,
    success: bool,
    element_count: Option<u64>,
    missing_count: Option<u64>,
    missing_percent: Option<f64>,
    unexpected_count: Option<u64>,
    unexpected_percent: Option<f64>,
    unexpected_percent_nonmissing: Option<f64>,
    unexpected_percent_total: Option<f64>,
    partial_unexpected_list: Option<Vec<Value>>,
    partial_unexpected_ids: Option<Vec<Value>>,
    observed_value: Option<Value>,
    details: Option<Value>,
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/validate");

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

#[test]
fn planted_file_fails_naming_rules_and_ids() {
    let env = TestEnv::new();
    let schema = fixture("schema.yaml");
    let planted = fixture("planted.csv");
    let args = [
        "validate", "check", "--schema", &schema, &planted, "--id", "id",
    ];
    let (stdout, stderr) = env.fails(1, &args);
    assert!(stdout.contains("FAILED (11 rules failed)"), "{stdout}");
    assert!(stdout.contains("mars (id 21)"), "{stdout}");
    for rule in [
        "rows",
        "key",
        "customer_id.unique",
        "age.nulls",
        "region.set",
        "code.pattern",
    ] {
        assert!(
            stderr.contains(&format!("rule `{rule}` failed")),
            "{rule}: {stderr}"
        );
    }
    // A warn rule is reported, never failed on.
    assert!(!stderr.contains("`age.typical`"), "{stderr}");

    let mut json_args = vec!["--json"];
    json_args.extend(args);
    let (stdout, _) = env.fails(1, &json_args);
    let pinned: Report = serde_json::from_str(&stdout).expect("the report's schema");
    assert!(!pinned.passed && pinned.schema.ends_with("schema.yaml"));
    let section = &pinned.files[0];
    assert_eq!((section.batch.as_ref(), section.passed), (None, false));
    assert!(
        section
            .file
            .as_deref()
            .is_some_and(|f| f.ends_with("planted.csv"))
    );
    let key = section.rules.iter().find(|r| r.name == "key").expect("key");
    assert_eq!(
        (
            key.expect.as_str(),
            key.column.as_ref(),
            key.severity.as_str()
        ),
        ("compound_columns_to_be_unique", None, "error")
    );
    assert_eq!(
        key.column_list.as_deref(),
        Some(&["customer_id".to_owned(), "branch".into()][..])
    );
    assert_eq!(key.element_count, Some(700));
    assert!(key.details.is_none() && key.observed_value.is_none());
    assert_eq!(section.rows, 700);
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(report["passed"], false);
    let file = &report["files"][0];
    assert_eq!(file["rows"], 700);
    let unique = file["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["name"] == "customer_id.unique")
        .expect("the rule");
    assert_eq!(unique["unexpected_count"], 11);
    assert_eq!(
        unique["partial_unexpected_ids"],
        serde_json::json!([41, 42, 43, 44, 45, 46, 101, 102, 103, 111, 112])
    );
    // Each planted violation: its rule, count, and first ids (or the observed row count).
    let planted: [(&str, u64, &[u64]); 7] = [
        ("key", 7, &[41, 42, 43, 44, 101]),
        ("customer_id.range", 1, &[35]),
        ("age.nulls", 210, &[3, 4, 7, 8, 9]),
        ("age.range", 4, &[31, 32, 33, 34]),
        ("income.type", 700, &[1, 2, 3, 4, 5]),
        ("region.set", 3, &[21, 22, 23]),
        ("code.pattern", 3, &[51, 52, 53]),
    ];
    let rules = file["rules"].as_array().expect("rules");
    let rule = |name: &str| rules.iter().find(|r| r["name"] == name).expect(name);
    for (name, count, ids) in planted {
        let r = rule(name);
        assert_eq!(r["success"], false, "{name}");
        assert_eq!(r["unexpected_count"], count, "{name}");
        let listed: Vec<u64> = r["partial_unexpected_ids"]
            .as_array()
            .expect("ids")
            .iter()
            .take(ids.len())
            .map(|v| v.as_u64().expect("an id"))
            .collect();
        assert_eq!(listed, ids, "{name}");
    }
    assert_eq!(rule("rows")["observed_value"], 700);
    assert_eq!(rule("region.set")["partial_unexpected_list"][0], "mars");
}

#[test]
fn clean_file_passes_and_writes_markdown() {
    let env = TestEnv::new();
    let schema = fixture("schema.yaml");
    let clean = fixture("clean.csv");
    let out = env.run(&[
        "validate",
        "check",
        "--schema",
        &schema,
        &clean,
        "-o",
        "report.md",
    ]);
    assert!(out.is_empty(), "{out}");
    let md = String::from_utf8(env.read("report.md")).expect("utf-8");
    assert!(md.contains("## Validation: "), "{md}");
    assert!(md.contains("1000 rows, passed, 4 warnings"), "{md}");
    assert!(md.contains("| ✗ | age.typical |"), "{md}");
}

#[test]
fn bad_schema_is_a_usage_error_naming_file_and_key() {
    let env = TestEnv::new();
    env.write("data.csv", "age\n20\n");
    env.write(
        "bad.yaml",
        "version: 1\ncolumns:\n  age:\n    - {expect: column_values_to_not_be_null}\n    - {expect: column_values_to_be_between, min_value: 18, max_value: old}\n",
    );
    let (_, stderr) = env.fails(
        2,
        &["validate", "check", "--schema", "bad.yaml", "data.csv"],
    );
    assert!(
        stderr.contains("invalid schema `")
            && stderr.contains("bad.yaml`: columns.age[1].max_value: expected a number"),
        "{stderr}"
    );
    env.write(
        "typo.yaml",
        "version: 1\ncolumns:\n  age:\n    - {expect: column_values_to_be_unique, mostyl: 0.9}\n",
    );
    let (_, stderr) = env.fails(
        2,
        &["validate", "check", "--schema", "typo.yaml", "data.csv"],
    );
    assert!(
        stderr.contains("columns.age[0].mostyl: unknown key"),
        "{stderr}"
    );
    // Two rules of one name would report (and export metrics) as one.
    env.write(
        "twice.yaml",
        "version: 1\ncolumns:\n  age:\n    - {expect: column_values_to_be_unique}\n    - {expect: column_values_to_be_unique, mostly: 0.5}\n",
    );
    let (_, stderr) = env.fails(
        2,
        &["validate", "check", "--schema", "twice.yaml", "data.csv"],
    );
    assert!(
        stderr.contains("columns.age[1].name: `age.column_values_to_be_unique` is also the name of the rule at `columns.age[0]`"),
        "{stderr}"
    );
    // A column the data lacks breaks the contract: its rules fail naming it (exit 1), and the
    // others are still checked; a flag's column that is missing is a usage error.
    env.write(
        "other.yaml",
        "version: 1\ncolumns:\n  income:\n    - {expect: column_values_to_be_unique}\n  age:\n    - {expect: column_values_to_not_be_null}\n",
    );
    let (stdout, stderr) = env.fails(
        1,
        &["validate", "check", "--schema", "other.yaml", "data.csv"],
    );
    assert!(stdout.contains("column `income` missing"), "{stdout}");
    assert!(
        stderr.contains("rule `income.column_values_to_be_unique` failed"),
        "{stderr}"
    );
    assert!(!stderr.contains("age"), "{stderr}");
    let (_, stderr) = env.fails(
        2,
        &[
            "validate",
            "check",
            "--schema",
            "other.yaml",
            "data.csv",
            "--id",
            "key",
        ],
    );
    assert!(stderr.contains("key"), "{stderr}");
}

#[test]
fn inferred_contract_passes_its_data_and_catches_the_planted_file() {
    let env = TestEnv::new();
    let clean = fixture("clean.csv");
    let planted = fixture("planted.csv");
    let out = env.run(&["validate", "infer", &clean, "-o", "inferred.yaml"]);
    assert!(out.is_empty(), "{out}");
    let yaml = String::from_utf8(env.read("inferred.yaml")).expect("utf-8");
    assert!(yaml.starts_with("# Inferred from"), "{yaml}");
    for rule in [
        "rows",
        "columns",
        "age.range",
        "region.set",
        "code.length",
        "code.pattern",
        "id.unique",
    ] {
        assert!(yaml.contains(&format!("name: {rule},")), "{rule}: {yaml}");
    }
    env.run(&["validate", "check", "--schema", "inferred.yaml", &clean]);
    let (_, stderr) = env.fails(
        1,
        &["validate", "check", "--schema", "inferred.yaml", &planted],
    );
    for rule in ["rows", "age.range", "region.set"] {
        assert!(
            stderr.contains(&format!("rule `{rule}` failed")),
            "{rule}: {stderr}"
        );
    }
    // The contract is meant to be edited: it is not replaced without --force.
    env.write("kept.yaml", "# edited\n");
    let (_, stderr) = env.fails(2, &["validate", "infer", &clean, "-o", "kept.yaml"]);
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(env.read("kept.yaml"), b"# edited\n");
    env.run(&[
        "validate",
        "infer",
        &clean,
        "-o",
        "kept.yaml",
        "--force",
        "--id",
        "id",
    ]);
    let yaml = String::from_utf8(env.read("kept.yaml")).expect("utf-8");
    assert!(
        yaml.contains("{name: key, expect: compound_columns_to_be_unique, column_list: [id]}"),
        "{yaml}"
    );
}

/// Orders of some days of November, 20 a day: ids from `first_id`, amounts 10.5 + id, one
/// region of three. `plant` adds two 2026-11-04 rows that break the contract: a repeated id
/// with a negative amount, and a missing amount in an unknown region.
fn orders(days: &[&str], first_id: u32, plant: bool) -> String {
    let mut csv = String::from("id,day,amount,region\n");
    let mut id = first_id - 1;
    for day in days {
        for i in 0..20 {
            id += 1;
            let region = ["north", "south", "east"][i % 3];
            let _ = writeln!(csv, "{id},{day},{}.5,{region}", 10 + id);
        }
    }
    if plant {
        let _ = writeln!(csv, "{first_id},2026-11-04,-3.0,north");
        csv.push_str("900,2026-11-04,,mars\n");
    }
    csv
}

const ORDERS_SCHEMA: &str = r#"version: 1
table:
  - {name: rows, expect: table_row_count_to_be_between, min_value: 15, max_value: 30}
  - {name: nulls, check: "share(amount is null) < 0.02"}
  - {name: ids, check: "unique(id)"}
  - {name: spend, check: "mean(amount) < 1000 and rows >= 10"}
columns:
  amount:
    - {name: positive, check: "amount > 0"}
  region:
    - {name: region.set, expect: column_values_to_be_in_set, value_set: [north, south, east]}
"#;

#[test]
fn batches_by_day_across_files_each_checked_on_its_own() {
    let env = TestEnv::new();
    env.write("orders.yaml", ORDERS_SCHEMA);
    env.write("a.csv", orders(&["2026-11-02", "2026-11-03"], 1, false));
    env.write("b.csv", orders(&["2026-11-04"], 41, true));
    let args = [
        "validate",
        "check",
        "--schema",
        "orders.yaml",
        "a.csv",
        "b.csv",
        "--id",
        "id",
        "--batch-by",
        "day",
        "--every",
        "1d",
    ];
    let (stdout, stderr) = env.fails(1, &args);
    assert!(
        stdout.contains("batch `2026-11-02`: 20 rows, passed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("batch `2026-11-04`: 22 rows, FAILED (4 rules failed)"),
        "{stdout}"
    );
    assert!(
        stderr.contains("rule `positive` failed on batch `2026-11-04`: 1 unexpected"),
        "{stderr}"
    );
    let mut json_args = vec!["--json"];
    json_args.extend(args);
    let (stdout, _) = env.fails(1, &json_args);
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let batches: Vec<&str> = report["files"]
        .as_array()
        .expect("batches")
        .iter()
        .map(|b| b["batch"].as_str().expect("a batch"))
        .collect();
    assert_eq!(batches, ["2026-11-02", "2026-11-03", "2026-11-04"]);
    let day = &report["files"][2];
    assert_eq!(day["file"], serde_json::Value::Null);
    let rule = |name: &str| {
        day["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .find(|r| r["name"] == name)
            .expect(name)
            .clone()
    };
    assert_eq!(rule("ids")["observed_value"]["unique(id)"], false);
    assert_eq!(
        rule("nulls")["observed_value"]["share(amount is null)"],
        1.0 / 22.0
    );
    assert_eq!(
        rule("positive")["partial_unexpected_list"],
        serde_json::json!([{"amount": -3.0}])
    );
    assert_eq!(
        rule("positive")["partial_unexpected_ids"],
        serde_json::json!([41])
    );
    assert_eq!(rule("positive")["missing_count"], 1);
    assert_eq!(
        rule("region.set")["partial_unexpected_ids"],
        serde_json::json!([900])
    );
    // By week, the three days are one batch (the Monday's), too many rows for the contract.
    let mut week = json_args.clone();
    *week.last_mut().expect("--every's value") = "1w";
    let (stdout, _) = env.fails(1, &week);
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(report["files"].as_array().expect("batches").len(), 1);
    assert_eq!(report["files"][0]["batch"], "2026-11-02");
    assert_eq!(report["files"][0]["rows"], 62);
    // By value, a text column's values are the batches (each too small for the contract).
    let (stdout, _) = env.fails(
        1,
        &[
            "validate",
            "check",
            "--schema",
            "orders.yaml",
            "a.csv",
            "--batch-by",
            "region",
        ],
    );
    for batch in ["`east`: 12 rows", "`north`: 14 rows", "`south`: 14 rows"] {
        assert!(
            stdout.contains(&format!("batch {batch}, FAILED")),
            "{stdout}"
        );
    }
}

#[test]
fn hand_written_conditions_are_checked_and_their_mistakes_named() {
    let env = TestEnv::new();
    env.write("orders.yaml", ORDERS_SCHEMA);
    env.write("clean.csv", orders(&["2026-11-02"], 1, false));
    env.run(&["validate", "check", "--schema", "orders.yaml", "clean.csv"]);
    let cases = [
        ("{check: \"amount >\"}", "columns.amount[0].check: "),
        (
            "{check: \"share(amount > 1) < 0.5 and region == 1\"}",
            "`region` is a column outside an aggregate",
        ),
        (
            "{check: \"amount > 0\", expect: column_values_to_be_unique}",
            "`expect` or `check`, not both",
        ),
        (
            "{check: \"rows > 1\", mostly: 0.5}",
            "`mostly` is for row conditions",
        ),
    ];
    for (rule, message) in cases {
        env.write(
            "bad.yaml",
            format!("version: 1\ncolumns:\n  amount:\n    - {rule}\n"),
        );
        let (_, stderr) = env.fails(
            2,
            &["validate", "check", "--schema", "bad.yaml", "clean.csv"],
        );
        assert!(stderr.contains(message), "{rule}: {stderr}");
    }
    // A condition comparing text with a number is refused when read, naming the rule's text.
    env.write(
        "bad.yaml",
        "version: 1\ntable:\n  - {check: \"region > 1\"}\n",
    );
    let (_, stderr) = env.fails(
        2,
        &["validate", "check", "--schema", "bad.yaml", "clean.csv"],
    );
    assert!(stderr.contains("region > 1"), "{stderr}");
}

#[test]
fn html_prometheus_and_a_drift_profile_from_the_same_pass() {
    let env = TestEnv::new();
    env.write("orders.yaml", ORDERS_SCHEMA);
    env.write("ref.csv", orders(&["2026-11-02"], 1, false));
    env.write("cur.csv", orders(&["2026-11-04"], 1, true));
    let (_, _) = env.fails(
        1,
        &[
            "validate",
            "check",
            "--schema",
            "orders.yaml",
            "cur.csv",
            "-o",
            "report.html",
            "-o",
            "metrics.prom",
            "--profile",
            "cur.profile",
        ],
    );
    let html = String::from_utf8(env.read("report.html")).expect("utf-8");
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("cur.csv"),
        "{html}"
    );
    assert!(
        html.contains("<tr class=\"bad\"><td>✗</td><td>positive</td>"),
        "{html}"
    );
    let prom = String::from_utf8(env.read("metrics.prom")).expect("utf-8");
    for line in [
        "mlops_validate_rule_success{rule=\"positive\",expectation=\"row_condition\",severity=\"error\",file=\"cur.csv\"} 0",
        "mlops_validate_rule_unexpected{rule=\"region.set\",expectation=\"column_values_to_be_in_set\",severity=\"error\",file=\"cur.csv\"} 1",
        "mlops_validate_rows{file=\"cur.csv\"} 22",
        "mlops_validate_passed{file=\"cur.csv\"} 0",
    ] {
        assert!(prom.contains(line), "{line}: {prom}");
    }
    // The profile is the one `mlops profile` writes of the same data.
    env.run(&["profile", "cur.csv", "-o", "direct.profile"]);
    let same: serde_json::Value = serde_json::from_slice(&env.read("cur.profile")).expect("JSON");
    let direct: serde_json::Value =
        serde_json::from_slice(&env.read("direct.profile")).expect("JSON");
    assert_eq!(same, direct);
    env.run(&["profile", "ref.csv", "-o", "ref.profile"]);
    let (stdout, _) = env.fails(
        1,
        &[
            "drift",
            "--reference",
            "ref.profile",
            "cur.profile",
            "--columns",
            "region",
        ],
    );
    assert!(stdout.contains("new: mars"), "{stdout}");
}

#[test]
fn a_key_repeated_across_files_of_one_batch_is_found_past_the_first_piece() {
    let env = TestEnv::new();
    // 150,000 rows in two files, more than two 64K pieces: ids increase, then id 5 comes back
    // in the second file, mid-piece, and the uniqueness rules leave their append-only path.
    let mut a = String::from("id,part,amount\n");
    for id in 1..=100_000 {
        let _ = writeln!(a, "{id},p,{}", id % 97);
    }
    let mut b = String::from("id,part,amount\n");
    for id in 100_001..=150_000 {
        let id = if id == 130_000 { 5 } else { id };
        let _ = writeln!(b, "{id},p,{}", id % 97);
    }
    env.write("a.csv", a).write("b.csv", b);
    env.write(
        "keys.yaml",
        "version: 1\ntable:\n  - {name: key, expect: compound_columns_to_be_unique, column_list: [part, id]}\ncolumns:\n  id:\n    - {name: id.unique, expect: column_values_to_be_unique}\n",
    );
    let check = |extra: &[&'static str]| {
        let mut args: Vec<&'static str> = vec![
            "--json",
            "validate",
            "check",
            "--schema",
            "keys.yaml",
            "a.csv",
            "b.csv",
            "--id",
            "id",
        ];
        args.extend(extra);
        args
    };
    // File by file, each is unique.
    env.run(&check(&[]));
    // As one batch, both sightings of id 5 are listed with their ids, the compound key's read
    // in the pass after.
    let (stdout, _) = env.fails(1, &check(&["--batch-by", "part"]));
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let batch = &report["files"][0];
    assert_eq!(
        (&batch["batch"], &batch["rows"]),
        (&serde_json::json!("p"), &serde_json::json!(150_000))
    );
    for rule in batch["rules"].as_array().expect("rules") {
        assert_eq!(rule["unexpected_count"], 2, "{rule}");
        assert_eq!(
            rule["partial_unexpected_ids"],
            serde_json::json!([5, 5]),
            "{rule}"
        );
    }
}

#[test]
fn a_type_change_across_files_fails_the_type_rule_of_their_batch() {
    let env = TestEnv::new();
    env.write("a.csv", "day,x\n2026-12-01,1\n2026-12-01,2\n");
    env.write("b.csv", "day,x\n2026-12-01,3\n2026-12-01,three\n");
    env.write(
        "types.yaml",
        "version: 1\ncolumns:\n  x:\n    - {name: x.type, expect: column_values_to_be_in_type_list, type_list: [int64]}\n",
    );
    let args = [
        "validate",
        "check",
        "--schema",
        "types.yaml",
        "a.csv",
        "b.csv",
        "--batch-by",
        "day",
        "--every",
        "1d",
    ];
    let (_, stderr) = env.fails(1, &args);
    assert!(
        stderr.contains("rule `x.type` failed on batch `2026-12-01`"),
        "{stderr}"
    );
}

#[test]
fn bad_batches_and_inputs_are_usage_errors() {
    let env = TestEnv::new();
    env.write("data.csv", "id,day,x\n1,2026-12-01,5\n2,2026-12-02,6\n");
    env.write("broken.parquet", "not parquet at all");
    env.write(
        "c.yaml",
        "version: 1\ncolumns:\n  x:\n    - {expect: column_values_to_not_be_null}\n",
    );
    let cases: [(&[&str], &str); 4] = [
        (
            &["data.csv", "--batch-by", "x", "--every", "1d"],
            "--every takes a date",
        ),
        (&["data.csv", "--batch-by", "nope"], "nope"),
        (&["broken.parquet"], "broken.parquet"),
        (&["data.csv", "--profile", "data.csv"], "data.csv"),
    ];
    for (extra, message) in cases {
        let mut args = vec!["validate", "check", "--schema", "c.yaml"];
        args.extend(extra);
        let (_, stderr) = env.fails(2, &args);
        assert!(stderr.contains(message), "{extra:?}: {stderr}");
    }
    // An empty batch is reported (its rules fail or pass as they do); it has no profile.
    env.write("empty.csv", "id,day,x\n");
    env.write(
        "rows.yaml",
        "version: 1\ntable:\n  - {expect: table_row_count_to_be_between, min_value: 1}\n",
    );
    let (stdout, stderr) = env.fails(
        1,
        &[
            "validate",
            "check",
            "--schema",
            "rows.yaml",
            "empty.csv",
            "--profile",
            "e.profile",
        ],
    );
    assert!(stdout.contains("`empty.csv`: 0 rows, FAILED"), "{stdout}");
    let (stdout, _) = env.fails(
        1,
        &[
            "validate",
            "check",
            "--schema",
            "rows.yaml",
            "empty.csv",
            "--batch-by",
            "day",
        ],
    );
    assert!(
        stdout.contains("batch `(no rows)`: 0 rows, FAILED"),
        "{stdout}"
    );
    assert!(stderr.contains("no profile written"), "{stderr}");
    assert!(!env.path("e.profile").exists());
}

#[test]
fn where_leaves_rows_out_before_any_rule_sees_them() {
    let env = TestEnv::new();
    env.write("orders.yaml", ORDERS_SCHEMA);
    env.write("b.csv", orders(&["2026-11-04"], 41, true));
    env.fails(
        1,
        &["validate", "check", "--schema", "orders.yaml", "b.csv"],
    );
    env.run(&[
        "validate",
        "check",
        "--schema",
        "orders.yaml",
        "b.csv",
        "--where",
        "region != \"mars\" and amount > 0",
    ]);
}
