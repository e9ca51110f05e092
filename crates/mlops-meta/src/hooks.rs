//! Git hooks: installing thin scripts that call `mlops hook NAME`, beside any hook already there,
//! and what the pre-commit and pre-push hooks check and push.
//!
//! A hook file mlops did not write is never overwritten or deleted: with `force`, it is kept as
//! `NAME.pre-mlops` (the next ones another tool puts there as `NAME.pre-mlops.2`, `.3`, ...) and
//! mlops's script runs every kept hook first, oldest first, with the same arguments and the same
//! standard input byte for byte, stopping at the first that fails. A kept hook that is not
//! executable is skipped, as git itself would skip it, and so is one identical to a kept hook
//! already run (the same tool installed twice), so it does not run twice. Uninstalling moves the newest kept hook
//! back and leaves the older ones where they are.

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

/// The hooks git feeds on standard input (the others get `/dev/null`).
const READS_STDIN: [&str; 1] = ["pre-push"];

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
    /// `restored` (the newest kept hook moved back), `kept` (an older kept hook left where it
    /// is), `not ours` (left alone).
    pub action: &'static str,
    /// Kept hooks that are not executable: git would not run them, so mlops's script skips
    /// them too (until they are made executable).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<PathBuf>,
}

impl HookChange {
    fn new(hook: &str, path: PathBuf, action: &'static str) -> Self {
        HookChange {
            hook: hook.to_owned(),
            path,
            action,
            skipped: Vec::new(),
        }
    }
}

/// The directory git runs hooks from (`core.hooksPath`, else `.git/hooks`).
fn hooks_dir(repo: &Repo) -> PathBuf {
    let git = repo.git();
    let configured = git.config().and_then(|c| c.get_path("core.hooksPath")).ok();
    match configured {
        Some(path) if path.is_absolute() => path,
        Some(path) => git.workdir().unwrap_or(git.path()).join(path),
        None => git.path().join("hooks"),
    }
}

fn is_ours(path: &Path) -> bool {
    fs_err::read_to_string(path).is_ok_and(|text| text.contains(MARK))
}

/// Whether git would run the hook at `path`: a file (or a link to one) that is executable.
fn is_runnable(path: &Path) -> bool {
    fs_err::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The name of the `n`th kept hook of `hook` (from 1).
fn kept_name(hook: &str, n: usize) -> String {
    if n == 1 {
        format!("{hook}{KEPT}")
    } else {
        format!("{hook}{KEPT}.{n}")
    }
}

/// The hooks kept for `hook` in `dir`, oldest first. Numbers may have gaps (a kept hook the
/// user deleted); every one present is listed.
fn kept_hooks(dir: &Path, hook: &str) -> Result<Vec<(usize, PathBuf)>> {
    let mut kept = Vec::new();
    let first = format!("{hook}{KEPT}");
    for entry in fs_err::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let number = if name == first {
            Some(1)
        } else {
            name.strip_prefix(&first)
                .and_then(|rest| rest.strip_prefix('.'))
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n >= 2)
        };
        if let Some(n) = number {
            kept.push((n, dir.join(name)));
        }
    }
    kept.sort();
    Ok(kept)
}

