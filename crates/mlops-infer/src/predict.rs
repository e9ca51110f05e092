//! Batch scoring: Parquet or CSV in, Parquet or CSV out, a record batch at a time.
//!
//! With more than one thread, one thread reads and decodes batches, the caller's thread scores
//! them and a third writes them, with bounded channels of two batches between the three, so
//! the stages overlap and memory holds a few batches whatever the input's size.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use candle_core::Device;
use mlops_core::progress::Progress;
use mlops_data::Dataset;
use mlops_data::rows::{
    EncodedRows, Feature, Passed, RowBatch, RowReader, RowWriter, ValueType, Values, schema_without,
};

use crate::error::{Error, Result};
use crate::model::{Model, argmax};
use crate::postprocess::{Postprocess, Undecided};
use crate::spec::{Classes, Task};

/// What to do with a row whose numeric input is missing or NaN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnNan {
    /// Stop with an error that counts such rows (nothing is written).
    Error,
    /// Leave the row out of the output.
    Skip,
    /// Read the missing value as 0 (before standardising).
    Zero,
}

/// How to score.
#[derive(Debug, Clone)]
pub struct PredictOptions {
    /// Input columns copied to the output unchanged, before the predictions.
    pub keep: Vec<String>,
    /// Rows per batch.
    pub batch_rows: usize,
    /// Threads in all: 1 runs everything in turn; more overlap reading, scoring and writing.
    pub threads: usize,
    pub on_nan: OnNan,
    /// A binary model predicts its second class when the score is at least this (unless the
    /// model has group thresholds: [`crate::postprocess`]).
    pub threshold: f64,
}

/// What a scoring run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PredictReport {
    pub model: PathBuf,
    pub digest: String,
    pub output: PathBuf,
    pub columns: Vec<String>,
    pub rows_read: u64,
    pub rows_written: u64,
    /// Rows left out by `--on-nan skip`.
    pub rows_skipped: u64,
    /// Rows with a missing input read as 0 by `--on-nan zero`.
    pub rows_zeroed: u64,
    pub device: String,
    pub threads: usize,
    pub batch_rows: usize,
    pub seconds: f64,
    /// Time in the network alone, summed over batches.
    pub compute_seconds: f64,
}

/// The columns scoring adds after the kept ones, with their types.
pub fn added_columns(model: &Model) -> Vec<(String, ValueType)> {
    let prediction = match &model.classes {
        None => ValueType::Float32,
        Some(Classes::Int(_)) => ValueType::Int64,
        Some(Classes::Text(_)) => ValueType::Text,
    };
    let mut columns = vec![("prediction".to_owned(), prediction)];
    match (model.spec.task, &model.classes) {
        (Task::Binary, _) => columns.push(("score".to_owned(), ValueType::Float32)),
        (Task::Multiclass, Some(classes)) => columns.extend(
            classes
                .names()
                .into_iter()
                .map(|c| (format!("score_{c}"), ValueType::Float32)),
        ),
        _ => {}
    }
    columns
}

/// Scores the rows of `data` with `model` on `device` into `output`,
/// written atomically: a Parquet file, or CSV when its name ends in `.csv`.
///
/// When `cancel` becomes true (Ctrl-C), scoring stops at the next batch with
/// [`Error::Interrupted`] and the output's temp file is removed.
pub fn predict(
    model: &Model,
    device: &Device,
    data: &Dataset,
    output: &Path,
    options: &PredictOptions,
    cancel: &AtomicBool,
    progress: &dyn Progress,
) -> Result<PredictReport> {
    let started = Instant::now();
    let added = added_columns(model);
    check_options(options, &added)?;
    // Group thresholds read the sensitive column beside the inputs, passed through scoring
    // and left out of the output unless kept.
    let sensitive = model.spec.postprocess.as_ref().map(|p| p.sensitive.clone());
    let read_only = sensitive.filter(|s| !options.keep.contains(s));
    let mut passed = options.keep.clone();
    passed.extend(read_only.clone());
    let reader = data.rows(model.features.clone(), &passed, options.batch_rows)?;
    progress.start_rows("scoring", reader.total_rows());
    let mut schema = reader.passed_schema();
    if let Some(name) = &read_only {
        schema = schema_without(&schema, name);
    }
    let mut writer = RowWriter::create(output, &schema, &added)?;
    let mut scorer = Scorer::new(model, device, options, cancel);
    scorer.read_only = read_only;
    let result = if options.threads <= 1 {
        reader.into_iter().try_for_each(|batch| {
            scorer.take(batch?, progress, &mut |passed, added| {
                Ok(writer.write(&passed, added)?)
            })
        })
    } else {
        let (scoring, written) = pipelined(reader, writer, &mut scorer, progress);
        writer = written?;
        scoring
    };
    progress.finish();
    result?;
    if let Some(missing) = scorer.missing {
        return Err(Error::MissingInput {
            path: missing.path.to_path_buf(),
            rows: missing.rows,
            row: missing.row,
            column: missing.column,
        });
    }
    let rows_written = writer.finish()?;
    Ok(PredictReport {
        model: model.dir.clone(),
        digest: model.digest.to_string(),
        output: output.to_owned(),
        columns: options
            .keep
            .iter()
            .cloned()
            .chain(added.into_iter().map(|(name, _)| name))
            .collect(),
        rows_read: scorer.rows_read,
        rows_written,
        rows_skipped: scorer.rows_skipped,
        rows_zeroed: scorer.rows_zeroed,
        device: crate::device::name(device),
        threads: options.threads,
        batch_rows: options.batch_rows,
        seconds: started.elapsed().as_secs_f64(),
        compute_seconds: scorer.compute.as_secs_f64(),
    })
}

