//! `mlops run`: bring the selected stages up to date, `jobs` independent stages at a time.
//!
//! Each stage, once its upstream stages are done, is skipped when its lock entry still matches,
//! restored from the run cache when its inputs were seen before, or run: previous outputs removed,
//! `sh -c cmd` started in its own process group (so an interrupt can be forwarded to all of it)
//! once its pid file is written (see `running`), output streamed to the observer and to
//! `.mlops/logs/<stage>.log`, outputs cached, then the lock entry and a run record written. A
//! failed or interrupted stage leaves its lock entry as it was: outputs are recorded only from
//! commands that ended on their own, with status 0, while this run held the workspace lock.
//!
//! When a selected stage runs on Slurm, the cluster driver (`cluster::driver`) schedules the
//! run instead of the workers; it and the cluster jobs share the steps here: `plan` (skip or
//! run, and why), `restore_cached`, `produce` (run and cache) and `commit`.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use mlops_core::config::LinkMode;
use mlops_core::index::{HashIndex, Stamp};
use mlops_core::manifest::EntryKind;
use mlops_core::ops::Tracked;
use mlops_core::ops::add::cache_path;
use mlops_core::ops::checkout::{self, CheckoutOptions};
use mlops_core::progress::NoProgress;
use mlops_core::scan::scan;
use mlops_core::tree::read_tree;
use mlops_core::{Digest, Workspace};
use rustix::process::Signal;
use serde::{Deserialize, Serialize};

use crate::cluster::Executor;
use crate::dag::Dag;
use crate::env::{CaptureOptions, Environment, Host, Probes};
use crate::error::{Error, Result};
use crate::lockfile::{LockFile, OutLock, StageLock};
use crate::params::{ParamsFiles, flatten};
use crate::records::{RunRecord, rfc3339};
use crate::runcache::{self, CacheEntry};
use crate::spec::{Pipeline, Stage};
use crate::state::{Digests, Reason, current_inputs, reasons};

/// Settings for a run.
#[derive(Debug, Clone)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "each is one `mlops run` flag"
)]
pub struct RunOptions {
    /// Stage names (all when empty).
    pub targets: Vec<String>,
    /// Stages at once.
    pub jobs: usize,
    /// Only report what would run and why.
    pub dry_run: bool,
    /// Run the selected stages even when up to date (and not from the run cache).
    pub force: bool,
    /// Select the targets and what depends on them, instead of what they depend on.
    pub downstream: bool,
    /// Select the targets only, not the stages they depend on (`mlops run --single-item`, with
    /// `force`, as `dvc repro -s`).
    pub single_item: bool,
    /// After a failure, go on with stages that do not depend on it.
    pub keep_going: bool,
    pub link: LinkMode,
    /// Environment variables given to every stage's command, beside `MLOPS_STAGE`.
    pub env: Vec<(String, String)>,
    /// The experiment the run belongs to, recorded in each stage's run record.
    pub experiment: Option<String>,
    /// Where every stage runs (`--executor`), whatever `mlops.yaml` says; `None`: as it says.
    pub executor: Option<Executor>,
    /// With Slurm: return once the jobs are submitted (`--no-wait`).
    pub no_wait: bool,
    /// With Slurm: an interrupt leaves the submitted jobs running (`--detach`).
    pub detach: bool,
    /// The version of `mlops` running, recorded in each run's environment.
    pub mlops_version: Option<String>,
}

/// What happened to a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageStatus {
    Ran,
    Skipped,
    Restored,
    Failed,
    /// Dry run: would run.
    WouldRun,
    /// Not started: an upstream stage failed, or the run was stopped.
    NotRun,
    /// Submitted to the cluster and not followed to its end (`--no-wait`, or an interrupted
    /// `--detach`): the next `mlops run` takes it up.
    Submitted,
}

impl StageStatus {
    fn succeeded(self) -> bool {
        matches!(
            self,
            Self::Ran | Self::Skipped | Self::Restored | Self::WouldRun | Self::Submitted
        )
    }
}

/// One stage's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageOutcome {
    pub stage: String,
    pub status: StageStatus,
    pub duration_s: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The cluster job that ran it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// Where its command's output is, workspace-relative.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<PathBuf>,
    /// What went wrong beside the stage without failing it (its environment's package lists
    /// could not be kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Every selected stage's outcome, in the order they finished.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub stages: Vec<StageOutcome>,
    pub interrupted: bool,
}

impl RunReport {
    pub fn failed(&self) -> bool {
        self.interrupted
            || self
                .stages
                .iter()
                .any(|s| matches!(s.status, StageStatus::Failed | StageStatus::NotRun))
    }
}

/// Receives events while stages run; called from several threads.
pub trait Observer: Sync {
    fn started(&self, _stage: &str, _reasons: &[Reason]) {}
    /// A stage was submitted to the cluster as `job`.
    fn submitted(&self, _stage: &str, _job: &str, _reasons: &[Reason]) {}
    /// One line a stage's command printed (stdout or stderr), without its newline.
    fn output(&self, _stage: &str, _line: &str) {}
    fn finished(&self, _outcome: &StageOutcome) {}
}

