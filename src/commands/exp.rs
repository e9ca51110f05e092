//! `mlops exp`: run variations of the pipeline (`run`), compare them (`show`, `diff`), and keep
//! or share the winner (`apply`, `branch`, `remove`, `push`, `pull`).

use std::collections::BTreeMap;

use mlops_core::ops::transfer::TransferOptions;
use mlops_exp::manage::{self, Selection};
use mlops_exp::run::{Observer, Outcome, RunOptions};
use mlops_exp::show::ShowOptions;
use mlops_pipeline::run::{StageOutcome, StageStatus};
use mlops_pipeline::state::Reason;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::output::Printer;
use crate::render::exp::SHOW_FORMATS;
use crate::render::metrics::DIFF_FORMATS;
use crate::render::text::seconds;
use crate::render::{self, Format, FormatArgs, OutputArgs};

/// Run variations of the pipeline, compare them, and keep the best
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ExpCommand {
    Run(RunArgs),
    Show(ShowArgs),
    Diff(DiffArgs),
    Apply(ApplyArgs),
    Branch(BranchArgs),
    Remove(RemoveArgs),
    Push(PushArgs),
    Pull(PullArgs),
}

/// Run the pipeline with changed params, each variation in its own git worktree sharing the
/// caches (the workspace is left as it is), and record each as a git ref
#[derive(Debug, clap::Args)]
#[allow(clippy::struct_excessive_bools, reason = "independent clap flags")]
pub(crate) struct RunArgs {
    /// Stages to run (default: all)
    stages: Vec<String>,
    /// Change a param: `[FILE:]KEY=VALUE` (`+KEY=` adds, `++KEY=` adds or sets, `~KEY` deletes).
    /// A sweep runs every combination: `lr=0.001,0.01`, `depth=range(3,9)`, `opt=choice(a,b)`
    #[arg(short = 'S', long = "set-param", value_name = "OVERRIDE")]
    set: Vec<String>,
    /// Name the experiment (several: NAME-1, NAME-2, ...)
    #[arg(short, long)]
    name: Option<String>,
    /// Queue the experiments instead of running them; `--run-all` runs the queue
    #[arg(long, conflicts_with = "run_all")]
    queue: bool,
    /// Run every queued experiment
    #[arg(long, conflicts_with_all = ["set", "name", "random", "stages"])]
    run_all: bool,
    /// Experiments at once
    #[arg(short, long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// Run N combinations of the sweep, drawn at random
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    random: Option<u32>,
    /// Seed of `--random`
    #[arg(long, default_value_t = 0, requires = "random")]
    seed: u64,
    /// Replace an experiment of the same name
    #[arg(short, long)]
    force: bool,
}

/// The table of experiments: the workspace, HEAD and the experiments run from it, with their
/// params and metrics
#[derive(Debug, clap::Args)]
#[allow(clippy::struct_excessive_bools, reason = "independent clap flags")]
pub(crate) struct ShowArgs {
    /// Experiments of every commit, not only HEAD's
    #[arg(short = 'A', long)]
    all: bool,
    /// Only the columns whose value differs between rows
    #[arg(long)]
    only_changed: bool,
    /// Sort the experiments by this metric or param (`KEY` or `FILE:KEY`)
    #[arg(long, value_name = "COLUMN")]
    sort_by: Option<String>,
    /// Show only the experiments for which this condition holds, e.g. `roc_auc > 0.8 and
    /// train.lr < 0.01` (the language of `--gate`)
    #[arg(long = "where", value_name = "CONDITION")]
    filter: Option<String>,
    /// Show only the columns matching this regular expression (a key or `FILE:KEY`)
    #[arg(long, value_name = "REGEX")]
    keep: Option<String>,
    /// Hide the columns matching this regular expression (`--keep` wins)
    #[arg(long, value_name = "REGEX")]
    drop: Option<String>,
    /// Sort order of `--sort-by`
    #[arg(long, value_enum, default_value_t = SortOrder::Asc, requires = "sort_by")]
    sort_order: SortOrder,
    /// Significant digits of the decimal numbers shown (JSON keeps the full values)
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=17))]
    precision: u8,
    /// Print a Markdown table: `--format markdown`
    #[arg(long)]
    md: bool,
    /// Print CSV: `--format csv`
    #[arg(long)]
    csv: bool,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SortOrder {
    Asc,
    Desc,
}

