//! `fsck`: re-hash every cache object and list those whose content does not match their name.

use std::path::PathBuf;

use rayon::prelude::*;
use serde::Serialize;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::workspace::Workspace;

/// A cache object whose content does not match its name.
#[derive(Debug, Clone, Serialize)]
pub struct CorruptObject {
    pub digest: Digest,
    pub path: PathBuf,
    pub actual: Digest,
}

/// What `fsck` found.
#[derive(Debug, Clone, Serialize)]
pub struct FsckReport {
    pub checked: u64,
    pub bytes: u64,
    pub corrupt: Vec<CorruptObject>,
}

/// Verifies every object in the cache, on all cores.
pub fn fsck(ws: &Workspace, progress: &dyn Progress) -> Result<FsckReport> {
    let store = ws.store();
    let objects = store.list_with_sizes()?;
    progress.start(
        "checking",
        objects.len() as u64,
        objects.iter().map(|(_, s)| s).sum(),
    );
    let results: Vec<Result<Option<CorruptObject>>> = objects
        .par_iter()
        .map(|(digest, size)| {
            let outcome = match store.verify(digest) {
                Ok(_) => Ok(None),
                Err(Error::ObjectCorrupt { path, actual }) => Ok(Some(CorruptObject {
                    digest: *digest,
                    path,
                    actual,
                })),
                Err(e) => Err(e),
            };
            progress.advance(*size);
            outcome
        })
        .collect();
    progress.finish();
    let mut corrupt = Vec::new();
    for result in results {
        corrupt.extend(result?);
    }
    corrupt.sort_by_key(|c| c.digest);
    Ok(FsckReport {
        checked: objects.len() as u64,
        bytes: objects.iter().map(|(_, s)| s).sum(),
        corrupt,
    })
}
