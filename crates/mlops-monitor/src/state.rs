//! The state file of an incremental monitor: which prediction and label files were read (size
//! and modification time), which windows each file's rows fell in, every window's points, and
//! which firings were delivered. A scheduled run reads only the files that are new or changed
//! (and the files sharing a window with them); with the same files it reads no prediction and
//! changes nothing. The file is written whole to a temp file and renamed into place, so a run
//! killed at any point leaves the previous state.
//!
//! The state holds the settings that shaped its numbers (reference files, window, columns,
//! bootstrap); when they change, it is set aside and every window is computed afresh.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fit::Points;
use crate::report::{Delivery, WindowReport};

/// The state file's format version.
const VERSION: u32 = 2;

/// How many delivery records the state keeps.
const LOG_LIMIT: usize = 1000;

/// A file as last read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stamp {
    /// Its size, modification time and inode: what the hash index trusts too.
    pub stat: mlops_core::index::Stamp,
    /// The windows its rows fell in (prediction files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<String>,
}

impl Stamp {
    /// `path` as it is now.
    ///
    /// # Errors
    /// When the file cannot be examined.
    pub fn of(path: &Path) -> Result<Self> {
        let meta = fs_err::metadata(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            stat: mlops_core::index::Stamp::of(&meta),
            windows: Vec::new(),
        })
    }

    /// Whether the file is as when this stamp was taken.
    pub fn same_file(&self, other: &Stamp) -> bool {
        self.stat == other.stat
    }
}

/// One window as last computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowState {
    pub report: WindowReport,
    /// Each series' point; NaN-free (a missing value is `null`).
    pub points: Points,
    pub start: i64,
}

/// A delivery, when it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggedDelivery {
    pub rule: String,
    /// `YYYY-MM-DDTHH:MM:SSZ` of the run.
    pub at: String,
    #[serde(flatten)]
    pub delivery: Delivery,
}

/// The whole state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub version: u32,
    /// The settings that shaped the numbers, as JSON.
    pub settings: serde_json::Value,
    pub predictions: BTreeMap<PathBuf, Stamp>,
    pub labels: BTreeMap<PathBuf, Stamp>,
    pub windows: BTreeMap<String, WindowState>,
    /// `rule` and window of each firing delivered to all its sinks.
    pub delivered: BTreeSet<(String, String)>,
    /// The latest deliveries, successful or not, newest last.
    pub log: Vec<LoggedDelivery>,
}

impl State {
    /// The state at `path` if it holds `settings`; an empty one when there is no file or it
    /// was written with other settings.
    ///
    /// # Errors
    /// [`Error::BadState`] when the file is not a state file.
    pub fn load(path: &Path, settings: &serde_json::Value) -> Result<Self> {
        let fresh = State {
            version: VERSION,
            settings: settings.clone(),
            ..State::default()
        };
        let text = match fs_err::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(fresh),
            Err(source) => {
                return Err(Error::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let state: State = serde_json::from_str(&text).map_err(|e| Error::BadState {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        if state.version != VERSION || state.settings != *settings {
            // Kept: what was delivered stays delivered, whatever the settings.
            return Ok(State {
                delivered: state.delivered,
                log: state.log,
                ..fresh
            });
        }
        Ok(state)
    }

    /// Records deliveries, keeping the newest [`LOG_LIMIT`].
    pub fn log(&mut self, entries: impl IntoIterator<Item = LoggedDelivery>) {
        self.log.extend(entries);
        if self.log.len() > LOG_LIMIT {
            self.log.drain(..self.log.len() - LOG_LIMIT);
        }
    }

    /// Writes the state to `path` atomically (a temp file beside it, renamed into place).
    ///
    /// # Errors
    /// [`Error::State`] when the directory cannot be made or the file written.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).expect("the state serialises");
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs_err::create_dir_all(dir).map_err(|source| Error::State {
                path: path.to_owned(),
                source,
            })?;
        }
        mlops_core::atomic::write(path, &bytes).map_err(|source| Error::State {
            path: path.to_owned(),
            source,
        })
    }
}
