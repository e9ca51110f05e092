//! `evaluate`: from Parquet or CSV files to an [`EvalReport`]: overall metrics, slices with error
//! analysis, fairness across sensitive groups, and gates.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;

use mlops_core::table::{self, Column, Table};

use crate::error::{Error, Result};
use crate::fairness::{self, Method};
use crate::gates::Gate;
use crate::groupby::{self, Codes};
use crate::grouped::{self, Grouping, Ranked, Sums};
use crate::input::{self, Columns, Prepared, Task, describe};
use crate::metrics::multiclass::{Average, Score};
use crate::metrics::{Metric, Undefined, binary, multiclass, regression};
use crate::report::{
    BootstrapInfo, ConfusionMatrix, Curves, EvalReport, FairnessReport, GateReport, GroupReport,
    Intervals, SliceReport,
};
use crate::slices::{self, Dimension, MISSING, ProportionMetric, SliceColumn, SliceOptions};
use crate::stats::wilson_interval;
use rayon::prelude::*;

/// Everything an evaluation needs to know.
#[derive(Debug, Clone)]
pub struct Options {
    pub label: String,
    pub prediction: Option<String>,
    /// One column (binary: the positive class's probability) or one per class (multiclass).
    pub scores: Vec<String>,
    /// Inferred from the label column when absent.
    pub task: Option<Task>,
    /// Predictions from scores: positive when the score is at least this.
    pub threshold: f64,
    pub pos_label: Option<String>,
    pub weight: Option<String>,
    /// Each entry one column, or several to cross.
    pub slices: Vec<Vec<String>>,
    pub slice_options: SliceOptions,
    /// The proportion metric tested per slice (binary tasks; multiclass tests accuracy).
    pub slice_metric: ProportionMetric,
    /// Search all slices of up to two of the slice columns, reporting the `top` flagged ones.
    pub discover: Option<usize>,
    pub sensitive: Vec<String>,
    pub fairness_method: Method,
    /// `(column, value)` of the privileged group, for disparate impact.
    pub privileged: Option<(String, String)>,
    pub fairlearn_compat: bool,
    pub drop_missing: bool,
    pub gates: Vec<Gate>,
    pub bootstrap: Bootstrap,
}

/// How bootstrap intervals are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bootstrap {
    /// Replicates; 0 leaves only the Wilson intervals of proportions.
    pub replicates: usize,
    pub seed: u64,
}

impl Default for Bootstrap {
    fn default() -> Self {
        Self {
            replicates: 200,
            seed: 0,
        }
    }
}

/// An earlier report to compare with, and where it came from.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub path: PathBuf,
    pub report: EvalReport,
}

impl Options {
    /// Checks the numeric options: a NaN threshold would predict every row negative and an
    /// alpha outside (0, 1) would flag every slice or none, each with a report that looks fine.
    ///
    /// # Errors
    /// [`Error::BadOption`] naming the option and its value.
    pub fn validate(&self) -> Result<()> {
        let bad = |option, value, expected| Error::BadOption {
            option,
            value,
            expected,
        };
        if !self.threshold.is_finite() {
            return Err(bad("threshold", self.threshold, "a finite number"));
        }
        let slices = &self.slice_options;
        if !(slices.alpha > 0.0 && slices.alpha < 1.0) {
            return Err(bad("alpha", slices.alpha, "between 0 and 1 (exclusive)"));
        }
        if !slices.min_effect.is_finite() {
            return Err(bad("min-effect", slices.min_effect, "a finite number"));
        }
        Ok(())
    }
}

