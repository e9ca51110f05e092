//! Profiles: a compact summary of each column that parts of a dataset can be profiled into
//! separately and merged, and that drift can be tested against instead of the raw reference.
//!
//! Numbers go into a relative-error quantile sketch with fixed logarithmic buckets (`DDSketch`,
//! Masson et al. 2019): a value x > 0 falls in bucket `ceil(log_γ x)` with `γ = (1 + α) / (1 − α)`,
//! negative values mirror it, zeros count apart. Every value a bucket holds is within a relative
//! error α of the bucket's representative `2 γ^i / (γ + 1)`, and since buckets are fixed, merging
//! profiles adds counts: the profile of the parts equals the profile of the whole, exactly.
//! Categories are counted exactly up to `MAX_CATEGORIES` (10,000); beyond that the rarest fold into
//! `(other)`.
//!
//! Against a profile, both sides of a numeric column are read through the sketch (each value
//! replaced by its bucket's representative), so the tests compare like with like and differ from
//! the raw-data results only by moving values at most α (relatively).

use std::collections::BTreeMap;
use std::path::Path;

use mlops_data::Dataset;
use mlops_data::table::{Column, Table};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::report::Kind;

/// The sketch's relative accuracy α.
pub(crate) const RELATIVE_ACCURACY: f64 = 0.0005;

/// Categories kept exactly per column.
pub(crate) const MAX_CATEGORIES: usize = 10_000;

/// The profile file format this build writes and reads.
const FORMAT: u32 = 1;

/// Profiles of the columns of some data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub format: u32,
    pub relative_accuracy: f64,
    pub rows: usize,
    /// In the data's column order.
    pub columns: Vec<ColumnProfile>,
}

/// One column's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    pub name: String,
    pub kind: Kind,
    /// Rows without a value (missing, NaN or infinite for numbers).
    pub missing: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numbers: Option<Sketch>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub categories: BTreeMap<String, u64>,
    /// A numeric column read as integers: a profile tested as current data stands for an
    /// integer column, to which Evidently's rule for few distinct integers applies.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub integers: bool,
}

/// Counts per logarithmic bucket: positive values, negative values (by their magnitude's
/// bucket) and zeros; the exact minimum and maximum.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sketch {
    pub positive: BTreeMap<i32, u64>,
    pub negative: BTreeMap<i32, u64>,
    pub zeros: u64,
    pub min: f64,
    pub max: f64,
}

fn gamma() -> f64 {
    (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)
}

/// The bucket of a magnitude `x > 0`.
#[expect(
    clippy::cast_possible_truncation,
    reason = "bucket indices of finite doubles fit i32"
)]
fn bucket(x: f64) -> i32 {
    (x.ln() / gamma().ln()).ceil() as i32
}

/// The value a bucket stands for: within α of every magnitude in it.
fn representative(index: i32) -> f64 {
    let g = gamma();
    2.0 * g.powi(index) / (g + 1.0)
}

/// A value as the sketch keeps it.
pub(crate) fn quantize(x: f64) -> f64 {
    if x == 0.0 {
        0.0
    } else if x > 0.0 {
        representative(bucket(x))
    } else {
        -representative(bucket(-x))
    }
}

