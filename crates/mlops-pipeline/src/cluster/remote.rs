//! Jobs on nodes that do not mount the workspace (`cluster: {shared: false}` in the workspace
//! config): the default remote carries everything between the driver and the job.
//!
//! The driver caches the stage's inputs (its dependencies and every params file) and pushes
//! them to the default remote, then submits a job whose command carries a [`RemoteJob`]: the
//! stage's name, `mlops.yaml` as the driver read it, the inputs' digests and the remote. The job
//! (`mlops stage exec NAME --remote-job JSON`) builds a workspace of its own in the node's
//! scratch space, fetches the inputs and checks them out, brings the stage up to date there as
//! any job does ([`super::job::exec`]), pushes its outputs' objects, and leaves its result and
//! its log on the remote as named files; its workspace is removed when it ends. The driver
//! takes the result and the log back, fetches the outputs' objects, places the outputs in the
//! workspace and commits the lock entry as for any job.
//!
//! A stage is submitted once its upstream stages' outputs are back in the workspace: its
//! inputs go with it, so a job never waits on another job's files.

use std::path::{Path, PathBuf};

use mlops_core::Workspace;
use mlops_core::config::LinkMode;
use mlops_core::ops::Tracked;
use mlops_core::ops::checkout::{CheckoutOptions, restore};
use mlops_core::ops::transfer::{self, TransferOptions};
use mlops_core::progress::NoProgress;
use serde::{Deserialize, Serialize};

use super::job::JobResult;
use crate::error::{Error, Result};
use crate::lockfile::{OutLock, StageLock};
use crate::run::{Observer, Shared, StageOutcome};
use crate::spec::PIPELINE_FILE;

/// What a job on a node without the workspace is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoteJob {
    pub stage: String,
    /// `mlops.yaml` as the driver read it.
    pub pipeline: String,
    /// The stage's inputs and every params file, as cached and pushed (described as the lock
    /// describes cached outputs).
    pub inputs: Vec<OutLock>,
    /// Where the inputs are and the outputs go: the driver's default remote.
    pub remote: mlops_core::config::RemoteConfig,
    /// Names the job's result and log on the remote (`NAME.json`, `NAME.log`).
    pub name: String,
    /// Where the job builds its workspace (and Slurm writes its log).
    pub scratch: PathBuf,
    /// Slurm's log of the job, on the node, to leave on the remote.
    pub log: PathBuf,
    pub force: bool,
    /// The driver's environment digest of a stage with `env: strict` (see
    /// [`super::job::ExecOptions::env_digest`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_digest: Option<mlops_core::Digest>,
}

/// The name of the remote the driver and its jobs share.
const REMOTE: &str = "cluster";

/// Where jobs build their workspaces and Slurm writes their logs: `cluster.scratch`, else
/// `/tmp`, which every node has.
pub(crate) fn scratch(ws: &Workspace) -> PathBuf {
    ws.config()
        .cluster_scratch
        .clone()
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}

/// The driver's default remote, which its jobs fetch from and push to.
fn default_remote(ws: &Workspace) -> Result<mlops_core::config::RemoteConfig> {
    let config = ws.config();
    let name = config
        .default_remote
        .as_ref()
        .ok_or(Error::NoClusterRemote)?;
    let mut remote = config
        .remotes
        .get(name)
        .cloned()
        .ok_or(Error::NoClusterRemote)?;
    // A directory remote relative to the workspace means nothing on a node.
    if !mlops_core::remote::url::is_url(&remote.url) && Path::new(&remote.url).is_relative() {
        remote.url = ws.root().join(&remote.url).to_string_lossy().into_owned();
    }
    Ok(remote)
}

/// Caches stage `index`'s inputs (its dependencies and every params file the pipeline reads)
/// and pushes them to the default remote: the job for a node without the workspace, named
/// `name` on the remote, its Slurm log at `log` on the node.
pub(crate) fn prepare(shared: &Shared, index: usize, name: &str, log: &Path) -> Result<RemoteJob> {
    let ws = shared.ws;
    let remote = default_remote(ws)?;
    let stage = &shared.pipeline.stages[index];
    let mut paths: Vec<&PathBuf> = stage.deps.iter().collect();
    paths.extend(
        shared
            .pipeline
            .stages
            .iter()
            .flat_map(|s| s.params.iter().map(|p| &p.file)),
    );
    let default_params = PathBuf::from(crate::params::DEFAULT_PARAMS);
    paths.push(&default_params);
    paths.sort();
    paths.dedup();
    let store = ws.store();
    let mut inputs = Vec::new();
    for path in paths {
        // A missing input fails the stage in the job, as it would here.
        if !ws.abs(path).exists() {
            continue;
        }
        let pointer = shared.cache_input(&store, path)?;
        inputs.push(OutLock::new(path.clone(), &pointer));
    }
    let tracked = tracked(ws.root(), &inputs)?;
    transfer::push_locked(ws, &tracked, &TransferOptions::default(), &NoProgress)?;
    Ok(RemoteJob {
        stage: stage.name.clone(),
        pipeline: fs_err::read_to_string(ws.root().join(PIPELINE_FILE))?,
        inputs,
        remote,
        name: name.to_owned(),
        scratch: scratch(ws),
        log: log.to_owned(),
        force: shared.options.force,
        env_digest: stage
            .env
            .strict
            .then(|| shared.capture_env(stage).strict_digest()),
    })
}

