//! `mlops gc`: free cache space held by objects no pointer needs.

use mlops_core::ops::gc;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::output::{count, size};

/// Remove cache objects that no pointer file in the workspace refers to
#[derive(Debug, clap::Args)]
pub(crate) struct GcArgs {
    /// Only report what would be removed
    #[arg(long)]
    dry_run: bool,
}

pub(crate) fn run(args: &GcArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    // Pipeline outputs in mlops.lock are kept like data tracked with pointer files.
    let outputs = mlops_pipeline::lockfile::LockFile::load(ws.root())?.tracked_outputs();
    let report = gc::gc(&ws, args.dry_run, &outputs)?;
    ctx.printer.report(&report, |r| {
        format!(
            "{} {} ({}); kept {} ({})",
            if r.dry_run { "would remove" } else { "removed" },
            count(r.removed_objects, "object", "objects"),
            size(r.removed_bytes),
            count(r.kept_objects, "object", "objects"),
            size(r.kept_bytes)
        )
    })?;
    Ok(ExitStatus::Success)
}
