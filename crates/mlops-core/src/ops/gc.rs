//! `gc`: remove cache objects that no pointer file in the workspace needs.

use std::collections::HashSet;

use serde::Serialize;

use crate::error::Result;
use crate::ops::{Tracked, resolve};
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

/// Removes every object not reachable from a pointer file in the workspace. Refuses to run when a
/// tracked directory's manifest is missing, since what it lists cannot be known.
/// `also_keep` names tracked paths recorded outside pointer files (pipeline outputs).
pub fn gc(ws: &Workspace, dry_run: bool, also_keep: &[Tracked]) -> Result<GcReport> {
    let _lock = ws.lock()?;
    let store = ws.store();
    let mut referenced = HashSet::new();
    for item in resolve(ws, &[])?.iter().chain(also_keep) {
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
