//! One HTTP request at a time, synchronously: what `mlops monitor` delivers alerts with (a
//! Slack-style webhook, the PagerDuty Events API, Alertmanager).
//!
//! The client is the `reqwest` that `object_store` already brings (rustls, the system's root
//! certificates), driven on the object-store runtime behind a blocking call, as STYLE.md asks
//! of anything async. Errors are one line and never contain the URL: a webhook URL is a secret.

use std::time::Duration;

/// What came back: the status code, and the start of the body for an error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// POSTs `body` as JSON to `url` with `headers`, waiting at most `timeout` for the whole
/// exchange. Any status comes back as a [`Response`]; the caller decides what is a failure.
///
/// # Errors
/// When the URL does not parse, or the request could not be made or timed out, in one line
/// without the URL.
pub fn post_json(
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Response, String> {
    let runtime = crate::remote::runtime().map_err(|e| format!("no runtime: {e}"))?;
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    runtime.block_on(async move {
        let response = request.send().await.map_err(describe)?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Ok(Response {
            status,
            body: text.chars().take(200).collect(),
        })
    })
}

/// A request error in one line, without the URL.
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        let mut source = std::error::Error::source(&error);
        let mut last = String::new();
        while let Some(s) = source {
            last = s.to_string();
            source = s.source();
        }
        format!("cannot connect: {last}")
    } else if error.is_builder() {
        "not a valid http(s) URL".to_owned()
    } else {
        error.to_string()
    }
}
