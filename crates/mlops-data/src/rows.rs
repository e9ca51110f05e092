//! Row-wise I/O for scoring a model.
//!
//! [`RowReader`] reads any input a record batch at a time (through the dataset's one opener, hive
//! partition columns included) and decodes the model's
//! input columns straight into one row-major `f32` buffer per batch (standardised numbers,
//! one-hot blocks for categories), so memory holds a batch, never the input. [`RowWriter`]
//! writes the results a batch at a time, as Parquet or (for a `*.csv` output) CSV, to a temp file
//! renamed into place at the end, with chosen input columns passed through exactly as they were
//! read.

mod csv_output;
mod writer;

pub use writer::{RowWriter, ValueType, Values};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::batches::{BatchReader, batch_error};
use crate::dataset::ColumnType;
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::table::table_error;

/// How one input column becomes slots of a model's input row.
#[derive(Debug, Clone, PartialEq)]
pub enum Feature {
    /// A number (a boolean counts as 0 or 1) in one slot, as `(value - mean) / std`.
    Numeric { column: String, mean: f64, std: f64 },
    /// A category in a block of `categories.len()` slots: 1 at its category, 0 elsewhere. A
    /// value outside `categories`, or a missing one, leaves the whole block 0.
    OneHot {
        column: String,
        categories: Vec<String>,
    },
    /// A category as its index in `categories`, in one slot (a tree model's categorical
    /// feature, an ONNX graph's text input); a missing value is NaN, one outside `categories`
    /// the index past the last.
    Code {
        column: String,
        categories: Vec<String>,
    },
}

impl Feature {
    /// The input column it reads.
    pub fn column(&self) -> &str {
        match self {
            Feature::Numeric { column, .. }
            | Feature::OneHot { column, .. }
            | Feature::Code { column, .. } => column,
        }
    }

    /// How many slots it fills.
    pub fn width(&self) -> usize {
        match self {
            Feature::Numeric { .. } | Feature::Code { .. } => 1,
            Feature::OneHot { categories, .. } => categories.len(),
        }
    }
}

/// Columns carried from the input to the output unchanged.
#[derive(Debug, Clone)]
pub struct Passed(RecordBatch);

impl Passed {
    /// `batch`'s columns, to pass through.
    pub fn new(batch: RecordBatch) -> Passed {
        Passed(batch)
    }

    /// The column `name` as each row's value in text, as [`crate::table::Column::to_text`]
    /// gives it (`None` where missing); `None` when no column has that name.
    ///
    /// # Errors
    /// A column of a type tables do not read.
    pub fn text(&self, name: &str) -> Result<Option<Vec<Option<String>>>> {
        let Some(array) = self.0.column_by_name(name) else {
            return Ok(None);
        };
        let column = crate::table::convert::from_arrow(Path::new(""), name, array)?;
        Ok(Some(column.to_text()))
    }

    /// These columns without the column `name`.
    #[must_use]
    pub fn without(self, name: &str) -> Passed {
        match self.0.schema().index_of(name) {
            Ok(index) => {
                let mut batch = self.0;
                batch.remove_column(index);
                Passed(batch)
            }
            Err(_) => self,
        }
    }

    /// The rows whose `keep` is true.
    pub fn filter(&self, keep: &[bool]) -> Result<Passed> {
        let mask = arrow_array::BooleanArray::from(keep.to_vec());
        arrow_select::filter::filter_record_batch(&self.0, &mask)
            .map(Passed)
            .map_err(|e| Error::Table {
                path: PathBuf::new(),
                message: e.to_string(),
            })
    }
}

/// `schema` without the field `name` (the same schema when it has none).
pub fn schema_without(schema: &SchemaRef, name: &str) -> SchemaRef {
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .filter(|f| f.name() != name)
        .cloned()
        .collect();
    Arc::new(Schema::new(fields))
}

/// One batch of input rows, decoded.
#[derive(Debug)]
pub struct RowBatch {
    /// The file the rows come from.
    pub path: Arc<Path>,
    /// The index of the batch's first row in its file.
    pub first_row: u64,
    /// How many rows.
    pub rows: usize,
    /// `rows × width` values, one row after the other.
    pub values: Vec<f32>,
    /// Per row, whether a numeric input is missing or NaN; empty when none is.
    pub missing: Vec<bool>,
    /// The first missing numeric input: its row in the batch and its column.
    pub first_missing: Option<(usize, String)>,
    /// The columns to pass through.
    pub passed: Passed,
}

