//! Evaluation in shards: each shard of the rows (one task of a Slurm job array) sums up what the
//! report needs into a [`Partial`], the parts are merged in the data's order
//! ([`Partial::merge`]), and [`report`] puts the report together from the merged sums.
//!
//! For a binary task, what merges exactly is merged exactly: the confusion counts, weighted and
//! not, of the whole data, of each slice, of each sensitive group and of the privileged sides. Accuracy, precision,
//! recall and the other rates, the fairness groups and aggregates, the slice tests and the Wilson
//! intervals therefore equal those of one read of the data. Log loss, Brier score and the
//! calibration bins are sums too, equal up to the order of floating-point additions.
//!
//! ROC AUC and average precision need the scores in order. Each shard keeps a histogram of its
//! scores per unit (each distinct score its own bucket while there are at most [`MAX_BUCKETS`],
//! coarser buckets beyond), the histograms are merged, and the metrics are computed with each
//! bucket as one tie. Where a bucket holds more than one distinct score, the rows' metric lies
//! between the bucket's positives ranked first and ranked last (for average precision, last and
//! one threshold each); the report states the larger distance from the value to either bound,
//! over the whole data and every slice, as [`Sharded::max_error`]. It is 0 when every bucket
//! holds one score: the values are then the rows' own.
//!
//! A regression task's sums are in the private `regression` module, a multiclass task's in
//! `multiclass`.
//!
//! Refused with a message before any shard runs ([`check`]) or by the shard that sees it:
//! score columns of a multiclass task in a shard that lacks a class, numeric slice columns (their quantile bins need the whole column),
//! `--discover`, bootstrap intervals (each replicate redraws every row), and labels joined from
//! other files.

use std::collections::{BTreeMap, HashMap};

use mlops_data::Dataset;
use mlops_data::table::Column;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::evaluate::{self, Baseline, Options};
use crate::grouped::{CALIBRATION_BINS, Sums, row_log_loss};
use crate::input::{self, Prepared, Task};
use crate::measure::{BinarySums, Measured, Measures, binary_measures};
use crate::metrics::binary::calibration_bin;
use crate::report::{EvalReport, Sharded};
use crate::sensitive::{Sensitive, sensitive_groups};
use crate::significance::{Outcomes, SliceResult, test_counts};
use crate::slices::{self, Dimension, ProportionMetric, SliceMetric, Tested};

mod multiclass;
mod regression;

/// The most buckets a score histogram keeps; past it, neighbouring buckets are joined.
pub const MAX_BUCKETS: usize = 1 << 15;

/// Bits dropped from the scores' keys at each coarsening.
const COARSER: u32 = 4;

/// Refuses what an evaluation in shards cannot do (see the module comment), before any shard
/// runs.
///
/// # Errors
/// [`Error::NotSharded`] naming the option, and what [`Options::validate`] refuses.
pub fn check(options: &Options) -> Result<()> {
    let refuse = |what: &str, why| {
        Err(Error::NotSharded {
            what: what.to_owned(),
            why,
        })
    };
    if options.discover.is_some() {
        return refuse(
            "--discover",
            "searching the crossings of slices needs every row's values at once",
        );
    }
    if options.bootstrap.replicates > 0 {
        return refuse(
            "bootstrap intervals",
            "each replicate redraws every row (give --bootstrap 0; the proportions keep their Wilson intervals)",
        );
    }
    if options.join.is_some() {
        return refuse(
            "--labels",
            "joining labels by key needs all of them beside every shard",
        );
    }
    options.validate()
}

/// What one shard of the rows contributes to the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Partial {
    task: Task,
    pub rows: usize,
    weighted: bool,
    scored: bool,
    whole: Unit,
    /// The slicing dimensions, in the order [`slices::dimensions`] gives them.
    dimensions: Vec<PartDimension>,
    /// The sensitive groups in the order their first rows came.
    groups: Vec<(Vec<String>, Unit)>,
    /// The rows in no sensitive group (`--drop-missing`).
    left_out: Unit,
    /// With `--privileged`: the unprivileged, privileged and left-out sides.
    sides: Vec<Unit>,
}

