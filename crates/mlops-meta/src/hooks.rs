//! Git hooks: installing thin scripts that call `mlops hook NAME`, beside any hook already there,
//! and what the pre-commit and pre-push hooks check and push.
//!
//! A hook file mlops did not write is never overwritten: with `force`, it moves to
//! `NAME.pre-mlops` and mlops's script runs it first (with the same arguments and standard
//! input), stopping if it fails; uninstalling moves it back.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use mlops_core::Workspace;
use mlops_core::ops::status::State;
use mlops_core::ops::{self, Tracked};
use mlops_pipeline::run::{self, StageStatus};

use crate::error::{Error, Result};
use crate::history::Repo;

/// The hooks mlops installs.
pub const HOOKS: [&str; 4] = ["pre-commit", "post-checkout", "pre-push", "post-commit"];

/// The line that marks a hook file as mlops's.
const MARK: &str = "# mlops hook:";
/// The suffix an existing hook is kept under while mlops's runs in its place.
const KEPT: &str = ".pre-mlops";

/// What `install` or `uninstall` did to one hook.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HookChange {
    pub hook: String,
    pub path: PathBuf,
    /// `installed`, `updated`, `chained` (an existing hook kept and run first), `removed`,
    /// `restored` (the kept hook moved back), `not ours` (left alone).
    pub action: &'static str,
}

/// The directory git runs hooks from (`core.hooksPath`, else `.git/hooks`).
pub fn hooks_dir(repo: &Repo) -> Result<PathBuf> {
    let git = repo.git();
    let configured = git.config().and_then(|c| c.get_path("core.hooksPath")).ok();
    Ok(match configured {
        Some(path) if path.is_absolute() => path,
        Some(path) => git.workdir().unwrap_or(git.path()).join(path),
        None => git.path().join("hooks"),
    })
}

fn is_ours(path: &Path) -> bool {
    fs_err::read_to_string(path).is_ok_and(|text| text.contains(MARK))
}

/// The script for `hook`, calling `mlops` (found on the `PATH`, else at `exe`).
fn script(hook: &str, exe: &Path, chained: bool) -> String {
    let exe = exe.display().to_string().replace('\'', r"'\''");
    let mut text = format!(
        "#!/bin/sh\n{MARK} written by `mlops hooks install`; `mlops hooks uninstall` removes it.\n\
         mlops=$(command -v mlops || echo '{exe}')\n"
    );
    if chained {
        // Standard input (the refs, for pre-push) goes to both hooks.
        let _ = write!(
            text,
            "input=$(cat)\n\
             printf '%s' \"$input\" | \"$(dirname \"$0\")/{hook}{KEPT}\" \"$@\" || exit $?\n\
             printf '%s' \"$input\" | \"$mlops\" hook {hook} \"$@\"\n"
        );
    } else {
        let _ = writeln!(text, "exec \"$mlops\" hook {hook} \"$@\"");
    }
    text
}

fn write_executable(path: &Path, text: &str) -> Result<()> {
    mlops_core::atomic::write(path, text.as_bytes())?;
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// Installs every hook; a hook that is not mlops's is chained with `force`, else refused.
pub fn install(repo: &Repo, exe: &Path, force: bool) -> Result<Vec<HookChange>> {
    let dir = hooks_dir(repo)?;
    fs_err::create_dir_all(&dir)?;
    // Check every hook before changing any.
    for hook in HOOKS {
        let path = dir.join(hook);
        if path.exists() && !is_ours(&path) && !force {
            return Err(Error::ForeignHook { path });
        }
    }
    let mut changes = Vec::new();
    for hook in HOOKS {
        let path = dir.join(hook);
        let kept = dir.join(format!("{hook}{KEPT}"));
        let action = if !path.exists() {
            "installed"
        } else if is_ours(&path) {
            "updated"
        } else {
            fs_err::rename(&path, &kept)?;
            "chained"
        };
        write_executable(&path, &script(hook, exe, kept.exists()))?;
        changes.push(HookChange {
            hook: hook.to_owned(),
            path,
            action,
        });
    }
    Ok(changes)
}

/// Removes mlops's hooks, moving back any hook they ran first.
pub fn uninstall(repo: &Repo) -> Result<Vec<HookChange>> {
    let dir = hooks_dir(repo)?;
    let mut changes = Vec::new();
    for hook in HOOKS {
        let path = dir.join(hook);
        let kept = dir.join(format!("{hook}{KEPT}"));
        let action = if !path.exists() {
            continue;
        } else if !is_ours(&path) {
            "not ours"
        } else if kept.exists() {
            fs_err::rename(&kept, &path)?;
            "restored"
        } else {
            fs_err::remove_file(&path)?;
            "removed"
        };
        changes.push(HookChange {
            hook: hook.to_owned(),
            path,
            action,
        });
    }
    Ok(changes)
}

/// Entries for a `.pre-commit-config.yaml` that run the same hooks through pre-commit.
pub fn pre_commit_config() -> String {
    let mut text = String::from("repos:\n  - repo: local\n    hooks:\n");
    for hook in HOOKS {
        let _ = write!(
            text,
            "      - id: mlops-{hook}\n        name: mlops {hook}\n        entry: mlops hook {hook}\n        \
             language: system\n        stages: [{hook}]\n        pass_filenames: false\n        \
             always_run: true\n"
        );
    }
    text
}

/// What the pre-commit hook found wrong; nothing when the commit may go ahead.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PreCommitReport {
    /// Tracked paths whose content changed without `mlops add`.
    pub not_added: Vec<PathBuf>,
    /// Pipeline stages whose `mlops.lock` entry does not match `mlops.yaml` and their inputs,
    /// with why.
    pub stale_stages: Vec<(String, Vec<String>)>,
}

impl PreCommitReport {
    pub fn is_clean(&self) -> bool {
        self.not_added.is_empty() && self.stale_stages.is_empty()
    }
}

/// Checks that tracked data was added and the pipeline's lock is up to date.
pub fn pre_commit(ws: &Workspace) -> Result<PreCommitReport> {
    let tracked = ops::resolve(ws, &[])?;
    let status = ops::status::local_status(ws, &tracked)?;
    let not_added = status
        .paths
        .into_iter()
        .filter(|p| p.states.contains(&State::Modified))
        .map(|p| p.path)
        .collect();
    let mut stale_stages = Vec::new();
    if ws.root().join(mlops_pipeline::spec::PIPELINE_FILE).exists() {
        stale_stages = run::dry_run_all(ws)?
            .into_iter()
            .filter(|s| s.status == StageStatus::WouldRun)
            .map(|s| (s.stage, s.reasons))
            .collect();
    }
    Ok(PreCommitReport {
        not_added,
        stale_stages,
    })
}

/// The tracked paths of the commits a push sends: `refs` is the pre-push hook's standard
/// input (`local-ref local-sha remote-ref remote-sha` per line).
pub fn pushed_data(repo: &Repo, refs: &str) -> Result<Vec<Tracked>> {
    let mut seen = BTreeSet::new();
    let mut tracked = Vec::new();
    for line in refs.lines() {
        let Some(sha) = line.split_whitespace().nth(1) else {
            continue;
        };
        if sha.bytes().all(|b| b == b'0') {
            continue; // a deleted ref sends nothing
        }
        let commit = repo.commit(sha)?;
        for (rel, pointer) in repo.tracked_at(&commit)? {
            if seen.insert((rel.clone(), pointer.digest)) {
                tracked.push(Tracked { rel, pointer });
            }
        }
    }
    Ok(tracked)
}
