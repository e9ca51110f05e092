//! `mlops exp run`: runs variations of the pipeline, each in its own worktree sharing the main
//! workspace's caches, `-j N` at a time, and records each finished one as a git ref; or queues
//! them for `--run-all`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use git2::{Oid, Repository};
use mlops_core::Workspace;
use mlops_core::ops::checkout::CheckoutOptions;
use mlops_core::ops::transfer::TransferOptions;
use mlops_core::progress::NoProgress;
use mlops_pipeline::run::{RunReport as StagesReport, StageOutcome, StageStatus};
use mlops_pipeline::spec::Pipeline;
use mlops_pipeline::state::Reason;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::prepare::{self, Snapshot};
use crate::refs::{self, QUEUE_PREFIX, RUNNING_PREFIX};
use crate::summary::{FORMAT, State, Summary};
use crate::worktree::Worktree;

/// Settings for `mlops exp run`.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `-S` arguments.
    pub set: Vec<String>,
    /// The experiment's name (`NAME-1`, `NAME-2`... for several).
    pub name: Option<String>,
    /// Queue instead of running.
    pub queue: bool,
    /// Run every queued experiment.
    pub run_all: bool,
    /// Experiments at once.
    pub jobs: usize,
    /// Run this many combinations of the grid, drawn at random.
    pub random: Option<usize>,
    pub seed: u64,
    /// Replace an experiment of the same name.
    pub force: bool,
    /// Stages to run (all when empty).
    pub targets: Vec<String>,
    /// Recorded in each experiment.
    pub mlops_version: String,
}

/// Receives events while experiments run; called from several threads.
pub trait Observer: Sync {
    fn queued(&self, _name: &str, _overrides: &BTreeMap<String, serde_json::Value>) {}
    fn started(&self, _name: &str, _overrides: &BTreeMap<String, serde_json::Value>) {}
    fn stage_started(&self, _name: &str, _stage: &str, _reasons: &[Reason]) {}
    fn stage_output(&self, _name: &str, _stage: &str, _line: &str) {}
    fn stage_finished(&self, _name: &str, _outcome: &StageOutcome) {}
    fn finished(&self, _outcome: &Outcome) {}
}

/// How an experiment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Ran; its ref holds the results.
    Done,
    /// Queued for `--run-all`.
    Queued,
    /// A stage failed, or the experiment could not be set up.
    Failed,
    /// Stopped by an interrupt (a queued one goes back to the queue).
    Interrupted,
}

/// One experiment's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub name: String,
    pub status: Status,
    /// The experiment's ref (or its queue ref).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refname: Option<String>,
    pub baseline: String,
    pub overrides: BTreeMap<String, serde_json::Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, serde_json::Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageOutcome>,
    pub duration_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Where the stages' logs of a failed experiment were kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs: Option<PathBuf>,
}

impl Outcome {
    /// An experiment's outcome before it has any result.
    fn new(
        name: &str,
        status: Status,
        baseline: git2::Oid,
        overrides: &BTreeMap<String, serde_json::Value>,
    ) -> Self {
        Self {
            name: name.to_owned(),
            status,
            refname: None,
            baseline: baseline.to_string(),
            overrides: overrides.clone(),
            params: BTreeMap::new(),
            metrics: BTreeMap::new(),
            stages: Vec::new(),
            duration_s: 0.0,
            error: None,
            logs: None,
        }
    }
}

/// Every experiment's outcome, in the order they finished.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub experiments: Vec<Outcome>,
    pub interrupted: bool,
    /// Params files whose comments an edit could not keep.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rewritten: Vec<PathBuf>,
}

impl RunReport {
    pub fn failed(&self) -> bool {
        self.interrupted
            || self
                .experiments
                .iter()
                .any(|e| matches!(e.status, Status::Failed | Status::Interrupted))
    }
}

/// An experiment ready to run: its prepared commit on the baseline.
struct Planned {
    name: String,
    commit: Oid,
    baseline: Oid,
    overrides: BTreeMap<String, serde_json::Value>,
    /// Its `refs/mlops/running/` ref, when it came from the queue.
    claimed: Option<String>,
}

/// What every experiment of a run shares.
struct Context<'a> {
    main: &'a Workspace,
    workdir: PathBuf,
    prefix: PathBuf,
    options: &'a RunOptions,
    cancel: &'a AtomicBool,
    observer: &'a dyn Observer,
    /// Stages at once within one experiment.
    stage_jobs: usize,
}

