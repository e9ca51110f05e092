//! Table input: files of every format read into typed, nullable columns ([`Table`]).
//!
//! Every format comes as record batches from one opener (see `batches`), Parquet and Arrow IPC
//! with their own types, CSV and NDJSON with types inferred (see `text`). Several files are
//! concatenated; their column types must agree. `convert` turns Arrow arrays into columns.

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;

use crate::batches::{Batches, batch_error};
use crate::dataset::{ColumnType, Dataset, ReadOptions};
use crate::error::{Error, Result};
use crate::nullable::Nullable;
use crate::text::Format;

pub(crate) mod convert;

pub(crate) use convert::{dictionary_map, floats_of};
use convert::{empty_of, extend_text_days, from_arrow, ticks_per_day, timestamp_ticks};

/// One column's values: numbers with a bitmap of the missing ones, booleans as options, text
/// with [`Column::MISSING`] for a missing value.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Bool(Vec<Option<bool>>),
    Int(Nullable<i64>),
    Float(Nullable<f64>),
    /// Text, dictionary-encoded: each row's id into `labels`. Four bytes a row instead of a
    /// string each: at 10M rows that is 40 MB a column rather than gigabytes.
    Text {
        labels: Vec<String>,
        ids: Vec<u32>,
    },
}

impl Column {
    /// The id of a missing text value.
    pub const MISSING: u32 = u32::MAX;

