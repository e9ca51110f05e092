//! Atomic writes and the one naming scheme for temporary files.
//!
//! Content goes to a uniquely named temp file on the same filesystem, then is renamed over the
//! destination, so a reader or a killed process never sees half a file.
//!
//! Every temp file mlops creates is named `.<hint>.<pid>.<n>.mlops-tmp`, with the hint cut so the
//! name stays within `NAME_MAX`. Temp files for the workspace live in `.mlops/tmp`, which the next
//! writer clears whole under the workspace lock. Where a temp file must sit beside its destination
//! (another filesystem, a user's output file, a remote), the writer first removes the temp files
//! of this scheme that belong to processes no longer running ([`remove_stale_temps`]; on a remote
//! that several machines share, `remove_stale_shared_temps`), and scans of the workspace never
//! record a file of this scheme (`parse_temp_name`).

use std::ffi::OsStr;
use std::io::Write;

use fs_err::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The suffix of every temp file mlops creates.
pub(crate) const TEMP_SUFFIX: &str = ".mlops-tmp";
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

/// The parts of a temp file name of ours: the hint and the process id that made it; None if
/// `name` is not one.
pub(crate) fn parse_temp_name(name: &OsStr) -> Option<(&str, u32)> {
    let name = name.to_str()?.strip_suffix(TEMP_SUFFIX)?;
    let mut parts = name.rsplitn(3, '.');
    let _n: u64 = parts.next()?.parse().ok()?;
    let pid = parts.next()?.parse().ok()?;
    let hint = parts.next()?.strip_prefix('.')?;
    Some((hint, pid))
}

/// Whether the process `pid` of this machine is still running (a temp file of a running
/// process is in use).
pub(crate) fn is_running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    // Signal 0 only asks whether the process exists; EPERM means it does, under another user.
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

/// Removes the temp files of ours in `dir` whose process has died (killed mid-write). Best
/// effort: a directory that cannot be read is left alone.
pub fn remove_stale_temps(dir: &Path) {
    remove_temps_where(dir, |_, pid, _| !is_running(pid));
}

/// A temp-file hint that names this machine, for directories several machines write to (a
/// remote on a network mount): there a process id means nothing to the other machines.
pub(crate) fn shared_hint(hint: &str) -> String {
    format!("{hint}@{}", host_name())
}

/// How long a temp file in a shared directory must have gone unwritten before any machine
/// may take it for abandoned.
const SHARED_TEMP_MAX_IDLE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Like [`remove_stale_temps`], for a directory several machines write to: removes this
/// machine's temp files of dead processes, and any temp file unwritten for an hour.
pub(crate) fn remove_stale_shared_temps(dir: &Path) {
    let own = format!("@{}", host_name());
    remove_temps_where(dir, |hint, pid, idle| {
        (hint.ends_with(&own) && !is_running(pid)) || idle >= SHARED_TEMP_MAX_IDLE
    });
}

fn remove_temps_where(dir: &Path, stale: impl Fn(&str, u32, std::time::Duration) -> bool) {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((hint, pid)) = parse_temp_name(&name) else {
            continue;
        };
        let idle = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .unwrap_or_default();
        if stale(hint, pid, idle) {
            remove_entry(&entry.path());
        }
    }
}

/// Removes a file, or a directory with everything in it (a temp directory a killed writer was
/// filling). Best effort: what cannot be removed now is tried again by the next writer.
pub(crate) fn remove_entry(path: &Path) {
    let is_dir = fs_err::symlink_metadata(path).is_ok_and(|m| m.is_dir());
    let _ = if is_dir {
        fs_err::remove_dir_all(path)
    } else {
        fs_err::remove_file(path)
    };
}

fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .replace(['.', '/'], "_")
}

/// Writes `bytes` to `path` through a temp file beside it, fsynced before the rename.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = parent_of(path);
    remove_stale_temps(dir);
    write_file(path, &temp_path(dir, &hint_of(path)), bytes, true, 0o666)
}

/// Writes `bytes` to `temp`, optionally fsyncs it, and renames it to `path`.
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
    write_in_with_mode(temp_dir, path, bytes, true, 0o666)
}

