//! The cluster driver of `mlops run`: each selected stage that must run on Slurm becomes one
//! `sbatch` job running `mlops stage exec` (see [`super::job`]), with `--dependency=afterok:`
//! edges to the jobs of its upstream stages, so the cluster sees the DAG as it is (the items of
//! a `foreach` or `matrix` that share resources and upstream jobs go as one job array). Stages that
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
//! Jobs are submitted held and released once listed there: a driver killed in between leaves a
//! held job, which the next run cancels, never one that runs unrecorded.
//!
//! Where the nodes do not mount the workspace (`cluster.shared: false`), a stage is submitted
//! once its upstream stages' outputs are back here, and its inputs and outputs travel through
//! the default remote (see [`super::remote`]).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    let listed = settle_held(shared, &jobs)?;
    // What `jobs.json` holds now: it is written again only when the jobs in flight change.
    let mut saved: Option<Jobs> = None;
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
            while decide(shared, order, &mut standing, &mut jobs, &dir, stop)? {}
        }
        if saved.as_ref() != Some(&jobs) {
            save_jobs(shared, &dir, &jobs)?;
            // Recorded: the jobs submitted since may start.
            slurm::release(&submitted_since(saved.as_ref(), &jobs, &listed))?;
            saved = Some(jobs.clone());
        }
        let ids = submitted(&standing);
        if ids.is_empty() {
            mark_not_run(shared, order, &mut standing);
            return Ok(());
        }
        if (shared.options.no_wait && !interrupted) || (interrupted && shared.options.detach) {
            report_submitted(shared, order, &standing);
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

/// Settles what a killed driver left held: jobs it submitted but had not recorded in
/// `jobs.json` are cancelled, recorded ones are released (they may be held still). The jobs
/// `jobs.json` lists.
fn settle_held(shared: &Shared, jobs: &Jobs) -> Result<Vec<JobId>> {
    let listed: Vec<JobId> = jobs.values().map(|job| job.id.clone()).collect();
    let orphans: Vec<JobId> = slurm::held(&hold_tag(shared))?
        .into_iter()
        .filter(|id| !listed.contains(id) && !listed.contains(&array_of(id)))
        .collect();
    slurm::cancel_jobs(&orphans)?;
    slurm::release_any(&listed);
    Ok(listed)
}

/// The jobs (arrays whole) in `jobs` that were neither in `saved` nor taken up (`listed`): the
/// ones submitted, held, since `jobs.json` was last written.
fn submitted_since(saved: Option<&Jobs>, jobs: &Jobs, listed: &[JobId]) -> Vec<JobId> {
    jobs.values()
        .filter(|job| saved.is_none_or(|s| !s.values().any(|o| o.id == job.id)))
        .map(|job| array_of(&job.id))
        .filter(|id| !listed.iter().any(|l| array_of(l) == *id))
        .collect::<std::collections::BTreeSet<JobId>>()
        .into_iter()
        .collect()
}

/// The `--comment` of this workspace's held jobs: its root.
fn hold_tag(shared: &Shared) -> String {
    format!("mlops:{}", shared.ws.root().display())
}

/// The job a task of an array belongs to (`12` of `12_3`); a job that is no task is itself.
fn array_of(id: &str) -> JobId {
    id.split_once('_').map_or(id, |(job, _)| job).to_owned()
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

/// A stage to submit, after these jobs, for these reasons.
struct Ready {
    index: usize,
    after: Vec<JobId>,
    why: Vec<Reason>,
}

/// Decides every waiting stage whose upstream stages are decided: not run after a failure,
/// skipped, restored, run here (local stages), or submitted after its upstream jobs (the items
/// of one `foreach` or `matrix` ready together, with the same resources and upstream jobs, as
/// one job array). Whether any stage was decided: the stages after those may be ready now.
fn decide(
    shared: &Shared,
    order: &[usize],
    standing: &mut HashMap<usize, State>,
    jobs: &mut Jobs,
    dir: &Path,
    stop: bool,
) -> Result<bool> {
    let mut progress = false;
    let mut ready: Vec<Ready> = Vec::new();
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
            progress = true;
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
        if (local || !shared.ws.config().cluster_shared) && !after.is_empty() {
            // A local stage waits here for its upstream jobs; so does a job for a node without
            // the workspace, whose inputs go with it.
            continue;
        }
        progress = true;
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
                    env,
                    why,
                    started,
                } => {
                    if let Some((result, entry)) =
                        restore_cached(shared, stage, &inputs, &env, &why, started)?
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
        ready.push(Ready {
            index: i,
            after: after.into_iter().map(|(_, id)| id).collect(),
            why,
        });
    }
    for group in arrays(shared, ready) {
        let submitted = if group.len() == 1 {
            vec![submit(shared, group[0].index, dir, group[0].after.clone())?]
        } else {
            submit_array(shared, &group, dir)?
        };
        for (ready, job) in group.iter().zip(submitted) {
            let stage = &shared.pipeline.stages[ready.index];
            shared.observer.submitted(&stage.name, &job.id, &ready.why);
            jobs.insert(stage.name.clone(), job.clone());
            standing.insert(ready.index, State::Submitted(job));
        }
    }
    Ok(progress)
}

/// The stages to submit grouped into job arrays: the items of one `foreach` or `matrix`
/// (`name@item`) that ask for the same resources after the same jobs; every other stage alone.
fn arrays(shared: &Shared, ready: Vec<Ready>) -> Vec<Vec<Ready>> {
    // What items of one array share: the stage's name without `@item`, resources, upstream jobs.
    type ArrayKey = (String, Vec<String>, Vec<JobId>);
    let mut groups: Vec<(Option<ArrayKey>, Vec<Ready>)> = Vec::new();
    // Jobs without the workspace each carry their own inputs: one job each.
    let shared_fs = shared.ws.config().cluster_shared;
    for item in ready {
        let stage = &shared.pipeline.stages[item.index];
        let key = stage
            .name
            .split_once('@')
            .filter(|_| shared_fs)
            .map(|(base, _)| {
                let mut after = item.after.clone();
                after.sort();
                (base.to_owned(), stage.resources.sbatch_args(), after)
            });
        match groups.iter_mut().find(|(k, _)| key.is_some() && *k == key) {
            Some((_, members)) => members.push(item),
            None => groups.push((key, vec![item])),
        }
    }
    groups.into_iter().map(|(_, members)| members).collect()
}

/// Reports the stages whose jobs are left in flight (`--no-wait`, an interrupted `--detach`).
fn report_submitted(shared: &Shared, order: &[usize], standing: &HashMap<usize, State>) {
    for &i in order {
        if let State::Submitted(job) = &standing[&i] {
            let stage = &shared.pipeline.stages[i];
            let mut result = outcome(stage, StageStatus::Submitted, Instant::now(), &[]);
            result.job = Some(job.id.clone());
            result.log = Some(job.log.clone());
            shared.finish(i, result);
        }
    }
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

/// Where a job leaves stage `index`'s result: a new file in the cluster directory.
fn result_path(shared: &Shared, index: usize, dir: &Path) -> PathBuf {
    let unique = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    dir.join(format!(
        "{}-{unique}.json",
        file_name(&shared.pipeline.stages[index].name)
    ))
}

/// The shell command a job runs for stage `index`.
fn exec_command(shared: &Shared, index: usize, result: &Path) -> Result<String> {
    let exe = std::env::current_exe()?;
    let mut command = format!(
        "exec {} stage exec {} --result {}",
        slurm::quote_path(&exe),
        slurm::quote(&shared.pipeline.stages[index].name),
        slurm::quote_path(result)
    );
    if shared.options.force {
        command.push_str(" --force");
    }
    let stage = &shared.pipeline.stages[index];
    if stage.env.strict {
        // The next `mlops run` decides here: the job compares and keys on this host's digest.
        let digest = shared.capture_env(stage).strict_digest();
        let _ = write!(command, " --env-digest {digest}");
    }
    Ok(command)
}

/// Submits stage `index` as a job that starts once the jobs `after` have succeeded.
fn submit(shared: &Shared, index: usize, dir: &Path, after: Vec<JobId>) -> Result<Job> {
    let stage = &shared.pipeline.stages[index];
    let file = file_name(&stage.name);
    let result = result_path(shared, index, dir);
    let submission = if shared.ws.config().cluster_shared {
        // Slurm names the log after the job (`%j`), known once submitted.
        Submission {
            name: format!("mlops:{}", stage.name),
            dir: shared.ws.root().to_owned(),
            log: dir.join(format!("{file}-%j.log")),
            after,
            options: stage.resources.sbatch_args(),
            command: exec_command(shared, index, &result)?,
            held: Some(hold_tag(shared)),
        }
    } else {
        remote_submission(shared, index, &result)?
    };
    let id = slurm::submit(&submission)?;
    let log = Path::new(".mlops")
        .join(CLUSTER_DIR)
        .join(format!("{file}-{id}.log"));
    Ok(Job { id, result, log })
}

/// The submission of stage `index` for a node without the workspace: its inputs pushed to the
/// default remote, the job named on the remote as its result file is here, its log in the
/// node's scratch space until the job leaves it on the remote.
fn remote_submission(shared: &Shared, index: usize, result: &Path) -> Result<Submission> {
    let stage = &shared.pipeline.stages[index];
    let name = remote_name(result);
    let scratch = super::remote::scratch(shared.ws);
    let log = scratch.join(format!("mlops-{name}.log"));
    let job = super::remote::prepare(shared, index, &name, &log)?;
    let exe = std::env::current_exe()?;
    Ok(Submission {
        name: format!("mlops:{}", stage.name),
        dir: scratch,
        log,
        after: Vec::new(),
        options: stage.resources.sbatch_args(),
        command: format!(
            "exec {} stage exec {} --remote-job {}",
            slurm::quote_path(&exe),
            slurm::quote(&stage.name),
            slurm::quote(&serde_json::to_string(&job).expect("a job serialises"))
        ),
        held: Some(hold_tag(shared)),
    })
}

/// The name a remote job's result and log have on the remote: its result file's here.
fn remote_name(result: &Path) -> String {
    result
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Submits the stages of `group` (items of one `foreach` or `matrix`, with the same resources
/// and upstream jobs) as one job array, task `k` bringing up stage `group[k]`; each stage's job
/// is its task (`JOB_k`).
fn submit_array(shared: &Shared, group: &[Ready], dir: &Path) -> Result<Vec<Job>> {
    let first = &shared.pipeline.stages[group[0].index];
    let base = first
        .name
        .split_once('@')
        .map_or(first.name.as_str(), |(b, _)| b);
    let file = file_name(base);
    let results: Vec<PathBuf> = group
        .iter()
        .map(|r| result_path(shared, r.index, dir))
        .collect();
    let tasks: Vec<String> = group
        .iter()
        .zip(&results)
        .map(|(ready, result)| exec_command(shared, ready.index, result))
        .collect::<Result<_>>()?;
    let id = slurm::submit(
        &Submission {
            name: format!("mlops:{base}"),
            dir: shared.ws.root().to_owned(),
            log: dir.join(format!("{file}-%A_%a.log")),
            after: group[0].after.clone(),
            options: first.resources.sbatch_args(),
            command: String::new(),
            held: Some(hold_tag(shared)),
        }
        .array(&tasks),
    )?;
    Ok(results
        .into_iter()
        .enumerate()
        .map(|(task, result)| Job {
            id: format!("{id}_{task}"),
            result,
            log: Path::new(".mlops")
                .join(CLUSTER_DIR)
                .join(format!("{file}-{id}_{task}.log")),
        })
        .collect())
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
    let remote = !shared.ws.config().cluster_shared;
    if remote {
        let name = remote_name(&job.result);
        super::remote::take_back(shared.ws, &name, &job.result, &shared.ws.abs(&job.log))?;
    }
    let text = match fs_err::read(&job.result) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    // A result whose outputs are not the stage's declared ones is no result of this stage's:
    // nothing from it is committed or linked.
    let found: Option<JobResult> = text
        .and_then(|t| serde_json::from_slice::<JobResult>(&t).ok())
        .filter(|found| {
            found.lock.as_ref().is_none_or(|entry| {
                entry.outs.iter().all(|o| stage.outs.contains(&o.path))
                    && entry
                        .metrics
                        .iter()
                        .all(|o| stage.metrics.contains(&o.path))
            })
        });
    let mut result = if let Some(mut found) = found {
        if let Some(entry) = &found.lock
            && matches!(
                found.outcome.status,
                StageStatus::Ran | StageStatus::Restored
            )
        {
            // For a stage with `env: strict`, the entry's environment digest is this host's, as
            // the job was given it (`--env-digest`): what the next `mlops run` here compares.
            let entry = entry.clone();
            if remote {
                super::remote::place_outputs(shared, stage, &entry)?;
                let warning =
                    record_remote_run(shared, stage, &entry, &found.outcome, found.env.as_ref())?;
                found.outcome.warnings.extend(warning);
            }
            commit(shared, stage, &entry)?;
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
            if remote && !shared.ws.abs(&job.log).exists() {
                let node_log = super::remote::scratch(shared.ws)
                    .join(format!("mlops-{}.log", remote_name(&job.result)));
                if let Some(error) = &mut result.error {
                    let _ = write!(
                        error,
                        "; its log stays on the node, at `{}`",
                        node_log.display()
                    );
                }
            }
        }
        result
    };
    let _ = fs_err::remove_file(&job.result);
    result.job = Some(job.id.clone());
    result.log = Some(job.log.clone());
    Ok(result)
}

/// Records a remote job's run here, as the job recorded it in its own workspace: the run cache
/// entry (so that the same inputs restore these outputs) and the run record. Its environment is
/// the node's (host, Python, named commands), with the lock files of this workspace, which the
/// job's scratch workspace does not hold.
fn record_remote_run(
    shared: &Shared,
    stage: &crate::spec::Stage,
    entry: &crate::lockfile::StageLock,
    outcome: &StageOutcome,
    node_env: Option<&crate::env::Environment>,
) -> Result<Option<String>> {
    crate::runcache::record(
        &shared.ws.shared_dir(),
        &shared.ws.mlops_dir(),
        &crate::runcache::key(entry),
        &crate::runcache::CacheEntry {
            outs: entry.outs.clone(),
            metrics: entry.metrics.clone(),
        },
    )?;
    let started = std::time::SystemTime::now()
        .checked_sub(Duration::from_secs_f64(outcome.duration_s.max(0.0)))
        .unwrap_or_else(std::time::SystemTime::now);
    let env = node_env.map(|node| crate::env::Environment {
        files: crate::env::lock_files(shared.ws.root(), &stage.wdir),
        ..node.clone()
    });
    crate::run::record(shared, stage, entry, outcome, started, env.as_ref())
}

/// Refuses while `.mlops/cluster/jobs.json` lists jobs no `mlops run` has taken up: they may be
/// writing outputs into the cache that no lock entry names yet (`mlops gc` would remove them).
pub(crate) fn refuse_if_jobs_pending(ws: &mlops_core::Workspace) -> Result<()> {
    let jobs = load_jobs(&ws.mlops_dir().join(CLUSTER_DIR))?;
    if jobs.is_empty() {
        return Ok(());
    }
    Err(Error::JobsPending {
        jobs: jobs
            .iter()
            .map(|(stage, job)| format!("`{stage}` (job {})", job.id))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The jobs `.mlops/cluster/jobs.json` lists (submitted, not yet taken up): each one's id, by
/// stage.
pub(crate) fn pending_jobs(ws: &mlops_core::Workspace) -> Result<BTreeMap<String, JobId>> {
    Ok(load_jobs(&ws.mlops_dir().join(CLUSTER_DIR))?
        .into_iter()
        .map(|(stage, job)| (stage, job.id))
        .collect())
}

fn load_jobs(dir: &Path) -> Result<Jobs> {
    match fs_err::read(dir.join(JOBS_FILE)) {
        // A damaged list loses only the taking up of earlier jobs: their stages run again. A
        // result file is read and removed, so only entries whose result lies in this directory
        // count.
        Ok(text) => Ok(serde_json::from_slice::<Jobs>(&text)
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, job)| {
                // The log is written too, by a job on a node without the workspace.
                let plain = |path: &Path| {
                    path.file_name()
                        .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
                };
                job.result.parent() == Some(dir)
                    && plain(&job.result)
                    && job.log.parent() == Some(&Path::new(".mlops").join(CLUSTER_DIR))
                    && plain(&job.log)
            })
            .collect()),
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
