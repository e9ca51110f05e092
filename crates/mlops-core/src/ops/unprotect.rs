//! `unprotect`: turn hard- or symlinked workspace files back into private, writable copies, so
//! they can be edited without touching the cache.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::EntryKind;
use crate::pointer::{Pointer, pointer_path};
use crate::scan::scan;
use crate::store::{Reflink, Store};
use crate::tree::read_tree;
use crate::workspace::Workspace;

/// What `unprotect` did.
#[derive(Debug, Clone, Serialize)]
pub struct UnprotectReport {
    /// Files replaced by private copies.
    pub copied: u64,
    /// Files that were already private and writable.
    pub unchanged: u64,
}

/// Gives each file at or below `targets` a private writable copy of its content.
pub fn unprotect(ws: &Workspace, targets: &[PathBuf]) -> Result<UnprotectReport> {
    let _lock = ws.lock()?;
    privatize(ws, targets)
}

/// [`unprotect`]'s work, for callers that already hold the workspace lock.
///
/// Only links into the cache are replaced: a file that is a hard link to, or a symbolic link
/// at, the object its pointer records for it, or a symbolic link into the cache. The user's own
/// symbolic links and hard links (to files elsewhere) are theirs, and stay as they are.
pub(crate) fn privatize(ws: &Workspace, targets: &[PathBuf]) -> Result<UnprotectReport> {
    let store = ws.store();
    let mut files = Vec::new();
    for target in targets {
        files.extend(
            scan(ws.root(), target)?
                .files()
                .into_iter()
                .map(|f| (f.rel.clone(), f.exec)),
        );
    }
    let digests = tracked_digests(ws, &store, files.iter().map(|(rel, _)| rel.as_path()))?;
    let copied: Result<u64> = files
        .par_iter()
        .map(|(rel, exec)| {
            let abs = ws.abs(rel);
            let linked = digests
                .get(rel.as_path())
                .is_some_and(|digest| store.is_linked(&abs, digest))
                // A link into the cache the pointer no longer names (the file was replaced by
                // hand): it would dangle once `gc` removes the object.
                || fs_err::read_link(&abs).is_ok_and(|target| target.starts_with(store.root()));
            if !linked {
                return Ok(0);
            }
            let mode = if *exec { 0o777 } else { 0o666 };
            let result = crate::atomic::replace_via(store.temp_dir(), &abs, |temp| {
                store.copy_hashing(&abs, temp, mode, Reflink::Try)
            });
            result.map(|_| 1)
        })
        .sum();
    let copied = copied?;
    Ok(UnprotectReport {
        copied,
        unchanged: files.len() as u64 - copied,
    })
}

/// The digest each of `files` (workspace-relative) has in the pointer of the tracked path at or
/// above it. Files no pointer lists, and those of a tree the cache no longer holds, are left out:
/// no object of theirs is known to be linked.
fn tracked_digests<'a>(
    ws: &Workspace,
    store: &Store,
    files: impl Iterator<Item = &'a Path>,
) -> Result<HashMap<PathBuf, Digest>> {
    // The tracked path above each directory seen, so each directory is looked up once.
    let mut tracked_above: HashMap<PathBuf, Option<PathBuf>> = HashMap::new();
    let mut loaded: HashSet<PathBuf> = HashSet::new();
    let mut digests = HashMap::new();
    for rel in files {
        let tracked = if ws.abs(&pointer_path(rel)).is_file() {
            Some(rel.to_owned())
        } else {
            let parent = rel.parent().unwrap_or(Path::new(""));
            if !tracked_above.contains_key(parent) {
                let found = parent
                    .ancestors()
                    .filter(|a| !a.as_os_str().is_empty())
                    .find(|a| ws.abs(&pointer_path(a)).is_file())
                    .map(Path::to_path_buf);
                tracked_above.insert(parent.to_owned(), found);
            }
            tracked_above[parent].clone()
        };
        let Some(tracked) = tracked else { continue };
        if !loaded.insert(tracked.clone()) {
            continue;
        }
        let pointer = Pointer::load(&ws.abs(&pointer_path(&tracked)))?;
        match pointer.kind {
            EntryKind::File => {
                digests.insert(tracked, pointer.digest);
            }
            EntryKind::Dir => match read_tree(store, &pointer.digest, &tracked) {
                Ok(tree) => digests.extend(tree.files.into_iter().map(|f| (f.rel, f.digest))),
                Err(Error::ObjectMissing { .. } | Error::ObjectCorrupt { .. }) => {}
                Err(e) => return Err(e),
            },
        }
    }
    Ok(digests)
}
