//! `mlops fsck`: check that every cache object (or every object on a remote) still matches its
//! digest.

use mlops_core::ops::fsck;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render::{self, OutputArgs, Target};

/// Re-hash every cache object and list corrupt ones (exit status 1 if any)
#[derive(Debug, clap::Args)]
pub(crate) struct FsckArgs {
    /// Check the objects on a remote instead (the default remote when no name is given), and
    /// replace each corrupt one with the cache's intact copy
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
    remote: Option<String>,
    /// Objects checked at once on the remote
    #[arg(short, long, value_name = "N", default_value_t = mlops_core::ops::transfer::DEFAULT_JOBS)]
    jobs: usize,
    #[command(flatten)]
    output: OutputArgs,
}

pub(crate) fn run(args: &FsckArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let targets = render::targets(&args.output, ctx, "fsck", &render::data::FORMATS)?;
    let ws = ctx.workspace()?;
    if let Some(name) = &args.remote {
        let name = Some(name.as_str()).filter(|n| !n.is_empty());
        return remote(ctx, &ws, name, args.jobs, &targets);
    }
    let report = fsck::fsck(&ws, &ctx.printer.progress())?;
    render::emit(ctx.printer, &report, &targets, render::data::fsck)?;
    if report.corrupt.is_empty() {
        Ok(ExitStatus::Success)
    } else {
        ctx.printer
            .note("delete the corrupt objects, then `mlops pull` or `mlops add` the data again");
        Ok(ExitStatus::Failure)
    }
}

/// `fsck --remote`: exit 1 while a corrupt object remains on the remote.
fn remote(
    ctx: &Context,
    ws: &mlops_core::Workspace,
    name: Option<&str>,
    jobs: usize,
    targets: &[Target],
) -> anyhow::Result<ExitStatus> {
    let report = fsck::fsck_remote(ws, name, jobs, &ctx.printer.progress())?;
    render::emit(ctx.printer, &report, targets, render::data::fsck_remote)?;
    if report.corrupt.is_empty() {
        Ok(ExitStatus::Success)
    } else {
        ctx.printer.note(
            "run `mlops fsck --remote` from a machine whose cache holds intact copies, or add the data again and `mlops push`",
        );
        Ok(ExitStatus::Failure)
    }
}
