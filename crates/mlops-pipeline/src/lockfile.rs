//! `mlops.lock`: what produced each stage's outputs (cmd, dep and out digests, param values, and
//! for a stage with `env: strict` its environment's digest). A stage is up to date when all of
//! these still match. Committed to git beside `mlops.yaml`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mlops_core::Digest;
use mlops_core::manifest::EntryKind;
use mlops_core::ops::Tracked;
use mlops_core::pointer::Pointer;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The lock file at the workspace root.
pub const LOCK_FILE: &str = "mlops.lock";
const LOCK_SCHEMA: u32 = 1;

/// The whole lock file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    pub schema: u32,
    #[serde(default)]
    pub stages: BTreeMap<String, StageLock>,
}

/// What one stage was last run (or restored) with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageLock {
    pub cmd: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deps: Vec<DepLock>,
    /// Params file -> dotted key -> value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, BTreeMap<String, mlops_core::yaml::Value>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outs: Vec<OutLock>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<OutLock>,
    /// The environment's digest, for a stage with `env: strict` only (see `env`): a change to
    /// it reruns the stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Digest>,
}

/// A dependency and the digest it had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepLock {
    pub path: PathBuf,
    pub digest: Digest,
}

/// An output as stored in the cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutLock {
    pub path: PathBuf,
    pub kind: EntryKind,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exec: bool,
}

impl OutLock {
    pub(crate) fn new(path: PathBuf, pointer: &Pointer) -> Self {
        Self {
            path,
            kind: pointer.kind,
            digest: pointer.digest,
            size: pointer.size,
            files: pointer.files,
            exec: pointer.exec,
        }
    }

    /// The pointer that restores this output with `checkout`.
    pub(crate) fn pointer(&self) -> Pointer {
        Pointer {
            kind: self.kind,
            digest: self.digest,
            size: self.size,
            files: self.files,
            exec: self.exec,
        }
    }
}

impl LockFile {
    /// Reads `mlops.lock` at `root`; a missing file is an empty lock.
    pub fn load(root: &Path) -> Result<Self> {
        let text = match fs_err::read_to_string(root.join(LOCK_FILE)) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    schema: LOCK_SCHEMA,
                    ..Self::default()
                });
            }
            Err(e) => return Err(e.into()),
        };
        Self::parse(&text)
    }

    /// Parses the text of a `mlops.lock` (from the workspace or a git revision).
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |message: String| Error::BadLock {
            file: PathBuf::from(LOCK_FILE),
            message,
        };
        let lock: Self = mlops_core::yaml::from_str(text).map_err(bad)?;
        if lock.schema != LOCK_SCHEMA {
            return Err(bad(format!(
                "schema {} is not supported (this mlops reads schema {LOCK_SCHEMA})",
                lock.schema
            )));
        }
        Ok(lock)
    }

    /// Every output the lock records with the pointer that restores it, paths as written in the
    /// file (unchecked: for reading and showing, never for writing).
    pub fn outputs(&self) -> Vec<(PathBuf, Pointer)> {
        let mut out: Vec<(PathBuf, Pointer)> = self
            .stages
            .values()
            .flat_map(|stage| stage.outs.iter().chain(&stage.metrics))
            .map(|o| (o.path.clone(), o.pointer()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Every output the lock records, as tracked paths (with the pointer files, the workspace's
    /// tracked paths: [`crate::tracked::resolve`], which every command asks instead). The lock
    /// may come from anyone who can commit, so each path must pass the workspace's path check.
    pub(crate) fn tracked_outputs(&self, root: &Path) -> Result<Vec<Tracked>> {
        self.outputs()
            .into_iter()
            .map(|(path, pointer)| {
                Tracked::new(root, &path, pointer).map_err(|e| Error::BadLock {
                    file: PathBuf::from(LOCK_FILE),
                    message: e.to_string(),
                })
            })
            .collect()
    }

    /// The paths of the outputs recorded in the workspace's `mlops.lock`, each checked by the
    /// workspace's path check: the paths `mlops remove` and `mlops move` leave to the pipeline.
    pub fn output_paths(root: &Path) -> Result<Vec<PathBuf>> {
        Ok(Self::load(root)?
            .tracked_outputs(root)?
            .into_iter()
            .map(|t| t.rel)
            .collect())
    }

    /// Writes `mlops.lock` atomically.
    pub fn save(&self, root: &Path) -> Result<()> {
        let body = mlops_core::yaml::to_string(self).expect("the lock serialises");
        let text = format!(
            "# Written by `mlops run`: what produced each stage's outputs. Commit it.\n{body}"
        );
        // The temp file goes to `.mlops/tmp`, which the next writer clears: a killed save leaves
        // nothing at the workspace root.
        let temp_dir =
            mlops_core::workspace::temp_dir_in(&root.join(mlops_core::workspace::MLOPS_DIR));
        mlops_core::atomic::write_in(&temp_dir, &root.join(LOCK_FILE), text.as_bytes())?;
        Ok(())
    }
}
