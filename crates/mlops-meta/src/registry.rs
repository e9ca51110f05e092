//! A model registry in annotated git tags, in GTO's format:
//!
//! | tag | means |
//! |---|---|
//! | `NAME@v1.2.0` | version v1.2.0 of NAME is the model at the tagged commit |
//! | `NAME@v1.2.0!` | that version is deregistered |
//! | `NAME@deprecated` | the whole model is deprecated |
//! | `NAME#prod#7` | stage `prod` now holds the version registered at the tagged commit |
//! | `NAME#prod!#8` | stage `prod` is unassigned |
//!
//! The number after a stage counts every stage tag of the model, so the latest change of a stage
//! is the one with the highest number. Each tag is annotated: the tagger and time say who changed
//! what when (the stage history is never lost), and mlops adds one `mlops: {...}` line to a
//! registration's message with the model's path, digest and metrics.
//!
//! This module reads the tags and writes new ones; `get` (private) places a registered version
//! at a path for `mlops model get`, and `load` (private) finds a version's files in the cache
//! for readers such as `predict --model NAME#stage`.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mlops_core::Workspace;
use mlops_core::manifest::EntryKind;
use mlops_core::pointer::Pointer;

use crate::error::{Error, Result};
use crate::history::Repo;

mod get;
mod load;
pub use get::{GetOptions, GetReport};
pub use load::{VersionFiles, is_reference, version_files};

/// A semantic version `vMAJOR.MINOR.PATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u64, pub u64, pub u64);

impl Version {
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || Error::BadVersion {
            version: text.to_owned(),
        };
        let parts: Vec<u64> = text
            .strip_prefix('v')
            .ok_or_else(bad)?
            .split('.')
            .map(|p| {
                // Digits without leading zeros, so each version has one spelling (and one tag):
                // `u64::from_str` alone would also take `+0` for `0`.
                let canonical = !p.is_empty()
                    && p.bytes().all(|b| b.is_ascii_digit())
                    && (p == "0" || !p.starts_with('0'));
                canonical.then(|| p.parse().ok()).flatten()
            })
            .collect::<Option<_>>()
            .ok_or_else(bad)?;
        match parts[..] {
            [major, minor, patch] => Ok(Version(major, minor, patch)),
            _ => Err(bad()),
        }
    }

    /// The next version after this one.
    #[must_use]
    pub fn bump(self, part: Bump) -> Self {
        match part {
            Bump::Major => Version(self.0 + 1, 0, 0),
            Bump::Minor => Version(self.0, self.1 + 1, 0),
            Bump::Patch => Version(self.0, self.1, self.2 + 1),
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Which part of the version a new registration increments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bump {
    Major,
    Minor,
    Patch,
}

/// What a registry tag records.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Registered,
    Deregistered,
    Deprecated,
    Assigned,
    Unassigned,
}

/// One registry tag, read.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Event {
    pub model: String,
    pub action: Action,
    /// The version registered or deregistered, or the one a stage change is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    pub tag: String,
    pub commit: String,
    /// The tagger, as `name <email>`.
    pub by: String,
    /// Seconds since 1970-01-01 UTC.
    pub time: i64,
    /// From a registration's `mlops:` line: the model's path, digest and metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_info: Option<serde_json::Value>,
    #[serde(skip)]
    number: u64,
}

/// A tag name taken apart.
struct TagName {
    model: String,
    action: Action,
    version: Option<Version>,
    stage: Option<String>,
    number: u64,
}