/// Rows decoded together across all features (32 float inputs: 32 KiB of output).
const TILE_ROWS: usize = 256;

/// Decodes record batches into rows of a model's inputs: what [`RowReader`] does to each batch
/// of a file, and what a server does to the columns of a request, so both score alike.
pub struct RowEncoder {
    features: Vec<FeatureDecoder>,
    width: usize,
}

/// A batch's rows, decoded by [`RowEncoder::encode`].
#[derive(Debug)]
pub struct EncodedRows {
    pub rows: usize,
    /// `rows × width` values, one row after the other.
    pub values: Vec<f32>,
    /// Per row, whether a numeric input is missing or NaN; empty when none is.
    pub missing: Vec<bool>,
    /// The first missing numeric input: its row and its column.
    pub first_missing: Option<(usize, String)>,
}

/// The column `name` of `batch`, looked for at `index` first: a batch projected on the features,
/// or built from them (`mlops serve`'s requests), holds them in order, and a name search per
/// feature costs a request of a few rows more than its decoding does.
fn column_named<'a>(batch: &'a RecordBatch, index: usize, name: &str) -> Option<&'a ArrayRef> {
    let schema = batch.schema_ref();
    if index < batch.num_columns() && schema.field(index).name() == name {
        return Some(batch.column(index));
    }
    batch.column_by_name(name)
}

impl RowEncoder {
    pub fn new(features: Vec<Feature>) -> Self {
        let width = features.iter().map(Feature::width).sum();
        RowEncoder {
            features: decoders(features),
            width,
        }
    }

    /// The values per row.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Decodes `batch`, which must hold every feature's column, by name, in a type it reads
    /// (a missing column or a wrong type is an error naming it).
    pub fn encode(&self, batch: &RecordBatch) -> Result<EncodedRows> {
        for (i, decoder) in self.features.iter().enumerate() {
            let column = decoder.feature.column();
            let Some(array) = column_named(batch, i, column) else {
                return Err(Error::MissingColumn {
                    path: PathBuf::new(),
                    column: column.to_owned(),
                    available: batch
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .collect(),
                });
            };
            check_input_type(Path::new(""), &decoder.feature, array.data_type())?;
        }
        Ok(self.decode(batch))
    }

    /// Decodes `batch`, whose feature columns are present and of types they read.
    fn decode(&self, batch: &RecordBatch) -> EncodedRows {
        let rows = batch.num_rows();
        let width = self.width;
        let mut values = vec![0.0f32; rows * width];
        let mut missing = Vec::new();
        let mut tile_missing = Vec::new();
        let mut first_missing = None;
        let arrays: Vec<&ArrayRef> = self
            .features
            .iter()
            .enumerate()
            .map(|(i, d)| {
                column_named(batch, i, d.feature.column()).expect("projected columns are present")
            })
            .collect();
        let inputs: Vec<Input<'_>> = self
            .features
            .iter()
            .zip(&arrays)
            .map(|(decoder, array)| decoder.prepare(array))
            .collect();
        // Tile by tile of rows, every feature: a tile's rows stay in the L1 cache while each
        // column writes its slot of them, where a whole column at a time would sweep the
        // batch's buffer once per column.
        for start in (0..rows).step_by(TILE_ROWS) {
            let len = TILE_ROWS.min(rows - start);
            let tile = &mut values[start * width..(start + len) * width];
            for (decoder, input) in self.features.iter().zip(&inputs) {
                let found = decoder.fill(input, start, len, width, tile, &mut tile_missing);
                if let Some(row) = found.map(|r| start + r)
                    && first_missing.as_ref().is_none_or(|(first, _)| row < *first)
                {
                    first_missing = Some((row, decoder.feature.column().to_owned()));
                }
                if !tile_missing.is_empty() {
                    missing.resize(rows, false);
                    for (flag, m) in missing[start..].iter_mut().zip(&tile_missing) {
                        *flag |= m;
                    }
                    tile_missing.clear();
                }
            }
        }
        EncodedRows {
            rows,
            values,
            missing,
            first_missing,
        }
    }
}

