//! `evaluate`: from Parquet or CSV files to an [`EvalReport`]: overall metrics, slices with error
//! analysis, fairness across sensitive groups, and gates.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use mlops_core::table::{self, Column, Table};

use crate::error::{Error, Result};
use crate::fairness::{self, Method};
use crate::gates::Gate;
use crate::input::{self, Columns, Prepared, Task, describe};
use crate::metrics::multiclass::{Average, Score};
use crate::metrics::{Metric, binary, multiclass, regression};
use crate::report::{
    ConfusionMatrix, Curves, EvalReport, FairnessReport, GateReport, GroupReport, SliceReport,
};
use crate::slices::{self, MISSING, ProportionMetric, SliceColumn, SliceOptions};

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
}

/// An earlier report to compare with, and where it came from.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub path: PathBuf,
    pub report: EvalReport,
}

/// Reads the files and evaluates; `baseline` is an earlier report for `baseline` gates.
pub fn evaluate(
    paths: &[PathBuf],
    options: &Options,
    baseline: Option<&Baseline>,
) -> Result<EvalReport> {
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
        .map(|w| input::numbers(&table, w, &source, "numbers"))
        .transpose()?;
    let all: Vec<usize> = (0..table.rows).collect();
    let (overall, undefined) = split(metrics_of(&prepared, &all, weights.as_deref()));
    let mut report = EvalReport {
        task,
        rows: table.rows,
        overall,
        undefined,
        confusion_matrix: confusion_matrix(&prepared, weights.as_deref()),
        slices: slice_reports(&table, &prepared, weights.as_deref(), options),
        discovered: discovered(&table, &prepared, options),
        fairness: fairness_report(&table, &prepared, weights.as_deref(), options)?,
        gates: Vec::new(),
        passed: true,
        curves: curves(&prepared, weights.as_deref()),
    };
    if let Some(baseline) = baseline
        && baseline.report.task != task
    {
        return Err(Error::BaselineTask {
            path: baseline.path.clone(),
            found: task_name(baseline.report.task).to_owned(),
            expected: task_name(task).to_owned(),
        });
    }
    let gates: Vec<GateReport> = options
        .gates
        .iter()
        .map(|gate| {
            let result = gate.evaluate(
                &report,
                baseline.map(|b| &b.report as &dyn crate::gates::Values),
            );
            let reason = result
                .value
                .as_ref()
                .err()
                .or(result.threshold.as_ref().err())
                .cloned();
            GateReport {
                gate: gate.text.clone(),
                value: result.value.ok(),
                threshold: result.threshold.ok(),
                passed: result.passed,
                margin: result.margin,
                reason,
            }
        })
        .collect();
    report.passed = gates.iter().all(|g| g.passed);
    report.gates = gates;
    Ok(report)
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

/// Every metric of the task on the rows `rows`.
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
            let c = binary::Confusion::new(&y, &p, w);
            let mut out = vec![
                ("accuracy", c.accuracy()),
                ("balanced_accuracy", c.balanced_accuracy()),
                ("precision", c.precision()),
                ("recall", c.recall()),
                ("f1", c.f1()),
                ("tpr", c.recall()),
                ("fpr", c.fpr()),
                ("tnr", c.tnr()),
                ("fnr", c.fnr()),
                ("selection_rate", c.selection_rate()),
            ];
            if let Some(scores) = scores {
                let s: Vec<f64> = rows.iter().map(|&r| scores[r]).collect();
                let (auc, ap) = binary::ranking(&y, &s, w);
                out.extend([
                    ("roc_auc", auc),
                    ("average_precision", ap),
                    ("log_loss", binary::log_loss(&y, &s, w)),
                    ("brier", binary::brier(&y, &s, w)),
                    (
                        "expected_calibration_error",
                        binary::expected_calibration_error(&y, &s, w, 10),
                    ),
                ]);
            }
            out
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

/// Curves for charts, thinned to at most 400 points each (a million thresholds would make a chart
/// of megabytes that looks the same).
fn curves(prepared: &Prepared, weights: Option<&[f64]>) -> Option<Curves> {
    let Prepared::Binary {
        labels,
        scores: Some(scores),
        ..
    } = prepared
    else {
        return None;
    };
    let thin = |points: Vec<(f64, f64)>| {
        let step = points.len().div_ceil(400).max(1);
        let last = points.last().copied();
        let mut kept: Vec<(f64, f64)> = points.into_iter().step_by(step).collect();
        if kept.last().copied() != last {
            kept.extend(last);
        }
        kept
    };
    Some(Curves {
        roc: binary::roc_curve(labels, scores, weights)
            .map(thin)
            .unwrap_or_default(),
        pr: binary::pr_curve(labels, scores, weights)
            .map(thin)
            .unwrap_or_default(),
        calibration: binary::calibration_bins(labels, scores, weights, 10),
    })
}

fn confusion_matrix(prepared: &Prepared, weights: Option<&[f64]>) -> Option<ConfusionMatrix> {
    let (classes, pairs): (Vec<String>, Vec<(usize, usize)>) = match prepared {
        Prepared::Binary {
            labels,
            predictions,
            ..
        } => (
            vec!["negative".into(), "positive".into()],
            labels
                .iter()
                .zip(predictions)
                .map(|(&y, &p)| (usize::from(y), usize::from(p)))
                .collect(),
        ),
        Prepared::Multiclass {
            classes,
            labels,
            predictions,
            ..
        } => (
            classes.clone(),
            labels
                .iter()
                .copied()
                .zip(predictions.iter().copied())
                .collect(),
        ),
        Prepared::Regression { .. } => return None,
    };
    let mut counts = vec![vec![0.0; classes.len()]; classes.len()];
    for (i, (y, p)) in pairs.into_iter().enumerate() {
        counts[y][p] += crate::metrics::weight(weights, i);
    }
    Some(ConfusionMatrix { classes, counts })
}

/// The distinct slice columns, in the order the options name them, with buffers for the values
/// that need converting (numbers to floats, booleans to text) so slicing can borrow them.
struct SliceBuffers<'o> {
    names: Vec<&'o str>,
    text: Vec<Vec<Option<String>>>,
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
            text: vec![Vec::new(); names.len()],
            numbers: vec![Vec::new(); names.len()],
            names,
        }
    }

    fn columns<'a>(&'a mut self, table: &'a Table) -> Vec<SliceColumn<'a>> {
        self.names
            .iter()
            .zip(self.text.iter_mut().zip(self.numbers.iter_mut()))
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
    text: &'a mut Vec<Option<String>>,
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
            *text = column.to_text();
            SliceColumn::Categorical { name, values: text }
        }
    }
}

