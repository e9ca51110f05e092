//! Scored rows written a batch at a time: the passed-through columns as they were read, then the
//! columns scoring adds, as Parquet or (for a `*.csv` output) CSV, to a temp file renamed into
//! place at the end.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::{Passed, csv_output, is_text};
use crate::error::Result;
use crate::table::table_error;
use mlops_core::outfile::OutFile;

/// The type of an output column [`RowWriter`] adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Float32,
    Int64,
    Text,
}

/// The values of one added output column for one batch.
#[derive(Debug, Clone)]
pub enum Values {
    Float32(Vec<f32>),
    Int64(Vec<i64>),
    /// Each row's label, as an index into `labels`.
    Text {
        labels: Arc<[String]>,
        ids: Vec<u32>,
    },
}

impl Values {
    /// The column as an Arrow array (a text column as its labels).
    #[must_use]
    pub fn into_array(self) -> ArrayRef {
        match self {
            Values::Float32(v) => Arc::new(arrow_array::Float32Array::from(v)),
            Values::Int64(v) => Arc::new(arrow_array::Int64Array::from(v)),
            Values::Text { labels, ids } => Arc::new(arrow_array::StringArray::from_iter_values(
                ids.iter().map(|&i| labels[i as usize].as_str()),
            )),
        }
    }
}

/// Writes scored rows to a Parquet file, or a CSV file when its name ends in `.csv`: a temp file
/// beside it until [`RowWriter::finish`] renames it into place, removed if the writer is dropped
/// unfinished (or straight through to a device, a FIFO or stdout: see [`mlops_core::outfile`]).
pub struct RowWriter {
    path: PathBuf,
    writer: Output,
    schema: SchemaRef,
    rows: u64,
}

/// The format [`RowWriter`] writes.
enum Output {
    Parquet(ArrowWriter<OutFile>),
    Csv(::csv::Writer<OutFile>),
}

impl RowWriter {
    /// Opens the output for the passed columns followed by `added` ones.
    pub fn create(path: &Path, passed: &SchemaRef, added: &[(String, ValueType)]) -> Result<Self> {
        let mut fields: Vec<Field> = passed.fields().iter().map(|f| f.as_ref().clone()).collect();
        for (name, kind) in added {
            let data_type = match kind {
                ValueType::Float32 => DataType::Float32,
                ValueType::Int64 => DataType::Int64,
                ValueType::Text => DataType::Utf8,
            };
            fields.push(Field::new(name, data_type, false));
        }
        let schema = Arc::new(Schema::new(fields));
        if csv_output::is_csv(path) {
            return Ok(RowWriter {
                path: path.to_owned(),
                writer: Output::Csv(csv_output::create(path, &schema)?),
                schema,
                rows: 0,
            });
        }
        let file = OutFile::create(path)?;
        // Row groups of 128k rows keep the buffered output small whatever the input's size.
        // Dictionaries only for text: trying one on every score and id costs more than it saves.
        let mut properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(128 * 1024))
            .set_dictionary_enabled(false);
        for field in schema.fields() {
            if is_text(field.data_type()) {
                properties = properties.set_column_dictionary_enabled(
                    parquet::schema::types::ColumnPath::from(field.name().as_str()),
                    true,
                );
            }
        }
        let properties = properties.build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(properties))
            .map_err(|e| table_error(path, e))?;
        Ok(RowWriter {
            path: path.to_owned(),
            writer: Output::Parquet(writer),
            schema,
            rows: 0,
        })
    }

    /// Appends a batch: its passed columns, then the added columns' values in order.
    pub fn write(&mut self, passed: &Passed, added: Vec<Values>) -> Result<()> {
        let mut columns = passed.0.columns().to_vec();
        columns.extend(added.into_iter().map(Values::into_array));
        let rows = passed.0.num_rows();
        let batch = RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|e| table_error(&self.path, e))?;
        match &mut self.writer {
            Output::Parquet(writer) => writer
                .write(&batch)
                .map_err(|e| table_error(&self.path, e))?,
            Output::Csv(writer) => csv_output::write_batch(&self.path, writer, &batch)?,
        }
        self.rows += rows as u64;
        Ok(())
    }

    /// Completes the file (its footer too), syncs it and renames it into place; returns the rows
    /// written. Dropped without this, the temp file is removed.
    pub fn finish(self) -> Result<u64> {
        match self.writer {
            Output::Parquet(writer) => {
                let file = writer
                    .into_inner()
                    .map_err(|e| table_error(&self.path, e))?;
                file.finish()?;
            }
            Output::Csv(writer) => csv_output::finish(&self.path, writer)?,
        }
        Ok(self.rows)
    }
}
