//! Reading the training data: choosing the input columns, and encoding them as the model will
//! (numeric inputs standardised with the training rows' mean and population deviation, text
//! inputs one-hot over the training rows' sorted categories).

use std::collections::BTreeMap;
use std::path::PathBuf;

use candle_core::{Device, Tensor};
use mlops_data::table::{self, Column};
use mlops_data::{Dataset, ReadOptions};

use super::TrainConfig;
use super::design::{Encoded, NO_SLOT};
use super::settings::Settings;
use crate::error::{Error, Result};

/// The data's files expanded, the input columns, and the label and input columns read.
pub(super) fn read_data(
    config: &TrainConfig,
    settings: &Settings,
    read: &ReadOptions,
) -> Result<(Dataset, Vec<String>, table::Table)> {
    let dataset = Dataset::open(&settings.data, read.clone())?;
    let first = dataset.files().first().cloned().unwrap_or_default();
    let inputs = choose_inputs(config, &settings.label, &dataset)?;
    let mut names: Vec<&str> = vec![settings.label.as_str()];
    names.extend(inputs.iter().map(String::as_str));
    let data = dataset.read(&names)?;
    // An infinite label makes the target's mean, and with it the loss, NaN.
    let labels = data.column(&settings.label).and_then(Column::to_floats);
    if let Some((row, Some(value))) = labels
        .iter()
        .flat_map(|values| values.iter().enumerate())
        .find(|(_, v)| v.is_some_and(f64::is_infinite))
    {
        return Err(infinite(&dataset, &settings.label, row, *value));
    }
    if data.rows < 2 {
        return Err(Error::TrainingData {
            path: first,
            message: format!("{} rows; training needs at least 2", data.rows),
        });
    }
    Ok((dataset, inputs, data))
}

/// The input columns: those listed, or every column but the label and the excluded ones.
fn choose_inputs(config: &TrainConfig, label: &str, data: &Dataset) -> Result<Vec<String>> {
    let exclude = config.exclude.clone().unwrap_or_default();
    let first = data.files().first().cloned().unwrap_or_default();
    let schema = data.schema()?;
    for name in &exclude {
        if !schema.iter().any(|c| &c.name == name) {
            return Err(mlops_data::Error::MissingColumn {
                path: first.clone(),
                column: name.clone(),
                available: schema.iter().map(|c| c.name.clone()).collect(),
            }
            .into());
        }
    }
    let inputs: Vec<String> = match &config.features {
        Some(listed) if !listed.is_empty() => listed
            .iter()
            .filter(|f| !exclude.contains(f))
            .cloned()
            .collect(),
        // Dates and unreadable types are left out of an inferred list; listed, they are errors.
        _ => schema
            .iter()
            .filter(|c| {
                c.unsupported.is_none() && !c.date && c.name != label && !exclude.contains(&c.name)
            })
            .map(|c| c.name.clone())
            .collect(),
    };
    if let Some(bad) = inputs.iter().find(|i| *i == label) {
        return Err(Error::Argument(format!(
            "`{bad}` is the label; it cannot also be an input"
        )));
    }
    if inputs.is_empty() {
        return Err(Error::Argument(
            "no input columns are left; check --features and --exclude".into(),
        ));
    }
    Ok(inputs)
}

/// The mean and population standard deviation (1 where it is 0, as scikit-learn's scaler has it),
/// in two passes as numpy computes them (no division per value, and no loss of precision when
/// the values sit far from zero).
pub(super) fn mean_std(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let (n, sum) = values
        .clone()
        .fold((0.0, 0.0), |(n, s), v| (n + 1.0, s + v));
    if n == 0.0 {
        return (0.0, 1.0);
    }
    let mean = sum / n;
    let m2: f64 = values.map(|v| (v - mean) * (v - mean)).sum();
    let std = (m2 / n).sqrt();
    (mean, if std > 0.0 { std } else { 1.0 })
}

/// How each input column becomes slots of a row, fitted on the training rows.
pub(super) struct Encoder {
    inputs: Vec<EncodedInput>,
    pub(super) width: usize,
}

enum EncodedInput {
    Numeric {
        column: String,
        mean: f64,
        std: f64,
    },
    /// Each of the column's value ids mapped to a category slot, `None` for a value unseen in
    /// training.
    OneHot {
        column: String,
        categories: Vec<String>,
        slot_of: Vec<Option<usize>>,
    },
}