/// Reads the files and evaluates; `baseline` is an earlier report for `baseline` gates.
///
/// # Errors
/// Invalid options ([`Options::validate`]), unreadable inputs, and bad values in them.
pub fn evaluate(
    paths: &[PathBuf],
    options: &Options,
    baseline: Option<&Baseline>,
) -> Result<EvalReport> {
    options.validate()?;
    let mut wanted: Vec<&str> = vec![options.label.as_str()];
    wanted.extend(options.prediction.as_deref());
    wanted.extend(options.scores.iter().map(String::as_str));
    wanted.extend(options.weight.as_deref());
    wanted.extend(options.slices.iter().flatten().map(String::as_str));
    wanted.extend(options.sensitive.iter().map(String::as_str));
    wanted.extend(options.privileged.as_ref().map(|(c, _)| c.as_str()));
    let mut seen = std::collections::HashSet::new();
    wanted.retain(|c| seen.insert(*c));
    let table = table::read(paths, &wanted)?;
    let source = describe(paths);
    if table.rows == 0 {
        return Err(Error::Empty { input: source });
    }
    let task = options
        .task
        .unwrap_or_else(|| input::infer_task(&table, &options.label));
    if let Some(baseline) = baseline
        && baseline.report.task != task
    {
        return Err(Error::BaselineTask {
            path: baseline.path.clone(),
            found: task_name(baseline.report.task).to_owned(),
            expected: task_name(task).to_owned(),
        });
    }
    let columns = Columns {
        label: &options.label,
        prediction: options.prediction.as_deref(),
        scores: &options.scores,
        threshold: options.threshold,
        pos_label: options.pos_label.as_deref(),
    };
    let prepared = match task {
        Task::Binary => input::binary(&table, &columns, &source)?,
        Task::Multiclass => input::multiclass(&table, &columns, &source)?,
        Task::Regression => input::regression(&table, &columns, &source)?,
    };
    let weights = options
        .weight
        .as_deref()
        .map(|w| input::weights(&table, w, &source))
        .transpose()?;
    let sensitive = sensitive_groups(&table, options);
    if sensitive.is_some() && !matches!(prepared, Prepared::Binary { .. }) {
        return Err(Error::NeedsBinary {
            option: "sensitive",
        });
    }
    let dimensions = slice_dimensions(&table, options);
    let discovered = discovered(&table, &prepared, options);
    let rows = table.rows;
    // Everything needed from the table is extracted; at 10M rows it is most of the memory.
    drop(table);
    let measured = match &prepared {
        Prepared::Binary {
            labels,
            predictions,
            scores,
        } => measure_binary(
            &BinaryInput {
                labels,
                predictions,
                scores: scores.as_deref(),
                weights: weights.as_deref(),
            },
            &dimensions,
            sensitive.as_ref(),
            options,
        ),
        _ => measure_rows(&prepared, weights.as_deref(), &dimensions, options),
    };
    let (overall, undefined) = split(measured.overall.metrics);
    let mut report = EvalReport {
        task,
        rows,
        overall,
        overall_ci: measured.overall.ci,
        bootstrap: (options.bootstrap.replicates > 0).then_some(BootstrapInfo {
            replicates: options.bootstrap.replicates,
            seed: options.bootstrap.seed,
            confidence: options.slice_options.confidence,
        }),
        undefined,
        confusion_matrix: measured.confusion_matrix,
        slices: slice_reports(&dimensions, measured.slices, &prepared, options),
        discovered,
        fairness: measured.fairness,
        gates: Vec::new(),
        passed: true,
        curves: measured.curves,
    };
    let gates = gate_reports(&report, options, baseline)?;
    report.passed = gates.iter().all(|g| g.passed);
    report.gates = gates;
    Ok(report)
}

/// Each gate's outcome on `report`; a gate naming a metric the report lacks is an error.
fn gate_reports(
    report: &EvalReport,
    options: &Options,
    baseline: Option<&Baseline>,
) -> Result<Vec<GateReport>> {
    options
        .gates
        .iter()
        .map(|gate| {
            let result = gate.evaluate(
                report,
                baseline.map(|b| &b.report as &dyn crate::gates::Values),
            )?;
            let reason = result
                .value
                .as_ref()
                .err()
                .or(result.threshold.as_ref().err())
                .cloned();
            Ok(GateReport {
                gate: gate.text.clone(),
                value: result.value.ok(),
                threshold: result.threshold.ok(),
                passed: result.passed,
                margin: result.margin,
                reason,
            })
        })
        .collect()
}

/// The task's name as the report writes it.
pub fn task_name(task: Task) -> &'static str {
    match task {
        Task::Binary => "binary",
        Task::Multiclass => "multiclass",
        Task::Regression => "regression",
    }
}

