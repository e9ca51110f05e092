//! Data commands run on Slurm in shards: the files split into groups of about equal size (or a
//! Parquet file into runs of its row groups, when there are fewer files than tasks), each
//! handled by one task of a job array (`mlops profile` or `mlops eval` on that part), the parts
//! merged here in the data's order. Profiles merge exactly (counts and fixed-bucket sketches add
//! up), and so do evaluations' sums (see `mlops_eval::sharded`): `mlops profile`, `mlops drift`
//! and `mlops eval` use this to spread the big side of their work over a cluster.

use std::path::{Path, PathBuf};

use mlops_drift::profile::Profile;
use mlops_pipeline::cluster::slurm;

use crate::commands::Context;

/// The profile of `files`, computed by `shards` tasks of a Slurm job array, each running
/// `mlops profile GROUP -o PART OPTIONS...` (`options`: the read, column and kind flags), and
/// merged in the data's order.
pub(crate) fn profile_on_slurm(
    ctx: &Context,
    files: &[PathBuf],
    options: &[String],
    shards: usize,
    parts_dir: &Path,
) -> anyhow::Result<Profile> {
    let parts = run_on_slurm(ctx, "profile", "-o", files, options, shards, parts_dir)?;
    parts
        .merged(
            |path| Ok(Profile::read(path)?),
            |whole, part| Ok(whole.merge(&part)?),
        )?
        .ok_or_else(|| anyhow::anyhow!("no data to profile"))
}

/// The parts the tasks of a sharded data command wrote, in the data's order, in a directory
/// of their own that is removed when this is dropped.
pub(crate) struct Parts {
    dir: PathBuf,
    pub(crate) files: Vec<PathBuf>,
}

impl Parts {
    /// The parts read with `read` and merged in order with `merge`; `None` without parts.
    pub(crate) fn merged<T>(
        &self,
        read: impl Fn(&Path) -> anyhow::Result<T>,
        mut merge: impl FnMut(&mut T, T) -> anyhow::Result<()>,
    ) -> anyhow::Result<Option<T>> {
        let mut merged: Option<T> = None;
        for path in &self.files {
            let part = read(path)?;
            match &mut merged {
                None => merged = Some(part),
                Some(whole) => merge(whole, part)?,
            }
        }
        Ok(merged)
    }
}

impl Drop for Parts {
    fn drop(&mut self) {
        let _ = fs_err::remove_dir_all(&self.dir);
    }
}

/// Runs `mlops COMMAND` on `files` in `shards` tasks of a Slurm job array, each on its part of
/// the data with `OUTPUT_FLAG PART` and `options`. The parts and the tasks' logs go in a
/// directory made in `parts_dir`, which the cluster's nodes must share; it is kept, and named,
/// when a task fails.
pub(crate) fn run_on_slurm(
    ctx: &Context,
    command: &str,
    output_flag: &str,
    files: &[PathBuf],
    options: &[String],
    shards: usize,
    parts_dir: &Path,
) -> anyhow::Result<Parts> {
    if !slurm::available() {
        anyhow::bail!(
            "`--executor slurm` needs `sbatch` on the PATH; run on a machine with the Slurm client commands, or run here with `--executor local`"
        );
    }
    let parts = plan(files, shards)?;
    let dir = parts_dir.join(format!(".mlops-shards-{}", std::process::id()));
    // Made new, never taken over: it is removed whole once the parts are read.
    fs_err::create_dir(&dir)?;
    let exe = std::env::current_exe()?;
    let part = |task: usize| dir.join(format!("{task}.{command}"));
    let commands: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(task, shard)| {
            let mut words = vec![slurm::quote_path(&exe), "-q".into(), command.into()];
            words.extend(shard.files.iter().map(|f| slurm::quote_path(f)));
            if let Some(groups) = &shard.row_groups {
                words.push(format!("--row-groups={}-{}", groups.start, groups.end));
            }
            words.extend([output_flag.into(), slurm::quote_path(&part(task))]);
            words.extend(options.iter().map(|o| slurm::quote(o)));
            format!("exec {}", words.join(" "))
        })
        .collect();
    let cancel = crate::commands::run::stop_flag();
    let name = format!("mlops-{command}");
    let run = slurm::run_array(&name, &ctx.cwd, &dir, &commands, &[], &cancel)?;
    for (task, state) in run.states.iter().enumerate() {
        if !part(task).is_file() {
            let log = dir.join(format!("{name}-{}_{task}.log", run.job));
            // The task's own error, when it wrote one.
            let said = fs_err::read_to_string(&log)
                .ok()
                .and_then(|text| {
                    text.lines()
                        .rev()
                        .find_map(|l| l.strip_prefix("error: "))
                        .map(|error| format!(": {}", error.trim()))
                })
                .unwrap_or_default();
            anyhow::bail!(
                "shard {task} (job {}_{task}) ended as {} without its part{said}; its log: `{}`",
                run.job,
                if state.is_empty() { "unknown" } else { state },
                log.display()
            );
        }
    }
    Ok(Parts {
        files: (0..parts.len()).map(part).collect(),
        dir,
    })
}

