//! The environment a stage ran in, recorded with each of its runs: the host (OS, kernel, CPU,
//! GPU and driver), the `mlops` version, the project's lock files (a digest each and, where the
//! format is known, the packages they pin), the active Python's packages (`env: python`) and the
//! output of commands the stage names (`env: {commands: [...]}`).
//!
//! Modules: `host` reads the host's facts from `/etc` and `/proc`; `lockfiles` finds the lock
//! files and parses them (following `-r` includes of `requirements*.txt`); `probe` runs the
//! Python and the named commands, each within a time limit and with its output capped, once per
//! process ([`Probes`]); [`version`] orders package versions.
//!
//! A run record keeps an [`EnvRecord`]: the host's facts and one digest per source. The package
//! lists and command outputs, which may be long, are kept once per content in
//! `.mlops/runs/envs/<digest>.json` ([`EnvDetail`]), which the record names.
//!
//! With `env: strict`, [`Environment::strict_digest`] (of [`EnvRecord::sources`]: the lock
//! files' digests, the Python's version and packages and the named commands' statuses and
//! outputs; neither the host nor the mlops version, which change no stage's result by
//! themselves) joins the stage's inputs in `mlops.lock` and in
//! the run cache's key, so that a change to it reruns the stage.

mod host;
mod lockfiles;
mod probe;
pub mod version;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use mlops_core::Digest;
use mlops_core::yaml::Value;
use serde::{Deserialize, Serialize};

pub use host::Host;
pub use lockfiles::{Format, ParseError, parse_packages};

/// Package name -> version (several versions of one name, as `Cargo.lock` may hold, joined with
/// `, `).
pub type Packages = BTreeMap<String, String>;

/// The source name of the active Python's packages in [`EnvDetail::packages`].
pub const PYTHON: &str = "python";

/// What a stage's `env:` asks for beside what every run records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvSpec {
    /// Record the packages of the active `python3` (as `pip freeze` lists them).
    pub python: bool,
    /// Rerun the stage when its environment changes.
    pub strict: bool,
    /// Commands whose output is recorded (`nvcc --version`).
    pub commands: Vec<String>,
}

/// The keys of `env:` as a mapping.
pub const ENV_KEYS: [&str; 3] = ["python", "strict", "commands"];

/// What is wrong with an `env:` value. Each message reads after the key's name: "`env` takes
/// ...".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvSpecError {
    #[error("has no key `{0}`")]
    UnknownKey(String),
    #[error(
        "takes the words `strict` and `python`, not `{0}`; name commands under `env: {{commands: [...]}}`"
    )]
    UnknownWord(String),
    #[error("takes a list of the words `strict` and `python` only")]
    NotAWord,
    #[error("takes text keys only")]
    KeyNotText,
    #[error("takes true or false for `{0}`")]
    NotAFlag(String),
    #[error("takes a list of commands under `commands`, e.g. [\"nvcc --version\"]")]
    BadCommands,
    #[error(
        "must be `strict`, `python`, a list of them, or a mapping with `python`, `strict` and `commands`"
    )]
    BadForm,
}

impl EnvSpec {
    /// Reads `env:`: `strict` or `python`, a list of those words, or a mapping
    /// `{python: true, strict: true, commands: [...]}`.
    pub fn parse(value: &Value) -> Result<EnvSpec, EnvSpecError> {
        let mut spec = EnvSpec::default();
        let word = |spec: &mut EnvSpec, text: &str| match text {
            "strict" => {
                spec.strict = true;
                Ok(())
            }
            "python" => {
                spec.python = true;
                Ok(())
            }
            other => Err(EnvSpecError::UnknownWord(other.to_owned())),
        };
        match value {
            Value::String(text) => word(&mut spec, text)?,
            Value::Sequence(items) => {
                for item in items {
                    match item {
                        Value::String(text) => word(&mut spec, text)?,
                        _ => return Err(EnvSpecError::NotAWord),
                    }
                }
            }
            Value::Mapping(map) => {
                for (key, value) in map {
                    let Value::String(key) = key else {
                        return Err(EnvSpecError::KeyNotText);
                    };
                    let flag = || match value {
                        Value::Bool(b) => Ok(*b),
                        _ => Err(EnvSpecError::NotAFlag(key.clone())),
                    };
                    match key.as_str() {
                        "python" => spec.python = flag()?,
                        "strict" => spec.strict = flag()?,
                        "commands" => spec.commands = commands(value)?,
                        other => return Err(EnvSpecError::UnknownKey(other.to_owned())),
                    }
                }
            }
            _ => return Err(EnvSpecError::BadForm),
        }
        Ok(spec)
    }
}

