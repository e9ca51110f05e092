//! `mlops.yaml`: the stages of a pipeline, parsed, expanded (`foreach`, `matrix`) and
//! interpolated (`${...}` from params files and loop variables) into plain [`Stage`]s.
//!
//! ```yaml
//! stages:
//!   prepare:
//!     cmd: python prepare.py --split ${prepare.split}
//!     deps: [data/raw, prepare.py]
//!     params: [prepare.split]          # keys of params.yaml, or `- other.yaml: [keys]`
//!     outs: [data/prepared]
//!   train:
//!     foreach: [eu, us]                # one stage per item: train@eu, train@us
//!     do:
//!       cmd: python train.py --region ${item}
//!       deps: [data/prepared]
//!       outs: ["models/${item}"]        # quoted: `{` inside `[...]` is YAML syntax
//!       metrics: ["reports/${item}.json"]
//! ```

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use mlops_core::yaml::{Mapping, Value};

use mlops_core::pointer::pointer_path;
use mlops_core::scan::find_pointers;

use crate::cluster::{Executor, RESOURCE_KEYS, Resources, ResourcesError};
use crate::env::{ENV_KEYS, EnvSpec, EnvSpecError};
use crate::error::{Error, Result, nearest};
use crate::params::{DEFAULT_PARAMS, ParamsFiles, lookup, scalar_text};

/// The pipeline file at the workspace root.
pub const PIPELINE_FILE: &str = "mlops.yaml";

/// The keys of a stage body (and of a `foreach` stage's `do`).
const BODY_KEYS: [&str; 11] = [
    "cmd",
    "deps",
    "params",
    "outs",
    "metrics",
    "wdir",
    "always_changed",
    "desc",
    "executor",
    "resources",
    "env",
];
/// The keys of the top level.
const TOP_KEYS: [&str; 3] = ["stages", "plots", "executor"];
/// The keys that repeat a stage.
const LOOP_KEYS: [&str; 3] = ["foreach", "do", "matrix"];
/// The most stages one `matrix` may make: far above any real sweep, far below what a few hundred
/// bytes of hostile `mlops.yaml` could make mlops build (8 axes of 10 values are 10^8 stages).
const MAX_MATRIX_STAGES: usize = 10_000;

/// A parameter a stage reads: a dotted key in a params file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParamRef {
    /// Workspace-relative.
    pub file: PathBuf,
    pub key: String,
}

/// One stage, fully expanded; every path is relative to the workspace root.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: String,
    pub cmd: String,
    /// Where `cmd` runs.
    pub wdir: PathBuf,
    pub deps: Vec<PathBuf>,
    pub params: Vec<ParamRef>,
    /// Outputs stored in the cache.
    pub outs: Vec<PathBuf>,
    /// Small JSON or YAML outputs kept in git.
    pub metrics: Vec<PathBuf>,
    pub always_changed: bool,
    pub desc: Option<String>,
    /// Where the stage runs, when it says (`executor:`); else the pipeline's.
    pub executor: Option<Executor>,
    /// What it asks a cluster's scheduler for.
    pub resources: Resources,
    /// What of its environment is recorded beside the host and lock files, and whether a
    /// change to it reruns the stage (`env:`).
    pub env: EnvSpec,
}

impl Stage {
    /// Every output path, cached or not.
    pub(crate) fn all_outs(&self) -> impl Iterator<Item = &PathBuf> {
        self.outs.iter().chain(&self.metrics)
    }

    /// Refuses an output equal to, inside or containing a path tracked with a pointer file: its
    /// two owners would fight over it (`run` rewrites it, `checkout` restores the pointer's
    /// version) and the run's `.gitignore` entry would not cover what the pointer tracks.
    ///
    /// It walks output directories for pointer files, so `mlops run` calls it only for a stage
    /// it is about to run or restore, never when loading the pipeline.
    pub(crate) fn refuse_tracked_outputs(&self, root: &Path) -> Result<()> {
        for out in self.all_outs() {
            let beside = out
                .ancestors()
                .filter(|a| !a.as_os_str().is_empty())
                .map(pointer_path)
                .find(|pointer| root.join(pointer).is_file());
            let below = || -> Result<Option<PathBuf>> {
                if root.join(out).is_dir() {
                    Ok(find_pointers(root, out)?.into_iter().next())
                } else {
                    Ok(None)
                }
            };
            if let Some(pointer) = beside.map_or_else(below, |p| Ok(Some(p)))? {
                return Err(Error::OutputTracked {
                    stage: self.name.clone(),
                    out: out.clone(),
                    pointer,
                });
            }
        }
        Ok(())
    }
}

