//! `mlops eval`: evaluate predictions from Parquet or CSV files, with slices, fairness and gates.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlops_eval::evaluate::{self, Bootstrap, Options, load_baseline, metric_key, task_name};
use mlops_eval::fairness::Method;
use mlops_eval::gates::Gate;
use mlops_eval::input::Task;
use mlops_eval::report::{EvalReport, FairnessReport, GroupReport, Intervals, SliceReport};
use mlops_eval::slices::{ProportionMetric, SliceOptions};

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::output::table;

/// Evaluate predictions in Parquet or CSV files: metrics overall and per slice, error analysis,
/// fairness across groups, and gates that fail CI (exit status 1)
#[derive(Debug, clap::Args)]
pub(crate) struct EvalArgs {
    /// Parquet or CSV (`*.csv`) files, read as one table: a directory means its `*.parquet`
    /// files, a glob such as `preds/*.csv` the files it matches
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Options from a YAML file (the same names; flags given here win)
    #[arg(long, value_name = "EVAL.YAML")]
    config: Option<PathBuf>,
    /// The true label (or target) column [default: label]
    #[arg(long)]
    label: Option<String>,
    /// The predicted label (or value) column
    #[arg(long)]
    prediction: Option<String>,
    /// The positive class's probability; for multiclass, one column per class in class order
    #[arg(long)]
    score: Vec<String>,
    /// The task (inferred from the label column when left out)
    #[arg(long, value_enum)]
    task: Option<TaskArg>,
    /// Predict positive when the score is at least this (without --prediction) [default: 0.5]
    #[arg(long)]
    threshold: Option<f64>,
    /// The positive class (default: true, or 1)
    #[arg(long)]
    pos_label: Option<String>,
    /// A column of sample weights
    #[arg(long)]
    weight: Option<String>,
    /// Slice by a column (numbers into quantile bins); `a,b` crosses columns. Repeatable
    #[arg(long, value_name = "COLUMN[,COLUMN]")]
    slice: Vec<String>,
    /// Search every slice of up to two of the --slice columns and report the N largest flagged ones
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "10")]
    discover: Option<usize>,
    /// Quantile bins for numeric slice columns [default: 4]
    #[arg(long)]
    bins: Option<usize>,
    /// The metric tested on each slice (binary tasks; multiclass tests accuracy) [default: accuracy]
    #[arg(long, value_enum)]
    slice_metric: Option<SliceMetric>,
    /// Significance level of the slice tests, after Benjamini-Hochberg [default: 0.05]
    #[arg(long)]
    alpha: Option<f64>,
    /// How much worse than the rest a slice must be to be flagged [default: 0.05]
    #[arg(long)]
    min_effect: Option<f64>,
    /// Slices with fewer rows are reported but never flagged [default: 30]
    #[arg(long)]
    min_rows: Option<usize>,
    /// Bootstrap replicates for the confidence intervals of every metric that is not a plain
    /// proportion (0: none) [default: 200]
    #[arg(long, value_name = "N")]
    bootstrap: Option<usize>,
    /// The bootstrap's seed: the same seed and data give the same intervals [default: 0]
    #[arg(long)]
    seed: Option<u64>,
    /// A sensitive column; several mean their intersection. Repeatable
    #[arg(long)]
    sensitive: Vec<String>,
    /// Compare groups with each other, or each group with the whole data [default: between-groups]
    #[arg(long, value_enum)]
    fairness_method: Option<FairnessMethod>,
    /// The privileged group, for disparate impact (the four-fifths rule)
    #[arg(long, value_name = "COLUMN=VALUE")]
    privileged: Option<String>,
    /// Count a group's undefined TPR or FPR as 0, as fairlearn does
    #[arg(long)]
    fairlearn_compat: bool,
    /// Leave out rows with a missing sensitive value (default: they form a `(missing)` group)
    #[arg(long)]
    drop_missing: bool,
    /// A condition that must hold, e.g. `accuracy >= 0.85` or `roc_auc >= baseline - 0.01`. Repeatable
    #[arg(long)]
    gate: Vec<String>,
    /// A report from an earlier `mlops eval --json`, for `baseline` in gates
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// How to print the report (`--json` prints it as JSON)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the report to this file instead of stdout
    #[arg(short, long)]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum TaskArg {
    Binary,
    Multiclass,
    Regression,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum SliceMetric {
    Accuracy,
    Recall,
    Precision,
    Fpr,
    Tnr,
    Fnr,
    SelectionRate,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum FairnessMethod {
    BetweenGroups,
    ToOverall,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    Text,
    Markdown,
    /// One self-contained page with charts (write it with -o)
    Html,
}

impl From<TaskArg> for Task {
    fn from(task: TaskArg) -> Self {
        match task {
            TaskArg::Binary => Task::Binary,
            TaskArg::Multiclass => Task::Multiclass,
            TaskArg::Regression => Task::Regression,
        }
    }
}

impl From<SliceMetric> for ProportionMetric {
    fn from(metric: SliceMetric) -> Self {
        match metric {
            SliceMetric::Accuracy => ProportionMetric::Accuracy,
            SliceMetric::Recall => ProportionMetric::Recall,
            SliceMetric::Precision => ProportionMetric::Precision,
            SliceMetric::Fpr => ProportionMetric::Fpr,
            SliceMetric::Tnr => ProportionMetric::Tnr,
            SliceMetric::Fnr => ProportionMetric::Fnr,
            SliceMetric::SelectionRate => ProportionMetric::SelectionRate,
        }
    }
}

impl From<FairnessMethod> for Method {
    fn from(method: FairnessMethod) -> Self {
        match method {
            FairnessMethod::BetweenGroups => Method::BetweenGroups,
            FairnessMethod::ToOverall => Method::ToOverall,
        }
    }
}

/// `COLUMN=VALUE` of `--privileged`.
fn privileged_group(text: &str) -> anyhow::Result<(String, String)> {
    let (column, value) = text
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("--privileged takes COLUMN=VALUE, got `{text}`"))?;
    Ok((column.to_owned(), value.to_owned()))
}

