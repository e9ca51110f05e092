//! The pipeline's reports: `mlops runs` (the recorded stage executions), `mlops runs diff` (what
//! differs between two runs, environment included), `mlops stage list`
//! (whether each stage is up to date, and why not), as text or Markdown tables, and `mlops dag`
//! (the stage graph) as a table, Graphviz dot or a Mermaid flowchart.

use std::fmt::Write as _;

use mlops_core::Digest;
use mlops_pipeline::records::RunRecord;
use mlops_pipeline::rundiff::{Change, EnvDiff, PackageChangeKind, RunRef, RunsDiff, StageDiff};
use serde::Serialize;

use crate::render::text::{self, seconds};
use crate::render::{Format, table};

/// The human formats of `runs` and `stage list`.
pub(crate) const FORMATS: [Format; 2] = [Format::Text, Format::Markdown];

/// A run record as `mlops runs` lists it: with its number, which `mlops runs diff` takes.
#[derive(Serialize)]
pub(crate) struct Listed<'a> {
    pub(crate) number: usize,
    #[serde(flatten)]
    pub(crate) record: &'a RunRecord,
}

/// `mlops runs`: one row per recorded execution, oldest first.
pub(crate) fn runs(list: &[Listed], format: Format) -> String {
    if list.is_empty() {
        return "no runs recorded yet; `mlops run` records one per stage it runs".into();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|Listed { number, record: r }| {
            let commit = r.git_commit.as_deref().map_or("-".into(), |c| {
                format!(
                    "{}{}",
                    &c[..c.len().min(8)],
                    if r.git_dirty == Some(true) { "+" } else { "" }
                )
            });
            vec![
                number.to_string(),
                r.started_at.clone(),
                r.stage.clone(),
                r.status.clone(),
                seconds(r.duration_s),
                commit,
            ]
        })
        .collect();
    table(
        &["run", "started", "stage", "status", "duration", "commit"],
        &rows,
        format,
    )
}

/// A side of a change: a value, or `none` where the side lacks it.
fn side<T>(value: Option<&T>, show: impl Fn(&T) -> String) -> String {
    value.map_or_else(|| "none".to_owned(), show)
}

/// The first 8 hex digits of a digest.
fn short(digest: &Digest) -> String {
    digest.to_string()[..8].to_owned()
}

/// A JSON value as text: strings without quotes.
fn value(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// The first line of a command's output, cut to 60 characters.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 60 {
        format!("{}...", line.chars().take(57).collect::<String>())
    } else {
        line.to_owned()
    }
}

fn changes<T>(out: &mut Vec<String>, what: &str, list: &[Change<T>], show: impl Fn(&T) -> String) {
    for c in list {
        out.push(format!(
            "{what} {}: {} -> {}",
            c.key,
            side(c.old.as_ref(), &show),
            side(c.new.as_ref(), &show)
        ));
    }
}

/// The lines of what differs in the environment.
fn env_lines(out: &mut Vec<String>, env: &EnvDiff) {
    changes(out, "env", &env.host, |v: &String| v.clone());
    changes(out, "lock file", &env.files, short);
    for c in &env.unreadable {
        let side = |error: Option<&String>| {
            error.map_or_else(|| "read".to_owned(), |e| format!("did not read ({e})"))
        };
        out.push(format!(
            "packages of {}: {} -> {}; not compared",
            c.key,
            side(c.old.as_ref()),
            side(c.new.as_ref())
        ));
    }
    if let Some(c) = &env.python {
        out.push(format!(
            "python packages: {} -> {}",
            side(c.old.as_ref(), short),
            side(c.new.as_ref(), short)
        ));
    }
    for p in &env.packages {
        let change = match p.change {
            PackageChangeKind::Added => "added",
            PackageChangeKind::Removed => "removed",
            PackageChangeKind::Upgraded => "upgraded",
            PackageChangeKind::Downgraded => "downgraded",
            PackageChangeKind::Changed => "changed",
        };
        let versions = match (&p.old, &p.new) {
            (Some(old), Some(new)) => format!("{old} -> {new}"),
            (Some(one), None) | (None, Some(one)) => one.clone(),
            (None, None) => String::new(),
        };
        out.push(format!(
            "package {} {versions} ({change}; {})",
            p.name, p.source
        ));
    }
    changes(out, "command", &env.commands, |t: &String| first_line(t));
}

/// The note `mlops runs diff` writes to stderr when a side's package lists are missing.
pub(crate) fn runs_diff_note(r: &RunsDiff) -> Option<&'static str> {
    r.stages
        .iter()
        .any(|d| d.env.as_ref().is_some_and(|e| e.detail_missing))
        .then_some(
            "a side's package lists are not in `.mlops/runs/envs/` (recorded in another \
             clone?): lock files, the Python's packages and command outputs are compared by \
             digest only",
        )
}

/// The lines of one stage's differences.
fn stage_lines(d: &StageDiff) -> Vec<String> {
    let mut out = Vec::new();
    changes(&mut out, "cmd", d.cmd.as_slice(), |c: &String| {
        format!("`{c}`")
    });
    changes(&mut out, "param", &d.params, value);
    changes(&mut out, "dep", &d.deps, short);
    changes(&mut out, "out", &d.outs, short);
    changes(&mut out, "metric", &d.metrics, value);
    if let Some(env) = &d.env {
        env_lines(&mut out, env);
    } else {
        let without: Vec<String> = [&d.old, &d.new]
            .into_iter()
            .flatten()
            .filter(|r| !r.env)
            .map(|r| r.number.to_string())
            .collect();
        if !without.is_empty() {
            out.push(format!(
                "env: not recorded by run {}",
                without.join(" and ")
            ));
        }
    }
    out
}

/// `mlops runs diff`: per stage, a heading naming the two runs and one line per difference.
pub(crate) fn runs_diff(r: &RunsDiff, format: Format) -> String {
    let mut out = String::new();
    let run = |side: Option<&RunRef>| {
        side.map_or_else(|| "no run".to_owned(), |s| format!("run {}", s.number))
    };
    for d in &r.stages {
        let name = match &d.new_stage {
            Some(other) => format!("{} -> {other}", d.stage),
            None => d.stage.clone(),
        };
        let heading = format!(
            "stage {name}: {} -> {}",
            run(d.old.as_ref()),
            run(d.new.as_ref())
        );
        let lines = stage_lines(d);
        let empty = if d.changed() { "" } else { ": no differences" };
        if format == Format::Markdown {
            let _ = writeln!(out, "### {heading}{empty}\n");
            for line in &lines {
                let _ = writeln!(out, "- {line}");
            }
            if !lines.is_empty() {
                out.push('\n');
            }
        } else {
            let _ = writeln!(out, "{heading}{empty}");
            for line in &lines {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    out
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