/// Values and the reasons of the undefined ones.
fn split(
    metrics: Vec<(&'static str, Metric)>,
) -> (BTreeMap<String, Option<f64>>, BTreeMap<String, String>) {
    let mut values = BTreeMap::new();
    let mut reasons = BTreeMap::new();
    for (name, metric) in metrics {
        if let Err(why) = &metric {
            reasons.insert(name.to_owned(), why.to_string());
        }
        values.insert(name.to_owned(), metric.ok());
    }
    (values, reasons)
}

/// One unit's metrics (the whole data, or one slice) and their intervals.
struct Measured {
    rows: usize,
    metrics: Vec<(&'static str, Metric)>,
    ci: Intervals,
}

/// Everything measured on the rows, before the report is put together.
struct Measures {
    overall: Measured,
    /// Per dimension, per slice.
    slices: Vec<Vec<Measured>>,
    fairness: Option<FairnessReport>,
    confusion_matrix: Option<ConfusionMatrix>,
    curves: Option<Curves>,
}

/// A binary task's columns.
struct BinaryInput<'a> {
    labels: &'a [bool],
    predictions: &'a [bool],
    scores: Option<&'a [f64]>,
    weights: Option<&'a [f64]>,
}

/// Each replicate's metric values: `[replicate][unit][metric]`, units and metrics in the order
/// of the point estimates.
type Replicates = Vec<Vec<Vec<Option<f64>>>>;

/// The group rates a fairness report lists, by name.
fn group_rates(c: &binary::Confusion) -> Vec<(&'static str, Metric)> {
    vec![
        ("selection_rate", c.selection_rate()),
        ("tpr", c.recall()),
        ("fpr", c.fpr()),
        ("precision", c.precision()),
    ]
}

/// What one unit (the whole data, a slice, a sensitive group, or the fairness aggregates)
/// measures: its metrics, and the confusion matrix behind them where there is one.
struct Unit {
    metrics: Vec<(&'static str, Metric)>,
    confusion: Option<binary::Confusion>,
}

/// The partitions a binary pass groups the rows by, after the whole data: each slicing
/// dimension, and with sensitive columns the groups (plus one group of the rows left out, which
/// takes part in no aggregate) and the privileged sides. Fairness needs only confusion matrices.
fn binary_groupings(
    ranked: &Ranked,
    dimensions: &[Dimension],
    sensitive: Option<&Sensitive>,
) -> Vec<Grouping> {
    let mut partitions: Vec<(&[u32], usize, bool)> = dimensions
        .iter()
        .map(|d| (d.ids.as_slice(), d.slices.len(), true))
        .collect();
    if let Some(s) = sensitive {
        partitions.push((&s.ids, s.keys.len() + 1, false));
        if let Some(sides) = &s.sides {
            partitions.push((sides, 3, false));
        }
    }
    std::iter::once(ranked.whole())
        .chain(
            partitions
                .par_iter()
                .map(|&(ids, groups, scored)| ranked.grouping(ids, groups, scored))
                .collect::<Vec<_>>(),
        )
        .collect()
}

/// The units of a binary pass's sums (laid out as [`binary_groupings`]), in order: the whole
/// data, each slice, then each sensitive group and the fairness aggregates.
fn binary_units(
    sums: &[Vec<Sums>],
    dimensions: &[Dimension],
    sensitive: Option<&Sensitive>,
    scored: bool,
    options: &Options,
) -> Vec<Unit> {
    let mut units: Vec<Unit> = sums[..=dimensions.len()]
        .iter()
        .flatten()
        .map(|s| Unit {
            metrics: s.metrics(scored),
            confusion: Some(s.confusion()),
        })
        .collect();
    if let Some(sensitive) = sensitive {
        let groups: Vec<binary::Confusion> = sums[dimensions.len() + 1][..sensitive.keys.len()]
            .iter()
            .map(Sums::confusion)
            .collect();
        units.extend(groups.iter().map(|c| Unit {
            metrics: group_rates(c),
            confusion: Some(*c),
        }));
        let sides = sensitive
            .sides
            .as_ref()
            .map(|_| &sums[dimensions.len() + 2]);
        units.push(Unit {
            metrics: fairness_aggregates(&groups, sides, options),
            confusion: None,
        });
    }
    units
}

/// Measures a binary task in one pass over the rows in score order (and one more per bootstrap
/// replicate): the whole data, every slice and every sensitive group at once.
fn measure_binary(
    input: &BinaryInput,
    dimensions: &[Dimension],
    sensitive: Option<&Sensitive>,
    options: &Options,
) -> Measures {
    let ranked = Ranked::new(input.labels, input.predictions, input.scores, input.weights);
    let groupings = binary_groupings(&ranked, dimensions, sensitive);
    let groupings: Vec<&Grouping> = groupings.iter().collect();
    let scored = input.scores.is_some();
    let units = |sums: &[Vec<Sums>]| binary_units(sums, dimensions, sensitive, scored, options);
    let point = grouped::pass(&ranked, &groupings, None);
    let replicates: Replicates = grouped::bootstrap(
        &ranked,
        &groupings,
        options.bootstrap.replicates,
        options.bootstrap.seed,
        |sums| {
            units(&sums)
                .into_iter()
                .map(|u| u.metrics.into_iter().map(|(_, m)| m.ok()).collect())
                .collect()
        },
    );
    let confidence = options.slice_options.confidence;
    let mut measured: Vec<(Measured, Option<binary::Confusion>)> = units(&point)
        .into_iter()
        .enumerate()
        .map(|(u, Unit { metrics, confusion })| {
            let mut ci = bootstrap_intervals(&metrics, &replicates, u, confidence);
            if input.weights.is_none()
                && let Some(c) = &confusion
            {
                let defined = |name: &str| metrics.iter().any(|(n, m)| *n == name && m.is_ok());
                ci.extend(
                    proportion_intervals(c, confidence)
                        .into_iter()
                        .filter(|(name, _)| defined(name)),
                );
            }
            let rows = 0; // Set below for the whole data and the slices.
            (Measured { rows, metrics, ci }, confusion)
        })
        .collect();
    let fairness = sensitive.map(|sensitive| {
        let aggregates = measured.pop().expect("the aggregates unit").0;
        let groups = measured.split_off(measured.len() - sensitive.keys.len());
        fairness_report(sensitive, groups, aggregates, options)
    });
    let (overall, slices) = by_dimension(
        measured.into_iter().map(|(m, _)| m),
        input.labels.len(),
        dimensions,
    );
    let whole = &point[0][0];
    Measures {
        overall,
        slices,
        fairness,
        confusion_matrix: Some(binary_matrix(&whole.confusion())),
        curves: input
            .scores
            .map(|_| curves(&ranked.score_groups(400), whole.calibration_points())),
    }
}

/// Splits the whole data's and the slices' measures (in that order) into the whole data's and
/// each dimension's, setting their row counts.
fn by_dimension(
    mut measured: impl Iterator<Item = Measured>,
    rows: usize,
    dimensions: &[Dimension],
) -> (Measured, Vec<Vec<Measured>>) {
    let overall = Measured {
        rows,
        ..measured.next().expect("the whole data")
    };
    let slices = dimensions
        .iter()
        .map(|d| {
            d.sizes()
                .into_iter()
                .zip(measured.by_ref())
                .map(|(rows, m)| Measured { rows, ..m })
                .collect()
        })
        .collect();
    (overall, slices)
}

/// The fairness aggregates from the groups' confusion matrices (and the privileged and
/// unprivileged sides', for disparate impact), in [`FairnessReport::aggregates`] order.
fn fairness_aggregates(
    groups: &[binary::Confusion],
    sides: Option<&Vec<Sums>>,
    options: &Options,
) -> Vec<(&'static str, Metric)> {
    let mut overall = binary::Confusion::default();
    for c in groups {
        overall.tp += c.tp;
        overall.fp += c.fp;
        overall.tn += c.tn;
        overall.fn_ += c.fn_;
    }
    let f = fairness::from_confusions(
        groups,
        &overall,
        options.fairness_method,
        options.fairlearn_compat,
    );
    vec![
        (
            "demographic_parity_difference",
            f.demographic_parity_difference,
        ),
        ("demographic_parity_ratio", f.demographic_parity_ratio),
        ("equalized_odds_difference", f.equalized_odds_difference),
        ("equalized_odds_ratio", f.equalized_odds_ratio),
        (
            "equal_opportunity_difference",
            f.equal_opportunity_difference,
        ),
        (
            "disparate_impact",
            sides.map_or(Err(Undefined::MissingInput("--privileged")), |s| {
                fairness::disparate_impact_of(&s[0].confusion(), &s[1].confusion())
            }),
        ),
    ]
}

fn fairness_report(
    sensitive: &Sensitive,
    groups: Vec<(Measured, Option<binary::Confusion>)>,
    aggregates: Measured,
    options: &Options,
) -> FairnessReport {
    let value = |name: &str| {
        aggregates
            .metrics
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, m)| m.ok())
    };
    let mut notes = Vec::new();
    let groups: Vec<GroupReport> = sensitive
        .keys
        .iter()
        .zip(groups)
        .map(|(key, (measured, confusion))| {
            let rate = |name: &str| {
                measured
                    .metrics
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or(Err(Undefined::Empty), |(_, m)| *m)
            };
            // fairlearn reports 0 where a group cannot define a rate; only the reported value
            // changes, not its interval (there is none for a rate with no trials).
            let shown = |name: &str| {
                if options.fairlearn_compat {
                    fairness::as_fairlearn(rate(name)).ok()
                } else {
                    rate(name).ok()
                }
            };
            if !options.fairlearn_compat {
                let name = key.join(" * ");
                if let Err(why) = rate("tpr") {
                    notes.push(format!("group `{name}`: TPR undefined ({why}), left out of equalized odds and equal opportunity"));
                }
                if let Err(why) = rate("fpr") {
                    notes.push(format!(
                        "group `{name}`: FPR undefined ({why}), left out of equalized odds"
                    ));
                }
            }
            let c = confusion.unwrap_or_default();
            GroupReport {
                values: key.clone(),
                rows: c.tp + c.fp + c.tn + c.fn_,
                selection_rate: rate("selection_rate").ok(),
                tpr: shown("tpr"),
                fpr: shown("fpr"),
                precision: shown("precision"),
                ci: measured.ci,
            }
        })
        .collect();
    FairnessReport {
        sensitive: options.sensitive.clone(),
        method: match options.fairness_method {
            Method::BetweenGroups => "between_groups".into(),
            Method::ToOverall => "to_overall".into(),
        },
        groups,
        demographic_parity_difference: value("demographic_parity_difference"),
        demographic_parity_ratio: value("demographic_parity_ratio"),
        equalized_odds_difference: value("equalized_odds_difference"),
        equalized_odds_ratio: value("equalized_odds_ratio"),
        equal_opportunity_difference: value("equal_opportunity_difference"),
        disparate_impact: value("disparate_impact"),
        ci: aggregates.ci,
        notes,
    }
}