/// The stages of `mlops.yaml`, in the order they are declared.
#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    pub stages: Vec<Stage>,
    /// The `plots:` section.
    pub plots: Vec<crate::plotdefs::PlotDef>,
    /// Where stages run unless they say (`executor:` at the top level).
    pub executor: Option<Executor>,
}

impl Pipeline {
    /// Reads `mlops.yaml` at the workspace root. Outputs that overlap data tracked with
    /// `mlops add` are refused when a stage runs (`Stage::refuse_tracked_outputs`).
    pub fn load(root: &Path) -> Result<Self> {
        let text = match fs_err::read_to_string(root.join(PIPELINE_FILE)) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NoPipeline {
                    root: root.to_owned(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        Self::parse(root, &text)
    }

    /// The stage and output that the workspace path `path` equals, lies inside or contains.
    pub(crate) fn output_overlapping(&self, path: &Path) -> Option<(&Stage, &PathBuf)> {
        self.stages
            .iter()
            .flat_map(|stage| stage.all_outs().map(move |out| (stage, out)))
            .find(|(_, out)| out.starts_with(path) || path.starts_with(out))
    }

    /// Parses pipeline text; params files are read relative to `root`.
    pub fn parse(root: &Path, text: &str) -> Result<Self> {
        Self::parse_with(root, text, false)
    }

    /// Parses pipeline text for the stages' outputs only: commands, deps and `params` lists
    /// are not read (nor checked), and params files are read only where an output path names a
    /// value from one. Stages come back with an empty `cmd`, `deps` and `params`.
    fn parse_outputs(root: &Path, text: &str) -> Result<Self> {
        Self::parse_with(root, text, true)
    }

    fn parse_with(root: &Path, text: &str, outs_only: bool) -> Result<Self> {
        let file = PathBuf::from(PIPELINE_FILE);
        let doc: Value = mlops_core::yaml::from_str(text).map_err(|message| Error::Syntax {
            file: file.clone(),
            message,
        })?;
        let invalid = |message: &str| Error::Invalid {
            file: file.clone(),
            message: message.to_owned(),
        };
        let top = match &doc {
            Value::Mapping(map) => map,
            Value::Null => return Ok(Self::default()),
            _ => {
                return Err(invalid(
                    "the top level must be a mapping with a `stages` key",
                ));
            }
        };
        for key in top.keys() {
            let key = key_text(key);
            if !TOP_KEYS.contains(&key.as_str()) {
                return Err(Error::UnknownKey {
                    file,
                    place: "the top level".into(),
                    key: key.clone(),
                    suggestion: nearest(&key, TOP_KEYS),
                });
            }
        }
        let executor = match top.get("executor") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                executor(value).ok_or_else(|| invalid("`executor` must be `local` or `slurm`"))?,
            ),
        };
        let plots = match top.get("plots") {
            Some(plots) if !outs_only => crate::plotdefs::parse(&file, plots)?,
            _ => Vec::new(),
        };
        let stages = match top.get("stages") {
            Some(Value::Mapping(stages)) => stages,
            Some(Value::Null) | None => {
                return Ok(Self {
                    stages: Vec::new(),
                    plots,
                    executor,
                });
            }
            Some(_) => {
                return Err(invalid(
                    "`stages` must be a mapping of stage names to stages",
                ));
            }
        };
        let mut parser = Parser {
            file,
            root: root.to_owned(),
            params: ParamsFiles::new(root),
            stages: Vec::new(),
            declared: HashSet::new(),
            names: HashSet::new(),
            outs_only,
        };
        for (name, body) in stages {
            let name = key_text(name);
            parser.stage(&name, body)?;
        }
        Ok(Self {
            stages: parser.stages,
            plots,
            executor,
        })
    }

    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }
}

