//! `mlops drift` on generated Parquet: planted drift is found and nothing else, the JSON shape,
//! exit codes, reports over several batches, and bad input.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};

use crate::rng::Rng;
use crate::support::TestEnv;

const CATEGORIES: [&str; 4] = ["a", "b", "c", "d"];

/// 20 numeric columns `n0..n19` and 5 categorical ones `c0..c4`; the columns in `drifted` are
/// shifted (numbers by half a standard deviation, categories towards `d`).
fn write_data(env: &TestEnv, name: &str, rows: usize, seed: u64, drifted: &[&str]) {
    let mut rng = Rng(seed);
    let mut fields: Vec<(String, ArrayRef)> = Vec::new();
    for i in 0..20 {
        let column = format!("n{i}");
        let shift = if drifted.contains(&column.as_str()) {
            0.5
        } else {
            0.0
        };
        let values: Vec<f64> = (0..rows).map(|_| 10.0 + rng.normal() + shift).collect();
        fields.push((column, Arc::new(Float64Array::from(values))));
    }
    for i in 0..5 {
        let column = format!("c{i}");
        let weights = if drifted.contains(&column.as_str()) {
            [0.1, 0.2, 0.2, 0.5]
        } else {
            [0.4, 0.3, 0.2, 0.1]
        };
        let values: Vec<&str> = (0..rows)
            .map(|_| rng.weighted(&CATEGORIES, &weights))
            .collect();
        fields.push((column, Arc::new(StringArray::from(values))));
    }
    let batch = RecordBatch::try_from_iter(fields).expect("a batch");
    let file = std::fs::File::create(env.path(name)).expect("create");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

fn drifted(report: &serde_json::Value, batch: usize) -> Vec<String> {
    report["batches"][batch]["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter(|c| c["drifted"] == true)
        .map(|c| c["column"].as_str().expect("name").to_owned())
        .collect()
}

#[test]
fn planted_drift_is_found_and_nothing_else() {
    let env = TestEnv::bare();
    write_data(&env, "ref.parquet", 2000, 1, &[]);
    write_data(&env, "cur.parquet", 2000, 2, &["n3", "n11", "c2"]);
    let report = env.json(&["drift", "--reference", "ref.parquet", "cur.parquet"]);
    let mut found = drifted(&report, 0);
    found.sort();
    assert_eq!(found, ["c2", "n11", "n3"]);
    let batch = &report["batches"][0];
    assert_eq!(batch["drifted_columns"], 3);
    assert_eq!(batch["dataset_drift"], false);
    let tests: Vec<&str> = batch["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c["test"].as_str().expect("test"))
        .collect();
    assert!(tests[..20].iter().all(|t| *t == "wasserstein"), "{tests:?}");
    assert!(
        tests[20..].iter().all(|t| *t == "jensenshannon"),
        "{tests:?}"
    );
}

#[test]
fn no_drift_flags_at_most_one_column_over_twenty_seeds() {
    let env = TestEnv::bare();
    let mut false_columns = 0;
    for seed in 0..20 {
        write_data(&env, "ref.parquet", 2000, 100 + seed, &[]);
        write_data(&env, "cur.parquet", 2000, 200 + seed, &[]);
        let report = env.json(&["drift", "--reference", "ref.parquet", "cur.parquet"]);
        false_columns += drifted(&report, 0).len();
    }
    assert!(
        false_columns <= 1,
        "{false_columns} columns drifted without drift"
    );
}

#[test]
fn the_json_shape_is_pinned() {
    let env = TestEnv::bare();
    write_data(&env, "ref.parquet", 300, 1, &[]);
    write_data(&env, "cur.parquet", 300, 2, &["n0"]);
    let report = env.json(&[
        "drift",
        "--reference",
        "ref.parquet",
        "cur.parquet",
        "--columns",
        "n0,c1",
        "--no-fail",
    ]);
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v.as_object().expect("an object").keys().cloned().collect()
    };
    assert_eq!(
        keys(&report),
        [
            "batches",
            "dataset_drift",
            "first_drifted",
            "passed",
            "reference"
        ]
    );
    assert_eq!(keys(&report["reference"]), ["rows", "source"]);
    assert_eq!(
        keys(&report["batches"][0]),
        [
            "columns",
            "dataset_drift",
            "drifted_columns",
            "name",
            "rows",
            "schema",
            "share_drifted",
            "skipped"
        ]
    );
    assert_eq!(
        keys(&report["batches"][0]["columns"][0]),
        [
            "column",
            "drifted",
            "kind",
            "missing_share_cur",
            "missing_share_ref",
            "new_categories",
            "out_of_range",
            "p_value",
            "role",
            "statistic",
            "test",
            "threshold"
        ]
    );
    // 300 reference rows: KS for numbers, chi-square for categories, as Evidently chooses.
    let column = &report["batches"][0]["columns"][0];
    assert_eq!(
        (column["column"].as_str(), column["test"].as_str()),
        (Some("n0"), Some("ks"))
    );
    assert!(column["p_value"].as_f64().expect("p") <= 0.05);
    assert_eq!(report["batches"][0]["columns"][1]["test"], "chisquare");
    assert_eq!(report["first_drifted"]["n0"], "cur.parquet");
}

#[test]
fn dataset_drift_exits_1_unless_no_fail_and_batches_are_reported_in_order() {
    let env = TestEnv::bare();
    let many: Vec<String> = (0..13).map(|i| format!("n{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    write_data(&env, "ref.parquet", 1500, 1, &[]);
    write_data(&env, "week1.parquet", 1500, 2, &[]);
    write_data(&env, "week2.parquet", 1500, 3, &many);
    let args = [
        "drift",
        "--reference",
        "ref.parquet",
        "week1.parquet",
        "week2.parquet",
    ];
    let (stdout, stderr) = env.fails(1, &args);
    assert!(stdout.contains("DATASET DRIFT"), "{stdout}");
    assert!(stderr.contains("dataset drift detected"), "{stderr}");
    let report = env.json(&[&args[..], &["--no-fail"]].concat());
    assert_eq!(report["batches"][0]["dataset_drift"], false);
    assert_eq!(report["batches"][1]["dataset_drift"], true);
    assert_eq!(report["first_drifted"]["n5"], "week2.parquet");
    let markdown = env.run(&[&args[..], &["--no-fail", "--format", "markdown"]].concat());
    assert!(
        markdown.contains("## Drift: ") && markdown.contains("| column |"),
        "{markdown}"
    );
    // Half the columns must drift for dataset drift by default; a lower share catches less.
    env.fails(
        1,
        &[&args[..3], &["week1.parquet", "--drift-share", "0.0"]].concat(),
    );
}

#[test]
fn tests_thresholds_and_quality_checks_are_chosen_and_reported() {
    let env = TestEnv::bare();
    env.write(
        "ref.csv",
        "x,kind,extra\n1.5,a,1\n2.5,b,1\n3.5,a,1\n4.5,b,1\n5.5,a,1\n6.5,b,1\n7.5,a,1\n",
    );
    env.write(
        "cur.csv",
        "x,kind,new\n1.5,a,1\n,b,1\n30.5,c,1\n4.5,b,1\n5.5,c,1\n6.5,b,1\n",
    );
    let report = env.json(&[
        "drift",
        "--reference",
        "ref.csv",
        "cur.csv",
        "--test",
        "psi",
        "--test",
        "x=ks",
        "--threshold",
        "0.2",
        "--no-fail",
    ]);
    let batch = &report["batches"][0];
    let x = &batch["columns"][0];
    assert_eq!(
        (x["test"].as_str(), x["threshold"].as_f64()),
        (Some("ks"), Some(0.2))
    );
    assert_eq!(x["out_of_range"], 1);
    assert!((x["missing_share_cur"].as_f64().expect("share") - 1.0 / 6.0).abs() < 1e-12);
    let kind = &batch["columns"][1];
    assert_eq!(kind["test"], "psi");
    assert_eq!(kind["new_categories"], serde_json::json!(["c"]));
    assert_eq!(batch["schema"]["added"], serde_json::json!(["new"]));
    assert_eq!(batch["schema"]["removed"], serde_json::json!(["extra"]));
    assert_eq!(batch["skipped"][0]["column"], "extra");
}

/// Runs `args`, expecting exit status 2 and one clear line containing `expected`.
fn refused(env: &TestEnv, args: &[&str], expected: &str) {
    let (_, stderr) = env.fails(2, args);
    assert!(stderr.contains(expected), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
}

#[test]
fn bad_input_exits_2_with_one_clear_line() {
    let env = TestEnv::bare();
    write_data(&env, "ref.parquet", 200, 1, &[]);
    write_data(&env, "cur.parquet", 200, 2, &[]);
    let base = ["drift", "--reference", "ref.parquet", "cur.parquet"];
    let cases: [(&[&str], &str); 5] = [
        (&["--test", "kolmogorov"], "unknown test `kolmogorov`"),
        (&["--test", "kolmogorov"], "the tests are ks, chisquare"),
        (&["--test", "c0=ks"], "test `ks` does not fit column `c0`"),
        (
            &["--columns", "nope"],
            "column `nope` is not in the reference",
        ),
        (
            &["--drift-share", "2"],
            "--drift-share must be between 0 and 1",
        ),
    ];
    for (extra, expected) in cases {
        refused(&env, &[&base[..], extra].concat(), expected);
    }
    env.write("empty.csv", "n0,c0\n");
    env.write("ref.csv", "n0,c0\n1,a\n2,b\n");
    refused(
        &env,
        &["drift", "--reference", "ref.csv", "empty.csv"],
        "the batch `empty.csv` has no rows",
    );
    let whole = env.read("cur.parquet");
    env.write("truncated.parquet", &whole[..whole.len() / 2]);
    refused(
        &env,
        &["drift", "--reference", "ref.parquet", "truncated.parquet"],
        "truncated.parquet",
    );
}

#[test]
fn directories_patterns_and_prometheus_gauges() {
    let env = TestEnv::bare();
    for dir in ["ref", "cur", "none"] {
        std::fs::create_dir_all(env.path(dir)).expect("a directory");
    }
    write_data(&env, "ref/part-0.parquet", 200, 1, &[]);
    write_data(&env, "ref/part-1.parquet", 200, 2, &[]);
    write_data(&env, "cur/day-01.parquet", 250, 3, &["n0"]);
    write_data(&env, "cur/day-02.parquet", 250, 4, &["n0"]);
    let report = env.json(&[
        "drift",
        "--reference",
        "ref",
        "cur/day-*.parquet",
        "--columns",
        "n0,n1",
        "--no-fail",
    ]);
    assert_eq!(report["reference"]["rows"], 400);
    assert_eq!(report["batches"][0]["rows"], 500);
    assert_eq!(report["batches"][0]["columns"][0]["drifted"], true);
    let gauges = env.run(&[
        "drift",
        "--reference",
        "ref",
        "cur/day-01.parquet",
        "--columns",
        "n0,n1",
        "--format",
        "prometheus",
        "--no-fail",
    ]);
    assert!(
        gauges.contains("# TYPE mlops_drift_statistic gauge"),
        "{gauges}"
    );
    assert!(
        gauges.contains(
            "mlops_drift_detected{column=\"n0\",test=\"ks\",batch=\"cur/day-01.parquet\"} 1"
        ),
        "{gauges}"
    );
    assert!(
        gauges.contains("mlops_drift_share_drifted{batch=\"cur/day-01.parquet\"} 0.5"),
        "{gauges}"
    );
    refused(
        &env,
        &["drift", "--reference", "none", "cur/day-01.parquet"],
        "no table files (Parquet, CSV, NDJSON, Arrow IPC) match",
    );
}

#[test]
fn gates_pass_and_fail_with_exit_codes() {
    let env = TestEnv::bare();
    write_data(&env, "ref.parquet", 1500, 1, &[]);
    write_data(&env, "cur.parquet", 1500, 2, &["n3"]);
    let base = ["drift", "--reference", "ref.parquet", "cur.parquet"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [&base[..], extra].concat() };
    let report = env.json(&with(&[
        "--gate",
        "share_drifted < 0.3",
        "--gate",
        "column(c0).missing_share_cur <= 0.05",
    ]));
    assert_eq!(report["passed"], true);
    assert_eq!(report["gates"][0]["batch"], "cur.parquet");
    let (stdout, stderr) = env.fails(1, &with(&["--gate", "column(n3).wasserstein < 0.2"]));
    assert!(
        stdout.contains("FAIL column(n3).wasserstein < 0.2 on cur.parquet"),
        "{stdout}"
    );
    assert!(stderr.contains("gate failed on cur.parquet"), "{stderr}");
    let (_, stderr) = env.fails(1, &with(&["--gate", "column(n3).psi < 0.2"]));
    assert!(
        stderr.contains("was tested with `wasserstein`, not `psi`"),
        "{stderr}"
    );
    refused(
        &env,
        &with(&["--gate", "share_drifted < 0.3x"]),
        "invalid gate `share_drifted < 0.3x`: `0.3x` is not a number at column 17",
    );
}

#[test]
fn the_html_report_is_one_small_self_contained_page_with_charts() {
    let env = TestEnv::bare();
    write_data(&env, "ref.parquet", 1500, 1, &[]);
    write_data(&env, "week1.parquet", 800, 2, &[]);
    write_data(&env, "week2.parquet", 800, 3, &["n3", "c2"]);
    env.run(&[
        "drift",
        "--reference",
        "ref.parquet",
        "week1.parquet",
        "week2.parquet",
        "--format",
        "html",
        "-o",
        "drift.html",
        "--no-fail",
    ]);
    let page = String::from_utf8(env.read("drift.html")).expect("UTF-8");
    assert!(page.starts_with("<!DOCTYPE html>"));
    // A distribution chart and a line over batches for each of the 25 columns.
    assert_eq!(page.matches("<svg").count(), 50);
    assert!(
        page.contains("n3 (drifted, wasserstein"),
        "the drifted column is named"
    );
    assert!(
        !page.contains("http") && !page.contains("<script"),
        "no network, no scripts"
    );
    assert!(page.len() < 1 << 20, "{} bytes", page.len());
}

#[test]
fn kinds_can_be_overridden_per_column() {
    let env = TestEnv::bare();
    write_data(&env, "ref.parquet", 300, 1, &[]);
    write_data(&env, "cur.parquet", 300, 2, &[]);
    let base = ["drift", "--reference", "ref.parquet", "cur.parquet"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [&base[..], extra].concat() };
    let report = env.json(&with(&[
        "--columns",
        "n0",
        "--kind",
        "n0=categorical",
        "--no-fail",
    ]));
    let column = &report["batches"][0]["columns"][0];
    assert_eq!(
        (column["kind"].as_str(), column["test"].as_str()),
        (Some("categorical"), Some("chisquare"))
    );
    refused(
        &env,
        &with(&["--kind", "c0=numeric"]),
        "column `c0` holds text values",
    );
    refused(
        &env,
        &with(&["--kind", "c0=text"]),
        "--kind takes COLUMN=numeric or COLUMN=categorical",
    );
}

#[test]
fn batches_by_a_column_or_by_periods_of_its_dates() {
    let env = TestEnv::bare();
    let mut reference = String::from("x,kind\n");
    let mut current = String::from("x,kind,day\n");
    let mut rng = Rng(9);
    for _ in 0..300 {
        let _ = writeln!(
            reference,
            "{:.4},{}",
            rng.normal(),
            if rng.open_uniform() < 0.5 { "a" } else { "b" }
        );
    }
    // Three days in two weeks (2026-11-15 is a Sunday); the third day drifts.
    for (day, shift) in [
        ("2026-11-15", 0.0),
        ("2026-11-16", 0.0),
        ("2026-11-17", 3.0),
    ] {
        for _ in 0..100 {
            let _ = writeln!(
                current,
                "{:.4},{},{day}T08:00:00",
                rng.normal() + shift,
                if rng.open_uniform() < 0.5 { "a" } else { "b" }
            );
        }
    }
    env.write("ref.csv", reference);
    env.write("cur.csv", current);
    let by_day = env.json(&[
        "drift",
        "--reference",
        "ref.csv",
        "cur.csv",
        "--batch-by",
        "day",
        "--no-fail",
    ]);
    let names: Vec<&str> = by_day["batches"]
        .as_array()
        .expect("batches")
        .iter()
        .map(|b| b["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "2026-11-15T08:00:00",
            "2026-11-16T08:00:00",
            "2026-11-17T08:00:00"
        ]
    );
    let by_week = env.json(&[
        "drift",
        "--reference",
        "ref.csv",
        "cur.csv",
        "--batch-by",
        "day",
        "--every",
        "1w",
        "--no-fail",
    ]);
    let weeks: Vec<(&str, u64)> = by_week["batches"]
        .as_array()
        .expect("batches")
        .iter()
        .map(|b| {
            (
                b["name"].as_str().expect("name"),
                b["rows"].as_u64().expect("rows"),
            )
        })
        .collect();
    assert_eq!(weeks, [("2026-11-09", 100), ("2026-11-16", 200)]);
    assert_eq!(by_week["first_drifted"]["x"], "2026-11-16");
    assert!(
        by_week["batches"][0]["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .all(|c| c["column"] != "day"),
        "the batch column is not tested"
    );
    refused(
        &env,
        &[
            "drift",
            "--reference",
            "ref.csv",
            "cur.csv",
            "--batch-by",
            "kind",
            "--every",
            "1d",
        ],
        "not an ISO date",
    );
}

#[test]
fn merged_profiles_equal_the_whole_and_drift_against_them_agrees_with_raw_data() {
    let env = TestEnv::bare();
    let mut rng = Rng(21);
    let header = "x,c\n";
    let mut whole = String::from(header);
    let mut parts = vec![String::from(header); 4];
    for i in 0..2000 {
        let row = format!(
            "{:.5},{}\n",
            50.0 + 8.0 * rng.normal(),
            ["u", "v", "w"][usize::try_from(rng.next() % 3).expect("small")]
        );
        whole.push_str(&row);
        parts[i % 4].push_str(&row);
    }
    env.write("whole.csv", whole);
    for (k, part) in parts.iter().enumerate() {
        env.write(&format!("part-{k}.csv"), part);
        env.run(&[
            "profile",
            &format!("part-{k}.csv"),
            "-o",
            &format!("part-{k}.profile"),
        ]);
    }
    let mut current = String::from(header);
    for _ in 0..1500 {
        let _ = writeln!(
            current,
            "{:.5},{}",
            52.0 + 8.0 * rng.normal(),
            ["u", "v", "w", "w"][usize::try_from(rng.next() % 4).expect("small")]
        );
    }
    env.write("cur.csv", current);
    env.run(&["profile", "whole.csv", "-o", "whole.profile"]);
    env.run(&[
        "profile",
        "merge",
        "part-0.profile",
        "part-1.profile",
        "part-2.profile",
        "part-3.profile",
        "-o",
        "merged.profile",
    ]);
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&env.read(name)).expect("a JSON profile")
    };
    assert_eq!(
        read("merged.profile"),
        read("whole.profile"),
        "the parts merge into the whole"
    );
    let drift = |reference: &str| {
        let mut report = env.json(&["drift", "--reference", reference, "cur.csv", "--no-fail"]);
        report["reference"]["source"] = serde_json::Value::Null;
        report
    };
    let (merged, profiled, raw) = (
        drift("merged.profile"),
        drift("whole.profile"),
        drift("whole.csv"),
    );
    assert_eq!(merged, profiled);
    let column = |report: &serde_json::Value, i: usize| report["batches"][0]["columns"][i].clone();
    // Categories are counted exactly; numbers move by at most 0.05% through the sketch.
    assert_eq!(column(&profiled, 1), column(&raw, 1));
    let (p, r) = (column(&profiled, 0), column(&raw, 0));
    assert_eq!(
        (p["test"].clone(), p["drifted"].clone()),
        (r["test"].clone(), r["drifted"].clone())
    );
    let gap = (p["statistic"].as_f64().expect("x") - r["statistic"].as_f64().expect("x")).abs();
    // Each value moves at most 0.05% of about 50, against a spread of 8: the normed distance
    // moves by at most about 0.003.
    assert!(gap < 0.005, "wasserstein from the profile is off by {gap}");
    refused(
        &env,
        &[
            "drift",
            "--reference",
            "whole.profile",
            "cur.csv",
            "--test",
            "x=anderson",
        ],
        "test `anderson` needs raw data",
    );
    env.write("old.profile", r#"{"format": 99, "rows": 1}"#);
    refused(
        &env,
        &["drift", "--reference", "old.profile", "cur.csv"],
        "profile format 99",
    );
    refused(
        &env,
        &["profile", "whole.csv", "-o", "whole.json"],
        "must end in `.profile`",
    );
}

#[test]
fn identifiers_are_not_tested_and_schema_changes_are_gateable() {
    let env = TestEnv::bare();
    let mut reference = String::from("id,x\n");
    let mut current = String::from("id,x,extra\n");
    for i in 0..3000 {
        let _ = writeln!(reference, "r{i},{}", i % 7);
        let _ = writeln!(current, "c{i},{},1", i % 7);
    }
    env.write("ref.csv", reference);
    env.write("cur.csv", current);
    let report = env.json(&[
        "drift",
        "--reference",
        "ref.csv",
        "cur.csv",
        "--gate",
        "columns_added == 1",
    ]);
    let skipped = &report["batches"][0]["skipped"][0];
    assert_eq!(skipped["column"], "id");
    assert!(
        skipped["reason"]
            .as_str()
            .expect("reason")
            .contains("free text or identifiers")
    );
    env.fails(
        1,
        &[
            "drift",
            "--reference",
            "ref.csv",
            "cur.csv",
            "--gate",
            "columns_added == 0",
        ],
    );
}

#[test]
fn dates_are_skipped_unless_named_then_tested_as_days() {
    use arrow_array::{Date32Array, TimestampMicrosecondArray};
    let env = TestEnv::bare();
    let write = |name: &str, start_day: i32| {
        let days: Vec<i32> = (0..400).map(|i| start_day + i % 30).collect();
        let micros: Vec<i64> = days
            .iter()
            .map(|&d| i64::from(d) * 86_400_000_000)
            .collect();
        let x: Vec<f64> = (0..400).map(f64::from).collect();
        let batch = RecordBatch::try_from_iter([
            ("day", Arc::new(Date32Array::from(days)) as ArrayRef),
            (
                "at",
                Arc::new(TimestampMicrosecondArray::from(micros)) as ArrayRef,
            ),
            ("x", Arc::new(Float64Array::from(x)) as ArrayRef),
        ])
        .expect("a batch");
        let file = std::fs::File::create(env.path(name)).expect("create");
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
        writer.write(&batch).expect("write");
        writer.close().expect("close");
    };
    write("ref.parquet", 20_000);
    write("cur.parquet", 20_200);
    let report = env.json(&[
        "drift",
        "--reference",
        "ref.parquet",
        "cur.parquet",
        "--no-fail",
    ]);
    let skipped: Vec<&str> = report["batches"][0]["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| s["column"].as_str().expect("name"))
        .collect();
    assert_eq!(skipped, ["day", "at"]);
    let report = env.json(&[
        "drift",
        "--reference",
        "ref.parquet",
        "cur.parquet",
        "--columns",
        "day,at",
        "--no-fail",
    ]);
    let columns = report["batches"][0]["columns"].as_array().expect("columns");
    assert!(
        columns
            .iter()
            .all(|c| c["kind"] == "numeric" && c["drifted"] == true),
        "{columns:?}"
    );
}

/// Issue 15 item 3: a gate naming a column or field that does not exist is a usage error (exit 2,
/// naming the gate and the name, suggesting the closest one), never a failed check (exit 1).
#[test]
fn a_gate_on_an_unknown_column_exits_2_with_a_suggestion_and_a_failing_gate_exits_1() {
    let env = TestEnv::bare();
    let mut reference = String::from("income,age\n");
    let mut current = String::from("income,age\n");
    for i in 0..400 {
        let _ = writeln!(reference, "{},{}", 1000 + (i * 37) % 500, 20 + i % 50);
        let _ = writeln!(current, "{},{}", 1000 + (i * 41) % 500, 20 + (i * 3) % 50);
    }
    env.write("ref.csv", reference);
    env.write("cur.csv", current);
    let base = ["drift", "--reference", "ref.csv", "cur.csv"];
    // (gate, exit status, what stderr must say)
    let cases: [(&str, i32, &[&str]); 5] = [
        (
            "column(incom).psi < 0.2",
            2,
            &[
                "`column(incom).psi < 0.2`",
                "`incom`",
                "did you mean `income`?",
            ],
        ),
        (
            "column(income).p_valeu > 0.05",
            2,
            &["`p_valeu`", "did you mean `p_value`?"],
        ),
        (
            "share_drifed < 0.3",
            2,
            &["`share_drifed`", "did you mean `share_drifted`?"],
        ),
        (
            "column(income).out_of_range > 1000",
            1,
            &["gate failed on cur.csv: column(income).out_of_range > 1000"],
        ),
        (
            "rows > 100000",
            1,
            &["gate failed on cur.csv: rows > 100000"],
        ),
    ];
    for (gate, code, expected) in cases {
        let args = [&base[..], &["--gate", gate]].concat();
        let (_, stderr) = env.fails(code, &args);
        for text in expected {
            assert!(stderr.contains(text), "{gate}: {text} not in {stderr}");
        }
        if code == 1 {
            assert!(!stderr.contains("did you mean"), "{gate}: {stderr}");
            assert!(!stderr.contains("dataset drift"), "{gate}: {stderr}");
        }
    }
}

/// Review of issue 15 item 3: a gate's column is checked against the schemas before any column
/// is read, so a typo is the error even when the comparison itself would fail later (here on an
/// empty batch); a column only the batch has is a known column.
#[test]
fn a_gate_on_an_unknown_column_is_refused_before_the_data_is_read() {
    let env = TestEnv::bare();
    let mut reference = String::from("income,age\n");
    let mut current = String::from("income,age,region\n");
    for i in 0..100 {
        let _ = writeln!(reference, "{},{}", 1000 + i, 20 + i % 50);
        let _ = writeln!(current, "{},{},r{}", 1000 + i, 20 + i % 50, i % 3);
    }
    env.write("ref.csv", reference);
    env.write("cur.csv", current);
    env.write("empty.csv", "income,age\n");
    let (_, stderr) = env.fails(
        2,
        &[
            "drift",
            "--reference",
            "ref.csv",
            "cur.csv",
            "empty.csv",
            "--gate",
            "column(incom).psi < 0.2",
        ],
    );
    assert!(stderr.contains("no column `incom`"), "{stderr}");
    assert!(stderr.contains("did you mean `income`?"), "{stderr}");
    assert!(!stderr.contains("no rows"), "{stderr}");
    // `region` is only in the batch: known, not tested, so the gate fails there (exit 1).
    let (_, stderr) = env.fails(
        1,
        &[
            "drift",
            "--reference",
            "ref.csv",
            "cur.csv",
            "--gate",
            "column(region).psi < 0.2",
        ],
    );
    assert!(stderr.contains("gate failed on cur.csv"), "{stderr}");
}

/// One Float64 column `x` in a Parquet file.
fn write_x(env: &TestEnv, name: &str, values: Vec<f64>) {
    let batch =
        RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(values)) as ArrayRef)])
            .expect("a batch");
    let file = std::fs::File::create(env.path(name)).expect("create");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

/// ±inf are dropped on each side before testing, whether or not that side has NaN, and count in
/// its missing share (docs/drift.md, "Deliberate differences from Evidently": Evidently's
/// dataset-level count keeps them on a side without NaN, its Wasserstein distance is then NaN and
/// the column does not count as drifted).
#[test]
fn infinities_are_dropped_on_either_side_without_nan() {
    let env = TestEnv::bare();
    let mut rng = Rng(15);
    let reference: Vec<f64> = (0..200).map(|_| rng.normal()).collect();
    let shifted: Vec<f64> = (0..200).map(|_| 1.0 + rng.normal()).collect();
    let infinities = [
        f64::INFINITY,
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    let with_infinities =
        |values: &[f64]| -> Vec<f64> { infinities.iter().chain(&values[5..]).copied().collect() };
    write_x(&env, "ref.parquet", reference.clone());
    write_x(&env, "ref_inf.parquet", with_infinities(&reference));
    write_x(&env, "ref_finite.parquet", reference[5..].to_vec());
    write_x(&env, "cur_inf.parquet", with_infinities(&shifted));
    write_x(&env, "cur_finite.parquet", shifted[5..].to_vec());
    let column = |reference: &str, current: &str| -> serde_json::Value {
        let report = env.json(&[
            "drift",
            "--reference",
            reference,
            current,
            "--test",
            "x=wasserstein",
            "--no-fail",
        ]);
        report["batches"][0]["columns"][0].clone()
    };
    for (reference, current, finite_reference, finite_current, missing_ref, missing_cur) in [
        (
            "ref.parquet",
            "cur_inf.parquet",
            "ref.parquet",
            "cur_finite.parquet",
            0.0,
            0.025,
        ),
        (
            "ref_inf.parquet",
            "cur_finite.parquet",
            "ref_finite.parquet",
            "cur_finite.parquet",
            0.025,
            0.0,
        ),
    ] {
        let with = column(reference, current);
        let without = column(finite_reference, finite_current);
        let statistic = with["statistic"]
            .as_f64()
            .expect("a finite statistic, not NaN");
        // The same values tested, so the same bits.
        assert_eq!(
            statistic.to_bits(),
            without["statistic"].as_f64().expect("statistic").to_bits(),
            "{reference} {current}"
        );
        assert_eq!(with["drifted"], true, "{reference} {current}: {with}");
        assert_eq!(with["missing_share_ref"].as_f64(), Some(missing_ref));
        assert_eq!(with["missing_share_cur"].as_f64(), Some(missing_cur));
    }
}

/// One column `x` of JSON numbers in a Parquet file: Int64 or Float64.
fn write_json_column(env: &TestEnv, name: &str, values: &[serde_json::Value], integer: bool) {
    let column: ArrayRef = if integer {
        let values: Vec<i64> = values
            .iter()
            .map(|v| v.as_i64().expect("an integer"))
            .collect();
        Arc::new(arrow_array::Int64Array::from(values))
    } else {
        let values: Vec<f64> = values
            .iter()
            .map(|v| v.as_f64().expect("a number"))
            .collect();
        Arc::new(Float64Array::from(values))
    };
    let batch = RecordBatch::try_from_iter([("x", column)]).expect("a batch");
    let file = std::fs::File::create(env.path(name)).expect("create");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

/// Numeric columns with few distinct values, end to end against Evidently 0.7.23's Report
/// (`scripts/golden/drift_few_values.py`): the column stays numeric, its default test is chosen
/// from the distinct values of both sides (a float column with values 1-4 whose batch adds a 5
/// and a 6 gets KS, not chi-square), integers that Evidently calls categories get its categorical
/// default, and explicit numeric tests (`ks`, `wasserstein`, ...) run on the numbers instead of
/// being refused (issue 15, items 1 and b). Values agree to 1e-9.
#[test]
fn few_valued_numeric_columns_are_tested_as_evidently_tests_them() {
    const FIXTURE: &str = include_str!("../../crates/mlops-drift/tests/fixtures/few_values.json");
    let doc: serde_json::Value = serde_json::from_str(FIXTURE).expect("JSON");
    let env = TestEnv::bare();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (i, case) in doc["cases"].as_array().expect("cases").iter().enumerate() {
        let name = case["name"].as_str().expect("name");
        let (reference, current) = (format!("ref{i}.parquet"), format!("cur{i}.parquet"));
        for (file, side) in [(&reference, "reference"), (&current, "current")] {
            let values = case[side].as_array().expect("values");
            write_json_column(&env, file, values, case["integer"] == true);
        }
        let explicit = case["explicit"].as_array().expect("explicit");
        for (expected, test) in std::iter::once((&case["default"], None))
            .chain(explicit.iter().map(|e| (e, e["test"].as_str())))
        {
            let selector = test.map(|t| format!("x={t}"));
            let mut args = vec!["drift", "--reference", &reference, &current, "--no-fail"];
            if let Some(selector) = &selector {
                args.extend(["--test", selector]);
            }
            let output = env
                .cmd(&[&["--json"], &args[..]].concat())
                .output()
                .expect("run");
            if !output.status.success() {
                failures.push(format!(
                    "{name} {test:?}: exit {:?}: {}",
                    output.status.code(),
                    String::from_utf8_lossy(&output.stderr).trim()
                ));
                continue;
            }
            let report: serde_json::Value =
                serde_json::from_slice(&output.stdout).expect("JSON on stdout");
            let column = &report["batches"][0]["columns"][0];
            let value = if column["p_value"].is_null() {
                &column["statistic"]
            } else {
                &column["p_value"]
            };
            let (ours, theirs) = (
                value.as_f64().unwrap_or(f64::NAN),
                expected["value"].as_f64().expect("a value"),
            );
            checked += 1;
            if column["kind"] != "numeric"
                || column["test"] != expected["test"]
                || (ours - theirs).abs() > 1e-9 * theirs.abs().max(1.0)
            {
                failures.push(format!(
                    "{name} {test:?}: mlops {} {} = {ours}, Evidently {} = {theirs}",
                    column["kind"], column["test"], expected["test"]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 30, "the fixture has cases");
    // `--kind x=numeric` gives the integer column (case 1, the values of case 0) the numeric
    // rule: KS over its six values, as Evidently tests the same values as floats.
    let cases = doc["cases"].as_array().expect("cases");
    let numbers = |case: &serde_json::Value| -> Vec<f64> {
        let values = case["current"].as_array().expect("values");
        values
            .iter()
            .map(|v| v.as_f64().expect("a number"))
            .collect()
    };
    assert_eq!(numbers(&cases[0]), numbers(&cases[1]));
    let report = env.json(&[
        "drift",
        "--reference",
        "ref1.parquet",
        "cur1.parquet",
        "--kind",
        "x=numeric",
        "--no-fail",
    ]);
    let column = &report["batches"][0]["columns"][0];
    assert_eq!(column["test"], "ks", "{column}");
    let p_value = column["p_value"].as_f64().expect("a p-value");
    let theirs = cases[0]["default"]["value"].as_f64().expect("a value");
    assert!((p_value - theirs).abs() <= 1e-9, "{p_value} vs {theirs}");
}

/// Issue 15 item 12: drift's options are checked by the library, whatever the flag's text. A
/// negative threshold or drift share once stopped in clap (`unexpected argument '-0' found`, a
/// usage screen), and a NaN threshold in a gate parsed and failed every gate (exit 1); each is
/// now one line naming the value, exit 2, before any data is read.
#[test]
fn meaningless_thresholds_exit_2_with_one_line_naming_the_value() {
    let env = TestEnv::bare();
    env.write("ref.csv", "x\n1\n2\n3\n");
    let base = ["drift", "--reference", "ref.csv", "missing.csv"];
    let cases: [(&[&str], &str); 7] = [
        (
            &["--threshold", "-0.1"],
            "error: --threshold must be a number above 0, got -0.1",
        ),
        (
            &["--threshold", "NaN"],
            "error: --threshold must be a number above 0, got NaN",
        ),
        (
            &["--threshold", "0"],
            "error: --threshold must be a number above 0, got 0",
        ),
        (
            &["--drift-share", "-0.5"],
            "error: --drift-share must be between 0 and 1, got -0.5",
        ),
        (
            &["--test", "kolmogorov"],
            "error: unknown test `kolmogorov`",
        ),
        (
            &["--test", "=ks"],
            "error: --test takes TEST or COLUMN=TEST, got `=ks`",
        ),
        (
            &["--gate", "share_drifted < NaN"],
            "error: invalid gate `share_drifted < NaN`: `NaN` is not a batch value",
        ),
    ];
    for (extra, expected) in cases {
        let args = [&base[..], extra].concat();
        let (_, stderr) = env.fails(2, &args);
        let mut lines = stderr.lines().filter(|l| !l.trim().is_empty());
        let first = lines.next().unwrap_or_default();
        assert!(first.starts_with(expected), "{args:?}: {stderr}");
        // One error line, at most a hint after it; never clap's usage screen.
        assert!(lines.all(|l| l.starts_with("hint: ")), "{args:?}: {stderr}");
    }
    let (_, stderr) = env.fails(2, &[&base[..], &["--test", "wasserstien"]].concat());
    assert!(stderr.contains("did you mean `wasserstein`?"), "{stderr}");
}
