//! [`infer`]: a contract written from reference data, to be edited and committed.
//!
//! Each file is streamed a piece at a time, as [`check`](crate::check()) reads it, and each column
//! keeps a small summary: its types, nulls, range, text lengths, the distinct values up to
//! `max_categories` (past that they are dropped) and, for uniqueness, the values seen until a
//! duplicate shows (integer and text columns only). Bounds are taken per file where `check`
//! tests per file (rows, the share of nulls, the type), so that checking the same data with the
//! inferred contract passes every rule.

use std::collections::BTreeSet;

use mlops_data::Dataset;
use mlops_data::table::Column;

use crate::check::PIECE_ROWS;
use crate::distinct::Distinct;
use crate::error::{Error, Result};
use crate::rules::{Cell, merge_pandas_types, pandas_type};
use crate::schema::{Bounds, Check, IgnoreRowIf, Rule, Schema, SetValue, Severity};
use crate::shape::Shape;

/// How to infer.
#[derive(Debug, Clone)]
pub struct InferOptions {
    /// The slack around what was seen: row counts within `rows × (1 ∓ margin)`, float ranges
    /// widened by `margin × (max − min)`, the share of nulls allowed up to `share × (1 + margin)`.
    pub margin: f64,
    /// A text column with at most this many distinct values gets a set rule, else a lengths rule.
    pub max_categories: usize,
    /// The column (or columns, together) that name each row: the contract's `key` rule, instead
    /// of a uniqueness rule per column. The data must hold no repeated key and no missing value
    /// in it.
    pub key: Vec<String>,
    /// How the header comment names the data (the data's files when empty).
    pub source: String,
    /// Numeric ranges from the `q` and `1 - q` quantiles (of a sample of up to
    /// [`SAMPLE`] values per column) instead of the minimum and maximum, with `mostly` letting
    /// the rows outside through: a range that ignores the extremes of the reference data.
    pub range_quantile: Option<f64>,
}

/// The values per numeric column kept, a uniform sample, for `range_quantile`.
pub const SAMPLE: usize = 100_000;

impl Default for InferOptions {
    fn default() -> Self {
        InferOptions {
            margin: 0.1,
            max_categories: 50,
            key: Vec::new(),
            source: String::new(),
            range_quantile: None,
        }
    }
}

/// What one column showed over every file.
#[derive(Debug, Default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts seen in the data, not states"
)]
struct ColumnSummary {
    name: String,
    /// A date or timestamp: read as days, so only its type and nulls are inferred.
    date: bool,
    /// The type names `column_values_to_be_in_type_list` would see, over every file.
    types: BTreeSet<&'static str>,
    /// The largest share of nulls in one file.
    null_share: f64,
    any_null: bool,
    numbers: bool,
    texts: bool,
    bools: bool,
    int_min: Option<i64>,
    int_max: Option<i64>,
    float_min: Option<f64>,
    float_max: Option<f64>,
    floats: bool,
    len_min: Option<usize>,
    len_max: Option<usize>,
    /// The distinct texts; `None` once there were more than `max_categories`.
    categories: Option<BTreeSet<String>>,
    /// The values seen while every value was distinct (in the compact arena the uniqueness
    /// rules use); `None` once one repeated (or the column cannot be unique: floats, booleans).
    distinct: Option<Distinct>,
    non_null: u64,
    /// The pattern every text value fits so far: `Unseen` before the first, `None` once two
    /// did not share one.
    shape: Shaped,
    /// A uniform sample of the numbers (reservoir sampling), for quantile ranges.
    sample: Vec<f64>,
    numbers_seen: u64,
    /// The sample's random state (SplitMix64), seeded the same for every run.
    rng: u64,
}

/// The pattern of a text column's values so far.
#[derive(Debug, Default)]
enum Shaped {
    #[default]
    Unseen,
    Fits(Shape),
    None,
}

/// One file's counts of one column.
#[derive(Debug, Default, Clone, Copy)]
struct FileCounts {
    nulls: u64,
    /// pandas's type of the file's column so far (as `check` merges pieces).
    kind: Option<&'static str>,
}