/// Measures a task from each unit's rows: the whole data and every slice, with bootstrap
/// replicates that reweight the rows. For multiclass and regression tasks, whose metrics do not
/// share one score order.
fn measure_rows(
    prepared: &Prepared,
    weights: Option<&[f64]>,
    dimensions: &[Dimension],
    options: &Options,
) -> Measures {
    let rows = match prepared {
        Prepared::Binary { labels, .. } => labels.len(),
        Prepared::Multiclass { labels, .. } => labels.len(),
        Prepared::Regression { truth, .. } => truth.len(),
    };
    let all: Vec<usize> = (0..rows).collect();
    let slice_rows: Vec<Vec<Vec<usize>>> = dimensions.iter().map(Dimension::rows).collect();
    let units: Vec<&[usize]> = std::iter::once(all.as_slice())
        .chain(slice_rows.iter().flatten().map(Vec::as_slice))
        .collect();
    let replicates: Replicates = (0..options.bootstrap.replicates)
        .into_par_iter()
        .map(|b| {
            let draws = grouped::Replicate::new(options.bootstrap.seed, b).counts(rows);
            let reweighted: Vec<f64> = draws
                .iter()
                .enumerate()
                .map(|(r, &k)| f64::from(k) * crate::metrics::weight(weights, r))
                .collect();
            units
                .iter()
                .map(|unit| {
                    let kept: Vec<usize> = unit.iter().copied().filter(|&r| draws[r] > 0).collect();
                    metrics_of(prepared, &kept, Some(&reweighted))
                        .into_iter()
                        .map(|(_, m)| m.ok())
                        .collect()
                })
                .collect()
        })
        .collect();
    let confidence = options.slice_options.confidence;
    let measured = units.iter().enumerate().map(|(u, unit)| {
        let metrics = metrics_of(prepared, unit, weights);
        let mut ci = bootstrap_intervals(&metrics, &replicates, u, confidence);
        if let (
            Prepared::Multiclass {
                labels,
                predictions,
                ..
            },
            None,
        ) = (prepared, weights)
        {
            let right = unit
                .iter()
                .filter(|&&r| labels[r] == predictions[r])
                .count();
            #[expect(clippy::cast_precision_loss, reason = "row counts fit an f64 exactly")]
            ci.extend(interval(
                "accuracy",
                wilson_interval(right as f64, unit.len() as f64, confidence),
            ));
        }
        Measured {
            rows: unit.len(),
            metrics,
            ci,
        }
    });
    let (overall, slices) = by_dimension(measured, rows, dimensions);
    Measures {
        overall,
        slices,
        fairness: None,
        confusion_matrix: confusion_matrix(prepared, weights),
        curves: None,
    }
}