/// One slicing dimension's slices, sorted by their values.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PartDimension {
    columns: Vec<String>,
    slices: Vec<(Vec<String>, Unit)>,
}

/// One unit's sums: the whole data, a slice, a sensitive group or a side. A binary task's
/// fill the confusion cells and the score sums, a regression task's `errors`, a multiclass
/// task's `classes`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Unit {
    rows: u64,
    /// Rows in each confusion cell, indexed by label + 2 × prediction (tn, fn, fp, tp).
    counts: [u64; 4],
    /// The same cells weighted.
    cells: [f64; 4],
    log_loss: f64,
    brier: f64,
    /// Per calibration bin: weight, weighted positives, weighted scores.
    calibration: [[f64; 3]; CALIBRATION_BINS],
    histogram: Histogram,
    errors: regression::ErrorSums,
    classes: multiclass::ClassSums,
}

/// Values that are never negative (scores, absolute errors) in buckets. A bucket's key is its
/// values' bits shifted right by `shift`: keys order as the values do, and at shift 0 each
/// distinct value is its own bucket.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Histogram {
    shift: u32,
    /// Ascending by key: (key, weighted negatives, weighted positives, lowest value, highest).
    /// Absolute errors have no classes: their weight is in the positives' place.
    buckets: Vec<(u64, f64, f64, f64, f64)>,
}

/// A bucket while a histogram is built: negatives, positives, lowest and highest score.
type Bucket = (f64, f64, f64, f64);

/// A bucket before anything is added to it.
const EMPTY_BUCKET: Bucket = (0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY);

fn add_bucket(to: &mut Bucket, (negatives, positives, low, high): Bucket) {
    to.0 += negatives;
    to.1 += positives;
    to.2 = to.2.min(low);
    to.3 = to.3.max(high);
}

/// Buckets re-keyed from `from` bits of shift to `to` (at least `from`).
fn rekeyed(buckets: HashMap<u64, Bucket>, from: u32, to: u32) -> HashMap<u64, Bucket> {
    if from == to {
        return buckets;
    }
    let mut coarser: HashMap<u64, Bucket> = HashMap::new();
    for (key, bucket) in buckets {
        let key = key.checked_shr(to - from).unwrap_or(0);
        add_bucket(coarser.entry(key).or_insert(EMPTY_BUCKET), bucket);
    }
    coarser
}

impl Histogram {
    /// The histogram of `buckets` keyed at `shift`, coarsened to at most [`MAX_BUCKETS`].
    fn of(mut buckets: HashMap<u64, Bucket>, mut shift: u32) -> Self {
        while buckets.len() > MAX_BUCKETS {
            buckets = rekeyed(buckets, shift, shift + COARSER);
            shift += COARSER;
        }
        let mut buckets: Vec<(u64, f64, f64, f64, f64)> = buckets
            .into_iter()
            .map(|(key, (n, p, low, high))| (key, n, p, low, high))
            .collect();
        buckets.sort_unstable_by_key(|b| b.0);
        Self { shift, buckets }
    }

    fn into_map(self) -> HashMap<u64, Bucket> {
        self.buckets
            .into_iter()
            .map(|(key, n, p, low, high)| (key, (n, p, low, high)))
            .collect()
    }

    fn merge(&mut self, other: Histogram) {
        let shift = self.shift.max(other.shift);
        let (own_shift, theirs_shift) = (self.shift, other.shift);
        let mut buckets = rekeyed(std::mem::take(self).into_map(), own_shift, shift);
        for (key, bucket) in rekeyed(other.into_map(), theirs_shift, shift) {
            add_bucket(buckets.entry(key).or_insert(EMPTY_BUCKET), bucket);
        }
        *self = Self::of(buckets, shift);
    }

    /// (negatives, positives) of each bucket, from the highest scores down.
    fn ties(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.buckets.iter().rev().map(|&(_, n, p, _, _)| (n, p))
    }

    /// Sums with no confusion cells, each bucket one tie: what a score histogram's ranking
    /// metrics are read from.
    fn ranked(&self) -> Sums {
        Sums::from_ties(
            [0.0; 4],
            0.0,
            0.0,
            [[0.0; 3]; CALIBRATION_BINS],
            self.ties(),
        )
    }

