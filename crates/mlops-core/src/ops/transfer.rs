//! `push`, `fetch` and `pull`: move only the objects the other side lacks, in parallel, checking
//! every digest. An interrupted transfer leaves no partial object on either side (temp file and
//! rename on both), and the next call resumes by transferring what is still missing.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use serde::Serialize;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::{EntryKind, Manifest};
use crate::ops::Tracked;
use crate::ops::checkout::{CheckoutOptions, CheckoutReport, restore};
use crate::progress::Progress;
use crate::remote::{self, Remote};
use crate::store::Store;
use crate::tree::objects_of;
use crate::workspace::Workspace;

/// Objects in flight at once for a directory remote unless the user says otherwise: enough to
/// hide a network filesystem's round trip, few enough for a local disk (an object-store remote
/// picks its own default: `Remote::default_jobs`).
pub const DEFAULT_JOBS: usize = 8;

/// Settings for a transfer.
#[derive(Debug, Clone)]
pub struct TransferOptions {
    /// The remote's name; the default remote when absent.
    pub remote: Option<String>,
    /// Objects in flight at once; the remote's default when absent.
    pub jobs: Option<usize>,
    /// For `push`: re-hash the remote's copies of the objects it already has, and upload a good
    /// copy over each corrupt one.
    pub verify: bool,
}

impl Default for TransferOptions {
    /// The default remote, its default number of jobs, no verification.
    fn default() -> Self {
        Self {
            remote: None,
            jobs: None,
            verify: false,
        }
    }
}

/// What a transfer moved.
#[derive(Debug, Clone, Serialize)]
pub struct TransferReport {
    pub remote: String,
    /// Objects copied.
    pub transferred: u64,
    /// Bytes copied.
    pub bytes: u64,
    /// Objects the other side already had.
    pub up_to_date: u64,
    /// Corrupt objects on the remote replaced by a good copy (`push --verify`).
    pub repaired: u64,
}

/// Uploads the objects of the tracked paths that the remote lacks.
pub fn push(
    ws: &Workspace,
    tracked: &[Tracked],
    options: &TransferOptions,
    progress: &dyn Progress,
) -> Result<TransferReport> {
    let _lock = ws.lock()?;
    push_locked(ws, tracked, options, progress)
}

/// [`push`] within a larger operation that holds the workspace lock.
pub fn push_locked(
    ws: &Workspace,
    tracked: &[Tracked],
    options: &TransferOptions,
    progress: &dyn Progress,
) -> Result<TransferReport> {
    let remote = remote::open(ws, options.remote.as_deref())?;
    let jobs = options.jobs.unwrap_or_else(|| remote.default_jobs());
    let store = ws.store();
    let mut needed: Vec<Digest> = Vec::new();
    let mut owner = HashMap::new();
    for item in tracked {
        // Manifests come first in `objects_of`; send them last, so a remote that has a manifest
        // has everything it lists.
        let mut objects = objects_of(&store, &item.pointer).map_err(|e| item.needs(e))?;
        objects.reverse();
        for digest in &objects {
            owner.entry(*digest).or_insert(item);
        }
        needed.extend(objects);
    }
    let mut seen = HashSet::with_capacity(needed.len());
    needed.retain(|d| seen.insert(*d));
    remote.remove_stale_temps();
    let present = remote.list()?;
    let (mut missing, mut up_to_date): (Vec<_>, Vec<_>) =
        needed.into_iter().partition(|d| !present.contains(d));
    let mut corrupt = HashSet::new();
    if options.verify {
        // A name on the remote proves nothing about its bytes: re-hash, and send the corrupt
        // ones again like missing ones (the upload replaces them atomically).
        corrupt = corrupt_on_remote(&*remote, &up_to_date, jobs, progress)?;
        up_to_date.retain(|d| !corrupt.contains(d));
        missing.extend(corrupt.iter().copied());
    }
    tracing::debug!(
        remote = remote.name(),
        missing = missing.len(),
        present = up_to_date.len(),
        "compared with the remote"
    );
    let missing = missing
        .into_iter()
        .map(|d| Ok((d, store.size(&d).map_err(|e| needed_by(&owner, &d, e))?)))
        .collect::<Result<Vec<_>>>()?;
    run_parallel(jobs, &missing, progress, |digest| {
        store
            .verify(digest)
            .map_err(|e| needed_by(&owner, digest, e))?;
        if corrupt.contains(digest) {
            remote.replace(digest, &store.object_path(digest))
        } else {
            remote.put(digest, &store.object_path(digest))
        }
    })?;
    Ok(TransferReport {
        remote: remote.name().to_owned(),
        transferred: missing.len() as u64,
        bytes: missing.iter().map(|(_, s)| s).sum(),
        up_to_date: up_to_date.len() as u64,
        repaired: corrupt.len() as u64,
    })
}

