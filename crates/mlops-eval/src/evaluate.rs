//! `evaluate`: from Parquet or CSV files to an [`EvalReport`]: overall metrics, slices with error
//! analysis, fairness across sensitive groups, and gates.

use std::path::PathBuf;

use mlops_data::Dataset;
use mlops_data::table;

use crate::error::{Error, Result};
use crate::fairness::Method;
use crate::gates::Gate;
use crate::input::{self, Columns, Prepared, Task};
use crate::join::Join;
use crate::measure::{Measures, measure, split};
use crate::report::{BootstrapInfo, EvalReport, GateReport, SliceReport};
use crate::sensitive::sensitive_groups;
use crate::slices::{self, SliceMetric, SliceOptions};

/// The most columns one slice may cross: a crossing of more makes slices too small to test.
pub(crate) const MAX_CROSSED: usize = 4;

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
    /// The metric tested per slice; `None` takes the task's default (accuracy; MAE for
    /// regression). See [`SliceMetric::resolve`].
    pub slice_metric: Option<SliceMetric>,
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
    /// Labels read from other files and joined to the predictions by key; `None` reads the
    /// label column from the predictions.
    pub join: Option<Join>,
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

impl Default for Options {
    /// The defaults of every option: label column `label`, threshold 0.5, slices tested at alpha
    /// 0.05 with a minimum effect of 0.05 on slices of 30 rows or more, 4 quantile bins, 200
    /// bootstrap replicates with seed 0, fairness between groups.
    fn default() -> Self {
        Self {
            label: "label".to_owned(),
            prediction: None,
            scores: Vec::new(),
            task: None,
            threshold: 0.5,
            pos_label: None,
            weight: None,
            slices: Vec::new(),
            slice_options: SliceOptions::default(),
            slice_metric: None,
            discover: None,
            sensitive: Vec::new(),
            fairness_method: Method::BetweenGroups,
            privileged: None,
            fairlearn_compat: false,
            drop_missing: false,
            gates: Vec::new(),
            bootstrap: Bootstrap::default(),
            join: None,
        }
    }
}

impl Options {
    /// Every column the options name, once each.
    pub(crate) fn columns(&self) -> Vec<&str> {
        let mut wanted: Vec<&str> = vec![self.label.as_str()];
        wanted.extend(self.prediction.as_deref());
        wanted.extend(self.scores.iter().map(String::as_str));
        wanted.extend(self.weight.as_deref());
        wanted.extend(self.slices.iter().flatten().map(String::as_str));
        wanted.extend(self.sensitive.iter().map(String::as_str));
        wanted.extend(self.privileged.as_ref().map(|(c, _)| c.as_str()));
        let mut seen = std::collections::HashSet::new();
        wanted.retain(|c| seen.insert(*c));
        wanted
    }

