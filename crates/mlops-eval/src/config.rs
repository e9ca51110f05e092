//! `eval.yaml`: the options of `mlops eval` kept in a file (flags given on the command line win).
//!
//! ```yaml
//! label: churned
//! score: p_churn            # or a list, one per class
//! slices: [region, [region, plan]]
//! sensitive: [sex]
//! privileged: sex=m
//! gates:
//!   - roc_auc >= 0.8
//!   - slices.min(accuracy) >= 0.7
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::input::Task;

/// One string, or a list of them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

/// The file's options; every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalConfig {
    pub label: Option<String>,
    pub prediction: Option<String>,
    pub score: Option<OneOrMany>,
    pub task: Option<Task>,
    pub threshold: Option<f64>,
    pub pos_label: Option<String>,
    pub weight: Option<String>,
    /// Each entry a column, or a list of columns to cross.
    pub slices: Option<Vec<OneOrMany>>,
    pub bins: Option<usize>,
    pub slice_metric: Option<String>,
    pub alpha: Option<f64>,
    pub min_effect: Option<f64>,
    pub min_rows: Option<usize>,
    pub discover: Option<usize>,
    pub bootstrap: Option<usize>,
    pub seed: Option<u64>,
    pub sensitive: Option<Vec<String>>,
    pub fairness_method: Option<String>,
    pub privileged: Option<String>,
    pub fairlearn_compat: Option<bool>,
    pub drop_missing: Option<bool>,
    pub gates: Option<Vec<String>>,
    pub baseline: Option<PathBuf>,
}

/// Reads `eval.yaml`; errors name the file and the key.
pub fn load(path: &Path) -> Result<EvalConfig> {
    let text = fs_err::read_to_string(path).map_err(mlops_core::Error::from)?;
    mlops_core::yaml::from_str(&text).map_err(|message| Error::BadConfig {
        path: path.to_owned(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_unknown_keys() {
        let config: EvalConfig = mlops_core::yaml::from_str(
            "label: y\nscore: p\nslices: [a, [a, b]]\ngates: ['accuracy >= 0.8']\ntask: binary\n",
        )
        .expect("parse");
        assert_eq!(config.score, Some(OneOrMany::One("p".into())));
        assert_eq!(
            config.slices.expect("slices")[1],
            OneOrMany::Many(vec!["a".into(), "b".into()])
        );
        assert_eq!(config.task, Some(Task::Binary));
        let err = mlops_core::yaml::from_str::<EvalConfig>("lable: y\n").expect_err("unknown");
        assert!(err.contains("unknown field `lable`"), "{err}");
    }
}
