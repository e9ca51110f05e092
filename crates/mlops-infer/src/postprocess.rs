//! A binary model's post-processing: the group thresholds `mlops fairness mitigate` fits
//! (fairlearn's `ThresholdOptimizer`, [`mlops_eval::mitigate`]), kept under `postprocess:` in
//! `model.yaml` and applied by `mlops predict` and `mlops serve` in place of the single
//! threshold.
//!
//! ```yaml
//! postprocess:
//!   method: threshold_optimizer
//!   sensitive: gender          # read beside the inputs; the model does not take it
//!   seed: 0
//!   thresholds: {constraint: demographic_parity, objective: accuracy, groups: [...], x: .., y: ..}
//!   fitted_on: {data: scores/train.parquet, rows: 15000, label: default, score: score}
//!   tradeoff: {threshold: 0.5, before: {...}, after: {...}}
//! ```
//!
//! A group's thresholds may be a random mix of two. Each row's draw comes from its own values
//! (the encoded inputs, its group and the seed), not from a sequence: the same row gets the
//! same prediction in a file of any size, in any batch, on any thread, and from the server.

use std::path::{Path, PathBuf};

use mlops_core::rng::SplitMix;
use mlops_core::yaml::Value;
use mlops_data::table::{Column, Table};
use mlops_eval::mitigate::{self, FitOptions, Thresholds, Tradeoff};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::SPEC_FILE;
use crate::spec::{ModelSpec, Task};

/// The key in `model.yaml`.
pub const KEY: &str = "postprocess";

/// How a post-processing decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Group-specific thresholds, randomised between two where needed.
    ThresholdOptimizer,
}

/// The data thresholds were fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FittedOn {
    /// The scored data, as the command line named it.
    pub data: String,
    pub rows: usize,
    pub label: String,
    pub score: String,
}

/// `postprocess:` of a `model.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Postprocess {
    pub method: Method,
    /// The column whose value picks a row's thresholds.
    pub sensitive: String,
    /// Seeds every row's draw between two thresholds.
    pub seed: u64,
    pub thresholds: Thresholds,
    /// What the thresholds were fitted on and what they trade (for people and model cards;
    /// scoring does not read it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fitted_on: Option<FittedOn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tradeoff: Option<Tradeoff>,
}

/// Why a row cannot be decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undecided {
    /// The row's sensitive value is missing.
    Missing,
    /// A group the thresholds were not fitted on.
    Unknown(String),
}

impl Postprocess {
    /// The groups the thresholds were fitted on, in order.
    pub fn groups(&self) -> Vec<String> {
        self.thresholds
            .groups
            .iter()
            .map(|g| g.group.clone())
            .collect()
    }

    /// Whether a row with the encoded `inputs`, sensitive value `group` and positive-class
    /// `score` is predicted positive.
    ///
    /// # Errors
    /// [`Undecided`] for a missing group or one the thresholds were not fitted on.
    pub fn positive(
        &self,
        inputs: &[f32],
        group: Option<&str>,
        score: f32,
    ) -> Result<bool, Undecided> {
        let group = group.ok_or(Undecided::Missing)?;
        let thresholds = self
            .thresholds
            .groups
            .iter()
            .find(|g| g.group == group)
            .ok_or_else(|| Undecided::Unknown(group.to_owned()))?;
        let p = thresholds.probability(f64::from(score));
        // Certain decisions need no draw (and take none, so they never depend on the seed).
        if p <= 0.0 || p >= 1.0 {
            return Ok(p >= 1.0);
        }
        Ok(self.draw(inputs, group) < p)
    }

    /// A row's uniform draw in [0, 1): SplitMix64 stirred with every input's bits and the
    /// group's bytes.
    fn draw(&self, inputs: &[f32], group: &str) -> f64 {
        let mut mix = SplitMix(self.seed);
        for value in inputs {
            mix.0 ^= u64::from(value.to_bits());
            mix.next_u64();
        }
        for chunk in group.as_bytes().chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            mix.0 ^= u64::from_le_bytes(word);
            mix.next_u64();
        }
        mix.uniform()
    }
}

/// What group thresholds are fitted from: scored rows, named as the command line named them,
/// and the columns that hold each row's score, label and group.
#[derive(Debug, Clone)]
pub struct FitFrom {
    pub data: String,
    pub score: String,
    pub label: String,
    pub sensitive: String,
    pub fit: FitOptions,
    /// The single threshold the model used before, for the trade-off.
    pub threshold: f64,
    pub seed: u64,
}

