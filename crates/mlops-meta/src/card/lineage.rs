//! A model's lineage through a `mlops.lock`: the stage that produced the model's path, the
//! stages upstream of it with their commands, inputs (digest, size, files, and for Parquet the
//! schema and rows) and params, and the stages downstream of it or sharing its inputs, whose
//! outputs hold its evaluations and drift reports.
//!
//! Stages are linked by paths as the DAG links them: an input and an output are linked when one
//! is the other or inside it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use mlops_core::manifest::EntryKind;
use mlops_pipeline::lockfile::{LockFile, StageLock};
use mlops_pipeline::records::RunRecord;
use serde::Serialize;
use serde_json::Value;

use super::source::{ReadFrom, Snapshot};
use super::{Missing, Options};

/// Parquet files of one input whose schema a card shows at most.
const MAX_TABLES: usize = 20;

/// How a model came to be.
#[derive(Debug, Clone, Serialize)]
pub struct Lineage {
    /// The stage whose output the model is.
    pub producer: String,
    /// The producer and every stage upstream of it, upstream first.
    pub stages: Vec<Stage>,
}

/// One stage of the lineage, as `mlops.lock` records its last run.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub name: String,
    pub cmd: String,
    pub deps: Vec<Data>,
    /// `file:key` -> the value the stage ran with.
    pub params: BTreeMap<String, Value>,
    pub outs: Vec<PathBuf>,
    /// When it last produced these outputs (RFC 3339, UTC), from the run records.
    pub ran_at: Option<String>,
    /// The commit it ran on, from the same record.
    pub ran_on: Option<String>,
}

/// An input of a stage.
#[derive(Debug, Clone, Serialize)]
pub struct Data {
    pub path: PathBuf,
    pub digest: String,
    /// `file` or `dir`, with the size and file count, when the side tracks the path.
    pub kind: Option<EntryKind>,
    pub size: Option<u64>,
    pub files: Option<u64>,
    /// The stage whose output it is; `None` for data tracked with `mlops add`.
    pub produced_by: Option<String>,
    /// The Parquet files in it, each with its schema and rows.
    pub tables: Vec<Table>,
}

/// A Parquet file's schema and rows, from its footer.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub path: PathBuf,
    pub rows: u64,
    pub columns: Vec<Column>,
    pub read_from: ReadFrom,
}

/// A column of a table.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub name: String,
    /// The Arrow type (`Int64`, `Utf8`, `Dictionary(Int32, Utf8)`...).
    #[serde(rename = "type")]
    pub data_type: String,
}

/// The stages of a lock, linked by their paths.
pub(crate) struct Graph<'a> {
    lock: &'a LockFile,
}

/// Whether two paths are linked: one is the other or inside it.
fn linked(a: &Path, b: &Path) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// Every output of a stage, metrics files included.
pub(crate) fn outputs(stage: &StageLock) -> impl Iterator<Item = &Path> {
    stage
        .outs
        .iter()
        .chain(&stage.metrics)
        .map(|o| o.path.as_path())
}

impl<'a> Graph<'a> {
    pub(crate) fn new(lock: &'a LockFile) -> Self {
        Self { lock }
    }

