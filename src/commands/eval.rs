//! `mlops eval`: evaluate predictions from Parquet or CSV files, with slices, fairness and gates.

use std::path::{Path, PathBuf};

use mlops_eval::config::{EvalConfig, OneOrMany};
use mlops_eval::evaluate::{self, Options, load_baseline};
use mlops_eval::fairness::Method;
use mlops_eval::input::Task;
use mlops_eval::slices::SliceMetric;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render::{self, OutputArgs};

/// Evaluate predictions in Parquet or CSV files: metrics overall and per slice, error analysis,
/// fairness across groups, and gates that fail CI (exit status 1)
#[derive(Debug, clap::Args)]
pub(crate) struct EvalArgs {
    /// Parquet, CSV (`*.csv`) or Arrow IPC (`*.arrow`, `*.feather`, `*.arrows`) files, read as one
    /// table: a directory means the tables under it, a quoted glob such as 'preds/*.csv' or
    /// 'preds/**/*.parquet' the files it matches
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    read: super::read::ReadArgs,
    /// Labels kept apart from the predictions (the labels log `mlops serve` and `mlops feedback`
    /// write, e.g. .mlops/labels/, or any table with the --join columns and the --label column),
    /// joined to the prediction rows by key; rows without a label are left out and counted, and
    /// of a key labelled twice the latest `timestamp` (else the last row) wins. Repeatable;
    /// --where and --schema apply to the predictions only
    #[arg(long, value_name = "LABELS")]
    labels: Vec<PathBuf>,
    /// The columns that pair a label with its prediction row, with --labels
    /// [default: `request_id,row`]
    #[arg(long, value_name = "COLUMN[,COLUMN...]", value_delimiter = ',')]
    join: Vec<String>,
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
    /// Also write the plot files (dvclive's `roc.json`, `precision_recall.json`,
    /// `confusion_matrix.json`) into this directory, for `mlops plots`
    #[arg(long, value_name = "DIR")]
    plots: Option<PathBuf>,
    /// Also write the overall metrics as one flat JSON object to this file, for a stage's
    /// `metrics:` (what `mlops exp show` and `mlops metrics diff` read)
    #[arg(long, value_name = "FILE")]
    metrics_file: Option<PathBuf>,
    // With `--executor slurm`, each shard sums its part and the sums are merged here
    // (categorical slices, no bootstrap).
    #[command(flatten)]
    shards: super::shards::ShardArgs,
    #[command(flatten)]
    part: super::shards::PartArgs,
    /// Write this shard's sums to FILE instead of a report, for `--executor slurm` to merge
    #[arg(long, value_name = "FILE", hide = true)]
    partial: Option<PathBuf>,
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

impl EvalArgs {
    /// The flags as settings of `eval.yaml`'s shape, for [`EvalConfig::over`]: a flag not given
    /// is a key not set (`--slice a,b` crosses columns, as a list in the file does).
    fn as_config(&self, cwd: &Path) -> EvalConfig {
        let list = |values: &[String]| (!values.is_empty()).then(|| values.to_vec());
        EvalConfig {
            label: self.label.clone(),
            prediction: self.prediction.clone(),
            score: list(&self.score).map(OneOrMany::Many),
            task: self.task.map(Task::from),
            threshold: self.threshold,
            pos_label: self.pos_label.clone(),
            weight: self.weight.clone(),
            slices: (!self.slice.is_empty()).then(|| {
                self.slice
                    .iter()
                    .map(|s| OneOrMany::Many(s.split(',').map(|c| c.trim().to_owned()).collect()))
                    .collect()
            }),
            bins: self.bins,
            slice_metric: self.slice_metric.map(|m| m.name().to_owned()),
            alpha: self.alpha,
            min_effect: self.min_effect,
            min_rows: self.min_rows,
            discover: self.discover,
            bootstrap: self.bootstrap,
            seed: self.seed,
            sensitive: list(&self.sensitive),
            fairness_method: self
                .fairness_method
                .map(|m| Method::from(m).name().to_owned()),
            privileged: self.privileged.clone(),
            fairlearn_compat: self.fairlearn_compat.then_some(true),
            drop_missing: self.drop_missing.then_some(true),
            gates: list(&self.gate),
            baseline: self.baseline.as_ref().map(|b| cwd.join(b)),
            labels: (!self.labels.is_empty()).then(|| {
                OneOrMany::Many(
                    self.labels
                        .iter()
                        .map(|l| l.to_string_lossy().into_owned())
                        .collect(),
                )
            }),
            join: list(&self.join).map(OneOrMany::Many),
        }
    }

