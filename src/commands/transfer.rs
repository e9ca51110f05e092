//! `mlops push`, `pull` and `fetch`: move objects between the cache and a remote.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlops_core::ops::checkout::CheckoutOptions;
use mlops_core::ops::transfer::{self, TransferOptions, TransferReport};
use serde::Serialize;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::output::{count, size};

/// Which objects to move, and where.
#[derive(Debug, clap::Args)]
pub(crate) struct TransferArgs {
    /// Tracked paths, pointer files or directories holding them (default: all)
    targets: Vec<PathBuf>,
    /// The remote to use (default: the default remote)
    #[arg(short, long, value_name = "NAME")]
    remote: Option<String>,
    /// Objects to transfer at once
    #[arg(short, long, value_name = "N", default_value_t = 8)]
    jobs: usize,
}

impl TransferArgs {
    fn options(&self) -> TransferOptions {
        TransferOptions {
            remote: self.remote.clone(),
            jobs: self.jobs,
            verify: false,
        }
    }
}

/// Upload to a remote the objects it lacks
#[derive(Debug, clap::Args)]
pub(crate) struct PushArgs {
    #[command(flatten)]
    transfer: TransferArgs,
    /// Also re-hash the objects the remote already has, and replace corrupt ones with the
    /// cache's (verified) copy
    #[arg(long)]
    verify: bool,
}

/// Download the objects the cache lacks from a remote, without touching the workspace
#[derive(Debug, clap::Args)]
pub(crate) struct FetchArgs {
    #[command(flatten)]
    transfer: TransferArgs,
}

/// Fetch, then check out: bring the workspace data in line with the pointer files
#[derive(Debug, clap::Args)]
pub(crate) struct PullArgs {
    #[command(flatten)]
    transfer: TransferArgs,
    /// Overwrite or remove files even when their content is not saved in the cache
    #[arg(long)]
    force: bool,
}

pub(crate) fn push(args: &PushArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    let tracked = ctx.tracked(&ws, &args.transfer.targets)?;
    let options = TransferOptions {
        verify: args.verify,
        ..args.transfer.options()
    };
    let report = transfer::push(&ws, &tracked, &options, &ctx.printer.progress())?;
    ctx.printer.report(&report, |r| {
        let mut out = describe(r, "pushed", "to", "already there");
        if r.repaired > 0 {
            let _ = write!(
                out,
                "\nreplaced {} on the remote",
                count(r.repaired, "corrupt object", "corrupt objects")
            );
        }
        out
    })?;
    Ok(ExitStatus::Success)
}

pub(crate) fn fetch(args: &FetchArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    let tracked = ctx.tracked(&ws, &args.transfer.targets)?;
    let report = transfer::fetch(
        &ws,
        &tracked,
        &args.transfer.options(),
        &ctx.printer.progress(),
    )?;
    ctx.printer.report(&report, |r| {
        describe(r, "fetched", "from", "already in the cache")
    })?;
    Ok(ExitStatus::Success)
}

/// `pull`'s report: what was fetched, and what the checkout did.
#[derive(Serialize)]
struct PullReport {
    fetch: TransferReport,
    checkout: mlops_core::ops::checkout::CheckoutReport,
}

pub(crate) fn pull(args: &PullArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    let tracked = ctx.tracked(&ws, &args.transfer.targets)?;
    let checkout = CheckoutOptions {
        force: args.force,
        link: ws.config().link,
    };
    ctx.warn_if_unprotected(checkout.link);
    let (fetch, checkout) = transfer::pull(
        &ws,
        &tracked,
        &args.transfer.options(),
        &checkout,
        &ctx.printer.progress(),
    )?;
    let report = PullReport { fetch, checkout };
    ctx.printer.report(&report, |r| {
        format!(
            "{}\nrestored {}, removed {}, {} already up to date",
            describe(&r.fetch, "fetched", "from", "already in the cache"),
            count(r.checkout.restored, "file", "files"),
            r.checkout.removed,
            r.checkout.unchanged
        )
    })?;
    for path in &report.checkout.skipped {
        ctx.printer.warn(&format!(
            "skipped `{}`: its content is not saved in the cache (use --force to overwrite it)",
            path.display()
        ));
    }
    Ok(if report.checkout.skipped.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn describe(r: &TransferReport, verb: &str, preposition: &str, present: &str) -> String {
    if r.transferred == 0 {
        return format!(
            "everything is up to date: {} {present} (`{}`)",
            count(r.up_to_date, "object", "objects"),
            r.remote
        );
    }
    format!(
        "{verb} {} ({}) {preposition} `{}`; {} {present}",
        count(r.transferred, "object", "objects"),
        size(r.bytes),
        r.remote,
        r.up_to_date
    )
}
