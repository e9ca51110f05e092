//! The hash index: (path, size, mtime, inode) -> digest, so unchanged files are never re-hashed.
//!
//! It is only a cache: a missing or unreadable index costs time, never correctness. One text line
//! per file (`digest size mtime_ns inode path`), about 100 bytes each. Entries whose mtime is too
//! close to the moment the index is written are not saved ("racy" in git's terms): a file changed
//! again within the filesystem's timestamp granularity would otherwise keep a stale digest.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::digest::Digest;
use crate::error::Result;

const HEADER: &str = "mlops-index 1";
/// Entries modified less than this before the index is written are not trusted.
const RACY_WINDOW: Duration = Duration::from_secs(2);

/// The stat fields that decide whether a file may have changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: u64,
}

impl Stamp {
    pub fn of(meta: &Metadata) -> Self {
        Self {
            size: meta.len(),
            mtime_ns: meta
                .mtime()
                .saturating_mul(1_000_000_000)
                .saturating_add(meta.mtime_nsec()),
            inode: meta.ino(),
        }
    }
}

/// The index in memory, keyed by workspace-relative path.
#[derive(Debug, Default)]
pub struct HashIndex {
    /// Keyed by the path as text: hashing a `Path` walks its components, a `str` is one pass.
    entries: HashMap<String, (Stamp, Digest)>,
    changed: bool,
}

impl HashIndex {
    /// Loads the index; anything unreadable is treated as empty.
    pub fn load(path: &Path) -> Self {
        let Ok(text) = fs_err::read_to_string(path) else {
            return Self::default();
        };
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            tracing::warn!(
                "ignoring hash index `{}` with an unknown header",
                path.display()
            );
            return Self::default();
        }
        let mut entries = HashMap::new();
        for line in lines {
            if let Some((rel, value)) = parse_line(line) {
                entries.insert(rel, value);
            }
        }
        Self {
            entries,
            changed: false,
        }
    }

    /// The digest recorded for `rel`, if its stamp is unchanged.
    pub fn get(&self, rel: &Path, stamp: &Stamp) -> Option<Digest> {
        match rel.to_str().and_then(|rel| self.entries.get(rel)) {
            Some((known, digest)) if known == stamp => Some(*digest),
            _ => None,
        }
    }

    pub fn insert(&mut self, rel: &Path, stamp: Stamp, digest: Digest) {
        let Some(rel) = rel.to_str() else { return };
        let value = (stamp, digest);
        if self.entries.get(rel) != Some(&value) {
            self.entries.insert(rel.to_owned(), value);
            self.changed = true;
        }
    }

    /// Whether anything was inserted or removed since loading.
    pub(crate) fn is_changed(&self) -> bool {
        self.changed
    }

    /// Forgets the entries at or below `rel` that are not in `present` (files that are gone).
    pub(crate) fn forget_missing_under(&mut self, rel: &Path, present: &HashSet<&str>) {
        let Some(rel) = rel.to_str() else { return };
        let before = self.entries.len();
        self.entries.retain(|path, _| {
            let under = path.starts_with(rel)
                && matches!(path.as_bytes().get(rel.len()), None | Some(b'/'));
            !under || present.contains(path.as_str())
        });
        self.changed |= self.entries.len() != before;
    }

    /// Re-keys the entries at or below `from` to the same paths under `to` (a rename: the
    /// files keep their inode, size and mtime, so their stamps still hold).
    pub(crate) fn rename_under(&mut self, from: &Path, to: &Path) {
        let (Some(from), Some(to)) = (from.to_str(), to.to_str()) else {
            return;
        };
        let moved: Vec<String> = self
            .entries
            .keys()
            .filter(|path| {
                path.starts_with(from)
                    && matches!(path.as_bytes().get(from.len()), None | Some(b'/'))
            })
            .cloned()
            .collect();
        for old in moved {
            if let Some(value) = self.entries.remove(&old) {
                self.entries
                    .insert(format!("{to}{}", &old[from.len()..]), value);
                self.changed = true;
            }
        }
    }

    /// Writes the index atomically if anything changed, dropping racy entries.
    pub fn save(&self, path: &Path) -> Result<()> {
        if !self.changed {
            return Ok(());
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let cutoff = i64::try_from(now.saturating_sub(RACY_WINDOW).as_nanos()).unwrap_or(i64::MAX);
        let mut out = String::with_capacity(self.entries.len() * 110 + 16);
        out.push_str(HEADER);
        out.push('\n');
        let mut rows: Vec<_> = self
            .entries
            .iter()
            .filter(|(_, (stamp, _))| stamp.mtime_ns < cutoff)
            .collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (rel, (stamp, digest)) in rows {
            let _ = writeln!(
                out,
                "{digest} {} {} {} {rel}",
                stamp.size, stamp.mtime_ns, stamp.inode
            );
        }
        // The temp file goes to `.mlops/tmp` beside the index, cleared under the lock.
        let mlops_dir = crate::atomic::parent_of(path);
        crate::atomic::write_in(
            &crate::workspace::temp_dir_in(mlops_dir),
            path,
            out.as_bytes(),
        )?;
        Ok(())
    }
}

