//! `mlops monitor` on generated Parquet: planted concept drift and a planted covariate shift are
//! found on their windows and nowhere else, a shifted column by every drift test, the report's
//! outputs, the log `mlops serve` writes with the labels sent to it, and bad input. Alerts'
//! delivery and the state file are `monitor_alerts.rs`'s, on this file's data.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use serde_json::{Value, json};

use crate::rng::Rng;
use crate::support::TestEnv;

/// Microseconds in a day.
const DAY: i64 = 86_400_000_000;

/// 2024-01-01, the reference's first day, as days since 1970-01-01.
const REFERENCE_DAY: i64 = 19_723;

/// 2024-03-11, the predictions' first day.
pub(crate) const FIRST_DAY: i64 = 19_793;

/// The numeric features; `x1` follows `x0` closely, the others are independent.
const NUMBERS: [&str; 4] = ["x0", "x1", "x2", "x3"];

/// Every feature: the numbers and the category `c`.
const FEATURES: [&str; 5] = ["x0", "x1", "x2", "x3", "c"];

/// What changes from day `from` on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Plant {
    Nothing,
    /// The labels of the rows where `c == "b"` are flipped: the inputs and the scores stay as
    /// they were, the model is wrong on a third of the rows.
    Concept {
        from: usize,
    },
    /// `x1 = -x0 + noise` instead of `x0 + noise`: the same marginal, the pair's correlation
    /// reversed.
    Covariate {
        from: usize,
    },
    /// `x3` shifted by one standard deviation: one column's distribution moves.
    Shift {
        from: usize,
    },
}

/// Generated data: `rows` rows a day for `days` days from `first_day`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Data {
    pub(crate) seed: u64,
    pub(crate) first_day: i64,
    pub(crate) days: usize,
    pub(crate) rows: usize,
    pub(crate) labels: bool,
    pub(crate) plant: Plant,
}

impl Data {
    pub(crate) fn reference() -> Self {
        Data {
            seed: 1,
            first_day: REFERENCE_DAY,
            days: 10,
            rows: 400,
            labels: true,
            plant: Plant::Nothing,
        }
    }

    pub(crate) fn predictions(plant: Plant, labels: bool) -> Self {
        Data {
            seed: 5,
            first_day: FIRST_DAY,
            days: 10,
            rows: 400,
            labels,
            plant,
        }
    }
}

/// Rows as columns: `timestamp`, the features, the model's score `s` and prediction `p` (score
/// at or above 0.5) and the label `y` drawn from the score.
pub(crate) struct Rows {
    micros: Vec<i64>,
    numbers: [Vec<f64>; 4],
    category: Vec<&'static str>,
    score: Vec<f64>,
    prediction: Vec<i64>,
    label: Vec<i64>,
}

pub(crate) fn generate(days: &Data) -> Rows {
    let mut rng = Rng(days.seed);
    let mut rows = Rows {
        micros: Vec::new(),
        numbers: Default::default(),
        category: Vec::new(),
        score: Vec::new(),
        prediction: Vec::new(),
        label: Vec::new(),
    };
    let step = DAY / i64::try_from(days.rows).expect("small");
    for day in 0..days.days {
        let start = (days.first_day + i64::try_from(day).expect("small")) * DAY;
        for i in 0..days.rows {
            rows.micros
                .push(start + i64::try_from(i).expect("small") * step);
            let x0 = rng.normal();
            let noise = 0.2 * rng.normal();
            let x1 = match days.plant {
                Plant::Covariate { from } if day >= from => -x0 + noise,
                _ => x0 + noise,
            };
            let (x2, mut x3) = (rng.normal(), rng.normal());
            if matches!(days.plant, Plant::Shift { from } if day >= from) {
                x3 += 1.0;
            }
            let c = rng.pick(&["a", "b", "c"]);
            let logit =
                1.5 * x0 + x2 - 0.5 * x3 + if c == "b" { 0.8 } else { -0.4 } + 0.01 * rng.normal();
            let score = 1.0 / (1.0 + (-logit).exp());
            let mut label = i64::from(rng.uniform() < score);
            if matches!(days.plant, Plant::Concept { from } if day >= from) && c == "b" {
                label = 1 - label;
            }
            for (column, x) in rows.numbers.iter_mut().zip([x0, x1, x2, x3]) {
                column.push(x);
            }
            rows.category.push(c);
            rows.score.push(score);
            rows.prediction.push(i64::from(score >= 0.5));
            rows.label.push(label);
        }
    }
    rows
}

