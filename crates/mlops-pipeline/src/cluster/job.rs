//! What a cluster job runs: `mlops stage exec NAME --result FILE`, one stage brought up to date
//! inside the job. It reads the stage's inputs as they are now (its upstream jobs have ended),
//! skips the stage if they still match `mlops.lock`, restores its outputs from the run cache if
//! those inputs were seen before, or runs its command; it caches the outputs, appends the run
//! record, and writes its result for the driver to commit to `mlops.lock`. It never writes
//! `mlops.lock` itself (the driver holds the workspace lock) and keeps no pid file (the
//! scheduler owns the job's processes).

use std::path::Path;
use std::sync::atomic::AtomicBool;

use mlops_core::Workspace;
use serde::{Deserialize, Serialize};

use crate::cluster::Executor;
use crate::dag::Dag;
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::lockfile::{LockFile, StageLock};
use crate::run::{Observer, Plan, RunOptions, Shared, StageOutcome, plan, produce};
use crate::spec::Pipeline;

/// What a job leaves for the driver.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct JobResult {
    pub(crate) outcome: StageOutcome,
    /// The stage's lock entry, when it ran or was restored.
    pub(crate) lock: Option<StageLock>,
    /// The environment it ran in, as the node saw it: the driver records it for a node without
    /// the workspace (whose own records go with its scratch workspace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) env: Option<Environment>,
}

/// What a job is told.
#[derive(Debug, Clone, Copy)]
pub struct ExecOptions<'a> {
    /// Run the command even when the stage is up to date.
    pub force: bool,
    /// The version of `mlops` running, recorded in the run's environment.
    pub mlops_version: Option<&'a str>,
    /// For a stage with `env: strict`: its environment's digest as the submitting host saw it,
    /// compared with the lock and keyed on in the run cache in place of the node's own, so that
    /// the driver's next `mlops run` (which decides on that host) agrees with the job.
    pub env_digest: Option<mlops_core::Digest>,
}

/// Brings stage `name` up to date (rerunning it whatever the lock says with `force`), and
/// writes its result to `result` (a file in the workspace's `.mlops/cluster/`).
pub fn exec(
    ws: &Workspace,
    name: &str,
    result: &Path,
    options: &ExecOptions,
    observer: &dyn Observer,
) -> Result<StageOutcome> {
    exec_in(ws, name, result, options, observer, true)
}

/// [`exec`] in the workspace `ws`, which holds every stage's sources (`whole`) or, in a job's
/// own workspace on a node without the driver's, the inputs of stage `name` alone.
pub(crate) fn exec_in(
    ws: &Workspace,
    name: &str,
    result: &Path,
    exec: &ExecOptions,
    observer: &dyn Observer,
    whole: bool,
) -> Result<StageOutcome> {
    let cluster_dir = ws.mlops_dir().join(super::driver::CLUSTER_DIR);
    if result.parent() != Some(cluster_dir.as_path()) {
        return Err(Error::NotInJob {
            message: format!(
                "its result goes in `{}`, not `{}`",
                cluster_dir.display(),
                result.display()
            ),
        });
    }
    let pipeline = Pipeline::load(ws.root())?;
    let dag = Dag::build_with(&pipeline, ws.root(), whole)?;
    let Some(index) = pipeline.stages.iter().position(|s| s.name == name) else {
        return Err(Error::UnknownStage {
            name: name.to_owned(),
            suggestion: crate::error::nearest(
                name,
                pipeline.stages.iter().map(|s| s.name.as_str()),
            ),
        });
    };
    let options = RunOptions {
        targets: vec![name.to_owned()],
        jobs: 1,
        dry_run: false,
        force: exec.force,
        downstream: false,
        single_item: true,
        keep_going: false,
        link: ws.config().link,
        env: Vec::new(),
        experiment: None,
        executor: Some(Executor::Local),
        no_wait: false,
        detach: false,
        mlops_version: exec.mlops_version.map(str::to_owned),
    };
    let cancel = AtomicBool::new(false);
    let lock_file = LockFile::load(ws.root())?;
    let shared = Shared::new(
        ws,
        &pipeline,
        &dag,
        &options,
        observer,
        &cancel,
        lock_file,
        &[index],
    )?
    .in_job(exec.env_digest);
    let stage = &pipeline.stages[index];
    let (outcome, lock, env) = match plan(&shared, stage, None)? {
        Plan::Done(outcome) => (outcome, None, None),
        Plan::Run {
            inputs,
            env,
            why,
            started,
        } => {
            observer.started(name, &why);
            let (outcome, lock) = produce(&shared, stage, inputs, &env, &why, started)?;
            (outcome, lock, Some(*env))
        }
    };
    let text = serde_json::to_vec_pretty(&JobResult {
        outcome: outcome.clone(),
        lock,
        env,
    })
    .expect("results serialise");
    mlops_core::atomic::write_in(ws.store().temp_dir(), result, &text)?;
    Ok(outcome)
}