/// The value of `commands:`: one command, or a list of them, none blank.
fn commands(value: &Value) -> Result<Vec<String>, EnvSpecError> {
    let items = mlops_core::yaml::one_or_many_strings(value).ok_or(EnvSpecError::BadCommands)?;
    if items.iter().any(|c| c.trim().is_empty()) {
        return Err(EnvSpecError::BadCommands);
    }
    Ok(items)
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_false(b: &bool) -> bool {
    !*b
}

/// A lock file of the project, as found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageFile {
    /// Workspace-relative.
    pub path: PathBuf,
    pub format: Format,
    /// Of its bytes, and of the bytes of the files it includes (`-r` in `requirements.txt`).
    pub digest: Digest,
    /// It (or a file it includes) could not be read: `digest` stands for what could.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unreadable: bool,
    /// What it pins; `None` when it did not parse (see `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<Packages>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The active Python and its installed distributions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Python {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default)]
    pub packages: Packages,
    /// Why nothing could be listed (no Python on the PATH, a time-out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A command the stage names under `env:`, and what it printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandOutput {
    pub cmd: String,
    /// Its exit status; `None` when it was killed or never started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
    /// Its standard output (its standard error when that is empty), trimmed and capped.
    pub output: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Everything captured of one stage's environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    pub host: Host,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlops_version: Option<String>,
    #[serde(default)]
    pub files: Vec<PackageFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<Python>,
    #[serde(default)]
    pub commands: Vec<CommandOutput>,
}

/// A lock file in a run record: its digest and how many packages it pins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSummary {
    pub path: PathBuf,
    pub format: Format,
    pub digest: Digest,
    #[serde(default, skip_serializing_if = "is_false")]
    pub unreadable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The active Python in a run record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PythonSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub packages: usize,
    /// Of its version and package list, and whether listing them failed.
    pub digest: Digest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A named command in a run record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandSummary {
    pub cmd: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
    /// Of its output.
    pub digest: Digest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The environment in a run record: the host and one digest per source; the package lists and
/// outputs are in the [`EnvDetail`] that `detail` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvRecord {
    #[serde(flatten)]
    pub host: Host,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlops_version: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<PythonSummary>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<CommandSummary>,
    /// What `env: strict` compared for this run, as `mlops.lock` keeps it: the environment's
    /// [`Environment::strict_digest`], or for a Slurm job the submitting host's (the node's own
    /// sources are still the ones listed here).
    pub digest: Digest,
    /// Names `.mlops/runs/envs/<detail>.json`.
    pub detail: Digest,
}

/// The package lists and command outputs of an environment, kept once per content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvDetail {
    /// Source (a lock file's workspace path, or [`PYTHON`]) -> package -> version.
    #[serde(default)]
    pub packages: BTreeMap<String, Packages>,
    /// Command -> its output.
    #[serde(default)]
    pub commands: BTreeMap<String, String>,
}

/// One part of an environment that `env: strict` compares.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A lock file, by workspace path.
    File(String),
    /// The active Python's version and packages.
    Python,
    /// A named command's status and output.
    Command(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(path) => write!(f, "`{path}`"),
            Source::Python => f.write_str("python packages"),
            Source::Command(cmd) => write!(f, "`{cmd}`"),
        }
    }
}

