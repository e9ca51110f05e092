//! The Slurm commands the driver uses, each run as the user would run it: `sbatch` to submit,
//! `scontrol release` to let a job submitted held start, `squeue` to follow, `scancel` to
//! cancel. Only their documented, parsable outputs are read
//! (`sbatch --parsable`, `squeue --noheader --format`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

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
    /// Submitted held (`--hold`) with this `--comment`, to be [`release`]d once the driver has
    /// recorded the job: a driver killed in between leaves a held job that the next one finds
    /// by its comment ([`held`]) and cancels, never one running unrecorded.
    pub held: Option<String>,
}

impl Submission {
    /// This submission as a job array of `tasks` (shell commands) in place of its command:
    /// task `k` runs `tasks[k]`, and is job `ID_k` of the array `ID` that [`submit`] returns
    /// (`%A_%a` in `log` names a task's output after it).
    #[must_use]
    pub fn array(mut self, tasks: &[String]) -> Submission {
        let mut script = String::from("case \"$SLURM_ARRAY_TASK_ID\" in\n");
        for (task, command) in tasks.iter().enumerate() {
            let _ = writeln!(script, "{task}) {command} ;;");
        }
        script.push_str("*) echo \"no task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\nesac");
        self.command = script;
        self.options
            .push(format!("--array=0-{}", tasks.len().saturating_sub(1)));
        self
    }
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
    if let Some(comment) = &job.held {
        command.arg("--hold").arg(format!("--comment={comment}"));
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
    let mut found = HashMap::new();
    for line in out.lines() {
        let Some((id, state)) = line.trim().split_once(' ') else {
            continue;
        };
        for id in array_tasks(id) {
            found.insert(id, state.trim().to_owned());
        }
    }
    Ok(found)
}

/// Lets held `jobs` start.
///
/// # Errors
/// When `scontrol` fails (one of them has ended, or is unknown).
pub fn release(jobs: &[JobId]) -> Result<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    run(
        Command::new("scontrol").arg("release").arg(jobs.join(",")),
        "scontrol",
    )?;
    Ok(())
}

/// [`release`], for jobs some of which may have started or ended already (taken up from an
/// earlier run): each one alone, and what cannot be released is left as it is.
pub fn release_any(jobs: &[JobId]) {
    for job in jobs {
        let _ = release(std::slice::from_ref(job));
    }
}

/// This user's jobs held with `comment` (see [`Submission::held`]).
///
/// # Errors
/// When `squeue` fails.
pub fn held(comment: &str) -> Result<Vec<JobId>> {
    let out = run(
        Command::new("squeue").args([
            "--me",
            "--noheader",
            "--states=PENDING",
            "--format=%i|%r|%k",
        ]),
        "squeue",
    )?;
    Ok(out
        .lines()
        .filter_map(|line| {
            let mut fields = line.trim().splitn(3, '|');
            let (id, reason, found) = (fields.next()?, fields.next()?, fields.next()?);
            (reason == "JobHeldUser" && found == comment).then(|| array_tasks(id))
        })
        .flatten()
        .collect())
}

/// The job ids a line of `squeue` stands for: itself, or for the still pending tasks of an array
/// (`12_[2-5,7%4]`) each task (`12_2` ... `12_5`, `12_7`).
fn array_tasks(id: &str) -> Vec<JobId> {
    let Some((job, range)) = id
        .split_once("_[")
        .and_then(|(job, rest)| Some((job, rest.strip_suffix(']')?)))
    else {
        return vec![id.to_owned()];
    };
    let range = range.split('%').next().unwrap_or_default();
    let mut tasks = Vec::new();
    for part in range.split(',') {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(first), Ok(last)) = (first.parse::<u32>(), last.parse::<u32>()) {
            tasks.extend((first..=last).map(|task| format!("{job}_{task}")));
        }
    }
    tasks
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
pub fn cancel_jobs(jobs: &[JobId]) -> Result<()> {
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

/// How the tasks of a job array ended: each task's last state, by task.
#[derive(Debug, Clone)]
pub struct ArrayRun {
    pub job: JobId,
    pub states: Vec<String>,
}

/// Runs `commands` (shell commands) as the tasks of one job array, task `i` running
/// `commands[i]` in `dir` with `options` (resources) and its output in
/// `logs/NAME-JOB_TASK.log`; waits until every task has ended, polling with backoff. When
/// `cancel` is set, cancels the array and returns [`Error::Slurm`] saying so.
pub fn run_array(
    name: &str,
    dir: &Path,
    logs: &Path,
    commands: &[String],
    options: &[String],
    cancel: &AtomicBool,
) -> Result<ArrayRun> {
    let job = submit(
        &Submission {
            name: name.to_owned(),
            dir: dir.to_owned(),
            log: logs.join(format!("{name}-%A_%a.log")),
            after: Vec::new(),
            options: options.to_vec(),
            command: String::new(),
            held: None,
        }
        .array(commands),
    )?;
    let tasks: Vec<String> = (0..commands.len()).map(|t| format!("{job}_{t}")).collect();
    let mut wait = Duration::from_millis(200);
    loop {
        if cancel.load(Ordering::Relaxed) {
            cancel_jobs(std::slice::from_ref(&job))?;
            return Err(Error::Slurm {
                command: "mlops".into(),
                message: format!("interrupted: job array {job} cancelled"),
            });
        }
        std::thread::sleep(wait);
        wait = (wait * 3 / 2).min(Duration::from_secs(1));
        // The pending part of an array shows as one line (`12_[2-7]`), the rest task by task.
        let known = states(std::slice::from_ref(&job))?;
        if known.values().any(|s| in_flight(s)) {
            continue;
        }
        return Ok(ArrayRun {
            states: tasks
                .iter()
                .map(|t| known.get(t).cloned().unwrap_or_default())
                .collect(),
            job,
        });
    }
}

/// `text` quoted for `sh`.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `path` quoted for `sh`.
pub fn quote_path(path: &Path) -> String {
    quote(&path.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::array_tasks;

    #[test]
    fn pending_array_lines_stand_for_each_task() {
        assert_eq!(array_tasks("12"), ["12"]);
        assert_eq!(array_tasks("12_3"), ["12_3"]);
        assert_eq!(
            array_tasks("12_[2-4,7%2]"),
            ["12_2", "12_3", "12_4", "12_7"]
        );
    }
}
