//! `mlops init`: create the `.mlops/` workspace directory.

use mlops_core::Workspace;

use crate::commands::Context;
use crate::error::ExitStatus;

/// Create an mlops workspace at the root of the current git work tree
#[derive(Debug, clap::Args)]
pub(crate) struct InitArgs {
    /// Create the workspace in the current directory, without git
    #[arg(long)]
    no_git: bool,
}

pub(crate) fn run(args: &InitArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let report = Workspace::init(&ctx.cwd, args.no_git)?;
    ctx.printer.report(&report, |r| {
        if r.created {
            format!("initialised an mlops workspace in {}", r.root.display())
        } else {
            format!(
                "an mlops workspace already exists in {}; nothing to do",
                r.root.display()
            )
        }
    })?;
    if report.created && report.git {
        ctx.printer
            .note("commit `.mlops/config.yaml` and `.mlops/.gitignore` to share the settings");
    }
    Ok(ExitStatus::Success)
}