struct Parser {
    file: PathBuf,
    root: PathBuf,
    params: ParamsFiles,
    stages: Vec<Stage>,
    /// The names under `stages:` seen so far (a `foreach`'s base name, not its `name@item`s).
    declared: HashSet<String>,
    /// The names of `stages` (expanded): sets, so that many stages do not cost O(n²) checks.
    names: HashSet<String>,
    /// Read only the outputs (see [`Pipeline::parse_outputs`]).
    outs_only: bool,
}

/// Loop variables of one expanded stage: `${item}`, `${item.x}`, `${key}`.
#[derive(Default)]
struct Vars {
    item: Option<Value>,
    key: Option<String>,
}

impl Parser {
    fn bad(&self, stage: &str, key: &str, message: impl Into<String>) -> Error {
        Error::BadValue {
            file: self.file.clone(),
            stage: stage.to_owned(),
            key: key.to_owned(),
            message: message.into(),
        }
    }

    fn stage(&mut self, name: &str, body: &Value) -> Result<()> {
        if name.is_empty() || name.contains(['@', '/', '\\', ' ', ':']) {
            return Err(Error::Invalid {
                file: self.file.clone(),
                message: format!(
                    "stage name `{name}` must be non-empty without `@`, `/`, `\\`, `:` or spaces"
                ),
            });
        }
        // Declared names hold no `@`, so a second declaration of one is the only way to repeat
        // it, or to repeat the `name@...` stages a loop made from it.
        if !self.declared.insert(name.to_owned()) {
            return Err(Error::Invalid {
                file: self.file.clone(),
                message: format!("stage `{name}` is declared twice"),
            });
        }
        let Value::Mapping(map) = body else {
            return Err(self.bad(
                name,
                "stage",
                "must be a mapping of keys such as `cmd`, `deps` and `outs`",
            ));
        };
        self.check_keys(name, map, true)?;
        if let Some(items) = map.get("foreach") {
            self.foreach(name, map, items)
        } else if let Some(matrix) = map.get("matrix") {
            self.matrix(name, map, matrix)
        } else {
            if map.contains_key("do") {
                return Err(self.bad(name, "do", "goes with `foreach`"));
            }
            self.instance(name, map, &Vars::default())
        }
    }