/// Percentile intervals of the metrics of unit `unit` over the replicates; a metric undefined in
/// the data or in any replicate has none.
fn bootstrap_intervals(
    metrics: &[(&'static str, Metric)],
    replicates: &Replicates,
    unit: usize,
    confidence: f64,
) -> Intervals {
    if replicates.is_empty() {
        return Intervals::new();
    }
    metrics
        .iter()
        .enumerate()
        .filter(|(_, (_, value))| value.is_ok())
        .filter_map(|(m, (name, _))| {
            let mut values: Vec<f64> = replicates
                .iter()
                .map(|r| r[unit][m])
                .collect::<Option<Vec<f64>>>()?;
            let (lo, hi) = grouped::percentile_interval(&mut values, confidence)?;
            Some(((*name).to_owned(), [lo, hi]))
        })
        .collect()
}

/// Wilson intervals for the proportions of an unweighted confusion matrix.
fn proportion_intervals(c: &binary::Confusion, confidence: f64) -> Intervals {
    let total = c.tp + c.fp + c.tn + c.fn_;
    [
        ("accuracy", c.tp + c.tn, total),
        ("precision", c.tp, c.tp + c.fp),
        ("recall", c.tp, c.tp + c.fn_),
        ("tpr", c.tp, c.tp + c.fn_),
        ("fpr", c.fp, c.fp + c.tn),
        ("tnr", c.tn, c.fp + c.tn),
        ("fnr", c.fn_, c.tp + c.fn_),
        ("selection_rate", c.tp + c.fp, total),
    ]
    .into_iter()
    .filter_map(|(name, successes, trials)| {
        interval(name, wilson_interval(successes, trials, confidence))
    })
    .collect()
}

fn interval(name: &str, bounds: Option<(f64, f64)>) -> Option<(String, [f64; 2])> {
    bounds.map(|(lo, hi)| (name.to_owned(), [lo, hi]))
}

/// Every metric of the task on the rows `rows`, one unit at a time: how multiclass and regression
/// tasks are measured (binary tasks go through [`measure_binary`]'s single pass, and this gives
/// the same values for any rows).
#[expect(
    clippy::many_single_char_names,
    reason = "y, p, s, w and k: labels, predictions, scores, weights, classes"
)]
fn metrics_of(
    prepared: &Prepared,
    rows: &[usize],
    weights: Option<&[f64]>,
) -> Vec<(&'static str, Metric)> {
    let w: Option<Vec<f64>> = weights.map(|w| rows.iter().map(|&r| w[r]).collect());
    let w = w.as_deref();
    match prepared {
        Prepared::Binary {
            labels,
            predictions,
            scores,
        } => {
            let y: Vec<bool> = rows.iter().map(|&r| labels[r]).collect();
            let p: Vec<bool> = rows.iter().map(|&r| predictions[r]).collect();
            let s: Option<Vec<f64>> = scores
                .as_ref()
                .map(|s| rows.iter().map(|&r| s[r]).collect());
            let ranked = Ranked::new(&y, &p, s.as_deref(), w);
            let grouping = ranked.whole();
            grouped::pass(&ranked, &[&grouping], None)[0][0].metrics(s.is_some())
        }
        Prepared::Multiclass {
            classes,
            labels,
            predictions,
            scores,
        } => {
            let k = classes.len();
            let y: Vec<usize> = rows.iter().map(|&r| labels[r]).collect();
            let p: Vec<usize> = rows.iter().map(|&r| predictions[r]).collect();
            let avg = |score, average| multiclass::averaged(&y, &p, w, k, score, average);
            let mut out = vec![
                ("accuracy", multiclass::accuracy(&y, &p, w)),
                (
                    "balanced_accuracy",
                    multiclass::balanced_accuracy(&y, &p, w, k),
                ),
                ("precision_macro", avg(Score::Precision, Average::Macro)),
                (
                    "precision_weighted",
                    avg(Score::Precision, Average::Weighted),
                ),
                ("recall_macro", avg(Score::Recall, Average::Macro)),
                ("recall_weighted", avg(Score::Recall, Average::Weighted)),
                ("f1_macro", avg(Score::F1, Average::Macro)),
                ("f1_weighted", avg(Score::F1, Average::Weighted)),
            ];
            if let Some(scores) = scores {
                let s: Vec<f64> = rows
                    .iter()
                    .flat_map(|&r| scores[r * k..(r + 1) * k].iter().copied())
                    .collect();
                out.extend([
                    ("roc_auc", multiclass::roc_auc_ovr(&y, &s, w, k)),
                    ("log_loss", multiclass::log_loss(&y, &s, w, k)),
                ]);
            }
            out
        }
        Prepared::Regression { truth, predictions } => {
            let y: Vec<f64> = rows.iter().map(|&r| truth[r]).collect();
            let p: Vec<f64> = rows.iter().map(|&r| predictions[r]).collect();
            vec![
                ("mae", regression::mae(&y, &p, w)),
                ("mse", regression::mse(&y, &p, w)),
                ("rmse", regression::rmse(&y, &p, w)),
                ("r2", regression::r2(&y, &p, w)),
                ("mape", regression::mape(&y, &p, w)),
                ("median_ae", regression::median_ae(&y, &p, w)),
                ("max_error", regression::max_error(&y, &p)),
            ]
        }
    }
}

