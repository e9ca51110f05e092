//! The project's lock files, found in the workspace root and the stage's working directory, each
//! with its digest and the packages it pins: `uv.lock`, `poetry.lock` and `Cargo.lock` (TOML
//! `[[package]]` tables), `requirements*.txt` (`name==version` lines), `conda-lock.yml` (its
//! `package` list) and `package-lock.json` (its `packages` map, or version 1's `dependencies`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// The lock files in the workspace root and in `wdir` (workspace-relative), by path.
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
            let rel = dir.join(&name);
            let Ok(bytes) = fs_err::read(root.join(&rel)) else {
                continue;
            };
            let (packages, error) = match std::str::from_utf8(&bytes)
                .map_err(|_| "is not UTF-8 text".to_owned())
                .and_then(|text| parse_packages(format, text))
            {
                Ok(packages) => (Some(packages), None),
                Err(error) => (None, Some(error)),
            };
            found.push(PackageFile {
                path: rel,
                format,
                digest: Digest::of_bytes(&bytes),
                packages,
                error,
            });
        }
    }
    found
}

/// The packages a lock file of `format` pins, name -> version; an error says why `text` does
/// not read as that format.
pub fn parse_packages(format: Format, text: &str) -> Result<Packages, String> {
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
            let lock: Lock = toml::from_str(text).map_err(|e| e.message().to_owned())?;
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
            for line in text.lines() {
                if let Some((name, version)) = requirement(line) {
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
                version: String,
                #[serde(default)]
                manager: Option<String>,
            }
            let lock: Lock = mlops_core::yaml::from_str(text)?;
            for package in lock.package {
                // One entry per platform: the same name and version, seen once.
                let name = match package.manager.as_deref() {
                    None | Some("conda") => package.name,
                    Some(manager) => format!("{} ({manager})", pep503(&package.name)),
                };
                packages.add(name, package.version);
            }
        }
        Format::PackageLock => {
            let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
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
                return Err("has neither `packages` nor `dependencies`".into());
            }
        }
    }
    Ok(packages.finish())
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
                versions.sort_by(|a, b| crate::rundiff::compare_versions(a, b));
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

/// One line of a requirements file: `name==version` (with extras, markers, hashes and comments
/// around it) as (name, version); any other requirement as (name, its specifier, or `*`).
/// Options (`-r`, `--index-url`), URLs and blank lines are no package.
fn requirement(line: &str) -> Option<(String, String)> {
    let line = line.split(" #").next().unwrap_or_default();
    let line = line.trim().trim_end_matches('\\').trim();
    if line.is_empty() || line.starts_with(['#', '-']) || line.contains("://") {
        return None;
    }
    // Environment markers, then `--hash` options after the requirement.
    let line = line.split(';').next().unwrap_or_default();
    let line = line.split(" --").next().unwrap_or_default().trim();
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    if name.is_empty() {
        return None;
    }
    let rest = rest.trim_start();
    // Extras (`name[a,b]`) do not change which distribution is installed.
    let rest = match rest.strip_prefix('[') {
        Some(after) => after.split_once(']').map_or("", |(_, r)| r).trim_start(),
        None => rest,
    };
    let spec: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
    let version = spec
        .strip_prefix("===")
        .or_else(|| spec.strip_prefix("=="))
        .filter(|v| !v.contains([',', '*']))
        .map_or_else(
            || {
                if spec.is_empty() {
                    "*".to_owned()
                } else {
                    spec.clone()
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
}