/// Decodes the features of a dataset's files into rows, a record batch at a time.
pub struct RowReader {
    data: Dataset,
    /// The files whose rows are read: those of `data` that its `--where` does not rule out by
    /// their partition values.
    files: Vec<PathBuf>,
    /// The next file of `files` to open.
    next_file: usize,
    /// The file being read: its path, its batches and the index in it of the next batch's row.
    current: Option<(Arc<Path>, BatchReader, u64)>,
    /// The types the features read their columns as, which a CSV or NDJSON file's inference
    /// yields to.
    wants: Vec<(String, ColumnType)>,
    encoder: RowEncoder,
    /// Every column read: the features' and then the passed ones, each once.
    wanted: Vec<String>,
    passed: Vec<String>,
    passed_schema: SchemaRef,
    batch_rows: usize,
    total_rows: u64,
}

impl RowReader {
    /// Opens the files of `data` for `features`, passing the `passed` columns through.
    ///
    /// Every file's schema is checked first (a CSV file's from its first rows): a
    /// missing column, an input of the wrong type, or a passed column whose type differs between
    /// files is an error before any row is read.
    pub(crate) fn open(
        data: &Dataset,
        features: Vec<Feature>,
        passed: &[String],
        batch_rows: usize,
    ) -> Result<Self> {
        let wanted = wanted_columns(&features, passed);
        let names: Vec<&str> = wanted.iter().map(String::as_str).collect();
        let wants = wants(&features);
        let batch_rows = batch_rows.max(1);
        let mut passed_schema: Option<(SchemaRef, PathBuf)> = None;
        let mut total_rows = Some(0);
        // The first file's reader is kept for reading: opening it again would read a text
        // file's sample twice, and for a URL request it twice.
        let mut kept: Option<(Arc<Path>, BatchReader, u64)> = None;
        let files: Vec<PathBuf> = data
            .files_to_read()
            .into_iter()
            .map(Path::to_path_buf)
            .collect();
        for (index, path) in files.iter().enumerate() {
            // Opening a file reads its metadata (or a text file's first rows), not its data.
            let file = data.batches(path, &names, batch_rows, false, &wants)?;
            // A CSV file's row count would take reading it twice: unknown.
            total_rows = total_rows.zip(file.rows).map(|(t, rows)| t + rows as u64);
            let file_schema = file.schema;
            for feature in &features {
                let field = file_schema
                    .field_with_name(feature.column())
                    .expect("the opener checked the columns");
                check_input_type(path, feature, field.data_type())?;
            }
            let schema = passed_fields(&file_schema, passed);
            match &passed_schema {
                None => passed_schema = Some((schema, path.clone())),
                Some((first, first_path)) => check_same_types(first, first_path, &schema, path)?,
            }
            if index == 0 {
                kept = Some((Arc::from(path.as_path()), file.reader, 0));
            }
        }
        let passed_schema =
            passed_schema.map_or_else(|| Arc::new(Schema::empty()), |(schema, _)| schema);
        Ok(RowReader {
            data: data.clone(),
            files,
            next_file: usize::from(kept.is_some()),
            current: kept,
            wants,
            encoder: RowEncoder::new(features),
            wanted,
            passed: passed.to_vec(),
            passed_schema,
            batch_rows,
            total_rows: total_rows.unwrap_or(0),
        })
    }

    /// The values per row.
    pub fn width(&self) -> usize {
        self.encoder.width
    }

    /// The rows of all the files, from their metadata; 0 (unknown) when one is CSV.
    pub fn total_rows(&self) -> u64 {
        self.total_rows
    }

    /// The passed columns' names and types, for [`RowWriter::create`].
    pub fn passed_schema(&self) -> SchemaRef {
        self.passed_schema.clone()
    }

    fn decode(&self, path: &Arc<Path>, first_row: u64, batch: &RecordBatch) -> Result<RowBatch> {
        let EncodedRows {
            rows,
            values,
            missing,
            first_missing,
        } = self.encoder.decode(batch);
        let columns = self
            .passed
            .iter()
            .map(|name| {
                batch
                    .column_by_name(name)
                    .expect("projected columns are present")
                    .clone()
            })
            .collect::<Vec<ArrayRef>>();
        let passed = RecordBatch::try_new_with_options(
            self.passed_schema.clone(),
            columns,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|e| table_error(path, e))?;
        Ok(RowBatch {
            path: path.clone(),
            first_row,
            rows,
            values,
            missing,
            first_missing,
            passed: Passed(passed),
        })
    }
}

