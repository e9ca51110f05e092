//! `mlops serve` under a storm of generated bad requests (issue 17, item 3): a few thousand
//! mutated, truncated and garbled bodies, JSON and Arrow IPC, on every scoring route, the
//! feedback route and odd paths, from a seeded generator so that a failure reproduces. Each
//! answer must be a 2xx, or a 4xx whose JSON body names the field at fault; never a 5xx, a
//! dropped connection or a hang. Afterwards the same valid request scores exactly as before and
//! `/metrics` still encodes.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::ArrayRef;
use serde_json::{Value, json};

use crate::rng::Rng;
use crate::serve::{QUERY, Server, column_tensors, floats, output, trained_env};

mod bodies;

use bodies::{Request, generated, json_type, matrix_seed, mutated_json, records, stream};

/// How many generated requests the storm sends.
const REQUESTS: usize = 3_000;

const INFER: &str = "/v2/models/churn/infer";
const IPC: &str = "application/vnd.apache.arrow.stream";
const JSON: &str = "application/json";

/// An answer: its status, content type and body.
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

/// One keep-alive HTTP/1.1 connection, opened again when the server closes it.
struct Client {
    port: u16,
    stream: Option<BufReader<TcpStream>>,
}

impl Client {
    /// Sends one request and reads its answer, within 10 seconds, on a fresh connection if
    /// need be.
    fn send(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> std::io::Result<Answer> {
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(content_type) = content_type {
            let _ = write!(request, "Content-Type: {content_type}\r\n");
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        // The server may close a kept-alive connection after an answer (a 413 leaves the body
        // unread): the request is sent again once, on a fresh one.
        if self.stream.is_some()
            && let Ok(answer) = self.exchange(&bytes)
        {
            return Ok(answer);
        }
        self.exchange(&bytes)
    }

    /// Posts `body` as JSON; the answer must be a 200, whose JSON it returns.
    fn post(&mut self, path: &str, body: &Value) -> Value {
        let answer = self.answer("POST", path, body.to_string().as_bytes());
        let text = String::from_utf8_lossy(&answer.body);
        assert_eq!(answer.status, 200, "{path}: {text}");
        serde_json::from_str(&text).expect("JSON")
    }

    /// [`Client::send`], which must answer.
    fn answer(&mut self, method: &str, path: &str, body: &[u8]) -> Answer {
        self.send(method, path, Some(JSON), body)
            .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"))
    }

    /// Writes `request` on the open connection (opening one if none is) and reads the answer.
    fn exchange(&mut self, request: &[u8]) -> std::io::Result<Answer> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(("127.0.0.1", self.port))?;
            stream.set_read_timeout(Some(Duration::from_secs(10)))?;
            stream.set_nodelay(true)?;
            self.stream = Some(BufReader::new(stream));
        }
        let reader = self.stream.as_mut().expect("connected above");
        let answer = reader
            .get_mut()
            .write_all(request)
            .and_then(|()| read_answer(reader));
        // A connection that failed or that the server closes is not used again.
        if !matches!(answer, Ok((_, true))) {
            self.stream = None;
        }
        answer.map(|(answer, _)| answer)
    }
}

/// Reads one answer; returns it and whether the connection stays open.
fn read_answer(reader: &mut BufReader<TcpStream>) -> std::io::Result<(Answer, bool)> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(ErrorKind::UnexpectedEof, "closed"));
    }
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("status line: {line:?}"));
    let (mut length, mut chunked, mut open, mut content_type) = (0, false, true, String::new());
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').expect("a header");
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().expect("a length"),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => open = !value.eq_ignore_ascii_case("close"),
            "content-type" => value.clone_into(&mut content_type),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim(), 16).expect("a chunk size");
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    let answer = Answer {
        status,
        content_type,
        body,
    };
    Ok((answer, open))
}

