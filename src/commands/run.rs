//! `mlops run`: bring pipeline stages up to date; `mlops runs`: list what ran.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mlops_pipeline::cluster::Executor;
use mlops_pipeline::records;
use mlops_pipeline::run::{self, Observer, RunOptions, RunReport, StageOutcome, StageStatus};
use mlops_pipeline::rundiff;
use mlops_pipeline::state::Reason;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::output::Printer;
use crate::render::pipeline::Listed;
use crate::render::text::seconds;
use crate::render::{self, OutputArgs};

/// Run the pipeline in `mlops.yaml`: every stage whose inputs changed, in dependency order
///
/// With --json, stdout carries JSON Lines, not one document: one compact JSON object per line
/// as the run goes (`{"event":"start",...}` when a stage starts, `{"event":"stage",...}` when it
/// ends, `{"event":"summary",...}` last), and the stages' own output goes to stderr.
#[derive(Debug, clap::Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "each is one command-line flag"
)]
pub(crate) struct RunArgs {
    /// Stages to bring up to date, with the stages they depend on (default: all)
    stages: Vec<String>,
    /// Stages to run at once (default: the number of cores)
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
    /// Show what would run and why, without running anything
    #[arg(long)]
    dry_run: bool,
    /// Run the selected stages even when up to date, without the run cache
    #[arg(short, long)]
    force: bool,
    /// Select the given stages and those that depend on them, instead of those they depend on
    #[arg(long)]
    downstream: bool,
    /// Run only the given stages, even when up to date, without the stages they depend on (as
    /// `dvc repro -s`)
    #[arg(short, long, requires = "stages", conflicts_with = "downstream")]
    single_item: bool,
    /// After a failure, go on with stages that do not depend on the failed one
    #[arg(short = 'k', long)]
    keep_going: bool,
    /// Where every stage runs, whatever `mlops.yaml` says: `local` (here) or `slurm` (each
    /// stage one sbatch job, with the DAG's dependencies) [default: as `mlops.yaml` says, else
    /// local]
    #[arg(long, value_enum)]
    executor: Option<ExecutorArg>,
    /// With Slurm: return once the jobs are submitted; the next `mlops run` takes them up
    #[arg(long)]
    no_wait: bool,
    /// With Slurm: on Ctrl-C, leave the submitted jobs running (the next `mlops run` takes
    /// them up) instead of cancelling them
    #[arg(long)]
    detach: bool,
}

/// A flag that SIGINT, SIGTERM and SIGHUP (ctrlc's `termination` feature) set, for a run to
/// stop its stages: the run forwards the stop to each stage's process group and escalates on its
/// own, so a second signal is not special.
/// Where work runs, as `--executor` names it (`run`, and the sharded `profile` and `drift`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ExecutorArg {
    Local,
    Slurm,
}

impl From<ExecutorArg> for Executor {
    fn from(arg: ExecutorArg) -> Executor {
        match arg {
            ExecutorArg::Local => Executor::Local,
            ExecutorArg::Slurm => Executor::Slurm,
        }
    }
}

pub(crate) fn stop_flag() -> Arc<AtomicBool> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    cancel
}

/// Prints stage events as they happen: text, or JSON Lines with `--json`.
pub(crate) struct Console<'a> {
    printer: &'a Printer,
    json: bool,
    /// Prefix output lines with the stage name (several stages may run at once).
    prefix: bool,
}

impl<'a> Console<'a> {
    pub(crate) fn new(printer: &'a Printer, prefix: bool) -> Self {
        Console {
            printer,
            json: printer.is_json(),
            prefix,
        }
    }
}

/// Writes one JSON Lines event on stdout.
fn event(value: &serde_json::Value) {
    data_line(&value.to_string());
}

/// Writes one line of data on stdout, through the printer. A reader that went away
/// (`mlops run | head -1`) stops neither the stages nor the run: what they write to disk and
/// the exit status matter more than the lines nobody reads, so a failed write is dropped here.
fn data_line(text: &str) {
    let _ = Printer::data(format!("{text}\n").as_bytes());
}