/// Curves for charts from the whole data's positives and negatives per score threshold (already
/// thinned: a million thresholds would make a chart of megabytes that looks the same).
fn curves(groups: &[(f64, f64)], calibration: Vec<(f64, f64, f64)>) -> Curves {
    Curves {
        roc: binary::roc_points(groups).unwrap_or_default(),
        pr: binary::pr_points(groups).unwrap_or_default(),
        calibration,
    }
}

/// The confusion matrix of a classification task (rows true classes, columns predictions).
fn confusion_matrix(prepared: &Prepared, weights: Option<&[f64]>) -> Option<ConfusionMatrix> {
    match prepared {
        Prepared::Binary {
            labels,
            predictions,
            ..
        } => {
            let c = binary::Confusion::new(labels, predictions, weights);
            Some(binary_matrix(&c))
        }
        Prepared::Multiclass {
            classes,
            labels,
            predictions,
            ..
        } => {
            let mut counts = vec![vec![0.0; classes.len()]; classes.len()];
            for (i, (&y, &p)) in labels.iter().zip(predictions).enumerate() {
                counts[y][p] += crate::metrics::weight(weights, i);
            }
            Some(ConfusionMatrix {
                classes: classes.clone(),
                counts,
            })
        }
        Prepared::Regression { .. } => None,
    }
}

fn binary_matrix(c: &binary::Confusion) -> ConfusionMatrix {
    ConfusionMatrix {
        classes: vec!["negative".into(), "positive".into()],
        counts: vec![vec![c.tn, c.fp], vec![c.fn_, c.tp]],
    }
}

/// The distinct slice columns, in the order the options name them, with buffers for the values
/// that need converting (numbers to floats, booleans to coded labels) so slicing can borrow them.
struct SliceBuffers<'o> {
    names: Vec<&'o str>,
    coded: Vec<(Vec<String>, Vec<u32>)>,
    numbers: Vec<Vec<Option<f64>>>,
}

