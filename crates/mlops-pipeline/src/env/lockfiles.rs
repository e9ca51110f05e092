//! The project's lock files, found in the workspace root and the stage's working directory, each
//! with its digest and the packages it pins: `uv.lock`, `poetry.lock` and `Cargo.lock` (TOML
//! `[[package]]` tables), `requirements*.txt` (`name==version` lines, following `-r` and `-c`
//! includes), `conda-lock.yml` (its `package` list) and `package-lock.json` (its `packages` map,
//! or version 1's `dependencies`).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use mlops_core::Digest;
use serde::{Deserialize, Serialize};

use super::{PackageFile, Packages};

/// A kind of lock file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Uv,
    Poetry,
    Cargo,
    Requirements,
    CondaLock,
    PackageLock,
}

impl Format {
    /// The format of a file named `name`, if it is a lock file.
    pub fn of(name: &str) -> Option<Format> {
        match name {
            "uv.lock" => Some(Format::Uv),
            "poetry.lock" => Some(Format::Poetry),
            "Cargo.lock" => Some(Format::Cargo),
            "conda-lock.yml" | "conda-lock.yaml" => Some(Format::CondaLock),
            "package-lock.json" => Some(Format::PackageLock),
            _ if name.starts_with("requirements")
                && Path::new(name)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("txt")) =>
            {
                Some(Format::Requirements)
            }
            _ => None,
        }
    }
}

