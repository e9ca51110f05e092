//! Reading the reference, the prediction log and the labels into the columns a monitor works on:
//! timestamps as microseconds, the positive-class score, the prediction and the label as
//! positive or not, and each feature as numbers or categories.
//!
//! A feature is numeric when the reference column holds numbers and categorical when it holds
//! text or booleans, as NannyML decides by dtype. Without `features`, the features are the
//! columns the reference and the predictions share, less the roles (timestamp, score,
//! prediction, label, id), the bookkeeping columns `mlops serve` logs, and identifiers (integer
//! or text columns with a different value in every reference row).

use mlops_data::Dataset;
use mlops_data::table::{Column, Table};

use crate::error::{Error, Result};

/// Columns of the prediction log that describe a request, not the model's inputs.
pub const LOG_COLUMNS: [&str; 6] = [
    "model",
    "model_version",
    "variant",
    "request_id",
    "row",
    "latency_ms",
];

/// Which column holds what.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    pub timestamp: String,
    /// The positive class's probability; estimated performance needs it.
    pub score: Option<String>,
    /// The predicted class; without it, a score at or above `threshold` predicts positive.
    pub prediction: Option<String>,
    pub label: String,
    /// Key columns pairing predictions with labels kept apart from them.
    pub id: Vec<String>,
    /// The features watched for drift; `None` takes every shared column that has no role.
    pub features: Option<Vec<String>>,
    /// The positive class, for text labels and predictions.
    pub pos_label: Option<String>,
    pub threshold: f64,
}

impl Default for Columns {
    /// The serve log's names: `timestamp`, `score`, `prediction`, `label`, keyed by
    /// `request_id` and `row`.
    fn default() -> Self {
        Self {
            timestamp: "timestamp".to_owned(),
            score: Some("score".to_owned()),
            prediction: Some("prediction".to_owned()),
            label: "label".to_owned(),
            id: vec!["request_id".to_owned(), "row".to_owned()],
            features: None,
            pos_label: None,
            threshold: 0.5,
        }
    }
}

/// One feature's values.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureValues {
    /// NaN for a missing value.
    Numbers(Vec<f64>),
    /// Codes into `labels`; `None` for a missing value.
    Categories {
        labels: Vec<String>,
        codes: Vec<Option<u32>>,
    },
}

/// One column's values, borrowed: what the methods read (a feature's, or a model output's).
#[derive(Debug, Clone, Copy)]
pub enum View<'a> {
    /// NaN for a missing value.
    Numbers(&'a [f64]),
    /// Codes into `labels`; `None` for a missing value.
    Categories {
        labels: &'a [String],
        codes: &'a [Option<u32>],
    },
}

impl View<'_> {
    /// The rows.
    pub fn len(&self) -> usize {
        match self {
            View::Numbers(v) => v.len(),
            View::Categories { codes, .. } => codes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl FeatureValues {
    /// The values, borrowed.
    pub fn view(&self) -> View<'_> {
        match self {
            FeatureValues::Numbers(v) => View::Numbers(v),
            FeatureValues::Categories { labels, codes } => View::Categories { labels, codes },
        }
    }

    /// Whether row `row` is missing.
    pub fn is_missing(&self, row: usize) -> bool {
        match self {
            FeatureValues::Numbers(v) => v[row].is_nan(),
            FeatureValues::Categories { codes, .. } => codes[row].is_none(),
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, FeatureValues::Numbers(_))
    }

    /// The column's values, consumed: at a million rows a copy of every column at once would
    /// double what a window holds.
    fn of(column: Column, numeric: bool) -> Self {
        #[expect(
            clippy::cast_precision_loss,
            reason = "integer features are far below 2^52"
        )]
        match (column, numeric) {
            (Column::Float(v), true) => {
                FeatureValues::Numbers(v.iter().map(|x| x.unwrap_or(f64::NAN)).collect())
            }
            (Column::Int(v), true) => {
                FeatureValues::Numbers(v.iter().map(|x| x.map_or(f64::NAN, |i| i as f64)).collect())
            }
            (Column::Text { labels, ids }, _) => FeatureValues::Categories {
                labels,
                codes: ids
                    .into_iter()
                    .map(|i| (i != Column::MISSING).then_some(i))
                    .collect(),
            },
            (other, _) => Self::coded(&other),
        }
    }

    /// Booleans and numbers read as categories.
    fn coded(column: &Column) -> Self {
        let (labels, ids) = column.to_coded();
        FeatureValues::Categories {
            labels,
            codes: ids
                .into_iter()
                .map(|i| (i != Column::MISSING).then_some(i))
                .collect(),
        }
    }
}