impl ColumnSummary {
    fn new(name: String, date: bool, max_categories: usize, unique: bool) -> Self {
        ColumnSummary {
            name,
            date,
            categories: (max_categories > 0).then(BTreeSet::new),
            distinct: unique.then(|| Distinct::new(1)),
            ..ColumnSummary::default()
        }
    }

    fn feed(&mut self, column: &Column, counts: &mut FileCounts, max_categories: usize) {
        if !column.is_empty() {
            let this = pandas_type(column);
            counts.kind = Some(merge_pandas_types(counts.kind, this));
        }
        for row in 0..column.len() {
            let cell = Cell::of(column, row);
            if matches!(cell, Cell::Null) {
                counts.nulls += 1;
                continue;
            }
            self.non_null += 1;
            match cell {
                Cell::Null => {}
                Cell::Bool(_) => {
                    self.bools = true;
                    self.distinct = None;
                }
                Cell::Int(i) => {
                    #[expect(clippy::cast_precision_loss, reason = "a sample for quantiles")]
                    self.sample_number(i as f64);
                    self.numbers = true;
                    self.int_min = Some(self.int_min.map_or(i, |m| m.min(i)));
                    self.int_max = Some(self.int_max.map_or(i, |m| m.max(i)));
                    self.see_distinct(cell);
                }
                Cell::Float(x) => {
                    self.sample_number(x);
                    self.numbers = true;
                    self.floats = true;
                    self.float_min = Some(self.float_min.map_or(x, |m| m.min(x)));
                    self.float_max = Some(self.float_max.map_or(x, |m| m.max(x)));
                    // Floats are left out of uniqueness: equal in the data, rarely by design.
                    self.distinct = None;
                }
                Cell::Text(s) => {
                    self.shape = match std::mem::take(&mut self.shape) {
                        Shaped::Unseen => Shape::of(s).map_or(Shaped::None, Shaped::Fits),
                        Shaped::Fits(shape) => Shape::of(s)
                            .and_then(|this| shape.merge(&this))
                            .map_or(Shaped::None, Shaped::Fits),
                        Shaped::None => Shaped::None,
                    };
                    self.texts = true;
                    let chars = s.chars().count();
                    self.len_min = Some(self.len_min.map_or(chars, |m| m.min(chars)));
                    self.len_max = Some(self.len_max.map_or(chars, |m| m.max(chars)));
                    if let Some(set) = &mut self.categories
                        && !set.contains(s)
                    {
                        if set.len() < max_categories {
                            set.insert(s.to_owned());
                        } else {
                            self.categories = None;
                        }
                    }
                    self.see_distinct(cell);
                }
            }
        }
        // One value repeated is enough: the distinct values are dropped (looked up a piece at
        // a time).
        if self
            .distinct
            .as_mut()
            .is_some_and(|d| d.unexpected_count() > 0)
        {
            self.distinct = None;
        }
    }

    /// Adds a value to the distinct ones.
    fn see_distinct(&mut self, cell: Cell<'_>) {
        if let Some(distinct) = &mut self.distinct {
            distinct.add(&[cell], 0);
        }
    }

    /// Keeps `x` in the sample with the chance reservoir sampling gives it.
    fn sample_number(&mut self, x: f64) {
        // An infinity has no place in a range a contract can write.
        if !x.is_finite() {
            return;
        }
        self.numbers_seen += 1;
        if self.sample.len() < SAMPLE {
            self.sample.push(x);
            return;
        }
        // SplitMix64: the next draw, uniform over 0..numbers_seen.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let slot = z % self.numbers_seen;
        if let Ok(slot) = usize::try_from(slot)
            && slot < SAMPLE
        {
            self.sample[slot] = x;
        }
    }

