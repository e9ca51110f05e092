//! `mlops gc`: free cache space held by objects no pointer needs.

use mlops_core::ops::gc;
use mlops_meta::history::{Commits, Repo};

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::output::{count, size};

/// Remove cache objects that no pointer file in the workspace refers to (nor, with the flags
/// below, any pointer file or `mlops.lock` in those git commits)
#[derive(Debug, clap::Args)]
#[allow(clippy::struct_excessive_bools, reason = "independent clap flags")]
pub(crate) struct GcArgs {
    /// Only report what would be removed
    #[arg(long)]
    dry_run: bool,
    /// Also keep what every commit of the repository needs
    #[arg(long)]
    all_commits: bool,
    /// Also keep what the tip of every branch needs
    #[arg(long)]
    all_branches: bool,
    /// Also keep what every tagged commit needs
    #[arg(long)]
    all_tags: bool,
}

pub(crate) fn run(args: &GcArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    // Pipeline outputs in mlops.lock are kept like data tracked with pointer files.
    let mut keep =
        mlops_pipeline::lockfile::LockFile::load(ws.root())?.tracked_outputs(ws.root())?;
    let history = [
        (args.all_commits, Commits::All),
        (args.all_branches, Commits::Branches),
        (args.all_tags, Commits::Tags),
    ];
    if history.iter().any(|(asked, _)| *asked) {
        let repo = Repo::open(&ws)?;
        for (_, which) in history.iter().filter(|(asked, _)| *asked) {
            keep.extend(repo.tracked_in(*which)?);
        }
    }
    let report = gc::gc(&ws, args.dry_run, &keep)?;
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