    /// ROC AUC with each bucket one tie.
    fn roc_auc(&self) -> crate::metrics::Metric {
        self.ranked().roc_auc()
    }

    /// How far the rows' ROC AUC and average precision may lie from the values with each
    /// bucket one tie: the larger distance to either bound of [`Histogram::bounds`]; 0 where
    /// the metric is exact or undefined.
    fn errors(&self) -> (f64, f64) {
        let ranked = self.ranked();
        let (auc, ap) = self.bounds();
        let error =
            |value: crate::metrics::Metric, bounds: Option<(f64, f64)>| match (value, bounds) {
                (Ok(v), Some((low, high))) => (high - v).max(v - low).max(0.0),
                _ => 0.0,
            };
        (
            error(ranked.roc_auc(), auc),
            error(ranked.average_precision(), ap),
        )
    }

    /// The bounds of ROC AUC and average precision over every order of the scores inside the
    /// buckets that hold more than one distinct score: `((auc_low, auc_high), (ap_low,
    /// ap_high))`; `None` where the metric is undefined, or exact (no such bucket).
    #[expect(clippy::type_complexity, reason = "two pairs, named in the doc")]
    fn bounds(&self) -> (Option<(f64, f64)>, Option<(f64, f64)>) {
        let (mut positives, mut seen) = (0.0, 0.0);
        let (mut area_low, mut area_high) = (0.0, 0.0);
        let (mut mass_low, mut mass_high) = (0.0, 0.0);
        let mut negatives = 0.0;
        if self.buckets.iter().all(|b| b.3 >= b.4) {
            return (None, None);
        }
        for &(_, n, p, low, high) in self.buckets.iter().rev() {
            if low < high {
                // Positives first: each negative below all of them; last: above none.
                area_high += n * (positives + p);
                area_low += n * positives;
                mass_high += p * (positives + p) / (seen + p).max(f64::MIN_POSITIVE);
                // Negatives first, then each positive its own threshold: at least the integral
                // of the precision (positives + x) / (seen + n + x) over x in [0, p].
                let (t, m) = (positives, seen + n);
                mass_low += if m > 0.0 {
                    p + (t - m) * ((m + p) / m).ln()
                } else {
                    p
                };
            } else {
                let tied_area = n * (positives + p / 2.0);
                area_high += tied_area;
                area_low += tied_area;
                let tied = p * (positives + p) / (seen + n + p).max(f64::MIN_POSITIVE);
                mass_high += tied;
                mass_low += tied;
            }
            positives += p;
            negatives += n;
            seen += n + p;
        }
        let auc = (positives > 0.0 && negatives > 0.0).then(|| {
            let pairs = positives * negatives;
            (area_low / pairs, area_high / pairs)
        });
        let ap = (positives > 0.0).then(|| (mass_low / positives, mass_high / positives));
        (auc, ap)
    }
}

/// A histogram while values are added, bounded to four times [`MAX_BUCKETS`] by coarsening.
#[derive(Default)]
struct HistogramBuilder {
    shift: u32,
    buckets: HashMap<u64, Bucket>,
}

impl HistogramBuilder {
    /// Adds `value` (not negative) with `negatives` and `positives` of weight.
    fn add(&mut self, value: f64, negatives: f64, positives: f64) {
        let key = value.to_bits().checked_shr(self.shift).unwrap_or(0);
        let bucket = self.buckets.entry(key).or_insert(EMPTY_BUCKET);
        add_bucket(bucket, (negatives, positives, value, value));
        if self.buckets.len() > 4 * MAX_BUCKETS {
            self.buckets = rekeyed(
                std::mem::take(&mut self.buckets),
                self.shift,
                self.shift + COARSER,
            );
            self.shift += COARSER;
        }
    }

    fn finish(self) -> Histogram {
        Histogram::of(self.buckets, self.shift)
    }
}

/// One row of a binary task as a unit adds it up.
struct Row {
    cell: usize,
    weight: f64,
    /// Score, its log loss, its calibration bin.
    scored: Option<(f64, f64, usize)>,
}

