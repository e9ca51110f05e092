//! The versioning operations behind each command: `add`, `status`, `checkout`, `push`/`fetch`/
//! `pull`, `gc`, `fsck`, `unprotect`, `remove` and `move`. Each takes the workspace,
//! workspace-relative targets and options, and returns a serialisable report; writers take the
//! workspace lock themselves.

pub mod add;
pub mod checkout;
pub mod fsck;
pub mod gc;
pub mod move_path;
pub mod remove;
pub mod status;
pub mod transfer;
pub mod unprotect;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::pointer::{Pointer, pointer_path, target_of};
use crate::scan::find_pointers;
use crate::workspace::Workspace;

/// A tracked path and its pointer. Built only by [`Tracked::new`], so every tracked path an
/// operation writes to has passed [`crate::safepath::check`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Tracked {
    /// The tracked path, relative to the workspace root.
    pub rel: PathBuf,
    pub pointer: Pointer,
}

impl Tracked {
    /// A tracked path read from a file (a pointer's location, `mlops.lock`, a git revision, a
    /// registry tag): refused unless it is a safe path inside the workspace rooted at `root`.
    pub fn new(root: &Path, rel: &Path, pointer: Pointer) -> Result<Self> {
        Ok(Self {
            rel: crate::safepath::check(root, rel)?,
            pointer,
        })
    }

    /// `err` naming this path as the one that needs the object, when it says an object is
    /// missing from the cache or a remote; any other error unchanged.
    pub fn needs(&self, err: Error) -> Error {
        match err {
            Error::ObjectMissing { .. } | Error::RemoteObjectMissing { .. } => Error::NeededBy {
                path: self.rel.clone(),
                pointer: self.pointer.digest,
                commit: None,
                missing: Box::new(err),
            },
            other => other,
        }
    }
}

/// Resolves targets (workspace-relative: tracked paths, pointer files, or directories holding
/// pointer files) to tracked paths; no targets means every pointer in the workspace.
pub fn resolve(ws: &Workspace, targets: &[PathBuf]) -> Result<Vec<Tracked>> {
    let mut pointers = Vec::new();
    if targets.is_empty() {
        pointers = find_pointers(ws.root(), Path::new(""))?;
    }
    for target in targets {
        let abs = ws.abs(target);
        let beside = pointer_path(target);
        if target_of(target).is_some() && abs.is_file() {
            pointers.push(target.clone());
        } else if ws.abs(&beside).is_file() {
            pointers.push(beside);
        } else if abs.is_dir() {
            let found = find_pointers(ws.root(), target)?;
            if found.is_empty() {
                return Err(Error::NotTracked {
                    path: target.clone(),
                    pointer: beside,
                });
            }
            pointers.extend(found);
        } else {
            return Err(Error::NotTracked {
                path: target.clone(),
                pointer: beside,
            });
        }
    }
    pointers.sort();
    pointers.dedup();
    pointers
        .into_iter()
        .map(|p| {
            // Errors name the pointer by its workspace path, as the user knows it.
            let pointer = Pointer::parse(&p, &fs_err::read_to_string(ws.abs(&p))?)?;
            let rel = target_of(&p).expect("pointer paths end in .mlops");
            Tracked::new(ws.root(), &rel, pointer)
        })
        .collect()
}

/// The longest file name Linux filesystems take, in bytes.
const NAME_MAX: usize = 255;

/// Refuses `rel` (workspace-relative) as a path to track, for `add` and as `move`'s
/// destination: the root, a pointer file's name, a name that is not UTF-8 (pointers and
/// manifests are YAML and JSON) or too long to leave room for its pointer's suffix, a path that
/// fails the workspace's path check (a parent symlinked out of it), and a path inside an already
/// tracked directory.
pub(crate) fn check_trackable(ws: &Workspace, rel: &Path) -> Result<()> {
    if rel.as_os_str().is_empty() {
        return Err(Error::WorkspaceRoot);
    }
    if target_of(rel).is_some() {
        return Err(Error::IsPointer {
            path: rel.to_owned(),
        });
    }
    if rel.to_str().is_none() {
        return Err(Error::BadFileName {
            path: rel.to_owned(),
            problem: "it is not valid UTF-8",
        });
    }
    if rel
        .file_name()
        .is_some_and(|n| n.len() + crate::pointer::POINTER_SUFFIX.len() > NAME_MAX)
    {
        return Err(Error::BadFileName {
            path: rel.to_owned(),
            problem: "its pointer file's name would pass the 255-byte limit of file names",
        });
    }
    crate::safepath::check(ws.root(), rel)?;
    if let Some(tracked) = rel
        .ancestors()
        .skip(1)
        .filter(|a| !a.as_os_str().is_empty())
        .find(|a| ws.abs(&pointer_path(a)).is_file())
    {
        return Err(Error::InsideTracked {
            path: rel.to_owned(),
            tracked: tracked.to_owned(),
        });
    }
    Ok(())
}