/// One side's rows, as the methods read them.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    /// Microseconds since the epoch (UTC); `None` where missing.
    pub micros: Vec<Option<i64>>,
    /// NaN where missing.
    pub scores: Option<Vec<f64>>,
    pub predictions: Option<Vec<Option<bool>>>,
    pub labels: Option<Vec<Option<bool>>>,
    /// The features' names, in order.
    pub feature_names: Vec<String>,
    pub features: Vec<FeatureValues>,
    /// Labels paired from a labels log: (labelled rows, labels that matched no row).
    pub paired: Option<(usize, usize)>,
    /// The id columns, read with the rest when the labels are not (for [`pair_labels`]).
    pub keys: Option<Table>,
}

/// The feature names: given, or the reference's columns the predictions also have, less the
/// roles and the log's bookkeeping columns ([`read`] then leaves out identifiers).
///
/// # Errors
/// A given feature missing from either side.
pub fn features(
    reference: &Dataset,
    predictions: &Dataset,
    columns: &Columns,
) -> Result<Vec<String>> {
    let reference_names: Vec<String> = reference.schema()?.into_iter().map(|c| c.name).collect();
    let prediction_names: Vec<String> = predictions.schema()?.into_iter().map(|c| c.name).collect();
    if let Some(given) = &columns.features {
        for name in given {
            for (names, side) in [
                (&reference_names, reference),
                (&prediction_names, predictions),
            ] {
                if !names.contains(name) {
                    return Err(Error::Column {
                        column: name.clone(),
                        input: side.describe(),
                        problem: format!(
                            "is not there (it has {})",
                            names
                                .iter()
                                .map(|n| format!("`{n}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                }
            }
        }
        return Ok(given.clone());
    }
    let mut roles: Vec<&str> = vec![columns.timestamp.as_str(), columns.label.as_str()];
    roles.extend(columns.score.as_deref());
    roles.extend(columns.prediction.as_deref());
    roles.extend(columns.id.iter().map(String::as_str));
    roles.extend(LOG_COLUMNS);
    let candidates: Vec<String> = reference_names
        .into_iter()
        .filter(|n| !roles.contains(&n.as_str()) && prediction_names.contains(n))
        .collect();
    Ok(candidates)
}

/// Whether a column looks like a row identifier rather than a feature: integers or text with a
/// different value in every row (an order id, a customer id). Such a column drifts by
/// construction and would swamp the reconstruction; name it in `features` to watch it anyway.
fn is_identifier(column: &Column) -> bool {
    let (labels, ids) = match column {
        Column::Int(_) | Column::Text { .. } => column.to_coded(),
        Column::Bool(_) | Column::Float(_) => return false,
    };
    ids.len() > 1 && labels.len() == ids.len()
}

/// Reads `data`'s rows: the roles `columns` names that it has (the label only when
/// `with_label`), and `features`, numeric where `numeric` says so. `numeric` is `None` for the
/// reference: each column as it is, and without `columns.features` identifiers (integer or
/// text columns with a value per row) left out.
///
/// # Errors
/// A missing or mistyped column, naming it and the input.
pub fn read(
    data: &Dataset,
    columns: &Columns,
    features: &[String],
    numeric: Option<&[bool]>,
    with_label: bool,
) -> Result<Rows> {
    let present: Vec<String> = data.schema()?.into_iter().map(|c| c.name).collect();
    let has = |name: &str| present.iter().any(|p| p == name);
    let input = data.describe();
    if !has(&columns.timestamp) {
        return Err(no_timestamp(&columns.timestamp, input));
    }
    let mut wanted: Vec<&str> = vec![columns.timestamp.as_str()];
    let score = columns.score.as_deref().filter(|s| has(s));
    let prediction = columns.prediction.as_deref().filter(|p| has(p));
    let label = with_label
        .then_some(columns.label.as_str())
        .filter(|l| has(l));
    wanted.extend(score);
    wanted.extend(prediction);
    wanted.extend(label);
    // Without the label, the ids that pair rows with labels kept apart, in the same read.
    let keys: Vec<&str> = if with_label || !columns.id.iter().all(|k| has(k)) {
        Vec::new()
    } else {
        columns.id.iter().map(String::as_str).collect()
    };
    for k in &keys {
        if !wanted.contains(k) {
            wanted.push(k);
        }
    }
    for f in features {
        if !wanted.contains(&f.as_str()) {
            wanted.push(f);
        }
    }
    let mut table = read_columns(data, &wanted)?;
    if table.rows == 0 {
        return Err(Error::Empty { input });
    }
    let column = |name: &str| table.column(name).expect("read above");
    let micros = timestamps(column(&columns.timestamp), &columns.timestamp, &input)?;
    let scores = score
        .map(|s| probabilities(column(s), s, &input))
        .transpose()?;
    let predictions = prediction
        .map(|p| positives(column(p), p, &input, columns.pos_label.as_deref()))
        .transpose()?
        .or_else(|| {
            scores.as_ref().map(|s| {
                s.iter()
                    .map(|&v| (!v.is_nan()).then_some(v >= columns.threshold))
                    .collect()
            })
        });
    let labels = label
        .map(|l| positives(column(l), l, &input, columns.pos_label.as_deref()))
        .transpose()?;
    // The reference, with the default features: identifiers are no features.
    let feature_names: Vec<String> = if numeric.is_none() && columns.features.is_none() {
        features
            .iter()
            .filter(|f| !is_identifier(table.column(f).expect("read above")))
            .cloned()
            .collect()
    } else {
        features.to_vec()
    };
    let keys = (!keys.is_empty()).then(|| table.select(&keys));
    let features = feature_values(&mut table, &feature_names, numeric, &input)?;
    Ok(Rows {
        micros,
        scores,
        predictions,
        labels,
        feature_names,
        features,
        paired: None,
        keys,
    })
}

/// `data`'s timestamps alone, as microseconds; the column checked as [`read`] checks it.
///
/// # Errors
/// A missing timestamp column, or one that holds no dates or timestamps.
pub fn read_timestamps(data: &Dataset, column: &str) -> Result<Vec<Option<i64>>> {
    let input = data.describe();
    if !data.schema()?.iter().any(|c| c.name == column) {
        return Err(no_timestamp(column, input));
    }
    let table = data.read(&[column])?;
    timestamps(table.column(column).expect("read above"), column, &input)
}

fn no_timestamp(column: &str, input: String) -> Error {
    Error::Column {
        column: column.to_owned(),
        input,
        problem: "is not there: name the timestamp column with --timestamp".to_owned(),
    }
}

/// Labels kept apart from the predictions, read once for every group of prediction files.
#[derive(Debug)]
pub struct Labels {
    /// The id columns, the label, and the `timestamp` that orders corrections when `stamped`.
    table: Table,
    stamped: bool,
    /// Each row's label as positive or not.
    values: Vec<Option<bool>>,
}

impl Labels {
    /// Reads the id and label columns of `labels`.
    ///
    /// # Errors
    /// A missing id or label column, or labels that are not binary, naming the input.
    pub fn read(labels: &Dataset, columns: &Columns) -> Result<Self> {
        let keys: Vec<&str> = columns.id.iter().map(String::as_str).collect();
        let input = labels.describe();
        let names: Vec<String> = labels.schema()?.into_iter().map(|c| c.name).collect();
        for name in keys.iter().copied().chain([columns.label.as_str()]) {
            if !names.iter().any(|n| n == name) {
                return Err(Error::Column {
                    column: name.to_owned(),
                    input,
                    problem:
                        "is not there: name the label column with --label and the keys with --id"
                            .to_owned(),
                });
            }
        }
        let stamped = names.iter().any(|n| n == mlops_eval::join::TIMESTAMP)
            && !keys.contains(&mlops_eval::join::TIMESTAMP)
            && columns.label != mlops_eval::join::TIMESTAMP;
        let mut wanted = keys;
        wanted.push(&columns.label);
        if stamped {
            wanted.push(mlops_eval::join::TIMESTAMP);
        }
        let table = labels.read(&wanted)?;
        let values = positives(
            table.column(&columns.label).expect("read above"),
            &columns.label,
            &input,
            columns.pos_label.as_deref(),
        )?;
        Ok(Self {
            table,
            stamped,
            values,
        })
    }
}

/// Pairs `rows` (read from `predictions` without their label, so with their id columns) with
/// `labels` by the id columns, setting their labels.
///
/// # Errors
/// An id column the predictions lack, naming it and the input.
pub fn pair_labels(
    rows: &mut Rows,
    predictions: &Dataset,
    labels: &Labels,
    columns: &Columns,
) -> Result<()> {
    let keys: Vec<&str> = columns.id.iter().map(String::as_str).collect();
    let Some(key_table) = rows.keys.take() else {
        // The ids were not read: one is missing, or none was named.
        let present: Vec<String> = predictions.schema()?.into_iter().map(|c| c.name).collect();
        let missing = keys.iter().find(|k| !present.iter().any(|p| p == *k));
        return Err(Error::Column {
            column: missing.map_or_else(|| "--id".to_owned(), |k| (*k).to_owned()),
            input: predictions.describe(),
            problem: if missing.is_some() {
                "is not there"
            } else {
                "names no column"
            }
            .to_owned()
                + ": name the columns that pair predictions with labels with --id",
        });
    };
    let paired = mlops_eval::join::pair(&key_table, &labels.table, &keys, labels.stamped);
    let joined: Vec<Option<bool>> = paired
        .label_rows
        .iter()
        .map(|r| r.and_then(|r| labels.values[r]))
        .collect();
    rows.paired = Some((
        joined.iter().filter(|l| l.is_some()).count(),
        paired.unmatched_labels,
    ));
    rows.labels = Some(joined);
    Ok(())
}

/// `columns` of `data`, in two halves read side by side: a file's columns decode one after the
/// other, and the reference is read while the other core would wait.
fn read_columns(data: &Dataset, columns: &[&str]) -> Result<Table> {
    if columns.len() < 4 {
        return Ok(data.read(columns)?);
    }
    let (first, second) = columns.split_at(columns.len() / 2);
    let (a, b) = rayon::join(|| data.read(first), || data.read(second));
    let (mut a, b) = (a?, b?);
    a.names.extend(b.names);
    a.columns.extend(b.columns);
    Ok(a)
}

/// A timestamp column as microseconds: Parquet dates and timestamps, or ISO 8601 text (a CSV or
/// NDJSON log), each distinct text parsed once.
fn timestamps(column: &Column, name: &str, input: &str) -> Result<Vec<Option<i64>>> {
    let bad = |problem: String| Error::Column {
        column: name.to_owned(),
        input: input.to_owned(),
        problem,
    };
    match column {
        Column::Float(days) => Ok(crate::windows::micros_of_days(
            &days.iter().collect::<Vec<_>>(),
        )),
        Column::Text { labels, ids } => {
            let parsed: Vec<Option<i64>> = labels
                .iter()
                .map(|l| mlops_data::table::parse_instant(l))
                .collect();
            if let Some(i) = parsed.iter().position(Option::is_none) {
                return Err(bad(format!(
                    "holds `{}`, which is no ISO 8601 date or timestamp \
                     (`2024-03-11`, `2024-03-11T05:30:00Z`, `2024-03-11 05:30:00+01:00`)",
                    labels[i]
                )));
            }
            Ok(ids
                .iter()
                .map(|&i| (i != Column::MISSING).then(|| parsed[i as usize]).flatten())
                .collect())
        }
        other => Err(bad(format!(
            "holds {}, not dates or timestamps: a monitor cuts windows by time",
            other.type_name()
        ))),
    }
}

fn probabilities(column: &Column, name: &str, input: &str) -> Result<Vec<f64>> {
    let bad = |problem: String| Error::Column {
        column: name.to_owned(),
        input: input.to_owned(),
        problem,
    };
    let Some(values) = column.to_floats() else {
        return Err(bad("holds text, not scores".to_owned()));
    };
    let values: Vec<f64> = values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect();
    if let Some(v) = values
        .iter()
        .find(|v| !v.is_nan() && !(0.0..=1.0).contains(*v))
    {
        return Err(bad(format!(
            "holds {v}: scores are the positive class's probability, within [0, 1]"
        )));
    }
    Ok(values)
}

/// Whether each value is the positive class: `true`, `1`, or `pos_label`.
fn positives(
    column: &Column,
    name: &str,
    input: &str,
    pos_label: Option<&str>,
) -> Result<Vec<Option<bool>>> {
    // The common case without a string per distinct value: integers that are all 0 or 1.
    if let (Column::Int(values), None | Some("1")) = (column, pos_label)
        && values.present_values().all(|v| v == 0 || v == 1)
    {
        return Ok(values.iter().map(|v| v.map(|v| v == 1)).collect());
    }
    let (labels, ids) = column.to_coded();
    let distinct: Vec<&str> = {
        let mut seen = vec![false; labels.len()];
        for &i in &ids {
            if i != Column::MISSING {
                seen[i as usize] = true;
            }
        }
        labels
            .iter()
            .zip(seen)
            .filter(|(_, s)| *s)
            .map(|(l, _)| l.as_str())
            .collect()
    };
    if distinct.len() > 2 {
        return Err(Error::Column {
            column: name.to_owned(),
            input: input.to_owned(),
            problem: format!(
                "holds {} classes: a monitor estimates binary classifiers",
                distinct.len()
            ),
        });
    }
    let positive: &str = match pos_label {
        Some(p) => p,
        None if distinct.iter().all(|v| ["0", "1"].contains(v)) => "1",
        None if distinct.iter().all(|v| ["false", "true"].contains(v)) => "true",
        None => {
            return Err(Error::Column {
                column: name.to_owned(),
                input: input.to_owned(),
                problem: format!(
                    "holds {}: name the positive class with --pos-label",
                    distinct
                        .iter()
                        .take(5)
                        .map(|v| format!("`{v}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    };
    let is_positive: Vec<bool> = labels.iter().map(|l| l == positive).collect();
    Ok(ids
        .into_iter()
        .map(|i| (i != Column::MISSING).then(|| is_positive[i as usize]))
        .collect())
}

/// The features, taken out of `table`.
fn feature_values(
    table: &mut Table,
    features: &[String],
    numeric: Option<&[bool]>,
    input: &str,
) -> Result<Vec<FeatureValues>> {
    features
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let at = table
                .names
                .iter()
                .position(|n| n == name)
                .expect("read above");
            let column = std::mem::replace(&mut table.columns[at], Column::Bool(Vec::new()));
            let is_number = matches!(column, Column::Int(_) | Column::Float(_));
            let wanted = numeric.map_or(is_number, |n| n[i]);
            if wanted && !is_number {
                return Err(Error::Column {
                    column: name.clone(),
                    input: input.to_owned(),
                    problem: format!(
                        "holds {}, where the reference holds numbers",
                        column.type_name()
                    ),
                });
            }
            Ok(FeatureValues::of(column, wanted))
        })
        .collect()
}