/// Everything the workers (or the cluster driver, or a job) share.
pub(crate) struct Shared<'a> {
    pub(crate) ws: &'a Workspace,
    pub(crate) pipeline: &'a Pipeline,
    pub(crate) dag: &'a Dag,
    pub(crate) options: &'a RunOptions,
    pub(crate) observer: &'a dyn Observer,
    pub(crate) cancel: &'a AtomicBool,
    pub(crate) digests: Digests,
    params: Mutex<ParamsFiles>,
    pub(crate) lock: Mutex<LockFile>,
    known: HashSet<mlops_core::Digest>,
    git: (Option<String>, Option<bool>),
    host: String,
    /// This machine's facts, read once for all the stages of a run.
    machine: OnceLock<Host>,
    /// The environment probes' results, started once per run (see [`Probes`]).
    probes: Probes,
    /// In a cluster job, the strict environment digest the submitting host gave: compared and
    /// keyed on in place of this node's own.
    decided_env: Option<mlops_core::Digest>,
    schedule: Mutex<Schedule>,
    wake: Condvar,
    /// Process groups of running commands, to forward an interrupt to.
    running: Mutex<Vec<u32>>,
    /// Running inside a cluster job: the scheduler owns the command's processes, so no pid
    /// file names them (its process ids mean nothing on the machine of the next `mlops run`).
    in_job: bool,
    /// In a dry run, the cluster jobs no `mlops run` has taken up yet, by stage.
    on_cluster: BTreeMap<String, String>,
}

struct Schedule {
    /// Selected stages in run order, with their status once finished.
    status: BTreeMap<usize, Option<StageStatus>>,
    started: HashSet<usize>,
    stop: bool,
    outcomes: Vec<StageOutcome>,
}

struct Silent;
impl Observer for Silent {}

/// What a run of every stage would do, and why: a dry run that writes nothing.
pub fn dry_run_all(ws: &Workspace) -> Result<Vec<StageOutcome>> {
    let options = RunOptions {
        targets: Vec::new(),
        jobs: 1,
        dry_run: true,
        force: false,
        downstream: false,
        single_item: false,
        keep_going: true,
        link: LinkMode::Copy,
        env: Vec::new(),
        experiment: None,
        executor: Some(Executor::Local),
        no_wait: false,
        detach: false,
        mlops_version: None,
    };
    Ok(run(ws, &options, &AtomicBool::new(false), &Silent)?.stages)
}

/// Runs the pipeline in the workspace. `cancel` is set (by a signal handler) to stop: running
/// commands get SIGINT, nothing new starts.
pub fn run(
    ws: &Workspace,
    options: &RunOptions,
    cancel: &AtomicBool,
    observer: &dyn Observer,
) -> Result<RunReport> {
    let pipeline = Pipeline::load(ws.root())?;
    let dag = Dag::build(&pipeline, ws.root())?;
    let selected = if options.single_item {
        dag.select_only(&pipeline, &options.targets)?
    } else {
        dag.select(&pipeline, &options.targets, options.downstream)?
    };
    // A dry run writes nothing, so it does not wait for (or block) a writer.
    let lock = if options.dry_run {
        None
    } else {
        let lock = ws.lock()?;
        crate::running::ignore_pid_files(&ws.mlops_dir())?;
        // A stage of an earlier run killed with SIGKILL may still be writing its outputs.
        crate::running::refuse_if_running(&ws.mlops_dir())?;
        Some(lock)
    };
    let lock_file = LockFile::load(ws.root())?;
    // The lock may come from anyone who can commit: refuse it whole if one of its outputs is not
    // a safe workspace path, rather than keep (and save again) what names such a path.
    lock_file.tracked_outputs(ws.root())?;
    let shared = Shared::new(
        ws, &pipeline, &dag, options, observer, cancel, lock_file, &selected,
    )?;
    let on_cluster: Vec<usize> = selected
        .iter()
        .copied()
        .filter(|i| crate::cluster::driver::executor(&shared, *i) == Executor::Slurm)
        .collect();
    let result = if options.dry_run || on_cluster.is_empty() {
        run_workers(&shared, &selected, options.jobs)
    } else {
        crate::cluster::driver::run(&shared, &selected)
    };
    if lock.is_some() {
        shared
            .digests
            .with_index(|index| index.save(&ws.index_path()))?;
    }
    result?;
    let schedule = shared
        .schedule
        .into_inner()
        .expect("no panics while scheduling");
    Ok(RunReport {
        stages: schedule.outcomes,
        interrupted: cancel.load(Ordering::Relaxed),
    })
}

