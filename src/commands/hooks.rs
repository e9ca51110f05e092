//! `mlops hooks install|uninstall`, the hidden `mlops hook NAME` the hooks call, `mlops notes
//! push|fetch` and `mlops log`.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::PathBuf;

use mlops_core::Workspace;
use mlops_core::config::PreCommitMode;
use mlops_core::ops::checkout::{self, CheckoutOptions};
use mlops_core::ops::transfer::{self, TransferOptions};
use mlops_meta::history::Repo;
use mlops_meta::hooks::{self, HookChange};
use mlops_meta::notes;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render::{self, OutputArgs};

/// Install or remove the git hooks that keep data, pointers and notes in step with commits
#[derive(Debug, clap::Subcommand)]
pub(crate) enum HooksCommand {
    /// Install pre-commit, post-checkout, pre-push and post-commit hooks
    Install {
        /// Keep a hook mlops did not write and run it before mlops's
        #[arg(long)]
        force: bool,
        /// Print entries for a `.pre-commit-config.yaml` instead of installing
        #[arg(long)]
        pre_commit_config: bool,
    },
    /// Remove mlops's hooks and put back the ones they ran first
    Uninstall,
}

/// What a hook runs (called by the installed scripts)
#[derive(Debug, clap::Args)]
pub(crate) struct HookArgs {
    /// The hook: pre-commit, post-checkout, pre-push or post-commit
    name: String,
    /// The arguments git passed to the hook
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// Share the commit metadata notes (`refs/notes/mlops`) with a git remote
#[derive(Debug, clap::Subcommand)]
pub(crate) enum NotesCommand {
    /// Push the notes
    Push {
        #[arg(default_value = "origin")]
        remote: String,
    },
    /// Fetch the notes and merge them into ours (both sides' records are kept)
    Fetch {
        #[arg(default_value = "origin")]
        remote: String,
    },
}

/// Show commits with what changed for a tracked path and the metrics each commit recorded
#[derive(Debug, clap::Args)]
pub(crate) struct LogArgs {
    /// A tracked path: only commits that changed it [default: every commit]
    path: Option<PathBuf>,
    /// How many commits
    #[arg(short = 'n', long, default_value_t = 20)]
    max_count: usize,
    #[command(flatten)]
    output: OutputArgs,
}

pub(crate) fn hooks(command: &HooksCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    if let HooksCommand::Install {
        pre_commit_config: true,
        ..
    } = command
    {
        print_text(ctx, &hooks::pre_commit_config())?;
        return Ok(ExitStatus::Success);
    }
    let ws = ctx.workspace()?;
    let repo = Repo::open(&ws)?;
    let changes = match command {
        HooksCommand::Install { force, .. } => {
            let exe = std::env::current_exe()?;
            hooks::install(&repo, &exe, *force)?
        }
        HooksCommand::Uninstall => hooks::uninstall(&repo)?,
    };
    for change in &changes {
        for path in &change.skipped {
            ctx.printer.warn(&format!(
                "{} is kept but not executable: git would not run it, so mlops's {} hook \
                 skips it (`chmod +x` it to run it)",
                path.display(),
                change.hook
            ));
        }
    }
    ctx.printer.report(&changes, |c: &Vec<HookChange>| {
        let mut text = String::new();
        for change in c {
            let _ = match change.action {
                "kept" => writeln!(
                    text,
                    "{}: kept {} (an older hook mlops ran first; not moved back)",
                    change.hook,
                    change.path.display()
                ),
                action => writeln!(text, "{}: {action}", change.hook),
            };
        }
        text
    })?;
    Ok(ExitStatus::Success)
}

fn print_text(ctx: &Context, text: &str) -> anyhow::Result<()> {
    ctx.printer
        .report(&serde_json::json!({ "text": text }), |_| text.to_owned())
}

pub(crate) fn hook(args: &HookArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    match args.name.as_str() {
        "pre-commit" => pre_commit(&ws, ctx),
        // The third argument is 1 for a branch checkout, 0 for a file checkout.
        "post-checkout" if args.args.get(2).map(String::as_str) == Some("1") => {
            post_checkout(&ws, ctx)
        }
        "post-checkout" => Ok(ExitStatus::Success),
        "pre-push" => pre_push(&ws, ctx),
        "post-commit" => post_commit(&ws),
        other => anyhow::bail!(
            "unknown hook `{other}`: mlops runs {}",
            hooks::HOOKS.join(", ")
        ),
    }
}

/// Refuses a commit whose data changed without `mlops add`; stale stages warn, or refuse with
/// `hooks.pre_commit: strict`.
fn pre_commit(ws: &Workspace, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let report = hooks::pre_commit(ws)?;
    let strict = ws.config().pre_commit == PreCommitMode::Strict;
    let mut stale = String::new();
    for (stage, reasons) in &report.stale_stages {
        let _ = writeln!(
            stale,
            "  stage `{stage}` is out of date in mlops.lock ({}): run `mlops run`",
            reasons.join(", ")
        );
    }
    // Data is often committed before the pipeline reruns, so stale stages only warn
    // unless the workspace asks for more; data changed without `mlops add` always
    // refuses, since the commit would record pointers that do not match the files.
    let refuses_stale = strict && !stale.is_empty();
    if report.not_added.is_empty() && !refuses_stale {
        if !stale.is_empty() {
            ctx.printer.warn(&format!(
                "mlops: warning: committing with stages out of date:\n{stale}  \
                 (`hooks.pre_commit: strict` in .mlops/config.yaml refuses such commits)"
            ));
        }
        return Ok(ExitStatus::Success);
    }
    let mut text = String::from("mlops: commit refused:\n");
    for path in &report.not_added {
        let _ = writeln!(
            text,
            "  {} changed but was not added: run `mlops add {}`",
            path.display(),
            path.display()
        );
    }
    if strict {
        text.push_str(&stale);
    }
    text.push_str("  (`git commit --no-verify` skips this check)");
    ctx.printer.warn(&text);
    if !strict && !stale.is_empty() {
        ctx.printer.warn(&format!(
            "mlops: warning: stages out of date:\n{}",
            stale.trim_end()
        ));
    }
    Ok(ExitStatus::Failure)
}

/// After a branch checkout, puts the tracked data in step with the pointers checked out,
/// keeping (and naming) files whose content the cache lacks.
fn post_checkout(ws: &Workspace, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let options = CheckoutOptions {
        force: false,
        link: ws.config().link,
    };
    let report = checkout::checkout(
        ws,
        &mlops_pipeline::tracked::all(ws)?,
        &options,
        &ctx.printer.progress(),
    )?;
    for path in &report.skipped {
        ctx.printer.warn(&format!(
            "mlops: kept {} (its content is not in the cache); `mlops checkout --force` replaces it",
            path.display()
        ));
    }
    Ok(ExitStatus::Success)
}

/// Pushes the data the pushed commits point to, read from the refs git gives on stdin, to the
/// default remote (none set: a note, and the git push goes on).
fn pre_push(ws: &Workspace, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let mut refs = String::new();
    std::io::stdin().read_to_string(&mut refs)?;
    if ws.config().default_remote.is_none() {
        ctx.printer
            .note("mlops: no default remote; data was not pushed");
        return Ok(ExitStatus::Success);
    }
    let repo = Repo::open(ws)?;
    let tracked = hooks::pushed_data(&repo, &refs)?;
    let options = TransferOptions::default();
    transfer::push(ws, &tracked, &options, &ctx.printer.progress())?;
    Ok(ExitStatus::Success)
}

/// Records the new commit's metadata note (data hashes, params, metrics).
fn post_commit(ws: &Workspace) -> anyhow::Result<ExitStatus> {
    let repo = Repo::open(ws)?;
    let head = repo.commit("HEAD")?.id();
    let note = notes::snapshot(ws, env!("CARGO_PKG_VERSION"))?;
    notes::record(&repo, head, &note)?;
    Ok(ExitStatus::Success)
}

pub(crate) fn notes_command(command: &NotesCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    let repo = Repo::open(&ws)?;
    match command {
        NotesCommand::Push { remote } => {
            notes::push(&repo, remote)?;
            ctx.printer
                .note(&format!("pushed {} to `{remote}`", notes::NOTES_REF));
        }
        NotesCommand::Fetch { remote } => {
            let changed = notes::fetch(&repo, remote)?;
            ctx.printer.note(&format!(
                "fetched notes from `{remote}`: {changed} commits' notes added or merged"
            ));
        }
    }
    Ok(ExitStatus::Success)
}

pub(crate) fn log(args: &LogArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let targets = render::targets(&args.output, ctx, "log", &render::data::FORMATS)?;
    let ws = ctx.workspace()?;
    let repo = Repo::open(&ws)?;
    let path = match &args.path {
        Some(p) => Some(ctx.targets(&ws, std::slice::from_ref(p))?.remove(0)),
        None => None,
    };
    let entries = notes::log(&repo, path.as_deref(), args.max_count)?;
    render::emit(ctx.printer, &entries, &targets, |e, f| {
        render::data::log(e, f)
    })?;
    Ok(ExitStatus::Success)
}
