//! `mlops-eval`: offline model evaluation.
//!
//! [`metrics`] holds the metric definitions, each matching scikit-learn's to 1e-9 (checked against
//! golden fixtures made by `scripts/golden/eval_metrics.py`); a metric the data cannot define is an
//! [`metrics::Undefined`] with a reason, never 0. [`fairness`] holds per-group rates and fairlearn's
//! aggregates (checked against fairlearn by `scripts/golden/eval_fairness.py`). [`stats`] holds
//! Wilson intervals, the two-proportion test, Welch's t-test and Benjamini-Hochberg (checked
//! against scipy). [`gates`] parses and evaluates CI gate expressions. [`slices`] splits the rows
//! into slices and tests a metric per slice (the tests live in the private `significance`),
//! flagging the slices where the model is significantly worse than on the rest; slices and
//! sensitive groups share the private `groupby`. [`evaluate`] puts a report ([`report`]) together
//! from the columns [`input`] checks: the private `measure` measures every unit of rows with
//! intervals (binary tasks in one pass, [`grouped`]), `sensitive` builds the fairness report.
//! [`config`] reads `eval.yaml` and merges a command line's settings over it into
//! [`evaluate::Options`]. [`join`] pairs predictions with labels kept apart from them (the
//! prediction and labels logs of `mlops serve`). [`mitigate`] fits group thresholds as
//! fairlearn's `ThresholdOptimizer` does; [`counterfactual`] asks a model whether swapping a row's
//! sensitive value changes its prediction. [`consistency`] is AIF360's individual fairness
//! score over exact nearest neighbours (checked against a brute-force reference made by
//! `scripts/golden/eval_consistency.py`). [`sharded`] evaluates in shards of the rows
//! (a Slurm job array) and merges their sums into the same report.
//!
//! It never prints and never exits.

pub mod config;
pub mod consistency;
pub mod counterfactual;
mod error;
pub mod evaluate;
pub mod fairness;
pub mod files;
pub mod gates;
mod groupby;
pub mod grouped;
pub mod input;
pub mod join;
mod measure;
pub mod metrics;
pub mod mitigate;
pub mod report;
mod sensitive;
pub mod sharded;
mod significance;
pub mod slices;
pub mod stats;

pub use error::{Error, Result};
