//! The environment a stage ran in, recorded with each of its runs: the host (OS, kernel, CPU,
//! GPU and driver), the `mlops` version, the project's lock files (a digest each and, where the
//! format is known, the packages they pin), the active Python's packages (`env: python`) and the
//! output of commands the stage names (`env: {commands: [...]}`).
//!
//! Modules: `host` reads the host's facts from `/etc` and `/proc`; `lockfiles` finds the lock
//! files and parses them; `probe` runs the Python and the named commands, each within a time
//! limit and with its output capped.
//!
//! A run record keeps an [`EnvRecord`]: the host's facts and one digest per source. The package
//! lists and command outputs, which may be long, are kept once per content in
//! `.mlops/runs/envs/<digest>.json` ([`EnvDetail`]), which the record names.
//!
//! With `env: strict`, [`Environment::strict_digest`] (the lock files' digests, the Python's
//! version and packages and the named commands' outputs; neither the host nor the mlops version,
//! which change no stage's result by themselves) joins the stage's inputs in `mlops.lock` and in
//! the run cache's key, so that a change to it reruns the stage.

mod host;
mod lockfiles;
mod probe;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mlops_core::Digest;
use mlops_core::yaml::Value;
use serde::{Deserialize, Serialize};

pub use host::Host;
pub use lockfiles::{Format, parse_packages};

use crate::error::Result;

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

/// What is wrong with an `env:` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvSpecError {
    UnknownKey(String),
    BadValue(String),
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
            other => Err(EnvSpecError::BadValue(format!(
                "`{other}` is not `strict` or `python`; name commands under `env: {{commands: [...]}}`"
            ))),
        };
        match value {
            Value::String(text) => word(&mut spec, text)?,
            Value::Sequence(items) => {
                for item in items {
                    match item {
                        Value::String(text) => word(&mut spec, text)?,
                        _ => {
                            return Err(EnvSpecError::BadValue(
                                "lists the words `strict` and `python`".into(),
                            ));
                        }
                    }
                }
            }
            Value::Mapping(map) => {
                for (key, value) in map {
                    let key = match key {
                        Value::String(key) => key.as_str(),
                        _ => return Err(EnvSpecError::BadValue("takes text keys".into())),
                    };
                    let flag = || match value {
                        Value::Bool(b) => Ok(*b),
                        _ => Err(EnvSpecError::BadValue(format!(
                            "`{key}` must be true or false"
                        ))),
                    };
                    match key {
                        "python" => spec.python = flag()?,
                        "strict" => spec.strict = flag()?,
                        "commands" => {
                            let bad = || {
                                EnvSpecError::BadValue(
                                    "`commands` must list commands, e.g. [\"nvcc --version\"]"
                                        .into(),
                                )
                            };
                            let items = match value {
                                Value::String(one) => vec![one.clone()],
                                Value::Sequence(items) => items
                                    .iter()
                                    .map(|item| match item {
                                        Value::String(s) => Ok(s.clone()),
                                        _ => Err(bad()),
                                    })
                                    .collect::<Result<_, _>>()?,
                                _ => return Err(bad()),
                            };
                            if items.iter().any(|c| c.trim().is_empty()) {
                                return Err(bad());
                            }
                            spec.commands = items;
                        }
                        other => return Err(EnvSpecError::UnknownKey(other.to_owned())),
                    }
                }
            }
            _ => {
                return Err(EnvSpecError::BadValue(
                    "must be `strict`, `python`, a list of them, or a mapping with `python`, \
                     `strict` and `commands`"
                        .into(),
                ));
            }
        }
        Ok(spec)
    }
}

/// A lock file of the project, as found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageFile {
    /// Workspace-relative.
    pub path: PathBuf,
    pub format: Format,
    pub digest: Digest,
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
    /// Of its version and package list.
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
    /// What `env: strict` compares ([`Environment::strict_digest`]).
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
}

/// Captures a stage's environment on this machine. Nothing here fails the run: a lock file that
/// does not parse, a missing Python or a command that times out is recorded as such.
pub fn capture(host: &Host, options: &CaptureOptions) -> Environment {
    let dir = options.root.join(options.wdir);
    Environment {
        host: host.clone(),
        mlops_version: options.mlops_version.map(str::to_owned),
        files: lockfiles::find(options.root, options.wdir),
        python: options
            .spec
            .python
            .then(|| probe::python(&dir, options.vars)),
        commands: options
            .spec
            .commands
            .iter()
            .map(|cmd| probe::command(cmd, &dir, options.vars))
            .collect(),
    }
}

/// The lock files in the workspace root and the stage's working directory, alone.
pub(crate) fn lock_files(root: &Path, wdir: &Path) -> Vec<PackageFile> {
    lockfiles::find(root, wdir)
}

fn digest_of(value: &impl Serialize) -> Digest {
    Digest::of_bytes(&serde_json::to_vec(value).expect("environments serialise"))
}

