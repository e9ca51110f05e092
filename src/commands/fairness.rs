//! `mlops fairness`: counterfactual and individual fairness of a model, and group thresholds
//! that mitigate a gap between groups.

use std::path::{Path, PathBuf};

use mlops_eval::counterfactual::CounterfactualReport;
use mlops_eval::gates::{Gate, GateResult, Values};
use mlops_eval::mitigate::{Constraint, FitOptions, Objective, Thresholds, Tradeoff};
use mlops_infer::Model;
use mlops_infer::device::{Device, DeviceChoice};
use mlops_infer::fairness::Compared;
use mlops_infer::postprocess::FittedOn;
use mlops_infer::spec::{ModelSpec, Task};
use serde::Serialize;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render;

/// Ask whether a model treats people alike: would its decision change with only their
/// sensitive attribute (counterfactual), do similar people get similar predictions
/// (consistency); and fit group thresholds that close a gap between groups (mitigate)
#[derive(Debug, clap::Subcommand)]
pub(crate) enum FairnessCommand {
    Counterfactual(Box<CounterfactualArgs>),
    Consistency(Box<ConsistencyArgs>),
    Mitigate(Box<MitigateArgs>),
}

/// The model and data every question about a model reads.
#[derive(Debug, clap::Args)]
pub(crate) struct ModelData {
    /// The model directory, or a registered version: NAME@v1.2.0, NAME@latest, NAME#prod
    #[arg(long, value_name = "DIR|REF")]
    model: PathBuf,
    /// Parquet, CSV or Arrow IPC files, directories, or quoted patterns, holding the model's
    /// inputs and the sensitive columns
    #[arg(required = true, value_name = "DATA")]
    data: Vec<PathBuf>,
    #[command(flatten)]
    read: super::read::ReadArgs,
    /// A sensitive column (repeatable)
    #[arg(long, required = true, value_name = "COLUMN")]
    sensitive: Vec<String>,
    /// A binary model without group thresholds predicts its second class at this score or above
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// A condition on the results that must hold, else exit 1, e.g. `'flip_rate <= 0.01'` or
    /// `'consistency >= 0.9'` (repeatable; `COLUMN.flip_rate` for one sensitive column)
    #[arg(long, value_name = "EXPR")]
    gate: Vec<String>,
    /// Also write the report as JSON to this file
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// A column that identifies rows, to name the rows that moved most by it
    #[arg(long, value_name = "COLUMN")]
    id: Option<String>,
}

/// Score every row as it is and with each sensitive value swapped for every other value of
/// its column, through the model's own preprocessing: per group, the share of rows whose
/// prediction flips and how far scores move; and the consistency of predictions between
/// neighbours
#[derive(Debug, clap::Args)]
pub(crate) struct CounterfactualArgs {
    #[command(flatten)]
    common: ModelData,
    /// How many of the rows that move most to list
    #[arg(long, default_value_t = 10, value_name = "N")]
    top: usize,
}

