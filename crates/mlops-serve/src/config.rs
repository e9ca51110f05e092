//! `serve.yaml`: the models a server serves, read at start and again at every reload.
//!
//! ```yaml
//! models:
//!   - model: models/churn        # a model directory, served under its base name
//!   - model: fraud#prod          # a registry reference, served as `fraud`
//!     threshold: 0.3
//!   - model: models/fraud
//!     name: fraud-candidate      # the name requests address it by
//! ```
//!
//! Every key is checked: a misspelt one is an error naming it, not a setting silently ignored.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// One model to serve, as the config (or the command line) gives it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// A model directory, or a registry reference: `NAME@v1.2.0`, `NAME@latest`, `NAME#STAGE`.
    pub model: PathBuf,
    /// The name requests address it by; by default the registry name, else the directory's
    /// base name.
    #[serde(default)]
    pub name: Option<String>,
    /// This model's decision threshold; by default the server's (`--threshold`).
    #[serde(default)]
    pub threshold: Option<f64>,
}

/// A `serve.yaml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The models, in the order the ready line and `/invocations` take them.
    pub models: Vec<ModelEntry>,
}

impl Config {
    /// Reads and checks the config at `path`.
    pub fn read(path: &Path) -> Result<Config> {
        let bad = |message: String| Error::Config {
            path: path.to_owned(),
            message,
        };
        let text = fs_err::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let config: Config = mlops_core::yaml::from_str(&text).map_err(bad)?;
        if config.models.is_empty() {
            return Err(bad("`models` lists no model".to_owned()));
        }
        for (i, entry) in config.models.iter().enumerate() {
            if let Some(t) = entry.threshold
                && !(0.0..=1.0).contains(&t)
            {
                return Err(bad(format!(
                    "models[{i}].threshold must lie in [0, 1], got {t}"
                )));
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> std::result::Result<Config, String> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("serve.yaml");
        fs_err::write(&path, text).expect("write");
        Config::read(&path).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_models_with_names_and_thresholds() {
        let config = read(
            "models:\n  - model: models/churn\n  - model: fraud#prod\n    name: fraud\n    threshold: 0.3\n",
        )
        .expect("config");
        assert_eq!(
            config.models,
            [
                ModelEntry {
                    model: PathBuf::from("models/churn"),
                    name: None,
                    threshold: None,
                },
                ModelEntry {
                    model: PathBuf::from("fraud#prod"),
                    name: Some("fraud".to_owned()),
                    threshold: Some(0.3),
                },
            ]
        );
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        for (text, expected) in [
            ("models:\n  - model: m\n    treshold: 0.3\n", "treshold"),
            ("model: m\n", "model"),
            ("models: []\n", "no model"),
            (
                "models:\n  - model: m\n    threshold: 2\n",
                "models[0].threshold",
            ),
            ("models:\n  - name: m\n", "model"),
        ] {
            let error = read(text).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
            assert!(error.contains("serve.yaml"), "{error}");
        }
    }
}