    /// A text column from values, interning them.
    pub fn text<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let mut labels: Vec<String> = Vec::new();
        let mut index: std::collections::HashMap<&'a str, u32> = std::collections::HashMap::new();
        let ids = values
            .into_iter()
            .map(|v| match v {
                None => Self::MISSING,
                Some(v) => *index.entry(v).or_insert_with(|| {
                    labels.push(v.to_owned());
                    u32::try_from(labels.len() - 1).expect("fewer than 2^32 distinct values")
                }),
            })
            .collect();
        Column::Text { labels, ids }
    }

    pub fn len(&self) -> usize {
        match self {
            Column::Bool(v) => v.len(),
            Column::Int(v) => v.len(),
            Column::Float(v) => v.len(),
            Column::Text { ids, .. } => ids.len(),
        }
    }

    /// Makes room for `additional` more rows.
    pub(crate) fn reserve(&mut self, additional: usize) {
        match self {
            Column::Bool(v) => v.reserve(additional),
            Column::Int(v) => v.reserve(additional),
            Column::Float(v) => v.reserve(additional),
            Column::Text { ids, .. } => ids.reserve(additional),
        }
    }

    /// The column as an Arrow array: booleans, 64-bit integers and floats, or text, each
    /// nullable.
    pub fn to_arrow(&self) -> ArrayRef {
        use std::sync::Arc;
        match self {
            Column::Bool(v) => Arc::new(arrow_array::BooleanArray::from(v.clone())),
            Column::Int(v) => Arc::new(v.iter().collect::<arrow_array::Int64Array>()),
            Column::Float(v) => Arc::new(v.iter().collect::<arrow_array::Float64Array>()),
            Column::Text { labels, ids } => Arc::new(
                ids.iter()
                    .map(|&i| labels.get(i as usize).map(String::as_str))
                    .collect::<arrow_array::StringArray>(),
            ),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The type, in words, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Column::Bool(_) => "boolean",
            Column::Int(_) => "integer",
            Column::Float(_) => "float",
            Column::Text { .. } => "text",
        }
    }

    /// Numbers as floats (booleans as 0 and 1); `None` for a text column.
    pub fn to_floats(&self) -> Option<Vec<Option<f64>>> {
        #[expect(
            clippy::cast_precision_loss,
            reason = "labels and counts are far below 2^53"
        )]
        match self {
            Column::Bool(v) => Some(
                v.iter()
                    .map(|b| b.map(|b| f64::from(u8::from(b))))
                    .collect(),
            ),
            Column::Int(v) => Some(v.iter().map(|i| i.map(|i| i as f64)).collect()),
            Column::Float(v) => Some(v.iter().collect()),
            Column::Text { .. } => None,
        }
    }

    /// Any column as labels and per-row ids (text as stored; other types by their values as text).
    pub fn to_coded(&self) -> (Vec<String>, Vec<u32>) {
        match self {
            Column::Text { labels, ids } => (labels.clone(), ids.clone()),
            Column::Bool(v) => code(v.iter().map(|b| b.map(u64::from)), |k| (k == 1).to_string()),
            #[expect(
                clippy::cast_sign_loss,
                clippy::cast_possible_wrap,
                reason = "the bits round-trip unchanged"
            )]
            Column::Int(v) => code(v.iter().map(|i| i.map(|i| i as u64)), |k| {
                (k as i64).to_string()
            }),
            Column::Float(v) => code(v.iter().map(|f| f.map(f64::to_bits)), |k| {
                f64::from_bits(k).to_string()
            }),
        }
    }

    /// Each distinct value (as [`Column::to_coded`] labels it) with its count, and the count of
    /// missing values.
    pub fn counts(&self) -> (Vec<String>, Vec<u64>, u64) {
        let (labels, ids) = self.to_coded();
        let mut counts = vec![0u64; labels.len()];
        let mut missing = 0;
        for &id in &ids {
            if id == Column::MISSING {
                missing += 1;
            } else {
                counts[id as usize] += 1;
            }
        }
        (labels, counts, missing)
    }

    /// Every value as text (numbers formatted), for grouping.
    pub fn to_text(&self) -> Vec<Option<String>> {
        match self {
            Column::Bool(v) => v.iter().map(|b| b.map(|b| b.to_string())).collect(),
            Column::Int(v) => v.iter().map(|i| i.map(|i| i.to_string())).collect(),
            Column::Float(v) => v.iter().map(|f| f.map(|f| f.to_string())).collect(),
            Column::Text { labels, ids } => ids
                .iter()
                .map(|&i| (i != Self::MISSING).then(|| labels[i as usize].clone()))
                .collect(),
        }
    }

    #[expect(
        clippy::cast_precision_loss,
        reason = "an integer column meeting a float one is read as floats"
    )]
    fn append(
        &mut self,
        other: Column,
        index: &mut TextIndex,
    ) -> std::result::Result<(), (&'static str, &'static str)> {
        // Whichever comes first: the labels log holds integer labels in one file and fractional
        // ones in the next when requests sent them so.
        if let (Column::Int(a), Column::Float(_)) = (&*self, &other) {
            *self = Column::Float(a.map(|i| i as f64));
        }
        match (self, other) {
            (Column::Bool(a), Column::Bool(b)) => a.extend(b),
            (Column::Int(a), Column::Int(b)) => a.append(&b),
            (Column::Float(a), Column::Float(b)) => a.append(&b),
            (Column::Float(a), Column::Int(b)) => a.append(&b.map(|i| i as f64)),
            (
                Column::Text { labels, ids },
                Column::Text {
                    labels: new_labels,
                    ids: new_ids,
                },
            ) => {
                // Re-number the appended part's ids into this column's labels, through an index
                // of them built once and kept up to date by every append after.
                let index = index.get_or_insert_with(|| {
                    labels
                        .iter()
                        .enumerate()
                        .map(|(i, l)| {
                            (l.clone(), u32::try_from(i).expect("fewer than 2^32 labels"))
                        })
                        .collect()
                });
                let remap: Vec<u32> = new_labels
                    .into_iter()
                    .map(|l| {
                        let next = u32::try_from(labels.len()).expect("fewer than 2^32 labels");
                        *index.entry(l.clone()).or_insert_with(|| {
                            labels.push(l);
                            next
                        })
                    })
                    .collect();
                ids.extend(new_ids.into_iter().map(|i| {
                    if i == Column::MISSING {
                        i
                    } else {
                        remap[i as usize]
                    }
                }));
            }
            (this, other) => return Err((this.type_name(), other.type_name())),
        }
        Ok(())
    }
}

