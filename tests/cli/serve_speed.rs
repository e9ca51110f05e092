//! `mlops serve --batch-wait`: concurrent requests scored together answer exactly what each
//! scored alone answers, and a bad row fails its own request only.

use std::sync::Barrier;

use serde_json::{Value, json};

use crate::serve::{QUERY, Server, assert_close, floats, output, predicted, trained_env};

const INFER: &str = "/v2/models/numeric/infer";

/// Threads sending at once, and requests each.
const THREADS: usize = 6;
const REQUESTS: usize = 8;

/// Request `k` of a thread: rows of the query, in one of the forms a client sends (one flat
/// tensor of all inputs, FP32 or FP64, or one tensor per input), so that a batch mixes
/// schemas; its rows' indices in `QUERY` come with it.
fn request(k: usize) -> (Value, Vec<usize>) {
    let first = k % QUERY.len();
    let rows: Vec<usize> = if k % 5 == 4 {
        vec![first, (first + 1) % QUERY.len()]
    } else {
        vec![first]
    };
    let n = rows.len();
    let a: Vec<f64> = rows.iter().map(|&r| QUERY[r].0).collect();
    let b: Vec<f64> = rows.iter().map(|&r| QUERY[r].1).collect();
    let flat: Vec<f64> = rows
        .iter()
        .flat_map(|&r| [QUERY[r].0, QUERY[r].1])
        .collect();
    let body = match k % 3 {
        0 => {
            json!({ "inputs": [{ "name": "x", "shape": [n, 2], "datatype": "FP32", "data": flat }] })
        }
        1 => {
            json!({ "inputs": [{ "name": "x", "shape": [n, 2], "datatype": "FP64", "data": flat }] })
        }
        _ => json!({ "inputs": [
            { "name": "a", "shape": [n], "datatype": "FP64", "data": a },
            { "name": "b", "shape": [n], "datatype": "FP64", "data": b },
        ] }),
    };
    (body, rows)
}

/// The value of the sample `name{model="numeric",...}` in an exposition.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(&format!("{name}{{")) && l.contains("model=\"numeric\""))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no sample {name} in:\n{text}"))
}

#[test]
fn serve_batches_concurrent_requests_and_answers_each_as_alone() {
    let env = trained_env();
    let want = predicted(&env, "models/numeric");
    let server = Server::start(&env, &["models/numeric", "--batch-wait", "2000"]);
    let start = Barrier::new(THREADS);
    let rows_sent: usize = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (server, start, want) = (&server, &start, &want);
                scope.spawn(move || {
                    start.wait();
                    let mut rows_sent = 0;
                    for i in 0..REQUESTS {
                        if t == 0 && i == REQUESTS / 2 {
                            // Row 1 misses `a`: this request alone gets a 400 naming its row.
                            let body = json!({ "inputs": [
                                { "name": "a", "shape": [2], "datatype": "FP64", "data": [0.5, null] },
                                { "name": "b", "shape": [2], "datatype": "FP64", "data": [50.0, 40.0] },
                            ] });
                            let (status, answer) = server.send("POST", INFER, &body.to_string());
                            assert_eq!(status, 400, "{answer}");
                            assert_eq!(answer["field"], "a", "{answer}");
                            let error = answer["error"].as_str().expect("an error");
                            assert!(error.starts_with("row 1:"), "{answer}");
                            rows_sent += 2;
                            continue;
                        }
                        let (body, rows) = request(t * REQUESTS + i);
                        let answer = server.post(INFER, &body);
                        let expected: Vec<f64> = rows.iter().map(|&r| want[r]).collect();
                        assert_close(&floats(&output(&answer, "score")["data"]), &expected, &body.to_string());
                        rows_sent += rows.len();
                    }
                    rows_sent
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("a sending thread"))
            .sum()
    });

    // Every row sent went through a batch, whatever the batches were.
    let (status, _) = server.send("GET", "/v2/health/ready", "");
    assert_eq!(status, 200);
    let (_, text) = server.send_text("GET", "/metrics", "");
    let batched = metric(&text, "mlops_serve_batch_rows_sum");
    #[allow(clippy::cast_precision_loss, reason = "a few rows")]
    let sent = rows_sent as f64;
    assert!(
        (batched - sent).abs() < 0.5,
        "{batched} rows batched, {rows_sent} sent"
    );
    assert!(metric(&text, "mlops_serve_batch_rows_count") >= 1.0);
    assert!(server.terminate(), "exits with status 0 on SIGTERM");
}
