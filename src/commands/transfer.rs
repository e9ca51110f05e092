//! `mlops push`, `pull` and `fetch`: move objects between the cache and a remote.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlops_core::Workspace;
use mlops_core::ops::Tracked;
use mlops_core::ops::checkout::CheckoutOptions;
use mlops_core::ops::transfer::{self, TransferOptions, TransferReport};
use mlops_meta::history::{OlderVersions, Repo};
use serde::Serialize;

use crate::commands::Context;
use crate::commands::revisions::RevisionArgs;
use crate::error::ExitStatus;
use crate::render::text::{count, size};

/// Which objects to move, and where.
#[derive(Debug, clap::Args)]
pub(crate) struct TransferArgs {
    /// Tracked paths, pointer files or directories holding them (default: all)
    targets: Vec<PathBuf>,
    /// The remote to use (default: the default remote)
    #[arg(short, long, value_name = "NAME")]
    remote: Option<String>,
    /// Objects to transfer at once (default: 8 for a directory remote, 4 per CPU core for an
    /// object store)
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
    // Older versions too, so that those commits can be checked out (`pull` still checks out
    // only the workspace's pointers).
    #[command(flatten)]
    revisions: RevisionArgs,
}

impl TransferArgs {
    fn options(&self) -> TransferOptions {
        TransferOptions {
            remote: self.remote.clone(),
            jobs: self.jobs,
            verify: false,
        }
    }

    /// The tracked paths of the commits the history flags name, beside `workspace` (within the
    /// targets, when given), each with the commit that records it.
    fn history(
        &self,
        ctx: &Context,
        ws: &Workspace,
        workspace: &[Tracked],
    ) -> anyhow::Result<OlderVersions> {
        let asked = self.revisions.asked();
        if asked.is_empty() {
            return Ok(OlderVersions::default());
        }
        let targets = ctx.targets(ws, &self.targets)?;
        Ok(Repo::open(ws)?.older_versions(&asked, &targets, workspace)?)
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
    let history = args.transfer.history(ctx, &ws, &tracked)?;
    let options = TransferOptions {
        verify: args.verify,
        ..args.transfer.options()
    };
    let report = transfer::push(
        &ws,
        &history.with(&tracked),
        &options,
        &ctx.printer.progress(),
    )
    .map_err(|e| history.name_commit(e))?;
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
    let history = args.transfer.history(ctx, &ws, &tracked)?;
    let report = transfer::fetch(
        &ws,
        &history.with(&tracked),
        &args.transfer.options(),
        &ctx.printer.progress(),
    )
    .map_err(|e| history.name_commit(e))?;
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
    let history = args.transfer.history(ctx, &ws, &tracked)?;
    let checkout = CheckoutOptions {
        force: args.force,
        link: ws.config().link,
    };
    ctx.warn_if_unprotected(checkout.link);
    let (fetch, checkout) = transfer::pull(
        &ws,
        &tracked,
        &history.tracked,
        &args.transfer.options(),
        &checkout,
        &ctx.printer.progress(),
    )
    .map_err(|e| history.name_commit(e))?;
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
    Ok(crate::commands::checkout::warn_skipped(
        ctx,
        &report.checkout,
    ))
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