impl Sketch {
    fn add(&mut self, x: f64) {
        if self.is_empty() {
            (self.min, self.max) = (x, x);
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        if x == 0.0 {
            self.zeros += 1;
        } else if x > 0.0 {
            *self.positive.entry(bucket(x)).or_insert(0) += 1;
        } else {
            *self.negative.entry(bucket(-x)).or_insert(0) += 1;
        }
    }

    pub fn count(&self) -> u64 {
        self.zeros + self.positive.values().sum::<u64>() + self.negative.values().sum::<u64>()
    }

    fn is_empty(&self) -> bool {
        self.zeros == 0 && self.positive.is_empty() && self.negative.is_empty()
    }

    fn merge(&mut self, other: &Sketch) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            (self.min, self.max) = (other.min, other.max);
        } else {
            self.min = self.min.min(other.min);
            self.max = self.max.max(other.max);
        }
        self.zeros += other.zeros;
        for (side, theirs) in [
            (&mut self.positive, &other.positive),
            (&mut self.negative, &other.negative),
        ] {
            for (&index, &count) in theirs {
                *side.entry(index).or_insert(0) += count;
            }
        }
    }

    /// The sorted values the sketch stands for: each bucket's representative, as many times as
    /// it counted.
    pub(crate) fn values(&self) -> Vec<f64> {
        let times = |count: u64| usize::try_from(count).expect("counts fit usize");
        let mut values = Vec::new();
        for (&index, &count) in self.negative.iter().rev() {
            values.extend(std::iter::repeat_n(-representative(index), times(count)));
        }
        values.extend(std::iter::repeat_n(0.0, times(self.zeros)));
        for (&index, &count) in &self.positive {
            values.extend(std::iter::repeat_n(representative(index), times(count)));
        }
        values
    }
}

impl Profile {
    /// Profiles the columns of `table` with the given kinds.
    pub fn of(table: &Table, kinds: &[(String, Kind)]) -> Profile {
        let columns = kinds
            .iter()
            .filter_map(|(name, kind)| {
                let column = table.column(name)?;
                Some(ColumnProfile::of(name, column, *kind))
            })
            .collect();
        Profile {
            format: FORMAT,
            relative_accuracy: RELATIVE_ACCURACY,
            rows: table.rows,
            columns,
        }
    }

    /// Adds another profile of more rows of the same columns.
    ///
    /// # Errors
    /// When the two profiles have different columns or kinds.
    pub fn merge(&mut self, other: &Profile) -> Result<()> {
        if self.columns.len() != other.columns.len() {
            return Err(Error::Argument(
                "the profiles have different columns; merge profiles of the same data".into(),
            ));
        }
        for theirs in &other.columns {
            let name = &theirs.name;
            let ours = self
                .columns
                .iter_mut()
                .find(|c| &c.name == name)
                .ok_or_else(|| {
                    Error::Argument(format!("column `{name}` is in one profile only"))
                })?;
            if ours.kind != theirs.kind {
                return Err(Error::Argument(format!(
                    "column `{name}` is {:?} in one profile and {:?} in the other",
                    ours.kind, theirs.kind
                )));
            }
            ours.missing += theirs.missing;
            ours.integers &= theirs.integers;
            if let (Some(a), Some(b)) = (&mut ours.numbers, &theirs.numbers) {
                a.merge(b);
            }
            for (label, &count) in &theirs.categories {
                *ours.categories.entry(label.clone()).or_insert(0) += count;
            }
            cap_categories(&mut ours.categories);
        }
        self.rows += other.rows;
        Ok(())
    }