/// Like [`write_in`] without the fsync: for bookkeeping that a crash may lose but must never
/// see half-written (a run-cache entry, a running stage's marker).
pub fn write_in_unsynced(temp_dir: &Path, path: &Path, bytes: &[u8]) -> crate::Result<()> {
    write_in_with_mode(temp_dir, path, bytes, false, 0o666)
}

/// Like [`write_in`], for a file only its owner may read (credentials): mode 0600 from the
/// start, so the content is never readable by others, not even for a moment.
pub(crate) fn write_private_in(temp_dir: &Path, path: &Path, bytes: &[u8]) -> crate::Result<()> {
    write_in_with_mode(temp_dir, path, bytes, true, 0o600)
}

fn write_in_with_mode(
    temp_dir: &Path,
    path: &Path,
    bytes: &[u8],
    fsync: bool,
    mode: u32,
) -> crate::Result<()> {
    replace_via(temp_dir, path, |temp| {
        Ok(create_with(temp, bytes, fsync, mode)?)
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
/// workspace; where `dest` is on another filesystem, where a rename cannot reach, it is made
/// beside `dest` instead. On error, no temp file is left.
pub(crate) fn replace_via<T>(
    temp_dir: &Path,
    dest: &Path,
    fill: impl Fn(&Path) -> crate::Result<T>,
) -> crate::Result<T> {
    let temp = temp_path(&temp_dir_for(temp_dir, parent_of(dest))?, &hint_of(dest));
    let result = fill(&temp).and_then(|value| {
        crate::faults::write_step();
        fs_err::rename(&temp, dest)?;
        Ok(value)
    });
    if result.is_err() {
        let _ = fs_err::remove_file(&temp);
    }
    result
}

/// Where temp files for `dest_dir` go: `temp_dir` when both are on one filesystem, else
/// `dest_dir` itself (cleared of stale temps first). Decided once per directory and thread, so a
/// checkout of many files in few directories costs a few `stat`s, not one per file.
fn temp_dir_for(temp_dir: &Path, dest_dir: &Path) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    thread_local! {
        /// Destination directory -> (temp directory asked for, temp directory chosen).
        static DECIDED: std::cell::RefCell<std::collections::HashMap<PathBuf, (PathBuf, PathBuf)>> =
            std::cell::RefCell::default();
    }
    let known = DECIDED.with(|d| {
        d.borrow()
            .get(dest_dir)
            .filter(|(asked, _)| asked == temp_dir)
            .map(|(_, chosen)| chosen.clone())
    });
    if let Some(chosen) = known {
        return Ok(chosen);
    }
    let temp_dev = match fs_err::metadata(temp_dir) {
        Ok(meta) => meta.dev(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs_err::create_dir_all(temp_dir)?;
            fs_err::metadata(temp_dir)?.dev()
        }
        Err(e) => return Err(e),
    };
    let chosen = if fs_err::metadata(dest_dir)?.dev() == temp_dev {
        temp_dir.to_owned()
    } else {
        remove_stale_temps(dest_dir);
        dest_dir.to_owned()
    };
    DECIDED.with(|d| {
        d.borrow_mut()
            .insert(dest_dir.to_owned(), (temp_dir.to_owned(), chosen.clone()))
    });
    Ok(chosen)
}

/// The directory a temp file for `path` goes in: its parent, or `.` for a bare name.
pub(crate) fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The temp-file hint for `path`: its file name.
pub(crate) fn hint_of(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "write".into(), |n| n.to_string_lossy().into_owned())
}

/// Flushes every write to the filesystem holding `dir` to disk: one barrier for many small
/// files, far cheaper than an fsync each.
pub(crate) fn sync_filesystem(dir: &Path) -> std::io::Result<()> {
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
        assert_eq!(
            parse_temp_name(name).map(|(_, pid)| pid),
            Some(std::process::id())
        );
        for not_ours in ["data.csv", ".a.1.2.tmp", "x.mlops-tmp", ".a.b.2.mlops-tmp"] {
            assert_eq!(parse_temp_name(OsStr::new(not_ours)), None, "{not_ours}");
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
