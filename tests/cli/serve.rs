//! `mlops serve`: the real binary on an ephemeral 127.0.0.1 port, spoken to over HTTP/1.1
//! written by hand on a `TcpStream`; its scores against `mlops predict`'s on the same rows.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::rng::Rng;
use crate::support::TestEnv;

/// A running `mlops serve`, killed when dropped so that no test leaves a process behind.
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
    /// Where its stderr goes, for [`Server::stderr`].
    stderr: std::path::PathBuf,
}

impl Server {
    /// Starts `mlops serve` with `args` in `env` and waits for its ready line.
    pub(crate) fn start(env: &TestEnv, args: &[&str]) -> Server {
        Server::start_with(env, args, &[]).0
    }

    /// [`Server::start`] with environment variables `vars`; also returns the ready line.
    pub(crate) fn start_with(
        env: &TestEnv,
        args: &[&str],
        vars: &[(&str, &str)],
    ) -> (Server, String) {
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stderr = env.outside(&format!("serve-{n}.stderr"));
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("mlops"))
            .env_clear()
            .env("HOME", env.outside("home"))
            .env("NO_COLOR", "1")
            .envs(vars.iter().copied())
            .current_dir(env.root())
            .arg("serve")
            .args(args)
            .args(["--port", "0", "--threads", "1"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("start mlops serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the ready line");
        let mut server = Server {
            child,
            port: 0,
            stderr,
        };
        let address = line
            .trim()
            .rsplit_once("at http://127.0.0.1:")
            .unwrap_or_else(|| panic!("ready line: {line:?}"))
            .1;
        assert!(line.starts_with("serving "), "{line}");
        server.port = address.parse().expect("port");
        (server, line)
    }

    /// What the server wrote to stderr so far.
    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Sends the signal `name` (`HUP`, `TERM`, ...) to the server.
    pub(crate) fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -{name} {pid}");
    }

    /// Sends one request; returns the status and the body parsed as JSON (`null` when empty).
    pub(crate) fn send(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        send_to(self.port, method, path, body, &[])
    }

    /// [`Server::send`] with more header lines.
    pub(crate) fn send_with(
        &self,
        method: &str,
        path: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        send_to(self.port, method, path, body, headers)
    }

    /// Sends one request with more header lines; returns the status, the response's head and
    /// its body parsed as JSON.
    pub(crate) fn send_headed(
        &self,
        method: &str,
        path: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> (u16, String, Value) {
        let (status, head, body) = exchange(self.port, method, path, body, headers)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let body = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        (status, head, body)
    }

    /// Sends one request; returns the status and the body as text.
    pub(crate) fn send_text(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        send_text_to(self.port, method, path, body, &[])
    }

    pub(crate) fn post(&self, path: &str, body: &Value) -> Value {
        let (status, answer) = self.send("POST", path, &body.to_string());
        assert_eq!(status, 200, "{path} {body}: {answer}");
        answer
    }

    /// Sends SIGTERM and returns whether the server exited with status 0 within 20 seconds.
    pub(crate) fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one request to the server on `port`, with `headers` besides the usual; returns the
/// status and the body parsed as JSON (`null` when empty).
pub(crate) fn send_to(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let (status, body) = send_text_to(port, method, path, body, headers);
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
    };
    (status, body)
}

/// [`send_to`], the body as text.
fn send_text_to(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let (status, _, body) = exchange(port, method, path, body, headers)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    (status, body)
}

/// The value of the header `name` in a response's `head`.
pub(crate) fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// [`send_to`], or `None` when the connection fails (the server is gone or going).
pub(crate) fn try_send_to(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, Value)> {
    let (status, _, body) = exchange(port, method, path, body, &[]).ok()?;
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body).ok()?
    };
    Some((status, body))
}