/// What is wrong with `answer`, if anything: a status other than 2xx or 4xx, a 4xx without a
/// JSON `error` and `field`, or a 2xx whose body is not what its content type says.
fn fault(answer: &Answer) -> Option<String> {
    match answer.status {
        200..=299 if answer.content_type == IPC => {
            let reader =
                arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(&answer.body), None);
            match reader.and_then(Iterator::collect::<Result<Vec<_>, _>>) {
                Err(e) => Some(format!("a 2xx IPC stream that does not read: {e}")),
                Ok(batches) => batches
                    .iter()
                    .any(|b| b.columns().iter().any(has_nan))
                    .then(|| "a NaN output".to_owned()),
            }
        }
        200..=299 if answer.body.is_empty() => None,
        200..=299 => match serde_json::from_slice::<Value>(&answer.body) {
            Err(e) => Some(format!("a 2xx whose body is no JSON: {e}")),
            // A NaN score is written as null.
            Ok(body) => has_null(&body).then(|| "a null output".to_owned()),
        },
        400..=499 => {
            let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
            let named = body["error"].as_str().is_some_and(|e| !e.is_empty())
                && body["field"].as_str().is_some();
            (!named || answer.content_type != JSON).then(|| {
                format!(
                    "a {} without a JSON error and field ({})",
                    answer.status, answer.content_type
                )
            })
        }
        status => Some(format!("status {status}")),
    }
}

fn has_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().any(has_null),
        Value::Object(map) => map.values().any(has_null),
        _ => false,
    }
}

fn has_nan(column: &ArrayRef) -> bool {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float32Type;
    column
        .as_primitive_opt::<Float32Type>()
        .is_some_and(|c| c.values().iter().any(|v| v.is_nan()))
}

/// Arrow IPC carries what JSON cannot: NaN and infinities. Each is refused, naming the column,
/// as the model's NaN policy refuses a missing number.
fn non_finite_arrow_inputs_are_refused(client: &mut Client) {
    use arrow_array::{Float32Array, Float64Array, StringArray};
    for (column, value) in [
        ("a", f64::NAN),
        ("b", f64::INFINITY),
        ("a", f64::NEG_INFINITY),
    ] {
        for narrow in [false, true] {
            let values = [0.5, value, 1.0];
            #[expect(clippy::cast_possible_truncation, reason = "FP32 on purpose")]
            let array: ArrayRef = if narrow {
                Arc::new(Float32Array::from_iter_values(
                    values.iter().map(|v| *v as f32),
                ))
            } else {
                Arc::new(Float64Array::from_iter_values(values))
            };
            let other: ArrayRef = Arc::new(Float64Array::from(vec![1.0; 3]));
            let plan: ArrayRef = Arc::new(StringArray::from(vec!["pro"; 3]));
            let (a, b) = if column == "a" {
                (array, other)
            } else {
                (other, array)
            };
            let body = stream(vec![("a", a), ("b", b), ("plan", plan)], 1, false);
            for path in [INFER, "/invocations"] {
                let answer = client
                    .send("POST", path, Some(IPC), &body)
                    .expect("an answer");
                let error: Value = serde_json::from_slice(&answer.body).expect("JSON");
                assert_eq!(answer.status, 400, "{path} {column}={value}: {error}");
                assert_eq!(error["field"], column, "{path} {column}={value}: {error}");
            }
        }
    }
}

/// The scores of the query rows, over V2 and MLflow, with a valid request.
fn scores(client: &mut Client) -> (Vec<f64>, Vec<f64>) {
    let answer = client.post(
        INFER,
        &json!({ "id": "check", "inputs": column_tensors("FP64") }),
    );
    let v2 = floats(&output(&answer, "score")["data"]);
    let answer = client.post("/invocations", &json!({ "dataframe_records": records() }));
    let mlflow = answer["predictions"]
        .as_array()
        .expect("predictions")
        .iter()
        .map(|p| p["score"].as_f64().expect("a score"))
        .collect();
    (v2, mlflow)
}

/// Sends `count` requests from `generate`, checks every answer ([`fault`]) and returns the
/// fields the 4xx answers named and how many requests succeeded.
fn storm(
    client: &mut Client,
    count: usize,
    mut generate: impl FnMut() -> Request,
) -> (std::collections::BTreeSet<String>, usize) {
    let mut faults = Vec::new();
    let mut fields = std::collections::BTreeSet::new();
    let mut succeeded = 0;
    for n in 0..count {
        let (method, path, content_type, body) = generate();
        let answer = client.send(&method, &path, content_type, &body);
        let fault = match &answer {
            Ok(answer) => {
                fault(answer).map(|f| format!("{f}: {}", String::from_utf8_lossy(&answer.body)))
            }
            Err(e) => Some(format!("no answer: {e}")),
        };
        if let Some(fault) = fault {
            let shown: String = String::from_utf8_lossy(&body).chars().take(300).collect();
            faults.push(format!(
                "request {n}: {method} {path} ({content_type:?}) {shown:?}: {fault}"
            ));
        }
        let Ok(answer) = answer else { continue };
        if answer.status < 300 {
            succeeded += 1;
        } else if let Ok(body) = serde_json::from_slice::<Value>(&answer.body) {
            fields.insert(body["field"].as_str().unwrap_or_default().to_owned());
        }
    }
    assert!(
        faults.is_empty(),
        "{} of {count} answers are wrong:\n{}",
        faults.len(),
        faults.join("\n")
    );
    (fields, succeeded)
}

