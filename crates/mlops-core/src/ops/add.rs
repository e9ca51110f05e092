//! `add`: store files and directories in the cache and write their pointer files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::config::LinkMode;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::index::{HashIndex, Stamp};
use crate::manifest::EntryKind;
use crate::pointer::{Pointer, pointer_path, target_of};
use crate::progress::Progress;
use crate::scan::{Built, Node, scan};
use crate::store::{Reflink, Store};
use crate::workspace::Workspace;

/// Settings for `add`.
#[derive(Debug, Clone)]
pub struct AddOptions {
    pub link: LinkMode,
}

/// What `add` did.
#[derive(Debug, Clone, Serialize)]
pub struct AddReport {
    pub added: Vec<Added>,
}

/// One tracked path after `add`.
#[derive(Debug, Clone, Serialize)]
pub struct Added {
    pub path: PathBuf,
    pub kind: EntryKind,
    pub digest: Digest,
    pub size: u64,
    pub files: u64,
    /// Files read and hashed (the rest were known to the hash index).
    pub hashed: u64,
    /// Objects written to the cache (content the cache did not have).
    pub new_objects: u64,
    /// False when the pointer already said exactly this.
    pub changed: bool,
    /// The pointer file to commit.
    pub pointer: PathBuf,
    /// The `.gitignore` that keeps the data itself out of git.
    pub gitignore: PathBuf,
}

/// Tracks `targets` (workspace-relative): caches their content, links the workspace copies as
/// `options.link` says, writes pointer files and `.gitignore` entries.
pub fn add(
    ws: &Workspace,
    targets: &[PathBuf],
    options: &AddOptions,
    progress: &dyn Progress,
) -> Result<AddReport> {
    let _lock = ws.lock()?;
    for target in targets {
        check_target(ws, target)?;
    }
    let store = ws.store();
    let known = store.list()?;
    let mut index = HashIndex::load(&ws.index_path());

    // Everything enters the cache first; pointers are written only after one durability barrier,
    // so a pointer never names content that a crash could lose.
    let mut staged = Vec::with_capacity(targets.len());
    for target in targets {
        let started = std::time::Instant::now();
        let mut node = scan(ws.root(), target)?;
        if let Some(nested) = node.files().iter().find(|f| target_of(&f.rel).is_some()) {
            return Err(Error::ContainsTracked {
                path: target.clone(),
                pointer: nested.rel.clone(),
            });
        }
        tracing::debug!(path = %target.display(), elapsed = ?started.elapsed(), "scanned");
        let (hashed, new_objects) =
            ingest(ws, &store, &known, &index, &mut node, options, progress)?;
        tracing::debug!(hashed, new_objects, elapsed = ?started.elapsed(), "ingested");
        let built = node.build(Some(&store))?;
        tracing::debug!(new_manifests = built.new_manifests, elapsed = ?started.elapsed(), "built manifests");
        staged.push((target, node, built, hashed, new_objects));
    }
    if staged.iter().any(|s| s.4 + s.2.new_manifests > 0) {
        crate::atomic::sync_filesystem(store.root())?;
    }

    let mut added = Vec::with_capacity(staged.len());
    for (target, mut node, built, hashed, new_objects) in staged {
        // The pointer first, the links after: a link into the cache must never exist without a
        // pointer naming its object, or a kill in between would leave `gc` free to delete it.
        let changed = write_pointer(ws, target, &node, &built)?;
        if options.link.shares_object() {
            link_workspace(ws, &store, &mut node, options.link)?;
        }
        let name = target
            .file_name()
            .expect("targets have a name")
            .to_string_lossy();
        let parent = target.parent().unwrap_or(Path::new(""));
        crate::git::ignore_in(&ws.abs(parent), &name, ws.store().temp_dir())?;
        let files = node.files();
        let present = files.iter().filter_map(|f| f.rel.to_str()).collect();
        index.forget_missing_under(target, &present);
        node.record(&mut index);
        let kind = if matches!(node, Node::Dir(_)) {
            EntryKind::Dir
        } else {
            EntryKind::File
        };
        added.push(Added {
            path: target.clone(),
            kind,
            digest: built.digest,
            size: built.size,
            files: built.files,
            hashed,
            new_objects: new_objects + built.new_manifests,
            changed,
            pointer: pointer_path(target),
            gitignore: parent.join(".gitignore"),
        });
    }
    index.save(&ws.index_path())?;
    Ok(AddReport { added })
}

