//! CSV files for scoring: a header row and records read a batch at a time into the same arrow
//! record batches a Parquet file gives (so [`super::RowReader`] decodes both alike), and scored
//! rows written back as CSV.
//!
//! The model decides how an input column is read: a numeric input as floats (`true`/`false` as
//! 1 and 0), a categorical one as text, so that `007` stays `007`. A column that is only passed
//! through takes the narrowest type that reads its first [`INFER_ROWS`] rows: booleans,
//! integers written as such (no leading zeros or `+`, so an id `007` stays text), floats, else
//! text kept exactly as written. Numbers and categories are read with surrounding spaces
//! trimmed, as `mlops train` reads them; an empty cell is a missing value. The file must be UTF-8
//! (as `mlops eval` reads CSV too), checked once a record rather than once a cell.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchOptions, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::error::{Error, Result};
use crate::table::table_error;
use mlops_core::outfile::OutFile;

/// The rows that decide the type of a passed-through column.
pub(super) const INFER_ROWS: usize = 1000;

/// How a column is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Want {
    /// A numeric model input.
    Number,
    /// A categorical model input.
    Category,
    /// Passed through to the output only: its type is inferred.
    Passed,
}

/// How a column's cells are parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Float,
    Int,
    Bool,
    /// Text with surrounding spaces trimmed.
    Category,
    /// Text as written.
    Text,
}

impl Kind {
    fn data_type(self) -> DataType {
        match self {
            Kind::Float => DataType::Float64,
            Kind::Int => DataType::Int64,
            Kind::Bool => DataType::Boolean,
            Kind::Category | Kind::Text => DataType::Utf8,
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Kind::Float => "a number",
            Kind::Int => "an integer",
            Kind::Bool => "`true` or `false`",
            Kind::Category | Kind::Text => "text",
        }
    }
}

/// Which columns of a CSV file are read, and how.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    kinds: Vec<Kind>,
    schema: SchemaRef,
}

impl Layout {
    /// Reads the header and first [`INFER_ROWS`] rows of `path`: the columns of `wanted` must
    /// all be there, and each passed-through one gets its type.
    pub(super) fn infer(path: &Path, wanted: &[(&str, Want)]) -> Result<Layout> {
        let mut reader = open(path)?;
        let indices = indices(path, &mut reader, wanted.iter().map(|(name, _)| *name))?;
        let mut could = vec![[true; 3]; wanted.len()];
        let mut seen = vec![false; wanted.len()];
        let mut record = csv::StringRecord::new();
        for _ in 0..INFER_ROWS {
            if !reader
                .read_record(&mut record)
                .map_err(|e| table_error(path, e))?
            {
                break;
            }
            for (column, &index) in indices.iter().enumerate() {
                let cell = record.get(index).unwrap_or_default().trim_ascii();
                if wanted[column].1 != Want::Passed || cell.is_empty() {
                    continue;
                }
                seen[column] = true;
                let [bool, int, float] = &mut could[column];
                *bool &= parse_bool(cell).is_some();
                *int &= parse_int(cell).is_some();
                // `007` is an identifier, not the number 7.
                *float &= parse_float(cell).is_some() && !leading_zero(cell);
            }
        }
        let kinds: Vec<Kind> = wanted
            .iter()
            .zip(could.iter().zip(&seen))
            .map(|((_, want), (could, &seen))| match want {
                Want::Number => Kind::Float,
                Want::Category => Kind::Category,
                Want::Passed if !seen => Kind::Text,
                Want::Passed => match could {
                    [true, _, _] => Kind::Bool,
                    [_, true, _] => Kind::Int,
                    [_, _, true] => Kind::Float,
                    _ => Kind::Text,
                },
            })
            .collect();
        let schema = Arc::new(Schema::new(
            wanted
                .iter()
                .zip(&kinds)
                .map(|((name, _), kind)| Field::new(*name, kind.data_type(), true))
                .collect::<Vec<Field>>(),
        ));
        Ok(Layout { kinds, schema })
    }

    /// The columns' names and types, in the order they were wanted.
    pub(super) fn schema(&self) -> &SchemaRef {
        &self.schema
    }
}

fn open(path: &Path) -> Result<csv::Reader<Source>> {
    Ok(csv::ReaderBuilder::new().from_reader(crate::source::open(path)?))
}

