//! Responses: JSON bodies, and the 4xx a client's mistake gets, naming the field at fault.

use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use mlops_data::rows::Values;
use serde_json::{Value, json};

/// A request the server refuses: its status, the field at fault (`inputs[0].shape`,
/// `dataframe_split.columns`, `body`, ...) and what was expected.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    status: StatusCode,
    field: String,
    message: String,
}

impl ApiError {
    /// A 400 Bad Request about `field`.
    pub(crate) fn bad(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, field, message)
    }

    pub(crate) fn new(
        status: StatusCode,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            field: field.into(),
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // `error` is the key KServe V2 and MLflow clients read; `field` says where.
        let body = json!({ "error": self.message, "field": self.field });
        (self.status, json_body(&body)).into_response()
    }
}

/// A 4xx the framework answers itself (405 for a method a route does not take, a plain-text
/// 400 for a path parameter that is not UTF-8) as the JSON error every other refusal is, so
/// that a client reads `error` and `field` from every 4xx.
pub(crate) async fn json_errors(method: Method, uri: Uri, response: Response) -> Response {
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v == "application/json");
    if !status.is_client_error() || json {
        return response;
    }
    let path = uri.path();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        let allow = response.headers().get(header::ALLOW).cloned();
        let allowed = allow
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let message = format!("{path} does not take {method}; it takes {allowed}");
        let mut response = ApiError::new(status, "method", message).into_response();
        if let Some(allow) = allow {
            response.headers_mut().insert(header::ALLOW, allow);
        }
        return response;
    }
    // The framework's own messages are a line of text.
    let text = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    ApiError::new(status, "path", format!("{path}: {text}")).into_response()
}

/// A 200 with `value` as its JSON body.
pub(crate) fn ok(value: &Value) -> Response {
    (StatusCode::OK, json_body(value)).into_response()
}

/// A 200 with `value` serialized as its JSON body, with no JSON tree in between.
pub(crate) fn ok_serialized(value: &impl serde::Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Err(e) => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "body", e.to_string()).into_response()
        }
    }
}

fn json_body(value: &Value) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
}

/// Parses a request body as JSON, refusing malformed JSON with the place it goes wrong.
pub(crate) fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad("body", format!("malformed JSON: {e}")))
}

/// Row `row`'s value of a column as JSON; f32 scores keep their exact value.
pub(crate) fn cell(values: &Values, row: usize, as_f64: bool) -> Value {
    match values {
        Values::Float32(v) if as_f64 => json!(f64::from(v[row])),
        Values::Float32(v) => json!(v[row]),
        Values::Int64(v) => json!(v[row]),
        Values::Text { labels, ids } => json!(labels[ids[row] as usize]),
    }
}

/// Each row's score in predict's columns (the prediction, then the scores): a binary model's
/// score, a multiclass model's top class score; `None` for a regression, which has none.
pub(crate) fn row_scores(scored: &[(String, Values)]) -> Option<Vec<f32>> {
    let columns: Vec<&[f32]> = scored
        .get(1..)?
        .iter()
        .filter_map(|(_, values)| match values {
            Values::Float32(v) => Some(v.as_slice()),
            _ => None,
        })
        .collect();
    let rows = columns.first()?.len();
    Some(
        (0..rows)
            .map(|row| columns.iter().map(|c| c[row]).fold(f32::NAN, f32::max))
            .collect(),
    )
}

/// How many rows a column holds.
pub(crate) fn len(values: &Values) -> usize {
    match values {
        Values::Float32(v) => v.len(),
        Values::Int64(v) => v.len(),
        Values::Text { ids, .. } => ids.len(),
    }
}

/// The KServe V2 datatype of a column.
pub(crate) fn datatype(values: &Values, float: &'static str) -> &'static str {
    match values {
        Values::Float32(_) => float,
        Values::Int64(_) => "INT64",
        Values::Text { .. } => "BYTES",
    }
}
