//! `mlops eval` on generated Parquet and CSV files: metrics, a planted weak slice, fairness,
//! gates with exit codes, Markdown, baselines, and every bad input.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};

use crate::rng::Rng;
use crate::support::TestEnv;

struct Rows {
    label: Vec<i64>,
    score: Vec<f64>,
    region: Vec<String>,
    sex: Vec<Option<String>>,
}

/// 4,000 rows; the model is right 90% of the time, but only 60% in region `r2`.
fn rows() -> Rows {
    let mut rng = Rng(42);
    let mut rows = Rows {
        label: Vec::new(),
        score: Vec::new(),
        region: Vec::new(),
        sex: Vec::new(),
    };
    for i in 0..4000 {
        let region = format!("r{}", i % 4);
        let label = i64::from(rng.uniform() < 0.4);
        let right = rng.uniform() < if region == "r2" { 0.6 } else { 0.9 };
        let high = 0.5 + 0.5 * rng.uniform();
        let score = if (label == 1) == right {
            high
        } else {
            1.0 - high
        };
        let sex = if i % 50 == 0 {
            None
        } else {
            Some(if rng.uniform() < 0.5 { "f" } else { "m" }.to_owned())
        };
        rows.label.push(label);
        rows.score.push((score * 1e4).round() / 1e4);
        rows.region.push(region);
        rows.sex.push(sex);
    }
    rows
}

