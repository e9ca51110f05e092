//! Errors of loading, scoring and training models: each names the file, tensor or column.

use std::path::PathBuf;

/// What can go wrong with a model or its data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Core(#[from] mlops_core::Error),

    #[error(transparent)]
    Data(#[from] mlops_data::Error),

    #[error(transparent)]
    Eval(#[from] mlops_eval::Error),

    #[error("no model in `{}`: it has no `model.yaml`", dir.display())]
    NoModel { dir: PathBuf },

    #[error("`{}`: {message}", path.display())]
    Spec { path: PathBuf, message: String },

    #[error("`{}` is not a readable safetensors file: {message}", path.display())]
    Weights { path: PathBuf, message: String },

    #[error("tensor `{tensor}` is not in `{}` (it has: {available})", path.display())]
    MissingTensor {
        path: PathBuf,
        tensor: String,
        available: String,
    },

    #[error("tensor `{tensor}` in `{}` has shape {found:?}, but {needed}", path.display())]
    Shape {
        path: PathBuf,
        tensor: String,
        found: Vec<usize>,
        needed: String,
    },

    #[error(
        "`{}`: {rows} rows have a missing or NaN input (the first is row {row}, column `{column}`)",
        path.display()
    )]
    MissingInput {
        path: PathBuf,
        rows: u64,
        row: u64,
        column: String,
    },

    #[error("row {row} of `{}`: {problem}", path.display())]
    Postprocess {
        path: PathBuf,
        row: u64,
        problem: String,
    },

    #[error("`{}`: {message}", path.display())]
    TrainingData { path: PathBuf, message: String },

    #[error(
        "training diverged in epoch {epoch}: the loss became {loss} (learning rate {lr:e}); nothing was written"
    )]
    Diverged { epoch: usize, loss: f64, lr: f64 },

    #[error(
        "tensor `{tensor}` in `{}` holds {value} (value {index}); a model's weights must be finite",
        path.display()
    )]
    NonFinite {
        path: PathBuf,
        tensor: String,
        /// 0-based, in the tensor's row-major order.
        index: usize,
        value: f64,
    },

    #[error("this mlops was built without CUDA, so `--device {device}` cannot run")]
    NoCuda { device: String },

    #[error("CUDA device {ordinal} cannot be used: {message}")]
    CudaUnavailable { ordinal: usize, message: String },

    #[error("interrupted; nothing was written")]
    Interrupted,

    #[error("{0}")]
    Argument(String),

    #[error("the model computation failed: {0}")]
    Compute(#[from] candle_core::Error),

    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
