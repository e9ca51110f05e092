//! Pid files of running stage commands, `.mlops/running/<id>.json`: the stage, the pid of its
//! process group's leader and that process's start time, written before the command starts and
//! removed once it has ended.
//!
//! A `mlops run` killed with SIGKILL (which no handler sees) leaves its stages running: they are
//! in their own process groups and no longer hold the workspace lock. The pid file lets the next
//! `mlops run` see that a stage of an earlier run is still writing its outputs and refuse to race
//! it (issue 14, defect 8). The start time tells a live stage from a process that reused its pid.
//!
//! A pid file is only believed when it names a process of ours that started when it says (or,
//! its leader gone, a group of ours, written since this boot): `.mlops/running/` is ignored by
//! git, but a pid file committed before it was (or crafted) must not name init, pid 0 or a
//! stranger's process, or every `mlops run` would refuse and suggest signalling it.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What a pid file says.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Marker {
    stage: String,
    /// The command's pid, which is also its process group id.
    pid: u32,
    /// Field 22 of `/proc/<pid>/stat` (clock ticks after boot), where the system has it.
    start: Option<u64>,
    /// `/proc/sys/kernel/random/boot_id` when the file was written: the start time counts from
    /// that boot. Absent from pid files of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    boot: Option<String>,
}

fn dir(mlops_dir: &Path) -> PathBuf {
    mlops_dir.join("running")
}

/// The pid file of one running command; removed when dropped.
#[derive(Debug)]
pub(crate) struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// Records that `stage` runs as the process group `pid`.
    pub(crate) fn write(mlops_dir: &Path, stage: &str, pid: u32) -> Result<Self> {
        let dir = dir(mlops_dir);
        fs_err::create_dir_all(&dir)?;
        // Stage names made by `foreach` may hold any character: name the file by a digest.
        let id = blake3::hash(stage.as_bytes()).to_hex();
        let path = dir.join(format!("{}.json", &id[..16]));
        let marker = Marker {
            stage: stage.to_owned(),
            pid,
            start: start_time(pid),
            boot: boot_id(),
        };
        let bytes = serde_json::to_vec(&marker).expect("markers serialise");
        // Through `.mlops/tmp`, which the next writer clears: a killed write leaves nothing here.
        mlops_core::atomic::write_in_unsynced(
            &mlops_core::workspace::temp_dir_in(mlops_dir),
            &path,
            &bytes,
        )?;
        Ok(Self { path })
    }
}

impl PidFile {
    /// Leaves the pid file in place: the group still runs, and the next run must wait for it.
    pub(crate) fn keep(mut self) {
        self.path = PathBuf::new();
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if self.path.as_os_str().is_empty() {
            return;
        }
        let _ = fs_err::remove_file(&self.path);
    }
}

/// Adds `/running/` to `.mlops/.gitignore` where a workspace made by an older version lacks it,
/// so that pid files are never committed. A missing `.gitignore` is left missing.
pub(crate) fn ignore_pid_files(mlops_dir: &Path) -> Result<()> {
    let path = mlops_dir.join(".gitignore");
    let mut text = match fs_err::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let ignored = text.lines().any(|line| {
        matches!(
            line.trim(),
            "/running/" | "/running" | "running/" | "running"
        )
    });
    if ignored {
        return Ok(());
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("/running/\n");
    mlops_core::atomic::write_in(
        &mlops_core::workspace::temp_dir_in(mlops_dir),
        &path,
        text.as_bytes(),
    )?;
    Ok(())
}

/// Refuses when a stage of an earlier run is still running; removes the pid files of stages
/// that have ended (and those that name no stage of ours). The caller holds the workspace lock,
/// so no live run of its own is listed. Pid files of other users are left alone.
pub(crate) fn refuse_if_running(mlops_dir: &Path) -> Result<()> {
    let entries = match fs_err::read_dir(dir(mlops_dir)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        // Another user's stage would not be ours to wait for, nor its file ours to remove.
        if fs_err::symlink_metadata(&path)?.uid() != rustix::process::geteuid().as_raw() {
            continue;
        }
        // Pid files are written whole (temp file + rename); one that does not parse names no
        // process that could still be running.
        let marker = fs_err::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Marker>(&bytes).ok());
        if let Some(marker) = marker
            && alive(&marker)
        {
            return Err(Error::StillRunning {
                stage: marker.stage,
                pid: marker.pid,
            });
        }
        fs_err::remove_file(&path)?;
    }
    Ok(())
}