/// Compare the metrics and params of two experiments or revisions (one: an experiment against
/// its baseline; none: HEAD against the workspace)
#[derive(Debug, clap::Args)]
pub(crate) struct DiffArgs {
    a: Option<String>,
    b: Option<String>,
    /// Significant digits of the decimal numbers shown
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=17))]
    precision: u8,
    /// Print Markdown tables: `--format markdown`
    #[arg(long)]
    md: bool,
    #[command(flatten)]
    format: FormatArgs,
}

/// Bring an experiment's params, lock, metrics and outputs into the workspace (not committed)
#[derive(Debug, clap::Args)]
pub(crate) struct ApplyArgs {
    name: String,
    /// Replace files with uncommitted changes
    #[arg(short, long)]
    force: bool,
}

/// Make a git branch of an experiment
#[derive(Debug, clap::Args)]
pub(crate) struct BranchArgs {
    name: String,
    /// The branch (default: `NAME-branch`)
    branch: Option<String>,
}

/// Remove experiments (their data goes at the next `mlops gc`)
#[derive(Debug, clap::Args)]
pub(crate) struct RemoveArgs {
    #[arg(required_unless_present_any = ["all", "queue"])]
    names: Vec<String>,
    /// Every experiment, of every commit
    #[arg(short = 'A', long)]
    all: bool,
    /// Every queued experiment
    #[arg(long)]
    queue: bool,
}

/// Push experiments to a git remote, and their data to the data remote
#[derive(Debug, clap::Args)]
pub(crate) struct PushArgs {
    /// The git remote (a name or URL)
    git_remote: String,
    /// Experiments (default: those of HEAD)
    names: Vec<String>,
    /// Every experiment, of every commit
    #[arg(short = 'A', long)]
    all: bool,
    #[command(flatten)]
    share: ShareArgs,
}