impl EnvRecord {
    /// What `env: strict` compares, source by source: each lock file's digest (and whether it
    /// read), the Python's digest, and each command's status, failure and output digest. Neither
    /// the host nor the mlops version, which change no stage's result by themselves.
    pub fn sources(&self) -> BTreeMap<Source, Digest> {
        sources(&self.files, self.python.as_ref(), &self.commands)
    }

    /// The sources that differ from `old`'s (or that one side lacks), in order.
    pub fn changed_since(&self, old: &EnvRecord) -> Vec<Source> {
        let (new, old) = (self.sources(), old.sources());
        let keys: BTreeSet<&Source> = new.keys().chain(old.keys()).collect();
        keys.into_iter()
            .filter(|k| new.get(*k) != old.get(*k))
            .cloned()
            .collect()
    }
}

fn sources(
    files: &[FileSummary],
    python: Option<&PythonSummary>,
    commands: &[CommandSummary],
) -> BTreeMap<Source, Digest> {
    let mut out = BTreeMap::new();
    for f in files {
        // A status code, never an error's text (which may hold a time or a path).
        let digest = if f.unreadable {
            digest_of(&("unreadable", f.digest))
        } else {
            f.digest
        };
        out.insert(Source::File(f.path.display().to_string()), digest);
    }
    if let Some(p) = python {
        out.insert(Source::Python, p.digest);
    }
    for c in commands {
        out.insert(
            Source::Command(c.cmd.clone()),
            digest_of(&(c.status, c.error.is_some(), c.digest)),
        );
    }
    out
}

/// Probe results kept for the rest of one `mlops` process (a run, `mlops stage list`, a git
/// hook's dry run), so that the items of a `foreach`, a stage decided twice (dry run, then
/// run; a cluster driver and its collection) and the stages sharing a directory start each probe
/// once; and the process groups a run forwards an interrupt to, which each probe joins while it
/// runs.
#[derive(Debug, Default)]
pub struct Probes {
    /// By directory and variables (`MLOPS_STAGE` left out: the listing does not depend on it).
    python: Mutex<HashMap<(PathBuf, Vars), Python>>,
    /// By command, directory and variables.
    commands: Mutex<HashMap<(String, PathBuf, Vars), CommandOutput>>,
}

/// Environment variables given to a probe.
type Vars = Vec<(String, String)>;

/// What to capture of a stage's environment, beside the host.
#[derive(Debug, Clone, Copy)]
pub struct CaptureOptions<'a> {
    /// The workspace root, where lock files are looked for.
    pub root: &'a Path,
    /// The stage's working directory (workspace-relative), looked in too.
    pub wdir: &'a Path,
    pub spec: &'a EnvSpec,
    pub mlops_version: Option<&'a str>,
    /// Environment variables the stage's command gets, given to the named commands as well.
    pub vars: &'a [(String, String)],
    /// Earlier probe results of this process, reused.
    pub probes: &'a Probes,
    /// Process groups an interrupt is forwarded to: each probe's is listed there while it runs.
    pub groups: Option<&'a Mutex<Vec<u32>>>,
}

