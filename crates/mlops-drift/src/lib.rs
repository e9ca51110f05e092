//! `mlops-drift`: drift between a reference and current data.
//!
//! [`drift`] reads the reference and each batch of current data and tests every column, beside
//! data-quality checks and schema changes, into a [`report::DriftReport`]; [`gates`] checks
//! conditions on it; [`profile`] summarises data into mergeable profiles a reference can be.
//! [`methods`] holds the drift tests and distances, each defined as Evidently (or scipy beneath
//! it) defines it, and Evidently's rule for choosing one per column; [`ks`] the two-sample
//! Kolmogorov-Smirnov test with scipy's p-values; the private `edf` the Cramér-von Mises and
//! Anderson-Darling tests; [`binning`] numpy's histogram edges and counts.
//!
//! It never prints and never exits.

pub mod binning;
pub mod drift;
mod edf;
mod error;
pub mod gates;
pub mod ks;
pub mod methods;
pub mod profile;
pub mod report;

pub use error::{Error, Result};
