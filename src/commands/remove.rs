//! `mlops remove`: stop tracking paths, keeping their data in the workspace.

use std::path::PathBuf;

use mlops_core::ops::remove::{self, RemoveOptions};
use mlops_pipeline::lockfile::LockFile;

use crate::commands::Context;
use crate::error::ExitStatus;

/// Stop tracking paths: delete their pointer files and `.gitignore` lines, keep the data
#[derive(Debug, clap::Args)]
pub(crate) struct RemoveArgs {
    /// Tracked paths or their `.mlops` pointer files
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

pub(crate) fn run(args: &RemoveArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    let targets = ctx.targets(&ws, &args.paths)?;
    let options = RemoveOptions {
        pipeline_outputs: LockFile::output_paths(ws.root())?,
    };
    let report = remove::remove(&ws, &targets, &options)?;
    ctx.printer.report(&report, |r| {
        let lines: Vec<String> = r
            .removed
            .iter()
            .map(|d| {
                format!(
                    "untracked {} (deleted {}; the data stays)",
                    d.path.display(),
                    d.pointer.display()
                )
            })
            .collect();
        lines.join("\n")
    })?;
    Ok(ExitStatus::Success)
}
