//! The drift report: what `mlops drift --json` prints.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::gates::GateResult;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftReport {
    pub reference: Source,
    pub batches: Vec<BatchReport>,
    /// Whether any batch shows dataset drift.
    pub dataset_drift: bool,
    /// For each column that drifted, the first batch where it did.
    pub first_drifted: BTreeMap<String, String>,
    /// Each gate on each batch.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<GateResult>,
    /// Whether every gate passed on every batch.
    pub passed: bool,
}

/// Where the reference came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    pub source: String,
    pub rows: usize,
}

/// One batch of current data against the reference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchReport {
    pub name: String,
    pub rows: usize,
    pub columns: Vec<ColumnReport>,
    /// Columns not tested, with the reason.
    pub skipped: Vec<Skipped>,
    pub schema: SchemaChanges,
    /// Drifted feature columns (prediction and target columns are reported, not counted).
    pub drifted_columns: usize,
    pub share_drifted: f64,
    pub dataset_drift: bool,
}

/// One column's test in one batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnReport {
    pub column: String,
    pub kind: Kind,
    pub role: Role,
    pub test: &'static str,
    pub statistic: f64,
    pub p_value: Option<f64>,
    pub threshold: f64,
    pub drifted: bool,
    pub missing_share_ref: f64,
    pub missing_share_cur: f64,
    /// Categories in the batch that the reference never had.
    pub new_categories: Vec<String>,
    /// Numbers in the batch outside the reference's range.
    pub out_of_range: usize,
    /// Both distributions, for charts; not part of the JSON report.
    #[serde(skip)]
    pub histogram: Histogram,
}

/// Each side's share of rows per bin (numbers, equal-width bins over both sides' range) or per
/// category (the most frequent, the rest as `(other)`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// A bin's lower edge, or a category.
    pub labels: Vec<String>,
    pub reference: Vec<f64>,
    pub current: Vec<f64>,
}

/// How a column is tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Numeric,
    Categorical,
    /// Free text or identifiers: not tested.
    Text,
}

/// What a column is to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Feature,
    Prediction,
    Target,
}

/// A column left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub column: String,
    pub reason: String,
}

/// Columns that differ between the reference and a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SchemaChanges {
    /// In the batch only.
    pub added: Vec<String>,
    /// In the reference only.
    pub removed: Vec<String>,
    /// Numbers on one side, text on the other.
    pub changed_type: Vec<String>,
}
