//! Arrow IPC stream bodies (`application/vnd.apache.arrow.stream`) on `infer` and
//! `/invocations`: the request is a stream of record batches holding the model's input columns,
//! read by name as `mlops predict` reads a file's; the answer is a stream of one batch of the
//! output columns, named as predict writes them.

use std::io::Cursor;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{Field, Schema};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mlops_data::rows::{Feature, Values};

use crate::reply::ApiError;

/// The media type of an Arrow IPC stream.
pub(crate) const CONTENT_TYPE: &str = "application/vnd.apache.arrow.stream";

/// Whether the request says its body is an Arrow IPC stream.
pub(crate) fn is_ipc(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(CONTENT_TYPE))
}

/// The model's input columns, by name, from every batch of the stream, as one batch; other
/// columns are left out, so the prediction log keeps only the inputs.
pub(crate) fn request(features: &[Feature], body: &[u8]) -> Result<RecordBatch, ApiError> {
    let bad = |e: arrow_schema::ArrowError| {
        ApiError::bad("body", format!("not a readable Arrow IPC stream: {e}"))
    };
    let reader = StreamReader::try_new(Cursor::new(body), None).map_err(bad)?;
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(bad)?;
    let all = arrow_select::concat::concat_batches(&schema, &batches).map_err(bad)?;
    let mut fields = Vec::with_capacity(features.len());
    let mut columns = Vec::with_capacity(features.len());
    for feature in features {
        let name = feature.column();
        let Some((index, field)) = schema.column_with_name(name) else {
            let available: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(ApiError::bad(
                name,
                format!(
                    "input column `{name}` is not in the stream (it has: {})",
                    available.join(", ")
                ),
            ));
        };
        fields.push(field.clone());
        columns.push(Arc::clone(all.column(index)));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(bad)
}

/// One batch of the output columns (`prediction`, then `score` or one per class) as a stream.
pub(crate) fn response(scored: &[(String, Values)]) -> Result<Response, ApiError> {
    let (fields, columns): (Vec<Field>, Vec<ArrayRef>) = scored
        .iter()
        .map(|(name, values)| {
            let array = values.clone().into_array();
            (Field::new(name, array.data_type().clone(), false), array)
        })
        .unzip();
    let failed = |e: arrow_schema::ArrowError| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "body", e.to_string())
    };
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(failed)?;
    let mut writer = StreamWriter::try_new(Vec::new(), &batch.schema()).map_err(failed)?;
    writer.write(&batch).map_err(failed)?;
    let bytes = writer.into_inner().map_err(failed)?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        bytes,
    )
        .into_response())
}