impl Observer for Console<'_> {
    fn started(&self, stage: &str, reasons: &[Reason]) {
        let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
        if self.json {
            event(&serde_json::json!({"event": "start", "stage": stage, "reasons": reasons}));
        } else {
            self.printer
                .note(&format!("running `{stage}` ({})", reasons.join(", ")));
        }
    }

    fn submitted(&self, stage: &str, job: &str, reasons: &[Reason]) {
        let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
        if self.json {
            event(
                &serde_json::json!({"event": "submit", "stage": stage, "job": job, "reasons": reasons}),
            );
        } else {
            self.printer.note(&format!(
                "submitted `{stage}` as job {job} ({})",
                reasons.join(", ")
            ));
        }
    }

    fn output(&self, stage: &str, line: &str) {
        let text = if self.prefix {
            format!("[{stage}] {line}")
        } else {
            line.to_owned()
        };
        // With --json, stdout carries only events.
        if self.json {
            let _ = writeln!(std::io::stderr(), "{text}");
        } else {
            data_line(&text);
        }
    }

    fn finished(&self, outcome: &StageOutcome) {
        for warning in &outcome.warnings {
            self.printer.warn(warning);
        }
        if self.json {
            let mut value = serde_json::to_value(outcome).unwrap_or_default();
            value["event"] = "stage".into();
            event(&value);
            return;
        }
        let name = &outcome.stage;
        let took = seconds(outcome.duration_s);
        match outcome.status {
            StageStatus::Ran => match &outcome.job {
                Some(job) => self
                    .printer
                    .note(&format!("ran `{name}` as job {job} in {took}")),
                None => self.printer.note(&format!("ran `{name}` in {took}")),
            },
            StageStatus::Restored => self
                .printer
                .note(&format!("restored `{name}` from the run cache in {took}")),
            StageStatus::Skipped => self.printer.note(&format!("`{name}` is up to date")),
            StageStatus::WouldRun => {
                data_line(&format!(
                    "would run `{name}`: {}",
                    outcome.reasons.join(", ")
                ));
            }
            StageStatus::Failed => {
                let log = outcome.log.as_ref().map_or_else(
                    || format!(".mlops/logs/{name}.log"),
                    |log| log.display().to_string(),
                );
                let job = outcome
                    .job
                    .as_ref()
                    .map_or_else(String::new, |job| format!("job {job}, "));
                self.printer.warn(&format!(
                    "stage `{name}` failed after {took}: {} ({job}log: {log})",
                    outcome.error.as_deref().unwrap_or("unknown error")
                ));
            }
            StageStatus::NotRun => self.printer.note(&format!("`{name}` was not run")),
            StageStatus::Submitted => self.printer.note(&format!(
                "`{name}` is job {} on the cluster; `mlops run` again takes it up",
                outcome.job.as_deref().unwrap_or("?")
            )),
        }
    }
}

