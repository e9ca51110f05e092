//! A model card assembled from what the workspace records, never invented: the registry's
//! history of the model (versions, stages, who and when), its lineage through `mlops.lock`
//! (the stages that made it, their commands, params and inputs with digests, sizes and Parquet
//! schemas; the commit is the code revision), `model.yaml` and the training run's
//! `metrics.json`, the `mlops eval` and `mlops fairness` reports downstream of it (and of the
//! model a mitigated one was made from), its `postprocess:` record, metrics files, `mlops drift`
//! and `mlops monitor` reports of the stages related to it, and free text from a `card.yaml`.
//! Each section it cannot fill is listed in [`Card::missing`] with the reason, and so is each
//! file that has a report's keys but does not read as one.
//!
//! A registered version is read at its commit: committed files from git's objects, tracked data
//! from the cache by the digests that commit records (`source`, private), so the card of an old
//! version shows that version's reports after the workspace has moved on. A model given as a
//! directory is read from the workspace. `lineage` (private) walks the lock; `reports` (private)
//! tells reports apart by their keys and reads what the card shows of them.
//!
//! Parquet schemas come through [`Options::shape`]: this crate does not compile Arrow or Parquet.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mlops_core::Workspace;
use mlops_core::manifest::EntryKind;
use mlops_pipeline::lockfile::LockFile;
use serde::Serialize;

use crate::history::Repo;
use crate::registry::{Action, Event, Registry, is_reference};

mod lineage;
mod model_dir;
mod reports;
mod source;

pub use lineage::{Column, Data, Lineage, Stage, Table};
pub use model_dir::{About, BeforeAfter, CARD_FILE, ModelSpec, Postprocess, Training};
pub use reports::{
    Alert, BatchDrift, Counterfactual, Drift, Evaluated, Evaluation, Fairness, FairnessCheck, Gate,
    Group, Metric, MetricsFile, Monitoring, Origin, WeakSlice,
};
pub use source::ReadFrom;

use reports::Found;
use source::Snapshot;

/// What went wrong assembling a card.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Meta(#[from] crate::Error),

    #[error("no model `{name}` in the registry, and no directory `{name}` in the workspace")]
    NoModel { name: String },

    #[error("cannot read `{}`: {message}", path.display())]
    BadCardFile { path: PathBuf, message: String },

    #[error("cannot show `{}` on the card: {message}", path.display())]
    BadEval { path: PathBuf, message: String },
}

impl From<mlops_pipeline::Error> for Error {
    fn from(err: mlops_pipeline::Error) -> Self {
        Error::Meta(err.into())
    }
}

/// A Parquet file's columns (name, type) and rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub columns: Vec<(String, String)>,
    pub rows: u64,
}

/// Reads a local file's Parquet footer: `Ok(None)` for a file that is not Parquet.
pub type ShapeReader<'a> = &'a dyn Fn(&Path) -> Result<Option<Shape>, String>;

/// Settings for [`assemble`].
pub struct Options<'a> {
    /// Eval reports outside the lineage (`--eval`), as paths to read.
    pub evals: Vec<PathBuf>,
    /// How Parquet schemas are read (the binary passes mlops-data's footer reader).
    pub shape: ShapeReader<'a>,
}

/// A section the card could not fill, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    pub section: String,
    pub why: String,
}

impl Missing {
    fn new(section: &str, why: String) -> Self {
        Self {
            section: section.to_owned(),
            why,
        }
    }
}

/// Where the card was read: the version's commit, or the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Commit,
    Workspace,
}

/// A git commit: the code revision.
#[derive(Debug, Clone, Serialize)]
pub struct Revision {
    pub commit: String,
    /// Seconds since 1970-01-01 UTC (the committer's time).
    pub time: i64,
    pub author: String,
    pub summary: String,
}

/// What the registry says of the version.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryInfo {
    pub name: String,
    pub version: String,
    /// Who registered it and when (seconds since 1970-01-01 UTC), from its registration tag;
    /// `None` where that tag is gone (deleted by hand), never a guess.
    pub registered_by: Option<String>,
    pub registered_at: Option<i64>,
    /// The stages holding this version now.
    pub stages: Vec<String>,
    /// The model's latest version, and whether the model is deprecated.
    pub latest: Option<String>,
    pub deprecated: bool,
    /// Every registration and stage change of the model, oldest first.
    pub history: Vec<Event>,
}

