//! Whether a stage is up to date: its current inputs (cmd, dep digests, param values, and with
//! `env: strict` the environment's digest) and outputs compared with its entry in `mlops.lock`,
//! and the reasons when they differ.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use mlops_core::Digest;
use mlops_core::index::HashIndex;
use mlops_core::scan::scan;

use crate::error::{Error, Result};
use crate::lockfile::{DepLock, OutLock, StageLock};
use crate::params::{ParamsFiles, lookup};
use crate::spec::Stage;

/// Why a stage must run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    NeverRun,
    Forced,
    AlwaysChanged,
    CmdChanged,
    DepChanged(PathBuf),
    ParamChanged(String),
    OutMissing(PathBuf),
    OutChanged(PathBuf),
    /// `env: strict`: the environment's digest differs from the lock's; what changed (lock
    /// files, `python packages`, commands) when the run it was recorded by is known.
    EnvChanged(Vec<String>),
    /// `env: strict`, and the lock has no environment digest: the stage was last run without.
    EnvNotLocked,
    /// Only in a dry run: an upstream stage would run first.
    UpstreamWouldRun(String),
    /// Only in a dry run: the stage was submitted to the cluster as this job, which no
    /// `mlops run` has taken up yet.
    OnCluster(String),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NeverRun => f.write_str("never run"),
            Reason::Forced => f.write_str("forced"),
            Reason::AlwaysChanged => f.write_str("always changed"),
            Reason::CmdChanged => f.write_str("command changed"),
            Reason::DepChanged(p) => write!(f, "dep `{}` changed", p.display()),
            Reason::ParamChanged(k) => write!(f, "param `{k}` changed"),
            Reason::OutMissing(p) => write!(f, "out `{}` is missing", p.display()),
            Reason::OutChanged(p) => write!(f, "out `{}` was modified", p.display()),
            Reason::EnvChanged(what) if what.is_empty() => f.write_str("environment changed"),
            Reason::EnvChanged(what) => write!(f, "environment changed: {}", what.join(", ")),
            Reason::EnvNotLocked => f.write_str("environment not in `mlops.lock` yet"),
            Reason::UpstreamWouldRun(s) => write!(f, "upstream stage `{s}` would run"),
            Reason::OnCluster(job) => {
                write!(f, "submitted as job {job}, not yet taken up by `mlops run`")
            }
        }
    }
}

/// Digests of workspace paths through the hash index, shared by concurrent stages.
#[derive(Debug)]
pub struct Digests {
    root: PathBuf,
    index: Mutex<HashIndex>,
}

impl Digests {
    pub(crate) fn new(root: &Path, index: HashIndex) -> Self {
        Self {
            root: root.to_owned(),
            index: Mutex::new(index),
        }
    }

    /// The digest of a file or directory (its root manifest), or `None` if it does not exist.
    pub(crate) fn of(&self, rel: &Path) -> Result<Option<Digest>> {
        let mut node = match scan(&self.root, rel) {
            Ok(node) => node,
            Err(mlops_core::Error::TargetMissing { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let unknown: Vec<PathBuf> = {
            let index = self
                .index
                .lock()
                .expect("no panics while holding the index");
            node.lookup_digests(&index)
                .into_iter()
                .map(|f| f.rel.clone())
                .collect()
        };
        if !unknown.is_empty() {
            // Hash outside the lock, so other stages are not held up.
            let mut hashed = BTreeMap::new();
            for rel in unknown {
                let (digest, _) = Digest::of_file(&self.root.join(&rel))?;
                hashed.insert(rel, digest);
            }
            for file in node.files_mut() {
                if let Some(digest) = hashed.get(&file.rel) {
                    file.digest = Some(*digest);
                }
            }
            node.record(
                &mut self
                    .index
                    .lock()
                    .expect("no panics while holding the index"),
            );
        }
        Ok(Some(node.build(None)?.digest))
    }

    /// Runs `f` on the index (to cache outputs through it, or to save it).
    pub(crate) fn with_index<T>(&self, f: impl FnOnce(&mut HashIndex) -> T) -> T {
        f(&mut self
            .index
            .lock()
            .expect("no panics while holding the index"))
    }
}

/// The inputs a stage would run with now: its cmd, dep digests and param values.
pub(crate) fn current_inputs(
    stage: &Stage,
    digests: &Digests,
    params: &Mutex<ParamsFiles>,
) -> Result<StageLock> {
    let mut deps = Vec::with_capacity(stage.deps.len());
    for dep in &stage.deps {
        // A dep that is missing now is caught by `reasons`; record nothing for it.
        if let Some(digest) = digests.of(dep)? {
            deps.push(DepLock {
                path: dep.clone(),
                digest,
            });
        }
    }
    let mut values: BTreeMap<String, BTreeMap<String, mlops_core::yaml::Value>> = BTreeMap::new();
    let mut params = params.lock().expect("no panics while holding the params");
    for param in &stage.params {
        let value = params
            .get(&param.file)?
            .and_then(|doc| lookup(doc, &param.key))
            .cloned()
            .ok_or_else(|| Error::MissingParam {
                stage: stage.name.clone(),
                file: param.file.clone(),
                key: param.key.clone(),
            })?;
        values
            .entry(param.file.display().to_string())
            .or_default()
            .insert(param.key.clone(), value);
    }
    Ok(StageLock {
        cmd: stage.cmd.clone(),
        deps,
        params: values,
        outs: Vec::new(),
        metrics: Vec::new(),
        // Set by the run for a stage with `env: strict`, which captures the environment.
        env: None,
    })
}

/// Why `stage` must run, given its current inputs and its lock entry; empty when up to date.
pub fn reasons(
    stage: &Stage,
    inputs: &StageLock,
    locked: Option<&StageLock>,
    digests: &Digests,
) -> Result<Vec<Reason>> {
    let Some(locked) = locked else {
        return Ok(vec![Reason::NeverRun]);
    };
    let mut reasons = Vec::new();
    if stage.always_changed {
        reasons.push(Reason::AlwaysChanged);
    }
    if inputs.cmd != locked.cmd {
        reasons.push(Reason::CmdChanged);
    }
    for dep in &stage.deps {
        let now = inputs
            .deps
            .iter()
            .find(|d| d.path == *dep)
            .map(|d| d.digest);
        let then = locked
            .deps
            .iter()
            .find(|d| d.path == *dep)
            .map(|d| d.digest);
        if now.is_none() || now != then {
            reasons.push(Reason::DepChanged(dep.clone()));
        }
    }
    for (file, keys) in &inputs.params {
        for (key, value) in keys {
            if locked.params.get(file).and_then(|k| k.get(key)) != Some(value) {
                reasons.push(Reason::ParamChanged(key.clone()));
            }
        }
    }
    if stage.env.strict && inputs.env != locked.env {
        reasons.push(if locked.env.is_none() {
            Reason::EnvNotLocked
        } else {
            Reason::EnvChanged(Vec::new())
        });
    }
    for out in stage.all_outs() {
        let recorded: Option<&OutLock> = locked
            .outs
            .iter()
            .chain(&locked.metrics)
            .find(|o| o.path == *out);
        match (digests.of(out)?, recorded) {
            (None, _) => reasons.push(Reason::OutMissing(out.clone())),
            (Some(now), Some(then)) if now == then.digest => {}
            (Some(_), _) => reasons.push(Reason::OutChanged(out.clone())),
        }
    }
    Ok(reasons)
}
