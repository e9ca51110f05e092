//! The shape of a Parquet file from its footer alone: each column's name and Arrow type, and the
//! row count. For readers that describe data without reading its rows (the model card reads the
//! training data's schema this way, from cache objects whose names carry no extension).

use std::io::Read as _;
use std::path::Path;

use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};

use crate::error::Result;
use crate::table::table_error;

/// A Parquet file's columns and rows, from its footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// Each column's name and Arrow type (`Int64`, `Utf8`, `Dictionary(Int32, Utf8)`...), in
    /// file order.
    pub columns: Vec<(String, String)>,
    pub rows: u64,
}

/// The shape of the local file at `path` if it is Parquet (told by its first bytes, `PAR1`,
/// not by its name); `None` for any other file.
///
/// # Errors
/// When the file cannot be opened, or starts as Parquet but its footer cannot be read.
pub fn parquet_shape(path: &Path) -> Result<Option<Shape>> {
    let mut file = fs_err::File::open(path)?;
    let mut magic = [0u8; 4];
    if file.read_exact(&mut magic).is_err() || &magic != b"PAR1" {
        return Ok(None);
    }
    let file = file.into_parts().0;
    let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
        .map_err(|e| table_error(path, e))?;
    let columns = metadata
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().to_string()))
        .collect();
    let rows = u64::try_from(metadata.metadata().file_metadata().num_rows()).unwrap_or(0);
    Ok(Some(Shape { columns, rows }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Column, Table, write_parquet};

    #[test]
    fn a_parquet_file_gives_its_columns_and_rows_and_other_files_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let table = Table {
            names: vec!["age".to_owned(), "region".to_owned()],
            columns: vec![
                Column::Int(vec![Some(30), Some(41), None].into()),
                Column::text([Some("east"), Some("west"), Some("east")]),
            ],
            rows: 3,
        };
        // No extension: the bytes say what the file is.
        let object = dir.path().join("3f9a");
        write_parquet(&object, &table).expect("write");
        let shape = parquet_shape(&object).expect("read").expect("parquet");
        assert_eq!(shape.rows, 3);
        let names: Vec<&str> = shape.columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["age", "region"]);
        assert_eq!(shape.columns[0].1, "Int64");
        let text = dir.path().join("notes");
        fs_err::write(&text, "a,b\n1,2\n").expect("write");
        assert_eq!(parquet_shape(&text).expect("read"), None);
    }
}
