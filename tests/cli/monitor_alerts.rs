//! `mlops monitor`'s alerts delivered and its state kept: deliveries with retries to an HTTP
//! receiver on 127.0.0.1 (webhook, Alertmanager, PagerDuty) and to a command, secrets never read
//! from committed files, and the incremental state file. The data and helpers are
//! `monitor.rs`'s.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::monitor::{
    Data, FIRST_DAY, Plant, accuracy_rule, columns, date, day_keys, fired, generate, keys, monitor,
    monitor_args, run_json, values, write_concept_drift_data, write_days, write_parquet,
};
use crate::support::TestEnv;

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
        let (stdout, stderr) = env.fails(2, &monitor_args(&[]));
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
    let args = monitor_args(&["--json", "--no-state"]);
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

/// The state file under kills: a monitor killed before each of its write steps in turn
/// (`MLOPS_KILL_AFTER_WRITES`, see `mlops_core::faults`) leaves either no state or a whole
/// earlier one, and the next completed run removes the killed runs' temp files and reports what
/// an unkilled run reports.
#[test]
fn a_monitor_killed_at_every_write_leaves_a_whole_state() {
    let env = TestEnv::new();
    write_concept_drift_data(&env);
    let args = monitor_args(&["--json", "--no-fail"]);
    let untouched = {
        let other = TestEnv::new();
        write_concept_drift_data(&other);
        let (_, report, _) = run_json(&other, &args, &[]);
        report
    };
    let state = ".mlops/monitor/state.json";
    let mut killed = 0;
    for n in 1..=8 {
        let output = env
            .cmd(&args)
            .env("MLOPS_KILL_AFTER_WRITES", n.to_string())
            .output()
            .expect("run mlops");
        if output.status.code().is_some() {
            break;
        }
        killed += 1;
        if env.path(state).exists() {
            let text = String::from_utf8(env.read(state)).expect("utf-8");
            serde_json::from_str::<Value>(&text)
                .unwrap_or_else(|e| panic!("killed at write {n}: a torn state file: {e}"));
        }
    }
    assert!(killed > 0, "no write step was reached");
    let (code, report, stderr) = run_json(&env, &args, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(report["windows"], untouched["windows"]);
    assert_eq!(report["metrics"], untouched["metrics"]);
    assert_eq!(
        files_ending(&env.path(".mlops"), ".mlops-tmp"),
        Vec::<String>::new()
    );
}

/// A committed monitor.yaml is read, never written by: paths naming places outside the
/// workspace are only inputs, and a secret's URL written into it is refused before anything
/// is read or written.
#[test]
fn a_hostile_monitor_yaml_writes_nothing() {
    let env = TestEnv::new();
    write_concept_drift_data(&env);
    let before = crate::support::snapshot(&env.path("."));
    env.write(
        "monitor.yaml",
        "reference: ../../../etc/passwd\npredictions: /dev/null\nsinks:\n  x: {type: webhook, url: http://127.0.0.1:9/x}\n",
    );
    let (stdout, stderr) = env.fails(2, &["monitor"]);
    assert_eq!(stdout, "");
    assert!(stderr.contains("url_secret"), "{stderr}");
    let mut after = crate::support::snapshot(&env.path("."));
    after.remove("monitor.yaml");
    assert_eq!(after, before, "nothing written");
}
