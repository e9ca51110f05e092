//! `gc`: remove cache objects that no tracked path needs.

use std::collections::HashSet;

use serde::Serialize;

use crate::error::Result;
use crate::ops::Tracked;
use crate::tree::objects_of;
use crate::workspace::Workspace;

/// What `gc` removed (or would remove, with `dry_run`).
#[derive(Debug, Clone, Serialize)]
pub struct GcReport {
    pub dry_run: bool,
    pub removed_objects: u64,
    pub removed_bytes: u64,
    pub kept_objects: u64,
    pub kept_bytes: u64,
}

/// Removes every object that no tracked path in `keep` needs. Refuses to run when a tracked
/// directory's manifest is missing, since what it lists cannot be known.
///
/// The caller holds the workspace lock and read `keep` under it (every tracked path: pointer
/// files and pipeline outputs, as `mlops_pipeline::tracked::gc` reads them), so an `add` or a
/// run that finished while `gc` waited for the lock keeps its objects.
pub fn gc_locked(ws: &Workspace, dry_run: bool, keep: &[Tracked]) -> Result<GcReport> {
    let store = ws.store();
    let mut referenced = HashSet::new();
    for item in keep {
        referenced.extend(objects_of(&store, &item.pointer)?);
    }
    let mut report = GcReport {
        dry_run,
        removed_objects: 0,
        removed_bytes: 0,
        kept_objects: 0,
        kept_bytes: 0,
    };
    for (digest, size) in store.list_with_sizes()? {
        if referenced.contains(&digest) {
            report.kept_objects += 1;
            report.kept_bytes += size;
        } else {
            if !dry_run {
                store.remove(&digest)?;
            }
            report.removed_objects += 1;
            report.removed_bytes += size;
        }
    }
    Ok(report)
}
