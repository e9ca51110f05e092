//! `mlops monitor`: windows over the prediction log, each with its realised and estimated
//! performance, drift and missing values against the reference; alert rules fire and are
//! delivered.

use std::path::{Path, PathBuf};

use mlops_monitor::config::ConfigFile;
use mlops_monitor::input::Columns;
use mlops_monitor::monitor::{self, Inputs, Options};
use mlops_monitor::windows::Spec;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render::{self, OutputArgs};

/// Watch a deployed model over time: per window of the prediction log, its realised
/// performance where labels have arrived, its performance estimated without labels (CBPE),
/// univariate and multivariate drift and missing values, each against the reference's band;
/// exit status 1 when an alert rule fires
#[derive(Debug, clap::Args)]
pub(crate) struct MonitorArgs {
    /// The reference: labelled validation data with the model's scores and predictions (a
    /// file, a directory or a quoted pattern) [default: `reference:` of the config]
    #[arg(long, value_name = "DATA")]
    reference: Option<PathBuf>,
    /// The predictions: the log `mlops serve` writes (`.mlops/predictions/MODEL`), or any table
    /// with a timestamp [default: `predictions:` of the config]
    #[arg(long, value_name = "DATA")]
    predictions: Option<PathBuf>,
    /// Labels kept apart from the predictions (the labels log of `mlops serve`), paired by the
    /// --id columns [default: `labels:` of the config; none: a label column of the predictions]
    #[arg(long, value_name = "DATA")]
    labels: Option<PathBuf>,
    /// The monitor's configuration: columns, alert rules and sinks (docs/monitoring.md)
    /// [default: `monitor.yaml` when it exists]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The window: a period (`1d`, `6h`, `30m`, `1w`) or a row count (`50000`) [default: 1d]
    #[arg(long)]
    window: Option<String>,
    /// The timestamp column [default: timestamp]
    #[arg(long, value_name = "COLUMN")]
    timestamp: Option<String>,
    /// The positive class's score column [default: score]
    #[arg(long, value_name = "COLUMN")]
    score: Option<String>,
    /// The predicted class column [default: prediction; without it, score >= --threshold]
    #[arg(long, value_name = "COLUMN")]
    prediction: Option<String>,
    /// The label column, in the reference and the labels [default: label]
    #[arg(long, value_name = "COLUMN")]
    label: Option<String>,
    /// The columns pairing predictions with labels (comma-separated) [default: `request_id,row`]
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    id: Option<Vec<String>>,
    /// The features watched for drift (comma-separated) [default: every column the reference
    /// and the predictions share, less the ones above and the log's own]
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    features: Option<Vec<String>>,
    /// The positive class of a text label or prediction
    #[arg(long, value_name = "CLASS")]
    pos_label: Option<String>,
    /// Predict positive at or above this score when there is no prediction column [default: 0.5]
    #[arg(long)]
    threshold: Option<f64>,
    /// How each column's drift is measured: `nannyml` (Jensen-Shannon on Doane bins, alerting
    /// above the reference windows' band) or a test of `mlops drift` (ks, psi, wasserstein, ...)
    /// at its threshold [default: `drift.test` of the config, else nannyml]
    #[arg(long, value_name = "TEST")]
    drift_test: Option<String>,
    /// The drift test's threshold: a p-value for tests, a distance otherwise [default: the
    /// test's own]
    #[arg(long, value_name = "T", allow_negative_numbers = true)]
    drift_threshold: Option<f64>,
    /// Bootstrap replicates for the realised metrics' intervals (0: none)
    #[arg(long, default_value_t = 200)]
    bootstrap: usize,
    /// The state file of an incremental monitor: windows computed before are not read again
    /// [default: `.mlops/monitor/state.json` in a workspace; none outside one]
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Compute every window afresh, without a state file
    #[arg(long, conflicts_with = "state")]
    no_state: bool,
    /// Report firing alerts without delivering them to their sinks
    #[arg(long)]
    no_deliver: bool,
    #[command(flatten)]
    read: super::read::ReadArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Exit 0 even when an alert fires
    #[arg(long)]
    no_fail: bool,
}

/// The config file: given, or `monitor.yaml` in the current directory when it exists.
fn config(args: &MonitorArgs, ctx: &Context) -> anyhow::Result<(PathBuf, ConfigFile)> {
    let path = if let Some(p) = &args.config {
        ctx.cwd.join(p)
    } else {
        let default = ctx.cwd.join("monitor.yaml");
        if !default.is_file() {
            return Ok((default, ConfigFile::default()));
        }
        default
    };
    let file = ConfigFile::load(&path)?;
    Ok((path, file))
}

/// A path of the config file, relative to the file's directory.
fn beside(config: &Path, path: &Path) -> PathBuf {
    config
        .parent()
        .map_or_else(|| path.to_owned(), |dir| dir.join(path))
}