/// Runs (or queues) the experiments `options` describe.
///
/// # Errors
/// Bad overrides and names before anything is written; git and workspace errors. A failing
/// experiment is an outcome, not an error.
pub fn run(
    ws: &Workspace,
    options: &RunOptions,
    cancel: &AtomicBool,
    observer: &dyn Observer,
) -> Result<RunReport> {
    let opened = mlops_meta::history::Repo::open(ws)?;
    let (repo, workdir, prefix) = (
        opened.git(),
        opened.workdir().to_owned(),
        opened.prefix().to_owned(),
    );
    let baseline = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(|_| Error::NoCommit)?;
    let pipeline = Pipeline::load(ws.root())?;
    let mut rewritten = Vec::new();
    let planned = if options.run_all {
        Vec::new()
    } else {
        plan(
            ws,
            repo,
            &prefix,
            &baseline,
            &pipeline,
            options,
            &mut rewritten,
        )?
    };
    if options.queue {
        return Ok(RunReport {
            experiments: enqueue(repo, planned, options.force, observer)?,
            interrupted: false,
            rewritten,
        });
    }
    let jobs = options.jobs.max(1);
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let context = Context {
        main: ws,
        workdir,
        prefix,
        options,
        cancel,
        observer,
        stage_jobs: (cores / jobs).max(1),
    };
    // Held shared while experiments store objects no ref names yet: `gc` waits for it.
    let _experiments = ws.experiments_lock(false)?;
    let source = if options.run_all {
        requeue_abandoned(repo, ws)?;
        Source::Queue(Mutex::new(()))
    } else {
        Source::Planned(planned, AtomicUsize::new(0))
    };
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                while !cancel.load(Ordering::SeqCst) {
                    let next = match source.next(&context) {
                        Ok(Some(next)) => next,
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!("cannot take a queued experiment: {e}");
                            break;
                        }
                    };
                    let outcome = execute(&context, &next);
                    observer.finished(&outcome);
                    outcomes.lock().expect("no worker panics").push(outcome);
                }
            });
        }
    });
    Ok(RunReport {
        experiments: outcomes.into_inner().expect("no worker panics"),
        interrupted: cancel.load(Ordering::SeqCst),
        rewritten,
    })
}

/// Checks every override and name, then writes each variation's starting commit (no ref yet).
fn plan(
    ws: &Workspace,
    repo: &Repository,
    prefix: &Path,
    baseline: &git2::Commit<'_>,
    pipeline: &Pipeline,
    options: &RunOptions,
    rewritten: &mut Vec<PathBuf>,
) -> Result<Vec<Planned>> {
    let variations = prepare::variations(
        ws,
        Some(pipeline),
        &options.set,
        options.random,
        options.seed,
    )?;
    for v in &variations {
        for file in &v.rewritten {
            if !rewritten.contains(file) {
                rewritten.push(file.clone());
            }
        }
    }
    let names = names_for(repo, baseline.id(), options, &variations)?;
    ws.ensure_ignored(&["/exps/"])?;
    let snapshot = Snapshot::take(repo, prefix)?;
    let mut planned = Vec::with_capacity(variations.len());
    for (variation, name) in variations.into_iter().zip(names) {
        let tree = repo.find_tree(snapshot.tree(repo, baseline, &variation.files)?)?;
        let summary = Summary {
            format: FORMAT,
            name: name.clone(),
            baseline: baseline.id().to_string(),
            state: State::Queued,
            overrides: variation.overrides.clone(),
            params: BTreeMap::new(),
            metrics: BTreeMap::new(),
            stages: BTreeMap::new(),
            duration_s: None,
            mlops_version: options.mlops_version.clone(),
        };
        let signature = mlops_meta::history::signature(repo)?;
        let commit = repo.commit(
            None,
            &signature,
            &signature,
            &summary.message(),
            &tree,
            &[baseline],
        )?;
        planned.push(Planned {
            name,
            commit,
            baseline: baseline.id(),
            overrides: variation.overrides,
            claimed: None,
        });
    }
    Ok(planned)
}

