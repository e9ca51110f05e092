//! Rendering in one place: every report the binary prints or writes goes through here.
//!
//! A reporting command takes [`OutputArgs`] (`--format` and repeatable `-o FILE`), turns them
//! into [`Target`]s before it computes anything ([`targets`]: conflicts and unsupported formats
//! are usage errors, exit 2), computes its report once, and hands it to [`emit`] with a function
//! that renders it in each human format. JSON needs no such function: every report is `Serialize`.
//!
//! One module per format holds what every report of that format shares: [`text`] (aligned tables
//! and human figures), [`markdown`], [`html`] (the self-contained page), [`prometheus`] (the text
//! exposition format) and [`json`]. One module per report kind holds that report's renderings:
//! [`card`] (the model card, Markdown and HTML), [`drift`] and [`drift_html`], [`eval`] and
//! [`eval_html`], [`data`] (status, diff, fsck, log),
//! [`metrics`] (metrics show and diff, params diff), [`monitor`] and [`monitor_html`],
//! [`pipeline`] (runs, stage list, dag),
//! [`registry`] (model list, history and inspect), [`profile`] and [`validate`].

pub(crate) mod card;
pub(crate) mod data;
pub(crate) mod drift;
pub(crate) mod drift_html;
pub(crate) mod eval;
pub(crate) mod eval_html;
pub(crate) mod exp;
pub(crate) mod fairness;
pub(crate) mod html;
pub(crate) mod json;
pub(crate) mod markdown;
pub(crate) mod metrics;
pub(crate) mod monitor;
pub(crate) mod monitor_html;
pub(crate) mod pipeline;
pub(crate) mod plots;
pub(crate) mod profile;
pub(crate) mod prometheus;
pub(crate) mod registry;
pub(crate) mod text;
pub(crate) mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::commands::Context;
use crate::output::Printer;

/// The formats a report can be rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Aligned text for a terminal
    Text,
    /// Markdown, for a pull-request comment or a job summary
    Markdown,
    /// One self-contained page (inline CSS and SVG, no scripts, no network)
    Html,
    /// One JSON document (the same as `--json`)
    Json,
    /// Gauges in the Prometheus text format, for a node-exporter textfile collector or a
    /// Pushgateway
    Prometheus,
    /// Comma-separated values, one row per line (a header first)
    Csv,
}

impl Format {
    /// The format a file's extension names: `.txt`, `.md`/`.markdown`, `.html`/`.htm`, `.json`,
    /// `.prom`, `.csv`; `None` for any other (the file then takes `--format`'s).
    pub(crate) fn of_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "txt" => Self::Text,
            "md" | "markdown" => Self::Markdown,
            "html" | "htm" => Self::Html,
            "json" => Self::Json,
            "prom" => Self::Prometheus,
            "csv" => Self::Csv,
            _ => return None,
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Text => "text",
            Self::Markdown => "markdown",
            Self::Html => "html",
            Self::Json => "json",
            Self::Prometheus => "prometheus",
            Self::Csv => "csv",
        })
    }
}

/// `--format`, for a command whose report goes to stdout only.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct FormatArgs {
    /// How to print the report [default: text; `--json` is `--format json`]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) format: Option<Format>,
}

/// `--format` and `-o`, for a command whose report may also go to files.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct OutputArgs {
    #[command(flatten)]
    pub(crate) format: FormatArgs,
    /// Write the report to this file instead of stdout (`-` is stdout); repeat to write several
    /// formats from one run, each named by its extension (`.txt`, `.md`, `.html`, `.json`,
    /// `.prom`, `.csv`; any other takes --format's)
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Vec<PathBuf>,
}

/// Rows under a header: a Markdown table in Markdown, aligned text otherwise.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>], format: Format) -> String {
    if format == Format::Markdown {
        markdown::table(header, rows)
    } else {
        text::table(header, rows)
    }
}

/// Where one rendering of a report goes: stdout (`path` is `None`) or a file, and in which format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) path: Option<PathBuf>,
    pub(crate) format: Format,
}

/// The format `--format` and `--json` ask for together, if any: giving both is allowed only when
/// they agree.
fn asked(format: Option<Format>, json: bool) -> anyhow::Result<Option<Format>> {
    match (format, json) {
        (Some(format), true) if format != Format::Json => anyhow::bail!(
            "`--json` and `--format {format}` ask for different formats: give one of them"
        ),
        (Some(format), _) => Ok(Some(format)),
        (None, true) => Ok(Some(Format::Json)),
        (None, false) => Ok(None),
    }
}

/// Checks that `command` renders `format`.
fn supported(command: &str, format: Format, formats: &[Format]) -> anyhow::Result<()> {
    if format == Format::Json || formats.contains(&format) {
        return Ok(());
    }
    let names: Vec<String> = formats
        .iter()
        .chain([&Format::Json])
        .map(ToString::to_string)
        .collect();
    anyhow::bail!(
        "`mlops {command}` has no {format} output: it prints {}",
        names.join(", ")
    )
}