    /// `foreach` + `do`: one stage per item of a list, or per entry of a mapping.
    fn foreach(&mut self, name: &str, map: &Mapping, items: &Value) -> Result<()> {
        let Some(Value::Mapping(template)) = map.get("do") else {
            return Err(self.bad(
                name,
                "foreach",
                "needs a `do` mapping with the stage to repeat",
            ));
        };
        if let Some(extra) = map
            .keys()
            .map(key_text)
            .find(|k| k != "foreach" && k != "do" && k != "desc")
        {
            return Err(self.bad(
                name,
                &extra,
                "cannot stand beside `foreach`; put it under `do`",
            ));
        }
        self.check_keys(name, template, false)?;
        match items {
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    let suffix = scalar_text(item).unwrap_or_else(|| i.to_string());
                    self.instance(
                        &format!("{name}@{suffix}"),
                        template,
                        &Vars {
                            item: Some(item.clone()),
                            key: None,
                        },
                    )?;
                }
            }
            Value::Mapping(items) => {
                for (key, item) in items {
                    let key = key_text(key);
                    self.instance(
                        &format!("{name}@{key}"),
                        template,
                        &Vars {
                            item: Some(item.clone()),
                            key: Some(key.clone()),
                        },
                    )?;
                }
            }
            _ => return Err(self.bad(name, "foreach", "must be a list or a mapping")),
        }
        Ok(())
    }

    /// `matrix`: one stage per combination of the listed values.
    fn matrix(&mut self, name: &str, map: &Mapping, matrix: &Value) -> Result<()> {
        if map.contains_key("do") {
            return Err(self.bad(
                name,
                "do",
                "goes with `foreach`; with `matrix` write the stage's keys beside it",
            ));
        }
        let Value::Mapping(axes) = matrix else {
            return Err(self.bad(name, "matrix", "must map names to lists of values"));
        };
        // Counted before anything is built: the combinations grow as the product of the axes.
        let stages = axes
            .values()
            .filter_map(Value::as_sequence)
            .try_fold(1usize, |n, values| n.checked_mul(values.len()));
        if stages.is_none_or(|n| n > MAX_MATRIX_STAGES) {
            let count = stages.map_or_else(|| "more than 2^64".to_owned(), |n| n.to_string());
            return Err(self.bad(
                name,
                "matrix",
                format!(
                    "makes {count} stages, more than the {MAX_MATRIX_STAGES} one matrix may make; \
                     split it into several stages"
                ),
            ));
        }
        let mut combos: Vec<(Vec<String>, Mapping)> = vec![(Vec::new(), Mapping::new())];
        for (axis, values) in axes {
            let Value::Sequence(values) = values else {
                return Err(self.bad(
                    name,
                    "matrix",
                    format!("`{}` must be a list", key_text(axis)),
                ));
            };
            let mut next = Vec::new();
            for (labels, combo) in &combos {
                for (i, value) in values.iter().enumerate() {
                    let mut labels = labels.clone();
                    labels.push(scalar_text(value).unwrap_or_else(|| i.to_string()));
                    let mut combo = combo.clone();
                    combo.insert(axis.clone(), value.clone());
                    next.push((labels, combo));
                }
            }
            combos = next;
        }
        for (labels, combo) in combos {
            self.instance(
                &format!("{name}@{}", labels.join("-")),
                map,
                &Vars {
                    item: Some(Value::Mapping(combo)),
                    key: None,
                },
            )?;
        }
        Ok(())
    }

    /// Refuses keys a stage cannot have (`with_loops`: also allowing `foreach`, `do`, `matrix`).
    fn check_keys(&self, stage: &str, map: &Mapping, with_loops: bool) -> Result<()> {
        let loops: &[&str] = if with_loops { &LOOP_KEYS } else { &[] };
        let allowed = || BODY_KEYS.iter().chain(loops).copied();
        for key in map.keys().map(key_text) {
            if !allowed().any(|k| k == key) {
                return Err(Error::UnknownKey {
                    file: self.file.clone(),
                    place: format!("stage `{stage}`"),
                    suggestion: nearest(&key, allowed()),
                    key,
                });
            }
        }
        Ok(())
    }

    /// Builds one concrete stage from a body and its loop variables.
    fn instance(&mut self, name: &str, body: &Mapping, vars: &Vars) -> Result<()> {
        // `foreach: [1, "1"]` (or a matrix axis, or mapping keys, like it) would make two stages
        // of one name, one silently shadowing the other in the lock and the run cache.
        if let Some((base, suffix)) = name.split_once('@')
            && self.names.contains(name)
        {
            return Err(self.bad(
                base,
                // A matrix stage's body holds its `matrix`; a `foreach` stage's is its `do`.
                if body.contains_key("matrix") {
                    "matrix"
                } else {
                    "foreach"
                },
                format!(
                    "makes the stage `{name}` twice: two values read `{suffix}`; make them differ"
                ),
            ));
        }
        let wdir = match body.get("wdir") {
            None => PathBuf::new(),
            Some(value) => {
                let text = self.text(name, "wdir", value, vars)?;
                workspace_path(name, "wdir", Path::new(""), &text)?
            }
        };
        let cmd = match body.get("cmd") {
            _ if self.outs_only => String::new(),
            Some(Value::Sequence(parts)) if !parts.is_empty() => {
                let parts = parts
                    .iter()
                    .map(|p| self.text(name, "cmd", p, vars))
                    .collect::<Result<Vec<_>>>()?;
                parts.join(" && ")
            }
            Some(value @ Value::String(_)) => self.text(name, "cmd", value, vars)?,
            Some(_) => {
                return Err(self.bad(name, "cmd", "must be a command string or a list of them"));
            }
            None => return Err(self.bad(name, "cmd", "is missing: every stage needs a command")),
        };
        let outs = self.paths(name, "outs", body, &wdir, vars)?;
        let metrics = self.paths(name, "metrics", body, &wdir, vars)?;
        let (deps, params) = if self.outs_only {
            (Vec::new(), Vec::new())
        } else {
            (
                self.paths(name, "deps", body, &wdir, vars)?,
                self.params(name, body, &wdir, vars)?,
            )
        };
        let always_changed = match body.get("always_changed") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(self.bad(name, "always_changed", "must be true or false")),
        };
        let desc = body.get("desc").and_then(scalar_text);
        let executor = match body.get("executor") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                executor(value)
                    .ok_or_else(|| self.bad(name, "executor", "must be `local` or `slurm`"))?,
            ),
        };
        let resources = match body.get("resources") {
            None | Some(Value::Null) => Resources::default(),
            Some(value) => Resources::parse(value).map_err(|e| match e {
                ResourcesError::UnknownKey(key) => Error::UnknownKey {
                    file: self.file.clone(),
                    place: format!("`resources` of stage `{name}`"),
                    suggestion: nearest(&key, RESOURCE_KEYS),
                    key,
                },
                ResourcesError::BadValue { key, message } => {
                    self.bad(name, &format!("resources.{key}"), message)
                }
            })?,
        };
        let env = self.env(name, body)?;
        self.names.insert(name.to_owned());
        self.stages.push(Stage {
            name: name.to_owned(),
            cmd,
            wdir,
            deps,
            params,
            outs,
            metrics,
            always_changed,
            desc,
            executor,
            resources,
            env,
        });
        Ok(())
    }

    /// The stage's `env:`.
    fn env(&self, name: &str, body: &Mapping) -> Result<EnvSpec> {
        match body.get("env") {
            None | Some(Value::Null) => Ok(EnvSpec::default()),
            Some(value) => EnvSpec::parse(value).map_err(|e| match e {
                EnvSpecError::UnknownKey(key) => Error::UnknownKey {
                    file: self.file.clone(),
                    place: format!("`env` of stage `{name}`"),
                    suggestion: nearest(&key, ENV_KEYS),
                    key,
                },
                other => self.bad(name, "env", other.to_string()),
            }),
        }
    }

    fn paths(
        &mut self,
        stage: &str,
        key: &'static str,
        body: &Mapping,
        wdir: &Path,
        vars: &Vars,
    ) -> Result<Vec<PathBuf>> {
        let items = match body.get(key) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Sequence(items)) => items.clone(),
            Some(single @ Value::String(_)) => vec![single.clone()],
            Some(_) => return Err(self.bad(stage, key, "must be a list of paths")),
        };
        items
            .iter()
            .map(|item| {
                let text = self.text(stage, key, item, vars)?;
                let path = workspace_path(stage, key, wdir, &text)?;
                if key != "deps" && !self.outs_only {
                    // mlops deletes and writes outputs: they pass the workspace's one path check
                    // (not into `.git`, no symlinked parent leading out). Deps are only read,
                    // and may well live behind a symlink to a shared data directory.
                    mlops_core::safepath::check(&self.root, &path).map_err(|e| Error::BadPath {
                        stage: stage.to_owned(),
                        key,
                        path: PathBuf::from(&text),
                        problem: match e {
                            mlops_core::Error::UnsafePath { problem, .. } => {
                                format!("is refused: {problem}")
                            }
                            other => format!("cannot be checked: {other}"),
                        },
                    })?;
                }
                Ok(path)
            })
            .collect()
    }

    fn params(
        &mut self,
        stage: &str,
        body: &Mapping,
        wdir: &Path,
        vars: &Vars,
    ) -> Result<Vec<ParamRef>> {
        let items = match body.get("params") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Sequence(items)) => items.clone(),
            Some(_) => {
                return Err(self.bad(
                    stage,
                    "params",
                    "must be a list of keys, or of `file: [keys]`",
                ));
            }
        };
        let mut out = Vec::new();
        for item in &items {
            match item {
                Value::Mapping(files) => {
                    for (file, keys) in files {
                        let file = workspace_path(stage, "params", wdir, &key_text(file))?;
                        let keys = match keys {
                            Value::Sequence(keys) => keys.clone(),
                            single => vec![single.clone()],
                        };
                        for key in &keys {
                            let key = self.text(stage, "params", key, vars)?;
                            out.push(ParamRef {
                                file: file.clone(),
                                key,
                            });
                        }
                    }
                }
                key => {
                    let key = self.text(stage, "params", key, vars)?;
                    out.push(ParamRef {
                        file: wdir.join(DEFAULT_PARAMS),
                        key,
                    });
                }
            }
        }
        for param in &out {
            let found = self
                .params
                .get(&param.file)?
                .is_some_and(|doc| lookup(doc, &param.key).is_some());
            if !found {
                return Err(Error::MissingParam {
                    stage: stage.to_owned(),
                    file: param.file.clone(),
                    key: param.key.clone(),
                });
            }
        }
        Ok(out)
    }

    /// A scalar value as text, with `${...}` interpolated.
    fn text(&mut self, stage: &str, key: &str, value: &Value, vars: &Vars) -> Result<String> {
        let raw = scalar_text(value)
            .ok_or_else(|| self.bad(stage, key, "must be text, not a list or mapping"))?;
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| self.bad(stage, key, format!("has an unclosed `${{` in `{raw}`")))?;
            let expr = after[..end].trim();
            out.push_str(&self.resolve(stage, expr, vars)?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn resolve(&mut self, stage: &str, expr: &str, vars: &Vars) -> Result<String> {
        let found = if expr == "key" {
            vars.key.clone()
        } else if let Some(item) = &vars.item
            && (expr == "item" || expr.starts_with("item."))
        {
            let path = expr
                .strip_prefix("item")
                .unwrap_or_default()
                .trim_start_matches('.');
            let value = if path.is_empty() {
                Some(item)
            } else {
                lookup(item, path)
            };
            value.and_then(scalar_text)
        } else {
            let params = Path::new(DEFAULT_PARAMS);
            self.params
                .get(params)?
                .and_then(|doc| lookup(doc, expr))
                .and_then(scalar_text)
        };
        found.ok_or_else(|| Error::Interpolation {
            file: self.file.clone(),
            stage: stage.to_owned(),
            expr: expr.to_owned(),
            params: Some(PathBuf::from(DEFAULT_PARAMS)),
        })
    }
}