/// Captures a stage's environment on this machine. Nothing here fails the run: a lock file that
/// does not parse, a missing Python or a command that times out is recorded as such.
pub fn capture(host: &Host, options: &CaptureOptions) -> Environment {
    let dir = options.root.join(options.wdir);
    let limits = probe::Limits {
        groups: options.groups,
        ..probe::Limits::default()
    };
    let python = options.spec.python.then(|| {
        let vars: Vec<(String, String)> = options
            .vars
            .iter()
            .filter(|(k, _)| k != "MLOPS_STAGE")
            .cloned()
            .collect();
        let key = (dir.clone(), vars);
        let known = lock(&options.probes.python).get(&key).cloned();
        known.unwrap_or_else(|| {
            let python = probe::python(&dir, options.vars, &limits);
            lock(&options.probes.python).insert(key, python.clone());
            python
        })
    });
    let commands = options
        .spec
        .commands
        .iter()
        .map(|cmd| {
            let key = (cmd.clone(), dir.clone(), options.vars.to_vec());
            let known = lock(&options.probes.commands).get(&key).cloned();
            known.unwrap_or_else(|| {
                let out = probe::command(cmd, &dir, options.vars, &limits);
                lock(&options.probes.commands).insert(key, out.clone());
                out
            })
        })
        .collect();
    Environment {
        host: host.clone(),
        mlops_version: options.mlops_version.map(str::to_owned),
        files: lockfiles::find(options.root, options.wdir),
        python,
        commands,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A probe that panicked left nothing half-written: a map insert is one step.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The lock files in the workspace root and the stage's working directory, alone.
pub(crate) fn lock_files(root: &Path, wdir: &Path) -> Vec<PackageFile> {
    lockfiles::find(root, wdir)
}

fn digest_of(value: &impl Serialize) -> Digest {
    Digest::of_bytes(&serde_json::to_vec(value).expect("environments serialise"))
}

/// A run record's environment and the bytes of its [`EnvDetail`], serialised once.
#[derive(Debug, Clone)]
pub struct Summary {
    pub record: EnvRecord,
    /// What `.mlops/runs/envs/<record.detail>.json` holds.
    pub detail: Vec<u8>,
}

impl Environment {
    /// The digest `env: strict` compares: of [`EnvRecord::sources`].
    pub fn strict_digest(&self) -> Digest {
        let (files, python, commands) = self.summaries();
        strict_digest(&sources(&files, python.as_ref(), &commands))
    }

    /// The package lists and outputs, as kept in `.mlops/runs/envs/`.
    pub fn detail(&self) -> EnvDetail {
        let mut packages: BTreeMap<String, Packages> = self
            .files
            .iter()
            .filter_map(|f| {
                f.packages
                    .as_ref()
                    .map(|p| (f.path.display().to_string(), p.clone()))
            })
            .collect();
        if let Some(python) = &self.python {
            packages.insert(PYTHON.to_owned(), python.packages.clone());
        }
        EnvDetail {
            packages,
            commands: self
                .commands
                .iter()
                .map(|c| (c.cmd.clone(), c.output.clone()))
                .collect(),
        }
    }

    fn summaries(&self) -> (Vec<FileSummary>, Option<PythonSummary>, Vec<CommandSummary>) {
        let files = self
            .files
            .iter()
            .map(|f| FileSummary {
                path: f.path.clone(),
                format: f.format,
                digest: f.digest,
                unreadable: f.unreadable,
                packages: f.packages.as_ref().map(BTreeMap::len),
                error: f.error.clone(),
            })
            .collect();
        let python = self.python.as_ref().map(|p| PythonSummary {
            executable: p.executable.clone(),
            version: p.version.clone(),
            packages: p.packages.len(),
            digest: python_digest(p),
            error: p.error.clone(),
        });
        let commands = self
            .commands
            .iter()
            .map(|c| CommandSummary {
                cmd: c.cmd.clone(),
                status: c.status,
                digest: Digest::of_bytes(c.output.as_bytes()),
                error: c.error.clone(),
            })
            .collect();
        (files, python, commands)
    }

    /// The summary kept in the run record, and the detail it names.
    pub fn summary(&self) -> Summary {
        let detail = serde_json::to_vec(&self.detail()).expect("environments serialise");
        let (files, python, commands) = self.summaries();
        let digest = strict_digest(&sources(&files, python.as_ref(), &commands));
        Summary {
            record: EnvRecord {
                host: self.host.clone(),
                mlops_version: self.mlops_version.clone(),
                files,
                python,
                commands,
                digest,
                detail: Digest::of_bytes(&detail),
            },
            detail,
        }
    }

    /// The summary kept in the run record.
    pub fn record(&self) -> EnvRecord {
        self.summary().record
    }
}

fn strict_digest(sources: &BTreeMap<Source, Digest>) -> Digest {
    let list: Vec<(&Source, &Digest)> = sources.iter().collect();
    digest_of(&list)
}

fn python_digest(python: &Python) -> Digest {
    digest_of(&serde_json::json!({
        "version": python.version,
        "packages": python.packages,
        "failed": python.error.is_some(),
    }))
}

fn envs_dir(shared_dir: &Path) -> PathBuf {
    shared_dir.join("runs").join("envs")
}

/// Keeps a [`Summary`]'s detail in `<shared_dir>/runs/envs/`, once per content (through the
/// temp dir of `mlops_dir`, as the run cache's entries).
pub fn save(shared_dir: &Path, mlops_dir: &Path, summary: &Summary) -> mlops_core::Result<()> {
    let dir = envs_dir(shared_dir);
    let path = dir.join(format!("{}.json", summary.record.detail));
    if path.is_file() {
        return Ok(());
    }
    fs_err::create_dir_all(&dir)?;
    mlops_core::atomic::write_in_unsynced(
        &mlops_core::workspace::temp_dir_in(mlops_dir),
        &path,
        &summary.detail,
    )
}

/// The [`EnvDetail`] a record names, if it is still there (`.mlops/` is not committed: a clone
/// has the records' digests but not their package lists). One that does not read counts as gone.
pub fn load_detail(shared_dir: &Path, detail: &Digest) -> Option<EnvDetail> {
    let bytes = fs_err::read(envs_dir(shared_dir).join(format!("{detail}.json"))).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> Result<EnvSpec, EnvSpecError> {
        EnvSpec::parse(&mlops_core::yaml::from_str::<Value>(yaml).expect("yaml"))
    }

    #[test]
    fn the_forms_of_env() {
        let cases: [(&str, EnvSpec); 5] = [
            (
                "strict",
                EnvSpec {
                    strict: true,
                    ..EnvSpec::default()
                },
            ),
            (
                "python",
                EnvSpec {
                    python: true,
                    ..EnvSpec::default()
                },
            ),
            (
                "[python, strict]",
                EnvSpec {
                    python: true,
                    strict: true,
                    commands: Vec::new(),
                },
            ),
            (
                "{strict: true, commands: [nvcc --version, uname -r]}",
                EnvSpec {
                    strict: true,
                    python: false,
                    commands: vec!["nvcc --version".into(), "uname -r".into()],
                },
            ),
            (
                "{commands: nvcc --version, python: false}",
                EnvSpec {
                    commands: vec!["nvcc --version".into()],
                    ..EnvSpec::default()
                },
            ),
        ];
        for (yaml, want) in cases {
            assert_eq!(spec(yaml).expect(yaml), want, "{yaml}");
        }
        for (yaml, want) in [
            ("strcit", EnvSpecError::UnknownWord("strcit".into())),
            ("[strict, 1]", EnvSpecError::NotAWord),
            (
                "{strict: yes please}",
                EnvSpecError::NotAFlag("strict".into()),
            ),
            ("{commands: [1]}", EnvSpecError::BadCommands),
            ("{commands: [\" \"]}", EnvSpecError::BadCommands),
            ("{1: true}", EnvSpecError::KeyNotText),
            ("3", EnvSpecError::BadForm),
        ] {
            assert_eq!(spec(yaml), Err(want), "{yaml}");
        }
        // Each message reads after the key: "`env` takes true or false for `strict`".
        assert_eq!(
            EnvSpecError::NotAFlag("strict".into()).to_string(),
            "takes true or false for `strict`"
        );
        assert_eq!(
            spec("{strict: true, cmds: [x]}"),
            Err(EnvSpecError::UnknownKey("cmds".into()))
        );
    }

    fn environment(version: &str) -> Environment {
        Environment {
            host: Host::default(),
            mlops_version: Some("0.1.0".into()),
            files: vec![PackageFile {
                path: "requirements.txt".into(),
                format: Format::Requirements,
                digest: Digest::of_bytes(version.as_bytes()),
                unreadable: false,
                packages: Some(Packages::from([("pkg".into(), version.into())])),
                error: None,
            }],
            python: None,
            commands: vec![CommandOutput {
                cmd: "nvcc --version".into(),
                status: Some(0),
                output: "12.4".into(),
                error: None,
            }],
        }
    }

    #[test]
    fn the_strict_digest_follows_the_lock_files_and_not_the_host() {
        let old = environment("1.0");
        let mut moved = old.clone();
        moved.host.os = Some("elsewhere".into());
        moved.mlops_version = Some("9.9.9".into());
        assert_eq!(old.strict_digest(), moved.strict_digest());
        assert_eq!(old.strict_digest(), old.record().digest);
        assert!(moved.record().changed_since(&old.record()).is_empty());
        let new = environment("1.1");
        assert_ne!(old.strict_digest(), new.strict_digest());
        assert_eq!(
            new.record().changed_since(&old.record()),
            [Source::File("requirements.txt".into())]
        );
        let mut output = old.clone();
        output.commands[0].output = "12.5".into();
        assert_eq!(
            output.record().changed_since(&old.record()),
            [Source::Command("nvcc --version".into())]
        );
        let record = new.record();
        assert_eq!(record.files[0].packages, Some(1));
        assert_eq!(
            new.detail().packages["requirements.txt"]["pkg"],
            "1.1".to_owned()
        );
    }

    #[test]
    fn the_strict_digest_is_stable() {
        let mut env = environment("1.0");
        env.commands.push(CommandOutput {
            cmd: "a-first".into(),
            status: Some(0),
            output: "x".into(),
            error: None,
        });
        // The order commands are named in does not count.
        let mut reordered = env.clone();
        reordered.commands.reverse();
        assert_eq!(env.strict_digest(), reordered.strict_digest());
        // Nor the text of an error: only that there was one.
        let mut failed = env.clone();
        failed.commands[0].error = Some("stopped after 10 s".into());
        let mut failed_otherwise = env.clone();
        failed_otherwise.commands[0].error = Some("stopped after 9 s".into());
        assert_ne!(env.strict_digest(), failed.strict_digest());
        assert_eq!(failed.strict_digest(), failed_otherwise.strict_digest());
        let python = |error: &str| Python {
            error: Some(error.into()),
            ..Python::default()
        };
        let (mut a, mut b) = (env.clone(), env.clone());
        a.python = Some(python("Traceback at 0x7f01"));
        b.python = Some(python("Traceback at 0x7f02"));
        assert_eq!(a.strict_digest(), b.strict_digest());
        // A lock file that could not be read still counts, apart from an empty one.
        let mut unreadable = env.clone();
        unreadable.files[0].digest = Digest::of_bytes(&[]);
        let mut empty = unreadable.clone();
        unreadable.files[0].unreadable = true;
        assert_ne!(unreadable.strict_digest(), empty.strict_digest());
        empty.files.clear();
        assert_ne!(unreadable.strict_digest(), empty.strict_digest());
    }

    #[test]
    fn details_are_kept_once_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = environment("1.0");
        let summary = env.summary();
        save(dir.path(), dir.path(), &summary).expect("save");
        save(dir.path(), dir.path(), &summary).expect("save again");
        assert_eq!(summary.record, env.record());
        assert_eq!(
            load_detail(dir.path(), &summary.record.detail),
            Some(env.detail())
        );
        let kept = fs_err::read_dir(envs_dir(dir.path())).expect("dir").count();
        assert_eq!(kept, 1);
        // Nothing is left in the temp dir the detail went through.
        let temp = mlops_core::workspace::temp_dir_in(dir.path());
        assert!(fs_err::read_dir(&temp).map_or(true, |mut d| d.next().is_none()));
    }
}
