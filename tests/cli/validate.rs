//! `mlops validate check` on the Great Expectations golden fixtures: the planted file fails
//! naming its rules and example ids, the clean one passes, a bad contract is a usage error.

use crate::support::TestEnv;

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
    assert!(stdout.contains("FAILED (10 rules failed)"), "{stdout}");
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
    assert!(md.contains("1000 rows, passed, 2 warnings"), "{md}");
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
    // A column the data lacks is an error too, naming it.
    env.write(
        "other.yaml",
        "version: 1\ncolumns:\n  income:\n    - {expect: column_values_to_be_unique}\n",
    );
    let (_, stderr) = env.fails(
        2,
        &["validate", "check", "--schema", "other.yaml", "data.csv"],
    );
    assert!(stderr.contains("income"), "{stderr}");
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
        "age.range",
        "region.set",
        "code.length",
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
