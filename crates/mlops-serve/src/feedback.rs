//! `POST /v2/feedback`: labels that arrive after their predictions, by request id and row.
//!
//! A body is `{"id": REQUEST_ID, "labels": [...]}` with one label per row of that request, in
//! row order, or `{"id": ..., "row": i, "label": x}` for one row. Each label becomes a row of
//! the labels log (request id, row, label, timestamp), which joins the prediction log on
//! (request id, row). The server does not check the id against what it answered: labels may
//! arrive after a restart, for requests another replica answered.
//!
//! [`record`] is the same for labels in a table (`mlops feedback FILE`): the rows go through
//! the log's writer into the same layout, with the same columns.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{ArrowError, Field, Schema};
use mlops_data::Dataset;
use mlops_data::table::{Column, Table};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::log::{LogOptions, Parts, now, row_indices, timestamps};
use crate::reply::ApiError;

/// Rows read from a table of labels at a time.
const PIECE_ROWS: usize = 65_536;

/// The columns of a table of labels.
#[derive(Debug, Clone)]
pub struct LabelColumns {
    /// The request id each label is for (any type; the log keeps it as text).
    pub id: String,
    /// The row within that request; `None` when every request had one row (row 0).
    pub row: Option<String>,
    /// The label: integers, numbers, text or booleans.
    pub label: String,
}

/// What [`record`] recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// Labels written to the log.
    pub labels: u64,
    /// Rows left out because their id or label was missing.
    pub skipped: u64,
}

/// Records the labels of `data` into the labels log under `dir`, as `POST /v2/feedback` does:
/// the same `date=` partitions and part files, the same columns (request id, row, label,
/// timestamp), every label stamped with this moment, so that a later recording of the same
/// key wins when eval joins them. Read a piece at a time; one part file per run.
///
/// # Errors
/// An unreadable table or a missing column (naming both), a row index that is not a whole
/// number from 0, and what writing the log meets.
pub fn record(data: &Dataset, columns: &LabelColumns, dir: &Path) -> Result<Recorded> {
    let options = LogOptions {
        dir: dir.to_owned(),
        rows: usize::MAX,
        age: Duration::MAX,
        warn: None,
        labels: None,
    };
    crate::log::sweep(dir);
    let mut parts = Parts::new(&options);
    let stamp = now();
    let mut wanted = vec![columns.id.as_str(), columns.label.as_str()];
    wanted.extend(columns.row.as_deref());
    let mut recorded = Recorded {
        labels: 0,
        skipped: 0,
    };
    let input = data.files().first().cloned().unwrap_or_default();
    data.for_each_piece(&wanted, PIECE_ROWS, |piece: Table| -> Result<()> {
        let Some(batch) = piece_labels(&piece, columns, &input, stamp, &mut recorded)? else {
            return Ok(());
        };
        parts.write_batch(batch, stamp)
    })?;
    parts.complete()?;
    Ok(recorded)
}

/// One piece of a labels table as the labels log's columns; `None` when no row of it has an
/// id and a label.
fn piece_labels(
    piece: &Table,
    columns: &LabelColumns,
    input: &Path,
    stamp: Duration,
    recorded: &mut Recorded,
) -> Result<Option<RecordBatch>> {
    let column = |name: &str| piece.column(name).expect("every column asked for was read");
    let ids = column(&columns.id).to_text();
    let labels = column(&columns.label);
    let rows = match &columns.row {
        Some(name) => row_numbers(column(name), name, input)?,
        None => vec![Some(0); piece.rows],
    };
    let kept: Vec<usize> = (0..piece.rows)
        .filter(|&r| ids[r].is_some() && rows[r].is_some() && present(labels, r))
        .collect();
    recorded.skipped += (piece.rows - kept.len()) as u64;
    if kept.is_empty() {
        return Ok(None);
    }
    recorded.labels += kept.len() as u64;
    let id_array: ArrayRef = Arc::new(
        kept.iter()
            .map(|&r| ids[r].as_deref())
            .collect::<StringArray>(),
    );
    let row_array = row_indices(kept.iter().filter_map(|&r| rows[r]));
    let label_array = piece.select(&[&columns.label]).take(&kept).columns[0].to_arrow();
    batch(id_array, row_array, label_array, stamp)
        .map(Some)
        .map_err(|e| Error::Log(e.to_string()))
}

