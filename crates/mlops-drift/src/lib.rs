//! `mlops-drift`: drift between a reference and current data.
//!
//! [`ks`] holds the two-sample Kolmogorov-Smirnov test with scipy's p-values.
//!
//! It never prints and never exits.

pub mod ks;
