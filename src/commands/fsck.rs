//! `mlops fsck`: check that every cache object (or every object on a remote) still matches its
//! digest.

use std::fmt::Write as _;

use mlops_core::ops::fsck;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::output::{count, size};

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
}

pub(crate) fn run(args: &FsckArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    if let Some(name) = &args.remote {
        let name = Some(name.as_str()).filter(|n| !n.is_empty());
        return remote(ctx, &ws, name, args.jobs);
    }
    let report = fsck::fsck(&ws, &ctx.printer.progress())?;
    ctx.printer.report(&report, |r| {
        let mut out = format!(
            "checked {} ({})",
            count(r.checked, "object", "objects"),
            size(r.bytes)
        );
        if r.corrupt.is_empty() {
            out.push_str(": all intact");
        } else {
            let _ = write!(out, ": {} corrupt", r.corrupt.len());
            for c in &r.corrupt {
                let _ = write!(
                    out,
                    "\ncorrupt: {} hashes to {}",
                    c.path.display(),
                    c.actual
                );
            }
        }
        out
    })?;
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
) -> anyhow::Result<ExitStatus> {
    let report = fsck::fsck_remote(ws, name, jobs, &ctx.printer.progress())?;
    ctx.printer.report(&report, |r| {
        let mut out = format!(
            "checked {} on `{}`",
            count(r.checked, "object", "objects"),
            r.remote
        );
        if r.repaired.is_empty() && r.corrupt.is_empty() {
            out.push_str(": all intact");
        }
        for digest in &r.repaired {
            let _ = write!(
                out,
                "\nreplaced corrupt object {digest} with the cache's copy"
            );
        }
        for digest in &r.corrupt {
            let _ = write!(out, "\ncorrupt: {digest} (no intact copy in this cache)");
        }
        out
    })?;
    if report.corrupt.is_empty() {
        Ok(ExitStatus::Success)
    } else {
        ctx.printer.note(
            "run `mlops fsck --remote` from a machine whose cache holds intact copies, or add the data again and `mlops push`",
        );
        Ok(ExitStatus::Failure)
    }
}