    /// The profiled rows as a table of `columns`, for testing a profile as current data: a
    /// numeric column's values at their sketch's representatives (integers rounded back, for a
    /// column read as integers), a categorical column's categories as often as they were
    /// counted, missing values last; a text column is all missing (it is not tested).
    pub(crate) fn as_table(&self, columns: &[&str]) -> Table {
        let times = |count: u64| usize::try_from(count).expect("counts fit usize");
        let mut table = Table {
            names: Vec::new(),
            columns: Vec::new(),
            rows: self.rows,
        };
        for &name in columns {
            let Some(profile) = self.column(name) else {
                continue;
            };
            let column = if let (Some(sketch), Kind::Numeric) = (&profile.numbers, profile.kind) {
                let values = sketch.values();
                let missing = self.rows.saturating_sub(values.len());
                if profile.integers {
                    #[expect(
                        clippy::cast_possible_truncation,
                        reason = "representatives of integers, rounded back"
                    )]
                    let values = values.iter().map(|v| Some(v.round() as i64));
                    Column::Int(values.chain(std::iter::repeat_n(None, missing)).collect())
                } else {
                    let values = values.into_iter().map(Some);
                    Column::Float(values.chain(std::iter::repeat_n(None, missing)).collect())
                }
            } else {
                let labels: Vec<String> = profile.categories.keys().cloned().collect();
                let mut ids: Vec<u32> = Vec::with_capacity(self.rows);
                for (id, &count) in profile.categories.values().enumerate() {
                    let id = u32::try_from(id).expect("fewer than 2^32 categories");
                    ids.extend(std::iter::repeat_n(id, times(count)));
                }
                ids.resize(self.rows.max(ids.len()), Column::MISSING);
                Column::Text { labels, ids }
            };
            table.names.push(name.to_owned());
            table.columns.push(column);
        }
        table
    }

    /// A column's profile.
    pub fn column(&self, name: &str) -> Option<&ColumnProfile> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Reads a profile written by [`Profile::write`].
    ///
    /// # Errors
    /// When the file cannot be read, is not a profile, or was written by another format.
    pub fn read(path: &Path) -> Result<Profile> {
        let text = fs_err::read_to_string(path).map_err(mlops_core::Error::from)?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Error::BadProfile {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        let format = value.get("format").and_then(serde_json::Value::as_u64);
        if format != Some(u64::from(FORMAT)) {
            return Err(Error::BadProfile {
                path: path.to_owned(),
                message: format!(
                    "written in profile format {}, and this mlops reads format {FORMAT}",
                    format.map_or_else(|| "(none)".to_owned(), |f| f.to_string())
                ),
            });
        }
        serde_json::from_value(value).map_err(|e| Error::BadProfile {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Writes the profile as JSON, atomically where `path` is a regular file (see
    /// [`mlops_core::outfile`]).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string(self).expect("a profile serialises");
        mlops_core::outfile::write(path, text.as_bytes()).map_err(mlops_core::Error::from)?;
        Ok(())
    }
}

impl ColumnProfile {
    fn of(name: &str, column: &Column, kind: Kind) -> ColumnProfile {
        match kind {
            Kind::Numeric => {
                let mut sketch = Sketch::default();
                let mut missing = 0;
                match column {
                    Column::Float(values) => {
                        for v in values.iter() {
                            match v.filter(|v| v.is_finite()) {
                                Some(v) => sketch.add(v),
                                None => missing += 1,
                            }
                        }
                    }
                    #[expect(clippy::cast_precision_loss, reason = "integers read as numbers")]
                    Column::Int(values) => {
                        for v in values.iter() {
                            match v {
                                Some(v) => sketch.add(v as f64),
                                None => missing += 1,
                            }
                        }
                    }
                    Column::Bool(_) | Column::Text { .. } => missing = column.len() as u64,
                }
                ColumnProfile {
                    name: name.to_owned(),
                    kind,
                    missing,
                    numbers: Some(sketch),
                    categories: BTreeMap::new(),
                    integers: matches!(column, Column::Int(_)),
                }
            }
            Kind::Text => ColumnProfile {
                name: name.to_owned(),
                kind,
                missing: column.len() as u64,
                numbers: None,
                categories: BTreeMap::new(),
                integers: false,
            },
            Kind::Categorical => {
                let (labels, counts, missing) = column.counts();
                let mut categories: BTreeMap<String, u64> =
                    labels.into_iter().zip(counts).collect();
                cap_categories(&mut categories);
                ColumnProfile {
                    name: name.to_owned(),
                    kind,
                    missing,
                    numbers: None,
                    categories,
                    integers: false,
                }
            }
        }
    }
}

/// Rows profiled at a time.
const PIECE_ROWS: usize = 64 * 1024;

/// Profiles data a piece at a time (Parquet by record batches of 65,536 rows, CSV by file) and
/// merges the pieces, so memory is bounded by a piece, not the data. Columns: `columns` (all
/// readable ones when empty) less `exclude`; kinds as `kinds` say, else inferred from the first
/// piece as drift infers them.
///
/// # Errors
/// Unreadable files, a column asked for that the data lacks, text asked to be numeric.
pub fn profile_files(
    data: &Dataset,
    columns: &[String],
    exclude: &[String],
    kinds: &[(String, Kind)],
) -> Result<Profile> {
    let first = data
        .files()
        .first()
        .ok_or_else(|| Error::Argument("no data to profile".into()))?;
    let schema = data.schema()?;
    for column in columns.iter().chain(kinds.iter().map(|(c, _)| c)) {
        if !schema.iter().any(|c| &c.name == column) {
            return Err(Error::MissingColumn {
                column: column.clone(),
                side: format!("`{}`", first.display()),
            });
        }
    }
    let columns = profile_columns(&schema, columns, exclude);
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let mut builder = Builder::new(columns.clone(), kinds);
    data.for_each_piece(&names, PIECE_ROWS, |part| builder.add(&part))?;
    builder.finish()
}

/// The columns [`profile_files`] profiles of data whose columns are `schema`: `columns` (all
/// readable ones when empty; dates only when named, as drift tests them) less `exclude`.
pub fn profile_columns(
    schema: &[mlops_data::table::SchemaColumn],
    columns: &[String],
    exclude: &[String],
) -> Vec<String> {
    schema
        .iter()
        .filter(|c| c.unsupported.is_none())
        .filter(|c| !c.date || columns.contains(&c.name))
        .filter(|c| columns.is_empty() || columns.contains(&c.name))
        .filter(|c| !exclude.contains(&c.name))
        .map(|c| c.name.clone())
        .collect()
}

/// A profile of `columns` made a piece at a time: each piece's columns are profiled and merged
/// into the whole. The kinds are `kinds` where given, else inferred from the first piece as
/// drift infers them. A piece may hold more columns (a caller reading them for something else):
/// only `columns` are profiled.
#[derive(Debug)]
pub struct Builder<'k> {
    columns: Vec<String>,
    kinds: &'k [(String, Kind)],
    decided: Vec<(String, Kind)>,
    whole: Option<Profile>,
}

impl<'k> Builder<'k> {
    pub fn new(columns: Vec<String>, kinds: &'k [(String, Kind)]) -> Self {
        Builder {
            columns,
            kinds,
            decided: Vec::new(),
            whole: None,
        }
    }

    /// Profiles `part`'s columns and merges them in.
    ///
    /// # Errors
    /// A column asked to be numeric that holds something else.
    ///
    /// # Panics
    /// When `part` lacks one of the columns.
    pub fn add(&mut self, part: &Table) -> Result<()> {
        if self.decided.is_empty() {
            for name in &self.columns {
                let column = part
                    .column(name)
                    .expect("the piece holds the profiled columns");
                let kind = match self.kinds.iter().find(|(c, _)| c == name) {
                    Some((_, Kind::Numeric))
                        if !matches!(column, Column::Int(_) | Column::Float(_)) =>
                    {
                        return Err(Error::NotNumeric {
                            column: name.clone(),
                            found: column.type_name(),
                        });
                    }
                    Some((_, kind)) => *kind,
                    None => crate::drift::kind_of(column),
                };
                self.decided.push((name.clone(), kind));
            }
        }
        let profile = Profile::of(part, &self.decided);
        match &mut self.whole {
            None => self.whole = Some(profile),
            Some(whole) => whole.merge(&profile)?,
        }
        Ok(())
    }

    /// The profile of every piece added.
    ///
    /// # Errors
    /// When no row was added.
    pub fn finish(self) -> Result<Profile> {
        self.whole
            .ok_or_else(|| Error::Argument("the data to profile has no rows".into()))
    }
}

/// Keeps the [`MAX_CATEGORIES`] most frequent categories; the rest fold into `(other)`.
fn cap_categories(categories: &mut BTreeMap<String, u64>) {
    if categories.len() <= MAX_CATEGORIES {
        return;
    }
    let mut by_count: Vec<(String, u64)> = std::mem::take(categories).into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let other: u64 = by_count[MAX_CATEGORIES - 1..].iter().map(|(_, c)| c).sum();
    by_count.truncate(MAX_CATEGORIES - 1);
    *categories = by_count.into_iter().collect();
    *categories.entry("(other)".into()).or_insert(0) += other;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hold_values_within_the_stated_error_and_merging_adds_counts() {
        for x in [1e-6, 0.37, 1.0, 2.5, 1234.5, 9.99e8] {
            for v in [x, -x] {
                let q = quantize(v);
                assert!(
                    (q - v).abs() <= RELATIVE_ACCURACY * v.abs() * 1.000_001,
                    "{v} -> {q}"
                );
            }
        }
        let values: Vec<f64> = (0..1000).map(|i| f64::from(i) / 7.0 - 40.0).collect();
        let (mut whole, mut a, mut b) = (Sketch::default(), Sketch::default(), Sketch::default());
        for (i, &v) in values.iter().enumerate() {
            whole.add(v);
            if i % 3 == 0 { a.add(v) } else { b.add(v) }
        }
        a.merge(&b);
        assert_eq!(a, whole);
        assert_eq!(whole.values().len(), 1000);
    }

    #[test]
    fn a_profile_as_a_table_holds_what_drift_reads_of_the_rows() {
        let ints: Vec<Option<i64>> = (0..300).map(|i| (i % 11 != 0).then_some(i % 7)).collect();
        let floats: Vec<Option<f64>> = (0..300)
            .map(|i| match i % 13 {
                0 => None,
                1 => Some(f64::NAN),
                _ => Some(f64::from(i) * 0.731 - 50.0),
            })
            .collect();
        let (labels, ids): (Vec<String>, Vec<u32>) = (
            vec!["a".into(), "b".into(), "c".into()],
            (0..300u32)
                .map(|i| if i % 17 == 0 { Column::MISSING } else { i % 3 })
                .collect(),
        );
        let table = Table {
            names: vec!["i".into(), "f".into(), "t".into()],
            columns: vec![
                Column::Int(ints.clone().into()),
                Column::Float(floats.clone().into()),
                Column::Text {
                    labels,
                    ids: ids.clone(),
                },
            ],
            rows: 300,
        };
        let kinds = [
            ("i".to_owned(), Kind::Numeric),
            ("f".to_owned(), Kind::Numeric),
            ("t".to_owned(), Kind::Categorical),
        ];
        let profile = Profile::of(&table, &kinds);
        let back = profile.as_table(&["i", "f", "t"]);
        assert_eq!(back.rows, 300);
        // Small integers come back as they were, in sorted order, missing last.
        let Some(Column::Int(i)) = back.column("i") else {
            panic!("integers")
        };
        let mut expected: Vec<i64> = ints.iter().flatten().copied().collect();
        expected.sort_unstable();
        let present: Vec<i64> = i.present_values().collect();
        assert_eq!(present, expected);
        assert_eq!(
            i.missing_count(),
            ints.iter().filter(|v| v.is_none()).count()
        );
        // Numbers come back at their representatives, which the sketch keeps as they are.
        let Some(Column::Float(f)) = back.column("f") else {
            panic!("numbers")
        };
        let mut expected: Vec<f64> = floats
            .iter()
            .flatten()
            .filter(|v| v.is_finite())
            .map(|&v| quantize(v))
            .collect();
        expected.sort_unstable_by(f64::total_cmp);
        let present: Vec<f64> = f.present_values().collect();
        assert_eq!(present, expected);
        assert!(
            present
                .iter()
                .all(|&v| quantize(v).to_bits() == v.to_bits())
        );
        assert_eq!(f.missing_count(), 300 - expected.len());
        // Categories as often as they were counted.
        let Some(Column::Text {
            labels,
            ids: back_ids,
        }) = back.column("t")
        else {
            panic!("categories")
        };
        let count = |ids: &[u32], label: Option<&str>| {
            ids.iter()
                .filter(|&&id| labels.get(id as usize).map(String::as_str) == label)
                .count()
        };
        for label in [Some("a"), Some("b"), Some("c"), None] {
            assert_eq!(count(back_ids, label), count(&ids, label), "{label:?}");
        }
    }
}
