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
    /// Where the profiling runs: `local` (here, on every core) or `slurm` (the files split into
    /// --shards groups, each profiled by one task of a Slurm job array, the parts merged here)
    #[arg(long, value_name = "EXECUTOR", value_parser = ["local", "slurm"], default_value = "local")]
    executor: String,
    /// With `--executor slurm`: how many tasks to split the files among (at most one per file)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    shards: u16,
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
            let data = args.read.dataset(ctx, &args.data)?;
            mlops_core::outfile::ensure_not_input(&profile_path(ctx, output)?, data.files())?;
            let kinds = mlops_drift::drift::parse_kinds(&args.kind)?;
            let profile = if args.executor == "slurm" {
                sharded(args, ctx, &data, &profile_path(ctx, output)?)?
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

/// Profiles `data` on Slurm: its files split into `--shards` groups of about equal size, each
/// profiled by one task of a job array (`mlops profile` on that group, written beside
/// `output`), the parts merged here, in order. The workspace or the data's directory must be
/// on a filesystem the cluster's nodes share.
fn sharded(
    args: &ProfileArgs,
    ctx: &Context,
    data: &mlops_data::Dataset,
    output: &std::path::Path,
) -> anyhow::Result<Profile> {
    use mlops_pipeline::cluster::slurm;
    if !slurm::available() {
        anyhow::bail!(
            "`--executor slurm` needs `sbatch` on the PATH; run on a machine with the Slurm client commands, or profile here with `--executor local`"
        );
    }
    let groups = shard_groups(data.files(), usize::from(args.shards));
    let dir = output
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join(format!(".mlops-shards-{}", std::process::id()));
    fs_err::create_dir_all(&dir)?;
    let exe = std::env::current_exe()?;
    let mut options = args.read.to_args();
    for (flag, values) in [("--columns", &args.columns), ("--exclude", &args.exclude)] {
        if !values.is_empty() {
            options.extend([flag.to_owned(), values.join(",")]);
        }
    }
    for kind in &args.kind {
        options.extend(["--kind".to_owned(), kind.clone()]);
    }
    let part = |task: usize| dir.join(format!("{task}.profile"));
    let commands: Vec<String> = groups
        .iter()
        .enumerate()
        .map(|(task, files)| {
            let mut words = vec![slurm::quote_path(&exe), "-q".into(), "profile".into()];
            words.extend(files.iter().map(|f| slurm::quote_path(f)));
            words.extend(["-o".into(), slurm::quote_path(&part(task))]);
            words.extend(options.iter().map(|o| slurm::quote(o)));
            format!("exec {}", words.join(" "))
        })
        .collect();
    let cancel = crate::commands::run::stop_flag();
    let run = slurm::run_array("mlops-profile", &ctx.cwd, &dir, &commands, &[], &cancel)?;
    let mut merged: Option<Profile> = None;
    for (task, state) in run.states.iter().enumerate() {
        let path = part(task);
        if !path.is_file() {
            anyhow::bail!(
                "shard {task} (job {}_{task}) ended as {} without its profile: see `{}`",
                run.job,
                if state.is_empty() { "unknown" } else { state },
                dir.join(format!("mlops-profile-{}_{task}.log", run.job))
                    .display()
            );
        }
        let shard = Profile::read(&path)?;
        match &mut merged {
            None => merged = Some(shard),
            Some(whole) => whole.merge(&shard)?,
        }
    }
    fs_err::remove_dir_all(&dir)?;
    merged.ok_or_else(|| anyhow::anyhow!("no data to profile"))
}

/// `files` split into at most `shards` groups of about equal size (largest first, each to the
/// lightest group), each group in the files' order.
fn shard_groups(files: &[PathBuf], shards: usize) -> Vec<Vec<PathBuf>> {
    let count = shards.clamp(1, files.len().max(1));
    let mut by_size: Vec<(u64, usize)> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (fs_err::metadata(f).map_or(0, |m| m.len()), i))
        .collect();
    by_size.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut groups: Vec<(u64, Vec<usize>)> = vec![(0, Vec::new()); count];
    for (size, i) in by_size {
        let lightest = groups
            .iter_mut()
            .min_by_key(|(total, _)| *total)
            .expect("at least one group");
        lightest.0 += size;
        lightest.1.push(i);
    }
    groups
        .into_iter()
        .filter(|(_, members)| !members.is_empty())
        .map(|(_, mut members)| {
            members.sort_unstable();
            members.into_iter().map(|i| files[i].clone()).collect()
        })
        .collect()
}