/// Writes `columns` to the Parquet file `rel` of `env`.
pub(crate) fn write_parquet(env: &TestEnv, rel: &str, columns: Vec<(&str, ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(columns).expect("a batch");
    let path = env.path(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let file = std::fs::File::create(path).expect("create");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

/// The rows `range` of `rows` as Parquet columns; the label only when `labels`.
pub(crate) fn columns(
    rows: &Rows,
    range: std::ops::Range<usize>,
    labels: bool,
) -> Vec<(&'static str, ArrayRef)> {
    let floats = |v: &[f64]| Arc::new(Float64Array::from(v[range.clone()].to_vec())) as ArrayRef;
    let mut columns: Vec<(&str, ArrayRef)> = vec![(
        "timestamp",
        Arc::new(
            TimestampMicrosecondArray::from(rows.micros[range.clone()].to_vec())
                .with_timezone("UTC"),
        ),
    )];
    for (name, values) in NUMBERS.into_iter().zip(&rows.numbers) {
        columns.push((name, floats(values)));
    }
    columns.push((
        "c",
        Arc::new(StringArray::from(rows.category[range.clone()].to_vec())),
    ));
    columns.push(("s", floats(&rows.score)));
    columns.push((
        "p",
        Arc::new(Int64Array::from(rows.prediction[range.clone()].to_vec())),
    ));
    if labels {
        columns.push(("y", Arc::new(Int64Array::from(rows.label[range].to_vec()))));
    }
    columns
}

/// Generates `days` into the one Parquet file `rel`.
pub(crate) fn write_days(env: &TestEnv, rel: &str, days: &Data) {
    let rows = generate(days);
    write_parquet(env, rel, columns(&rows, 0..rows.score.len(), days.labels));
}

/// `YYYY-MM-DD` of a day since 1970-01-01.
pub(crate) fn date(days: i64) -> String {
    let (y, m, d) = mlops_data::table::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The window keys of the predictions' days `range` (`2024-03-11` ...).
pub(crate) fn day_keys(range: std::ops::Range<i64>) -> Vec<String> {
    range.map(|d| date(FIRST_DAY + d)).collect()
}

/// The flags naming the generated columns.
pub(crate) const COLUMNS: [&str; 6] = ["--score", "s", "--prediction", "p", "--label", "y"];

/// `monitor --reference reference.parquet --predictions predictions.parquet`, the generated
/// columns and `more` flags.
pub(crate) fn monitor_args<'a>(more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "monitor",
        "--reference",
        "reference.parquet",
        "--predictions",
        "predictions.parquet",
    ];
    args.extend(COLUMNS);
    args.extend(more);
    args
}

/// [`monitor_args`] with `--json` and environment `vars`: the exit status, the report and
/// stderr.
pub(crate) fn monitor(
    env: &TestEnv,
    more: &[&str],
    vars: &[(&str, &str)],
) -> (Option<i32>, Value, String) {
    let args = monitor_args(&[&["--json"], more].concat());
    run_json(env, &args, vars)
}

/// Runs `mlops ARGS` with `vars`; the exit status, stdout as JSON and stderr.
pub(crate) fn run_json(
    env: &TestEnv,
    args: &[&str],
    vars: &[(&str, &str)],
) -> (Option<i32>, Value, String) {
    let output = env
        .cmd(args)
        .envs(vars.iter().copied())
        .output()
        .expect("run mlops");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("mlops {args:?}: {e}\nstdout: {stdout}\nstderr: {stderr}"));
    (output.status.code(), report, stderr)
}

/// The series `name` of a report.
fn series<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no series `{name}` in {}", names(report).join(", ")))
}

