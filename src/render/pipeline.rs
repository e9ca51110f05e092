//! The pipeline's reports: `mlops runs` (the recorded stage executions) and `mlops stage list`
//! (whether each stage is up to date, and why not), as text or Markdown tables.

use mlops_pipeline::records::RunRecord;
use serde::Serialize;

use crate::render::text::seconds;
use crate::render::{Format, table};

/// The human formats of `runs` and `stage list`.
pub(crate) const FORMATS: [Format; 2] = [Format::Text, Format::Markdown];

/// `mlops runs`: one row per recorded execution, oldest first.
pub(crate) fn runs(list: &[RunRecord], format: Format) -> String {
    if list.is_empty() {
        return "no runs recorded yet; `mlops run` records one per stage it runs".into();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            let commit = r.git_commit.as_deref().map_or("-".into(), |c| {
                format!(
                    "{}{}",
                    &c[..c.len().min(8)],
                    if r.git_dirty == Some(true) { "+" } else { "" }
                )
            });
            vec![
                r.started_at.clone(),
                r.stage.clone(),
                r.status.clone(),
                seconds(r.duration_s),
                commit,
            ]
        })
        .collect();
    table(
        &["started", "stage", "status", "duration", "commit"],
        &rows,
        format,
    )
}

/// One stage in `mlops stage list`.
#[derive(Serialize)]
pub(crate) struct StageState {
    pub(crate) stage: String,
    pub(crate) up_to_date: bool,
    pub(crate) reasons: Vec<String>,
}

/// `mlops stage list`: one row per stage, up to date or what changed.
pub(crate) fn stages(list: &[StageState], format: Format) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|s| {
            let state = if s.up_to_date {
                "up to date".to_owned()
            } else {
                format!("changed: {}", s.reasons.join(", "))
            };
            vec![s.stage.clone(), state]
        })
        .collect();
    table(&["stage", "status"], &rows, format)
}
