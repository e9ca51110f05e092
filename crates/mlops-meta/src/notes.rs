//! Commit metadata in git notes (`refs/notes/mlops`), and `mlops log` over them.
//!
//! After each commit the post-commit hook records one JSON line on the commit: the digest and
//! size of every tracked path, a digest of each pipeline stage's lock entry, the params the
//! stages ran with and the metrics files' values. A note is a list of such lines: fetching notes
//! from a remote appends the lines the other side has, so divergent notes merge and both are
//! kept; the last line is the current one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::Oid;
use mlops_core::Workspace;
use mlops_pipeline::lockfile::LockFile;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::history::Repo;

/// The notes ref mlops writes.
pub const NOTES_REF: &str = "refs/notes/mlops";
/// The note format this version writes; newer ones are refused, not misread.
pub(crate) const NOTE_FORMAT: u32 = 1;

/// A tracked path's content at a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataEntry {
    pub digest: String,
    pub size: u64,
}

/// What a commit's note records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitNote {
    pub format: u32,
    pub mlops_version: String,
    pub data: BTreeMap<PathBuf, DataEntry>,
    /// Stage name -> blake3 of its lock entry.
    pub stages: BTreeMap<String, String>,
    /// `file:key` -> value, as the stages last ran.
    pub params: BTreeMap<String, serde_json::Value>,
    /// `file:key` -> value.
    pub metrics: BTreeMap<String, serde_json::Value>,
}

/// Builds the note of the workspace as it is (right after a commit: the commit's).
pub fn snapshot(ws: &Workspace, mlops_version: &str) -> Result<CommitNote> {
    let data = mlops_pipeline::tracked::all(ws)?
        .into_iter()
        .map(|t| {
            (
                t.rel,
                DataEntry {
                    digest: t.pointer.digest.to_string(),
                    size: t.pointer.size,
                },
            )
        })
        .collect();
    let lock = LockFile::load(ws.root())?;
    let mut stages = BTreeMap::new();
    let mut params = BTreeMap::new();
    for (name, stage) in &lock.stages {
        let canonical = serde_json::to_vec(stage).expect("a lock entry serialises");
        stages.insert(name.clone(), blake3::hash(&canonical).to_hex().to_string());
        for (file, values) in &stage.params {
            for (key, value) in values {
                params.insert(
                    format!("{file}:{key}"),
                    serde_json::to_value(value).unwrap_or_default(),
                );
            }
        }
    }
    let mut metrics = BTreeMap::new();
    if ws.root().join(mlops_pipeline::spec::PIPELINE_FILE).exists() {
        let pipeline = mlops_pipeline::spec::Pipeline::load(ws.root())?;
        for file in mlops_pipeline::metrics::show(ws.root(), &pipeline)?.files {
            for (key, value) in file.values {
                metrics.insert(format!("{}:{key}", file.path.display()), value);
            }
        }
    }
    Ok(CommitNote {
        format: NOTE_FORMAT,
        mlops_version: mlops_version.to_owned(),
        data,
        stages,
        params,
        metrics,
    })
}

/// Records `note` on `commit`, as the note's newest line.
pub fn record(repo: &Repo, commit: Oid, note: &CommitNote) -> Result<()> {
    let git = repo.git();
    let mut text = git
        .find_note(Some(NOTES_REF), commit)
        .ok()
        .and_then(|n| n.message().map(str::to_owned))
        .unwrap_or_default();
    let line = serde_json::to_string(note).expect("a note serialises");
    if text.lines().last() == Some(line.as_str()) {
        return Ok(());
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&line);
    text.push('\n');
    let signature = crate::history::signature(repo.git())?;
    git.note(&signature, &signature, Some(NOTES_REF), commit, &text, true)?;
    Ok(())
}

/// The current note of `commit`, if it has one.
pub fn read(repo: &Repo, commit: Oid) -> Result<Option<CommitNote>> {
    let Ok(note) = repo.git().find_note(Some(NOTES_REF), commit) else {
        return Ok(None);
    };
    let Some(line) = note
        .message()
        .and_then(|m| m.lines().rev().find(|l| !l.trim().is_empty()))
    else {
        return Ok(None);
    };
    let format = serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v.get("format")?.as_u64());
    match format {
        Some(f) if f > u64::from(NOTE_FORMAT) => Err(Error::NoteFormat {
            commit: commit.to_string(),
            format: f,
        }),
        _ => Ok(serde_json::from_str(line).ok()),
    }
}

/// One commit of `mlops log`.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub commit: String,
    pub time: i64,
    pub author: String,
    pub summary: String,
    /// For the path asked about: `added`, `modified`, `removed` or `unchanged` since the commit
    /// before; absent without a path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The metrics the commit's note recorded.
    pub metrics: BTreeMap<String, serde_json::Value>,
    /// Whether the commit has an mlops note.
    pub noted: bool,
}

