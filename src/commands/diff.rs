//! `mlops diff`: tracked data that differs between two revisions, or a revision and the
//! workspace.

use std::fmt::Write as _;

use mlops_meta::diff::{self, DiffReport, Kind};
use mlops_meta::history::Repo;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::output;

/// Show tracked data added, removed or modified between two revisions (default: HEAD and the
/// workspace's pointer files), with the files inside changed directories
#[derive(Debug, clap::Args)]
pub(crate) struct DiffArgs {
    /// The older side: a commit, branch or tag
    #[arg(default_value = "HEAD")]
    from: String,
    /// The newer side [default: the workspace]
    to: Option<String>,
}

pub(crate) fn run(args: &DiffArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    let repo = Repo::open(&ws)?;
    let report = diff::diff(&ws, &repo, &args.from, args.to.as_deref())?;
    ctx.printer.report(&report, human)?;
    Ok(ExitStatus::Success)
}

fn human(report: &DiffReport) -> String {
    if report.changes.is_empty() {
        return format!(
            "no tracked data differs between {} and {}\n",
            report.from, report.to
        );
    }
    let mut text = String::new();
    for change in &report.changes {
        let size = |s: Option<u64>| s.map_or_else(|| "-".into(), output::size);
        let _ = match change.change {
            Kind::Added => writeln!(
                text,
                "added     {} ({})",
                change.path.display(),
                size(change.size_after)
            ),
            Kind::Removed => writeln!(
                text,
                "removed   {} ({})",
                change.path.display(),
                size(change.size_before)
            ),
            Kind::Modified => writeln!(
                text,
                "modified  {} ({} -> {})",
                change.path.display(),
                size(change.size_before),
                size(change.size_after)
            ),
        };
        if let Some(files) = &change.files {
            for (mark, list) in [
                ("+", &files.added),
                ("-", &files.removed),
                ("~", &files.modified),
            ] {
                for file in list {
                    let _ = writeln!(text, "  {mark} {}", file.display());
                }
            }
        }
    }
    text
}
