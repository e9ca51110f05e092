//! The error type of `mlops-drift`: each variant names the column, test or file involved.

/// Everything that stops a drift report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Core(#[from] mlops_core::Error),

    #[error(transparent)]
    Data(#[from] mlops_data::Error),

    #[error(transparent)]
    Gate(#[from] crate::gates::GateError),

    #[error(transparent)]
    UnknownColumn(#[from] crate::gates::UnknownColumn),

    #[error("unknown test `{name}`")]
    UnknownTest {
        name: String,
        /// The test's name closest to `name`, when one is close enough.
        suggestion: Option<String>,
    },

    #[error("test `{test}` does not fit column `{column}`: it {reason}")]
    UnfitTest {
        test: &'static str,
        column: String,
        reason: String,
    },

    #[error("column `{column}` holds {found} values, which cannot be tested as numbers")]
    NotNumeric { column: String, found: &'static str },

    #[error("column `{column}` is not in {side}")]
    MissingColumn { column: String, side: String },

    #[error("`{}` is not an mlops profile: {message}", path.display())]
    BadProfile {
        path: std::path::PathBuf,
        message: String,
    },

    #[error("test `{test}` needs raw data, and the reference is a profile (column `{column}`)")]
    NeedsRawData { test: &'static str, column: String },

    #[error("{input} has no rows")]
    Empty { input: String },

    #[error("{0}")]
    Argument(String),

    #[error("--{option} must be {expected}, got {value}")]
    BadOption {
        option: &'static str,
        value: f64,
        expected: &'static str,
    },
}

pub type Result<T> = std::result::Result<T, Error>;
