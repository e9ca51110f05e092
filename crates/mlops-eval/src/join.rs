//! Labels that live apart from their predictions (`mlops eval PREDICTIONS --labels LABELS`): the
//! prediction log of `mlops serve` and the labels log `POST /v2/feedback` and `mlops feedback`
//! write beside it, or any two tables that share key columns.
//!
//! A hash join with the labels on the hashed side: the labels are usually far fewer than the
//! predictions and arrive later, so only they are indexed. Keys are compared as numbers: each
//! key column of both sides is coded once per distinct value (text through one dictionary of
//! the labels' values), so that a prediction row looks its key up without making a string. A prediction row without a label is
//! left out and counted; a key labelled more than once takes the label with the latest
//! `timestamp` (the labels log's column), or, in a table without one, the last in file order:
//! a correction sent later replaces the label it corrects.

use std::borrow::Cow;
use std::collections::HashMap;

use mlops_data::Dataset;
use mlops_data::table::{Column, Table};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The column that orders labels given twice for one key.
pub const TIMESTAMP: &str = "timestamp";

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
    let paired = pair(&table, &labels, &keys, stamped);
    let found: Vec<(usize, usize)> = paired
        .label_rows
        .iter()
        .enumerate()
        .filter_map(|(row, label_row)| label_row.map(|l| (row, l)))
        .collect();
    let unlabelled = table.rows - found.len();
    let report = JoinReport {
        keys: join.keys.clone(),
        labelled: found.len(),
        unlabelled,
        unmatched_labels: paired.unmatched_labels,
        superseded_labels: paired.superseded_labels,
    };
    if found.is_empty() && table.rows > 0 {
        return Err(Error::NoneLabelled {
            predictions: predictions.describe(),
            labels: join.labels.describe(),
            keys: join.keys.join(", "),
        });
    }
    let (rows, label_rows): (Vec<usize>, Vec<usize>) = found.into_iter().unzip();
    // Only what the evaluation reads: a key column it does not name (a request id, a label
    // per row) is not copied.
    let (names, kept): (Vec<String>, Vec<Column>) = table
        .names
        .into_iter()
        .zip(table.columns)
        .filter(|(name, _)| columns.contains(&name.as_str()))
        .unzip();
    let mut joined = Table {
        names,
        columns: kept,
        rows: table.rows,
    }
    .take(&rows);
    let mut labels = labels;
    let at = labels
        .names
        .iter()
        .position(|n| n == label)
        .expect("the label was read");
    let label_column = Table {
        names: vec![label.to_owned()],
        columns: vec![labels.columns.swap_remove(at)],
        rows: labels.rows,
    }
    .take(&label_rows);
    joined.names.extend(label_column.names);
    joined.columns.extend(label_column.columns);
    Ok((joined, report))
}

/// Each prediction row's label row, from [`pair`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paired {
    /// Per prediction row, the labels row that labels it (the latest of several), if any.
    pub label_rows: Vec<Option<usize>>,
    /// Labels whose key names no prediction row.
    pub unmatched_labels: usize,
    /// Labels replaced by a later label for the same key.
    pub superseded_labels: usize,
}

/// Pairs the rows of `predictions` with the rows of `labels` that share their `keys` (a left
/// join): a key labelled more than once takes the label with the latest `timestamp` when
/// `stamped` (the labels table has one), else the last. Both tables hold every key column.
///
/// # Panics
/// When a key column is missing from either table.
pub fn pair(predictions: &Table, labels: &Table, keys: &[&str], stamped: bool) -> Paired {
    let pairs: Vec<(&Column, &Column)> = keys
        .iter()
        .map(|k| {
            (
                predictions.column(k).expect("every key was read"),
                labels.column(k).expect("every key was read"),
            )
        })
        .collect();
    let (predicted, labelled) = codes(&pairs, predictions.rows, labels.rows);
    let index = Index::build(&labelled, labels, stamped);
    let mut matched = vec![false; labels.rows];
    let label_rows = (0..predictions.rows)
        .map(|row| {
            let found = predicted.key(row).and_then(|key| index.rows.get(key));
            found.map(|&(label_row, _)| {
                matched[label_row] = true;
                label_row
            })
        })
        .collect();
    Paired {
        label_rows,
        unmatched_labels: index.rows.len() - matched.iter().filter(|m| **m).count(),
        superseded_labels: index.superseded,
    }
}