/// The format a stdout-only report is printed in, from `--format` and `--json`.
pub(crate) fn format(
    args: &FormatArgs,
    ctx: &Context,
    command: &str,
    formats: &[Format],
) -> anyhow::Result<Format> {
    let format = asked(args.format, ctx.printer.is_json())?.unwrap_or(Format::Text);
    supported(command, format, formats)?;
    Ok(format)
}

/// Where each rendering goes, from `--format`, `--json` and the `-o` files (relative to the
/// current directory): one target per file, in the format its extension names or else the one
/// asked for; stdout in the format asked for when no file is given. `formats` are the human
/// formats `command` renders (JSON always works). Errors, before anything is computed: a format
/// `command` lacks, `--json` against `--format`, an extension against either, a file named twice.
pub(crate) fn targets(
    args: &OutputArgs,
    ctx: &Context,
    command: &str,
    formats: &[Format],
) -> anyhow::Result<Vec<Target>> {
    let asked = asked(args.format.format, ctx.printer.is_json())?;
    let mut targets: Vec<Target> = Vec::with_capacity(args.output.len().max(1));
    if args.output.is_empty() {
        targets.push(Target {
            path: None,
            format: asked.unwrap_or(Format::Text),
        });
    }
    for path in &args.output {
        // `.csv` names a format only for a command that writes CSV: for the others, a `.csv`
        // output is more likely a table the user named by mistake, which the same-file check
        // then catches, than a report.
        let named = Format::of_path(path).filter(|f| *f != Format::Csv || formats.contains(f));
        let format = match (named, asked) {
            _ if mlops_core::outfile::is_stdout(path) => asked.unwrap_or(Format::Text),
            (Some(named), Some(asked)) if named != asked => anyhow::bail!(
                "`{}` names a {named} file, but {} asks for {asked}: drop one, or rename the file",
                path.display(),
                if asked == Format::Json && args.format.format.is_none() {
                    "`--json`".to_owned()
                } else {
                    format!("`--format {asked}`")
                }
            ),
            (Some(format), _) | (None, Some(format)) => format,
            (None, None) => Format::Text,
        };
        let path = Some(path)
            .filter(|p| !mlops_core::outfile::is_stdout(p))
            .map(|p| ctx.cwd.join(p));
        if targets.iter().any(|t| t.path == path) {
            anyhow::bail!(
                "`-o {}` is given twice",
                path.as_deref()
                    .map_or("-".into(), |p| p.display().to_string())
            );
        }
        targets.push(Target { path, format });
    }
    for target in &targets {
        supported(command, target.format, formats)?;
    }
    Ok(targets)
}

/// The files among `targets`, for the check that no output is one of the inputs.
pub(crate) fn files(targets: &[Target]) -> impl Iterator<Item = &Path> {
    targets.iter().filter_map(|t| t.path.as_deref())
}

/// Renders `report` once per target and writes it there: stdout, or a file written atomically
/// where it is a regular one ([`mlops_core::outfile::write`]) with a note saying where. `human`
/// renders every format but JSON, which is the report's own serialisation.
pub(crate) fn emit<T: Serialize>(
    printer: &Printer,
    report: &T,
    targets: &[Target],
    human: impl Fn(&T, Format) -> String,
) -> anyhow::Result<()> {
    for target in targets {
        let text = match target.format {
            Format::Json => json::pretty(report)?,
            format => human(report, format),
        };
        match &target.path {
            None => print(&text)?,
            Some(path) => {
                mlops_core::outfile::write(path, text.as_bytes())?;
                printer.note(&format!("wrote {}", path.display()));
            }
        }
    }
    Ok(())
}

/// Prints a rendered report on stdout, ending in one newline; an empty one prints nothing.
pub(crate) fn print(text: &str) -> anyhow::Result<()> {
    let text = text.trim_end();
    if text.is_empty() {
        return Ok(());
    }
    Ok(Printer::data(format!("{text}\n").as_bytes())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_name_formats_and_json_flags_must_agree() {
        let of = |name: &str| Format::of_path(Path::new(name));
        assert_eq!(of("r.HTML"), Some(Format::Html));
        assert_eq!(of("r.htm"), Some(Format::Html));
        assert_eq!(of("dir/r.md"), Some(Format::Markdown));
        assert_eq!(of("r.markdown"), Some(Format::Markdown));
        assert_eq!(of("r.json"), Some(Format::Json));
        assert_eq!(of("drift.prom"), Some(Format::Prometheus));
        assert_eq!(of("r.txt"), Some(Format::Text));
        assert_eq!(of("r.csv"), Some(Format::Csv));
        assert_eq!(of("r.tsv"), None);
        assert_eq!(of("report"), None);
        assert_eq!(asked(None, false).ok(), Some(None));
        assert_eq!(asked(None, true).ok(), Some(Some(Format::Json)));
        assert_eq!(
            asked(Some(Format::Json), true).ok(),
            Some(Some(Format::Json))
        );
        assert!(asked(Some(Format::Markdown), true).is_err());
        assert!(supported("status", Format::Json, &[Format::Text]).is_ok());
        let err = supported("status", Format::Html, &[Format::Text, Format::Markdown]);
        assert_eq!(
            err.map_err(|e| e.to_string()).err().as_deref(),
            Some("`mlops status` has no html output: it prints text, markdown, json")
        );
    }
}
