//! Row filters (`--where`): a condition in the expression language of the gates (`mlops-expr`),
//! evaluated over a record batch a column at a time, and checked first against a Parquet file's
//! row-group statistics and a file's partition values, so that rows that cannot match are not
//! read at all.
//!
//! # Meaning
//!
//! - A name is a column: `income`, `a.b` for a column named so, `column(income (net))` for a
//!   name the language cannot write bare. Every name must be a column of every file read.
//! - Numbers of any type (integers, floats, decimals) compare and compute as 64-bit floats:
//!   `x > 0`, `price * qty >= 100`, `score == 0.5 +- 1e-9`. A division by zero gives an
//!   infinity, `0 / 0` a missing value.
//! - Text compares with quoted text, byte by byte: `region == "eu"`, `name >= "m"`.
//! - A boolean column is a condition itself (`churned`, `not churned`) or compares with `true`
//!   and `false`.
//! - A date or timestamp column (a hive `date=2026-12-01` directory too) compares with an ISO date
//!   or date-time in quotes, `date >= "2026-12-01"`, `ts < "2026-12-01T12:00:00"`; timestamps are
//!   UTC.
//! - A missing value (a null, or a float's NaN) makes a comparison unknown, and a row whose
//!   condition is unknown is dropped, as in SQL: `x != 1` keeps no row where
//!   `x` is missing. `not` of unknown is unknown; `and` and `or` decide where one side does
//!   (`false and unknown` is false, `true or unknown` is true).
//! - `x is null` holds where `x` is missing (null, NaN, `0 / 0`), `x is not null` where it is
//!   not, for any column type; neither is ever unknown. A partition value is missing only as
//!   `__HIVE_DEFAULT_PARTITION__`.
//!
//! The evaluation lives in `eval`; the statistics and partition checks in `prune`.

mod eval;
mod prune;

use std::path::Path as FilePath;

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, Field, Schema};
use mlops_expr::{Expr, ParseError, Path, Segment};
use parquet::file::metadata::ParquetMetaData;

use crate::batches::{BatchReader, Partition};
use crate::error::{Error, Result};

pub(crate) use prune::Bound;

/// A parsed `--where` condition and the columns it names.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    expr: Expr,
    /// Each column named, once, in the order first written.
    columns: Vec<String>,
}

impl Filter {
    /// Parses `text` as a condition on columns.
    ///
    /// # Errors
    /// [`Error::Filter`] when the text does not parse, is not a condition (`x + 1`), or names
    /// something that is not a column (`slices.min(recall)`).
    pub fn parse(text: &str) -> Result<Self> {
        // A name alone may be a boolean column (`churned`); whether it is one is known only
        // from a file's schema. Anything else must be a condition already in the text.
        let expr = Expr::parse(text).map_err(filter_error)?;
        if expr.root().as_path().is_none() {
            Expr::condition(text).map_err(filter_error)?;
        }
        let mut columns: Vec<String> = Vec::new();
        for path in expr.paths() {
            let Some(name) = column_name(path) else {
                return Err(filter_error(expr.error_at(
                    path.column,
                    format!(
                        "`{path}` is not a column name; write a column as `name`, or as `column(name)` when its name has spaces or other signs"
                    ),
                )));
            };
            if !columns.contains(&name) {
                columns.push(name);
            }
        }
        Ok(Filter { expr, columns })
    }

    /// The condition as written.
    pub fn text(&self) -> &str {
        self.expr.text()
    }

