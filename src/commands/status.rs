//! `mlops status`: how tracked paths differ from their pointers, the cache and the remote.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlops_core::ops::status::{self, Changes};

use crate::commands::Context;
use crate::error::ExitStatus;

/// Show tracked paths that are modified, missing, not in the cache or not pushed
#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    /// Tracked paths, pointer files or directories holding them (default: all)
    targets: Vec<PathBuf>,
    /// Exit with status 1 when anything is not up to date
    #[arg(long)]
    check: bool,
    /// Name every changed file inside a modified directory [default: the first 10 in each]
    #[arg(long)]
    all: bool,
}

/// How many changed files inside one modified directory the text output names without `--all`.
const LISTED: usize = 10;

pub(crate) fn run(args: &StatusArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    let tracked = ctx.tracked(&ws, &args.targets)?;
    let report = status::status(&ws, &tracked)?;
    ctx.printer.report(&report, |r| {
        if r.paths.is_empty() {
            return "nothing is tracked yet; `mlops add <path>` tracks a file or directory".into();
        }
        if r.is_clean() {
            let remote = r
                .remote
                .as_ref()
                .map_or(String::new(), |name| format!(", and pushed to `{name}`"));
            return format!(
                "everything is up to date ({} tracked{remote})",
                r.paths.len()
            );
        }
        let mut out = String::new();
        for path in r.paths.iter().filter(|p| !p.states.is_empty()) {
            let states: Vec<&str> = path.states.iter().map(|s| s.describe()).collect();
            let _ = write!(out, "{}: {}", path.path.display(), states.join(", "));
            if let Some(c) = &path.changes {
                let _ = write!(
                    out,
                    " ({} added, {} modified, {} deleted)",
                    c.added.len(),
                    c.modified.len(),
                    c.deleted.len()
                );
                list_changes(&mut out, c, args.all);
            }
            out.push('\n');
        }
        out
    })?;
    Ok(if args.check && !report.is_clean() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// Appends one line per changed file (added, then modified, then deleted), the first
/// [`LISTED`] unless `all`, and a line counting the rest.
fn list_changes(out: &mut String, changes: &Changes, all: bool) {
    let files = [
        ("added:   ", &changes.added),
        ("modified:", &changes.modified),
        ("deleted: ", &changes.deleted),
    ]
    .into_iter()
    .flat_map(|(label, files)| files.iter().map(move |file| (label, file)));
    let total = changes.added.len() + changes.modified.len() + changes.deleted.len();
    let shown = if all { total } else { total.min(LISTED) };
    for (label, file) in files.take(shown) {
        let _ = write!(out, "\n  {label} {}", file.display());
    }
    if shown < total {
        let _ = write!(
            out,
            "\n  ... and {} more (`mlops status --all` lists every one)",
            total - shown
        );
    }
}