    /// The range between the `q` and `1 - q` quantiles of the sample, widened by `margin` of its
    /// span and rounded outward (to integers for an integer column), and the `mostly` that lets
    /// the rows outside it through; `None` without a sample.
    #[expect(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "ranks of a sample of at most SAMPLE values"
    )]
    fn quantile_range(&mut self, q: f64, margin: f64) -> Option<(Bounds, f64)> {
        if self.sample.is_empty() {
            return None;
        }
        self.sample.sort_by(f64::total_cmp);
        let last = (self.sample.len() - 1) as f64;
        let lo = self.sample[(q * last).floor() as usize];
        let hi = self.sample[((1.0 - q) * last).ceil() as usize];
        let slack = margin * (hi - lo);
        let (mut lo, mut hi) = if slack > 0.0 {
            round_outward(lo - slack, hi + slack)
        } else {
            (lo, hi)
        };
        if !self.floats {
            (lo, hi) = (lo.floor(), hi.ceil());
        }
        let mostly = ((1.0 - 2.0 * q * (1.0 + margin) - 1e-9) * 10_000.0).floor() / 10_000.0;
        Some((
            Bounds {
                min: Some(lo),
                max: Some(hi),
                ..Bounds::default()
            },
            mostly.clamp(0.0, 1.0),
        ))
    }

    /// Folds one file's counts of `rows` rows in.
    #[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^53")]
    fn finish_file(&mut self, counts: FileCounts, rows: u64) {
        if counts.nulls > 0 {
            self.any_null = true;
            self.null_share = self.null_share.max(counts.nulls as f64 / rows as f64);
        }
        match counts.kind {
            // A text column is tested value by value, by Python's type name.
            Some("object") => {
                self.types.insert("str");
            }
            // pandas reads an integer column with a gap as float64: either may come.
            Some("int64") if counts.nulls > 0 => {
                self.types.insert("int64");
                self.types.insert("float64");
            }
            Some(kind) => {
                self.types.insert(kind);
            }
            None => {}
        }
    }

    /// The column's rules, each named `COLUMN.kind`.
    #[expect(clippy::cast_precision_loss, reason = "lengths are far below 2^53")]
    fn rules(mut self, options: &InferOptions, unique: bool) -> Vec<Rule> {
        let name = std::mem::take(&mut self.name);
        let rule = |kind: &str, mostly: f64, check: Check| Rule {
            name: format!("{name}.{kind}"),
            column: Some(name.clone()),
            severity: Severity::Error,
            mostly,
            check,
        };
        let mut rules = Vec::new();
        if !self.types.is_empty() {
            let types = self.types.iter().map(|t| (*t).to_owned()).collect();
            rules.push(rule("type", 1.0, Check::InTypeList(types)));
        }
        let mostly = if self.any_null {
            // Floored to 4 decimals, which leaves the epsilon.
            let allowed = 1.0 - self.null_share * (1.0 + options.margin) - 1e-9;
            (allowed * 10_000.0).floor().max(0.0) / 10_000.0
        } else {
            1.0
        };
        rules.push(rule("nulls", mostly, Check::NotNull));
        if self.date || self.non_null == 0 {
            return rules;
        }
        let only_numbers = self.numbers && !self.texts && !self.bools;
        let only_texts = self.texts && !self.numbers && !self.bools;
        let quantiles = options
            .range_quantile
            .filter(|_| only_numbers)
            .and_then(|q| self.quantile_range(q, options.margin));
        if let Some((bounds, mostly)) = quantiles {
            rules.push(rule("range", mostly, Check::Between(bounds)));
        } else if only_numbers {
            let bounds = if self.floats {
                let lo = self
                    .float_min
                    .into_iter()
                    .chain(self.int_min.map(|i| i as f64));
                let hi = self
                    .float_max
                    .into_iter()
                    .chain(self.int_max.map(|i| i as f64));
                let lo = lo.fold(f64::INFINITY, f64::min);
                let hi = hi.fold(f64::NEG_INFINITY, f64::max);
                let slack = if (hi - lo).is_finite() {
                    options.margin * (hi - lo)
                } else {
                    0.0
                };
                let (lo, hi) = if slack > 0.0 {
                    round_outward(lo - slack, hi + slack)
                } else {
                    (lo, hi)
                };
                Bounds {
                    min: Some(lo).filter(|x| x.is_finite()),
                    max: Some(hi).filter(|x| x.is_finite()),
                    ..Bounds::default()
                }
            } else {
                Bounds {
                    min: self.int_min.map(|i| i as f64),
                    max: self.int_max.map(|i| i as f64),
                    ..Bounds::default()
                }
            };
            if bounds.min.is_some() || bounds.max.is_some() {
                rules.push(rule("range", 1.0, Check::Between(bounds)));
            }
        }
        if only_texts {
            if let Some(set) = self.categories {
                let set = set.into_iter().map(SetValue::Text).collect();
                rules.push(rule("set", 1.0, Check::InSet(set)));
            } else {
                let bounds = Bounds {
                    min: self.len_min.map(|n| n as f64),
                    max: self.len_max.map(|n| n as f64),
                    ..Bounds::default()
                };
                rules.push(rule("length", 1.0, Check::Lengths(bounds)));
                // A shape's regex is built from escaped parts and short runs: it compiles.
                if let Shaped::Fits(shape) = &self.shape
                    && let Ok(regex) = regex::Regex::new(&shape.regex())
                {
                    rules.push(rule("pattern", 1.0, Check::MatchRegex(regex)));
                }
            }
        }
        if unique && self.distinct.is_some() && self.non_null > 1 {
            rules.push(rule("unique", 1.0, Check::Unique));
        }
        rules
    }
}

