//! What a check returns: per input file its rows and each rule's result, with Great
//! Expectations' result fields under GE's names. Every key is always written (`null` where a
//! field does not apply), so the JSON's shape is stable.

use serde::Serialize;
use serde_json::Value;

use crate::schema::Severity;

/// The result of checking every input file.
#[derive(Debug, Clone, Serialize)]
pub struct ValidateReport {
    /// The contract's path, as given.
    pub schema: String,
    /// Each file's results, or with `--batch-by` each batch's.
    pub files: Vec<FileReport>,
    /// No error-severity rule failed on any file.
    pub passed: bool,
}

/// One input file's results, or with `--batch-by` one batch's (of every file).
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// The file; `null` for a batch.
    pub file: Option<String>,
    /// The batch's value or period with `--batch-by`, else `null`.
    pub batch: Option<String>,
    pub rows: u64,
    /// No error-severity rule failed.
    pub passed: bool,
    pub rules: Vec<RuleResult>,
}

/// One rule's result.
#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    pub name: String,
    /// GE's expectation name, without `expect_`.
    pub expect: &'static str,
    pub column: Option<String>,
    /// The columns of `compound_columns_to_be_unique`.
    pub column_list: Option<Vec<String>>,
    pub severity: Severity,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl RuleResult {
    /// Whether this result fails the check: an error rule that did not succeed.
    pub fn fails(&self) -> bool {
        !self.outcome.success && self.severity == Severity::Error
    }
}

/// GE's result fields of one expectation.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Outcome {
    pub success: bool,
    /// Every row.
    pub element_count: Option<u64>,
    /// Rows left out of the test: nulls, or rows `ignore_row_if` ignores.
    pub missing_count: Option<u64>,
    pub missing_percent: Option<f64>,
    pub unexpected_count: Option<u64>,
    /// Unexpected rows per 100 rows tested (non-null); `null` when none were.
    pub unexpected_percent: Option<f64>,
    /// The same as `unexpected_percent` where GE gives it (not for `not_be_null`).
    pub unexpected_percent_nonmissing: Option<f64>,
    /// Unexpected rows per 100 rows.
    pub unexpected_percent_total: Option<f64>,
    /// The first 20 unexpected values, in row order.
    pub partial_unexpected_list: Option<Vec<Value>>,
    /// The `--id` column's values of those rows.
    pub partial_unexpected_ids: Option<Vec<Value>>,
    pub observed_value: Option<Value>,
    /// More of what was found: `table_columns_to_match_set`'s `{"mismatched": {"unexpected":
    /// [...], "missing": [...]}}` (GE's), or `{"missing_column": NAME}` for a rule whose column
    /// the file lacks.
    pub details: Option<Value>,
}