/// `local` or `slurm`.
fn executor(value: &Value) -> Option<Executor> {
    match value {
        Value::String(text) => Executor::parse(text),
        _ => None,
    }
}

fn key_text(key: &Value) -> String {
    scalar_text(key).unwrap_or_default()
}

/// `text` (relative to `wdir`) as a normalised workspace-relative path, refusing paths that are
/// absolute, leave the workspace, or enter `.mlops/`.
pub(crate) fn workspace_path(
    stage: &str,
    key: &'static str,
    wdir: &Path,
    text: &str,
) -> Result<PathBuf> {
    let bad = |problem: &str| Error::BadPath {
        stage: stage.to_owned(),
        key,
        path: PathBuf::from(text),
        problem: problem.to_owned(),
    };
    let path = Path::new(text);
    if text.is_empty() {
        return Err(bad("is empty"));
    }
    if path.is_absolute() {
        return Err(bad("is absolute; use a path relative to the workspace"));
    }
    let mut out = PathBuf::new();
    for component in wdir.join(path).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return Err(bad("leaves the workspace"));
                }
            }
            Component::Normal(part) => out.push(part),
            Component::RootDir | Component::Prefix(_) => return Err(bad("is absolute")),
        }
    }
    if out.components().next() == Some(Component::Normal(".mlops".as_ref())) {
        return Err(bad("is inside `.mlops/`, which mlops manages itself"));
    }
    if out.as_os_str().is_empty() && key != "wdir" {
        return Err(bad("is the workspace root itself"));
    }
    Ok(out)
}

