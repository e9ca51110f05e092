//! `mlops fsck`: check that every cache object still matches its digest.

use std::fmt::Write as _;

use mlops_core::ops::fsck;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::output::{count, size};

/// Re-hash every cache object and list corrupt ones (exit status 1 if any)
#[derive(Debug, clap::Args)]
pub(crate) struct FsckArgs {}

pub(crate) fn run(_args: &FsckArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
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