pub(crate) fn run(args: &RunArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let options = RunOptions {
        targets: args.stages.clone(),
        jobs,
        dry_run: args.dry_run,
        force: args.force || args.single_item,
        downstream: args.downstream,
        single_item: args.single_item,
        keep_going: args.keep_going,
        link: ws.config().link,
        env: Vec::new(),
        experiment: None,
        executor: args.executor.map(Executor::from),
        no_wait: args.no_wait,
        detach: args.detach,
        mlops_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
    };
    let cancel = stop_flag();
    let console = Console::new(ctx.printer, jobs > 1);
    let started = std::time::Instant::now();
    let report = run::run(&ws, &options, &cancel, &console)?;
    print_summary(&report, args.dry_run, started, ctx);
    Ok(if report.failed() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// The run's last line: the `summary` event with `--json`; after a dry run, a word when nothing
/// would run; otherwise how many stages ran, were restored, skipped or failed, and how long it took.
fn print_summary(report: &RunReport, dry_run: bool, started: std::time::Instant, ctx: &Context) {
    let count = |status| report.stages.iter().filter(|s| s.status == status).count();
    if ctx.printer.is_json() {
        event(&serde_json::json!({
            "event": "summary",
            "ran": count(StageStatus::Ran),
            "restored": count(StageStatus::Restored),
            "skipped": count(StageStatus::Skipped),
            "failed": count(StageStatus::Failed),
            "not_run": count(StageStatus::NotRun),
            "would_run": count(StageStatus::WouldRun),
            "submitted": count(StageStatus::Submitted),
            "interrupted": report.interrupted,
            "duration_s": started.elapsed().as_secs_f64(),
        }));
    } else if dry_run {
        if count(StageStatus::WouldRun) == 0 {
            data_line("everything is up to date");
        }
    } else {
        let mut text = format!(
            "ran {}, restored {}, skipped {}, failed {}",
            count(StageStatus::Ran),
            count(StageStatus::Restored),
            count(StageStatus::Skipped),
            count(StageStatus::Failed)
        );
        if count(StageStatus::NotRun) > 0 {
            let _ = write!(text, ", not run {}", count(StageStatus::NotRun));
        }
        if count(StageStatus::Submitted) > 0 {
            let _ = write!(
                text,
                ", {} still on the cluster",
                count(StageStatus::Submitted)
            );
        }
        if report.interrupted {
            text.push_str(" (interrupted)");
        }
        data_line(&format!(
            "{text} in {}",
            seconds(started.elapsed().as_secs_f64())
        ));
    }
}

/// List the recorded stage executions, oldest first, numbered; `mlops runs diff` compares two
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct RunsArgs {
    #[command(subcommand)]
    command: Option<RunsCommand>,
    /// Only this stage (or the stages a `foreach`/`matrix` made from it)
    #[arg(long)]
    stage: Option<String>,
    /// Only the last N records
    #[arg(short = 'n', long, value_name = "N")]
    last: Option<usize>,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum RunsCommand {
    Diff(RunsDiffArgs),
}

/// Show what differs between two runs, or between the runs at two git revisions: command,
/// params, deps, outputs, metrics and environment (host, mlops version, lock files, and packages
/// added, removed, upgraded or downgraded)
///
/// OLD and NEW are run numbers, as the first column of `mlops runs` shows them, or git
/// revisions: the latest run of each stage at each commit, compared stage by stage. Without
/// them: the last two runs of --stage (or of the stage that ran last).
#[derive(Debug, clap::Args)]
pub(crate) struct RunsDiffArgs {
    /// The older side: a run number or a git revision
    #[arg(requires = "new")]
    old: Option<String>,
    /// The newer side: a run number or a git revision
    new: Option<String>,
    /// Only this stage (or the stages a `foreach`/`matrix` made from it)
    #[arg(long)]
    stage: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

pub(crate) fn runs(args: &RunsArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    if let Some(RunsCommand::Diff(diff)) = &args.command {
        return runs_diff(diff, ctx);
    }
    let targets = render::targets(&args.output, ctx, "runs", &render::pipeline::FORMATS)?;
    let ws = ctx.workspace()?;
    let all = records::list(&ws.shared_dir(), None)?;
    let mut list: Vec<Listed> = all
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            args.stage
                .as_deref()
                .is_none_or(|s| records::of_stage(r, s))
        })
        .map(|(i, record)| Listed {
            number: i + 1,
            record,
        })
        .collect();
    if let Some(n) = args.last {
        list.drain(..list.len().saturating_sub(n));
    }
    render::emit(ctx.printer, &list, &targets, |l, f| {
        render::pipeline::runs(l, f)
    })?;
    Ok(ExitStatus::Success)
}

fn runs_diff(args: &RunsDiffArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let targets = render::targets(&args.output, ctx, "runs diff", &render::pipeline::FORMATS)?;
    let ws = ctx.workspace()?;
    let options = rundiff::Options {
        sides: args.old.clone().zip(args.new.clone()),
        stage: args.stage.clone(),
    };
    let report = rundiff::diff(ws.root(), &ws.shared_dir(), &options)?;
    render::emit(ctx.printer, &report, &targets, |r, f| {
        render::pipeline::runs_diff(r, f)
    })?;
    if let Some(note) = render::pipeline::runs_diff_note(&report) {
        ctx.printer.note(&format!("note: {note}"));
    }
    Ok(ExitStatus::Success)
}
