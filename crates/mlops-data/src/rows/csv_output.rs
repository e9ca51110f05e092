//! CSV output for scored rows: a header row, then each batch's rows, to a temp file renamed
//! into place at the end; a missing value is an empty field.

use std::path::Path;
#[cfg(test)]
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Schema};

use crate::error::{Error, Result};
use crate::table::table_error;
use mlops_core::outfile::OutFile;

/// Whether an output is written as CSV: when it is named `*.csv`.
pub(super) fn is_csv(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// Whether [`write_batch`] can spell a column of this type.
pub(super) fn writable(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(_, value) => writable(value),
        DataType::Float32 | DataType::Float64 => true,
        t => super::is_text(t) || super::is_category_number(t),
    }
}

/// Opens a CSV output and writes its header.
pub(super) fn create(path: &Path, schema: &Schema) -> Result<csv::Writer<OutFile>> {
    if let Some(field) = schema.fields().iter().find(|f| !writable(f.data_type())) {
        return Err(Error::WrongColumnType {
            path: path.to_owned(),
            column: field.name().clone(),
            found: field.data_type().to_string(),
            expected: "numbers, booleans or text to be written as CSV (a `.parquet` output takes any type)",
        });
    }
    let mut writer = csv::Writer::from_writer(OutFile::create(path)?);
    writer
        .write_record(schema.fields().iter().map(|f| f.name().as_str()))
        .map_err(|e| table_error(path, e))?;
    Ok(writer)
}

/// A column of a batch ready to be written: the common types read in place, a cell at a time
/// into one buffer (a string per cell cost more than the writing), the rest spelled out first.
enum Cells<'a> {
    Text(&'a StringArray),
    /// Floats in their shortest spelling that reads back to the same value.
    Float32(&'a arrow_array::Float32Array),
    Float64(&'a arrow_array::Float64Array),
    Int64(&'a arrow_array::Int64Array),
    Spelled(Vec<Option<String>>),
}

impl<'a> Cells<'a> {
    fn of(array: &'a ArrayRef) -> Self {
        match array.data_type() {
            DataType::Utf8 => Cells::Text(array.as_string::<i32>()),
            DataType::Float32 => Cells::Float32(array.as_primitive::<Float32Type>()),
            DataType::Float64 => Cells::Float64(array.as_primitive::<Float64Type>()),
            DataType::Int64 => Cells::Int64(array.as_primitive::<Int64Type>()),
            _ => Cells::Spelled(spelled(array)),
        }
    }

    /// Row `row`'s value, written into `buffer` where it needs spelling; `None` when missing.
    fn get<'b>(&'b self, row: usize, buffer: &'b mut String) -> Option<&'b str> {
        use std::fmt::Write as _;
        buffer.clear();
        match self {
            Cells::Text(a) => return a.is_valid(row).then(|| a.value(row)),
            Cells::Spelled(cells) => return cells[row].as_deref(),
            Cells::Float32(a) if a.is_valid(row) => write!(buffer, "{}", a.value(row)),
            Cells::Float64(a) if a.is_valid(row) => write!(buffer, "{}", a.value(row)),
            Cells::Int64(a) if a.is_valid(row) => write!(buffer, "{}", a.value(row)),
            Cells::Float32(_) | Cells::Float64(_) | Cells::Int64(_) => return None,
        }
        .expect("writing to a String cannot fail");
        Some(buffer.as_str())
    }
}

/// Each value of a column [`writable`] accepts, other than those [`Cells`] reads in place, as
/// text; missing values as `None`.
fn spelled(array: &ArrayRef) -> Vec<Option<String>> {
    match array.data_type() {
        DataType::Dictionary(..) => {
            let dictionary = array.as_any_dictionary();
            arrow_select::take::take(dictionary.values().as_ref(), dictionary.keys(), None)
                .map_or_else(
                    |_| vec![None; array.len()],
                    |values| {
                        let cells = Cells::of(&values);
                        let mut buffer = String::new();
                        (0..values.len())
                            .map(|row| cells.get(row, &mut buffer).map(str::to_owned))
                            .collect()
                    },
                )
        }
        _ => super::arrow_cast_text(array),
    }
}

/// Appends `batch`'s rows to a CSV output; a missing value is an empty field.
pub(super) fn write_batch(
    path: &Path,
    writer: &mut csv::Writer<OutFile>,
    batch: &RecordBatch,
) -> Result<()> {
    let columns: Vec<Cells<'_>> = batch.columns().iter().map(Cells::of).collect();
    let mut buffer = String::new();
    for row in 0..batch.num_rows() {
        for column in &columns {
            let cell = column.get(row, &mut buffer).unwrap_or_default();
            writer.write_field(cell).map_err(|e| table_error(path, e))?;
        }
        writer
            .write_record(None::<&[u8]>)
            .map_err(|e| table_error(path, e))?;
    }
    Ok(())
}

/// Flushes a CSV output and renames it into place.
pub(super) fn finish(path: &Path, writer: csv::Writer<OutFile>) -> Result<()> {
    let file = writer
        .into_inner()
        .map_err(|e| table_error(path, e.error()))?;
    file.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every type a CSV output takes, missing values (and empty text, which reads back as missing)
    /// as empty fields, a dictionary as its values.
    #[test]
    fn a_batch_is_written_as_text() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.csv");
        let columns: Vec<(&str, ArrayRef)> = vec![
            (
                "plan",
                Arc::new(arrow_array::DictionaryArray::new(
                    arrow_array::Int8Array::from(vec![Some(1), None, Some(0)]),
                    Arc::new(StringArray::from(vec!["basic", "pro"])),
                )),
            ),
            (
                "x",
                Arc::new(arrow_array::Float64Array::from(vec![
                    Some(0.1),
                    None,
                    Some(1e21),
                ])),
            ),
            (
                "ok",
                Arc::new(arrow_array::BooleanArray::from(vec![
                    Some(true),
                    Some(false),
                    None,
                ])),
            ),
            ("n", Arc::new(arrow_array::Int32Array::from(vec![-1, 0, 7]))),
            (
                "note",
                Arc::new(StringArray::from(vec![Some("a, \"b\""), None, Some("")])),
            ),
        ];
        let batch = RecordBatch::try_from_iter(columns).expect("batch");
        let mut writer = create(&path, &batch.schema()).expect("create");
        write_batch(&path, &mut writer, &batch).expect("write");
        finish(&path, writer).expect("finish");
        assert_eq!(
            fs_err::read_to_string(&path).expect("read"),
            "plan,x,ok,n,note\npro,0.1,true,-1,\"a, \"\"b\"\"\"\n,,false,0,\nbasic,1000000000000000000000,,7,\n"
        );
    }
}
