//! What the benchmark data generators (`benches/*_data.rs`) share: their arguments, and a
//! Parquet file written a batch at a time.

use arrow_array::RecordBatch;

/// The arguments after `cargo bench`'s own `--bench`.
pub(crate) fn args() -> Vec<String> {
    std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect()
}

/// A Parquet file opened at the first batch, whose schema it takes.
pub(crate) struct ParquetOut {
    file: std::fs::File,
    writer: Option<parquet::arrow::ArrowWriter<std::fs::File>>,
}

impl ParquetOut {
    pub(crate) fn create(path: &str) -> Self {
        let file = fs_err::File::create(path)
            .expect("create the output file")
            .into_parts()
            .0;
        ParquetOut { file, writer: None }
    }

    pub(crate) fn write(&mut self, batch: &RecordBatch) {
        let file = &self.file;
        self.writer
            .get_or_insert_with(|| {
                let handle = file.try_clone().expect("a handle on the output file");
                parquet::arrow::ArrowWriter::try_new(handle, batch.schema(), None)
                    .expect("a Parquet writer")
            })
            .write(batch)
            .expect("write a batch");
    }

    pub(crate) fn close(self) {
        self.writer
            .expect("at least one row")
            .close()
            .expect("close the file");
    }
}