/// The whole card: what `mlops model card --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Card {
    /// The registered name, or the path given.
    pub model: String,
    pub version: Option<String>,
    /// The model's path in the workspace.
    pub path: PathBuf,
    /// The digest its pointer or `mlops.lock` records.
    pub digest: Option<String>,
    /// Where the card was read.
    pub side: Side,
    /// The code revision: the version's commit, or HEAD for a directory.
    pub revision: Option<Revision>,
    pub registry: Option<RegistryInfo>,
    pub about: About,
    pub spec: Option<ModelSpec>,
    pub training: Option<Training>,
    pub lineage: Option<Lineage>,
    /// `mlops eval` reports of the model, and of the models made from it or it from.
    pub evaluations: Vec<Evaluation>,
    /// `mlops fairness counterfactual` and `consistency` reports.
    pub fairness_checks: Vec<FairnessCheck>,
    /// The model's `postprocess:` record: its mitigation, with metrics before and after.
    pub postprocess: Option<Postprocess>,
    pub metrics: Vec<MetricsFile>,
    pub drift: Vec<Drift>,
    pub monitoring: Vec<Monitoring>,
    /// Every section the card could not fill, and why.
    pub missing: Vec<Missing>,
}

/// What the card is about, once resolved.
struct Subject {
    model: String,
    path: PathBuf,
    registry: Option<RegistryInfo>,
    commit: Option<String>,
}

/// The card of `given`: `NAME`, `NAME@vX.Y.Z`, `NAME@latest` or `NAME#STAGE` of the registry,
/// else the model directory `rel` (workspace-relative; `None` when `given` is outside the
/// workspace).
pub fn assemble(
    ws: &Workspace,
    given: &str,
    rel: Option<&Path>,
    options: &Options<'_>,
) -> Result<Card, Error> {
    let reference = is_reference(Path::new(given));
    let repo = match Repo::open(ws) {
        Ok(repo) => Some(repo),
        // A registry reference needs git; a directory does not.
        Err(e) if reference => return Err(e.into()),
        Err(_) => None,
    };
    let subject = subject(ws, repo.as_ref(), given, reference, rel)?;
    let side = match (&repo, &subject.commit) {
        (Some(repo), Some(commit)) => Snapshot::at_commit(ws, repo, commit)?,
        _ => Snapshot::workspace(ws)?,
    };
    let revision = repo
        .as_ref()
        .and_then(|repo| revision(repo, subject.commit.as_deref().unwrap_or("HEAD")));
    let records = mlops_pipeline::records::list(&ws.mlops_dir(), None).unwrap_or_default();
    let mut missing = Vec::new();
    if subject.registry.is_none() {
        missing.push(Missing::new(
            "registry",
            format!(
                "`{given}` was given as a directory: it has no registered version (`mlops model register NAME --path {}`)",
                subject.path.display()
            ),
        ));
    }
    if revision.is_none() {
        missing.push(Missing::new(
            "revision",
            "the workspace is not in a git repository with a commit".to_owned(),
        ));
    }
    let about = model_dir::about(&side, &subject.path, &mut missing)?;
    let (spec, postprocess) = model_dir::spec(&side, &subject.path, &mut missing);
    let training = model_dir::training(&side, &subject.path, &mut missing);
    let mut card = Card {
        model: subject.model,
        version: subject.registry.as_ref().map(|r| r.version.clone()),
        digest: side.entry(&subject.path).map(|e| e.digest.to_string()),
        path: subject.path,
        side: if side.is_commit() {
            Side::Commit
        } else {
            Side::Workspace
        },
        revision,
        registry: subject.registry,
        about,
        spec,
        training,
        lineage: None,
        evaluations: Vec::new(),
        fairness_checks: Vec::new(),
        postprocess,
        metrics: Vec::new(),
        drift: Vec::new(),
        monitoring: Vec::new(),
        missing: Vec::new(),
    };
    from_lock(&mut card, &side, &records, options, &mut missing);
    for path in &options.evals {
        match given_report(ws.root(), path)? {
            Found::Eval(e) => card.evaluations.push(e),
            Found::Fairness(f) => card.fairness_checks.push(f),
            Found::Drift(_) | Found::Monitor(_) | Found::Unreadable { .. } => {}
        }
    }
    still_missing(&card, &side, &mut missing);
    missing.dedup();
    card.missing = missing;
    Ok(card)
}

