//! The error type of `mlops-eval`: each variant names the column and input involved.

use std::path::PathBuf;

/// Everything that can go wrong in an evaluation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Core(#[from] mlops_core::Error),

    #[error(transparent)]
    Data(#[from] mlops_data::Error),

    #[error("{0}")]
    Argument(String),

    #[error("{input} has no rows")]
    Empty { input: String },

    #[error("no row of {predictions} has a label in {labels} (joined on {keys})")]
    NoneLabelled {
        predictions: String,
        labels: String,
        keys: String,
    },

    #[error("column `{column}` in {input} holds {found} values, expected {expected}")]
    WrongType {
        column: String,
        input: String,
        found: &'static str,
        expected: String,
    },

    #[error("column `{column}` in {input} has {count} missing values")]
    MissingValues {
        column: String,
        input: String,
        count: usize,
    },

    #[error("column `{column}` in {input} has {count} scores outside [0, 1] (from {min} to {max})")]
    ScoresOutOfRange {
        column: String,
        input: String,
        count: usize,
        min: f64,
        max: f64,
    },

    #[error("column `{column}` in {input} holds {}, expected {expected}", .found.join(", "))]
    NotInClasses {
        column: String,
        input: String,
        found: Vec<String>,
        expected: String,
    },

    #[error("column `{column}` holds text labels ({}); say which is positive with --pos-label", .values.join(", "))]
    NeedsPosLabel { column: String, values: Vec<String> },

    #[error(transparent)]
    Gate(#[from] crate::gates::GateError),

    #[error(transparent)]
    UnknownMetric(#[from] crate::gates::UnknownMetric),

    #[error("invalid config `{}`: {message}", path.display())]
    BadConfig { path: PathBuf, message: String },

    #[error("invalid baseline report `{}`: {message}", path.display())]
    BadBaseline { path: PathBuf, message: String },

    #[error("the baseline report `{}` is of a {found} task, this evaluation is {expected}", path.display())]
    BaselineTask {
        path: PathBuf,
        found: String,
        expected: String,
    },

    #[error("--{option} must be {expected}, got {value}")]
    BadOption {
        option: &'static str,
        value: f64,
        expected: &'static str,
    },

    #[error(
        "column `{column}` in {input} has the weight {value} in row {row}; weights must be finite and not negative"
    )]
    BadWeight {
        column: String,
        input: String,
        /// 1-based, counting data rows across the inputs read as one table.
        row: usize,
        value: f64,
    },

    #[error("--{option} needs a binary task")]
    NeedsBinary { option: &'static str },

    #[error("--slice-metric {metric} does not fit a {task} task (expected {expected})")]
    SliceMetric {
        metric: &'static str,
        task: &'static str,
        expected: &'static str,
    },

    #[error("an evaluation in shards cannot take {what}: {why}; evaluate without --shards")]
    NotSharded { what: String, why: &'static str },

    #[error("the shards' parts do not fit together: {0}")]
    ShardsDisagree(String),

    #[error(
        "the group `{group}` has {rows} row(s), all of one label: no threshold trades one kind of error for the other there"
    )]
    DegenerateGroup { group: String, rows: usize },

    #[error("--slice `{columns}` crosses more than {max} columns")]
    TooManyCrossed { columns: String, max: usize },

    #[error("the consistency score needs at least one neighbour per row, got 0")]
    NoNeighbours,

    #[error(
        "{rows} rows are too few for {neighbours} neighbours per row (a row is its own nearest)"
    )]
    TooFewRows { rows: usize, neighbours: usize },

    #[error("{rows} rows are more than the neighbour search can index ({max})")]
    TooManyRows { rows: usize, max: u32 },

    #[error("{values} feature values do not make rows of {dims} dimensions")]
    BadShape { values: usize, dims: usize },

    #[error("feature {feature} of row {row} is {value}; features must be finite")]
    NonFiniteFeature {
        /// 0-based, as in the slices given.
        row: usize,
        /// 0-based.
        feature: usize,
        value: f64,
    },

    #[error("the label of row {row} is {value}; labels must be finite")]
    NonFiniteLabel {
        /// 0-based, as in the slice given.
        row: usize,
        value: f64,
    },

    #[error("{what} have {found} values for {rows} rows")]
    LengthMismatch {
        what: &'static str,
        found: usize,
        rows: usize,
    },

    #[error("row {row} has the group id {id}, but there are {groups} group names")]
    UnknownGroup {
        /// 0-based, as in the slice given.
        row: usize,
        id: u32,
        groups: usize,
    },
}

/// Result with the evaluation [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
