//! The label as the model learns it: class indices or regression values, with the loss and
//! the validation metrics of each task.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use mlops_data::table::Column;
use mlops_eval::metrics::{binary, multiclass, regression};

use super::Architecture;
use super::data::mean_std;
use crate::error::{Error, Result};
use crate::model::argmax;
use crate::spec::{Classes, Task};

/// The label as the network learns it.
pub(super) enum Target {
    /// Class indices of every row.
    Classes {
        task: Task,
        classes: Classes,
        ids: Vec<u32>,
    },
    /// The target's values, with the mean and deviation AdamW standardises them by (and both
    /// solvers' loss curves are expressed in).
    Regression {
        values: Vec<f64>,
        mean: f64,
        std: f64,
    },
}

impl Target {
    /// The label `name` (read from `path`) as `model` learns it: `task` as given, else
    /// regression for a linear model or a float label under an MLP, else classification.
    pub(super) fn of(
        column: &Column,
        task: Option<Task>,
        model: Architecture,
        name: &str,
        path: &Path,
    ) -> Result<Self> {
        let bad = |message: String| Error::TrainingData {
            path: path.to_owned(),
            message,
        };
        let missing = count_missing(column);
        if missing > 0 {
            return Err(bad(format!(
                "the label `{name}` is missing in {missing} rows; drop or fill them first"
            )));
        }
        let task = task.unwrap_or(match (model, column) {
            (Architecture::Linear, _) | (Architecture::Mlp, Column::Float(_)) => Task::Regression,
            _ => Task::Binary,
        });
        if task == Task::Regression {
            if model == Architecture::Logistic {
                return Err(Error::Argument(
                    "a logistic model classifies; use --model linear or mlp for regression".into(),
                ));
            }
            return regression_target(column).ok_or_else(|| {
                bad(format!(
                    "the label `{name}` is text; regression needs numbers"
                ))
            });
        }
        if model == Architecture::Linear {
            return Err(Error::Argument(
                "a linear model is for regression; use --model logistic or mlp to classify".into(),
            ));
        }
        let (classes, ids) = match column {
            Column::Text { labels, ids } => text_class_ids(labels, ids),
            Column::Bool(values) => (
                Classes::Int(vec![0, 1]),
                values
                    .iter()
                    .map(|v| u32::from(v.unwrap_or(false)))
                    .collect(),
            ),
            other => integer_class_ids(other).ok_or_else(|| {
                bad(format!(
                    "the label `{name}` has fractions; classes are integers or text (use --task regression)"
                ))
            })?,
        };
        let task = match classes.len() {
            0 | 1 => {
                return Err(bad(format!(
                    "the label `{name}` has a single class; a classifier needs two or more"
                )));
            }
            2 if task != Task::Multiclass => Task::Binary,
            _ => Task::Multiclass,
        };
        Ok(Target::Classes { task, classes, ids })
    }

    pub(super) fn task(&self) -> Task {
        match self {
            Target::Classes { task, .. } => *task,
            Target::Regression { .. } => Task::Regression,
        }
    }

    pub(super) fn classes(&self) -> Option<Classes> {
        match self {
            Target::Classes { classes, .. } => Some(classes.clone()),
            Target::Regression { .. } => None,
        }
    }

    pub(super) fn outputs(&self) -> usize {
        match self {
            Target::Classes {
                task: Task::Multiclass,
                classes,
                ..
            } => classes.len(),
            _ => 1,
        }
    }