/// The missing entries of the sections filled last: mitigation, evaluations, counterfactuals.
fn still_missing(card: &Card, side: &Snapshot<'_>, missing: &mut Vec<Missing>) {
    let mitigated = card.postprocess.is_some()
        || card
            .evaluations
            .iter()
            .any(|e| e.model.as_ref().is_some_and(|m| m.postprocessed));
    if !mitigated {
        missing.push(Missing::new(
            "mitigation",
            format!(
                "no `postprocess:` record in `{}`, nor an evaluation of a post-processed model made from it: no mitigation (`mlops fairness mitigate`) is recorded",
                card.path.join("model.yaml").display()
            ),
        ));
    }
    if card.evaluations.is_empty() {
        missing.push(Missing::new(
            "evaluations",
            format!(
                "no readable `mlops eval` report among the outputs of the stages downstream of `{}` in mlops.lock{}, and none given with --eval",
                card.path.display(),
                at(side, card.revision.as_ref())
            ),
        ));
    }
    if card.fairness_checks.is_empty() {
        missing.push(Missing::new(
            "counterfactual",
            format!(
                "no readable `mlops fairness counterfactual` or `consistency` report (`-o FILE`) among the outputs of the stages downstream of `{}`, and none given with --eval",
                card.path.display()
            ),
        ));
    }
}

/// What `given` names: a registered version when it is a reference or a registered name, else
/// the directory `rel`.
fn subject(
    ws: &Workspace,
    repo: Option<&Repo>,
    given: &str,
    reference: bool,
    rel: Option<&Path>,
) -> Result<Subject, Error> {
    if let Some(repo) = repo {
        let registry = Registry::read(repo)?;
        if reference || !registry.state(given).versions.is_empty() {
            return registered(&registry, given);
        }
    }
    let rel = rel
        .filter(|r| !r.as_os_str().is_empty() && ws.root().join(r).exists())
        .ok_or_else(|| Error::NoModel {
            name: given.to_owned(),
        })?;
    Ok(Subject {
        model: given.to_owned(),
        path: rel.to_owned(),
        registry: None,
        commit: None,
    })
}

/// A report named with `--eval`, an `mlops eval` or `mlops fairness` one (refused otherwise),
/// shown by its workspace-relative path when it is inside the workspace.
fn given_report(root: &Path, path: &Path) -> Result<Found, Error> {
    let bad = |message| Error::BadEval {
        path: path.to_owned(),
        message,
    };
    let bytes = fs_err::read(path).map_err(|e| bad(e.to_string()))?;
    let origin = Origin {
        file: path.strip_prefix(root).unwrap_or(path).to_owned(),
        stage: None,
        digest: None,
        read_from: ReadFrom::Given,
        ran_at: None,
    };
    reports::given_report(&bytes, origin).map_err(bad)
}

/// The registered version `given` names, with its registry section.
fn registered(registry: &Registry<'_>, given: &str) -> Result<Subject, Error> {
    let located = registry.locate(given)?;
    let history = registry.history(Some(&located.model))?;
    let state = registry.state(&located.model);
    let registration = history.iter().find(|e| {
        e.action == Action::Registered && e.version.as_deref() == Some(located.version.as_str())
    });
    let info = RegistryInfo {
        name: located.model.clone(),
        version: located.version.clone(),
        registered_by: registration.map(|e| e.by.clone()),
        registered_at: registration.map(|e| e.time),
        stages: state
            .stages
            .iter()
            .filter(|(_, v)| **v == located.version)
            .map(|(s, _)| s.clone())
            .collect(),
        latest: state.latest,
        deprecated: state.deprecated,
        history,
    };
    Ok(Subject {
        model: located.model,
        path: located.path,
        registry: Some(info),
        commit: Some(located.commit),
    })
}

/// The commit `rev` names, if any.
fn revision(repo: &Repo, rev: &str) -> Option<Revision> {
    let commit = repo.commit(rev).ok()?;
    let author = commit.author();
    Some(Revision {
        commit: commit.id().to_string(),
        time: commit.time().seconds(),
        author: format!(
            "{} <{}>",
            author.name().unwrap_or_default(),
            author.email().unwrap_or_default()
        ),
        summary: commit.summary().unwrap_or_default().to_owned(),
    })
}