/// A text column's labels by id, kept between the appends that build the column, so that each
/// append costs what it appends: rebuilt each time, a column of a label per row (a request id)
/// cost its labels so far at every batch and every file.
type TextIndex = Option<std::collections::HashMap<String, u32>>;

/// Codes values by their 64 bits: ids in first-seen order, labels made by `name` once per
/// distinct value rather than a string per row.
fn code(
    values: impl Iterator<Item = Option<u64>>,
    name: impl Fn(u64) -> String,
) -> (Vec<String>, Vec<u32>) {
    let mut labels = Vec::new();
    let mut index: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
    let ids = values
        .map(|v| match v {
            None => Column::MISSING,
            Some(v) => *index.entry(v).or_insert_with(|| {
                labels.push(name(v));
                u32::try_from(labels.len() - 1).expect("fewer than 2^32 distinct values")
            }),
        })
        .collect();
    (labels, ids)
}

/// Named columns of equal length.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub names: Vec<String>,
    pub columns: Vec<Column>,
    pub rows: usize,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.columns[i])
    }

    /// The table as one Arrow record batch (columns as [`Column::to_arrow`] makes them).
    ///
    /// # Panics
    /// When column lengths differ, which a table's never do.
    #[must_use]
    pub fn to_record_batch(&self) -> arrow_array::RecordBatch {
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        self.record_batch_of(&names)
    }

    /// The named columns (in that order) as one Arrow record batch, without copying the table
    /// first as [`Table::select`] would.
    ///
    /// # Panics
    /// When a name is not a column.
    #[must_use]
    pub fn record_batch_of(&self, names: &[&str]) -> arrow_array::RecordBatch {
        let columns: Vec<&Column> = names
            .iter()
            .map(|n| self.column(n).expect("a column of the table"))
            .collect();
        let arrays: Vec<ArrayRef> = columns.iter().map(|c| c.to_arrow()).collect();
        let fields: Vec<arrow_schema::Field> = names
            .iter()
            .zip(&arrays)
            .map(|(name, array)| arrow_schema::Field::new(*name, array.data_type().clone(), true))
            .collect();
        arrow_array::RecordBatch::try_new_with_options(
            std::sync::Arc::new(arrow_schema::Schema::new(fields)),
            arrays,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(self.rows)),
        )
        .expect("a table's columns make a record batch")
    }

    /// The named columns (in that order) as a new table.
    ///
    /// # Panics
    /// When a name is not a column.
    #[must_use]
    pub fn select(&self, names: &[&str]) -> Table {
        Table {
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            columns: names
                .iter()
                .map(|n| self.column(n).expect("a column of the table").clone())
                .collect(),
            rows: self.rows,
        }
    }

    /// The rows `rows` (indices, in that order) as a new table.
    #[must_use]
    pub fn take(&self, rows: &[usize]) -> Table {
        let pick = |column: &Column| match column {
            Column::Bool(v) => Column::Bool(rows.iter().map(|&r| v[r]).collect()),
            Column::Int(v) => Column::Int(v.take(rows)),
            Column::Float(v) => Column::Float(v.take(rows)),
            Column::Text { labels, ids } => Column::Text {
                labels: labels.clone(),
                ids: rows.iter().map(|&r| ids[r]).collect(),
            },
        };
        Table {
            names: self.names.clone(),
            columns: self.columns.iter().map(pick).collect(),
            rows: rows.len(),
        }
    }
}

/// The calendar date (year, month, day) of days since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = u32::try_from(day_of_year - (153 * mp + 2) / 5 + 1).expect("1..=31");
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).expect("1..=12");
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// An ISO date at the start of `text` (`2026-11-22`, or a timestamp that starts with one), as
/// days since 1970-01-01; `None` unless it is a real calendar day (`2026-02-31` is not).
pub fn parse_date(text: &str) -> Option<i64> {
    let date = text.get(..10)?;
    let bytes = date.as_bytes();
    if bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("a real day");
    Some((day - epoch).num_days())
}

