//! Text inputs: CSV (`.csv`) and NDJSON (`.ndjson`, `.jsonl`) files, plain or compressed by
//! extension (`.gz`, `.zst`), streamed as typed record batches like every other format.
//!
//! CSV goes through arrow-csv as text, then each column takes the narrowest type that reads
//! every present value of the file's first [`INFER_ROWS`] rows: booleans (`true`/`false`, any
//! case), integers, floats, else text; values are read with surrounding spaces trimmed and an
//! empty cell is missing. A later value that does not read as its column's type is an error
//! naming its line and column (a type can be given instead, see `ReadOptions::schema`). NDJSON
//! goes through arrow-json, its types inferred from the same rows by JSON's own (numbers,
//! booleans, strings).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Date32Builder, Float64Builder, Int64Builder};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchOptions, StringArray};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};

use crate::batches::{BatchReader, Batches, Opening, column_indices};
use crate::dataset::ColumnType;
use crate::error::{Error, Result};
use crate::table::table_error;

/// The rows that decide a column's type.
pub(crate) const INFER_ROWS: usize = 100_000;

/// How a file is read, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Parquet,
    Ipc,
    Csv,
    Ndjson,
}

/// How a text file is compressed, by its last extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

fn compression(path: &Path) -> Compression {
    match extension(path).as_deref() {
        Some("gz") => Compression::Gzip,
        Some("zst" | "zstd") => Compression::Zstd,
        _ => Compression::None,
    }
}

fn extension(path: &Path) -> Option<String> {
    crate::input::named(path)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// A file's format: CSV and NDJSON by their extension before any compression's, Arrow IPC by
/// its own, anything else Parquet.
pub(crate) fn format(path: &Path) -> Format {
    let inner = match compression(path) {
        Compression::None => extension(path),
        _ => crate::input::named(path)
            .file_stem()
            .and_then(|stem| extension(Path::new(stem))),
    };
    match inner.as_deref() {
        Some("csv") => Format::Csv,
        Some("ndjson" | "jsonl") => Format::Ndjson,
        _ if crate::batches::is_ipc(path) => Format::Ipc,
        _ => Format::Parquet,
    }
}

/// Whether a file is a CSV or NDJSON table, compressed or not.
pub(crate) fn is_text_table(path: &Path) -> bool {
    matches!(format(path), Format::Csv | Format::Ndjson)
}

/// The bytes of a text file, decompressed as its extension says, buffered.
fn open(path: &Path) -> Result<Box<dyn BufRead + Send>> {
    let raw = crate::source::open(path)?;
    let reader: Box<dyn Read + Send> = match compression(path) {
        Compression::None => raw,
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::new(raw).map_err(|e| table_error(path, e))?)
        }
    };
    Ok(Box::new(BufReader::with_capacity(256 * 1024, reader)))
}

/// The column names of a CSV file's header row.
pub(crate) fn csv_header(path: &Path) -> Result<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().from_reader(open(path)?);
    let headers = reader.headers().map_err(|e| table_error(path, e))?;
    Ok(headers.iter().map(str::to_owned).collect())
}

/// The type each wanted column is read as when given: `wants` overridden by `schema`.
fn given(
    name: &str,
    schema: &[(String, ColumnType)],
    wants: &[(String, ColumnType)],
) -> Option<ColumnType> {
    let find = |types: &[(String, ColumnType)]| {
        types
            .iter()
            .rev()
            .find(|(column, _)| column == name)
            .map(|(_, t)| *t)
    };
    find(schema).or_else(|| find(wants))
}

