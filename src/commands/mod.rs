//! One module per subcommand; `run` is the single dispatch over [`Command`].
//!
//! Each command turns its arguments into library options, makes one library call, and renders
//! the report: the work itself lives in the library crates.

pub(crate) mod add;
pub(crate) mod checkout;
pub(crate) mod completions;
pub(crate) mod diff;
pub(crate) mod drift;
pub(crate) mod eval;
pub(crate) mod exp;
pub(crate) mod fairness;
pub(crate) mod feedback;
pub(crate) mod fsck;
pub(crate) mod gc;
pub(crate) mod hooks;
pub(crate) mod init;
pub(crate) mod man;
pub(crate) mod metrics;
pub(crate) mod model;
pub(crate) mod monitor;
pub(crate) mod move_path;
pub(crate) mod plots;
pub(crate) mod predict;
pub(crate) mod profile;
pub(crate) mod quickstart;
pub(crate) mod read;
pub(crate) mod remote;
pub(crate) mod remove;
pub(crate) mod review;
pub(crate) mod revisions;
pub(crate) mod run;
pub(crate) mod serve;
pub(crate) mod shards;
pub(crate) mod split;
pub(crate) mod stage;
pub(crate) mod status;
pub(crate) mod train;
pub(crate) mod transfer;
pub(crate) mod unprotect;
pub(crate) mod validate;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use mlops_core::Workspace;
use mlops_core::ops::Tracked;

use crate::cli::{Cli, Command};
use crate::error::ExitStatus;
use crate::output::Printer;

/// What every command gets: the printer and the directory it runs in.
pub(crate) struct Context<'a> {
    pub(crate) printer: &'a Printer,
    pub(crate) cwd: PathBuf,
}

impl Context<'_> {
    /// Warns that hard links do not protect the cache when running as root.
    pub(crate) fn warn_if_unprotected(&self, link: mlops_core::config::LinkMode) {
        if link.unprotected_here() {
            self.printer.warn(
                "links into the cache do not protect it from root: editing a linked file in place changes the cached copy (run `mlops unprotect PATH` before editing, or use `cache.link: auto`)",
            );
        }
    }

    /// A user-named output path, relative to the current directory; `-` (stdout) stays `-`.
    pub(crate) fn output(&self, path: &Path) -> PathBuf {
        if mlops_core::outfile::is_stdout(path) {
            path.to_owned()
        } else {
            self.cwd.join(path)
        }
    }

    /// The workspace around the current directory, with settings from the environment.
    pub(crate) fn workspace(&self) -> anyhow::Result<Workspace> {
        let mut ws = Workspace::discover(&self.cwd)?;
        if let Some(secs) = std::env::var_os("MLOPS_LOCK_WAIT") {
            let secs: f64 = secs
                .to_str()
                .and_then(|s| s.parse().ok())
                .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                .context("`MLOPS_LOCK_WAIT` must be a number of seconds")?;
            ws.set_lock_wait(Duration::from_secs_f64(secs));
        }
        Ok(ws)
    }

    /// User paths as workspace-relative paths, each once, in the order given.
    pub(crate) fn targets(
        &self,
        ws: &Workspace,
        paths: &[PathBuf],
    ) -> anyhow::Result<Vec<PathBuf>> {
        let mut targets: Vec<PathBuf> = Vec::with_capacity(paths.len());
        for path in paths {
            let target = ws.relative(&self.cwd, path)?;
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        Ok(targets)
    }

    /// The tracked paths that `paths` name (all of them when empty): data tracked with pointer
    /// files, and pipeline outputs recorded in `mlops.lock`.
    pub(crate) fn tracked(
        &self,
        ws: &Workspace,
        paths: &[PathBuf],
    ) -> anyhow::Result<Vec<Tracked>> {
        let targets = self.targets(ws, paths)?;
        Ok(mlops_pipeline::tracked::resolve(ws, &targets)?)
    }
}

/// Runs the parsed command line.
pub(crate) fn run(cli: &Cli, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let cwd = match &cli.global.directory {
        Some(dir) => absolute(dir)?,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let ctx = Context { printer, cwd };
    match &cli.command {
        Command::Quickstart(args) => quickstart::run(args, &ctx),
        Command::Init(args) => init::run(args, &ctx),
        Command::Add(args) => add::run(args, &ctx),
        Command::Status(args) => status::run(args, &ctx),
        Command::Checkout(args) => checkout::run(args, &ctx),
        Command::Push(args) => transfer::push(args, &ctx),
        Command::Pull(args) => transfer::pull(args, &ctx),
        Command::Fetch(args) => transfer::fetch(args, &ctx),
        Command::Remote(command) => remote::run(command, &ctx),
        Command::Gc(args) => gc::run(args, &ctx),
        Command::Fsck(args) => fsck::run(args, &ctx),
        Command::Unprotect(args) => unprotect::run(args, &ctx),
        Command::Remove(args) => remove::run(args, &ctx),
        Command::Move(args) => move_path::run(args, &ctx),
        Command::Eval(args) => eval::run(args, &ctx),
        Command::Drift(args) => drift::run(args, &ctx),
        Command::Profile(args) => profile::run(args, &ctx),
        Command::Split(args) => split::run(args, &ctx),
        Command::Predict(args) => predict::run(args, &ctx),
        Command::Train(args) => train::run(args, &ctx),
        Command::Serve(args) => serve::run(args, &ctx),
        Command::Feedback(args) => feedback::run(args, &ctx),
        Command::Monitor(args) => monitor::run(args, &ctx),
        Command::Review(command) => review::run(command, &ctx),
        Command::Model(command) => model::run(command, &ctx),
        Command::Fairness(command) => fairness::run(command, &ctx),
        Command::Run(args) => run::run(args, &ctx),
        Command::Runs(args) => run::runs(args, &ctx),
        Command::Dag(args) => stage::dag(args, &ctx),
        Command::Stage(command) => stage::stage(command, &ctx),
        Command::Metrics(command) => metrics::metrics(command, &ctx),
        Command::Params(command) => metrics::params(command, &ctx),
        Command::Diff(args) => diff::run(args, &ctx),
        Command::Log(args) => hooks::log(args, &ctx),
        Command::Hooks(command) => hooks::hooks(command, &ctx),
        Command::Hook(args) => hooks::hook(args, &ctx),
        Command::Notes(command) => hooks::notes_command(command, &ctx),
        Command::Exp(command) => exp::run(command, &ctx),
        Command::Plots(command) => plots::run(command, &ctx),
        Command::Validate(command) => validate::run(command, &ctx),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    }
}

fn absolute(dir: &Path) -> anyhow::Result<PathBuf> {
    let meta =
        fs_err::metadata(dir).with_context(|| format!("cannot use `-C {}`", dir.display()))?;
    anyhow::ensure!(
        meta.is_dir(),
        "cannot use `-C {}`: not a directory",
        dir.display()
    );
    Ok(std::path::absolute(dir)?)
}
