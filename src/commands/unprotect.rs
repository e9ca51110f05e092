//! `mlops unprotect`: private writable copies of linked files, before editing them.

use std::path::PathBuf;

use mlops_core::ops::unprotect;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render::text::count;

/// Replace hard- or symlinked workspace files with private, writable copies
#[derive(Debug, clap::Args)]
pub(crate) struct UnprotectArgs {
    /// Files or directories (tracked, or inside tracked ones)
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

pub(crate) fn run(args: &UnprotectArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    let targets = ctx.targets(&ws, &args.paths)?;
    let report = unprotect::unprotect(&ws, &targets)?;
    ctx.printer.report(&report, |r| {
        format!(
            "unprotected {} ({} already private)",
            count(r.copied, "file", "files"),
            r.unchanged
        )
    })?;
    Ok(ExitStatus::Success)
}
