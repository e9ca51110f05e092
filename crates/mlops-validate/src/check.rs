//! [`check`]: each input file streamed once through every rule of a contract.
//!
//! Only the columns the rules name (and the `--id` column) are read, a piece of
//! [`PIECE_ROWS`] rows at a time, so memory holds one piece and the rules' own state. Each file
//! is checked on its own and reported in its own section, as a batch would be.

use std::path::Path;

use mlops_data::Dataset;

use crate::error::Result;
use crate::report::{FileReport, RuleResult, ValidateReport};
use crate::rules::Accumulator;
use crate::schema::{Check, Schema};

/// Rows read at a time.
pub const PIECE_ROWS: usize = 64 * 1024;

/// How to check.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// A column whose values name the unexpected rows (`partial_unexpected_ids`).
    pub id: Option<String>,
    /// The contract's path, as the report names it.
    pub schema_name: String,
}

/// Checks every file of `data` against `schema`.
///
/// # Errors
/// When a file cannot be read or lacks a column a rule (or `--id`) names.
pub fn check(data: &Dataset, schema: &Schema, options: &CheckOptions) -> Result<ValidateReport> {
    let files = data
        .files()
        .iter()
        .map(|path| check_file(&data.file(path), path, schema, options))
        .collect::<Result<Vec<_>>>()?;
    Ok(ValidateReport {
        schema: options.schema_name.clone(),
        passed: files.iter().all(|f| f.passed),
        files,
    })
}

/// One file's results.
fn check_file(
    data: &Dataset,
    path: &Path,
    schema: &Schema,
    options: &CheckOptions,
) -> Result<FileReport> {
    let mut columns = schema.columns();
    if let Some(id) = &options.id
        && !columns.contains(&id.as_str())
    {
        columns.push(id);
    }
    // A contract of table rules only still needs rows counted: the first column is read.
    let first;
    if columns.is_empty() {
        first = data.schema()?.into_iter().next().map(|c| c.name);
        columns.extend(first.as_deref());
    }
    let mut accumulators: Vec<Accumulator> = schema
        .rules
        .iter()
        .map(|rule| Accumulator::new(rule, options.id.is_some()))
        .collect();
    let mut rows = 0u64;
    if !columns.is_empty() {
        data.for_each_piece(&columns, PIECE_ROWS, |piece| -> Result<()> {
            let ids = options.id.as_deref().and_then(|id| piece.column(id));
            for accumulator in &mut accumulators {
                accumulator.feed(&piece, ids);
            }
            rows += piece.rows as u64;
            Ok(())
        })?;
    }
    let rules: Vec<RuleResult> = schema
        .rules
        .iter()
        .zip(accumulators)
        .map(|(rule, accumulator)| RuleResult {
            name: rule.name.clone(),
            expect: rule.check.expect(),
            column: rule.column.clone(),
            column_list: match &rule.check {
                Check::CompoundUnique { columns, .. } => Some(columns.clone()),
                _ => None,
            },
            severity: rule.severity,
            outcome: accumulator.finish(),
        })
        .collect();
    Ok(FileReport {
        file: path.display().to_string(),
        rows,
        passed: !rules.iter().any(RuleResult::fails),
        rules,
    })
}