/// A contract that `data` passes: the row count, and each column's type, nulls, range, set or
/// lengths and uniqueness, with `options.margin` of slack (see the module's notes).
///
/// # Errors
/// When a file cannot be read, lacks a column of the first file (or `--id`), or the `id` column
/// repeats a value.
pub fn infer(data: &Dataset, options: &InferOptions) -> Result<Schema> {
    let Some(first) = data.files().first() else {
        return Ok(Schema {
            rules: Vec::new(),
            header: Vec::new(),
        });
    };
    let columns: Vec<_> = data
        .file(first)
        .schema()?
        .into_iter()
        .filter(|c| c.unsupported.is_none())
        .collect();
    if let Some(missing) = options
        .key
        .iter()
        .find(|k| !columns.iter().any(|c| &c.name == *k))
    {
        return Err(Error::MissingColumn {
            column: missing.clone(),
            file: first.clone(),
        });
    }
    let unique_per_column = options.key.is_empty();
    let mut summaries: Vec<ColumnSummary> = columns
        .iter()
        .map(|c| {
            ColumnSummary::new(
                c.name.clone(),
                c.date,
                options.max_categories,
                unique_per_column,
            )
        })
        .collect();
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let (min_rows, max_rows, total) = summarise(data, &names, &mut summaries, options)?;
    let mut rules = vec![Rule {
        name: "rows".into(),
        column: None,
        severity: Severity::Error,
        mostly: 1.0,
        check: Check::TableRowCount(row_bounds(min_rows, max_rows, options.margin)),
    }];
    rules.push(Rule {
        name: "columns".into(),
        column: None,
        severity: Severity::Error,
        mostly: 1.0,
        check: Check::ColumnSet {
            columns: data
                .file(first)
                .schema()?
                .into_iter()
                .map(|c| c.name)
                .collect(),
            exact: true,
        },
    });
    if !options.key.is_empty() {
        let key = Rule {
            name: "key".into(),
            column: None,
            severity: Severity::Error,
            mostly: 1.0,
            check: Check::CompoundUnique {
                columns: options.key.clone(),
                ignore_row_if: IgnoreRowIf::AllValuesAreMissing,
            },
        };
        check_key(data, &key, &options.key)?;
        rules.push(key);
    }
    for summary in summaries {
        rules.extend(summary.rules(options, unique_per_column));
    }
    let header = header(data, options, total);
    Ok(Schema { rules, header })
}

