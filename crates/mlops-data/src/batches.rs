//! The one opener of record batches: every format a command reads (Parquet, Arrow IPC files and
//! streams) becomes a file's batches of the wanted columns, with the file's hive partition
//! columns appended, so that every reader above it (tables, pieces, days, predict's rows) sees
//! the same columns whatever the file's format or directory.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};

use crate::dataset::ColumnType;
use crate::error::{Error, Result};
use crate::filter::{Filter, Filtering};
use crate::hive::Keys;
use crate::table::table_error;
use crate::text::Format;

/// A file opened for its wanted columns.
pub(crate) struct Batches {
    /// The batches: the wanted columns the file holds (by name; in the file's order for
    /// Parquet), then the partition columns its directories give.
    pub(crate) reader: BatchReader,
    /// Every column of the file, then its partition columns (replacing a file column of the
    /// same name).
    pub(crate) schema: SchemaRef,
    /// The file's row count, when its metadata says it (Parquet's does, Arrow IPC's does not).
    pub(crate) rows: Option<usize>,
}

/// A file's record batches.
pub(crate) type BatchReader =
    Box<dyn Iterator<Item = std::result::Result<RecordBatch, arrow_schema::ArrowError>> + Send>;

/// How to open a file: its batches' size, how text comes, and the partition keys of every
/// file read together (a key's type is decided over all of them).
pub(crate) struct Opening<'a> {
    pub(crate) batch_rows: usize,
    /// Text as dictionary arrays (fast to code into categories) rather than as stored.
    pub(crate) dictionary_text: bool,
    pub(crate) hive: &'a Keys,
    /// Column types given by the dataset's options: a CSV or NDJSON column is parsed as its
    /// type, a Parquet or Arrow IPC column converted to it.
    pub(crate) schema: &'a [(String, ColumnType)],
    /// Types the caller reads some columns as, which a CSV or NDJSON file's inference yields to
    /// (the options' types win); a typed file keeps its own.
    pub(crate) wants: &'a [(String, ColumnType)],
    /// Only the rows where this holds (see `filter`).
    pub(crate) filter: Option<&'a Filter>,
    /// Only these row groups of a Parquet file (see `ReadOptions::row_groups`).
    pub(crate) row_groups: Option<&'a std::ops::Range<usize>>,
}

/// Opens `path` for its `wanted` columns, as `opening` says.
///
/// # Errors
/// When the file cannot be opened or read, or lacks a wanted column that its directories do
/// not give.
pub(crate) fn open(path: &Path, wanted: &[&str], opening: &Opening<'_>) -> Result<Batches> {
    let given = opening.hive.given(path);
    let Some(filter) = opening.filter else {
        return open_file(path, wanted, &given, opening, None);
    };
    // A filter reads its own columns too, and drops them once it has chosen the rows.
    let filtering = Filtering::new(
        filter,
        given
            .iter()
            .map(|(key, value)| partition(opening, key, value)),
        opening.schema.iter().map(|(column, _)| column.clone()),
    );
    let read = filtering.columns(wanted);
    let file = open_file(path, &read, &given, opening, Some(&filtering))
        .map_err(|e| filtering.unknown_column(e, wanted))?;
    // Before any row is read: the file's columns and types are known once it is open.
    filtering.check(path, &file.schema)?;
    let reader = if filtering.rules_out_file() {
        Box::new(std::iter::empty())
    } else {
        filtering.apply(file.reader, wanted)
    };
    Ok(Batches {
        schema: file.schema,
        // Unknown until the rows are filtered.
        rows: None,
        reader,
    })
}

/// A partition column's field and its value in a file's directory: in the key's type, or as its
/// text when `--schema` gives the key a type, which `given_types` then converts it to as it
/// converts a text column (`k=07` given the type text is `07`, not `7`).
fn partition(opening: &Opening<'_>, key: &str, value: &str) -> (Field, Partition) {
    typed_partition(opening.hive, opening.schema, key, value)
}

/// [`partition`], of the keys `hive` and the types `schema` gives.
fn typed_partition(
    hive: &Keys,
    schema: &[(String, ColumnType)],
    key: &str,
    value: &str,
) -> (Field, Partition) {
    if schema.iter().any(|(column, _)| column == key) {
        let partition = Partition::Text(crate::hive::present(value).map(str::to_owned));
        (Field::new(key, partition.data_type(), true), partition)
    } else {
        hive.partition(key, value)
    }
}