/// A unit while the rows are added.
#[derive(Default)]
struct UnitBuilder {
    unit: Unit,
    scores: HistogramBuilder,
    errors: HistogramBuilder,
    /// A multiclass task's score histograms, one per class.
    class_scores: Vec<HistogramBuilder>,
}

impl UnitBuilder {
    fn new() -> Self {
        Self::default()
    }

    /// Adds a binary task's `row`; its score only when `scored` (slices and the whole data,
    /// not groups).
    fn add(&mut self, row: &Row, scored: bool) {
        let unit = &mut self.unit;
        unit.rows += 1;
        unit.counts[row.cell] += 1;
        unit.cells[row.cell] += row.weight;
        let Some((score, log_loss, bin)) = row.scored.filter(|_| scored) else {
            return;
        };
        let weight = row.weight;
        let positive = row.cell & 1 == 1;
        let truth = if positive { 1.0 } else { 0.0 };
        unit.log_loss += weight * log_loss;
        unit.brier += weight * (score - truth) * (score - truth);
        let calibration = &mut unit.calibration[bin];
        calibration[0] += weight;
        calibration[1] += weight * truth;
        calibration[2] += weight * score;
        let (n, p) = if positive {
            (0.0, weight)
        } else {
            (weight, 0.0)
        };
        self.scores.add(score, n, p);
    }

    /// Adds a regression task's row.
    fn add_error(&mut self, row: &regression::ErrorRow) {
        self.unit.rows += 1;
        self.unit.errors.add(row);
        self.errors.add(row.absolute, 0.0, row.weight);
    }

    /// Adds a multiclass task's row (its classes indices into `classes`, the shard's); its
    /// scores only when `scored`.
    fn add_class(&mut self, row: &multiclass::ClassRow, classes: &[String], scored: bool) {
        if self.unit.rows == 0 {
            self.unit.classes = multiclass::ClassSums::over(classes);
            if scored && row.scores.is_some() {
                self.class_scores = classes
                    .iter()
                    .map(|_| HistogramBuilder::default())
                    .collect();
            }
        }
        self.unit.rows += 1;
        let row = multiclass::ClassRow {
            scores: row.scores.filter(|_| scored),
            ..*row
        };
        self.unit.classes.add(&row, &mut self.class_scores);
    }

    fn finish(self) -> Unit {
        let mut unit = self.unit;
        unit.histogram = self.scores.finish();
        unit.errors.histogram = self.errors.finish();
        unit.classes.finish(self.class_scores);
        unit
    }
}

impl Unit {
    fn merge(&mut self, other: Unit) {
        for i in 0..4 {
            self.counts[i] += other.counts[i];
            self.cells[i] += other.cells[i];
        }
        self.rows += other.rows;
        self.log_loss += other.log_loss;
        self.brier += other.brier;
        for (mine, theirs) in self.calibration.iter_mut().zip(other.calibration) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a += b;
            }
        }
        self.histogram.merge(other.histogram);
        self.errors.merge(other.errors);
        self.classes.merge(other.classes);
    }

    fn rows(&self) -> usize {
        usize::try_from(self.rows).expect("rows fit usize")
    }

    /// The sums a pass over the rows would give, each histogram bucket one tie.
    fn sums(&self) -> Sums {
        Sums::from_ties(
            self.cells,
            self.log_loss,
            self.brier,
            self.calibration,
            self.histogram.ties(),
        )
    }
}

impl PartDimension {
    fn merge(&mut self, other: PartDimension) -> Result<()> {
        if self.columns != other.columns {
            return Err(Error::ShardsDisagree(format!(
                "slices by {} and by {}",
                self.columns.join(","),
                other.columns.join(",")
            )));
        }
        let mut slices: BTreeMap<Vec<String>, Unit> =
            std::mem::take(&mut self.slices).into_iter().collect();
        for (values, unit) in other.slices {
            match slices.get_mut(&values) {
                Some(mine) => mine.merge(unit),
                None => {
                    slices.insert(values, unit);
                }
            }
        }
        self.slices = slices.into_iter().collect();
        Ok(())
    }
}

