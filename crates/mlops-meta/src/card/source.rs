//! Where a card's files are read: a registered version's commit (git's objects for committed
//! files, the cache for tracked data, by the digests the commit records) or the workspace. A
//! file of a commit that the cache lacks is read from the workspace only when the workspace's
//! copy has the digest the commit records, so a card never shows another version's content.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use mlops_core::Workspace;
use mlops_core::digest::Digest;
use mlops_core::manifest::EntryKind;
use mlops_core::pointer::Pointer;
use mlops_core::store::Store;
use mlops_core::tree::TreeFile;
use mlops_pipeline::lockfile::{LOCK_FILE, LockFile};
use serde::Serialize;

use crate::error::Result;
use crate::history::Repo;

/// Files larger than this are not read for a card (reports are kilobytes to a few megabytes).
const MAX_READ: u64 = 64 << 20;

/// Where a file shown on a card was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadFrom {
    /// A file committed to git, from the version's commit.
    Git,
    /// Tracked data, from the cache by the digest the version's commit (or the workspace's
    /// `mlops.lock` or pointer) records.
    Cache,
    /// The workspace's copy.
    Workspace,
    /// A file named on the command line (`--eval`).
    Given,
}

/// `path` made canonical, for the containment checks of workspace reads.
fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_owned())
}

/// The files of a directory tree, shared.
type Files = Rc<Vec<TreeFile>>;

/// A tracked path's entry: its digest, kind, size and file count.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) digest: Digest,
    pub(crate) kind: EntryKind,
    pub(crate) size: u64,
    pub(crate) files: Option<u64>,
}

impl From<&Pointer> for Entry {
    fn from(p: &Pointer) -> Self {
        Self {
            digest: p.digest,
            kind: p.kind,
            size: p.size,
            files: p.files,
        }
    }
}

/// The files of one side: a commit (with the cache) or the workspace.
pub(crate) struct Snapshot<'r> {
    /// The commit's tree at the workspace root, for a commit.
    tree: Option<(&'r Repo, git2::Tree<'r>)>,
    /// Every tracked path (pointer files and `mlops.lock` outputs) and its pointer.
    tracked: BTreeMap<PathBuf, Pointer>,
    lock: Option<LockFile>,
    store: Store,
    root: PathBuf,
    /// Directory trees read so far, by path and digest (`None`: not in the cache).
    trees: RefCell<HashMap<(PathBuf, Digest), Option<Files>>>,
}

impl<'r> Snapshot<'r> {
    /// The files of `commit`.
    pub(crate) fn at_commit(ws: &Workspace, repo: &'r Repo, commit: &str) -> Result<Self> {
        let commit = repo.commit(commit)?;
        let mut tree = commit.tree()?;
        if !repo.prefix().as_os_str().is_empty() {
            tree = tree
                .get_path(repo.prefix())?
                .to_object(repo.git())?
                .peel_to_tree()?;
        }
        let tracked = repo.tracked_at(&commit)?;
        let lock = match tree.get_path(Path::new(LOCK_FILE)) {
            Ok(entry) => {
                let blob = entry.to_object(repo.git())?.peel_to_blob()?;
                Some(LockFile::parse(&String::from_utf8_lossy(blob.content()))?)
            }
            Err(_) => None,
        };
        Ok(Self {
            tree: Some((repo, tree)),
            tracked,
            lock,
            store: ws.store(),
            root: canonical(ws.root()),
            trees: RefCell::default(),
        })
    }

    /// The files of the workspace.
    pub(crate) fn workspace(ws: &Workspace) -> Result<Self> {
        let tracked = mlops_pipeline::tracked::all(ws)?
            .into_iter()
            .map(|t| (t.rel, t.pointer))
            .collect();
        let lock = ws
            .root()
            .join(LOCK_FILE)
            .is_file()
            .then(|| LockFile::load(ws.root()))
            .transpose()?;
        Ok(Self {
            tree: None,
            tracked,
            lock,
            store: ws.store(),
            root: canonical(ws.root()),
            trees: RefCell::default(),
        })
    }

    /// Whether this is a commit's side.
    pub(crate) fn is_commit(&self) -> bool {
        self.tree.is_some()
    }

    /// The pipeline lock of this side, if it has one.
    pub(crate) fn lock(&self) -> Option<&LockFile> {
        self.lock.as_ref()
    }

    /// The tracked path at `rel` exactly, or the file `rel` inside a tracked directory;
    /// `None` when neither is tracked or the cache lacks the directory's manifests.
    pub(crate) fn entry(&self, rel: &Path) -> Option<Entry> {
        self.lookup(rel).ok().flatten()
    }

    /// [`Snapshot::entry`], with `Err` when `rel` is inside a tracked directory whose
    /// manifests the cache lacks (so whether it holds `rel` is unknown).
    fn lookup(&self, rel: &Path) -> Result<Option<Entry>, String> {
        if let Some(pointer) = self.tracked.get(rel) {
            return Ok(Some(pointer.into()));
        }
        let Some((dir, pointer)) = self
            .tracked
            .iter()
            .find(|(p, ptr)| ptr.kind == EntryKind::Dir && rel.starts_with(p))
        else {
            return Ok(None);
        };
        let tree = self.tree(dir, &pointer.digest).ok_or_else(|| {
            format!(
                "the manifest of `{}` is not in the cache (`mlops fetch --all-commits` gets it)",
                dir.display()
            )
        })?;
        Ok(tree.iter().find(|f| f.rel == rel).map(|file| Entry {
            digest: file.digest,
            kind: EntryKind::File,
            size: file.size,
            files: None,
        }))
    }