/// Why a lock file's packages could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("`{}` is not UTF-8 text", path.display())]
    NotUtf8 { path: PathBuf },
    #[error("line {line}, column {column}: {message}")]
    Toml {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// The YAML library's message, which names the line and column.
    #[error("{message}")]
    Yaml { message: String },
    #[error("has neither `packages` nor `dependencies`")]
    NoPackages,
    #[error("`{}` leads out of the workspace", path.display())]
    IncludeOutside { path: PathBuf },
    #[error("`{}` cannot be included", path.display())]
    IncludeUnsafe {
        path: PathBuf,
        #[source]
        source: mlops_core::Error,
    },
    #[error("`{}` cannot be read", path.display())]
    IncludeUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` includes itself", path.display())]
    IncludeCycle { path: PathBuf },
    #[error("`{}` is included more than {INCLUDE_DEPTH} files deep", path.display())]
    IncludeTooDeep { path: PathBuf },
}

/// An error with its causes, as kept in a record.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// How many files deep `-r` and `-c` includes are followed.
const INCLUDE_DEPTH: usize = 8;

/// The lock files in the workspace root and in `wdir` (workspace-relative), by path. One that
/// cannot be read is listed as such, so that it still counts in the strict digest.
pub(super) fn find(root: &Path, wdir: &Path) -> Vec<PackageFile> {
    let mut dirs = vec![PathBuf::new()];
    if !wdir.as_os_str().is_empty() {
        dirs.push(wdir.to_owned());
    }
    let mut found = Vec::new();
    for dir in dirs {
        let Ok(entries) = fs_err::read_dir(root.join(&dir)) else {
            continue;
        };
        let mut names: Vec<(String, Format)> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_owned();
                Format::of(&name).map(|format| (name, format))
            })
            .collect();
        names.sort();
        for (name, format) in names {
            found.push(read(root, dir.join(&name), format));
        }
    }
    found
}

/// Reads the lock file `rel` of `format`.
fn read(root: &Path, rel: PathBuf, format: Format) -> PackageFile {
    let bytes = match fs_err::read(root.join(&rel)) {
        Ok(bytes) => bytes,
        Err(e) => {
            return PackageFile {
                path: rel,
                format,
                digest: Digest::of_bytes(&[]),
                unreadable: true,
                packages: None,
                error: Some(format!("cannot be read: {e}")),
            };
        }
    };
    if format == Format::Requirements {
        return requirements(root, rel, &bytes);
    }
    let parsed = match std::str::from_utf8(&bytes) {
        Ok(text) => parse_packages(format, text),
        Err(_) => Err(ParseError::NotUtf8 { path: rel.clone() }),
    };
    PackageFile {
        digest: Digest::of_bytes(&bytes),
        unreadable: false,
        packages: parsed.as_ref().ok().cloned(),
        error: parsed.as_ref().err().map(|e| chain(e)),
        path: rel,
        format,
    }
}

/// A requirements file with the files it includes (`-r`, `-c`, relative to the including
/// file and inside the workspace): the packages of it and its `-r` includes (a constraints
/// file pins no package by itself), and one digest of every file read.
fn requirements(root: &Path, rel: PathBuf, bytes: &[u8]) -> PackageFile {
    let mut reader = Includes {
        root,
        canonical_root: fs_err::canonicalize(root).unwrap_or_else(|_| root.to_owned()),
        folded: bytes.to_vec(),
        unreadable: false,
        packages: Versions::default(),
        stack: vec![rel.clone()],
        error: None,
    };
    match std::str::from_utf8(bytes) {
        Ok(text) => reader.file(&rel, text, true),
        Err(_) => reader.fail(ParseError::NotUtf8 { path: rel.clone() }),
    }
    let Includes {
        folded,
        unreadable,
        packages,
        error,
        ..
    } = reader;
    PackageFile {
        path: rel,
        format: Format::Requirements,
        digest: Digest::of_bytes(&folded),
        unreadable,
        packages: error.is_none().then(|| packages.finish()),
        error: error.map(|e| chain(&e)),
    }
}

/// The state of reading a requirements file and its includes.
struct Includes<'a> {
    root: &'a Path,
    canonical_root: PathBuf,
    /// The bytes digested: the file's, then each include's, named.
    folded: Vec<u8>,
    unreadable: bool,
    packages: Versions,
    /// The files being read, outermost first, to refuse a cycle.
    stack: Vec<PathBuf>,
    /// The first error; reading goes on, so that the digest still covers every file.
    error: Option<ParseError>,
}

impl Includes<'_> {
    fn fail(&mut self, error: ParseError) {
        self.error.get_or_insert(error);
    }

    /// The lines of `text`, the file `rel`; its packages count when `pins`.
    fn file(&mut self, rel: &Path, text: &str, pins: bool) {
        for line in logical_lines(text) {
            match parse_line(&line) {
                Line::Nothing => {}
                Line::Package(name, version) => {
                    if pins {
                        self.packages.add(name, version);
                    }
                }
                Line::Include { path, constraint } => {
                    self.include(rel, path, pins && !constraint, constraint);
                }
            }
        }
    }

    fn include(&mut self, from: &Path, path: &str, pins: bool, constraint: bool) {
        // A URL is fetched by pip, not here: its text is not known, so it is not followed.
        if path.contains("://") {
            return;
        }
        let Some(rel) = normalise(&from.parent().unwrap_or(Path::new("")).join(path)) else {
            return self.fail(ParseError::IncludeOutside { path: path.into() });
        };
        let rel = match mlops_core::safepath::check(self.root, &rel) {
            Ok(rel) => rel,
            Err(source) => return self.fail(ParseError::IncludeUnsafe { path: rel, source }),
        };
        // The check leaves the last component unfollowed; a link there must stay inside too.
        if fs_err::canonicalize(self.root.join(&rel))
            .is_ok_and(|real| !real.starts_with(&self.canonical_root))
        {
            return self.fail(ParseError::IncludeOutside { path: rel });
        }
        if self.stack.contains(&rel) {
            return self.fail(ParseError::IncludeCycle { path: rel });
        }
        if self.stack.len() > INCLUDE_DEPTH {
            return self.fail(ParseError::IncludeTooDeep { path: rel });
        }
        let flag = if constraint { "-c" } else { "-r" };
        self.folded.push(0);
        self.folded
            .extend_from_slice(format!("{flag} {}", rel.display()).as_bytes());
        self.folded.push(0);
        let bytes = match fs_err::read(self.root.join(&rel)) {
            Ok(bytes) => bytes,
            Err(source) => {
                self.unreadable = true;
                return self.fail(ParseError::IncludeUnreadable { path: rel, source });
            }
        };
        self.folded.extend_from_slice(&bytes);
        let Ok(text) = std::str::from_utf8(&bytes) else {
            return self.fail(ParseError::NotUtf8 { path: rel });
        };
        self.stack.push(rel.clone());
        self.file(&rel, text, pins);
        self.stack.pop();
    }
}

/// `path` with `.` and `..` resolved by name; `None` when `..` climbs above the workspace.
fn normalise(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => out.push(name),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// The packages a lock file of `format` pins, name -> version; an error says why `text` does
/// not read as that format. A requirements file's includes are not followed here (there is no
/// workspace to find them in): they are when the file is found in one.
pub fn parse_packages(format: Format, text: &str) -> Result<Packages, ParseError> {
    let mut packages = Versions::default();
    match format {
        Format::Uv | Format::Poetry | Format::Cargo => {
            #[derive(Deserialize)]
            struct Lock {
                #[serde(default)]
                package: Vec<Package>,
            }
            #[derive(Deserialize)]
            struct Package {
                name: String,
                version: Option<String>,
            }
            let lock: Lock = toml::from_str(text).map_err(|e| {
                let (line, column) = e
                    .span()
                    .map_or((0, 0), |span| line_column(text, span.start));
                ParseError::Toml {
                    line,
                    column,
                    message: e.message().to_owned(),
                }
            })?;
            for package in lock.package {
                // uv's workspace members and virtual packages have no version.
                let version = package.version.unwrap_or_default();
                let name = if format == Format::Cargo {
                    package.name
                } else {
                    pep503(&package.name)
                };
                packages.add(name, version);
            }
        }
        Format::Requirements => {
            for line in logical_lines(text) {
                if let Line::Package(name, version) = parse_line(&line) {
                    packages.add(name, version);
                }
            }
        }
        Format::CondaLock => {
            #[derive(Deserialize)]
            struct Lock {
                #[serde(default)]
                package: Vec<Package>,
            }
            #[derive(Deserialize)]
            struct Package {
                name: String,
                /// Text, or a number where the writer left `version: 1.2` unquoted (which YAML
                /// reads as 1.2, so `3.10` comes back as `3.1`: the file's digest still differs).
                version: mlops_core::yaml::Value,
                #[serde(default)]
                manager: Option<String>,
            }
            let lock: Lock =
                mlops_core::yaml::from_str(text).map_err(|message| ParseError::Yaml { message })?;
            for package in lock.package {
                let version = match package.version {
                    mlops_core::yaml::Value::String(text) => text,
                    mlops_core::yaml::Value::Number(n) => n.to_string(),
                    _ => {
                        return Err(ParseError::Yaml {
                            message: format!(
                                "package `{}`: `version` is not text or a number",
                                package.name
                            ),
                        });
                    }
                };
                // One entry per platform: the same name and version, seen once.
                let name = match package.manager.as_deref() {
                    None | Some("conda") => package.name,
                    Some(manager) => format!("{} ({manager})", pep503(&package.name)),
                };
                packages.add(name, version);
            }
        }
        Format::PackageLock => {
            let doc: serde_json::Value =
                serde_json::from_str(text).map_err(|e| ParseError::Json {
                    line: e.line(),
                    column: e.column(),
                    message: e.to_string(),
                })?;
            if let Some(map) = doc.get("packages").and_then(|p| p.as_object()) {
                for (key, entry) in map {
                    // The root project is `""`; nested copies are `node_modules/a/node_modules/b`.
                    let Some((_, name)) = key.rsplit_once("node_modules/") else {
                        continue;
                    };
                    if let Some(version) = entry.get("version").and_then(|v| v.as_str()) {
                        packages.add(name.to_owned(), version.to_owned());
                    }
                }
            } else if let Some(map) = doc.get("dependencies").and_then(|d| d.as_object()) {
                npm_v1(map, &mut packages);
            } else {
                return Err(ParseError::NoPackages);
            }
        }
    }
    Ok(packages.finish())
}

/// The line and column (from 1, in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    (line, column)
}

/// lockfileVersion 1: `dependencies` nested in `dependencies`.
fn npm_v1(map: &serde_json::Map<String, serde_json::Value>, packages: &mut Versions) {
    for (name, entry) in map {
        if let Some(version) = entry.get("version").and_then(|v| v.as_str()) {
            packages.add(name.clone(), version.to_owned());
        }
        if let Some(nested) = entry.get("dependencies").and_then(|d| d.as_object()) {
            npm_v1(nested, packages);
        }
    }
}

/// Names with every version seen of each (a lock may hold one package at several versions).
#[derive(Default)]
struct Versions(BTreeMap<String, Vec<String>>);

impl Versions {
    fn add(&mut self, name: String, version: String) {
        let versions = self.0.entry(name).or_default();
        if !versions.contains(&version) {
            versions.push(version);
        }
    }

    fn finish(self) -> Packages {
        self.0
            .into_iter()
            .map(|(name, mut versions)| {
                versions.sort_by(|a, b| super::version::compare_versions(a, b));
                (name, versions.join(", "))
            })
            .collect()
    }
}

/// A PEP 503 name: lower case, each run of `-`, `_` and `.` one `-`.
pub(super) fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut separator = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
        } else {
            if separator && !out.is_empty() {
                out.push('-');
            }
            separator = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// The lines of a requirements file as pip reads them: a line ending in `\` joined with the
/// next, and comments (`#` at the start or after whitespace) cut off.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(start) = line.strip_suffix('\\') {
            current.push_str(start);
        } else {
            current.push_str(line);
            out.push(strip_comment(&current).trim().to_owned());
            current.clear();
        }
    }
    if !current.is_empty() {
        out.push(strip_comment(&current).trim().to_owned());
    }
    out
}

fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let at = bytes
        .iter()
        .enumerate()
        .position(|(i, b)| *b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()));
    at.map_or(line, |i| &line[..i])
}

/// What a line of a requirements file says.
#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    /// Blank, a comment, an option other than an include, a path or a URL.
    Nothing,
    /// A requirement: its PEP 503 name, and its pinned version, specifier, `*` or `@ URL`.
    Package(String, String),
    /// `-r FILE` (`-c FILE` for a constraint).
    Include { path: &'a str, constraint: bool },
}

fn parse_line(line: &str) -> Line<'_> {
    let line = line.trim();
    if !line.starts_with('-') {
        return requirement(line).map_or(Line::Nothing, |(n, v)| Line::Package(n, v));
    }
    for (short, long, constraint) in [("-r", "--requirement", false), ("-c", "--constraint", true)]
    {
        let value = if let Some(rest) = line.strip_prefix(long) {
            rest.strip_prefix('=')
                .or_else(|| rest.starts_with(char::is_whitespace).then_some(rest))
        } else if line.starts_with("--") {
            None
        } else {
            line.strip_prefix(short)
        };
        if let Some(path) = value.map(str::trim).filter(|p| !p.is_empty()) {
            return Line::Include { path, constraint };
        }
    }
    Line::Nothing
}