    pub(crate) fn stage(&self, name: &str) -> Option<&'a StageLock> {
        self.lock.stages.get(name)
    }

    /// The stage with an output that is `path` or holds it.
    pub(crate) fn producer(&self, path: &Path) -> Option<&'a str> {
        self.lock
            .stages
            .iter()
            .find(|(_, s)| outputs(s).any(|o| path.starts_with(o)))
            .map(|(name, _)| name.as_str())
    }

    /// The stages whose outputs are linked to `path`, but not `except`.
    pub(crate) fn writers(&self, path: &Path, except: &str) -> Vec<&'a str> {
        self.lock
            .stages
            .iter()
            .filter(|(name, s)| *name != except && outputs(s).any(|o| linked(o, path)))
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// `stage` and every stage upstream of it, upstream first (each after its inputs' writers).
    pub(crate) fn upstream(&self, stage: &'a str) -> Vec<&'a str> {
        let mut order = Vec::new();
        let mut seen = BTreeSet::new();
        self.visit(stage, &mut seen, &mut order);
        order
    }

    fn visit(&self, stage: &'a str, seen: &mut BTreeSet<&'a str>, order: &mut Vec<&'a str>) {
        if !seen.insert(stage) {
            return;
        }
        if let Some(s) = self.stage(stage) {
            for dep in &s.deps {
                for writer in self.writers(&dep.path, stage) {
                    self.visit(writer, seen, order);
                }
            }
        }
        order.push(stage);
    }

    /// The first of `wanted` that `stage` reads, or that a stage upstream of it reads, the
    /// nearest first (breadth first through the inputs' writers).
    pub(crate) fn nearest<'w>(&self, stage: &'a str, wanted: &[&'w Path]) -> Option<&'w Path> {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut frontier = vec![stage];
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for name in frontier {
                if !seen.insert(name) {
                    continue;
                }
                let Some(s) = self.stage(name) else { continue };
                for dep in &s.deps {
                    if let Some(found) = wanted.iter().find(|w| linked(w, &dep.path)) {
                        return Some(found);
                    }
                    next.extend(self.writers(&dep.path, name));
                }
            }
            frontier = next;
        }
        None
    }

    /// The stages that read `path`, or an output of such a stage, and so on; by name.
    pub(crate) fn downstream(&self, path: &Path) -> BTreeSet<&'a str> {
        let mut found: BTreeSet<&'a str> = BTreeSet::new();
        let mut frontier: Vec<PathBuf> = vec![path.to_owned()];
        while let Some(path) = frontier.pop() {
            for (name, stage) in &self.lock.stages {
                if !found.contains(name.as_str())
                    && stage.deps.iter().any(|d| linked(&d.path, &path))
                {
                    found.insert(name);
                    frontier.extend(outputs(stage).map(Path::to_path_buf));
                }
            }
        }
        found
    }

    /// The stages outside `known` that read one of `inputs` (or a path linked to one).
    pub(crate) fn sharing(&self, inputs: &[&Path], known: &BTreeSet<&str>) -> Vec<&'a str> {
        self.lock
            .stages
            .iter()
            .filter(|(name, s)| {
                !known.contains(name.as_str())
                    && s.deps
                        .iter()
                        .any(|d| inputs.iter().any(|i| linked(&d.path, i)))
            })
            .map(|(name, _)| name.as_str())
            .collect()
    }
}

/// The latest run record of `name` that produced the outputs `stage` records.
pub(crate) fn last_run<'r>(
    records: &'r [RunRecord],
    name: &str,
    stage: &StageLock,
) -> Option<&'r RunRecord> {
    records.iter().rev().find(|r| {
        r.stage == name
            && r.status != "failed"
            && stage
                .outs
                .iter()
                .chain(&stage.metrics)
                .all(|o| r.outs.get(&o.path).is_none_or(|d| *d == o.digest))
    })
}

/// The lineage section: each stage of `order` with its inputs described.
pub(crate) fn lineage(
    graph: &Graph<'_>,
    order: &[&str],
    side: &Snapshot<'_>,
    records: &[RunRecord],
    options: &Options<'_>,
    missing: &mut Vec<Missing>,
) -> Lineage {
    let stages = order
        .iter()
        .filter_map(|name| {
            let stage = graph.stage(name)?;
            let run = last_run(records, name, stage);
            let deps = stage
                .deps
                .iter()
                .map(|dep| {
                    let entry = side.entry(&dep.path);
                    let produced_by = graph
                        .writers(&dep.path, name)
                        .first()
                        .map(|s| (*s).to_owned());
                    Data {
                        tables: tables(
                            side,
                            &dep.path,
                            &dep.digest,
                            entry.as_ref().map(|e| e.kind),
                            options,
                            missing,
                        ),
                        path: dep.path.clone(),
                        digest: dep.digest.to_string(),
                        kind: entry.as_ref().map(|e| e.kind),
                        size: entry.as_ref().map(|e| e.size),
                        files: entry.as_ref().and_then(|e| e.files),
                        produced_by,
                    }
                })
                .collect();
            let params = stage
                .params
                .iter()
                .flat_map(|(file, values)| {
                    values.iter().map(move |(key, value)| {
                        (
                            format!("{file}:{key}"),
                            serde_json::to_value(value).unwrap_or(Value::Null),
                        )
                    })
                })
                .collect();
            Some(Stage {
                name: (*name).to_owned(),
                cmd: stage.cmd.clone(),
                deps,
                params,
                outs: outputs(stage).map(Path::to_path_buf).collect(),
                ran_at: run.map(|r| r.started_at.clone()),
                ran_on: run.and_then(|r| r.git_commit.clone()),
            })
        })
        .collect();
    Lineage {
        producer: order.last().map(|s| (*s).to_owned()).unwrap_or_default(),
        stages,
    }
}

/// Whether a file name is a Parquet file's.
fn is_parquet(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"))
}

