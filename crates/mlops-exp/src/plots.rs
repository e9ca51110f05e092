//! `mlops plots show`: the plots `mlops.yaml` declares (or dvclive's, found as it lays them
//! out), read from the workspace, git revisions and experiments, one series per source.
//!
//! A plot file at a revision is read from the commit's tree when git tracks it, else from the
//! commit's `mlops.lock` outputs (the cached object of a file output, or the file inside a
//! directory output), so the step-wise metrics that stages write as outputs plot too.

use std::path::{Path, PathBuf};

use git2::Repository;
use mlops_core::Workspace;
use mlops_core::pointer::Pointer;
use mlops_data::series::{self, Series};
use mlops_pipeline::lockfile::{LOCK_FILE, LockFile};
use mlops_pipeline::plotdefs::PlotDef;
use mlops_pipeline::spec::Pipeline;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::refs;

/// The templates plots are drawn with (DVC's names).
pub const TEMPLATES: [&str; 8] = [
    "linear",
    "simple",
    "smooth",
    "scatter",
    "confusion",
    "confusion_normalized",
    "bar_horizontal",
    "bar_horizontal_sorted",
];

/// Settings for `mlops plots show`.
#[derive(Debug, Clone, Default)]
pub struct PlotsOptions {
    /// Plot ids or files (all declared plots when empty).
    pub targets: Vec<String>,
    /// Experiments or git revisions to draw beside the workspace.
    pub revisions: Vec<String>,
    /// Leave the workspace out.
    pub no_workspace: bool,
    /// For targets that no definition covers: template, x and y.
    pub template: Option<String>,
    pub x: Option<String>,
    pub y: Option<String>,
}

/// One line of a line plot.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub source: String,
    pub file: PathBuf,
    pub y: String,
    pub points: Vec<(f64, f64)>,
}

/// A confusion matrix: rows are the actual classes, columns the predicted ones.
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    pub source: String,
    pub file: PathBuf,
    pub labels: Vec<String>,
    pub counts: Vec<Vec<f64>>,
}

/// Bars: one value per label.
#[derive(Debug, Clone, Serialize)]
pub struct Bars {
    pub source: String,
    pub file: PathBuf,
    pub bars: Vec<(String, f64)>,
}

/// What a plot draws.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "data")]
pub enum Drawing {
    Lines(Vec<Line>),
    Confusion(Vec<Matrix>),
    Bars(Vec<Bars>),
}

/// One plot.
#[derive(Debug, Clone, Serialize)]
pub struct Plot {
    pub id: String,
    pub template: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub drawing: Drawing,
    /// `source: file` pairs that could not be read (absent there, or not in the cache).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// Every plot.
#[derive(Debug, Clone, Serialize)]
pub struct PlotsReport {
    pub sources: Vec<String>,
    pub plots: Vec<Plot>,
}

impl PlotsReport {
    /// The workspace files the plots were read from, for the check that no `-o` is one of them.
    pub fn workspace_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = Vec::new();
        for plot in &self.plots {
            let drawn: Vec<(&str, &PathBuf)> = match &plot.drawing {
                Drawing::Lines(l) => l.iter().map(|x| (x.source.as_str(), &x.file)).collect(),
                Drawing::Confusion(m) => m.iter().map(|x| (x.source.as_str(), &x.file)).collect(),
                Drawing::Bars(b) => b.iter().map(|x| (x.source.as_str(), &x.file)).collect(),
            };
            files.extend(
                drawn
                    .into_iter()
                    .filter(|(source, _)| *source == "workspace")
                    .map(|(_, file)| file.clone()),
            );
        }
        files.sort();
        files.dedup();
        files
    }
}

/// Where plot files are read from.
enum Source<'r> {
    Workspace(PathBuf),
    Commit {
        name: String,
        repo: &'r Repository,
        tree: git2::Tree<'r>,
        prefix: PathBuf,
        outputs: Vec<(PathBuf, Pointer)>,
        store: mlops_core::store::Store,
    },
}

