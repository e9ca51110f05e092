//! `mlops eval`: evaluate predictions from Parquet or CSV files, with slices, fairness and gates.

use std::path::PathBuf;

use mlops_eval::evaluate::{self, Bootstrap, Options, load_baseline};
use mlops_eval::fairness::Method;
use mlops_eval::gates::Gate;
use mlops_eval::input::Task;
use mlops_eval::slices::{SliceMetric, SliceOptions};

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render::{self, OutputArgs};

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
    #[command(flatten)]
    output: OutputArgs,
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
    let targets = render::targets(&args.output, ctx, "eval", &render::eval::FORMATS)?;
    // A directory or glob names its files, as for every command reading tables; expanded
    // before the same-file check, so that an output among them is found.
    let mut files: Vec<PathBuf> = Vec::new();
    for file in &args.files {
        files.extend(mlops_core::table::expand(&ctx.cwd.join(file))?);
    }
    let mut inputs = files.clone();
    inputs.extend(baseline.iter().cloned());
    inputs.extend(args.config.iter().map(|c| ctx.cwd.join(c)));
    for output in render::files(&targets) {
        mlops_core::outfile::ensure_not_input(output, &inputs)?;
    }
    let baseline = baseline.map(|b| load_baseline(&b)).transpose()?;
    let report = evaluate::evaluate(&files, &options, baseline.as_ref())?;
    render::emit(ctx.printer, &report, &targets, render::eval::render)?;
    for gate in report.gates.iter().filter(|g| !g.passed) {
        let gate = render::eval::describe_gate(gate);
        ctx.printer.warn(&format!("gate failed: {gate}"));
    }
    Ok(if report.passed {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