    /// The options (flags over the config file over the library's defaults; gates from both),
    /// the baseline report's path and the labels' (a flag's are relative to the working
    /// directory, the config's to the config file), and the join's keys.
    fn options(&self, cwd: &Path) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(path) => {
                let path = cwd.join(path);
                let mut file = mlops_eval::config::load(&path)?;
                let dir = path.parent().unwrap_or(cwd);
                file.baseline = file.baseline.map(|b| dir.join(b));
                file.labels = file.labels.map(|labels| {
                    OneOrMany::Many(
                        labels
                            .into_vec()
                            .iter()
                            .map(|l| {
                                let path = mlops_data::input::resolve(dir, Path::new(l));
                                path.to_string_lossy().into_owned()
                            })
                            .collect(),
                    )
                });
                file
            }
            None => EvalConfig::default(),
        };
        let mut settings = self.as_config(cwd).over(file);
        let bootstrap_given = settings.bootstrap.is_some();
        let baseline = settings.baseline.take();
        let labels = Labels {
            paths: settings
                .labels
                .take()
                .map(|l| l.into_vec().into_iter().map(PathBuf::from).collect())
                .unwrap_or_default(),
            keys: settings.join.take().map(OneOrMany::into_names),
        };
        Ok(Settings {
            options: settings.into_options()?,
            baseline,
            labels,
            bootstrap_given,
        })
    }

    /// The flags that give a shard's task `options` as this run resolved them (config file
    /// included), with the read flags; what only the merged report needs (gates, baseline,
    /// outputs) stays here.
    fn shard_args(&self, options: &Options) -> Vec<String> {
        let mut args = self.read.to_args();
        let mut flag = |name: &str, value: String| args.extend([format!("--{name}"), value]);
        flag("label", options.label.clone());
        if let Some(p) = &options.prediction {
            flag("prediction", p.clone());
        }
        for score in &options.scores {
            flag("score", score.clone());
        }
        if let Some(task) = options.task {
            flag("task", mlops_eval::evaluate::task_name(task).to_owned());
        }
        // Display of an f64 reads back as the same number.
        flag("threshold", options.threshold.to_string());
        if let Some(p) = &options.pos_label {
            flag("pos-label", p.clone());
        }
        if let Some(w) = &options.weight {
            flag("weight", w.clone());
        }
        for set in &options.slices {
            flag("slice", set.join(","));
        }
        for s in &options.sensitive {
            flag("sensitive", s.clone());
        }
        if let Some((column, value)) = &options.privileged {
            flag("privileged", format!("{column}={value}"));
        }
        flag("bootstrap", "0".to_owned());
        if options.drop_missing {
            args.push("--drop-missing".to_owned());
        }
        args
    }
}

/// What the flags and the config file resolve to.
struct Settings {
    options: Options,
    baseline: Option<PathBuf>,
    labels: Labels,
    /// Whether the flags or the file set the bootstrap (an evaluation in shards refuses it;
    /// left to its default, it is turned off there).
    bootstrap_given: bool,
}

/// Where the labels are and the columns they join on, from the flags or the config file.
struct Labels {
    paths: Vec<PathBuf>,
    keys: Option<Vec<String>>,
}

impl Labels {
    /// The join, if labels are given; keys without labels are refused.
    fn join(self, ctx: &Context) -> anyhow::Result<Option<mlops_eval::join::Join>> {
        if self.paths.is_empty() {
            anyhow::ensure!(
                self.keys.is_none(),
                "--join (`join` in the config) names the columns labels join on; give --labels too"
            );
            return Ok(None);
        }
        Ok(Some(mlops_eval::join::Join {
            labels: super::read::ReadArgs::default().dataset(ctx, &self.paths)?,
            keys: self
                .keys
                .unwrap_or_else(|| vec!["request_id".to_owned(), "row".to_owned()]),
        }))
    }
}

