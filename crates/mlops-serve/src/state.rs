//! What a route decided at run time and a restart must not forget (which side of a blue-green
//! route is live), kept as JSON in `<state-dir>/<route>.json`: written whole through a temp
//! file and a rename at each change, so a killed server leaves the old state or the new one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::bandit::Arm;
use crate::error::{Error, Result};
use crate::route::Colour;

/// A route's run-time state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct RouteState {
    /// A blue-green route's live side, once switched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) live: Option<Colour>,
    /// A canary's guard, once tripped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tripped: Option<Tripped>,
    /// A bandit's arms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) arms: Vec<SavedArm>,
}

/// A bandit arm's tally, and the model version it is for (a new version starts afresh).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SavedArm {
    pub(crate) name: String,
    pub(crate) version: String,
    #[serde(flatten)]
    pub(crate) tally: Arm,
}

/// Why a canary's guard tripped, and the challenger version it tripped on (a new version
/// starts afresh).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Tripped {
    pub(crate) reason: String,
    pub(crate) version: String,
}

/// Where route `name`'s state lives under `dir`.
pub(crate) fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.json"))
}

/// Route `name`'s state under `dir`; none yet when the file does not exist.
pub(crate) fn read(dir: &Path, name: &str) -> Result<RouteState> {
    let path = path(dir, name);
    let text = match fs_err::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(RouteState::default()),
        Err(e) => return Err(Error::Io(e)),
    };
    serde_json::from_str(&text).map_err(|e| Error::State {
        path,
        message: e.to_string(),
    })
}

/// Writes route `name`'s state under `dir`, whole or not at all.
pub(crate) fn write(dir: &Path, name: &str, state: &RouteState) -> Result<()> {
    fs_err::create_dir_all(dir).map_err(Error::Io)?;
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| Error::State {
        path: path(dir, name),
        message: e.to_string(),
    })?;
    mlops_core::atomic::write(&path(dir, name), &bytes).map_err(Error::Io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_written_reads_back_and_a_missing_one_is_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state_dir = dir.path().join("serve");
        assert_eq!(
            read(&state_dir, "churn").expect("none"),
            RouteState::default()
        );
        let state = RouteState {
            live: Some(Colour::Green),
            tripped: None,
            arms: Vec::new(),
        };
        write(&state_dir, "churn", &state).expect("write");
        assert_eq!(read(&state_dir, "churn").expect("read"), state);
        fs_err::write(path(&state_dir, "churn"), "{").expect("corrupt");
        let error = read(&state_dir, "churn").expect_err("corrupt").to_string();
        assert!(error.contains("churn.json"), "{error}");
    }
}
