//! Measuring a task: every metric of the whole data, of every slice and (for binary tasks) of
//! every sensitive group, with confidence intervals. Binary tasks take one pass over the rows in
//! score order ([`crate::grouped`]); multiclass and regression tasks are measured per unit of
//! rows, their bootstrap replicates reweighting the rows.

use std::collections::BTreeMap;

use crate::evaluate::Options;
use crate::grouped::{self, Grouping, Ranked, Sums};
use crate::input::Prepared;
use crate::metrics::{Metric, binary, multiclass, regression};
use crate::report::{ConfusionMatrix, Curves, FairnessReport, Intervals};
use crate::sensitive::{self, Sensitive};
use crate::slices::Dimension;
use crate::stats::wilson_interval;
use rayon::prelude::*;

/// Why [`measure_rows`] and its helpers never see a binary task: [`measure`] sends it to
/// [`measure_binary`].
const BINARY_IN_ONE_PASS: &str = "binary tasks are measured in one pass, by measure_binary";

/// Values and the reasons of the undefined ones.
pub(crate) fn split(
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
pub(crate) struct Measured {
    pub(crate) rows: usize,
    pub(crate) metrics: Vec<(&'static str, Metric)>,
    pub(crate) ci: Intervals,
}

/// Everything measured on the rows, before the report is put together.
pub(crate) struct Measures {
    pub(crate) overall: Measured,
    /// Per dimension, per slice.
    pub(crate) slices: Vec<Vec<Measured>>,
    pub(crate) fairness: Option<FairnessReport>,
    pub(crate) confusion_matrix: Option<ConfusionMatrix>,
    pub(crate) curves: Option<Curves>,
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
pub(crate) type Replicates = Vec<Vec<Vec<Option<f64>>>>;

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
    dimensions: usize,
    sensitive: Option<&Sensitive>,
    scored: bool,
    options: &Options,
) -> Vec<Unit> {
    let mut units: Vec<Unit> = sums[..=dimensions]
        .iter()
        .flatten()
        .map(|s| Unit {
            metrics: s.metrics(scored),
            confusion: Some(s.confusion()),
        })
        .collect();
    if let Some(sensitive) = sensitive {
        let groups: Vec<binary::Confusion> = sums[dimensions + 1][..sensitive.keys.len()]
            .iter()
            .map(Sums::confusion)
            .collect();
        units.extend(groups.iter().map(|c| Unit {
            metrics: group_rates(c),
            confusion: Some(*c),
        }));
        let sides = sensitive.sides.as_ref().map(|_| &sums[dimensions + 2]);
        units.push(Unit {
            metrics: sensitive::fairness_aggregates(&groups, sides, options),
            confusion: None,
        });
    }
    units
}

/// Measures the task: a binary task in one pass over the rows in score order, the others unit
/// by unit.
pub(crate) fn measure(
    prepared: &Prepared,
    weights: Option<&[f64]>,
    dimensions: &[Dimension],
    sensitive: Option<&Sensitive>,
    options: &Options,
) -> Measures {
    match prepared {
        Prepared::Binary {
            labels,
            predictions,
            scores,
        } => measure_binary(
            &BinaryInput {
                labels,
                predictions,
                scores: scores.as_deref(),
                weights,
            },
            dimensions,
            sensitive,
            options,
        ),
        Prepared::Multiclass { .. } | Prepared::Regression { .. } => {
            measure_rows(prepared, weights, dimensions, sensitive, options)
        }
    }
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
    let point = grouped::pass(&ranked, &groupings, None);
    let replicates: Replicates = grouped::bootstrap(
        &ranked,
        &groupings,
        options.bootstrap.replicates,
        options.bootstrap.seed,
        |sums| {
            binary_units(&sums, dimensions.len(), sensitive, scored, options)
                .into_iter()
                .map(|u| u.metrics.into_iter().map(|(_, m)| m.ok()).collect())
                .collect()
        },
    );
    let slice_rows: Vec<Vec<usize>> = dimensions.iter().map(Dimension::sizes).collect();
    binary_measures(
        &BinarySums {
            sums: &point,
            rows: input.labels.len(),
            slice_rows: &slice_rows,
            sensitive,
            weighted: input.weights.is_some(),
            scored,
            score_groups: ranked.score_groups(400),
        },
        &replicates,
        options,
    )
}

/// What a binary task's measures are put together from: the sums of a pass (laid out as
/// [`binary_groupings`] lays out its groupings), whether from the rows here or merged from
/// shards.
pub(crate) struct BinarySums<'a> {
    pub(crate) sums: &'a [Vec<Sums>],
    /// Rows of the whole data, and of each slice per dimension.
    pub(crate) rows: usize,
    pub(crate) slice_rows: &'a [Vec<usize>],
    pub(crate) sensitive: Option<&'a Sensitive>,
    pub(crate) weighted: bool,
    pub(crate) scored: bool,
    /// The whole data's positives and negatives per score threshold, for the curves.
    pub(crate) score_groups: Vec<(f64, f64)>,
}

/// The measures of a binary task from its sums and bootstrap replicates (none: no bootstrap
/// intervals).
pub(crate) fn binary_measures(
    input: &BinarySums,
    replicates: &Replicates,
    options: &Options,
) -> Measures {
    let confidence = options.slice_options.confidence;
    let point = input.sums;
    let units = binary_units(
        point,
        input.slice_rows.len(),
        input.sensitive,
        input.scored,
        options,
    );
    let mut measured: Vec<(Measured, Option<binary::Confusion>)> = units
        .into_iter()
        .enumerate()
        .map(|(u, Unit { metrics, confusion })| {
            let mut ci = bootstrap_intervals(&metrics, replicates, u, confidence);
            if !input.weighted
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
    let fairness = input.sensitive.map(|sensitive| {
        let aggregates = measured.pop().expect("the aggregates unit").0;
        let groups = measured.split_off(measured.len() - sensitive.keys.len());
        sensitive::fairness_report(sensitive, groups, aggregates, options)
    });
    let (overall, slices) = by_dimension(
        measured.into_iter().map(|(m, _)| m),
        input.rows,
        input.slice_rows,
    );
    let whole = &point[0][0];
    Measures {
        overall,
        slices,
        fairness,
        confusion_matrix: Some(binary_matrix(&whole.confusion())),
        curves: input
            .scored
            .then(|| curves(&input.score_groups, whole.calibration_points())),
    }
}

/// Splits the whole data's and the slices' measures (in that order) into the whole data's and
/// each dimension's, setting their row counts.
fn by_dimension(
    mut measured: impl Iterator<Item = Measured>,
    rows: usize,
    slice_rows: &[Vec<usize>],
) -> (Measured, Vec<Vec<Measured>>) {
    let overall = Measured {
        rows,
        ..measured.next().expect("the whole data")
    };
    let slices = slice_rows
        .iter()
        .map(|sizes| {
            sizes
                .iter()
                .copied()
                .zip(measured.by_ref())
                .map(|(rows, m)| Measured { rows, ..m })
                .collect()
        })
        .collect();
    (overall, slices)
}

/// Measures a task from each unit's rows: the whole data, every slice and, with sensitive
/// columns, the fairness groups and aggregates, with bootstrap replicates that reweight the
/// rows. For multiclass and regression tasks, whose metrics do not share one score order.
fn measure_rows(
    prepared: &Prepared,
    weights: Option<&[f64]>,
    dimensions: &[Dimension],
    sensitive: Option<&Sensitive>,
    options: &Options,
) -> Measures {
    let rows = match prepared {
        Prepared::Binary { .. } => unreachable!("{BINARY_IN_ONE_PASS}"),
        Prepared::Multiclass { labels, .. } => labels.len(),
        Prepared::Regression { truth, .. } => truth.len(),
    };
    let all: Vec<usize> = (0..rows).collect();
    let slice_rows: Vec<Vec<Vec<usize>>> = dimensions.iter().map(Dimension::rows).collect();
    let units: Vec<&[usize]> = std::iter::once(all.as_slice())
        .chain(slice_rows.iter().flatten().map(Vec::as_slice))
        .collect();
    let replicates = rows_replicates(prepared, weights, &units, sensitive, options);
    let confidence = options.slice_options.confidence;
    let measured = units.iter().enumerate().map(|(u, unit)| {
        let metrics = metrics_of(prepared, unit, weights);
        let mut ci = bootstrap_intervals(&metrics, &replicates, u, confidence);
        ci.extend(accuracy_interval(prepared, weights, unit, confidence));
        Measured {
            rows: unit.len(),
            metrics,
            ci,
        }
    });
    let sizes: Vec<Vec<usize>> = dimensions.iter().map(Dimension::sizes).collect();
    let (overall, slices) = by_dimension(measured, rows, &sizes);
    let fairness = sensitive.map(|s| {
        let (metrics, rows) = sensitive::rows_units(prepared, s, weights, options);
        let measured = metrics
            .into_iter()
            .enumerate()
            .map(|(i, metrics)| Measured {
                rows: 0,
                ci: bootstrap_intervals(&metrics, &replicates, units.len() + i, confidence),
                metrics,
            })
            .collect();
        let classes = match prepared {
            Prepared::Multiclass { classes, .. } => Some(classes.as_slice()),
            _ => None,
        };
        sensitive::rows_report(classes, s, measured, &rows, options)
    });
    Measures {
        overall,
        slices,
        fairness,
        confusion_matrix: confusion_matrix(prepared, weights),
        curves: None,
    }
}

/// [`measure_rows`]'s bootstrap replicates: each draws the rows with replacement (a count per
/// row, folded into its weight) and measures every unit, then the fairness units, on the rows
/// drawn.
fn rows_replicates(
    prepared: &Prepared,
    weights: Option<&[f64]>,
    units: &[&[usize]],
    sensitive: Option<&Sensitive>,
    options: &Options,
) -> Replicates {
    let rows = units.first().map_or(0, |all| all.len());
    (0..options.bootstrap.replicates)
        .into_par_iter()
        .map(|b| {
            let draws = grouped::Replicate::new(options.bootstrap.seed, b).counts(rows);
            let reweighted: Vec<f64> = draws
                .iter()
                .enumerate()
                .map(|(r, &k)| f64::from(k) * crate::metrics::weight(weights, r))
                .collect();
            let values = |metrics: Vec<(&'static str, Metric)>| -> Vec<Option<f64>> {
                metrics.into_iter().map(|(_, m)| m.ok()).collect()
            };
            let mut measured: Vec<Vec<Option<f64>>> = units
                .iter()
                .map(|unit| {
                    let kept: Vec<usize> = unit.iter().copied().filter(|&r| draws[r] > 0).collect();
                    values(metrics_of(prepared, &kept, Some(&reweighted)))
                })
                .collect();
            if let Some(s) = sensitive {
                let (fairness, _) = sensitive::rows_units(prepared, s, Some(&reweighted), options);
                measured.extend(fairness.into_iter().map(values));
            }
            measured
        })
        .collect()
}

/// The Wilson interval of an unweighted multiclass accuracy (a plain proportion) on `unit`'s
/// rows; other tasks and weighted rows have only bootstrap intervals.
fn accuracy_interval(
    prepared: &Prepared,
    weights: Option<&[f64]>,
    unit: &[usize],
    confidence: f64,
) -> Option<(String, [f64; 2])> {
    let (
        Prepared::Multiclass {
            labels,
            predictions,
            ..
        },
        None,
    ) = (prepared, weights)
    else {
        return None;
    };
    let right = unit
        .iter()
        .filter(|&&r| labels[r] == predictions[r])
        .count();
    #[expect(clippy::cast_precision_loss, reason = "row counts fit an f64 exactly")]
    interval(
        "accuracy",
        wilson_interval(right as f64, unit.len() as f64, confidence),
    )
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

/// Every metric of a multiclass or regression task on the rows `rows`, one unit at a time
/// (binary tasks go through [`measure_binary`]'s single pass).
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
        Prepared::Binary { .. } => unreachable!("{BINARY_IN_ONE_PASS}"),
        Prepared::Multiclass {
            classes,
            labels,
            predictions,
            scores,
        } => {
            let k = classes.len();
            let y: Vec<usize> = rows.iter().map(|&r| labels[r]).collect();
            let p: Vec<usize> = rows.iter().map(|&r| predictions[r]).collect();
            // One pass over the rows for every count-based metric.
            let mut out = multiclass::counted_metrics(&multiclass::per_class(&y, &p, w, k));
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

/// The confusion matrix of a multiclass task (rows true classes, columns predictions); none for
/// regression.
fn confusion_matrix(prepared: &Prepared, weights: Option<&[f64]>) -> Option<ConfusionMatrix> {
    match prepared {
        Prepared::Binary { .. } => unreachable!("{BINARY_IN_ONE_PASS}"),
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