/// A CSV file's bytes, from `crate::source` (a local file or an object-store URL).
type Source = Box<dyn std::io::Read + Send>;

/// Where each of `names` is in the header.
fn indices<'a>(
    path: &Path,
    reader: &mut csv::Reader<Source>,
    names: impl Iterator<Item = &'a str>,
) -> Result<Vec<usize>> {
    let headers = reader.headers().map_err(|e| table_error(path, e))?;
    names
        .map(|name| {
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| Error::MissingColumn {
                    path: path.to_owned(),
                    column: name.to_owned(),
                    available: headers.iter().collect::<Vec<_>>().join(", "),
                })
        })
        .collect()
}

fn parse_bool(cell: &str) -> Option<bool> {
    if cell.eq_ignore_ascii_case("true") {
        Some(true)
    } else if cell.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An integer written as Rust writes it back, so that reading it keeps its text.
fn parse_int(cell: &str) -> Option<i64> {
    let value: i64 = cell.parse().ok()?;
    let canonical =
        !matches!(cell.as_bytes(), [b'-', b'0', ..] | [b'+', ..]) && !leading_zero(cell);
    canonical.then_some(value)
}

/// Whether a number is written with a zero before another digit (`007`, `-01.5`).
fn leading_zero(cell: &str) -> bool {
    let digits = cell.strip_prefix(['-', '+']).unwrap_or(cell);
    matches!(digits.as_bytes(), [b'0', d, ..] if d.is_ascii_digit())
}

fn parse_float(cell: &str) -> Option<f64> {
    cell.parse().ok()
}

/// One column's values for one batch.
enum Builder {
    Float(Float64Builder),
    Int(Int64Builder),
    Bool(BooleanBuilder),
    Text(StringBuilder),
}

impl Builder {
    fn new(kind: Kind, rows: usize) -> Self {
        match kind {
            Kind::Float => Builder::Float(Float64Builder::with_capacity(rows)),
            Kind::Int => Builder::Int(Int64Builder::with_capacity(rows)),
            Kind::Bool => Builder::Bool(BooleanBuilder::with_capacity(rows)),
            Kind::Category | Kind::Text => {
                Builder::Text(StringBuilder::with_capacity(rows, rows * 8))
            }
        }
    }

    /// Appends `cell` read as `kind`; `false` when it is not one.
    fn push(&mut self, kind: Kind, cell: &str) -> bool {
        let cell = if kind == Kind::Text {
            cell
        } else {
            cell.trim_ascii()
        };
        match self {
            Builder::Float(b) if cell.is_empty() => b.append_null(),
            Builder::Float(b) => {
                let Some(v) = parse_float(cell).or_else(|| parse_bool(cell).map(f64::from)) else {
                    return false;
                };
                b.append_value(v);
            }
            Builder::Int(b) if cell.is_empty() => b.append_null(),
            Builder::Int(b) => {
                let Some(v) = parse_int(cell) else {
                    return false;
                };
                b.append_value(v);
            }
            Builder::Bool(b) if cell.is_empty() => b.append_null(),
            Builder::Bool(b) => {
                let Some(v) = parse_bool(cell) else {
                    return false;
                };
                b.append_value(v);
            }
            Builder::Text(b) if cell.is_empty() => b.append_null(),
            Builder::Text(b) => b.append_value(cell),
        }
        true
    }

    fn finish(self) -> ArrayRef {
        match self {
            Builder::Float(mut b) => Arc::new(b.finish()),
            Builder::Int(mut b) => Arc::new(b.finish()),
            Builder::Bool(mut b) => Arc::new(b.finish()),
            Builder::Text(mut b) => Arc::new(b.finish()),
        }
    }
}

/// The record batches of one CSV file, read as its [`Layout`] says.
pub(super) struct CsvBatches {
    path: PathBuf,
    reader: csv::Reader<Source>,
    indices: Vec<usize>,
    layout: Layout,
    batch_rows: usize,
    /// Checked as UTF-8 once a record, not once a cell.
    record: csv::StringRecord,
    done: bool,
}

impl CsvBatches {
    /// Opens `path` to read the columns of `layout`, `batch_rows` rows at a time.
    pub(super) fn open(path: &Path, layout: Layout, batch_rows: usize) -> Result<Self> {
        let mut reader = open(path)?;
        let names: Vec<String> = layout
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let indices = indices(path, &mut reader, names.iter().map(String::as_str))?;
        Ok(CsvBatches {
            path: path.to_owned(),
            reader,
            indices,
            layout,
            batch_rows,
            record: csv::StringRecord::new(),
            done: false,
        })
    }

    fn read_batch(&mut self) -> Result<Option<RecordBatch>> {
        let kinds = &self.layout.kinds;
        let mut builders: Vec<Builder> = kinds
            .iter()
            .map(|&kind| Builder::new(kind, self.batch_rows))
            .collect();
        let mut rows = 0;
        while rows < self.batch_rows {
            if !self
                .reader
                .read_record(&mut self.record)
                .map_err(|e| table_error(&self.path, e))?
            {
                self.done = true;
                break;
            }
            for (column, (builder, (&kind, &index))) in builders
                .iter_mut()
                .zip(kinds.iter().zip(&self.indices))
                .enumerate()
            {
                let cell = self.record.get(index).unwrap_or_default();
                if !builder.push(kind, cell) {
                    return Err(Error::BadValue {
                        path: self.path.clone(),
                        line: self.record.position().map_or(0, csv::Position::line),
                        column: self.layout.schema.field(column).name().clone(),
                        value: cell.to_owned(),
                        expected: kind.expected(),
                    });
                }
            }
            rows += 1;
        }
        if rows == 0 {
            return Ok(None);
        }
        let columns = builders.into_iter().map(Builder::finish).collect();
        RecordBatch::try_new_with_options(
            self.layout.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map(Some)
        .map_err(|e| table_error(&self.path, e))
    }
}

impl Iterator for CsvBatches {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let batch = self.read_batch();
        if batch.is_err() {
            self.done = true;
        }
        batch.transpose()
    }
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

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("in.csv");
        fs_err::write(&path, text).expect("write");
        (dir, path)
    }

    #[test]
    fn passed_columns_take_the_narrowest_type_and_inputs_the_models() {
        let (_dir, path) =
            file("id,code,flag,x,empty,n,c\n1,007,true,0.5,,2,7\n-2,010,FALSE,3,,4,8\n");
        let wanted = [
            ("id", Want::Passed),
            ("code", Want::Passed),
            ("flag", Want::Passed),
            ("x", Want::Passed),
            ("empty", Want::Passed),
            ("n", Want::Number),
            ("c", Want::Category),
        ];
        let layout = Layout::infer(&path, &wanted).expect("layout");
        let types: Vec<DataType> = layout
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            [
                DataType::Int64,
                DataType::Utf8,
                DataType::Boolean,
                DataType::Float64,
                DataType::Utf8,
                DataType::Float64,
                DataType::Utf8,
            ]
        );
        let batches: Vec<RecordBatch> = CsvBatches::open(&path, layout, 1)
            .expect("open")
            .collect::<Result<_>>()
            .expect("read");
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[1]["code"].as_string::<i32>().value(0), "010");
        assert_eq!(batches[1]["c"].as_string::<i32>().value(0), "8");
    }

    #[test]
    fn integers_are_canonical_spellings() {
        for (cell, value) in [("0", Some(0)), ("-3", Some(-3)), ("12", Some(12))] {
            assert_eq!(parse_int(cell), value, "{cell}");
        }
        for cell in ["007", "+3", "-0", "1.0", "x"] {
            assert_eq!(parse_int(cell), None, "{cell}");
        }
    }

    /// A kept column inferred from the first rows, then a value that does not fit, names the
    /// line the record starts on (a quoted line break before it counts).
    #[test]
    fn a_value_past_the_inferred_rows_names_its_line() {
        let mut text = String::from("id,note\n");
        for row in 0..INFER_ROWS {
            text.push_str(&row.to_string());
            text.push_str(",\"a\nb\"\n");
        }
        text.push_str("x7,c\n");
        let (_dir, path) = file(&text);
        let layout = Layout::infer(&path, &[("id", Want::Passed)]).expect("layout");
        let err = CsvBatches::open(&path, layout, 4096)
            .expect("open")
            .collect::<Result<Vec<_>>>()
            .expect_err("x7 is no integer");
        let line = 2 + 2 * INFER_ROWS;
        assert!(
            err.to_string()
                .ends_with(&format!("line {line}, column `id`: `x7` is not an integer")),
            "{err}"
        );
    }

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
