//! `mlops exp show`: one table of the workspace, its baseline commit and the experiments run
//! from it, with the params the stages read and every metric as columns.
//!
//! Experiments' values come from their commits' messages (see [`crate::summary`]), so a
//! thousand experiments are a thousand small reads; the baseline's from the files in its
//! commit; the workspace's from the files on disk.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use git2::Repository;
use mlops_core::Workspace;
use mlops_pipeline::spec::Pipeline;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::refs;
use crate::summary::State;

/// Settings for `mlops exp show`.
#[derive(Debug, Clone, Default)]
pub struct ShowOptions {
    /// Experiments of every baseline, not only HEAD's.
    pub all_baselines: bool,
    /// Drop the columns whose value is the same in every row.
    pub only_changed: bool,
    /// Sort experiments by this column (`key` or `file:key`).
    pub sort_by: Option<String>,
    pub descending: bool,
    /// Keep only the columns matching this regular expression (by `file:key` or key)...
    pub keep: Option<String>,
    /// ...or drop those matching this one (`keep` wins where both match).
    pub drop: Option<String>,
    /// Show only the experiments for which this condition holds (`roc_auc > 0.8 and
    /// train.lr < 0.01`), in the language of the gates.
    pub filter: Option<String>,
}

/// What a row shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Workspace,
    Baseline,
    Experiment,
}

/// One row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: String,
    pub kind: Kind,
    /// The commit (short), empty for the workspace.
    pub rev: String,
    /// The experiment's baseline commit (short).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// Commit time, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// `file:key` -> value.
    pub params: BTreeMap<String, Value>,
    /// `file:key` -> value.
    pub metrics: BTreeMap<String, Value>,
    /// The `file:key`s the experiment's `-S` changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
}

/// The table.
#[derive(Debug, Clone, Serialize)]
pub struct ShowReport {
    /// Metric columns (`file:key`), then param columns, in order.
    pub metrics: Vec<String>,
    pub params: Vec<String>,
    pub rows: Vec<Row>,
    /// The column experiments are sorted by, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
}

/// Builds the table.
///
/// # Errors
/// An unknown `--sort-by` column (naming the known ones), git and file errors.
pub fn show(ws: &Workspace, options: &ShowOptions) -> Result<ShowReport> {
    let opened = mlops_meta::history::Repo::open(ws)?;
    let (repo, prefix) = (opened.git(), opened.prefix().to_owned());
    let pipeline = if ws.root().join(mlops_pipeline::spec::PIPELINE_FILE).exists() {
        Some(Pipeline::load(ws.root())?)
    } else {
        None
    };
    let (params_files, metrics_files) = files_of(pipeline.as_ref());
    let mut rows = vec![Row {
        name: "workspace".into(),
        kind: Kind::Workspace,
        rev: String::new(),
        baseline: None,
        created: None,
        state: None,
        params: values(&params_files, |rel| read_file(&ws.root().join(rel))),
        metrics: values(&metrics_files, |rel| read_file(&ws.root().join(rel))),
        changed: Vec::new(),
    }];
    let head = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    if let Some(head) = &head {
        let tree = head.tree()?;
        let at = |rel: &Path| read_blob(repo, &tree, &prefix.join(rel));
        rows.push(Row {
            name: baseline_name(repo, head),
            kind: Kind::Baseline,
            rev: short(&head.id().to_string()),
            baseline: None,
            created: Some(head.time().seconds()),
            state: None,
            params: values(&params_files, at),
            metrics: values(&metrics_files, at),
            changed: Vec::new(),
        });
    }
    let head_id = head.as_ref().map(|h| h.id().to_string());
    let mut experiments: Vec<Row> = refs::list(repo)?
        .into_iter()
        .filter(|f| options.all_baselines || Some(&f.summary.baseline) == head_id.as_ref())
        .map(|f| Row {
            name: f.summary.name.clone(),
            kind: Kind::Experiment,
            rev: short(&f.commit.to_string()),
            baseline: Some(short(&f.summary.baseline)),
            created: Some(f.time),
            state: Some(f.summary.state),
            changed: f.summary.overrides.keys().cloned().collect(),
            params: if f.summary.state == State::Done {
                f.summary.params
            } else {
                f.summary.overrides
            },
            metrics: f.summary.metrics,
        })
        .collect();
    // Newest first, as DVC lists them; a sort key reorders below.
    experiments.sort_by(|a, b| b.created.cmp(&a.created).then(a.name.cmp(&b.name)));
    rows.extend(experiments);

    if let Some(text) = &options.filter {
        filter_experiments(&mut rows, text)?;
    }
    let (metrics, params) = shown_columns(&rows, options)?;
    let sort_by = match &options.sort_by {
        None => None,
        Some(wanted) => Some(find_column(wanted, &metrics, &params)?),
    };
    if let Some(column) = &sort_by {
        sort_experiments(&mut rows, column, options.descending);
    }
    Ok(ShowReport {
        metrics,
        params,
        rows,
        sort_by,
    })
}

