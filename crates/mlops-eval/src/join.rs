//! Labels that live apart from their predictions (`mlops eval PREDICTIONS --labels LABELS`): the
//! prediction log of `mlops serve` and the labels log `POST /v2/feedback` and `mlops feedback`
//! write beside it, or any two tables that share key columns.
//!
//! A hash join with the labels on the hashed side: the labels are usually far fewer than the
//! predictions and arrive later, so only they are indexed; each prediction row looks its key up
//! once, through one reused buffer, without allocating. A prediction row without a label is
//! left out and counted; a key labelled more than once takes the label with the latest
//! `timestamp` (the labels log's column), or, in a table without one, the last in file order:
//! a correction sent later replaces the label it corrects.

use std::collections::HashMap;
use std::fmt::Write as _;

use mlops_data::Dataset;
use mlops_data::table::{Column, Table};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::input::describe;

/// The column that orders labels given twice for one key.
const TIMESTAMP: &str = "timestamp";

/// The labels and the columns that pair them with predictions.
#[derive(Debug, Clone)]
pub struct Join {
    /// The labels' files: the label column and the key columns.
    pub labels: Dataset,
    /// Columns both sides have, whose values together name one prediction row
    /// (`request_id`, `row` in the logs `mlops serve` writes).
    pub keys: Vec<String>,
}

/// How the join went, in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinReport {
    pub keys: Vec<String>,
    /// Prediction rows that found a label: the rows evaluated.
    pub labelled: usize,
    /// Prediction rows left out because no label names them (yet).
    pub unlabelled: usize,
    /// Labels whose key names no prediction row (another log, or one not read here).
    pub unmatched_labels: usize,
    /// Labels replaced by a later label for the same key.
    pub superseded_labels: usize,
}

/// Reads `columns` of the predictions (the label aside) and the label column `label` of the
/// labels, and pairs them on the keys: the table has the prediction rows that have a label, in
/// their order, with the label appended as `label`.
///
/// # Errors
/// A key or label column missing from either side (naming the file and column), unreadable
/// files, and no labelled row at all.
pub(crate) fn read(
    predictions: &Dataset,
    join: &Join,
    columns: &[&str],
    label: &str,
) -> Result<(Table, JoinReport)> {
    if join.keys.is_empty() {
        return Err(Error::Argument(
            "--join needs at least one key column".into(),
        ));
    }
    let keys: Vec<&str> = join.keys.iter().map(String::as_str).collect();
    let mut wanted: Vec<&str> = columns.iter().copied().filter(|c| *c != label).collect();
    for key in &keys {
        if !wanted.contains(key) {
            wanted.push(key);
        }
    }
    let table = predictions.read(&wanted)?;
    let mut label_columns = keys.clone();
    label_columns.push(label);
    let stamped = join
        .labels
        .schema()?
        .iter()
        .any(|c| c.name == TIMESTAMP && !keys.contains(&TIMESTAMP) && label != TIMESTAMP);
    if stamped {
        label_columns.push(TIMESTAMP);
    }
    let labels = join.labels.read(&label_columns)?;
    let index = Index::build(&labels, &keys, stamped);
    let mut found = Vec::new();
    let mut matched = vec![false; labels.rows];
    let mut unlabelled = 0;
    let key_columns: Vec<&Column> = keys
        .iter()
        .map(|k| table.column(k).expect("every key was read"))
        .collect();
    let mut buffer = String::new();
    for row in 0..table.rows {
        let hit = key_of(&key_columns, row, &mut buffer)
            .then(|| index.rows.get(buffer.as_str()))
            .flatten();
        match hit {
            Some(&(label_row, _)) => {
                found.push((row, label_row));
                matched[label_row] = true;
            }
            None => unlabelled += 1,
        }
    }
    let report = JoinReport {
        keys: join.keys.clone(),
        labelled: found.len(),
        unlabelled,
        unmatched_labels: index.rows.len() - matched.iter().filter(|m| **m).count(),
        superseded_labels: index.superseded,
    };
    if found.is_empty() && table.rows > 0 {
        return Err(Error::NoneLabelled {
            predictions: describe(predictions.files()),
            labels: describe(join.labels.files()),
            keys: join.keys.join(", "),
        });
    }
    let (rows, label_rows): (Vec<usize>, Vec<usize>) = found.into_iter().unzip();
    let mut joined = table.take(&rows);
    drop(table);
    let label_column = labels.select(&[label]).take(&label_rows);
    joined.names.extend(label_column.names);
    joined.columns.extend(label_column.columns);
    Ok((joined, report))
}