/// One side's keys: each row's key columns as codes, `width` of them a row; a row whose key
/// has a missing value, or a value the other side never has, has none.
struct Keys {
    width: usize,
    codes: Vec<u64>,
    valid: Vec<bool>,
}

impl Keys {
    fn new(width: usize, rows: usize) -> Keys {
        Keys {
            width,
            codes: vec![0; width * rows],
            valid: vec![true; rows],
        }
    }

    /// Row `row`'s key, if it has one.
    fn key(&self, row: usize) -> Option<&[u64]> {
        self.valid[row].then(|| &self.codes[row * self.width..(row + 1) * self.width])
    }

    fn set(&mut self, row: usize, column: usize, code: Option<u64>) {
        match code {
            Some(code) => self.codes[row * self.width + column] = code,
            None => self.valid[row] = false,
        }
    }
}

/// Codes the key columns of both sides (predictions, labels) so that two rows' codes are equal
/// exactly when their values are: integers on both sides as themselves; anything else as
/// text, through a dictionary of the labels' distinct values, so that a key matches whatever
/// type each side read it as (`42` an integer in a CSV of labels, text in the log; a float
/// prints as an integer when it is whole).
fn codes(pairs: &[(&Column, &Column)], predictions: usize, labels: usize) -> (Keys, Keys) {
    let mut predicted = Keys::new(pairs.len(), predictions);
    let mut labelled = Keys::new(pairs.len(), labels);
    for (j, (p, l)) in pairs.iter().enumerate() {
        if let (Column::Int(p), Column::Int(l)) = (p, l) {
            #[expect(clippy::cast_sign_loss, reason = "the bits are the code")]
            for (keys, values) in [(&mut predicted, p), (&mut labelled, l)] {
                for row in 0..values.len() {
                    keys.set(row, j, values.get(row).map(|v| v as u64));
                }
            }
            continue;
        }
        let (p_labels, p_ids) = coded(p);
        let (l_labels, l_ids) = coded(l);
        let mut dictionary: Map<&str, u64> =
            Map::with_capacity_and_hasher(l_labels.len(), std::hash::BuildHasherDefault::default());
        for (i, value) in l_labels.iter().enumerate() {
            dictionary.entry(value.as_str()).or_insert(i as u64);
        }
        // Per distinct value, not per row: what each side's ids stand for.
        let l_code: Vec<u64> = l_labels.iter().map(|v| dictionary[v.as_str()]).collect();
        let p_code: Vec<Option<u64>> = p_labels
            .iter()
            .map(|v| dictionary.get(v.as_str()).copied())
            .collect();
        for (row, &id) in l_ids.iter().enumerate() {
            labelled.set(row, j, (id != Column::MISSING).then(|| l_code[id as usize]));
        }
        for (row, &id) in p_ids.iter().enumerate() {
            predicted.set(
                row,
                j,
                (id != Column::MISSING)
                    .then(|| p_code[id as usize])
                    .flatten(),
            );
        }
    }
    (predicted, labelled)
}

/// A column's distinct values as text and each row's id into them; text as stored, borrowed.
fn coded(column: &Column) -> (Cow<'_, [String]>, Cow<'_, [u32]>) {
    match column {
        Column::Text { labels, ids } => (Cow::Borrowed(labels), Cow::Borrowed(ids)),
        other => {
            let (labels, ids) = other.to_coded();
            (Cow::Owned(labels), Cow::Owned(ids))
        }
    }
}

/// A fast hash of key codes (rustc's `FxHash`: rotate, xor and multiply, a word at a time): `SipHash`,
/// the default, made up most of a join's time, and its resistance to chosen keys buys nothing
/// here, where the keys are the user's own data.
#[derive(Default)]
struct Mix(u64);