    /// The files of the tracked directory `rel` with `digest`, as (path, digest, size); `None`
    /// when the cache lacks its manifests.
    pub(crate) fn files_of(&self, rel: &Path, digest: &Digest) -> Option<Vec<(PathBuf, Digest)>> {
        let tree = self.tree(rel, digest)?;
        Some(tree.iter().map(|f| (f.rel.clone(), f.digest)).collect())
    }

    /// The files of the tracked directory `rel` with `digest`, read from the cache once per
    /// card (a card asks for the files of one directory many times).
    fn tree(&self, rel: &Path, digest: &Digest) -> Option<Files> {
        let key = (rel.to_owned(), *digest);
        if let Some(known) = self.trees.borrow().get(&key) {
            return known.clone();
        }
        let tree = mlops_core::tree::read_tree(&self.store, digest, rel)
            .ok()
            .map(|t| Rc::new(t.files));
        self.trees.borrow_mut().insert(key, tree.clone());
        tree
    }

    /// A local file holding the bytes of the tracked file `rel` with `digest`: its cache object,
    /// else the workspace's copy when this is the workspace; `Err` says why there is none.
    pub(crate) fn local(&self, rel: &Path, digest: &Digest) -> Result<(PathBuf, ReadFrom), String> {
        if self.store.contains(digest) {
            return Ok((self.store.object_path(digest), ReadFrom::Cache));
        }
        if !self.is_commit()
            && let Some(copy) = self.workspace_path(rel)
            && copy.is_file()
        {
            return Ok((copy, ReadFrom::Workspace));
        }
        Err("not in the cache (`mlops fetch --all-commits` gets it)".to_owned())
    }

    /// The bytes of `rel`: a committed file, a tracked file by its digest, or the workspace's
    /// copy (see the module's comment). `Ok(None)` when this side has no such file; `Err` says
    /// why a file this side records cannot be read.
    pub(crate) fn read(&self, rel: &Path) -> Result<Option<(Vec<u8>, ReadFrom)>, String> {
        if let Some((repo, tree)) = &self.tree
            && let Ok(entry) = tree.get_path(rel)
            && let Ok(blob) = entry.to_object(repo.git()).and_then(|o| o.peel_to_blob())
        {
            return Ok(Some((blob.content().to_vec(), ReadFrom::Git)));
        }
        let entry = match self.lookup(rel) {
            Ok(Some(entry)) => entry,
            // Not tracked on this side: a commit has no such file; the workspace may.
            Ok(None) if self.is_commit() => return Ok(None),
            Err(why) if self.is_commit() => return Err(why),
            Ok(None) | Err(_) => return self.read_workspace(rel),
        };
        if entry.kind != EntryKind::File {
            return Ok(None);
        }
        if entry.size > MAX_READ {
            return Err(format!("it is larger than {} MiB", MAX_READ >> 20));
        }
        if self.store.contains(&entry.digest) {
            let bytes = self.store.read(&entry.digest).map_err(|e| e.to_string())?;
            return Ok(Some((bytes, ReadFrom::Cache)));
        }
        // The workspace's copy stands in only if it is this very version.
        let same = self
            .workspace_path(rel)
            .is_some_and(|copy| Digest::of_file(&copy).is_ok_and(|(d, _)| d == entry.digest));
        if same || !self.is_commit() {
            return self.read_workspace(rel);
        }
        Err("not in the cache (`mlops fetch --all-commits` gets it)".to_owned())
    }

    fn read_workspace(&self, rel: &Path) -> Result<Option<(Vec<u8>, ReadFrom)>, String> {
        let Some(path) = self.workspace_path(rel) else {
            return Ok(None);
        };
        match fs_err::metadata(&path) {
            Ok(meta) if meta.is_file() && meta.len() > MAX_READ => {
                Err(format!("it is larger than {} MiB", MAX_READ >> 20))
            }
            Ok(meta) if meta.is_file() => fs_err::read(&path)
                .map(|bytes| Some((bytes, ReadFrom::Workspace)))
                .map_err(|e| e.to_string()),
            _ => Ok(None),
        }
    }

    /// Whether the workspace has a file at `rel` (for saying that a file exists there but not
    /// at the commit).
    pub(crate) fn in_workspace(&self, rel: &Path) -> bool {
        self.workspace_path(rel).is_some_and(|p| p.is_file())
    }

    /// `rel` in the workspace, if reading it stays inside: paths come from files anyone can
    /// commit (`mlops.lock`, a registry tag), so each passes the workspace's path check, and a
    /// symbolic link is followed only into the workspace or the cache (where linked outputs
    /// point).
    fn workspace_path(&self, rel: &Path) -> Option<PathBuf> {
        let checked = mlops_core::safepath::check(&self.root, rel).ok()?;
        let path = self.root.join(checked);
        if fs_err::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            let target = path.canonicalize().ok()?;
            let cache = self.store.root().canonicalize().ok()?;
            if !target.starts_with(&self.root) && !target.starts_with(cache) {
                return None;
            }
        }
        Some(path)
    }
}
