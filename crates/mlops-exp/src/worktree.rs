//! An experiment's worktree: a git worktree of the user's repository, detached at the
//! variation's prepared commit, in the main workspace's `.mlops/exps/`.
//!
//! Made with `git worktree add` (hooks off: the user's post-checkout hook would run `mlops
//! checkout`), removed with its git admin directory when the experiment ends, whatever its end.
//! Its directory is named as a temp file of this process, so if the process is killed, the next
//! writer of the main workspace removes both (`mlops-core`'s worktree sweep).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use git2::Oid;
use mlops_core::Workspace;

use crate::error::{Error, Result};

/// Held while this process runs `git worktree add`.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A worktree that exists until dropped.
pub struct Worktree {
    /// The worktree's directory (its git work tree root).
    pub dir: PathBuf,
    /// The workspace root inside it.
    pub root: PathBuf,
}

impl Worktree {
    /// Checks out `commit` into a new worktree for experiment `name`.
    pub fn create(
        main: &Workspace,
        workdir: &Path,
        prefix: &Path,
        commit: Oid,
        name: &str,
    ) -> Result<Self> {
        let exps = main.exps_dir();
        fs_err::create_dir_all(&exps)?;
        let dir = mlops_core::atomic::temp_path(&exps, name);
        // From here on, a drop removes whatever `git worktree add` made.
        let worktree = Self {
            root: dir.join(prefix),
            dir,
        };
        // `git worktree add` reads every worktree's admin directory, and fails on one that
        // another `add` is halfway through writing: one at a time in this process
        // (`ONE_AT_A_TIME`), and a retry (once git has cleaned up after itself) for another
        // process's.
        let mut attempts = 0;
        let output = loop {
            let turn = ONE_AT_A_TIME
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let output = Command::new("git")
                .args([
                    "-c",
                    "core.hooksPath=/dev/null",
                    "worktree",
                    "add",
                    "--detach",
                    "--quiet",
                ])
                .arg(&worktree.dir)
                .arg(commit.to_string())
                .current_dir(workdir)
                .stdin(Stdio::null())
                .output()
                .map_err(|e| Error::Commit {
                    rev: commit.to_string(),
                    message: format!("cannot run git: {e}"),
                })?;
            drop(turn);
            attempts += 1;
            if output.status.success() || attempts == 3 || worktree.dir.exists() {
                break output;
            }
            std::thread::sleep(std::time::Duration::from_millis(50 * attempts));
        };
        if !output.status.success() {
            return Err(Error::Commit {
                rev: commit.to_string(),
                message: format!(
                    "git worktree add failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            });
        }
        mlops_core::faults::write_step();
        Ok(worktree)
    }

    /// Git's admin directory of the worktree, which its `.git` file names.
    fn admin_dir(&self) -> Option<PathBuf> {
        let text = fs_err::read_to_string(self.dir.join(".git")).ok()?;
        let admin = PathBuf::from(text.strip_prefix("gitdir:")?.trim());
        (admin.parent()?.file_name()? == "worktrees").then_some(admin)
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        if let Some(admin) = self.admin_dir() {
            let _ = fs_err::remove_dir_all(admin);
        }
        let _ = fs_err::remove_dir_all(&self.dir);
    }
}
