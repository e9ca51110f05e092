//! Human review of uncertain predictions (partial automation): rows whose score lies in
//! `serve.yaml`'s `review.band` are flagged in the answer (`needs_review`) and go to a review
//! queue, Parquet under `<log-dir>/_review/` written as the prediction log is; [`queue`] hands
//! out the oldest of them that no label has come for yet, for a labelling tool.
//!
//! The score is a binary model's score, a multiclass model's top score; a regression has none,
//! so nothing of it is flagged. The queue's directory starts with `_`, which readers of the
//! prediction log skip, so `mlops eval` and `mlops drift` on the log never read it twice.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use mlops_data::rows::Values;
use mlops_data::{Dataset, ReadOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::config::Review;
use crate::error::{Error, Result};

/// The review queue's directory under the log directory.
pub const QUEUE_DIR: &str = "_review";

/// Which rows of `scored` (predict's columns: the prediction, then the scores) need review;
/// `None` when the model gives no score.
pub(crate) fn flagged(band: Review, scored: &[(String, Values)]) -> Option<Vec<bool>> {
    // Scores are f32: the band's ends are too, so a score written as 0.35 is in [0.35, ...].
    #[allow(clippy::cast_possible_truncation, reason = "scores are f32")]
    let band = (band.low as f32)..=(band.high as f32);
    let tops = crate::reply::row_scores(scored)?;
    Some(tops.iter().map(|top| band.contains(top)).collect())
}

/// The oldest `limit` rows of the review queue under `log_dir` that the labels log at
/// `labels_dir` has no label for (by request id and row), oldest first; `None` when none is
/// waiting. One file holds one set of columns: the rows with the oldest row's (one model's
/// inputs and outputs); cases of another model come once those are labelled.
///
/// # Errors
/// A queue or labels log that cannot be read.
pub fn queue(log_dir: &Path, labels_dir: &Path, limit: usize) -> Result<Option<RecordBatch>> {
    let queue_dir = log_dir.join(QUEUE_DIR);
    if !queue_dir.is_dir() {
        return Ok(None);
    }
    let labelled = labelled(labels_dir)?;
    let mut waiting: Vec<(i64, RecordBatch, usize)> = Vec::new();
    for batch in batches(&queue_dir)? {
        let ids = text(&batch, "request_id", &queue_dir)?;
        let rows = int(&batch, "row", &queue_dir)?;
        let stamps = int(&batch, "timestamp", &queue_dir)?;
        for r in 0..batch.num_rows() {
            if !labelled.contains(&(ids.value(r).to_owned(), rows.value(r))) {
                waiting.push((stamps.value(r), batch.clone(), r));
            }
        }
    }
    if waiting.is_empty() {
        return Ok(None);
    }
    waiting.sort_by_key(|(stamp, _, _)| *stamp);
    let schema = waiting[0].1.schema();
    let rows: Vec<RecordBatch> = waiting
        .iter()
        .filter(|(_, batch, _)| batch.schema() == schema)
        .take(limit.max(1))
        .map(|(_, batch, r)| batch.slice(*r, 1))
        .collect();
    let bad = |e: arrow_schema::ArrowError| Error::Log(format!("{}: {e}", queue_dir.display()));
    let cases = arrow_select::concat::concat_batches(&schema, &rows).map_err(bad)?;
    readable(&cases).map(Some).map_err(bad)
}

/// `cases` with its timestamps as ISO 8601 text, which a CSV file and a labelling tool hold.
fn readable(cases: &RecordBatch) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    let mut fields = Vec::with_capacity(cases.num_columns());
    let mut columns = Vec::with_capacity(cases.num_columns());
    for (field, column) in cases.schema().fields().iter().zip(cases.columns()) {
        if matches!(
            field.data_type(),
            DataType::Timestamp(TimeUnit::Microsecond, _)
        ) {
            let micros = arrow_cast::cast(column, &DataType::Int64)?;
            let micros = micros
                .as_any()
                .downcast_ref::<Int64Array>()
                .cloned()
                .unwrap_or_else(|| Int64Array::from(Vec::<i64>::new()));
            let text: StringArray = micros.iter().map(|m| m.map(iso_8601)).collect();
            columns.push(Arc::new(text) as ArrayRef);
            fields.push(Field::new(
                field.name(),
                DataType::Utf8,
                field.is_nullable(),
            ));
        } else {
            columns.push(Arc::clone(column));
            fields.push(field.as_ref().clone());
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

/// The (request id, row) keys the labels log holds.
fn labelled(labels_dir: &Path) -> Result<HashSet<(String, i64)>> {
    let mut keys = HashSet::new();
    if !labels_dir.is_dir() {
        return Ok(keys);
    }
    for batch in batches(labels_dir)? {
        let ids = text(&batch, "request_id", labels_dir)?;
        let rows = int(&batch, "row", labels_dir)?;
        for r in 0..batch.num_rows() {
            keys.insert((ids.value(r).to_owned(), rows.value(r)));
        }
    }
    Ok(keys)
}

/// Every row of the Parquet files under `dir` (a log: its completed part files), as batches.
fn batches(dir: &Path) -> Result<Vec<RecordBatch>> {
    let files = Dataset::open(&[dir.to_owned()], ReadOptions::default()).map_err(Error::Data)?;
    let mut batches = Vec::new();
    for file in files.files() {
        let bad = |e: &dyn std::fmt::Display| Error::Log(format!("{}: {e}", file.display()));
        let reader = ParquetRecordBatchReaderBuilder::try_new(
            fs_err::File::open(file).map_err(Error::Io)?.into_parts().0,
        )
        .and_then(ParquetRecordBatchReaderBuilder::build)
        .map_err(|e| bad(&e))?;
        for batch in reader {
            batches.push(batch.map_err(|e| bad(&e))?);
        }
    }
    Ok(batches)
}

fn column<'a>(batch: &'a RecordBatch, name: &str, dir: &Path) -> Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| Error::Log(format!("{}: no column `{name}`", dir.display())))
}