/// An ISO 8601 date or timestamp as microseconds since 1970-01-01 UTC: `2026-11-22`,
/// `2026-11-22T08:30`, `2026-11-22 08:30:00.25Z`, `2026-11-22T08:30:00+01:00` (`+0100` and `+01`
/// too); a timestamp without a zone is read as UTC. `None` for anything else.
pub fn parse_instant(text: &str) -> Option<i64> {
    const MICROS_PER_DAY: i64 = 86_400_000_000;
    let text = text.trim();
    if text.len() == 10 {
        return parse_date(text).map(|days| days * MICROS_PER_DAY);
    }
    // One separator for the formats below: `T`, `t` or a space.
    if !matches!(text.as_bytes().get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let text = format!("{}T{}", text.get(..10)?, text.get(11..)?);
    let (local, utc) = match text.strip_suffix(['Z', 'z']) {
        Some(local) => (local, true),
        None => (text.as_str(), false),
    };
    if !utc {
        for format in ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z"] {
            if let Ok(at) = chrono::DateTime::parse_from_str(local, format) {
                return Some(at.timestamp_micros());
            }
        }
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(local, format).ok())
        .map(|at| at.and_utc().timestamp_micros())
}

/// One column of every file of `data` as days since 1970-01-01 (see [`Dataset::read_days`]).
pub(crate) fn read_days(data: &Dataset, column: &str) -> Result<Vec<Option<i64>>> {
    let mut days = Vec::new();
    for path in data.files_to_read() {
        let reader = data.batches(path, &[column], 64 * 1024, false, &[])?.reader;
        for batch in reader {
            let batch = batch.map_err(|e| batch_error(path, e))?;
            let array = batch.column(0);
            match array.data_type() {
                DataType::Date32 => days.extend(
                    array
                        .as_primitive::<arrow_array::types::Date32Type>()
                        .iter()
                        .map(|d| d.map(i64::from)),
                ),
                DataType::Date64 => days.extend(
                    array
                        .as_primitive::<arrow_array::types::Date64Type>()
                        .iter()
                        .map(|d| d.map(|ms| ms.div_euclid(86_400_000))),
                ),
                DataType::Timestamp(unit, _) => {
                    let per_day = ticks_per_day(*unit);
                    days.extend(
                        timestamp_ticks(array, *unit)
                            .into_iter()
                            .map(|t| t.map(|t| t.div_euclid(per_day))),
                    );
                }
                _ => {
                    let column_values = from_arrow(path, column, array)?;
                    extend_text_days(&mut days, path, column, &column_values)?;
                }
            }
        }
    }
    Ok(days)
}

/// A column a file holds, and whether mlops can read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaColumn {
    pub name: String,
    /// The file's type for the column when mlops cannot read it (a list, a struct...).
    pub unsupported: Option<String>,
    /// Dates and timestamps, which [`crate::Dataset::read`] gives as days since 1970-01-01
    /// (fractional for timestamps).
    pub date: bool,
}

/// The columns of a file, in file order, without reading its rows, then the partition columns
/// its `key=value` directories give (see `hive`).
///
/// # Errors
/// When the file cannot be opened or read as its format.
pub(crate) fn schema(path: &Path, options: &ReadOptions) -> Result<Vec<SchemaColumn>> {
    let mut columns = file_schema(path)?;
    for column in &mut columns {
        // A type given to a column is the type it is read as.
        if let Some((_, given)) = options.schema.iter().rev().find(|(c, _)| *c == column.name) {
            column.unsupported = None;
            column.date = *given == ColumnType::Date;
        }
    }
    let partitions = crate::hive::schema(path);
    columns.retain(|c| !partitions.iter().any(|p| p.name == c.name));
    columns.extend(partitions);
    Ok(columns)
}

/// The columns the file itself holds.
fn file_schema(path: &Path) -> Result<Vec<SchemaColumn>> {
    let schema = match crate::text::format(path) {
        // Text: the types are inferred when the columns are read; none is a date.
        Format::Csv => {
            return Ok(crate::text::csv_header(path)?
                .into_iter()
                .map(|name| SchemaColumn {
                    name,
                    unsupported: None,
                    date: false,
                })
                .collect());
        }
        Format::Ndjson => crate::text::ndjson_schema(path)?,
        Format::Parquet | Format::Ipc => crate::batches::file_schema(path)?,
    };
    Ok(schema
        .fields()
        .iter()
        .map(|f| SchemaColumn {
            name: f.name().clone(),
            unsupported: (!readable(f.data_type())).then(|| f.data_type().to_string()),
            date: matches!(
                f.data_type(),
                DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)
            ),
        })
        .collect())
}

