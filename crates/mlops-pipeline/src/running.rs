//! Pid files of running stage commands, `.mlops/running/<id>.json`: the stage, the pid of its
//! process group's leader and that process's start time, written before the command starts and
//! removed once it has ended.
//!
//! A `mlops run` killed with SIGKILL (which no handler sees) leaves its stages running: they are
//! in their own process groups and no longer hold the workspace lock. The pid file lets the next
//! `mlops run` see that a stage of an earlier run is still writing its outputs and refuse to race
//! it (issue 14, defect 8). The start time tells a live stage from a process that reused its pid.

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
        };
        let bytes = serde_json::to_vec(&marker).expect("markers serialise");
        // Through `.mlops/tmp`, which the next writer clears: a killed write leaves nothing here.
        mlops_core::atomic::write_in(&mlops_dir.join("tmp"), &path, &bytes)?;
        Ok(Self { path })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = fs_err::remove_file(&self.path);
    }
}

/// Refuses when a stage of an earlier run is still running; removes the pid files of stages
/// that have ended. The caller holds the workspace lock, so no live run of its own is listed.
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
    match (start_time(marker.pid), marker.start) {
        // The leader runs: it is the stage's only if it started when the stage did.
        (Some(now), Some(then)) => now == then,
        // The leader is gone, but its group lives on while any process in it does (and Linux
        // never hands out a pid that is still some group's id).
        _ => group_alive(marker.pid),
    }
}

/// Whether any process is in the process group `pgid`.
pub(crate) fn group_alive(pgid: u32) -> bool {
    let Some(group) = i32::try_from(pgid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process_group(group) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

/// The start time of process `pid` (field 22 of `/proc/<pid>/stat`), if it exists.
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs_err::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 2 is the command name in parentheses and may hold spaces: count from its end.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(22 - 3)?.parse().ok()
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
        };
        fs_err::write(&ended.path, serde_json::to_vec(&stale).expect("json")).expect("write");
        refuse_if_running(dir.path()).expect("a reused pid is not the stage");
        assert!(!ended.path.exists(), "the stale pid file is removed");
    }
}
