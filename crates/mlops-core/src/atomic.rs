//! Atomic writes: every file mlops writes appears whole or not at all.
//!
//! Content goes to a uniquely named temp file in the same filesystem, then is renamed over the
//! destination, so a reader or a killed process never sees half a file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A temp-file path in `dir` that no other thread or process of ours uses.
pub fn temp_path(dir: &Path, hint: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{hint}.{}.{n}.tmp", std::process::id()))
}

/// Writes `bytes` to `path` through a temp file beside it, fsynced before the rename.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let hint = path
        .file_name()
        .map_or_else(|| "write".into(), |n| n.to_string_lossy().into_owned());
    write_via(path, &temp_path(dir, &hint), bytes, true)
}

/// Writes `bytes` to `temp`, optionally fsyncs it, and renames it to `path`.
pub fn write_via(path: &Path, temp: &Path, bytes: &[u8], fsync: bool) -> std::io::Result<()> {
    let result = (|| {
        let mut file = fs_err::File::create(temp)?;
        file.write_all(bytes)?;
        if fsync {
            file.sync_all()?;
        }
        drop(file);
        fs_err::rename(temp, path)
    })();
    if result.is_err() {
        let _ = fs_err::remove_file(temp);
    }
    result
}

/// Flushes every write to the filesystem holding `dir` to disk: one barrier for many small
/// files, far cheaper than an fsync each.
pub fn sync_filesystem(dir: &Path) -> std::io::Result<()> {
    let handle = fs_err::File::open(dir)?;
    rustix::fs::syncfs(handle.file()).map_err(std::io::Error::from)
}