impl Source<'_> {
    fn name(&self) -> &str {
        match self {
            Source::Workspace(_) => "workspace",
            Source::Commit { name, .. } => name,
        }
    }

    /// The files at `rel`: itself, or every file under it (sorted).
    fn files(&self, rel: &Path) -> Vec<PathBuf> {
        match self {
            Source::Workspace(root) => {
                let abs = root.join(rel);
                if abs.is_file() {
                    return vec![rel.to_owned()];
                }
                let mut out = Vec::new();
                walk(root, &abs, &mut out);
                out.sort();
                out
            }
            Source::Commit {
                repo,
                tree,
                prefix,
                outputs,
                store,
                ..
            } => {
                let mut out = Vec::new();
                if let Ok(entry) = tree.get_path(&prefix.join(rel)) {
                    match entry.to_object(repo).ok().and_then(|o| o.into_tree().ok()) {
                        Some(dir) => {
                            let _ = dir.walk(git2::TreeWalkMode::PreOrder, |parent, e| {
                                if e.kind() == Some(git2::ObjectType::Blob)
                                    && let Some(name) = e.name()
                                {
                                    out.push(rel.join(parent).join(name));
                                }
                                git2::TreeWalkResult::Ok
                            });
                        }
                        None => out.push(rel.to_owned()),
                    }
                }
                for (path, pointer) in outputs {
                    if path == rel || path.starts_with(rel) {
                        if pointer.kind == mlops_core::manifest::EntryKind::Dir {
                            if let Ok(t) = mlops_core::tree::read_tree(store, &pointer.digest, path)
                            {
                                out.extend(t.files.into_iter().map(|f| f.rel));
                            }
                        } else {
                            out.push(path.clone());
                        }
                    } else if rel.starts_with(path) {
                        out.push(rel.to_owned());
                    }
                }
                out.sort();
                out.dedup();
                out
            }
        }
    }

    fn read(&self, rel: &Path) -> Option<Vec<u8>> {
        match self {
            Source::Workspace(root) => fs_err::read(root.join(rel)).ok(),
            Source::Commit {
                repo,
                tree,
                prefix,
                outputs,
                store,
                ..
            } => {
                if let Ok(entry) = tree.get_path(&prefix.join(rel))
                    && let Some(blob) = entry.to_object(repo).ok().and_then(|o| o.into_blob().ok())
                {
                    return Some(blob.content().to_vec());
                }
                let (out, pointer) = outputs
                    .iter()
                    .find(|(path, _)| rel == path || rel.starts_with(path))?;
                let digest = if out == rel {
                    pointer.digest
                } else {
                    mlops_core::tree::read_tree(store, &pointer.digest, out)
                        .ok()?
                        .files
                        .into_iter()
                        .find(|f| f.rel == rel)?
                        .digest
                };
                store.read(&digest).ok()
            }
        }
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_owned());
        }
    }
}

/// Reads every plot from every source.
///
/// # Errors
/// An unknown template (naming the known ones), an unknown revision or experiment, a plot file
/// that does not parse.
pub fn show(ws: &Workspace, options: &PlotsOptions) -> Result<PlotsReport> {
    let pipeline = if ws.root().join(mlops_pipeline::spec::PIPELINE_FILE).exists() {
        Pipeline::load(ws.root())?
    } else {
        Pipeline::default()
    };
    let defs = definitions(ws, &pipeline, options)?;
    for def in &defs {
        if let Some(template) = &def.template
            && !TEMPLATES.contains(&template.as_str())
        {
            return Err(Error::UnknownTemplate {
                template: template.clone(),
                plot: def.id.clone(),
            });
        }
    }
    let repo = if options.revisions.is_empty() {
        None
    } else {
        Some(mlops_meta::history::Repo::open(ws)?)
    };
    let mut sources = Vec::new();
    if !options.no_workspace {
        sources.push(Source::Workspace(ws.root().to_owned()));
    }
    if let Some(opened) = &repo {
        let (repo, prefix) = (opened.git(), opened.prefix());
        let head = repo.head().ok().and_then(|h| h.target());
        for rev in &options.revisions {
            let (name, commit) = match refs::resolve(repo, rev, head) {
                Ok(found) => (found.summary.name.clone(), repo.find_commit(found.commit)?),
                Err(Error::UnknownExperiment { .. }) if repo.revparse_single(rev).is_ok() => {
                    (rev.clone(), repo.revparse_single(rev)?.peel_to_commit()?)
                }
                Err(e) => return Err(e),
            };
            let tree = commit.tree()?;
            let outputs = tree
                .get_path(&prefix.join(LOCK_FILE))
                .ok()
                .and_then(|e| e.to_object(repo).ok()?.into_blob().ok())
                .and_then(|b| LockFile::parse(&String::from_utf8_lossy(b.content())).ok())
                .map(|lock| lock.outputs())
                .unwrap_or_default()
                .into_iter()
                // A lock from someone else's commit names only workspace paths we read.
                .filter(|(path, _)| mlops_core::safepath::check(ws.root(), path).is_ok())
                .collect();
            sources.push(Source::Commit {
                name,
                repo,
                tree,
                prefix: prefix.to_owned(),
                outputs,
                store: ws.store(),
            });
        }
    }
    let mut plots = Vec::new();
    for def in &defs {
        plots.extend(draw(def, &sources)?);
    }
    Ok(PlotsReport {
        sources: sources.iter().map(|s| s.name().to_owned()).collect(),
        plots,
    })
}

