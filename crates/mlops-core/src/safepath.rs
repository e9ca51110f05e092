//! Path safety: the one check that every path read from a file (pointer, manifest, `mlops.lock`,
//! config, registry tag message, notes) passes before mlops writes or deletes anything there.
//!
//! Such files may come from anyone who can push to the repository, so a path in them is trusted
//! only once it is relative, normalised, inside the workspace, outside `.git` and `.mlops`, and
//! no parent directory on the way is a symbolic link that leads out of the workspace.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};
use crate::workspace::MLOPS_DIR;

/// Checks the workspace-relative path `rel` read from a file, against the workspace whose
/// canonical root is `root`, and returns it normalised (`./` parts dropped).
///
/// Parents that exist are resolved on disk: one that is a symbolic link must resolve to a
/// directory inside the workspace (and not inside `.git` or `.mlops`). The last component itself
/// is not followed: mlops replaces a link there instead of writing through it.
pub fn check(root: &Path, rel: &Path) -> Result<PathBuf> {
    let unsafe_path = |problem: String| Error::UnsafePath {
        path: rel.to_owned(),
        problem,
    };
    let mut out = PathBuf::new();
    for component in rel.components() {
        match component {
            Component::Normal(name) => {
                if is_named(name, ".git")
                    || (out.as_os_str().is_empty() && is_named(name, MLOPS_DIR))
                {
                    return Err(unsafe_path(format!(
                        "it points into `{}`, which mlops never writes",
                        name.to_string_lossy()
                    )));
                }
                out.push(name);
            }
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(unsafe_path("`..` may lead out of the workspace".into()));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_path("it is absolute".into()));
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(unsafe_path("it names the workspace root".into()));
    }
    check_parents(root, &out).map_err(unsafe_path)?;
    Ok(out)
}

/// `path` (absolute) with its longest existing prefix resolved through symbolic links: where a
/// write there would really land, though the rest does not exist yet.
pub fn resolve_existing(path: &Path) -> PathBuf {
    for ancestor in path.ancestors() {
        if let Ok(real) = fs_err::canonicalize(ancestor) {
            let rest = path
                .strip_prefix(ancestor)
                .expect("an ancestor is a prefix");
            return real.join(rest);
        }
    }
    path.to_owned()
}

/// Whether the path component `name` is `reserved`, ignoring ASCII case: on a case-insensitive
/// filesystem `.GIT` is `.git`.
pub(crate) fn is_named(name: &std::ffi::OsStr, reserved: &str) -> bool {
    name.as_encoded_bytes()
        .eq_ignore_ascii_case(reserved.as_bytes())
}

/// Refuses a path whose existing parents leave the workspace through a symbolic link.
fn check_parents(root: &Path, rel: &Path) -> std::result::Result<(), String> {
    let mut parent = PathBuf::new();
    let mut components = rel.components().peekable();
    while let Some(component) = components.next() {
        if components.peek().is_none() {
            break; // the last component is the path itself
        }
        parent.push(component);
        let abs = root.join(&parent);
        let Ok(meta) = fs_err::symlink_metadata(&abs) else {
            return Ok(()); // the rest does not exist yet: mlops creates real directories
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        let resolved = fs_err::canonicalize(&abs).map_err(|_| {
            format!(
                "its parent `{}` is a dangling symbolic link",
                parent.display()
            )
        })?;
        let inside = resolved
            .strip_prefix(root)
            .ok()
            .filter(|inner| !inner.as_os_str().is_empty());
        let leads_out = match inside.and_then(|inner| inner.components().next()) {
            Some(Component::Normal(first)) => is_named(first, MLOPS_DIR) || is_named(first, ".git"),
            _ => true,
        };
        if leads_out {
            return Err(format!(
                "its parent `{}` is a symbolic link to `{}`, outside the workspace",
                parent.display(),
                resolved.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_every_escape() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = fs_err::canonicalize(dir.path()).expect("canonical");
        let outside = tempfile::tempdir().expect("tempdir");
        fs_err::create_dir(root.join("real")).expect("mkdir");
        std::os::unix::fs::symlink(outside.path(), root.join("out")).expect("symlink");
        std::os::unix::fs::symlink(root.join("real"), root.join("in")).expect("symlink");
        std::os::unix::fs::symlink(root.join(".git"), root.join("g")).expect("symlink");
        for bad in [
            "/etc/passwd",
            "../escaped",
            "a/../../b",
            "a/../b",
            ".git/hooks/post-commit",
            ".GIT/hooks/post-commit",
            ".Mlops/cache/ab",
            "sub/.git/config",
            ".mlops/cache/ab",
            "",
            ".",
            "out/file",
            "out/deeper/file",
            "g/hooks/x",
        ] {
            let err = check(&root, Path::new(bad)).expect_err(bad);
            assert!(matches!(err, Error::UnsafePath { .. }), "{bad}: {err}");
        }
        for (good, normal) in [
            ("data/a.csv", "data/a.csv"),
            ("./data", "data"),
            ("in/file", "in/file"),
            ("out", "out"),
            ("sub/.mlops", "sub/.mlops"),
        ] {
            assert_eq!(
                check(&root, Path::new(good)).expect(good),
                PathBuf::from(normal)
            );
        }
    }
}
