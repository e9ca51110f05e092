//! The error type of `mlops-pipeline`: each variant names the file, stage, key or path involved.

use std::path::PathBuf;

/// Everything that can go wrong with a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Core(#[from] mlops_core::Error),

    #[error(transparent)]
    Io(#[from] std::io::Error),

    #[error("no `mlops.yaml` in `{}`", root.display())]
    NoPipeline { root: PathBuf },

    #[error("invalid YAML in `{}`: {message}", file.display())]
    Syntax { file: PathBuf, message: String },

    #[error("`{}`: {message}", file.display())]
    Invalid { file: PathBuf, message: String },

    #[error("unknown key `{key}` in {place} of `{}`{}", file.display(), suggest(.suggestion.as_deref()))]
    UnknownKey {
        file: PathBuf,
        place: String,
        key: String,
        suggestion: Option<String>,
    },

    #[error("stage `{stage}` in `{}`: `{key}` {message}", file.display())]
    BadValue {
        file: PathBuf,
        stage: String,
        key: String,
        message: String,
    },

    #[error("stage `{stage}` in `{}`: `${{{expr}}}` names nothing{}", file.display(), context(.params.as_ref()))]
    Interpolation {
        file: PathBuf,
        stage: String,
        expr: String,
        params: Option<PathBuf>,
    },

    #[error("stage `{stage}`: param `{key}` is not in `{}`", file.display())]
    MissingParam {
        stage: String,
        file: PathBuf,
        key: String,
    },

    #[error("stage `{stage}`: {key} path `{}` {problem}", path.display())]
    BadPath {
        stage: String,
        key: &'static str,
        path: PathBuf,
        problem: String,
    },

    #[error("stages `{first}` and `{second}` both write `{}`", path.display())]
    DuplicateOut {
        path: PathBuf,
        first: String,
        second: String,
    },

    #[error(
        "stage `{stage}` writes `{}`, which overlaps data tracked with `mlops add` by `{}`",
        out.display(),
        pointer.display()
    )]
    OutputTracked {
        stage: String,
        out: PathBuf,
        pointer: PathBuf,
    },

    #[error(
        "`{}` overlaps `{}`, an output of stage `{stage}` in `mlops.yaml` (`mlops.lock` tracks it)",
        path.display(),
        out.display()
    )]
    AddsOutput {
        path: PathBuf,
        stage: String,
        out: PathBuf,
    },

    #[error("the stages form a cycle: {}", .stages.join(" -> "))]
    Cycle { stages: Vec<String> },

    #[error("stage `{stage}` depends on `{}`, which does not exist and no stage writes", path.display())]
    MissingDep { stage: String, path: PathBuf },

    #[error("no stage named `{name}`{}", suggest(.suggestion.as_deref()))]
    UnknownStage {
        name: String,
        suggestion: Option<String>,
    },

    #[error("invalid lock file `{}`: {message}", file.display())]
    BadLock { file: PathBuf, message: String },

    #[error("git error in `{}`", repo.display())]
    Git {
        repo: PathBuf,
        #[source]
        source: git2::Error,
    },

    #[error("revision `{rev}` not found")]
    UnknownRevision { rev: String },

    #[error(
        "stage `{stage}` of an earlier `mlops run` is still running (process group {pid}); wait \
         for it to end{}",
        stop_with(*.pid)
    )]
    StillRunning { stage: String, pid: u32 },

    #[error("`{command}` failed: {message}")]
    Slurm { command: String, message: String },

    #[error("stages {stages} run on Slurm (`executor: slurm`), but `sbatch` is not on the PATH")]
    NoSbatch { stages: String },

    #[error("cluster jobs submitted by `mlops run` have not been taken up yet: {jobs}")]
    JobsPending { jobs: String },

    #[error("`mlops stage exec` runs inside a Slurm job that `mlops run` submitted: {message}")]
    NotInJob { message: String },

    #[error(
        "the cluster's nodes do not share this workspace (`cluster.shared: false`), and no default remote is set to carry the stages' inputs and outputs"
    )]
    NoClusterRemote,

    #[error("line {line} of `{}` is not a run record: {message}", file.display())]
    BadRecord {
        file: PathBuf,
        line: usize,
        message: String,
    },

    #[error("no run recorded yet")]
    NoRuns,

    #[error("stage `{stage}` has fewer than two recorded runs to compare")]
    TooFewRuns { stage: String },

    #[error("no run {run}: {count} runs are recorded, and no git revision is named `{run}` either")]
    UnknownRun { run: String, count: usize },

    #[error("no run is recorded at `{rev}` (commit {commit})")]
    NoRunsAt { rev: String, commit: String },

    #[error("`{side}` names both run {side} and a git revision")]
    AmbiguousRun { side: String },

    #[error("run {run} is of stage `{stage}`, not of `{wanted}`")]
    RunOfOtherStage {
        run: usize,
        stage: String,
        wanted: String,
    },

    #[error("cannot start stage `{stage}`")]
    Spawn {
        stage: String,
        #[source]
        source: std::io::Error,
    },
}

fn suggest(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |s| format!("; did you mean `{s}`?"))
}

/// How to stop a process group: never for 0 or 1, where `kill -TERM -1` would signal every
/// process of the user (and 0 the shell's own group).
fn stop_with(pgid: u32) -> String {
    if pgid > 1 {
        format!(", or stop it with `kill -TERM -{pgid}`")
    } else {
        String::new()
    }
}

fn context(params: Option<&PathBuf>) -> String {
    params.map_or_else(String::new, |p| {
        format!(
            " (looked in `{}` and the stage's own variables)",
            p.display()
        )
    })
}

/// Result with the pipeline [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The candidate closest to `word` (edit distance at most 2, or a third of its length).
pub(crate) fn nearest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    mlops_core::suggest::closest(word, candidates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(nearest("dep", ["cmd", "deps", "outs"]), Some("deps".into()));
        assert_eq!(
            nearest("always_change", ["always_changed", "outs"]),
            Some("always_changed".into())
        );
        assert_eq!(nearest("zzzzzz", ["cmd", "deps"]), None);
    }
}
