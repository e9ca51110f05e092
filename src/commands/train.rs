//! `mlops train`: fit a tabular model (logistic, linear or MLP) and write a model directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use mlops_infer::device::DeviceChoice;
use mlops_infer::model::{SPEC_FILE, WEIGHTS_FILE};
use mlops_infer::spec::Task;
use mlops_infer::train::{
    self, Architecture, LOSS_FILE, METRICS_FILE, Solver, TrainConfig, TrainReport,
};

use crate::commands::Context;
use crate::commands::predict::{prepare_compute, threads_or_all};
use crate::error::ExitStatus;
use crate::render::text;

/// Fit a tabular model on Parquet or CSV data and write a model directory that `mlops predict`
/// scores with: `model.yaml`, `model.safetensors` and `metrics.json`
#[derive(Debug, clap::Args)]
pub(crate) struct TrainArgs {
    /// Settings from a YAML file with the flags' names as keys (underscores for dashes); flags
    /// given here override it
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Training data: Parquet, CSV or Arrow IPC files, directories (the tables under them), or
    /// quoted patterns (`**` crosses directories)
    #[arg(long, value_name = "FILE", num_args = 1..)]
    data: Vec<PathBuf>,
    #[command(flatten)]
    read: super::read::ReadArgs,
    /// The column to predict
    #[arg(long, value_name = "COLUMN")]
    label: Option<String>,
    /// Input columns (comma-separated) [default: every column but the label]
    #[arg(long, value_delimiter = ',', value_name = "COLUMN")]
    features: Vec<String>,
    /// Columns to leave out of the inputs (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "COLUMN")]
    exclude: Vec<String>,
    /// The network [default: mlp]
    #[arg(long, value_enum)]
    model: Option<ArchitectureArg>,
    /// The task [default: regression for `--model linear` or an MLP with a float label, else
    /// classification]
    #[arg(long, value_enum)]
    task: Option<TaskArg>,
    /// Hidden layer widths of an MLP (comma-separated) [default: 64,64]
    #[arg(long, value_delimiter = ',', value_name = "WIDTHS")]
    hidden: Vec<usize>,
    /// How the weights are found: newton (logistic and linear models, to the optimum, as
    /// scikit-learn) or adamw (mini-batches; the only one for an MLP) [default: newton for
    /// logistic and linear, adamw for mlp]
    #[arg(long, value_enum)]
    solver: Option<SolverArg>,
    /// Newton, logistic: inverse strength of the L2 penalty, scikit-learn's `C`; `inf` for none
    /// [default: 1]
    #[arg(long, value_name = "C")]
    c: Option<f64>,
    /// Newton, linear: strength of the L2 penalty, scikit-learn's `Ridge(alpha)` [default: 0,
    /// ordinary least squares]
    #[arg(long)]
    alpha: Option<f64>,
    /// Newton: fit without an intercept (scikit-learn's `fit_intercept=False`)
    #[arg(long)]
    no_intercept: bool,
    /// Newton: stop when the largest gradient entry of the mean loss (and half the Newton
    /// decrement) is under this [default: 1e-8]
    #[arg(long)]
    tol: Option<f64>,
    /// Newton: the most iterations [default: 100]
    #[arg(long, value_name = "N")]
    max_iter: Option<usize>,
    /// AdamW: the most passes over the training rows [default: 100]
    #[arg(long)]
    epochs: Option<usize>,
    /// AdamW: stop after this many epochs without the validation loss (the training loss with
    /// --validation 0) dropping by more than 1e-4; with validation rows, the best epoch's weights
    /// are kept [default: 5]
    #[arg(long, value_name = "EPOCHS")]
    patience: Option<usize>,
    /// AdamW: rows per optimisation step [default: 256]
    #[arg(long)]
    batch_size: Option<usize>,
    /// AdamW's learning rate [default: 0.001]
    #[arg(long)]
    lr: Option<f64>,
    /// AdamW's weight decay [default: 0]
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Seed of the initial weights, the split and the shuffles [default: 0]
    #[arg(long)]
    seed: Option<u64>,
    /// Share of rows held out for validation [default: 0.2]
    #[arg(long)]
    validation: Option<f64>,
    /// The model directory to write
    #[arg(short, long, value_name = "DIR")]
    output: Option<PathBuf>,
    /// Replace a model already in the output directory
    #[arg(long)]
    force: bool,
    /// Threads [default: the machine's cores]
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Where to train: cpu, cuda or cuda:N
    #[arg(long, default_value = "cpu")]
    device: String,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ArchitectureArg {
    /// One linear layer through a sigmoid or softmax
    Logistic,
    /// One linear layer, for regression
    Linear,
    /// Linear layers with ReLU between them (--hidden)
    Mlp,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SolverArg {
    /// Full batch, to the optimum (logistic and linear models)
    Newton,
    /// AdamW on shuffled mini-batches
    Adamw,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum TaskArg {
    Binary,
    Multiclass,
    Regression,
}

impl TrainArgs {
    /// The settings the flags give, relative paths resolved against `ctx`'s directory.
    fn config(&self, ctx: &Context) -> TrainConfig {
        let some = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        TrainConfig {
            data: (!self.data.is_empty()).then(|| {
                self.data
                    .iter()
                    .map(|p| super::read::resolve(ctx, p))
                    .collect()
            }),
            label: self.label.clone(),
            features: some(&self.features),
            exclude: some(&self.exclude),
            model: self.model.map(|m| match m {
                ArchitectureArg::Logistic => Architecture::Logistic,
                ArchitectureArg::Linear => Architecture::Linear,
                ArchitectureArg::Mlp => Architecture::Mlp,
            }),
            task: self.task.map(|t| match t {
                TaskArg::Binary => Task::Binary,
                TaskArg::Multiclass => Task::Multiclass,
                TaskArg::Regression => Task::Regression,
            }),
            hidden: (!self.hidden.is_empty()).then(|| self.hidden.clone()),
            solver: self.solver.map(|s| match s {
                SolverArg::Newton => Solver::Newton,
                SolverArg::Adamw => Solver::Adamw,
            }),
            c: self.c,
            alpha: self.alpha,
            fit_intercept: self.no_intercept.then_some(false),
            tol: self.tol,
            max_iter: self.max_iter,
            epochs: self.epochs,
            patience: self.patience,
            batch_size: self.batch_size,
            lr: self.lr,
            weight_decay: self.weight_decay,
            seed: self.seed,
            validation: self.validation,
            output: self.output.as_ref().map(|p| ctx.cwd.join(p)),
        }
    }
}

pub(crate) fn run(args: &TrainArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let threads = threads_or_all(args.threads)?;
    prepare_compute(threads);
    let flags = args.config(ctx);
    let mut config = match &args.config {
        Some(path) => TrainConfig::read(&ctx.cwd.join(path))?.overridden_by(flags),
        None => flags,
    };
    // A train.yaml's URLs read with a workspace remote's endpoint and credentials, as --data's.
    for input in config.data.iter_mut().flatten() {
        *input = super::read::resolve(ctx, input);
    }
    let output = config.output.clone().ok_or_else(|| {
        anyhow::anyhow!(
            "give the model directory to write with -o DIR (or `output:` in the config)"
        )
    })?;
    check_output(args, &config, ctx, &output)?;
    let device = DeviceChoice::parse(&args.device)?.open()?;
    let trained = train::train(
        &config,
        &args.read.options()?,
        &device,
        &ctx.printer.progress(),
    )?;
    trained.save(&output)?;
    // The epoch table is progress for people: on stderr, silenced by `-q` (and `--json`, whose
    // report holds the epochs).
    if !trained.report.epochs.is_empty() {
        ctx.printer.note(epoch_table(&trained.report).trim_end());
    }
    if trained.report.converged == Some(false) {
        ctx.printer.warn(
            "the newton solver stopped before the gradient reached --tol; raise --max-iter, or lower --c if the classes are separable",
        );
    }
    ctx.printer
        .report(&trained.report, |report| human(report, &output))?;
    Ok(ExitStatus::Success)
}

/// Refuses an output directory that holds a model (without `--force`), or whose files would
/// overwrite the training data or the config file.
fn check_output(
    args: &TrainArgs,
    config: &TrainConfig,
    ctx: &Context,
    output: &Path,
) -> anyhow::Result<()> {
    if !args.force
        && [SPEC_FILE, WEIGHTS_FILE]
            .iter()
            .any(|f| output.join(f).exists())
    {
        anyhow::bail!(
            "`{}` already holds a model; pass --force to replace it, or choose another -o",
            output.display()
        );
    }
    // The data as the library will read it (directories and patterns expanded); an input that
    // does not expand is reported by the library. A URL is never a local output (and listing
    // it would cost a request).
    let mut inputs: Vec<PathBuf> = config
        .data
        .iter()
        .flatten()
        .filter(|p| !mlops_data::input::is_url(p))
        .flat_map(|p| mlops_data::input::expand(p).unwrap_or_else(|_| vec![p.clone()]))
        .collect();
    inputs.extend(args.config.iter().map(|c| ctx.cwd.join(c)));
    for name in [SPEC_FILE, WEIGHTS_FILE, METRICS_FILE, LOSS_FILE] {
        mlops_core::outfile::ensure_not_input(&output.join(name), &inputs)?;
    }
    Ok(())
}

fn epoch_table(report: &TrainReport) -> String {
    let rows: Vec<Vec<String>> = report
        .epochs
        .iter()
        .map(|e| {
            vec![
                e.epoch.to_string(),
                format!("{:.5}", e.train_loss),
                e.validation_loss
                    .map_or_else(|| "-".into(), |l| format!("{l:.5}")),
            ]
        })
        .collect();
    let step = match report.solver {
        Solver::Newton => "iteration",
        Solver::Adamw => "epoch",
    };
    text::table(&[step, "train loss", "validation loss"], &rows)
}

fn human(report: &TrainReport, output: &Path) -> String {
    let mut text = String::new();
    if !report.validation.is_empty() {
        let metrics: Vec<String> = report
            .validation
            .iter()
            .map(|(name, value)| match value {
                Some(v) => format!("{name} {v:.4}"),
                None => format!("{name} undefined"),
            })
            .collect();
        let _ = writeln!(
            text,
            "validation ({}): {}",
            text::count(report.rows_validation as u64, "row", "rows"),
            metrics.join(", ")
        );
    }
    let _ = writeln!(
        text,
        "wrote {}: {} model, {} inputs, {} parameters, weights {} ({} training rows in {})",
        output.display(),
        report.task.name(),
        report.inputs.len(),
        report.parameters,
        &report.digest[..12],
        report.rows_train,
        text::seconds(report.seconds),
    );
    text
}