/// Checks that `key` (the `key` rule over the `columns`) holds on every file, and that no key
/// column has a missing value: one more pass, over the key columns alone.
fn check_key(data: &Dataset, key: &Rule, columns: &[String]) -> Result<()> {
    let mut rules = vec![Rule {
        check: Check::CompoundUnique {
            columns: columns.to_vec(),
            ignore_row_if: IgnoreRowIf::Never,
        },
        ..key.clone()
    }];
    for column in columns {
        rules.push(Rule {
            name: format!("{column}.nulls"),
            column: Some(column.clone()),
            check: Check::NotNull,
            ..key.clone()
        });
    }
    let schema = Schema {
        rules,
        header: Vec::new(),
    };
    let report = crate::check(data, &schema, &crate::CheckOptions::default())?;
    match report.files.iter().find(|f| !f.passed) {
        Some(file) => Err(Error::KeyNotUnique {
            columns: columns.join(", "),
            file: file.file.clone().unwrap_or_default().into(),
        }),
        None => Ok(()),
    }
}

/// Feeds every file's `names` columns to their `summaries`; the fewest and most rows of a file,
/// and the rows in all.
fn summarise(
    data: &Dataset,
    names: &[&str],
    summaries: &mut [ColumnSummary],
    options: &InferOptions,
) -> Result<(u64, u64, u64)> {
    let (mut min_rows, mut max_rows, mut total) = (u64::MAX, 0u64, 0u64);
    for path in data.files() {
        let mut counts = vec![FileCounts::default(); summaries.len()];
        let mut rows = 0u64;
        if !names.is_empty() {
            data.file(path)
                .for_each_piece(names, PIECE_ROWS, |piece| -> Result<()> {
                    for ((summary, counts), name) in
                        summaries.iter_mut().zip(&mut counts).zip(names)
                    {
                        let column = piece.column(name).ok_or_else(|| Error::MissingColumn {
                            column: (*name).to_owned(),
                            file: path.clone(),
                        })?;
                        summary.feed(column, counts, options.max_categories);
                    }
                    rows += piece.rows as u64;
                    Ok(())
                })?;
        }
        for (summary, counts) in summaries.iter_mut().zip(counts) {
            summary.finish_file(counts, rows);
        }
        min_rows = min_rows.min(rows);
        max_rows = max_rows.max(rows);
        total += rows;
    }
    Ok((min_rows, max_rows, total))
}

/// The comment atop the file: where it came from, and that it is meant to be edited.
fn header(data: &Dataset, options: &InferOptions, total: u64) -> Vec<String> {
    let source = if options.source.is_empty() {
        data.describe()
    } else {
        options.source.clone()
    };
    let files = data.files().len();
    vec![
        format!(
            "Inferred from {source}: {total} rows in {files} file{}, margin {}, at most {} categories.",
            if files == 1 { "" } else { "s" },
            options.margin,
            options.max_categories
        ),
        "Every rule may be edited: widen a bound, add `mostly` or `severity: warn`, or remove it."
            .into(),
        "Rules are named `COLUMN.kind` (type, nulls, range, set, length, pattern, unique).".into(),
    ]
}

/// Widened float bounds rounded outward to four significant digits of their span, so that the
/// file reads `-23800` rather than `-23770.232000000004`; each bound only moves outward.
#[expect(
    clippy::cast_possible_truncation,
    reason = "a decimal exponent of a finite span fits an i32"
)]
fn round_outward(lo: f64, hi: f64) -> (f64, f64) {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return (lo, hi);
    }
    let exponent = span.log10().floor() as i32 - 3;
    // Dividing by an exact power of ten (or multiplying by one) keeps the result the decimal
    // it reads as.
    let scale = 10f64.powi(exponent.abs());
    let round = |x: f64, up: bool| {
        let steps = if exponent < 0 { x * scale } else { x / scale };
        let steps = if up { steps.ceil() } else { steps.floor() };
        if exponent < 0 {
            steps / scale
        } else {
            steps * scale
        }
    };
    let (rounded_lo, rounded_hi) = (round(lo, false), round(hi, true));
    // Rounding error could only move a bound inward by an ulp: keep the exact one then.
    (
        if rounded_lo <= lo { rounded_lo } else { lo },
        if rounded_hi >= hi { rounded_hi } else { hi },
    )
}

