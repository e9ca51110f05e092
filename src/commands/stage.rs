//! `mlops dag` and `mlops stage list`: the shape of the pipeline and what is out of date.

use std::fmt::Write as _;

use mlops_pipeline::dag::Dag;
use mlops_pipeline::run::StageStatus;
use mlops_pipeline::spec::Pipeline;
use serde::Serialize;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render::pipeline::StageState;
use crate::render::text::table;
use crate::render::{self, OutputArgs};

/// Print the stage graph
#[derive(Debug, clap::Args)]
pub(crate) struct DagArgs {
    /// Text, Graphviz dot, or a Mermaid flowchart (for Markdown)
    #[arg(long, value_enum, default_value_t = DagFormat::Text)]
    format: DagFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum DagFormat {
    Text,
    Dot,
    Mermaid,
}

#[derive(Serialize)]
struct DagReport {
    stages: Vec<DagStage>,
}

#[derive(Serialize)]
struct DagStage {
    name: String,
    after: Vec<String>,
}

pub(crate) fn dag(args: &DagArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
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
    ctx.printer.report(&report, |r| {
        let mut out = String::new();
        match args.format {
            DagFormat::Text => {
                let rows: Vec<Vec<String>> = r
                    .stages
                    .iter()
                    .map(|s| vec![s.name.clone(), s.after.join(", ")])
                    .collect();
                out = table(&["stage", "after"], &rows);
            }
            DagFormat::Dot => {
                out.push_str("digraph pipeline {\n  rankdir=LR;\n");
                for s in &r.stages {
                    let _ = writeln!(out, "  \"{}\";", s.name);
                    for a in &s.after {
                        let _ = writeln!(out, "  \"{a}\" -> \"{}\";", s.name);
                    }
                }
                out.push_str("}\n");
            }
            DagFormat::Mermaid => {
                // Mermaid ids cannot hold `@`: number the nodes and label them.
                out.push_str("flowchart LR\n");
                let id = |n: &str| r.stages.iter().position(|s| s.name == n).unwrap_or(0);
                for (i, s) in r.stages.iter().enumerate() {
                    let _ = writeln!(out, "  s{i}[\"{}\"]", s.name);
                }
                for s in &r.stages {
                    for a in &s.after {
                        let _ = writeln!(out, "  s{} --> s{}", id(a), id(&s.name));
                    }
                }
            }
        }
        out
    })?;
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
}

pub(crate) fn stage(command: &StageCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    match command {
        StageCommand::List { output } => {
            let targets = render::targets(output, ctx, "stage list", &render::pipeline::FORMATS)?;
            let outcomes = crate::commands::run::dry_run_all(ctx)?;
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
    }
    Ok(ExitStatus::Success)
}