impl<'a> Shared<'a> {
    #[expect(clippy::too_many_arguments, reason = "what a run is made of")]
    pub(crate) fn new(
        ws: &'a Workspace,
        pipeline: &'a Pipeline,
        dag: &'a Dag,
        options: &'a RunOptions,
        observer: &'a dyn Observer,
        cancel: &'a AtomicBool,
        lock_file: LockFile,
        selected: &[usize],
    ) -> Result<Shared<'a>> {
        Ok(Shared {
            ws,
            pipeline,
            dag,
            options,
            observer,
            cancel,
            digests: Digests::new(ws.root(), HashIndex::load(&ws.index_path())),
            params: Mutex::new(ParamsFiles::new(ws.root())),
            lock: Mutex::new(lock_file),
            known: ws.store().list()?,
            git: if options.dry_run {
                (None, None)
            } else {
                git_state(ws.root())
            },
            host: rustix::system::uname()
                .nodename()
                .to_string_lossy()
                .into_owned(),
            machine: OnceLock::new(),
            probes: Probes::default(),
            decided_env: None,
            schedule: Mutex::new(Schedule {
                status: selected.iter().map(|i| (*i, None)).collect(),
                started: HashSet::new(),
                stop: false,
                outcomes: Vec::new(),
            }),
            wake: Condvar::new(),
            running: Mutex::new(Vec::new()),
            in_job: false,
            on_cluster: if options.dry_run {
                crate::cluster::driver::pending_jobs(ws)?
            } else {
                BTreeMap::new()
            },
        })
    }

    /// Marks that this process runs inside a cluster job (see [`Shared::in_job`]), deciding
    /// with the submitting host's environment digest when it was given one.
    pub(crate) fn in_job(mut self, env_digest: Option<mlops_core::Digest>) -> Self {
        self.in_job = true;
        self.decided_env = env_digest;
        self
    }

    /// The stage's environment, captured here (on a cluster node, in its job).
    pub(crate) fn capture_env(&self, stage: &Stage) -> Environment {
        let mut vars = vec![("MLOPS_STAGE".to_owned(), stage.name.clone())];
        vars.extend(self.options.env.iter().cloned());
        crate::env::capture(
            self.machine.get_or_init(Host::current),
            &CaptureOptions {
                root: self.ws.root(),
                wdir: &stage.wdir,
                spec: &stage.env,
                mlops_version: self.options.mlops_version.as_deref(),
                vars: &vars,
                probes: &self.probes,
                groups: Some(&self.running),
            },
        )
    }

    /// Records a stage's outcome (the cluster driver's; the workers record their own).
    pub(crate) fn finish(&self, index: usize, outcome: StageOutcome) {
        self.observer.finished(&outcome);
        let mut schedule = self.schedule.lock().expect("no panics while scheduling");
        schedule.status.insert(index, Some(outcome.status));
        schedule.outcomes.push(outcome);
    }
}

/// Runs the selected stages on `jobs` worker threads, forwarding interrupts to running commands;
/// the first error a worker met, if any.
fn run_workers(shared: &Shared, order: &[usize], jobs: usize) -> Result<()> {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| forward_interrupts(shared, &done));
        let workers: Vec<_> = (0..jobs.max(1))
            .map(|_| scope.spawn(|| worker(shared, order)))
            .collect();
        let mut result = Ok(());
        for worker in workers {
            let outcome = worker.join().expect("workers do not panic");
            if result.is_ok() {
                result = outcome;
            }
        }
        done.store(true, Ordering::Relaxed);
        result
    })
}

/// Takes ready stages until none are left.
fn worker(shared: &Shared, order: &[usize]) -> Result<()> {
    loop {
        let Some((i, upstream_would_run)) = next_stage(shared, order) else {
            return Ok(());
        };
        let stage = &shared.pipeline.stages[i];
        let outcome = match execute(shared, stage, upstream_would_run) {
            Ok(outcome) => outcome,
            Err(e) => {
                // An error outside the command (I/O, a missing object): stop, then report it.
                let mut schedule = shared.schedule.lock().expect("no panics while scheduling");
                schedule.stop = true;
                schedule.status.insert(i, Some(StageStatus::Failed));
                shared.wake.notify_all();
                return Err(e);
            }
        };
        shared.observer.finished(&outcome);
        let mut schedule = shared.schedule.lock().expect("no panics while scheduling");
        if outcome.status == StageStatus::Failed && !shared.options.keep_going {
            schedule.stop = true;
        }
        schedule.status.insert(i, Some(outcome.status));
        schedule.outcomes.push(outcome);
        shared.wake.notify_all();
    }
}

