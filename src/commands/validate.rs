//! `mlops validate check`: data checked against a contract of expectations (Great
//! Expectations' names and semantics), file by file; `mlops validate infer`: a contract written
//! from reference data.

use std::path::PathBuf;

use mlops_data::Dataset;
use mlops_validate::{BatchBy, CheckOptions, InferOptions, Schema};

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render::{self, OutputArgs};

/// Check data against a contract of expectations (docs/validate.md)
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ValidateCommand {
    /// Check each data file against the contract's rules; exit status 1 when an error rule
    /// fails (warn rules are only reported)
    Check(CheckArgs),
    /// Write a contract from reference data (row count, and each column's type, nulls, range,
    /// set or lengths, uniqueness) for `validate check` to read; edit it, then commit it
    Infer(InferArgs),
}

/// The flags of `mlops validate infer`.
#[derive(Debug, clap::Args)]
pub(crate) struct InferArgs {
    /// The reference data: Parquet, CSV, NDJSON or Arrow IPC files, directories or quoted
    /// patterns
    #[arg(required = true, value_name = "DATA")]
    data: Vec<PathBuf>,
    /// The contract to write (YAML)
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Slack around what was seen: row counts within rows × (1 ∓ margin), float ranges widened
    /// by margin × (max − min), the share of nulls allowed up to share × (1 + margin)
    #[arg(long, default_value_t = 0.1, value_name = "SHARE")]
    margin: f64,
    /// A text column with at most this many distinct values gets a set rule, else a lengths rule
    #[arg(long, default_value_t = 50, value_name = "N")]
    max_categories: usize,
    /// The column naming each row, or columns together (`--id store,day`): the contract gets a
    /// `key` rule on it (the data must hold no repeated key and no missing value in it) instead
    /// of a uniqueness rule on every column whose values are all distinct
    #[arg(long, value_name = "COLUMN", value_delimiter = ',')]
    id: Vec<String>,
    /// Numeric ranges from the Q and 1 − Q quantiles instead of the minimum and maximum, with
    /// `mostly` letting the rows outside through (e.g. 0.001: the extremes of the reference
    /// data do not widen the range)
    #[arg(long, value_name = "Q")]
    range_quantile: Option<f64>,
    /// Infer from only the rows where this condition holds (as --where of every reading
    /// command, docs/data.md)
    #[arg(long = "where", value_name = "EXPR")]
    filter: Option<String>,
    /// Replace the contract if it exists (it is meant to be edited by hand)
    #[arg(long)]
    force: bool,
}

/// The flags of `mlops validate check`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// The contract: a YAML file of rules (`version: 1`, `table:` and `columns:`)
    #[arg(long, value_name = "FILE")]
    schema: PathBuf,
    /// The data: Parquet, CSV, NDJSON or Arrow IPC files, directories or quoted patterns; each
    /// file is checked and reported on its own
    #[arg(required = true, value_name = "DATA")]
    data: Vec<PathBuf>,
    /// A column naming each row, listed beside the unexpected values it shows
    #[arg(long, value_name = "COLUMN")]
    id: Option<String>,
    /// Check only the rows where this condition holds (as --where of every reading command,
    /// docs/data.md), e.g. 'date >= "2026-12-01"'
    #[arg(long = "where", value_name = "EXPR")]
    filter: Option<String>,
    /// Check batches instead of files: the rows of every file split by this column's values,
    /// or with --every by periods of its dates (dates, timestamps or ISO date text)
    #[arg(long, value_name = "COLUMN")]
    batch_by: Option<String>,
    /// The period of each batch with --batch-by: a day, a week (from Monday) or a month
    #[arg(long, value_enum, requires = "batch_by")]
    every: Option<super::drift::Every>,
    /// Also write a drift profile of the data (every readable column, as `mlops profile`
    /// makes it) from the same pass, for `mlops drift --reference REF.profile FILE.profile`
    #[arg(long, value_name = "FILE.profile")]
    profile: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

pub(crate) fn run(command: &ValidateCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    match command {
        ValidateCommand::Check(args) => check(args, ctx),
        ValidateCommand::Infer(args) => infer(args, ctx),
    }
}