/// What the rows of `data` (one shard) contribute to the report.
///
/// # Errors
/// What [`check`] refuses, a task other than binary, a numeric slice column, and what
/// [`evaluate::evaluate`] refuses of the inputs.
pub fn partial(data: &Dataset, options: &Options) -> Result<Partial> {
    check(options)?;
    let table = data.read(&options.columns())?;
    let source = data.describe();
    let task = options
        .task
        .unwrap_or_else(|| input::infer_task(&table, &options.label));
    if let Some(numeric) = options
        .slices
        .iter()
        .flatten()
        .find(|c| matches!(table.column(c), Some(Column::Int(_) | Column::Float(_))))
    {
        return Err(Error::NotSharded {
            what: format!("the numeric slice column `{numeric}`"),
            why: "its quantile bins need the whole column",
        });
    }
    let prepared = evaluate::prepare(&table, task, options, &source).map_err(|e| match e {
        // Which score column is which class follows from the classes of all the data.
        Error::Argument(message)
            if task == Task::Multiclass && message.starts_with("give one --score column") =>
        {
            Error::NotSharded {
                what: format!("score columns in a shard of {source} that lacks a class ({message})"),
                why: "the columns are the classes of the whole data; use fewer shards, so that each sees every class",
            }
        }
        other => other,
    })?;
    let weights = options
        .weight
        .as_deref()
        .map(|w| input::weights(&table, w, &source))
        .transpose()?;
    let sensitive = sensitive_groups(&table, options);
    let dimensions = slices::dimensions(&table, &options.slices, &options.slice_options);
    let rows = table.rows;
    drop(table);
    let (units, scored) = sum_task(
        &prepared,
        rows,
        weights.as_deref(),
        &dimensions,
        sensitive.as_ref(),
        options,
    )?;
    Ok(Partial {
        task,
        rows,
        weighted: weights.is_some(),
        scored,
        whole: units.whole,
        dimensions: dimensions
            .iter()
            .zip(units.slices)
            .map(|(d, units)| PartDimension {
                columns: d.columns.clone(),
                slices: d.slices.iter().cloned().zip(units).collect(),
            })
            .collect(),
        groups: sensitive
            .map(|s| s.keys)
            .unwrap_or_default()
            .into_iter()
            .zip(units.groups)
            .collect(),
        left_out: units.left_out,
        sides: units.sides,
    })
}

/// A shard's units summed up, and whether they hold scores.
fn sum_task(
    prepared: &Prepared,
    rows: usize,
    weights: Option<&[f64]>,
    dimensions: &[Dimension],
    sensitive: Option<&Sensitive>,
    options: &Options,
) -> Result<(Units, bool)> {
    let weight = |r: usize| weights.map_or(1.0, |w| w[r]);
    Ok(match prepared {
        Prepared::Binary {
            labels,
            predictions,
            scores,
        } => {
            let row = |r: usize| Row {
                cell: usize::from(labels[r]) + 2 * usize::from(predictions[r]),
                weight: weight(r),
                scored: scores.as_ref().map(|s| {
                    let score = s[r];
                    (
                        score,
                        row_log_loss(labels[r], score),
                        calibration_bin(score, CALIBRATION_BINS),
                    )
                }),
            };
            let units = sum_rows(rows, dimensions, sensitive, |unit, r, scored| {
                unit.add(&row(r), scored);
            });
            (units, scores.is_some())
        }
        Prepared::Regression { truth, predictions } => {
            let loss = SliceMetric::resolve(options.slice_metric, Task::Regression)?;
            let row =
                |r: usize| regression::ErrorRow::new(truth[r], predictions[r], weight(r), loss);
            let units = sum_rows(rows, dimensions, sensitive, |unit, r, _| {
                unit.add_error(&row(r));
            });
            (units, false)
        }
        Prepared::Multiclass {
            classes,
            labels,
            predictions,
            scores,
        } => {
            let k = classes.len();
            let row = |r: usize| multiclass::ClassRow {
                label: labels[r],
                prediction: predictions[r],
                weight: weight(r),
                scores: scores.as_ref().map(|s| &s[r * k..(r + 1) * k]),
            };
            let units = sum_rows(rows, dimensions, sensitive, |unit, r, scored| {
                unit.add_class(&row(r), classes, scored);
            });
            (units, scores.is_some())
        }
    })
}