const NUMERIC_INFER: &str = "/v2/models/numeric/infer";

#[test]
fn serve_answers_thousands_of_generated_bad_requests_and_still_scores() {
    let env = trained_env();
    let server = Server::start(
        &env,
        &[
            "models/churn",
            "--max-body",
            "64KiB",
            "--log-dir",
            "predictions",
        ],
    );
    let mut client = Client {
        port: server.port,
        stream: None,
    };
    let before = scores(&mut client);
    non_finite_arrow_inputs_are_refused(&mut client);

    let mut rng = Rng(2026);
    let (fields, succeeded) = storm(&mut client, REQUESTS, || generated(&mut rng));
    // The mutations reach past the syntax: many different fields are named, and some
    // mutants are still valid requests.
    assert!(fields.len() >= 30, "fields named: {fields:?}");
    assert!(succeeded >= 50, "{succeeded} requests succeeded");

    // A model of numbers only, whose common body (one FP32 or FP64 matrix) is read apart,
    // scored through the micro-batcher.
    let numeric = Server::start(&env, &["models/numeric", "--no-log", "--batch-wait", "100"]);
    let mut numeric_client = Client {
        port: numeric.port,
        stream: None,
    };
    let matrix = json!({ "inputs": [{
        "name": "x", "shape": [4, 2], "datatype": "FP64",
        "data": QUERY.iter().flat_map(|q| [q.0, q.1]).collect::<Vec<_>>(),
    }] });
    let numeric_before = numeric_client.post(NUMERIC_INFER, &matrix)["outputs"].clone();
    storm(&mut numeric_client, REQUESTS / 3, || {
        let seed = matrix_seed(&mut rng);
        let body = mutated_json(&mut rng, seed);
        let content_type = json_type(&mut rng);
        (
            "POST".to_owned(),
            NUMERIC_INFER.to_owned(),
            content_type,
            body,
        )
    });
    let numeric_after = numeric_client.post(NUMERIC_INFER, &matrix)["outputs"].clone();
    assert_eq!(
        numeric_after, numeric_before,
        "the same scores after the storm"
    );

    assert_eq!(
        scores(&mut client),
        before,
        "the same scores after the storm"
    );
    let metrics = client.answer("GET", "/metrics", b"");
    let text = String::from_utf8(metrics.body).expect("utf-8");
    assert_eq!(metrics.status, 200, "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(text.contains("mlops_serve_requests_total"), "{text}");
}

/// A number within f32's range can still scale past it: an input trained with a spread of 0.001
/// makes 1e36 about 1e39. The network would answer that row with a NaN; it is refused instead.
#[test]
fn serve_refuses_an_input_that_scales_past_f32() {
    let env = crate::support::TestEnv::bare();
    let mut rng = Rng(5);
    let mut csv = String::from("c,y\n");
    for _ in 0..200 {
        let c = 0.001 * rng.normal();
        let _ = writeln!(csv, "{c:.6},{}", u8::from(c > 0.0));
    }
    env.write("small.csv", csv);
    env.run(&[
        "train",
        "--data",
        "small.csv",
        "--label",
        "y",
        "--hidden",
        "2",
        "--epochs",
        "1",
        "--seed",
        "1",
        "--threads",
        "1",
        "-o",
        "models/small",
    ]);
    let server = Server::start(&env, &["models/small", "--no-log"]);
    let (status, answer) = server.send(
        "POST",
        "/invocations",
        &json!({ "instances": [[0.001], [1e36]] }).to_string(),
    );
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["field"], "inputs", "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("row 1:")),
        "{answer}"
    );
}
