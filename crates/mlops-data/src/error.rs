//! The one error type of `mlops-data`: a table that cannot be read, or a column that is missing
//! or of the wrong type.
//!
//! Each variant names the file and column; messages start in lowercase, put literals in backticks
//! and end without a period. The binary adds hints.

use std::path::PathBuf;

/// Everything that can go wrong reading or writing a table.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error; `fs-err` already names the path in its message.
    #[error(transparent)]
    Io(#[from] std::io::Error),

    /// An input URL that cannot be listed or read (the message names the URL).
    #[error(transparent)]
    Url(#[from] mlops_core::Error),

    #[error("cannot read `{}`: {message}", path.display())]
    Table { path: PathBuf, message: String },

    #[error("column `{column}` not found in `{}` (it has: {})", path.display(), available.join(", "))]
    MissingColumn {
        path: PathBuf,
        column: String,
        /// The file's columns, in its order.
        available: Vec<String>,
    },

    #[error("no table files (Parquet, CSV, NDJSON, Arrow IPC) match `{}`", pattern.display())]
    NoTableFiles { pattern: PathBuf },

    #[error("invalid pattern `{}`: {message}", pattern.display())]
    BadPattern { pattern: PathBuf, message: String },

    #[error("column `{column}` in `{}` has type {found}, which mlops cannot read", path.display())]
    UnsupportedColumnType {
        path: PathBuf,
        column: String,
        found: String,
    },

    #[error("column `{column}` of `{}` is {found}; it must hold {expected}", path.display())]
    WrongColumnType {
        path: PathBuf,
        column: String,
        found: String,
        expected: &'static str,
    },

    /// A CSV cell that does not read as its column's type.
    #[error("`{}` line {line}, column `{column}`: `{value}` is not {expected}", path.display())]
    BadValue {
        path: PathBuf,
        /// The line the record starts on, counting the header as line 1.
        line: u64,
        column: String,
        value: String,
        expected: &'static str,
    },

    /// A Parquet or Arrow IPC value that does not convert to the type `--schema` gives its
    /// column.
    #[error("`{}` row {row}, column `{column}`: `{value}` is not {expected}", path.display())]
    BadStoredValue {
        path: PathBuf,
        /// The row of the file, from 1.
        row: u64,
        column: String,
        value: String,
        expected: &'static str,
    },

    /// A `--where` condition that does not parse, or compares values of types that do not go
    /// together; the message names the column (in characters) of the offending part.
    #[error(transparent)]
    Filter(mlops_expr::ParseError),

    #[error("filter `{filter}` names column `{column}`, which `{}` does not have (it has: {available})", path.display())]
    UnknownFilterColumn {
        filter: String,
        column: String,
        path: PathBuf,
        available: String,
        /// The file's column closest to the name, when one is close enough.
        suggestion: Option<String>,
    },

    /// A column given a type (`ReadOptions::schema`) that a file does not have.
    #[error("column `{column}` is given a type but is not in `{}` (it has: {available})", path.display())]
    UnknownTypedColumn {
        path: PathBuf,
        column: String,
        available: String,
    },

    #[error("column `{column}` is {first} in `{}` but {second} in `{}`", first_path.display(), second_path.display())]
    MismatchedColumn {
        column: String,
        first_path: PathBuf,
        first: &'static str,
        second_path: PathBuf,
        second: &'static str,
    },
}

/// Result with the data [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
