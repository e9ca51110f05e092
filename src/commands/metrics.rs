//! `mlops metrics show|diff` and `mlops params diff`: compare results across commits.

use mlops_pipeline::metrics;
use mlops_pipeline::spec::Pipeline;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render::metrics::{DIFF_FORMATS, SHOW_FORMATS};
use crate::render::{self, Format, OutputArgs};

/// Show and compare the metrics files the stages write
#[derive(Debug, clap::Subcommand)]
pub(crate) enum MetricsCommand {
    /// Show the metrics in the workspace
    Show {
        /// Print a Markdown table (to paste into a pull request): `--format markdown`
        #[arg(long)]
        md: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Compare metrics between two revisions (default: HEAD and the workspace)
    Diff {
        #[command(flatten)]
        diff: DiffArgs,
        /// Significant digits of the decimal numbers shown, as `dvc metrics diff --precision`
        /// (JSON output keeps the full values)
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=17))]
        precision: u8,
    },
}

/// Which two versions to compare.
#[derive(Debug, clap::Args)]
pub(crate) struct DiffArgs {
    /// The old revision (default: HEAD)
    old: Option<String>,
    /// The new revision (default: the workspace)
    new: Option<String>,
    /// Print a Markdown table (to paste into a pull request): `--format markdown`
    #[arg(long)]
    md: bool,
    #[command(flatten)]
    output: OutputArgs,
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

/// The workspace and its pipeline, once the `-o` files are known not to be among the files the
/// report reads.
fn load_pipeline(
    ctx: &Context,
    targets: &[render::Target],
) -> anyhow::Result<(mlops_core::Workspace, Pipeline)> {
    let ws = ctx.workspace()?;
    let pipeline = Pipeline::load(ws.root())?;
    ensure_not_read(targets, ws.root(), &pipeline)?;
    Ok((ws, pipeline))
}

/// Refuses an `-o` file that is one of the files these reports read (`mlops.yaml`, the metrics
/// and params files), before anything is written.
fn ensure_not_read(
    targets: &[render::Target],
    root: &std::path::Path,
    pipeline: &Pipeline,
) -> anyhow::Result<()> {
    let mut read = vec![root.join(mlops_pipeline::spec::PIPELINE_FILE)];
    for stage in &pipeline.stages {
        read.extend(stage.metrics.iter().map(|m| root.join(m)));
        read.extend(stage.params.iter().map(|p| root.join(&p.file)));
    }
    for output in render::files(targets) {
        mlops_core::outfile::ensure_not_input(output, &read)?;
    }
    Ok(())
}

/// `--md`, the older spelling of `--format markdown`, folded into the output flags; any other
/// format with it is a conflict.
fn with_md(output: &OutputArgs, md: bool, json: bool) -> anyhow::Result<OutputArgs> {
    let mut output = output.clone();
    if md {
        match (output.format.format, json) {
            (Some(Format::Markdown) | None, false) => output.format.format = Some(Format::Markdown),
            (Some(Format::Markdown) | None, true) => {
                anyhow::bail!("`--md` and `--json` ask for different formats: give one of them")
            }
            (Some(other), _) => anyhow::bail!(
                "`--md` and `--format {other}` ask for different formats: give one of them"
            ),
        }
    }
    Ok(output)
}

pub(crate) fn metrics(command: &MetricsCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    match command {
        MetricsCommand::Show { md, output } => {
            let output = with_md(output, *md, ctx.printer.is_json())?;
            let targets = render::targets(&output, ctx, "metrics show", &SHOW_FORMATS)?;
            let (ws, pipeline) = load_pipeline(ctx, &targets)?;
            let report = metrics::show(ws.root(), &pipeline)?;
            render::emit(ctx.printer, &report, &targets, render::metrics::show)?;
        }
        MetricsCommand::Diff {
            diff: args,
            precision,
        } => {
            let output = with_md(&args.output, args.md, ctx.printer.is_json())?;
            let targets = render::targets(&output, ctx, "metrics diff", &DIFF_FORMATS)?;
            let (ws, pipeline) = load_pipeline(ctx, &targets)?;
            let report = metrics::diff_metrics(
                ws.root(),
                &pipeline,
                args.old.as_deref(),
                args.new.as_deref(),
            )?;
            render::emit(ctx.printer, &report, &targets, |r, format| {
                render::metrics::diff(r, format, "metrics", Some(*precision))
            })?;
        }
    }
    Ok(ExitStatus::Success)
}

pub(crate) fn params(command: &ParamsCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    match command {
        ParamsCommand::Diff { diff, all } => {
            let output = with_md(&diff.output, diff.md, ctx.printer.is_json())?;
            let targets = render::targets(&output, ctx, "params diff", &DIFF_FORMATS)?;
            let (ws, pipeline) = load_pipeline(ctx, &targets)?;
            let report = metrics::diff_params(
                ws.root(),
                &pipeline,
                diff.old.as_deref(),
                diff.new.as_deref(),
                *all,
            )?;
            render::emit(ctx.printer, &report, &targets, |r, format| {
                render::metrics::diff(r, format, "params", None)
            })?;
        }
    }
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::FormatArgs;

    #[test]
    fn md_names_the_flag_it_conflicts_with() {
        let output = |format| OutputArgs {
            format: FormatArgs { format },
            output: Vec::new(),
        };
        let folded = with_md(&output(None), true, false).expect("--md alone");
        assert_eq!(folded.format.format, Some(Format::Markdown));
        for (format, json, flag) in [
            (None, true, "`--json`"),
            (Some(Format::Markdown), true, "`--json`"),
            (Some(Format::Html), false, "`--format html`"),
        ] {
            let err = with_md(&output(format), true, json).expect_err("a conflict");
            assert!(
                err.to_string().starts_with(&format!("`--md` and {flag}")),
                "{err}"
            );
        }
    }
}