/// Refuses targets that cannot be tracked, before any work is done.
fn check_target(ws: &Workspace, target: &Path) -> Result<()> {
    super::check_trackable(ws, target)?;
    if fs_err::symlink_metadata(ws.abs(target)).is_err() {
        return Err(Error::TargetMissing {
            path: target.to_owned(),
        });
    }
    if let Some(git_root) = crate::git::work_tree_root(ws.root()) {
        let git_root = fs_err::canonicalize(git_root)?;
        if let Ok(in_git) = ws.abs(target).strip_prefix(&git_root)
            && crate::git::is_tracked(&git_root, in_git)?
        {
            return Err(Error::TrackedByGit {
                path: target.to_owned(),
            });
        }
    }
    Ok(())
}

/// Gives every file its digest, storing the content of each file the index did not know or the
/// cache lacks. Returns (files hashed, objects written).
fn ingest<S: std::hash::BuildHasher>(
    ws: &Workspace,
    store: &Store,
    known: &HashSet<Digest, S>,
    index: &HashIndex,
    node: &mut Node,
    options: &AddOptions,
    progress: &dyn Progress,
) -> Result<(u64, u64)> {
    let pending: Vec<_> = node
        .files_mut()
        .into_iter()
        .filter_map(|file| {
            file.digest = index
                .get(&file.rel, &file.stamp)
                .filter(|d| known.contains(d));
            file.digest.is_none().then_some(file)
        })
        .collect();
    let bytes = pending.iter().map(|f| f.stamp.size).sum();
    progress.start("adding", pending.len() as u64, bytes);
    let reflink = match options.link {
        LinkMode::Reflink => Reflink::Require,
        LinkMode::Auto => Reflink::Try,
        _ => Reflink::Never,
    };
    let hashed = pending.len() as u64;
    let new_objects: Result<u64> = pending
        .into_par_iter()
        .map(|file| {
            let (digest, size, new) = store.ingest(&ws.abs(&file.rel), reflink)?;
            file.digest = Some(digest);
            progress.advance(size);
            Ok(u64::from(new))
        })
        .sum();
    progress.finish();
    Ok((hashed, new_objects?))
}

/// Replaces workspace files by hard or symbolic links to their (read-only) objects.
fn link_workspace(ws: &Workspace, store: &Store, node: &mut Node, link: LinkMode) -> Result<()> {
    node.files_mut().into_par_iter().try_for_each(|file| {
        let digest = file.digest.expect("ingested files have digests");
        let abs = ws.abs(&file.rel);
        if file.exec || store.is_linked(&abs, &digest) {
            return Ok(());
        }
        store.materialize(&digest, &abs, false, link)?;
        file.stamp = Stamp::of(&fs_err::metadata(&abs)?);
        Ok(())
    })
}

/// Caches the workspace path `rel` (a file or a directory) and links it as `link` says, without
/// writing a pointer file: for paths recorded elsewhere, such as pipeline outputs in `mlops.lock`.
/// Returns the pointer that describes what was stored. The caller holds the workspace lock and
/// saves `index`; `known` is the cache's content as listed earlier (it may be stale).
pub fn cache_path<S: std::hash::BuildHasher>(
    ws: &Workspace,
    store: &Store,
    known: &HashSet<Digest, S>,
    index: &mut HashIndex,
    rel: &Path,
    link: LinkMode,
) -> Result<Pointer> {
    let mut node = scan(ws.root(), rel)?;
    let options = AddOptions { link };
    let (_, new_objects) = ingest(
        ws,
        store,
        known,
        index,
        &mut node,
        &options,
        &crate::progress::NoProgress,
    )?;
    let built = node.build(Some(store))?;
    if new_objects + built.new_manifests > 0 {
        crate::atomic::sync_filesystem(store.root())?;
    }
    if link.shares_object() {
        link_workspace(ws, store, &mut node, link)?;
    }
    let files = node.files();
    let present = files.iter().filter_map(|f| f.rel.to_str()).collect();
    index.forget_missing_under(rel, &present);
    node.record(index);
    Ok(pointer_for(&node, &built))
}

/// The pointer describing a built node.
fn pointer_for(node: &Node, built: &Built) -> Pointer {
    match node {
        Node::File(file) => Pointer {
            kind: EntryKind::File,
            digest: built.digest,
            size: built.size,
            files: None,
            exec: file.exec,
        },
        Node::Dir(_) => Pointer {
            kind: EntryKind::Dir,
            digest: built.digest,
            size: built.size,
            files: Some(built.files),
            exec: false,
        },
    }
}

/// Writes the pointer for `target`; returns false when it already said the same.
fn write_pointer(ws: &Workspace, target: &Path, node: &Node, built: &Built) -> Result<bool> {
    let pointer = pointer_for(node, built);
    let abs = ws.abs(target);
    if let Ok(existing) = Pointer::load(&pointer_path(&abs))
        && existing == pointer
    {
        return Ok(false);
    }
    pointer.save(&abs, ws.store().temp_dir())?;
    Ok(true)
}