/// Refuses a kept column named as one that scoring adds, and a threshold outside [0, 1].
fn check_options(options: &PredictOptions, added: &[(String, ValueType)]) -> Result<()> {
    if let Some(name) = options
        .keep
        .iter()
        .find(|k| added.iter().any(|(a, _)| a == *k))
    {
        return Err(Error::Argument(format!(
            "--keep `{name}` would clash with the column of the same name that predict adds; rename it first"
        )));
    }
    if !(0.0..=1.0).contains(&options.threshold) {
        return Err(Error::Argument(format!(
            "--threshold must lie in [0, 1], got {}",
            options.threshold
        )));
    }
    Ok(())
}

/// Reads and decodes on one thread, scores on this one, and writes on a third, with two batches
/// in flight between each; returns the scoring's result and the writer (or its error).
fn pipelined(
    reader: RowReader,
    mut writer: RowWriter,
    scorer: &mut Scorer<'_>,
    progress: &dyn Progress,
) -> (Result<()>, Result<RowWriter>) {
    std::thread::scope(|scope| {
        let (send_batch, batches) = std::sync::mpsc::sync_channel(2);
        scope.spawn(move || {
            for batch in reader {
                if send_batch.send(batch).is_err() {
                    break;
                }
            }
        });
        let (send_scored, to_write) = std::sync::mpsc::sync_channel::<(Passed, Vec<Values>)>(2);
        let writing = scope.spawn(move || -> Result<RowWriter> {
            for (passed, added) in to_write {
                writer.write(&passed, added)?;
            }
            Ok(writer)
        });
        let scoring = batches.into_iter().try_for_each(|batch| {
            scorer.take(batch?, progress, &mut |passed, added| {
                // A closed channel means the writer stopped on an error, which it returns.
                send_scored
                    .send((passed, added))
                    .map_err(|_| Error::Argument("the writer stopped".into()))
            })
        });
        drop(send_scored);
        let written = writing.join().expect("the writer does not panic");
        (scoring, written)
    })
}

/// Where scored batches go: their passed columns and the added columns' values.
type Sink<'a> = dyn FnMut(Passed, Vec<Values>) -> Result<()> + 'a;

/// The first missing input seen under `--on-nan error`, and how many rows have one.
struct Missing {
    path: Arc<Path>,
    row: u64,
    column: String,
    rows: u64,
}

/// Scores batches in turn and hands each to a [`Sink`], counting what it read, skipped and
/// zeroed.
struct Scorer<'a> {
    model: &'a Model,
    cancel: &'a AtomicBool,
    device: &'a Device,
    options: &'a PredictOptions,
    /// Per numeric input: its slot in a row and the value a raw 0 becomes.
    zero_slots: Vec<(usize, f32)>,
    labels: Option<Arc<[String]>>,
    rows_read: u64,
    rows_skipped: u64,
    rows_zeroed: u64,
    compute: Duration,
    missing: Option<Missing>,
    /// The sensitive column read for the model's group thresholds and not kept.
    read_only: Option<String>,
}