impl<'o> SliceBuffers<'o> {
    fn new(options: &'o Options) -> Self {
        let mut names: Vec<&str> = Vec::new();
        for name in options.slices.iter().flatten() {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        Self {
            coded: vec![(Vec::new(), Vec::new()); names.len()],
            numbers: vec![Vec::new(); names.len()],
            names,
        }
    }

    fn columns<'a>(&'a mut self, table: &'a Table) -> Vec<SliceColumn<'a>> {
        self.names
            .iter()
            .zip(self.coded.iter_mut().zip(self.numbers.iter_mut()))
            .map(|(name, (t, n))| {
                slice_column(
                    name,
                    table.column(name).expect("slice columns were read"),
                    t,
                    n,
                )
            })
            .collect()
    }
}

/// A column as a slicing column: numbers are binned, everything else is a category. Text is
/// borrowed; other columns are converted into the holders.
fn slice_column<'a>(
    name: &'a str,
    column: &'a Column,
    coded: &'a mut (Vec<String>, Vec<u32>),
    numbers: &'a mut Vec<Option<f64>>,
) -> SliceColumn<'a> {
    match column {
        Column::Int(_) | Column::Float(_) => {
            *numbers = column.to_floats().expect("numeric columns convert");
            SliceColumn::Numeric {
                name,
                values: numbers,
            }
        }
        Column::Text { labels, ids } => SliceColumn::Coded { name, labels, ids },
        Column::Bool(_) => {
            *coded = column.to_coded();
            SliceColumn::Coded {
                name,
                labels: &coded.0,
                ids: &coded.1,
            }
        }
    }
}

/// The dimensions the options ask for: each `--slice` column alone, and each crossing.
fn slice_dimensions(table: &Table, options: &Options) -> Vec<Dimension> {
    if options.slices.is_empty() {
        return Vec::new();
    }
    let mut buffers = SliceBuffers::new(options);
    let names = buffers.names.clone();
    let columns = buffers.columns(table);
    let index = |n: &String| names.iter().position(|m| m == n).expect("listed above");
    let mut slice_options = options.slice_options.clone();
    slice_options.crossings = options
        .slices
        .iter()
        .filter(|s| s.len() > 1)
        .map(|s| s.iter().map(index).collect())
        .collect();
    let singles: Vec<usize> = options
        .slices
        .iter()
        .filter(|s| s.len() == 1)
        .map(|s| index(&s[0]))
        .collect();
    slices::partition(&columns, &slice_options)
        .into_iter()
        .filter(|d| d.columns.len() > 1 || singles.contains(&index(&d.columns[0])))
        .collect()
}

/// The slice reports, most severe first: each slice's metrics and intervals with its test.
fn slice_reports(
    dimensions: &[Dimension],
    measured: Vec<Vec<Measured>>,
    prepared: &Prepared,
    options: &Options,
) -> Vec<SliceReport> {
    let tests = slice_outcomes(prepared, options).map(|t| {
        slices::test(
            dimensions,
            &t.outcomes,
            t.higher_is_better,
            &options.slice_options,
        )
    });
    let named = dimensions
        .iter()
        .flat_map(|d| d.slices.iter().map(move |values| (&d.columns, values)));
    let mut reports: Vec<SliceReport> = named
        .zip(measured.into_iter().flatten())
        .enumerate()
        .map(|(i, ((columns, values), m))| {
            let outcome = tests.as_ref().map(|t| &t[i]);
            let (metrics, _) = split(m.metrics);
            SliceReport {
                columns: columns.clone(),
                values: values.clone(),
                rows: m.rows,
                metrics,
                ci: m.ci,
                underperforming: outcome.is_some_and(|t| t.underperforming),
                p_value: outcome.and_then(|t| t.p_value),
                effect_size: outcome.and_then(|t| t.effect_size),
            }
        })
        .collect();
    sort_by_severity(&mut reports);
    reports
}

/// The proportion a task's slices are tested on.
struct Tested {
    /// Per row: (in the denominator, a success).
    outcomes: Vec<(bool, bool)>,
    metric: &'static str,
    higher_is_better: bool,
}

/// The task's slice metric; `None` for regression, which has no proportion to test.
fn slice_outcomes(prepared: &Prepared, options: &Options) -> Option<Tested> {
    match prepared {
        Prepared::Binary {
            labels,
            predictions,
            ..
        } => Some(Tested {
            outcomes: slices::outcomes(options.slice_metric, labels, predictions),
            metric: metric_key(options.slice_metric),
            higher_is_better: options.slice_metric.higher_is_better(),
        }),
        Prepared::Multiclass {
            labels,
            predictions,
            ..
        } => Some(Tested {
            outcomes: labels
                .iter()
                .zip(predictions)
                .map(|(y, p)| (true, y == p))
                .collect(),
            metric: "accuracy",
            higher_is_better: true,
        }),
        Prepared::Regression { .. } => None,
    }
}

/// `--discover`: the flagged slices of up to two of the slice columns.
fn discovered(table: &Table, prepared: &Prepared, options: &Options) -> Vec<SliceReport> {
    let Some(top) = options.discover else {
        return Vec::new();
    };
    let Some(Tested {
        outcomes,
        metric: name,
        higher_is_better,
    }) = slice_outcomes(prepared, options)
    else {
        return Vec::new();
    };
    let mut buffers = SliceBuffers::new(options);
    let columns = buffers.columns(table);
    slices::discover(
        &columns,
        &outcomes,
        higher_is_better,
        &options.slice_options,
        top,
    )
    .into_iter()
    .map(|r| SliceReport {
        columns: r.columns,
        values: r.values,
        rows: r.rows,
        metrics: BTreeMap::from([(name.to_owned(), r.value)]),
        ci: r
            .ci
            .map(|(lo, hi)| BTreeMap::from([(name.to_owned(), [lo, hi])]))
            .unwrap_or_default(),
        underperforming: r.underperforming,
        p_value: r.p_value,
        effect_size: r.effect_size,
    })
    .collect()
}

