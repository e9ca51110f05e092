//! `remove`: stop tracking paths (as `dvc remove` does for `.dvc` files). The pointer file and
//! the path's `.gitignore` line go; the data stays in the workspace as private, writable files,
//! and its cache objects become garbage that `gc` may collect.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::pointer::{pointer_path, target_of};
use crate::workspace::Workspace;

/// Settings for `remove`.
#[derive(Debug, Clone, Default)]
pub struct RemoveOptions {
    /// Paths the pipeline caches (recorded in `mlops.lock`): refused, since `mlops.yaml` owns
    /// them and the next `mlops run` would cache them again.
    pub pipeline_outputs: Vec<PathBuf>,
}

/// What `remove` did.
#[derive(Debug, Clone, Serialize)]
pub struct RemoveReport {
    pub removed: Vec<Removed>,
}

/// One path that is no longer tracked.
#[derive(Debug, Clone, Serialize)]
pub struct Removed {
    pub path: PathBuf,
    /// The pointer file deleted (commit its deletion).
    pub pointer: PathBuf,
    /// Whether the data was in the workspace (it is kept there).
    pub data_kept: bool,
    /// Linked files replaced by private copies so the data no longer shares the cache.
    pub copied: u64,
    /// Whether a `.gitignore` line was dropped.
    pub unignored: bool,
}

/// Untracks `targets` (workspace-relative tracked paths or their pointer files). Every target
/// is checked before anything changes.
pub fn remove(
    ws: &Workspace,
    targets: &[PathBuf],
    options: &RemoveOptions,
) -> Result<RemoveReport> {
    let _lock = ws.lock()?;
    let mut paths = Vec::with_capacity(targets.len());
    for target in targets {
        let rel = tracked_path(ws, target, &options.pipeline_outputs)?;
        if !paths.contains(&rel) {
            paths.push(rel);
        }
    }
    let mut removed = Vec::with_capacity(paths.len());
    for rel in paths {
        // The data becomes private first and the pointer goes last: a kill in between leaves a
        // tracked path whose removal can simply be run again, never links into objects that no
        // pointer protects from `gc`.
        let data_kept = fs_err::symlink_metadata(ws.abs(&rel)).is_ok();
        let copied = if data_kept {
            super::unprotect::privatize(ws, std::slice::from_ref(&rel))?.copied
        } else {
            0
        };
        let name = rel.file_name().expect("tracked paths have a name");
        let parent = rel.parent().unwrap_or(Path::new(""));
        let unignored = crate::git::unignore_in(
            &ws.abs(parent),
            &name.to_string_lossy(),
            ws.store().temp_dir(),
        )?;
        let pointer = pointer_path(&rel);
        crate::faults::write_step();
        fs_err::remove_file(ws.abs(&pointer))?;
        removed.push(Removed {
            path: rel,
            pointer,
            data_kept,
            copied,
            unignored,
        });
    }
    Ok(RemoveReport { removed })
}

/// The tracked path that `target` (the path or its pointer file) names, checked to be a safe
/// workspace path with a pointer, and not one of `pipeline_outputs` or inside one.
pub(crate) fn tracked_path(
    ws: &Workspace,
    target: &Path,
    pipeline_outputs: &[PathBuf],
) -> Result<PathBuf> {
    let rel = match target_of(target) {
        Some(rel) if ws.abs(target).is_file() => rel,
        _ => target.to_owned(),
    };
    if pipeline_outputs.iter().any(|o| rel.starts_with(o)) {
        return Err(Error::PipelineOutput { path: rel });
    }
    let rel = crate::safepath::check(ws.root(), &rel)?;
    let pointer = pointer_path(&rel);
    if !ws.abs(&pointer).is_file() {
        return Err(Error::NotTracked { path: rel, pointer });
    }
    Ok(rel)
}
