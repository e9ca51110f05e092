//! What an experiment commit's message records, for `exp show` to read without opening trees.
//!
//! The message is a subject line (`mlops exp NAME: key=value ...`) and, last, one line
//! `mlops-exp: {json}` with the name, the baseline, the overrides and, once run, every param the
//! stages ran with and every metric. A queued experiment's commit holds the same line with
//! `state: queued` and no results yet. Newer formats are refused, not misread.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The marker that starts the summary line.
pub const TRAILER: &str = "mlops-exp: ";
/// The format this version writes.
pub const FORMAT: u32 = 1;

/// Where an experiment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for `mlops exp run --run-all`.
    Queued,
    /// Claimed by a `--run-all` that is running it.
    Running,
    /// Ran to the end: its ref holds the results.
    Done,
}

/// An experiment's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub format: u32,
    pub name: String,
    /// The commit it started from.
    pub baseline: String,
    pub state: State,
    /// `file:key` -> the value `-S` gave (absent for a deleted key).
    pub overrides: BTreeMap<String, serde_json::Value>,
    /// `file:key` -> value, as the stages ran.
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    /// `file:key` -> value, from the stages' metrics files.
    #[serde(default)]
    pub metrics: BTreeMap<String, serde_json::Value>,
    /// Stage -> `ran`, `restored` or `skipped`.
    #[serde(default)]
    pub stages: BTreeMap<String, String>,
    /// Wall time of the run, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    pub mlops_version: String,
}

impl Summary {
    /// The commit message holding this summary.
    pub fn message(&self) -> String {
        let mut subject = format!("mlops exp {}", self.name);
        if !self.overrides.is_empty() {
            subject.push(':');
            for (key, value) in &self.overrides {
                let key = key.strip_prefix("params.yaml:").unwrap_or(key);
                let _ = write!(subject, " {key}={value}");
            }
        }
        let json = serde_json::to_string(self).expect("a summary serialises");
        format!("{subject}\n\n{TRAILER}{json}\n")
    }

    /// The summary in a commit message, if it holds one of a format this version reads.
    pub fn parse(message: &str) -> Option<Self> {
        let line = message
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix(TRAILER))?;
        let summary: Self = serde_json::from_str(line).ok()?;
        (summary.format <= FORMAT).then_some(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_round_trips_through_its_message() {
        let summary = Summary {
            format: FORMAT,
            name: "brisk-lark".into(),
            baseline: "a".repeat(40),
            state: State::Done,
            overrides: BTreeMap::from([("params.yaml:train.lr".into(), 0.01.into())]),
            params: BTreeMap::from([("params.yaml:train.lr".into(), 0.01.into())]),
            metrics: BTreeMap::from([("metrics.json:auc".into(), 0.9.into())]),
            stages: BTreeMap::from([("train".into(), "ran".into())]),
            duration_s: Some(1.5),
            mlops_version: "0.1.0".into(),
        };
        let message = summary.message();
        assert!(message.starts_with("mlops exp brisk-lark: train.lr=0.01\n\n"));
        assert_eq!(Summary::parse(&message), Some(summary.clone()));
        let newer = message.replace("\"format\":1", "\"format\":2");
        assert_eq!(Summary::parse(&newer), None);
        assert_eq!(Summary::parse("an ordinary commit"), None);
    }
}