impl Environment {
    /// The digest `env: strict` compares: the lock files' digests, the Python's version and
    /// packages (or why there are none), and each named command's status and output.
    pub fn strict_digest(&self) -> Digest {
        let files: BTreeMap<String, String> = self
            .files
            .iter()
            .map(|f| (f.path.display().to_string(), f.digest.to_string()))
            .collect();
        digest_of(&serde_json::json!({
            "files": files,
            "python": self.python.as_ref().map(python_digest),
            "commands": self.commands.iter().map(|c| serde_json::json!({
                "cmd": c.cmd,
                "status": c.status,
                "output": c.output,
                "error": c.error,
            })).collect::<Vec<_>>(),
        }))
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

    /// The summary kept in the run record.
    pub fn record(&self) -> EnvRecord {
        EnvRecord {
            host: self.host.clone(),
            mlops_version: self.mlops_version.clone(),
            files: self
                .files
                .iter()
                .map(|f| FileSummary {
                    path: f.path.clone(),
                    format: f.format,
                    digest: f.digest,
                    packages: f.packages.as_ref().map(BTreeMap::len),
                    error: f.error.clone(),
                })
                .collect(),
            python: self.python.as_ref().map(|p| PythonSummary {
                executable: p.executable.clone(),
                version: p.version.clone(),
                packages: p.packages.len(),
                digest: python_digest(p),
                error: p.error.clone(),
            }),
            commands: self
                .commands
                .iter()
                .map(|c| CommandSummary {
                    cmd: c.cmd.clone(),
                    status: c.status,
                    digest: Digest::of_bytes(c.output.as_bytes()),
                    error: c.error.clone(),
                })
                .collect(),
            digest: self.strict_digest(),
            detail: digest_of(&self.detail()),
        }
    }

    /// What differs from the environment `old` recorded, by source: a lock file's path,
    /// `python`, a command; empty when only the host or the mlops version differ.
    pub fn changed_since(&self, old: &EnvRecord) -> Vec<String> {
        let new = self.record();
        let mut changed = Vec::new();
        let paths: std::collections::BTreeSet<&PathBuf> = new
            .files
            .iter()
            .chain(&old.files)
            .map(|f| &f.path)
            .collect();
        for path in paths {
            let digest =
                |files: &[FileSummary]| files.iter().find(|f| &f.path == path).map(|f| f.digest);
            if digest(&new.files) != digest(&old.files) {
                changed.push(format!("`{}`", path.display()));
            }
        }
        if new.python.as_ref().map(|p| p.digest) != old.python.as_ref().map(|p| p.digest) {
            changed.push("python packages".to_owned());
        }
        let commands: std::collections::BTreeSet<&String> = new
            .commands
            .iter()
            .chain(&old.commands)
            .map(|c| &c.cmd)
            .collect();
        for cmd in commands {
            let of = |list: &[CommandSummary]| {
                list.iter()
                    .find(|c| &c.cmd == cmd)
                    .map(|c| (c.digest, c.status, c.error.clone()))
            };
            if of(&new.commands) != of(&old.commands) {
                changed.push(format!("`{cmd}`"));
            }
        }
        changed
    }
}

fn python_digest(python: &Python) -> Digest {
    digest_of(&serde_json::json!({
        "version": python.version,
        "packages": python.packages,
        "error": python.error,
    }))
}

fn envs_dir(shared_dir: &Path) -> PathBuf {
    shared_dir.join("runs").join("envs")
}

/// Keeps the environment's [`EnvDetail`] in `<shared_dir>/runs/envs/`, once per content (through
/// the temp dir of `mlops_dir`, as the run cache's entries).
pub fn save(shared_dir: &Path, mlops_dir: &Path, env: &Environment) -> Result<()> {
    let detail = env.detail();
    let bytes = serde_json::to_vec(&detail).expect("environments serialise");
    let dir = envs_dir(shared_dir);
    let path = dir.join(format!("{}.json", Digest::of_bytes(&bytes)));
    if path.is_file() {
        return Ok(());
    }
    fs_err::create_dir_all(&dir)?;
    mlops_core::atomic::write_in_unsynced(
        &mlops_core::workspace::temp_dir_in(mlops_dir),
        &path,
        &bytes,
    )?;
    Ok(())
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
            ("strcit", "is not `strict` or `python`"),
            ("{strict: yes please}", "`strict` must be true or false"),
            ("{commands: [1]}", "`commands` must list commands"),
            ("{commands: [\" \"]}", "`commands` must list commands"),
            ("3", "must be `strict`, `python`"),
        ] {
            match spec(yaml) {
                Err(EnvSpecError::BadValue(message)) => {
                    assert!(message.contains(want), "{yaml}: {message}");
                }
                other => panic!("{yaml}: {other:?}"),
            }
        }
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
        assert!(moved.changed_since(&old.record()).is_empty());
        let new = environment("1.1");
        assert_ne!(old.strict_digest(), new.strict_digest());
        assert_eq!(new.changed_since(&old.record()), ["`requirements.txt`"]);
        let mut output = old.clone();
        output.commands[0].output = "12.5".into();
        assert_eq!(output.changed_since(&old.record()), ["`nvcc --version`"]);
        let record = new.record();
        assert_eq!(record.files[0].packages, Some(1));
        assert_eq!(
            new.detail().packages["requirements.txt"]["pkg"],
            "1.1".to_owned()
        );
    }

    #[test]
    fn details_are_kept_once_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = environment("1.0");
        save(dir.path(), dir.path(), &env).expect("save");
        save(dir.path(), dir.path(), &env).expect("save again");
        let record = env.record();
        assert_eq!(load_detail(dir.path(), &record.detail), Some(env.detail()));
        let kept = fs_err::read_dir(envs_dir(dir.path())).expect("dir").count();
        assert_eq!(kept, 1);
    }
}
