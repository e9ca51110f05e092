//! Tabular neural models for mlops, on candle.
//!
//! A model is a directory: `model.yaml` ([`spec`]) says what the network is and which columns
//! feed it; `model.safetensors` holds its weights in PyTorch's layout. [`model`] loads and checks
//! the two together and runs the network; [`predict`] scores Parquet or CSV batches with it,
//! streaming, with a binary model's group thresholds ([`postprocess`]) where it has them;
//! [`fairness`] asks a model counterfactual and individual fairness questions;
//! [`train`] fits small tabular models (logistic, linear, MLP) and writes such a directory.
//! This is the only crate that depends on candle.

pub mod device;
mod error;
pub mod fairness;
mod fused;
pub mod model;
pub mod postprocess;
pub mod predict;
pub mod spec;
pub mod train;
pub mod trees;

pub use error::{Error, Result};
pub use model::Model;