/// Gives each planned experiment its queue ref.
fn enqueue(
    repo: &Repository,
    planned: Vec<Planned>,
    force: bool,
    observer: &dyn Observer,
) -> Result<Vec<Outcome>> {
    let mut experiments = Vec::new();
    for p in planned {
        let refname = format!("{QUEUE_PREFIX}{}", p.name);
        repo.reference(&refname, p.commit, force, "mlops exp run --queue")?;
        mlops_core::faults::write_step();
        observer.queued(&p.name, &p.overrides);
        experiments.push(Outcome {
            refname: Some(refname),
            ..Outcome::new(&p.name, Status::Queued, p.baseline, &p.overrides)
        });
    }
    Ok(experiments)
}

/// Where the workers take experiments from.
enum Source {
    Planned(Vec<Planned>, AtomicUsize),
    /// The queue, claimed one ref at a time (the mutex orders this process's workers; git's ref
    /// lock orders processes).
    Queue(Mutex<()>),
}

impl Source {
    fn next(&self, context: &Context<'_>) -> Result<Option<Planned>> {
        match self {
            Source::Planned(planned, index) => {
                let i = index.fetch_add(1, Ordering::SeqCst);
                Ok(planned.get(i).map(|p| Planned {
                    name: p.name.clone(),
                    commit: p.commit,
                    baseline: p.baseline,
                    overrides: p.overrides.clone(),
                    claimed: None,
                }))
            }
            Source::Queue(order) => {
                let _order = order.lock().expect("no worker panics");
                let repo = Repository::open(&context.workdir)?;
                claim_next(&repo)
            }
        }
    }
}

/// Claims the oldest queued experiment by renaming its ref into `refs/mlops/running/`.
fn claim_next(repo: &Repository) -> Result<Option<Planned>> {
    let mut queued: Vec<refs::Found> = refs::list(repo)?
        .into_iter()
        .filter(|f| f.summary.state == State::Queued)
        .collect();
    queued.sort_by(|a, b| (a.time, &a.refname).cmp(&(b.time, &b.refname)));
    for found in queued {
        let Ok(mut reference) = repo.find_reference(&found.refname) else {
            continue;
        };
        let running = format!("{RUNNING_PREFIX}{}", found.name());
        // Another process may have claimed it a moment ago: then the rename fails.
        if reference
            .rename(&running, false, "mlops exp run --run-all")
            .is_err()
        {
            continue;
        }
        mlops_core::faults::write_step();
        let baseline = Oid::from_str(&found.summary.baseline)?;
        return Ok(Some(Planned {
            name: found.summary.name,
            commit: found.commit,
            baseline,
            overrides: found.summary.overrides,
            claimed: Some(running),
        }));
    }
    Ok(None)
}

/// Puts back in the queue the experiments a killed `--run-all` had claimed: those whose
/// worktree no running process holds. (A claim made by another `--run-all` an instant before
/// its worktree exists looks abandoned too: that experiment may then run twice, never not at
/// all, and its second run replaces the first's ref.)
fn requeue_abandoned(repo: &Repository, ws: &Workspace) -> Result<()> {
    let live: Vec<String> = fs_err::read_dir(ws.exps_dir())
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for reference in repo.references_glob("refs/mlops/running/*")? {
        let mut reference = reference?;
        let Some(name) = reference
            .name()
            .and_then(|n| n.strip_prefix(RUNNING_PREFIX))
            .map(str::to_owned)
        else {
            continue;
        };
        // Worktree directories are named `.<name>.<pid>.<n>.mlops-tmp`.
        if live.iter().any(|dir| dir.starts_with(&format!(".{name}."))) {
            continue;
        }
        let _ = reference.rename(&format!("{QUEUE_PREFIX}{name}"), false, "requeue");
    }
    Ok(())
}

