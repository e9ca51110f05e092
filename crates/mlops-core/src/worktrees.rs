//! Clearing up after experiments killed mid-run: their worktrees in `.mlops/exps/` and git's
//! record of them.
//!
//! An experiment's worktree is a directory named as a temp file of [`crate::atomic`], so by the
//! process that made it. Git keeps each worktree's admin directory in
//! `<git common dir>/worktrees/<the worktree directory's name>`. When the process is gone, the
//! next command in the main workspace removes both; `git worktree list` then shows the main work
//! tree only, as before the experiment.

use std::path::{Path, PathBuf};

use crate::atomic::{is_running, parse_temp_name, remove_entry};

/// Removes the worktrees in `exps_dir` whose process has died, and git's admin directories of
/// them. Best effort, like every sweep of temp files: what fails now is tried again next time.
pub(crate) fn remove_stale(root: &Path, exps_dir: &Path) {
    let Ok(entries) = fs_err::read_dir(exps_dir) else {
        return;
    };
    let stale: Vec<PathBuf> = entries
        .flatten()
        .filter(|entry| {
            parse_temp_name(&entry.file_name()).is_some_and(|(_, pid)| !is_running(pid))
        })
        .map(|entry| entry.path())
        .collect();
    if stale.is_empty() {
        return;
    }
    for dir in stale {
        if let Some(admin) = admin_dir_of(root, &dir) {
            remove_entry(&admin);
        }
        remove_entry(&dir);
    }
}

/// Git's admin directory of the worktree `dir`: the one its `.git` file names, or (killed
/// before git wrote that file) the one whose `gitdir` file points into `dir`.
fn admin_dir_of(root: &Path, dir: &Path) -> Option<PathBuf> {
    if let Ok(text) = fs_err::read_to_string(dir.join(".git"))
        && let Some(admin) = text
            .strip_prefix("gitdir:")
            .map(|p| PathBuf::from(p.trim()))
        && admin.parent().and_then(Path::file_name) == Some("worktrees".as_ref())
    {
        return Some(admin);
    }
    let repo = git2::Repository::discover(root).ok()?;
    fs_err::read_dir(repo.commondir().join("worktrees"))
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .find(|admin| {
            fs_err::read_to_string(admin.join("gitdir"))
                .is_ok_and(|gitdir| Path::new(gitdir.trim()).starts_with(dir))
        })
}