impl EncodedInput {
    /// A text column one-hot over the categories of `train_rows` (in file order), sorted.
    fn fit_onehot(name: &str, labels: &[String], ids: &[u32], train_rows: &[usize]) -> Self {
        let mut seen = vec![false; labels.len()];
        for &r in train_rows {
            if ids[r] != Column::MISSING {
                seen[ids[r] as usize] = true;
            }
        }
        let mut categories: Vec<String> = labels
            .iter()
            .zip(&seen)
            .filter(|(_, s)| **s)
            .map(|(l, _)| l.clone())
            .collect();
        categories.sort();
        let slot_of = labels
            .iter()
            .map(|l| categories.binary_search(l).ok())
            .collect();
        EncodedInput::OneHot {
            column: name.to_owned(),
            categories,
            slot_of,
        }
    }

    /// A number or boolean column standardised with the mean and deviation of `train_rows`;
    /// an error names the first missing or infinite value among all `rows` of the data.
    fn fit_numeric(
        name: &str,
        column: &Column,
        rows: usize,
        train_rows: &[usize],
        dataset: &Dataset,
    ) -> Result<Self> {
        // One pass for both checks; a column with neither is the common case.
        let (mut missing, mut first_missing, mut first_infinite) = (0, None, None);
        for r in 0..rows {
            let v = number_at(column, r);
            if v.is_nan() {
                missing += 1;
                first_missing.get_or_insert(r);
            } else if v.is_infinite() {
                first_infinite.get_or_insert(r);
            }
        }
        if let Some(row) = first_missing {
            let (path, row) = locate_row(dataset, name, row);
            return Err(Error::TrainingData {
                path,
                message: format!(
                    "column `{name}` is missing or NaN in {missing} rows of the data, the first in {row}; drop or fill them first"
                ),
            });
        }
        // One infinite value makes the mean, every weight and the loss NaN.
        if let Some(row) = first_infinite {
            return Err(infinite(dataset, name, row, number_at(column, row)));
        }
        let (mean, std) = mean_std(train_rows.iter().map(|&r| number_at(column, r)));
        Ok(EncodedInput::Numeric {
            column: name.to_owned(),
            mean,
            std,
        })
    }

    /// The slots this input fills in a row.
    fn width(&self) -> usize {
        match self {
            EncodedInput::Numeric { .. } => 1,
            EncodedInput::OneHot { categories, .. } => categories.len(),
        }
    }

    /// This input's slots of `rows`, encoded for the solvers.
    fn encode_rows(&self, column: &Column, rows: &[usize]) -> Encoded {
        match self {
            EncodedInput::Numeric { mean, std, .. } => {
                Encoded::Dense(if let Column::Float(values) = column {
                    rows.iter()
                        .map(|&r| (values.get(r).unwrap_or(f64::NAN) - mean) / std)
                        .collect()
                } else {
                    rows.iter()
                        .map(|&r| (number_at(column, r) - mean) / std)
                        .collect()
                })
            }
            EncodedInput::OneHot {
                slot_of,
                categories,
                ..
            } => {
                let Column::Text { ids, .. } = column else {
                    unreachable!("fitted on this table's text column");
                };
                let slots = rows
                    .iter()
                    .map(|&r| {
                        slot_of
                            .get(ids[r] as usize)
                            .copied()
                            .flatten()
                            .map_or(NO_SLOT, |s| {
                                u32::try_from(s).expect("fewer categories than rows")
                            })
                    })
                    .collect();
                Encoded::OneHot {
                    slots,
                    width: categories.len(),
                }
            }
        }
    }
}

impl Encoder {
    pub(super) fn fit(
        data: &table::Table,
        inputs: &[String],
        train_rows: &[usize],
        dataset: &Dataset,
    ) -> Result<Self> {
        let mut encoded = Vec::with_capacity(inputs.len());
        let mut width = 0;
        // In file order: the sums read each column front to back (the split shuffles the rows).
        let mut train_rows = train_rows.to_vec();
        train_rows.sort_unstable();
        for name in inputs {
            let input = match data.column(name).expect("read it") {
                Column::Text { labels, ids } => {
                    EncodedInput::fit_onehot(name, labels, ids, &train_rows)
                }
                other => EncodedInput::fit_numeric(name, other, data.rows, &train_rows, dataset)?,
            };
            width += input.width();
            encoded.push(input);
        }
        Ok(Encoder {
            inputs: encoded,
            width,
        })
    }

