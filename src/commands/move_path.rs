//! `mlops move`: rename a tracked path with its pointer file and `.gitignore` line.

use std::path::PathBuf;

use mlops_core::ops::move_path;
use mlops_pipeline::lockfile::LockFile;

use crate::commands::Context;
use crate::error::ExitStatus;

/// Move a tracked path: its data, its pointer file and its `.gitignore` line
#[derive(Debug, clap::Args)]
pub(crate) struct MoveArgs {
    /// The tracked path, or its `.mlops` pointer file
    source: PathBuf,
    /// The new path, or an existing directory to move it into
    dest: PathBuf,
}

pub(crate) fn run(args: &MoveArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    let source = ws.relative(&ctx.cwd, &args.source)?;
    let dest = ws.relative(&ctx.cwd, &args.dest)?;
    let outputs = LockFile::output_paths(ws.root())?;
    let report = move_path::move_path(&ws, &source, &dest, &outputs)?;
    ctx.printer.report(&report, |r| {
        format!(
            "moved {} to {} (commit {} and the old pointer's deletion)",
            r.from.display(),
            r.to.display(),
            r.pointer.display()
        )
    })?;
    Ok(ExitStatus::Success)
}
