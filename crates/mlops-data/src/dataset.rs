//! [`Dataset`]: what every reading command reads through. The files its inputs name, and how to
//! read them ([`ReadOptions`]), opened as record batches by one opener whatever their format,
//! then taken as a whole table, in pieces, as days, or as a model's input rows.

use std::path::{Path, PathBuf};

use crate::batches::{self, Batches, Opening};
use crate::error::Result;
use crate::hive::Keys;
use crate::rows::{Feature, RowReader};
use crate::table::{SchemaColumn, Table};

/// How to read a dataset's files, the same for every file.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ReadOptions {
    /// Column types given rather than inferred: a CSV or NDJSON column is parsed as its type,
    /// a Parquet or Arrow IPC column converted to it.
    pub schema: Vec<(String, ColumnType)>,
    /// Only the rows where this condition holds (`--where`); the rest are never handed on, and
    /// Parquet row groups and partitions that cannot hold one are not read.
    pub filter: Option<crate::Filter>,
    /// Only these row groups (by index, from the first up to the last but one) of each Parquet
    /// file: how a sharded job reads its part of a big file. Other formats are read whole.
    pub row_groups: Option<std::ops::Range<usize>>,
}

/// A column's type, as it can be given for a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Int,
    Float,
    Bool,
    Text,
    /// Days since 1970-01-01, from ISO dates (`2026-12-01`, or a timestamp starting with one).
    Date,
}

/// How many row groups the Parquet file at `path` has; `None` for a file of another format.
///
/// # Errors
/// When a Parquet file cannot be opened or its footer read.
pub fn parquet_row_groups(path: &Path) -> Result<Option<usize>> {
    if crate::text::format(path) != crate::text::Format::Parquet {
        return Ok(None);
    }
    crate::batches::row_group_count(path).map(Some)
}

impl ColumnType {
    /// The names a type is given by: `int`, `float`, `bool`, `text` (or `str`), `date`.
    pub const NAMES: [&'static str; 6] = ["int", "float", "bool", "text", "str", "date"];

    /// The type named `name` (one of [`ColumnType::NAMES`], any case).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "int" => ColumnType::Int,
            "float" => ColumnType::Float,
            "bool" => ColumnType::Bool,
            "text" | "str" => ColumnType::Text,
            "date" => ColumnType::Date,
            _ => return None,
        })
    }

    /// The Arrow type its column has.
    pub(crate) fn data_type(self) -> arrow_schema::DataType {
        use arrow_schema::DataType;
        match self {
            ColumnType::Int => DataType::Int64,
            ColumnType::Float => DataType::Float64,
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Text => DataType::Utf8,
            ColumnType::Date => DataType::Date32,
        }
    }

    /// What a value of it is, for messages.
    pub(crate) fn expected(self) -> &'static str {
        match self {
            ColumnType::Int => "an integer",
            ColumnType::Float => "a number",
            ColumnType::Bool => "`true` or `false`",
            ColumnType::Text => "text",
            ColumnType::Date => "an ISO date",
        }
    }
}

/// The files a command's inputs name (see [`crate::input::expand`]) and how to read them.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    files: Vec<PathBuf>,
    /// The partition keys of every file, typed over all of them.
    hive: Keys,
    options: ReadOptions,
}

impl Dataset {
    /// The files of every input in turn: a file, a directory's tables, a glob's matches.
    ///
    /// # Errors
    /// What [`crate::input::expand`] refuses.
    pub fn open(inputs: &[PathBuf], options: ReadOptions) -> Result<Self> {
        let mut files = Vec::new();
        for input in inputs {
            files.extend(crate::input::expand(input)?);
        }
        Ok(Self::of_files(files, options))
    }

    /// These files, as they are.
    pub fn of_files(files: Vec<PathBuf>, options: ReadOptions) -> Self {
        Dataset {
            hive: Keys::of(&files),
            files,
            options,
        }
    }

    /// How the files are read.
    pub fn options(&self) -> &ReadOptions {
        &self.options
    }

    /// The files, in the order they are read.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The files, for messages: `` `a.parquet` ``, or `` `a.parquet` and 3 more ``.
    pub fn describe(&self) -> String {
        match &self.files[..] {
            [] => "the input".into(),
            [one] => format!("`{}`", one.display()),
            [first, rest @ ..] => format!("`{}` and {} more", first.display(), rest.len()),
        }
    }

    /// The one file `path` of the dataset, read as the dataset reads it (its partition
    /// columns typed over every file).
    #[must_use]
    pub fn file(&self, path: &Path) -> Dataset {
        Dataset {
            files: vec![path.to_owned()],
            hive: self.hive.clone(),
            options: self.options.clone(),
        }
    }