    /// Checks the options before any data is read: a NaN threshold would predict every row
    /// negative and a negative one every row positive, an alpha outside (0, 1) would flag every
    /// slice or none, each with a report that looks fine; a crossing of more than
    /// `MAX_CROSSED` (4) columns makes slices too small to test.
    ///
    /// # Errors
    /// [`Error::BadOption`] naming the option and its value, [`Error::TooManyCrossed`].
    pub fn validate(&self) -> Result<()> {
        let bad = |option, value, expected| Error::BadOption {
            option,
            value,
            expected,
        };
        if !self.threshold.is_finite() || self.threshold < 0.0 {
            return Err(bad(
                "threshold",
                self.threshold,
                "a finite number, not negative",
            ));
        }
        if let Some(long) = self.slices.iter().find(|s| s.len() > MAX_CROSSED) {
            return Err(Error::TooManyCrossed {
                columns: long.join(","),
                max: MAX_CROSSED,
            });
        }
        if self.slice_options.bins == 0 {
            return Err(bad("bins", 0.0, "at least 1"));
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
    data: &Dataset,
    options: &Options,
    baseline: Option<&Baseline>,
) -> Result<EvalReport> {
    options.validate()?;
    let (table, joined) = match &options.join {
        Some(join) => {
            let (table, report) =
                crate::join::read(data, join, &options.columns(), &options.label)?;
            (table, Some(report))
        }
        None => (data.read(&options.columns())?, None),
    };
    let source = data.describe();
    if table.rows == 0 {
        return Err(Error::Empty { input: source });
    }
    let task = task_of(&table, options, baseline)?;
    let prepared = prepare(&table, task, options, &source)?;
    let weights = options
        .weight
        .as_deref()
        .map(|w| input::weights(&table, w, &source))
        .transpose()?;
    let tested = (!options.slices.is_empty())
        .then(|| SliceMetric::resolve(options.slice_metric, task))
        .transpose()?
        .map(|metric| slices::tested(&prepared, metric));
    let sensitive = sensitive_groups(&table, options);
    let dimensions = slices::dimensions(&table, &options.slices, &options.slice_options);
    let discovered = match (options.discover, &tested) {
        (Some(top), Some(tested)) => {
            slices::discovered(&table, &options.slices, tested, &options.slice_options, top)
        }
        _ => Vec::new(),
    };
    let rows = table.rows;
    // Everything needed from the table is extracted; at 10M rows it is most of the memory.
    drop(table);
    let measured = measure(
        &prepared,
        weights.as_deref(),
        &dimensions,
        sensitive.as_ref(),
        options,
    );
    let slices = slices::reports(
        &dimensions,
        measured.slices,
        tested
            .as_ref()
            .map(|t| slices::test(&dimensions, &t.outcomes, &options.slice_options))
            .as_deref(),
    );
    let measured = Measures {
        slices: Vec::new(),
        ..measured
    };
    let mut report = report_of(task, rows, measured, slices, options);
    report.join = joined;
    report.slice_test = tested.as_ref().map(|t| t.describe(&options.slice_options));
    report.discovered = discovered;
    gated(report, options, baseline)
}

/// The report of measures whose slices are already reported, before gates (passed; no join,
/// slice test or discovered slices: the caller sets those it has).
pub(crate) fn report_of(
    task: Task,
    rows: usize,
    measured: Measures,
    slices: Vec<SliceReport>,
    options: &Options,
) -> EvalReport {
    let (overall, undefined) = split(measured.overall.metrics);
    EvalReport {
        task,
        rows,
        join: None,
        overall,
        overall_ci: measured.overall.ci,
        bootstrap: (options.bootstrap.replicates > 0).then_some(BootstrapInfo {
            replicates: options.bootstrap.replicates,
            seed: options.bootstrap.seed,
            confidence: options.slice_options.confidence,
        }),
        undefined,
        confusion_matrix: measured.confusion_matrix,
        slice_test: None,
        slices,
        discovered: Vec::new(),
        fairness: measured.fairness,
        sharded: None,
        gates: Vec::new(),
        passed: true,
        curves: measured.curves,
    }
}

/// `report` with its gates decided.
pub(crate) fn gated(
    mut report: EvalReport,
    options: &Options,
    baseline: Option<&Baseline>,
) -> Result<EvalReport> {
    let gates = gate_reports(&report, options, baseline)?;
    report.passed = gates.iter().all(|g| g.passed);
    report.gates = gates;
    Ok(report)
}

/// The task: given, or inferred from the label column; checked against the baseline report's
/// and against the options that need a binary task.
fn task_of(table: &table::Table, options: &Options, baseline: Option<&Baseline>) -> Result<Task> {
    let task = options
        .task
        .unwrap_or_else(|| input::infer_task(table, &options.label));
    if let Some(baseline) = baseline
        && baseline.report.task != task
    {
        return Err(Error::BaselineTask {
            path: baseline.path.clone(),
            found: task_name(baseline.report.task).to_owned(),
            expected: task_name(task).to_owned(),
        });
    }
    if options.privileged.is_some() && task != Task::Binary {
        return Err(Error::NeedsBinary {
            option: "privileged",
        });
    }
    Ok(task)
}

/// The task's columns, checked and converted.
pub(crate) fn prepare(
    table: &table::Table,
    task: Task,
    options: &Options,
    source: &str,
) -> Result<Prepared> {
    let columns = Columns {
        label: &options.label,
        prediction: options.prediction.as_deref(),
        scores: &options.scores,
        threshold: options.threshold,
        pos_label: options.pos_label.as_deref(),
    };
    match task {
        Task::Binary => input::binary(table, &columns, source),
        Task::Multiclass => input::multiclass(table, &columns, source),
        Task::Regression => input::regression(table, &columns, source),
    }
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
            Ok(GateReport {
                gate: gate.text.clone(),
                value: result.value,
                threshold: result.threshold,
                passed: result.passed,
                margin: result.margin,
                reason: result.reason,
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