fn parse_tag(tag: &str) -> Option<TagName> {
    if let Some((model, rest)) = tag.split_once('@') {
        let named = |action, version| TagName {
            model: model.to_owned(),
            action,
            version,
            stage: None,
            number: 0,
        };
        if rest == "deprecated" {
            return Some(named(Action::Deprecated, None));
        }
        return match rest.strip_suffix('!') {
            Some(version) => Some(named(Action::Deregistered, Version::parse(version).ok())),
            None => Some(named(Action::Registered, Some(Version::parse(rest).ok()?))),
        };
    }
    let mut parts = tag.splitn(3, '#');
    let (model, stage, number) = (parts.next()?, parts.next()?, parts.next()?);
    let (stage, action) = match stage.strip_suffix('!') {
        Some(stage) => (stage, Action::Unassigned),
        None => (stage, Action::Assigned),
    };
    Some(TagName {
        model: model.to_owned(),
        action,
        version: None,
        stage: Some(stage.to_owned()),
        number: number.parse().ok()?,
    })
}

/// The version a stage tag's message names: its first line ends in `version vX.Y.Z`, as both
/// mlops and GTO write it (`Assigning stage prod to artifact churn version v1.2.0`).
fn version_in_message(message: &str) -> Option<Version> {
    let (_, version) = message
        .lines()
        .next()?
        .trim_end()
        .rsplit_once(" version ")?;
    Version::parse(version).ok()
}

/// Checks a model or stage name: what GTO accepts and git allows in a tag.
pub fn check_name(what: &'static str, name: &str) -> Result<()> {
    let bad = |why| Error::BadName {
        what,
        name: name.to_owned(),
        why,
    };
    let first = name.chars().next().ok_or_else(|| bad("it is empty"))?;
    if !first.is_ascii_alphanumeric() {
        return Err(bad("it must start with a letter or digit"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(bad("use lowercase letters, digits, `-` and `_`"));
    }
    Ok(())
}

/// The registry of a repository: every registry tag, read once.
pub struct Registry<'a> {
    repo: &'a Repo,
    events: Vec<Event>,
}

/// A model's state: its versions and stages now.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelState {
    pub model: String,
    pub deprecated: bool,
    /// Registered versions, newest first, without the deregistered ones.
    pub versions: Vec<String>,
    pub latest: Option<String>,
    /// Each stage and the version it holds.
    pub stages: BTreeMap<String, String>,
}

/// A version located: its commit and the model's path there.
#[derive(Debug, Clone)]
pub struct Located {
    pub model: String,
    pub version: String,
    pub commit: String,
    pub path: PathBuf,
    pub pointer: Pointer,
}

impl<'a> Registry<'a> {
    /// Reads every registry tag of `repo`.
    pub fn read(repo: &'a Repo) -> Result<Self> {
        let git = repo.git();
        let mut events = Vec::new();
        for tag in git.tag_names(None)?.iter().flatten() {
            let Some(parsed) = parse_tag(tag) else {
                continue;
            };
            let reference = git.find_reference(&format!("refs/tags/{tag}"))?;
            let commit = reference.peel_to_commit()?;
            // Lightweight tags have no tagger: the commit's committer stands in.
            let (by, time, message) = match reference.peel_to_tag() {
                Ok(annotated) => {
                    let tagger = annotated.tagger();
                    (
                        tagger.as_ref().map(signature_text).unwrap_or_default(),
                        tagger.map_or(0, |t| t.when().seconds()),
                        annotated.message().unwrap_or_default().to_owned(),
                    )
                }
                Err(_) => (
                    signature_text(&commit.committer()),
                    commit.time().seconds(),
                    String::new(),
                ),
            };
            let model_info = message
                .lines()
                .find_map(|l| l.strip_prefix("mlops: "))
                .and_then(|json| serde_json::from_str(json).ok());
            // A stage tag's name has no version (GTO's format); its message names it.
            let version = match parsed.stage {
                Some(_) => version_in_message(&message),
                None => parsed.version,
            };
            events.push(Event {
                model: parsed.model,
                action: parsed.action,
                version: version.map(|v| v.to_string()),
                stage: parsed.stage,
                tag: tag.to_owned(),
                commit: commit.id().to_string(),
                by,
                time,
                model_info,
                number: parsed.number,
            });
        }
        events.sort_by(|a, b| (a.time, a.number, &a.tag).cmp(&(b.time, b.number, &b.tag)));
        let mut registry = Registry { repo, events };
        let versions: Vec<(String, String, String)> = registry
            .events
            .iter()
            .filter(|e| e.action == Action::Registered)
            .filter_map(|e| Some((e.model.clone(), e.commit.clone(), e.version.clone()?)))
            .collect();
        for event in &mut registry.events {
            if event.stage.is_none() {
                continue;
            }
            let at_commit = || {
                versions
                    .iter()
                    .filter(|(m, c, _)| *m == event.model && *c == event.commit)
                    .map(|(_, _, v)| v)
            };
            // The version the message names counts only if it is registered at the tagged
            // commit. Without one (a tag made by hand or by GTO for a bare commit), the version
            // registered there stands in; several versions can share a commit, so that is a
            // guess, and the message is what disambiguates them.
            let named = event.version.take().filter(|v| at_commit().any(|r| r == v));
            event.version =
                named.or_else(|| at_commit().max_by_key(|v| Version::parse(v).ok()).cloned());
        }
        Ok(registry)
    }

