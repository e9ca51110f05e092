//! The errors of `mlops-exp`: each names the override, file or key at fault.

/// What can go wrong with experiments.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("`-S {arg}`: {reason}")]
    BadOverride { arg: String, reason: String },
    #[error("`{key}` is not in `{file}`{}", hint(suggestion.as_deref(), key))]
    UnknownParam {
        file: String,
        key: String,
        suggestion: Option<String>,
    },
    #[error("`{key}` is already in `{file}`: `{key}=...` sets it, `++{key}=...` adds or sets")]
    ParamExists { file: String, key: String },
    #[error("`~{key}=...`: `{key}` in `{file}` holds another value, so it is not deleted")]
    DeleteMismatch { file: String, key: String },
    #[error("{file}: {message}")]
    ParamsFile { file: String, message: String },
    #[error(
        "the overrides expand to more than {max} combinations: sweep fewer values, or sample some with --random N"
    )]
    TooManyCombinations { max: usize },
    #[error("`{key}` is in several params files ({}): name one, as `FILE:{key}=...`", files.join(", "))]
    AmbiguousParam { key: String, files: Vec<String> },
    #[error("`-S {arg}`: {reason}")]
    WrongType { arg: String, reason: String },
    #[error("no experiment named `{name}`{}", if known.is_empty() { String::new() } else { format!(" (known: {})", known.join(", ")) })]
    UnknownExperiment { name: String, known: Vec<String> },
    #[error("`{name}` names several experiments: {}; give the full ref", refs.join(", "))]
    AmbiguousExperiment { name: String, refs: Vec<String> },
    #[error(
        "an experiment named `{name}` already exists for this commit; --force replaces it, or pick another --name"
    )]
    ExperimentExists { name: String },
    #[error(
        "`{name}` is not an experiment name: use letters, digits, `-`, `_` and `.`, starting with a letter or digit"
    )]
    BadName { name: String },
    #[error("experiments start from a commit: `git commit` first")]
    NoCommit,
    #[error(
        "`{path}` has changes that are neither committed nor the experiment's: commit or stash them, or --force replaces them"
    )]
    WouldOverwrite { path: String },
    #[error("no column `{column}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownColumn {
        column: String,
        suggestion: Option<String>,
    },
    #[error("plot `{plot}`: no template `{template}` (templates: {})", crate::plots::TEMPLATES.join(", "))]
    UnknownTemplate { template: String, plot: String },
    #[error("{source_name}: {message}")]
    PlotFile {
        source_name: String,
        message: String,
    },
    #[error("`{}` has no column `{column}` (it has: {})", file.display(), available.join(", "))]
    PlotColumn {
        file: std::path::PathBuf,
        column: String,
        available: Vec<String>,
    },
    #[error("`{flag} {pattern}` is not a regular expression: {message}")]
    BadPattern {
        flag: String,
        pattern: String,
        message: String,
    },
    #[error("--where: {message}")]
    BadFilter { message: String },
    #[error("branch `{branch}` already exists")]
    BranchExists { branch: String },
    #[error("`{rev}`: {message}")]
    Commit { rev: String, message: String },
    #[error(transparent)]
    Git(#[from] git2::Error),
    #[error(transparent)]
    Core(#[from] mlops_core::Error),
    #[error(transparent)]
    Pipeline(#[from] mlops_pipeline::Error),
    #[error(transparent)]
    Meta(#[from] mlops_meta::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What to say after an unknown key: the closest known one, and how to add a new one.
fn hint(suggestion: Option<&str>, key: &str) -> String {
    match suggestion {
        Some(s) => format!(": did you mean `{s}`? (`+{key}=...` adds a new key)"),
        None => format!(" (`+{key}=...` adds a new key)"),
    }
}
