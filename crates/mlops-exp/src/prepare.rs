//! From `-S` arguments to experiments ready to run: each override's params file found, every
//! combination's edits made on the text of those files and checked before anything is written,
//! and each variation's starting tree written to git's object store as a commit on the
//! baseline: the baseline's tree, the workspace's uncommitted changes to files git tracks, and
//! the edited params files. The user's files, index and HEAD are never touched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::{FileMode, Oid, Repository};
use mlops_core::Workspace;
use mlops_pipeline::spec::Pipeline;

use crate::error::{Error, Result};
use crate::overrides::{self, Assignment, Op, Override, Value};
use crate::params_edit;

/// One experiment to run: its overrides and the params files they change.
#[derive(Debug, Clone)]
pub struct Variation {
    /// `file:key` -> the value given (`null` for a deletion).
    pub overrides: BTreeMap<String, serde_json::Value>,
    /// Workspace-relative params file -> its edited text.
    pub files: BTreeMap<PathBuf, String>,
    /// Files whose comments could not be kept by the edit.
    pub rewritten: Vec<PathBuf>,
}

/// Parses the `-S` arguments, finds each one's params file, and expands them into variations
/// (all combinations, or `random` of them drawn with `seed`). Every edit is made here, in
/// memory: a bad override fails before anything is written.
///
/// # Errors
/// [`Error::BadOverride`], [`Error::UnknownParam`], [`Error::AmbiguousParam`],
/// [`Error::WrongType`] and the params file's errors, naming the argument, file and key.
pub fn variations(
    ws: &Workspace,
    pipeline: Option<&Pipeline>,
    args: &[String],
    random: Option<usize>,
    seed: u64,
) -> Result<Vec<Variation>> {
    let mut texts: BTreeMap<String, String> = BTreeMap::new();
    let mut parsed = Vec::with_capacity(args.len());
    for arg in args {
        let mut o = overrides::parse(arg)?;
        let explicit = arg.split('=').next().unwrap_or(arg).contains(':');
        if !explicit {
            o.file = params_file_of(ws, pipeline, &o, &mut texts)?;
        }
        check_type(ws, &o, &mut texts)?;
        parsed.push(o);
    }
    let mut grid = overrides::grid(&parsed)?;
    if let Some(n) = random {
        grid = overrides::sample(&grid, n, seed);
    }
    grid.iter()
        .map(|combination| variation(ws, combination, &mut texts))
        .collect()
}

/// The text of a params file in the workspace (empty when it does not exist yet, for `+key`).
fn text_of<'a>(
    ws: &Workspace,
    file: &str,
    texts: &'a mut BTreeMap<String, String>,
) -> Result<&'a str> {
    if !texts.contains_key(file) {
        let path = mlops_core::safepath::check(ws.root(), Path::new(file))?;
        let text = match fs_err::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e.into()),
        };
        texts.insert(file.to_owned(), text);
    }
    Ok(&texts[file])
}

fn parsed_doc(file: &str, text: &str) -> Result<mlops_core::yaml::Value> {
    if text.trim().is_empty() {
        return Ok(mlops_core::yaml::Value::Mapping(
            mlops_core::yaml::Mapping::new(),
        ));
    }
    mlops_core::yaml::from_str(text).map_err(|message| Error::ParamsFile {
        file: file.to_owned(),
        message,
    })
}