/// The names of the variations: `--name` (numbered for several), else generated; refused when
/// taken (without `--force`).
fn names_for(
    repo: &Repository,
    baseline: Oid,
    options: &RunOptions,
    variations: &[prepare::Variation],
) -> Result<Vec<String>> {
    let taken = |name: &str| {
        repo.find_reference(&refs::exp_ref(baseline, name)).is_ok()
            || repo
                .find_reference(&format!("{QUEUE_PREFIX}{name}"))
                .is_ok()
            || repo
                .find_reference(&format!("{RUNNING_PREFIX}{name}"))
                .is_ok()
    };
    let mut names: Vec<String> = Vec::with_capacity(variations.len());
    for (i, variation) in variations.iter().enumerate() {
        let name = match (&options.name, variations.len()) {
            (Some(name), 1) => name.clone(),
            (Some(name), _) => format!("{name}-{}", i + 1),
            (None, _) => {
                let seed = format!(
                    "{baseline}{}",
                    serde_json::to_string(&variation.overrides).unwrap_or_default()
                );
                crate::names::generate(seed.as_bytes(), &|n: &str| {
                    taken(n) || names.iter().any(|m| m == n)
                })
            }
        };
        refs::check_name(&name)?;
        if options.name.is_some() && taken(&name) && !options.force {
            return Err(Error::ExperimentExists { name });
        }
        names.push(name);
    }
    Ok(names)
}

/// Runs one experiment to its end; every failure becomes its outcome.
fn execute(context: &Context<'_>, planned: &Planned) -> Outcome {
    let started = Instant::now();
    context.observer.started(&planned.name, &planned.overrides);
    let mut outcome = Outcome::new(
        &planned.name,
        Status::Failed,
        planned.baseline,
        &planned.overrides,
    );
    if let Err(e) = execute_in_worktree(context, planned, &mut outcome, started) {
        outcome.error = Some(e.to_string());
    }
    outcome.duration_s = started.elapsed().as_secs_f64();
    if let Some(running) = &planned.claimed
        && let Ok(repo) = Repository::open(&context.workdir)
        && let Ok(mut reference) = repo.find_reference(running)
    {
        // Done: the running ref goes; failed or stopped: back to the queue, to run again.
        let _ = if outcome.status == Status::Done {
            reference.delete()
        } else {
            reference
                .rename(&format!("{QUEUE_PREFIX}{}", planned.name), false, "requeue")
                .map(|_| ())
        };
    }
    outcome
}

