//! What is done with finished experiments: `exp apply` (into the workspace), `exp branch`,
//! `exp remove`, `exp diff`, and `exp push`/`exp pull` (the refs through git, their data
//! through the data remote).

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use git2::{ObjectType, Oid, Repository};
use mlops_core::Workspace;
use mlops_core::ops::Tracked;
use mlops_core::ops::checkout::CheckoutOptions;
use mlops_core::ops::transfer::TransferOptions;
use mlops_core::progress::Progress;
use mlops_meta::history::Repo;
use mlops_pipeline::metrics::DiffReport;
use mlops_pipeline::spec::Pipeline;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::refs::{self, EXPS_PREFIX, Found, QUEUE_PREFIX};

fn head_id(repo: &Repository) -> Option<Oid> {
    repo.head().ok().and_then(|h| h.target())
}

/// What `exp apply` did.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    pub name: String,
    /// Files written from the experiment's commit.
    pub written: Vec<PathBuf>,
    /// Files the experiment removed.
    pub removed: Vec<PathBuf>,
    /// Tracked outputs checked out.
    pub restored: u64,
}

/// Brings experiment `name`'s files (params, lock, metrics, code it changed) into the
/// workspace, then checks out its outputs from the cache. HEAD, the branch and the git index
/// stay as they are: the changes are left for the user to commit. A file the user changed that
/// the experiment also changes is refused without `force`.
///
/// # Errors
/// [`Error::WouldOverwrite`] naming the file; an unknown experiment; data missing from the cache
/// and the remote.
pub fn apply(
    ws: &Workspace,
    name: &str,
    force: bool,
    progress: &dyn Progress,
) -> Result<ApplyReport> {
    let opened = Repo::open(ws)?;
    let (repo, prefix) = (opened.git(), opened.prefix());
    let found = refs::resolve(repo, name, head_id(repo))?;
    let exp = repo.find_commit(found.commit)?;
    let head_tree = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
    let exp_tree = exp.tree()?;
    let diff = repo.diff_tree_to_tree(head_tree.as_ref(), Some(&exp_tree), None)?;
    let mut changes: Vec<(PathBuf, Option<Oid>, Option<Oid>)> = Vec::new();
    for delta in diff.deltas() {
        let Some(path) = delta.new_file().path().or(delta.old_file().path()) else {
            continue;
        };
        let Ok(rel) = path.strip_prefix(prefix) else {
            continue;
        };
        if !plain(rel) {
            continue;
        }
        let new = delta.new_file();
        let old = delta.old_file();
        let blob = |f: &git2::DiffFile<'_>| {
            (f.exists()
                && matches!(
                    f.mode(),
                    git2::FileMode::Blob | git2::FileMode::BlobExecutable
                ))
            .then(|| f.id())
        };
        if new.exists() && blob(&new).is_none() {
            // A link or a submodule: nothing mlops writes.
            continue;
        }
        changes.push((rel.to_owned(), blob(&old), blob(&new)));
    }
    let lock = ws.lock()?;
    // Check every file before writing any.
    for (rel, old, new) in &changes {
        let abs = mlops_core::safepath::check(ws.root(), rel)?;
        let current = match fs_err::read(&abs) {
            Ok(bytes) => Some(Oid::hash_object(ObjectType::Blob, &bytes)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        if !force && current != *old && current != *new {
            return Err(Error::WouldOverwrite {
                path: rel.display().to_string(),
            });
        }
    }
    let mut report = ApplyReport {
        name: found.name().to_owned(),
        written: Vec::new(),
        removed: Vec::new(),
        restored: 0,
    };
    for (rel, _, new) in changes {
        let abs = mlops_core::safepath::check(ws.root(), &rel)?;
        match new {
            Some(oid) => {
                let blob = repo.find_blob(oid)?;
                if let Some(parent) = abs.parent() {
                    fs_err::create_dir_all(parent)?;
                }
                mlops_core::atomic::write_in(
                    &mlops_core::workspace::temp_dir_in(&ws.mlops_dir()),
                    &abs,
                    blob.content(),
                )?;
                report.written.push(rel);
            }
            None => {
                if abs.exists() {
                    fs_err::remove_file(&abs)?;
                    report.removed.push(rel);
                }
            }
        }
    }
    drop(lock);
    let tracked = mlops_pipeline::tracked::all(ws)?;
    mlops_core::ops::transfer::fetch_missing(ws, &tracked, &TransferOptions::default(), progress)?;
    let checkout = mlops_core::ops::checkout::checkout(
        ws,
        &tracked,
        &CheckoutOptions {
            force,
            link: ws.config().link,
        },
        progress,
    )?;
    report.restored = checkout.restored;
    Ok(report)
}

/// A workspace-relative path mlops may write for an experiment: not in `.mlops/` or `.git`.
fn plain(rel: &Path) -> bool {
    rel.components().all(|c| matches!(c, Component::Normal(_)))
        && !rel.starts_with(".mlops")
        && !rel.components().any(|c| c.as_os_str() == ".git")
}

/// `exp branch NAME BRANCH`: a branch at the experiment's commit.
pub fn branch(ws: &Workspace, name: &str, branch: &str) -> Result<Found> {
    let opened = Repo::open(ws)?;
    let repo = opened.git();
    let found = refs::resolve(repo, name, head_id(repo))?;
    if repo.find_branch(branch, git2::BranchType::Local).is_ok() {
        return Err(Error::BranchExists {
            branch: branch.to_owned(),
        });
    }
    repo.branch(branch, &repo.find_commit(found.commit)?, false)?;
    Ok(found)
}

/// Which experiments `exp remove` and `exp push` take.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub names: Vec<String>,
    /// Every experiment (of every baseline).
    pub all: bool,
    /// Every queued experiment.
    pub queue: bool,
}