fn infer(args: &InferArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    if !(0.0..1.0).contains(&args.margin) {
        anyhow::bail!(
            "--margin must be at least 0 and below 1, not {}",
            args.margin
        );
    }
    if let Some(q) = args.range_quantile
        && !(q > 0.0 && q < 0.5)
    {
        anyhow::bail!("--range-quantile must be above 0 and below 0.5, not {q}");
    }
    let output = ctx.cwd.join(&args.output);
    if !args.force && output.exists() {
        anyhow::bail!(
            "`{}` already exists; pass --force to replace it (it may hold edits), or choose another -o",
            args.output.display()
        );
    }
    let data = open(ctx, &args.data, args.filter.as_deref())?;
    mlops_core::outfile::ensure_not_input(&output, data.files())?;
    let options = InferOptions {
        margin: args.margin,
        max_categories: args.max_categories,
        key: args.id.clone(),
        range_quantile: args.range_quantile,
        source: args
            .data
            .iter()
            .map(|d| format!("`{}`", d.display()))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let schema = mlops_validate::infer(&data, &options)?;
    mlops_core::outfile::write(&output, schema.to_yaml().as_bytes())?;
    ctx.printer.note(&format!(
        "wrote `{}`: {} rules over {} columns",
        args.output.display(),
        schema.rules.len(),
        schema.columns().len()
    ));
    Ok(ExitStatus::Success)
}

fn check(args: &CheckArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let targets = render::targets(
        &args.output,
        ctx,
        "validate check",
        &render::validate::FORMATS,
    )?;
    let schema_path = ctx.cwd.join(&args.schema);
    let schema = Schema::read(&schema_path)?;
    let data = open(ctx, &args.data, args.filter.as_deref())?;
    let profile_path = args.profile.as_ref().map(|p| ctx.cwd.join(p));
    for output in render::files(&targets).chain(profile_path.as_deref()) {
        mlops_core::outfile::ensure_not_input(output, data.files())?;
        mlops_core::outfile::ensure_not_input(output, std::slice::from_ref(&schema_path))?;
    }
    if let Some(path) = &profile_path
        && render::files(&targets).any(|o| o == path)
    {
        anyhow::bail!("--profile `{}` is also an -o report", path.display());
    }
    let options = CheckOptions {
        id: args.id.clone(),
        schema_name: args.schema.display().to_string(),
        batch_by: args.batch_by.as_ref().map(|column| BatchBy {
            column: column.clone(),
            every: args.every.map(super::drift::Every::period),
        }),
    };
    let (mut report, profile) = if profile_path.is_some() {
        let (report, profile) = check_and_profile(&data, &schema, &options)?;
        (report, Some(profile))
    } else {
        (mlops_validate::check(&data, &schema, &options)?, None)
    };
    // Files under the current directory are named relative to it, as they were given.
    for file in report.files.iter_mut().filter_map(|f| f.file.as_mut()) {
        if let Ok(relative) = std::path::Path::new(file.as_str()).strip_prefix(&ctx.cwd) {
            *file = relative.display().to_string();
        }
    }
    render::emit(ctx.printer, &report, &targets, render::validate::render)?;
    for file in &report.files {
        for rule in file.rules.iter().filter(|r| r.fails()) {
            ctx.printer.warn(&format!(
                "rule `{}` failed on {}{}",
                rule.name,
                render::validate::section_name(file),
                rule.outcome
                    .unexpected_count
                    .map_or_else(String::new, |n| format!(": {n} unexpected"))
            ));
        }
    }
    // The report is out first: a profile that cannot be made does not hide it.
    if let (Some(path), Some(profile)) = (&profile_path, profile) {
        match profile {
            Ok(profile) => profile.write(path)?,
            Err(mlops_drift::Error::Argument(why)) if report.files.iter().all(|f| f.rows == 0) => {
                ctx.printer.warn(&format!("no profile written: {why}"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(if report.passed {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// The data, read as every reading command reads it: every row, or those `--where` keeps.
/// (`--schema` names the contract here, so the shared flags are not taken whole.)
fn open(ctx: &Context, data: &[PathBuf], filter: Option<&str>) -> anyhow::Result<Dataset> {
    super::read::ReadArgs::default().dataset_where(ctx, data, filter)
}

/// The check, and a drift profile of every readable column from the same pass.
fn check_and_profile(
    data: &Dataset,
    schema: &Schema,
    options: &CheckOptions,
) -> anyhow::Result<(
    mlops_validate::report::ValidateReport,
    Result<mlops_drift::profile::Profile, mlops_drift::Error>,
)> {
    let columns = mlops_drift::profile::profile_columns(&data.schema()?, &[], &[]);
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let mut builder = mlops_drift::profile::Builder::new(columns.clone(), &[]);
    let mut failed = None;
    let report = mlops_validate::check_with(data, schema, options, &names, &mut |piece| {
        if failed.is_none()
            && let Err(e) = builder.add(piece)
        {
            failed = Some(e);
        }
    })?;
    Ok((report, failed.map_or_else(|| builder.finish(), Err)))
}
