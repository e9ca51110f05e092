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
//! labels: .mlops/labels/    # labels kept apart, joined by key
//! join: [request_id, row]
//! ```
//!
//! The command line's flags are read into an [`EvalConfig`] too, so that one merge
//! ([`EvalConfig::over`]) puts flags over the file, and one conversion
//! ([`EvalConfig::into_options`]) fills what neither sets with [`Options::default`]'s values.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::evaluate::{Bootstrap, Options};
use crate::fairness::Method;
use crate::gates::Gate;
use crate::input::Task;
use crate::slices::{SliceMetric, SliceOptions};

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

    /// The names, a single string split at its commas (`request_id,row`), each trimmed.
    #[must_use]
    pub fn into_names(self) -> Vec<String> {
        self.into_vec()
            .iter()
            .flat_map(|names| names.split(','))
            .map(|name| name.trim().to_owned())
            .collect()
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
    /// Labels kept apart from the predictions: files, directories or globs (see
    /// [`crate::join`]); not an option either: the caller reads them.
    pub labels: Option<OneOrMany>,
    /// The key columns of the join: a list, or one string of names apart by commas.
    pub join: Option<OneOrMany>,
}

impl EvalConfig {
    /// These settings over `lower`'s (the flags over the file): each key set here wins, except
    /// gates, which both give (`lower`'s first).
    #[must_use]
    pub fn over(self, lower: EvalConfig) -> EvalConfig {
        let gates = match (lower.gates, self.gates) {
            (Some(mut lower), Some(upper)) => {
                lower.extend(upper);
                Some(lower)
            }
            (lower, upper) => lower.or(upper),
        };
        EvalConfig {
            label: self.label.or(lower.label),
            prediction: self.prediction.or(lower.prediction),
            score: self.score.or(lower.score),
            task: self.task.or(lower.task),
            threshold: self.threshold.or(lower.threshold),
            pos_label: self.pos_label.or(lower.pos_label),
            weight: self.weight.or(lower.weight),
            slices: self.slices.or(lower.slices),
            bins: self.bins.or(lower.bins),
            slice_metric: self.slice_metric.or(lower.slice_metric),
            alpha: self.alpha.or(lower.alpha),
            min_effect: self.min_effect.or(lower.min_effect),
            min_rows: self.min_rows.or(lower.min_rows),
            discover: self.discover.or(lower.discover),
            bootstrap: self.bootstrap.or(lower.bootstrap),
            seed: self.seed.or(lower.seed),
            sensitive: self.sensitive.or(lower.sensitive),
            fairness_method: self.fairness_method.or(lower.fairness_method),
            privileged: self.privileged.or(lower.privileged),
            fairlearn_compat: self.fairlearn_compat.or(lower.fairlearn_compat),
            drop_missing: self.drop_missing.or(lower.drop_missing),
            gates,
            baseline: self.baseline.or(lower.baseline),
            labels: self.labels.or(lower.labels),
            join: self.join.or(lower.join),
        }
    }

    /// The evaluation's options: every key left unset takes [`Options::default`]'s value (the
    /// baseline and the labels are not options: the caller reads them).
    ///
    /// # Errors
    /// A gate that does not parse, a `privileged` that is not `COLUMN=VALUE`, an unknown
    /// `slice_metric` or `fairness_method`.
    pub fn into_options(self) -> Result<Options> {
        let gates = self
            .gates
            .unwrap_or_default()
            .iter()
            .map(|g| Gate::parse(g).map_err(Error::from))
            .collect::<Result<Vec<_>>>()?;
        let privileged = self
            .privileged
            .as_deref()
            .map(privileged_group)
            .transpose()?;
        let slice_metric = self
            .slice_metric
            .map(|text| {
                SliceMetric::from_name(&text.replace('-', "_"))
                    .ok_or_else(|| invalid_value("slice_metric", &text))
            })
            .transpose()?;
        let defaults = Options::default();
        let fairness_method = match self.fairness_method {
            Some(text) => {
                Method::from_name(&text).ok_or_else(|| invalid_value("fairness_method", &text))?
            }
            None => defaults.fairness_method,
        };
        let slice_defaults = defaults.slice_options;
        Ok(Options {
            label: self.label.unwrap_or(defaults.label),
            prediction: self.prediction,
            scores: self.score.map(OneOrMany::into_vec).unwrap_or_default(),
            task: self.task,
            threshold: self.threshold.unwrap_or(defaults.threshold),
            pos_label: self.pos_label,
            weight: self.weight,
            slices: self
                .slices
                .unwrap_or_default()
                .into_iter()
                .map(OneOrMany::into_vec)
                .collect(),
            slice_options: SliceOptions {
                bins: self.bins.unwrap_or(slice_defaults.bins),
                alpha: self.alpha.unwrap_or(slice_defaults.alpha),
                min_effect: self.min_effect.unwrap_or(slice_defaults.min_effect),
                min_rows: self.min_rows.unwrap_or(slice_defaults.min_rows),
                ..slice_defaults
            },
            discover: self.discover,
            slice_metric,
            sensitive: self.sensitive.unwrap_or_default(),
            fairness_method,
            privileged,
            fairlearn_compat: self.fairlearn_compat.unwrap_or(defaults.fairlearn_compat),
            drop_missing: self.drop_missing.unwrap_or(defaults.drop_missing),
            gates,
            bootstrap: Bootstrap {
                replicates: self.bootstrap.unwrap_or(defaults.bootstrap.replicates),
                seed: self.seed.unwrap_or(defaults.bootstrap.seed),
            },
            join: None,
        })
    }
}

/// `COLUMN=VALUE` of `privileged`.
fn privileged_group(text: &str) -> Result<(String, String)> {
    let (column, value) = text
        .split_once('=')
        .ok_or_else(|| Error::Argument(format!("--privileged takes COLUMN=VALUE, got `{text}`")))?;
    Ok((column.to_owned(), value.to_owned()))
}

fn invalid_value(key: &str, value: &str) -> Error {
    Error::Argument(format!(
        "invalid value `{value}` for `{key}` in the eval config"
    ))
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

    #[test]
    fn flags_win_over_the_file_gates_add_up_and_defaults_fill_the_rest() {
        let file: EvalConfig = mlops_core::yaml::from_str(
            "label: y\nthreshold: 0.3\nalpha: 0.01\nfairness_method: to-overall\ngates: ['accuracy >= 0.8']\n",
        )
        .expect("parse");
        let flags = EvalConfig {
            threshold: Some(0.7),
            gates: Some(vec!["recall >= 0.5".into()]),
            ..EvalConfig::default()
        };
        let options = flags.over(file).into_options().expect("options");
        let defaults = Options::default();
        assert_eq!(options.label, "y");
        assert!((options.threshold - 0.7).abs() < f64::EPSILON);
        assert!((options.slice_options.alpha - 0.01).abs() < f64::EPSILON);
        assert_eq!(options.slice_options.bins, defaults.slice_options.bins);
        assert_eq!(options.fairness_method, Method::ToOverall);
        let gates: Vec<&str> = options.gates.iter().map(|g| g.text.as_str()).collect();
        assert_eq!(gates, ["accuracy >= 0.8", "recall >= 0.5"]);
        let bad = EvalConfig {
            slice_metric: Some("accuracyy".into()),
            ..EvalConfig::default()
        };
        let err = bad.into_options().expect_err("unknown metric").to_string();
        assert_eq!(
            err,
            "invalid value `accuracyy` for `slice_metric` in the eval config"
        );
    }
}