/// The schema and rows of the Parquet files of the input `path` with `digest`.
fn tables(
    side: &Snapshot<'_>,
    path: &Path,
    digest: &mlops_core::Digest,
    kind: Option<EntryKind>,
    options: &Options<'_>,
    missing: &mut Vec<Missing>,
) -> Vec<Table> {
    let files: Vec<(PathBuf, mlops_core::Digest)> = match kind {
        Some(EntryKind::Dir) => {
            let Some(files) = side.files_of(path, digest) else {
                missing.push(Missing::new(
                    "data_schema",
                    format!(
                        "the files of `{}` are unknown: its manifest is not in the cache",
                        path.display()
                    ),
                ));
                return Vec::new();
            };
            files.into_iter().filter(|(f, _)| is_parquet(f)).collect()
        }
        Some(EntryKind::File) if is_parquet(path) => vec![(path.to_owned(), *digest)],
        _ => Vec::new(),
    };
    let mut tables = Vec::new();
    for (file, digest) in files.iter().take(MAX_TABLES) {
        let shown = match side.local(file, digest) {
            Ok((local, read_from)) => match (options.shape)(&local) {
                Ok(Some(shape)) => Ok(Table {
                    path: file.clone(),
                    rows: shape.rows,
                    columns: shape
                        .columns
                        .into_iter()
                        .map(|(name, data_type)| Column { name, data_type })
                        .collect(),
                    read_from,
                }),
                Ok(None) => Err("it is not a Parquet file".to_owned()),
                Err(why) => Err(why),
            },
            Err(why) => Err(why),
        };
        match shown {
            Ok(table) => tables.push(table),
            Err(why) => missing.push(Missing::new(
                "data_schema",
                format!("the schema of `{}`: {why}", file.display()),
            )),
        }
    }
    if files.len() > MAX_TABLES {
        missing.push(Missing::new(
            "data_schema",
            format!(
                "the schemas of {} more Parquet files in `{}` (a card shows {MAX_TABLES})",
                files.len() - MAX_TABLES,
                path.display()
            ),
        ));
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock() -> LockFile {
        LockFile::parse(
            "schema: 1\nstages:\n\
             \x20 prepare:\n    cmd: split\n    deps: [{path: data/raw.parquet, digest: '0000000000000000000000000000000000000000000000000000000000000001'}]\n\
             \x20   outs: [{path: data/prepared, kind: dir, digest: '0000000000000000000000000000000000000000000000000000000000000002', size: 1, files: 2}]\n\
             \x20 train:\n    cmd: train\n    deps: [{path: data/prepared/train.parquet, digest: '0000000000000000000000000000000000000000000000000000000000000003'}]\n\
             \x20   outs: [{path: models/m, kind: dir, digest: '0000000000000000000000000000000000000000000000000000000000000004', size: 1, files: 2}]\n\
             \x20 predict:\n    cmd: predict\n    deps: [{path: models/m, digest: '0000000000000000000000000000000000000000000000000000000000000004'}]\n\
             \x20   outs: [{path: scores.parquet, kind: file, digest: '0000000000000000000000000000000000000000000000000000000000000005', size: 1}]\n\
             \x20 evaluate:\n    cmd: eval\n    deps: [{path: scores.parquet, digest: '0000000000000000000000000000000000000000000000000000000000000005'}]\n\
             \x20   outs: [{path: reports/eval.json, kind: file, digest: '0000000000000000000000000000000000000000000000000000000000000006', size: 1}]\n\
             \x20 monitor:\n    cmd: drift\n    deps: [{path: data/prepared, digest: '0000000000000000000000000000000000000000000000000000000000000002'}]\n\
             \x20   outs: [{path: reports/drift.json, kind: file, digest: '0000000000000000000000000000000000000000000000000000000000000007', size: 1}]\n",
        )
        .expect("a lock")
    }

    #[test]
    fn stages_link_through_paths_and_paths_inside_them() {
        let lock = lock();
        let graph = Graph::new(&lock);
        assert_eq!(graph.producer(Path::new("models/m")), Some("train"));
        assert_eq!(
            graph.producer(Path::new("models/m/model.yaml")),
            Some("train")
        );
        assert_eq!(graph.producer(Path::new("models/other")), None);
        assert_eq!(graph.upstream("train"), ["prepare", "train"]);
        let down = graph.downstream(Path::new("models/m"));
        assert_eq!(
            down.into_iter().collect::<Vec<_>>(),
            ["evaluate", "predict"]
        );
        let known: BTreeSet<&str> = ["prepare", "train", "predict", "evaluate"].into();
        let inputs = [
            Path::new("data/raw.parquet"),
            Path::new("data/prepared/train.parquet"),
        ];
        assert_eq!(graph.sharing(&inputs, &known), ["monitor"]);
    }
}
