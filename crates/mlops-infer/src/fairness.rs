//! Fairness questions put to a model through its own preprocessing: would a row's prediction
//! change if only its sensitive value did ([`counterfactual`], the arithmetic in
//! [`mlops_eval::counterfactual`]), and do rows alike get alike predictions ([`consistency`],
//! [`mlops_eval::consistency`]).
//!
//! Rows are scored exactly as `mlops predict` scores them: the same row encoder, network or
//! trees, and group thresholds when the model has them. A model's decision depends on the
//! sensitive column when the column is one of its inputs or keys its group thresholds.

use arrow_array::RecordBatch;
use mlops_data::rows::{Feature, RowEncoder, Values};
use mlops_data::table::{Column, Table};
use mlops_eval::consistency::{self, Consistency, Points};
use mlops_eval::counterfactual::{self, Ask, CounterfactualReport, Scored};

use crate::device::Device;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::predict::score_rows;
use crate::spec::Task;

/// What consistency compares between neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compared {
    /// Predicted labels (a binary model's as 0 and 1): AIF360's definition.
    Labels,
    /// Scores: a binary model's positive-class probability, a regressor's value.
    Scores,
}

/// The columns a table must hold to ask the model about the `sensitive` columns: its inputs,
/// the column its group thresholds are keyed by, and the sensitive columns, each once.
pub fn columns_read(model: &Model, sensitive: &[String]) -> Vec<String> {
    let mut columns = model.spec.inputs.clone();
    let keyed = model.spec.postprocess.as_ref().map(|p| &p.sensitive);
    for column in keyed.into_iter().chain(sensitive) {
        if !columns.contains(column) {
            columns.push(column.clone());
        }
    }
    columns
}

/// The most values a sensitive column may hold for counterfactual swaps: each value is one
/// more scoring of every row, and each pair of values a tally.
pub const MAX_VALUES: usize = 100;

/// Whether the model's decision reads `column`: as an input, or as its thresholds' key.
pub fn decides_by(model: &Model, column: &str) -> bool {
    model.spec.inputs.iter().any(|c| c == column)
        || model
            .spec
            .postprocess
            .as_ref()
            .is_some_and(|p| p.sensitive == column)
}

/// The counterfactual report of `sensitive` over the rows of `table` (which holds the
/// model's inputs and `sensitive`), listing the `top` rows that move most; `threshold` is a
/// binary model's single threshold when it has no group thresholds.
///
/// # Errors
/// A missing column, an input the model cannot read, and what scoring returns.
pub fn counterfactual(
    model: &Model,
    device: &Device,
    table: &Table,
    sensitive: &str,
    top: usize,
    threshold: f64,
) -> Result<CounterfactualReport> {
    let column = table
        .column(sensitive)
        .ok_or_else(|| no_column(sensitive))?;
    let values = column.counts().0.len();
    if values > MAX_VALUES && decides_by(model, sensitive) {
        return Err(Error::Argument(format!(
            "the sensitive column `{sensitive}` holds {values} values; counterfactual swaps take at most {MAX_VALUES} (each value scores every row once more): bin it first"
        )));
    }
    // The arithmetic takes the scorer's errors as its own; the first is kept here as it was,
    // so that callers (and hints) see the model's error, not its text.
    let mut failed: Option<Error> = None;
    let scorer = Scorer::new(model, device, table, threshold);
    let mut score = |ask: Ask<'_>| -> mlops_eval::Result<Scored> {
        let swapped = match ask {
            Ask::AsTheyAre => None,
            Ask::AllSetTo { row, .. } => Some(counterfactual::all_set_to(column, row, table.rows)),
        };
        let swapped = swapped.as_ref().map(|c| (sensitive, c));
        scorer.score(swapped).map_err(|e| {
            let text = e.to_string();
            failed.get_or_insert(e);
            mlops_eval::Error::Argument(text)
        })
    };
    let report = counterfactual::counterfactual(
        column,
        sensitive,
        decides_by(model, sensitive),
        top,
        &mut score,
    );
    report.map_err(|e| failed.take().unwrap_or(Error::Eval(e)))
}