impl MonitorArgs {
    /// The columns: flags over the config over the serve log's names.
    fn columns(&self, file: &ConfigFile) -> Columns {
        let c = &file.columns;
        let defaults = Columns::default();
        Columns {
            timestamp: pick(self.timestamp.as_ref(), c.timestamp.as_ref())
                .unwrap_or(defaults.timestamp),
            score: pick(self.score.as_ref(), c.score.as_ref()).or(defaults.score),
            prediction: pick(self.prediction.as_ref(), c.prediction.as_ref())
                .or(defaults.prediction),
            label: pick(self.label.as_ref(), c.label.as_ref()).unwrap_or(defaults.label),
            id: pick(self.id.as_ref(), c.id.as_ref()).unwrap_or(defaults.id),
            features: pick(self.features.as_ref(), c.features.as_ref()),
            pos_label: pick(self.pos_label.as_ref(), c.pos_label.as_ref()),
            threshold: self.threshold.or(c.threshold).unwrap_or(defaults.threshold),
        }
    }
}

/// The flag's value, or else the config's.
fn pick<T: Clone>(flag: Option<&T>, config: Option<&T>) -> Option<T> {
    flag.or(config).cloned()
}

pub(crate) fn run(args: &MonitorArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    // Windows and their columns are large short-lived buffers: glibc kept handing them back to
    // the kernel and faulting them in again, a fifth of the run.
    crate::commands::predict::prepare_compute(crate::commands::predict::threads_or_all(None)?);
    let targets = render::targets(&args.output, ctx, "monitor", &render::monitor::FORMATS)?;
    let (config_path, file) = config(args, ctx)?;
    // Outside a workspace there is no state file and no `config.local.yaml`; a workspace whose
    // config is refused (a `secrets:` in the committed file) is an error, not "no workspace".
    let workspace = match mlops_core::workspace::Workspace::discover(&ctx.cwd) {
        Ok(ws) => Some(ws),
        Err(mlops_core::Error::NotAWorkspace { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let local = workspace.as_ref().map(|ws| ws.config().clone());
    let secret = |name: &str| match &local {
        Some(config) => config.secret(name),
        None => mlops_core::config::secret_from_env(name),
    };
    let path_of = |flag: &Option<PathBuf>, key: &Option<PathBuf>, what: &str| {
        flag.as_ref()
            .map(|p| ctx.cwd.join(p))
            .or_else(|| key.as_ref().map(|p| beside(&config_path, p)))
            .ok_or_else(|| anyhow::anyhow!("give --{what} (or `{what}:` in the config)"))
    };
    let reference = path_of(&args.reference, &file.reference, "reference")?;
    let predictions = path_of(&args.predictions, &file.predictions, "predictions")?;
    let labels = path_of(&args.labels, &file.labels, "labels").ok();
    let window = args
        .window
        .as_deref()
        .or(file.window.as_deref())
        .unwrap_or("1d");
    let state = match (&args.state, args.no_state, &workspace) {
        (Some(path), false, _) => Some(ctx.cwd.join(path)),
        (None, false, Some(ws)) => Some(monitor::default_state(&ws.mlops_dir())),
        (_, true, _) | (None, false, None) => None,
    };
    let options = Options {
        window: Spec::parse(window)?,
        columns: args.columns(&file),
        rules: file.rules(&config_path)?,
        sinks: file.sinks(&config_path, &secret)?,
        drift_test: file.drift_test(args.drift_test.as_deref(), args.drift_threshold)?,
        bootstrap: args.bootstrap,
        seed: 0,
        state,
        deliver: !args.no_deliver,
    };
    let inputs = Inputs {
        reference: args.read.dataset(ctx, &[reference])?,
        predictions: args.read.dataset(ctx, &[predictions])?,
        labels: labels.map(|l| args.read.dataset(ctx, &[l])).transpose()?,
    };
    let read: Vec<&PathBuf> = [&inputs.reference, &inputs.predictions]
        .into_iter()
        .chain(&inputs.labels)
        .flat_map(mlops_data::Dataset::files)
        .collect();
    for output in render::files(&targets) {
        mlops_core::outfile::ensure_not_input(output, &read)?;
    }
    // Only once every flag and the config are checked: the default state is this machine's,
    // and git ignores it, as it does the serve log.
    if let (Some(ws), None, false) = (&workspace, &args.state, args.no_state) {
        ws.ensure_ignored(&["/monitor/"])?;
    }
    let report = monitor::monitor(&inputs, &options)?;
    render::emit(ctx.printer, &report, &targets, render::monitor::render)?;
    for alert in report.alerts.iter().filter(|a| !a.fired.is_empty()) {
        ctx.printer.warn(&format!(
            "alert `{}` fired on {} ({})",
            alert.name,
            alert.fired.join(", "),
            alert.rule
        ));
        for d in &alert.deliveries {
            let verb = if d.delivered {
                "delivered to"
            } else {
                "NOT delivered to"
            };
            let line = format!(
                "alert `{}` on {}: {verb} `{}` after {} attempt(s): {}",
                alert.name, d.window, d.sink, d.attempts, d.outcome
            );
            // A firing nobody was told of is a warning, with --json too.
            if d.delivered {
                ctx.printer.note(&line);
            } else {
                ctx.printer.warn(&line);
            }
        }
    }
    Ok(if report.passed || args.no_fail {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