/// The slicing sets: `--slice` flags (`a,b` crosses columns) or else the config's `slices`.
fn slice_sets(
    flags: &[String],
    config: Option<Vec<mlops_eval::config::OneOrMany>>,
) -> anyhow::Result<Vec<Vec<String>>> {
    let sets: Vec<Vec<String>> = if flags.is_empty() {
        config
            .unwrap_or_default()
            .into_iter()
            .map(mlops_eval::config::OneOrMany::into_vec)
            .collect()
    } else {
        flags
            .iter()
            .map(|s| s.split(',').map(|c| c.trim().to_owned()).collect())
            .collect()
    };
    // Crossings are keyed by one 128-bit number; four columns always fit.
    if let Some(long) = sets.iter().find(|s| s.len() > 4) {
        anyhow::bail!(
            "--slice crosses at most 4 columns, got `{}`",
            long.join(",")
        );
    }
    Ok(sets)
}

/// A value of a clap enum written in `eval.yaml` (`between_groups` or `between-groups`).
fn parse_enum<T: clap::ValueEnum>(key: &str, value: &str) -> anyhow::Result<T> {
    T::from_str(&value.replace('_', "-"), true)
        .map_err(|_| anyhow::anyhow!("invalid value `{value}` for `{key}` in the eval config"))
}

impl EvalArgs {
    /// The options: flags first, then the config file, then the defaults. Gates from both apply.
    /// Also the baseline report's path (one named in the config is relative to the config).
    fn options(&self, cwd: &std::path::Path) -> anyhow::Result<(Options, Option<PathBuf>)> {
        let config = match &self.config {
            Some(path) => mlops_eval::config::load(&cwd.join(path))?,
            None => mlops_eval::config::EvalConfig::default(),
        };
        let config_dir = self
            .config
            .as_ref()
            .and_then(|p| cwd.join(p).parent().map(std::path::Path::to_path_buf))
            .unwrap_or_else(|| cwd.to_path_buf());
        let gate_texts: Vec<String> = config
            .gates
            .clone()
            .unwrap_or_default()
            .into_iter()
            .chain(self.gate.iter().cloned())
            .collect();
        let gates = gate_texts
            .iter()
            .map(|g| Gate::parse(g).map_err(mlops_eval::Error::from))
            .collect::<Result<Vec<_>, _>>()?;
        let privileged = self
            .privileged
            .clone()
            .or(config.privileged.clone())
            .map(|t| privileged_group(&t))
            .transpose()?;
        let slices = slice_sets(&self.slice, config.slices.clone())?;
        let slice_metric = match (self.slice_metric, &config.slice_metric) {
            (Some(m), _) => m,
            (None, Some(text)) => parse_enum("slice_metric", text)?,
            (None, None) => SliceMetric::Accuracy,
        };
        let fairness_method = match (self.fairness_method, &config.fairness_method) {
            (Some(m), _) => m,
            (None, Some(text)) => parse_enum("fairness_method", text)?,
            (None, None) => FairnessMethod::BetweenGroups,
        };
        let scores = if self.score.is_empty() {
            config
                .score
                .map(mlops_eval::config::OneOrMany::into_vec)
                .unwrap_or_default()
        } else {
            self.score.clone()
        };
        let task = self.task.map(Task::from);
        let options = Options {
            label: self
                .label
                .clone()
                .or(config.label)
                .unwrap_or_else(|| "label".to_owned()),
            prediction: self.prediction.clone().or(config.prediction),
            scores,
            task: task.or(config.task),
            threshold: self.threshold.or(config.threshold).unwrap_or(0.5),
            pos_label: self.pos_label.clone().or(config.pos_label),
            weight: self.weight.clone().or(config.weight),
            slices,
            slice_options: SliceOptions {
                bins: self.bins.or(config.bins).unwrap_or(4),
                alpha: self.alpha.or(config.alpha).unwrap_or(0.05),
                min_effect: self.min_effect.or(config.min_effect).unwrap_or(0.05),
                min_rows: self.min_rows.or(config.min_rows).unwrap_or(30),
                ..SliceOptions::default()
            },
            discover: self.discover.or(config.discover),
            slice_metric: slice_metric.into(),
            sensitive: if self.sensitive.is_empty() {
                config.sensitive.unwrap_or_default()
            } else {
                self.sensitive.clone()
            },
            fairness_method: fairness_method.into(),
            privileged,
            fairlearn_compat: self.fairlearn_compat || config.fairlearn_compat.unwrap_or(false),
            drop_missing: self.drop_missing || config.drop_missing.unwrap_or(false),
            gates,
            bootstrap: Bootstrap {
                replicates: self.bootstrap.or(config.bootstrap).unwrap_or(200),
                seed: self.seed.or(config.seed).unwrap_or(0),
            },
        };
        let baseline = self
            .baseline
            .as_ref()
            .map(|b| cwd.join(b))
            .or_else(|| config.baseline.map(|b| config_dir.join(b)));
        Ok((options, baseline))
    }
}

