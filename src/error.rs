//! Exit statuses and hints: the one place that decides what an error means to the user.

use std::process::ExitCode;

use mlops_core::Error;

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// The command did what was asked, and any check passed.
    Success,
    /// The command ran and its answer is "no": a check failed, files were left dirty or skipped.
    Failure,
    /// Usage, input or runtime error.
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(2),
        }
    }
}

/// Whether the error is only stdout going away (`mlops status | head`): not worth a message.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// A suggestion for what to do next, for errors where one helps.
pub(crate) fn hint_for(err: &anyhow::Error) -> Option<String> {
    let core = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<Error>())?;
    let hint = match core {
        Error::NotAWorkspace { .. } => {
            "run `mlops init` in your git repository (or `mlops init --no-git` outside git) to create one".into()
        }
        Error::NotInGit { .. } => "run `git init` first, or `mlops init --no-git` to use mlops without git".into(),
        Error::Yaml { path, .. } | Error::BadDigest { path, .. } => format!(
            "fix the file by hand, or restore it from git: `git checkout -- {}`",
            path.display()
        ),
        Error::Config { .. } => "the keys are `cache.link`, `remotes.<name>.url` and `default_remote`; see docs/versioning.md".into(),
        Error::PointerFormat { .. } => "this pointer was written by a newer mlops; upgrade mlops to read it".into(),
        Error::BadManifest { .. } | Error::ObjectCorrupt { .. } => {
            "run `mlops fsck` to list corrupt objects, delete them, then `mlops pull` or `mlops add` the data again".into()
        }
        Error::ObjectMissing { .. } => "get it with `mlops pull`, or track the data again with `mlops add`".into(),
        Error::TargetMissing { .. } => "check the path; `mlops status` lists the tracked paths".into(),
        Error::OutsideWorkspace { root, .. } => format!("mlops only tracks paths inside `{}`", root.display()),
        Error::TrackedByGit { path } => format!(
            "stop tracking it in git first: `git rm -r --cached {}`, then `mlops add` it",
            path.display()
        ),
        Error::ContainsTracked { pointer, .. } => format!(
            "track the inner paths separately, or remove `{}` and its data's `.gitignore` entry first",
            pointer.display()
        ),
        Error::WorkspaceRoot => "add the data directories inside it, e.g. `mlops add data`".into(),
        Error::InsideTracked { tracked, .. } => {
            format!("update the tracked directory as a whole: `mlops add {}`", tracked.display())
        }
        Error::NotTracked { path, .. } => format!("track it with `mlops add {}`", path.display()),
        Error::UnsupportedFileType { .. } => "mlops tracks regular files and directories, following symlinks to files".into(),
        Error::BadFileName { .. } => "rename the file; names must be UTF-8 without newlines".into(),
        Error::RemoteNotFound { .. } => "`mlops remote list` shows the remotes; `mlops remote add <name> <url>` adds one".into(),
        Error::NoDefaultRemote => "pass `-r <name>`, or set a default with `mlops remote default <name>`".into(),
        Error::UnsupportedRemote { .. } => "give a directory path or a `file://` URL".into(),
        Error::RemoteUnusable { .. } => "check that the remote directory can be created and written".into(),
        Error::RemoteObjectCorrupt { .. } => "the remote copy is damaged; push it again from a machine with a good cache".into(),
        Error::RemoteObjectMissing { .. } => "push it from the machine that added the data: `mlops push`".into(),
        Error::Locked { .. } => "another mlops command is writing to this workspace; wait for it to finish".into(),
        Error::IsPointer { .. }
        | Error::InsideMlopsDir { .. }
        | Error::Io(_)
        | Error::Git { .. }
        | Error::RemoteExists { .. }
        | Error::BadRemoteName { .. } => return None,
    };
    Some(hint)
}
