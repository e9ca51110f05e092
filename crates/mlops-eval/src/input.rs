//! Turning table columns into evaluation inputs, with every check a bad file deserves: missing
//! labels, text where numbers belong, scores outside [0, 1], labels outside the task's classes.

use std::collections::BTreeSet;

use mlops_data::table::{Column, Table};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What kind of model is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Binary,
    Multiclass,
    Regression,
}

/// The rows, ready for the metrics.
#[derive(Debug, Clone)]
pub enum Prepared {
    Binary {
        labels: Vec<bool>,
        predictions: Vec<bool>,
        scores: Option<Vec<f64>>,
    },
    Multiclass {
        classes: Vec<String>,
        labels: Vec<usize>,
        predictions: Vec<usize>,
        scores: Option<Vec<f64>>,
    },
    Regression {
        truth: Vec<f64>,
        predictions: Vec<f64>,
    },
}

fn column<'a>(table: &'a Table, name: &str) -> &'a Column {
    table.column(name).expect("every column asked for was read")
}

/// The numbers of a column, refusing text and missing values.
pub(crate) fn numbers(table: &Table, name: &str, input: &str, what: &str) -> Result<Vec<f64>> {
    let column = column(table, name);
    let values = column.to_floats().ok_or_else(|| Error::WrongType {
        column: name.to_owned(),
        input: input.to_owned(),
        found: column.type_name(),
        expected: what.to_owned(),
    })?;
    // NaN is as missing as an empty cell.
    present(
        values
            .into_iter()
            .map(|v| v.filter(|x| !x.is_nan()))
            .collect(),
        name,
        input,
    )
}

/// Sample weights: numbers, each finite and not negative (a negative weight gave a balanced
/// accuracy above 1).
pub(crate) fn weights(table: &Table, name: &str, input: &str) -> Result<Vec<f64>> {
    let weights = numbers(table, name, input, "numbers")?;
    if let Some((row, &value)) = weights
        .iter()
        .enumerate()
        .find(|(_, w)| !w.is_finite() || **w < 0.0)
    {
        return Err(Error::BadWeight {
            column: name.to_owned(),
            input: input.to_owned(),
            row: row + 1,
            value,
        });
    }
    Ok(weights)
}

/// A column's class labels (its distinct values as text) and each row's index into them.
struct Classes {
    labels: Vec<String>,
    ids: Vec<u32>,
}

impl Classes {
    /// Each row's value mapped through `per_label` (one entry per label).
    fn map<T: Copy>(&self, per_label: &[T]) -> Vec<T> {
        self.ids.iter().map(|&i| per_label[i as usize]).collect()
    }
}

/// A column's classes, refusing missing values. Coded, so no string is made per row.
fn classes_of(table: &Table, name: &str, input: &str) -> Result<Classes> {
    let (labels, ids) = column(table, name).to_coded();
    let missing = ids.iter().filter(|&&i| i == Column::MISSING).count();
    if missing > 0 {
        return Err(Error::MissingValues {
            column: name.to_owned(),
            input: input.to_owned(),
            count: missing,
        });
    }
    Ok(Classes { labels, ids })
}

/// A column's values, refusing missing ones (the error counts them).
fn present<T>(values: Vec<Option<T>>, name: &str, input: &str) -> Result<Vec<T>> {
    let missing = values.iter().filter(|v| v.is_none()).count();
    if missing > 0 {
        return Err(Error::MissingValues {
            column: name.to_owned(),
            input: input.to_owned(),
            count: missing,
        });
    }
    Ok(values.into_iter().flatten().collect())
}

/// Chooses the task from the label column when none is given: booleans and two classes are
/// binary, fractional numbers regression, more classes multiclass.
pub(crate) fn infer_task(table: &Table, label: &str) -> Task {
    match column(table, label) {
        Column::Bool(_) => Task::Binary,
        Column::Float(values) if values.iter().flatten().any(|v| v.fract() != 0.0) => {
            Task::Regression
        }
        other => {
            if other.to_coded().0.len() <= 2 {
                Task::Binary
            } else {
                Task::Multiclass
            }
        }
    }
}

/// The column names the inputs need.
pub struct Columns<'a> {
    pub label: &'a str,
    pub prediction: Option<&'a str>,
    pub scores: &'a [String],
    pub threshold: f64,
    pub pos_label: Option<&'a str>,
}

