//! The tracked paths at a git revision, read from git's objects (libgit2): the pointer files in
//! the revision's tree and the outputs its `mlops.lock` records; over many revisions, what `gc`
//! keeps and the older versions `push`/`fetch`/`pull --all-*` transfer.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};
use mlops_core::Workspace;
use mlops_core::digest::Digest;
use mlops_core::ops::Tracked;
use mlops_core::pointer::{POINTER_SUFFIX, Pointer};
use mlops_core::workspace::MLOPS_DIR;
use mlops_pipeline::lockfile::{LOCK_FILE, LockFile};

use crate::error::{Error, Result};

/// The signature of the commits, notes and refs mlops writes: the user's, else a fixed one
/// (a CI job or a test with no git identity still works).
pub fn signature(git: &Repository) -> Result<git2::Signature<'static>> {
    Ok(git
        .signature()
        .or_else(|_| git2::Signature::now("mlops", "mlops@localhost"))?)
}

/// Which commits' data to consider, beside the workspace's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commits {
    /// Every commit reachable from a branch, a tag or HEAD.
    All,
    /// The tip of every branch, and HEAD.
    Branches,
    /// Every commit a tag points at.
    Tags,
    /// Every experiment and queued experiment (`mlops exp`): the commits its refs point at.
    Experiments,
}

/// The ref globs of experiments and queued experiments (see `mlops-exp`).
pub const EXPERIMENT_REF_GLOBS: [&str; 2] = ["refs/mlops/exps/*", "refs/mlops/queue/*"];

/// A workspace's git repository.
pub struct Repo {
    git: Repository,
    /// The workspace root inside the work tree (empty when they are the same).
    prefix: PathBuf,
    /// The work tree root (canonical).
    workdir: PathBuf,
    /// The workspace root, for checking paths read from commits.
    root: PathBuf,
}

impl Repo {
    /// The repository holding `ws`.
    pub fn open(ws: &Workspace) -> Result<Self> {
        let git = Repository::discover(ws.root()).map_err(|_| Error::NotInGit {
            dir: ws.root().to_owned(),
        })?;
        let workdir = git
            .workdir()
            .ok_or_else(|| Error::NotInGit {
                dir: ws.root().to_owned(),
            })?
            .canonicalize()?;
        let root = ws.root().canonicalize()?;
        let prefix = root
            .strip_prefix(&workdir)
            .unwrap_or(Path::new(""))
            .to_owned();
        Ok(Repo {
            git,
            prefix,
            workdir,
            root,
        })
    }

    /// The workspace root (canonical), which paths read from git are checked against.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The workspace root inside the work tree (empty when they are the same).
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// The work tree root (canonical).
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// The libgit2 repository.
    pub fn git(&self) -> &Repository {
        &self.git
    }

