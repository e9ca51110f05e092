//! `mlops-core`: the workspace and everything the capabilities of `mlops` share.
//!
//! It owns the workspace layout and configuration ([`workspace`], [`config`]), the
//! content-addressed object store ([`store`], [`digest`], [`manifest`]), pointer files
//! ([`mod@pointer`]), the hash index ([`index`]), workspace scanning ([`scan`], [`tree`]), remotes
//! ([`remote`]), git ([`git`]), the check on every path read from a file ([`safepath`]), atomic
//! writes and the workspace lock ([`atomic`], `lock`), outputs the user names ([`outfile`]),
//! the versioning operations ([`ops`]), seeded randomness ([`rng`]), the one
//! way every crate reads and writes YAML, guarded against files built to stall the parser
//! ([`yaml`]), "did you mean" suggestions ([`suggest`]), and the kill points of the crash-safety
//! tests ([`faults`]), and one blocking HTTP POST for alert delivery ([`http`]).
//!
//! File formats are not its business: tables (Parquet, CSV) are read and written by
//! `mlops-data`, which builds on this crate.
//!
//! It never prints and never exits: operations return reports and [`Error`]s, and report progress
//! through [`progress::Progress`]. It must not depend on clap, anyhow, indicatif or candle.

pub mod atomic;
pub mod config;
pub mod digest;
pub mod error;
pub mod faults;
pub mod git;
pub mod http;
pub mod index;
mod lock;
pub mod manifest;
pub mod ops;
pub mod outfile;
pub mod pointer;
pub mod progress;
pub mod remote;
pub mod rng;
pub mod safepath;
pub mod scan;
pub mod store;
pub mod suggest;
pub mod tree;
pub mod workspace;
mod worktrees;
pub mod yaml;

pub use digest::Digest;
pub use error::{Error, Result};
pub use workspace::Workspace;
