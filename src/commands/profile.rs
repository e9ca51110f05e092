//! `mlops profile`: summarise data into a mergeable profile that `mlops drift --reference` takes
//! in place of the data, and merge profiles of parts.

use std::path::PathBuf;

use mlops_drift::profile::{self, Profile};

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render::{self, FormatArgs};

/// Summarise data into a profile (`*.profile`) that `mlops drift --reference` takes in place of
/// the data; profiles of parts merge into the profile of the whole
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ProfileArgs {
    #[command(subcommand)]
    command: Option<ProfileCommand>,
    /// Data to profile: Parquet, CSV or Arrow IPC files, directories (the tables under them), or
    /// quoted patterns (`**` crosses directories)
    #[arg(value_name = "DATA")]
    data: Vec<PathBuf>,
    #[command(flatten)]
    read: super::read::ReadArgs,
    /// Where to write the profile (a `*.profile` file)
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Profile only these columns (comma-separated or repeated)
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    /// Leave out these columns (comma-separated or repeated)
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<String>,
    /// A column's kind, overriding the inferred one: `--kind zip=categorical`; repeatable
    #[arg(long, value_name = "COLUMN=numeric|categorical")]
    kind: Vec<String>,
    #[command(flatten)]
    shards: super::shards::ShardArgs,
    #[command(flatten)]
    part: super::shards::PartArgs,
    #[command(flatten)]
    format: FormatArgs,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum ProfileCommand {
    /// Merge profiles of parts of the same data into the profile of the whole
    Merge {
        #[arg(required = true, value_name = "PROFILE")]
        profiles: Vec<PathBuf>,
        /// Where to write the merged profile
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// Checks that a profile's path says what it is, so that `mlops drift` recognises it.
fn profile_path(ctx: &Context, path: &PathBuf) -> anyhow::Result<PathBuf> {
    if path.extension().is_none_or(|e| e != "profile") {
        anyhow::bail!(
            "the output `{}` must end in `.profile`, which is how `mlops drift --reference` knows a profile",
            path.display()
        );
    }
    Ok(ctx.cwd.join(path))
}

pub(crate) fn run(args: &ProfileArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let format = render::format(&args.format, ctx, "profile", &render::profile::FORMATS)?;
    let (profile, output) = match &args.command {
        Some(ProfileCommand::Merge { profiles, output }) => {
            let inputs: Vec<PathBuf> = profiles.iter().map(|p| ctx.cwd.join(p)).collect();
            mlops_core::outfile::ensure_not_input(&profile_path(ctx, output)?, &inputs)?;
            let mut merged: Option<Profile> = None;
            for path in profiles {
                let part = Profile::read(&ctx.cwd.join(path))?;
                match &mut merged {
                    None => merged = Some(part),
                    Some(whole) => whole.merge(&part)?,
                }
            }
            (merged.expect("clap requires a profile"), output)
        }
        None => {
            let output = args
                .output
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("give the profile's path with -o FILE.profile"))?;
            if args.data.is_empty() {
                anyhow::bail!("give the data to profile, or `mlops profile merge`");
            }
            let data =
                args.read
                    .dataset_part(ctx, &args.data, None, args.part.row_groups.clone())?;
            mlops_core::outfile::ensure_not_input(&profile_path(ctx, output)?, data.files())?;
            let kinds = mlops_drift::drift::parse_kinds(&args.kind)?;
            let profile = if args.shards.on_slurm() {
                let mut options = args.read.to_args();
                for (flag, values) in [("--columns", &args.columns), ("--exclude", &args.exclude)] {
                    if !values.is_empty() {
                        options.extend([flag.to_owned(), values.join(",")]);
                    }
                }
                for kind in &args.kind {
                    options.extend(["--kind".to_owned(), kind.clone()]);
                }
                let beside = profile_path(ctx, output)?;
                let parts = beside.parent().unwrap_or(std::path::Path::new("."));
                super::shards::profile_on_slurm(
                    ctx,
                    data.files(),
                    &options,
                    args.shards.count(),
                    parts,
                )?
            } else {
                profile::profile_files(&data, &args.columns, &args.exclude, &kinds)?
            };
            (profile, output)
        }
    };
    let path = profile_path(ctx, output)?;
    profile.write(&path)?;
    // The path as the user gave it: the summary is read beside the command line.
    let summary = render::profile::Summary::of(&profile, output.clone());
    let target = render::Target { path: None, format };
    render::emit(ctx.printer, &summary, &[target], render::profile::render)?;
    Ok(ExitStatus::Success)
}