/// The plots to draw: the targets (a declared id, a file or directory a declaration covers,
/// or any file, drawn with the options' template and columns), else every declaration, else
/// dvclive's layout.
fn definitions(
    ws: &Workspace,
    pipeline: &Pipeline,
    options: &PlotsOptions,
) -> Result<Vec<PlotDef>> {
    let adhoc = |path: &str| PlotDef {
        id: path.to_owned(),
        y: vec![(PathBuf::from(path), options.y.iter().cloned().collect())],
        x: options.x.clone(),
        template: options.template.clone(),
        ..PlotDef::default()
    };
    if !options.targets.is_empty() {
        let mut defs = Vec::new();
        for target in &options.targets {
            let rel = ws.relative(ws.root(), Path::new(target))?;
            let found = pipeline.plots.iter().find(|d| {
                d.id == *target || d.y.iter().any(|(p, _)| *p == rel || rel.starts_with(p))
            });
            match found {
                Some(def) if def.id == *target => defs.push(def.clone()),
                Some(def) => defs.push(PlotDef {
                    id: target.clone(),
                    y: vec![(
                        rel.clone(),
                        def.y
                            .iter()
                            .find(|(p, _)| rel.starts_with(p))
                            .map(|(_, c)| c.clone())
                            .unwrap_or_default(),
                    )],
                    ..def.clone()
                }),
                None => defs.push(adhoc(&rel.to_string_lossy())),
            }
        }
        return Ok(defs);
    }
    if !pipeline.plots.is_empty() {
        return Ok(pipeline.plots.clone());
    }
    Ok(dvclive_plots(ws.root()))
}

/// dvclive's plots, as `dvclive` declares them in `dvc.yaml`: its step-wise metrics against
/// `step`, and its scikit-learn curves and confusion matrix with their templates.
fn dvclive_plots(root: &Path) -> Vec<PlotDef> {
    let live = Path::new("dvclive/plots");
    let mut defs = Vec::new();
    if root.join(live).join("metrics").is_dir() {
        defs.push(PlotDef {
            id: "dvclive/plots/metrics".into(),
            y: vec![(live.join("metrics"), Vec::new())],
            x: Some("step".into()),
            ..PlotDef::default()
        });
    }
    for (file, template, x, y) in [
        ("roc.json", "simple", "fpr", "tpr"),
        ("precision_recall.json", "simple", "recall", "precision"),
        ("confusion_matrix.json", "confusion", "actual", "predicted"),
    ] {
        let path = live.join("sklearn").join(file);
        if root.join(&path).is_file() {
            defs.push(PlotDef {
                id: path.to_string_lossy().into_owned(),
                y: vec![(path, vec![y.into()])],
                x: Some(x.into()),
                template: Some(template.into()),
                ..PlotDef::default()
            });
        }
    }
    defs
}

/// Files with the columns drawn from each.
type Files = Vec<(PathBuf, Vec<String>)>;

/// A file read from one source: (source, file, columns, table).
type Table<'a> = (&'a str, PathBuf, Vec<String>, Series);