fn execute_in_worktree(
    context: &Context<'_>,
    planned: &Planned,
    outcome: &mut Outcome,
    started: Instant,
) -> Result<()> {
    let main = context.main;
    let worktree = Worktree::create(
        main,
        &context.workdir,
        &context.prefix,
        planned.commit,
        &planned.name,
    )?;
    // A workspace whose `.mlops/config.yaml` is not committed still needs one in the worktree,
    // or `mlops` run by a stage there would find the main workspace instead.
    let config = worktree.root.join(".mlops").join("config.yaml");
    if !config.exists() {
        fs_err::create_dir_all(config.parent().expect("a parent"))?;
        mlops_core::atomic::write(
            &config,
            &fs_err::read(main.mlops_dir().join("config.yaml"))?,
        )?;
    }
    let ws = Workspace::attach(&worktree.root, main)?;
    restore_data(&ws)?;
    let baseline = planned.baseline.to_string();
    let options = mlops_pipeline::run::RunOptions {
        targets: context.options.targets.clone(),
        jobs: context.stage_jobs,
        dry_run: false,
        force: false,
        downstream: false,
        single_item: false,
        keep_going: false,
        link: main.config().link,
        env: [
            ("MLOPS_EXP_NAME", planned.name.as_str()),
            ("MLOPS_EXP_BASELINE_REV", &baseline),
            // dvclive, told it runs inside an experiment, writes where DVC would and saves
            // nothing itself.
            ("DVC_EXP_NAME", planned.name.as_str()),
            ("DVC_EXP_BASELINE_REV", &baseline),
            ("DVC_ROOT", &ws.root().to_string_lossy()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        experiment: Some(planned.name.clone()),
        executor: Some(mlops_pipeline::cluster::Executor::Local),
        no_wait: false,
        detach: false,
        mlops_version: Some(context.options.mlops_version.clone()),
    };
    let stages_observer = Stages {
        name: &planned.name,
        observer: context.observer,
    };
    let report: StagesReport =
        mlops_pipeline::run::run(&ws, &options, context.cancel, &stages_observer)?;
    outcome.stages.clone_from(&report.stages);
    if report.failed() {
        outcome.status = if report.interrupted {
            Status::Interrupted
        } else {
            Status::Failed
        };
        outcome.logs = keep_logs(main, &ws, &planned.name);
        return Ok(());
    }
    let (params, metrics) = crate::show::values_in(ws.root(), &Pipeline::load(ws.root())?);
    let summary = Summary {
        format: FORMAT,
        name: planned.name.clone(),
        baseline: baseline.clone(),
        state: State::Done,
        overrides: planned.overrides.clone(),
        params,
        metrics,
        stages: report
            .stages
            .iter()
            .map(|s| (s.stage.clone(), status_word(s.status).to_owned()))
            .collect(),
        duration_s: Some(started.elapsed().as_secs_f64()),
        mlops_version: context.options.mlops_version.clone(),
    };
    let repo = Repository::open(&worktree.dir)?;
    let tree = worktree_tree(&repo, &context.prefix)?;
    let baseline_commit = repo.find_commit(planned.baseline)?;
    let signature = mlops_meta::history::signature(&repo)?;
    let commit = repo.commit(
        None,
        &signature,
        &signature,
        &summary.message(),
        &repo.find_tree(tree)?,
        &[&baseline_commit],
    )?;
    mlops_core::faults::write_step();
    let refname = refs::exp_ref(planned.baseline, &planned.name);
    repo.reference(&refname, commit, true, "mlops exp run")?;
    mlops_core::faults::write_step();
    outcome.status = Status::Done;
    outcome.refname = Some(refname);
    outcome.params = summary.params;
    outcome.metrics = summary.metrics;
    Ok(())
}

/// Places the data tracked with pointer files (from the shared cache, fetching what it lacks
/// from the default remote); the pipeline's outputs come from the run cache or are made.
fn restore_data(ws: &Workspace) -> Result<()> {
    let tracked = mlops_core::ops::resolve(ws, &[])?;
    if tracked.is_empty() {
        return Ok(());
    }
    mlops_core::ops::transfer::fetch_missing(
        ws,
        &tracked,
        &TransferOptions::default(),
        &NoProgress,
    )?;
    let _lock = ws.lock()?;
    mlops_core::ops::checkout::restore(
        ws,
        &tracked,
        &CheckoutOptions {
            force: true,
            link: ws.config().link,
        },
        &NoProgress,
    )?;
    Ok(())
}

/// The tree of what the experiment leaves: every file git would add in the worktree (edits,
/// `mlops.lock`, metrics, new `.gitignore` lines), with `.mlops/` as the prepared commit has it.
fn worktree_tree(repo: &Repository, prefix: &Path) -> Result<Oid> {
    let own = prefix.join(".mlops");
    let mut skip_own = |path: &Path, _: &[u8]| -> i32 { i32::from(path.starts_with(&own)) };
    let mut index = repo.index()?;
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, Some(&mut skip_own))?;
    index.update_all(["*"], Some(&mut skip_own))?;
    Ok(index.write_tree()?)
}

/// Copies a failed experiment's stage logs to `.mlops/logs/exps/<name>/` of the main workspace
/// (its worktree goes); returns where, relative to the main workspace.
fn keep_logs(main: &Workspace, ws: &Workspace, name: &str) -> Option<PathBuf> {
    let rel = PathBuf::from(".mlops/logs/exps").join(name);
    let dest = main.root().join(&rel);
    fs_err::create_dir_all(&dest).ok()?;
    for entry in fs_err::read_dir(ws.mlops_dir().join("logs"))
        .ok()?
        .flatten()
    {
        if let Ok(bytes) = fs_err::read(entry.path()) {
            let _ = mlops_core::atomic::write(&dest.join(entry.file_name()), &bytes);
        }
    }
    Some(rel)
}

fn status_word(status: StageStatus) -> &'static str {
    match status {
        StageStatus::Ran => "ran",
        StageStatus::Restored => "restored",
        StageStatus::Skipped => "skipped",
        StageStatus::Failed => "failed",
        StageStatus::WouldRun => "would_run",
        StageStatus::NotRun => "not_run",
        StageStatus::Submitted => "submitted",
    }
}

/// Passes one experiment's stage events on, with its name.
struct Stages<'a> {
    name: &'a str,
    observer: &'a dyn Observer,
}

impl mlops_pipeline::run::Observer for Stages<'_> {
    fn started(&self, stage: &str, reasons: &[Reason]) {
        self.observer.stage_started(self.name, stage, reasons);
    }
    fn output(&self, stage: &str, line: &str) {
        self.observer.stage_output(self.name, stage, line);
    }
    fn finished(&self, outcome: &StageOutcome) {
        self.observer.stage_finished(self.name, outcome);
    }
}