/// The objects among `objects` whose copy on the remote does not hash to their name.
pub(crate) fn corrupt_on_remote(
    remote: &dyn Remote,
    objects: &[Digest],
    jobs: usize,
    progress: &dyn Progress,
) -> Result<HashSet<Digest>> {
    progress.start("verifying", objects.len() as u64, 0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .expect("a thread pool can be built");
    let corrupt = pool.install(|| {
        objects
            .par_iter()
            .filter_map(|digest| {
                let result = match remote.hash(digest) {
                    Ok(actual) if actual == *digest => None,
                    Ok(_) => Some(Ok(*digest)),
                    Err(e) => Some(Err(e)),
                };
                progress.advance(0);
                result
            })
            .collect::<Result<HashSet<Digest>>>()
    });
    progress.finish();
    corrupt
}

/// Downloads the objects of the tracked paths that the cache lacks.
pub fn fetch(
    ws: &Workspace,
    tracked: &[Tracked],
    options: &TransferOptions,
    progress: &dyn Progress,
) -> Result<TransferReport> {
    let _lock = ws.lock()?;
    fetch_locked(ws, tracked, options, progress)
}

/// Fetches the tracked paths only if the cache lacks some of their objects (a fresh clone), so
/// that a complete cache never opens the remote; the caller holds the workspace lock. Returns
/// what was fetched, if anything was.
pub fn fetch_missing_locked(
    ws: &Workspace,
    tracked: &[Tracked],
    options: &TransferOptions,
    progress: &dyn Progress,
) -> Result<Option<TransferReport>> {
    if is_cached(ws, tracked) {
        return Ok(None);
    }
    fetch_locked(ws, tracked, options, progress).map(Some)
}

/// [`fetch_missing_locked`] for a reader that does not hold the lock: it takes it only when
/// something must be fetched.
pub fn fetch_missing(
    ws: &Workspace,
    tracked: &[Tracked],
    options: &TransferOptions,
    progress: &dyn Progress,
) -> Result<Option<TransferReport>> {
    if is_cached(ws, tracked) {
        return Ok(None);
    }
    let _lock = ws.lock()?;
    fetch_missing_locked(ws, tracked, options, progress)
}

/// Whether the cache holds every object of the tracked paths (a missing manifest hides the
/// objects it lists: that counts as missing).
fn is_cached(ws: &Workspace, tracked: &[Tracked]) -> bool {
    let store = ws.store();
    tracked.iter().all(|item| {
        objects_of(&store, &item.pointer)
            .is_ok_and(|objects| objects.iter().all(|d| store.contains(d)))
    })
}

/// Fetches the tracked paths and `also_fetch` (other versions, e.g. from git history), then
/// checks out the tracked paths only.
pub fn pull(
    ws: &Workspace,
    tracked: &[Tracked],
    also_fetch: &[Tracked],
    options: &TransferOptions,
    checkout: &CheckoutOptions,
    progress: &dyn Progress,
) -> Result<(TransferReport, CheckoutReport)> {
    let _lock = ws.lock()?;
    let all: Vec<Tracked> = tracked.iter().chain(also_fetch).cloned().collect();
    let fetched = fetch_locked(ws, &all, options, progress)?;
    let checked_out = restore(ws, tracked, checkout, progress)?;
    Ok((fetched, checked_out))
}

/// Downloads the objects of the tracked paths that the cache lacks; the caller holds the
/// workspace lock (for [`fetch`] within a larger locked operation).
pub(crate) fn fetch_locked(
    ws: &Workspace,
    tracked: &[Tracked],
    options: &TransferOptions,
    progress: &dyn Progress,
) -> Result<TransferReport> {
    let remote = remote::open(ws, options.remote.as_deref())?;
    let jobs = options.jobs.unwrap_or_else(|| remote.default_jobs());
    let store = ws.store();
    let mut cached = store.list()?;
    let mut fetched = (0u64, 0u64);
    // Manifests first, one level at a time: they say which files to fetch.
    let mut files: Vec<(Digest, u64)> = Vec::new();
    let mut level: Vec<Digest> = Vec::new();
    // The first tracked path that needs each object, to name in an error.
    let mut owner = HashMap::new();
    for item in tracked {
        let pointer = &item.pointer;
        owner.entry(pointer.digest).or_insert(item);
        match pointer.kind {
            EntryKind::File => files.push((pointer.digest, pointer.size)),
            EntryKind::Dir => level.push(pointer.digest),
        }
    }
    while !level.is_empty() {
        level.sort_unstable();
        level.dedup();
        let missing: Vec<(Digest, u64)> = level
            .iter()
            .filter(|d| !cached.contains(d))
            .map(|d| (*d, 0))
            .collect();
        let sizes = run_parallel(jobs, &missing, progress, |digest| {
            get_verified(&store, &*remote, digest).map_err(|e| needed_by(&owner, digest, e))
        })?;
        fetched.0 += missing.len() as u64;
        fetched.1 += sizes;
        cached.extend(missing.iter().map(|(d, _)| *d));
        let mut next = Vec::new();
        for digest in &level {
            let bytes = store
                .read(digest)
                .map_err(|e| needed_by(&owner, digest, e))?;
            let item = owner.get(digest).copied();
            for entry in Manifest::parse(digest, &bytes)?.entries {
                if let Some(item) = item {
                    owner.entry(entry.digest).or_insert(item);
                }
                match entry.kind {
                    EntryKind::Dir => next.push(entry.digest),
                    EntryKind::File => files.push((entry.digest, entry.size)),
                }
            }
        }
        level = next;
    }
    dedup_keep_order(&mut files);
    tracing::debug!(
        remote = remote.name(),
        manifests_fetched = fetched.0,
        files = files.len(),
        "read the manifests"
    );
    let (missing, up_to_date): (Vec<_>, Vec<_>) =
        files.into_iter().partition(|(d, _)| !cached.contains(d));
    fetched.1 += run_parallel(jobs, &missing, progress, |digest| {
        get_verified(&store, &*remote, digest).map_err(|e| needed_by(&owner, digest, e))
    })?;
    fetched.0 += missing.len() as u64;
    crate::atomic::sync_filesystem(store.root())?;
    Ok(TransferReport {
        remote: remote.name().to_owned(),
        transferred: fetched.0,
        bytes: fetched.1,
        up_to_date: up_to_date.len() as u64,
        repaired: 0,
    })
}

/// `err` naming the tracked path that needs `digest`, when it says an object is missing.
fn needed_by(owner: &HashMap<Digest, &Tracked>, digest: &Digest, err: Error) -> Error {
    match owner.get(digest) {
        Some(item) => item.needs(err),
        None => err,
    }
}

/// Downloads one object into a temp file, checks its digest, then moves it into the cache.
fn get_verified(store: &Store, remote: &dyn Remote, digest: &Digest) -> Result<()> {
    let temp = store.temp_path();
    let result = (|| {
        remote.get(digest, &temp)?;
        let (actual, _) = Digest::of_file(&temp)?;
        if actual != *digest {
            return Err(Error::RemoteObjectCorrupt {
                remote: remote.name().to_owned(),
                digest: *digest,
                actual,
            });
        }
        store.commit_temp(&temp, digest)
    })();
    if result.is_err() {
        let _ = fs_err::remove_file(&temp);
    }
    result
}

/// Runs `work` over objects on `jobs` threads with progress; returns the bytes of actual sizes.
fn run_parallel(
    jobs: usize,
    objects: &[(Digest, u64)],
    progress: &dyn Progress,
    work: impl Fn(&Digest) -> Result<()> + Sync,
) -> Result<u64> {
    if objects.is_empty() {
        return Ok(0);
    }
    progress.start(
        "transferring",
        objects.len() as u64,
        objects.iter().map(|(_, s)| s).sum(),
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .expect("a thread pool can be built");
    let result = pool.install(|| {
        objects.par_iter().try_for_each(|(digest, size)| {
            work(digest)?;
            progress.advance(*size);
            Ok(())
        })
    });
    progress.finish();
    result.map(|()| objects.iter().map(|(_, s)| s).sum())
}

fn dedup_keep_order(objects: &mut Vec<(Digest, u64)>) {
    let mut seen = HashSet::with_capacity(objects.len());
    objects.retain(|(d, _)| seen.insert(*d));
}
