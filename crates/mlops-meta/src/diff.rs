//! `mlops diff`: how the tracked data differs between two revisions, or a revision and the
//! workspace's pointer files.
//!
//! Tracked paths are compared by digest. For a directory changed on both sides, the files inside
//! that were added, removed or modified come from the two manifest trees when the cache holds
//! them (`mlops fetch` gets them); otherwise the directory is reported as a whole.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use mlops_core::Workspace;
use mlops_core::manifest::EntryKind;
use mlops_core::pointer::Pointer;
use mlops_core::tree::read_tree;

use crate::error::Result;
use crate::history::Repo;

/// How a tracked path changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Added,
    Removed,
    Modified,
}

/// One tracked path that differs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Change {
    pub path: PathBuf,
    pub change: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_before: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest_before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest_after: Option<String>,
    /// For a modified directory whose manifests are cached: the files inside that changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<FileChanges>,
}

/// Files inside a directory, relative to it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FileChanges {
    pub added: Vec<PathBuf>,
    pub removed: Vec<PathBuf>,
    pub modified: Vec<PathBuf>,
}

/// The differences between two sides.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DiffReport {
    pub from: String,
    pub to: String,
    pub changes: Vec<Change>,
}

/// Compares the tracked data at revision `from` with revision `to`, or with the workspace's
/// pointer files and `mlops.lock` when `to` is `None`.
pub fn diff(ws: &Workspace, repo: &Repo, from: &str, to: Option<&str>) -> Result<DiffReport> {
    let before = repo.tracked_at(&repo.commit(from)?)?;
    let after = match to {
        Some(rev) => repo.tracked_at(&repo.commit(rev)?)?,
        None => mlops_pipeline::tracked::all(ws)?
            .into_iter()
            .map(|t| (t.rel, t.pointer))
            .collect(),
    };
    let paths: BTreeSet<&PathBuf> = before.keys().chain(after.keys()).collect();
    let mut changes = Vec::new();
    for path in paths {
        let (old, new) = (before.get(path), after.get(path));
        let change = match (old, new) {
            (None, Some(_)) => Kind::Added,
            (Some(_), None) => Kind::Removed,
            (Some(a), Some(b)) if a.digest != b.digest || a.kind != b.kind => Kind::Modified,
            _ => continue,
        };
        let files = match (old, new) {
            (Some(a), Some(b)) if a.kind == EntryKind::Dir && b.kind == EntryKind::Dir => {
                files_changed(ws, path, a, b)
            }
            _ => None,
        };
        changes.push(Change {
            path: path.clone(),
            change,
            size_before: old.map(|p| p.size),
            size_after: new.map(|p| p.size),
            digest_before: old.map(|p| p.digest.to_string()),
            digest_after: new.map(|p| p.digest.to_string()),
            files,
        });
    }
    Ok(DiffReport {
        from: from.to_owned(),
        to: to.unwrap_or("workspace").to_owned(),
        changes,
    })
}

/// The files that differ between two versions of a directory, if both trees are cached.
fn files_changed(ws: &Workspace, dir: &PathBuf, a: &Pointer, b: &Pointer) -> Option<FileChanges> {
    let store = ws.store();
    let read = |p: &Pointer| -> Option<BTreeMap<PathBuf, mlops_core::Digest>> {
        let tree = read_tree(&store, &p.digest, dir).ok()?;
        Some(
            tree.files
                .into_iter()
                .map(|f| {
                    (
                        f.rel.strip_prefix(dir).unwrap_or(&f.rel).to_owned(),
                        f.digest,
                    )
                })
                .collect(),
        )
    };
    let (old, new) = (read(a)?, read(b)?);
    let mut files = FileChanges::default();
    for (path, digest) in &new {
        match old.get(path) {
            None => files.added.push(path.clone()),
            Some(d) if d != digest => files.modified.push(path.clone()),
            Some(_) => {}
        }
    }
    files.removed = old
        .keys()
        .filter(|p| !new.contains_key(*p))
        .cloned()
        .collect();
    Some(files)
}