/// A table made ready to be scored again and again: its Arrow batch and the model's row
/// encoder, made once, and the text of the column the model's group thresholds read.
struct Scorer<'a> {
    model: &'a Model,
    device: &'a Device,
    batch: RecordBatch,
    encoder: RowEncoder,
    keyed: Option<(&'a str, Vec<Option<String>>)>,
    threshold: f64,
}

impl<'a> Scorer<'a> {
    fn new(model: &'a Model, device: &'a Device, table: &Table, threshold: f64) -> Self {
        let keyed = model.spec.postprocess.as_ref().and_then(|post| {
            table
                .column(&post.sensitive)
                .map(|c| (post.sensitive.as_str(), c.to_text()))
        });
        Scorer {
            model,
            device,
            batch: table.to_record_batch(),
            encoder: RowEncoder::new(model.features.clone()),
            keyed,
            threshold,
        }
    }

    /// Scores the rows with the column `sensitive` replaced by `swapped`, when given: one
    /// Arrow column made anew, the rest shared.
    fn score(&self, swapped: Option<(&str, &Column)>) -> Result<Scored> {
        let model = self.model;
        let mut batch = self.batch.clone();
        if let Some((name, column)) = swapped {
            let at = batch.schema().index_of(name).map_err(|_| no_column(name))?;
            let mut columns = batch.columns().to_vec();
            columns[at] = column.to_arrow();
            batch = RecordBatch::try_new(batch.schema(), columns)
                .expect("a column swapped for one of its own type");
        }
        let rows = self.encoder.encode(&batch)?;
        // Group thresholds read their own column: the swapped one when it is theirs.
        let swapped_groups = swapped
            .filter(|(name, _)| self.keyed.as_ref().is_some_and(|(k, _)| k == name))
            .map(|(_, column)| column.to_text());
        let groups = swapped_groups
            .as_deref()
            .or(self.keyed.as_ref().map(|(_, g)| g.as_slice()));
        let columns = score_rows(model, self.device, &rows, self.threshold, groups)?;
        let mut columns = columns.into_iter().map(|(_, values)| values);
        let prediction = columns.next().expect("scoring adds a prediction");
        let score_columns: Vec<Vec<f32>> = columns
            .map(|values| match values {
                Values::Float32(v) => v,
                _ => unreachable!("score columns are floats"),
            })
            .collect();
        let scores: Vec<f64> = match model.spec.task {
            Task::Regression => floats(&prediction),
            Task::Binary => score_columns[0].iter().map(|&v| f64::from(v)).collect(),
            // A multiclass model's confidence: its largest class probability.
            Task::Multiclass => (0..rows.rows)
                .map(|row| {
                    score_columns
                        .iter()
                        .map(|c| f64::from(c[row]))
                        .fold(f64::NEG_INFINITY, f64::max)
                })
                .collect(),
        };
        Ok(Scored {
            predictions: texts(&prediction),
            scores,
        })
    }
}

/// The consistency of the model's predictions over `table`'s rows: each row against its
/// `neighbours` nearest (itself included) by the model's inputs other than `sensitive`, as
/// the model encodes them (a tree model's numbers standardised by the data, its categories
/// one-hot), per value of `sensitive` too.
///
/// # Errors
/// A model that is not binary or regression with [`Compared::Labels`] on a regressor, a missing
/// column, and what scoring and the neighbour search return.
pub fn consistency(
    model: &Model,
    device: &Device,
    table: &Table,
    sensitive: &str,
    compared: Compared,
    neighbours: usize,
    threshold: f64,
) -> Result<Consistency> {
    match (model.spec.task, compared) {
        (Task::Multiclass, _) => {
            return Err(Error::Argument(
                "consistency compares binary predictions or scores; this model is multiclass"
                    .into(),
            ));
        }
        (Task::Regression, Compared::Labels) => {
            return Err(Error::Argument(
                "a regression model predicts no labels; compare its values with --on scores".into(),
            ));
        }
        _ => {}
    }
    let column = table
        .column(sensitive)
        .ok_or_else(|| no_column(sensitive))?;
    let base = Scorer::new(model, device, table, threshold).score(None)?;
    let y: Vec<f64> = match compared {
        Compared::Scores => base.scores,
        Compared::Labels => {
            let positive = model
                .classes
                .as_ref()
                .map(|c| c.names()[1].clone())
                .expect("a binary model has two classes");
            base.predictions
                .iter()
                .map(|p| f64::from(u8::from(*p == positive)))
                .collect()
        }
    };
    let (points, dims) = points(model, table, sensitive)?;
    let (mut labels, mut ids) = column.to_coded();
    // Rows without a sensitive value are a group of their own, named as slices name them.
    if ids.contains(&Column::MISSING) {
        let missing = u32::try_from(labels.len()).expect("fewer than 2^32 groups");
        labels.push(mlops_eval::slices::MISSING.to_owned());
        for id in &mut ids {
            if *id == Column::MISSING {
                *id = missing;
            }
        }
    }
    Ok(consistency::consistency(
        Points {
            values: &points,
            dims,
        },
        &y,
        Some((&ids, &labels)),
        neighbours,
    )?)
}