/// Row-count bounds: the fewest rows of a file less the margin (rounded down), the most plus
/// the margin (rounded up).
#[expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "row counts are far below 2^53 and the bounds are not negative"
)]
fn row_bounds(min_rows: u64, max_rows: u64, margin: f64) -> Bounds {
    let min_rows = if min_rows == u64::MAX { 0 } else { min_rows };
    let lo = (min_rows as f64 * (1.0 - margin)).floor().max(0.0) as u64;
    let hi = (max_rows as f64 * (1.0 + margin)).ceil() as u64;
    Bounds {
        min: Some(lo as f64),
        max: Some(hi.max(max_rows) as f64),
        ..Bounds::default()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// The contract inferred from `text` as a CSV file, the data, and the directory holding
    /// it (removed when dropped).
    fn infer_csv(text: &str, options: &InferOptions) -> (Schema, Dataset, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("data.csv");
        fs_err::write(&path, text).expect("write");
        let data = Dataset::of_files(vec![path], mlops_data::ReadOptions::default());
        (infer(&data, options).expect("inferred"), data, dir)
    }

    fn find<'s>(schema: &'s Schema, name: &str) -> Option<&'s Rule> {
        schema.rules.iter().find(|r| r.name == name)
    }

    const TABLE: &str = "id,n,x,region,code,flag\n\
        1,5,0.5,north,A-1,true\n\
        2,,1.5,south,BB-22,false\n\
        3,7,2.5,north,CCC-333,true\n\
        4,9,,east,D-4,\n";

    #[test]
    fn infers_types_nulls_ranges_sets_and_uniqueness() {
        let options = InferOptions {
            max_categories: 3,
            ..InferOptions::default()
        };
        let (schema, data, _dir) = infer_csv(TABLE, &options);
        let Check::TableRowCount(rows) = &find(&schema, "rows").expect("rows").check else {
            panic!("a row count")
        };
        assert_eq!((rows.min, rows.max), (Some(3.0), Some(5.0)));
        let Check::InTypeList(types) = &find(&schema, "n.type").expect("type").check else {
            panic!("a type list")
        };
        assert_eq!(types, &["float64", "int64"]);
        let Check::InTypeList(types) = &find(&schema, "region.type").expect("type").check else {
            panic!("a type list")
        };
        assert_eq!(types, &["str"]);
        assert!((find(&schema, "id.nulls").expect("nulls").mostly - 1.0).abs() < 1e-12);
        // A quarter null, with a margin of 0.1: 1 - 0.275, floored.
        assert!((find(&schema, "n.nulls").expect("nulls").mostly - 0.7249).abs() < 1e-12);
        let Check::Between(range) = &find(&schema, "n.range").expect("range").check else {
            panic!("between")
        };
        assert_eq!((range.min, range.max), (Some(5.0), Some(9.0)));
        let Check::Between(range) = &find(&schema, "x.range").expect("range").check else {
            panic!("between")
        };
        let (lo, hi) = (range.min.expect("min"), range.max.expect("max"));
        assert!(
            (lo - 0.3).abs() < 1e-12 && (hi - 2.7).abs() < 1e-12,
            "{lo} {hi}"
        );
        let Check::InSet(set) = &find(&schema, "region.set").expect("set").check else {
            panic!("a set")
        };
        assert_eq!(
            set,
            &["east", "north", "south"].map(|s| SetValue::Text(s.into()))
        );
        let Check::Lengths(lengths) = &find(&schema, "code.length").expect("lengths").check else {
            panic!("lengths")
        };
        assert_eq!((lengths.min, lengths.max), (Some(3.0), Some(7.0)));
        assert!(find(&schema, "code.set").is_none());
        // Unique: the integers and texts with every value distinct, never floats.
        assert!(find(&schema, "id.unique").is_some());
        assert!(find(&schema, "code.unique").is_some());
        assert!(find(&schema, "n.unique").is_some());
        assert!(find(&schema, "x.unique").is_none());
        assert!(find(&schema, "region.unique").is_none());
        assert!(find(&schema, "flag.unique").is_none());

        // Written, read back and checked against the same data: every rule passes.
        let text = schema.to_yaml();
        assert!(text.starts_with("# Inferred from"), "{text}");
        let back = Schema::parse(&text, Path::new("inferred.yaml")).expect("reads back");
        assert_eq!(back.rules.len(), schema.rules.len());
        let report = crate::check(&data, &back, &crate::CheckOptions::default()).expect("check");
        assert!(report.passed, "{text}\n{report:?}");
    }

    #[test]
    fn float_bounds_round_outward() {
        assert_eq!(
            round_outward(-23_770.232_000_000_004, 274_701.592),
            (-23_800.0, 274_800.0)
        );
        assert_eq!(round_outward(0.123_456, 0.987_654), (0.1234, 0.9877));
        assert_eq!(round_outward(1.0, 1.0), (1.0, 1.0));
    }

    #[test]
    fn id_gives_a_key_rule_and_must_be_unique() {
        let options = InferOptions {
            key: vec!["id".into()],
            ..InferOptions::default()
        };
        let (schema, _, _dir) = infer_csv(TABLE, &options);
        assert!(matches!(
            &find(&schema, "key").expect("key").check,
            Check::CompoundUnique { columns, .. } if columns == &["id"]
        ));
        assert!(!schema.rules.iter().any(|r| r.name.ends_with(".unique")));
        let options = InferOptions {
            key: vec!["region".into()],
            ..InferOptions::default()
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("data.csv");
        fs_err::write(&path, TABLE).expect("write");
        let data = Dataset::of_files(vec![path], mlops_data::ReadOptions::default());
        let err = infer(&data, &options).expect_err("not unique").to_string();
        assert!(err.contains("the key `region` is not unique"), "{err}");
        // Columns together may be a key where neither is one alone.
        let options = InferOptions {
            key: vec!["region".into(), "id".into()],
            ..InferOptions::default()
        };
        let schema = infer(&data, &options).expect("a key");
        assert!(matches!(
            &find(&schema, "key").expect("key").check,
            Check::CompoundUnique { columns, .. } if columns == &["region", "id"]
        ));
    }

    #[test]
    fn the_column_set_simple_patterns_and_quantile_ranges() {
        use std::fmt::Write as _;
        let mut csv = String::from("code,x,free\n");
        for i in 0..400_u32 {
            let letter = char::from(b'A' + u8::try_from(i % 26).expect("a letter"));
            let free = ["a1", "b-b", "C"][(i % 3) as usize];
            let _ = writeln!(csv, "{letter}{letter}-{i:04},{i},{free}");
        }
        csv.push_str("ZZ-9999,100000,a1\n");
        let options = InferOptions {
            max_categories: 2,
            range_quantile: Some(0.01),
            ..InferOptions::default()
        };
        let (schema, data, _dir) = infer_csv(&csv, &options);
        let Check::ColumnSet { columns, exact } = &find(&schema, "columns").expect("columns").check
        else {
            panic!("a column set rule")
        };
        assert_eq!(
            (columns.as_slice(), *exact),
            (&["code".to_owned(), "x".into(), "free".into()][..], true)
        );
        let Check::MatchRegex(regex) = &find(&schema, "code.pattern").expect("a pattern").check
        else {
            panic!("a regex rule")
        };
        assert_eq!(regex.as_str(), "^[A-Z]{2}-[0-9]{4}$");
        assert!(
            find(&schema, "free.pattern").is_none(),
            "three forms: no pattern"
        );
        // The outlier does not stretch the range; `mostly` lets it (and the 1% tails) through.
        let range = find(&schema, "x.range").expect("a range");
        let Check::Between(bounds) = &range.check else {
            panic!("a range rule")
        };
        assert!(bounds.max.expect("a max") < 1000.0, "{bounds:?}");
        assert!(
            range.mostly < 0.98 && range.mostly > 0.97,
            "{}",
            range.mostly
        );
        let report = crate::check(&data, &schema, &crate::CheckOptions::default()).expect("checks");
        assert!(report.passed, "{report:?}");
    }
}