impl Iterator for RowReader {
    type Item = Result<RowBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((path, batches, next_row)) = &mut self.current {
                match batches.next().map(|b| b.map_err(|e| batch_error(path, e))) {
                    Some(Ok(batch)) => {
                        let first_row = *next_row;
                        *next_row += batch.num_rows() as u64;
                        let path = path.clone();
                        return Some(self.decode(&path, first_row, &batch));
                    }
                    Some(Err(e)) => return Some(Err(e)),
                    None => self.current = None,
                }
            }
            let path = self.files.get(self.next_file)?.clone();
            self.next_file += 1;
            let names: Vec<&str> = self.wanted.iter().map(String::as_str).collect();
            let opened = self
                .data
                .batches(&path, &names, self.batch_rows, false, &self.wants)
                .map(|file| file.reader);
            match opened {
                Ok(batches) => self.current = Some((Arc::from(path.as_path()), batches, 0)),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

fn is_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, value) => is_text(value),
        _ => false,
    }
}

/// Numbers [`fill_numeric`] reads as they are.
fn is_plain_number(data_type: &DataType) -> bool {
    data_type.is_integer()
        || matches!(
            data_type,
            DataType::Float32 | DataType::Float64 | DataType::Boolean
        )
}

/// Numbers read through [`crate::table`]'s conversion first: half floats, decimals, and
/// dictionaries of numbers (pandas' `category` of integers or floats).
fn is_converted_number(data_type: &DataType) -> bool {
    match data_type {
        DataType::Float16
        | DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => true,
        DataType::Dictionary(_, value) => is_plain_number(value) || is_converted_number(value),
        _ => false,
    }
}

/// Integers or booleans, plain or dictionary-encoded, which name a category by their spelling.
fn is_category_number(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(_, value) => is_category_number(value),
        t => t.is_integer() || *t == DataType::Boolean,
    }
}

fn check_input_type(path: &Path, feature: &Feature, data_type: &DataType) -> Result<()> {
    let (fits, expected) = match feature {
        Feature::Numeric { .. } => (
            is_plain_number(data_type) || is_converted_number(data_type),
            "numbers or booleans",
        ),
        Feature::OneHot { .. } | Feature::Code { .. } => (
            is_text(data_type) || is_category_number(data_type),
            "text, integers or booleans (a category)",
        ),
    };
    if fits {
        Ok(())
    } else {
        Err(Error::WrongColumnType {
            path: path.to_owned(),
            column: feature.column().to_owned(),
            found: data_type.to_string(),
            expected,
        })
    }
}

/// A feature's input column for one batch, converted where it must be once, before the tile
/// loop (a tile's slice of a dictionary still holds all of its values).
enum Input<'a> {
    /// Read as stored, a tile at a time.
    Stored(&'a ArrayRef),
    /// Numbers not read as stored (half floats, decimals, dictionaries of numbers) as floats.
    Floats(ArrayRef),
    /// A dictionary-encoded category: each row's slot in the block, or [`NO_SLOT`].
    Slots(Vec<u32>),
}

/// A row of [`Input::Slots`] whose value is missing.
const NO_SLOT: u32 = u32::MAX;
/// A row of [`Input::Slots`] whose value is none of the categories.
const UNKNOWN_SLOT: u32 = u32::MAX - 1;

/// A feature with what decoding it needs: its first slot and, for categories, a lookup.
struct FeatureDecoder {
    feature: Feature,
    offset: usize,
    /// Category name to its index in the block.
    by_name: HashMap<String, usize>,
}

impl FeatureDecoder {
    fn new(feature: Feature, offset: usize) -> Self {
        let by_name = match &feature {
            Feature::Numeric { .. } => HashMap::new(),
            Feature::OneHot { categories, .. } | Feature::Code { categories, .. } => categories
                .iter()
                .enumerate()
                .map(|(i, c)| (c.clone(), i))
                .collect(),
        };
        FeatureDecoder {
            feature,
            offset,
            by_name,
        }
    }

