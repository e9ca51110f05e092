//! `mlops add`: track files and directories in the cache, with pointer files for git.

use std::path::PathBuf;

use mlops_core::config::LinkMode;
use mlops_core::ops::add::{self, AddOptions, AddReport};
use mlops_pipeline::spec::OutputsCheck;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render;

/// Track files or directories: store their content in the cache and write `<path>.mlops`
#[derive(Debug, clap::Args)]
pub(crate) struct AddArgs {
    /// Files or directories to track
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// How workspace files relate to the cache (default: `cache.link` from the config)
    #[arg(long, value_enum)]
    link: Option<LinkArg>,
}

/// `cache.link` values as a flag.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum LinkArg {
    Auto,
    Reflink,
    Hardlink,
    Symlink,
    Copy,
}

impl From<LinkArg> for LinkMode {
    fn from(arg: LinkArg) -> Self {
        match arg {
            LinkArg::Auto => LinkMode::Auto,
            LinkArg::Reflink => LinkMode::Reflink,
            LinkArg::Hardlink => LinkMode::Hardlink,
            LinkArg::Symlink => LinkMode::Symlink,
            LinkArg::Copy => LinkMode::Copy,
        }
    }
}

pub(crate) fn run(args: &AddArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    let targets = ctx.targets(&ws, &args.paths)?;
    // A stage's output is tracked by `mlops.lock`; a pointer beside it would give it two owners.
    if let OutputsCheck::Skipped(e) = mlops_pipeline::spec::refuse_outputs(ws.root(), &targets)? {
        ctx.printer.warn(&format!(
            "not checked whether the paths are outputs of a pipeline stage: {e}"
        ));
    }
    let options = AddOptions {
        link: args.link.map_or(ws.config().link, LinkMode::from),
    };
    ctx.warn_if_unprotected(options.link);
    let progress = ctx.printer.progress();
    let report = add::add(&ws, &targets, &options, &progress)?;
    ctx.printer.report(&report, render::data::added)?;
    let to_commit = files_to_commit(&report);
    if !to_commit.is_empty() && mlops_core::git::work_tree_root(ws.root()).is_some() {
        ctx.printer.note(&format!(
            "to record this in git: git add {}",
            to_commit.join(" ")
        ));
    }
    Ok(ExitStatus::Success)
}

/// The pointer files and `.gitignore` files the changed paths wrote, each once: what to `git add`.
fn files_to_commit(report: &AddReport) -> Vec<String> {
    let mut to_commit: Vec<String> = Vec::new();
    for a in report.added.iter().filter(|a| a.changed) {
        for path in [&a.pointer, &a.gitignore] {
            let path = path.display().to_string();
            if !to_commit.contains(&path) {
                to_commit.push(path);
            }
        }
    }
    to_commit
}