/// The metric and param columns shown: those with a value in some row, less the constant ones
/// with `--only-changed`, filtered by `--keep` and `--drop`.
fn shown_columns(rows: &[Row], options: &ShowOptions) -> Result<(Vec<String>, Vec<String>)> {
    let mut metrics: Vec<String> = columns(rows, |r| &r.metrics);
    let mut params: Vec<String> = columns(rows, |r| &r.params);
    if options.only_changed {
        metrics.retain(|c| varies(rows, c, |r| &r.metrics));
        params.retain(|c| varies(rows, c, |r| &r.params));
    }
    let pattern = |text: &Option<String>, flag: &str| -> Result<Option<regex::Regex>> {
        text.as_deref()
            .map(|p| {
                regex::Regex::new(p).map_err(|e| Error::BadPattern {
                    flag: flag.to_owned(),
                    pattern: p.to_owned(),
                    message: e.to_string(),
                })
            })
            .transpose()
    };
    let (keep, drop) = (
        pattern(&options.keep, "--keep")?,
        pattern(&options.drop, "--drop")?,
    );
    let shown = |column: &String| {
        let key = column.split_once(':').map_or(column.as_str(), |(_, k)| k);
        let matches = |re: &Option<regex::Regex>| {
            re.as_ref()
                .is_some_and(|re| re.is_match(column) || re.is_match(key))
        };
        match (&keep, &drop) {
            (Some(_), _) if matches(&keep) => true,
            (Some(_), None) => false,
            (_, Some(_)) => !matches(&drop),
            (None, None) => true,
        }
    };
    metrics.retain(|c| shown(c));
    params.retain(|c| shown(c));
    Ok((metrics, params))
}

/// Keeps the experiment rows for which `text` holds; a name is a column's key or `file:key`
/// (with `:` written `.`, as `metrics.json.auc` would be ambiguous only when keys clash).
fn filter_experiments(rows: &mut Vec<Row>, text: &str) -> Result<()> {
    struct Columns<'a>(&'a Row, &'a [String]);
    impl mlops_expr::Resolver for Columns<'_> {
        fn resolve(&self, path: &mlops_expr::Path) -> mlops_expr::Resolved {
            let wanted = path.text.as_str();
            let Some(column) = self.1.iter().find(|c| {
                c.as_str() == wanted || c.split_once(':').is_some_and(|(_, key)| key == wanted)
            }) else {
                return mlops_expr::Resolved::Unknown;
            };
            match value_of(self.0, column) {
                Some(Value::Number(n)) => n.as_f64().map_or_else(
                    || mlops_expr::Resolved::Undefined("not a number".into()),
                    |n| mlops_expr::Resolved::Value(mlops_expr::Value::Number(n)),
                ),
                Some(Value::Bool(b)) => mlops_expr::Resolved::Value(mlops_expr::Value::Bool(*b)),
                Some(Value::String(s)) => {
                    mlops_expr::Resolved::Value(mlops_expr::Value::Text(s.clone()))
                }
                Some(other) => {
                    mlops_expr::Resolved::Value(mlops_expr::Value::Text(other.to_string()))
                }
                None => mlops_expr::Resolved::Undefined(format!("no `{column}` here")),
            }
        }
    }
    let bad = |e: mlops_expr::ParseError| Error::BadFilter {
        message: e.to_string(),
    };
    let expr = mlops_expr::Expr::condition(text).map_err(bad)?;
    let mut all: Vec<String> = columns(rows, |r| &r.metrics);
    all.extend(columns(rows, |r| &r.params));
    let mut kept = Vec::with_capacity(rows.len());
    for row in rows.drain(..) {
        let keep = row.kind != Kind::Experiment
            || expr.evaluate(&Columns(&row, &all)).map_err(bad)?.holds();
        if keep {
            kept.push(row);
        }
    }
    *rows = kept;
    Ok(())
}

/// Sorts the experiment rows (the workspace and baseline stay on top) by `column`; rows
/// without a value go last, whatever the order.
fn sort_experiments(rows: &mut [Row], column: &str, descending: bool) {
    let first_experiment = rows
        .iter()
        .position(|r| r.kind == Kind::Experiment)
        .unwrap_or(rows.len());
    rows[first_experiment..].sort_by(|a, b| match (value_of(a, column), value_of(b, column)) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (Some(_), None) => std::cmp::Ordering::Less,
        (Some(x), Some(y)) if descending => compare(x, y).reverse(),
        (Some(x), Some(y)) => compare(x, y),
    });
}