pub(crate) fn run(args: &EvalArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let Settings {
        mut options,
        baseline,
        labels,
        bootstrap_given,
    } = args.options(&ctx.cwd)?;
    // A directory or glob names its files, as for every command reading tables; expanded
    // before the same-file check, so that an output among them is found.
    let data = args
        .read
        .dataset_part(ctx, &args.files, None, args.part.row_groups.clone())?;
    if let Some(part) = &args.partial {
        let part = ctx.cwd.join(part);
        mlops_core::outfile::ensure_not_input(&part, data.files())?;
        let sums = mlops_eval::sharded::partial(&data, &options)?;
        mlops_core::outfile::write(&part, &serde_json::to_vec(&sums)?)?;
        return Ok(ExitStatus::Success);
    }
    let sharded = args.shards.on_slurm();
    if sharded && !bootstrap_given {
        options.bootstrap.replicates = 0;
    }
    let targets = render::targets(&args.output, ctx, "eval", &render::eval::FORMATS)?;
    let mut inputs = data.files().to_vec();
    options.join = labels.join(ctx)?;
    inputs.extend(
        options
            .join
            .iter()
            .flat_map(|j| j.labels.files().iter().cloned()),
    );
    inputs.extend(baseline.iter().cloned());
    inputs.extend(args.config.iter().map(|c| ctx.cwd.join(c)));
    let plots_dir = args.plots.as_ref().map(|d| ctx.cwd.join(d));
    let metrics_file = args.metrics_file.as_ref().map(|f| ctx.cwd.join(f));
    let plot_files = plots_dir
        .iter()
        .flat_map(|dir| {
            ["roc.json", "precision_recall.json", "confusion_matrix.json"].map(|f| dir.join(f))
        })
        .chain(metrics_file.clone());
    for output in render::files(&targets)
        .map(std::path::Path::to_path_buf)
        .chain(plot_files)
    {
        mlops_core::outfile::ensure_not_input(&output, &inputs)?;
    }
    let baseline = baseline.map(|b| load_baseline(&b)).transpose()?;
    let report = if sharded {
        evaluate_on_slurm(args, ctx, &data, &options, baseline.as_ref())?
    } else {
        evaluate::evaluate(&data, &options, baseline.as_ref())?
    };
    render::emit(ctx.printer, &report, &targets, render::eval::render)?;
    if let Some(dir) = &plots_dir {
        fs_err::create_dir_all(dir)?;
        for (name, text) in mlops_eval::files::plot_files(&report) {
            mlops_core::outfile::write(&dir.join(name), text.as_bytes())?;
        }
        ctx.printer
            .note(&format!("wrote the plot files into {}", dir.display()));
    }
    if let Some(file) = &metrics_file {
        mlops_core::outfile::write(file, mlops_eval::files::metrics_file(&report).as_bytes())?;
        ctx.printer.note(&format!("wrote {}", file.display()));
    }
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

/// The report merged from `--shards` tasks of a Slurm job array, each summing up its part of
/// `data` (`mlops eval --partial`) with the options this run resolved.
fn evaluate_on_slurm(
    args: &EvalArgs,
    ctx: &Context,
    data: &mlops_data::Dataset,
    options: &Options,
    baseline: Option<&mlops_eval::evaluate::Baseline>,
) -> anyhow::Result<mlops_eval::report::EvalReport> {
    mlops_eval::sharded::check(options)?;
    let parts = super::shards::run_on_slurm(
        ctx,
        "eval",
        "--partial",
        data.files(),
        &args.shard_args(options),
        args.shards.count(),
        &ctx.cwd,
    )?;
    let read = |path: &Path| -> anyhow::Result<mlops_eval::sharded::Partial> {
        let text = fs_err::read_to_string(path)?;
        serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("the shard's sums `{}` do not read: {e}", path.display()))
    };
    let merged = parts
        .merged(read, |whole, part| Ok(whole.merge(part)?))?
        .ok_or_else(|| anyhow::anyhow!("no data to evaluate"))?;
    Ok(mlops_eval::sharded::report(
        &merged,
        parts.files.len(),
        &data.describe(),
        options,
        baseline,
    )?)
}
