//! Metrics and params, now and at git revisions: `metrics show`, `metrics diff`, `params diff`.
//!
//! Metrics files are the `metrics` outputs of the stages (JSON or YAML); params files are those the
//! stages read. Values are flattened to dotted keys, so nested documents compare key by key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::params::{flatten, parse};
use crate::spec::Pipeline;

/// The values of one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileValues {
    pub path: PathBuf,
    pub values: BTreeMap<String, Value>,
}

/// `metrics show`: every metrics file in the workspace.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsReport {
    pub files: Vec<FileValues>,
}

/// One key that differs between two revisions.
#[derive(Debug, Clone, Serialize)]
pub struct DiffRow {
    pub path: PathBuf,
    pub key: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
    /// `new - old` when both are numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<f64>,
}

/// `metrics diff` / `params diff`: what changed from `old` to `new`.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub old: String,
    pub new: String,
    pub rows: Vec<DiffRow>,
}

/// Where to read files from: the workspace, or a git revision.
enum Source<'a> {
    Workspace,
    Revision {
        repo: &'a git2::Repository,
        tree: git2::Tree<'a>,
    },
}

impl Source<'_> {
    fn read(&self, root: &Path, rel: &Path) -> Result<Option<String>> {
        match self {
            Source::Workspace => match fs_err::read_to_string(root.join(rel)) {
                Ok(text) => Ok(Some(text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            },
            Source::Revision { repo, tree } => {
                let Ok(entry) = tree.get_path(rel) else {
                    return Ok(None);
                };
                let blob = entry.to_object(repo).and_then(|o| o.peel_to_blob());
                Ok(blob
                    .ok()
                    .map(|b| String::from_utf8_lossy(b.content()).into_owned()))
            }
        }
    }
}

/// The metrics files the pipeline declares, with their values in the workspace.
pub fn show(root: &Path, pipeline: &Pipeline) -> Result<MetricsReport> {
    let mut files = Vec::new();
    for path in metrics_files(pipeline) {
        if let Some(values) = values_at(root, &Source::Workspace, &path)? {
            files.push(FileValues { path, values });
        }
    }
    Ok(MetricsReport { files })
}

/// Metrics that differ between `old` and `new` (git revisions; `None` is the workspace, and `old`
/// defaults to `HEAD`).
pub fn diff_metrics(
    root: &Path,
    pipeline: &Pipeline,
    old: Option<&str>,
    new: Option<&str>,
) -> Result<DiffReport> {
    diff(root, &metrics_files(pipeline), old, new, false)
}

/// Params that differ between `old` and `new` (all params with `all`).
pub fn diff_params(
    root: &Path,
    pipeline: &Pipeline,
    old: Option<&str>,
    new: Option<&str>,
    all: bool,
) -> Result<DiffReport> {
    let mut files: Vec<PathBuf> = pipeline
        .stages
        .iter()
        .flat_map(|s| s.params.iter().map(|p| p.file.clone()))
        .collect();
    files.sort();
    files.dedup();
    diff(root, &files, old, new, all)
}

fn metrics_files(pipeline: &Pipeline) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = pipeline
        .stages
        .iter()
        .flat_map(|s| s.metrics.iter().cloned())
        .collect();
    files.sort();
    files.dedup();
    files
}

fn diff(
    root: &Path,
    files: &[PathBuf],
    old: Option<&str>,
    new: Option<&str>,
    all: bool,
) -> Result<DiffReport> {
    let repo = git2::Repository::discover(root).map_err(|source| Error::Git {
        repo: root.to_owned(),
        source,
    })?;
    let old_rev = old.unwrap_or("HEAD");
    let old_source = revision(&repo, old_rev)?;
    let new_source = match new {
        Some(rev) => revision(&repo, rev)?,
        None => Source::Workspace,
    };
    // Paths in the revisions are relative to the git root, which may sit above the workspace.
    let prefix = repo
        .workdir()
        .and_then(|w| root.strip_prefix(fs_err::canonicalize(w).ok()?).ok())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut rows = Vec::new();
    for file in files {
        let in_repo = prefix.join(file);
        let read = |source: &Source| -> Result<BTreeMap<String, Value>> {
            let path = if matches!(source, Source::Workspace) {
                file
            } else {
                &in_repo
            };
            Ok(values_at(root, source, path)?.unwrap_or_default())
        };
        let (before, after) = (read(&old_source)?, read(&new_source)?);
        let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
        for key in keys {
            let (o, n) = (before.get(key), after.get(key));
            if o != n || all {
                let change = match (o.and_then(Value::as_f64), n.and_then(Value::as_f64)) {
                    (Some(a), Some(b)) => Some(b - a),
                    _ => None,
                };
                rows.push(DiffRow {
                    path: file.clone(),
                    key: key.clone(),
                    old: o.cloned(),
                    new: n.cloned(),
                    change,
                });
            }
        }
    }
    Ok(DiffReport {
        old: old_rev.to_owned(),
        new: new.unwrap_or("workspace").to_owned(),
        rows,
    })
}

fn revision<'r>(repo: &'r git2::Repository, rev: &str) -> Result<Source<'r>> {
    let tree = repo
        .revparse_single(rev)
        .and_then(|o| o.peel_to_tree())
        .map_err(|_| Error::UnknownRevision {
            rev: rev.to_owned(),
        })?;
    Ok(Source::Revision { repo, tree })
}

fn values_at(root: &Path, source: &Source, rel: &Path) -> Result<Option<BTreeMap<String, Value>>> {
    let Some(text) = source.read(root, rel)? else {
        return Ok(None);
    };
    let doc = parse(rel, &text)?;
    Ok(Some(
        flatten(&doc)
            .into_iter()
            .map(|(k, v)| (k, serde_json::to_value(v).unwrap_or_default()))
            .collect(),
    ))
}