/// Whether `name` is a PEP 508 distribution name: letters, digits, `-`, `_` and `.`, starting and
/// ending with a letter or digit; and not an archive's file name (`pkg-1.0-py3-none-any.whl`).
fn pep508_name(name: &str) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let lower = name.to_ascii_lowercase();
    alnum(name.chars().next())
        && alnum(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && ![
            ".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar",
        ]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// A requirement (comments already cut): `name==version` (with extras, markers and hashes around
/// it) as (name, version); `name @ URL` as (name, `@ URL`); any other requirement as (name, its
/// specifier, or `*`). A path or URL that names no distribution is no package.
fn requirement(line: &str) -> Option<(String, String)> {
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    // After the name: the end, or what a requirement goes on with. A `/`, `:` or `+` makes it a
    // path or a URL (`./vendor/pkg`, `wheels/foo.whl`, `git+https://...`).
    let next_ok = rest.chars().next().is_none_or(|c| {
        c.is_whitespace() || matches!(c, '[' | '(' | '=' | '<' | '>' | '!' | '~' | ';' | '@')
    });
    if !next_ok || !pep508_name(name) {
        return None;
    }
    let rest = rest.trim_start();
    // Extras (`name[a,b]`) do not change which distribution is installed.
    let rest = match rest.strip_prefix('[') {
        Some(after) => after.split_once(']')?.1.trim_start(),
        None => rest,
    };
    if let Some(url) = rest.strip_prefix('@') {
        let url = url.split_whitespace().next().unwrap_or_default();
        let url = url.strip_suffix(';').unwrap_or(url);
        return Some((pep503(name), format!("@ {url}")));
    }
    // Environment markers, then options (`--hash`) after the requirement.
    let rest = rest.split(';').next().unwrap_or_default();
    let spec: String = rest
        .split_whitespace()
        .take_while(|token| !token.starts_with("--"))
        .collect();
    let spec = spec
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or(&spec);
    let version = spec
        .strip_prefix("===")
        .or_else(|| spec.strip_prefix("=="))
        .filter(|v| !v.contains([',', '*']))
        .map_or_else(
            || {
                if spec.is_empty() {
                    "*".to_owned()
                } else {
                    spec.to_owned()
                }
            },
            str::to_owned,
        );
    Some((pep503(name), version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packages(pairs: &[(&str, &str)]) -> Packages {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn file_names() {
        for (name, want) in [
            ("uv.lock", Some(Format::Uv)),
            ("poetry.lock", Some(Format::Poetry)),
            ("Cargo.lock", Some(Format::Cargo)),
            ("requirements.txt", Some(Format::Requirements)),
            ("requirements-dev.txt", Some(Format::Requirements)),
            ("conda-lock.yml", Some(Format::CondaLock)),
            ("package-lock.json", Some(Format::PackageLock)),
            ("requirements.in", None),
            ("package.json", None),
        ] {
            assert_eq!(Format::of(name), want, "{name}");
        }
    }

    #[test]
    fn names_as_pep_503_says() {
        for (name, want) in [
            ("Scikit_Learn", "scikit-learn"),
            ("zope.interface", "zope-interface"),
            ("a--b__c", "a-b-c"),
            ("PyYAML", "pyyaml"),
        ] {
            assert_eq!(pep503(name), want);
        }
    }

    const UV_LOCK: &str = r#"version = 1
requires-python = ">=3.11"

[[package]]
name = "numpy"
version = "2.0.1"
source = { registry = "https://pypi.org/simple" }
wheels = [
    { url = "https://example.invalid/numpy.whl", hash = "sha256:00", size = 1 },
]

[[package]]
name = "my-project"
source = { virtual = "." }
dependencies = [
    { name = "numpy" },
]

[package.metadata]
requires-dist = [{ name = "numpy", specifier = ">=2" }]

[[package]]
name = "Scikit_Learn"
version = "1.5.0"
"#;

    const POETRY_LOCK: &str = r#"[[package]]
name = "requests"
version = "2.32.3"
description = "Python HTTP for Humans."
optional = false
python-versions = ">=3.8"
files = [
    {file = "requests-2.32.3.tar.gz", hash = "sha256:00"},
]

[package.dependencies]
idna = ">=2.5,<4"

[metadata]
lock-version = "2.0"
python-versions = "^3.11"
content-hash = "00"
"#;

    const CARGO_LOCK: &str = r#"version = 4

[[package]]
name = "windows-sys"
version = "0.59.0"

[[package]]
name = "windows-sys"
version = "0.52.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "00"
dependencies = [
 "windows-targets",
]
"#;

    const REQUIREMENTS: &str = "# pinned\nnumpy==2.0.1\nScikit_Learn[extra] == 1.5.0 ; python_version >= \"3.9\" \\\n    --hash=sha256:00\n-r other.txt\n--index-url https://example.invalid/simple\nrequests>=2,<3  # loose\nflask\ntorch===2.3.0+cu121\n\nhttps://example.invalid/pkg.whl\n";

    const CONDA_LOCK: &str = "version: 1\nmetadata:\n  platforms: [linux-64, osx-arm64]\npackage:\n- name: python\n  version: 3.11.9\n  manager: conda\n  platform: linux-64\n- name: python\n  version: 3.11.9\n  manager: conda\n  platform: osx-arm64\n- name: Torch_Audio\n  version: 2.3.0\n  manager: pip\n  platform: linux-64\n";

    const PACKAGE_LOCK: &str = r#"{"name": "app", "lockfileVersion": 3, "packages": {
                    "": {"name": "app", "version": "1.0.0"},
                    "node_modules/left-pad": {"version": "1.3.0"},
                    "node_modules/@scope/pkg": {"version": "2.0.0"},
                    "node_modules/a/node_modules/left-pad": {"version": "1.1.0"},
                    "node_modules/linked": {"resolved": "../linked", "link": true}
                }}"#;

    const PACKAGE_LOCK_V1: &str = r#"{"lockfileVersion": 1, "dependencies": {
                    "a": {"version": "1.0.0", "dependencies": {"b": {"version": "2.0.0"}}}
                }}"#;

    /// A format, a file's text, and the packages it pins.
    type Case = (
        Format,
        &'static str,
        &'static [(&'static str, &'static str)],
    );

    #[test]
    fn each_format() {
        let cases: [Case; 8] = [
            (
                Format::Uv,
                UV_LOCK,
                &[
                    ("my-project", ""),
                    ("numpy", "2.0.1"),
                    ("scikit-learn", "1.5.0"),
                ],
            ),
            (Format::Poetry, POETRY_LOCK, &[("requests", "2.32.3")]),
            (
                Format::Cargo,
                CARGO_LOCK,
                &[("windows-sys", "0.52.0, 0.59.0")],
            ),
            (
                Format::Requirements,
                REQUIREMENTS,
                &[
                    ("flask", "*"),
                    ("numpy", "2.0.1"),
                    ("requests", ">=2,<3"),
                    ("scikit-learn", "1.5.0"),
                    ("torch", "2.3.0+cu121"),
                ],
            ),
            (
                Format::CondaLock,
                CONDA_LOCK,
                &[("python", "3.11.9"), ("torch-audio (pip)", "2.3.0")],
            ),
            (
                Format::PackageLock,
                PACKAGE_LOCK,
                &[("@scope/pkg", "2.0.0"), ("left-pad", "1.1.0, 1.3.0")],
            ),
            (
                Format::PackageLock,
                PACKAGE_LOCK_V1,
                &[("a", "1.0.0"), ("b", "2.0.0")],
            ),
            (Format::Requirements, "", &[]),
        ];
        for (format, text, want) in cases {
            assert_eq!(
                parse_packages(format, text).expect("parses"),
                packages(want),
                "{format:?}: {text}"
            );
        }
    }

    #[test]
    fn what_does_not_parse_says_so() {
        for (format, text) in [
            (Format::Uv, "[[package]\n"),
            (Format::Cargo, "[[package]]\nversion = \"1\"\n"),
            (Format::CondaLock, "package: 3\n"),
            (Format::PackageLock, "{\"name\": \"x\"}"),
            (Format::PackageLock, "not json"),
        ] {
            assert!(parse_packages(format, text).is_err(), "{format:?}: {text}");
        }
    }

    #[test]
    fn found_in_the_root_and_the_working_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs_err::write(dir.path().join("requirements.txt"), "pkg==1.0\n").expect("write");
        fs_err::create_dir_all(dir.path().join("sub")).expect("mkdir");
        fs_err::write(dir.path().join("sub/uv.lock"), "[[package]\n").expect("write");
        fs_err::write(dir.path().join("sub/notes.txt"), "x").expect("write");
        let found = find(dir.path(), Path::new("sub"));
        let paths: Vec<_> = found.iter().map(|f| f.path.clone()).collect();
        assert_eq!(
            paths,
            [
                PathBuf::from("requirements.txt"),
                PathBuf::from("sub/uv.lock")
            ]
        );
        assert_eq!(found[0].packages, Some(packages(&[("pkg", "1.0")])));
        assert_eq!(found[0].digest, Digest::of_bytes(b"pkg==1.0\n"));
        assert!(found[1].error.is_some() && found[1].packages.is_none());
    }

    #[test]
    fn requirement_lines() {
        for (line, want) in [
            ("numpy==2.0.1\t# pinned", Some(("numpy", "2.0.1"))),
            ("numpy==2.0.1 # pinned", Some(("numpy", "2.0.1"))),
            ("pkg==1.0#not-a-comment", Some(("pkg", "1.0#not-a-comment"))),
            ("# all comment", None),
            (
                "Torch @ https://example.invalid/torch-2.3.0.whl ; python_version > \"3\"",
                Some(("torch", "@ https://example.invalid/torch-2.3.0.whl")),
            ),
            (
                "pkg[extra]@ https://example.invalid/p.whl",
                Some(("pkg", "@ https://example.invalid/p.whl")),
            ),
            ("pkg (>=1.0)", Some(("pkg", ">=1.0"))),
            ("pkg==1.0\t--hash=sha256:00", Some(("pkg", "1.0"))),
            ("./vendor/pkg", None),
            (".", None),
            ("wheels/foo.whl", None),
            ("foo-1.0-py3-none-any.whl", None),
            ("pkg-1.0.tar.gz", None),
            ("git+https://example.invalid/repo.git", None),
            ("https://example.invalid/pkg.whl", None),
            ("-e ./local", None),
            ("--index-url https://example.invalid/simple", None),
            ("_private", None),
            ("pkg[unclosed", None),
        ] {
            let got = match parse_line(strip_comment(line)) {
                Line::Package(name, version) => Some((name, version)),
                _ => None,
            };
            let want = want.map(|(n, v)| (n.to_owned(), v.to_owned()));
            assert_eq!(got, want, "{line}");
        }
        for (line, want) in [
            ("-r base.txt", Some(("base.txt", false))),
            ("-rbase.txt", Some(("base.txt", false))),
            ("--requirement=base.txt", Some(("base.txt", false))),
            ("--requirement base.txt", Some(("base.txt", false))),
            ("-c constraints.txt", Some(("constraints.txt", true))),
            (
                "--constraint constraints.txt",
                Some(("constraints.txt", true)),
            ),
            ("--requirements-file x", None),
            ("-r", None),
        ] {
            let got = match parse_line(line) {
                Line::Include { path, constraint } => Some((path, constraint)),
                _ => None,
            };
            assert_eq!(got, want, "{line}");
        }
        // A continued line is one requirement.
        assert_eq!(
            parse_packages(
                Format::Requirements,
                "pkg==1.0 \\\n    --hash=sha256:00 \\\n    --hash=sha256:11\nother==2\n"
            )
            .expect("parses"),
            packages(&[("other", "2"), ("pkg", "1.0")])
        );
    }

    #[test]
    fn includes_are_followed_and_digested() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let write = |rel: &str, text: &str| {
            let path = root.join(rel);
            fs_err::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs_err::write(path, text).expect("write");
        };
        write(
            "sub/requirements.txt",
            "-r ../common/base.txt\n-c constraints.txt\nflask==3.0\n",
        );
        write("common/base.txt", "numpy==2.0.1\n-r more.txt\n");
        write("common/more.txt", "scipy==1.14\n");
        write("sub/constraints.txt", "urllib3==2.2\n");
        let read = || {
            super::read(
                root,
                PathBuf::from("sub/requirements.txt"),
                Format::Requirements,
            )
        };
        let found = read();
        assert_eq!(found.error, None);
        assert_eq!(
            found.packages,
            Some(packages(&[
                ("flask", "3.0"),
                ("numpy", "2.0.1"),
                ("scipy", "1.14")
            ]))
        );
        // A change to any included file changes the digest.
        for (rel, text) in [
            ("common/more.txt", "scipy==1.15\n"),
            ("sub/constraints.txt", "urllib3==2.3\n"),
        ] {
            let before = read().digest;
            write(rel, text);
            assert_ne!(read().digest, before, "{rel}");
        }
        // Without includes the digest is the file's own.
        write("plain/requirements.txt", "a==1\n");
        let plain = super::read(
            root,
            PathBuf::from("plain/requirements.txt"),
            Format::Requirements,
        );
        assert_eq!(plain.digest, Digest::of_bytes(b"a==1\n"));

        let error = |text: &str| {
            write("requirements.txt", text);
            let found = super::read(
                root,
                PathBuf::from("requirements.txt"),
                Format::Requirements,
            );
            assert!(found.packages.is_none(), "{text}");
            (found.error.unwrap_or_default(), found.unreadable)
        };
        let (message, _) = error("-r ../outside.txt\n");
        assert!(message.contains("leads out of the workspace"), "{message}");
        let (message, _) = error("-r .mlops/x.txt\n");
        assert!(message.contains("cannot be included"), "{message}");
        write("loop/a.txt", "-r b.txt\n");
        write("loop/b.txt", "-r a.txt\n");
        let (message, _) = error("-r loop/a.txt\n");
        assert!(
            message.contains("`loop/a.txt` includes itself"),
            "{message}"
        );
        for i in 0..12 {
            write(&format!("deep/{i}.txt"), &format!("-r {}.txt\n", i + 1));
        }
        let (message, _) = error("-r deep/0.txt\n");
        assert!(message.contains("more than 8 files deep"), "{message}");
        let (message, unreadable) = error("pkg==1\n-r missing.txt\n");
        assert!(
            message.contains("`missing.txt` cannot be read"),
            "{message}"
        );
        assert!(unreadable);
        std::os::unix::fs::symlink("/etc/hostname", root.join("link.txt")).expect("symlink");
        let (message, _) = error("-r link.txt\n");
        assert!(message.contains("leads out of the workspace"), "{message}");
        // An include by URL is pip's to fetch: not followed, not an error.
        write(
            "requirements.txt",
            "-r https://example.invalid/r.txt\na==1\n",
        );
        let found = super::read(
            root,
            PathBuf::from("requirements.txt"),
            Format::Requirements,
        );
        assert_eq!(found.packages, Some(packages(&[("a", "1")])));
    }

    #[test]
    fn an_unreadable_lock_file_is_listed() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A directory by a lock file's name cannot be read as one.
        fs_err::create_dir_all(dir.path().join("uv.lock")).expect("mkdir");
        let found = find(dir.path(), Path::new(""));
        assert_eq!(found.len(), 1);
        assert!(found[0].unreadable && found[0].packages.is_none());
        assert!(
            found[0]
                .error
                .as_deref()
                .is_some_and(|e| e.starts_with("cannot be read")),
            "{found:?}"
        );
    }

    #[test]
    fn errors_keep_their_place() {
        let error = parse_packages(Format::Uv, "version = 1\n\n[[package]\n").expect_err("bad");
        assert!(
            matches!(error, ParseError::Toml { line: 3, .. }),
            "{error:?}"
        );
        assert!(error.to_string().starts_with("line 3, column "), "{error}");
        let error = parse_packages(Format::PackageLock, "{\n  \"a\": }").expect_err("bad");
        assert!(error.to_string().starts_with("line 2, column "), "{error}");
    }

    #[test]
    fn conda_lock_numeric_versions() {
        let text = "package:\n- name: python\n  version: 3.12\n  manager: conda\n- name: tzdata\n  version: 2024\n  manager: conda\n";
        assert_eq!(
            parse_packages(Format::CondaLock, text).expect("parses"),
            packages(&[("python", "3.12"), ("tzdata", "2024")])
        );
    }
}
