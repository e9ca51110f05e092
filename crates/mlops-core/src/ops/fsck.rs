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

/// What `fsck --remote` found on a remote, and what it repaired.
#[derive(Debug, Clone, Serialize)]
pub struct RemoteFsckReport {
    pub remote: String,
    pub checked: u64,
    /// Corrupt objects replaced by the cache's intact copy.
    pub repaired: Vec<Digest>,
    /// Corrupt objects the cache has no intact copy of: still corrupt on the remote.
    pub corrupt: Vec<Digest>,
}

/// Re-hashes every object on a remote (`name`, or the default remote) and replaces each corrupt
/// one with the cache's copy when that copy is intact.
pub fn fsck_remote(
    ws: &Workspace,
    name: Option<&str>,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<RemoteFsckReport> {
    let remote = crate::remote::open(ws, name)?;
    let store = ws.store();
    let mut objects: Vec<Digest> = remote.list()?.into_iter().collect();
    objects.sort_unstable();
    // Hashing a remote can take hours: writers wait only for the repairs.
    let found = crate::ops::transfer::corrupt_on_remote(&*remote, &objects, jobs, progress)?;
    let _lock = ws.lock()?;
    let mut report = RemoteFsckReport {
        remote: remote.name().to_owned(),
        checked: objects.len() as u64,
        repaired: Vec::new(),
        corrupt: Vec::new(),
    };
    let mut found: Vec<Digest> = found.into_iter().collect();
    found.sort_unstable();
    for digest in found {
        if store.verify(&digest).is_ok() {
            remote.put(&digest, &store.object_path(&digest))?;
            report.repaired.push(digest);
        } else {
            report.corrupt.push(digest);
        }
    }
    Ok(report)
}
