//! `mlops checkout`: make the workspace match the pointer files.

use std::path::PathBuf;

use mlops_core::config::LinkMode;
use mlops_core::ops::checkout::{self, CheckoutOptions, CheckoutReport};

use crate::commands::Context;
use crate::commands::add::LinkArg;
use crate::error::ExitStatus;
use crate::render::text::count;

/// Restore tracked files and directories from the cache, as their pointer files say
#[derive(Debug, clap::Args)]
pub(crate) struct CheckoutArgs {
    /// Tracked paths, pointer files or directories holding them (default: all)
    targets: Vec<PathBuf>,
    /// Overwrite or remove files even when their content is not saved in the cache
    #[arg(long)]
    force: bool,
    /// How workspace files relate to the cache (default: `cache.link` from the config)
    #[arg(long, value_enum)]
    link: Option<LinkArg>,
}

pub(crate) fn run(args: &CheckoutArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    let tracked = ctx.tracked(&ws, &args.targets)?;
    let options = CheckoutOptions {
        force: args.force,
        link: args.link.map_or(ws.config().link, LinkMode::from),
    };
    ctx.warn_if_unprotected(options.link);
    let progress = ctx.printer.progress();
    let report = checkout::checkout(&ws, &tracked, &options, &progress)?;
    ctx.printer.report(&report, |r| {
        format!(
            "restored {}, removed {}, {} already up to date",
            count(r.restored, "file", "files"),
            r.removed,
            r.unchanged
        )
    })?;
    Ok(warn_skipped(ctx, &report))
}

/// Warns of each file a checkout (or `pull`) kept because the cache lacks its content; such a
/// checkout did not finish, so it exits 1.
pub(crate) fn warn_skipped(ctx: &Context, report: &CheckoutReport) -> ExitStatus {
    for path in &report.skipped {
        ctx.printer.warn(&format!(
            "skipped `{}`: its content is not saved in the cache (use --force to overwrite it)",
            path.display()
        ));
    }
    if report.skipped.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    }
}
