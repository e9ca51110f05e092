//! `monitor.yaml`: what to watch and whom to tell. Every key is optional; flags given on the
//! command line win over the file.
//!
//! ```yaml
//! reference: data/validation.parquet
//! predictions: .mlops/predictions/churn
//! labels: .mlops/labels/churn
//! window: 1d
//! columns: {score: score, prediction: prediction, label: label, id: [request_id, row]}
//! alerts:
//!   - name: auc-low
//!     when: estimated.roc_auc < 0.75
//!     for: 2                     # consecutive windows
//!     sinks: [slack, pager]
//! sinks:
//!   slack: {type: webhook, url_secret: SLACK_WEBHOOK_URL}
//!   pager: {type: pagerduty, routing_key_secret: PAGERDUTY_ROUTING_KEY}
//!   am:    {type: alertmanager, url_secret: ALERTMANAGER_URL}
//!   log:   {type: command, command: [sh, -c, 'cat >> alerts.jsonl']}
//! ```
//!
//! A sink's URL and key are secrets: the file names them (`url_secret`), and their values come
//! from the environment variable of that name or the `secrets:` of `.mlops/config.local.yaml`
//! (git-ignored), never from a committed file. A `url:` or `routing_key:` in the file is refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::rules::Rule;
use crate::sinks::{Kind, Sink};
use crate::univariate::Test;

/// The file as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub reference: Option<PathBuf>,
    pub predictions: Option<PathBuf>,
    pub labels: Option<PathBuf>,
    pub window: Option<String>,
    #[serde(default)]
    pub columns: ColumnsSection,
    #[serde(default)]
    pub drift: DriftSection,
    #[serde(default)]
    pub alerts: Vec<AlertSection>,
    #[serde(default)]
    pub sinks: BTreeMap<String, SinkSection>,
}

/// `columns:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnsSection {
    pub timestamp: Option<String>,
    pub score: Option<String>,
    pub prediction: Option<String>,
    pub label: Option<String>,
    pub id: Option<Vec<String>>,
    pub features: Option<Vec<String>>,
    pub pos_label: Option<String>,
    pub threshold: Option<f64>,
}

/// `drift:`: how each column's drift is measured.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftSection {
    /// `nannyml` (the default) or a test of `mlops drift` (`ks`, `psi`, `wasserstein`, ...).
    pub test: Option<String>,
    /// The test's threshold [default: its own].
    pub threshold: Option<f64>,
}

/// One entry of `alerts:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSection {
    pub name: String,
    pub when: String,
    #[serde(default = "one", rename = "for")]
    pub windows_in_a_row: usize,
    #[serde(default)]
    pub sinks: Vec<String>,
}

fn one() -> usize {
    1
}

/// One entry of `sinks:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkSection {
    #[serde(rename = "type")]
    pub kind: String,
    pub url_secret: Option<String>,
    pub routing_key_secret: Option<String>,
    pub command: Option<Vec<String>>,
    /// Refused: present only to say where a URL belongs.
    pub url: Option<String>,
    /// Refused: present only to say where a key belongs.
    pub routing_key: Option<String>,
    pub retries: Option<usize>,
    pub timeout_seconds: Option<f64>,
    pub backoff_seconds: Option<f64>,
}

/// Delivery defaults: 3 retries after the first attempt, 10 s per attempt, 0.5 s backoff
/// doubling each retry.
pub const RETRIES: usize = 3;
pub const TIMEOUT_SECONDS: f64 = 10.0;
pub const BACKOFF_SECONDS: f64 = 0.5;

impl ConfigFile {
    /// Reads `path`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the file, for unreadable or invalid YAML and unknown keys.
    pub fn load(path: &Path) -> Result<Self> {
        let text = fs_err::read_to_string(path).map_err(|e| Error::Config {
            file: path.to_owned(),
            message: e.to_string(),
        })?;
        mlops_core::yaml::from_str(&text).map_err(|message| Error::Config {
            file: path.to_owned(),
            message,
        })
    }

