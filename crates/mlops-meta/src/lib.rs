//! What git knows about mlops data and models.
//!
//! [`history`] reads the tracked paths (pointer files and `mlops.lock` outputs) at any revision
//! with libgit2; [`diff`] compares them between revisions; [`registry`] keeps a model registry
//! in annotated git tags, in GTO's tag format so GTO and plain `git tag` read it too.

pub mod diff;
pub mod error;
pub mod history;
pub mod registry;

pub use error::{Error, Result};
