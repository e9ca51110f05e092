//! Deterministic kill points for the crash-safety tests.
//!
//! With `MLOPS_KILL_AFTER_WRITES=N` in the environment, the process sends itself SIGKILL just
//! before its N-th write step (an object stored, a file placed in the workspace, a pointer or
//! lock file written, an upload, an object removed). SIGKILL runs no destructor and no handler,
//! so the test sees exactly what a `kill -9` at that point would leave. Unset, a step costs one
//! read of an initialised `OnceLock`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that arms the kill point.
pub(crate) const KILL_AFTER_WRITES: &str = "MLOPS_KILL_AFTER_WRITES";

/// Marks one write step; kills the process when it is the one the environment names.
pub fn write_step() {
    static ARMED: OnceLock<Option<u64>> = OnceLock::new();
    static STEPS: AtomicU64 = AtomicU64::new(0);
    let Some(limit) = *ARMED.get_or_init(|| {
        std::env::var(KILL_AFTER_WRITES)
            .ok()
            .and_then(|v| v.parse().ok())
    }) else {
        return;
    };
    if STEPS.fetch_add(1, Ordering::Relaxed) + 1 >= limit {
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    }
}
