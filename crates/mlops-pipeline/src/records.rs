//! Run records: one JSON line per stage execution in `.mlops/runs/records.jsonl`, tying the
//! stage's inputs, outputs, metrics and timing to the git commit it ran on.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use mlops_core::Digest;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One execution of one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub stage: String,
    /// `ran`, `restored` or `failed`.
    pub status: String,
    /// UTC, RFC 3339.
    pub started_at: String,
    pub duration_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    pub cmd: String,
    #[serde(default)]
    pub deps: BTreeMap<PathBuf, Digest>,
    #[serde(default)]
    pub outs: BTreeMap<PathBuf, Digest>,
    /// `file:key` -> value.
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub git_commit: Option<String>,
    #[serde(default)]
    pub git_dirty: Option<bool>,
    pub host: String,
    /// `file:key` -> value, from the stage's metrics files.
    #[serde(default)]
    pub metrics: BTreeMap<String, serde_json::Value>,
    /// The experiment the run was part of (`mlops exp run`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The environment it ran in (none in records written before mlops recorded it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<crate::env::EnvRecord>,
}

fn records_path(mlops_dir: &Path) -> PathBuf {
    mlops_dir.join("runs").join("records.jsonl")
}

/// Appends a record (one `write` of one line, so concurrent stages never interleave).
pub fn append(mlops_dir: &Path, record: &RunRecord) -> Result<()> {
    let path = records_path(mlops_dir);
    fs_err::create_dir_all(path.parent().expect("records live in a directory"))?;
    let mut line = serde_json::to_vec(record).expect("records serialise");
    line.push(b'\n');
    let mut file = fs_err::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(&path)?;
    // A run killed mid-write (or a full disk) may have left half a line: start a line of our own,
    // so that only that line is damaged, not this record too.
    let len = file.metadata()?.len();
    let mut last = [0_u8];
    if len > 0 && file.file().read_at(&mut last, len - 1).is_ok() && last[0] != b'\n' {
        line.insert(0, b'\n');
    }
    file.write_all(&line)?;
    Ok(())
}

/// Every record, oldest first, optionally of one stage. A line that is not a record is an
/// error naming the file and line: hiding it would make a run look as if it never happened.
pub fn list(mlops_dir: &Path, stage: Option<&str>) -> Result<Vec<RunRecord>> {
    let path = records_path(mlops_dir);
    let text = match fs_err::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str::<RunRecord>(line).map_err(|e| Error::BadRecord {
            file: path.clone(),
            line: i + 1,
            message: e.to_string(),
        })?;
        records.push(record);
    }
    Ok(records
        .into_iter()
        .filter(|r| stage.is_none_or(|s| of_stage(r, s)))
        .collect())
}

/// Whether `record` is a run of `stage`, or of a stage a `foreach`/`matrix` made from it.
pub fn of_stage(record: &RunRecord, stage: &str) -> bool {
    record.stage == stage
        || record
            .stage
            .strip_prefix(stage)
            .is_some_and(|rest| rest.starts_with('@'))
}

/// `time` as RFC 3339 in UTC, to the millisecond.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_damaged_line_is_reported_and_damages_nothing_after_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let record = RunRecord {
            stage: "a".into(),
            status: "ran".into(),
            started_at: rfc3339(UNIX_EPOCH),
            duration_s: 1.0,
            exit_code: Some(0),
            cmd: "true".into(),
            deps: BTreeMap::new(),
            outs: BTreeMap::new(),
            params: BTreeMap::new(),
            git_commit: None,
            git_dirty: None,
            host: "h".into(),
            metrics: BTreeMap::new(),
            experiment: None,
            env: None,
        };
        append(dir.path(), &record).expect("append");
        let path = records_path(dir.path());
        let mut text = fs_err::read_to_string(&path).expect("read");
        text.push_str("{\"stage\": \"half");
        fs_err::write(&path, text).expect("write");
        append(dir.path(), &record).expect("append");
        let err = list(dir.path(), None).expect_err("damaged");
        assert!(err.to_string().starts_with("line 2 of `"), "{err}");
        let text = fs_err::read_to_string(&path).expect("read");
        let last = text.lines().last().expect("a line");
        assert_eq!(
            serde_json::from_str::<RunRecord>(last).expect("whole"),
            record
        );
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_millis(1_795_349_521_250)),
            "2026-11-22T12:12:01.250Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