fn select(repo: &Repository, selection: &Selection) -> Result<Vec<Found>> {
    let head = head_id(repo);
    let mut chosen: Vec<Found> = Vec::new();
    let all = refs::list(repo)?;
    if selection.all {
        chosen.extend(
            all.iter()
                .filter(|f| f.refname.starts_with(EXPS_PREFIX))
                .cloned(),
        );
    }
    if selection.queue {
        chosen.extend(
            all.iter()
                .filter(|f| f.refname.starts_with(QUEUE_PREFIX))
                .cloned(),
        );
    }
    for name in &selection.names {
        chosen.push(refs::resolve(repo, name, head)?);
    }
    let mut seen = BTreeSet::new();
    chosen.retain(|f| seen.insert(f.refname.clone()));
    Ok(chosen)
}

/// `exp remove`: deletes the experiments' refs (their data goes at the next `gc`). Returns their
/// names.
pub fn remove(ws: &Workspace, selection: &Selection) -> Result<Vec<String>> {
    let opened = Repo::open(ws)?;
    let repo = opened.git();
    let chosen = select(repo, selection)?;
    for found in &chosen {
        repo.find_reference(&found.refname)?.delete()?;
    }
    Ok(chosen.into_iter().map(|f| f.summary.name).collect())
}

/// `exp diff`: metrics and params of two revisions or experiments. With one, the experiment
/// against its baseline; with none, HEAD against the workspace.
pub fn diff(ws: &Workspace, a: Option<&str>, b: Option<&str>) -> Result<(DiffReport, DiffReport)> {
    let opened = Repo::open(ws)?;
    let repo = opened.git();
    let head = head_id(repo);
    let rev = |name: &str| -> Result<String> {
        match refs::resolve(repo, name, head) {
            Ok(found) => Ok(found.commit.to_string()),
            Err(Error::UnknownExperiment { .. }) if repo.revparse_single(name).is_ok() => {
                Ok(name.to_owned())
            }
            Err(e) => Err(e),
        }
    };
    let (old, new) = match (a, b) {
        (None, _) => (None, None),
        (Some(a), None) => {
            let found = refs::resolve(repo, a, head)?;
            (Some(found.summary.baseline), Some(found.commit.to_string()))
        }
        (Some(a), Some(b)) => (Some(rev(a)?), Some(rev(b)?)),
    };
    let pipeline = Pipeline::load(ws.root())?;
    // Each side named as the user knows it: an experiment's name, else a short commit.
    let experiments = refs::list(repo)?;
    let named = |mut report: DiffReport| {
        for side in [&mut report.old, &mut report.new] {
            if let Some(found) = experiments.iter().find(|f| f.commit.to_string() == *side) {
                side.clone_from(&found.summary.name);
            } else if side.len() == 40 && side.bytes().all(|b| b.is_ascii_hexdigit()) {
                side.truncate(7);
            }
        }
        report
    };
    let metrics = mlops_pipeline::metrics::diff_metrics(
        ws.root(),
        &pipeline,
        old.as_deref(),
        new.as_deref(),
    )?;
    let params = mlops_pipeline::metrics::diff_params(
        ws.root(),
        &pipeline,
        old.as_deref(),
        new.as_deref(),
        false,
    )?;
    Ok((named(metrics), named(params)))
}

/// What `exp push` or `exp pull` moved.
#[derive(Debug, Clone, Serialize)]
pub struct ShareReport {
    pub remote: String,
    /// The experiments' names.
    pub experiments: Vec<String>,
    /// Data objects copied to or from the data remote (none with `no_data`).
    pub objects: u64,
    pub bytes: u64,
}