    /// The columns the condition reads, each once, in the order first written.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The condition on each row of `table` (which holds at least the condition's columns):
    /// `Some(true)`, `Some(false)`, or `None` where a missing value leaves it unknown.
    ///
    /// # Errors
    /// [`Error::Filter`] for a column `table` lacks, or of a type the condition cannot compare,
    /// at that part of the condition.
    pub fn verdicts(&self, table: &crate::table::Table) -> Result<Vec<Option<bool>>> {
        if let Some(path) = self
            .expr
            .paths()
            .into_iter()
            .find(|path| column_name(path).is_none_or(|name| table.column(&name).is_none()))
        {
            return Err(filter_error(
                self.expr
                    .error_at(path.column, format!("unknown column `{path}`")),
            ));
        }
        let names: Vec<&str> = self.columns.iter().map(String::as_str).collect();
        let batch = table.record_batch_of(&names);
        let truth = eval::truth_with_unknown(&self.expr, &batch).map_err(filter_error)?;
        Ok((0..table.rows).map(|i| truth.verdict(i)).collect())
    }

    /// Checks the condition against the columns of `path` (`schema`: the file's columns and its
    /// partition columns): every name a column, every comparison of types that compare.
    ///
    /// # Errors
    /// [`Error::UnknownFilterColumn`] naming the closest column, or [`Error::Filter`] at the
    /// comparison whose types do not go together.
    pub(crate) fn check(&self, path: &FilePath, schema: &Schema) -> Result<()> {
        let names = || schema.fields().iter().map(|f| f.name().as_str());
        if let Some(missing) = self.columns.iter().find(|c| !names().any(|n| n == *c)) {
            return Err(Error::UnknownFilterColumn {
                filter: self.text().to_owned(),
                column: missing.clone(),
                path: path.to_owned(),
                available: names().collect::<Vec<_>>().join(", "),
                suggestion: mlops_core::suggest::closest(missing, names()),
            });
        }
        // The types are checked by evaluating on no rows: the same code decides as on data.
        let mut fields = Vec::new();
        for name in &self.columns {
            fields.push(schema.field_with_name(name).expect("checked above").clone());
        }
        let empty = RecordBatch::new_empty(std::sync::Arc::new(Schema::new(fields)));
        eval::truth(&self.expr, &empty)
            .map(drop)
            .map_err(filter_error)
    }

    /// The rows of `batch` where the condition is true.
    ///
    /// # Errors
    /// [`Error::Filter`] for a column missing from the batch or of a type the condition cannot
    /// compare (which [`Filter::check`] finds first).
    pub(crate) fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let keep = eval::truth(&self.expr, &batch).map_err(filter_error)?.value;
        if keep.count_set_bits() == batch.num_rows() {
            return Ok(batch);
        }
        let keep = arrow_array::BooleanArray::new(keep, None);
        Ok(arrow_select::filter::filter_record_batch(&batch, &keep)
            .expect("a mask of one bit per row filters every Arrow type"))
    }

    /// Whether a row can match where each column lies within `bound(name)`: false only when the
    /// bounds prove that no row does.
    pub(crate) fn may_match<'a>(&self, bound: impl Fn(&str) -> Option<&'a Bound>) -> bool {
        prune::possible(self.expr.root(), &bound)
    }
}

/// A filter as the batch opener applies it to one file, with the file's partition columns: their
/// fields (names the filter may use) and their values (which may rule the whole file out).
pub(crate) struct Filtering {
    filter: Filter,
    partitions: Vec<(Field, Bound)>,
    /// The columns `--schema` gives a type: the filter sees them converted, so what is known of
    /// them as stored (statistics, a partition key's own type) proves nothing.
    retyped: Vec<String>,
}

impl Filtering {
    /// `filter` for a file whose directories give `partitions`, the `retyped` columns converted
    /// before the filter sees them.
    pub(crate) fn new(
        filter: &Filter,
        partitions: impl IntoIterator<Item = (Field, Partition)>,
        retyped: impl IntoIterator<Item = String>,
    ) -> Self {
        let retyped: Vec<String> = retyped.into_iter().collect();
        Filtering {
            filter: filter.clone(),
            partitions: partitions
                .into_iter()
                .map(|(field, value)| {
                    let bound = if retyped.contains(field.name()) {
                        Bound::Unknown
                    } else {
                        prune::bound(&value)
                    };
                    (field, bound)
                })
                .collect(),
            retyped,
        }
    }

