//! The one error type of `mlops-core`.
//!
//! Each variant carries the path, key or name the user needs to find the problem; messages start
//! in lowercase, put literals in backticks and end without a period. The binary adds hints.

use std::path::PathBuf;

use crate::digest::Digest;

/// Everything that can go wrong in the core library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error; `fs-err` already names the path in its message.
    #[error(transparent)]
    Io(#[from] std::io::Error),

    #[error("not inside an mlops workspace (searched `{}` and its parents)", start.display())]
    NotAWorkspace { start: PathBuf },

    #[error("`{}` is not inside a git work tree", dir.display())]
    NotInGit { dir: PathBuf },

    #[error("git error in `{}`", repo.display())]
    Git {
        repo: PathBuf,
        #[source]
        source: git2::Error,
    },

    #[error("invalid YAML in `{}`: {message}", path.display())]
    Yaml { path: PathBuf, message: String },

    #[error("invalid config in `{}`: {message}", path.display())]
    Config { path: PathBuf, message: String },

    #[error("`{}` uses pointer format {found}; this mlops reads format {supported}", path.display())]
    PointerFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    #[error("invalid digest `{value}` in `{}`: expected 64 lowercase hex characters", path.display())]
    BadDigest { path: PathBuf, value: String },

    #[error("invalid manifest object `{digest}`: {problem}")]
    BadManifest { digest: Digest, problem: String },

    #[error("`{}` does not exist", path.display())]
    TargetMissing { path: PathBuf },

    #[error("`{}` is outside the workspace `{}`", path.display(), root.display())]
    OutsideWorkspace { path: PathBuf, root: PathBuf },

    #[error("the tracked directory `{}` lists more than {limit} entries", path.display())]
    TreeTooLarge { path: PathBuf, limit: u64 },

    #[error("refusing the path `{}`: {problem}", path.display())]
    UnsafePath { path: PathBuf, problem: String },

    #[error("`{}` is inside `.mlops/`, which mlops manages itself", path.display())]
    InsideMlopsDir { path: PathBuf },

    #[error("`{}` is a pointer file; add the data it stands for instead", path.display())]
    IsPointer { path: PathBuf },

    #[error("`{}` is inside `{}`, which is already tracked", path.display(), tracked.display())]
    InsideTracked { path: PathBuf, tracked: PathBuf },

    #[error("`{}` holds `{}`: paths inside it are already tracked", path.display(), pointer.display())]
    ContainsTracked { path: PathBuf, pointer: PathBuf },

    #[error("the workspace root itself cannot be tracked")]
    WorkspaceRoot,

    #[error("`{}` is tracked by git", path.display())]
    TrackedByGit { path: PathBuf },

    #[error("`{}` is neither a regular file nor a directory", path.display())]
    UnsupportedFileType { path: PathBuf },

    #[error("file name `{}` cannot be tracked: {problem}", path.display())]
    BadFileName {
        path: PathBuf,
        problem: &'static str,
    },

    #[error("`{}` is not tracked (no `{}` pointer file)", path.display(), pointer.display())]
    NotTracked { path: PathBuf, pointer: PathBuf },

    #[error("`{}` already exists", path.display())]
    Exists { path: PathBuf },

    #[error("`{}` is an output of the pipeline, recorded in `mlops.lock`", path.display())]
    PipelineOutput { path: PathBuf },

    #[error("cache object `{digest}` is missing; run `mlops pull` or `mlops fetch` to get it")]
    ObjectMissing { digest: Digest },

    #[error("cache object `{}` is corrupt: its content hashes to `{actual}`", path.display())]
    ObjectCorrupt { path: PathBuf, actual: Digest },

    #[error("remote `{name}` is not configured")]
    RemoteNotFound { name: String },

    #[error("remote `{name}` already exists")]
    RemoteExists { name: String },

    #[error("invalid remote name `{name}`: use letters, digits, `-`, `_` and `.`")]
    BadRemoteName { name: String },

    #[error("no remote given and no default remote is set")]
    NoDefaultRemote,

    #[error(
        "unsupported remote URL `{url}`: only local directories, `file://`, `s3://`, `gs://` and `az://` URLs are supported"
    )]
    UnsupportedRemote { url: String },

    #[error("invalid remote URL `{url}`: {problem}")]
    BadRemoteUrl { url: String, problem: String },

    #[error("remote directory `{}` is not usable", path.display())]
    RemoteUnusable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "object `{digest}` from remote `{remote}` is corrupt: its content hashes to `{actual}`"
    )]
    RemoteObjectCorrupt {
        remote: String,
        digest: Digest,
        actual: Digest,
    },

    #[error("remote `{remote}`: access denied to `{url}`: {message}")]
    RemoteDenied {
        remote: String,
        url: String,
        message: String,
    },

    #[error("remote `{remote}`: `{url}` does not exist: {message}")]
    RemoteLocationMissing {
        remote: String,
        url: String,
        message: String,
    },

    #[error("remote `{remote}`: request for `{url}` failed: {message}")]
    RemoteRequest {
        remote: String,
        url: String,
        message: String,
    },

    #[error("invalid URL `{url}`: {problem}")]
    BadInputUrl { url: String, problem: String },

    #[error("access denied to `{url}`: {message}")]
    InputDenied { url: String, message: String },

    #[error("`{url}` does not exist: {message}")]
    InputNotFound { url: String, message: String },

    #[error("request for `{url}` failed: {message}")]
    InputRequest { url: String, message: String },

    #[error("`{name}` is no name for a file on a remote")]
    BadNamedFile { name: String },

    #[error("object `{digest}` is not on remote `{remote}`")]
    RemoteObjectMissing { remote: String, digest: Digest },

    /// An object missing from the cache or a remote, with the tracked path that needs it (and
    /// the commit whose pointer names it, when the path was read from git history).
    #[error("{missing}; `{}` needs it{}", path.display(), commit.as_ref().map(|c| format!(" (its pointer in commit `{c}`)")).unwrap_or_default())]
    NeededBy {
        path: PathBuf,
        /// The digest the tracked path's pointer records, which the caller can map to a commit.
        pointer: Digest,
        commit: Option<String>,
        /// [`Error::ObjectMissing`] or [`Error::RemoteObjectMissing`]; not a `source`, as its
        /// message is already part of this one.
        missing: Box<Error>,
    },

    #[error("the workspace is locked by process {pid} (`{}`)", path.display())]
    Locked { path: PathBuf, pid: String },

    #[error("experiments are running in this workspace (`{}`)", path.display())]
    ExperimentsRunning { path: PathBuf },
}

impl Error {
    /// Whether a cache or remote object is missing, bare or wrapped in [`Error::NeededBy`] with
    /// the tracked path that needs it: callers that fall back on a missing object (the run
    /// cache, `status`) match this, not one variant.
    pub fn is_missing_object(&self) -> bool {
        match self {
            Error::ObjectMissing { .. } | Error::RemoteObjectMissing { .. } => true,
            Error::NeededBy { missing, .. } => missing.is_missing_object(),
            _ => false,
        }
    }
}

/// Result with the core [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