/// Whether the command of `marker`, or a process it started in its group, still runs.
fn alive(marker: &Marker) -> bool {
    // Pid 0 and 1 are never a stage's: `kill -1` would signal every process of the user, and
    // init (or a container's first process) always runs. Without a start time, a live pid
    // could be anyone's.
    let Some(then) = marker.start.filter(|_| marker.pid > 1) else {
        return false;
    };
    if start_time(marker.pid).is_some() {
        // The leader runs: it is the stage's only if it started when the stage did, as us.
        return start_time(marker.pid) == Some(then) && owned_by_us(marker.pid);
    }
    // The leader is gone, but its group lives on while any process in it does (and Linux never
    // hands out a pid that is still some group's id). Only a pid file of this boot can name
    // such a group: the group's start time cannot be checked.
    marker.boot.is_some() && marker.boot == boot_id() && group_alive(marker.pid)
}

/// Sends `signal` to the process group `pgid` (a stage's command, a probe); a group that is gone
/// is no error.
pub(crate) fn signal_group(pgid: u32, signal: rustix::process::Signal) {
    if let Some(pid) = i32::try_from(pgid)
        .ok()
        .filter(|pgid| *pgid > 1)
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, signal);
    }
}

/// Whether a process of ours (one we may signal) that is not a zombie is in the group `pgid`.
pub(crate) fn group_alive(pgid: u32) -> bool {
    let Some(group) = i32::try_from(pgid)
        .ok()
        .filter(|pgid| *pgid > 1)
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    // EPERM: the group's processes are someone else's, so not a stage of ours.
    if rustix::process::test_kill_process_group(group).is_err() {
        return false;
    }
    // Zombies count for `kill` until their parent reaps them, which a container's first process
    // may never do: look for a member that still runs, where /proc tells.
    let Ok(entries) = fs_err::read_dir("/proc") else {
        return true;
    };
    entries.flatten().any(|entry| {
        let Some(process) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            return false;
        };
        stat_fields(process).is_some_and(|fields| {
            fields.first().is_some_and(|state| state != "Z")
                && fields.get(2).and_then(|g| g.parse().ok()) == Some(pgid)
        })
    })
}

/// Whether process `pid` runs as our effective user.
fn owned_by_us(pid: u32) -> bool {
    fs_err::metadata(format!("/proc/{pid}"))
        .is_ok_and(|meta| meta.uid() == rustix::process::geteuid().as_raw())
}

/// This boot's id, where the system has one.
fn boot_id() -> Option<String> {
    let id = fs_err::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(id.trim().to_owned())
}

/// The start time of process `pid` (field 22 of `/proc/<pid>/stat`), if it exists.
fn start_time(pid: u32) -> Option<u64> {
    stat_fields(pid)?.get(22 - 3)?.parse().ok()
}

/// The fields of `/proc/<pid>/stat` after the command name, from field 3 (the state) on.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = fs_err::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 2 is the command name in parentheses and may hold spaces: count from its end.
    let after_name = stat.get(stat.rfind(')')? + 1..)?;
    Some(after_name.split_whitespace().map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_stage_is_refused_and_an_ended_one_forgotten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let me = std::process::id();
        assert!(
            start_time(me).is_some(),
            "this test runs where /proc exists"
        );
        let live = PidFile::write(dir.path(), "train@a/b", me).expect("write");
        let err = refuse_if_running(dir.path()).expect_err("refused");
        assert!(
            err.to_string().contains("`train@a/b`") && err.to_string().contains(&me.to_string()),
            "{err}"
        );
        drop(live);
        let ended = PidFile::write(dir.path(), "gone", me).expect("write");
        let stale = Marker {
            stage: "gone".into(),
            pid: me,
            start: start_time(me).map(|s| s + 1),
            boot: boot_id(),
        };
        fs_err::write(&ended.path, serde_json::to_vec(&stale).expect("json")).expect("write");
        refuse_if_running(dir.path()).expect("a reused pid is not the stage");
        assert!(!ended.path.exists(), "the stale pid file is removed");
    }

    #[test]
    fn pid_files_naming_init_or_no_start_are_not_believed() {
        for pid in [0, 1] {
            let marker = Marker {
                stage: "x".into(),
                pid,
                start: start_time(pid),
                boot: boot_id(),
            };
            assert!(!alive(&marker), "pid {pid}");
            let err = Error::StillRunning {
                stage: "x".into(),
                pid,
            };
            assert!(!err.to_string().contains("kill"), "{err}");
        }
        let me = Marker {
            stage: "x".into(),
            pid: std::process::id(),
            start: None,
            boot: boot_id(),
        };
        assert!(!alive(&me), "no start time, no proof");
        assert!(!group_alive(1) && !group_alive(0));
    }
}