/// The next stage whose upstream stages are done, waiting while others run; `None` when all are
/// finished. Stages blocked by a failure are marked `NotRun` on the way.
fn next_stage(shared: &Shared, order: &[usize]) -> Option<(usize, Option<String>)> {
    let mut schedule = shared.schedule.lock().expect("no panics while scheduling");
    loop {
        if shared.cancel.load(Ordering::Relaxed) {
            schedule.stop = true;
        }
        let mut waiting = false;
        let mut pick = None;
        for &i in order {
            if schedule.started.contains(&i) {
                continue;
            }
            let upstream: Vec<(usize, Option<StageStatus>)> = shared.dag.upstream[i]
                .iter()
                .filter_map(|u| schedule.status.get(u).map(|s| (*u, *s)))
                .collect();
            let blocked = schedule.stop
                || upstream
                    .iter()
                    .any(|(_, s)| s.is_some_and(|s| !s.succeeded()));
            if blocked {
                schedule.started.insert(i);
                schedule.status.insert(i, Some(StageStatus::NotRun));
                let outcome = StageOutcome {
                    stage: shared.pipeline.stages[i].name.clone(),
                    status: StageStatus::NotRun,
                    duration_s: 0.0,
                    reasons: Vec::new(),
                    exit_code: None,
                    error: None,
                    job: None,
                    log: None,
                    warnings: Vec::new(),
                };
                shared.observer.finished(&outcome);
                schedule.outcomes.push(outcome);
                continue;
            }
            if upstream.iter().all(|(_, s)| s.is_some()) {
                let would_run = upstream
                    .iter()
                    .find(|(_, s)| *s == Some(StageStatus::WouldRun))
                    .map(|(u, _)| shared.pipeline.stages[*u].name.clone());
                pick = Some((i, would_run));
                break;
            }
            waiting = true;
        }
        if let Some((i, would_run)) = pick {
            schedule.started.insert(i);
            return Some((i, would_run));
        }
        if !waiting {
            // Every stage has started; those still running belong to other workers.
            return None;
        }
        schedule = shared
            .wake
            .wait(schedule)
            .expect("no panics while scheduling");
    }
}

/// How an interrupted run stops its commands: SIGINT at once (what Ctrl-C in a shell sends),
/// then SIGTERM and SIGKILL to the groups of commands that outlive it, so that `mlops run`
/// never ends, nor is interrupted for good, while a stage of it still writes.
const STOP_SIGNALS: [(Duration, Signal); 3] = [
    (Duration::ZERO, Signal::INT),
    (Duration::from_secs(3), Signal::TERM),
    (Duration::from_secs(6), Signal::KILL),
];

