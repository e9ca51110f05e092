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
pub struct ReadOptions {}

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

    /// The columns of the first file, in file order, then its partition columns; empty when
    /// there is no file. Reads metadata (a CSV file's header), not rows.
    ///
    /// # Errors
    /// When the first file cannot be opened or read.
    pub fn schema(&self) -> Result<Vec<SchemaColumn>> {
        self.files
            .first()
            .map_or(Ok(Vec::new()), |first| crate::table::schema(first))
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
    /// place a dataset's options reach the opener.
    pub(crate) fn batches(
        &self,
        path: &Path,
        wanted: &[&str],
        batch_rows: usize,
        dictionary_text: bool,
    ) -> Result<Batches> {
        batches::open(
            path,
            wanted,
            &Opening {
                batch_rows,
                dictionary_text,
                hive: &self.hive,
            },
        )
    }

    /// The partition keys of the files.
    pub(crate) fn hive(&self) -> &Keys {
        &self.hive
    }
}