/// Tracked paths at the experiments' commits, checked against the workspace.
fn tracked_of(ws: &Workspace, commits: &[Oid]) -> Result<Vec<Tracked>> {
    let repo = Repo::open(ws)?;
    let mut tracked: Vec<Tracked> = Vec::new();
    let mut seen = BTreeSet::new();
    for id in commits {
        let commit = repo.git().find_commit(*id)?;
        for (rel, pointer) in repo.tracked_at(&commit)? {
            if seen.insert((rel.clone(), pointer.digest))
                && let Some(t) = repo.checked(&rel, pointer)
            {
                tracked.push(t);
            }
        }
    }
    Ok(tracked)
}

/// `exp push REMOTE`: the experiments' refs to the git remote, then their data to the data
/// remote (`data_remote`, else the default one).
pub fn push(
    ws: &Workspace,
    remote: &str,
    selection: &Selection,
    force: bool,
    data: Option<&TransferOptions>,
    progress: &dyn Progress,
) -> Result<ShareReport> {
    let opened = Repo::open(ws)?;
    let repo = opened.git();
    let mut selection = selection.clone();
    if selection.names.is_empty() && !selection.all && !selection.queue {
        // Default: the experiments of HEAD.
        let head = head_id(repo).map(|h| h.to_string());
        selection.names = refs::list(repo)?
            .into_iter()
            .filter(|f| {
                f.refname.starts_with(EXPS_PREFIX) && Some(&f.summary.baseline) == head.as_ref()
            })
            .map(|f| f.refname)
            .collect();
    }
    let chosen = select(repo, &selection)?;
    let mut report = ShareReport {
        remote: remote.to_owned(),
        experiments: chosen.iter().map(|f| f.summary.name.clone()).collect(),
        objects: 0,
        bytes: 0,
    };
    if chosen.is_empty() {
        return Ok(report);
    }
    if let Some(options) = data {
        let tracked = tracked_of(ws, &chosen.iter().map(|f| f.commit).collect::<Vec<_>>())?;
        if !tracked.is_empty() {
            let moved = mlops_core::ops::transfer::push(ws, &tracked, options, progress)?;
            report.objects = moved.transferred;
            report.bytes = moved.bytes;
        }
    }
    // Refs after the data: a ref on the remote never names data it lacks.
    let specs: Vec<String> = chosen
        .iter()
        .map(|f| {
            format!(
                "{}{}:{}",
                if force { "+" } else { "" },
                f.refname,
                f.refname
            )
        })
        .collect();
    mlops_meta::net::push_refs(ws.root(), remote, &specs)?;
    Ok(report)
}

/// `exp pull REMOTE`: experiments' refs from the git remote (all, or those named), then their
/// data from the data remote into the cache (nothing is checked out: `exp apply` does that).
pub fn pull(
    ws: &Workspace,
    remote: &str,
    names: &[String],
    force: bool,
    data: Option<&TransferOptions>,
    progress: &dyn Progress,
) -> Result<ShareReport> {
    let found = mlops_meta::net::ls_remote(ws.root(), remote, "refs/mlops/exps/*")?;
    let chosen: Vec<(String, String)> = found
        .into_iter()
        .filter(|(_, refname)| {
            names.is_empty()
                || names
                    .iter()
                    .any(|n| refname == n || refname.rsplit('/').next() == Some(n.as_str()))
        })
        .collect();
    if let Some(missing) = names.iter().find(|n| {
        !chosen
            .iter()
            .any(|(_, r)| r == *n || r.rsplit('/').next() == Some(n.as_str()))
    }) {
        return Err(Error::UnknownExperiment {
            name: missing.clone(),
            known: Vec::new(),
        });
    }
    let mut report = ShareReport {
        remote: remote.to_owned(),
        experiments: chosen
            .iter()
            .map(|(_, r)| r.rsplit('/').next().unwrap_or(r).to_owned())
            .collect(),
        objects: 0,
        bytes: 0,
    };
    if chosen.is_empty() {
        return Ok(report);
    }
    let specs: Vec<String> = chosen
        .iter()
        .map(|(_, r)| format!("{}{r}:{r}", if force { "+" } else { "" }))
        .collect();
    mlops_meta::net::fetch_refs(ws.root(), remote, &specs)?;
    if let Some(options) = data {
        let commits: Vec<Oid> = chosen
            .iter()
            .filter_map(|(oid, _)| Oid::from_str(oid).ok())
            .collect();
        let tracked = tracked_of(ws, &commits)?;
        if !tracked.is_empty() {
            let moved = mlops_core::ops::transfer::fetch(ws, &tracked, options, progress)?;
            report.objects = moved.transferred;
            report.bytes = moved.bytes;
        }
    }
    Ok(report)
}
