//! `mlops-pipeline`: pipelines of stages declared in `mlops.yaml`, run so that only what changed
//! reruns, independent stages in parallel, every run recorded.
//!
//! Modules: [`spec`] parses and expands `mlops.yaml` (with [`params`] files); [`dag`] links the
//! stages; [`lockfile`] is `mlops.lock`; [`state`] decides whether a stage is up to date;
//! [`run`] schedules and runs stages; `runcache` restores outputs of inputs seen before;
//! [`records`] keeps a record of every execution, with the environment it ran in
//! ([`mod@env`]), and [`rundiff`] compares two of them; [`tracked`] lists the workspace's
//! tracked paths (pointer files and the lock's outputs); `running` keeps the pid files that let
//! a run see stages an earlier, killed run left behind; [`cluster`] runs stages as Slurm jobs;
//! [`metrics`] shows and compares metrics and params across git revisions.
//!
//! Built on `mlops-core` (the object store caches every output). It never prints and never exits.

pub mod cluster;
pub mod dag;
pub mod env;
mod error;
pub mod lockfile;
pub mod metrics;
pub mod params;
pub mod plotdefs;
pub mod records;
pub mod run;
mod runcache;
pub mod rundiff;
mod running;
pub mod spec;
pub mod state;
pub mod tracked;

pub use error::{Error, Result};