/// Whether [`read`] can turn an Arrow type into a [`Column`].
fn readable(data_type: &DataType) -> bool {
    match data_type {
        DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float32
        | DataType::Float64
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Date32
        | DataType::Date64
        | DataType::Timestamp(..)
        | DataType::Float16
        | DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..)
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView => true,
        // Any key type: pandas, polars and pyarrow each pick a different one.
        DataType::Dictionary(_, value) => readable(value),
        _ => false,
    }
}

/// Reads `columns` from every file of `data` and concatenates them in order (see
/// [`Dataset::read`]).
pub(crate) fn read(data: &Dataset, columns: &[&str]) -> Result<Table> {
    let mut table: Option<(Table, PathBuf)> = None;
    let mut indexes: Vec<TextIndex> = vec![None; columns.len()];
    for path in data.files_to_read() {
        let part = read_batches(data, path, columns)?;
        match &mut table {
            None => table = Some((part, path.to_owned())),
            Some((whole, first_path)) => {
                for (((name, column), new), index) in whole
                    .names
                    .iter()
                    .zip(&mut whole.columns)
                    .zip(part.columns)
                    .zip(&mut indexes)
                {
                    column.append(new, index).map_err(|(first, second)| {
                        Error::MismatchedColumn {
                            column: name.clone(),
                            first_path: first_path.clone(),
                            first,
                            second_path: path.to_owned(),
                            second,
                        }
                    })?;
                }
                whole.rows += part.rows;
            }
        }
    }
    Ok(table.map(|(t, _)| t).unwrap_or_default())
}

pub(crate) fn table_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Table {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// The columns of one record batch.
fn batch_columns(
    path: &Path,
    wanted: &[&str],
    batch: &arrow_array::RecordBatch,
) -> Result<Vec<Column>> {
    wanted
        .iter()
        .map(|name| {
            let array = batch
                .column_by_name(name)
                .expect("projected columns are present");
            from_arrow(path, name, array)
        })
        .collect()
}

/// Reads `columns` of every file of `data` in pieces of about `rows` rows (by record batches),
/// handing each piece to `each` (see [`Dataset::for_each_piece`]).
pub(crate) fn for_each_piece<E: From<Error>>(
    data: &Dataset,
    columns: &[&str],
    rows: usize,
    mut each: impl FnMut(Table) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    for path in data.files_to_read() {
        let batches = data.batches(path, columns, rows, true, &[])?;
        for batch in batches.reader {
            let batch = batch.map_err(|e| batch_error(path, e))?;
            let values = batch_columns(path, columns, &batch)?;
            each(Table {
                names: columns.iter().map(|n| (*n).to_owned()).collect(),
                columns: values,
                rows: batch.num_rows(),
            })?;
        }
    }
    Ok(())
}

/// `wanted` of one file, read by record batches.
fn read_batches(data: &Dataset, path: &Path, wanted: &[&str]) -> Result<Table> {
    let Batches {
        reader,
        schema,
        rows: total_rows,
    } = data.batches(path, wanted, 64 * 1024, true, &[])?;
    let mut columns: Vec<Option<Column>> = vec![None; wanted.len()];
    let mut indexes: Vec<TextIndex> = vec![None; wanted.len()];
    let mut rows = 0;
    for batch in reader {
        let batch = batch.map_err(|e| batch_error(path, e))?;
        rows += batch.num_rows();
        for ((slot, part), index) in columns
            .iter_mut()
            .zip(batch_columns(path, wanted, &batch)?)
            .zip(&mut indexes)
        {
            match slot {
                None => {
                    // Room for every row up front: growing by doubling would copy each column
                    // several times over, at 10M rows most of a second of page faults.
                    let mut column = part;
                    column.reserve(total_rows.unwrap_or(0).saturating_sub(column.len()));
                    *slot = Some(column);
                }
                Some(column) => column
                    .append(part, index)
                    .expect("one file has one type per column"),
            }
        }
    }
    let columns = columns
        .into_iter()
        .zip(wanted)
        .map(|(c, name)| {
            c.unwrap_or_else(|| {
                empty_of(
                    schema
                        .field_with_name(name)
                        .ok()
                        .map(arrow_schema::Field::data_type),
                )
            })
        })
        .collect();
    Ok(Table {
        names: wanted.iter().map(|n| (*n).to_owned()).collect(),
        columns,
        rows,
    })
}

/// The row numbers `0..rows` shuffled by `seed` and cut into a share `held` and the rest (which
/// keeps at least one row): `(rest, held)`.
pub fn split_rows(rows: usize, held: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..rows).collect();
    mlops_core::rng::SplitMix(seed).shuffle(&mut order);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "a share of a row count"
    )]
    let count = ((held * rows as f64).round() as usize).min(rows.saturating_sub(1));
    let rest = order.split_off(count);
    (rest, order)
}