impl std::hash::Hasher for Mix {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.write_u64(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let mut rest = [0_u8; 8];
        let tail = chunks.remainder();
        if !tail.is_empty() {
            rest[..tail.len()].copy_from_slice(tail);
            self.write_u64(u64::from_le_bytes(rest));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the low bits, which pick a bucket, depending on the low bits of
        // the words alone (text keys share their first byte): fold the high bits down
        // (MurmurHash3's finaliser).
        let mut hash = self.0;
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^ (hash >> 33)
    }
}

/// A map hashed with [`Mix`].
type Map<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Mix>>;

/// The labels by key: each key's label row, with its timestamp.
struct Index {
    rows: Map<Box<[u64]>, (usize, f64)>,
    superseded: usize,
}

impl Index {
    fn build(keys: &Keys, labels: &Table, stamped: bool) -> Index {
        // A timestamp that is not a number orders nothing: file order decides.
        let stamps = stamped
            .then(|| labels.column(TIMESTAMP).and_then(Column::to_floats))
            .flatten();
        let mut rows: Map<Box<[u64]>, (usize, f64)> = Map::default();
        let mut superseded = 0;
        for row in 0..labels.rows {
            let Some(key) = keys.key(row) else {
                continue;
            };
            let stamp = stamps
                .as_ref()
                .and_then(|s| s[row])
                .unwrap_or(f64::NEG_INFINITY);
            match rows.get_mut(key) {
                Some(held) => {
                    superseded += 1;
                    // Ties, and labels without a timestamp, go to the later row.
                    if stamp >= held.1 {
                        *held = (row, stamp);
                    }
                }
                None => {
                    rows.insert(key.into(), (row, stamp));
                }
            }
        }
        Index { rows, superseded }
    }
}

#[cfg(test)]
mod tests {
    use mlops_data::Nullable;
    use mlops_data::table::{Column, Table};

    use super::{Index, codes};

    #[test]
    fn keys_of_any_type_match_by_value() {
        let text = Column::text([Some("7"), None, Some("9")]);
        let int = Column::Int(Nullable::from_values(vec![7, 8]));
        let float = Column::Float(Nullable::from_values(vec![7.0, 8.5]));
        let (predicted, labelled) = codes(&[(&text, &int)], 3, 2);
        assert!(predicted.key(0).is_some());
        assert_eq!(predicted.key(0), labelled.key(0), "`7` is 7");
        assert_eq!(predicted.key(1), None, "a missing key matches nothing");
        assert_eq!(predicted.key(2), None, "nor a value the labels never have");
        let (predicted, labelled) = codes(&[(&int, &float)], 2, 2);
        assert_eq!(predicted.key(0), labelled.key(0), "7 is 7.0");
        assert_eq!(predicted.key(1), None, "8 is not 8.5");
        // Two columns: both must agree.
        let rows = Column::Int(Nullable::from_values(vec![0, 1]));
        let ids = Column::text([Some("r"), Some("r")]);
        let (predicted, labelled) = codes(&[(&ids, &ids), (&rows, &rows)], 2, 2);
        assert_ne!(predicted.key(0), labelled.key(1));
        assert_eq!(predicted.key(1), labelled.key(1));
    }

    #[test]
    fn the_latest_label_of_a_key_wins() {
        let ids = Column::text([Some("r"), Some("r"), Some("s"), Some("r")]);
        let labels = Table {
            rows: 4,
            names: vec!["timestamp".to_owned()],
            columns: vec![Column::Float(Nullable::from_values(vec![
                2.0, 3.0, 1.0, 1.0,
            ]))],
        };
        let (_, keys) = codes(&[(&ids, &ids)], 4, 4);
        let r = keys.key(0).expect("a key");
        let index = Index::build(&keys, &labels, true);
        assert_eq!(index.rows[r].0, 1, "the latest timestamp, not the last row");
        assert_eq!(index.superseded, 2);
        let unstamped = Index::build(&keys, &labels, false);
        assert_eq!(unstamped.rows[r].0, 3, "without timestamps, the last row");
    }
}