/// One request on a new connection; the status, the head and the body as text.
fn exchange(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        let _ = write!(request, "{name}: {value}\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let response = String::from_utf8(response).map_err(|_| invalid("a response not UTF-8"))?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| invalid("a response without a head"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("a bad status line"))?;
    Ok((status, head.to_owned(), body.to_owned()))
}

/// Rows of two numeric inputs and a category, with a label that follows them.
fn training_csv(rows: usize) -> String {
    let mut rng = Rng(17);
    let mut csv = String::from("a,b,plan,churned\n");
    for _ in 0..rows {
        let (a, b) = (rng.normal(), 50.0 + 10.0 * rng.normal());
        let plan = rng.pick(&["basic", "plus", "pro"]);
        let logit = 2.0 * a - 0.1 * (b - 50.0) + if plan == "pro" { 1.5 } else { -0.5 };
        let churned = u8::from(rng.uniform() < 1.0 / (1.0 + (-logit).exp()));
        let _ = writeln!(csv, "{a:.4},{b:.3},{plan},{churned}");
    }
    csv
}

/// The V2 scoring route of `models/churn`.
pub(crate) const INFER: &str = "/v2/models/churn/infer";

/// Query rows whose numbers f32 holds exactly, so FP32 requests score them as FP64 ones do.
pub(crate) const QUERY: [(f64, f64, &str); 4] = [
    (0.5, 50.0, "pro"),
    (-1.25, 40.0, "basic"),
    (2.0, 62.5, "plus"),
    (-0.75, 55.25, "pro"),
];

/// Trains `models/churn` (with the category) and `models/numeric` (without it).
pub(crate) fn trained_env() -> TestEnv {
    let env = TestEnv::bare();
    env.write("train.csv", training_csv(600));
    let mut query = String::from("a,b,plan\n");
    for (a, b, plan) in QUERY {
        let _ = writeln!(query, "{a},{b},{plan}");
    }
    env.write("query.csv", query);
    train(&env, "models/churn", "churned", None);
    train(&env, "models/numeric", "churned", Some("plan"));
    env
}

/// Trains `out` on `train.csv` to predict `label`, leaving out `exclude`.
fn train(env: &TestEnv, out: &str, label: &str, exclude: Option<&str>) {
    let mut args = vec![
        "train",
        "--data",
        "train.csv",
        "--label",
        label,
        "--hidden",
        "4",
        "--epochs",
        "3",
        "--seed",
        "3",
        "--threads",
        "1",
        "-o",
        out,
    ];
    if let Some(column) = exclude {
        args.extend(["--exclude", column]);
    }
    env.run(&args);
}

/// `mlops predict`'s output for the query rows with `model`: each row's cells, by column name.
fn predict_csv(env: &TestEnv, model: &str) -> Vec<Vec<(String, String)>> {
    env.run(&[
        "predict",
        "--model",
        model,
        "query.csv",
        "-o",
        "scored.csv",
        "-q",
    ]);
    let text = String::from_utf8(env.read("scored.csv")).expect("utf-8");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    lines
        .map(|l| {
            header
                .iter()
                .zip(l.split(','))
                .map(|(h, v)| ((*h).to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// The values of predict's columns whose names start with `prefix`, row by row.
fn predicted_columns(env: &TestEnv, model: &str, prefix: &str) -> Vec<f64> {
    predict_csv(env, model)
        .iter()
        .flat_map(|row| {
            row.iter()
                .filter(|(name, _)| name.starts_with(prefix))
                .map(|(_, v)| v.parse::<f64>().expect("a number"))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `mlops predict`'s scores of the query rows with `model`.
pub(crate) fn predicted(env: &TestEnv, model: &str) -> Vec<f64> {
    predicted_columns(env, model, "score")
}

pub(crate) fn assert_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= 1e-6, "{what}: {got:?} vs {want:?}");
    }
}

pub(crate) fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("an array: {value}"))
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

/// The V2 output named `name`.
pub(crate) fn output<'a>(answer: &'a Value, name: &str) -> &'a Value {
    answer["outputs"]
        .as_array()
        .and_then(|outputs| outputs.iter().find(|o| o["name"] == name))
        .unwrap_or_else(|| panic!("no output `{name}`: {answer}"))
}

pub(crate) fn column_tensors(datatype: &str) -> Value {
    let a: Vec<f64> = QUERY.iter().map(|q| q.0).collect();
    let b: Vec<f64> = QUERY.iter().map(|q| q.1).collect();
    let plan: Vec<&str> = QUERY.iter().map(|q| q.2).collect();
    json!([
        { "name": "a", "shape": [4], "datatype": datatype, "data": a },
        { "name": "b", "shape": [4, 1], "datatype": datatype, "data": b },
        { "name": "plan", "shape": [4], "datatype": "BYTES", "data": plan },
    ])
}

#[test]
fn serve_scores_over_v2_and_mlflow_as_predict_does_and_stops_on_sigterm() {
    let env = trained_env();
    let want = predicted(&env, "models/churn");
    let server = Server::start(&env, &["models/churn"]);

    for path in [
        "/v2/health/live",
        "/v2/health/ready",
        "/v2/models/churn/ready",
    ] {
        assert_eq!(server.send("GET", path, "").0, 200, "{path}");
    }
    assert_eq!(server.send("GET", "/ping", "").0, 200);
    let (status, meta) = server.send("GET", "/v2/models/churn", "");
    assert_eq!(status, 200, "{meta}");
    assert_eq!(meta["name"], "churn");
    let inputs: Vec<(&str, &str)> = meta["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| {
            (
                i["name"].as_str().expect("name"),
                i["datatype"].as_str().expect("type"),
            )
        })
        .collect();
    assert_eq!(inputs, [("a", "FP64"), ("b", "FP64"), ("plan", "BYTES")]);

    // One tensor per column, the category as BYTES; the id comes back, FP64 in gives FP64 out.
    let answer = server.post(
        "/v2/models/churn/infer",
        &json!({ "id": "request-7", "inputs": column_tensors("FP64") }),
    );
    assert_eq!(answer["id"], "request-7");
    assert_eq!(output(&answer, "score")["datatype"], "FP64");
    assert_eq!(output(&answer, "score")["shape"], json!([4]));
    assert_close(&floats(&output(&answer, "score")["data"]), &want, "V2 FP64");
    let predictions = floats(&output(&answer, "prediction")["data"]);
    let thresholded: Vec<f64> = want
        .iter()
        .map(|s| f64::from(u8::from(*s >= 0.5)))
        .collect();
    assert_eq!(predictions, thresholded);
    // FP32 in gives FP32 out, and a generated id.
    let answer = server.post(
        "/v2/models/churn/infer",
        &json!({ "inputs": column_tensors("FP32") }),
    );
    assert_eq!(output(&answer, "score")["datatype"], "FP32");
    assert!(
        answer["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{answer}"
    );
    assert_close(&floats(&output(&answer, "score")["data"]), &want, "V2 FP32");

    // MLflow: every input form gives the same scores.
    let rows: Vec<Value> = QUERY.iter().map(|(a, b, p)| json!([a, b, p])).collect();
    let records: Vec<Value> = QUERY
        .iter()
        .map(|(a, b, p)| json!({ "a": a, "b": b, "plan": p }))
        .collect();
    let columns = json!({
        "a": QUERY.iter().map(|q| q.0).collect::<Vec<_>>(),
        "b": QUERY.iter().map(|q| q.1).collect::<Vec<_>>(),
        "plan": QUERY.iter().map(|q| q.2).collect::<Vec<_>>(),
    });
    let bodies = [
        json!({ "dataframe_split": { "columns": ["plan", "b", "a"], "data":
            QUERY.iter().map(|(a, b, p)| json!([p, b, a])).collect::<Vec<_>>() } }),
        json!({ "dataframe_records": records }),
        json!({ "instances": records }),
        json!({ "instances": rows }),
        json!({ "inputs": columns }),
    ];
    for body in &bodies {
        let answer = server.post("/invocations", body);
        let scores: Vec<f64> = answer["predictions"]
            .as_array()
            .unwrap_or_else(|| panic!("{answer}"))
            .iter()
            .map(|p| p["score"].as_f64().expect("score"))
            .collect();
        assert_close(&scores, &want, &body.to_string());
    }
    assert!(server.terminate(), "exits with status 0 on SIGTERM");
}

#[test]
fn serve_takes_one_tensor_of_all_inputs() {
    let env = trained_env();
    let want = predicted(&env, "models/numeric");
    let server = Server::start(&env, &["models/numeric"]);
    let data: Vec<[f64; 2]> = QUERY.iter().map(|q| [q.0, q.1]).collect();
    for datatype in ["FP32", "FP64"] {
        let answer = server.post(
            "/v2/models/numeric/infer",
            &json!({ "inputs": [{ "name": "x", "shape": [4, 2], "datatype": datatype, "data": data }] }),
        );
        assert_close(&floats(&output(&answer, "score")["data"]), &want, datatype);
    }
}

#[test]
fn serve_scores_a_large_request_on_the_blocking_pool_as_predict_does() {
    // 100k rows times the model's 17 parameters is past the work a worker scores itself
    // (2^20 multiply-adds, routes::INLINE_WORK): this request is scored on the blocking pool.
    let env = trained_env();
    let want = predicted(&env, "models/numeric");
    let server = Server::start(&env, &["models/numeric"]);
    let rows = 100_000;
    let data: Vec<[f64; 2]> = QUERY
        .iter()
        .map(|q| [q.0, q.1])
        .cycle()
        .take(rows)
        .collect();
    let answer = server.post(
        "/v2/models/numeric/infer",
        &json!({ "inputs": [{ "name": "x", "shape": [rows, 2], "datatype": "FP64", "data": data }] }),
    );
    let scores = floats(&output(&answer, "score")["data"]);
    let want: Vec<f64> = want.iter().copied().cycle().take(rows).collect();
    assert_close(&scores, &want, "100k rows");
}

/// A workspace with `models/kinds` (multiclass) and `models/level` (regression) trained, and
/// three query rows.
fn multiclass_and_regression_env() -> TestEnv {
    let env = TestEnv::bare();
    let mut rng = Rng(23);
    let mut csv = String::from("a,b,kind,y\n");
    for _ in 0..300 {
        let (a, b) = (rng.normal(), rng.normal());
        let kind = match a {
            a if a < -0.5 => "low",
            a if a < 0.5 => "mid",
            _ => "high",
        };
        let _ = writeln!(csv, "{a:.4},{b:.4},{kind},{:.4}", 3.0 * a + b);
    }
    env.write("train.csv", csv);
    env.write("query.csv", "a,b\n0.5,1.0\n-1.25,0.0\n2.0,-0.5\n");
    train(&env, "models/kinds", "kind", Some("y"));
    train(&env, "models/level", "y", Some("kind"));
    env
}

/// An `infer` body of the query rows as one `[3, 2]` tensor.
fn query_matrix() -> Value {
    let data = json!([[0.5, 1.0], [-1.25, 0.0], [2.0, -0.5]]);
    json!({ "inputs": [{ "name": "x", "shape": [3, 2], "datatype": "FP64", "data": data }] })
}

#[test]
fn serve_scores_a_multiclass_model_as_predict_does() {
    let env = multiclass_and_regression_env();
    // `scores` [N, k] in the class order of predict's score_CLASS columns.
    let want = predicted_columns(&env, "models/kinds", "score_");
    let rows = predict_csv(&env, "models/kinds");
    let labels: Vec<String> = rows.iter().map(|row| row[0].1.clone()).collect();
    let server = Server::start(&env, &["models/kinds"]);
    let answer = server.post("/v2/models/kinds/infer", &query_matrix());
    assert_eq!(output(&answer, "scores")["shape"], json!([3, 3]));
    assert_close(
        &floats(&output(&answer, "scores")["data"]),
        &want,
        "multiclass V2",
    );
    assert_eq!(output(&answer, "prediction")["data"], json!(labels));
    // MLflow: each record holds predict's columns by name, the scores to 1e-6 as well.
    let answer = server.post(
        "/invocations",
        &json!({ "instances": query_matrix()["inputs"][0]["data"] }),
    );
    let mut got = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let record = &answer["predictions"][r];
        assert_eq!(record["prediction"], json!(labels[r]), "{answer}");
        for (name, _) in row.iter().filter(|(name, _)| name.starts_with("score_")) {
            got.push(
                record[name]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{name}: {answer}")),
            );
        }
    }
    assert_close(&got, &want, "multiclass MLflow");
}

#[test]
fn serve_scores_a_regression_model_as_predict_does() {
    let env = multiclass_and_regression_env();
    let want = predicted_columns(&env, "models/level", "prediction");
    let server = Server::start(&env, &["models/level"]);
    let answer = server.post("/v2/models/level/infer", &query_matrix());
    assert_eq!(
        answer["outputs"].as_array().map(Vec::len),
        Some(1),
        "{answer}"
    );
    assert_close(
        &floats(&output(&answer, "prediction")["data"]),
        &want,
        "regression V2",
    );
    let answer = server.post(
        "/invocations",
        &json!({ "instances": query_matrix()["inputs"][0]["data"] }),
    );
    let got: Vec<f64> = (0..3)
        .map(|r| {
            answer["predictions"][r]["prediction"]
                .as_f64()
                .expect("a number")
        })
        .collect();
    assert_close(&got, &want, "regression MLflow");
}

#[test]
fn serve_answers_predict_proba_with_the_class_probabilities_predict_scores() {
    let env = trained_env();
    let want = predicted(&env, "models/churn");
    let server = Server::start(&env, &["models/churn"]);
    // Binary: `[1 - score, score]` a row, FP32 in gives FP32 out.
    let answer = server.post(
        "/v2/models/churn/infer",
        &json!({ "inputs": column_tensors("FP32"), "outputs": [{ "name": "predict_proba" }] }),
    );
    assert_eq!(
        answer["outputs"].as_array().map(Vec::len),
        Some(1),
        "{answer}"
    );
    let proba = output(&answer, "predict_proba");
    assert_eq!(proba["shape"], json!([4, 2]));
    assert_eq!(proba["datatype"], "FP32");
    let pairs: Vec<f64> = want.iter().flat_map(|s| [1.0 - s, *s]).collect();
    assert_close(&floats(&proba["data"]), &pairs, "predict_proba binary");
    drop(server);

    let env = multiclass_and_regression_env();
    let want = predicted_columns(&env, "models/kinds", "score_");
    let server = Server::start(&env, &["models/kinds"]);
    let mut body = query_matrix();
    body["outputs"] = json!([{ "name": "predict_proba" }]);
    let answer = server.post("/v2/models/kinds/infer", &body);
    let proba = output(&answer, "predict_proba");
    assert_eq!(proba["shape"], json!([3, 3]));
    assert_eq!(proba["datatype"], "FP64");
    assert_close(&floats(&proba["data"]), &want, "predict_proba multiclass");
    drop(server);

    // A regression has no probabilities: a 400 naming `outputs`.
    let server = Server::start(&env, &["models/level"]);
    let (status, answer) = server.send("POST", "/v2/models/level/infer", &body.to_string());
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["field"], "outputs", "{answer}");
}

/// Sends `body` as an Arrow IPC stream; returns the status, the content type and the body.
fn send_arrow(server: &Server, path: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/vnd.apache.arrow.stream\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("send");
    stream.write_all(body).expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, content_type, response[split + 4..].to_vec())
}