/// What [`refuse_outputs`] could check.
#[derive(Debug)]
pub enum OutputsCheck {
    /// No target overlaps a stage's output (or there is no `mlops.yaml`).
    Clear,
    /// `mlops.yaml` could not be read or parsed, so nothing was checked.
    Skipped(Error),
}

/// Refuses to track with `mlops add` any of `targets` (workspace-relative) that overlaps an
/// output of a stage in `mlops.yaml`, if there is one: `mlops.lock` tracks those.
///
/// Only the stages' outputs are read: a pipeline problem elsewhere (a command, a missing params
/// file, another stage's overlap) is for `mlops run` to report, and a `mlops.yaml` that cannot
/// be parsed at all does not stop `add` ([`OutputsCheck::Skipped`]).
pub fn refuse_outputs(root: &Path, targets: &[PathBuf]) -> Result<OutputsCheck> {
    let text = match fs_err::read_to_string(root.join(PIPELINE_FILE)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(OutputsCheck::Clear),
        Err(e) => return Ok(OutputsCheck::Skipped(e.into())),
    };
    let pipeline = match Pipeline::parse_outputs(root, &text) {
        Ok(pipeline) => pipeline,
        Err(e) => return Ok(OutputsCheck::Skipped(e)),
    };
    for target in targets {
        if let Some((stage, out)) = pipeline.output_overlapping(target) {
            return Err(Error::AddsOutput {
                path: target.clone(),
                stage: stage.name.clone(),
                out: out.clone(),
            });
        }
    }
    Ok(OutputsCheck::Clear)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str, params: &str) -> Result<Pipeline> {
        let dir = tempfile::tempdir().expect("tempdir");
        fs_err::write(dir.path().join("params.yaml"), params).expect("write");
        Pipeline::parse(dir.path(), yaml)
    }

    #[test]
    fn plain_foreach_and_matrix_stages() {
        let yaml = "stages:\n  prep:\n    cmd: run ${prep.split}\n    deps: [raw]\n    params: [prep.split]\n    outs: [out]\n  train:\n    foreach: [eu, us]\n    do:\n      cmd: train ${item}\n      outs:\n      - models/${item}\n  grid:\n    matrix: {lr: [1, 2], depth: [3]}\n    cmd: fit ${item.lr} ${item.depth}\n    outs:\n    - grid/${item.lr}-${item.depth}\n  other:\n    cmd: y\n    wdir: sub\n    deps: [raw]\n";
        let pipeline = parse(yaml, "prep:\n  split: 0.2\n").expect("parse");
        let names: Vec<_> = pipeline.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "prep", "train@eu", "train@us", "grid@1-3", "grid@2-3", "other"
            ]
        );
        let prep = &pipeline.stages[0];
        assert_eq!(prep.cmd, "run 0.2");
        assert_eq!(prep.params[0].file, PathBuf::from("params.yaml"));
        let other = &pipeline.stages[5];
        assert_eq!(
            (other.wdir.as_path(), other.deps[0].as_path()),
            (Path::new("sub"), Path::new("sub/raw"))
        );
        assert_eq!(pipeline.stages[2].outs, [PathBuf::from("models/us")]);
        assert_eq!(pipeline.stages[4].cmd, "fit 2 3");
    }

    #[test]
    fn errors_name_the_stage_and_key() {
        let err = parse("stages:\n  a:\n    cmd: x\n    dep: [y]\n", "").expect_err("unknown key");
        assert_eq!(
            err.to_string(),
            "unknown key `dep` in stage `a` of `mlops.yaml`; did you mean `deps`?"
        );
        let err = parse("stages:\n  a:\n    cmd: x ${nope.x}\n", "").expect_err("interp");
        assert!(
            err.to_string()
                .starts_with("stage `a` in `mlops.yaml`: `${nope.x}` names nothing"),
            "{err}"
        );
        let err =
            parse("stages:\n  a:\n    cmd: x\n    outs: [../elsewhere]\n", "").expect_err("path");
        assert_eq!(
            err.to_string(),
            "stage `a`: outs path `../elsewhere` leaves the workspace"
        );
        let err = parse(
            "stages:\n  a:\n    cmd: x\n    outs: [.git/hooks/pre-commit]\n",
            "",
        )
        .expect_err("git");
        assert_eq!(
            err.to_string(),
            "stage `a`: outs path `.git/hooks/pre-commit` is refused: it points into `.git`, which \
             mlops never writes"
        );
        let err = parse(
            "stages:\n  a:\n    cmd: x\n    params: [train.lr]\n",
            "train: {}\n",
        )
        .expect_err("param");
        assert_eq!(
            err.to_string(),
            "stage `a`: param `train.lr` is not in `params.yaml`"
        );
        let err = parse(
            "stages:\n  t:\n    foreach: [1, \"1\"]\n    do:\n      cmd: x ${item}\n",
            "",
        )
        .expect_err("twice");
        assert_eq!(
            err.to_string(),
            "stage `t` in `mlops.yaml`: `foreach` makes the stage `t@1` twice: two values read \
             `1`; make them differ"
        );
        let err = parse(
            "stages:\n  g:\n    matrix: {a: [1, \"1\"]}\n    cmd: x\n",
            "",
        )
        .expect_err("twice");
        assert!(
            err.to_string()
                .contains("`matrix` makes the stage `g@1` twice"),
            "{err}"
        );
        let err = parse("stages:\n  a: [\n", "").expect_err("syntax");
        assert!(err.to_string().contains("line"), "{err}");
    }
}
