//! `unprotect`: turn hard- or symlinked workspace files back into private, writable copies, so
//! they can be edited without touching the cache.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

use rayon::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::scan::scan;
use crate::store::Reflink;
use crate::workspace::Workspace;

/// What `unprotect` did.
#[derive(Debug, Clone, Serialize)]
pub struct UnprotectReport {
    /// Files replaced by private copies.
    pub copied: u64,
    /// Files that were already private and writable.
    pub unchanged: u64,
}

/// Gives each file at or below `targets` a private writable copy of its content.
pub fn unprotect(ws: &Workspace, targets: &[PathBuf]) -> Result<UnprotectReport> {
    let _lock = ws.lock()?;
    privatize(ws, targets)
}

/// [`unprotect`]'s work, for callers that already hold the workspace lock.
pub(crate) fn privatize(ws: &Workspace, targets: &[PathBuf]) -> Result<UnprotectReport> {
    let store = ws.store();
    let mut files = Vec::new();
    for target in targets {
        files.extend(
            scan(ws.root(), target)?
                .files()
                .into_iter()
                .map(|f| (f.rel.clone(), f.exec)),
        );
    }
    let copied: Result<u64> = files
        .par_iter()
        .map(|(rel, exec)| {
            let abs = ws.abs(rel);
            let link = fs_err::symlink_metadata(&abs)?;
            let private = !link.file_type().is_symlink()
                && link.nlink() == 1
                && link.permissions().mode() & 0o200 != 0;
            if private {
                return Ok(0);
            }
            let mode = if *exec { 0o777 } else { 0o666 };
            let result = crate::atomic::replace_via(store.temp_dir(), &abs, |temp| {
                store.copy_hashing(&abs, temp, mode, Reflink::Try)
            });
            result.map(|_| 1)
        })
        .sum();
    let copied = copied?;
    Ok(UnprotectReport {
        copied,
        unchanged: files.len() as u64 - copied,
    })
}
