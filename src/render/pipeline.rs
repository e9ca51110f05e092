//! The pipeline's reports: `mlops runs` (the recorded stage executions) and `mlops stage list`
//! (whether each stage is up to date, and why not), as text or Markdown tables, and `mlops dag`
//! (the stage graph) as a table, Graphviz dot or a Mermaid flowchart.

use std::fmt::Write as _;

use mlops_pipeline::records::RunRecord;
use serde::Serialize;

use crate::render::text::{self, seconds};
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

/// How `mlops dag` draws the graph.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum DagFormat {
    Text,
    Dot,
    Mermaid,
}

/// The stage graph: the stages in run order, each with those it runs after.
#[derive(Serialize)]
pub(crate) struct DagReport {
    pub(crate) stages: Vec<DagStage>,
}

/// One stage of [`DagReport`].
#[derive(Serialize)]
pub(crate) struct DagStage {
    pub(crate) name: String,
    pub(crate) after: Vec<String>,
}

/// `mlops dag`: a table of stages and what they run after, Graphviz dot, or Mermaid.
pub(crate) fn dag(r: &DagReport, format: DagFormat) -> String {
    let mut out = String::new();
    match format {
        DagFormat::Text => {
            let rows: Vec<Vec<String>> = r
                .stages
                .iter()
                .map(|s| vec![s.name.clone(), s.after.join(", ")])
                .collect();
            out = text::table(&["stage", "after"], &rows);
        }
        DagFormat::Dot => {
            out.push_str("digraph pipeline {\n  rankdir=LR;\n");
            for s in &r.stages {
                let _ = writeln!(out, "  \"{}\";", s.name);
                for a in &s.after {
                    let _ = writeln!(out, "  \"{a}\" -> \"{}\";", s.name);
                }
            }
            out.push_str("}\n");
        }
        DagFormat::Mermaid => {
            // Mermaid ids cannot hold `@`: number the nodes and label them.
            out.push_str("flowchart LR\n");
            let id = |n: &str| r.stages.iter().position(|s| s.name == n).unwrap_or(0);
            for (i, s) in r.stages.iter().enumerate() {
                let _ = writeln!(out, "  s{i}[\"{}\"]", s.name);
            }
            for s in &r.stages {
                for a in &s.after {
                    let _ = writeln!(out, "  s{} --> s{}", id(a), id(&s.name));
                }
            }
        }
    }
    out
}
