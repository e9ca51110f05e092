//! `mlops serve` refusing bad requests: every class of client mistake (wrong shape, datatype,
//! a missing or unknown column, a non-finite number, malformed JSON, an unknown model, a body
//! over the limit, a wrong method) gets its 4xx with a JSON error naming the field, one table
//! of cases against a real server.

use serde_json::{Value, json};

use crate::serve::{INFER, Server, output, trained_env};

/// A bad request: what it is, its path and body (empty: a GET), the status and field named.
type Case = (&'static str, &'static str, String, u16, &'static str);

fn tensor(name: &str, shape: &Value, datatype: &str, data: &Value) -> Value {
    json!({ "name": name, "shape": shape, "datatype": datatype, "data": data })
}

/// Valid tensors `a`, `b` and `plan` of two rows.
fn good_tensors() -> [Value; 3] {
    [
        tensor("a", &json!([2]), "FP64", &json!([0.5, 1.0])),
        tensor("b", &json!([2]), "FP64", &json!([50.0, 40.0])),
        tensor("plan", &json!([2]), "BYTES", &json!(["pro", "basic"])),
    ]
}

fn v2_cases() -> Vec<Case> {
    let infer = INFER;
    let [a, b, plan] = good_tensors();
    vec![
        ("malformed JSON", infer, "{\"inputs\": [".into(), 400, "body"),
        ("not an object", infer, "[1, 2]".into(), 400, "body"),
        ("unknown model", "/v2/models/nope/infer", json!({ "inputs": [a, b, plan] }).to_string(), 404, "model"),
        ("unknown model metadata", "/v2/models/nope", String::new(), 404, "model"),
        ("no inputs", infer, json!({ "id": "x" }).to_string(), 400, "inputs"),
        (
            "shape and data disagree",
            infer,
            json!({ "inputs": [tensor("a", &json!([3]), "FP64", &json!([1.0, 2.0])), b, plan] }).to_string(),
            400,
            "inputs[0].data",
        ),
        (
            "wrong shape",
            infer,
            json!({ "inputs": [tensor("a", &json!([1, 2]), "FP64", &json!([1.0, 2.0])), b, plan] }).to_string(),
            400,
            "inputs[0].shape",
        ),
        (
            "a matrix of the wrong width",
            infer,
            json!({ "inputs": [tensor("x", &json!([1, 2]), "FP64", &json!([1.0, 2.0]))] }).to_string(),
            400,
            "inputs[0].shape",
        ),
        (
            "rows that differ",
            infer,
            json!({ "inputs": [a, tensor("b", &json!([1]), "FP64", &json!([1.0])), plan] }).to_string(),
            400,
            "inputs[1].shape",
        ),
        (
            "an unknown datatype",
            infer,
            json!({ "inputs": [tensor("a", &json!([2]), "FP8", &json!([1.0, 2.0])), b, plan] }).to_string(),
            400,
            "inputs[0].datatype",
        ),
        (
            "a numeric input as BYTES",
            infer,
            json!({ "inputs": [tensor("a", &json!([2]), "BYTES", &json!(["1", "2"])), b, plan] }).to_string(),
            400,
            "inputs[0].datatype",
        ),
        (
            "text in an FP64 tensor",
            infer,
            json!({ "inputs": [tensor("a", &json!([2]), "FP64", &json!([1.0, "x"])), b, plan] }).to_string(),
            400,
            "inputs[0].data[1]",
        ),
        (
            "a category as FP32",
            infer,
            json!({ "inputs": [a, b, tensor("plan", &json!([2]), "FP32", &json!([1.0, 2.0]))] }).to_string(),
            400,
            "inputs[2].datatype",
        ),
        (
            "a number beyond FP32's range",
            infer,
            json!({ "inputs": [tensor("a", &json!([2]), "FP32", &json!([1e39, 1.0])), b, plan] }).to_string(),
            400,
            "a",
        ),
        ("a missing column", infer, json!({ "inputs": [a, b] }).to_string(), 400, "inputs"),
        (
            "an unknown column",
            infer,
            json!({ "inputs": [a, b, plan, tensor("extra", &json!([2]), "FP64", &json!([1.0, 2.0]))] }).to_string(),
            400,
            "inputs[3].name",
        ),
    ]
}

fn mlflow_and_http_cases() -> Vec<Case> {
    vec![
        (
            "a null number",
            "/invocations",
            json!({ "dataframe_records": [{ "a": 1.0, "b": null, "plan": "pro" }] }).to_string(),
            400,
            "b",
        ),
        (
            "a number the model's f32 inputs cannot hold",
            "/invocations",
            json!({ "dataframe_records": [{ "a": 1.0, "b": 1e308, "plan": "pro" }] }).to_string(),
            400,
            "b",
        ),
        (
            "a bare NaN token (not JSON)",
            "/invocations",
            r#"{"dataframe_records": [{"a": NaN, "b": 1.0, "plan": "pro"}]}"#.into(),
            400,
            "body",
        ),
        (
            "MLflow: a missing column",
            "/invocations",
            json!({ "dataframe_split": { "columns": ["a", "b"], "data": [[1.0, 2.0]] } })
                .to_string(),
            400,
            "dataframe_split.columns",
        ),
        (
            "MLflow: an unknown column",
            "/invocations",
            json!({ "dataframe_records": [{ "a": 1.0, "b": 2.0, "plan": "pro", "id": 3 }] })
                .to_string(),
            400,
            "dataframe_records[0]",
        ),
        (
            "MLflow: a short row",
            "/invocations",
            json!({ "dataframe_split": { "columns": ["a", "b", "plan"], "data": [[1.0, 2.0]] } })
                .to_string(),
            400,
            "dataframe_split.data[0]",
        ),
        (
            "MLflow: text for a number",
            "/invocations",
            json!({ "dataframe_records": [{ "a": "high", "b": 2.0, "plan": "pro" }] }).to_string(),
            400,
            "dataframe_records[0].a",
        ),
        (
            "MLflow: no known key",
            "/invocations",
            json!({ "rows": [] }).to_string(),
            400,
            "body",
        ),
        (
            "a body over --max-body",
            "/invocations",
            format!("{{\"x\": \"{}\"}}", "y".repeat(2048)),
            413,
            "body",
        ),
        (
            "a method the route does not take",
            "/invocations",
            String::new(),
            405,
            "method",
        ),
        (
            "a model name that is not UTF-8",
            "/v2/models/%FF",
            String::new(),
            400,
            "path",
        ),
        (
            "an unknown route",
            "/v1/models/churn:predict",
            "{}".into(),
            404,
            "path",
        ),
    ]
}

#[test]
fn serve_refuses_bad_requests_naming_the_field() {
    let env = trained_env();
    let server = Server::start(&env, &["models/churn", "--max-body", "1KiB"]);
    let mut cases = v2_cases();
    cases.extend(mlflow_and_http_cases());
    for (what, path, body, status, field) in cases {
        let method = if body.is_empty() { "GET" } else { "POST" };
        let (got, answer) = server.send(method, path, &body);
        assert_eq!(got, status, "{what}: {answer}");
        assert_eq!(answer["field"], field, "{what}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: {answer}"
        );
    }
    // Still answering, and correctly.
    assert_eq!(server.send("GET", "/v2/health/ready", "").0, 200);
    let answer = server.post(INFER, &json!({ "inputs": good_tensors() }));
    assert_eq!(output(&answer, "score")["shape"], json!([2]));
}