/// The plots of one definition: one per file when it names a directory (DVC draws each file
/// of a directory as its own plot), else one.
fn draw(def: &PlotDef, sources: &[Source<'_>]) -> Result<Vec<Plot>> {
    // The files each (path, columns) entry expands to, over all sources.
    let mut groups: Vec<(String, Files)> = Vec::new();
    for (path, columns) in &def.y {
        let mut files: Vec<PathBuf> = sources.iter().flat_map(|s| s.files(path)).collect();
        files.sort();
        files.dedup();
        if files.is_empty() {
            files.push(path.clone());
        }
        let is_dir = files.len() > 1 || files.first() != Some(path);
        if is_dir {
            for file in files {
                groups.push((
                    file.to_string_lossy().into_owned(),
                    vec![(file, columns.clone())],
                ));
            }
        } else if let Some(first) = groups.iter_mut().find(|(id, _)| *id == def.id) {
            first.1.push((path.clone(), columns.clone()));
        } else {
            groups.push((def.id.clone(), vec![(path.clone(), columns.clone())]));
        }
    }
    let template = def.template.clone().unwrap_or_else(|| "linear".into());
    let mut plots = Vec::new();
    for (id, files) in groups {
        let mut missing = Vec::new();
        let mut tables: Vec<Table<'_>> = Vec::new();
        for source in sources {
            for (file, columns) in &files {
                match source.read(file) {
                    Some(bytes) => tables.push((
                        source.name(),
                        file.clone(),
                        columns.clone(),
                        series::parse(file, &bytes).map_err(|e| Error::PlotFile {
                            source_name: source.name().to_owned(),
                            message: e.to_string(),
                        })?,
                    )),
                    None => missing.push(format!("{}: {}", source.name(), file.display())),
                }
            }
        }
        let (drawing, x_label, y_label) = drawing_of(def, &template, &tables)?;
        plots.push(Plot {
            title: def.title.clone().unwrap_or_else(|| id.clone()),
            id,
            template: template.clone(),
            x_label: def.x_label.clone().unwrap_or(x_label),
            y_label: def.y_label.clone().unwrap_or(y_label),
            drawing,
            missing,
        });
    }
    Ok(plots)
}

/// What a plot draws with `template` from the tables read, and its default axis labels.
fn drawing_of(
    def: &PlotDef,
    template: &str,
    tables: &[Table<'_>],
) -> Result<(Drawing, String, String)> {
    let x_of = |file: &Path| def.x_per_file.get(file).cloned().or_else(|| def.x.clone());
    let drawing = match template {
        "confusion" | "confusion_normalized" => {
            let matrices = tables
                .iter()
                .map(|(source, file, columns, table)| {
                    let actual = x_of(file).unwrap_or_else(|| "actual".into());
                    let predicted = columns
                        .first()
                        .cloned()
                        .unwrap_or_else(|| "predicted".into());
                    confusion(
                        source,
                        file,
                        table,
                        &actual,
                        &predicted,
                        template == "confusion_normalized",
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            let x = def.x.clone().unwrap_or_else(|| "actual".into());
            let y = def
                .y
                .iter()
                .find_map(|(_, columns)| columns.first().cloned())
                .unwrap_or_else(|| "predicted".into());
            (Drawing::Confusion(matrices), x, y)
        }
        "bar_horizontal" | "bar_horizontal_sorted" => {
            let bars = tables
                .iter()
                .map(|(source, file, columns, table)| {
                    let value = x_of(file).unwrap_or_default();
                    let label = columns.first().cloned().unwrap_or_default();
                    bars(
                        source,
                        file,
                        table,
                        &value,
                        &label,
                        template == "bar_horizontal_sorted",
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            (
                Drawing::Bars(bars),
                def.x.clone().unwrap_or_default(),
                String::new(),
            )
        }
        _ => {
            let mut lines = Vec::new();
            let mut x_name = String::new();
            let mut y_names: Vec<String> = Vec::new();
            for (source, file, columns, table) in tables {
                let (x, ys) = line_columns(table, x_of(file).as_deref(), columns, file)?;
                x_name = x.clone().unwrap_or_else(|| "step".into());
                for y in ys {
                    if !y_names.contains(&y) {
                        y_names.push(y.clone());
                    }
                    lines.push(line(source, file, table, x.as_deref(), &y));
                }
            }
            (Drawing::Lines(lines), x_name, y_names.join(", "))
        }
    };
    Ok(drawing)
}

/// The x column (none: the row number) and the y columns of a line plot: those named, else the
/// last numeric column that is not x (DVC's default).
fn line_columns(
    table: &Series,
    x: Option<&str>,
    columns: &[String],
    file: &Path,
) -> Result<(Option<String>, Vec<String>)> {
    let missing = |column: &str| Error::PlotColumn {
        file: file.to_owned(),
        column: column.to_owned(),
        available: table.columns.clone(),
    };
    let x = match x {
        Some(x) if table.column(x).is_some() => Some(x.to_owned()),
        // `step` when dvclive's files are drawn without it, or as DVC's generated index.
        Some("step") | None => table.column("step").map(|_| "step".to_owned()),
        Some(other) => return Err(missing(other)),
    };
    if let Some(bad) = columns.iter().find(|c| table.column(c).is_none()) {
        return Err(missing(bad));
    }
    if !columns.is_empty() {
        return Ok((x, columns.to_vec()));
    }
    let last = (0..table.columns.len())
        .rev()
        .find(|&i| Some(&table.columns[i]) != x.as_ref() && table.is_numeric(i))
        .map(|i| table.columns[i].clone());
    Ok((x, last.into_iter().collect()))
}

fn line(source: &str, file: &Path, table: &Series, x: Option<&str>, y: &str) -> Line {
    let ys = table.numbers(table.column(y).expect("checked"));
    let xs: Vec<Option<f64>> = match x.and_then(|x| table.column(x)) {
        Some(i) => table.numbers(i),
        #[allow(clippy::cast_precision_loss, reason = "row numbers")]
        None => (0..ys.len()).map(|i| Some(i as f64)).collect(),
    };
    Line {
        source: source.to_owned(),
        file: file.to_owned(),
        y: y.to_owned(),
        points: xs
            .into_iter()
            .zip(ys)
            .filter_map(|(x, y)| Some((x?, y?)))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect(),
    }
}

/// The index of `column` in `table`, read from `file`.
fn column_of(table: &Series, file: &Path, column: &str) -> Result<usize> {
    table.column(column).ok_or_else(|| Error::PlotColumn {
        file: file.to_owned(),
        column: column.to_owned(),
        available: table.columns.clone(),
    })
}

/// Counts (actual, predicted) pairs, weighted by a `count` column when the file has one (the
/// aggregated form `mlops eval --plots` writes).
fn confusion(
    source: &str,
    file: &Path,
    table: &Series,
    actual: &str,
    predicted: &str,
    normalized: bool,
) -> Result<Matrix> {
    let (a, p) = (
        column_of(table, file, actual)?,
        column_of(table, file, predicted)?,
    );
    let weights = table.column("count").map(|c| table.numbers(c));
    let mut labels: Vec<String> = table
        .text(a)
        .into_iter()
        .chain(table.text(p))
        .map(str::to_owned)
        .collect();
    labels.sort();
    labels.dedup();
    let position = |l: &str| labels.iter().position(|x| x == l).expect("a label");
    let mut counts = vec![vec![0.0; labels.len()]; labels.len()];
    for (row, (actual, predicted)) in table.text(a).into_iter().zip(table.text(p)).enumerate() {
        let w = weights.as_ref().and_then(|w| w[row]).unwrap_or(1.0);
        counts[position(actual)][position(predicted)] += w;
    }
    if normalized {
        for row in &mut counts {
            let total: f64 = row.iter().sum();
            if total > 0.0 {
                for c in row.iter_mut() {
                    *c /= total;
                }
            }
        }
    }
    Ok(Matrix {
        source: source.to_owned(),
        file: file.to_owned(),
        labels,
        counts,
    })
}

fn bars(
    source: &str,
    file: &Path,
    table: &Series,
    value: &str,
    label: &str,
    sorted: bool,
) -> Result<Bars> {
    let (v, l) = (
        column_of(table, file, value)?,
        column_of(table, file, label)?,
    );
    let mut bars: Vec<(String, f64)> = table
        .text(l)
        .into_iter()
        .zip(table.numbers(v))
        .filter_map(|(l, v)| Some((l.to_owned(), v?)))
        .collect();
    if sorted {
        bars.sort_by(|a, b| b.1.total_cmp(&a.1));
    }
    Ok(Bars {
        source: source.to_owned(),
        file: file.to_owned(),
        bars,
    })
}