    /// The feature's column of a batch as [`FeatureDecoder::fill`] reads it.
    fn prepare<'a>(&self, array: &'a ArrayRef) -> Input<'a> {
        match &self.feature {
            Feature::Numeric { .. } if is_converted_number(array.data_type()) => {
                Input::Floats(Arc::new(arrow_array::Float64Array::from(
                    crate::table::floats_of(array),
                )))
            }
            Feature::OneHot { .. } | Feature::Code { .. }
                if matches!(array.data_type(), DataType::Dictionary(..)) =>
            {
                // Each dictionary value's slot is looked up once; each row takes its key's.
                let table = self.slots_of(array.as_any_dictionary().values());
                Input::Slots(
                    crate::table::dictionary_map(array, NO_SLOT, |k| {
                        table.get(k).copied().unwrap_or(NO_SLOT)
                    })
                    .unwrap_or_default(),
                )
            }
            _ => Input::Stored(array),
        }
    }

    /// Each value's slot in the block, or [`NO_SLOT`].
    fn slots_of(&self, values: &ArrayRef) -> Vec<u32> {
        let slot = |name: Option<&str>| match name {
            None => NO_SLOT,
            Some(n) => self
                .by_name
                .get(n)
                .and_then(|&s| u32::try_from(s).ok())
                .unwrap_or(UNKNOWN_SLOT),
        };
        match values.data_type() {
            DataType::Utf8 => values.as_string::<i32>().iter().map(slot).collect(),
            DataType::LargeUtf8 => values.as_string::<i64>().iter().map(slot).collect(),
            DataType::Utf8View => values.as_string_view().iter().map(slot).collect(),
            _ => arrow_cast_text(values)
                .iter()
                .map(|n| slot(n.as_deref()))
                .collect(),
        }
    }

    /// Writes the feature's slots of rows `start..start + len` of `input` into `values` (those
    /// rows' part of the batch's buffer); for a numeric input, marks rows with a missing or NaN
    /// value in `missing` and returns the first such row.
    fn fill(
        &self,
        input: &Input<'_>,
        start: usize,
        len: usize,
        width: usize,
        values: &mut [f32],
        missing: &mut Vec<bool>,
    ) -> Option<usize> {
        let array = match input {
            Input::Stored(array) => array.slice(start, len),
            Input::Floats(array) => array.slice(start, len),
            Input::Slots(slots) => {
                let code = matches!(self.feature, Feature::Code { .. });
                let known = self.by_name.len();
                for (row, &slot) in slots[start..start + len].iter().enumerate() {
                    if code {
                        // Missing: NaN; none of the categories: the code past the last.
                        #[allow(clippy::cast_precision_loss, reason = "a category's index")]
                        let value = match slot {
                            NO_SLOT => f32::NAN,
                            UNKNOWN_SLOT => known as f32,
                            _ => slot as f32,
                        };
                        values[row * width + self.offset] = value;
                    } else if (slot as usize) < known {
                        values[row * width + self.offset + slot as usize] = 1.0;
                    }
                }
                return None;
            }
        };
        match &self.feature {
            Feature::Numeric { mean, std, .. } => {
                let column = Strided {
                    values,
                    width,
                    offset: self.offset,
                };
                fill_numeric(&array, *mean, 1.0 / *std, column, missing)
            }
            Feature::OneHot { .. } => {
                self.fill_onehot(&array, width, values);
                None
            }
            Feature::Code { .. } => {
                for row in 0..array.len() {
                    values[row * width + self.offset] = f32::NAN;
                }
                self.fill_onehot(&array, width, values);
                None
            }
        }
    }

    /// Sets each row's category: its slot of the block to 1 (one-hot), or its index into the
    /// feature's slot (a code).
    fn fill_onehot(&self, array: &ArrayRef, width: usize, values: &mut [f32]) {
        let code = matches!(self.feature, Feature::Code { .. });
        let known = self.by_name.len();
        let mut set = |row: usize, name: Option<&str>| {
            let slot = name.map(|n| self.by_name.get(n).copied().unwrap_or(known));
            match slot {
                // A code: the category's index, or the code past the last for none of them
                // (a missing value stays NaN).
                #[allow(clippy::cast_precision_loss, reason = "a category's index")]
                Some(slot) if code => values[row * width + self.offset] = slot as f32,
                Some(slot) if slot < known => values[row * width + self.offset + slot] = 1.0,
                _ => {}
            }
        };
        match array.data_type() {
            DataType::Utf8 => {
                array
                    .as_string::<i32>()
                    .iter()
                    .enumerate()
                    .for_each(|(r, v)| set(r, v));
            }
            DataType::LargeUtf8 => {
                array
                    .as_string::<i64>()
                    .iter()
                    .enumerate()
                    .for_each(|(r, v)| set(r, v));
            }
            DataType::Utf8View => {
                array
                    .as_string_view()
                    .iter()
                    .enumerate()
                    .for_each(|(r, v)| set(r, v));
            }
            _ => {
                // Integers and booleans name their category by their decimal or `true`/`false`
                // spelling, which is how a model file lists them.
                let names = arrow_cast_text(array);
                for (row, name) in names.iter().enumerate() {
                    set(row, name.as_deref());
                }
            }
        }
    }
}

