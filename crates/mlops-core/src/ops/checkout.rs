//! `checkout`: make the workspace match the pointer files, without losing unsaved work.
//!
//! A workspace file is replaced or removed only when its current content is safe in the cache
//! (so the previous version can be restored) or with `force`; every other file is skipped and
//! named in the report. All objects are checked to be present before anything is touched, and
//! each one is verified against its digest while it is copied out.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::config::LinkMode;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::index::{HashIndex, Stamp};
use crate::manifest::EntryKind;
use crate::ops::Tracked;
use crate::progress::Progress;
use crate::scan::{FileNode, scan};
use crate::store::Store;
use crate::tree::{TreeFile, read_tree};
use crate::workspace::Workspace;

/// Settings for `checkout`.
#[derive(Debug, Clone)]
pub struct CheckoutOptions {
    /// Replace and remove files even when their content is not in the cache.
    pub force: bool,
    pub link: LinkMode,
}

/// What `checkout` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckoutReport {
    /// Files written from the cache.
    pub restored: u64,
    /// Files removed because their pointer no longer lists them.
    pub removed: u64,
    /// Files already right.
    pub unchanged: u64,
    /// Files left alone because replacing them would lose unsaved content.
    pub skipped: Vec<PathBuf>,
}

/// Makes the workspace match the given tracked paths (see [`crate::ops::resolve`]).
pub fn checkout(
    ws: &Workspace,
    tracked: &[Tracked],
    options: &CheckoutOptions,
    progress: &dyn Progress,
) -> Result<CheckoutReport> {
    let _lock = ws.lock()?;
    restore(ws, tracked, options, progress)
}

/// Makes the workspace match the given tracked paths; the caller holds the workspace lock.
pub fn restore(
    ws: &Workspace,
    tracked: &[Tracked],
    options: &CheckoutOptions,
    progress: &dyn Progress,
) -> Result<CheckoutReport> {
    let store = ws.store();
    let cached = store.list()?;
    let mut index = HashIndex::load(&ws.index_path());

    // Read every tree and check every object before changing anything.
    let mut plans = Vec::with_capacity(tracked.len());
    for item in tracked {
        let (files, dirs) = desired(&store, item).map_err(|e| item.needs(e))?;
        if let Some(missing) = files.iter().find(|f| !cached.contains(&f.digest)) {
            return Err(item.needs(Error::ObjectMissing {
                digest: missing.digest,
            }));
        }
        plans.push((item, files, dirs));
    }

    let mut report = CheckoutReport::default();
    for (item, files, dirs) in plans {
        let current = current_files(ws, item, &index)?;
        let writes = reconcile(
            ws,
            &store,
            &cached,
            options,
            (&files, &dirs),
            current,
            &mut report,
        )?;
        tracing::debug!(path = %item.rel.display(), to_write = writes.len(), "reconciled");
        let bytes = writes.iter().map(|f| f.size).sum();
        progress.start("checking out", writes.len() as u64, bytes);
        let written: Result<Vec<(PathBuf, Stamp, Digest)>> = writes
            .par_iter()
            .map(|file| {
                let abs = ws.abs(&file.rel);
                store.materialize(&file.digest, &abs, file.exec, options.link)?;
                progress.advance(file.size);
                Ok((
                    file.rel.clone(),
                    Stamp::of(&fs_err::metadata(&abs)?),
                    file.digest,
                ))
            })
            .collect();
        progress.finish();
        for (rel, stamp, digest) in written? {
            index.insert(&rel, stamp, digest);
        }
        report.restored += writes.len() as u64;
    }
    index.save(&ws.index_path())?;
    report.skipped.sort();
    Ok(report)
}

/// The files and directories a pointer describes.
fn desired(store: &Store, item: &Tracked) -> Result<(Vec<TreeFile>, Vec<PathBuf>)> {
    match item.pointer.kind {
        EntryKind::File => Ok((
            vec![TreeFile {
                rel: item.rel.clone(),
                digest: item.pointer.digest,
                size: item.pointer.size,
                exec: item.pointer.exec,
            }],
            Vec::new(),
        )),
        EntryKind::Dir => {
            let tree = read_tree(store, &item.pointer.digest, &item.rel)?;
            Ok((tree.files, tree.dirs))
        }
    }
}

