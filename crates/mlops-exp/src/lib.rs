//! `mlops-exp`: experiments. Variations of the pipeline run with parameter overrides, recorded
//! as git refs, compared and plotted (`mlops exp`, `mlops plots`); built up in the order of
//! issue 20's plan, each part complete and tested as it lands.
//!
//! Modules: [`overrides`] parses `-S` overrides in DVC's (Hydra's) grammar and expands sweeps
//! into the grid of combinations; [`params_edit`] applies one to a params file's text, keeping
//! its comments and layout.
//!
//! It never prints and never exits.

mod error;
pub mod overrides;
pub mod params_edit;

pub use error::{Error, Result};
