//! `mlops-exp`: experiments. Variations of the pipeline run with parameter overrides, each in a
//! git worktree sharing the main workspace's caches, recorded as git refs, compared and
//! plotted (`mlops exp`, `mlops plots`).
//!
//! Modules: [`overrides`] parses `-S` overrides in DVC's (Hydra's) grammar and expands sweeps
//! into the grid of combinations; [`params_edit`] applies one to a params file's text, keeping
//! its comments and layout; [`prepare`] turns the arguments into variations and their starting
//! commits; [`worktree`] makes and removes an experiment's worktree; [`run`] runs them (or
//! queues them); [`refs`] and [`summary`] say where experiments live in git and what their
//! commits record; [`names`] names them; [`plots`] reads the plots of the workspace, commits and
//! experiments.
//!
//! It never prints and never exits.

mod error;
pub mod manage;
pub mod names;
pub mod overrides;
pub mod params_edit;
pub mod plots;
pub mod prepare;
pub mod refs;
pub mod run;
pub mod show;
pub mod summary;
pub mod worktree;

pub use error::{Error, Result};