    /// Every row of `data`, row-major.
    pub(super) fn encode(&self, data: &table::Table) -> Vec<f32> {
        let mut x = vec![0.0f32; data.rows * self.width];
        let mut offset = 0;
        for input in &self.inputs {
            match input {
                EncodedInput::Numeric { column, mean, std } => {
                    let column = data.column(column).expect("fitted on this table");
                    for r in 0..data.rows {
                        let v = number_at(column, r);
                        #[allow(
                            clippy::cast_possible_truncation,
                            reason = "the network computes in f32"
                        )]
                        let value = ((v - mean) / std) as f32;
                        x[r * self.width + offset] = value;
                    }
                }
                EncodedInput::OneHot {
                    column, slot_of, ..
                } => {
                    let Some(Column::Text { ids, .. }) = data.column(column) else {
                        unreachable!("fitted on this table's text column");
                    };
                    for (r, &id) in ids.iter().enumerate() {
                        if let Some(slot) = slot_of.get(id as usize).copied().flatten() {
                            x[r * self.width + offset + slot] = 1.0;
                        }
                    }
                }
            }
            offset += input.width();
        }
        x
    }

    /// The rows of each of `sets` encoded for the full-batch solvers, input by input (see
    /// [`Encoded`]). Takes each input column out of `data` once it is encoded, so memory holds
    /// little more than the table at any time.
    pub(super) fn encode_columns(
        &self,
        data: &mut table::Table,
        sets: &[&[usize]],
    ) -> Vec<Vec<Encoded>> {
        let mut out: Vec<Vec<Encoded>> = sets
            .iter()
            .map(|_| Vec::with_capacity(self.inputs.len()))
            .collect();
        for input in &self.inputs {
            let name = match input {
                EncodedInput::Numeric { column, .. } | EncodedInput::OneHot { column, .. } => {
                    column
                }
            };
            let index = data
                .names
                .iter()
                .position(|n| n == name)
                .expect("fitted on this table");
            let column = std::mem::replace(
                &mut data.columns[index],
                Column::Float(mlops_data::Nullable::new()),
            );
            for (rows, encoded) in sets.iter().zip(&mut out) {
                encoded.push(input.encode_rows(&column, rows));
            }
        }
        out
    }

    /// The numeric inputs' means and deviations as tensors, if there are numeric inputs.
    pub(super) fn scaler(&self, device: &Device) -> Result<Option<(Tensor, Tensor)>> {
        let (means, stds): (Vec<f64>, Vec<f64>) = self
            .inputs
            .iter()
            .filter_map(|i| match i {
                EncodedInput::Numeric { mean, std, .. } => Some((*mean, *std)),
                EncodedInput::OneHot { .. } => None,
            })
            .unzip();
        if means.is_empty() {
            return Ok(None);
        }
        let n = means.len();
        // Kept in f64: predict standardises in f64 before rounding to f32.
        Ok(Some((
            Tensor::from_vec(means, n, device)?,
            Tensor::from_vec(stds, n, device)?,
        )))
    }

    pub(super) fn onehot(&self) -> BTreeMap<String, Vec<String>> {
        self.inputs
            .iter()
            .filter_map(|i| match i {
                EncodedInput::OneHot {
                    column, categories, ..
                } => Some((column.clone(), categories.clone())),
                EncodedInput::Numeric { .. } => None,
            })
            .collect()
    }
}

/// The error for an infinite value in column `name` at (0-based) `row` of the data.
fn infinite(dataset: &Dataset, name: &str, row: usize, value: f64) -> Error {
    let (path, row) = locate_row(dataset, name, row);
    Error::TrainingData {
        path,
        message: format!("column `{name}` holds {value} in {row}; inputs must be finite numbers"),
    }
}

/// The file of `data` (read as one table) that holds the table's (0-based) `row`, and that
/// row named for a message: `row N` of that file (from 1, not counting a header). Only for
/// errors: it reads `column` of the files again, up to the one holding the row. A file that
/// cannot be read now leaves the first file and the row counted across every input.
fn locate_row(data: &Dataset, column: &str, row: usize) -> (PathBuf, String) {
    let paths = data.files();
    if let [only] = paths {
        return (only.clone(), format!("row {}", row + 1));
    }
    let mut start = 0;
    for path in paths {
        let Ok(part) = data.file(path).read(&[column]) else {
            break;
        };
        if row < start + part.rows {
            return (path.clone(), format!("row {}", row - start + 1));
        }
        start += part.rows;
    }
    (
        paths.first().cloned().unwrap_or_default(),
        format!(
            "row {} counted across the {} input files",
            row + 1,
            paths.len()
        ),
    )
}

/// Row `row` of a number or boolean column as a number; NaN where missing.
fn number_at(column: &Column, row: usize) -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "inputs become f32 anyway")]
    let value = match column {
        Column::Float(v) => v.get(row),
        Column::Int(v) => v.get(row).map(|i| i as f64),
        Column::Bool(v) => v[row].map(|b| f64::from(u8::from(b))),
        Column::Text { .. } => None,
    };
    value.unwrap_or(f64::NAN)
}
