//! Programs run to learn the environment: the active Python, asked for its distributions through
//! `importlib.metadata` (what `pip freeze` lists, without pip and without the network), and the
//! commands a stage names under `env:`. Each runs in its own process group with a time limit and
//! its output capped, so that a hanging or chatty probe cannot hold up or swamp the run.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{CommandOutput, Packages, Python};

/// How long a named command may take.
const COMMAND_LIMIT: Duration = Duration::from_secs(10);
/// How long listing the Python's distributions may take (a cold start of a large environment).
const PYTHON_LIMIT: Duration = Duration::from_secs(30);
/// The most output kept of a named command.
const OUTPUT_CAP: usize = 16 << 10;
/// The most read of the Python's listing (many thousand distributions fit).
const LISTING_CAP: usize = 8 << 20;

/// Lists the distributions of the running interpreter as one JSON object.
const LIST_DISTRIBUTIONS: &str = "\
import importlib.metadata as m, json, sys
d = {}
for x in m.distributions():
    n = x.metadata['Name']
    if n:
        d.setdefault(n, x.version)
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

/// Runs `command` in `dir` with no input, for at most `limit`, keeping the first
/// [`LISTING_CAP`] bytes of each output.
pub(crate) fn run_limited(
    mut command: Command,
    dir: &Path,
    limit: Duration,
) -> std::io::Result<Ran> {
    let mut child = command
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let pgid = child.id();
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    std::thread::scope(|scope| {
        let out = scope.spawn(|| read_capped(stdout));
        let err = scope.spawn(|| read_capped(stderr));
        let deadline = Instant::now() + limit;
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status.code(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => {
                    timed_out = true;
                    kill_group(pgid);
                    let _ = child.wait();
                    break None;
                }
            }
        };
        // Processes it left in its group would hold the pipes open, and the readers with them.
        if crate::running::group_alive(pgid) {
            kill_group(pgid);
        }
        Ok(Ran {
            status,
            stdout: out.join().expect("readers do not panic"),
            stderr: err.join().expect("readers do not panic"),
            timed_out,
        })
    })
}

fn kill_group(pgid: u32) {
    if let Some(pid) = i32::try_from(pgid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

/// The first [`LISTING_CAP`] bytes of `pipe`; the rest is read and dropped, so that the writer
/// is never blocked on a full pipe.
fn read_capped(pipe: impl Read) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut pipe = pipe;
    let _ = (&mut pipe).take(LISTING_CAP as u64).read_to_end(&mut kept);
    let _ = std::io::copy(&mut pipe, &mut std::io::sink());
    kept
}

/// Runs a command the stage names with `sh -c`, in the stage's directory with its variables.
pub(super) fn command(cmd: &str, dir: &Path, vars: &[(String, String)]) -> CommandOutput {
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
    match run_limited(command, dir, COMMAND_LIMIT) {
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
                out.error = Some(format!("stopped after {} s", COMMAND_LIMIT.as_secs()));
            }
        }
        Err(e) => out.error = Some(format!("cannot start `sh`: {e}")),
    }
    out
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
pub(super) fn python(dir: &Path, vars: &[(String, String)]) -> Python {
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
    let ran = match run_limited(command, dir, PYTHON_LIMIT) {
        Ok(ran) => ran,
        Err(e) => return failed(format!("cannot start `{}`: {e}", program.display())),
    };
    if ran.timed_out {
        return failed(format!(
            "listing its packages took over {} s",
            PYTHON_LIMIT.as_secs()
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
    let packages: Packages = listing
        .packages
        .into_iter()
        .map(|(name, version)| (super::lockfiles::pep503(&name), version))
        .collect();
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

    #[test]
    fn a_command_is_capped_and_stopped_in_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = command("echo '  v1.2  '", dir.path(), &[]);
        assert_eq!((out.status, out.output.as_str()), (Some(0), "v1.2"));
        let out = command("echo version 3 >&2", dir.path(), &[]);
        assert_eq!(out.output, "version 3");
        let out = command("head -c 100000 /dev/zero | tr '\\0' x", dir.path(), &[]);
        assert!(
            out.output.ends_with("[cut at 16384 bytes]"),
            "{}",
            out.output.len()
        );
        let out = command(
            "echo $MLOPS_STAGE; exit 3",
            dir.path(),
            &[("MLOPS_STAGE".into(), "train".into())],
        );
        assert_eq!((out.status, out.output.as_str()), (Some(3), "train"));
        // A background process holding the pipe does not hold up the probe.
        let started = Instant::now();
        let out = command("sleep 30 & echo started", dir.path(), &[]);
        assert_eq!(out.output, "started");
        assert!(started.elapsed() < Duration::from_secs(5));
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