/// Whether row `row` of `column` holds a value.
fn present(column: &Column, row: usize) -> bool {
    match column {
        Column::Bool(values) => values[row].is_some(),
        Column::Int(values) => values.is_present(row),
        Column::Float(values) => {
            values.is_present(row) && !values.get(row).is_some_and(f64::is_nan)
        }
        Column::Text { ids, .. } => ids[row] != Column::MISSING,
    }
}

/// A row column's indices: whole numbers from 0 (`None` where missing).
fn row_numbers(column: &Column, name: &str, input: &Path) -> Result<Vec<Option<u64>>> {
    let bad = |found: String| Error::BadLabels {
        column: name.to_owned(),
        input: input.to_owned(),
        found,
    };
    let values = column
        .to_floats()
        .ok_or_else(|| bad(format!("{} values", column.type_name())))?;
    values
        .into_iter()
        .map(|v| match v {
            None => Ok(None),
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "checked whole and in range"
            )]
            Some(v) if v.fract() == 0.0 && (0.0..9.0e15).contains(&v) => Ok(Some(v as u64)),
            Some(v) => Err(bad(format!("the value {v}"))),
        })
        .collect()
}

/// The labels log's columns: request id, row, label and the time recorded.
fn batch(
    ids: ArrayRef,
    rows: ArrayRef,
    label: ArrayRef,
    now: Duration,
) -> std::result::Result<RecordBatch, ArrowError> {
    let (timestamp, stamps) = timestamps(now, ids.len());
    let fields = vec![
        Field::new("request_id", arrow_schema::DataType::Utf8, false),
        Field::new("row", arrow_schema::DataType::Int64, false),
        Field::new("label", label.data_type().clone(), false),
        timestamp,
    ];
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        vec![ids, rows, label, stamps],
    )
}

/// The labels a feedback body gives, as the labels log's columns, stamped `now`.
pub(crate) fn labels(body: &Value, now: Duration) -> Result<RecordBatch, ApiError> {
    let Value::Object(body) = body else {
        return Err(ApiError::bad(
            "body",
            "expected a JSON object with `id` and `labels` (or `row` and `label`)",
        ));
    };
    let id = match body.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.as_str(),
        Some(other) => {
            return Err(ApiError::bad(
                "id",
                format!("expected the request's id as a non-empty string, got {other}"),
            ));
        }
        None => {
            return Err(ApiError::bad(
                "id",
                "missing: the id of the request labelled",
            ));
        }
    };
    let (rows, labels): (Vec<u64>, Vec<(String, &Value)>) =
        match (body.get("labels"), body.get("row"), body.get("label")) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(ApiError::bad(
                    "labels",
                    "give either `labels` (one per row) or `row` and `label`, not both",
                ));
            }
            (Some(Value::Array(labels)), None, None) if !labels.is_empty() => (
                (0..labels.len() as u64).collect(),
                labels
                    .iter()
                    .enumerate()
                    .map(|(i, l)| (format!("labels[{i}]"), l))
                    .collect(),
            ),
            (Some(other), None, None) => {
                return Err(ApiError::bad(
                    "labels",
                    format!("expected a non-empty array, one label per row, got {other}"),
                ));
            }
            (None, Some(row), Some(label)) => {
                let Some(row) = row.as_u64() else {
                    return Err(ApiError::bad(
                        "row",
                        format!("expected the row's index in its request (0, 1, ...), got {row}"),
                    ));
                };
                (vec![row], vec![("label".to_owned(), label)])
            }
            (None, Some(_), None) => {
                return Err(ApiError::bad("label", "missing: the label of `row`"));
            }
            (None, None, _) => {
                return Err(ApiError::bad(
                    "labels",
                    "missing: `labels` (one per row of the request) or `row` and `label`",
                ));
            }
        };
    let label = column(&labels)?;
    let ids = Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
        id,
        rows.len(),
    )));
    batch(ids, row_indices(rows.into_iter()), label, now)
        .map_err(|e| ApiError::bad("labels", e.to_string()))
}