/// Each value of a text, integer or boolean array as text.
fn arrow_cast_text(array: &ArrayRef) -> Vec<Option<String>> {
    macro_rules! spelled {
        ($t:ty) => {
            array
                .as_primitive::<$t>()
                .iter()
                .map(|v| v.map(|v| v.to_string()))
                .collect()
        };
    }
    match array.data_type() {
        DataType::Utf8 => array
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect(),
        DataType::LargeUtf8 => array
            .as_string::<i64>()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect(),
        DataType::Utf8View => array
            .as_string_view()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect(),
        DataType::Boolean => array
            .as_boolean()
            .iter()
            .map(|v| v.map(|v| v.to_string()))
            .collect(),
        DataType::Int8 => spelled!(Int8Type),
        DataType::Int16 => spelled!(Int16Type),
        DataType::Int32 => spelled!(Int32Type),
        DataType::Int64 => spelled!(Int64Type),
        DataType::UInt8 => spelled!(UInt8Type),
        DataType::UInt16 => spelled!(UInt16Type),
        DataType::UInt32 => spelled!(UInt32Type),
        DataType::UInt64 => spelled!(UInt64Type),
        _ => vec![None; array.len()],
    }
}

/// Every column to read: the features' and then the passed ones, each once, in that order.
fn wanted_columns(features: &[Feature], passed: &[String]) -> Vec<String> {
    let mut wanted: Vec<String> = Vec::new();
    for name in features
        .iter()
        .map(Feature::column)
        .chain(passed.iter().map(String::as_str))
    {
        if !wanted.iter().any(|w| w == name) {
            wanted.push(name.to_owned());
        }
    }
    wanted
}

/// The types a text file's columns are read as: a numeric input's as numbers, a category's as
/// text (so that `007` stays `007`); passed columns are inferred.
fn wants(features: &[Feature]) -> Vec<(String, ColumnType)> {
    features
        .iter()
        .map(|feature| {
            let kind = match feature {
                Feature::Numeric { .. } => ColumnType::Float,
                Feature::OneHot { .. } | Feature::Code { .. } => ColumnType::Text,
            };
            (feature.column().to_owned(), kind)
        })
        .collect()
}

/// The passed columns' fields of a file's schema, in `passed` order.
fn passed_fields(file_schema: &Schema, passed: &[String]) -> SchemaRef {
    Arc::new(Schema::new(
        passed
            .iter()
            .map(|name| {
                file_schema
                    .field_with_name(name)
                    .expect("the opener checked the columns")
                    .clone()
            })
            .collect::<Vec<Field>>(),
    ))
}

/// A passed column must have one type in every file, since the output has one schema.
fn check_same_types(first: &Schema, first_path: &Path, schema: &Schema, path: &Path) -> Result<()> {
    for (a, b) in first.fields().iter().zip(schema.fields()) {
        if a.data_type() != b.data_type() {
            return Err(table_error(
                path,
                format!(
                    "column `{}` is {} here but {} in `{}`",
                    a.name(),
                    b.data_type(),
                    a.data_type(),
                    first_path.display()
                ),
            ));
        }
    }
    Ok(())
}

/// One decoder a feature, each writing from the slot where the one before it ends.
fn decoders(features: Vec<Feature>) -> Vec<FeatureDecoder> {
    let mut offset = 0;
    features
        .into_iter()
        .map(|feature| {
            let decoder = FeatureDecoder::new(feature, offset);
            offset += decoder.feature.width();
            decoder
        })
        .collect()
}

/// One slot of every row in a row-major buffer.
struct Strided<'a> {
    values: &'a mut [f32],
    width: usize,
    offset: usize,
}