impl<'a> Scorer<'a> {
    fn new(
        model: &'a Model,
        device: &'a Device,
        options: &'a PredictOptions,
        cancel: &'a AtomicBool,
    ) -> Self {
        let mut offset = 0;
        let mut zero_slots = Vec::new();
        for feature in &model.features {
            if let Feature::Numeric { mean, std, .. } = feature {
                #[allow(clippy::cast_possible_truncation, reason = "the model computes in f32")]
                zero_slots.push((offset, (-mean / std) as f32));
            }
            offset += feature.width();
        }
        let labels = match &model.classes {
            Some(Classes::Text(names)) => Some(Arc::from(names.clone())),
            _ => None,
        };
        Scorer {
            model,
            cancel,
            device,
            options,
            zero_slots,
            labels,
            rows_read: 0,
            rows_skipped: 0,
            rows_zeroed: 0,
            compute: Duration::ZERO,
            missing: None,
            read_only: None,
        }
    }

    fn take(
        &mut self,
        batch: RowBatch,
        progress: &dyn Progress,
        sink: &mut Sink<'_>,
    ) -> Result<()> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(Error::Interrupted);
        }
        self.rows_read += batch.rows as u64;
        progress.advance_rows(batch.rows as u64);
        let RowBatch {
            path,
            first_row,
            mut rows,
            mut values,
            missing,
            first_missing,
            mut passed,
        } = batch;
        // A tree model sends a missing value its default way: `--on-nan error` (the default)
        // is for networks; an explicit skip or zero still applies.
        let refused = !(self.model.takes_missing() && self.options.on_nan == OnNan::Error);
        if let Some((row, column)) = first_missing.filter(|_| refused) {
            let count = missing.iter().filter(|m| **m).count();
            let width = self.model.width_in;
            match self.options.on_nan {
                OnNan::Error => {
                    // Count the rest of the input's missing rows, but score nothing more.
                    let seen = self.missing.get_or_insert(Missing {
                        path,
                        row: first_row + row as u64,
                        column,
                        rows: 0,
                    });
                    seen.rows += count as u64;
                    return Ok(());
                }
                OnNan::Skip => {
                    let keep: Vec<bool> = missing.iter().map(|m| !m).collect();
                    passed = passed.filter(&keep)?;
                    let mut kept = Vec::with_capacity((rows - count) * width);
                    for (row, values) in values.chunks_exact(width).enumerate() {
                        if keep[row] {
                            kept.extend_from_slice(values);
                        }
                    }
                    values = kept;
                    rows -= count;
                    self.rows_skipped += count as u64;
                }
                OnNan::Zero => {
                    for (row, values) in values.chunks_exact_mut(width).enumerate() {
                        if missing[row] {
                            for &(slot, zero) in &self.zero_slots {
                                if values[slot].is_nan() {
                                    values[slot] = zero;
                                }
                            }
                        }
                    }
                    self.rows_zeroed += count as u64;
                }
            }
        }
        if self.missing.is_some() {
            return Ok(());
        }
        let started = Instant::now();
        let scores = self.model.score(&values, rows, self.device)?;
        self.compute += started.elapsed();
        let decision = match &self.model.spec.postprocess {
            None => Decision::Threshold(self.options.threshold),
            Some(post) => {
                let groups = passed
                    .text(&post.sensitive)?
                    .expect("the sensitive column is passed");
                let positive = decide(self.model, post, &values, &scores, &groups).map_err(
                    |(row, problem)| Error::Postprocess {
                        path: path.to_path_buf(),
                        row: first_row + row as u64,
                        problem,
                    },
                )?;
                Decision::Positive(positive)
            }
        };
        if let Some(name) = &self.read_only {
            passed = passed.without(name);
        }
        let columns = added_values(self.model, decision, self.labels.as_ref(), scores, rows);
        sink(passed, columns)
    }
}

/// How a binary model's prediction is chosen from its score.
enum Decision {
    /// Positive when the score is at least this.
    Threshold(f64),
    /// Each row's decision, made by the model's group thresholds.
    Positive(Vec<bool>),
}

