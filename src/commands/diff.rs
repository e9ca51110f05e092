//! `mlops diff`: tracked data that differs between two revisions, or a revision and the
//! workspace.

use mlops_meta::diff;
use mlops_meta::history::Repo;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render::{self, OutputArgs};

/// Show tracked data added, removed or modified between two revisions (default: HEAD and the
/// workspace's pointer files), with the files inside changed directories
#[derive(Debug, clap::Args)]
pub(crate) struct DiffArgs {
    /// The older side: a commit, branch or tag
    #[arg(default_value = "HEAD")]
    from: String,
    /// The newer side [default: the workspace]
    to: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

pub(crate) fn run(args: &DiffArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let targets = render::targets(&args.output, ctx, "diff", &render::data::FORMATS)?;
    let ws = ctx.workspace()?;
    let repo = Repo::open(&ws)?;
    let report = diff::diff(&ws, &repo, &args.from, args.to.as_deref())?;
    render::emit(ctx.printer, &report, &targets, render::data::diff)?;
    Ok(ExitStatus::Success)
}
