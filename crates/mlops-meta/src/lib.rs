//! What git knows about mlops data and models.
//!
//! [`history`] reads the tracked paths (pointer files and `mlops.lock` outputs) at any revision
//! with libgit2; [`diff`] compares them between revisions; [`hooks`] installs git hooks beside
//! existing ones and holds what they check; [`notes`] records each commit's data, params and
//! metrics in git notes and walks them for `mlops log`; [`registry`] keeps a model registry in
//! annotated git tags, in GTO's tag format so GTO and plain `git tag` read it too, and places or
//! loads a registered version; [`card`] assembles a model card from the registry, a version's
//! `mlops.lock` and the reports its pipeline wrote. `net` (private) runs fetches and pushes
//! through the `git` executable, so the user's credentials, ssh agent and proxies apply.

pub mod card;
pub mod diff;
mod error;
pub mod history;
pub mod hooks;
pub mod net;
pub mod notes;
pub mod registry;

pub use error::{Error, Result};