/// The query rows as an Arrow IPC stream of two batches, with a column the model ignores.
pub(crate) fn query_stream() -> Vec<u8> {
    use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
    use std::sync::Arc;
    let batch = |rows: &[(f64, f64, &str)]| {
        let columns: Vec<(&str, ArrayRef)> = vec![
            (
                "plan",
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2))),
            ),
            (
                "a",
                Arc::new(rows.iter().map(|r| r.0).collect::<Float64Array>()),
            ),
            (
                "note",
                Arc::new(StringArray::from_iter_values(rows.iter().map(|_| "x"))),
            ),
            (
                "b",
                Arc::new(rows.iter().map(|r| r.1).collect::<Float64Array>()),
            ),
        ];
        RecordBatch::try_from_iter(columns).expect("batch")
    };
    let (first, second) = (batch(&QUERY[..1]), batch(&QUERY[1..]));
    let mut writer =
        arrow_ipc::writer::StreamWriter::try_new(Vec::new(), &first.schema()).expect("writer");
    writer.write(&first).expect("write");
    writer.write(&second).expect("write");
    writer.into_inner().expect("finish")
}

#[test]
fn serve_scores_arrow_ipc_streams_as_predict_does() {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float32Type, Int64Type};
    let env = trained_env();
    let rows = predict_csv(&env, "models/churn");
    let server = Server::start(&env, &["models/churn"]);
    for path in ["/v2/models/churn/infer", "/invocations"] {
        let (status, content_type, body) = send_arrow(&server, path, &query_stream());
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        assert_eq!(
            content_type, "application/vnd.apache.arrow.stream",
            "{path}"
        );
        let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(body), None)
            .expect("an IPC stream");
        let batches: Vec<_> = reader.collect::<Result<_, _>>().expect("batches");
        let batch = arrow_select::concat::concat_batches(&batches[0].schema(), &batches)
            .expect("one batch");
        let names: Vec<String> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let want_names: Vec<String> = rows[0].iter().map(|(n, _)| n.clone()).collect();
        assert_eq!(names, want_names, "{path}");
        let scores: Vec<f64> = batch
            .column_by_name("score")
            .expect("score")
            .as_primitive::<Float32Type>()
            .values()
            .iter()
            .map(|s| f64::from(*s))
            .collect();
        let want: Vec<f64> = rows
            .iter()
            .map(|r| r[1].1.parse().expect("a score"))
            .collect();
        assert_close(&scores, &want, path);
        let predictions: Vec<String> = batch
            .column_by_name("prediction")
            .expect("prediction")
            .as_primitive::<Int64Type>()
            .values()
            .iter()
            .map(ToString::to_string)
            .collect();
        let want: Vec<String> = rows.iter().map(|r| r[0].1.clone()).collect();
        assert_eq!(predictions, want, "{path}");
    }
    // Bytes that are no IPC stream: a 400 naming `body`.
    let (status, _, body) = send_arrow(&server, "/invocations", b"not an arrow stream");
    assert_eq!(status, 400);
    let body: Value = serde_json::from_slice(&body).expect("a JSON error");
    assert_eq!(body["field"], "body", "{body}");
}
