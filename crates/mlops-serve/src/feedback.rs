//! `POST /v2/feedback`: labels that arrive after their predictions, by request id and row.
//!
//! A body is `{"id": REQUEST_ID, "labels": [...]}` with one label per row of that request, in
//! row order, or `{"id": ..., "row": i, "label": x}` for one row. Each label becomes a row of
//! the labels log (request id, row, label, timestamp), which joins the prediction log on
//! (request id, row). The server does not check the id against what it answered: labels may
//! arrive after a restart, for requests another replica answered.

use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use serde_json::Value;

use crate::log::{row_indices, timestamps};
use crate::reply::ApiError;

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
    let count = rows.len();
    let (timestamp, stamps) = timestamps(now, count);
    let fields = vec![
        Field::new("request_id", arrow_schema::DataType::Utf8, false),
        Field::new("row", arrow_schema::DataType::Int64, false),
        Field::new("label", label.data_type().clone(), false),
        timestamp,
    ];
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
            id, count,
        ))),
        row_indices(rows.into_iter()),
        label,
        stamps,
    ];
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
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
