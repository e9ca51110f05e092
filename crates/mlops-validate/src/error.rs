//! The error type of `mlops-validate`: each variant names the file, key or column involved.

use std::path::PathBuf;

/// Everything that stops a validation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Data(#[from] mlops_data::Error),

    #[error("cannot read the schema `{}`", path.display())]
    ReadSchema {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A mistake in a schema file: `key` is the path to it, `columns.age[1].max_value`.
    #[error("invalid schema `{}`: {key}: {message}", path.display())]
    Schema {
        path: PathBuf,
        key: String,
        message: String,
    },

    /// `infer --id` names a key (a column, or columns together) that repeats or has a missing
    /// value.
    #[error("the key `{columns}` is not unique (a key repeats or has a missing value) in `{}`", file.display())]
    KeyNotUnique { columns: String, file: PathBuf },

    /// A hand-written rule meets data it cannot read (`mean` of a text column).
    #[error("rule `{rule}`: {message}")]
    Condition { rule: String, message: String },

    /// A `--batch-by --every` column holds something that is no date.
    #[error("--batch-by `{column}`: {message}")]
    BatchBy { column: String, message: String },

    #[error("column `{column}` not found in `{}`", file.display())]
    MissingColumn { column: String, file: PathBuf },
}

/// The result of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
