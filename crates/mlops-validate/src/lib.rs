//! `mlops-validate`: data contracts, a table's expectations checked as Great Expectations
//! (1.24.1) checks them.
//!
//! [`schema`] reads a contract (`schema.yaml`) into rules, refusing unknown keys and naming the
//! file and key of every mistake; [`condition`] parses its hand-written `check:` rules (row
//! and table conditions in the expression language); [`rules`] holds one accumulator per rule,
//! fed a table piece at a time so that memory holds a piece, not the data (the uniqueness
//! rules' distinct keys in `distinct`'s compact arena); [`check`](mod@check) streams the
//! input, by file or by `--batch-by` batch, through the rules; [`infer`](mod@infer) writes a
//! contract from reference data (text patterns by `shape`); [`report`] is what comes out, with
//! GE's result fields.
//!
//! It depends on `mlops-core` (YAML), `mlops-data` (every table input) and `mlops-expr` (the
//! expression language), never on another
//! capability crate. It never prints and never exits.

pub mod check;
pub mod condition;
mod distinct;
mod error;
pub mod infer;
pub mod report;
pub mod rules;
pub mod schema;
mod shape;

pub use check::{BatchBy, CheckOptions, check, check_with};
pub use error::{Error, Result};
pub use infer::{InferOptions, infer};
pub use schema::Schema;
