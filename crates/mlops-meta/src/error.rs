//! Errors of reading git history and of the registry: each names the revision, tag or name.

use std::path::PathBuf;

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Core(#[from] mlops_core::Error),

    /// A pipeline error other than a core one (see the `From` impl below).
    #[error(transparent)]
    Pipeline(mlops_pipeline::Error),

    #[error("`{}` is not inside a git repository", dir.display())]
    NotInGit { dir: PathBuf },

    #[error("unknown revision `{rev}`")]
    UnknownRevision { rev: String },

    #[error("git: {0}")]
    Git(#[from] git2::Error),

    #[error("`{version}` is not a version of the form vMAJOR.MINOR.PATCH, e.g. v1.2.0")]
    BadVersion { version: String },

    #[error("`{name}@{version}` is already registered")]
    VersionExists { name: String, version: String },

    #[error("`{name}` is not a valid {what} name: {why}")]
    BadName {
        what: &'static str,
        name: String,
        why: &'static str,
    },

    #[error("no model `{name}` in the registry")]
    UnknownModel { name: String },

    #[error("`{reference}` names nothing in the registry")]
    UnknownReference { reference: String },

    #[error("`{}` is not tracked by mlops at {rev}", path.display())]
    NotTrackedAt { path: PathBuf, rev: String },

    #[error("tag `{tag}` names a model path mlops refuses")]
    UnsafeTagPath {
        tag: String,
        #[source]
        source: Box<mlops_core::Error>,
    },

    #[error("`{reference}` is not in the cache, and fetching it from the default remote failed")]
    FetchFailed {
        reference: String,
        #[source]
        source: Box<mlops_core::Error>,
    },

    #[error("`{reference}` is not in the cache")]
    NotInCache {
        reference: String,
        #[source]
        source: Box<mlops_core::Error>,
    },

    #[error("`{name}` of `{reference}` is not in the cache")]
    FileNotInCache { reference: String, name: String },

    #[error("`{reference}` ({}) has no `{name}`", path.display())]
    NoFileInVersion {
        reference: String,
        path: PathBuf,
        name: String,
    },

    #[error("cannot put the model in `{}`: {why}", path.display())]
    BadOutput { path: PathBuf, why: String },

    #[error("`{}` is a hook mlops did not write", path.display())]
    ForeignHook { path: PathBuf },

    #[error("the mlops note of commit {commit} has format {format}, newer than this mlops reads")]
    NoteFormat { commit: String, format: u64 },

    #[error("`{command}` failed for the git remote `{remote}`: {message}")]
    GitNetwork {
        remote: String,
        command: String,
        message: String,
    },

    #[error("cannot run `git`, which mlops uses to reach git remotes")]
    GitMissing {
        #[source]
        source: std::io::Error,
    },

    #[error("{0}")]
    Argument(String),

    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl From<mlops_pipeline::Error> for Error {
    /// A core error that reached us through the pipeline crate (reading the tracked paths, the
    /// lock) stays a core error: wrapped twice, the binary's hints would no longer find it.
    fn from(err: mlops_pipeline::Error) -> Self {
        match err {
            mlops_pipeline::Error::Core(core) => Error::Core(core),
            other => Error::Pipeline(other),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