fn write_parquet(env: &TestEnv, name: &str, rows: &Rows) {
    let batch = RecordBatch::try_from_iter([
        (
            "label",
            Arc::new(Int64Array::from(rows.label.clone())) as ArrayRef,
        ),
        (
            "score",
            Arc::new(Float64Array::from(rows.score.clone())) as ArrayRef,
        ),
        (
            "region",
            Arc::new(StringArray::from(rows.region.clone())) as ArrayRef,
        ),
        (
            "sex",
            Arc::new(StringArray::from(rows.sex.clone())) as ArrayRef,
        ),
    ])
    .expect("a batch");
    let file = std::fs::File::create(env.path(name)).expect("create");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

fn write_csv(env: &TestEnv, name: &str, rows: &Rows) {
    let mut text = String::from("label,score,region,sex\n");
    for i in 0..rows.label.len() {
        let sex = rows.sex[i].as_deref().unwrap_or("");
        let _ = writeln!(
            text,
            "{},{},{},{sex}",
            rows.label[i], rows.score[i], rows.region[i]
        );
    }
    env.write(name, text);
}

fn eval_env() -> TestEnv {
    let env = TestEnv::bare();
    let data = rows();
    write_parquet(&env, "preds.parquet", &data);
    write_csv(&env, "preds.csv", &data);
    env
}

#[test]
fn parquet_and_csv_give_the_same_report_and_the_weak_slice_is_flagged() {
    let env = eval_env();
    let args = [
        "eval",
        "--score",
        "score",
        "--slice",
        "region",
        "--sensitive",
        "sex",
    ];
    let mut parquet = env.json(&[&args[..], &["preds.parquet"]].concat());
    let mut csv = env.json(&[&args[..], &["preds.csv"]].concat());
    assert_eq!(parquet["task"], "binary");
    assert_eq!(parquet["rows"], 4000);
    for key in [
        "accuracy",
        "roc_auc",
        "average_precision",
        "log_loss",
        "brier",
        "f1",
    ] {
        assert!(parquet["overall"][key].is_f64(), "{key}");
    }
    let flagged: Vec<&serde_json::Value> = parquet["slices"]
        .as_array()
        .expect("slices")
        .iter()
        .filter(|s| s["underperforming"] == true)
        .collect();
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert_eq!(flagged[0]["values"], serde_json::json!(["r2"]));
    assert!(
        flagged[0]["ci"]["accuracy"][0].as_f64().expect("ci")
            < flagged[0]["metrics"]["accuracy"].as_f64().expect("acc")
    );
    let groups = parquet["fairness"]["groups"].as_array().expect("groups");
    assert!(
        groups
            .iter()
            .any(|g| g["values"] == serde_json::json!(["(missing)"])),
        "missing values form a group"
    );
    // The same data through CSV gives the same numbers.
    parquet["fairness"]["groups"] = serde_json::Value::Null;
    csv["fairness"]["groups"] = serde_json::Value::Null;
    assert_eq!(parquet, csv);
}

#[test]
fn gates_pass_and_fail_with_exit_codes() {
    let env = eval_env();
    let pass = env.run(&[
        "eval",
        "preds.parquet",
        "--score",
        "score",
        "--gate",
        "accuracy >= 0.7",
        "--gate",
        "roc_auc > 0.5",
    ]);
    assert!(
        pass.contains("PASS  accuracy >= 0.7") && pass.contains("all gates passed"),
        "{pass}"
    );
    let (out, err) = env.fails(
        1,
        &[
            "eval",
            "preds.parquet",
            "--score",
            "score",
            "--slice",
            "region",
            "--gate",
            "slices.min(accuracy) >= 0.8",
        ],
    );
    assert!(out.contains("FAIL  slices.min(accuracy) >= 0.8"), "{out}");
    assert!(
        err.contains("gate failed: slices.min(accuracy) >= 0.8 (value 0.")
            && err.contains("margin -0."),
        "{err}"
    );
    let report = {
        let output = env
            .cmd(&[
                "--json",
                "eval",
                "preds.parquet",
                "--score",
                "score",
                "--gate",
                "accuracy >= 0.99",
            ])
            .output()
            .expect("run");
        assert_eq!(output.status.code(), Some(1));
        serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("json")
    };
    assert_eq!(report["passed"], false);
    assert_eq!(report["gates"][0]["passed"], false);
}

#[test]
fn markdown_and_baselines() {
    let env = eval_env();
    let md = env.run(&[
        "eval",
        "preds.parquet",
        "--score",
        "score",
        "--slice",
        "region",
        "--format",
        "markdown",
    ]);
    assert!(
        md.starts_with("## Evaluation: binary task, 4000 rows"),
        "{md}"
    );
    assert!(
        md.contains("| metric | value |") && md.contains("UNDERPERFORMING |"),
        "{md}"
    );
    let json = env.run(&["--json", "eval", "preds.parquet", "--score", "score"]);
    env.write("baseline.json", json);
    env.run(&[
        "eval",
        "preds.parquet",
        "--score",
        "score",
        "--baseline",
        "baseline.json",
        "--gate",
        "roc_auc >= baseline - 0.01",
    ]);
    env.write("other.csv", "label,prediction\n1.5,1.0\n2.5,2.0\n");
    let (_, err) = env.fails(
        2,
        &[
            "eval",
            "other.csv",
            "--prediction",
            "prediction",
            "--baseline",
            "baseline.json",
            "--gate",
            "mae <= baseline",
        ],
    );
    assert!(
        err.contains("is of a binary task, this evaluation is regression"),
        "{err}"
    );
}

#[test]
fn multiclass_and_regression() {
    let env = TestEnv::bare();
    env.write(
        "mc.csv",
        "label,pred\ncat,cat\ndog,dog\nbird,cat\ncat,cat\ndog,bird\nbird,bird\n",
    );
    let report = env.json(&["eval", "mc.csv", "--prediction", "pred"]);
    assert_eq!(report["task"], "multiclass");
    assert!((report["overall"]["accuracy"].as_f64().expect("acc") - 4.0 / 6.0).abs() < 1e-12);
    assert_eq!(
        report["confusion_matrix"]["classes"],
        serde_json::json!(["bird", "cat", "dog"])
    );
    env.write("reg.csv", "y,yhat\n3.0,2.5\n-0.5,0.0\n2.0,2.0\n7.0,8.0\n");
    let report = env.json(&["eval", "reg.csv", "--label", "y", "--prediction", "yhat"]);
    assert_eq!(report["task"], "regression");
    assert_eq!(report["overall"]["mae"], 0.5);
    assert_eq!(report["overall"]["max_error"], 1.0);
}

/// Issue 15 a: a row whose largest score is tied between classes is predicted as the first of
/// them in column order, as numpy's `argmax` (and so scikit-learn) has it.
#[test]
fn multiclass_scores_tied_at_the_maximum_predict_the_first_class() {
    let env = TestEnv::bare();
    // Columns in sorted class order: a, b, c. Argmax-first predicts a, b, a, c, a, a; the
    // last of the tied classes would have given b, c, a, c, c, b.
    env.write(
        "tied.csv",
        "label,pa,pb,pc\n\
         a,0.4,0.4,0.2\n\
         b,0.1,0.45,0.45\n\
         c,0.5,0.25,0.25\n\
         c,0.2,0.2,0.6\n\
         a,0.35,0.3,0.35\n\
         b,0.4,0.4,0.2\n",
    );
    let report = env.json(&[
        "eval", "tied.csv", "--score", "pa", "--score", "pb", "--score", "pc",
    ]);
    assert_eq!(report["task"], "multiclass");
    // Right on rows 1, 2, 4 and 5.
    assert!((report["overall"]["accuracy"].as_f64().expect("accuracy") - 4.0 / 6.0).abs() < 1e-12);
    // Rows are true classes, columns predicted ones.
    assert_eq!(
        report["confusion_matrix"]["counts"],
        serde_json::json!([[2.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
    );
}

#[test]
fn undefined_metrics_are_null_with_a_reason() {
    let env = TestEnv::bare();
    env.write("neg.csv", "label,score\n0,0.2\n0,0.7\n0,0.1\n");
    let report = env.json(&["eval", "neg.csv", "--score", "score"]);
    assert_eq!(report["overall"]["recall"], serde_json::Value::Null);
    assert_eq!(report["overall"]["roc_auc"], serde_json::Value::Null);
    assert_eq!(report["undefined"]["recall"], "no positive labels");
    let text = env.run(&["eval", "neg.csv", "--score", "score"]);
    assert!(text.contains("undefined (no positive labels)"), "{text}");
}

/// A failing run: exit 2 and the first line of stderr contains `expected`.
fn rejects(env: &TestEnv, args: &[&str], expected: &str) {
    let (_, err) = env.fails(2, args);
    let first = err.lines().next().unwrap_or_default();
    assert!(first.contains(expected), "expected `{expected}` in: {err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn bad_input_is_refused_naming_the_file_and_column() {
    let env = eval_env();
    env.write("text-scores.csv", "label,score\n1,high\n0,low\n")
        .write("big-scores.csv", "label,score\n1,1.7\n0,0.2\n")
        .write("three.csv", "label,prediction\n0,0\n1,1\n2,1\n")
        .write("nan-labels.csv", "label,score\n1,0.5\n,0.2\n,0.9\n")
        .write("empty.csv", "label,score\n")
        .write("not-a-report.json", "{}")
        .write("text-labels.csv", "label,prediction\nyes,no\nno,no\n");
    let score = |file: &'static str| vec!["eval", file, "--score", "score"];
    let with = |mut args: Vec<&'static str>, extra: &[&'static str]| {
        args.extend_from_slice(extra);
        args
    };
    // (arguments, what the first line of the error says)
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["eval", "preds.parquet", "--score", "nope"],
            "column `nope` not found in",
        ),
        (score("text-scores.csv"), "column `score` in `"),
        (
            score("text-scores.csv"),
            "holds text values, expected probabilities",
        ),
        (
            score("big-scores.csv"),
            "has 1 scores outside [0, 1] (from 0.2 to 1.7)",
        ),
        (
            vec![
                "eval",
                "three.csv",
                "--prediction",
                "prediction",
                "--task",
                "binary",
            ],
            "holds 0, 1, 2, expected two classes",
        ),
        (score("nan-labels.csv"), "column `label` in `"),
        (score("nan-labels.csv"), "has 2 missing values"),
        (score("empty.csv"), "empty.csv` has no rows"),
        (
            with(score("preds.parquet"), &["--gate", "accuracy >= 0.8x"]),
            "`0.8x` is not a number at column 13",
        ),
        (
            with(score("preds.parquet"), &["--baseline", "not-a-report.json"]),
            "invalid baseline report",
        ),
        (
            vec!["eval", "text-labels.csv", "--prediction", "prediction"],
            "say which is positive with --pos-label",
        ),
    ];
    for (args, expected) in &cases {
        rejects(&env, args, expected);
    }
    env.run(&[
        "eval",
        "text-labels.csv",
        "--prediction",
        "prediction",
        "--pos-label",
        "yes",
    ]);
}

#[test]
fn the_html_report_is_one_self_contained_page_with_charts() {
    let env = eval_env();
    env.run(&[
        "eval",
        "preds.parquet",
        "--score",
        "score",
        "--slice",
        "region",
        "--sensitive",
        "sex",
        "--gate",
        "accuracy >= 0.5",
        "--format",
        "html",
        "-o",
        "report.html",
    ]);
    let html = String::from_utf8(env.read("report.html")).expect("utf-8");
    assert!(html.starts_with("<!DOCTYPE html>"));
    for part in [
        "ROC curve",
        "Precision-recall curve",
        "Calibration",
        "Confusion matrix",
        "<svg",
        "<polyline",
        "Fairness (sex",
        "PASS",
    ] {
        assert!(html.contains(part), "missing {part}");
    }
    assert!(
        html.contains("<tr class=\"bad\"><td>region=r2</td>"),
        "the weak slice is highlighted"
    );
    assert!(
        !html.contains("http") && !html.contains("<script") && !html.contains("src="),
        "nothing is fetched"
    );
    // JSON to a file too.
    env.run(&[
        "--json",
        "eval",
        "preds.parquet",
        "--score",
        "score",
        "-o",
        "report.json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&env.read("report.json")).expect("json");
    assert_eq!(report["rows"], 4000);
    assert!(report.get("curves").is_none(), "curves are for charts only");
}

#[test]
fn discover_reports_the_weak_region_first() {
    let env = eval_env();
    let report = env.json(&[
        "eval",
        "preds.parquet",
        "--score",
        "score",
        "--slice",
        "region",
        "--slice",
        "sex",
        "--discover",
        "5",
    ]);
    let found = report["discovered"].as_array().expect("discovered");
    assert_eq!(found[0]["values"], serde_json::json!(["r2"]), "{found:?}");
    assert!(found.len() <= 5);
    let text = env.run(&[
        "eval",
        "preds.parquet",
        "--score",
        "score",
        "--slice",
        "region",
        "--slice",
        "sex",
        "--discover",
    ]);
    assert!(
        text.contains("Discovered slices (accuracy), largest first"),
        "{text}"
    );
}

#[test]
fn options_and_gates_from_eval_yaml_with_flags_winning() {
    let env = eval_env();
    env.write(
        "ci/eval.yaml",
        "score: score\nslices: [region]\nsensitive: [sex]\nfairness_method: to_overall\ngates:\n  - accuracy >= 0.99\n",
    );
    let (out, _) = env.fails(1, &["eval", "preds.parquet", "--config", "ci/eval.yaml"]);
    assert!(
        out.contains("FAIL  accuracy >= 0.99") && out.contains("Fairness (sex; to_overall)"),
        "{out}"
    );
    assert!(
        out.contains("Slices (accuracy, two_proportion_z; 1 underperforming)"),
        "{out}"
    );
    // A flag wins over the file; gates from both apply.
    let report = {
        let output = env
            .cmd(&[
                "--json",
                "eval",
                "preds.parquet",
                "--config",
                "ci/eval.yaml",
                "--fairness-method",
                "between-groups",
                "--gate",
                "rows > 0",
            ])
            .output()
            .expect("run");
        serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("json")
    };
    assert_eq!(report["fairness"]["method"], "between_groups");
    assert_eq!(report["gates"].as_array().expect("gates").len(), 2);
    env.write("bad.yaml", "lable: y\n");
    let (_, err) = env.fails(2, &["eval", "preds.parquet", "--config", "bad.yaml"]);
    assert!(
        err.starts_with("error: invalid config `")
            && err.contains("bad.yaml")
            && err.contains("unknown field `lable`"),
        "{err}"
    );
}

/// Asserts that `ci` holds an interval around `value` for `metric`.
fn interval_around(ci: &serde_json::Value, value: &serde_json::Value, metric: &str) {
    let (lo, hi) = (
        ci[metric][0].as_f64().expect("a lower bound"),
        ci[metric][1].as_f64().expect("an upper bound"),
    );
    let value = value[metric].as_f64().expect("a value");
    assert!(
        lo <= value && value <= hi,
        "{metric}: {value} in [{lo}, {hi}]"
    );
}

#[test]
fn every_metric_has_an_interval_and_the_seed_fixes_them() {
    let env = eval_env();
    let args = [
        "eval",
        "preds.parquet",
        "--score",
        "score",
        "--slice",
        "region",
        "--sensitive",
        "sex",
        "--bootstrap",
        "50",
    ];
    let report = env.json(&args);
    assert_eq!(
        report["bootstrap"],
        serde_json::json!({"replicates": 50, "seed": 0, "confidence": 0.95})
    );
    for metric in ["accuracy", "f1", "roc_auc", "average_precision", "log_loss"] {
        interval_around(&report["overall_ci"], &report["overall"], metric);
        for slice in report["slices"].as_array().expect("slices") {
            interval_around(&slice["ci"], &slice["metrics"], metric);
        }
    }
    let fairness = &report["fairness"];
    // A largest-minus-smallest over groups is biased upwards under resampling when a group is
    // small, so its interval need not contain the value; it must still be an interval.
    let dpd = &fairness["ci"]["demographic_parity_difference"];
    let (lo, hi) = (dpd[0].as_f64().expect("lo"), dpd[1].as_f64().expect("hi"));
    assert!((0.0..=hi).contains(&lo) && hi <= 1.0, "[{lo}, {hi}]");
    interval_around(&fairness["groups"][0]["ci"], &fairness["groups"][0], "tpr");
    assert_eq!(env.json(&args), report, "the same seed, the same report");
    let reseeded = env.json(&[&args[..], &["--seed", "1"]].concat());
    assert_ne!(
        reseeded["overall_ci"]["roc_auc"],
        report["overall_ci"]["roc_auc"]
    );
    assert_eq!(
        reseeded["overall_ci"]["accuracy"], report["overall_ci"]["accuracy"],
        "proportions have Wilson intervals, which no seed changes"
    );
    let wilson_only = env.json(&[&args[..8], &["--bootstrap", "0"]].concat());
    assert!(wilson_only["overall_ci"]["accuracy"].is_array());
    assert!(wilson_only["overall_ci"]["roc_auc"].is_null());
    assert!(wilson_only["bootstrap"].is_null());
}

#[test]
fn multiclass_and_regression_slices_have_intervals() {
    let env = TestEnv::bare();
    let mut text = String::from("y,yhat,part\n");
    for i in 0..300 {
        let y = f64::from(i % 17) / 2.0;
        let error = f64::from((i * 7) % 5) / 4.0 - 0.5;
        let _ = writeln!(
            text,
            "{y},{},{}",
            y + error,
            if i % 2 == 0 { "a" } else { "b" }
        );
    }
    env.write("reg.csv", text);
    let report = env.json(&[
        "eval",
        "reg.csv",
        "--label",
        "y",
        "--prediction",
        "yhat",
        "--slice",
        "part",
        "--bootstrap",
        "40",
    ]);
    interval_around(&report["overall_ci"], &report["overall"], "mae");
    for slice in report["slices"].as_array().expect("slices") {
        interval_around(&slice["ci"], &slice["metrics"], "rmse");
    }
}

/// Issue 15 e: with `--fairlearn-compat`, a group's rates that it cannot define are what
/// fairlearn's `MetricFrame.by_group` reports (through scikit-learn's defaults): 0.0 for the TPR
/// of a group with no positive labels, the FPR of one with no negatives and the precision of one
/// with no predicted positives. Without it they stay null, with a note.
#[test]
fn fairlearn_compat_reports_undefined_group_rates_as_fairlearn_does() {
    let env = TestEnv::bare();
    // Group a is mixed; b has no positive labels; c no negatives; d no predicted positives.
    env.write(
        "groups.csv",
        "label,prediction,group\n\
         1,1,a\n0,0,a\n1,0,a\n0,1,a\n\
         0,1,b\n0,0,b\n0,0,b\n\
         1,1,c\n1,0,c\n1,1,c\n\
         1,0,d\n0,0,d\n0,0,d\n",
    );
    let args = [
        "eval",
        "groups.csv",
        "--prediction",
        "prediction",
        "--sensitive",
        "group",
    ];
    let rate = |report: &serde_json::Value, group: usize, name: &str| {
        report["fairness"]["groups"][group][name].clone()
    };
    let ours = env.json(&args);
    assert!(rate(&ours, 1, "tpr").is_null());
    assert!(rate(&ours, 2, "fpr").is_null());
    assert!(rate(&ours, 3, "precision").is_null());
    assert!(
        !ours["fairness"]["notes"]
            .as_array()
            .expect("notes")
            .is_empty()
    );
    let compat = env.json(&[&args[..], &["--fairlearn-compat"]].concat());
    // fairlearn 0.15 with scikit-learn 1.9 on these rows (scripts/golden/eval_fairness.py).
    assert_eq!(rate(&compat, 1, "tpr"), 0.0);
    assert_eq!(rate(&compat, 2, "fpr"), 0.0);
    assert_eq!(rate(&compat, 3, "tpr"), 0.0);
    assert_eq!(rate(&compat, 3, "precision"), 0.0);
    assert_eq!(rate(&compat, 1, "precision"), 0.0);
    let f = &compat["fairness"];
    let close = |v: &serde_json::Value, e: f64| (v.as_f64().expect("a number") - e).abs() < 1e-12;
    assert!(close(&f["equal_opportunity_difference"], 2.0 / 3.0), "{f}");
    assert!(close(&f["equalized_odds_difference"], 2.0 / 3.0), "{f}");
    assert!(close(&f["equalized_odds_ratio"], 0.0), "{f}");
}

/// Issue 15 e: when no group has a positive label, fairlearn's TPR ratio is 0 / 0 = nan, and its
/// equalized-odds ratio (Python's `min` over [TPR ratio, FPR ratio]) is nan too.
#[test]
fn fairlearn_compat_equalized_odds_ratio_is_null_when_the_tpr_ratio_is() {
    let env = TestEnv::bare();
    env.write(
        "negatives.csv",
        "label,prediction,group\n0,1,a\n0,0,a\n0,1,a\n0,1,b\n0,0,b\n0,0,b\n",
    );
    let args = [
        "eval",
        "negatives.csv",
        "--prediction",
        "prediction",
        "--sensitive",
        "group",
        "--pos-label",
        "1",
        "--fairlearn-compat",
    ];
    let report = env.json(&args);
    let f = &report["fairness"];
    assert!(f["equalized_odds_ratio"].is_null(), "{f}");
    assert_eq!(f["equal_opportunity_difference"], 0.0);
    assert!((f["equalized_odds_difference"].as_f64().expect("a number") - 1.0 / 3.0).abs() < 1e-12);
}

/// Issue 15 item 3: a gate naming a metric the report does not have is a usage error (exit 2,
/// naming the gate and the name, suggesting the closest one), never a failed check (exit 1).
#[test]
fn a_gate_on_an_unknown_metric_exits_2_with_a_suggestion_and_a_failing_gate_exits_1() {
    let env = eval_env();
    let json = env.run(&["--json", "eval", "preds.parquet", "--score", "score"]);
    env.write("baseline.json", json);
    let base = [
        "eval",
        "preds.parquet",
        "--score",
        "score",
        "--slice",
        "region",
        "--sensitive",
        "sex",
        "--baseline",
        "baseline.json",
    ];
    // (gate, exit status, what stderr must say)
    let cases: [(&str, i32, &[&str]); 7] = [
        (
            "roc_acu < 0.9",
            2,
            &["`roc_acu < 0.9`", "`roc_acu`", "did you mean `roc_auc`?"],
        ),
        (
            "overall.acuracy >= 0.5",
            2,
            &["`overall.acuracy`", "did you mean `overall.accuracy`?"],
        ),
        (
            "slices.min(recal) >= 0.5",
            2,
            &["`recal`", "did you mean `recall`?"],
        ),
        (
            "fairness.demographic_parity_ratoi >= 0.8",
            2,
            &[
                "`fairness.demographic_parity_ratoi`",
                "did you mean `fairness.demographic_parity_ratio`?",
            ],
        ),
        (
            "accuracy >= baseline.acuracy",
            2,
            &["`acuracy`", "baseline", "did you mean `accuracy`?"],
        ),
        ("accuracy >= 0.99", 1, &["gate failed: accuracy >= 0.99"]),
        (
            "slices.min(accuracy) >= 0.8",
            1,
            &["gate failed: slices.min(accuracy) >= 0.8"],
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
        }
    }
}
