//! Git network operations through the `git` executable.
//!
//! libgit2 is built here without https and ssh, and even with them it would not see the user's
//! credential helpers, ssh agent, `~/.ssh/config`, `insteadOf` rewrites or proxies. So, as cargo
//! does with `net.git-fetch-with-cli` and uv always does, every fetch and push runs `git` in the
//! repository and everything local stays with libgit2.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// Runs `git <args>` in `dir` for an operation on `remote`. Standard error is captured so a
/// failure can name the remote and show git's message; git's own prompts (passwords, host keys)
/// go to the terminal, which git and ssh open themselves. Returns git's exit code and stdout.
fn run(dir: &Path, remote: &str, args: &[&str]) -> Result<(Option<i32>, String)> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::GitMissing { source })?;
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    match output.status.code() {
        Some(0) => Ok((Some(0), stdout)),
        // `ls-remote --exit-code` says "no such ref" with 2; the caller decides.
        Some(2) if args.first() == Some(&"ls-remote") => Ok((Some(2), stdout)),
        _ => Err(Error::GitNetwork {
            remote: remote.to_owned(),
            command: format!("git {}", args.join(" ")),
            message: if stderr.is_empty() {
                format!("git exited with {}", output.status)
            } else {
                stderr
            },
        }),
    }
}

/// Refuses a remote that git would read as an option.
fn check_remote(remote: &str) -> Result<()> {
    if remote.is_empty() || remote.starts_with('-') {
        return Err(Error::Argument(format!(
            "`{remote}` is not a git remote name or URL"
        )));
    }
    Ok(())
}

/// Pushes `refspec` to `remote` (a remote name or URL). The hooks do not run: mlops's pre-push
/// hook moves data for the commits a branch push sends, and a ref mlops pushes carries none.
pub(crate) fn push(dir: &Path, remote: &str, refspec: &str) -> Result<()> {
    check_remote(remote)?;
    run(
        dir,
        remote,
        &["push", "--quiet", "--no-verify", remote, refspec],
    )?;
    Ok(())
}

/// Fetches the remote's `refname` into the local ref `into` (forced), and returns whether the
/// remote has it; a remote without it is not an error and leaves `into` absent.
pub(crate) fn fetch(dir: &Path, remote: &str, refname: &str, into: &str) -> Result<bool> {
    check_remote(remote)?;
    // `git fetch` fails on a ref the remote lacks; ask first, so that case is told from a
    // failure by exit code rather than by git's (translated) message.
    let (code, _) = run(dir, remote, &["ls-remote", "--exit-code", remote, refname])?;
    if code != Some(0) {
        return Ok(false);
    }
    let refspec = format!("+{refname}:{into}");
    run(
        dir,
        remote,
        &[
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            remote,
            &refspec,
        ],
    )?;
    Ok(true)
}

/// Pushes several refspecs to `remote` in one `git push` (hooks off, as [`push`]).
pub fn push_refs(dir: &Path, remote: &str, refspecs: &[String]) -> Result<()> {
    check_remote(remote)?;
    let mut args = vec!["push", "--quiet", "--no-verify", remote];
    args.extend(refspecs.iter().map(String::as_str));
    run(dir, remote, &args)?;
    Ok(())
}

/// The refs of `remote` matching `pattern` (as `git ls-remote` takes it): (commit, ref name).
pub fn ls_remote(dir: &Path, remote: &str, pattern: &str) -> Result<Vec<(String, String)>> {
    check_remote(remote)?;
    let (_, stdout) = run(dir, remote, &["ls-remote", remote, pattern])?;
    Ok(stdout
        .lines()
        .filter_map(|line| {
            let (oid, name) = line.split_once('\t')?;
            Some((oid.trim().to_owned(), name.trim().to_owned()))
        })
        .collect())
}

/// Fetches several refspecs from `remote` in one `git fetch`, without tags or `FETCH_HEAD`.
pub fn fetch_refs(dir: &Path, remote: &str, refspecs: &[String]) -> Result<()> {
    check_remote(remote)?;
    let mut args = vec![
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        remote,
    ];
    args.extend(refspecs.iter().map(String::as_str));
    run(dir, remote, &args)?;
    Ok(())
}