/// The consistency of a model's predictions (AIF360's individual fairness): one minus the mean
/// distance between a row's prediction and the mean prediction of its k nearest rows (itself
/// included), by the model's inputs other than the sensitive column
#[derive(Debug, clap::Args)]
pub(crate) struct ConsistencyArgs {
    #[command(flatten)]
    common: ModelData,
    /// What neighbours compare: predicted labels (AIF360's definition) or scores
    #[arg(long, value_enum, default_value_t = OnArg::Labels)]
    on: OnArg,
    /// The neighbours each row is compared with, itself included
    #[arg(long, default_value_t = mlops_eval::consistency::DEFAULT_NEIGHBOURS, value_name = "K")]
    neighbours: usize,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum OnArg {
    Labels,
    Scores,
}

/// Fit group thresholds on a binary model's scores, as fairlearn's `ThresholdOptimizer` does,
/// so that a fairness constraint holds while the objective is as good as it allows; write them
/// into the model directory's `model.yaml` (`postprocess:`), which `mlops predict` and `mlops
/// serve` apply, and report the trade-off before and after
#[derive(Debug, clap::Args)]
pub(crate) struct MitigateArgs {
    /// Scored data (what `mlops predict --keep LABEL,SENSITIVE` writes): the score, label and
    /// sensitive columns
    #[arg(long, required = true, value_name = "FILE")]
    scores: Vec<PathBuf>,
    #[command(flatten)]
    read: super::read::ReadArgs,
    /// The label column
    #[arg(long, default_value = "label", value_name = "COLUMN")]
    label: String,
    /// The score column: the model's probability of its second class
    #[arg(long, default_value = "score", value_name = "COLUMN")]
    score: String,
    /// The sensitive column whose groups get their own thresholds
    #[arg(long, value_name = "COLUMN")]
    sensitive: String,
    /// What the thresholds make equal between the groups
    #[arg(long, value_enum, default_value_t = ConstraintArg::DemographicParity)]
    constraint: ConstraintArg,
    /// What they make as good as the constraint allows
    #[arg(long, value_enum, default_value_t = ObjectiveArg::Accuracy)]
    objective: ObjectiveArg,
    /// The binary model directory that scored the data; its model.yaml gets the thresholds
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    /// Write a new model directory here (the model's files and a model.yaml with the
    /// thresholds) instead of changing --model
    #[arg(short, long, value_name = "DIR")]
    output: Option<PathBuf>,
    /// Replace thresholds the model already has, or write over files in -o
    #[arg(long)]
    force: bool,
    /// Seeds the draw between a group's two thresholds (each row's draw is its own)
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The single threshold the model used before, for the trade-off report
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Steps of the grid over the constrained rate (fairlearn's `grid_size`)
    #[arg(long, default_value_t = 1000, value_name = "N")]
    grid_size: usize,
    /// Let a group's threshold predict positive below it, for scores that run the wrong way
    /// in some group (fairlearn's `flip`)
    #[arg(long)]
    flip: bool,
}

/// Spelled as fairlearn spells them (`constraints="demographic_parity"`); the kebab-case
/// spellings of other flags' values are accepted too.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
enum ConstraintArg {
    #[value(alias = "demographic-parity")]
    DemographicParity,
    #[value(alias = "equalized-odds")]
    EqualizedOdds,
    #[value(alias = "true-positive-rate-parity")]
    TruePositiveRateParity,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
enum ObjectiveArg {
    Accuracy,
    #[value(alias = "balanced-accuracy")]
    BalancedAccuracy,
}

pub(crate) fn run(command: &FairnessCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    match command {
        FairnessCommand::Counterfactual(args) => counterfactual(args, ctx),
        FairnessCommand::Consistency(args) => consistency(args, ctx),
        FairnessCommand::Mitigate(args) => mitigate(args, ctx),
    }
}

/// One sensitive column's answers.
#[derive(Debug, Serialize)]
pub(crate) struct ColumnReport {
    /// The column's name, where no counterfactual report (which names it) stands beside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sensitive: Option<String>,
    #[serde(flatten)]
    pub(crate) counterfactual: Option<CounterfactualReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) consistency: Option<mlops_eval::consistency::Consistency>,
    /// Why consistency was not measured beside a counterfactual report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) consistency_unmeasured: Option<String>,
}

/// What `counterfactual` and `consistency` report.
#[derive(Debug, Serialize)]
pub(crate) struct FairnessReport {
    pub(crate) model: String,
    pub(crate) data: String,
    pub(crate) rows: usize,
    /// What consistency compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) compared: Option<Compared>,
    pub(crate) columns: Vec<ColumnReport>,
    pub(crate) gates: Vec<GateOutcome>,
    pub(crate) passed: bool,
}

/// A gate and how it came out.
#[derive(Debug, Serialize)]
pub(crate) struct GateOutcome {
    pub(crate) gate: String,
    pub(crate) passed: bool,
    pub(crate) value: Option<f64>,
    pub(crate) threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
}

impl From<(&Gate, GateResult)> for GateOutcome {
    fn from((gate, result): (&Gate, GateResult)) -> Self {
        GateOutcome {
            gate: gate.text.clone(),
            passed: result.passed,
            value: result.value,
            threshold: result.threshold,
            reason: result.reason,
        }
    }
}

/// The model, its device, and the table of its inputs and the sensitive columns.
fn read_model_data(
    common: &ModelData,
    ctx: &Context,
) -> anyhow::Result<(Model, Device, mlops_data::table::Table, String)> {
    let device = DeviceChoice::parse("cpu")?.open()?;
    let model = super::predict::load_model(ctx, &common.model, &device)?;
    let data = common.read.dataset(ctx, &common.data)?;
    super::predict::refuse_threshold(&model, common.threshold)?;
    let mut columns = mlops_infer::fairness::columns_read(&model, &common.sensitive);
    if let Some(id) = &common.id
        && !columns.contains(id)
    {
        columns.push(id.clone());
    }
    let schema = data.schema()?;
    for column in common.sensitive.iter().chain(&common.id) {
        anyhow::ensure!(
            schema.iter().any(|c| &c.name == column),
            "no column `{column}` in {}; the columns are {}",
            data.describe(),
            schema
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let table = data.read(&names)?;
    anyhow::ensure!(table.rows > 0, "{} has no rows", data.describe());
    // The data as the command line named it (paths stay valid in a report kept in the project).
    let data_named = common
        .data
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    Ok((model, device, table, data_named))
}

fn counterfactual(args: &CounterfactualArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let common = &args.common;
    let gates = parse_gates(&common.gate)?;
    let (model, device, table, data) = read_model_data(common, ctx)?;
    let mut columns = Vec::new();
    for sensitive in &common.sensitive {
        let mut counterfactual = mlops_infer::fairness::counterfactual(
            &model,
            &device,
            &table,
            sensitive,
            args.top,
            common.threshold,
        )
        .map_err(|e| in_data(e, &data))?;
        if let Some(ids) = common.id.as_deref().and_then(|id| table.column(id)) {
            let ids = ids.to_text();
            for change in &mut counterfactual.largest {
                change.id.clone_from(&ids[change.row]);
            }
        }
        // Consistency rides along where it can be measured; where it cannot (a multiclass
        // model, no other input, too few rows, a missing input), the report says why.
        let consistency = if model.spec.task == Task::Multiclass {
            Err(
                "consistency compares binary predictions or values; this model is multiclass"
                    .to_owned(),
            )
        } else {
            let compared = if model.spec.task == Task::Regression {
                Compared::Scores
            } else {
                Compared::Labels
            };
            mlops_infer::fairness::consistency(
                &model,
                &device,
                &table,
                sensitive,
                compared,
                mlops_eval::consistency::DEFAULT_NEIGHBOURS,
                common.threshold,
            )
            .map_err(|e| in_data(e, &data).to_string())
        };
        let (consistency, consistency_unmeasured) = match consistency {
            Ok(c) => (Some(c), None),
            Err(why) => (None, Some(why)),
        };
        columns.push(ColumnReport {
            sensitive: None,
            counterfactual: Some(counterfactual),
            consistency,
            consistency_unmeasured,
        });
    }
    finish(common, ctx, &gates, data, table.rows, None, columns)
}

/// The most neighbours consistency compares a row with: the search holds that many per row.
const MAX_NEIGHBOURS: usize = 1000;

fn consistency(args: &ConsistencyArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let common = &args.common;
    anyhow::ensure!(
        args.neighbours <= MAX_NEIGHBOURS,
        "--neighbours takes at most {MAX_NEIGHBOURS}; got {}",
        args.neighbours
    );
    let gates = parse_gates(&common.gate)?;
    let (model, device, table, data) = read_model_data(common, ctx)?;
    let compared = match args.on {
        OnArg::Labels => Compared::Labels,
        OnArg::Scores => Compared::Scores,
    };
    let mut columns = Vec::new();
    for sensitive in &common.sensitive {
        let consistency = mlops_infer::fairness::consistency(
            &model,
            &device,
            &table,
            sensitive,
            compared,
            args.neighbours,
            common.threshold,
        )
        .map_err(|e| in_data(e, &data))?;
        columns.push(ColumnReport {
            sensitive: Some(sensitive.clone()),
            counterfactual: None,
            consistency: Some(consistency),
            consistency_unmeasured: None,
        });
    }
    let rows = table.rows;
    finish(common, ctx, &gates, data, rows, Some(compared), columns)
}

/// `err` naming the data where the library could not (it scores a table, not files).
fn in_data(err: mlops_infer::Error, data: &str) -> mlops_infer::Error {
    match err {
        mlops_infer::Error::MissingInput {
            path,
            rows,
            row,
            column,
        } if path.as_os_str().is_empty() => mlops_infer::Error::MissingInput {
            path: PathBuf::from(data),
            rows,
            row,
            column,
        },
        mlops_infer::Error::Postprocess { path, row, problem } if path.as_os_str().is_empty() => {
            mlops_infer::Error::Postprocess {
                path: PathBuf::from(data),
                row,
                problem,
            }
        }
        err => err,
    }
}

fn parse_gates(gates: &[String]) -> anyhow::Result<Vec<Gate>> {
    gates
        .iter()
        .map(|g| Gate::parse(g).map_err(|e| anyhow::anyhow!("--gate: {e}")))
        .collect()
}

/// Checks the gates, writes and renders the report, and says whether every gate held.
fn finish(
    common: &ModelData,
    ctx: &Context,
    gates: &[Gate],
    data: String,
    rows: usize,
    compared: Option<Compared>,
    columns: Vec<ColumnReport>,
) -> anyhow::Result<ExitStatus> {
    let values = GateValues {
        names: &common.sensitive,
        columns: &columns,
    };
    let outcomes: Vec<GateOutcome> = gates
        .iter()
        .map(|gate| {
            gate.evaluate(&values, None)
                .map(|result| GateOutcome::from((gate, result)))
                .map_err(|e| anyhow::anyhow!("--gate `{gate}`: {e}"))
        })
        .collect::<anyhow::Result<_>>()?;
    let passed = outcomes.iter().all(|g| g.passed);
    let report = FairnessReport {
        model: common.model.display().to_string(),
        data,
        rows,
        compared,
        columns,
        gates: outcomes,
        passed,
    };
    if let Some(output) = &common.output {
        let inputs: Vec<PathBuf> = common.data.iter().map(|p| ctx.cwd.join(p)).collect();
        mlops_core::outfile::ensure_not_input(&ctx.output(output), &inputs)?;
        mlops_core::outfile::write(
            &ctx.output(output),
            render::json::pretty(&report)?.as_bytes(),
        )?;
        ctx.printer.note(&format!("wrote {}", output.display()));
    }
    ctx.printer
        .report(&report, |r| render::fairness::report(r, &common.sensitive))?;
    for gate in report.gates.iter().filter(|g| !g.passed) {
        ctx.printer.warn(&format!("gate failed: {}", gate.gate));
    }
    Ok(if passed {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// The numbers gates name: `flip_rate`, `mean_abs_change`, `max_abs_change` (the largest over
/// the sensitive columns) and `consistency` (the smallest), and each as `COLUMN.NAME`.
struct GateValues<'a> {
    names: &'a [String],
    columns: &'a [ColumnReport],
}

const GATE_METRICS: [&str; 4] = [
    "flip_rate",
    "mean_abs_change",
    "max_abs_change",
    "consistency",
];

impl GateValues<'_> {
    /// `metric` of one column: a model that does not read the column moves nobody by it (0).
    fn of(column: &ColumnReport, metric: &str) -> Option<f64> {
        if metric == "consistency" {
            return column.consistency.as_ref().map(|c| c.consistency);
        }
        let counterfactual = column.counterfactual.as_ref()?;
        let Some(overall) = &counterfactual.overall else {
            return Some(0.0);
        };
        Some(match metric {
            "flip_rate" => overall.flip_rate,
            "mean_abs_change" => overall.mean_abs_change,
            _ => overall.max_abs_change,
        })
    }
}

impl Values for GateValues<'_> {
    fn value(&self, path: &str) -> Option<Result<f64, String>> {
        let (columns, metric): (Vec<&ColumnReport>, &str) = match path.rsplit_once('.') {
            Some((name, metric)) => {
                let at = self.names.iter().position(|n| n == name)?;
                (vec![&self.columns[at]], metric)
            }
            None => (self.columns.iter().collect(), path),
        };
        if !GATE_METRICS.contains(&metric) {
            return None;
        }
        let values: Vec<f64> = columns.iter().filter_map(|c| Self::of(c, metric)).collect();
        if values.is_empty() {
            return if self.columns.iter().all(|c| c.counterfactual.is_none())
                && metric != "consistency"
            {
                None
            } else {
                Some(Err(format!("no {metric} was measured")))
            };
        }
        Some(Ok(if metric == "consistency" {
            values.into_iter().fold(f64::INFINITY, f64::min)
        } else {
            values.into_iter().fold(f64::NEG_INFINITY, f64::max)
        }))
    }

    fn names(&self) -> Vec<String> {
        let counterfactual = self.columns.iter().any(|c| c.counterfactual.is_some());
        let metrics: Vec<&str> = GATE_METRICS
            .into_iter()
            .filter(|m| counterfactual || *m == "consistency")
            .collect();
        let mut names: Vec<String> = metrics.iter().map(|m| (*m).to_owned()).collect();
        for column in self.names {
            names.extend(metrics.iter().map(|m| format!("{column}.{m}")));
        }
        names
    }

    fn slice_values(&self, _metric: &str) -> Vec<f64> {
        Vec::new()
    }
}

/// What `mitigate` did.
#[derive(Debug, Serialize)]
pub(crate) struct MitigateReport {
    /// The model directory written.
    pub(crate) model: PathBuf,
    pub(crate) sensitive: String,
    pub(crate) fitted_on: FittedOn,
    pub(crate) thresholds: Thresholds,
    pub(crate) tradeoff: Tradeoff,
}

fn mitigate(args: &MitigateArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let dir = ctx.cwd.join(&args.model);
    let spec = ModelSpec::read(&dir.join(mlops_infer::model::SPEC_FILE))?;
    let data = args.read.dataset(ctx, &args.scores)?;
    let table = data.read(&[&args.score, &args.label, &args.sensitive])?;
    let options = mlops_infer::postprocess::FitFrom {
        data: args
            .scores
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
        score: args.score.clone(),
        label: args.label.clone(),
        sensitive: args.sensitive.clone(),
        fit: FitOptions {
            constraint: match args.constraint {
                ConstraintArg::DemographicParity => Constraint::DemographicParity,
                ConstraintArg::EqualizedOdds => Constraint::EqualizedOdds,
                ConstraintArg::TruePositiveRateParity => Constraint::TruePositiveRateParity,
            },
            objective: match args.objective {
                ObjectiveArg::Accuracy => Objective::Accuracy,
                ObjectiveArg::BalancedAccuracy => Objective::BalancedAccuracy,
            },
            grid_size: args.grid_size,
            flip: args.flip,
        },
        threshold: args.threshold,
        seed: args.seed,
    };
    let post = mlops_infer::postprocess::fit(&spec, &table, &options)?;
    if args.output.is_none() && !args.force {
        refuse_tracked(ctx, &args.model)?;
    }
    let copy = args.output.as_ref().map(|o| ctx.cwd.join(o));
    let written = mlops_infer::postprocess::write(&dir, copy.as_deref(), &post, args.force)?;
    let report = MitigateReport {
        model: relative(ctx, &written),
        sensitive: post.sensitive,
        fitted_on: post.fitted_on.expect("fit records its data"),
        thresholds: post.thresholds,
        tradeoff: post.tradeoff.expect("fit records its trade-off"),
    };
    ctx.printer.report(&report, render::fairness::mitigated)?;
    Ok(ExitStatus::Success)
}

/// Refuses to change a model directory that is versioned (a pointer file's data or a pipeline
/// stage's output): its recorded digest would no longer match, and the stage that made it would
/// make it again without the thresholds.
fn refuse_tracked(ctx: &Context, model: &Path) -> anyhow::Result<()> {
    let Ok(ws) = ctx.workspace() else {
        return Ok(());
    };
    if let Ok(tracked) = ctx.tracked(&ws, &[model.to_path_buf()])
        && !tracked.is_empty()
    {
        anyhow::bail!(
            "`{}` is versioned (tracked data or a stage's output): changing it in place would leave its recorded digest behind, and a pipeline would make it again without the thresholds; write a new model directory with -o DIR (a stage of its own), or --force",
            model.display()
        );
    }
    Ok(())
}

/// `path` relative to the current directory where it lies under it.
fn relative(ctx: &Context, path: &Path) -> PathBuf {
    path.strip_prefix(&ctx.cwd).unwrap_or(path).to_path_buf()
}
