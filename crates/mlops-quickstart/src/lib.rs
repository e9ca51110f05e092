//! The quickstart project: a seeded synthetic credit-scoring dataset (`data`) and the files of
//! a project that versions it, trains, scores, evaluates and monitors a model with mlops
//! ([`project`]). Everything is generated offline, with no Python.

mod data;
pub mod project;