/// ` at commit abc1234` for a commit's side; empty for the workspace.
fn at(side: &Snapshot<'_>, revision: Option<&Revision>) -> String {
    match revision {
        Some(r) if side.is_commit() => format!(" at commit {}", &r.commit[..r.commit.len().min(7)]),
        _ => String::new(),
    }
}

/// The lineage, evaluations, metrics and drift sections, from the side's `mlops.lock`.
///
/// Evaluations are looked for downstream of the model and of the model directories its lineage
/// made (the model a mitigated one was made from): so the card of either shows the evaluation
/// of the model as trained and the one after mitigation, each naming the model it is of.
fn from_lock(
    card: &mut Card,
    side: &Snapshot<'_>,
    records: &[mlops_pipeline::records::RunRecord],
    options: &Options<'_>,
    missing: &mut Vec<Missing>,
) {
    let where_ = at(side, card.revision.as_ref());
    let Some(lock) = side.lock() else {
        for section in ["lineage", "metrics", "drift"] {
            missing.push(Missing::new(
                section,
                format!("no mlops.lock{where_}: the model was not made by a pipeline stage"),
            ));
        }
        return;
    };
    let graph = lineage::Graph::new(lock);
    let models = model_dirs(lock, side);
    let mut order: Vec<&str> = Vec::new();
    match graph.producer(&card.path) {
        Some(producer) => {
            order = graph.upstream(producer);
            card.lineage = Some(lineage::lineage(&graph, &order, side, records, options, missing));
        }
        None => missing.push(Missing::new(
            "lineage",
            format!(
                "`{}` is not an output of any stage in mlops.lock{where_} (tracked with `mlops add`, or made outside the pipeline)",
                card.path.display()
            ),
        )),
    }
    let mut roots: Vec<&Path> = vec![card.path.as_path()];
    roots.extend(
        models
            .iter()
            .filter(|(path, stage)| order.contains(stage) && *path != card.path)
            .map(|(path, _)| *path),
    );
    let mut downstream: BTreeSet<&str> = roots.iter().flat_map(|r| graph.downstream(r)).collect();
    let mut known: BTreeSet<&str> = order.iter().copied().collect();
    downstream.retain(|s| !known.contains(s));
    known.extend(downstream.iter().copied());
    let inputs: Vec<&Path> = order
        .iter()
        .filter_map(|s| graph.stage(s))
        .flat_map(|s| s.deps.iter().map(|d| d.path.as_path()))
        .collect();
    let sharing = graph.sharing(&inputs, &known);
    let model_paths: Vec<&Path> = models.iter().map(|(p, _)| *p).collect();
    // Stages in a fixed order: the lineage's, then downstream, then those sharing inputs.
    let scanned = order
        .iter()
        .map(|s| (*s, true))
        .chain(downstream.iter().map(|s| (*s, true)))
        .chain(sharing.iter().map(|s| (*s, false)));
    for (name, related) in scanned {
        let Some(stage) = graph.stage(name) else {
            continue;
        };
        let ran_at = lineage::last_run(records, name, stage).map(|r| r.started_at.clone());
        for out in stage.outs.iter().chain(&stage.metrics) {
            let is_metrics = stage.metrics.iter().any(|m| m.path == out.path);
            for (file, digest) in json_files(side, &out.path, out.kind, &out.digest) {
                let (bytes, read_from) = match side.read(&file) {
                    Ok(Some(read)) => read,
                    Ok(None) => continue,
                    Err(why) => {
                        missing.push(Missing::new(
                            "reports",
                            format!("`{}` of stage `{name}`: {why}", file.display()),
                        ));
                        continue;
                    }
                };
                let origin = Origin {
                    file,
                    stage: Some(name.to_owned()),
                    digest: Some(digest.to_string()),
                    read_from,
                    ran_at: ran_at.clone(),
                };
                let found = reports::detect(&bytes, origin.clone());
                missing.extend(unreadable(found.as_ref(), &origin, related));
                match found {
                    Some(Found::Eval(mut e)) if related => {
                        e.model = graph
                            .nearest(name, &model_paths)
                            .map(|path| evaluated(card, side, &models, path));
                        card.evaluations.push(e);
                    }
                    Some(Found::Fairness(f)) if related => card.fairness_checks.push(f),
                    Some(Found::Drift(d)) => card.drift.push(d),
                    Some(Found::Monitor(m)) => card.monitoring.push(m),
                    None | Some(Found::Unreadable { .. }) if is_metrics && related => {
                        card.metrics.extend(reports::metrics_file(&bytes, origin));
                    }
                    _ => {}
                }
            }
        }
    }
    // This model's evaluations first, then those of the models made from it or it from.
    card.evaluations
        .sort_by_key(|e| e.model.as_ref().is_none_or(|m| m.path != card.path));
    empty_reports(card, &where_, missing);
}