    /// Every event of `model`, oldest first; all models' when `None`.
    pub fn history(&self, model: Option<&str>) -> Result<Vec<Event>> {
        if let Some(model) = model
            && !self.events.iter().any(|e| e.model == model)
        {
            return Err(Error::UnknownModel {
                name: model.to_owned(),
            });
        }
        Ok(self
            .events
            .iter()
            .filter(|e| model.is_none_or(|m| e.model == m))
            .cloned()
            .collect())
    }

    /// Every model's state, by name.
    pub fn models(&self) -> Vec<ModelState> {
        let mut names: Vec<&str> = self.events.iter().map(|e| e.model.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names.into_iter().map(|n| self.state(n)).collect()
    }

    /// One model's state.
    pub fn state(&self, model: &str) -> ModelState {
        let of_model = || self.events.iter().filter(|e| e.model == model);
        let deregistered: Vec<&String> = of_model()
            .filter(|e| e.action == Action::Deregistered)
            .filter_map(|e| e.version.as_ref())
            .collect();
        let mut versions: Vec<Version> = of_model()
            .filter(|e| e.action == Action::Registered)
            .filter_map(|e| e.version.as_deref())
            .filter(|v| !deregistered.iter().any(|d| d.as_str() == *v))
            .filter_map(|v| Version::parse(v).ok())
            .collect();
        versions.sort_by_key(|v| Reverse(*v));
        versions.dedup();
        let mut stages: BTreeMap<String, (u64, Option<String>)> = BTreeMap::new();
        for event in of_model() {
            if let Some(stage) = &event.stage {
                let held = (event.action == Action::Assigned)
                    .then(|| event.version.clone())
                    .flatten();
                let entry = stages.entry(stage.clone()).or_insert((0, None));
                if event.number >= entry.0 {
                    *entry = (event.number, held);
                }
            }
        }
        ModelState {
            model: model.to_owned(),
            deprecated: of_model().any(|e| e.action == Action::Deprecated),
            latest: versions.first().map(ToString::to_string),
            versions: versions.iter().map(ToString::to_string).collect(),
            stages: stages
                .into_iter()
                .filter_map(|(stage, (_, version))| Some((stage, version?)))
                .collect(),
        }
    }

    fn next_stage_number(&self, model: &str) -> u64 {
        self.events
            .iter()
            .filter(|e| e.model == model)
            .map(|e| e.number)
            .max()
            .unwrap_or(0)
            + 1
    }

    /// The registration event of `model@version`.
    fn registration(&self, model: &str, version: &str) -> Result<&Event> {
        self.events
            .iter()
            .find(|e| {
                e.model == model
                    && e.action == Action::Registered
                    && e.version.as_deref() == Some(version)
            })
            .ok_or_else(|| Error::UnknownReference {
                reference: format!("{model}@{version}"),
            })
    }

    /// Registers `path` at commit `rev` as a version of `model`: `version`, or the latest
    /// version bumped by `bump` (the first version is v0.0.1 unless bumped otherwise).
    pub fn register(
        &self,
        ws: &Workspace,
        model: &str,
        path: &Path,
        rev: &str,
        version: Option<&str>,
        bump: Option<Bump>,
    ) -> Result<Event> {
        check_name("model", model)?;
        let version = if let Some(v) = version {
            Version::parse(v)?
        } else {
            let latest = self
                .state(model)
                .latest
                .and_then(|v| Version::parse(&v).ok())
                .unwrap_or(Version(0, 0, 0));
            latest.bump(bump.unwrap_or(Bump::Patch))
        };
        let tag = format!("{model}@{version}");
        if self.events.iter().any(|e| e.tag == tag) {
            return Err(Error::VersionExists {
                name: model.to_owned(),
                version: version.to_string(),
            });
        }
        let commit = self.repo.commit(rev)?;
        let tracked = self.repo.tracked_at(&commit)?;
        let pointer = tracked.get(path).ok_or_else(|| Error::NotTrackedAt {
            path: path.to_owned(),
            rev: rev.to_owned(),
        })?;
        let info = serde_json::json!({
            "path": path,
            "digest": pointer.digest.to_string(),
            "metrics": metrics_of(ws, path, pointer),
        });
        let message = format!("Registering artifact {model} version {version}\n\nmlops: {info}\n");
        self.tag(&tag, &commit, &message)?;
        Ok(Registry::read(self.repo)?
            .events
            .into_iter()
            .find(|e| e.tag == tag)
            .expect("just created"))
    }

    /// Assigns `stage` to `model@version`.
    pub fn assign(&self, model: &str, version: &str, stage: &str) -> Result<String> {
        check_name("stage", stage)?;
        let registered = self.registration(model, version)?;
        let commit = self.repo.commit(&registered.commit)?;
        let tag = format!("{model}#{stage}#{}", self.next_stage_number(model));
        let message = format!("Assigning stage {stage} to artifact {model} version {version}\n");
        self.tag(&tag, &commit, &message)?;
        Ok(tag)
    }

    /// Takes `stage` away from whatever version of `model` holds it.
    pub fn unassign(&self, model: &str, stage: &str) -> Result<String> {
        check_name("stage", stage)?;
        let held = self
            .state(model)
            .stages
            .get(stage)
            .cloned()
            .ok_or_else(|| Error::UnknownReference {
                reference: format!("{model}#{stage}"),
            })?;
        let registered = self.registration(model, &held)?;
        let commit = self.repo.commit(&registered.commit)?;
        let tag = format!("{model}#{stage}!#{}", self.next_stage_number(model));
        self.tag(
            &tag,
            &commit,
            &format!("Unassigning stage {stage} from artifact {model} version {held}\n"),
        )?;
        Ok(tag)
    }

    /// Deregisters `model@version`, or, without a version, deprecates the whole model.
    pub fn deprecate(&self, model: &str, version: Option<&str>) -> Result<String> {
        let (registered, tag, message) = match version {
            Some(version) => (
                self.registration(model, version)?,
                format!("{model}@{version}!"),
                format!("Deregistering artifact {model} version {version}\n"),
            ),
            None => (
                self.events
                    .iter()
                    .rev()
                    .find(|e| e.model == model && e.action == Action::Registered)
                    .ok_or_else(|| Error::UnknownModel {
                        name: model.to_owned(),
                    })?,
                format!("{model}@deprecated"),
                format!("Deprecating artifact {model}\n"),
            ),
        };
        let commit = self.repo.commit(&registered.commit)?;
        self.tag(&tag, &commit, &message)?;
        Ok(tag)
    }

    /// Resolves `NAME@vX.Y.Z`, `NAME@latest` or `NAME#STAGE` to the version's commit and model.
    pub(crate) fn locate(&self, reference: &str) -> Result<Located> {
        let unknown = || Error::UnknownReference {
            reference: reference.to_owned(),
        };
        let (model, version) = if let Some((model, version)) = reference.split_once('@') {
            let version = if version == "latest" {
                self.state(model).latest.ok_or_else(unknown)?
            } else {
                version.to_owned()
            };
            (model, version)
        } else if let Some((model, stage)) = reference.split_once('#') {
            (
                model,
                self.state(model)
                    .stages
                    .get(stage)
                    .cloned()
                    .ok_or_else(unknown)?,
            )
        } else {
            (reference, self.state(reference).latest.ok_or_else(unknown)?)
        };
        let registered = self.registration(model, &version)?;
        let path = registered
            .model_info
            .as_ref()
            .and_then(|i| i.get("path"))
            .and_then(|p| p.as_str())
            .map(PathBuf::from)
            .ok_or_else(|| {
                Error::Argument(format!(
                    "tag `{}` does not say where the model is (it was not made by mlops model register)",
                    registered.tag
                ))
            })?;
        // Anyone who can push a tag writes its message: the path must be one mlops would track.
        let path = mlops_core::safepath::check(self.repo.root(), &path).map_err(|source| {
            Error::UnsafeTagPath {
                tag: registered.tag.clone(),
                source: Box::new(source),
            }
        })?;
        let commit = self.repo.commit(&registered.commit)?;
        let pointer = self
            .repo
            .tracked_at(&commit)?
            .remove(&path)
            .ok_or_else(|| Error::NotTrackedAt {
                path: path.clone(),
                rev: registered.commit.clone(),
            })?;
        Ok(Located {
            model: model.to_owned(),
            version,
            commit: registered.commit.clone(),
            path,
            pointer,
        })
    }

    fn tag(&self, name: &str, commit: &git2::Commit<'_>, message: &str) -> Result<()> {
        let git = self.repo.git();
        let signature = git.signature().or_else(|_| {
            let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
            match (var("GIT_COMMITTER_NAME"), var("GIT_COMMITTER_EMAIL")) {
                (Some(name), Some(email)) => git2::Signature::now(&name, &email),
                _ => Err(git2::Error::from_str(
                    "no identity to tag with: set `git config user.name` and `git config user.email`",
                )),
            }
        })?;
        git.tag(name, commit.as_object(), &signature, message, false)?;
        Ok(())
    }
}

fn signature_text(signature: &git2::Signature<'_>) -> String {
    format!(
        "{} <{}>",
        signature.name().unwrap_or_default(),
        signature.email().unwrap_or_default()
    )
}

/// The `metrics.json` inside a tracked model directory, from the cache; `null` when absent.
fn metrics_of(ws: &Workspace, path: &Path, pointer: &Pointer) -> serde_json::Value {
    if pointer.kind != EntryKind::Dir {
        return serde_json::Value::Null;
    }
    let store = ws.store();
    let Ok(tree) = mlops_core::tree::read_tree(&store, &pointer.digest, path) else {
        return serde_json::Value::Null;
    };
    tree.files
        .iter()
        .find(|f| f.rel == path.join("metrics.json"))
        .and_then(|f| store.read(&f.digest).ok())
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .map_or(serde_json::Value::Null, |m| {
            // Keep the summary a tag message can carry: the validation metrics, if present.
            m.get("validation").cloned().unwrap_or(m)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_tag_message_names_its_version() {
        for (message, version) in [
            (
                "Assigning stage prod to artifact churn version v0.0.1\n",
                Some(Version(0, 0, 1)),
            ),
            (
                "Unassigning stage prod from artifact churn version v1.2.3\n\nmore\n",
                Some(Version(1, 2, 3)),
            ),
            (
                "Assigning stage prod to artifact churn commit 1a2b3c\n",
                None,
            ),
            ("Assigning stage prod to artifact churn version 1.0\n", None),
            ("", None),
        ] {
            assert_eq!(version_in_message(message), version, "{message}");
        }
    }
}
