//! `mlops status`: how tracked paths differ from their pointers, the cache and the remote.

use std::path::PathBuf;

use mlops_core::ops::status;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render::{self, OutputArgs};

/// Show tracked paths that are modified, missing, not in the cache or not pushed
#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    /// Tracked paths, pointer files or directories holding them (default: all)
    targets: Vec<PathBuf>,
    /// Exit with status 1 when anything is not up to date
    #[arg(long)]
    check: bool,
    /// Name every changed file inside a modified directory [default: the first 10 in each]
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    output: OutputArgs,
}

pub(crate) fn run(args: &StatusArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let targets = render::targets(&args.output, ctx, "status", &render::data::FORMATS)?;
    let ws = ctx.workspace()?;
    let tracked = ctx.tracked(&ws, &args.targets)?;
    let report = status::status(&ws, &tracked)?;
    render::emit(ctx.printer, &report, &targets, |r, format| {
        render::data::status(r, args.all, format)
    })?;
    Ok(if args.check && !report.is_clean() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