/// The rows of `table` shuffled by `seed` and cut into a share `test` and the rest:
/// `(rest, test)`, as [`split_rows`] cuts them.
pub fn split(table: &Table, test: f64, seed: u64) -> (Table, Table) {
    let (rest, held) = split_rows(table.rows, test, seed);
    (table.take(&rest), table.take(&held))
}

/// Writes `table` to the Parquet file `path`, atomically where it is a regular file (see
/// [`mlops_core::outfile`]):
/// booleans, 64-bit integers and floats, and text, each nullable.
pub fn write_parquet(path: &Path, table: &Table) -> Result<()> {
    let batch = table.to_record_batch();
    // A temp file renamed into place, or straight through to a device or stdout.
    let file = mlops_core::outfile::OutFile::create(path)?;
    let properties = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(properties))
        .map_err(|e| table_error(path, e))?;
    writer.write(&batch).map_err(|e| table_error(path, e))?;
    let file = writer.into_inner().map_err(|e| table_error(path, e))?;
    file.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Column;
    use crate::Nullable;

    #[test]
    fn text_appends_keep_one_index_of_labels() {
        let mut column = Column::text([Some("a"), Some("b")]);
        let mut index = None;
        for part in [
            [Some("b"), Some("c")],
            [None, Some("a")],
            [Some("c"), Some("d")],
        ] {
            column.append(Column::text(part), &mut index).expect("text");
        }
        assert_eq!(
            column.to_text(),
            ["a", "b", "b", "c", "", "a", "c", "d"].map(|v| (!v.is_empty()).then(|| v.to_owned()))
        );
        let Column::Text { labels, .. } = &column else {
            panic!("text")
        };
        assert_eq!(labels, &["a", "b", "c", "d"]);
        assert_eq!(index.map(|i| i.len()), Some(4), "kept up to date");
    }

    #[test]
    fn integers_and_floats_append_as_floats_in_either_order() {
        let floats = || Column::Float(Nullable::from_values(vec![0.5]));
        let ints = || Column::Int(Nullable::from_values(vec![2]));
        for (mut first, second) in [(ints(), floats()), (floats(), ints())] {
            first.append(second, &mut None).expect("numbers meet");
            let Column::Float(values) = first else {
                panic!("floats: {first:?}")
            };
            assert_eq!(values.len(), 2);
        }
    }

    #[test]
    fn only_real_calendar_days_parse_as_dates() {
        assert_eq!(super::parse_date("1970-01-02"), Some(1));
        let (day, hour, minute) = (19_800 * 86_400_000_000_i64, 3_600_000_000, 60_000_000); // 2024-03-18
        for (text, want) in [
            ("2024-03-18", Some(day)),
            ("2024-03-18T05:30", Some(day + 5 * hour + 30 * minute)),
            (
                "2024-03-18 05:30:15.25Z",
                Some(day + 5 * hour + 30 * minute + 15_250_000),
            ),
            (
                "2024-03-18T05:30:00+01:00",
                Some(day + 4 * hour + 30 * minute),
            ),
            ("2024-03-18T05:30:00-0130", Some(day + 7 * hour)),
            ("2024-03-18T23:00:00-05", Some(day + 28 * hour)),
            ("1969-12-31T23:59:59Z", Some(-1_000_000)),
            ("2024-02-30", None),
            ("2024-3-18", None),
            ("2024-03-18T25:00", None),
            ("yesterday", None),
            ("2024-03-18X", None),
            ("2024-03-1é", None),
            ("2024", None),
        ] {
            assert_eq!(super::parse_instant(text), want, "{text}");
        }
        assert_eq!(super::parse_date("2024-02-29"), Some(19_782));
        assert_eq!(super::parse_date("2026-12-01T08:00:00Z"), Some(20_788));
        for text in [
            "2026-02-31",
            "2025-02-29",
            "2026-13-01",
            "2026-1-011",
            "20261201xx",
            "2026-12",
        ] {
            assert_eq!(super::parse_date(text), None, "{text}");
        }
    }

    use super::*;

    #[test]
    fn csv_types_are_inferred_and_missing_cells_are_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.csv");
        fs_err::write(&path, "flag,n,x,name\ntrue,1,0.5,a\nfalse,,2,\n").expect("write");
        let data = Dataset::of_files(vec![path], crate::ReadOptions::default());
        let table = data.read(&["x", "flag", "n", "name"]).expect("read");
        assert_eq!(table.rows, 2);
        assert_eq!(
            table.column("flag"),
            Some(&Column::Bool(vec![Some(true), Some(false)]))
        );
        assert_eq!(
            table.column("n"),
            Some(&Column::Int(vec![Some(1), None].into()))
        );
        assert_eq!(
            table.column("x"),
            Some(&Column::Float(vec![Some(0.5), Some(2.0)].into()))
        );
        assert_eq!(
            table.column("name").map(Column::to_text),
            Some(vec![Some("a".to_owned()), None])
        );
        let err = data.read(&["nope"]).expect_err("missing");
        assert!(
            err.to_string().starts_with("column `nope` not found in"),
            "{err}"
        );
    }

    /// A dictionary of no values (pandas' `category` with no categories) whose keys are all
    /// null: every row is missing (arrow's `normalized_keys` asserts the values are not empty).
    #[test]
    fn empty_dictionary_is_all_missing() {
        use arrow_array::{DictionaryArray, Int8Array, StringArray};
        let text: ArrayRef = std::sync::Arc::new(DictionaryArray::new(
            Int8Array::from(vec![None::<i8>; 3]),
            std::sync::Arc::new(StringArray::from(Vec::<Option<&str>>::new())),
        ));
        let got = from_arrow(Path::new("t.parquet"), "t", &text).expect("read");
        assert_eq!(got.to_text(), vec![None; 3]);
        let numbers: ArrayRef = std::sync::Arc::new(DictionaryArray::new(
            Int8Array::from(vec![None::<i8>; 2]),
            std::sync::Arc::new(arrow_array::Int64Array::from(Vec::<i64>::new())),
        ));
        let got = from_arrow(Path::new("t.parquet"), "t", &numbers).expect("read");
        assert_eq!(got, Column::Int(vec![None; 2].into()));
        assert_eq!(floats_of(&numbers), vec![None; 2]);
    }

    /// A `u64` past `i64::MAX` in a dictionary of numbers is missing, and only that value.
    #[test]
    fn floats_of_a_dictionary_misses_only_the_values_it_cannot_read() {
        use arrow_array::{DictionaryArray, Int8Array, UInt64Array};
        let numbers: ArrayRef = std::sync::Arc::new(DictionaryArray::new(
            Int8Array::from(vec![Some(0), Some(1), None, Some(0)]),
            std::sync::Arc::new(UInt64Array::from(vec![7, u64::MAX])),
        ));
        assert_eq!(floats_of(&numbers), vec![Some(7.0), None, None, Some(7.0)]);
    }
}
