//! Programs run to learn the environment: the active Python, asked for its distributions through
//! `importlib.metadata` (what `pip freeze` lists, without pip and without the network), and the
//! commands a stage names under `env:`. Each runs in its own process group, listed where the run
//! forwards an interrupt (Ctrl-C stops it with the stage commands), with a time limit and its
//! output capped: a hanging or chatty probe, or a process it left holding its pipes, cannot hold
//! up or swamp the run.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use super::{CommandOutput, Packages, Python};

/// The most output kept of a named command.
const OUTPUT_CAP: usize = 16 << 10;
/// The most read of the Python's listing (many thousand distributions fit).
const LISTING_CAP: usize = 8 << 20;

/// How long probes may take, and where their process groups are listed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits<'a> {
    /// A named command.
    pub(crate) command: Duration,
    /// Listing the Python's distributions (a cold start of a large environment).
    pub(crate) python: Duration,
    /// The run's process groups, which an interrupt is forwarded to.
    pub(crate) groups: Option<&'a Mutex<Vec<u32>>>,
}

impl Default for Limits<'_> {
    fn default() -> Self {
        Limits {
            command: Duration::from_secs(10),
            python: Duration::from_secs(30),
            groups: None,
        }
    }
}

/// Lists the distributions of the running interpreter as one JSON object. The current
/// directory (`''` on the path of `python -c`) is left out, so that a stage's own sources are
/// not taken for installed distributions; names are normalised as PEP 503 says here, so that of
/// two copies of one distribution the first on the path, the one `import` finds, is kept.
const LIST_DISTRIBUTIONS: &str = "\
import os, sys
cwd = os.getcwd()
sys.path[:] = [p for p in sys.path if p not in ('', '.') and os.path.abspath(p) != cwd]
import importlib.metadata as m, json, re
d = {}
for x in m.distributions():
    n = x.metadata['Name']
    if n:
        d.setdefault(re.sub(r'[-_.]+', '-', n).lower(), x.version)
print(json.dumps({'executable': sys.executable, 'version': sys.version.split()[0], 'packages': d}))
";

/// What a program did.
#[derive(Debug)]
pub(crate) struct Ran {
    /// `None`: killed (at the time limit) or by a signal.
    pub(crate) status: Option<i32>,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
    pub(crate) timed_out: bool,
}

/// Where `program` is on the PATH (the directories a shell would search when none is set).
pub(crate) fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            fs_err::metadata(candidate).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
        })
}

/// Lists `pgid` in `groups` while it lives.
struct Listed<'a> {
    groups: Option<&'a Mutex<Vec<u32>>>,
    pgid: u32,
}

impl<'a> Listed<'a> {
    fn new(groups: Option<&'a Mutex<Vec<u32>>>, pgid: u32) -> Self {
        if let Some(groups) = groups {
            super::lock(groups).push(pgid);
        }
        Listed { groups, pgid }
    }
}

impl Drop for Listed<'_> {
    fn drop(&mut self) {
        if let Some(groups) = self.groups {
            super::lock(groups).retain(|p| *p != self.pgid);
        }
    }
}

/// Runs `command` in `dir` with no input, in a process group of its own listed in `groups`,
/// for at most `limit` in all (its pipes included), keeping the first `cap` bytes of each
/// output.
pub(crate) fn run_limited(
    mut command: Command,
    dir: &Path,
    limit: Duration,
    cap: usize,
    groups: Option<&Mutex<Vec<u32>>>,
) -> std::io::Result<Ran> {
    let deadline = Instant::now() + limit;
    let mut child = command
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let pgid = child.id();
    let listed = Listed::new(groups, pgid);
    // Readers of their own, not scoped: a process that left the group (`setsid`) may hold a
    // pipe open past the deadline, and its reader is then left behind rather than waited for.
    let (done, finished) = mpsc::channel();
    let read = |pipe: Box<dyn Read + Send>| {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let into = Arc::clone(&kept);
        let done = done.clone();
        std::thread::spawn(move || {
            read_capped(pipe, &into, cap);
            let _ = done.send(());
        });
        kept
    };
    let stdout = read(Box::new(child.stdout.take().expect("stdout is piped")));
    let stderr = read(Box::new(child.stderr.take().expect("stderr is piped")));
    drop(done);
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                timed_out = true;
                crate::running::signal_group(pgid, Signal::KILL);
                let _ = child.wait();
                break None;
            }
        }
    };
    // Processes it left in its group would hold the pipes open, and the readers with them.
    if crate::running::group_alive(pgid) {
        crate::running::signal_group(pgid, Signal::KILL);
    }
    drop(listed);
    for _ in 0..2 {
        // A moment past the deadline, for the readers of a group just killed to see the end.
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(200));
        if finished.recv_timeout(left).is_err() {
            timed_out = true;
            break;
        }
    }
    let take = |kept: &Arc<Mutex<Vec<u8>>>| std::mem::take(&mut *super::lock(kept));
    Ok(Ran {
        status,
        stdout: take(&stdout),
        stderr: take(&stderr),
        timed_out,
    })
}

