//! The cluster driver of `mlops run`: each selected stage that must run on Slurm becomes one
//! `sbatch` job running `mlops stage exec` (see [`super::job`]), with `--dependency=afterok:`
//! edges to the jobs of its upstream stages, so the cluster sees the DAG as it is. Stages that
//! are up to date are skipped and those whose inputs the run cache knows are restored here,
//! without a job; stages that run locally (`executor: local`) run here once their upstream jobs
//! have ended.
//!
//! The driver then follows the jobs (`squeue`, polling with backoff), commits each finished
//! job's lock entry to `mlops.lock` and reports a failed one with its job id and log. A failure
//! cancels the jobs not yet started (unless `--keep-going`; Slurm itself cancels those whose
//! upstream job failed). An interrupt cancels every job (`scancel`) unless `--detach`.
//!
//! Jobs in flight are listed in `.mlops/cluster/jobs.json`, so that a later `mlops run` (after
//! `--no-wait`, `--detach`, or a driver that died) takes them up instead of submitting them again.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Executor;
use super::job::JobResult;
use super::slurm::{self, JobId, Submission};
use crate::error::{Error, Result};
use crate::run::{
    Plan, Shared, StageOutcome, StageStatus, commit, execute, link_outputs, outcome, plan,
    restore_cached,
};
use crate::state::Reason;

/// The directory in `.mlops/` that holds the jobs' results and logs.
pub(crate) const CLUSTER_DIR: &str = "cluster";

/// The jobs of earlier runs still to take up, in [`CLUSTER_DIR`].
const JOBS_FILE: &str = "jobs.json";

/// The first and the longest wait between two looks at the queue.
const POLL_FIRST: Duration = Duration::from_millis(200);
const POLL_LONGEST: Duration = Duration::from_secs(5);

/// Where stage `index` runs.
pub(crate) fn executor(shared: &Shared, index: usize) -> Executor {
    let stage = &shared.pipeline.stages[index];
    shared
        .options
        .executor
        .or(stage.executor)
        .or(shared.pipeline.executor)
        .unwrap_or_default()
}

/// A submitted job, as `jobs.json` keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Job {
    id: JobId,
    /// Its result file, in the cluster directory.
    result: PathBuf,
    /// Its output, workspace-relative.
    log: PathBuf,
}

/// Each stage's job in flight, by stage name.
type Jobs = BTreeMap<String, Job>;

/// Where a selected stage stands.
enum State {
    /// Its upstream stages are not all decided.
    Waiting,
    Submitted(Job),
    Done(StageStatus),
}

/// Runs the selected stages (`order`: upstream first), those on Slurm as jobs.
pub(crate) fn run(shared: &Shared, order: &[usize]) -> Result<()> {
    if !slurm::available() {
        let stages: Vec<String> = order
            .iter()
            .filter(|i| executor(shared, **i) == Executor::Slurm)
            .map(|i| format!("`{}`", shared.pipeline.stages[*i].name))
            .collect();
        return Err(Error::NoSbatch {
            stages: stages.join(", "),
        });
    }
    let dir = shared.ws.mlops_dir().join(CLUSTER_DIR);
    fs_err::create_dir_all(&dir)?;
    let mut jobs = load_jobs(&dir)?;
    let mut standing: HashMap<usize, State> = order
        .iter()
        .map(|i| {
            let name = &shared.pipeline.stages[*i].name;
            let state = jobs
                .get(name)
                .map_or(State::Waiting, |job| State::Submitted(job.clone()));
            (*i, state)
        })
        .collect();
    let mut stop = false;
    let mut interrupt_handled = false;
    let mut cancelled: Vec<JobId> = Vec::new();
    let mut wait = POLL_FIRST;
    loop {
        let interrupted = shared.cancel.load(Ordering::Relaxed);
        if interrupted && !shared.options.detach && !interrupt_handled {
            let ids = submitted(&standing);
            slurm::cancel_jobs(&ids)?;
            cancelled.extend(ids);
            stop = true;
            interrupt_handled = true;
        }
        if !interrupted {
            decide(shared, order, &mut standing, &mut jobs, &dir, stop)?;
        }
        save_jobs(shared, &dir, &jobs)?;
        let ids = submitted(&standing);
        if ids.is_empty() {
            mark_not_run(shared, order, &mut standing);
            return Ok(());
        }
        if (shared.options.no_wait && !interrupted) || (interrupted && shared.options.detach) {
            for &i in order {
                if let State::Submitted(job) = &standing[&i] {
                    let mut result = outcome(
                        &shared.pipeline.stages[i],
                        StageStatus::Submitted,
                        Instant::now(),
                        &[],
                    );
                    result.job = Some(job.id.clone());
                    result.log = Some(job.log.clone());
                    shared.finish(i, result);
                }
            }
            mark_not_run(shared, order, &mut standing);
            return Ok(());
        }
        std::thread::sleep(wait);
        let queue = slurm::states(&ids)?;
        let mut changed = false;
        for &i in order {
            let State::Submitted(job) = &standing[&i] else {
                continue;
            };
            let state = queue.get(&job.id).map_or("", String::as_str);
            if slurm::in_flight(state) {
                continue;
            }
            changed = true;
            let job = job.clone();
            let ours = cancelled.contains(&job.id);
            let result = collect(shared, i, &job, state, ours, &standing)?;
            jobs.remove(&shared.pipeline.stages[i].name);
            let status = result.status;
            shared.finish(i, result);
            standing.insert(i, State::Done(status));
            if status == StageStatus::Failed && !shared.options.keep_going && !stop {
                // As a local run: nothing new starts after a failure. Jobs already running end.
                stop = true;
                let pending: Vec<JobId> = submitted(&standing)
                    .into_iter()
                    .filter(|id| queue.get(id).is_some_and(|s| s == "PENDING"))
                    .collect();
                slurm::cancel_jobs(&pending)?;
                cancelled.extend(pending);
            }
        }
        wait = if changed {
            POLL_FIRST
        } else {
            (wait * 3 / 2).min(POLL_LONGEST)
        };
    }
}