/// Where a data command reads its data: here, or in shards on Slurm.
#[derive(Debug, clap::Args)]
pub(crate) struct ShardArgs {
    /// Where the data is read: `local` (here) or `slurm` (the files split into --shards parts,
    /// each read by one task of a Slurm job array, their profiles or sums merged here)
    #[arg(long, value_enum, default_value = "local")]
    executor: super::run::ExecutorArg,
    /// With `--executor slurm`: how many tasks to split the files among (runs of whole files,
    /// or of a Parquet file's row groups when there are fewer files than tasks)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    shards: u16,
}

impl ShardArgs {
    pub(crate) fn on_slurm(&self) -> bool {
        self.executor == super::run::ExecutorArg::Slurm
    }

    /// The tasks to split the files among.
    pub(crate) fn count(&self) -> usize {
        usize::from(self.shards)
    }
}

/// The part of the data one shard's task reads, as `--executor slurm` hands it out.
#[derive(Debug, clap::Args)]
pub(crate) struct PartArgs {
    /// Only these row groups of each Parquet file, `FIRST-END` (0-based, END excluded): a
    /// shard's part of a file
    #[arg(long, value_name = "FIRST-END", value_parser = row_group_range, hide = true)]
    pub(crate) row_groups: Option<std::ops::Range<usize>>,
}

/// `--row-groups FIRST-END`: a shard's run of row groups (0-based, END excluded).
fn row_group_range(text: &str) -> Result<std::ops::Range<usize>, String> {
    let (first, end) = text
        .split_once('-')
        .ok_or_else(|| format!("`{text}` is not FIRST-END"))?;
    let first: usize = first
        .parse()
        .map_err(|_| format!("`{first}` is not a row group"))?;
    let end: usize = end
        .parse()
        .map_err(|_| format!("`{end}` is not a row group"))?;
    if end <= first {
        return Err(format!("`{text}` holds no row group"));
    }
    Ok(first..end)
}

/// One task's part of the data: whole files, or some row groups of one Parquet file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    files: Vec<PathBuf>,
    row_groups: Option<std::ops::Range<usize>>,
}

/// The parts of `files` for `shards` tasks, in the data's order: whole files in groups of about
/// equal size when there are at least as many files as tasks; else each Parquet file's row
/// groups split into runs, a file getting tasks in proportion to its size (other files whole).
fn plan(files: &[PathBuf], shards: usize) -> anyhow::Result<Vec<Part>> {
    if files.len() >= shards {
        return Ok(shard_groups(files, shards)
            .into_iter()
            .map(|files| Part {
                files,
                row_groups: None,
            })
            .collect());
    }
    let sizes: Vec<u64> = files
        .iter()
        .map(|f| fs_err::metadata(f).map_or(1, |m| m.len().max(1)))
        .collect();
    let total: u64 = sizes.iter().sum();
    let mut parts = Vec::new();
    for (file, size) in files.iter().zip(sizes) {
        let groups = mlops_data::parquet_row_groups(file)?.unwrap_or(1);
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_precision_loss,
            clippy::cast_sign_loss,
            reason = "a share of a small count of tasks"
        )]
        let share = ((shards as f64 * size as f64 / total as f64).round() as usize).max(1);
        let runs = share.min(groups);
        if runs <= 1 {
            parts.push(Part {
                files: vec![file.clone()],
                row_groups: None,
            });
            continue;
        }
        for run in 0..runs {
            parts.push(Part {
                files: vec![file.clone()],
                row_groups: Some(groups * run / runs..groups * (run + 1) / runs),
            });
        }
    }
    Ok(parts)
}

/// `files` split into at most `shards` runs of consecutive files of about equal size: a file
/// goes to the run its middle byte falls in. Runs keep the files' order, so that parts merged
/// in order see the rows in the data's order (an evaluation lists sensitive groups in the order
/// of their first rows).
fn shard_groups(files: &[PathBuf], shards: usize) -> Vec<Vec<PathBuf>> {
    let count = shards.clamp(1, files.len().max(1));
    let sizes: Vec<u64> = files
        .iter()
        .map(|f| fs_err::metadata(f).map_or(0, |m| m.len()))
        .collect();
    let total: u64 = sizes.iter().sum::<u64>().max(1);
    let mut groups: Vec<Vec<PathBuf>> = vec![Vec::new(); count];
    let mut before = 0u64;
    for (file, size) in files.iter().zip(sizes) {
        let middle = u128::from(before) * 2 + u128::from(size);
        let run = usize::try_from(middle * count as u128 / (2 * u128::from(total)))
            .map_or(count - 1, |run| run.min(count - 1));
        groups[run].push(file.clone());
        before += size;
    }
    groups.retain(|g| !g.is_empty());
    groups
}
