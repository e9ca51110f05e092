//! `mlops split`: cut a table into a training and a test file, by a seeded shuffle.

use std::path::PathBuf;

use crate::commands::Context;
use crate::error::ExitStatus;

/// Split Parquet or CSV data into `train.parquet` and `test.parquet` in a directory, by a seeded
/// shuffle of the rows (a pipeline's prepare stage); dates are written as days since 1970
#[derive(Debug, clap::Args)]
pub(crate) struct SplitArgs {
    /// Parquet, CSV or Arrow IPC files, directories (the tables under them), or quoted patterns
    /// (`**` crosses directories), read as one table
    #[arg(required = true, value_name = "DATA")]
    data: Vec<PathBuf>,
    #[command(flatten)]
    read: super::read::ReadArgs,
    /// The share of rows in the test file
    #[arg(long, default_value_t = 0.2)]
    test: f64,
    /// The seed of the shuffle: the same seed gives the same split
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The directory to write `train.parquet` and `test.parquet` into
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
}

pub(crate) fn run(args: &SplitArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    anyhow::ensure!(
        (0.0..1.0).contains(&args.test),
        "--test is the share of rows in the test file, in [0, 1); got {}",
        args.test
    );
    let data = args.read.dataset(ctx, &args.data)?;
    let dir = ctx.cwd.join(&args.output);
    for name in ["train.parquet", "test.parquet"] {
        mlops_core::outfile::ensure_not_input(&dir.join(name), data.files())?;
    }
    anyhow::ensure!(!data.files().is_empty(), "no input files");
    let schema = data.schema()?;
    let names: Vec<&str> = schema.iter().map(|c| c.name.as_str()).collect();
    let table = data.read(&names)?;
    // Nothing to split (every row left out by --where, or files with no rows): an input error,
    // as eval, profile and drift give, rather than two empty files.
    if table.rows == 0 {
        anyhow::bail!("{} has no rows", data.describe());
    }
    let (train, test) = mlops_data::table::split(&table, args.test, args.seed);
    fs_err::create_dir_all(&dir)?;
    mlops_data::table::write_parquet(&dir.join("train.parquet"), &train)?;
    mlops_data::table::write_parquet(&dir.join("test.parquet"), &test)?;
    let report = serde_json::json!({ "train": train.rows, "test": test.rows, "output": dir });
    ctx.printer.report(&report, |_| {
        format!(
            "wrote {}: {} training rows, {} test rows\n",
            dir.display(),
            train.rows,
            test.rows
        )
    })?;
    Ok(ExitStatus::Success)
}