/// Whether the partition values of `path`'s directories alone prove that `filter` holds on no
/// row of it (the columns `schema` gives a type proving nothing): such a file need not be
/// opened at all, so that a CSV file's sample is not read nor an Arrow IPC object fetched.
pub(crate) fn ruled_out(
    path: &Path,
    hive: &Keys,
    schema: &[(String, ColumnType)],
    filter: &Filter,
) -> bool {
    let given = hive.given(path);
    !given.is_empty()
        && Filtering::new(
            filter,
            given
                .iter()
                .map(|(key, value)| typed_partition(hive, schema, key, value)),
            schema.iter().map(|(column, _)| column.clone()),
        )
        .rules_out_file()
}

/// Opens `path` for its `wanted` columns, those its directories give appended; `filtering`
/// skips the Parquet row groups that cannot match.
fn open_file(
    path: &Path,
    wanted: &[&str],
    given: &[(String, String)],
    opening: &Opening<'_>,
    filtering: Option<&Filtering>,
) -> Result<Batches> {
    let in_file: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|name| !given.iter().any(|(key, _)| key == name))
        .collect();
    let file = match crate::text::format(path) {
        Format::Csv => crate::text::open_csv(path, &in_file, opening)?,
        Format::Ndjson => crate::text::open_ndjson(path, &in_file, opening)?,
        Format::Ipc => open_ipc(path, &in_file)?,
        Format::Parquet => open_parquet(
            path,
            &in_file,
            opening.batch_rows,
            opening.dictionary_text,
            filtering,
            opening.row_groups,
        )?,
    };
    if given.is_empty() {
        return given_types(path, file, given, opening.schema);
    }
    // Only the partition columns asked for are appended to the batches; the schema lists them
    // all, as `table::schema` does.
    let appended: Vec<(Field, Partition)> = given
        .iter()
        .filter(|(key, _)| wanted.contains(&key.as_str()))
        .map(|(key, value)| partition(opening, key, value))
        .collect();
    let mut fields: Vec<Arc<Field>> = file
        .schema
        .fields()
        .iter()
        .filter(|f| !given.iter().any(|(key, _)| key == f.name()))
        .cloned()
        .collect();
    fields.extend(
        given
            .iter()
            .map(|(key, value)| Arc::new(partition(opening, key, value).0)),
    );
    let schema = Arc::new(Schema::new(fields));
    let reader = file.reader.map(move |batch| {
        let batch = batch?;
        let mut fields: Vec<Arc<Field>> = batch.schema().fields().iter().cloned().collect();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        for (field, value) in &appended {
            fields.push(Arc::new(field.clone()));
            columns.push(value.repeat(batch.num_rows()));
        }
        RecordBatch::try_new_with_options(
            Arc::new(Schema::new(fields)),
            columns,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )
    });
    // Types given to partition columns convert them too.
    let batches = Batches {
        reader: Box::new(reader),
        schema,
        rows: file.rows,
    };
    given_types(path, batches, given, opening.schema)
}

/// An error reading a file's batches: the data error a reader raised inside (a CSV value
/// that is not its column's type), a failed request for an object (a denied or failed read
/// mid-file, naming its bucket and key), or the reader's own, naming the file.
pub(crate) fn batch_error(path: &Path, e: arrow_schema::ArrowError) -> Error {
    use arrow_schema::ArrowError;
    // A streamed object's reader fails with the request's error inside an `io::Error`.
    let request = |io: std::io::Error| match io.downcast::<mlops_core::Error>() {
        Ok(error) => Error::Url(error),
        Err(io) => table_error(path, io),
    };
    match e {
        ArrowError::ExternalError(inner) => match inner.downcast::<Error>() {
            Ok(error) => *error,
            Err(other) => match other.downcast::<std::io::Error>() {
                Ok(io) => request(*io),
                Err(other) => table_error(path, other),
            },
        },
        ArrowError::IoError(_, io) => request(io),
        // Parquet's errors arrive as text: the request that failed was kept.
        other => crate::source::take_failure(path).unwrap_or_else(|| table_error(path, other)),
    }
}