/// Quotes `text` for a POSIX shell.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The script for `hook`, calling `mlops` (found on the `PATH`, else at `exe`) after the
/// `kept` hooks (file names in the same directory, oldest first).
fn script(hook: &str, exe: &Path, kept: &[String]) -> String {
    let exe = quoted(&exe.display().to_string());
    let mut text = format!(
        "#!/bin/sh\n{MARK} written by `mlops hooks install`; `mlops hooks uninstall` removes it.\n\
         mlops=$(command -v mlops || echo {exe})\n"
    );
    if kept.is_empty() {
        let _ = writeln!(text, "exec \"$mlops\" hook {hook} \"$@\"");
        return text;
    }
    let stdin = READS_STDIN.contains(&hook);
    if stdin {
        // Every hook gets the same input byte for byte: `$(...)` strips trailing newlines, so a
        // `.` is read after the input and taken off again.
        text.push_str("input=$(cat; echo .)\ninput=${input%.}\n");
    }
    let feed = if stdin {
        "printf '%s' \"$input\" | "
    } else {
        ""
    };
    let names: Vec<String> = kept.iter().map(|k| quoted(k)).collect();
    // Hooks that were here before mlops's, oldest first. One that is not executable is
    // skipped, as git skips it; one that is gone was removed on purpose; one identical to a
    // hook already run (the same tool installing itself again) is skipped, not run twice.
    let _ = write!(
        text,
        "dir=$(dirname \"$0\")\n\
         ran=\n\
         for kept in {names}; do\n\
         \x20 hook=\"$dir/$kept\"\n\
         \x20 [ -e \"$hook\" ] || continue\n\
         \x20 if [ ! -f \"$hook\" ] || [ ! -x \"$hook\" ]; then\n\
         \x20   echo \"mlops: skipping $hook: it is not executable, so git would not run it\" >&2\n\
         \x20   continue\n\
         \x20 fi\n\
         \x20 same=\n\
         \x20 for done in $ran; do cmp -s \"$dir/$done\" \"$hook\" && same=1; done\n\
         \x20 [ -z \"$same\" ] || continue\n\
         \x20 {feed}\"$hook\" \"$@\" || exit $?\n\
         \x20 ran=\"$ran $kept\"\n\
         done\n\
         {feed}\"$mlops\" hook {hook} \"$@\"\n",
        names = names.join(" ")
    );
    text
}

fn write_executable(path: &Path, text: &str) -> Result<()> {
    mlops_core::atomic::write(path, text.as_bytes())?;
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// Installs every hook; a hook that is not mlops's is kept and chained with `force`, else
/// refused.
pub fn install(repo: &Repo, exe: &Path, force: bool) -> Result<Vec<HookChange>> {
    let dir = hooks_dir(repo);
    fs_err::create_dir_all(&dir)?;
    // Check every hook before changing any.
    for hook in HOOKS {
        let path = dir.join(hook);
        if path.symlink_metadata().is_ok() && !is_ours(&path) && !force {
            return Err(Error::ForeignHook { path });
        }
    }
    let mut changes = Vec::new();
    for hook in HOOKS {
        let path = dir.join(hook);
        let mut kept = kept_hooks(&dir, hook)?;
        let action = if path.symlink_metadata().is_err() {
            "installed"
        } else if is_ours(&path) {
            "updated"
        } else {
            // Never over a kept hook: the next free number after the highest. The same hook
            // kept already (installed again by the same tool) is kept too, never deleted; the
            // script skips a copy identical to one it ran.
            let n = kept.last().map_or(1, |(n, _)| n + 1);
            let to = dir.join(kept_name(hook, n));
            mlops_core::faults::write_step();
            fs_err::rename(&path, &to)?;
            kept.push((n, to));
            "chained"
        };
        let names: Vec<String> = kept
            .iter()
            .filter_map(|(_, k)| Some(k.file_name()?.to_str()?.to_owned()))
            .collect();
        write_executable(&path, &script(hook, exe, &names))?;
        let mut change = HookChange::new(hook, path, action);
        change.skipped = kept
            .into_iter()
            .map(|(_, k)| k)
            .filter(|k| !is_runnable(k))
            .collect();
        changes.push(change);
    }
    Ok(changes)
}

/// Removes mlops's hooks, moving back the newest hook each ran first; older kept hooks stay
/// where they are (and are listed), never deleted.
pub fn uninstall(repo: &Repo) -> Result<Vec<HookChange>> {
    let dir = hooks_dir(repo);
    let mut changes = Vec::new();
    for hook in HOOKS {
        let path = dir.join(hook);
        if path.symlink_metadata().is_err() {
            continue;
        }
        if !is_ours(&path) {
            changes.push(HookChange::new(hook, path, "not ours"));
            continue;
        }
        let mut kept = kept_hooks(&dir, hook)?;
        if let Some((_, newest)) = kept.pop() {
            mlops_core::faults::write_step();
            fs_err::rename(&newest, &path)?;
            changes.push(HookChange::new(hook, path, "restored"));
        } else {
            mlops_core::faults::write_step();
            fs_err::remove_file(&path)?;
            changes.push(HookChange::new(hook, path, "removed"));
        }
        for (_, older) in kept {
            changes.push(HookChange::new(hook, older, "kept"));
        }
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
                tracked.extend(repo.checked(&rel, pointer));
            }
        }
    }
    Ok(tracked)
}
