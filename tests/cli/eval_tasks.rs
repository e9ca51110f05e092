//! `mlops eval` on regression and multiclass tasks beyond the overall metrics: slices tested on a
//! regression metric (issue 15, item 6), fairness for regression and multiclass tasks as
//! fairlearn's `MetricFrame` gives it, and the options the library checks and records (item 12).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::rng::Rng;
use crate::support::TestEnv;

/// 2,000 regression rows over 4 regions and 2 sexes; errors are three times larger in `r2`.
/// Also a multiclass label and prediction, right 90% of the time for `f` and 60% for `m`.
fn write_tasks(env: &TestEnv) {
    let mut rng = Rng(15);
    let mut text = String::from("y,yhat,region,sex,label,pred\n");
    for i in 0..2000 {
        let region = format!("r{}", i % 4);
        let sex = if rng.uniform() < 0.5 { "f" } else { "m" };
        let y = (rng.uniform() * 1000.0).round() / 100.0;
        let spread = if region == "r2" { 3.0 } else { 1.0 };
        let error = ((rng.uniform() - 0.5) * 2.0 * spread * 100.0).round() / 100.0;
        let classes = ["a", "b", "c"];
        let label = classes[i % 3];
        let right = rng.uniform() < if sex == "f" { 0.9 } else { 0.6 };
        let pred = if right {
            label
        } else {
            classes[(i + 1 + i / 7 % 2) % 3]
        };
        let _ = writeln!(text, "{y},{:.2},{region},{sex},{label},{pred}", y + error);
    }
    env.write("tasks.csv", text);
}

fn rows(env: &TestEnv) -> Vec<BTreeMap<&'static str, String>> {
    let text = String::from_utf8(env.read("tasks.csv")).expect("utf-8");
    let names = ["y", "yhat", "region", "sex", "label", "pred"];
    text.lines()
        .skip(1)
        .map(|line| {
            names
                .into_iter()
                .zip(line.split(',').map(str::to_owned))
                .collect()
        })
        .collect()
}