/// Forwards an interrupt (`cancel` set by a signal handler) to every running command's process
/// group, escalating as [`STOP_SIGNALS`] says.
fn forward_interrupts(shared: &Shared, done: &AtomicBool) {
    let mut cancelled_at = None;
    let mut sent = 0;
    while !done.load(Ordering::Relaxed) {
        if cancelled_at.is_none() && shared.cancel.load(Ordering::Relaxed) {
            cancelled_at = Some(Instant::now());
            shared.wake.notify_all();
        }
        if let Some(at) = cancelled_at
            && let Some((after, signal)) = STOP_SIGNALS.get(sent)
            && at.elapsed() >= *after
        {
            for pid in shared
                .running
                .lock()
                .expect("no panics while holding pids")
                .iter()
            {
                crate::running::signal_group(*pid, *signal);
            }
            sent += 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) fn outcome(
    stage: &Stage,
    status: StageStatus,
    started: Instant,
    reasons: &[Reason],
) -> StageOutcome {
    StageOutcome {
        stage: stage.name.clone(),
        status,
        duration_s: started.elapsed().as_secs_f64(),
        reasons: reasons.iter().map(ToString::to_string).collect(),
        exit_code: None,
        error: None,
        job: None,
        log: None,
        warnings: Vec::new(),
    }
}

/// Decides what to do with one stage and does it.
pub(crate) fn execute(
    shared: &Shared,
    stage: &Stage,
    upstream_would_run: Option<String>,
) -> Result<StageOutcome> {
    let (inputs, env, why, started) = match plan(shared, stage, upstream_would_run)? {
        Plan::Done(outcome) => return Ok(outcome),
        Plan::Run {
            inputs,
            env,
            why,
            started,
        } => (inputs, env, why, started),
    };
    shared.observer.started(&stage.name, &why);
    let (result, entry) = produce(shared, stage, inputs, &env, &why, started)?;
    if let Some(entry) = &entry {
        commit(shared, stage, entry)?;
        link_outputs(shared, &entry.outs)?;
    }
    Ok(result)
}

/// What to do with a stage.
pub(crate) enum Plan {
    /// Nothing: it is up to date (or this is a dry run).
    Done(StageOutcome),
    /// Restore or run it, for these reasons; its inputs and environment as they are now.
    Run {
        inputs: StageLock,
        env: Box<Environment>,
        why: Vec<Reason>,
        started: Instant,
    },
}

/// Whether the stage must be brought up to date, and why.
pub(crate) fn plan(
    shared: &Shared,
    stage: &Stage,
    upstream_would_run: Option<String>,
) -> Result<Plan> {
    let started = Instant::now();
    let mut inputs = current_inputs(stage, &shared.digests, &shared.params)?;
    // A strict stage's environment is one of its inputs: captured before deciding.
    let env = stage.env.strict.then(|| {
        let env = shared.capture_env(stage);
        inputs.env = Some(shared.decided_env.unwrap_or_else(|| env.strict_digest()));
        env
    });
    let locked = shared
        .lock
        .lock()
        .expect("no panics while holding the lock file")
        .stages
        .get(&stage.name)
        .cloned();
    let mut why = if shared.options.force {
        vec![Reason::Forced]
    } else {
        reasons(stage, &inputs, locked.as_ref(), &shared.digests)?
    };
    if let (Some(env), Some(locked)) = (&env, &locked)
        && let Some(Reason::EnvChanged(what)) =
            why.iter_mut().find(|r| matches!(r, Reason::EnvChanged(_)))
    {
        *what = env_changes(shared, stage, locked, env);
    }
    if let Some(upstream) = upstream_would_run {
        why.push(Reason::UpstreamWouldRun(upstream));
    }
    if let Some(job) = shared.on_cluster.get(&stage.name) {
        why.push(Reason::OnCluster(job.clone()));
    }
    if why.is_empty() {
        return Ok(Plan::Done(outcome(
            stage,
            StageStatus::Skipped,
            started,
            &why,
        )));
    }
    if shared.options.dry_run {
        return Ok(Plan::Done(outcome(
            stage,
            StageStatus::WouldRun,
            started,
            &why,
        )));
    }
    // Only now, for this stage's outputs: the check walks output directories.
    stage.refuse_tracked_outputs(shared.ws.root())?;
    let env = env.unwrap_or_else(|| shared.capture_env(stage));
    Ok(Plan::Run {
        inputs,
        env: Box::new(env),
        why,
        started,
    })
}

/// What changed in a strict stage's environment since the run that `mlops.lock` recorded it
/// from, found among the stage's run records (empty when none of them has its digest: the lock
/// may come from another clone).
fn env_changes(
    shared: &Shared,
    stage: &Stage,
    locked: &StageLock,
    env: &Environment,
) -> Vec<String> {
    let Some(digest) = locked.env else {
        return Vec::new();
    };
    let Ok(records) = crate::records::list(&shared.ws.shared_dir(), Some(&stage.name)) else {
        return Vec::new();
    };
    records
        .iter()
        .rev()
        .filter(|r| r.stage == stage.name)
        .find_map(|r| r.env.as_ref().filter(|e| e.digest == digest))
        .map(|old| {
            env.record()
                .changed_since(old)
                .iter()
                .map(ToString::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Restores the stage's outputs from the run cache when its inputs were seen before (and the
/// run is not forced), and appends the run record; its outcome and lock entry if it did.
pub(crate) fn restore_cached(
    shared: &Shared,
    stage: &Stage,
    inputs: &StageLock,
    env: &Environment,
    why: &[Reason],
    started: Instant,
) -> Result<Option<(StageOutcome, StageLock)>> {
    let wall_start = SystemTime::now();
    if shared.options.force {
        return Ok(None);
    }
    let Some(entry) = runcache::lookup(&shared.ws.shared_dir(), &runcache::key(inputs)) else {
        return Ok(None);
    };
    if !restore_outputs(shared, stage, &entry)? {
        return Ok(None);
    }
    let entry_lock = StageLock {
        outs: entry.outs,
        metrics: entry.metrics,
        ..inputs.clone()
    };
    let mut result = outcome(stage, StageStatus::Restored, started, why);
    result.warnings.extend(record(
        shared,
        stage,
        &entry_lock,
        &result,
        wall_start,
        Some(env),
    )?);
    Ok(Some((result, entry_lock)))
}

/// Restores the stage's outputs from the run cache, or runs its command and caches them, and
/// appends the run record; its outcome, and the lock entry to commit when it succeeded. The
/// outputs are left as copies (or as the link mode places them unshared): see `link_outputs`.
pub(crate) fn produce(
    shared: &Shared,
    stage: &Stage,
    inputs: StageLock,
    env: &Environment,
    why: &[Reason],
    started: Instant,
) -> Result<(StageOutcome, Option<StageLock>)> {
    if let Some((result, entry_lock)) = restore_cached(shared, stage, &inputs, env, why, started)? {
        return Ok((result, Some(entry_lock)));
    }
    let wall_start = SystemTime::now();
    let key = runcache::key(&inputs);
    remove_outputs(shared.ws.root(), stage)?;
    let (exit, interrupted, leftovers) = run_command(shared, stage)?;
    let mut result = outcome(stage, StageStatus::Ran, started, why);
    result.exit_code = exit;
    if let Some(error) = failure(shared, stage, exit, interrupted, leftovers) {
        result.status = StageStatus::Failed;
        result.error = Some(error);
        result.warnings.extend(record(
            shared,
            stage,
            &inputs,
            &result,
            wall_start,
            Some(env),
        )?);
        return Ok((result, None));
    }
    let mut entry_lock = inputs;
    // Metrics files stay plain files in the workspace (git tracks them), whatever the link mode;
    // outputs are linked into the cache only once recorded (see `link_outputs`).
    entry_lock.outs = cache_outputs(shared, &stage.outs, unlinked(shared.options.link))?;
    entry_lock.metrics = cache_outputs(shared, &stage.metrics, LinkMode::Copy)?;
    runcache::record(
        &shared.ws.shared_dir(),
        &shared.ws.mlops_dir(),
        &key,
        &CacheEntry {
            outs: entry_lock.outs.clone(),
            metrics: entry_lock.metrics.clone(),
        },
    )?;
    result.duration_s = started.elapsed().as_secs_f64();
    result.warnings.extend(record(
        shared,
        stage,
        &entry_lock,
        &result,
        wall_start,
        Some(env),
    )?);
    Ok((result, Some(entry_lock)))
}

/// Why a command that ran did not produce a result to record, if it did not.
fn failure(
    shared: &Shared,
    stage: &Stage,
    exit: Option<i32>,
    interrupted: bool,
    leftovers: Leftovers,
) -> Option<String> {
    if interrupted {
        // Whatever its status, a command that was sent a signal may have stopped half-way.
        return Some("the run was interrupted".into());
    }
    if exit != Some(0) {
        return Some(match exit {
            Some(code) => format!("the command exited with status {code}"),
            None => "the command was killed by a signal".into(),
        });
    }
    // What a process stopped half-way had written is no output to record or reuse.
    match leftovers {
        Leftovers::None => {}
        Leftovers::Running => {
            return Some(
                "the command left processes running that SIGKILL did not stop; \
                the next `mlops run` waits for them"
                    .into(),
            );
        }
        Leftovers::Stopped => {
            return Some(
                "the command left processes running in the background; they were stopped \
                (SIGTERM, then SIGKILL) and no output is recorded: end the command with `wait`"
                    .into(),
            );
        }
    }
    stage
        .all_outs()
        .find(|o| !shared.ws.abs(o).exists())
        .map(|missing| format!("the command did not create `{}`", missing.display()))
}

impl Shared<'_> {
    /// Caches the workspace path `path` as a copy (the workspace's file stays as it is): a
    /// stage's input, for a job on a node without the workspace.
    pub(crate) fn cache_input(
        &self,
        store: &mlops_core::store::Store,
        path: &Path,
    ) -> Result<mlops_core::pointer::Pointer> {
        Ok(self.digests.with_index(|index| {
            cache_path(self.ws, store, &self.known, index, path, LinkMode::Copy)
        })?)
    }
}

/// Stores outputs in the cache and describes them for the lock.
fn cache_outputs(shared: &Shared, outs: &[PathBuf], link: LinkMode) -> Result<Vec<OutLock>> {
    let store = shared.ws.store();
    outs.iter()
        .map(|out| {
            let pointer = shared.digests.with_index(|index| {
                cache_path(shared.ws, &store, &shared.known, index, out, link)
            })?;
            Ok(OutLock::new(out.clone(), &pointer))
        })
        .collect()
}

/// The link mode to place outputs with before `mlops.lock` records them: copies where `link`
/// would share the cache's objects.
fn unlinked(link: LinkMode) -> LinkMode {
    if link.shares_object() {
        LinkMode::Copy
    } else {
        link
    }
}

/// Replaces recorded outputs by hard or symbolic links into the cache, as the link mode says.
/// Done only after `mlops.lock` names their objects: a link made before could outlive a killed
/// run with no record naming its object, and `gc` would remove the object it points at (issue
/// 14, defect 3). Files that no longer hold a recorded object stay as they are.
pub(crate) fn link_outputs(shared: &Shared, outs: &[OutLock]) -> Result<()> {
    let link = shared.options.link;
    if !link.shares_object() {
        return Ok(());
    }
    let store = shared.ws.store();
    let root = shared.ws.root();
    for out in outs {
        let recorded: HashSet<Digest> = match out.kind {
            EntryKind::File => HashSet::from([out.digest]),
            EntryKind::Dir => read_tree(&store, &out.digest, &out.path)?
                .files
                .iter()
                .map(|f| f.digest)
                .collect(),
        };
        let mut node = scan(root, &out.path)?;
        shared
            .digests
            .with_index(|index| node.hash_missing(root, index))?;
        let mut linked = Vec::new();
        for file in node.files() {
            let Some(digest) = file.digest.filter(|d| recorded.contains(d)) else {
                continue;
            };
            let abs = shared.ws.abs(&file.rel);
            if file.exec || store.is_linked(&abs, &digest) {
                continue;
            }
            store.materialize(&digest, &abs, false, link)?;
            linked.push((
                file.rel.clone(),
                Stamp::of(&fs_err::metadata(&abs)?),
                digest,
            ));
        }
        shared.digests.with_index(|index| {
            for (rel, stamp, digest) in linked {
                index.insert(&rel, stamp, digest);
            }
        });
    }
    Ok(())
}

/// Writes the stage's lock entry and keeps its cached outputs out of git.
pub(crate) fn commit(shared: &Shared, stage: &Stage, entry: &StageLock) -> Result<()> {
    for out in &stage.outs {
        let name = out.file_name().expect("outs have a name").to_string_lossy();
        let parent = out.parent().unwrap_or(Path::new(""));
        mlops_core::git::ignore_in(&shared.ws.abs(parent), &name, shared.ws.store().temp_dir())?;
    }
    let mut lock = shared
        .lock
        .lock()
        .expect("no panics while holding the lock file");
    lock.stages.insert(stage.name.clone(), entry.clone());
    lock.save(shared.ws.root())
}

/// Restores a stage's outputs from a run-cache entry; false when some object is gone.
fn restore_outputs(shared: &Shared, stage: &Stage, entry: &CacheEntry) -> Result<bool> {
    let tracked: Vec<Tracked> = entry
        .outs
        .iter()
        .chain(&entry.metrics)
        .map(|o| Tracked::new(shared.ws.root(), &o.path, o.pointer()))
        .collect::<mlops_core::Result<_>>()?;
    let covers = stage
        .all_outs()
        .all(|out| tracked.iter().any(|t| t.rel == *out));
    if !covers {
        return Ok(false);
    }
    remove_outputs(shared.ws.root(), stage)?;
    let options = CheckoutOptions {
        force: true,
        link: unlinked(shared.options.link),
    };
    match checkout::restore(shared.ws, &tracked, &options, &NoProgress) {
        Ok(_) => Ok(true),
        Err(e) if e.is_missing_object() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Removes a stage's previous outputs and makes sure their parent directories exist.
pub(crate) fn remove_outputs(root: &Path, stage: &Stage) -> Result<()> {
    for out in stage.all_outs() {
        // Checked again now: an earlier stage's command may have put a symlink on the way.
        let path = root.join(mlops_core::safepath::check(root, out)?);
        match fs_err::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => fs_err::remove_dir_all(&path)?,
            Ok(_) => fs_err::remove_file(&path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)?;
        }
    }
    Ok(())
}

/// What `sh` runs first: it waits for mlops to say `go` on stdin (once the pid file is written),
/// then replaces itself (same pid, same process group) with a shell running the stage's command,
/// passed as `$0`. Should mlops die before that, stdin ends and the command never starts: no
/// stage ever runs without a pid file naming it.
const START_WHEN_TOLD: &str = r#"IFS= read -r go && [ "$go" = go ] || exit 125; exec sh -c "$0""#;

/// Runs the stage's command, streaming its output; returns its exit code (`None`: killed by a
/// signal), whether the run was interrupted while it ran, and what it left running.
fn run_command(shared: &Shared, stage: &Stage) -> Result<(Option<i32>, bool, Leftovers)> {
    let mlops_dir = shared.ws.mlops_dir();
    let logs = mlops_dir.join("logs");
    fs_err::create_dir_all(&logs)?;
    let log = Mutex::new(fs_err::File::create(
        logs.join(format!("{}.log", stage.name)),
    )?);
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(START_WHEN_TOLD)
        .arg(&stage.cmd)
        .current_dir(shared.ws.abs(&stage.wdir))
        .env("MLOPS_STAGE", &stage.name)
        .envs(shared.options.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|source| Error::Spawn {
            stage: stage.name.clone(),
            source,
        })?;
    let pgid = child.id();
    let mut go = child.stdin.take().expect("stdin is piped");
    let pid_file = if shared.in_job {
        None
    } else {
        match crate::running::PidFile::write(&mlops_dir, &stage.name, pgid) {
            Ok(file) => Some(file),
            Err(e) => {
                // Closing stdin without `go` ends the waiting shell before the command starts.
                drop(go);
                let _ = child.wait();
                return Err(e);
            }
        }
    };
    // The command sees the end of its stdin, as with /dev/null; a shell that is already gone
    // shows in its exit status.
    let _ = go.write_all(b"go\n");
    drop(go);
    shared
        .running
        .lock()
        .expect("no panics while holding pids")
        .push(pgid);
    if shared.cancel.load(Ordering::Relaxed) {
        crate::running::signal_group(pgid, Signal::INT);
    }
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (status, interrupted, leftovers) = std::thread::scope(|scope| {
        scope.spawn(|| stream(shared, stage, stdout, &log));
        scope.spawn(|| stream(shared, stage, stderr, &log));
        // The leader first: background processes it left may hold the pipes open for ever.
        let status = child.wait();
        let interrupted = shared.cancel.load(Ordering::Relaxed);
        let leftovers = if crate::running::group_alive(pgid) {
            // Processes the command left in its group would go on writing after its outputs
            // are recorded, or after mlops has ended.
            if stop_group(pgid, interrupted) {
                Leftovers::Stopped
            } else {
                Leftovers::Running
            }
        } else {
            Leftovers::None
        };
        (status, interrupted, leftovers)
    });
    shared
        .running
        .lock()
        .expect("no panics while holding pids")
        .retain(|p| *p != pgid);
    if leftovers == Leftovers::Running
        && let Some(pid_file) = pid_file
    {
        // The next `mlops run` must see that the group still writes.
        pid_file.keep();
    }
    Ok((status?.code(), interrupted, leftovers))
}

/// Processes a command left in its process group once it had ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leftovers {
    None,
    /// Stopped by mlops.
    Stopped,
    /// Still running even after SIGKILL (a process stuck in the kernel).
    Running,
}

/// How long processes a command left behind get to end on SIGTERM before SIGKILL, and how long
/// mlops then waits for them to be gone.
const LEFTOVER_GRACE: Duration = Duration::from_secs(2);
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Stops the process group `pgid` (SIGTERM, a grace period, then SIGKILL; SIGKILL at once when
/// `now`); true once the group is empty.
fn stop_group(pgid: u32, now: bool) -> bool {
    let gone_within = |limit: Duration| {
        let deadline = Instant::now() + limit;
        loop {
            if !crate::running::group_alive(pgid) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    if !now {
        crate::running::signal_group(pgid, Signal::TERM);
        if gone_within(LEFTOVER_GRACE) {
            return true;
        }
    }
    crate::running::signal_group(pgid, Signal::KILL);
    gone_within(KILL_WAIT)
}

fn stream(shared: &Shared, stage: &Stage, pipe: impl Read, log: &Mutex<fs_err::File>) {
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
        let _ = log
            .lock()
            .expect("no panics while holding the log")
            .write_all(&line);
        let text = String::from_utf8_lossy(&line);
        shared
            .observer
            .output(&stage.name, text.trim_end_matches(['\n', '\r']));
        line.clear();
    }
}

/// Appends the run record of an execution, with the environment it ran in (whose package lists
/// and outputs go to `.mlops/runs/envs/`). A warning when those could not be kept: the record
/// still names them, and `mlops runs diff` compares its digests only.
pub(crate) fn record(
    shared: &Shared,
    stage: &Stage,
    entry: &StageLock,
    result: &StageOutcome,
    started: SystemTime,
    env: Option<&Environment>,
) -> Result<Option<String>> {
    let mut summary = env.map(Environment::summary);
    if let (Some(summary), Some(compared)) = (&mut summary, entry.env) {
        // The digest the lock keeps: a Slurm job's is the submitting host's, and the next run
        // finds this record by it to say what changed.
        summary.record.digest = compared;
    }
    let warning = summary.as_ref().and_then(|summary| {
        crate::env::save(&shared.ws.shared_dir(), &shared.ws.mlops_dir(), summary)
            .err()
            .map(|e| {
                format!(
                    "the package lists of `{}`'s environment were not kept: {e}",
                    stage.name
                )
            })
    });
    let mut params = BTreeMap::new();
    for (file, keys) in &entry.params {
        for (key, value) in keys {
            params.insert(
                format!("{file}:{key}"),
                serde_json::to_value(value).unwrap_or_default(),
            );
        }
    }
    let mut metrics = BTreeMap::new();
    if result.status != StageStatus::Failed {
        for path in &stage.metrics {
            let Ok(text) = fs_err::read_to_string(shared.ws.abs(path)) else {
                continue;
            };
            let Ok(doc) = crate::params::parse(path, &text) else {
                continue;
            };
            for (key, value) in flatten(&doc) {
                metrics.insert(
                    format!("{}:{key}", path.display()),
                    serde_json::to_value(value).unwrap_or_default(),
                );
            }
        }
    }
    let record = RunRecord {
        stage: stage.name.clone(),
        status: match result.status {
            StageStatus::Restored => "restored",
            StageStatus::Failed => "failed",
            _ => "ran",
        }
        .into(),
        started_at: rfc3339(started),
        duration_s: result.duration_s,
        exit_code: result.exit_code,
        cmd: stage.cmd.clone(),
        deps: entry
            .deps
            .iter()
            .map(|d| (d.path.clone(), d.digest))
            .collect(),
        outs: entry
            .outs
            .iter()
            .chain(&entry.metrics)
            .map(|o| (o.path.clone(), o.digest))
            .collect::<BTreeMap<PathBuf, _>>(),
        params,
        git_commit: shared.git.0.clone(),
        git_dirty: shared.git.1,
        host: shared.host.clone(),
        metrics,
        experiment: shared.options.experiment.clone(),
        env: summary.map(|s| s.record),
    };
    crate::records::append(&shared.ws.shared_dir(), &record)?;
    Ok(warning)
}

/// The commit checked out, and whether tracked files differ from it.
fn git_state(root: &Path) -> (Option<String>, Option<bool>) {
    let Ok(repo) = git2::Repository::discover(root) else {
        return (None, None);
    };
    let commit = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| c.id().to_string());
    let mut options = git2::StatusOptions::new();
    options.include_untracked(false).include_ignored(false);
    let dirty = repo
        .statuses(Some(&mut options))
        .ok()
        .map(|s| !s.is_empty());
    (commit, dirty)
}
