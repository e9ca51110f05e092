//! `mlops serve`'s `GET /metrics`: the exposition text parsed strictly, its counts against the
//! requests sent, and the Grafana dashboard in examples/serving/ querying only what it exposes.

use serde_json::{Value, json};

use crate::serve::{INFER, QUERY, Server, column_tensors, predicted, trained_env};

/// One sample of the exposition text: its metric name, labels and value.
type Sample = (String, Vec<(String, String)>, String);

/// Parses Prometheus' text exposition format strictly: `# HELP`, `# TYPE`, `# UNIT` and `# EOF`
/// comments, and `name{label="value",...} number` samples; anything else fails the test.
fn exposition(text: &str) -> Vec<Sample> {
    let is_name = |n: &str| {
        !n.is_empty()
            && !n.starts_with(|c: char| c.is_ascii_digit())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut samples = Vec::new();
    let mut typed = std::collections::HashSet::new();
    assert_eq!(text.lines().last(), Some("# EOF"), "{text}");
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            let (kind, name) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            match kind {
                "EOF" => continue,
                "HELP" | "UNIT" => {}
                "TYPE" => {
                    let kind = words.next().unwrap_or("");
                    let kinds = ["counter", "gauge", "histogram", "info", "unknown"];
                    assert!(kinds.contains(&kind), "{line}");
                    typed.insert(name.to_owned());
                }
                _ => panic!("unknown comment: {line}"),
            }
            assert!(is_name(name), "{line}");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let _: f64 = value.parse().unwrap_or_else(|e| panic!("{e}: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let rest = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                let labels = rest
                    .split("\",")
                    .filter(|l| !l.is_empty())
                    .map(|l| {
                        let (k, v) = l.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                        assert!(is_name(k), "{line}");
                        (k.to_owned(), v.trim_end_matches('"').to_owned())
                    })
                    .collect();
                (name, labels)
            }
            None => (series, Vec::new()),
        };
        assert!(is_name(name), "{line}");
        let family = ["_total", "_bucket", "_count", "_sum", "_info"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix).filter(|f| typed.contains(*f)));
        assert!(
            typed.contains(name) || family.is_some(),
            "a sample before its # TYPE: {line}"
        );
        samples.push((name.to_owned(), labels, value.to_owned()));
    }
    samples
}

/// The value of the one sample named `name` whose labels include `labels`.
fn sample<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> &'a str {
    let found: Vec<&str> = samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, _, v)| v.as_str())
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    found[0]
}