/// Most severe first: flagged slices by effect size, then the rest in slicing order.
fn sort_by_severity(reports: &mut [SliceReport]) {
    let effect = |r: &SliceReport| {
        if r.underperforming {
            r.effect_size.unwrap_or(0.0)
        } else {
            0.0
        }
    };
    reports.sort_by(|a, b| {
        b.underperforming
            .cmp(&a.underperforming)
            .then_with(|| effect(b).total_cmp(&effect(a)))
    });
}

/// The report's name for a proportion metric.
pub fn metric_key(metric: ProportionMetric) -> &'static str {
    match metric {
        ProportionMetric::Accuracy => "accuracy",
        ProportionMetric::Recall => "recall",
        ProportionMetric::Precision => "precision",
        ProportionMetric::Fpr => "fpr",
        ProportionMetric::Tnr => "tnr",
        ProportionMetric::Fnr => "fnr",
        ProportionMetric::SelectionRate => "selection_rate",
    }
}

/// Each row's sensitive group, and its side for disparate impact.
struct Sensitive {
    /// The groups' values, in first-seen order.
    keys: Vec<Vec<String>>,
    /// Each row's group; `keys.len()` for a row left out (`--drop-missing`).
    ids: Vec<u32>,
    /// With `--privileged`, each row's side: 0 unprivileged, 1 privileged, 2 left out.
    sides: Option<Vec<u32>>,
}

/// The sensitive groups, when the options ask for fairness.
fn sensitive_groups(table: &Table, options: &Options) -> Option<Sensitive> {
    if options.sensitive.is_empty() && options.privileged.is_none() {
        return None;
    }
    let columns: Vec<Coded> = options
        .sensitive
        .iter()
        .map(|s| coded(table.column(s).expect("sensitive columns were read")))
        .collect();
    let (keys, ids) = group_rows(&columns, table.rows, options.drop_missing);
    let left_out = u32::try_from(keys.len()).expect("fewer than 2^32 groups");
    let sides = options.privileged.as_ref().map(|(column, value)| {
        let (labels, privileged) = coded(
            table
                .column(column)
                .expect("the privileged column was read"),
        );
        let wanted = labels
            .iter()
            .position(|l| l == value)
            .and_then(|i| u32::try_from(i).ok());
        ids.iter()
            .zip(privileged.iter())
            .map(|(&g, &p)| {
                if g == left_out {
                    2
                } else {
                    u32::from(Some(p) == wanted)
                }
            })
            .collect()
    });
    Some(Sensitive { keys, ids, sides })
}

/// A column's labels and each row's id into them (see [`Column::to_coded`]).
type Coded<'t> = (Cow<'t, [String]>, Cow<'t, [u32]>);

/// A column as labels and per-row ids, borrowed when it is text already.
fn coded(column: &Column) -> Coded<'_> {
    match column {
        Column::Text { labels, ids } => (Cow::Borrowed(labels), Cow::Borrowed(ids)),
        other => {
            let (labels, ids) = other.to_coded();
            (Cow::Owned(labels), Cow::Owned(ids))
        }
    }
}

/// Groups rows by their sensitive values (a missing value is the group `(missing)`, or the row
/// is left out with `drop_missing`): the groups' keys in first-seen order and each row's group
/// (`keys.len()` when left out). Columns come coded (labels and per-row ids), so no string is
/// built per row.
fn group_rows(coded: &[Coded], rows: usize, drop_missing: bool) -> (Vec<Vec<String>>, Vec<u32>) {
    // One more id than labels per column stands for a missing value.
    let columns: Vec<Codes> = coded
        .iter()
        .map(|(labels, ids)| Codes {
            ids,
            radix: u32::try_from(labels.len() + 1).expect("fewer than 2^32 labels"),
        })
        .collect();
    let label = |c: usize, id: u32| match coded[c].0.get(id as usize) {
        Some(label) => Some(label.clone()),
        None => (!drop_missing).then(|| MISSING.to_owned()),
    };
    groupby::named_groups(&columns, rows, label, groupby::Order::FirstRow)
}

/// Reads a baseline report written by `mlops eval --json`.
pub fn load_baseline(path: &std::path::Path) -> Result<Baseline> {
    let text = fs_err::read_to_string(path).map_err(mlops_core::Error::from)?;
    let report = serde_json::from_str(&text).map_err(|e| Error::BadBaseline {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    Ok(Baseline {
        path: path.to_owned(),
        report,
    })
}
