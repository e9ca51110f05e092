//! `mlops dag`, `mlops stage list` and `mlops stage exec`: the shape of the pipeline, what is out
//! of date, and the step a cluster job runs.

use clap::ValueEnum as _;
use mlops_pipeline::dag::Dag;
use mlops_pipeline::run::StageStatus;
use mlops_pipeline::spec::Pipeline;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render::pipeline::{DagFormat, DagReport, DagStage, StageState};
use crate::render::{self, OutputArgs};

/// Print the stage graph
#[derive(Debug, clap::Args)]
pub(crate) struct DagArgs {
    /// Text, Graphviz dot, or a Mermaid flowchart (for Markdown) [default: text]
    #[arg(long, value_enum)]
    format: Option<DagFormat>,
}

pub(crate) fn dag(args: &DagArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let format = args.format.unwrap_or(DagFormat::Text);
    if ctx.printer.is_json() && args.format.is_some() {
        anyhow::bail!(
            "`--json` and `--format {}` ask for different formats: give one of them",
            format
                .to_possible_value()
                .map_or_else(String::new, |v| v.get_name().to_owned())
        );
    }
    let ws = ctx.workspace()?;
    let pipeline = Pipeline::load(ws.root())?;
    let dag = Dag::build(&pipeline, ws.root())?;
    let name = |i: usize| pipeline.stages[i].name.clone();
    let report = DagReport {
        stages: dag
            .order
            .iter()
            .map(|&i| DagStage {
                name: name(i),
                after: dag.upstream[i].iter().map(|&u| name(u)).collect(),
            })
            .collect(),
    };
    ctx.printer
        .report(&report, |r| render::pipeline::dag(r, format))?;
    Ok(ExitStatus::Success)
}

/// Manage pipeline stages
#[derive(Debug, clap::Subcommand)]
pub(crate) enum StageCommand {
    /// List the stages and whether each is up to date, and if not, why
    List {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Bring one stage up to date inside a cluster job (what `mlops run --executor slurm`
    /// submits; not for use by hand)
    Exec {
        /// The stage
        name: String,
        /// Where the job's result goes (a file in `.mlops/cluster/`)
        #[arg(long, value_name = "FILE", required_unless_present = "remote_job")]
        result: Option<std::path::PathBuf>,
        /// Run the command even when the stage is up to date
        #[arg(short, long)]
        force: bool,
        /// The job of a node that does not mount the workspace, as the driver wrote it: the
        /// stage runs in a workspace of its own, through the default remote
        #[arg(long, value_name = "JSON", hide = true, conflicts_with = "result")]
        remote_job: Option<String>,
        /// The environment digest of a stage with `env: strict` as the submitting host sees
        /// it: the job compares and records that one, as the next `mlops run` there will
        #[arg(long, value_name = "DIGEST", hide = true, value_parser = parse_digest)]
        env_digest: Option<mlops_core::Digest>,
    },
}

/// A blake3 digest as 64 hex digits.
fn parse_digest(text: &str) -> Result<mlops_core::Digest, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a digest (64 hex digits)"))
}

pub(crate) fn stage(command: &StageCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    match command {
        StageCommand::List { output } => {
            let targets = render::targets(output, ctx, "stage list", &render::pipeline::FORMATS)?;
            let outcomes = mlops_pipeline::run::dry_run_all(&ctx.workspace()?)?;
            let states: Vec<StageState> = outcomes
                .into_iter()
                .map(|o| StageState {
                    up_to_date: o.status == StageStatus::Skipped,
                    stage: o.stage,
                    reasons: o.reasons,
                })
                .collect();
            render::emit(ctx.printer, &states, &targets, |l, f| {
                render::pipeline::stages(l, f)
            })?;
        }
        StageCommand::Exec {
            name,
            result,
            force,
            remote_job,
            env_digest,
        } => {
            let console = crate::commands::run::Console::new(ctx.printer, false);
            let outcome = if let Some(json) = remote_job {
                let job: mlops_pipeline::cluster::remote::RemoteJob = serde_json::from_str(json)
                    .map_err(|e| anyhow::anyhow!("--remote-job does not read: {e}"))?;
                anyhow::ensure!(
                    job.stage == *name,
                    "--remote-job is for stage `{}`, not `{name}`",
                    job.stage
                );
                mlops_pipeline::cluster::remote::exec(
                    &job,
                    Some(env!("CARGO_PKG_VERSION")),
                    &console,
                )?
            } else {
                let ws = ctx.workspace()?;
                let result = result.as_ref().expect("clap requires --result");
                let options = mlops_pipeline::cluster::job::ExecOptions {
                    force: *force,
                    mlops_version: Some(env!("CARGO_PKG_VERSION")),
                    env_digest: *env_digest,
                };
                mlops_pipeline::cluster::job::exec(&ws, name, result, &options, &console)?
            };
            mlops_pipeline::run::Observer::finished(&console, &outcome);
            if outcome.status == StageStatus::Failed {
                return Ok(ExitStatus::Failure);
            }
        }
    }
    Ok(ExitStatus::Success)
}