fn parse_line(line: &str) -> Option<(String, (Stamp, Digest))> {
    let mut parts = line.splitn(5, ' ');
    let digest = parts.next()?.parse().ok()?;
    let size = parts.next()?.parse().ok()?;
    let mtime_ns = parts.next()?.parse().ok()?;
    let inode = parts.next()?.parse().ok()?;
    let rel = parts.next()?.to_owned();
    Some((
        rel,
        (
            Stamp {
                size,
                mtime_ns,
                inode,
            },
            digest,
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rename_under_moves_only_the_paths_below() {
        let stamp = Stamp {
            size: 1,
            mtime_ns: 1,
            inode: 1,
        };
        let digest = Digest::from([7; 32]);
        let mut index = HashIndex::default();
        for rel in ["data", "data/a", "data/sub/b", "database/c", "other"] {
            index.insert(Path::new(rel), stamp, digest);
        }
        index.rename_under(Path::new("data"), Path::new("moved/data2"));
        let mut keys: Vec<&str> = index.entries.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "database/c",
                "moved/data2",
                "moved/data2/a",
                "moved/data2/sub/b",
                "other"
            ]
        );
    }

    #[test]
    fn round_trip_skips_racy_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("index");
        let mut index = HashIndex::default();
        let old = Stamp {
            size: 3,
            mtime_ns: 1_000_000_000,
            inode: 7,
        };
        let fresh_ns = i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("clock")
                .as_nanos(),
        )
        .expect("fits");
        let fresh = Stamp {
            size: 3,
            mtime_ns: fresh_ns,
            inode: 8,
        };
        index.insert(Path::new("a b/c"), old, Digest::of_bytes(b"a"));
        index.insert(Path::new("new"), fresh, Digest::of_bytes(b"n"));
        index.save(&path).expect("save");
        let back = HashIndex::load(&path);
        assert_eq!(
            back.get(Path::new("a b/c"), &old),
            Some(Digest::of_bytes(b"a"))
        );
        assert_eq!(back.get(Path::new("new"), &fresh), None);
        assert_eq!(
            back.get(Path::new("a b/c"), &Stamp { size: 4, ..old }),
            None
        );
    }

    #[test]
    fn forgetting_respects_path_components() {
        let mut index = HashIndex::default();
        let stamp = Stamp {
            size: 1,
            mtime_ns: 1,
            inode: 1,
        };
        for path in ["data", "data/a", "data2/b"] {
            index.insert(Path::new(path), stamp, Digest::of_bytes(b"x"));
        }
        index.forget_missing_under(Path::new("data"), &HashSet::from(["data"]));
        assert!(index.get(Path::new("data2/b"), &stamp).is_some());
        assert!(index.get(Path::new("data/a"), &stamp).is_none());
        assert!(index.get(Path::new("data"), &stamp).is_some());
    }
}