/// Every param of the params files the stages read, and every metric of the metrics files
/// they write, as `file:key` -> value, in the workspace at `root` (what an experiment records,
/// and what the workspace row shows).
pub(crate) fn values_in(
    root: &Path,
    pipeline: &Pipeline,
) -> (BTreeMap<String, Value>, BTreeMap<String, Value>) {
    let (params, metrics) = files_of(Some(pipeline));
    let read = |rel: &Path| read_file(&root.join(rel));
    (values(&params, read), values(&metrics, read))
}

/// The params files the stages read and the metrics files they write.
fn files_of(pipeline: Option<&Pipeline>) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut params = BTreeSet::new();
    let mut metrics = BTreeSet::new();
    for stage in pipeline.map(|p| p.stages.as_slice()).unwrap_or_default() {
        params.extend(stage.params.iter().map(|p| p.file.clone()));
        metrics.extend(stage.metrics.iter().cloned());
    }
    (params.into_iter().collect(), metrics.into_iter().collect())
}

fn read_file(path: &Path) -> Option<String> {
    fs_err::read_to_string(path).ok()
}

fn read_blob(repo: &Repository, tree: &git2::Tree<'_>, path: &Path) -> Option<String> {
    let entry = tree.get_path(path).ok()?;
    let blob = entry.to_object(repo).ok()?.peel_to_blob().ok()?;
    Some(String::from_utf8_lossy(blob.content()).into_owned())
}

/// Every `file:key` of the files, flattened, as `read` finds them.
fn values(files: &[PathBuf], read: impl Fn(&Path) -> Option<String>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for rel in files {
        let Some(text) = read(rel) else { continue };
        let Ok(doc) = mlops_pipeline::params::parse(rel, &text) else {
            continue;
        };
        for (key, value) in mlops_pipeline::params::flatten(&doc) {
            out.insert(
                format!("{}:{key}", rel.display()),
                serde_json::to_value(value).unwrap_or_default(),
            );
        }
    }
    out
}

/// The branch HEAD is on, else the short commit.
fn baseline_name(repo: &Repository, head: &git2::Commit<'_>) -> String {
    repo.head()
        .ok()
        .filter(git2::Reference::is_branch)
        .and_then(|h| h.shorthand().map(str::to_owned))
        .unwrap_or_else(|| short(&head.id().to_string()))
}

fn short(hex: &str) -> String {
    hex.chars().take(7).collect()
}

fn columns(rows: &[Row], of: impl Fn(&Row) -> &BTreeMap<String, Value>) -> Vec<String> {
    let set: BTreeSet<&String> = rows.iter().flat_map(|r| of(r).keys()).collect();
    set.into_iter().cloned().collect()
}

fn varies(rows: &[Row], column: &str, of: impl Fn(&Row) -> &BTreeMap<String, Value>) -> bool {
    let mut seen = rows.iter().map(|r| of(r).get(column));
    let first = seen.next().flatten();
    seen.any(|v| v != first)
}

/// The column `wanted` names: `file:key`, or a bare key that one column has.
fn find_column(wanted: &str, metrics: &[String], params: &[String]) -> Result<String> {
    let all: Vec<&String> = metrics.iter().chain(params).collect();
    if let Some(exact) = all.iter().find(|c| c.as_str() == wanted) {
        return Ok((*exact).clone());
    }
    let by_key: Vec<&&String> = all
        .iter()
        .filter(|c| c.split_once(':').is_some_and(|(_, key)| key == wanted))
        .collect();
    match by_key.as_slice() {
        [one] => Ok((**one).clone()),
        [] => Err(Error::UnknownColumn {
            column: wanted.to_owned(),
            suggestion: mlops_core::suggest::closest(
                wanted,
                all.iter()
                    .map(|c| c.split_once(':').map_or(c.as_str(), |(_, k)| k)),
            ),
        }),
        several => Err(Error::AmbiguousParam {
            key: wanted.to_owned(),
            files: several
                .iter()
                .map(|c| {
                    c.split_once(':')
                        .map_or(String::new(), |(f, _)| f.to_owned())
                })
                .collect(),
        }),
    }
}

fn value_of<'a>(row: &'a Row, column: &str) -> Option<&'a Value> {
    row.metrics
        .get(column)
        .or_else(|| row.params.get(column))
        .filter(|v| !v.is_null())
}

/// Numbers by value, then anything else by its text.
fn compare(x: &Value, y: &Value) -> std::cmp::Ordering {
    match (x.as_f64(), y.as_f64()) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => x.to_string().cmp(&y.to_string()),
    }
}
