//! `mlops gc`: free cache space held by objects no tracked path needs (pointer files and
//! `mlops.lock` outputs, and with `--all-*` those of other commits).

use mlops_meta::history::{Commits, Repo};

use crate::commands::Context;
use crate::commands::revisions::RevisionArgs;
use crate::error::ExitStatus;
use crate::render::text::{count, size};

/// Remove cache objects that no pointer file in the workspace refers to (nor, with the flags
/// below, any pointer file or `mlops.lock` in those git commits)
#[derive(Debug, clap::Args)]
pub(crate) struct GcArgs {
    /// Only report what would be removed
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    revisions: RevisionArgs,
}

pub(crate) fn run(args: &GcArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    // Experiments store objects before their refs name them: wait for running ones, then read
    // the refs, so what they made is kept.
    let _experiments = ws.experiments_lock(true)?;
    // The workspace's own tracked paths are read by the library, under the workspace lock.
    let mut keep = Vec::new();
    let mut asked = args.revisions.asked();
    let repo = if asked.is_empty() {
        Repo::open(&ws).ok()
    } else {
        Some(Repo::open(&ws)?)
    };
    if let Some(repo) = repo {
        // Experiments are kept until `mlops exp remove`: `exp apply` needs their data.
        asked.push(Commits::Experiments);
        for which in asked {
            keep.extend(repo.tracked_in(which)?);
        }
    }
    let report = mlops_pipeline::tracked::gc(&ws, args.dry_run, &keep)?;
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
