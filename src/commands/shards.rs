//! Profiles computed on Slurm in shards: the files split into groups of about equal size (or a
//! Parquet file into runs of its row groups, when there are fewer files than tasks), each
//! profiled by one task of a job array (`mlops profile` on that part), the parts merged here in
//! the data's order. Profiles merge exactly (counts and fixed-bucket sketches add up), so `mlops profile`
//! and `mlops drift` (for its reference) use this to spread the big side of their work over a
//! cluster.

use std::path::{Path, PathBuf};

use mlops_drift::profile::Profile;
use mlops_pipeline::cluster::slurm;

use crate::commands::Context;

/// The profile of `files`, computed by `shards` tasks of a Slurm job array, each running
/// `mlops profile GROUP -o PART OPTIONS...` (`options`: the read, column and kind flags). The
/// parts and the tasks' logs go in a directory made in `parts_dir`, which the cluster's nodes
/// must share; it is removed once merged, and kept (and named) when a task fails.
pub(crate) fn profile_on_slurm(
    ctx: &Context,
    files: &[PathBuf],
    options: &[String],
    shards: usize,
    parts_dir: &Path,
) -> anyhow::Result<Profile> {
    if !slurm::available() {
        anyhow::bail!(
            "`--executor slurm` needs `sbatch` on the PATH; run on a machine with the Slurm client commands, or run here with `--executor local`"
        );
    }
    let parts = plan(files, shards)?;
    let dir = parts_dir.join(format!(".mlops-shards-{}", std::process::id()));
    // Made new, never taken over: it is removed whole once the parts are merged.
    fs_err::create_dir(&dir)?;
    let exe = std::env::current_exe()?;
    let part = |task: usize| dir.join(format!("{task}.profile"));
    let commands: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(task, shard)| {
            let mut words = vec![slurm::quote_path(&exe), "-q".into(), "profile".into()];
            words.extend(shard.files.iter().map(|f| slurm::quote_path(f)));
            if let Some(groups) = &shard.row_groups {
                words.push(format!("--row-groups={}-{}", groups.start, groups.end));
            }
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
