//! The workspace write lock: one writer at a time, others wait a little and then name the holder.
//!
//! An OS file lock (flock) on `.mlops/lock` is released by the kernel when its holder dies, even by
//! SIGKILL, so a crash never leaves a stale lock behind. The holder writes its pid into the file
//! only so that a waiting process can say who holds it.

use std::io::{Read, Seek, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Held while a command changes the workspace, the cache or the config; released on drop.
#[derive(Debug)]
pub struct WorkspaceLock {
    _file: fs_err::File,
}

impl WorkspaceLock {
    /// Takes the lock at `path`, polling for up to `wait` while another process holds it.
    pub(crate) fn acquire(path: &Path, wait: Duration) -> Result<Self> {
        Self::acquire_as(path, wait, false)
    }

    /// Takes the lock at `path` shared with other shared holders (one exclusive holder waits for
    /// them all), or exclusive; polls for up to `wait`.
    pub(crate) fn acquire_as(path: &Path, wait: Duration, shared: bool) -> Result<Self> {
        let mut file = fs_err::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let started = Instant::now();
        loop {
            let attempt = if shared {
                file.file().try_lock_shared()
            } else {
                file.file().try_lock()
            };
            match attempt {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let mut pid = String::new();
                    file.rewind()?;
                    file.read_to_string(&mut pid)?;
                    let pid = pid.trim();
                    return Err(Error::Locked {
                        path: path.to_owned(),
                        pid: if pid.is_empty() {
                            "unknown".into()
                        } else {
                            pid.to_owned()
                        },
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
            }
        }
        if !shared {
            file.set_len(0)?;
            file.rewind()?;
            write!(file, "{}", std::process::id())?;
        }
        Ok(Self { _file: file })
    }
}
