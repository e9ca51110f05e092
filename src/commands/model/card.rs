//! `mlops model card`: a model card assembled from what the workspace records (see
//! `mlops_meta::card`), printed as Markdown or written as Markdown, HTML or JSON.

use std::path::{Path, PathBuf};

use mlops_core::outfile;
use mlops_meta::card::{self, Options, Shape};

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render::{self, OutputArgs};

/// A Parquet file's footer, read by mlops-data for the card's schemas.
fn shape(path: &Path) -> Result<Option<Shape>, String> {
    mlops_data::shape::parquet_shape(path)
        .map(|shape| {
            shape.map(|s| Shape {
                columns: s.columns,
                rows: s.rows,
            })
        })
        .map_err(|e| e.to_string())
}

/// Assembles the card of `given` and renders it to each target.
pub(crate) fn run(
    ctx: &Context,
    given: &str,
    evals: &[PathBuf],
    output: &OutputArgs,
) -> anyhow::Result<ExitStatus> {
    let targets = render::targets(output, ctx, "model card", &render::card::FORMATS)?;
    let ws = ctx.workspace()?;
    let rel = ws.relative(&ctx.cwd, Path::new(given)).ok();
    let evals: Vec<PathBuf> = evals.iter().map(|e| ctx.cwd.join(e)).collect();
    for file in render::files(&targets) {
        outfile::ensure_not_input(file, &evals)?;
    }
    let options = Options {
        evals,
        shape: &shape,
    };
    let card = card::assemble(&ws, given, rel.as_deref(), &options).map_err(|e| match e {
        // Unwrapped, so that the registry's hints find it.
        card::Error::Meta(meta) => anyhow::Error::from(meta),
        other => other.into(),
    })?;
    render::emit(ctx.printer, &card, &targets, render::card::render)?;
    Ok(ExitStatus::Success)
}