/// Every model directory among the outputs of `lock` (a directory holding `model.yaml`), with
/// the stage that made it.
fn model_dirs<'l>(lock: &'l LockFile, side: &Snapshot<'_>) -> Vec<(&'l Path, &'l str)> {
    lock.stages
        .iter()
        .flat_map(|(name, stage)| stage.outs.iter().map(move |o| (name.as_str(), o)))
        .filter(|(_, o)| {
            o.kind == EntryKind::Dir
                && side
                    .files_of(&o.path, &o.digest)
                    .is_some_and(|files| files.iter().any(|(f, _)| *f == o.path.join("model.yaml")))
        })
        .map(|(name, o)| (o.path.as_path(), name))
        .collect()
}

/// The missing entry of a stage's output that has a report's keys but does not read as one:
/// listed where a report that reads would be shown (eval and fairness reports of related
/// stages, drift and monitor reports of any), never dropped silently. Declared as `metrics:`,
/// it is still shown as the metrics file it is.
fn unreadable(found: Option<&Found>, origin: &Origin, related: bool) -> Option<Missing> {
    let Some(Found::Unreadable { kind, error }) = found else {
        return None;
    };
    (related || matches!(*kind, "drift" | "monitor")).then(|| Missing {
        section: format!("{kind} report {}", origin.file.display()),
        why: format!(
            "`{}` (stage `{}`) looks like an `mlops {kind}` report but does not read: {error}",
            origin.file.display(),
            origin.stage.as_deref().unwrap_or_default()
        ),
    })
}

/// The missing entries of the metrics and drift sections, when the lock gave none.
fn empty_reports(card: &Card, where_: &str, missing: &mut Vec<Missing>) {
    if card.metrics.is_empty() {
        missing.push(Missing::new(
            "metrics",
            format!("no metrics file (`metrics:` in mlops.yaml) among the lineage's stages and those downstream{where_}"),
        ));
    }
    if card.drift.is_empty() && card.monitoring.is_empty() {
        missing.push(Missing::new(
            "drift",
            format!("no readable `mlops drift` or `mlops monitor` report among the outputs of the stages of the lineage, downstream of it or reading its inputs{where_}"),
        ));
    }
}

/// The model directory `path` an evaluation is of: the stage that made it, and whether it is
/// post-processed.
fn evaluated(card: &Card, side: &Snapshot<'_>, models: &[(&Path, &str)], path: &Path) -> Evaluated {
    let postprocessed = if path == card.path {
        card.postprocess.is_some()
    } else {
        match side.read(&path.join("model.yaml")) {
            Ok(Some((bytes, _))) => {
                mlops_core::yaml::from_str::<serde_json::Value>(&String::from_utf8_lossy(&bytes))
                    .is_ok_and(|v| v.get("postprocess").is_some())
            }
            _ => false,
        }
    };
    Evaluated {
        path: path.to_owned(),
        stage: models
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, s)| (*s).to_owned()),
        postprocessed,
    }
}

/// The JSON and YAML files that may be reports or metrics: the output itself, or those in an output directory.
fn json_files(
    side: &Snapshot<'_>,
    path: &Path,
    kind: EntryKind,
    digest: &mlops_core::Digest,
) -> Vec<(PathBuf, mlops_core::Digest)> {
    /// Files of one output directory looked at, at most.
    const MAX_FILES: usize = 100;
    let wanted = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ["json", "yaml", "yml"].contains(&e.to_ascii_lowercase().as_str()))
    };
    match kind {
        EntryKind::File if wanted(path) => vec![(path.to_owned(), *digest)],
        EntryKind::File => Vec::new(),
        EntryKind::Dir => side
            .files_of(path, digest)
            .unwrap_or_default()
            .into_iter()
            .filter(|(f, _)| wanted(f))
            .take(MAX_FILES)
            .collect(),
    }
}
