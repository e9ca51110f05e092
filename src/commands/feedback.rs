//! `mlops feedback`: labels that arrive later, recorded offline into the labels log that
//! `mlops serve` writes (`POST /v2/feedback`), for `mlops eval --labels` to join.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::commands::Context;
use crate::error::ExitStatus;

/// Record ground truth for served predictions from a table (request id, row, label) into the
/// labels log beside the prediction log, as `POST /v2/feedback` does; `mlops eval PREDICTIONS
/// --labels LABELS` joins them
#[derive(Debug, clap::Args)]
pub(crate) struct FeedbackArgs {
    /// Parquet, CSV or Arrow IPC files, directories (the tables under them), or quoted patterns,
    /// read as one table
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    read: super::read::ReadArgs,
    /// The column of request ids (the `id` a request sent, or the one its answer gave)
    #[arg(long, default_value = "request_id", value_name = "COLUMN")]
    id_column: String,
    /// The column of each label's row within its request [default: `row` if the table has
    /// one, else every label is for row 0]
    #[arg(long, value_name = "COLUMN")]
    row_column: Option<String>,
    /// The column of labels
    #[arg(long, default_value = "label", value_name = "COLUMN")]
    label_column: String,
    /// The labels log to add to [default: .mlops/labels/ in a workspace]
    #[arg(long, value_name = "DIR")]
    labels_dir: Option<PathBuf>,
}

pub(crate) fn run(args: &FeedbackArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let dir = if let Some(dir) = &args.labels_dir {
        ctx.cwd.join(dir)
    } else {
        let ws = mlops_core::workspace::Workspace::discover(&ctx.cwd)
            .context("without --labels-dir, labels go to .mlops/labels/ in the workspace")?;
        // Git ignores the labels log, as it does the prediction log (`mlops serve`).
        ws.ensure_ignored(&["/predictions/", "/labels/"])?;
        ws.mlops_dir().join("labels")
    };
    let data = args.read.dataset(ctx, &args.files)?;
    let row = match &args.row_column {
        Some(column) => Some(column.clone()),
        None => data
            .schema()?
            .iter()
            .any(|c| c.name == "row")
            .then(|| "row".to_owned()),
    };
    let columns = mlops_serve::LabelColumns {
        id: args.id_column.clone(),
        row,
        label: args.label_column.clone(),
    };
    let recorded = mlops_serve::record_labels(&data, &columns, &dir)?;
    let report = serde_json::json!({
        "labels": recorded.labels,
        "skipped": recorded.skipped,
        "labels_dir": dir,
    });
    ctx.printer.report(&report, |_| {
        let skipped = match recorded.skipped {
            0 => String::new(),
            n => format!(" ({n} rows without an id or a label left out)"),
        };
        format!(
            "recorded {} labels in {}{skipped}\n",
            recorded.labels,
            dir.display()
        )
    })?;
    Ok(ExitStatus::Success)
}
