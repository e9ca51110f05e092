//! Profiles computed on Slurm in shards: the files split into groups of about equal size, each
//! profiled by one task of a job array (`mlops profile` on that group), the parts merged here in
//! order. Profiles merge exactly (counts and fixed-bucket sketches add up), so `mlops profile`
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
    let groups = shard_groups(files, shards);
    let dir = parts_dir.join(format!(".mlops-shards-{}", std::process::id()));
    fs_err::create_dir_all(&dir)?;
    let exe = std::env::current_exe()?;
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