/// A shard's units, summed up.
struct Units {
    whole: Unit,
    slices: Vec<Vec<Unit>>,
    groups: Vec<Unit>,
    left_out: Unit,
    sides: Vec<Unit>,
}

/// Adds each of `rows` rows (`add(unit, row, scored)`) to its units: the whole data, its slice
/// in each dimension, its sensitive group and its side; `scored` is false for groups and sides,
/// which need no score sums.
fn sum_rows(
    rows: usize,
    dimensions: &[Dimension],
    sensitive: Option<&Sensitive>,
    add: impl Fn(&mut UnitBuilder, usize, bool),
) -> Units {
    let builders = |n: usize| (0..n).map(|_| UnitBuilder::new()).collect::<Vec<_>>();
    let mut whole = UnitBuilder::new();
    let mut slices: Vec<Vec<UnitBuilder>> = dimensions
        .iter()
        .map(|d| builders(d.slices.len()))
        .collect();
    let mut groups = builders(sensitive.map_or(0, |s| s.keys.len() + 1));
    let mut sides = builders(sensitive.and_then(|s| s.sides.as_ref()).map_or(0, |_| 3));
    for r in 0..rows {
        add(&mut whole, r, true);
        for (d, units) in dimensions.iter().zip(&mut slices) {
            add(&mut units[d.ids[r] as usize], r, true);
        }
        if let Some(s) = sensitive {
            add(&mut groups[s.ids[r] as usize], r, false);
            if let Some(side) = &s.sides {
                add(&mut sides[side[r] as usize], r, false);
            }
        }
    }
    let finish = |units: Vec<UnitBuilder>| -> Vec<Unit> {
        units.into_iter().map(UnitBuilder::finish).collect()
    };
    let mut groups = finish(groups);
    let left_out = groups.pop().unwrap_or_default();
    Units {
        whole: whole.finish(),
        slices: slices.into_iter().map(finish).collect(),
        groups,
        left_out,
        sides: finish(sides),
    }
}

impl Partial {
    /// `f` of every slice's unit, per dimension.
    fn per_slice<T>(&self, f: impl Fn(&Unit) -> T) -> Vec<Vec<T>> {
        self.dimensions
            .iter()
            .map(|d| d.slices.iter().map(|(_, u)| f(u)).collect())
            .collect()
    }

    /// The sums of every unit, laid out as a pass over the rows lays them out: the whole data,
    /// each dimension's slices, then (with `sensitive`) the groups with the left-out rows last,
    /// and the sides.
    fn sums(&self, sensitive: bool) -> Vec<Vec<Sums>> {
        let mut sums: Vec<Vec<Sums>> = vec![vec![self.whole.sums()]];
        sums.extend(
            self.dimensions
                .iter()
                .map(|d| d.slices.iter().map(|(_, u)| u.sums()).collect()),
        );
        if sensitive {
            let groups = self.groups.iter().map(|(_, u)| u);
            sums.push(groups.chain([&self.left_out]).map(Unit::sums).collect());
            if !self.sides.is_empty() {
                sums.push(self.sides.iter().map(Unit::sums).collect());
            }
        }
        sums
    }

    /// Adds the rows of `next`, the shard after this one in the data's order (sensitive groups
    /// keep the order of their first rows).
    ///
    /// # Errors
    /// [`Error::ShardsDisagree`] when the parts were made with other options.
    pub fn merge(&mut self, next: Partial) -> Result<()> {
        let disagree = |what: &str| Err(Error::ShardsDisagree(what.to_owned()));
        if self.task != next.task {
            return disagree("they read the labels as different tasks (give --task)");
        }
        if (self.weighted, self.scored) != (next.weighted, next.scored) {
            return disagree("one has weights or scores, another not");
        }
        if self.dimensions.len() != next.dimensions.len() || self.sides.len() != next.sides.len() {
            return disagree("their slices or privileged sides differ");
        }
        self.rows += next.rows;
        self.whole.merge(next.whole);
        for (mine, theirs) in self.dimensions.iter_mut().zip(next.dimensions) {
            mine.merge(theirs)?;
        }
        for (key, unit) in next.groups {
            match self.groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, mine)) => mine.merge(unit),
                None => self.groups.push((key, unit)),
            }
        }
        self.left_out.merge(next.left_out);
        for (mine, theirs) in self.sides.iter_mut().zip(next.sides) {
            mine.merge(theirs);
        }
        Ok(())
    }
}