/// Fits group thresholds for the binary model `spec` on the scored rows of `table` (which
/// holds the three columns `from` names), with the trade-off they make.
///
/// # Errors
/// [`Error::Argument`] for a model that is not binary, a score that is text, missing or not
/// finite, a label outside the model's two classes, a row without a group; what
/// [`mitigate::fit`] refuses (a group whose rows have one label).
pub fn fit(spec: &ModelSpec, table: &Table, from: &FitFrom) -> Result<Postprocess> {
    if spec.task != Task::Binary {
        return Err(Error::Argument(format!(
            "group thresholds are for binary models; this model is {}",
            spec.task.name()
        )));
    }
    let source = &from.data;
    if table.rows == 0 {
        return Err(Error::Argument(format!("{source} has no rows")));
    }
    let column = |name: &str| {
        table
            .column(name)
            .ok_or_else(|| Error::Argument(format!("no column `{name}` in {source}")))
    };
    let classes = spec.classes.as_ref().map_or_else(
        || vec!["0".to_owned(), "1".to_owned()],
        crate::spec::Classes::names,
    );
    let scores = scores_of(column(&from.score)?, &from.score, source)?;
    let labels = labels_of(
        column(&from.label)?,
        &from.label,
        [&classes[0], &classes[1]],
        source,
    )?;
    let (keys, ids) = column(&from.sensitive)?.to_coded();
    if let Some(row) = ids.iter().position(|&id| id as usize >= keys.len()) {
        return Err(Error::Argument(format!(
            "row {row} of {source}: the sensitive column `{}` is missing; every row needs a group",
            from.sensitive
        )));
    }
    let thresholds = mitigate::fit(&scores, &labels, &keys, &ids, &from.fit)?;
    let tradeoff = mitigate::tradeoff(&scores, &labels, &keys, &ids, from.threshold, &thresholds);
    Ok(Postprocess {
        method: Method::ThresholdOptimizer,
        sensitive: from.sensitive.clone(),
        seed: from.seed,
        thresholds,
        fitted_on: Some(FittedOn {
            data: from.data.clone(),
            rows: table.rows,
            label: from.label.clone(),
            score: from.score.clone(),
        }),
        tradeoff: Some(tradeoff),
    })
}

/// A score column as finite numbers.
fn scores_of(column: &Column, name: &str, source: &str) -> Result<Vec<f64>> {
    let Some(values) = column.to_floats() else {
        return Err(Error::Argument(format!(
            "the score column `{name}` of {source} is text; it must hold numbers"
        )));
    };
    values
        .into_iter()
        .enumerate()
        .map(|(row, v)| match v {
            Some(v) if v.is_finite() => Ok(v),
            _ => Err(Error::Argument(format!(
                "row {row} of {source}: the score `{name}` is missing or not finite"
            ))),
        })
        .collect()
}

/// A label column as whether each row is the model's positive class; every label must be one
/// of the model's two classes (a boolean column's `true` and `false` stand for 1 and 0).
fn labels_of(
    column: &Column,
    name: &str,
    [negative, positive]: [&str; 2],
    source: &str,
) -> Result<Vec<bool>> {
    let (labels, ids) = column.to_coded();
    if labels.len() > 2 {
        return Err(Error::Argument(format!(
            "the label column `{name}` of {source} holds {} values ({}); group thresholds are for two classes",
            labels.len(),
            labels.join(", ")
        )));
    }
    let is_positive = |label: &str| label == positive || (positive == "1" && label == "true");
    let is_negative = |label: &str| label == negative || (negative == "0" && label == "false");
    ids.iter()
        .enumerate()
        .map(|(row, &id)| match labels.get(id as usize) {
            Some(label) if is_positive(label) => Ok(true),
            Some(label) if is_negative(label) => Ok(false),
            Some(label) => Err(Error::Argument(format!(
                "row {row} of {source}: the label `{name}` is `{label}`, which is not one of the model's classes ({negative}, {positive})"
            ))),
            None => Err(Error::Argument(format!(
                "row {row} of {source}: the label `{name}` is missing"
            ))),
        })
        .collect()
}

