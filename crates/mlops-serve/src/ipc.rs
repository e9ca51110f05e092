//! Arrow IPC stream bodies (`application/vnd.apache.arrow.stream`) on `infer` and
//! `/invocations`: the request is a stream of record batches holding the model's input columns,
//! read by name as `mlops predict` reads a file's; the answer is a stream of one batch of the
//! output columns, named as predict writes them.

use std::io::Cursor;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{DataType, Field, Schema};
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
    let bad = |e: &dyn std::fmt::Display| {
        ApiError::bad("body", format!("not a readable Arrow IPC stream: {e}"))
    };
    check_buffers(body).map_err(|e| bad(&e))?;
    let reader = StreamReader::try_new(Cursor::new(body), None).map_err(|e| bad(&e))?;
    let schema = reader.schema();
    if let Some(field) = schema.fields().iter().find(|f| has_union(f.data_type())) {
        // arrow-ipc slices a union's type ids by the length the stream claims, unchecked; no
        // model reads a union.
        return Err(ApiError::bad(
            field.name().as_str(),
            format!(
                "column `{}` is a union ({}), which no model reads",
                field.name(),
                field.data_type()
            ),
        ));
    }
    // arrow-ipc 60 still panics on some streams that pass its checks and ours (a typed buffer
    // whose length is no multiple of its width, apache/arrow-rs#7124); that panic is a
    // malformed body, not the server's fault. Nothing outside the reader is touched in it.
    let batches =
        std::panic::catch_unwind(AssertUnwindSafe(|| reader.collect::<Result<Vec<_>, _>>()))
            .map_err(|_| bad(&"its buffers do not fit its schema"))?
            .map_err(|e| bad(&e))?;
    let all = arrow_select::concat::concat_batches(&schema, &batches).map_err(|e| bad(&e))?;
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
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| bad(&e))
}

/// The most a compressed stream's buffers may declare they hold once decompressed.
const MAX_DECOMPRESSED: u64 = 1 << 30;

/// Checks what arrow-ipc's stream reader trusts in a body before it reads it: every buffer of
/// a record or dictionary batch lies inside its message's body (the reader slices it
/// unchecked, and panics otherwise: apache/arrow-rs#7124), and a compressed stream declares at
/// most [`MAX_DECOMPRESSED`] bytes in all (the reader reserves what each buffer declares
/// before decompressing it). Messages are framed as the reader frames them; any other fault,
/// the reader reports itself.
fn check_buffers(body: &[u8]) -> Result<(), String> {
    let word = |at: usize| {
        let bytes = body.get(at..at.checked_add(4)?)?;
        Some(i32::from_le_bytes(bytes.try_into().ok()?))
    };
    let (mut at, mut declared) = (0usize, 0u64);
    loop {
        let Some(mut length) = word(at) else {
            return Ok(());
        };
        at += 4;
        // The continuation marker 0xFFFFFFFF, then the length.
        if length == -1 {
            let Some(next) = word(at) else { return Ok(()) };
            (length, at) = (next, at + 4);
        }
        let Some(meta) = usize::try_from(length)
            .ok()
            .filter(|n| *n > 0)
            .and_then(|n| body.get(at..at.checked_add(n)?))
        else {
            return Ok(());
        };
        at += meta.len();
        let Ok(message) = arrow_ipc::root_as_message(meta) else {
            return Ok(());
        };
        let Some(data) = usize::try_from(message.bodyLength())
            .ok()
            .and_then(|n| body.get(at..at.checked_add(n)?))
        else {
            return Ok(());
        };
        at += data.len();
        let batch = message
            .header_as_record_batch()
            .or_else(|| message.header_as_dictionary_batch().and_then(|d| d.data()));
        let Some(batch) = batch else { continue };
        let compressed = batch.compression().is_some();
        for (i, buffer) in batch.buffers().into_iter().flatten().enumerate() {
            let bytes = usize::try_from(buffer.offset())
                .ok()
                .zip(usize::try_from(buffer.length()).ok())
                .and_then(|(start, n)| data.get(start..start.checked_add(n)?));
            let Some(bytes) = bytes else {
                return Err(format!(
                    "buffer {i} ({} bytes at {}) lies outside its message's {} bytes",
                    buffer.length(),
                    buffer.offset(),
                    data.len()
                ));
            };
            // A compressed buffer opens with its length once decompressed (-1: stored as is).
            if compressed && let Some(prefix) = bytes.get(..8) {
                let size = i64::from_le_bytes(prefix.try_into().expect("8 bytes"));
                declared = declared.saturating_add(u64::try_from(size).unwrap_or(0));
                if declared > MAX_DECOMPRESSED {
                    return Err(format!(
                        "its compressed buffers declare more than {MAX_DECOMPRESSED} bytes"
                    ));
                }
            }
        }
    }
}

