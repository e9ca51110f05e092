//! The reports about tracked data: `mlops status`, `mlops diff`, `mlops fsck` and `mlops log`,
//! as text and Markdown, and what `mlops add` says it added.

use std::fmt::Write as _;
use std::path::Path;

use mlops_core::manifest::EntryKind;
use mlops_core::ops::add::AddReport;
use mlops_core::ops::fsck::{FsckReport, RemoteFsckReport};
use mlops_core::ops::status::{Changes, StatusReport};
use mlops_meta::diff::{DiffReport, Kind};
use mlops_meta::notes::LogEntry;

use crate::render::Format;
use crate::render::markdown::{self, code};
use crate::render::text::{count, size};

/// The human formats of `status`, `diff`, `fsck` and `log`.
pub(crate) const FORMATS: [Format; 2] = [Format::Text, Format::Markdown];

/// `mlops add`: a line per path, what it holds and how much was hashed and stored, or that it
/// is unchanged.
pub(crate) fn added(r: &AddReport) -> String {
    r.added
        .iter()
        .map(|a| {
            let what = match a.kind {
                EntryKind::Dir => format!("{}, {}", count(a.files, "file", "files"), size(a.size)),
                EntryKind::File => size(a.size),
            };
            if a.changed {
                format!(
                    "added {}: {what} ({} hashed, {})\n",
                    a.path.display(),
                    a.hashed,
                    count(a.new_objects, "new object", "new objects")
                )
            } else {
                format!("{} is unchanged: {what}\n", a.path.display())
            }
        })
        .collect()
}

/// How many changed files inside one modified directory `status` names without `--all`.
pub(crate) const LISTED: usize = 10;

/// `mlops status`: one line per path that is out of step (with the files changed inside a
/// modified directory, the first [`LISTED`] unless `all`), or one sentence when all is well.
pub(crate) fn status(r: &StatusReport, all: bool, format: Format) -> String {
    let md = format == Format::Markdown;
    if r.paths.is_empty() {
        return "nothing is tracked yet; `mlops add <path>` tracks a file or directory".into();
    }
    if r.is_clean() {
        let remote = r
            .remote
            .as_ref()
            .map_or(String::new(), |name| format!(", and pushed to `{name}`"));
        return format!(
            "everything is up to date ({} tracked{remote})",
            r.paths.len()
        );
    }
    let mut out = String::new();
    if md {
        out.push_str("## Status\n\n");
    }
    for path in r.paths.iter().filter(|p| !p.states.is_empty()) {
        let states: Vec<&str> = path.states.iter().map(|s| s.describe()).collect();
        let shown = path.path.display().to_string();
        if md {
            let _ = write!(out, "- {}: {}", code(&shown), states.join(", "));
        } else {
            let _ = write!(out, "{shown}: {}", states.join(", "));
        }
        if let Some(c) = &path.changes {
            let _ = write!(
                out,
                " ({} added, {} modified, {} deleted)",
                c.added.len(),
                c.modified.len(),
                c.deleted.len()
            );
            list_changes(&mut out, c, all, md);
        }
        out.push('\n');
    }
    out
}

/// Appends one line per changed file (added, then modified, then deleted), the first
/// [`LISTED`] unless `all`, and a line counting the rest; nested list items in Markdown.
fn list_changes(out: &mut String, changes: &Changes, all: bool, md: bool) {
    let files = [
        ("added:   ", &changes.added),
        ("modified:", &changes.modified),
        ("deleted: ", &changes.deleted),
    ]
    .into_iter()
    .flat_map(|(label, files)| files.iter().map(move |file| (label, file)));
    let total = changes.added.len() + changes.modified.len() + changes.deleted.len();
    let shown = if all { total } else { total.min(LISTED) };
    let indent = if md { "  - " } else { "  " };
    for (label, file) in files.take(shown) {
        let file = file.display().to_string();
        if md {
            let _ = write!(out, "\n{indent}{} {}", label.trim_end(), code(&file));
        } else {
            let _ = write!(out, "\n{indent}{label} {file}");
        }
    }
    if shown < total {
        let _ = write!(
            out,
            "\n{indent}... and {} more (`mlops status --all` lists every one)",
            total - shown
        );
    }
}

/// `mlops diff`: one line per tracked path that differs (with its sizes), the files inside a
/// changed directory under it; a Markdown table of the paths in Markdown.
pub(crate) fn diff(report: &DiffReport, format: Format) -> String {
    if report.changes.is_empty() {
        return format!(
            "no tracked data differs between {} and {}\n",
            report.from, report.to
        );
    }
    if format == Format::Markdown {
        return diff_markdown(report);
    }
    let mut out = String::new();
    for change in &report.changes {
        let path = change.path.display();
        let _ = match change.change {
            Kind::Added => writeln!(out, "added     {path} ({})", shown(change.size_after)),
            Kind::Removed => writeln!(out, "removed   {path} ({})", shown(change.size_before)),
            Kind::Modified => writeln!(
                out,
                "modified  {path} ({} -> {})",
                shown(change.size_before),
                shown(change.size_after)
            ),
        };
        for (mark, file) in changed_files(change) {
            let _ = writeln!(out, "  {mark} {}", file.display());
        }
    }
    out
}

