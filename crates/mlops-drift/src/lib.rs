//! `mlops-drift`: drift between a reference and current data.
//!
//! [`methods`] holds the drift tests and distances, each defined as Evidently (or scipy beneath
//! it) defines it, and Evidently's rule for choosing one per column; [`ks`] the two-sample
//! Kolmogorov-Smirnov test with scipy's p-values; [`binning`] numpy's histogram edges and
//! counts.
//!
//! It never prints and never exits.

pub mod binning;
pub mod ks;
pub mod methods;