/// Each row's model inputs other than `sensitive`, encoded as the model encodes them, in f64,
/// row-major; and the values per row.
fn points(model: &Model, table: &Table, sensitive: &str) -> Result<(Vec<f64>, usize)> {
    let features: Vec<Feature> = model
        .features
        .iter()
        .filter(|f| f.column() != sensitive)
        .map(|f| match f {
            // A tree model's category codes are no distances: compare them as one-hot blocks.
            Feature::Code { column, categories } => Feature::OneHot {
                column: column.clone(),
                categories: categories.clone(),
            },
            other => other.clone(),
        })
        .collect();
    if features.is_empty() {
        return Err(Error::Argument(format!(
            "the model has no input besides `{sensitive}`: there is nothing to find neighbours by"
        )));
    }
    let encoder = RowEncoder::new(features.clone());
    let rows = encoder.encode(&table.to_record_batch())?;
    if let Some((row, column)) = &rows.first_missing {
        return Err(Error::MissingInput {
            path: std::path::PathBuf::new(),
            rows: rows.missing.iter().filter(|m| **m).count() as u64,
            row: *row as u64,
            column: column.clone(),
        });
    }
    let width = encoder.width();
    let mut points: Vec<f64> = rows.values.iter().map(|&v| f64::from(v)).collect();
    // A network standardised its numbers when it was trained; trees did not, so the data's own
    // spread stands in, else the widest-ranging column would pick every neighbour.
    if model.spec.format.is_trees() {
        let mut slot = 0;
        for feature in &features {
            if matches!(feature, Feature::Numeric { .. }) {
                standardise(&mut points, width, slot);
            }
            slot += feature.width();
        }
    }
    Ok((points, width))
}

/// Scales the values at `slot` of every `width`-long row to mean 0 and standard deviation 1
/// (a constant column to 0).
fn standardise(points: &mut [f64], width: usize, slot: usize) {
    let rows = points.len() / width;
    if rows == 0 {
        return;
    }
    #[expect(clippy::cast_precision_loss, reason = "row counts fit an f64 exactly")]
    let n = rows as f64;
    let mean = points.iter().skip(slot).step_by(width).sum::<f64>() / n;
    let variance = points
        .iter()
        .skip(slot)
        .step_by(width)
        .map(|v| (v - mean) * (v - mean))
        .sum::<f64>()
        / n;
    let std = variance.sqrt();
    for v in points.iter_mut().skip(slot).step_by(width) {
        *v = if std > 0.0 { (*v - mean) / std } else { 0.0 };
    }
}

fn no_column(column: &str) -> Error {
    Error::Argument(format!("no column `{column}` in the data"))
}

/// A prediction column's values as text.
fn texts(values: &Values) -> Vec<String> {
    match values {
        Values::Float32(v) => v.iter().map(ToString::to_string).collect(),
        Values::Int64(v) => v.iter().map(ToString::to_string).collect(),
        Values::Text { labels, ids } => ids.iter().map(|&i| labels[i as usize].clone()).collect(),
    }
}

/// A regressor's prediction column as numbers.
fn floats(values: &Values) -> Vec<f64> {
    match values {
        Values::Float32(v) => v.iter().map(|&v| f64::from(v)).collect(),
        #[expect(clippy::cast_precision_loss, reason = "predictions are far below 2^53")]
        Values::Int64(v) => v.iter().map(|&v| v as f64).collect(),
        Values::Text { .. } => Vec::new(),
    }
}
