//! The little that versioning needs from git: where the work tree is, whether a path is tracked
//! by git (then mlops must not take it over), and `.gitignore` entries for tracked data.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The root of the git work tree containing `dir`, if any.
pub fn work_tree_root(dir: &Path) -> Option<PathBuf> {
    let repo = git2::Repository::discover(dir).ok()?;
    repo.workdir().map(Path::to_path_buf)
}

/// Whether git's index holds `rel` (a path relative to `git_root`), or anything under it.
pub(crate) fn is_tracked(git_root: &Path, rel: &Path) -> Result<bool> {
    let git_err = |source| Error::Git {
        repo: git_root.to_owned(),
        source,
    };
    let repo = git2::Repository::open(git_root).map_err(git_err)?;
    let index = repo.index().map_err(git_err)?;
    let rel = rel.to_string_lossy().replace('\\', "/");
    let prefix = format!("{rel}/");
    Ok(index.iter().any(|entry| {
        let path = String::from_utf8_lossy(&entry.path);
        path == rel || path.starts_with(&prefix)
    }))
}

/// Makes sure the `.gitignore` in `dir` ignores the entry `name`; returns whether it changed.
/// The file is rewritten through a temp file in `temp_dir` (the workspace's `.mlops/tmp`).
pub fn ignore_in(dir: &Path, name: &str, temp_dir: &Path) -> Result<bool> {
    let path = dir.join(".gitignore");
    let line = format!("/{}", escape_pattern(name));
    let existing = match fs_err::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e.into()),
    };
    if existing.lines().any(|l| l.trim_end() == line) {
        return Ok(false);
    }
    let mut text = existing;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&line);
    text.push('\n');
    crate::atomic::write_in(temp_dir, &path, text.as_bytes())?;
    Ok(true)
}

/// Drops the line that [`ignore_in`] writes for `name` from the `.gitignore` in `dir`, keeping
/// every other line; deletes the file when nothing else is left in it. Returns whether it changed.
pub(crate) fn unignore_in(dir: &Path, name: &str, temp_dir: &Path) -> Result<bool> {
    let path = dir.join(".gitignore");
    let line = format!("/{}", escape_pattern(name));
    let existing = match fs_err::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let kept: Vec<&str> = existing.lines().filter(|l| l.trim_end() != line).collect();
    if kept.len() == existing.lines().count() {
        return Ok(false);
    }
    if kept.iter().all(|l| l.trim().is_empty()) {
        crate::faults::write_step();
        fs_err::remove_file(&path)?;
        return Ok(true);
    }
    let mut text = kept.join("\n");
    text.push('\n');
    crate::atomic::write_in(temp_dir, &path, text.as_bytes())?;
    Ok(true)
}

/// Escapes the characters gitignore treats as pattern syntax, so the line matches `name` only.
fn escape_pattern(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        if matches!(c, '*' | '?' | '[' | '\\') || (i == 0 && matches!(c, '!' | '#')) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_is_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs_err::write(dir.path().join(".gitignore"), "target").expect("write");
        let tmp = dir.path().join("tmp");
        assert!(ignore_in(dir.path(), "data", &tmp).expect("ignore"));
        assert!(!ignore_in(dir.path(), "data", &tmp).expect("ignore"));
        let text = fs_err::read_to_string(dir.path().join(".gitignore")).expect("read");
        assert_eq!(text, "target\n/data\n");
    }

    #[test]
    fn unignore_drops_only_its_line_and_an_emptied_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".gitignore");
        fs_err::write(&path, "/a\\*\ntarget\n/b\n").expect("write");
        let tmp = dir.path().join("tmp");
        assert!(unignore_in(dir.path(), "a*", &tmp).expect("unignore"));
        assert!(!unignore_in(dir.path(), "a*", &tmp).expect("unignore"));
        assert_eq!(fs_err::read_to_string(&path).expect("read"), "target\n/b\n");
        fs_err::write(&path, "/b\n\n").expect("write");
        assert!(unignore_in(dir.path(), "b", &tmp).expect("unignore"));
        assert!(!path.exists());
        assert!(!unignore_in(dir.path(), "b", &tmp).expect("no file"));
    }

    #[test]
    fn patterns_are_escaped() {
        assert_eq!(escape_pattern("#a*b"), "\\#a\\*b");
    }
}