    /// The files whose rows are read, in order: every file but those whose partition values
    /// prove that the filter holds on none of their rows, which are not opened at all. When
    /// that leaves none, the first file still is (its rows are then ruled out once it is
    /// open), so that an empty result has its columns' types.
    pub(crate) fn files_to_read(&self) -> Vec<&Path> {
        let Some(filter) = &self.options.filter else {
            return self.files.iter().map(PathBuf::as_path).collect();
        };
        let kept: Vec<&Path> = self
            .files
            .iter()
            .map(PathBuf::as_path)
            .filter(|path| !batches::ruled_out(path, &self.hive, &self.options.schema, filter))
            .collect();
        if kept.is_empty() {
            self.files.iter().map(PathBuf::as_path).take(1).collect()
        } else {
            kept
        }
    }

    /// The columns of the first file, in file order, then its partition columns; empty when
    /// there is no file. Reads metadata (a CSV file's header), not rows.
    ///
    /// # Errors
    /// When the first file cannot be opened or read.
    pub fn schema(&self) -> Result<Vec<SchemaColumn>> {
        self.files.first().map_or(Ok(Vec::new()), |first| {
            crate::table::schema(first, &self.options)
        })
    }

    /// `columns` of every file, concatenated in order; their types must agree.
    ///
    /// # Errors
    /// When a file cannot be read, lacks a column, or a column's type differs between files.
    pub fn read(&self, columns: &[&str]) -> Result<Table> {
        crate::table::read(self, columns)
    }

    /// `columns` of every file in pieces of about `rows` rows, each handed to `each`: memory
    /// holds one piece, not the data.
    ///
    /// # Errors
    /// What [`Dataset::read`] refuses, and what `each` returns.
    pub fn for_each_piece<E: From<crate::Error>>(
        &self,
        columns: &[&str],
        rows: usize,
        each: impl FnMut(Table) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        crate::table::for_each_piece(self, columns, rows, each)
    }

    /// One column of every file as days since 1970-01-01: dates and timestamps (UTC), or text
    /// holding ISO dates; `None` for a missing value.
    ///
    /// # Errors
    /// When the column is missing, or holds something else (a text value that is not a date
    /// names the first such value).
    pub fn read_days(&self, column: &str) -> Result<Vec<Option<i64>>> {
        crate::table::read_days(self, column)
    }

    /// The rows of every file decoded as `features` say, `batch_rows` at a time, with the
    /// `passed` columns carried through (see [`RowReader`]).
    ///
    /// # Errors
    /// When a file lacks a column, an input has the wrong type, or a passed column's type
    /// differs between files; checked before any row is read.
    pub fn rows(
        &self,
        features: Vec<Feature>,
        passed: &[String],
        batch_rows: usize,
    ) -> Result<RowReader> {
        RowReader::open(self, features, passed, batch_rows)
    }

    /// `path`'s record batches of the `wanted` columns, its partition columns appended: the one
    /// place a dataset's options reach the opener. `wants` are the types the caller reads some
    /// columns as, which a CSV or NDJSON file's inference yields to (the options' types win).
    pub(crate) fn batches(
        &self,
        path: &Path,
        wanted: &[&str],
        batch_rows: usize,
        dictionary_text: bool,
        wants: &[(String, ColumnType)],
    ) -> Result<Batches> {
        batches::open(
            path,
            wanted,
            &Opening {
                batch_rows,
                dictionary_text,
                hive: &self.hive,
                filter: self.options.filter.as_ref(),
                row_groups: self.options.row_groups.as_ref(),
                schema: &self.options.schema,
                wants,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::DataType;

    /// A column's type: inferred from its values, or what the caller reads it as, or (over
    /// both) what the options give.
    #[test]
    fn given_types_win_over_wanted_ones_and_both_over_inference() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.csv");
        fs_err::write(&path, "id,n,x,flag\n007,1,2,true\n010,3,4,FALSE\n").expect("write");
        let options = ReadOptions {
            schema: vec![("id".to_owned(), ColumnType::Text)],
            ..ReadOptions::default()
        };
        let data = Dataset::of_files(vec![path.clone()], options);
        let wants = [
            ("n".to_owned(), ColumnType::Float),
            ("id".to_owned(), ColumnType::Int),
        ];
        let batches = data
            .batches(&path, &["id", "n", "x", "flag"], 1, false, &wants)
            .expect("open");
        let types: Vec<(String, DataType)> = batches
            .schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect();
        assert_eq!(
            types,
            [
                ("id".to_owned(), DataType::Utf8),
                ("n".to_owned(), DataType::Float64),
                ("x".to_owned(), DataType::Int64),
                ("flag".to_owned(), DataType::Boolean),
            ]
        );
        let rows: usize = batches.reader.map(|b| b.expect("batch").num_rows()).sum();
        assert_eq!(rows, 2);
        let table = data.read(&["id"]).expect("read");
        assert_eq!(
            table.column("id").map(crate::table::Column::to_text),
            Some(vec![Some("007".to_owned()), Some("010".to_owned())])
        );
    }
}