/// Puts `post` under `postprocess:` in the `model.yaml` of the model directory `dir`, or, with
/// `copy`, in a new model directory there holding `dir`'s other files as they are. Every other
/// key of `model.yaml` keeps its value (the file is written anew: comments do not survive).
/// Returns the directory written.
///
/// # Errors
/// [`Error::Argument`] when `dir` already has thresholds or `copy` holds files, unless
/// `force`; [`Error::Spec`] when the result is not a model `mlops` reads; I/O errors.
pub fn write(dir: &Path, copy: Option<&Path>, post: &Postprocess, force: bool) -> Result<PathBuf> {
    let spec_path = dir.join(SPEC_FILE);
    let text = fs_err::read_to_string(&spec_path)?;
    let spec = ModelSpec::parse(&spec_path, &text)?;
    let target = copy.unwrap_or(dir);
    if copy.is_none() && spec.postprocess.is_some() && !force {
        return Err(Error::Argument(format!(
            "`{}` already has group thresholds; --force replaces them, -o DIR writes a new model directory",
            spec_path.display()
        )));
    }
    let Ok(Value::Mapping(mut map)) = mlops_core::yaml::from_str::<Value>(&text) else {
        unreachable!("the spec parsed as a mapping")
    };
    map.insert(
        Value::String(KEY.to_owned()),
        mlops_core::yaml::to_value(post).expect("thresholds serialise"),
    );
    let new_text = mlops_core::yaml::to_string(&Value::Mapping(map)).expect("a mapping serialises");
    let target_spec = target.join(SPEC_FILE);
    ModelSpec::parse(&target_spec, &new_text)?;
    if let Some(copy) = copy {
        copy_files(dir, copy, force)?;
    }
    mlops_core::atomic::write(&target_spec, new_text.as_bytes())?;
    Ok(target.to_owned())
}

/// Copies every file under `from` except `model.yaml` to the same place under `to`, each
/// written whole and renamed into place; refuses a `to` that holds anything unless `force`.
fn copy_files(from: &Path, to: &Path, force: bool) -> Result<()> {
    if to.exists() && fs_err::read_dir(to)?.next().is_some() && !force {
        return Err(Error::Argument(format!(
            "`{}` already holds files; --force writes the model over them",
            to.display()
        )));
    }
    if to.starts_with(from) || from.starts_with(to) {
        return Err(Error::Argument(format!(
            "-o `{}` must be a directory apart from the model `{}`",
            to.display(),
            from.display()
        )));
    }
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        fs_err::create_dir_all(to.join(&rel))?;
        for entry in fs_err::read_dir(from.join(&rel))? {
            let entry = entry?;
            let name = rel.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                pending.push(name);
            } else if name != Path::new(SPEC_FILE) {
                let bytes = fs_err::read(from.join(&name))?;
                mlops_core::atomic::write(&to.join(&name), &bytes)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use mlops_eval::mitigate::{Constraint, GroupThreshold, Objective, Operation};

    use super::*;

    fn half_and_half() -> Postprocess {
        let above = |threshold| Operation {
            below: false,
            threshold,
        };
        Postprocess {
            method: Method::ThresholdOptimizer,
            sensitive: "sex".into(),
            seed: 3,
            thresholds: Thresholds {
                constraint: Constraint::DemographicParity,
                objective: Objective::Accuracy,
                groups: vec![
                    GroupThreshold {
                        group: "f".into(),
                        p_first: 0.5,
                        first: above(f64::INFINITY),
                        p_second: 0.5,
                        second: above(f64::NEG_INFINITY),
                        p_constant: None,
                        constant: None,
                    },
                    GroupThreshold {
                        group: "m".into(),
                        p_first: 1.0,
                        first: above(0.5),
                        p_second: 0.0,
                        second: above(0.5),
                        p_constant: None,
                        constant: None,
                    },
                ],
                x: 0.5,
                y: 0.5,
            },
            fitted_on: None,
            tradeoff: None,
        }
    }

    #[test]
    fn draws_are_per_row_reproducible_and_near_their_probability() {
        let post = half_and_half();
        let rows: Vec<[f32; 2]> = (0..20_000u16).map(|i| [f32::from(i), 1.0]).collect();
        let decide = |row: &[f32; 2]| post.positive(row, Some("f"), 0.2).expect("a group");
        let first: Vec<bool> = rows.iter().map(decide).collect();
        let again: Vec<bool> = rows.iter().rev().map(decide).collect();
        assert!(
            first.iter().eq(again.iter().rev()),
            "a row's draw is its own"
        );
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        let share = first.iter().filter(|p| **p).count() as f64 / rows.len() as f64;
        assert!((share - 0.5).abs() < 0.02, "share {share}");
        assert_eq!(post.positive(&[0.0, 1.0], Some("m"), 0.6), Ok(true));
        assert_eq!(post.positive(&[0.0, 1.0], Some("m"), 0.4), Ok(false));
    }

    #[test]
    fn unknown_and_missing_groups_are_undecided() {
        let post = half_and_half();
        assert_eq!(
            post.positive(&[0.0], Some("x"), 0.9),
            Err(Undecided::Unknown("x".into()))
        );
        assert_eq!(post.positive(&[0.0], None, 0.9), Err(Undecided::Missing));
    }

    #[test]
    fn round_trips_through_yaml() {
        let post = half_and_half();
        let text = mlops_core::yaml::to_string(&post).expect("serialises");
        let back: Postprocess = mlops_core::yaml::from_str(&text).expect("reads back");
        assert_eq!(back, post);
    }
}