/// The files now in the workspace at a tracked path, with digests, and its directories.
fn current_files(
    ws: &Workspace,
    item: &Tracked,
    index: &HashIndex,
) -> Result<(Vec<FileNode>, Vec<PathBuf>)> {
    let mut node = match scan(ws.root(), &item.rel) {
        Ok(node) => node,
        Err(Error::TargetMissing { .. }) => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e),
    };
    node.hash_missing(ws.root(), index)?;
    let mut dirs = Vec::new();
    collect_dirs(&node, &mut dirs);
    Ok((node.files().into_iter().cloned().collect(), dirs))
}

fn collect_dirs(node: &crate::scan::Node, out: &mut Vec<PathBuf>) {
    if let crate::scan::Node::Dir(dir) = node {
        out.push(dir.rel.clone());
        for (_, child) in &dir.children {
            collect_dirs(child, out);
        }
    }
}

/// Removes what the pointer no longer lists, fixes modes, creates directories, and returns the
/// files to write. Files with unsaved content are skipped (recorded in `report`) unless forced.
fn reconcile<'a>(
    ws: &Workspace,
    store: &Store,
    cached: &HashSet<Digest>,
    options: &CheckoutOptions,
    (files, dirs): (&'a [TreeFile], &[PathBuf]),
    (current, current_dirs): (Vec<FileNode>, Vec<PathBuf>),
    report: &mut CheckoutReport,
) -> Result<Vec<&'a TreeFile>> {
    let wanted: HashMap<&Path, &TreeFile> = files.iter().map(|f| (f.rel.as_path(), f)).collect();
    // A file about to be replaced or removed is saved only if an intact object holds its
    // content: an object's name alone proves nothing once it may have been corrupted (for
    // example through a hard link edited in place), and the workspace copy may be the last one.
    let mut to_verify: Vec<Digest> = if options.force {
        Vec::new()
    } else {
        current
            .iter()
            .filter_map(|file| {
                let digest = file.digest?;
                let stays = wanted
                    .get(file.rel.as_path())
                    .is_some_and(|w| w.digest == digest);
                (!stays && cached.contains(&digest)).then_some(digest)
            })
            .collect()
    };
    to_verify.sort_unstable();
    to_verify.dedup();
    let intact: HashSet<Digest> = to_verify
        .into_par_iter()
        .filter(|digest| store.verify(digest).is_ok())
        .collect();
    let saved = |file: &FileNode| options.force || file.digest.is_some_and(|d| intact.contains(&d));
    let mut present: HashMap<PathBuf, FileNode> = HashMap::new();
    for file in current {
        if wanted.contains_key(file.rel.as_path()) {
            present.insert(file.rel.clone(), file);
        } else if saved(&file) {
            fs_err::remove_file(ws.abs(&file.rel))?;
            report.removed += 1;
        } else {
            report.skipped.push(file.rel.clone());
        }
    }
    // Directories the pointer no longer lists go once empty, deepest first.
    let wanted_dirs: HashSet<&PathBuf> = dirs.iter().collect();
    for dir in current_dirs
        .iter()
        .rev()
        .filter(|d| !wanted_dirs.contains(d))
    {
        let _ = fs_err::remove_dir(ws.abs(dir));
    }
    for dir in dirs {
        fs_err::create_dir_all(ws.abs(dir))?;
    }

    let mut writes = Vec::new();
    for file in files {
        match present.get(&file.rel) {
            Some(now) if now.digest == Some(file.digest) => {
                if now.exec != file.exec {
                    set_executable(&ws.abs(&file.rel), file.exec)?;
                }
                report.unchanged += 1;
            }
            Some(now) if !saved(now) => report.skipped.push(file.rel.clone()),
            // Parents exist: the tree's directories were created above, and a tracked file's
            // directory holds its pointer.
            _ => writes.push(file),
        }
    }
    Ok(writes)
}

fn set_executable(path: &Path, exec: bool) -> Result<()> {
    let mut perms = fs_err::metadata(path)?.permissions();
    let mode = perms.mode();
    // Executable for whoever may read it, as git does.
    perms.set_mode(if exec {
        mode | ((mode & 0o444) >> 2)
    } else {
        mode & !0o111
    });
    fs_err::set_permissions(path, perms)?;
    Ok(())
}
