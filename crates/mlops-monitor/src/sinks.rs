//! Alert delivery: a firing rule, sent where the on-call person looks. A Slack-style webhook
//! (`{"text": ...}`), PagerDuty's Events API v2 (a `trigger` event, deduplicated per rule and
//! window), Alertmanager's `POST /api/v2/alerts`, or a command that reads the firing as JSON on
//! standard input.
//!
//! Each delivery is tried once and retried `retries` times on a timeout, a connection error, an
//! HTTP 429 or 5xx answer (or a command's failure), waiting `backoff`, then twice that, and so
//! on; another 4xx answer is final. Each attempt is bounded by `timeout`.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::report::Delivery;

/// Where PagerDuty's Events API v2 takes events.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// A configured sink.
#[derive(Clone)]
pub struct Sink {
    pub name: String,
    pub kind: Kind,
    pub retries: usize,
    pub timeout: Duration,
    pub backoff: Duration,
}

impl std::fmt::Debug for Sink {
    // Never the URL or key: errors and logs may print a sink.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("name", &self.name)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

/// What a sink is, with its secrets.
#[derive(Clone)]
pub enum Kind {
    Webhook { url: String },
    PagerDuty { url: String, routing_key: String },
    Alertmanager { url: String },
    Command { argv: Vec<String> },
}

/// One rule firing on one window.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub rule: String,
    pub condition: String,
    pub window: String,
    /// The window's first and last instant, `YYYY-MM-DDTHH:MM:SSZ`.
    pub start: String,
    pub end: String,
    /// The metrics the condition names, with their values in the window.
    pub values: Vec<(String, Option<f64>)>,
}

impl Firing {
    /// One line: what fired where, with the values.
    pub fn summary(&self) -> String {
        let values: Vec<String> = self
            .values
            .iter()
            .map(|(name, v)| match v {
                Some(v) => format!("{name} = {v:.4}"),
                None => format!("{name} = none"),
            })
            .collect();
        format!(
            "mlops monitor: alert `{}` fired on window {} ({}){}",
            self.rule,
            self.window,
            self.condition,
            if values.is_empty() {
                String::new()
            } else {
                format!(": {}", values.join(", "))
            }
        )
    }

    fn details(&self) -> serde_json::Value {
        json!({
            "rule": self.rule,
            "condition": self.condition,
            "window": self.window,
            "start": self.start,
            "end": self.end,
            "values": self.values.iter().map(|(n, v)| (n.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        })
    }
}

/// What one attempt came to.
enum Attempt {
    Delivered(String),
    /// Worth retrying.
    Transient(String),
    /// Not worth retrying.
    Final(String),
}

/// Delivers `firing` to `sink`, retrying as the sink says.
pub fn deliver(sink: &Sink, firing: &Firing) -> Delivery {
    let mut attempts = 0;
    let mut wait = sink.backoff;
    loop {
        attempts += 1;
        let outcome = attempt(sink, firing);
        let (delivered, text, retry) = match outcome {
            Attempt::Delivered(t) => (true, t, false),
            Attempt::Transient(t) => (false, t, attempts <= sink.retries),
            Attempt::Final(t) => (false, t, false),
        };
        if !retry {
            return Delivery {
                sink: sink.name.clone(),
                window: firing.window.clone(),
                attempts,
                delivered,
                outcome: text,
            };
        }
        std::thread::sleep(wait);
        wait *= 2;
    }
}

fn attempt(sink: &Sink, firing: &Firing) -> Attempt {
    match &sink.kind {
        Kind::Webhook { url } => post(url, &[], &json!({"text": firing.summary()}), sink.timeout),
        Kind::PagerDuty { url, routing_key } => {
            let body = json!({
                "routing_key": routing_key,
                "event_action": "trigger",
                "dedup_key": format!("mlops-monitor/{}/{}", firing.rule, firing.window),
                "payload": {
                    "summary": firing.summary(),
                    "source": "mlops monitor",
                    "severity": "error",
                    "timestamp": firing.end,
                    "custom_details": firing.details(),
                },
            });
            post(url, &[], &body, sink.timeout)
        }
        Kind::Alertmanager { url } => {
            let url = if url.trim_end_matches('/').ends_with("/api/v2/alerts") {
                url.clone()
            } else {
                format!("{}/api/v2/alerts", url.trim_end_matches('/'))
            };
            let body = json!([{
                "labels": {
                    "alertname": firing.rule,
                    "window": firing.window,
                    "source": "mlops-monitor",
                },
                "annotations": {
                    "summary": firing.summary(),
                    "condition": firing.condition,
                },
                "startsAt": firing.end,
            }]);
            post(&url, &[], &body, sink.timeout)
        }
        Kind::Command { argv } => run(argv, firing, sink.timeout),
    }
}

fn post(
    url: &str,
    headers: &[(&str, &str)],
    body: &serde_json::Value,
    timeout: Duration,
) -> Attempt {
    let bytes = serde_json::to_vec(body).expect("JSON serialises");
    match mlops_core::http::post_json(url, headers, bytes, timeout) {
        Ok(r) if (200..300).contains(&r.status) => Attempt::Delivered(format!("HTTP {}", r.status)),
        Ok(r) if r.status == 429 || r.status >= 500 => {
            Attempt::Transient(format!("HTTP {}", r.status))
        }
        Ok(r) => Attempt::Final(format!("HTTP {}: {}", r.status, r.body.trim())),
        Err(e) => Attempt::Transient(e),
    }
}

/// Runs `argv` with the firing as JSON on standard input and its name and window in
/// `MLOPS_ALERT` and `MLOPS_ALERT_WINDOW`; killed after `timeout`.
fn run(argv: &[String], firing: &Firing, timeout: Duration) -> Attempt {
    let mut child = match Command::new(&argv[0])
        .args(&argv[1..])
        .env("MLOPS_ALERT", &firing.rule)
        .env("MLOPS_ALERT_WINDOW", &firing.window)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return Attempt::Final(format!("cannot run `{}`: {e}", argv[0])),
    };
    if let Some(mut stdin) = child.stdin.take() {
        let mut body = serde_json::to_vec(&firing.details()).expect("JSON serialises");
        body.push(b'\n');
        // A command that does not read its input is still run to the end.
        let _ = stdin.write_all(&body);
    }
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Attempt::Delivered("exit 0".to_owned()),
            Ok(Some(status)) => return Attempt::Transient(format!("{status}")),
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Attempt::Transient("timed out".to_owned());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Attempt::Final(e.to_string()),
        }
    }
}