/// The last `limit` commits from HEAD (first parents), with what changed for `path` (a tracked
/// path) and the metrics at each; commits that did not touch `path` are left out.
pub fn log(repo: &Repo, path: Option<&Path>, limit: usize) -> Result<Vec<LogEntry>> {
    let git = repo.git();
    let mut walk = git.revwalk()?;
    walk.push_head()?;
    walk.simplify_first_parent()?;
    let mut entries = Vec::new();
    // The parent's digest, computed for one commit, is the next commit's own (first parents).
    let mut parent_digest: Option<(Oid, Option<String>)> = None;
    let digest_of = |c: &git2::Commit<'_>, path: &Path| -> Result<Option<String>> {
        Ok(repo.tracked_at(c)?.get(path).map(|p| p.digest.to_string()))
    };
    for id in walk {
        if entries.len() >= limit {
            break;
        }
        let commit = git.find_commit(id?)?;
        let (change, digest) = if let Some(path) = path {
            let now = match parent_digest.take() {
                Some((known, digest)) if known == commit.id() => digest,
                _ => digest_of(&commit, path)?,
            };
            let before = match commit.parent(0) {
                Ok(parent) => {
                    let digest = digest_of(&parent, path)?;
                    parent_digest = Some((parent.id(), digest.clone()));
                    digest
                }
                Err(_) => None,
            };
            let change = match (&before, &now) {
                (None, Some(_)) => "added",
                (Some(_), None) => "removed",
                (Some(a), Some(b)) if a != b => "modified",
                // Untouched (or never tracked) here: not this path's history.
                _ => continue,
            };
            (Some(change), now)
        } else {
            (None, None)
        };
        let note = read(repo, commit.id())?;
        let author = commit.author();
        entries.push(LogEntry {
            commit: commit.id().to_string(),
            time: commit.time().seconds(),
            author: author.name().unwrap_or_default().to_owned(),
            summary: commit.summary().unwrap_or_default().to_owned(),
            change,
            digest,
            metrics: note.as_ref().map(|n| n.metrics.clone()).unwrap_or_default(),
            noted: note.is_some(),
        });
    }
    Ok(entries)
}

/// Pushes `refs/notes/mlops` to the git remote `remote`.
pub fn push(repo: &Repo, remote: &str) -> Result<()> {
    crate::net::push(&git_dir(repo), remote, &format!("{NOTES_REF}:{NOTES_REF}"))
}

/// Where `git` runs: the work tree, or the git directory of a bare repository.
fn git_dir(repo: &Repo) -> PathBuf {
    let git = repo.git();
    git.workdir().unwrap_or_else(|| git.path()).to_path_buf()
}

/// Fetches the remote's notes and merges them into ours: notes only the remote has are added,
/// and lines only the remote's note of a commit has are appended to ours. The result descends
/// from both sides, so a later push fast-forwards. Returns how many commits' notes changed.
pub fn fetch(repo: &Repo, remote_name: &str) -> Result<usize> {
    let git = repo.git();
    let fetched = fetched_ref(remote_name);
    if !crate::net::fetch(&git_dir(repo), remote_name, NOTES_REF, &fetched)? {
        return Ok(0);
    }
    let Ok(theirs) = git
        .find_reference(&fetched)
        .and_then(|r| r.peel_to_commit())
    else {
        return Ok(0);
    };
    let Ok(ours) = git
        .find_reference(NOTES_REF)
        .and_then(|r| r.peel_to_commit())
    else {
        // No notes of ours yet: theirs become ours as they are.
        git.reference(NOTES_REF, theirs.id(), true, "mlops notes fetch")?;
        return Ok(git.notes(Some(NOTES_REF))?.count());
    };
    if contains(git, &ours, &theirs) {
        return Ok(0);
    }
    let signature = crate::history::signature(repo.git())?;
    let changed = merge_notes(git, &fetched, &signature)?;
    // Record the merge: a notes commit with our history and theirs as parents.
    let tip = git.find_reference(NOTES_REF)?.peel_to_commit()?;
    if !contains(git, &tip, &theirs) {
        let tree = tip.tree()?;
        let message = format!("Merge notes from {remote_name}");
        git.commit(
            Some(NOTES_REF),
            &signature,
            &signature,
            &message,
            &tree,
            &[&tip, &theirs],
        )?;
    }
    Ok(changed)
}

/// Where a remote's notes are fetched to. The remote may be a URL: keep only characters a ref
/// name always allows.
fn fetched_ref(remote_name: &str) -> String {
    let safe: String = remote_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("refs/notes/mlops-fetched/{safe}")
}

/// Whether `commit`'s history already holds `other` (it is `other` or descends from it).
fn contains(git: &git2::Repository, commit: &git2::Commit<'_>, other: &git2::Commit<'_>) -> bool {
    commit.id() == other.id()
        || git
            .graph_descendant_of(commit.id(), other.id())
            .unwrap_or(false)
}

/// Appends to our note of each commit the lines only the note under `fetched` has; returns how
/// many commits' notes changed.
fn merge_notes(
    git: &git2::Repository,
    fetched: &str,
    signature: &git2::Signature<'_>,
) -> Result<usize> {
    let mut changed = 0;
    for item in git.notes(Some(fetched))? {
        let (_, annotated) = item?;
        let their_text = git
            .find_note(Some(fetched), annotated)?
            .message()
            .unwrap_or_default()
            .to_owned();
        let our_text = git
            .find_note(Some(NOTES_REF), annotated)
            .ok()
            .and_then(|n| n.message().map(str::to_owned))
            .unwrap_or_default();
        let merged = merge_lines(&our_text, &their_text);
        if merged != our_text {
            git.note(
                signature,
                signature,
                Some(NOTES_REF),
                annotated,
                &merged,
                true,
            )?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Our note with each non-blank line of theirs that ours lacks appended, in their order.
fn merge_lines(ours: &str, theirs: &str) -> String {
    let mut merged = ours.to_owned();
    for line in theirs.lines().filter(|l| !l.trim().is_empty()) {
        if !ours.lines().any(|l| l == line) {
            if !merged.is_empty() && !merged.ends_with('\n') {
                merged.push('\n');
            }
            merged.push_str(line);
            merged.push('\n');
        }
    }
    merged
}
