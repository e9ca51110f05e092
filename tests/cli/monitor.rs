//! `mlops monitor` on generated Parquet: planted concept drift and a planted covariate shift are
//! found on their windows and nowhere else, firings reach a local receiver through retries (a
//! webhook, Alertmanager, PagerDuty, a command), secrets stay out of committed files, the state
//! file makes a rerun compute only new windows, the report's outputs, the log `mlops serve`
//! writes with the labels sent to it, and bad input.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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
const FIRST_DAY: i64 = 19_793;

/// The numeric features; `x1` follows `x0` closely, the others are independent.
const NUMBERS: [&str; 4] = ["x0", "x1", "x2", "x3"];

/// Every feature: the numbers and the category `c`.
const FEATURES: [&str; 5] = ["x0", "x1", "x2", "x3", "c"];

/// What changes from day `from` on.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Plant {
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
struct Data {
    seed: u64,
    first_day: i64,
    days: usize,
    rows: usize,
    labels: bool,
    plant: Plant,
}

impl Data {
    fn reference() -> Self {
        Data {
            seed: 1,
            first_day: REFERENCE_DAY,
            days: 10,
            rows: 400,
            labels: true,
            plant: Plant::Nothing,
        }
    }

    fn predictions(plant: Plant, labels: bool) -> Self {
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
struct Rows {
    micros: Vec<i64>,
    numbers: [Vec<f64>; 4],
    category: Vec<&'static str>,
    score: Vec<f64>,
    prediction: Vec<i64>,
    label: Vec<i64>,
}

fn generate(days: &Data) -> Rows {
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
fn write_parquet(env: &TestEnv, rel: &str, columns: Vec<(&str, ArrayRef)>) {
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
fn columns(
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
fn write_days(env: &TestEnv, rel: &str, days: &Data) {
    let rows = generate(days);
    write_parquet(env, rel, columns(&rows, 0..rows.score.len(), days.labels));
}

/// `YYYY-MM-DD` of a day since 1970-01-01.
fn date(days: i64) -> String {
    let (y, m, d) = mlops_data::table::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The window keys of the predictions' days `range` (`2024-03-11` ...).
fn day_keys(range: std::ops::Range<i64>) -> Vec<String> {
    range.map(|d| date(FIRST_DAY + d)).collect()
}

/// The flags naming the generated columns.
const COLUMNS: [&str; 6] = ["--score", "s", "--prediction", "p", "--label", "y"];

/// `mlops monitor --reference reference.parquet --predictions predictions.parquet` with the
/// generated columns, `more` flags and environment `vars`, as JSON; the exit status, the
/// report and stderr.
fn monitor(env: &TestEnv, more: &[&str], vars: &[(&str, &str)]) -> (Option<i32>, Value, String) {
    let mut args = vec![
        "monitor",
        "--json",
        "--reference",
        "reference.parquet",
        "--predictions",
        "predictions.parquet",
    ];
    args.extend(COLUMNS);
    args.extend(more);
    run_json(env, &args, vars)
}

/// Runs `mlops ARGS` with `vars`; the exit status, stdout as JSON and stderr.
fn run_json(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> (Option<i32>, Value, String) {
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
fn values(report: &Value, name: &str) -> Vec<Option<f64>> {
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
fn keys(report: &Value) -> Vec<String> {
    report["windows"]
        .as_array()
        .expect("windows")
        .iter()
        .map(|w| w["key"].as_str().expect("key").to_owned())
        .collect()
}

/// The windows the alert rule `name` fired on.
fn fired(report: &Value, name: &str) -> Vec<String> {
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
fn accuracy_rule(windows: usize, sinks: &str) -> String {
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

/// One request a [`Receiver`] got.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// The most connections a receiver accepts.
const MOST_CONNECTIONS: usize = 32;

/// An HTTP receiver on 127.0.0.1: it answers the statuses it was given in turn (then 200),
/// records each request, and stops when dropped (or after [`MOST_CONNECTIONS`]).
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    fn start(statuses: &[u16]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("address").port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let statuses = statuses.to_vec();
        let thread = {
            let (got, stop) = (Arc::clone(&got), Arc::clone(&stop));
            std::thread::spawn(move || {
                for n in 0..MOST_CONNECTIONS {
                    let Some(stream) = accept(&listener, &stop) else {
                        return;
                    };
                    let status = statuses.get(n).copied().unwrap_or(200);
                    answer(stream, status, |request| {
                        got.lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(request);
                    });
                }
            })
        };
        Receiver {
            port,
            got,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self) -> Vec<Received> {
        self.got
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The next connection, or `None` once `stop` is set (or after a minute without one).
fn accept(listener: &TcpListener, stop: &AtomicBool) -> Option<TcpStream> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        match listener.accept() {
            Ok((stream, _)) => return Some(stream),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => return None,
        }
    }
    None
}

/// Reads one request (its head, then the body by Content-Length), hands it to `record`, then
/// answers `status`: recorded first, so that a client that has its answer finds its request
/// counted.
fn answer(stream: TcpStream, status: u16, record: impl FnOnce(Received)) -> Option<()> {
    stream.set_nonblocking(false).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let reason = if status < 300 { "OK" } else { "Error" };
    let text = "{}";
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    record(Received {
        method,
        path,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let mut stream = reader.into_inner();
    stream.write_all(response.as_bytes()).ok()?;
    stream.flush().ok()
}

/// The reference, and labelled predictions whose labels flip for a segment from window 6.
fn write_concept_drift_data(env: &TestEnv) {
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

/// The concept-drift data of the first test, its rule firing on the last window only (five
/// windows in a row), delivered to the sink `hook` configured as `sink`.
fn one_firing(env: &TestEnv, sink: &str) {
    write_concept_drift_data(env);
    env.write(
        "monitor.yaml",
        format!("{}sinks:\n  hook: {sink}\n", accuracy_rule(5, "hook")),
    );
}

/// The report's deliveries of its first rule.
fn deliveries(report: &Value) -> Vec<Value> {
    report["alerts"][0]["deliveries"]
        .as_array()
        .expect("deliveries")
        .clone()
}

/// Checks a body a sink posted for the firing on a window.
type Check = fn(&Value, &str);

#[test]
fn firings_are_delivered_to_webhook_alertmanager_and_pagerduty_with_retries() {
    let window = date(FIRST_DAY + 9);
    // (sink, the receiver's answers, the path posted to, what the body holds)
    let cases: [(&str, &[u16], &str, Check); 3] = [
        (
            "{type: webhook, url_secret: MONITOR_TEST_HOOK, backoff_seconds: 0.05}",
            &[500, 500, 200],
            "/hook",
            |body, window| {
                let text = body["text"].as_str().expect("Slack's `text`");
                assert!(
                    text.contains("accuracy-drop") && text.contains(window),
                    "{text}"
                );
                assert_eq!(body.as_object().expect("an object").len(), 1, "{body}");
            },
        ),
        (
            "{type: alertmanager, url_secret: MONITOR_TEST_HOOK, backoff_seconds: 0.05}",
            &[503, 200],
            "/api/v2/alerts",
            |body, window| {
                let alerts = body.as_array().expect("an array of alerts");
                assert_eq!(alerts.len(), 1, "{body}");
                assert_eq!(alerts[0]["labels"]["alertname"], "accuracy-drop");
                assert_eq!(alerts[0]["labels"]["window"], window);
                assert!(alerts[0]["annotations"]["summary"].is_string(), "{body}");
            },
        ),
        (
            "{type: pagerduty, url_secret: MONITOR_TEST_HOOK, routing_key_secret: MONITOR_TEST_KEY, backoff_seconds: 0.05}",
            &[202],
            "/hook",
            |body, window| {
                assert_eq!(body["routing_key"], "test-routing-key");
                assert_eq!(body["event_action"], "trigger");
                assert_eq!(
                    body["dedup_key"],
                    format!("mlops-monitor/accuracy-drop/{window}")
                );
                assert_eq!(body["payload"]["custom_details"]["window"], window);
            },
        ),
    ];
    for (sink, statuses, path, check) in cases {
        let env = TestEnv::bare();
        one_firing(&env, sink);
        let receiver = Receiver::start(statuses);
        // Alertmanager's URL is the server's (the sink adds the API path); the others' is the
        // endpoint's.
        let url = receiver.url(path.strip_suffix("/api/v2/alerts").unwrap_or(path));
        let vars = [
            ("MONITOR_TEST_HOOK", url.as_str()),
            ("MONITOR_TEST_KEY", "test-routing-key"),
        ];
        let (code, report, stderr) = monitor(&env, &[], &vars);
        assert_eq!(code, Some(1), "{sink}: {stderr}");
        assert_eq!(
            fired(&report, "accuracy-drop"),
            std::slice::from_ref(&window),
            "{sink}"
        );
        let requests = receiver.requests();
        assert_eq!(requests.len(), statuses.len(), "{sink}: {requests:?}");
        for request in &requests {
            assert_eq!(
                (request.method.as_str(), request.path.as_str()),
                ("POST", path)
            );
            check(&request.json(), &window);
        }
        assert_eq!(
            deliveries(&report),
            [json!({
                "sink": "hook",
                "window": window,
                "attempts": statuses.len(),
                "delivered": true,
                "outcome": format!("HTTP {}", statuses[statuses.len() - 1]),
            })],
            "{sink}"
        );
    }
}

#[test]
fn a_receiver_that_keeps_failing_is_reported_not_delivered_and_a_4xx_is_not_retried() {
    for (statuses, attempts, outcome) in [
        (&[500_u16, 500, 500, 500][..], 4, "HTTP 500"),
        (&[404][..], 1, "HTTP 404"),
    ] {
        let env = TestEnv::bare();
        one_firing(
            &env,
            "{type: webhook, url_secret: MONITOR_TEST_HOOK, backoff_seconds: 0.01}",
        );
        let receiver = Receiver::start(statuses);
        let url = receiver.url("/hook");
        let (code, report, stderr) = monitor(&env, &[], &[("MONITOR_TEST_HOOK", &url)]);
        assert_eq!(code, Some(1), "{stderr}");
        let delivery = &deliveries(&report)[0];
        assert_eq!(delivery["attempts"], attempts, "{delivery}");
        assert_eq!(delivery["delivered"], false, "{delivery}");
        assert!(
            delivery["outcome"]
                .as_str()
                .expect("outcome")
                .starts_with(outcome),
            "{delivery}"
        );
        assert_eq!(receiver.requests().len(), attempts);
        assert!(stderr.contains("NOT delivered to `hook`"), "{stderr}");
    }
}

#[test]
fn a_command_sink_reads_the_firing_on_stdin() {
    let env = TestEnv::bare();
    one_firing(
        &env,
        "{type: command, command: [sh, -c, 'cat > fired.json; echo \"$MLOPS_ALERT $MLOPS_ALERT_WINDOW\" > alert.txt']}",
    );
    let window = date(FIRST_DAY + 9);
    let (code, report, stderr) = monitor(&env, &[], &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(deliveries(&report)[0]["delivered"], true, "{report}");
    assert_eq!(deliveries(&report)[0]["outcome"], "exit 0");
    let firing: Value = serde_json::from_slice(&env.read("fired.json")).expect("JSON");
    assert_eq!(firing["rule"], "accuracy-drop");
    assert_eq!(firing["window"], window);
    assert_eq!(
        firing["condition"],
        "realised.accuracy < realised.accuracy.reference - 0.1"
    );
    let accuracy = firing["values"]["realised.accuracy"]
        .as_f64()
        .expect("the value the rule read");
    assert_eq!(Some(accuracy), values(&report, "realised.accuracy")[9]);
    assert_eq!(
        String::from_utf8(env.read("alert.txt"))
            .expect("utf-8")
            .trim(),
        format!("accuracy-drop {window}")
    );
}

#[test]
fn secrets_never_come_from_committed_files() {
    // A URL written into monitor.yaml, and a secret named but not set: exit 2 before any
    // delivery, naming the way out.
    let cases = [
        (
            "{type: webhook, url: 'https://hooks.slack.com/services/T0/B0/XXXX'}",
            &["sink `hook`", "url_secret", "config.local.yaml"][..],
        ),
        (
            "{type: pagerduty, routing_key: abc123}",
            &["sink `hook`", "routing_key_secret"],
        ),
        (
            "{type: webhook, url_secret: MONITOR_TEST_UNSET}",
            &[
                "sink `hook`",
                "`MONITOR_TEST_UNSET` is not set",
                "config.local.yaml",
            ],
        ),
        ("{type: webhook}", &["sink `hook`", "needs `url_secret:`"]),
    ];
    for (sink, expected) in cases {
        let env = TestEnv::bare();
        one_firing(&env, sink);
        let (stdout, stderr) = env.fails(
            2,
            &[
                "monitor",
                "--reference",
                "reference.parquet",
                "--predictions",
                "predictions.parquet",
            ],
        );
        assert_eq!(stdout, "", "{sink}");
        for text in expected {
            assert!(stderr.contains(text), "{sink}: {text}: {stderr}");
        }
        assert!(!stderr.contains("hooks.slack.com"), "{stderr}");
    }

    // A workspace: `secrets:` in the committed config is refused; in config.local.yaml it is
    // used, with no environment variable.
    let env = TestEnv::new();
    one_firing(
        &env,
        "{type: webhook, url_secret: MONITOR_TEST_HOOK, backoff_seconds: 0.01}",
    );
    let receiver = Receiver::start(&[]);
    let secrets = format!("secrets:\n  MONITOR_TEST_HOOK: {}\n", receiver.url("/hook"));
    let committed = String::from_utf8(env.read(".mlops/config.yaml")).expect("utf-8");
    env.write(".mlops/config.yaml", format!("{committed}{secrets}"));
    let args = [
        &[
            "monitor",
            "--json",
            "--no-state",
            "--reference",
            "reference.parquet",
            "--predictions",
            "predictions.parquet",
        ][..],
        &COLUMNS,
    ]
    .concat();
    let (_, stderr) = env.fails(2, &args);
    for text in [".mlops/config.yaml", "`secrets`", "config.local.yaml"] {
        assert!(stderr.contains(text), "{text}: {stderr}");
    }
    assert!(!stderr.contains("127.0.0.1"), "{stderr}");
    assert_eq!(receiver.requests().len(), 0);
    env.write(".mlops/config.yaml", committed);
    let local = String::from_utf8(env.read(".mlops/config.local.yaml")).expect("utf-8");
    env.write(".mlops/config.local.yaml", format!("{local}{secrets}"));
    let (code, report, stderr) = run_json(&env, &args, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(deliveries(&report)[0]["delivered"], true, "{report}");
    assert_eq!(receiver.requests().len(), 1);
}

/// Every file under `dir` whose name ends with `suffix`.
fn files_ending(dir: &Path, suffix: &str) -> Vec<String> {
    crate::support::snapshot(dir)
        .into_keys()
        .filter(|f| f.ends_with(suffix))
        .collect()
}

#[test]
fn the_state_file_computes_only_new_windows_and_delivers_a_firing_once() {
    let env = TestEnv::new();
    write_days(&env, "reference.parquet", &Data::reference());
    // One file a day in hive partitions, five days at first and a sixth later; the labels of
    // day 3 flipped where `c == "b"`, so that the rule fires there only.
    let days = Data {
        days: 6,
        rows: 300,
        ..Data::predictions(Plant::Nothing, true)
    };
    let drifted = Data {
        plant: Plant::Concept { from: 2 },
        ..days
    };
    let rows = generate(&days);
    let flipped = generate(&drifted);
    for day in 0..5 {
        let source = if day == 2 { &flipped } else { &rows };
        let date = date(FIRST_DAY + i64::try_from(day).expect("small"));
        write_parquet(
            &env,
            &format!("preds/date={date}/part-0.parquet"),
            columns(source, day * days.rows..(day + 1) * days.rows, true),
        );
    }
    env.write(
        "monitor.yaml",
        format!(
            "reference: reference.parquet\npredictions: preds\ncolumns: {{score: s, prediction: p, label: y}}\n{}sinks:\n  hook: {{type: webhook, url_secret: MONITOR_TEST_HOOK}}\n",
            accuracy_rule(1, "hook")
        ),
    );
    let receiver = Receiver::start(&[]);
    let url = receiver.url("/hook");
    let vars = [("MONITOR_TEST_HOOK", url.as_str())];
    let run = || run_json(&env, &["monitor", "--json"], &vars);

    let (code, first, stderr) = run();
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(keys(&first), day_keys(0..5));
    assert_eq!(first["computed"], json!(day_keys(0..5)));
    assert_eq!(fired(&first, "accuracy-drop"), day_keys(2..3));
    assert_eq!(deliveries(&first).len(), 1);
    assert_eq!(receiver.requests().len(), 1);
    assert!(env.path(".mlops/monitor/state.json").is_file());

    // Nothing changed: nothing computed, the same report, the firing not delivered again.
    let (code, second, stderr) = run();
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(second["computed"], json!([]));
    for key in ["windows", "metrics", "reference", "passed"] {
        assert_eq!(second[key], first[key], "{key}");
    }
    assert_eq!(fired(&second, "accuracy-drop"), day_keys(2..3));
    assert_eq!(deliveries(&second), Vec::<Value>::new());
    assert_eq!(receiver.requests().len(), 1);

    // A new day: only its window is computed; the others are as they were.
    let date = date(FIRST_DAY + 5);
    write_parquet(
        &env,
        &format!("preds/date={date}/part-0.parquet"),
        columns(&rows, 5 * days.rows..6 * days.rows, true),
    );
    let (code, third, stderr) = run();
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(third["computed"], json!([date]));
    assert_eq!(keys(&third), day_keys(0..6));
    for (old, new) in first["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .zip(third["metrics"].as_array().expect("metrics"))
    {
        assert_eq!(old["name"], new["name"]);
        let old_points = old["points"].as_array().expect("points");
        assert_eq!(
            old_points[..],
            new["points"].as_array().expect("points")[..5],
            "{}",
            old["name"]
        );
    }
    assert_eq!(fired(&third, "accuracy-drop"), day_keys(2..3));
    assert_eq!(receiver.requests().len(), 1, "delivered once");

    // The state is machine-local: written whole (no temp file left), and ignored by git.
    assert_eq!(files_ending(env.root(), ".mlops-tmp"), Vec::<String>::new());
    let state: Value =
        serde_json::from_slice(&env.read(".mlops/monitor/state.json")).expect("JSON");
    assert_eq!(state["windows"].as_object().expect("windows").len(), 6);
    let untracked = env.git(&["status", "--porcelain", "--untracked-files=all"]);
    assert!(!untracked.contains(".mlops/monitor"), "{untracked}");
}

#[test]
fn html_prometheus_and_markdown_from_one_run() {
    let env = TestEnv::bare();
    write_concept_drift(&env);
    let mut args = vec![
        "monitor",
        "--reference",
        "reference.parquet",
        "--predictions",
        "predictions.parquet",
        "--no-fail",
        "-o",
        "report.html",
        "-o",
        "metrics.prom",
        "-o",
        "report.md",
        "-o",
        "report.json",
    ];
    args.extend(COLUMNS);
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
    let mut args = vec![
        "monitor",
        "--reference",
        "reference.parquet",
        "--predictions",
        "predictions.parquet",
        "--bootstrap",
        "0",
    ];
    args.extend(COLUMNS);
    let text = env.run(&args);
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

#[test]
fn bad_input_is_a_one_line_error_naming_what_is_wrong() {
    let cases: [BadInput; 7] = [
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
            &["column `timestamp`", "not dates or timestamps"],
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
    ];
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
        let mut args = vec![
            "monitor",
            "--reference",
            "reference.parquet",
            "--predictions",
            "predictions.parquet",
            "--bootstrap",
            "0",
        ];
        args.extend(COLUMNS);
        args.extend(flags);
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