/// Opens a CSV file for its `wanted` columns, batches as `opening` says; the options' types
/// and the caller's wants give types (see [`given`]), the rest are inferred.
pub(crate) fn open_csv(path: &Path, wanted: &[&str], opening: &Opening<'_>) -> Result<Batches> {
    let header = csv_header(path)?;
    let text = Schema::new(
        header
            .iter()
            .map(|name| Field::new(name, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    );
    let indices = column_indices(path, &text, wanted)?;
    let reader = arrow_csv::ReaderBuilder::new(Arc::new(text.clone()))
        .with_header(true)
        .with_batch_size(opening.batch_rows)
        .with_projection(indices.clone())
        .build_buffered(open(path)?)
        .map_err(|e| table_error(path, e))?;
    let mut raw: BatchReader = Box::new(reader);
    let sample = sample(path, &mut raw)?;
    let types: Vec<ColumnType> = indices
        .iter()
        .enumerate()
        .map(|(i, &index)| {
            let name = text.field(index).name();
            given(name, opening.schema, opening.wants).unwrap_or_else(|| infer(&sample, i))
        })
        .collect();
    let mut fields: Vec<Field> = text.fields().iter().map(|f| f.as_ref().clone()).collect();
    for (&index, kind) in indices.iter().zip(&types) {
        fields[index] = Field::new(header[index].clone(), kind.data_type(), true);
    }
    let projected = Arc::new(Schema::new(
        indices
            .iter()
            .map(|&i| fields[i].clone())
            .collect::<Vec<_>>(),
    ));
    let reader = Typed {
        path: path.to_owned(),
        sample,
        raw,
        types,
        schema: projected,
        rows_before: 0,
    };
    Ok(Batches {
        reader: Box::new(reader),
        schema: Arc::new(Schema::new(fields)),
        rows: None,
    })
}

/// The first batches of a file, up to [`INFER_ROWS`] rows, kept to be read again.
fn sample(path: &Path, raw: &mut BatchReader) -> Result<VecDeque<RecordBatch>> {
    let mut sample = VecDeque::new();
    let mut rows = 0;
    while rows < INFER_ROWS {
        match raw.next() {
            Some(batch) => {
                let batch =
                    batch.map_err(|e| crate::batches::batch_error(path, csv_error(path, e)))?;
                rows += batch.num_rows();
                sample.push_back(batch);
            }
            None => break,
        }
    }
    Ok(sample)
}

/// A cell's value as read: surrounding spaces trimmed; `None` when empty.
fn cell(value: Option<&str>) -> Option<&str> {
    value.map(str::trim_ascii).filter(|v| !v.is_empty())
}

fn parse_bool(value: &str) -> Option<bool> {
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// The narrowest type that reads every present value of column `i` of the sample: booleans
/// when there is one, else integers (also when there is none), floats, text.
fn infer(sample: &VecDeque<RecordBatch>, i: usize) -> ColumnType {
    let (mut bool, mut int, mut float, mut seen) = (true, true, true, false);
    for batch in sample {
        for value in batch.column(i).as_string::<i32>().iter().filter_map(cell) {
            seen = true;
            bool &= parse_bool(value).is_some();
            int &= value.parse::<i64>().is_ok();
            float &= value.parse::<f64>().is_ok();
            if !(bool || int || float) {
                return ColumnType::Text;
            }
        }
    }
    if bool && seen {
        ColumnType::Bool
    } else if int {
        ColumnType::Int
    } else if float {
        ColumnType::Float
    } else {
        ColumnType::Text
    }
}

/// A CSV file's text batches, each column read as its type.
struct Typed {
    path: std::path::PathBuf,
    /// The first batches, read to infer the types.
    sample: VecDeque<RecordBatch>,
    raw: BatchReader,
    types: Vec<ColumnType>,
    schema: SchemaRef,
    /// The rows of the batches before the next one.
    rows_before: usize,
}

impl Typed {
    fn convert(&mut self, batch: &RecordBatch) -> std::result::Result<RecordBatch, ArrowError> {
        let columns = self
            .types
            .iter()
            .enumerate()
            .map(|(i, &kind)| {
                convert(batch.column(i).as_string::<i32>(), kind).map_err(|row| {
                    let record = self.rows_before + row;
                    let value = batch.column(i).as_string::<i32>().value(row).to_owned();
                    ArrowError::ExternalError(Box::new(Error::BadValue {
                        path: self.path.clone(),
                        line: line_of(&self.path, record),
                        column: self.schema.field(i).name().clone(),
                        value,
                        expected: kind.expected(),
                    }))
                })
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        self.rows_before += batch.num_rows();
        RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )
    }
}

impl Iterator for Typed {
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = match self.sample.pop_front() {
            Some(batch) => batch,
            None => match self.raw.next()? {
                Ok(batch) => batch,
                Err(e) => return Some(Err(csv_error(&self.path, e))),
            },
        };
        Some(self.convert(&batch))
    }
}

/// arrow-csv's error for a record of the wrong width, which counts records rather than lines,
/// as one naming the line the record starts on; any other error as it is.
fn csv_error(path: &Path, e: ArrowError) -> ArrowError {
    let ArrowError::CsvError(message) = &e else {
        return e;
    };
    // "incorrect number of fields for line N, expected E got G"
    let words: Vec<&str> = message.split_whitespace().collect();
    let Some(["line", record, "expected", expected, "got", got @ ..]) = words.get(5..) else {
        return e;
    };
    let Ok(record) = record.trim_end_matches(',').parse::<usize>() else {
        return e;
    };
    // The header is record 1.
    let line = line_of(path, record.saturating_sub(2));
    ArrowError::ExternalError(Box::new(table_error(
        path,
        format!(
            "the record on line {line} has {} fields where the header has {expected}",
            got.join(" ")
        ),
    )))
}

/// A text column as `kind`; `Err(row)` of the first value that does not read as one.
fn convert(array: &StringArray, kind: ColumnType) -> std::result::Result<ArrayRef, usize> {
    macro_rules! build {
        ($builder:expr, $parse:expr) => {{
            let mut builder = $builder;
            for (row, value) in array.iter().enumerate() {
                match cell(value) {
                    None => builder.append_null(),
                    Some(value) => builder.append_value($parse(value).ok_or(row)?),
                }
            }
            Arc::new(builder.finish())
        }};
    }
    let rows = array.len();
    Ok(match kind {
        ColumnType::Int => build!(Int64Builder::with_capacity(rows), |v: &str| v
            .parse::<i64>()
            .ok()),
        // A boolean in a numeric column reads as 1 or 0, as a model's numeric input takes it.
        ColumnType::Float => build!(Float64Builder::with_capacity(rows), |v: &str| v
            .parse::<f64>()
            .ok()
            .or_else(|| parse_bool(v).map(f64::from))),
        ColumnType::Bool => build!(BooleanBuilder::with_capacity(rows), parse_bool),
        ColumnType::Date => build!(Date32Builder::with_capacity(rows), |v: &str| {
            crate::table::parse_date(v).and_then(|days| i32::try_from(days).ok())
        }),
        ColumnType::Text => text(array),
    })
}

/// Text trimmed, an empty value missing; the array itself when nothing needs either.
fn text(array: &StringArray) -> ArrayRef {
    let untouched = |v: &str| !v.is_empty() && v.trim_ascii().len() == v.len();
    if array.iter().flatten().all(untouched) {
        return Arc::new(array.clone());
    }
    Arc::new(array.iter().map(cell).collect::<StringArray>())
}

/// The line data record `record` (from 0) of a CSV file starts on, the header being line 1:
/// read again, only for an error, so that quoted line breaks count.
fn line_of(path: &Path, record: usize) -> u64 {
    let fallback = record as u64 + 2;
    let Ok(source) = open(path) else {
        return fallback;
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(source);
    let mut row = csv::ByteRecord::new();
    for _ in 0..=record {
        if !reader.read_byte_record(&mut row).unwrap_or(false) {
            return fallback;
        }
    }
    row.position().map_or(fallback, csv::Position::line)
}

/// The first [`INFER_ROWS`] lines of an NDJSON file, and the reader after them.
fn ndjson_sample(path: &Path) -> Result<(Vec<u8>, Box<dyn BufRead + Send>)> {
    let mut reader = open(path)?;
    let mut sample = Vec::new();
    for _ in 0..INFER_ROWS {
        if reader.read_until(b'\n', &mut sample)? == 0 {
            break;
        }
    }
    Ok((sample, reader))
}

/// The schema of an NDJSON file, inferred from its first [`INFER_ROWS`] lines.
pub(crate) fn ndjson_schema(path: &Path) -> Result<SchemaRef> {
    let (sample, _) = ndjson_sample(path)?;
    infer_ndjson(path, &sample)
}

/// The schema arrow-json infers, its fields in the order the file first gives them (arrow-json
/// sorts them by name).
fn infer_ndjson(path: &Path, sample: &[u8]) -> Result<SchemaRef> {
    let (schema, _) = arrow_json::reader::infer_json_schema(Cursor::new(sample), None)
        .map_err(|e| table_error(path, e))?;
    let mut order: Vec<String> = Vec::new();
    for line in sample.split(|&b| b == b'\n') {
        if order.len() == schema.fields().len() {
            break;
        }
        for key in top_level_keys(line) {
            if !order.contains(&key) {
                order.push(key);
            }
        }
    }
    let position = |name: &str| order.iter().position(|k| k == name).unwrap_or(usize::MAX);
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.sort_by_key(|f| position(f.name()));
    Ok(Arc::new(Schema::new(fields)))
}

/// The keys of a JSON object's top level, in order (escapes left as written: a key that needs
/// one only sorts last).
fn top_level_keys(line: &[u8]) -> Vec<String> {
    let mut keys = Vec::new();
    let (mut depth, mut in_string, mut escaped, mut start) = (0usize, false, false, 0);
    for (i, &b) in line.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => {
                    in_string = false;
                    let rest = line[i + 1..].iter().find(|c| !c.is_ascii_whitespace());
                    if depth == 1 && rest == Some(&b':') {
                        keys.push(String::from_utf8_lossy(&line[start..i]).into_owned());
                    }
                }
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                start = i + 1;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    keys
}

/// Opens an NDJSON file for its `wanted` columns; types as [`open_csv`] takes them, the rest
/// inferred.
pub(crate) fn open_ndjson(path: &Path, wanted: &[&str], opening: &Opening<'_>) -> Result<Batches> {
    let (sample, rest) = ndjson_sample(path)?;
    let inferred = infer_ndjson(path, &sample)?;
    let fields: Vec<Field> = inferred
        .fields()
        .iter()
        .map(|f| match given(f.name(), opening.schema, opening.wants) {
            Some(kind) => Field::new(f.name(), kind.data_type(), true),
            None => f.as_ref().clone(),
        })
        .collect();
    let full = Schema::new(fields);
    let indices = column_indices(path, &full, wanted)?;
    let projected = full.project(&indices).map_err(|e| table_error(path, e))?;
    // Fields not in the schema are skipped, so the projection costs no decoding.
    let reader = arrow_json::ReaderBuilder::new(Arc::new(projected))
        .with_batch_size(opening.batch_rows)
        .with_coerce_primitive(true)
        .build(Cursor::new(sample).chain(rest))
        .map_err(|e| table_error(path, e))?;
    Ok(Batches {
        reader: Box::new(reader),
        schema: Arc::new(full),
        rows: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[Option<&str>]) -> StringArray {
        values.iter().copied().collect()
    }

    fn inferred(values: &[Option<&str>]) -> ColumnType {
        let batch = RecordBatch::try_from_iter([("c", Arc::new(strings(values)) as ArrayRef)])
            .expect("batch");
        infer(&VecDeque::from([batch]), 0)
    }

    #[test]
    fn columns_take_the_narrowest_type_of_their_present_values() {
        assert_eq!(
            inferred(&[Some("TRUE"), None, Some(" false ")]),
            ColumnType::Bool
        );
        assert_eq!(
            inferred(&[Some("007"), Some("+3"), Some("")]),
            ColumnType::Int
        );
        assert_eq!(inferred(&[None, Some("")]), ColumnType::Int);
        assert_eq!(inferred(&[Some("1"), Some("2.5e3")]), ColumnType::Float);
        assert_eq!(inferred(&[Some("1"), Some("true")]), ColumnType::Text);
        assert_eq!(inferred(&[Some("2026-12-01")]), ColumnType::Text);
    }

    #[test]
    fn values_convert_trimmed_and_a_bad_one_names_its_row() {
        let array = strings(&[Some(" 7"), None, Some(""), Some("x")]);
        assert_eq!(convert(&array, ColumnType::Int).err(), Some(3));
        let ints = convert(&strings(&[Some(" 7"), Some("")]), ColumnType::Int).expect("ints");
        let ints = ints.as_primitive::<arrow_array::types::Int64Type>();
        assert_eq!(ints.iter().collect::<Vec<_>>(), [Some(7), None]);
        let dates = convert(&strings(&[Some("1970-01-02")]), ColumnType::Date).expect("dates");
        assert_eq!(
            dates
                .as_primitive::<arrow_array::types::Date32Type>()
                .value(0),
            1
        );
        assert_eq!(
            convert(&strings(&[Some("2026-02-31")]), ColumnType::Date).err(),
            Some(0)
        );
        let text = convert(&strings(&[Some(" a "), Some(" ")]), ColumnType::Text).expect("text");
        let text = text.as_string::<i32>();
        assert_eq!(text.iter().collect::<Vec<_>>(), [Some("a"), None]);
    }

    #[test]
    fn ndjson_columns_keep_the_files_order() {
        let sample = b"{\"b\": 1, \"a\": {\"z\": 2}, \"c\": \"x\\\":\"}\n{\"d\": true}\n";
        let schema = infer_ndjson(Path::new("t.ndjson"), sample).expect("schema");
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["b", "a", "c", "d"]);
    }

    #[test]
    fn formats_come_from_the_extension_before_compression() {
        for (name, format) in [
            ("a.csv", Format::Csv),
            ("a.CSV.gz", Format::Csv),
            ("a.csv.zst", Format::Csv),
            ("a.jsonl", Format::Ndjson),
            ("a.ndjson.gz", Format::Ndjson),
            ("a.arrows", Format::Ipc),
            ("a.parquet", Format::Parquet),
            // A web URL's query is not part of its name.
            (
                "https://example.com/a.csv?X-Amz-Signature=ab.c",
                Format::Csv,
            ),
            ("https://example.com/a.csv.gz?v=1#top", Format::Csv),
            ("https://example.com/a.arrows?v=1", Format::Ipc),
            ("https://example.com/a.parquet?v=1.csv", Format::Parquet),
        ] {
            assert_eq!(super::format(Path::new(name)), format, "{name}");
        }
    }
}
