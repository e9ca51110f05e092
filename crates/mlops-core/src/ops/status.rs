//! `status`: how each tracked path differs from its pointer, the cache and the default remote.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use rayon::prelude::*;
use serde::Serialize;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::index::HashIndex;
use crate::manifest::EntryKind;
use crate::ops::Tracked;
use crate::scan::{Built, Node, scan};
use crate::store::Store;
use crate::tree::{objects_of, read_tree};
use crate::workspace::Workspace;

/// One way a tracked path can be out of step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The workspace content differs from the pointer.
    Modified,
    /// The tracked path is not in the workspace.
    MissingFromWorkspace,
    /// Some of the pointer's objects are not in the local cache.
    NotInCache,
    /// Some of the pointer's objects are not on the default remote.
    NotPushed,
}

impl State {
    pub fn describe(self) -> &'static str {
        match self {
            State::Modified => "modified",
            State::MissingFromWorkspace => "missing from workspace",
            State::NotInCache => "not in cache",
            State::NotPushed => "not pushed",
        }
    }
}

/// Files that differ inside a modified directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub added: Vec<PathBuf>,
    pub modified: Vec<PathBuf>,
    pub deleted: Vec<PathBuf>,
}

/// The status of one tracked path; clean when `states` is empty.
#[derive(Debug, Clone, Serialize)]
pub struct PathStatus {
    pub path: PathBuf,
    pub kind: EntryKind,
    pub states: Vec<State>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
}

/// The status of every requested tracked path.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// The remote compared against, if a default remote is set.
    pub remote: Option<String>,
    pub paths: Vec<PathStatus>,
}

impl StatusReport {
    pub fn is_clean(&self) -> bool {
        self.paths.iter().all(|p| p.states.is_empty())
    }
}

/// Computes the status of the tracked paths (see [`crate::ops::resolve`]), against the default
/// remote too when one is set.
pub fn status(ws: &Workspace, tracked: &[Tracked]) -> Result<StatusReport> {
    status_with(ws, tracked, true)
}

/// Like [`status`], but never reads a remote: for git hooks, which must stay quick and local.
pub fn local_status(ws: &Workspace, tracked: &[Tracked]) -> Result<StatusReport> {
    status_with(ws, tracked, false)
}

fn status_with(ws: &Workspace, tracked: &[Tracked], check_remote: bool) -> Result<StatusReport> {
    let store = ws.store();
    // Walk the workspace while the cache listing and the index load: they are independent.
    let (scans, (cached, mut index)) = rayon::join(
        || {
            tracked
                .par_iter()
                .map(|item| scan_or_missing(ws, item))
                .collect::<Vec<_>>()
        },
        || (store.list(), HashIndex::load(&ws.index_path())),
    );
    let cached = cached?;
    tracing::debug!(
        tracked = tracked.len(),
        cached = cached.len(),
        "scanned the workspace and listed the cache"
    );
    let remote = match &ws.config().default_remote {
        Some(name) if check_remote => {
            let remote = crate::remote::open(ws, Some(name))?;
            Some((name.clone(), remote.list()?))
        }
        _ => None,
    };
    let mut paths = Vec::with_capacity(tracked.len());
    for (item, scanned) in tracked.iter().zip(scans) {
        let Compared {
            mut states,
            changes,
            objects,
        } = compare_workspace(ws, &store, item, scanned?, &mut index)?;
        let all_in = |set: &HashSet<Digest>| match &objects {
            Some(objects) => objects.iter().all(|d| set.contains(d)),
            None => set.contains(&item.pointer.digest),
        };
        if objects.is_none() || !all_in(&cached) {
            states.push(State::NotInCache);
        }
        if let Some((_, listed)) = &remote
            && !all_in(listed)
        {
            states.push(State::NotPushed);
        }
        paths.push(PathStatus {
            path: item.rel.clone(),
            kind: item.pointer.kind,
            states,
            changes,
        });
    }
    // Refresh the index so the next status is fast, unless a writer is busy.
    if index.is_changed()
        && let Some(_lock) = ws.try_lock()
    {
        index.save(&ws.index_path())?;
    }
    Ok(StatusReport {
        remote: remote.map(|(name, _)| name),
        paths,
    })
}

/// A tracked path's workspace copy against its pointer.
struct Compared {
    /// Modified or missing, or nothing yet.
    states: Vec<State>,
    /// The files a modified directory changed.
    changes: Option<Changes>,
    /// The objects the pointer needs; None when the cache lacks the manifests that list them.
    objects: Option<Vec<Digest>>,
}

/// Builds the workspace copy of `item` (through the hash index) and compares it with the
/// pointer.
fn compare_workspace(
    ws: &Workspace,
    store: &Store,
    item: &Tracked,
    scanned: Option<Node>,
    index: &mut HashIndex,
) -> Result<Compared> {
    let mut states = Vec::new();
    let mut changes = None;
    match build_workspace(ws, scanned, index)? {
        None => states.push(State::MissingFromWorkspace),
        Some((built, node)) if built.digest == item.pointer.digest => {
            // The workspace matches, so the tree just built is the pointer's own: no need
            // to read its manifests back from the cache.
            let mut digests = built.manifests;
            digests.extend(node.files().iter().filter_map(|f| f.digest));
            return Ok(Compared {
                states,
                changes,
                objects: Some(digests),
            });
        }
        Some((_, node)) => {
            states.push(State::Modified);
            changes = dir_changes(ws, item, &node);
        }
    }
    let objects = match objects_of(store, &item.pointer) {
        Ok(objects) => Some(objects),
        Err(e) if e.is_missing_object() => None,
        Err(e) => return Err(e),
    };
    Ok(Compared {
        states,
        changes,
        objects,
    })
}

/// Scans the workspace copy of a tracked path; None if it is missing.
fn scan_or_missing(ws: &Workspace, item: &Tracked) -> Result<Option<Node>> {
    match scan(ws.root(), &item.rel) {
        Ok(node) => Ok(Some(node)),
        Err(Error::TargetMissing { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Gives a scanned tree its digests (from the index, or hashing) and builds its manifests.
fn build_workspace(
    ws: &Workspace,
    node: Option<Node>,
    index: &mut HashIndex,
) -> Result<Option<(Built, Node)>> {
    let Some(mut node) = node else {
        return Ok(None);
    };
    node.hash_missing(ws.root(), index)?;
    node.record(index);
    let built = node.build(None)?;
    Ok(Some((built, node)))
}

/// Which files differ inside a modified directory, when its manifests are in the cache.
fn dir_changes(ws: &Workspace, item: &Tracked, node: &Node) -> Option<Changes> {
    if item.pointer.kind != EntryKind::Dir || !matches!(node, Node::Dir(_)) {
        return None;
    }
    let tree = read_tree(&ws.store(), &item.pointer.digest, &item.rel).ok()?;
    let mut expected: HashMap<&PathBuf, &Digest> =
        tree.files.iter().map(|f| (&f.rel, &f.digest)).collect();
    let mut changes = Changes::default();
    for file in node.files() {
        match expected.remove(&file.rel) {
            None => changes.added.push(file.rel.clone()),
            Some(digest) if Some(*digest) != file.digest => changes.modified.push(file.rel.clone()),
            Some(_) => {}
        }
    }
    changes.deleted = expected.into_keys().cloned().collect();
    changes.added.sort();
    changes.modified.sort();
    changes.deleted.sort();
    Some(changes)
}