fn float(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("a number, got {v}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

const REGRESSION: [&str; 6] = ["eval", "tasks.csv", "--label", "y", "--prediction", "yhat"];

#[test]
fn regression_slices_are_tested_on_mae_and_the_weak_region_is_flagged() {
    let env = TestEnv::bare();
    write_tasks(&env);
    let args = [&REGRESSION[..], &["--slice", "region", "--bootstrap", "20"]].concat();
    let report = env.json(&args);
    assert_eq!(
        report["slice_test"],
        json!({"metric": "mae", "test": "welch_t", "effect": "relative",
               "alpha": 0.05, "min_effect": 0.05, "min_rows": 30})
    );
    let slices = report["slices"].as_array().expect("slices");
    let flagged: Vec<&Value> = slices
        .iter()
        .filter(|s| s["underperforming"] == true)
        .collect();
    assert_eq!(flagged.len(), 1, "{slices:?}");
    assert_eq!(flagged[0]["values"], json!(["r2"]));
    assert!(float(&flagged[0]["p_value"]) < 1e-6);
    // The relative effect: the slice's MAE over the rest's, minus 1 (the rest's from the rows).
    let (mut sum, mut n) = (0.0, 0.0);
    for row in rows(&env).iter().filter(|r| r["region"] != "r2") {
        sum +=
            (row["y"].parse::<f64>().expect("y") - row["yhat"].parse::<f64>().expect("yhat")).abs();
        n += 1.0;
    }
    let mae = float(&flagged[0]["metrics"]["mae"]);
    assert!(close(
        float(&flagged[0]["effect_size"]),
        mae / (sum / n) - 1.0
    ));
    assert!(
        slices.iter().all(|s| s["p_value"].is_f64()),
        "every slice is tested"
    );
    let text = env.run(&args);
    assert!(
        text.contains("Slices (mae, welch_t; 1 underperforming)"),
        "{text}"
    );
    assert!(
        text.contains("worse by (relative)") && text.contains("UNDERPERFORMING"),
        "{text}"
    );
    let md = env.run(&[&args[..], &["--format", "markdown"]].concat());
    assert!(
        md.contains("### Slices (mae, welch_t; 1 underperforming)"),
        "{md}"
    );
    let html = env.run(&[&args[..], &["--format", "html"]].concat());
    assert!(html.contains("Slices (mae, welch_t)"), "{html}");
    // Another regression metric, and discovery on it.
    let rmse = env.json(&[&args[..], &["--slice-metric", "rmse", "--discover"]].concat());
    assert_eq!(rmse["slice_test"]["metric"], "rmse");
    assert_eq!(rmse["discovered"][0]["values"], json!(["r2"]));
    assert!(rmse["discovered"][0]["metrics"]["rmse"].is_f64());
}

#[test]
fn regression_fairness_reports_group_mae_and_mean_prediction() {
    let env = TestEnv::bare();
    write_tasks(&env);
    let args = [&REGRESSION[..], &["--sensitive", "sex", "--bootstrap", "0"]].concat();
    let report = env.json(&args);
    let fairness = &report["fairness"];
    let mut by_group: BTreeMap<String, (f64, f64, f64)> = BTreeMap::new();
    for row in rows(&env) {
        let (y, p) = (
            row["y"].parse::<f64>().expect("y"),
            row["yhat"].parse::<f64>().expect("yhat"),
        );
        let e = by_group.entry(row["sex"].clone()).or_default();
        *e = (e.0 + 1.0, e.1 + (y - p).abs(), e.2 + p);
    }
    let mut maes = Vec::new();
    let mut means = Vec::new();
    for group in fairness["groups"].as_array().expect("groups") {
        let (n, abs, pred) = by_group[group["values"][0].as_str().expect("a value")];
        assert!(close(float(&group["rows"]), n));
        assert!(close(float(&group["mae"]), abs / n), "{group}");
        assert!(close(float(&group["mean_prediction"]), pred / n), "{group}");
        maes.push(abs / n);
        means.push(pred / n);
    }
    let extremes = |v: &[f64]| {
        (
            v.iter().copied().fold(f64::MAX, f64::min),
            v.iter().copied().fold(f64::MIN, f64::max),
        )
    };
    let (lo, hi) = extremes(&maes);
    assert!(close(float(&fairness["mae_difference"]), hi - lo));
    assert!(close(float(&fairness["mae_ratio"]), lo / hi));
    let (lo, hi) = extremes(&means);
    assert!(close(
        float(&fairness["mean_prediction_difference"]),
        hi - lo
    ));
    assert!(close(float(&fairness["mean_prediction_ratio"]), lo / hi));
    // Gates read the regression aggregates; the text report shows the group table.
    let text = env.run(&[&args[..], &["--gate", "fairness.mae_ratio >= 0.5"]].concat());
    assert!(text.contains("group  rows  mae"), "{text}");
    assert!(text.contains("PASS  fairness.mae_ratio >= 0.5"), "{text}");
}

#[test]
fn multiclass_fairness_reports_one_vs_rest_rates_per_class() {
    let env = TestEnv::bare();
    write_tasks(&env);
    let args = [
        "eval",
        "tasks.csv",
        "--label",
        "label",
        "--prediction",
        "pred",
        "--sensitive",
        "sex",
        "--bootstrap",
        "0",
    ];
    let report = env.json(&args);
    let fairness = &report["fairness"];
    let classes = fairness["classes"].as_array().expect("classes");
    assert_eq!(classes.len(), 3);
    let data = rows(&env);
    let mut worst_dp: f64 = 0.0;
    for class in classes {
        let k = class["class"].as_str().expect("a class");
        let mut selection = Vec::new();
        for group in class["groups"].as_array().expect("groups") {
            let sex = group["values"][0].as_str().expect("a value");
            let rows: Vec<_> = data.iter().filter(|r| r["sex"] == sex).collect();
            let count = |f: &dyn Fn(&&BTreeMap<&str, String>) -> bool| {
                #[expect(clippy::cast_precision_loss, reason = "small counts")]
                let n = rows.iter().filter(|r| f(r)).count() as f64;
                n
            };
            let n = count(&|_| true);
            let predicted = count(&|r| r["pred"] == k);
            let positives = count(&|r| r["label"] == k);
            let tp = count(&|r| r["pred"] == k && r["label"] == k);
            assert!(
                close(float(&group["selection_rate"]), predicted / n),
                "{group}"
            );
            assert!(close(float(&group["tpr"]), tp / positives), "{group}");
            assert!(
                close(float(&group["fpr"]), (predicted - tp) / (n - positives)),
                "{group}"
            );
            assert!(close(float(&group["precision"]), tp / predicted), "{group}");
            selection.push(predicted / n);
        }
        let dp = (selection[0] - selection[1]).abs();
        assert!(
            close(float(&class["demographic_parity_difference"]), dp),
            "{class}"
        );
        worst_dp = worst_dp.max(dp);
    }
    // The top level holds the worst class's aggregates and each group's accuracy.
    assert!(close(
        float(&fairness["demographic_parity_difference"]),
        worst_dp
    ));
    assert!(fairness["groups"][0]["accuracy"].is_f64());
    let text = env.run(&args);
    assert!(text.contains("class `a` against the rest"), "{text}");
    let html = env.run(&[&args[..], &["--format", "html"]].concat());
    assert!(html.contains("class `a` against the rest"), "{html}");
}

#[test]
fn the_library_checks_the_options_and_records_the_tested_metric() {
    let env = TestEnv::bare();
    write_tasks(&env);
    env.write(
        "bin.csv",
        "label,score,region\n1,0.9,a\n0,0.2,b\n1,0.4,a\n0,0.6,b\n",
    );
    let (_, err) = env.fails(
        2,
        &["eval", "bin.csv", "--score", "score", "--threshold=-0.1"],
    );
    assert!(
        err.contains("--threshold must be a finite number, not negative, got -0.1"),
        "{err}"
    );
    env.write("eval.yaml", "score: score\nthreshold: .nan\n");
    let (_, err) = env.fails(2, &["eval", "bin.csv", "--config", "eval.yaml"]);
    assert!(err.contains("--threshold must be"), "{err}");
    let (_, err) = env.fails(
        2,
        &[
            "eval",
            "bin.csv",
            "--score",
            "score",
            "--slice",
            "region",
            "--slice-metric",
            "mae",
        ],
    );
    assert!(
        err.contains("--slice-metric mae does not fit a binary task"),
        "{err}"
    );
    let (_, err) = env.fails(
        2,
        &[
            &REGRESSION[..],
            &["--slice", "region", "--slice-metric", "recall"],
        ]
        .concat(),
    );
    assert!(
        err.contains("--slice-metric recall does not fit a regression task"),
        "{err}"
    );
    let (_, err) = env.fails(
        2,
        &[&REGRESSION[..], &["--slice", "region,sex,y,yhat,label"]].concat(),
    );
    assert!(
        err.contains("--slice `region,sex,y,yhat,label` crosses more than 4 columns"),
        "{err}"
    );
    let (_, err) = env.fails(
        2,
        &[
            &REGRESSION[..],
            &["--sensitive", "sex", "--privileged", "sex=f"],
        ]
        .concat(),
    );
    assert!(err.contains("--privileged needs a binary task"), "{err}");
    // The tested metric is in the report, from the flag or from eval.yaml.
    let report = env.json(&[
        "eval",
        "bin.csv",
        "--score",
        "score",
        "--slice",
        "region",
        "--slice-metric",
        "recall",
    ]);
    assert_eq!(report["slice_test"]["metric"], "recall");
    assert_eq!(report["slice_test"]["test"], "two_proportion_z");
    env.write(
        "eval.yaml",
        "score: score\nslices: [region]\nslice_metric: selection-rate\n",
    );
    let report = env.json(&["eval", "bin.csv", "--config", "eval.yaml"]);
    assert_eq!(report["slice_test"]["metric"], "selection_rate");
    assert!(env.json(&["eval", "bin.csv", "--score", "score"])["slice_test"].is_null());
}