/// The report of `merged`, the parts of `shards` shards merged in order; `source` names the
/// data for messages, `baseline` is an earlier report for `baseline` gates.
///
/// # Errors
/// [`Error::Empty`] without rows, a baseline of another task, and gates naming what the report
/// lacks.
pub fn report(
    merged: &Partial,
    shards: usize,
    source: &str,
    options: &Options,
    baseline: Option<&Baseline>,
) -> Result<EvalReport> {
    check(options)?;
    if merged.rows == 0 {
        return Err(Error::Empty {
            input: source.to_owned(),
        });
    }
    if let Some(b) = baseline
        && b.report.task != merged.task
    {
        return Err(Error::BaselineTask {
            path: b.path.clone(),
            found: evaluate::task_name(b.report.task).to_owned(),
            expected: evaluate::task_name(merged.task).to_owned(),
        });
    }
    let dimensions: Vec<Dimension> = merged
        .dimensions
        .iter()
        .map(|d| Dimension {
            columns: d.columns.clone(),
            slices: d.slices.iter().map(|(values, _)| values.clone()).collect(),
            ids: Vec::new(),
        })
        .collect();
    let sensitive = (!merged.groups.is_empty()
        || !options.sensitive.is_empty()
        || options.privileged.is_some())
    .then(|| Sensitive {
        keys: merged.groups.iter().map(|(k, _)| k.clone()).collect(),
        ids: Vec::new(),
        sides: (!merged.sides.is_empty()).then(Vec::new),
    });
    let mut report = match merged.task {
        Task::Binary => binary_report(merged, &dimensions, sensitive.as_ref(), options)?,
        Task::Regression => regression::report(merged, &dimensions, sensitive.as_ref(), options)?,
        Task::Multiclass => multiclass::report(merged, &dimensions, sensitive.as_ref(), options)?,
    };
    report.sharded = Some(Sharded {
        shards,
        max_error: max_errors(merged),
    });
    evaluate::gated(report, options, baseline)
}

/// The report of a binary task's merged sums, before gates.
fn binary_report(
    merged: &Partial,
    dimensions: &[Dimension],
    sensitive: Option<&Sensitive>,
    options: &Options,
) -> Result<EvalReport> {
    let sums = merged.sums(sensitive.is_some());
    let slice_rows = merged.per_slice(Unit::rows);
    let measured = binary_measures(
        &BinarySums {
            sums: &sums,
            rows: merged.rows,
            slice_rows: &slice_rows,
            sensitive,
            weighted: merged.weighted,
            scored: merged.scored,
            score_groups: score_groups(&merged.whole.histogram, 400),
        },
        &Vec::new(),
        options,
    );
    let tested = tested_metric(options, Task::Binary)?.map(|metric| {
        let proportion = proportion(metric);
        let higher_is_better = proportion.higher_is_better();
        let counted = |u: &Unit| {
            let (mut trials, mut successes) = (0, 0);
            for (cell, &count) in u.counts.iter().enumerate() {
                let (trial, success) = proportion.row(cell & 1 == 1, cell & 2 == 2);
                let count = usize::try_from(count).expect("rows fit usize");
                trials += usize::from(trial) * count;
                successes += usize::from(trial && success) * count;
            }
            (trials, successes)
        };
        let outcomes = Outcomes::Proportion {
            rows: Vec::new(),
            higher_is_better,
        };
        let tests = proportion_tests(merged, dimensions, higher_is_better, counted, options);
        (Tested { metric, outcomes }, tests)
    });
    Ok(finish(
        Task::Binary,
        merged,
        dimensions,
        measured,
        tested,
        options,
    ))
}