/// Whether a stage that ended so lets the stages after it run.
fn succeeded(status: StageStatus) -> bool {
    matches!(
        status,
        StageStatus::Ran | StageStatus::Skipped | StageStatus::Restored
    )
}

/// The ids of the jobs in flight.
fn submitted(standing: &HashMap<usize, State>) -> Vec<JobId> {
    standing
        .values()
        .filter_map(|s| match s {
            State::Submitted(job) => Some(job.id.clone()),
            _ => None,
        })
        .collect()
}

/// Decides every waiting stage whose upstream stages are decided: not run after a failure,
/// skipped, restored, run here (local stages), or submitted after its upstream jobs.
fn decide(
    shared: &Shared,
    order: &[usize],
    standing: &mut HashMap<usize, State>,
    jobs: &mut Jobs,
    dir: &Path,
    stop: bool,
) -> Result<()> {
    for &i in order {
        if !matches!(standing[&i], State::Waiting) {
            continue;
        }
        let stage = &shared.pipeline.stages[i];
        let upstream: Vec<(usize, &State)> = shared.dag.upstream[i]
            .iter()
            .filter_map(|u| standing.get(u).map(|s| (*u, s)))
            .collect();
        let failed = upstream
            .iter()
            .any(|(_, s)| matches!(s, State::Done(done) if !succeeded(*done)));
        if stop || failed {
            shared.finish(i, outcome(stage, StageStatus::NotRun, Instant::now(), &[]));
            standing.insert(i, State::Done(StageStatus::NotRun));
            continue;
        }
        if upstream.iter().any(|(_, s)| matches!(s, State::Waiting)) {
            continue;
        }
        let after: Vec<(usize, JobId)> = upstream
            .iter()
            .filter_map(|(u, s)| match s {
                State::Submitted(job) => Some((*u, job.id.clone())),
                _ => None,
            })
            .collect();
        let local = executor(shared, i) == Executor::Local;
        if local && !after.is_empty() {
            // A local stage waits here for its upstream jobs.
            continue;
        }
        if local {
            let result = execute(shared, stage, None)?;
            let status = result.status;
            shared.finish(i, result);
            standing.insert(i, State::Done(status));
            continue;
        }
        let why = if let Some((u, _)) = after.first() {
            // Its inputs are known once the upstream job has ended: the job decides then.
            vec![Reason::UpstreamWouldRun(
                shared.pipeline.stages[*u].name.clone(),
            )]
        } else {
            match plan(shared, stage, None)? {
                Plan::Done(result) => {
                    let status = result.status;
                    shared.finish(i, result);
                    standing.insert(i, State::Done(status));
                    continue;
                }
                Plan::Run {
                    inputs,
                    why,
                    started,
                } => {
                    if let Some((result, entry)) =
                        restore_cached(shared, stage, &inputs, &why, started)?
                    {
                        commit(shared, stage, &entry)?;
                        link_outputs(shared, &entry.outs)?;
                        shared.finish(i, result);
                        standing.insert(i, State::Done(StageStatus::Restored));
                        continue;
                    }
                    why
                }
            }
        };
        let job = submit(
            shared,
            i,
            dir,
            after.into_iter().map(|(_, id)| id).collect(),
        )?;
        shared.observer.submitted(&stage.name, &job.id, &why);
        jobs.insert(stage.name.clone(), job.clone());
        standing.insert(i, State::Submitted(job));
    }
    Ok(())
}

