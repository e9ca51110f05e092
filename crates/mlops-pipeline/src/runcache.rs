//! The run cache: outputs of every (cmd, deps, params) combination ever run (with `env: strict`,
//! and environment), so reverting a parameter restores the old outputs from the object store
//! instead of running the command again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::lockfile::{OutLock, StageLock};

/// What one run produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CacheEntry {
    pub outs: Vec<OutLock>,
    pub metrics: Vec<OutLock>,
}

fn dir(mlops_dir: &Path) -> PathBuf {
    mlops_dir.join("run-cache")
}

/// The key of a run: a digest of its cmd, dep digests and param values, and with `env: strict`
/// its environment's digest (only then, so that the keys of other stages stay as they were).
pub(crate) fn key(inputs: &StageLock) -> String {
    let mut canonical = serde_json::json!({
        "cmd": inputs.cmd,
        "deps": inputs.deps,
        "params": inputs.params,
    });
    if let Some(env) = &inputs.env {
        canonical["env"] = env.to_string().into();
    }
    blake3::hash(canonical.to_string().as_bytes())
        .to_hex()
        .to_string()
}

/// The outputs recorded for `key`, if any (an unreadable entry counts as none: it is a cache).
pub(crate) fn lookup(mlops_dir: &Path, key: &str) -> Option<CacheEntry> {
    let text = fs_err::read_to_string(dir(mlops_dir).join(format!("{key}.json"))).ok()?;
    serde_json::from_str(&text).ok()
}

/// Records the outputs of a run.
/// The entry goes to `shared_dir` (the main workspace's `.mlops/`, which experiments' worktrees
/// share) through the temp dir of `mlops_dir` (the workspace's own).
pub(crate) fn record(
    shared_dir: &Path,
    mlops_dir: &Path,
    key: &str,
    entry: &CacheEntry,
) -> Result<()> {
    let dir = dir(shared_dir);
    fs_err::create_dir_all(&dir)?;
    let bytes = serde_json::to_vec(entry).expect("entries serialise");
    let path = dir.join(format!("{key}.json"));
    // Through `.mlops/tmp`, which the next writer clears: a killed write leaves no temp file
    // among the entries.
    mlops_core::atomic::write_in_unsynced(
        &mlops_core::workspace::temp_dir_in(mlops_dir),
        &path,
        &bytes,
    )?;
    Ok(())
}
