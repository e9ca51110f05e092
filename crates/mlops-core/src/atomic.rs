//! Atomic writes and the one naming scheme for temporary files.
//!
//! Content goes to a uniquely named temp file on the same filesystem, then is renamed over the
//! destination, so a reader or a killed process never sees half a file.
//!
//! Every temp file mlops creates is named `.<hint>.<pid>.<n>.mlops-tmp`, with the hint cut so the
//! name stays within `NAME_MAX`. Temp files for the workspace live in `.mlops/tmp`, which the next
//! writer clears whole under the workspace lock. Where a temp file must sit beside its destination
//! (another filesystem, a user's output file, a remote), the writer first removes the temp files
//! of this scheme that belong to processes no longer running ([`remove_stale_temps`]), and scans of
//! the workspace never record a file of this scheme ([`is_temp_name`]).

use std::ffi::OsStr;
use std::io::Write;

use fs_err::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The suffix of every temp file mlops creates.
pub const TEMP_SUFFIX: &str = ".mlops-tmp";
/// The most bytes of a destination's name kept in its temp file's name.
const HINT_MAX: usize = 48;

/// A temp-file path in `dir` that no other thread or process of ours uses.
pub fn temp_path(dir: &Path, hint: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut end = hint.len().min(HINT_MAX);
    while !hint.is_char_boundary(end) {
        end -= 1;
    }
    dir.join(format!(
        ".{}.{}.{n}{TEMP_SUFFIX}",
        &hint[..end],
        std::process::id()
    ))
}

/// The process id in a temp file name of ours, or None if `name` is not one.
pub fn is_temp_name(name: &OsStr) -> Option<u32> {
    let name = name.to_str()?.strip_suffix(TEMP_SUFFIX)?;
    let mut parts = name.rsplitn(3, '.');
    let _n: u64 = parts.next()?.parse().ok()?;
    let pid = parts.next()?.parse().ok()?;
    parts.next()?.starts_with('.').then_some(pid)
}

/// Whether the process `pid` is still running (a temp file of a running process is in use).
fn is_running(pid: u32) -> bool {
    pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists()
}

/// Removes the temp files of ours in `dir` whose process has died (killed mid-write). Best
/// effort: a directory that cannot be read is left alone.
pub fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if let Some(pid) = is_temp_name(&entry.file_name())
            && !is_running(pid)
        {
            let _ = fs_err::remove_file(entry.path());
        }
    }
}

/// Writes `bytes` to `path` through a temp file beside it, fsynced before the rename.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = parent_of(path);
    remove_stale_temps(dir);
    write_file(path, &temp_path(dir, &hint_of(path)), bytes, true, 0o666)
}

/// Writes `bytes` to `temp`, optionally fsyncs it, and renames it to `path`.
pub fn write_via(path: &Path, temp: &Path, bytes: &[u8], fsync: bool) -> std::io::Result<()> {
    write_file(path, temp, bytes, fsync, 0o666)
}

fn write_file(
    path: &Path,
    temp: &Path,
    bytes: &[u8],
    fsync: bool,
    mode: u32,
) -> std::io::Result<()> {
    let result = (|| {
        create_with(temp, bytes, fsync, mode)?;
        crate::faults::write_step();
        fs_err::rename(temp, path)
    })();
    if result.is_err() {
        let _ = fs_err::remove_file(temp);
    }
    result
}

/// Writes `bytes` to `path` through a temp file in `temp_dir` (the workspace's `.mlops/tmp`),
/// fsynced before the rename: for files in the workspace, where a killed write must leave
/// nothing behind.
pub fn write_in(temp_dir: &Path, path: &Path, bytes: &[u8]) -> crate::Result<()> {
    write_in_with_mode(temp_dir, path, bytes, 0o666)
}

/// Like [`write_in`], for a file only its owner may read (credentials): mode 0600 from the
/// start, so the content is never readable by others, not even for a moment.
pub fn write_private_in(temp_dir: &Path, path: &Path, bytes: &[u8]) -> crate::Result<()> {
    write_in_with_mode(temp_dir, path, bytes, 0o600)
}

fn write_in_with_mode(temp_dir: &Path, path: &Path, bytes: &[u8], mode: u32) -> crate::Result<()> {
    replace_via(temp_dir, path, |temp| {
        Ok(create_with(temp, bytes, true, mode)?)
    })
}

/// Creates the new file `temp` with `mode` (before the umask) holding `bytes`.
fn create_with(temp: &Path, bytes: &[u8], fsync: bool, mode: u32) -> std::io::Result<()> {
    let mut file = fs_err::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(temp)?;
    file.write_all(bytes)?;
    if fsync {
        file.sync_all()?;
    }
    Ok(())
}

/// Fills a temp file through `fill`, then renames it to `dest`. The temp file is made in
/// `temp_dir` (the workspace's `.mlops/tmp`) so that a killed process leaves nothing in the
/// workspace; where `temp_dir` is on another filesystem the rename fails and the temp file is
/// made beside `dest` instead. On error, no temp file is left.
pub fn replace_via<T>(
    temp_dir: &Path,
    dest: &Path,
    fill: impl Fn(&Path) -> crate::Result<T>,
) -> crate::Result<T> {
    let attempt = |temp: PathBuf| -> crate::Result<T> {
        let result = fill(&temp).and_then(|value| {
            crate::faults::write_step();
            fs_err::rename(&temp, dest)?;
            Ok(value)
        });
        if result.is_err() {
            let _ = fs_err::remove_file(&temp);
        }
        result
    };
    fs_err::create_dir_all(temp_dir)?;
    match attempt(temp_path(temp_dir, &hint_of(dest))) {
        Err(crate::Error::Io(e)) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            let dir = parent_of(dest);
            remove_stale_temps(dir);
            attempt(temp_path(dir, &hint_of(dest)))
        }
        other => other,
    }
}

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn hint_of(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "write".into(), |n| n.to_string_lossy().into_owned())
}

/// Flushes every write to the filesystem holding `dir` to disk: one barrier for many small
/// files, far cheaper than an fsync each.
pub fn sync_filesystem(dir: &Path) -> std::io::Result<()> {
    let handle = fs_err::File::open(dir)?;
    rustix::fs::syncfs(handle.file()).map_err(std::io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_stay_short_and_are_recognised() {
        let long = "é".repeat(125); // 250 bytes
        let temp = temp_path(Path::new("/d"), &long);
        let name = temp.file_name().expect("name");
        assert!(name.len() <= 255 - 8, "{}", name.len());
        assert_eq!(is_temp_name(name), Some(std::process::id()));
        for not_ours in ["data.csv", ".a.1.2.tmp", "x.mlops-tmp", ".a.b.2.mlops-tmp"] {
            assert_eq!(is_temp_name(OsStr::new(not_ours)), None, "{not_ours}");
        }
    }

    #[test]
    fn stale_temps_of_dead_processes_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        // pid 2^22 + 1 is above Linux's pid_max limit, so it never runs.
        let dead = dir.path().join(".x.4194305.0.mlops-tmp");
        let live = temp_path(dir.path(), "x");
        let user = dir.path().join("keep.tmp");
        for path in [&dead, &live, &user] {
            fs_err::write(path, b"t").expect("write");
        }
        remove_stale_temps(dir.path());
        assert!(!dead.exists());
        assert!(live.exists() && user.exists());
    }
}