/// Marks the stages still waiting (behind a stopped run) as not run.
fn mark_not_run(shared: &Shared, order: &[usize], standing: &mut HashMap<usize, State>) {
    for &i in order {
        if matches!(standing[&i], State::Waiting) {
            let stage = &shared.pipeline.stages[i];
            shared.finish(i, outcome(stage, StageStatus::NotRun, Instant::now(), &[]));
            standing.insert(i, State::Done(StageStatus::NotRun));
        }
    }
}

/// Submits stage `index` as a job that starts once the jobs `after` have succeeded.
fn submit(shared: &Shared, index: usize, dir: &Path, after: Vec<JobId>) -> Result<Job> {
    let stage = &shared.pipeline.stages[index];
    let file = file_name(&stage.name);
    let unique = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let result = dir.join(format!("{file}-{unique}.json"));
    let exe = std::env::current_exe()?;
    let mut command = format!(
        "exec {} stage exec {} --result {}",
        slurm::quote_path(&exe),
        slurm::quote(&stage.name),
        slurm::quote_path(&result)
    );
    if shared.options.force {
        command.push_str(" --force");
    }
    // Slurm names the log after the job (`%j`), known once submitted.
    let log_pattern = dir.join(format!("{file}-%j.log"));
    let id = slurm::submit(&Submission {
        name: format!("mlops:{}", stage.name),
        dir: shared.ws.root().to_owned(),
        log: log_pattern,
        after,
        options: stage.resources.sbatch_args(),
        command,
    })?;
    let log = Path::new(".mlops")
        .join(CLUSTER_DIR)
        .join(format!("{file}-{id}.log"));
    Ok(Job { id, result, log })
}

/// A stage name as part of a file name: characters Slurm's `--output` patterns or file systems
/// treat specially become `_`.
fn file_name(stage: &str) -> String {
    stage
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The outcome of a job that has left the queue (`last`: its last state, empty when the
/// controller has forgotten it; `ours`: the driver cancelled it), its lock entry committed
/// when it brought the stage up to date.
fn collect(
    shared: &Shared,
    index: usize,
    job: &Job,
    last: &str,
    ours: bool,
    standing: &HashMap<usize, State>,
) -> Result<StageOutcome> {
    let stage = &shared.pipeline.stages[index];
    let text = match fs_err::read(&job.result) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    let found: Option<JobResult> = text.and_then(|t| serde_json::from_slice(&t).ok());
    let mut result = if let Some(found) = found {
        if let Some(entry) = &found.lock
            && matches!(
                found.outcome.status,
                StageStatus::Ran | StageStatus::Restored
            )
        {
            commit(shared, stage, entry)?;
            link_outputs(shared, &entry.outs)?;
        }
        found.outcome
    } else {
        let upstream_failed = shared.dag.upstream[index]
            .iter()
            .any(|u| matches!(standing.get(u), Some(State::Done(s)) if !succeeded(*s)));
        let mut result = outcome(stage, StageStatus::Failed, Instant::now(), &[]);
        if ours || (upstream_failed && last == "CANCELLED") {
            result.status = StageStatus::NotRun;
        } else {
            result.error = Some(match last {
                "" => format!("job {} ended without a result", job.id),
                "CANCELLED" => format!("job {} was cancelled", job.id),
                "TIMEOUT" => format!("job {} ran past its time limit", job.id),
                "OUT_OF_MEMORY" => format!("job {} ran out of memory", job.id),
                other => format!("job {} ended as {other} without a result", job.id),
            });
        }
        result
    };
    let _ = fs_err::remove_file(&job.result);
    result.job = Some(job.id.clone());
    result.log = Some(job.log.clone());
    Ok(result)
}

fn load_jobs(dir: &Path) -> Result<Jobs> {
    match fs_err::read(dir.join(JOBS_FILE)) {
        // A damaged list loses only the taking up of earlier jobs: their stages run again.
        Ok(text) => Ok(serde_json::from_slice(&text).unwrap_or_default()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Jobs::new()),
        Err(e) => Err(e.into()),
    }
}

fn save_jobs(shared: &Shared, dir: &Path, jobs: &Jobs) -> Result<()> {
    let path = dir.join(JOBS_FILE);
    if jobs.is_empty() {
        return match fs_err::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        };
    }
    let text = serde_json::to_vec_pretty(jobs).expect("jobs serialise");
    Ok(mlops_core::atomic::write_in(
        shared.ws.store().temp_dir(),
        &path,
        &text,
    )?)
}