/// Column `name` of `batch`, cast to `T`'s type (the log's keys: text, integers, timestamps
/// as microseconds).
fn cast<T: Array + Clone + 'static>(
    batch: &RecordBatch,
    name: &str,
    to: &DataType,
    dir: &Path,
) -> Result<T> {
    let bad =
        |e: &dyn std::fmt::Display| Error::Log(format!("{}: column `{name}`: {e}", dir.display()));
    let array = arrow_cast::cast(column(batch, name, dir)?, to).map_err(|e| bad(&e))?;
    array
        .as_any()
        .downcast_ref::<T>()
        .cloned()
        .ok_or_else(|| bad(&format!("not {to}")))
}

fn text(batch: &RecordBatch, name: &str, dir: &Path) -> Result<StringArray> {
    cast(batch, name, &DataType::Utf8, dir)
}

fn int(batch: &RecordBatch, name: &str, dir: &Path) -> Result<Int64Array> {
    cast(batch, name, &DataType::Int64, dir)
}

/// Microseconds since 1970 as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
fn iso_8601(micros: i64) -> String {
    let (seconds, fraction) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    let (days, second) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = mlops_data::table::civil_from_days(days);
    let (hour, minute, second) = (second / 3600, second % 3600 / 60, second % 60);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{fraction:06}Z")
}

/// `flags` as a boolean array, for filtering a batch.
pub(crate) fn mask(flags: &[bool]) -> BooleanArray {
    BooleanArray::from(flags.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_as_iso_8601() {
        assert_eq!(iso_8601(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            iso_8601(1_796_643_254_243_934),
            "2026-12-07T11:34:14.243934Z"
        );
    }

    #[test]
    fn flags_the_scores_in_the_band() {
        let band = Review {
            low: 0.35,
            high: 0.65,
        };
        let scored = vec![
            ("prediction".to_owned(), Values::Int64(vec![0, 1, 1, 0])),
            (
                "score".to_owned(),
                Values::Float32(vec![0.1, 0.35, 0.65, 0.66]),
            ),
        ];
        assert_eq!(flagged(band, &scored), Some(vec![false, true, true, false]));
        let level = vec![("prediction".to_owned(), Values::Float32(vec![0.5]))];
        assert_eq!(flagged(band, &level), None, "a regression has no score");
    }
}