/// Whether `data_type` is or holds a union.
fn has_union(data_type: &DataType) -> bool {
    match data_type {
        DataType::Union(..) => true,
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => has_union(f.data_type()),
        DataType::Struct(fields) => fields.iter().any(|f| has_union(f.data_type())),
        DataType::Dictionary(_, values) => has_union(values),
        DataType::RunEndEncoded(_, values) => has_union(values.data_type()),
        _ => false,
    }
}

/// One batch of the output columns (`prediction`, then `score` or one per class, then
/// `needs_review` when a review band is set) as a stream.
pub(crate) fn response(
    scored: &[(String, Values)],
    review: Option<&[bool]>,
) -> Result<Response, ApiError> {
    let (mut fields, mut columns): (Vec<Field>, Vec<ArrayRef>) = scored
        .iter()
        .map(|(name, values)| {
            let array = values.clone().into_array();
            (Field::new(name, array.data_type().clone(), false), array)
        })
        .unzip();
    if let Some(flags) = review {
        fields.push(Field::new(
            "needs_review",
            arrow_schema::DataType::Boolean,
            false,
        ));
        columns.push(Arc::new(arrow_array::BooleanArray::from(flags.to_vec())));
    }
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
    use arrow_ipc::CompressionType;
    use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
    use mlops_data::rows::Feature;

    use super::request;

    fn stream(compression: Option<CompressionType>) -> Vec<u8> {
        let columns: Vec<(&str, ArrayRef)> = vec![
            (
                "a",
                Arc::new(Float64Array::from(vec![Some(0.5), None, Some(2.0)])),
            ),
            (
                "plan",
                Arc::new(StringArray::from(vec!["pro", "basic", "x"])),
            ),
        ];
        let batch = RecordBatch::try_from_iter(columns).expect("a batch");
        let options = IpcWriteOptions::default()
            .try_with_compression(compression)
            .expect("lz4 is built in");
        let mut writer = StreamWriter::try_new_with_options(Vec::new(), &batch.schema(), options)
            .expect("writer");
        writer.write(&batch).expect("write");
        writer.write(&batch).expect("write");
        writer.into_inner().expect("finish")
    }

    /// Found by the fuzz test of `mlops serve`: a stream whose buffer offsets or lengths point
    /// outside its message panicked in arrow-ipc's reader, and a compressed buffer's length
    /// prefix was reserved as told. Every byte of a stream, overwritten, gives a batch or an
    /// error.
    #[test]
    fn every_corrupted_byte_gives_a_batch_or_an_error() {
        let features = [
            Feature::Numeric {
                column: "a".into(),
                mean: 0.0,
                std: 1.0,
            },
            Feature::OneHot {
                column: "plan".into(),
                categories: vec!["basic".into(), "pro".into()],
            },
        ];
        for compression in [None, Some(CompressionType::LZ4_FRAME)] {
            let valid = stream(compression);
            assert_eq!(request(&features, &valid).expect("valid").num_rows(), 6);
            for i in 0..valid.len() {
                for byte in [0x00, 0x7f, 0xff] {
                    let mut body = valid.clone();
                    body[i] = byte;
                    let _ = request(&features, &body);
                }
            }
        }
    }
}