/// A file's batches with the types `schema` gives its columns: each must be a column of the
/// file (or of its directories); a Parquet or Arrow IPC column, or a partition column, of another
/// type is converted, a value that does not convert being an error (CSV and NDJSON were read as
/// the type).
fn given_types(
    path: &Path,
    file: Batches,
    given: &[(String, String)],
    schema: &[(String, ColumnType)],
) -> Result<Batches> {
    if schema.is_empty() {
        return Ok(file);
    }
    for (column, _) in schema {
        if file.schema.index_of(column).is_err() && !given.iter().any(|(key, _)| key == column) {
            return Err(Error::UnknownTypedColumn {
                path: path.to_owned(),
                column: column.clone(),
                available: file
                    .schema
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    let schema = schema.to_vec();
    let target = move |name: &str| {
        schema
            .iter()
            .rev()
            .find(|(column, _)| column == name)
            .map(|(_, t)| t.data_type())
    };
    let fields: Vec<Field> = file
        .schema
        .fields()
        .iter()
        .map(|f| match target(f.name()) {
            Some(t) => Field::new(f.name(), t, true),
            None => f.as_ref().clone(),
        })
        .collect();
    let options = arrow_cast::CastOptions {
        safe: false,
        ..arrow_cast::CastOptions::default()
    };
    let path = path.to_owned();
    let mut rows_before = 0u64;
    let reader = file.reader.map(move |batch| {
        let batch = batch?;
        let mut fields: Vec<Field> = Vec::with_capacity(batch.num_columns());
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
        for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
            if let Some(t) = target(field.name()).filter(|t| t != array.data_type()) {
                let column = if t == DataType::Date32 && is_text(array.data_type()) {
                    dates(&path, field.name(), array, rows_before)?
                } else {
                    arrow_cast::cast_with_options(array, &t, &options)?
                };
                columns.push(column);
                fields.push(Field::new(field.name(), t, true));
            } else {
                columns.push(array.clone());
                fields.push(field.as_ref().clone());
            }
        }
        rows_before += batch.num_rows() as u64;
        RecordBatch::try_new_with_options(
            Arc::new(Schema::new(fields)),
            columns,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )
    });
    Ok(Batches {
        reader: Box::new(reader),
        schema: Arc::new(Schema::new(fields)),
        rows: file.rows,
    })
}

/// Whether a column of `data_type` holds text (plain, large, a view, or a dictionary of it).
fn is_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => is_text(values),
        _ => false,
    }
}

/// A text column as dates, read as a CSV column given the type is (`table::parse_date`: an ISO
/// date, or a timestamp starting with one; surrounding spaces trimmed, empty text missing), so
/// that `--schema d=date` means the same whatever the format; arrow's cast would also take
/// `20261201` and other forms. `rows_before`: the file's rows in earlier batches.
fn dates(
    path: &Path,
    column: &str,
    array: &ArrayRef,
    rows_before: u64,
) -> std::result::Result<ArrayRef, arrow_schema::ArrowError> {
    use arrow_array::cast::AsArray;
    let text = arrow_cast::cast(array, &DataType::Utf8)?;
    let mut days = arrow_array::builder::Date32Builder::with_capacity(text.len());
    for (row, value) in text.as_string::<i32>().iter().enumerate() {
        let Some(value) = value.map(str::trim_ascii).filter(|v| !v.is_empty()) else {
            days.append_null();
            continue;
        };
        match crate::table::parse_date(value).and_then(|d| i32::try_from(d).ok()) {
            Some(day) => days.append_value(day),
            None => {
                return Err(arrow_schema::ArrowError::ExternalError(Box::new(
                    Error::BadStoredValue {
                        path: path.to_owned(),
                        row: rows_before + row as u64 + 1,
                        column: column.to_owned(),
                        value: value.to_owned(),
                        expected: ColumnType::Date.expected(),
                    },
                )));
            }
        }
    }
    Ok(Arc::new(days.finish()))
}

/// One partition value, to be repeated over a batch's rows.
#[derive(Debug, Clone)]
pub(crate) enum Partition {
    Int(Option<i64>),
    /// Days since 1970-01-01.
    Date(Option<i32>),
    Text(Option<String>),
}

impl Partition {
    /// The value over `rows` rows; text as a dictionary of its one value.
    fn repeat(&self, rows: usize) -> ArrayRef {
        match self {
            Partition::Int(v) => Arc::new(arrow_array::Int64Array::from(vec![*v; rows])),
            Partition::Date(v) => Arc::new(arrow_array::Date32Array::from(vec![*v; rows])),
            Partition::Text(v) => {
                let keys = arrow_array::Int32Array::from(vec![v.as_ref().map(|_| 0); rows]);
                let values = arrow_array::StringArray::from(vec![v.clone().unwrap_or_default()]);
                Arc::new(arrow_array::DictionaryArray::new(keys, Arc::new(values)))
            }
        }
    }

    /// The Arrow type of its column.
    pub(crate) fn data_type(&self) -> DataType {
        match self {
            Partition::Int(_) => DataType::Int64,
            Partition::Date(_) => DataType::Date32,
            Partition::Text(_) => {
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
            }
        }
    }
}

/// Whether a file is Arrow IPC, by its extension: a file (`.arrow`, `.feather`, `.ipc`) or a
/// stream (`.arrows`); which of the two is told by the file's first bytes.
pub(crate) fn is_ipc(path: &Path) -> bool {
    crate::input::named(path).extension().is_some_and(|e| {
        ["arrow", "arrows", "feather", "ipc"]
            .iter()
            .any(|ipc| e.eq_ignore_ascii_case(ipc))
    })
}

/// The schema of a Parquet or Arrow IPC file, from its metadata.
pub(crate) fn file_schema(path: &Path) -> Result<SchemaRef> {
    if is_ipc(path) {
        return Ok(open_ipc(path, &[])?.schema);
    }
    let file = crate::source::parquet(path)?;
    Ok(ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
        .map_err(|e| table_error(path, e))?
        .schema()
        .clone())
}

/// The record batches of an Arrow IPC file or stream, of the `wanted` columns.
fn open_ipc(path: &Path, wanted: &[&str]) -> Result<Batches> {
    use std::io::{Read, Seek};
    let mut file = crate::source::open_seekable(path)?;
    let mut magic = [0u8; 6];
    // An IPC file starts with `ARROW1`; a stream starts with its schema message.
    let is_file = file.read_exact(&mut magic).is_ok() && &magic == b"ARROW1";
    file.rewind()?;
    let file = std::io::BufReader::new(file);
    let (schema, reader): (SchemaRef, BatchReader) = if is_file {
        let reader =
            arrow_ipc::reader::FileReader::try_new(file, None).map_err(|e| table_error(path, e))?;
        (reader.schema(), Box::new(reader))
    } else {
        let reader = arrow_ipc::reader::StreamReader::try_new(file, None)
            .map_err(|e| table_error(path, e))?;
        (reader.schema(), Box::new(reader))
    };
    let indices = column_indices(path, &schema, wanted)?;
    Ok(Batches {
        reader: Box::new(reader.map(move |batch| batch.and_then(|b| b.project(&indices)))),
        schema,
        rows: None,
    })
}

/// The index in `schema` of each `wanted` column.
pub(crate) fn column_indices(path: &Path, schema: &Schema, wanted: &[&str]) -> Result<Vec<usize>> {
    wanted
        .iter()
        .map(|name| {
            schema.index_of(name).map_err(|_| Error::MissingColumn {
                path: path.to_owned(),
                column: (*name).to_owned(),
                available: schema.fields().iter().map(|f| f.name().clone()).collect(),
            })
        })
        .collect()
}

/// Opens a Parquet file for its `wanted` columns; with `dictionary_text`, text comes as
/// dictionary arrays (fast to code into categories), else as the file stores it. `filtering`
/// reads only the row groups whose statistics and partition values allow a match, and
/// `row_groups` only those.
fn open_parquet(
    path: &Path,
    wanted: &[&str],
    batch_rows: usize,
    dictionary_text: bool,
    filtering: Option<&Filtering>,
    row_groups: Option<&std::ops::Range<usize>>,
) -> Result<Batches> {
    let file = crate::source::parquet(path)?;
    let planner = file.planner();
    let plain = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
        .map_err(|e| table_error(path, e))?;
    // Text comes as dictionary arrays: each distinct value is interned once per batch rather
    // than hashed on every row.
    let hinted: Vec<Field> = plain
        .schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 if dictionary_text => {
                f.as_ref().clone().with_data_type(DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(DataType::Utf8),
                ))
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    let metadata = ArrowReaderMetadata::try_new(
        plain.metadata().clone(),
        ArrowReaderOptions::new().with_schema(Arc::new(Schema::new(hinted))),
    )
    .map_err(|e| table_error(path, e))?;
    let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata);
    let mut rows = usize::try_from(builder.metadata().file_metadata().num_rows()).ok();
    if filtering.is_some() || row_groups.is_some() {
        let groups: Vec<usize> = match filtering {
            Some(filtering) => filtering.row_groups(builder.metadata(), plain.schema()),
            None => (0..builder.metadata().num_row_groups()).collect(),
        };
        let groups: Vec<usize> = groups
            .into_iter()
            .filter(|g| row_groups.is_none_or(|range| range.contains(g)))
            .collect();
        let chosen: i64 = groups
            .iter()
            .map(|g| builder.metadata().row_group(*g).num_rows())
            .sum();
        rows = usize::try_from(chosen).ok();
        builder = builder.with_row_groups(groups);
    }
    let schema = builder.schema().clone();
    let indices = column_indices(path, &schema, wanted)?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), indices.iter().copied());
    // An object store's source fetches each row group's chunks of these columns together.
    planner.plan(builder.metadata(), &mask);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(batch_rows)
        .build()
        .map_err(|e| table_error(path, e))?;
    Ok(Batches {
        reader: Box::new(reader),
        schema,
        rows,
    })
}

/// The number of row groups of the Parquet file at `path`, from its footer.
pub(crate) fn row_group_count(path: &Path) -> Result<usize> {
    let file = crate::source::parquet(path)?;
    let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
        .map_err(|e| table_error(path, e))?;
    Ok(metadata.metadata().num_row_groups())
}
