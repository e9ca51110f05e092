//! What `mlops monitor` reports: the windows, one series per metric over them with the
//! reference band, and the alert rules' outcomes. Plain data with stable `snake_case` keys; the
//! binary renders it as text, JSON, Markdown, a Prometheus textfile or an HTML page.

use serde::{Deserialize, Serialize};

/// A monitoring run's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorReport {
    /// `1d`, `6h`, `50000 rows`.
    pub window: String,
    pub reference: ReferenceReport,
    pub windows: Vec<WindowReport>,
    /// One per metric, each with a point per window (in the order of `windows`).
    pub metrics: Vec<Series>,
    pub alerts: Vec<AlertReport>,
    /// Windows computed by this run (the rest came from the state file).
    pub computed: Vec<String>,
    /// No rule fired on any window.
    pub passed: bool,
}

/// What the reference gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceReport {
    pub rows: usize,
    pub windows: usize,
    pub features: Vec<String>,
    /// Whether CBPE calibrates the scores (`None`: no estimated performance).
    pub calibrated: Option<bool>,
    /// The principal components the reconstruction keeps (`None`: no multivariate drift).
    pub components: Option<usize>,
    /// The share of the variance they explain.
    pub explained_variance: Option<f64>,
}

/// One window of the predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowReport {
    pub key: String,
    /// First and last instant (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
    pub start: String,
    pub end: String,
    pub rows: usize,
    /// Rows with a label (`None`: no labels were given).
    pub labelled: Option<usize>,
}

/// A metric over the windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Series {
    /// `estimated.roc_auc`, `realised.f1`, `multivariate.error`, `drift.income`, ...
    pub name: String,
    /// The mean of the reference windows' values, and the band around it.
    pub reference: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub points: Vec<Point>,
}

/// A metric on one window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Point {
    /// `None` when the window cannot define it.
    pub value: Option<f64>,
    /// The interval around the value: ± 3 sampling errors (estimated, multivariate) or the
    /// bootstrap interval (realised).
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// Outside the reference band.
    pub alert: bool,
}

impl Point {
    /// A point without an interval.
    pub fn plain(value: f64, alert: bool) -> Self {
        Self {
            value: finite(value),
            low: None,
            high: None,
            alert,
        }
    }
}

/// `Some` for a finite number.
pub fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

/// One rule over the windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertReport {
    pub name: String,
    pub rule: String,
    /// Consecutive windows the condition must hold for.
    pub windows_in_a_row: usize,
    /// The windows it fires on.
    pub fired: Vec<String>,
    /// Deliveries made by this run (a window's firing is delivered once).
    pub deliveries: Vec<Delivery>,
}

/// One delivery of a firing to a sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    pub sink: String,
    pub window: String,
    pub attempts: usize,
    pub delivered: bool,
    /// The last attempt's outcome (`HTTP 200`, `timed out`, `exit status 1`).
    pub outcome: String,
}