    /// The mean loss of `logits` for `rows`.
    pub(super) fn loss(&self, logits: &Tensor, rows: &[usize], device: &Device) -> Result<Tensor> {
        Ok(match self {
            Target::Classes {
                task: Task::Multiclass,
                ids,
                ..
            } => {
                let y: Vec<u32> = rows.iter().map(|&r| ids[r]).collect();
                candle_nn::loss::cross_entropy(logits, &Tensor::from_vec(y, rows.len(), device)?)?
            }
            Target::Classes { ids, .. } => {
                #[allow(clippy::cast_precision_loss, reason = "0 or 1")]
                let y: Vec<f32> = rows.iter().map(|&r| ids[r] as f32).collect();
                let y = Tensor::from_vec(y, (rows.len(), 1), device)?;
                // max(z, 0) - z y + log(1 + e^-|z|): cross-entropy from logits without overflow.
                let z = logits;
                (z.relu()? - (z * &y)? + (z.abs()?.neg()?.exp()? + 1.0)?.log()?)?.mean_all()?
            }
            Target::Regression { values, mean, std } => {
                #[allow(
                    clippy::cast_possible_truncation,
                    reason = "the network computes in f32"
                )]
                let y: Vec<f32> = rows
                    .iter()
                    .map(|&r| ((values[r] - mean) / std) as f32)
                    .collect();
                candle_nn::loss::mse(logits, &Tensor::from_vec(y, (rows.len(), 1), device)?)?
            }
        })
    }

    /// Validation metrics of `logits` for `rows`.
    pub(super) fn metrics(
        &self,
        logits: &Tensor,
        rows: &[usize],
    ) -> Result<BTreeMap<String, Option<f64>>> {
        let mut metrics = BTreeMap::new();
        match self {
            Target::Classes {
                task: Task::Binary,
                ids,
                ..
            } => {
                let scores: Vec<f64> = candle_nn::ops::sigmoid(logits)?
                    .flatten_all()?
                    .to_dtype(DType::F64)?
                    .to_vec1()?;
                let labels: Vec<bool> = rows.iter().map(|&r| ids[r] == 1).collect();
                let truth: Vec<usize> = rows.iter().map(|&r| ids[r] as usize).collect();
                let predicted: Vec<usize> = scores.iter().map(|&s| usize::from(s >= 0.5)).collect();
                metrics.insert(
                    "roc_auc".into(),
                    binary::roc_auc(&labels, &scores, None).ok(),
                );
                metrics.insert(
                    "log_loss".into(),
                    binary::log_loss(&labels, &scores, None).ok(),
                );
                metrics.insert(
                    "accuracy".into(),
                    multiclass::accuracy(&truth, &predicted, None).ok(),
                );
            }
            Target::Classes { ids, classes, .. } => {
                let k = classes.len();
                let probabilities: Vec<f64> = candle_nn::ops::softmax_last_dim(logits)?
                    .flatten_all()?
                    .to_dtype(DType::F64)?
                    .to_vec1()?;
                let truth: Vec<usize> = rows.iter().map(|&r| ids[r] as usize).collect();
                let predicted: Vec<usize> = probabilities.chunks_exact(k).map(argmax).collect();
                metrics.insert(
                    "accuracy".into(),
                    multiclass::accuracy(&truth, &predicted, None).ok(),
                );
                metrics.insert(
                    "log_loss".into(),
                    multiclass::log_loss(&truth, &probabilities, None, k).ok(),
                );
            }
            Target::Regression { values, mean, std } => {
                let predicted: Vec<f64> = logits
                    .flatten_all()?
                    .to_dtype(DType::F64)?
                    .to_vec1::<f64>()?
                    .into_iter()
                    .map(|p| p * std + mean)
                    .collect();
                let truth: Vec<f64> = rows.iter().map(|&r| values[r]).collect();
                metrics.insert(
                    "rmse".into(),
                    regression::rmse(&truth, &predicted, None).ok(),
                );
                metrics.insert("mae".into(), regression::mae(&truth, &predicted, None).ok());
                metrics.insert("r2".into(), regression::r2(&truth, &predicted, None).ok());
            }
        }
        Ok(metrics)
    }
}

/// Rows whose label is missing (or NaN).
fn count_missing(column: &Column) -> usize {
    match column {
        Column::Text { ids, .. } => ids.iter().filter(|i| **i == Column::MISSING).count(),
        other => other.to_floats().map_or(0, |v| {
            v.iter().filter(|x| x.is_none_or(f64::is_nan)).count()
        }),
    }
}

/// A numeric label's values with their mean and deviation; `None` for a text label.
fn regression_target(column: &Column) -> Option<Target> {
    let values: Vec<f64> = column
        .to_floats()?
        .into_iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect();
    let (mean, std) = mean_std(values.iter().copied());
    Some(Target::Regression { values, mean, std })
}

/// A text label's classes, its labels sorted, and each row's index among them.
fn text_class_ids(labels: &[String], ids: &[u32]) -> (Classes, Vec<u32>) {
    let mut sorted: Vec<(usize, &String)> = labels.iter().enumerate().collect();
    sorted.sort_by(|a, b| a.1.cmp(b.1));
    let mut rank = vec![0u32; labels.len()];
    for (r, (i, _)) in sorted.iter().enumerate() {
        rank[*i] = u32::try_from(r).expect("few classes");
    }
    let classes = Classes::Text(sorted.into_iter().map(|(_, l)| l.clone()).collect());
    (classes, ids.iter().map(|&i| rank[i as usize]).collect())
}

/// A numeric label's classes, its distinct values sorted, and each row's index among them;
/// `None` where a value is not an integer.
fn integer_class_ids(column: &Column) -> Option<(Classes, Vec<u32>)> {
    let values = column.to_floats().expect("numbers");
    let ints: Vec<i64> = values
        .iter()
        .map(|v| {
            let v = v.unwrap_or(f64::NAN);
            #[allow(clippy::cast_possible_truncation, reason = "checked integral")]
            (v.fract() == 0.0).then_some(v as i64)
        })
        .collect::<Option<_>>()?;
    let mut distinct = ints.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let ids = ints
        .iter()
        .map(|v| u32::try_from(distinct.binary_search(v).expect("present")).expect("few classes"))
        .collect();
    Some((Classes::Int(distinct), ids))
}
