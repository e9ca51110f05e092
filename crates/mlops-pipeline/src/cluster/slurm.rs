//! The Slurm commands the driver uses, each run as the user would run it: `sbatch` to submit,
//! `squeue` to follow, `scancel` to cancel. Only their documented, parsable outputs are read
//! (`sbatch --parsable`, `squeue --noheader --format`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// A job as Slurm numbers it.
pub type JobId = String;

/// One job to submit.
#[derive(Debug, Clone)]
pub struct Submission {
    /// `--job-name`.
    pub name: String,
    /// The working directory (`--chdir`).
    pub dir: PathBuf,
    /// Where the job's output goes (`--output`, truncated first).
    pub log: PathBuf,
    /// Jobs that must end successfully first (`--dependency=afterok:...`); should one of them
    /// fail, Slurm cancels this one (`--kill-on-invalid-dep=yes`).
    pub after: Vec<JobId>,
    /// Further options (resources).
    pub options: Vec<String>,
    /// The shell command the job runs (`--wrap`).
    pub command: String,
}

/// Whether `sbatch` is on the PATH.
pub fn available() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("sbatch").is_file()))
}

/// Submits `job`; its id.
pub fn submit(job: &Submission) -> Result<JobId> {
    let mut command = Command::new("sbatch");
    command
        .arg("--parsable")
        .arg(format!("--job-name={}", job.name))
        .arg(format!("--chdir={}", job.dir.display()))
        .arg(format!("--output={}", job.log.display()))
        .arg("--open-mode=truncate");
    if !job.after.is_empty() {
        command
            .arg(format!("--dependency=afterok:{}", job.after.join(":")))
            .arg("--kill-on-invalid-dep=yes");
    }
    command.args(&job.options).arg("--wrap").arg(&job.command);
    let out = run(&mut command, "sbatch")?;
    // `--parsable` prints `id` or `id;cluster`.
    let id = out.trim().split(';').next().unwrap_or_default().to_owned();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Slurm {
            command: "sbatch".into(),
            message: format!("printed `{}` where a job id was expected", out.trim()),
        });
    }
    Ok(id)
}

/// The state (`PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, `CANCELLED`, ...) of each of `jobs`
/// the controller still knows; a job it has forgotten (some minutes after it ended) is absent.
pub fn states(jobs: &[JobId]) -> Result<HashMap<JobId, String>> {
    if jobs.is_empty() {
        return Ok(HashMap::new());
    }
    let out = run(
        Command::new("squeue")
            .args(["--noheader", "--states=all", "--format=%i %T", "--jobs"])
            .arg(jobs.join(",")),
        "squeue",
    )?;
    Ok(out
        .lines()
        .filter_map(|line| {
            let (id, state) = line.trim().split_once(' ')?;
            Some((id.to_owned(), state.trim().to_owned()))
        })
        .collect())
}

/// Whether a job in `state` may still run.
pub fn in_flight(state: &str) -> bool {
    matches!(
        state,
        "PENDING"
            | "RUNNING"
            | "CONFIGURING"
            | "COMPLETING"
            | "SUSPENDED"
            | "REQUEUED"
            | "RESIZING"
    )
}

/// Cancels `jobs`. A job that ended meanwhile makes `scancel` complain; that is no error here
/// (the driver learns how each job ended from the queue), so only a `scancel` that cannot be
/// started is.
pub fn cancel(jobs: &[JobId]) -> Result<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    match run(Command::new("scancel").args(jobs), "scancel") {
        Err(Error::Slurm { message, .. }) if !message.contains("not on the PATH") => Ok(()),
        other => other.map(drop),
    }
}

/// Runs a Slurm command; its stdout, or an error with its stderr.
fn run(command: &mut Command, name: &str) -> Result<String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Slurm {
            command: name.into(),
            message: if e.kind() == std::io::ErrorKind::NotFound {
                format!("`{name}` is not on the PATH")
            } else {
                e.to_string()
            },
        })?;
    if !out.status.success() {
        return Err(Error::Slurm {
            command: name.into(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `text` quoted for `sh`.
pub(crate) fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `path` quoted for `sh`.
pub(crate) fn quote_path(path: &Path) -> String {
    quote(&path.to_string_lossy())
}