    /// The drift test: `test` and `threshold` (flags) over `drift:` over NannyML's.
    ///
    /// # Errors
    /// [`Error::DriftTest`] for an unknown name or a threshold that is not a finite number;
    /// [`Error::NannyMlThreshold`] for a threshold given to NannyML's test.
    pub fn drift_test(&self, test: Option<&str>, threshold: Option<f64>) -> Result<Test> {
        let name = test.or(self.drift.test.as_deref()).unwrap_or(Test::NANNYML);
        let threshold = threshold.or(self.drift.threshold);
        let bad = || Error::DriftTest {
            given: name.to_owned(),
            threshold,
        };
        if threshold.is_some_and(|t| !t.is_finite()) {
            return Err(bad());
        }
        if name == Test::NANNYML && threshold.is_some() {
            return Err(Error::NannyMlThreshold);
        }
        Test::parse(name, threshold).ok_or_else(bad)
    }

    /// The rules of `alerts:`, each checked to name only sinks of `sinks:`.
    ///
    /// # Errors
    /// A rule that does not parse, or names an unknown sink.
    pub fn rules(&self, file: &Path) -> Result<Vec<Rule>> {
        self.alerts
            .iter()
            .map(|a| {
                if let Some(unknown) = a.sinks.iter().find(|s| !self.sinks.contains_key(*s)) {
                    return Err(Error::Config {
                        file: file.to_owned(),
                        message: format!(
                            "alert `{}` names sink `{unknown}`, which `sinks:` does not define",
                            a.name
                        ),
                    });
                }
                Rule::new(&a.name, &a.when, a.windows_in_a_row, a.sinks.clone())
            })
            .collect()
    }

    /// The sinks, their secrets looked up through `secret` (environment, then
    /// `config.local.yaml`).
    ///
    /// # Errors
    /// An unknown type, a missing field or secret, or a secret written into the file.
    pub fn sinks(
        &self,
        file: &Path,
        secret: &dyn Fn(&str) -> Option<String>,
    ) -> Result<BTreeMap<String, Sink>> {
        self.sinks
            .iter()
            .map(|(name, s)| {
                let bad = |message: String| Error::Config {
                    file: file.to_owned(),
                    message: format!("sink `{name}`: {message}"),
                };
                if s.url.is_some() || s.routing_key.is_some() {
                    return Err(bad(
                        "a URL or key is a secret and never belongs in a committed file: name it \
                         with `url_secret:` / `routing_key_secret:` and set that environment \
                         variable or `secrets:` in .mlops/config.local.yaml"
                            .to_owned(),
                    ));
                }
                let needed = |field: &Option<String>, key: &str| -> Result<String> {
                    let secret_name = field
                        .as_ref()
                        .ok_or_else(|| bad(format!("needs `{key}:` (the name of a secret)")))?;
                    secret(secret_name).ok_or_else(|| {
                        bad(format!(
                            "secret `{secret_name}` is not set: export it, or add it under \
                             `secrets:` in .mlops/config.local.yaml"
                        ))
                    })
                };
                let kind = match s.kind.as_str() {
                    "webhook" | "slack" => Kind::Webhook {
                        url: needed(&s.url_secret, "url_secret")?,
                    },
                    "alertmanager" => Kind::Alertmanager {
                        url: needed(&s.url_secret, "url_secret")?,
                    },
                    "pagerduty" => Kind::PagerDuty {
                        url: match &s.url_secret {
                            Some(_) => needed(&s.url_secret, "url_secret")?,
                            None => crate::sinks::PAGERDUTY_EVENTS_URL.to_owned(),
                        },
                        routing_key: needed(&s.routing_key_secret, "routing_key_secret")?,
                    },
                    "command" => Kind::Command {
                        argv: s.command.clone().filter(|c| !c.is_empty()).ok_or_else(|| {
                            bad("needs `command:` (a list: program, arguments)".to_owned())
                        })?,
                    },
                    other => {
                        return Err(bad(format!(
                            "type `{other}` is none of webhook, pagerduty, alertmanager, command"
                        )));
                    }
                };
                let seconds = |v: Option<f64>, default: f64, key: &str| -> Result<Duration> {
                    let v = v.unwrap_or(default);
                    Duration::try_from_secs_f64(v).map_err(|_| {
                        bad(format!("`{key}` must be a non-negative number of seconds"))
                    })
                };
                Ok((
                    name.clone(),
                    Sink {
                        name: name.clone(),
                        kind,
                        retries: s.retries.unwrap_or(RETRIES),
                        timeout: seconds(s.timeout_seconds, TIMEOUT_SECONDS, "timeout_seconds")?,
                        backoff: seconds(s.backoff_seconds, BACKOFF_SECONDS, "backoff_seconds")?,
                    },
                ))
            })
            .collect()
    }
}
