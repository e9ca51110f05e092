//! How every reading command (eval, drift, profile, predict, train, split) reads its data: the
//! flags they share, turned into a [`Dataset`].

use std::path::{Path, PathBuf};

use mlops_data::{ColumnType, Dataset, ReadOptions};

use super::Context;

/// The flags about reading data, the same on every reading command.
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct ReadArgs {
    /// Read only the rows where this condition holds: comparisons of columns with values, joined
    /// with and, or, not, e.g. 'region == "eu" and date >= "2026-12-01"' (see docs/data.md). A
    /// row where a compared value is missing is left out
    #[arg(long = "where", value_name = "EXPR")]
    filter: Option<String>,
    /// Read these columns as these types rather than the inferred ones: int, float, bool, text
    /// (or str) or date (ISO dates), e.g. 'zip=text,day=date'; repeatable. A CSV or NDJSON
    /// column is parsed as its type, a Parquet or Arrow IPC one converted to it
    #[arg(long, value_name = "COL=TYPE[,COL=TYPE...]")]
    schema: Vec<String>,
}

impl ReadArgs {
    /// These flags as a command line gives them (for the same read in another process).
    pub(crate) fn to_args(&self) -> Vec<String> {
        self.to_args_where(None)
    }

    /// [`ReadArgs::to_args`] with `filter`, when given, in place of --where.
    pub(crate) fn to_args_where(&self, filter: Option<&String>) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(filter) = filter.or(self.filter.as_ref()) {
            args.extend(["--where".to_owned(), filter.clone()]);
        }
        for schema in &self.schema {
            args.extend(["--schema".to_owned(), schema.clone()]);
        }
        args
    }

    /// The options these flags give.
    pub(crate) fn options(&self) -> anyhow::Result<ReadOptions> {
        let mut options = ReadOptions::default();
        options.filter = self
            .filter
            .as_deref()
            .map(mlops_data::Filter::parse)
            .transpose()?;
        options.schema = column_types(&self.schema)?;
        Ok(options)
    }

    /// The files `inputs` name (relative to the current directory), read as the flags say.
    pub(crate) fn dataset(&self, ctx: &Context, inputs: &[PathBuf]) -> anyhow::Result<Dataset> {
        self.dataset_where(ctx, inputs, None)
    }

    /// [`ReadArgs::dataset`] with `filter`, when given, in place of --where (drift's
    /// --where-reference and --where-current).
    pub(crate) fn dataset_where(
        &self,
        ctx: &Context,
        inputs: &[PathBuf],
        filter: Option<&str>,
    ) -> anyhow::Result<Dataset> {
        self.dataset_part(ctx, inputs, filter, None)
    }

    /// [`ReadArgs::dataset_where`] reading only `row_groups` of each Parquet file, when given
    /// (a sharded job's part of a file).
    pub(crate) fn dataset_part(
        &self,
        ctx: &Context,
        inputs: &[PathBuf],
        filter: Option<&str>,
        row_groups: Option<std::ops::Range<usize>>,
    ) -> anyhow::Result<Dataset> {
        let mut options = self.options()?;
        if let Some(filter) = filter {
            options.filter = Some(mlops_data::Filter::parse(filter)?);
        }
        options.row_groups = row_groups;
        let inputs: Vec<PathBuf> = inputs.iter().map(|input| resolve(ctx, input)).collect();
        Ok(Dataset::open(&inputs, options)?)
    }
}

/// The `COL=TYPE` pairs of every `--schema`, in order (a column given twice takes the last).
fn column_types(specs: &[String]) -> anyhow::Result<Vec<(String, ColumnType)>> {
    let mut types = Vec::new();
    for pair in specs.iter().flat_map(|spec| spec.split(',')) {
        let Some((column, name)) = pair.split_once('=').filter(|(c, _)| !c.trim().is_empty())
        else {
            anyhow::bail!("--schema takes COL=TYPE pairs separated by commas; got `{pair}`");
        };
        let column = column.trim();
        let Some(kind) = ColumnType::from_name(name.trim()) else {
            anyhow::bail!(
                "--schema gives column `{column}` the type `{}`; the types are {}",
                name.trim(),
                ColumnType::NAMES.join(", ")
            );
        };
        types.push((column.to_owned(), kind));
    }
    Ok(types)
}

/// An input as the user gave it, made usable from any directory: a URL (`s3://...`) as it is, a
/// `file://` URL as its path, a relative path joined to the current directory. The one function
/// commands resolve data inputs with, so no URL is ever joined to a directory.
pub(crate) fn resolve(ctx: &Context, input: &Path) -> PathBuf {
    if mlops_data::input::is_url(input)
        && let Ok(ws) = ctx.workspace()
    {
        // Inputs in the bucket of one of the workspace's remotes read with its endpoint and
        // credentials.
        mlops_core::remote::url::use_remote_settings(&ws);
    }
    mlops_data::input::resolve(&ctx.cwd, input)
}
