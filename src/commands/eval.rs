//! `mlops eval`: evaluate predictions from Parquet or CSV files, with slices, fairness and gates.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlops_eval::evaluate::{self, Bootstrap, Options, load_baseline, task_name};
use mlops_eval::fairness::Method;
use mlops_eval::gates::Gate;
use mlops_eval::input::Task;
use mlops_eval::report::{
    EvalReport, FairnessReport, GroupReport, Intervals, SliceReport, SliceTest, ordered,
};
use mlops_eval::slices::{SliceMetric, SliceOptions};

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
    /// The metric tested on each slice: a proportion for binary tasks (multiclass tests
    /// accuracy), a mean error for regression [default: accuracy, or mae for regression]
    #[arg(long, value_parser = SliceMetricParser)]
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

/// `--slice-metric`'s values: the library's metrics by their report names, with `-` for `_`
/// accepted too (`selection-rate`, as clap spells enum values).
#[derive(Debug, Clone, Copy)]
struct SliceMetricParser;

impl clap::builder::TypedValueParser for SliceMetricParser {
    type Value = SliceMetric;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<SliceMetric, clap::Error> {
        let names =
            clap::builder::PossibleValuesParser::new(SliceMetric::ALL.map(SliceMetric::name));
        let text = value.to_string_lossy().replace('-', "_");
        let name = names.parse_ref(cmd, arg, std::ffi::OsStr::new(&text))?;
        Ok(SliceMetric::from_name(&name).expect("one of the possible values"))
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            SliceMetric::ALL
                .into_iter()
                .map(|m| clap::builder::PossibleValue::new(m.name())),
        ))
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
) -> Vec<Vec<String>> {
    if flags.is_empty() {
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
    }
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
        let slices = slice_sets(&self.slice, config.slices.clone());
        let slice_metric = match (self.slice_metric, &config.slice_metric) {
            (Some(m), _) => Some(m),
            (None, Some(text)) => Some(
                SliceMetric::from_name(&text.replace('-', "_")).ok_or_else(|| {
                    anyhow::anyhow!("invalid value `{text}` for `slice_metric` in the eval config")
                })?,
            ),
            (None, None) => None,
        };
        let fairness_method = match (self.fairness_method, &config.fairness_method) {
            (Some(m), _) => Some(m),
            (None, Some(text)) => Some(parse_enum("fairness_method", text)?),
            (None, None) => None,
        };
        let scores = if self.score.is_empty() {
            config
                .score
                .map(mlops_eval::config::OneOrMany::into_vec)
                .unwrap_or_default()
        } else {
            self.score.clone()
        };
        // Every default is the library's.
        let defaults = Options::default();
        let slice_defaults = defaults.slice_options.clone();
        let options = Options {
            label: self
                .label
                .clone()
                .or(config.label)
                .unwrap_or(defaults.label),
            prediction: self.prediction.clone().or(config.prediction),
            scores,
            task: self.task.map(Task::from).or(config.task),
            threshold: self
                .threshold
                .or(config.threshold)
                .unwrap_or(defaults.threshold),
            pos_label: self.pos_label.clone().or(config.pos_label),
            weight: self.weight.clone().or(config.weight),
            slices,
            slice_options: SliceOptions {
                bins: self.bins.or(config.bins).unwrap_or(slice_defaults.bins),
                alpha: self.alpha.or(config.alpha).unwrap_or(slice_defaults.alpha),
                min_effect: (self.min_effect.or(config.min_effect))
                    .unwrap_or(slice_defaults.min_effect),
                min_rows: (self.min_rows.or(config.min_rows)).unwrap_or(slice_defaults.min_rows),
                ..slice_defaults
            },
            discover: self.discover.or(config.discover),
            slice_metric,
            sensitive: if self.sensitive.is_empty() {
                config.sensitive.unwrap_or_default()
            } else {
                self.sensitive.clone()
            },
            fairness_method: fairness_method.map_or(defaults.fairness_method, Method::from),
            privileged,
            fairlearn_compat: self.fairlearn_compat || config.fairlearn_compat.unwrap_or(false),
            drop_missing: self.drop_missing || config.drop_missing.unwrap_or(false),
            gates,
            bootstrap: Bootstrap {
                replicates: (self.bootstrap.or(config.bootstrap))
                    .unwrap_or(defaults.bootstrap.replicates),
                seed: self.seed.or(config.seed).unwrap_or(defaults.bootstrap.seed),
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
    let rendered = |r: &EvalReport| match args.format {
        Format::Html => crate::commands::eval_html::render(r),
        Format::Text | Format::Markdown => render(r, args.format == Format::Markdown),
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

/// The header of a slice table for the tested metric.
pub(crate) fn slice_header(test: &SliceTest) -> Vec<&str> {
    let effect = if test.effect == "relative" {
        "worse by (relative)"
    } else {
        "worse by"
    };
    vec!["slice", "rows", &test.metric, "95% CI", "p (BH)", effect]
}

/// One slice's cells under [`slice_header`]: the text, Markdown and HTML reports share them.
pub(crate) fn slice_cells(s: &SliceReport, test: &SliceTest) -> Vec<String> {
    let name: Vec<String> = s
        .columns
        .iter()
        .zip(&s.values)
        .map(|(c, v)| format!("{c}={v}"))
        .collect();
    let metric = test.metric.as_str();
    let effect = |e: f64| {
        if test.effect == "relative" {
            format!("{:+.1}%", e * 100.0)
        } else {
            format!("{e:+.3}")
        }
    };
    vec![
        name.join(" & "),
        s.rows.to_string(),
        number(s.metrics.get(metric).copied().flatten()),
        interval_cell(&s.ci, metric),
        s.p_value.map_or_else(|| "-".into(), |p| format!("{p:.2e}")),
        s.effect_size.map_or_else(|| "-".into(), effect),
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

/// A fairness aggregate table's rows (`aggregates` with their intervals).
pub(crate) fn aggregate_rows(
    aggregates: &std::collections::BTreeMap<String, Option<f64>>,
    ci: &Intervals,
) -> Vec<Vec<String>> {
    ordered(aggregates)
        .iter()
        .map(|(k, v)| vec![(*k).to_owned(), number(*v), interval_cell(ci, k)])
        .collect()
}

/// A fairness group table: its header (the groups' metrics, binary rates or regression errors)
/// and one row per group.
pub(crate) fn group_table(groups: &[GroupReport]) -> (Vec<String>, Vec<Vec<String>>) {
    let names: Vec<&str> = groups
        .first()
        .map(|g| ordered(&g.metrics).into_iter().map(|(k, _)| k).collect())
        .unwrap_or_default();
    let header = ["group", "rows"]
        .into_iter()
        .chain(names.iter().copied())
        .map(str::to_owned)
        .collect();
    let rows = groups
        .iter()
        .map(|g| {
            let mut cells = vec![g.values.join(" & "), format!("{}", g.rows)];
            cells.extend(
                names
                    .iter()
                    .map(|n| number(g.metrics.get(*n).copied().flatten())),
            );
            cells
        })
        .collect();
    (header, rows)
}

/// A table with an optional caption: caption, header, rows.
pub(crate) type Captioned = (Option<String>, Vec<String>, Vec<Vec<String>>);

/// The fairness section's tables in order, each with its caption (none for the first two): the
/// groups, the aggregates, and for multiclass each class's one-vs-rest groups and aggregates.
pub(crate) fn fairness_tables(f: &FairnessReport) -> Vec<Captioned> {
    let aggregate_header: Vec<String> = AGGREGATE_HEADER.iter().map(|h| (*h).to_owned()).collect();
    let (header, rows) = group_table(&f.groups);
    let mut tables = vec![
        (None, header, rows),
        (
            None,
            aggregate_header.clone(),
            aggregate_rows(&f.aggregates, &f.ci),
        ),
    ];
    for class in &f.classes {
        let (header, rows) = group_table(&class.groups);
        tables.push((
            Some(format!("class `{}` against the rest", class.class)),
            header,
            rows,
        ));
        tables.push((
            None,
            aggregate_header.clone(),
            aggregate_rows(&class.aggregates, &class.ci),
        ));
    }
    tables
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
fn render(r: &EvalReport, md: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}{} task, {} rows",
        if md { "## Evaluation: " } else { "" },
        task_name(r.task),
        r.rows
    );
    render_metrics(&mut out, r, md);
    if let Some(test) = &r.slice_test {
        render_slices(&mut out, r, test, md);
        render_discovered(&mut out, r, test, md);
    }
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

fn render_slices(out: &mut String, r: &EvalReport, test: &SliceTest, md: bool) {
    if r.slices.is_empty() {
        return;
    }
    let flagged = r.slices.iter().filter(|s| s.underperforming).count();
    heading(
        out,
        &format!(
            "Slices ({}, {}; {flagged} underperforming)",
            test.metric, test.test
        ),
        md,
    );
    let rows: Vec<Vec<String>> = r
        .slices
        .iter()
        .map(|s| {
            let mut cells = slice_cells(s, test);
            cells.push(if s.underperforming {
                "UNDERPERFORMING".into()
            } else {
                String::new()
            });
            cells
        })
        .collect();
    let mut header = slice_header(test);
    header.push("flag");
    out.push_str(&table(&header, &rows, md));
}

fn render_discovered(out: &mut String, r: &EvalReport, test: &SliceTest, md: bool) {
    if r.discovered.is_empty() {
        return;
    }
    heading(
        out,
        &format!("Discovered slices ({}), largest first", test.metric),
        md,
    );
    let rows: Vec<Vec<String>> = r.discovered.iter().map(|s| slice_cells(s, test)).collect();
    out.push_str(&table(&slice_header(test), &rows, md));
}

fn render_fairness(out: &mut String, r: &EvalReport, md: bool) {
    let Some(f) = &r.fairness else { return };
    heading(
        out,
        &format!("Fairness ({}; {})", f.sensitive.join(" & "), f.method),
        md,
    );
    for (i, (caption, header, rows)) in fairness_tables(f).into_iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if let Some(caption) = caption {
            let _ = writeln!(
                out,
                "{}",
                if md {
                    format!("**{caption}**\n")
                } else {
                    format!("{caption}:")
                }
            );
        }
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        out.push_str(&table(&header, &rows, md));
    }
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