/// Writes `(value - mean) * inv_std` of each row into its slot, and marks rows whose value is
/// missing or NaN; returns the first such row.
fn fill_numeric(
    array: &ArrayRef,
    mean: f64,
    inv_std: f64,
    mut column: Strided<'_>,
    missing: &mut Vec<bool>,
) -> Option<usize> {
    let nan = scale_into(array, mean, inv_std, &mut column);
    if !nan && array.null_count() == 0 {
        return None;
    }
    mark_missing(array, &mut column, missing)
}

/// Writes every row's scaled value into its slot, whatever the numeric type (nulls write
/// whatever value lies under them); returns whether any result is NaN.
fn scale_into(array: &ArrayRef, mean: f64, inv_std: f64, column: &mut Strided<'_>) -> bool {
    macro_rules! primitive {
        ($t:ty, $conv:expr) => {
            write_scaled(
                array.as_primitive::<$t>().values(),
                $conv,
                mean,
                inv_std,
                column,
            )
        };
    }
    #[allow(clippy::cast_precision_loss, reason = "as in write_scaled: f32 inputs")]
    match array.data_type() {
        DataType::Float64 => primitive!(Float64Type, |v: f64| v),
        DataType::Float32 => primitive!(Float32Type, f64::from),
        DataType::Int8 => primitive!(Int8Type, f64::from),
        DataType::Int16 => primitive!(Int16Type, f64::from),
        DataType::Int32 => primitive!(Int32Type, f64::from),
        DataType::Int64 => primitive!(Int64Type, |v: i64| v as f64),
        DataType::UInt8 => primitive!(UInt8Type, f64::from),
        DataType::UInt16 => primitive!(UInt16Type, f64::from),
        DataType::UInt32 => primitive!(UInt32Type, f64::from),
        DataType::UInt64 => primitive!(UInt64Type, |v: u64| v as f64),
        DataType::Boolean => {
            let bools: Vec<bool> = array.as_boolean().values().iter().collect();
            write_scaled(&bools, |b| f64::from(u8::from(b)), mean, inv_std, column)
        }
        other => unreachable!("RowReader::open checked the type, found {other}"),
    }
}

/// The loop of [`scale_into`] for one value type; returns whether any result is NaN.
#[allow(
    clippy::cast_precision_loss,
    reason = "model inputs are f32; integers beyond 2^53 lose digits either way"
)]
fn write_scaled<T: Copy>(
    values: &[T],
    to_f64: impl Fn(T) -> f64,
    mean: f64,
    inv_std: f64,
    column: &mut Strided<'_>,
) -> bool {
    let mut nan = false;
    for (row, &v) in values.iter().enumerate() {
        let x = (to_f64(v) - mean) * inv_std;
        nan |= x.is_nan();
        #[allow(clippy::cast_possible_truncation, reason = "the model computes in f32")]
        let x = x as f32;
        column.values[row * column.width + column.offset] = x;
    }
    nan
}

/// Sets null rows' slots to NaN and flags every row whose slot is NaN in `missing`; returns the
/// first such row.
fn mark_missing(
    array: &ArrayRef,
    column: &mut Strided<'_>,
    missing: &mut Vec<bool>,
) -> Option<usize> {
    let rows = array.len();
    missing.resize(rows, false);
    let mut first = None;
    for (row, flag) in missing.iter_mut().enumerate() {
        let slot = &mut column.values[row * column.width + column.offset];
        if array.is_null(row) {
            *slot = f32::NAN;
        }
        if slot.is_nan() {
            *flag = true;
            first.get_or_insert(row);
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-hot input that is a dictionary of no values (pandas' `category` with no
    /// categories, every key null) sets no slot.
    #[test]
    fn one_hot_of_an_empty_dictionary_sets_nothing() {
        let decoder = FeatureDecoder::new(
            Feature::OneHot {
                column: "plan".to_owned(),
                categories: vec!["a".to_owned(), "b".to_owned()],
            },
            0,
        );
        let array: ArrayRef = Arc::new(arrow_array::DictionaryArray::new(
            arrow_array::Int8Array::from(vec![None::<i8>; 3]),
            Arc::new(arrow_array::StringArray::from(Vec::<Option<&str>>::new())),
        ));
        let mut values = vec![0.0f32; 6];
        let mut missing = Vec::new();
        let input = decoder.prepare(&array);
        assert_eq!(
            decoder.fill(&input, 0, 3, 2, &mut values, &mut missing),
            None
        );
        assert_eq!(values, vec![0.0; 6]);
    }
}