fn slice_reports(
    table: &Table,
    prepared: &Prepared,
    weights: Option<&[f64]>,
    options: &Options,
) -> Vec<SliceReport> {
    if options.slices.is_empty() {
        return Vec::new();
    }
    // Distinct columns in order; each slicing entry is a set of their indices.
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
    let slices: Vec<slices::Slice> = slices::partition(&columns, &slice_options)
        .into_iter()
        .filter(|s| s.columns.len() > 1 || singles.contains(&index(&s.columns[0])))
        .collect();
    let tested = slice_outcomes(prepared, options);
    let metric_name = tested.as_ref().map_or("", |t| t.metric);
    let tests =
        tested.map(|t| slices::test(&slices, &t.outcomes, t.higher_is_better, &slice_options));
    let mut reports: Vec<SliceReport> = slices
        .iter()
        .enumerate()
        .map(|(i, slice)| {
            let (metrics, _) = split(metrics_of(prepared, &slice.rows, weights));
            let outcome = tests.as_ref().map(|t| &t[i]);
            SliceReport {
                columns: slice.columns.clone(),
                values: slice.values.clone(),
                rows: slice.rows.len(),
                metrics,
                ci: outcome
                    .and_then(|t| t.ci)
                    .map(|(lo, hi)| BTreeMap::from([(metric_name.to_owned(), [lo, hi])]))
                    .unwrap_or_default(),
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

fn fairness_report(
    table: &Table,
    prepared: &Prepared,
    weights: Option<&[f64]>,
    options: &Options,
) -> Result<Option<FairnessReport>> {
    if options.sensitive.is_empty() && options.privileged.is_none() {
        return Ok(None);
    }
    let Prepared::Binary {
        labels,
        predictions,
        ..
    } = prepared
    else {
        return Err(Error::NeedsBinary {
            option: "sensitive",
        });
    };
    let coded: Vec<(Vec<String>, Vec<u32>)> = options
        .sensitive
        .iter()
        .map(|s| {
            table
                .column(s)
                .expect("sensitive columns were read")
                .to_coded()
        })
        .collect();
    let (keys, kept, groups) = group_rows(&coded, table.rows, options.drop_missing);
    let y: Vec<bool> = kept.iter().map(|&r| labels[r]).collect();
    let p: Vec<bool> = kept.iter().map(|&r| predictions[r]).collect();
    let w: Option<Vec<f64>> = weights.map(|w| kept.iter().map(|&r| w[r]).collect());
    let result = fairness::fairness(
        &y,
        &p,
        &groups,
        keys.len(),
        w.as_deref(),
        options.fairness_method,
        options.fairlearn_compat,
    );
    let disparate_impact = match &options.privileged {
        Some((column, value)) => {
            let (labels, ids) = table
                .column(column)
                .expect("the privileged column was read")
                .to_coded();
            let wanted = labels
                .iter()
                .position(|l| l == value)
                .and_then(|i| u32::try_from(i).ok());
            let privileged: Vec<bool> = kept.iter().map(|&r| Some(ids[r]) == wanted).collect();
            fairness::disparate_impact(&p, &privileged, w.as_deref()).ok()
        }
        None => None,
    };
    // Keys in first-seen order match the groups `fairness` kept (it drops only empty ones).
    let mut notes = Vec::new();
    let reports: Vec<GroupReport> = keys
        .iter()
        .zip(&result.groups)
        .map(|(key, g)| {
            if !options.fairlearn_compat {
                let name = key.join(" * ");
                if let Err(why) = g.tpr {
                    notes.push(format!("group `{name}`: TPR undefined ({why}), left out of equalized odds and equal opportunity"));
                }
                if let Err(why) = g.fpr {
                    notes.push(format!("group `{name}`: FPR undefined ({why}), left out of equalized odds"));
                }
            }
            GroupReport {
                values: key.clone(),
                rows: g.rows,
                selection_rate: g.selection_rate.ok(),
                tpr: g.tpr.ok(),
                fpr: g.fpr.ok(),
                precision: g.precision.ok(),
            }
        })
        .collect();
    Ok(Some(FairnessReport {
        sensitive: options.sensitive.clone(),
        method: match options.fairness_method {
            Method::BetweenGroups => "between_groups".into(),
            Method::ToOverall => "to_overall".into(),
        },
        groups: reports,
        demographic_parity_difference: result.demographic_parity_difference.ok(),
        demographic_parity_ratio: result.demographic_parity_ratio.ok(),
        equalized_odds_difference: result.equalized_odds_difference.ok(),
        equalized_odds_ratio: result.equalized_odds_ratio.ok(),
        equal_opportunity_difference: result.equal_opportunity_difference.ok(),
        disparate_impact,
        notes,
    }))
}

/// Groups rows by their sensitive values (a missing value is the group `(missing)`, or the row
/// is left out with `drop_missing`): the groups' keys in first-seen order, the rows kept, and
/// each kept row's group. Columns come coded (labels and per-row ids), so no string is built
/// per row.
fn group_rows(
    coded: &[(Vec<String>, Vec<u32>)],
    rows: usize,
    drop_missing: bool,
) -> (Vec<Vec<String>>, Vec<usize>, Vec<usize>) {
    let missing = |id: u32| id == Column::MISSING;
    let mut keys: Vec<Vec<String>> = Vec::new();
    let mut key_index: HashMap<u128, usize> = HashMap::new();
    let mut kept = Vec::new();
    let mut groups = Vec::new();
    for r in 0..rows {
        if drop_missing && coded.iter().any(|(_, ids)| missing(ids[r])) {
            continue;
        }
        // One more id than labels per column stands for a missing value.
        let key = coded.iter().fold(0u128, |k, (labels, ids)| {
            let id = if missing(ids[r]) {
                labels.len()
            } else {
                ids[r] as usize
            };
            k * (labels.len() as u128 + 1) + id as u128
        });
        let next = keys.len();
        let g = *key_index.entry(key).or_insert_with(|| {
            keys.push(
                coded
                    .iter()
                    .map(|(labels, ids)| {
                        if missing(ids[r]) {
                            MISSING.to_owned()
                        } else {
                            labels[ids[r] as usize].clone()
                        }
                    })
                    .collect(),
            );
            next
        });
        kept.push(r);
        groups.push(g);
    }
    (keys, kept, groups)
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
