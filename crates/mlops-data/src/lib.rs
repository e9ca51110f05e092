//! `mlops-data`: the only crate of `mlops` that knows file formats.
//!
//! It turns every input a command is given into its files ([`input`]: files, directories read
//! whole, globs with `**`) and reads them as a [`Dataset`]: Parquet, Arrow IPC, CSV and NDJSON
//! (those two also gzip or zstd compressed) through one record-batch opener, into typed,
//! nullable columns ([`table`]) or a model's inputs a batch of rows at a time ([`rows`]); small
//! step-wise tables for plots are read by [`series`]; [`shape`] reads a Parquet file's columns
//! and rows from its footer alone. Every
//! command that reads rows (eval, drift, profile, predict, train, split) goes through it;
//! `mlops-core` keeps the versioning and does not compile Arrow or Parquet.
//!
//! Like every library of `mlops` it never prints and never exits: it returns [`Error`]s, and
//! writes its outputs through `mlops_core::outfile` (a temp file renamed into place).

mod batches;
mod dataset;
mod error;
mod filter;
mod hive;
pub mod input;
mod nullable;
pub mod period;
pub mod rows;
pub mod series;
pub mod shape;
mod source;
pub mod table;
mod text;

pub use dataset::{ColumnType, Dataset, ReadOptions, parquet_row_groups};
pub use error::{Error, Result};
pub use filter::Filter;
pub use nullable::Nullable;
