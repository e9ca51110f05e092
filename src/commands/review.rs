//! `mlops review`: the cases `mlops serve` flagged for a person (scores in serve.yaml's
//! `review.band`), handed out for labelling and their labels taken back into the labels log.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::commands::Context;
use crate::commands::feedback::{self, FeedbackArgs};
use crate::error::ExitStatus;

/// Hand out the predictions `mlops serve` flagged for review (serve.yaml's `review.band`), and
/// take their labels back
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ReviewCommand {
    /// Write the oldest flagged cases that no label has come for yet (ids, inputs and outputs)
    /// to a CSV or Parquet file, for a labelling tool
    Export(ExportArgs),
    /// Record the labels of reviewed cases (request id, row, label) into the labels log, as
    /// `POST /v2/feedback` and `mlops feedback` do
    Import(FeedbackArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    /// How many cases at most
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    limit: u64,
    /// Where to write them: a `.csv` file, else Parquet
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// The prediction log the server writes [default: .mlops/predictions/ in a workspace]
    #[arg(long, value_name = "DIR")]
    log_dir: Option<PathBuf>,
    /// The labels log [default: labels/ beside the prediction log]
    #[arg(long, value_name = "DIR")]
    labels_dir: Option<PathBuf>,
}

pub(crate) fn run(command: &ReviewCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    match command {
        ReviewCommand::Export(args) => export(args, ctx),
        ReviewCommand::Import(args) => feedback::run(args, ctx),
    }
}

fn export(args: &ExportArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let log_dir = match &args.log_dir {
        Some(dir) => ctx.cwd.join(dir),
        None => mlops_core::workspace::Workspace::discover(&ctx.cwd)
            .context("without --log-dir, the prediction log is .mlops/predictions/ in a workspace")?
            .mlops_dir()
            .join("predictions"),
    };
    let labels_dir = args
        .labels_dir
        .as_ref()
        .map_or_else(|| log_dir.with_file_name("labels"), |dir| ctx.cwd.join(dir));
    let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let queue = mlops_serve::review::queue(&log_dir, &labels_dir, limit)?;
    let output = ctx.cwd.join(&args.output);
    let cases = match queue {
        Some(batch) => {
            let rows = batch.num_rows();
            let mut writer = mlops_data::rows::RowWriter::create(&output, &batch.schema(), &[])?;
            writer.write(&mlops_data::rows::Passed::new(batch), Vec::new())?;
            writer.finish()?;
            rows
        }
        None => 0,
    };
    let report = serde_json::json!({ "cases": cases, "output": output });
    ctx.printer.report(&report, |_| {
        if cases == 0 {
            format!(
                "no case waits for review under {} (nothing written)\n",
                log_dir.display()
            )
        } else {
            format!("wrote {cases} cases to review to {}\n", output.display())
        }
    })?;
    Ok(ExitStatus::Success)
}