/// Cached paths as tracked paths of the workspace at `root` (each checked to lie inside).
fn tracked<'a>(root: &Path, cached: impl IntoIterator<Item = &'a OutLock>) -> Result<Vec<Tracked>> {
    Ok(cached
        .into_iter()
        .map(|o| Tracked::new(root, &o.path, o.pointer()))
        .collect::<mlops_core::Result<_>>()?)
}

/// A lock entry's outputs and metrics.
fn outputs(entry: &StageLock) -> impl Iterator<Item = &OutLock> {
    entry.outs.iter().chain(&entry.metrics)
}

/// A job's workspace in the node's scratch space, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs_err::remove_dir_all(&self.0);
    }
}

/// Runs `job` on a node without the workspace (see the module comment) and leaves its result
/// and log on the remote.
///
/// # Errors
/// When the scratch workspace cannot be made, the inputs cannot be fetched, or the outputs
/// and result cannot be pushed; the stage's own failure is a result, not an error.
pub fn exec(
    job: &RemoteJob,
    mlops_version: Option<&str>,
    observer: &dyn Observer,
) -> Result<StageOutcome> {
    // The name makes a directory here and files on the remote: one plain component.
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@');
    if job.name.is_empty() || job.name.starts_with('.') || !job.name.chars().all(plain) {
        return Err(Error::NotInJob {
            message: format!("`{}` is no name for a job", job.name),
        });
    }
    let dir = job.scratch.join(format!("mlops-job-{}", job.name));
    // Made new, never taken over: it is removed whole when the job ends.
    fs_err::create_dir(&dir)?;
    let scratch = Scratch(dir);
    mlops_core::Workspace::init(&scratch.0, true)?;
    let mut ws = Workspace::discover(&scratch.0)?;
    ws.edit_config(true, |config| {
        config.remotes.insert(REMOTE.to_owned(), job.remote.clone());
        config.default_remote = Some(REMOTE.to_owned());
        Ok(())
    })?;
    fs_err::write(ws.root().join(PIPELINE_FILE), &job.pipeline)?;
    let inputs = tracked(ws.root(), &job.inputs)?;
    {
        let _lock = ws.lock()?;
        transfer::fetch_missing_locked(&ws, &inputs, &TransferOptions::default(), &NoProgress)?;
        let options = CheckoutOptions {
            force: false,
            link: LinkMode::Copy,
        };
        restore(&ws, &inputs, &options, &NoProgress)?;
    }
    let result = ws
        .mlops_dir()
        .join(super::driver::CLUSTER_DIR)
        .join(format!("{}.json", job.name));
    fs_err::create_dir_all(result.parent().expect("a directory"))?;
    let options = super::job::ExecOptions {
        force: job.force,
        mlops_version,
        env_digest: job.env_digest,
    };
    let outcome = super::job::exec_in(&ws, &job.stage, &result, &options, observer, false)?;
    let found: JobResult =
        serde_json::from_slice(&fs_err::read(&result)?).map_err(|e| Error::NotInJob {
            message: format!("its result does not read: {e}"),
        })?;
    if let Some(entry) = &found.lock {
        let outs = tracked(ws.root(), outputs(entry))?;
        transfer::push(&ws, &outs, &TransferOptions::default(), &NoProgress)?;
    }
    let remote = mlops_core::remote::open(&ws, Some(REMOTE))?;
    // The log so far (the command's output), then the result: the driver looks for the result.
    if job.log.is_file() {
        remote.put_named(&format!("{}.log", job.name), &job.log)?;
    }
    remote.put_named(&format!("{}.json", job.name), &result)?;
    Ok(outcome)
}

/// Takes a remote job's result and log back into `result` and `log` (the driver's own paths),
/// and removes them from the remote; false when the job left no result there.
pub(crate) fn take_back(ws: &Workspace, name: &str, result: &Path, log: &Path) -> Result<bool> {
    let remote = mlops_core::remote::open(ws, None)?;
    let log_name = format!("{name}.log");
    if remote.get_named(&log_name, log)? {
        remote.remove_named(&log_name)?;
    }
    let result_name = format!("{name}.json");
    let found = remote.get_named(&result_name, result)?;
    if found {
        remote.remove_named(&result_name)?;
    }
    Ok(found)
}

/// Fetches the outputs' objects of a remote job's lock entry and places the outputs in the
/// workspace, as copies (`link_outputs` links them once committed), over what the stage's
/// outputs held before (the job ran the stage: what was there is an older output).
pub(crate) fn place_outputs(
    shared: &Shared,
    stage: &crate::spec::Stage,
    entry: &StageLock,
) -> Result<()> {
    let ws = shared.ws;
    let outs = tracked(ws.root(), outputs(entry))?;
    transfer::fetch_missing_locked(ws, &outs, &TransferOptions::default(), &NoProgress)?;
    crate::run::remove_outputs(ws.root(), stage)?;
    let options = CheckoutOptions {
        force: false,
        link: LinkMode::Copy,
    };
    restore(ws, &outs, &options, &NoProgress)?;
    Ok(())
}