/// The first `cap` bytes of `pipe`, into `kept` as they come; the rest is read and dropped, so
/// that the writer is never blocked on a full pipe.
fn read_capped(mut pipe: impl Read, kept: &Mutex<Vec<u8>>, cap: usize) {
    let mut buffer = [0; 8192];
    loop {
        match pipe.read(&mut buffer) {
            Ok(0) => return,
            Ok(n) => {
                let mut kept = super::lock(kept);
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buffer[..n.min(room)]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Runs a command the stage names with `sh -c`, in the stage's directory with its variables.
pub(super) fn command(
    cmd: &str,
    dir: &Path,
    vars: &[(String, String)],
    limits: &Limits,
) -> CommandOutput {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(cmd)
        .envs(vars.iter().map(|(k, v)| (k, v)));
    let mut out = CommandOutput {
        cmd: cmd.to_owned(),
        status: None,
        output: String::new(),
        error: None,
    };
    match run_limited(command, dir, limits.command, OUTPUT_CAP + 1, limits.groups) {
        Ok(ran) => {
            // Tools such as `java -version` write their version to stderr.
            let text = if ran.stdout.iter().all(u8::is_ascii_whitespace) {
                &ran.stderr
            } else {
                &ran.stdout
            };
            out.output = cap(String::from_utf8_lossy(text).trim());
            out.status = ran.status;
            if ran.timed_out {
                out.error = Some(format!("stopped after {}", seconds(limits.command)));
            }
        }
        Err(e) => out.error = Some(format!("cannot start `sh`: {e}")),
    }
    out
}

/// A limit as the user reads it: `10 s`, `0.1 s`.
fn seconds(limit: Duration) -> String {
    format!("{} s", limit.as_secs_f64())
}

/// `text`, cut to at most [`OUTPUT_CAP`] bytes at a character boundary.
fn cap(text: &str) -> String {
    if text.len() <= OUTPUT_CAP {
        return text.to_owned();
    }
    let mut end = OUTPUT_CAP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[cut at {OUTPUT_CAP} bytes]", &text[..end])
}

/// The active Python (`python3`, else `python`, on the PATH) and its distributions, names
/// normalised as PEP 503 says.
pub(super) fn python(dir: &Path, vars: &[(String, String)], limits: &Limits) -> Python {
    let Some(program) = on_path("python3").or_else(|| on_path("python")) else {
        return Python {
            error: Some("no `python3` or `python` on the PATH".into()),
            ..Python::default()
        };
    };
    let mut command = Command::new(&program);
    command
        .arg("-c")
        .arg(LIST_DISTRIBUTIONS)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        // Nothing it writes (`__pycache__`) belongs in the stage's directory.
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let failed = |error: String| Python {
        executable: Some(program.display().to_string()),
        error: Some(error),
        ..Python::default()
    };
    let ran = match run_limited(command, dir, limits.python, LISTING_CAP, limits.groups) {
        Ok(ran) => ran,
        Err(e) => return failed(format!("cannot start `{}`: {e}", program.display())),
    };
    if ran.timed_out {
        return failed(format!(
            "listing its packages took over {}",
            seconds(limits.python)
        ));
    }
    match parse_listing(&ran.stdout) {
        Some(python) if ran.status == Some(0) => python,
        _ => failed(format!(
            "listing its packages failed: {}",
            cap(String::from_utf8_lossy(&ran.stderr).trim())
        )),
    }
}

/// The JSON object [`LIST_DISTRIBUTIONS`] prints.
fn parse_listing(stdout: &[u8]) -> Option<Python> {
    #[derive(serde::Deserialize)]
    struct Listing {
        executable: Option<String>,
        version: Option<String>,
        packages: std::collections::BTreeMap<String, String>,
    }
    let listing: Listing = serde_json::from_slice(stdout).ok()?;
    let mut packages = Packages::new();
    for (name, version) in listing.packages {
        // Normalised by the script already; an older listing may not be.
        packages
            .entry(super::lockfiles::pep503(&name))
            .or_insert(version);
    }
    Some(Python {
        executable: listing.executable,
        version: listing.version,
        packages,
        error: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command_in(cmd: &str, dir: &Path, vars: &[(String, String)]) -> CommandOutput {
        command(cmd, dir, vars, &Limits::default())
    }

    #[test]
    fn a_command_is_capped_and_stopped_in_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = command_in("echo '  v1.2  '", dir.path(), &[]);
        assert_eq!((out.status, out.output.as_str()), (Some(0), "v1.2"));
        let out = command_in("echo version 3 >&2", dir.path(), &[]);
        assert_eq!(out.output, "version 3");
        let out = command_in("head -c 100000 /dev/zero | tr '\\0' x", dir.path(), &[]);
        assert!(
            out.output.ends_with("[cut at 16384 bytes]"),
            "{}",
            out.output.len()
        );
        let out = command_in(
            "echo $MLOPS_STAGE; exit 3",
            dir.path(),
            &[("MLOPS_STAGE".into(), "train".into())],
        );
        assert_eq!((out.status, out.output.as_str()), (Some(3), "train"));
        // A background process holding the pipe does not hold up the probe.
        let started = Instant::now();
        let out = command_in("sleep 30 & echo started", dir.path(), &[]);
        assert_eq!(out.output, "started");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_probe_is_bounded_by_its_limit_pipes_included() {
        let dir = tempfile::tempdir().expect("tempdir");
        let groups = Mutex::new(Vec::new());
        let limits = Limits {
            command: Duration::from_millis(100),
            python: Duration::from_millis(100),
            groups: Some(&groups),
        };
        let started = Instant::now();
        let out = command("echo early; sleep 30", dir.path(), &[], &limits);
        assert!(started.elapsed() < Duration::from_secs(3), "{out:?}");
        assert_eq!(out.status, None);
        assert_eq!(out.output, "early");
        assert_eq!(out.error.as_deref(), Some("stopped after 0.1 s"));
        // A process that left the group keeps the pipe open: its reader is left behind.
        let started = Instant::now();
        let out = command("setsid sleep 3 & echo detached", dir.path(), &[], &limits);
        assert!(started.elapsed() < Duration::from_secs(2), "{out:?}");
        assert_eq!(out.output, "detached");
        // The group was listed for an interrupt while it ran, and is no longer.
        assert!(groups.lock().expect("groups").is_empty());
    }

    #[test]
    fn a_probe_group_is_listed_while_it_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let groups = Mutex::new(Vec::new());
        let limits = Limits {
            groups: Some(&groups),
            ..Limits::default()
        };
        std::thread::scope(|scope| {
            let probe = scope.spawn(|| command("sleep 30", dir.path(), &[], &limits));
            let deadline = Instant::now() + Duration::from_secs(5);
            let pgid = loop {
                if let Some(pgid) = groups.lock().expect("groups").first().copied() {
                    break pgid;
                }
                assert!(Instant::now() < deadline, "the probe's group is listed");
                std::thread::sleep(Duration::from_millis(10));
            };
            // What the run's interrupt forwarding does on Ctrl-C.
            crate::running::signal_group(pgid, Signal::INT);
            let out = probe.join().expect("probe");
            assert_eq!(out.status, None, "{out:?}");
            assert!(out.error.is_none(), "{out:?}");
        });
        assert!(groups.lock().expect("groups").is_empty());
    }

    #[test]
    fn the_python_listing_is_normalised() {
        let python = parse_listing(
            br#"{"executable": "/venv/bin/python", "version": "3.12.1", "packages": {"Scikit_Learn": "1.5.0", "numpy": "2.0.1"}}"#,
        )
        .expect("parses");
        assert_eq!(python.version.as_deref(), Some("3.12.1"));
        assert_eq!(
            python.packages,
            Packages::from([
                ("numpy".into(), "2.0.1".into()),
                ("scikit-learn".into(), "1.5.0".into())
            ])
        );
        assert!(parse_listing(b"Traceback").is_none());
    }
}