/// Each row's decision under the model's group thresholds, from its encoded `values`, its
/// model outputs `scores` and its sensitive value; or the first row that cannot be decided and
/// why.
fn decide(
    model: &Model,
    post: &Postprocess,
    values: &[f32],
    scores: &[f32],
    groups: &[Option<String>],
) -> std::result::Result<Vec<bool>, (usize, String)> {
    let width_in = model.width_in;
    let width_out = model.width_out;
    groups
        .iter()
        .enumerate()
        .map(|(row, group)| {
            let inputs = &values[row * width_in..(row + 1) * width_in];
            // A binary model's positive score: its one output, or the second of two.
            let score = scores[row * width_out + width_out - 1];
            post.positive(inputs, group.as_deref(), score)
                .map_err(|undecided| {
                    let column = &post.sensitive;
                    let problem = match undecided {
                        Undecided::Missing => format!(
                            "the sensitive column `{column}` is missing; the model's group thresholds need it"
                        ),
                        Undecided::Unknown(value) => format!(
                            "`{column}` is `{value}`, a group the model's thresholds were not fitted on ({})",
                            post.groups().join(", ")
                        ),
                    };
                    (row, problem)
                })
        })
        .collect()
}

/// Scores rows decoded in memory (a server's request) exactly as [`predict`] scores a batch of
/// a file: the added columns, named and ordered as `predict` writes them (`prediction`, then
/// `score` or `score_CLASS` for classifiers). A row with a missing numeric input is an error
/// naming its row and column, as `--on-nan error` makes it (a tree model takes it).
///
/// A model with group thresholds decides by `sensitive`, each row's value of its sensitive
/// column (an error names the first row it cannot decide).
pub fn score_rows(
    model: &Model,
    device: &Device,
    rows: &EncodedRows,
    threshold: f64,
    sensitive: Option<&[Option<String>]>,
) -> Result<Vec<(String, Values)>> {
    if let Some((row, column)) = &rows.first_missing
        && !model.takes_missing()
    {
        return Err(Error::MissingInput {
            path: PathBuf::new(),
            rows: rows.missing.iter().filter(|m| **m).count() as u64,
            row: *row as u64,
            column: column.clone(),
        });
    }
    let scores = model.score(&rows.values, rows.rows, device)?;
    let labels = match &model.classes {
        Some(Classes::Text(names)) => Some(Arc::from(names.clone())),
        _ => None,
    };
    let decision = match &model.spec.postprocess {
        None => Decision::Threshold(threshold),
        Some(post) => {
            let no_column = vec![None; rows.rows];
            let groups = sensitive.unwrap_or(&no_column);
            let positive =
                decide(model, post, &rows.values, &scores, groups).map_err(|(row, problem)| {
                    Error::Postprocess {
                        path: PathBuf::new(),
                        row: row as u64,
                        problem,
                    }
                })?;
            Decision::Positive(positive)
        }
    };
    let values = added_values(model, decision, labels.as_ref(), scores, rows.rows);
    Ok(added_columns(model)
        .into_iter()
        .map(|(name, _)| name)
        .zip(values)
        .collect())
}

/// The added columns' values from the network's outputs (moved, not copied, where they are
/// the column as is); `text_labels` are a text-labelled classifier's class names.
fn added_values(
    model: &Model,
    decision: Decision,
    text_labels: Option<&Arc<[String]>>,
    scores: Vec<f32>,
    rows: usize,
) -> Vec<Values> {
    let Some(classes) = &model.classes else {
        return vec![Values::Float32(scores)];
    };
    let width = model.width_out;
    let (picked, score_columns): (Vec<usize>, Vec<Values>) = if model.spec.task == Task::Binary {
        let positive: Vec<f32> = if width == 1 {
            scores
        } else {
            scores.chunks_exact(2).map(|p| p[1]).collect()
        };
        let picked = match decision {
            Decision::Threshold(threshold) => positive
                .iter()
                .map(|&p| usize::from(f64::from(p) >= threshold))
                .collect(),
            Decision::Positive(positive) => positive.into_iter().map(usize::from).collect(),
        };
        (picked, vec![Values::Float32(positive)])
    } else {
        let picked = scores.chunks_exact(width).map(argmax).collect();
        let columns = (0..width)
            .map(|c| Values::Float32((0..rows).map(|r| scores[r * width + c]).collect()))
            .collect();
        (picked, columns)
    };
    let prediction = match classes {
        Classes::Int(labels) => Values::Int64(picked.iter().map(|&i| labels[i]).collect()),
        Classes::Text(_) => Values::Text {
            labels: text_labels.cloned().expect("text classes have labels"),
            ids: picked
                .iter()
                .map(|&i| u32::try_from(i).expect("few classes"))
                .collect(),
        },
    };
    let mut columns = vec![prediction];
    columns.extend(score_columns);
    columns
}
