//! `mlops metrics show|diff` and `mlops params diff`: compare results across commits.

use mlops_pipeline::metrics::{self, DiffReport};
use mlops_pipeline::spec::Pipeline;
use serde_json::Value;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::output::table;

/// Show and compare the metrics files the stages write
#[derive(Debug, clap::Subcommand)]
pub(crate) enum MetricsCommand {
    /// Show the metrics in the workspace
    Show {
        /// Print a Markdown table (to paste into a pull request)
        #[arg(long)]
        md: bool,
    },
    /// Compare metrics between two revisions (default: HEAD and the workspace)
    Diff(DiffArgs),
}

/// Which two versions to compare.
#[derive(Debug, clap::Args)]
pub(crate) struct DiffArgs {
    /// The old revision (default: HEAD)
    old: Option<String>,
    /// The new revision (default: the workspace)
    new: Option<String>,
    /// Print a Markdown table (to paste into a pull request)
    #[arg(long)]
    md: bool,
}

/// Compare params
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ParamsCommand {
    /// Compare the params the stages read between two revisions (default: HEAD and the workspace)
    Diff {
        #[command(flatten)]
        diff: DiffArgs,
        /// List unchanged params too
        #[arg(long)]
        all: bool,
    },
}

fn text(value: Option<&Value>) -> String {
    match value {
        None => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

fn print_diff(ctx: &Context, report: &DiffReport, md: bool, what: &str) -> anyhow::Result<()> {
    ctx.printer.report(report, |r| {
        if r.rows.is_empty() {
            return format!("no {what} changed between {} and {}", r.old, r.new);
        }
        let rows: Vec<Vec<String>> = r
            .rows
            .iter()
            .map(|row| {
                let change = row.change.map_or_else(|| "-".into(), |c| format!("{c:+}"));
                vec![
                    row.path.display().to_string(),
                    row.key.clone(),
                    text(row.old.as_ref()),
                    text(row.new.as_ref()),
                    change,
                ]
            })
            .collect();
        let old = r.old.as_str();
        let new = r.new.as_str();
        table(&["path", "key", old, new, "change"], &rows, md)
    })
}

pub(crate) fn metrics(command: &MetricsCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    let pipeline = Pipeline::load(ws.root())?;
    match command {
        MetricsCommand::Show { md } => {
            let report = metrics::show(ws.root(), &pipeline)?;
            ctx.printer.report(&report, |r| {
                if r.files.is_empty() {
                    return "no metrics files yet: declare them under `metrics:` in mlops.yaml and run the pipeline".into();
                }
                let rows: Vec<Vec<String>> = r
                    .files
                    .iter()
                    .flat_map(|f| f.values.iter().map(|(k, v)| vec![f.path.display().to_string(), k.clone(), text(Some(v))]))
                    .collect();
                table(&["path", "key", "value"], &rows, *md)
            })?;
        }
        MetricsCommand::Diff(args) => {
            let report = metrics::diff_metrics(
                ws.root(),
                &pipeline,
                args.old.as_deref(),
                args.new.as_deref(),
            )?;
            print_diff(ctx, &report, args.md, "metrics")?;
        }
    }
    Ok(ExitStatus::Success)
}

pub(crate) fn params(command: &ParamsCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    let pipeline = Pipeline::load(ws.root())?;
    match command {
        ParamsCommand::Diff { diff, all } => {
            let report = metrics::diff_params(
                ws.root(),
                &pipeline,
                diff.old.as_deref(),
                diff.new.as_deref(),
                *all,
            )?;
            print_diff(ctx, &report, diff.md, "params")?;
        }
    }
    Ok(ExitStatus::Success)
}
