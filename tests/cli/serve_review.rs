//! Human review in `mlops serve`: rows whose score lies in serve.yaml's `review.band` are
//! flagged in every protocol's answer, queued under the log directory, handed out by `mlops
//! review export` until `mlops review import` labels them, and the labelled rows, joined to the
//! log, let `mlops eval --slice variant` compare a route's variants. The server helpers are
//! `serve`'s, the routes' `serve_route`'s.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::serve::{QUERY, Server};
use crate::serve_route::{ROUTED, body, routed_env};
use crate::support::TestEnv;

#[test]
fn uncertain_rows_are_flagged_queued_exported_and_labelled_and_eval_compares_the_variants() {
    let env = routed_env(
        "  strategy: ab\n  ab: {variants: {champion: 0.5, challenger: 0.5}, sticky: x-request-id}\n",
    );
    // A band holding the middle two of the query rows' four scores.
    let scores = crate::serve::predicted(&env, "models/churn");
    let mut sorted = scores.clone();
    sorted.sort_by(f64::total_cmp);
    let (low, high) = (sorted[1] - 1e-6, sorted[2] + 1e-6);
    let expected: Vec<bool> = scores.iter().map(|s| (low..=high).contains(s)).collect();
    assert_eq!(expected.iter().filter(|f| **f).count(), 2, "{scores:?}");
    let config = String::from_utf8(env.read("serve.yaml")).expect("utf-8");
    env.write(
        "serve.yaml",
        format!("{config}review: {{band: [{low}, {high}]}}\n"),
    );
    let server = Server::start(&env, &["--config", "serve.yaml", "--log-dir", "logs"]);
    let body = body();
    let requests: u32 = 20;
    for k in 0..requests {
        let id = format!("q{k}");
        let (status, _, answer) =
            server.send_headed("POST", ROUTED, &body, &[("x-request-id", &id)]);
        assert_eq!(status, 200, "{answer}");
        let flags = &crate::serve::output(&answer, "needs_review");
        assert_eq!(flags["datatype"], "BOOL");
        assert_eq!(flags["data"], json!(expected), "{answer}");
        assert_eq!(answer["parameters"]["needs_review"], true, "{answer}");
    }
    let records = json!({ "dataframe_records": QUERY.iter().map(|q| json!({"a": q.0, "b": q.1, "plan": q.2})).collect::<Vec<_>>() });
    let answer = server.post("/invocations", &records);
    let flags: Vec<bool> = answer["predictions"]
        .as_array()
        .expect("predictions")
        .iter()
        .map(|p| p["needs_review"].as_bool().expect("needs_review"))
        .collect();
    assert_eq!(flags, expected);
    let (_, metrics) = server.send_text("GET", "/metrics", "");
    let reviewed: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("mlops_serve_review_rows_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(
        (reviewed - f64::from(2 * (requests + 1))).abs() < 1e-9,
        "{metrics}"
    );
    assert!(server.terminate(), "exits with status 0 on SIGTERM");

    // Exported: exactly the flagged rows of every request.
    let cases = exported(&env);
    let flagged_rows: Vec<i64> = (0..4i64)
        .zip(&expected)
        .filter(|(_, f)| **f)
        .map(|(r, _)| r)
        .collect();
    let rest = cases.iter().filter(|(id, _)| !id.starts_with('q')).count();
    assert_eq!(rest, 2, "the MLflow request's two flagged rows: {cases:?}");
    for k in 0..requests {
        for row in &flagged_rows {
            assert!(
                cases.contains(&(format!("q{k}"), *row)),
                "q{k} row {row}: {cases:?}"
            );
        }
    }
    assert_eq!(cases.len() as u64, 2 * (u64::from(requests) + 1));
    // Labelled half of them; the next export hands out the others.
    let mut labels = String::from("request_id,row,label\n");
    for (id, row) in cases.iter().filter(|(id, _)| id.starts_with('q')).take(20) {
        let _ = writeln!(labels, "{id},{row},1");
    }
    env.write("labels.csv", labels);
    env.run(&["review", "import", "labels.csv", "--labels-dir", "labels"]);
    assert_eq!(exported(&env).len(), cases.len() - 20);
    // The labelled rows join the log, and eval compares the variants that answered them.
    let report = env.run(&[
        "eval", "logs", "--labels", "labels", "--score", "score", "--slice", "variant", "--json",
    ]);
    let report: Value = serde_json::from_str(&report).expect("json");
    let mut variants: Vec<(String, u64)> = report["slices"]
        .as_array()
        .expect("slices")
        .iter()
        .map(|s| {
            let value = s["values"][0].as_str().unwrap_or_default().to_owned();
            (value, s["rows"].as_u64().unwrap_or_default())
        })
        .collect();
    variants.sort();
    // Every labelled row was answered through the route: by one variant or the other.
    let names: Vec<&str> = variants.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(names, ["challenger", "champion"], "{report}");
    assert_eq!(
        variants.iter().map(|(_, rows)| rows).sum::<u64>(),
        20,
        "{report}"
    );
}

/// The cases `mlops review export` hands out from `logs`: (request id, row), sorted.
fn exported(env: &TestEnv) -> Vec<(String, i64)> {
    env.run(&[
        "review",
        "export",
        "--limit",
        "1000",
        "-o",
        "queue.csv",
        "--log-dir",
        "logs",
    ]);
    let text = String::from_utf8(env.read("queue.csv")).expect("utf-8");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (id, row) = (at("request_id"), at("row"));
    let mut cases: Vec<(String, i64)> = lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[id].to_owned(), cells[row].parse().expect("row"))
        })
        .collect();
    cases.sort();
    cases
}