/// A size, or `-` where a side has none.
fn shown(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "-".into(), size)
}

/// The files inside a changed directory, marked `+` added, `-` removed, `~` modified.
fn changed_files(change: &mlops_meta::diff::Change) -> Vec<(&'static str, &Path)> {
    let Some(files) = &change.files else {
        return Vec::new();
    };
    [
        ("+", &files.added),
        ("-", &files.removed),
        ("~", &files.modified),
    ]
    .into_iter()
    .flat_map(|(mark, list)| list.iter().map(move |f| (mark, f.as_path())))
    .collect()
}

fn diff_markdown(report: &DiffReport) -> String {
    let rows: Vec<Vec<String>> = report
        .changes
        .iter()
        .map(|change| {
            let files: Vec<String> = changed_files(change)
                .into_iter()
                .map(|(mark, f)| format!("{mark}{}", code(&f.display().to_string())))
                .collect();
            vec![
                format!("{:?}", change.change).to_lowercase(),
                code(&change.path.display().to_string()),
                shown(change.size_before),
                shown(change.size_after),
                files.join(" "),
            ]
        })
        .collect();
    format!(
        "## Data changes: {} -> {}\n\n{}",
        report.from,
        report.to,
        markdown::table(&["change", "path", "before", "after", "files"], &rows)
    )
}

/// `mlops fsck`: how many objects were checked and which are corrupt.
pub(crate) fn fsck(r: &FsckReport, format: Format) -> String {
    let mut out = format!(
        "checked {} ({})",
        count(r.checked, "object", "objects"),
        size(r.bytes)
    );
    if r.corrupt.is_empty() {
        out.push_str(": all intact");
        return out;
    }
    let _ = write!(out, ": {} corrupt", r.corrupt.len());
    if format == Format::Markdown {
        let rows: Vec<Vec<String>> = r
            .corrupt
            .iter()
            .map(|c| {
                vec![
                    code(&c.path.display().to_string()),
                    code(&c.actual.to_string()),
                ]
            })
            .collect();
        out.push_str("\n\n");
        out.push_str(&markdown::table(&["corrupt object", "hashes to"], &rows));
        return out;
    }
    for c in &r.corrupt {
        let _ = write!(
            out,
            "\ncorrupt: {} hashes to {}",
            c.path.display(),
            c.actual
        );
    }
    out
}

/// `mlops fsck --remote`: how many objects were checked on the remote, which were replaced with
/// the cache's intact copy, and which remain corrupt.
pub(crate) fn fsck_remote(r: &RemoteFsckReport, format: Format) -> String {
    let mut out = format!(
        "checked {} on `{}`",
        count(r.checked, "object", "objects"),
        r.remote
    );
    if r.repaired.is_empty() && r.corrupt.is_empty() {
        out.push_str(": all intact");
        return out;
    }
    let item = if format == Format::Markdown {
        "\n- "
    } else {
        "\n"
    };
    if format == Format::Markdown {
        out.push('\n');
    }
    for digest in &r.repaired {
        let _ = write!(
            out,
            "{item}replaced corrupt object {digest} with the cache's copy"
        );
    }
    for digest in &r.corrupt {
        let _ = write!(
            out,
            "{item}corrupt: {digest} (no intact copy in this cache)"
        );
    }
    out
}

/// `mlops log`: one line per commit (its short id, summary and the path's change), with the
/// metrics its note recorded under it; a table in Markdown.
pub(crate) fn log(entries: &[LogEntry], format: Format) -> String {
    let short = |commit: &str| commit[..10.min(commit.len())].to_owned();
    if format == Format::Markdown {
        let rows: Vec<Vec<String>> = entries
            .iter()
            .map(|e| {
                let metrics: Vec<String> = e
                    .metrics
                    .iter()
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect();
                vec![
                    code(&short(&e.commit)),
                    e.summary.clone(),
                    e.change.unwrap_or("").to_owned(),
                    metrics.join("<br>"),
                ]
            })
            .collect();
        return markdown::table(&["commit", "summary", "change", "metrics"], &rows);
    }
    let mut out = String::new();
    for entry in entries {
        let _ = write!(out, "{}  {}", short(&entry.commit), entry.summary);
        if let Some(change) = entry.change {
            let _ = write!(out, "  [{change}]");
        }
        out.push('\n');
        for (key, value) in &entry.metrics {
            let _ = writeln!(out, "    {key} = {value}");
        }
    }
    out
}