/// The labels by key: each key's label row, with its timestamp.
struct Index {
    rows: HashMap<Box<str>, (usize, f64)>,
    superseded: usize,
}

impl Index {
    fn build(labels: &Table, keys: &[&str], stamped: bool) -> Index {
        let columns: Vec<&Column> = keys
            .iter()
            .map(|k| labels.column(k).expect("every key was read"))
            .collect();
        // A timestamp that is not a number orders nothing: file order decides.
        let stamps = stamped
            .then(|| labels.column(TIMESTAMP).and_then(Column::to_floats))
            .flatten();
        let mut rows: HashMap<Box<str>, (usize, f64)> = HashMap::new();
        let mut superseded = 0;
        let mut buffer = String::new();
        for row in 0..labels.rows {
            if !key_of(&columns, row, &mut buffer) {
                continue;
            }
            let stamp = stamps
                .as_ref()
                .and_then(|s| s[row])
                .unwrap_or(f64::NEG_INFINITY);
            match rows.get_mut(buffer.as_str()) {
                Some(held) => {
                    superseded += 1;
                    // Ties, and labels without a timestamp, go to the later row.
                    if stamp >= held.1 {
                        *held = (row, stamp);
                    }
                }
                None => {
                    rows.insert(buffer.as_str().into(), (row, stamp));
                }
            }
        }
        Index { rows, superseded }
    }
}

/// Writes row `row`'s key into `buffer`: the key columns' values as text, apart by a unit
/// separator, so that an integer key matches the same integer read as a float or as text (a
/// CSV of labels infers its own types). False when a key value is missing: it matches nothing.
fn key_of(columns: &[&Column], row: usize, buffer: &mut String) -> bool {
    buffer.clear();
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            buffer.push('\u{1f}');
        }
        let written = match column {
            Column::Bool(values) => values[row].map(|v| write!(buffer, "{v}")),
            Column::Int(values) => values.get(row).map(|v| write!(buffer, "{v}")),
            Column::Float(values) => values.get(row).map(|v| {
                if v.fract() == 0.0 && v.abs() < 9.0e15 {
                    #[expect(clippy::cast_possible_truncation, reason = "a whole number in range")]
                    let whole = v as i64;
                    write!(buffer, "{whole}")
                } else {
                    write!(buffer, "{v}")
                }
            }),
            Column::Text { labels, ids } => {
                (ids[row] != Column::MISSING).then(|| buffer.write_str(&labels[ids[row] as usize]))
            }
        };
        if written.is_none() {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use mlops_data::Nullable;
    use mlops_data::table::{Column, Table};

    use super::{Index, key_of};

    fn table(names: &[&str], columns: Vec<Column>) -> Table {
        Table {
            rows: columns[0].len(),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            columns,
        }
    }

    #[test]
    fn keys_of_any_type_match_as_text() {
        let mut a = String::new();
        let mut b = String::new();
        let text = Column::text([Some("7"), None]);
        let int = Column::Int(Nullable::from_values(vec![7, 8]));
        let float = Column::Float(Nullable::from_values(vec![7.0, 8.5]));
        assert!(key_of(&[&text, &int], 0, &mut a));
        assert!(key_of(&[&int, &float], 0, &mut b));
        assert_eq!(a, b);
        assert!(
            !key_of(&[&text], 1, &mut a),
            "a missing key matches nothing"
        );
        assert!(key_of(&[&float], 1, &mut a));
        assert_eq!(a, "8.5");
    }

    #[test]
    fn the_latest_label_of_a_key_wins() {
        let labels = table(
            &["id", "label", "timestamp"],
            vec![
                Column::text([Some("r"), Some("r"), Some("s"), Some("r")]),
                Column::Int(Nullable::from_values(vec![1, 0, 1, 1])),
                Column::Float(Nullable::from_values(vec![2.0, 3.0, 1.0, 1.0])),
            ],
        );
        let index = Index::build(&labels, &["id"], true);
        assert_eq!(
            index.rows["r"].0, 1,
            "the latest timestamp, not the last row"
        );
        assert_eq!(index.superseded, 2);
        let unstamped = Index::build(&labels, &["id"], false);
        assert_eq!(unstamped.rows["r"].0, 3, "without timestamps, the last row");
    }
}