    /// `wanted`, then the filter's columns not among them: what the file is read for.
    pub(crate) fn columns<'a>(&'a self, wanted: &[&'a str]) -> Vec<&'a str> {
        let mut columns = wanted.to_vec();
        for name in self.filter.columns() {
            if !columns.contains(&name.as_str()) {
                columns.push(name);
            }
        }
        columns
    }

    /// Checks the filter against the columns of an opened file (`schema`: its own columns, then
    /// its partition columns), before any row is read.
    ///
    /// # Errors
    /// What [`Filter::check`] refuses.
    pub(crate) fn check(&self, path: &FilePath, schema: &Schema) -> Result<()> {
        self.filter.check(path, schema)
    }

    /// `err`, opening a file for [`Filtering::columns`], as the filter's error when the column
    /// it misses is the filter's alone (`wanted`: the command's own columns).
    pub(crate) fn unknown_column(&self, err: Error, wanted: &[&str]) -> Error {
        match err {
            Error::MissingColumn {
                path,
                column,
                available,
            } if !wanted.contains(&column.as_str()) => {
                let mut names: Vec<&str> = available.iter().map(String::as_str).collect();
                names.extend(self.partitions.iter().map(|(f, _)| f.name().as_str()));
                Error::UnknownFilterColumn {
                    filter: self.filter.text().to_owned(),
                    suggestion: mlops_core::suggest::closest(&column, names.iter().copied()),
                    available: names.join(", "),
                    column,
                    path,
                }
            }
            other => other,
        }
    }

    /// The row groups of a Parquet file (`file`: its own Arrow schema) that may hold a match.
    pub(crate) fn row_groups(&self, metadata: &ParquetMetaData, file: &Schema) -> Vec<usize> {
        // A retyped column is looked up first, as unknown, so its statistics are never used.
        let partitions: Vec<(String, Bound)> = self
            .retyped
            .iter()
            .map(|name| (name.clone(), Bound::Unknown))
            .chain(
                self.partitions
                    .iter()
                    .map(|(f, bound)| (f.name().clone(), bound.clone())),
            )
            .collect();
        prune::row_groups(&self.filter, metadata, file, &partitions)
    }

    /// Whether the partition values alone prove that no row of the file matches.
    pub(crate) fn rules_out_file(&self) -> bool {
        !self.filter.may_match(|name| {
            self.partitions
                .iter()
                .find(|(f, _)| f.name() == name)
                .map(|(_, bound)| bound)
        })
    }

    /// `batches` (read for [`Filtering::columns`]) cut to the rows where the filter holds and to
    /// the `wanted` columns; a batch left with no row is not passed on.
    pub(crate) fn apply(self, batches: BatchReader, wanted: &[&str]) -> BatchReader {
        let wanted: Vec<String> = wanted.iter().map(|&w| w.to_owned()).collect();
        Box::new(batches.filter_map(move |batch| {
            let kept = batch.and_then(|batch| {
                let batch = self
                    .filter
                    .apply(batch)
                    .map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
                let columns: Vec<usize> = batch
                    .schema()
                    .fields()
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| wanted.contains(f.name()))
                    .map(|(i, _)| i)
                    .collect();
                batch.project(&columns)
            });
            match kept {
                Ok(batch) if batch.num_rows() == 0 => None,
                kept => Some(kept),
            }
        }))
    }
}

/// The column a name stands for: its dotted text, or `NAME` in `column(NAME)`.
pub(crate) fn column_name(path: &Path) -> Option<String> {
    match path.segments.as_slice() {
        [
            Segment {
                name,
                args: Some(args),
            },
        ] if name == "column" && args.len() == 1 => Some(args[0].clone()),
        _ => path.dotted(),
    }
}

fn filter_error(e: ParseError) -> Error {
    Error::Filter(e.named("filter"))
}

#[cfg(test)]
mod tests;