/// The params file of an override given without `FILE:`: `params.yaml` when it holds the key
/// (or the override adds a key), else the one params file the stages read that does.
fn params_file_of(
    ws: &Workspace,
    pipeline: Option<&Pipeline>,
    o: &Override,
    texts: &mut BTreeMap<String, String>,
) -> Result<String> {
    let key = o.key_text();
    let default = overrides::DEFAULT_FILE.to_owned();
    if matches!(o.op, Op::Add | Op::Upsert) || has_key(ws, &default, &key, texts)? {
        return Ok(default);
    }
    let mut files: Vec<String> = pipeline
        .map(|p| {
            p.stages
                .iter()
                .flat_map(|s| {
                    s.params
                        .iter()
                        .map(|r| r.file.to_string_lossy().into_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.dedup();
    let mut holding = Vec::new();
    for file in files {
        if file != default && has_key(ws, &file, &key, texts)? {
            holding.push(file);
        }
    }
    match holding.len() {
        1 => Ok(holding.remove(0)),
        0 => Ok(default),
        _ => Err(Error::AmbiguousParam {
            key,
            files: holding,
        }),
    }
}

fn has_key(
    ws: &Workspace,
    file: &str,
    key: &str,
    texts: &mut BTreeMap<String, String>,
) -> Result<bool> {
    let text = text_of(ws, file, texts)?.to_owned();
    Ok(mlops_pipeline::params::lookup(&parsed_doc(file, &text)?, key).is_some())
}

/// Refuses a value of another kind than the number or boolean a key holds: Hydra's typing
/// would quietly make `lr=0.0l` the string "0.0l", and the stage would fail or, worse, run.
fn check_type(ws: &Workspace, o: &Override, texts: &mut BTreeMap<String, String>) -> Result<()> {
    if o.op != Op::Set {
        return Ok(());
    }
    let text = text_of(ws, &o.file, texts)?.to_owned();
    let doc = parsed_doc(&o.file, &text)?;
    let Some(current) = mlops_pipeline::params::lookup(&doc, &o.key_text()) else {
        return Ok(());
    };
    let (wanted, fits): (&str, fn(&Value) -> bool) = match current {
        mlops_core::yaml::Value::Number(_) => ("a number", |v| {
            matches!(v, Value::Int(_) | Value::Float(_) | Value::Null)
        }),
        mlops_core::yaml::Value::Bool(_) => ("true or false", |v| {
            matches!(v, Value::Bool(_) | Value::Null)
        }),
        _ => return Ok(()),
    };
    if let Some(bad) = o.values.iter().find(|v| !fits(v)) {
        return Err(Error::WrongType {
            arg: o.text.clone(),
            reason: format!(
                "{bad} is not {wanted}, and `{}` is {} in `{}` (`++{}=...` sets any value)",
                o.key_text(),
                mlops_pipeline::params::scalar_text(current).unwrap_or_default(),
                o.file,
                o.key_text()
            ),
        });
    }
    Ok(())
}

fn variation(
    ws: &Workspace,
    combination: &[Assignment],
    texts: &mut BTreeMap<String, String>,
) -> Result<Variation> {
    let mut files: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut rewritten = Vec::new();
    let mut given = BTreeMap::new();
    for a in combination {
        let current = match files.get(Path::new(&a.file)) {
            Some(text) => text.clone(),
            None => text_of(ws, &a.file, texts)?.to_owned(),
        };
        let edited = params_edit::edit(&a.file, &current, a.op, &a.key, a.value.as_ref())?;
        if !edited.kept_layout && !rewritten.contains(&PathBuf::from(&a.file)) {
            rewritten.push(PathBuf::from(&a.file));
        }
        files.insert(PathBuf::from(&a.file), edited.text);
        given.insert(
            format!("{}:{}", a.file, a.key.join(".")),
            a.value.as_ref().map_or(serde_json::Value::Null, json_of),
        );
    }
    Ok(Variation {
        overrides: given,
        files,
        rewritten,
    })
}

/// An override's value as JSON, for summaries.
pub(crate) fn json_of(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::Float(x) => serde_json::Number::from_f64(*x)
            .map_or_else(|| x.to_string().into(), serde_json::Value::Number),
        Value::Text(t) => t.clone().into(),
        Value::List(items) => items.iter().map(json_of).collect(),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| (k.clone(), json_of(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

/// The workspace's uncommitted changes to files git tracks (staged or not), as tree updates
/// relative to the work tree root: a blob (written to git's objects) or a removal.
pub struct Snapshot {
    changes: Vec<(String, Option<(Oid, FileMode)>)>,
    /// The workspace root inside the work tree.
    prefix: PathBuf,
}

impl Snapshot {
    /// Reads the changes; writes their contents as blobs (the user's index stays as it is).
    pub fn take(repo: &Repository, prefix: &Path) -> Result<Self> {
        let workdir = repo.workdir().ok_or(Error::NoCommit)?.to_path_buf();
        let mut options = git2::StatusOptions::new();
        options
            .include_untracked(false)
            .include_ignored(false)
            .exclude_submodules(true);
        let mut changes = Vec::new();
        for entry in repo.statuses(Some(&mut options))?.iter() {
            let Some(path) = entry.path() else { continue };
            if entry.status().is_empty() || entry.status() == git2::Status::CURRENT {
                continue;
            }
            let abs = workdir.join(path);
            let change = match fs_err::symlink_metadata(&abs) {
                Ok(meta) if meta.is_file() => {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = if meta.permissions().mode() & 0o111 != 0 {
                        FileMode::BlobExecutable
                    } else {
                        FileMode::Blob
                    };
                    Some((repo.blob_path(&abs)?, mode))
                }
                Ok(meta) if meta.file_type().is_symlink() => {
                    let target = fs_err::read_link(&abs)?;
                    Some((
                        repo.blob(target.as_os_str().as_encoded_bytes())?,
                        FileMode::Link,
                    ))
                }
                _ => None,
            };
            changes.push((path.to_owned(), change));
        }
        Ok(Self {
            changes,
            prefix: prefix.to_owned(),
        })
    }

    /// The tree of `baseline` with the changes and the variation's edited files.
    pub fn tree(
        &self,
        repo: &Repository,
        baseline: &git2::Commit<'_>,
        files: &BTreeMap<PathBuf, String>,
    ) -> Result<Oid> {
        let mut update = git2::build::TreeUpdateBuilder::new();
        let edited: Vec<PathBuf> = files.keys().map(|rel| self.prefix.join(rel)).collect();
        // An edited file's text already starts from the workspace's copy.
        for (path, change) in self
            .changes
            .iter()
            .filter(|(p, _)| !edited.iter().any(|e| e == Path::new(p)))
        {
            match change {
                Some((oid, mode)) => update.upsert(path, *oid, *mode),
                None => update.remove(path),
            };
        }
        for (rel, text) in files {
            let oid = repo.blob(text.as_bytes())?;
            let path = self.prefix.join(rel);
            update.upsert(path, oid, FileMode::Blob);
        }
        Ok(update.create_updated(repo, &baseline.tree()?)?)
    }
}