/// Fetch experiments from a git remote, and their data from the data remote into the cache
#[derive(Debug, clap::Args)]
pub(crate) struct PullArgs {
    /// The git remote (a name or URL)
    git_remote: String,
    /// Experiments (default: all the remote has)
    names: Vec<String>,
    #[command(flatten)]
    share: ShareArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ShareArgs {
    /// Replace experiments of the same name that differ
    #[arg(short, long)]
    force: bool,
    /// Move the refs only, not the data
    #[arg(long)]
    no_data: bool,
    /// The data remote (default: the default remote)
    #[arg(short, long, value_name = "NAME")]
    remote: Option<String>,
}

impl ShareArgs {
    /// The data transfer, if any: none without `--no-data`'s opposite, or when no data remote
    /// is configured and none is named.
    fn data(&self, ws: &mlops_core::Workspace) -> Option<TransferOptions> {
        if self.no_data || (self.remote.is_none() && ws.config().default_remote.is_none()) {
            return None;
        }
        Some(TransferOptions {
            remote: self.remote.clone(),
            ..TransferOptions::default()
        })
    }
}

pub(crate) fn run(command: &ExpCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    match command {
        ExpCommand::Run(args) => run_experiments(args, ctx),
        ExpCommand::Show(args) => show(args, ctx),
        ExpCommand::Diff(args) => diff(args, ctx),
        ExpCommand::Apply(args) => {
            let ws = ctx.workspace()?;
            let progress = ctx.printer.progress();
            let report = manage::apply(&ws, &args.name, args.force, &progress)?;
            ctx.printer.report(&report, |r| {
                format!(
                    "applied `{}`: {} file(s) written, {} removed, {} output file(s) checked out; \
                     `git diff` shows the changes, `git commit` keeps them",
                    r.name,
                    r.written.len(),
                    r.removed.len(),
                    r.restored
                )
            })?;
            Ok(ExitStatus::Success)
        }
        ExpCommand::Branch(args) => {
            let ws = ctx.workspace()?;
            let branch = args
                .branch
                .clone()
                .unwrap_or_else(|| format!("{}-branch", args.name));
            let found = manage::branch(&ws, &args.name, &branch)?;
            let report = serde_json::json!({"experiment": found.name(), "branch": branch});
            ctx.printer.report(&report, |_| {
                format!("made branch `{branch}` at experiment `{}`", found.name())
            })?;
            Ok(ExitStatus::Success)
        }
        ExpCommand::Remove(args) => {
            let ws = ctx.workspace()?;
            let removed = manage::remove(
                &ws,
                &Selection {
                    names: args.names.clone(),
                    all: args.all,
                    queue: args.queue,
                },
            )?;
            let report = serde_json::json!({ "removed": removed });
            ctx.printer.report(&report, |_| {
                if removed.is_empty() {
                    "no experiments to remove".to_owned()
                } else {
                    format!("removed {}", removed.join(", "))
                }
            })?;
            Ok(ExitStatus::Success)
        }
        ExpCommand::Push(args) => {
            let ws = ctx.workspace()?;
            let data = args.share.data(&ws);
            let report = manage::push(
                &ws,
                &args.git_remote,
                &Selection {
                    names: args.names.clone(),
                    all: args.all,
                    queue: false,
                },
                args.share.force,
                data.as_ref(),
                &ctx.printer.progress(),
            )?;
            ctx.printer
                .report(&report, |r| share_line("pushed", "to", r, data.is_some()))?;
            Ok(ExitStatus::Success)
        }
        ExpCommand::Pull(args) => {
            let ws = ctx.workspace()?;
            let data = args.share.data(&ws);
            let report = manage::pull(
                &ws,
                &args.git_remote,
                &args.names,
                args.share.force,
                data.as_ref(),
                &ctx.printer.progress(),
            )?;
            ctx.printer
                .report(&report, |r| share_line("pulled", "from", r, data.is_some()))?;
            Ok(ExitStatus::Success)
        }
    }
}

fn share_line(verb: &str, direction: &str, r: &manage::ShareReport, data: bool) -> String {
    if r.experiments.is_empty() {
        return format!("no experiments to move {direction} `{}`", r.remote);
    }
    let data = if data {
        format!(
            "; {} data object(s), {}",
            r.objects,
            crate::render::text::size(r.bytes)
        )
    } else {
        "; no data (no data remote, or --no-data)".to_owned()
    };
    format!(
        "{verb} {} {direction} `{}`{data}",
        r.experiments.join(", "),
        r.remote
    )
}

fn run_experiments(args: &RunArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    let options = RunOptions {
        set: args.set.clone(),
        name: args.name.clone(),
        queue: args.queue,
        run_all: args.run_all,
        jobs: usize::from(args.jobs),
        random: args.random.map(|n| n as usize),
        seed: args.seed,
        force: args.force,
        targets: args.stages.clone(),
        mlops_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let cancel = crate::commands::run::stop_flag();
    let console = Console {
        printer: ctx.printer,
        json: ctx.printer.is_json(),
    };
    let started = std::time::Instant::now();
    let report = mlops_exp::run::run(&ws, &options, &cancel, &console)?;
    for file in &report.rewritten {
        ctx.printer.warn(&format!(
            "`{}` could not be edited in place: the experiments' copies of it are rewritten whole, without its comments",
            file.display()
        ));
    }
    let took = started.elapsed().as_secs_f64();
    if ctx.printer.is_json() {
        let mut value = serde_json::to_value(&report)?;
        value["event"] = "summary".into();
        value["duration_s"] = took.into();
        data_line(&value.to_string());
    } else {
        data_line(&render::exp::run_summary(&report, took));
    }
    Ok(if report.failed() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

fn data_line(text: &str) {
    let _ = Printer::data(format!("{text}\n").as_bytes());
}

/// Prints experiment and stage events: text lines prefixed `[experiment/stage]`, or JSON Lines
/// with `--json`.
struct Console<'a> {
    printer: &'a Printer,
    json: bool,
}

/// Writes one JSON Lines event on stdout.
fn event(value: &serde_json::Value) {
    data_line(&value.to_string());
}

impl Observer for Console<'_> {
    fn started(&self, name: &str, overrides: &BTreeMap<String, serde_json::Value>) {
        if self.json {
            event(
                &serde_json::json!({"event": "experiment_start", "experiment": name, "overrides": overrides}),
            );
        } else {
            let text: Vec<String> = overrides
                .iter()
                .map(|(k, v)| format!("{}={v}", k.strip_prefix("params.yaml:").unwrap_or(k)))
                .collect();
            self.printer
                .note(&format!("running experiment `{name}` ({})", text.join(" ")));
        }
    }

    fn stage_started(&self, name: &str, stage: &str, reasons: &[Reason]) {
        if self.json {
            let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
            event(
                &serde_json::json!({"event": "start", "experiment": name, "stage": stage, "reasons": reasons}),
            );
        }
    }

    fn stage_output(&self, name: &str, stage: &str, line: &str) {
        let text = format!("[{name}/{stage}] {line}");
        if self.json {
            let _ =
                std::io::Write::write_all(&mut std::io::stderr(), format!("{text}\n").as_bytes());
        } else {
            data_line(&text);
        }
    }

    fn stage_finished(&self, name: &str, outcome: &StageOutcome) {
        if self.json {
            let mut value = serde_json::to_value(outcome).unwrap_or_default();
            value["event"] = "stage".into();
            value["experiment"] = name.into();
            event(&value);
            return;
        }
        let stage = &outcome.stage;
        let took = seconds(outcome.duration_s);
        match outcome.status {
            StageStatus::Ran => self
                .printer
                .note(&format!("[{name}] ran `{stage}` in {took}")),
            StageStatus::Restored => self
                .printer
                .note(&format!("[{name}] restored `{stage}` from the run cache")),
            StageStatus::Failed => self.printer.warn(&format!(
                "[{name}] stage `{stage}` failed after {took}: {}",
                outcome.error.as_deref().unwrap_or("unknown error")
            )),
            _ => {}
        }
    }

    fn finished(&self, outcome: &Outcome) {
        if self.json {
            let mut value = serde_json::to_value(outcome).unwrap_or_default();
            value["event"] = "experiment".into();
            event(&value);
        } else {
            data_line(&render::exp::outcome_line(outcome));
        }
    }
}

fn show(args: &ShowArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let mut output = args.output.clone();
    for (flag, on, format) in [
        ("--md", args.md, Format::Markdown),
        ("--csv", args.csv, Format::Csv),
    ] {
        if !on {
            continue;
        }
        match output.format.format {
            None => output.format.format = Some(format),
            Some(f) if f == format => {}
            Some(other) => anyhow::bail!(
                "`{flag}` and `--format {other}` ask for different formats: give one of them"
            ),
        }
    }
    let targets = render::targets(&output, ctx, "exp show", &SHOW_FORMATS)?;
    let ws = ctx.workspace()?;
    let report = mlops_exp::show::show(
        &ws,
        &ShowOptions {
            all_baselines: args.all,
            only_changed: args.only_changed,
            sort_by: args.sort_by.clone(),
            descending: args.sort_order == SortOrder::Desc,
            keep: args.keep.clone(),
            drop: args.drop.clone(),
            filter: args.filter.clone(),
        },
    )?;
    render::emit(ctx.printer, &report, &targets, |r, format| {
        render::exp::show(r, format, args.precision)
    })?;
    Ok(ExitStatus::Success)
}

fn diff(args: &DiffArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let mut format = render::format(&args.format, ctx, "exp diff", &DIFF_FORMATS)?;
    if args.md {
        anyhow::ensure!(
            matches!(format, Format::Text | Format::Markdown) && !ctx.printer.is_json(),
            "`--md` and `--format {format}` ask for different formats: give one of them"
        );
        format = Format::Markdown;
    }
    let ws = ctx.workspace()?;
    let (metrics, params) = manage::diff(&ws, args.a.as_deref(), args.b.as_deref())?;
    if format == Format::Json {
        let value = serde_json::json!({"metrics": metrics, "params": params});
        render::print(&crate::render::json::pretty(&value)?)?;
    } else {
        let text = format!(
            "{}\n\n{}",
            render::metrics::diff(&metrics, format, "metrics", Some(args.precision)),
            render::metrics::diff(&params, format, "params", Some(args.precision))
        );
        render::print(&text)?;
    }
    Ok(ExitStatus::Success)
}