/// A unit's metrics without intervals (a fairness group's or aggregates', merged from shards).
fn unmeasured(metrics: crate::sensitive::Unit) -> Measured {
    Measured {
        rows: 0,
        metrics,
        ci: crate::report::Intervals::new(),
    }
}

/// The metric the slices are tested on, when there are slices.
fn tested_metric(options: &Options, task: Task) -> Result<Option<SliceMetric>> {
    (!options.slices.is_empty())
        .then(|| SliceMetric::resolve(options.slice_metric, task))
        .transpose()
}

/// The report of a task's merged measures (each dimension's slices among them) and slice
/// tests, before gates: what every task's report ends with.
fn finish(
    task: Task,
    merged: &Partial,
    dimensions: &[Dimension],
    measures: Measures,
    tested: Option<(Tested, Vec<SliceResult>)>,
    options: &Options,
) -> EvalReport {
    let (tested, tests) = tested.unzip();
    let slice_reports = slices::reports(dimensions, measures.slices, tests.as_deref());
    let measures = Measures {
        slices: Vec::new(),
        ..measures
    };
    let mut report = evaluate::report_of(task, merged.rows, measures, slice_reports, options);
    report.slice_test = tested.map(|t| t.describe(&options.slice_options));
    report
}

/// The proportion behind a binary task's slice metric.
fn proportion(metric: SliceMetric) -> ProportionMetric {
    metric.proportion().expect("resolved for a binary task")
}

/// Each slice's test of a proportion against the rest, from the merged counts: `counted`
/// gives a unit's (trials, successes).
fn proportion_tests(
    merged: &Partial,
    dimensions: &[Dimension],
    higher_is_better: bool,
    counted: impl Fn(&Unit) -> (usize, usize),
    options: &Options,
) -> Vec<SliceResult> {
    let counts = merged.per_slice(|u| {
        let (trials, successes) = counted(u);
        (u.rows(), trials, successes)
    });
    test_counts(
        dimensions,
        &counts,
        counted(&merged.whole),
        higher_is_better,
        &options.slice_options,
    )
}

/// The largest error of each metric computed from histograms, over the whole data and every
/// slice: ROC AUC and average precision for a binary task with scores (the larger distance from
/// the value, buckets as ties, to either bound), the median absolute error for regression.
fn max_errors(merged: &Partial) -> BTreeMap<String, f64> {
    let units = std::iter::once(&merged.whole).chain(
        merged
            .dimensions
            .iter()
            .flat_map(|d| d.slices.iter().map(|(_, u)| u)),
    );
    match merged.task {
        Task::Regression => {
            let worst = units
                .filter_map(|u| u.errors.median().ok().map(|(_, error)| error))
                .fold(0.0_f64, f64::max);
            return BTreeMap::from([("median_ae".to_owned(), worst)]);
        }
        _ if !merged.scored => return BTreeMap::new(),
        Task::Multiclass => {
            let worst = units.map(|u| u.classes.auc_error()).fold(0.0_f64, f64::max);
            return BTreeMap::from([("roc_auc".to_owned(), worst)]);
        }
        Task::Binary => {}
    }
    let (auc, ap) = units
        .map(|u| u.histogram.errors())
        .fold((0.0_f64, 0.0_f64), |(a, b), (x, y)| (a.max(x), b.max(y)));
    BTreeMap::from([
        ("roc_auc".to_owned(), auc),
        ("average_precision".to_owned(), ap),
    ])
}

/// (positives, negatives) at each of at most about `points` thresholds, from the highest score
/// down, as [`crate::grouped::Ranked::score_groups`] gives them from rows.
fn score_groups(histogram: &Histogram, points: usize) -> Vec<(f64, f64)> {
    let step = histogram.buckets.len().div_ceil(points.max(1)).max(1);
    let mut groups: Vec<(f64, f64)> = Vec::new();
    for (i, (negatives, positives)) in histogram.ties().enumerate() {
        if i % step == 0 {
            groups.push((0.0, 0.0));
        }
        let group = groups.last_mut().expect("bucket 0 starts a group");
        group.0 += positives;
        group.1 += negatives;
    }
    groups
}