/// The names of a report's series.
fn names(report: &Value) -> Vec<String> {
    report["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .map(|s| s["name"].as_str().expect("name").to_owned())
        .collect()
}

/// A series' value on each window.
pub(crate) fn values(report: &Value, name: &str) -> Vec<Option<f64>> {
    series(report, name)["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["value"].as_f64())
        .collect()
}

/// The windows where a series lies outside its band.
fn alerted(report: &Value, name: &str) -> Vec<String> {
    let keys = keys(report);
    series(report, name)["points"]
        .as_array()
        .expect("points")
        .iter()
        .zip(keys)
        .filter(|(p, _)| p["alert"] == true)
        .map(|(_, k)| k)
        .collect()
}

/// The windows' keys.
pub(crate) fn keys(report: &Value) -> Vec<String> {
    report["windows"]
        .as_array()
        .expect("windows")
        .iter()
        .map(|w| w["key"].as_str().expect("key").to_owned())
        .collect()
}

/// The windows the alert rule `name` fired on.
pub(crate) fn fired(report: &Value, name: &str) -> Vec<String> {
    let alert = report["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no alert `{name}`: {}", report["alerts"]));
    alert["fired"]
        .as_array()
        .expect("fired")
        .iter()
        .map(|k| k.as_str().expect("key").to_owned())
        .collect()
}

fn mean(values: &[Option<f64>]) -> f64 {
    let present: Vec<f64> = values.iter().map(|v| v.expect("a value")).collect();
    #[expect(clippy::cast_precision_loss, reason = "a few windows")]
    let n = present.len() as f64;
    present.iter().sum::<f64>() / n
}

/// The rule of the concept-drift tests: realised accuracy 0.1 below the reference's, for
/// `windows` windows in a row, delivered to `sinks`.
pub(crate) fn accuracy_rule(windows: usize, sinks: &str) -> String {
    format!(
        "alerts:\n  - name: accuracy-drop\n    when: realised.accuracy < realised.accuracy.reference - 0.1\n    for: {windows}\n    sinks: [{sinks}]\n"
    )
}

#[test]
fn planted_concept_drift_drops_realised_accuracy_and_fires_on_its_windows_only() {
    let env = TestEnv::bare();
    write_concept_drift(&env);
    let (code, report, stderr) = monitor(&env, &[], &[]);
    assert_eq!(code, Some(1), "an alert fires: {stderr}");
    assert!(
        stderr.contains("alert `accuracy-drop` fired on"),
        "{stderr}"
    );
    assert_eq!(keys(&report), day_keys(0..10));
    assert_eq!(report["passed"], false);

    let accuracy = values(&report, "realised.accuracy");
    let (before, after) = (mean(&accuracy[..5]), mean(&accuracy[5..]));
    assert!(after < before - 0.15, "{accuracy:?}");
    let lowest_before = accuracy[..5]
        .iter()
        .map(|v| v.expect("a value"))
        .fold(f64::INFINITY, f64::min);
    assert!(
        accuracy[5..]
            .iter()
            .all(|v| v.expect("a value") < lowest_before - 0.05),
        "{accuracy:?}"
    );
    let f1 = values(&report, "realised.f1");
    assert!(mean(&f1[5..]) < mean(&f1[..5]) - 0.1, "{f1:?}");
    assert_eq!(fired(&report, "accuracy-drop"), day_keys(5..10));
    // The inputs did not move: no univariate drift on any feature, and the scores the model
    // gives are as they were, so the performance estimated without labels stays in its band.
    for feature in FEATURES {
        let name = format!("drift.{feature}");
        assert_eq!(alerted(&report, &name), Vec::<String>::new(), "{name}");
    }
    for name in ["drift.score", "estimated.accuracy", "estimated.roc_auc"] {
        assert_eq!(alerted(&report, name), Vec::<String>::new(), "{name}");
    }
    // Every window is labelled.
    assert!(
        values(&report, "labelled.share")
            .iter()
            .all(|v| *v == Some(1.0))
    );

    let (code, again, _) = monitor(&env, &["--no-fail"], &[]);
    assert_eq!(code, Some(0));
    assert_eq!(again["metrics"], report["metrics"], "the same numbers");
}

#[test]
fn planted_covariate_shift_in_a_correlated_pair_is_multivariate_drift_only() {
    let env = TestEnv::bare();
    write_days(&env, "reference.parquet", &Data::reference());
    write_days(
        &env,
        "predictions.parquet",
        &Data::predictions(Plant::Covariate { from: 5 }, false),
    );
    env.write(
        "monitor.yaml",
        "alerts:\n  - name: multivariate\n    when: multivariate.error.alert == true\n",
    );
    let (code, report, stderr) = monitor(&env, &[], &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(keys(&report), day_keys(0..10));
    assert_eq!(alerted(&report, "multivariate.error"), day_keys(5..10));
    assert_eq!(fired(&report, "multivariate"), day_keys(5..10));
    let error = values(&report, "multivariate.error");
    assert!(mean(&error[5..]) > 1.5 * mean(&error[..5]), "{error:?}");
    // Each column alone looks as it did.
    for feature in FEATURES {
        let name = format!("drift.{feature}");
        assert_eq!(alerted(&report, &name), Vec::<String>::new(), "{name}");
    }
    // Without labels: no realised series, the estimated ones all there.
    let names = names(&report);
    assert!(
        !names.iter().any(|n| n.starts_with("realised.")),
        "{names:?}"
    );
    assert!(names.contains(&"estimated.roc_auc".to_owned()), "{names:?}");
    assert!(
        report["windows"]
            .as_array()
            .expect("windows")
            .iter()
            .all(|w| w["labelled"].is_null())
    );
}

#[test]
fn a_shifted_column_alerts_with_nannyml_and_with_the_tests_of_mlops_drift() {
    let env = TestEnv::bare();
    write_days(&env, "reference.parquet", &Data::reference());
    write_days(
        &env,
        "predictions.parquet",
        &Data::predictions(Plant::Shift { from: 5 }, false),
    );
    // (flags, the band side the threshold sets, the threshold)
    let cases: [(&[&str], &str, Option<f64>); 4] = [
        (&[], "upper", None),
        (&["--drift-test", "ks"], "lower", Some(0.05)),
        (&["--drift-test", "psi"], "upper", Some(0.1)),
        (
            &["--drift-test", "wasserstein", "--drift-threshold", "0.3"],
            "upper",
            Some(0.3),
        ),
    ];
    for (flags, side, threshold) in cases {
        let (code, report, stderr) = monitor(&env, flags, &[]);
        assert_eq!(code, Some(0), "{flags:?}: no rule, exit 0: {stderr}");
        assert_eq!(alerted(&report, "drift.x3"), day_keys(5..10), "{flags:?}");
        let series = report["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .find(|s| s["name"] == "drift.x3")
            .expect("drift.x3");
        assert!(series[side].is_number(), "{flags:?}: {series}");
        if let Some(t) = threshold {
            assert_eq!(series[side].as_f64(), Some(t), "{flags:?}");
        }
        // A test that needs numbers leaves the categorical column to Jensen-Shannon.
        assert!(names(&report).contains(&"drift.c".to_owned()), "{flags:?}");
    }
}

/// The reference, and labelled predictions whose labels flip for a segment from window 6.
pub(crate) fn write_concept_drift_data(env: &TestEnv) {
    write_days(env, "reference.parquet", &Data::reference());
    write_days(
        env,
        "predictions.parquet",
        &Data::predictions(Plant::Concept { from: 5 }, true),
    );
}

/// [`write_concept_drift_data`] with a rule that fires on its windows.
fn write_concept_drift(env: &TestEnv) {
    write_concept_drift_data(env);
    env.write("monitor.yaml", accuracy_rule(1, ""));
}

#[test]
fn html_prometheus_and_markdown_from_one_run() {
    let env = TestEnv::bare();
    write_concept_drift(&env);
    let args = monitor_args(&[
        "--no-fail",
        "-o",
        "report.html",
        "-o",
        "metrics.prom",
        "-o",
        "report.md",
        "-o",
        "report.json",
    ]);
    assert_eq!(env.run(&args), "", "every rendering went to a file");
    let read = |name: &str| String::from_utf8(env.read(name)).expect("utf-8");
    let report: Value = serde_json::from_str(&read("report.json")).expect("JSON");
    let last = date(FIRST_DAY + 9);

    let html = read("report.html");
    assert!(html.len() < 1 << 20, "{} bytes", html.len());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg"));
    assert!(!html.contains("<script"));
    assert_eq!(
        html.matches("<figcaption>").count(),
        names(&report).len(),
        "one chart per metric"
    );
    assert!(html.contains("<figcaption>estimated.roc_auc</figcaption>"));

    let prom = read("metrics.prom");
    assert!(
        prom.contains(&format!(
            "mlops_monitor_metric{{metric=\"estimated.roc_auc\",window=\"{last}\"}} "
        )),
        "{prom}"
    );
    assert!(
        prom.contains("mlops_monitor_alert_firing{alert=\"accuracy-drop\"} 1"),
        "{prom}"
    );
    assert!(prom.contains("# TYPE mlops_monitor_metric gauge"), "{prom}");

    let markdown = read("report.md");
    assert!(markdown.starts_with("## Monitor"), "{markdown}");
    assert!(
        markdown.contains("| window | rows | metric |"),
        "{markdown}"
    );
    assert!(
        markdown.contains(&format!("| {last} | 400 | realised.accuracy |")),
        "{markdown}"
    );
    assert!(
        markdown.contains("alert accuracy-drop: FIRED on"),
        "{markdown}"
    );
}

/// A CSV log with ISO 8601 text timestamps in several zones, cut into hours (UTC).
#[test]
fn a_csv_log_with_iso_timestamps_is_cut_into_utc_hours() {
    let env = TestEnv::bare();
    let mut rng = Rng(3);
    let mut csv = |header: &str, rows: usize, day: &str, labelled: bool| {
        let mut text = format!("{header}\n");
        for i in 0..rows {
            // The same instants written in UTC and in UTC+02:00 alternately.
            let (hour, minute) = (i % 6, (i * 7) % 60);
            let stamp = if i % 2 == 0 {
                format!("{day}T{hour:02}:{minute:02}:00Z")
            } else {
                format!("{day}T{:02}:{minute:02}:00+02:00", hour + 2)
            };
            let x = rng.normal();
            let score = 1.0 / (1.0 + (-x).exp());
            let label = if labelled {
                format!(",{}", i32::from(rng.uniform() < score))
            } else {
                String::new()
            };
            let _ = writeln!(
                text,
                "{stamp},{x:.6},{score:.9},{}{label}",
                i32::from(score >= 0.5)
            );
        }
        text
    };
    let reference = csv("timestamp,x,s,p,y", 600, "2024-03-01", true);
    let predictions = csv("timestamp,x,s,p", 300, "2024-03-11", false);
    env.write("reference.csv", reference);
    env.write("predictions.csv", predictions);
    let (code, report, stderr) = run_json(
        &env,
        &[
            "monitor",
            "--json",
            "--reference",
            "reference.csv",
            "--predictions",
            "predictions.csv",
            "--window",
            "1h",
            "--score",
            "s",
            "--prediction",
            "p",
            "--label",
            "y",
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let hours: Vec<String> = (0..6).map(|h| format!("2024-03-11T{h:02}:00")).collect();
    assert_eq!(keys(&report), hours);
    let rows: Vec<u64> = report["windows"]
        .as_array()
        .expect("windows")
        .iter()
        .map(|w| w["rows"].as_u64().expect("rows"))
        .collect();
    assert_eq!(rows, [50; 6]);
    assert_eq!(report["reference"]["windows"], 6);
}

#[test]
fn text_output() {
    let env = TestEnv::bare();
    let reference = Data {
        days: 3,
        rows: 60,
        ..Data::reference()
    };
    write_days(&env, "reference.parquet", &reference);
    let predictions = Data {
        days: 2,
        rows: 60,
        ..Data::predictions(Plant::Nothing, false)
    };
    write_days(&env, "predictions.parquet", &predictions);
    let text = env.run(&monitor_args(&["--bootstrap", "0"]));
    crate::render::snapshot(&env, "monitor_text", &text);
}

/// A scored reference for the churn model of `serve`'s tests: the training rows scored by
/// `mlops predict`, `churned` renamed `label` (the labels log's name), a minute apart from
/// 2024-01-01.
fn scored_reference(env: &TestEnv) {
    env.run(&[
        "predict",
        "--model",
        "models/churn",
        "train.csv",
        "--keep",
        "a,b,plan,churned",
        "-o",
        "scored.parquet",
        "-q",
    ]);
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(env.path("scored.parquet")).expect("open"),
    )
    .expect("parquet")
    .build()
    .expect("reader");
    let batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
    let scored =
        arrow_select::concat::concat_batches(&batches[0].schema(), &batches).expect("one batch");
    let rows = i64::try_from(scored.num_rows()).expect("small");
    let minute = 60_000_000;
    let mut columns: Vec<(&str, ArrayRef)> = vec![(
        "timestamp",
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(
                (0..rows).map(|i| REFERENCE_DAY * DAY + i * minute),
            )
            .with_timezone("UTC"),
        ),
    )];
    for field in scored.schema().fields() {
        let name = match field.name().as_str() {
            "churned" => "label",
            "a" => "a",
            "b" => "b",
            "plan" => "plan",
            "score" => "score",
            "prediction" => "prediction",
            other => panic!("an unexpected column `{other}` from predict"),
        };
        columns.push((
            name,
            Arc::clone(scored.column_by_name(field.name()).expect("column")),
        ));
    }
    write_parquet(env, "reference.parquet", columns);
}

#[test]
fn monitors_the_log_of_mlops_serve_with_the_labels_sent_to_it() {
    let env = crate::serve::trained_env();
    env.run(&["init", "--no-git"]);
    scored_reference(&env);
    let server = crate::serve::Server::start(&env, &["models/churn"]);
    let mut rng = Rng(5);
    // 8 requests of 15 rows: 6 windows of 20 rows; the first 4 requests are labelled.
    let requests = 8;
    for r in 0..requests {
        let a: Vec<f64> = (0..15).map(|_| rng.normal()).collect();
        let b: Vec<f64> = (0..15).map(|_| 50.0 + 10.0 * rng.normal()).collect();
        let plan: Vec<&str> = (0..15)
            .map(|_| rng.pick(&["basic", "plus", "pro"]))
            .collect();
        let id = format!("m{r}");
        server.post(
            crate::serve::INFER,
            &json!({ "id": id, "inputs": [
                { "name": "a", "shape": [15], "datatype": "FP64", "data": a },
                { "name": "b", "shape": [15], "datatype": "FP64", "data": b },
                { "name": "plan", "shape": [15], "datatype": "BYTES", "data": plan },
            ]}),
        );
        if r < 4 {
            let labels: Vec<u8> = (0..15).map(|_| u8::from(rng.uniform() < 0.5)).collect();
            server.post("/v2/feedback", &json!({ "id": id, "labels": labels }));
        }
    }
    assert!(server.terminate(), "exits with status 0 on SIGTERM");

    let report = env.json(&[
        "monitor",
        "--reference",
        "reference.parquet",
        "--predictions",
        ".mlops/predictions/churn",
        "--labels",
        ".mlops/labels",
        "--window",
        "20",
        "--no-state",
        "--score",
        "score",
        "--prediction",
        "prediction",
        "--label",
        "label",
        "--id",
        "request_id,row",
    ]);
    assert_eq!(report["window"], "20 rows");
    assert_eq!(
        keys(&report),
        [
            "rows 0-19",
            "rows 20-39",
            "rows 40-59",
            "rows 60-79",
            "rows 80-99",
            "rows 100-119"
        ]
    );
    assert_eq!(report["reference"]["features"], json!(["a", "b", "plan"]));
    let labelled: Vec<Option<u64>> = report["windows"]
        .as_array()
        .expect("windows")
        .iter()
        .map(|w| w["labelled"].as_u64())
        .collect();
    assert_eq!(
        labelled,
        [Some(20), Some(20), Some(20), Some(0), Some(0), Some(0)]
    );
    let share = values(&report, "labelled.share");
    assert_eq!(share[..3], [Some(1.0); 3]);
    assert_eq!(share[3..], [Some(0.0); 3]);
    // Realised where labels arrived, estimated everywhere.
    let accuracy = values(&report, "realised.accuracy");
    assert!(accuracy[..3].iter().all(Option::is_some), "{accuracy:?}");
    assert!(accuracy[3..].iter().all(Option::is_none), "{accuracy:?}");
    for name in ["estimated.roc_auc", "estimated.accuracy", "estimated.f1"] {
        let estimated = values(&report, name);
        assert!(
            estimated.iter().all(Option::is_some),
            "{name}: {estimated:?}"
        );
    }
    for name in ["drift.a", "drift.b", "drift.plan", "multivariate.error"] {
        assert_eq!(values(&report, name).len(), 6, "{name}");
    }
}

/// Changes generated columns.
type Edit = fn(&mut Vec<(&'static str, ArrayRef)>);

/// A bad input: what is wrong, a change to the predictions, monitor.yaml, flags, and what the
/// error names.
type BadInput = (
    &'static str,
    Edit,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

/// The bad inputs: a missing or mistyped column, a bad value, rule, window or drift test.
fn bad_inputs() -> [BadInput; 9] {
    [
        (
            "no timestamp column",
            |columns| columns[0].0 = "time",
            "",
            &[],
            &["column `timestamp`", "predictions.parquet", "--timestamp"],
        ),
        (
            "a timestamp column of text",
            |columns| columns[0].1 = Arc::new(StringArray::from(vec!["yesterday"; 100])),
            "",
            &[],
            &["column `timestamp`", "`yesterday`", "no ISO 8601"],
        ),
        (
            "a score outside [0, 1]",
            |columns| {
                let scores = (0..100).map(|i| if i == 7 { 1.5 } else { 0.25 });
                columns[6] = ("s", Arc::new(Float64Array::from_iter_values(scores)));
            },
            "",
            &[],
            &["column `s`", "1.5", "[0, 1]"],
        ),
        (
            "an unknown metric in a rule",
            |_| {},
            "alerts:\n  - name: auc\n    when: estimated.roc_aux < 0.7\n",
            &[],
            &["rule `auc`", "estimated.roc_aux"],
        ),
        (
            "a bad window",
            |_| {},
            "",
            &["--window", "3x"],
            &["`3x` is not a window"],
        ),
        (
            "three classes",
            |columns| {
                let classes = (0..100).map(|i| i % 3);
                columns[7] = ("p", Arc::new(Int64Array::from_iter_values(classes)));
            },
            "",
            &[],
            &["column `p`", "3 classes", "binary"],
        ),
        (
            "an id column the predictions lack",
            |_| {},
            "",
            &["--labels", "predictions.parquet", "--id", "order"],
            &["column `order`", "predictions.parquet", "--id"],
        ),
        (
            "an unknown drift test",
            |_| {},
            "",
            &["--drift-test", "t-test"],
            &["`t-test`", "no drift test", "ks"],
        ),
        (
            "a threshold for NannyML's drift test",
            |_| {},
            "",
            &["--drift-threshold", "0.2"],
            &["drift threshold", "--drift-test", "band"],
        ),
    ]
}

#[test]
fn bad_input_is_a_one_line_error_naming_what_is_wrong() {
    let cases = bad_inputs();
    let reference = Data {
        days: 3,
        rows: 100,
        ..Data::reference()
    };
    let predictions = generate(&Data {
        days: 2,
        rows: 50,
        ..Data::predictions(Plant::Nothing, false)
    });
    for (what, edit, config, flags, expected) in cases {
        let env = TestEnv::bare();
        write_days(&env, "reference.parquet", &reference);
        let mut columns = columns(&predictions, 0..100, false);
        assert_eq!(columns[6].0, "s");
        edit(&mut columns);
        write_parquet(&env, "predictions.parquet", columns);
        if !config.is_empty() {
            env.write("monitor.yaml", config);
        }
        let args = monitor_args(&[&["--bootstrap", "0"], flags].concat());
        let (stdout, stderr) = env.fails(2, &args);
        assert_eq!(stdout, "", "{what}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        assert!(!stderr.contains("caused by"), "{what}: one line: {stderr}");
        let error = stderr.lines().next().unwrap_or_default();
        assert!(error.starts_with("error: "), "{what}: {stderr}");
        for text in expected {
            assert!(error.contains(text), "{what}: {text}: {stderr}");
        }
    }
}