    /// The commit `rev` names (a hash, branch, tag, `HEAD~2`...).
    pub fn commit(&self, rev: &str) -> Result<git2::Commit<'_>> {
        self.git
            .revparse_single(rev)
            .and_then(|object| object.peel_to_commit())
            .map_err(|_| Error::UnknownRevision {
                rev: rev.to_owned(),
            })
    }

    /// The tracked paths at `commit`, by workspace-relative path.
    pub fn tracked_at(&self, commit: &git2::Commit<'_>) -> Result<BTreeMap<PathBuf, Pointer>> {
        let mut tree = commit.tree()?;
        if !self.prefix.as_os_str().is_empty() {
            match tree.get_path(&self.prefix) {
                Ok(entry) => tree = entry.to_object(&self.git)?.peel_to_tree()?,
                Err(_) => return Ok(BTreeMap::new()),
            }
        }
        let mut blobs: Vec<(PathBuf, Oid)> = Vec::new();
        tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
            if dir.is_empty() && entry.name() == Some(MLOPS_DIR) {
                return TreeWalkResult::Skip;
            }
            if entry.kind() == Some(ObjectType::Blob)
                && let Some(name) = entry.name()
                && (name.ends_with(POINTER_SUFFIX) || (dir.is_empty() && name == LOCK_FILE))
            {
                blobs.push((PathBuf::from(format!("{dir}{name}")), entry.id()));
            }
            TreeWalkResult::Ok
        })?;
        let mut tracked = BTreeMap::new();
        for (path, id) in blobs {
            let blob = self.git.find_blob(id)?;
            let text = String::from_utf8_lossy(blob.content());
            if path == Path::new(LOCK_FILE) {
                tracked.extend(LockFile::parse(&text)?.outputs());
            } else {
                let name = path.to_string_lossy();
                let target = PathBuf::from(&name[..name.len() - POINTER_SUFFIX.len()]);
                tracked.insert(target, Pointer::parse(&path, &text)?);
            }
        }
        Ok(tracked)
    }

    /// The commits `which` names, each once.
    pub fn commits(&self, which: Commits) -> Result<Vec<Oid>> {
        let mut commits = BTreeSet::new();
        if which != Commits::Experiments
            && let Ok(head) = self.git.head().and_then(|h| h.peel_to_commit())
        {
            commits.insert(head.id());
        }
        match which {
            Commits::All => {
                let mut walk = self.git.revwalk()?;
                walk.push_glob("refs/*")?;
                if let Ok(head) = self.git.head()
                    && let Some(id) = head.target()
                {
                    walk.push(id)?;
                }
                for id in walk {
                    commits.insert(id?);
                }
            }
            Commits::Branches => {
                for branch in self.git.branches(Some(git2::BranchType::Local))? {
                    if let Ok(commit) = branch?.0.get().peel_to_commit() {
                        commits.insert(commit.id());
                    }
                }
            }
            Commits::Experiments => {
                for glob in EXPERIMENT_REF_GLOBS {
                    for reference in self.git.references_glob(glob)? {
                        if let Ok(commit) = reference?.peel_to_commit() {
                            commits.insert(commit.id());
                        }
                    }
                }
            }
            Commits::Tags => {
                for name in self.git.tag_names(None)?.iter().flatten() {
                    let reference = self.git.find_reference(&format!("refs/tags/{name}"))?;
                    if let Ok(commit) = reference.peel_to_commit() {
                        commits.insert(commit.id());
                    }
                }
            }
        }
        Ok(commits.into_iter().collect())
    }

    /// A tracked path read from a commit, if it passes the workspace's path check. Paths that do
    /// not are skipped: mlops never writes there, so their objects hold nothing of the user's.
    pub fn checked(&self, rel: &Path, pointer: Pointer) -> Option<Tracked> {
        match Tracked::new(&self.root, rel, pointer) {
            Ok(tracked) => Some(tracked),
            Err(e) => {
                tracing::warn!("skipping a path recorded in git history: {e}");
                None
            }
        }
    }

    /// Every tracked path of every commit `which` names (duplicates removed), for `gc`.
    pub fn tracked_in(&self, which: Commits) -> Result<Vec<Tracked>> {
        Ok(self
            .tracked_by_commit(which)?
            .into_iter()
            .map(|(tracked, _)| tracked)
            .collect())
    }

    /// Every tracked path of every commit `which` names, each with one commit whose pointer (or
    /// `mlops.lock`) records it (duplicates removed), for [`Repo::older_versions`].
    fn tracked_by_commit(&self, which: Commits) -> Result<Vec<(Tracked, Oid)>> {
        let mut seen = BTreeSet::new();
        let mut tracked = Vec::new();
        for id in self.commits(which)? {
            let commit = self.git.find_commit(id)?;
            for (rel, pointer) in self.tracked_at(&commit)? {
                if seen.insert((rel.clone(), pointer.digest)) {
                    tracked.extend(self.checked(&rel, pointer).map(|t| (t, id)));
                }
            }
        }
        Ok(tracked)
    }

    /// The versions of tracked paths that the commits of each of `which` record and `workspace`
    /// (the workspace's own tracked paths) lacks, within `targets` (workspace-relative; none:
    /// all), each with a commit that records it: what `push`/`fetch`/`pull --all-*` transfer.
    pub fn older_versions(
        &self,
        which: &[Commits],
        targets: &[PathBuf],
        workspace: &[Tracked],
    ) -> Result<OlderVersions> {
        let mut versions = OlderVersions::default();
        for &which in which {
            for (item, commit) in self.tracked_by_commit(which)? {
                let key = (item.rel.clone(), item.pointer.digest);
                let wanted = targets.is_empty() || targets.iter().any(|t| item.rel.starts_with(t));
                let known = versions.commits.contains_key(&key)
                    || workspace
                        .iter()
                        .any(|w| w.rel == item.rel && w.pointer.digest == item.pointer.digest);
                if wanted && !known {
                    let id = commit.to_string();
                    versions.commits.insert(key, id[..7].to_owned());
                    versions.tracked.push(item);
                }
            }
        }
        Ok(versions)
    }
}

/// Versions of tracked paths read from git history, beside the workspace's
/// ([`Repo::older_versions`]).
#[derive(Debug, Default)]
pub struct OlderVersions {
    /// The versions, each once.
    pub tracked: Vec<Tracked>,
    /// A commit recording each (path, pointer digest), by short id.
    commits: HashMap<(PathBuf, Digest), String>,
}

impl OlderVersions {
    /// `err` naming the commit whose pointer needs the missing object, when it came from one of
    /// these versions.
    pub fn name_commit(&self, err: mlops_core::Error) -> mlops_core::Error {
        match err {
            mlops_core::Error::NeededBy {
                path,
                pointer,
                commit: None,
                missing,
            } => mlops_core::Error::NeededBy {
                commit: self.commits.get(&(path.clone(), pointer)).cloned(),
                path,
                pointer,
                missing,
            },
            other => other,
        }
    }

    /// The workspace's tracked paths followed by these.
    pub fn with(&self, workspace: &[Tracked]) -> Vec<Tracked> {
        workspace.iter().chain(&self.tracked).cloned().collect()
    }
}