pub(crate) fn run(args: &EvalArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let (options, baseline) = args.options(&ctx.cwd)?;
    // A directory or glob names its files, as for every command reading tables; expanded
    // before the same-file check, so that an output among them is found.
    let mut files: Vec<PathBuf> = Vec::new();
    for file in &args.files {
        files.extend(mlops_core::table::expand(&ctx.cwd.join(file))?);
    }
    if let Some(output) = &args.output {
        let mut inputs = files.clone();
        inputs.extend(baseline.iter().cloned());
        inputs.extend(args.config.iter().map(|c| ctx.cwd.join(c)));
        mlops_core::outfile::ensure_not_input(&ctx.output(output), &inputs)?;
    }
    let baseline = baseline.map(|b| load_baseline(&b)).transpose()?;
    let report = evaluate::evaluate(&files, &options, baseline.as_ref())?;
    let slice_metric = if report.task == Task::Multiclass {
        "accuracy"
    } else {
        metric_key(options.slice_metric)
    };
    let rendered = |r: &EvalReport| match args.format {
        Format::Html => crate::commands::eval_html::render(r, slice_metric),
        Format::Text | Format::Markdown => render(r, slice_metric, args.format == Format::Markdown),
    };
    ctx.emit(&report, args.output.as_ref(), rendered)?;
    for gate in report.gates.iter().filter(|g| !g.passed) {
        ctx.printer
            .warn(&format!("gate failed: {}", describe_gate(gate)));
    }
    Ok(if report.passed {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// A metric value, or `undefined`.
pub(crate) fn number(v: Option<f64>) -> String {
    v.map_or_else(|| "undefined".to_owned(), |v| format!("{v:.4}"))
}

/// The header of a slice table.
pub(crate) fn slice_header(metric: &str) -> Vec<&str> {
    vec!["slice", "rows", metric, "95% CI", "p (BH)", "worse by"]
}

/// One slice's cells under [`slice_header`]: the text, Markdown and HTML reports share them.
pub(crate) fn slice_cells(s: &SliceReport, metric: &str) -> Vec<String> {
    let name: Vec<String> = s
        .columns
        .iter()
        .zip(&s.values)
        .map(|(c, v)| format!("{c}={v}"))
        .collect();
    vec![
        name.join(" & "),
        s.rows.to_string(),
        number(s.metrics.get(metric).copied().flatten()),
        interval_cell(&s.ci, metric),
        s.p_value.map_or_else(|| "-".into(), |p| format!("{p:.2e}")),
        s.effect_size
            .map_or_else(|| "-".into(), |e| format!("{e:+.3}")),
    ]
}

/// A metric's interval as a cell, or `-`.
fn interval_cell(ci: &Intervals, metric: &str) -> String {
    ci.get(metric)
        .map_or_else(|| "-".into(), |[lo, hi]| format!("[{lo:.3}, {hi:.3}]"))
}

/// The header of the overall metric table.
pub(crate) const METRIC_HEADER: [&str; 3] = ["metric", "value", "95% CI"];

/// The overall metric table's rows: the text, Markdown and HTML reports share them.
pub(crate) fn metric_rows(r: &EvalReport) -> Vec<Vec<String>> {
    r.overall
        .iter()
        .map(|(k, v)| {
            let value = r
                .undefined
                .get(k)
                .map_or_else(|| number(*v), |why| format!("undefined ({why})"));
            vec![k.clone(), value, interval_cell(&r.overall_ci, k)]
        })
        .collect()
}

/// The header of the fairness aggregate table.
pub(crate) const AGGREGATE_HEADER: [&str; 3] = ["aggregate", "value", "95% CI"];

/// The fairness aggregate table's rows.
pub(crate) fn aggregate_rows(f: &FairnessReport) -> Vec<Vec<String>> {
    f.aggregates()
        .iter()
        .map(|(k, v)| vec![(*k).to_owned(), number(*v), interval_cell(&f.ci, k)])
        .collect()
}

/// The header of a fairness group table.
pub(crate) const GROUP_HEADER: [&str; 6] =
    ["group", "rows", "selection_rate", "tpr", "fpr", "precision"];

/// One group's cells under [`GROUP_HEADER`].
pub(crate) fn group_cells(g: &GroupReport) -> Vec<String> {
    vec![
        g.values.join(" & "),
        format!("{}", g.rows),
        number(g.selection_rate),
        number(g.tpr),
        number(g.fpr),
        number(g.precision),
    ]
}

fn describe_gate(g: &mlops_eval::report::GateReport) -> String {
    match (&g.reason, g.value, g.margin) {
        (Some(reason), _, _) => format!("{} ({reason})", g.gate),
        (None, Some(value), Some(margin)) => {
            format!("{} (value {value:.4}, margin {margin:+.4})", g.gate)
        }
        _ => g.gate.clone(),
    }
}

/// The report as text or Markdown.
fn render(r: &EvalReport, slice_metric: &str, md: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}{} task, {} rows",
        if md { "## Evaluation: " } else { "" },
        task_name(r.task),
        r.rows
    );
    render_metrics(&mut out, r, md);
    render_slices(&mut out, r, slice_metric, md);
    render_discovered(&mut out, r, slice_metric, md);
    render_fairness(&mut out, r, md);
    render_gates(&mut out, r, md);
    out
}

fn heading(out: &mut String, title: &str, md: bool) {
    let _ = if md {
        writeln!(out, "\n### {title}\n")
    } else {
        writeln!(out, "\n{title}")
    };
}

fn render_metrics(out: &mut String, r: &EvalReport, md: bool) {
    heading(out, "Metrics", md);
    out.push_str(&table(&METRIC_HEADER, &metric_rows(r), md));
}

fn render_slices(out: &mut String, r: &EvalReport, slice_metric: &str, md: bool) {
    if r.slices.is_empty() {
        return;
    }
    let flagged = r.slices.iter().filter(|s| s.underperforming).count();
    heading(
        out,
        &format!("Slices ({slice_metric}; {flagged} underperforming)"),
        md,
    );
    let rows: Vec<Vec<String>> = r
        .slices
        .iter()
        .map(|s| {
            let mut cells = slice_cells(s, slice_metric);
            cells.push(if s.underperforming {
                "UNDERPERFORMING".into()
            } else {
                String::new()
            });
            cells
        })
        .collect();
    let mut header = slice_header(slice_metric);
    header.push("flag");
    out.push_str(&table(&header, &rows, md));
}

fn render_discovered(out: &mut String, r: &EvalReport, slice_metric: &str, md: bool) {
    if r.discovered.is_empty() {
        return;
    }
    heading(
        out,
        &format!("Discovered slices ({slice_metric}), largest first"),
        md,
    );
    let rows: Vec<Vec<String>> = r
        .discovered
        .iter()
        .map(|s| slice_cells(s, slice_metric))
        .collect();
    out.push_str(&table(&slice_header(slice_metric), &rows, md));
}

fn render_fairness(out: &mut String, r: &EvalReport, md: bool) {
    let Some(f) = &r.fairness else { return };
    heading(
        out,
        &format!("Fairness ({}; {})", f.sensitive.join(" & "), f.method),
        md,
    );
    let rows: Vec<Vec<String>> = f.groups.iter().map(group_cells).collect();
    out.push_str(&table(&GROUP_HEADER, &rows, md));
    out.push('\n');
    out.push_str(&table(&AGGREGATE_HEADER, &aggregate_rows(f), md));
    for note in &f.notes {
        let _ = writeln!(out, "{}note: {note}", if md { "- " } else { "" });
    }
}

fn render_gates(out: &mut String, r: &EvalReport, md: bool) {
    if r.gates.is_empty() {
        return;
    }
    heading(out, "Gates", md);
    for g in &r.gates {
        let _ = writeln!(
            out,
            "{}{}  {}",
            if md { "- " } else { "" },
            if g.passed { "PASS" } else { "FAIL" },
            describe_gate(g)
        );
    }
    let _ = writeln!(
        out,
        "\n{}",
        if r.passed {
            "all gates passed"
        } else {
            "some gates failed"
        }
    );
}