#[test]
fn serve_metrics_count_the_requests_sent() {
    let env = trained_env();
    let want = predicted(&env, "models/churn");
    let positives_per_request = want.iter().filter(|s| **s >= 0.5).count();
    let server = Server::start(&env, &["models/churn"]);
    let (v2_good, mlflow_good, v2_bad, mlflow_bad) = (3, 2, 4, 1);
    let mut version = String::new();
    for _ in 0..v2_good {
        let answer = server.post(INFER, &json!({ "inputs": column_tensors("FP64") }));
        version = answer["model_version"]
            .as_str()
            .expect("version")
            .to_owned();
    }
    let records: Vec<Value> = QUERY
        .iter()
        .map(|(a, b, plan)| json!({ "a": a, "b": b, "plan": plan }))
        .collect();
    for _ in 0..mlflow_good {
        server.post("/invocations", &json!({ "dataframe_records": records }));
    }
    for _ in 0..v2_bad {
        assert_eq!(server.send("POST", INFER, "{\"inputs\": [").0, 400);
    }
    for _ in 0..mlflow_bad {
        assert_eq!(server.send("POST", "/invocations", "[]").0, 400);
    }
    let unknown = json!({ "inputs": column_tensors("FP64") }).to_string();
    assert_eq!(
        server.send("POST", "/v2/models/nope/infer", &unknown).0,
        404
    );

    let (status, text) = server.send_text("GET", "/metrics", "");
    assert_eq!(status, 200, "{text}");
    let samples = exposition(&text);
    // Counts are integers in the text; a float there would be a bug of its own.
    let count = |name: &str, labels: &[(&str, &str)]| -> usize {
        let value = sample(&samples, name, labels);
        value
            .parse()
            .unwrap_or_else(|e| panic!("{name}: {e}: {value}"))
    };
    let float = |name: &str, labels: &[(&str, &str)]| -> f64 {
        sample(&samples, name, labels).parse().expect("a number")
    };
    let churn = [("model", "churn"), ("version", version.as_str())];
    let requests = "mlops_serve_requests_total";
    let by = |route: &'static str, status: &'static str| {
        [churn[0], churn[1], ("route", route), ("status", status)]
    };
    assert_eq!(count(requests, &by("v2_infer", "2xx")), (v2_good));
    assert_eq!(count(requests, &by("v2_infer", "4xx")), (v2_bad));
    assert_eq!(
        count(requests, &by("mlflow_invocations", "2xx")),
        (mlflow_good)
    );
    assert_eq!(
        count(requests, &by("mlflow_invocations", "4xx")),
        (mlflow_bad)
    );
    // The name a client sent is never a label: an unknown model counts under a fixed one.
    assert_eq!(
        count(requests, &[("model", "_unknown"), ("status", "4xx")]),
        1
    );
    assert!(!text.contains("nope"), "{text}");

    let scored = v2_good + mlflow_good;
    let rows = scored * QUERY.len();
    assert_eq!(count("mlops_serve_rows_total", &churn), rows);
    assert_eq!(
        count("mlops_serve_positive_predictions_total", &churn),
        scored * positives_per_request
    );
    assert_eq!(count("mlops_serve_scores_count", &churn), rows);
    let score_sum = f64::from(u32::try_from(scored).expect("small")) * want.iter().sum::<f64>();
    assert!((float("mlops_serve_scores_sum", &churn) - score_sum).abs() < 1e-4);
    assert_eq!(
        count("mlops_serve_compute_duration_seconds_count", &churn),
        scored
    );
    let latency = "mlops_serve_request_duration_seconds_count";
    let v2 = [churn[0], churn[1], ("route", "v2_infer")];
    assert_eq!(count(latency, &v2), (v2_good + v2_bad));
    let mlflow = [churn[0], churn[1], ("route", "mlflow_invocations")];
    assert_eq!(count(latency, &mlflow), (mlflow_good + mlflow_bad));
    // The +Inf bucket of a histogram holds every observation.
    let inf = [churn[0], churn[1], ("route", "v2_infer"), ("le", "+Inf")];
    assert_eq!(
        count("mlops_serve_request_duration_seconds_bucket", &inf),
        (v2_good + v2_bad)
    );

    assert_eq!(count("mlops_serve_requests_in_flight", &[]), 0);
    assert!(float("mlops_serve_model_load_seconds", &[]) > 0.0);
    let info = [("name", "churn"), ("version", version.as_str())];
    assert_eq!(count("mlops_serve_model_info", &info), 1);
    dashboard_queries_only(&samples);
    if cfg!(target_os = "linux") {
        assert!(count("process_resident_memory_bytes", &[]) > 1 << 20);
        assert!(float("process_cpu_seconds_total", &[]) >= 0.0);
    }
}

/// The Grafana dashboard in examples/serving/ queries only metrics the server exposes.
fn dashboard_queries_only(samples: &[Sample]) {
    let dashboard = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/serving/grafana-dashboard.json");
    let dashboard = std::fs::read_to_string(&dashboard).expect("the dashboard");
    serde_json::from_str::<Value>(&dashboard).expect("the dashboard is JSON");
    for prefix in ["mlops_serve_", "process_"] {
        for (at, _) in dashboard.match_indices(prefix) {
            let name: String = dashboard[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                samples.iter().any(|(n, _, _)| *n == name),
                "the dashboard queries {name}, which /metrics does not answer"
            );
        }
    }
}