/// Prepares binary inputs: labels and predictions as positive/negative, scores checked.
pub(crate) fn binary(table: &Table, c: &Columns, input: &str) -> Result<Prepared> {
    let label_classes = classes_of(table, c.label, input)?;
    let distinct: BTreeSet<&str> = label_classes.labels.iter().map(String::as_str).collect();
    let positive = match (c.pos_label, column(table, c.label)) {
        (Some(p), _) => p.to_owned(),
        (None, Column::Bool(_)) => "true".into(),
        (None, Column::Int(_) | Column::Float(_)) => "1".into(),
        (None, Column::Text { .. }) => {
            return Err(Error::NeedsPosLabel {
                column: c.label.to_owned(),
                values: distinct.iter().map(|s| (*s).to_owned()).collect(),
            });
        }
    };
    let allowed: BTreeSet<&str> = match column(table, c.label) {
        Column::Bool(_) => ["true", "false"].into(),
        Column::Int(_) | Column::Float(_) if c.pos_label.is_none() => ["0", "1"].into(),
        _ => distinct
            .iter()
            .copied()
            .chain([positive.as_str()])
            .collect(),
    };
    if distinct.iter().any(|v| !allowed.contains(v)) || allowed.len() > 2 {
        return Err(Error::NotInClasses {
            column: c.label.to_owned(),
            input: input.to_owned(),
            found: distinct.iter().map(|s| (*s).to_owned()).collect(),
            expected: "two classes (binary task)".into(),
        });
    }
    let is_positive = |classes: &Classes| {
        let per_label: Vec<bool> = classes.labels.iter().map(|v| *v == positive).collect();
        classes.map(&per_label)
    };
    let labels = is_positive(&label_classes);
    let scores = match c.scores {
        [] => None,
        [one] => Some(probabilities(table, one, input)?),
        _ => {
            return Err(Error::Argument(
                "a binary task takes one score column (the positive class's probability)".into(),
            ));
        }
    };
    let predictions = match (c.prediction, &scores) {
        (Some(name), _) => {
            let predicted = classes_of(table, name, input)?;
            if let Some(bad) = predicted
                .labels
                .iter()
                .find(|v| !allowed.contains(v.as_str()))
            {
                return Err(Error::NotInClasses {
                    column: name.to_owned(),
                    input: input.to_owned(),
                    found: vec![bad.clone()],
                    expected: format!(
                        "the label's classes ({})",
                        allowed.iter().copied().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
            is_positive(&predicted)
        }
        (None, Some(scores)) => scores.iter().map(|&s| s >= c.threshold).collect(),
        (None, None) => {
            return Err(Error::Argument(
                "give --prediction, or --score to derive predictions with --threshold".into(),
            ));
        }
    };
    Ok(Prepared::Binary {
        labels,
        predictions,
        scores,
    })
}

/// A probability column: numbers in [0, 1].
fn probabilities(table: &Table, name: &str, input: &str) -> Result<Vec<f64>> {
    let values = numbers(table, name, input, "probabilities")?;
    let outside = values.iter().filter(|v| !(0.0..=1.0).contains(*v)).count();
    if outside > 0 {
        let (min, max) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        return Err(Error::ScoresOutOfRange {
            column: name.to_owned(),
            input: input.to_owned(),
            count: outside,
            min,
            max,
        });
    }
    Ok(values)
}

/// The index of the largest score; of tied maxima the first column wins, as numpy's `argmax`
/// (and so scikit-learn) has it, and pandas' `idxmax` (fairlearn's choice of thresholds).
/// `Iterator::max_by` would return the last of them.
pub(crate) fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Prepares multiclass inputs: classes sorted by name, scores one column per class in that order.
pub(crate) fn multiclass(table: &Table, c: &Columns, input: &str) -> Result<Prepared> {
    let label_classes = classes_of(table, c.label, input)?;
    let predicted = c
        .prediction
        .map(|p| classes_of(table, p, input))
        .transpose()?;
    let mut classes: BTreeSet<String> = label_classes.labels.iter().cloned().collect();
    if let Some(p) = &predicted {
        classes.extend(p.labels.iter().cloned());
    }
    let classes: Vec<String> = classes.into_iter().collect();
    let index = |coded: &Classes| {
        let per_label: Vec<usize> = coded
            .labels
            .iter()
            .map(|v| classes.binary_search(v).expect("every value is a class"))
            .collect();
        coded.map(&per_label)
    };
    let labels: Vec<usize> = index(&label_classes);
    let scores = if c.scores.is_empty() {
        None
    } else {
        if c.scores.len() != classes.len() {
            return Err(Error::Argument(format!(
                "give one --score column per class, in the order {}; got {}",
                classes.join(", "),
                c.scores.len()
            )));
        }
        let columns = c
            .scores
            .iter()
            .map(|s| probabilities(table, s, input))
            .collect::<Result<Vec<_>>>()?;
        Some(
            (0..labels.len())
                .flat_map(|r| columns.iter().map(move |col| col[r]))
                .collect::<Vec<f64>>(),
        )
    };
    let predictions = match (predicted, &scores) {
        (Some(predicted), _) => index(&predicted),
        (None, Some(scores)) => scores.chunks_exact(classes.len()).map(argmax).collect(),
        (None, None) => {
            return Err(Error::Argument(
                "give --prediction, or one --score column per class".into(),
            ));
        }
    };
    Ok(Prepared::Multiclass {
        classes,
        labels,
        predictions,
        scores,
    })
}

/// Prepares regression inputs.
pub(crate) fn regression(table: &Table, c: &Columns, input: &str) -> Result<Prepared> {
    let truth = numbers(table, c.label, input, "numbers")?;
    let prediction = c
        .prediction
        .ok_or_else(|| Error::Argument("a regression task needs --prediction".into()))?;
    let predictions = numbers(table, prediction, input, "numbers")?;
    Ok(Prepared::Regression { truth, predictions })
}