/// The labels as one column: integers, numbers, text or booleans, all of one kind.
fn column(labels: &[(String, &Value)]) -> Result<ArrayRef, ApiError> {
    let kind = |value: &Value| match value {
        Value::Number(n) if n.is_i64() => Some("integer"),
        Value::Number(_) => Some("number"),
        Value::String(_) => Some("string"),
        Value::Bool(_) => Some("boolean"),
        _ => None,
    };
    let mut first: Option<(&str, &str)> = None;
    for (field, value) in labels {
        let Some(this) = kind(value) else {
            return Err(ApiError::bad(
                field.as_str(),
                format!("expected a number, string or boolean label, got {value}"),
            ));
        };
        let numeric = |k: &str| matches!(k, "integer" | "number");
        match first {
            None => first = Some((field, this)),
            Some((_, seen)) if seen == this || (numeric(seen) && numeric(this)) => {}
            Some((at, seen)) => {
                return Err(ApiError::bad(
                    field.as_str(),
                    format!("expected a {seen} label like {at}'s, got {value}"),
                ));
            }
        }
    }
    let values = labels.iter().map(|(_, v)| *v);
    let array: ArrayRef = if values.clone().all(Value::is_i64) {
        Arc::new(Int64Array::from_iter_values(
            values.filter_map(Value::as_i64),
        ))
    } else if values.clone().all(Value::is_number) {
        Arc::new(Float64Array::from_iter_values(
            values.filter_map(Value::as_f64),
        ))
    } else if values.clone().all(Value::is_string) {
        Arc::new(StringArray::from_iter_values(
            values.filter_map(Value::as_str),
        ))
    } else {
        Arc::new(values.map(Value::as_bool).collect::<BooleanArray>())
    };
    Ok(array)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use arrow_array::Array;
    use serde_json::json;

    use super::labels;

    #[test]
    fn labels_become_rows_by_index() {
        let batch = labels(&json!({"id": "r1", "labels": [1, 0, 1]}), Duration::ZERO).expect("ok");
        assert_eq!(batch.num_rows(), 3);
        let one = labels(
            &json!({"id": "r1", "row": 4, "label": "yes"}),
            Duration::ZERO,
        )
        .expect("ok");
        assert_eq!(one.column(1).len(), 1);
        let floats = labels(&json!({"id": "r", "labels": [1, 0.5]}), Duration::ZERO).expect("ok");
        assert_eq!(
            floats.column(2).data_type(),
            &arrow_schema::DataType::Float64
        );
    }

    #[test]
    fn bad_bodies_name_the_field() {
        let cases = [
            (json!([1]), "body"),
            (json!({"labels": [1]}), "id"),
            (json!({"id": 3, "labels": [1]}), "id"),
            (json!({"id": "r"}), "labels"),
            (json!({"id": "r", "labels": []}), "labels"),
            (json!({"id": "r", "labels": [1], "row": 0}), "labels"),
            (json!({"id": "r", "labels": [1, "a"]}), "labels[1]"),
            (json!({"id": "r", "labels": [1, null]}), "labels[1]"),
            (json!({"id": "r", "row": -1, "label": 1}), "row"),
            (json!({"id": "r", "row": 0}), "label"),
            (json!({"id": "r", "row": 0, "label": [1]}), "label"),
        ];
        for (body, field) in cases {
            let error = labels(&body, Duration::ZERO).expect_err("refused");
            let debug = format!("{error:?}");
            assert!(
                debug.contains(&format!("field: {field:?}")),
                "{body}: {debug}"
            );
        }
    }
}
