//! The workspace's git repository, and where the workspace sits in its work tree.

use std::path::{Path, PathBuf};

use git2::Repository;
use mlops_core::Workspace;

use crate::error::{Error, Result};

/// A workspace's repository.
pub(crate) struct Repo {
    pub(crate) git: Repository,
    /// The work tree root (canonical).
    pub(crate) workdir: PathBuf,
    /// The workspace root inside the work tree (empty when they are the same).
    pub(crate) prefix: PathBuf,
}

impl Repo {
    /// The repository holding `ws`.
    pub(crate) fn open(ws: &Workspace) -> Result<Self> {
        let not_in_git = || {
            Error::Meta(mlops_meta::Error::NotInGit {
                dir: ws.root().to_owned(),
            })
        };
        let git = Repository::discover(ws.root()).map_err(|_| not_in_git())?;
        let workdir = git.workdir().ok_or_else(not_in_git)?.canonicalize()?;
        let prefix = ws
            .root()
            .strip_prefix(&workdir)
            .unwrap_or(Path::new(""))
            .to_owned();
        Ok(Self {
            git,
            workdir,
            prefix,
        })
    }
}
