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

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mlops_core::Workspace;
use mlops_core::config::LinkMode;
use mlops_core::digest::Digest;
use mlops_core::manifest::EntryKind;
use mlops_core::ops::Tracked;
use mlops_core::ops::checkout::{self, CheckoutOptions, CheckoutReport};
use mlops_core::ops::transfer::{self, TransferOptions};
use mlops_core::pointer::{Pointer, pointer_path};
use mlops_core::progress::Progress;
use mlops_core::store::Store;

use crate::error::{Error, Result};
use crate::history::{Repo, workspace_tracked};

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
    pub fn locate(&self, reference: &str) -> Result<Located> {
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

/// Settings for [`Registry::get`].
#[derive(Debug, Clone)]
pub struct GetOptions {
    /// Where to put the model: relative to the workspace root, or an absolute path outside
    /// the workspace (see [`Registry::get`]).
    pub output: PathBuf,
    /// Replace an earlier copy of this model at `output` (see [`Registry::get`]).
    pub force: bool,
    /// Objects fetched at once when the cache lacks some.
    pub jobs: usize,
}

impl GetOptions {
    /// How the model's objects are fetched when the cache lacks them: from the default remote.
    fn transfer(&self) -> TransferOptions {
        TransferOptions {
            jobs: self.jobs,
            ..TransferOptions::default()
        }
    }
}

/// What `model get` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GetReport {
    pub model: String,
    pub version: String,
    pub commit: String,
    /// The model's path at the registered commit.
    pub path: PathBuf,
    pub digest: String,
    pub output: PathBuf,
    pub checkout: CheckoutReport,
}

impl Registry<'_> {
    /// Materialises the version `reference` names at `options.output`: checks the output (see
    /// [`check_output`] and [`check_replaceable`]), fetches from the default remote what the
    /// cache lacks, and checks the model out, all under one hold of the workspace lock.
    ///
    /// The files are always copies (a reflink where the filesystem has them), whatever
    /// `cache.link` says: no pointer file or `mlops.lock` names the output, so `gc` would free
    /// the objects a link there points at.
    ///
    /// An absolute `options.output` outside the workspace must be new or an empty directory, or
    /// with `force` hold only this model's files (as inside); the model's files are copied from
    /// the cache into a temp directory beside it, which then takes its place.
    pub fn get(
        &self,
        ws: &Workspace,
        reference: &str,
        options: &GetOptions,
        progress: &dyn Progress,
    ) -> Result<GetReport> {
        let located = self.locate(reference)?;
        let _lock = ws.lock()?;
        if options.output.is_absolute() {
            return self.get_outside(ws, located, options, progress);
        }
        let output = check_output(ws, &located, &options.output, options.force)?;
        let tracked = std::slice::from_ref(&output);
        transfer::fetch_missing_locked(ws, tracked, &options.transfer(), progress)?;
        check_replaceable(ws, &output, &self.registered_digests(&located.model))?;
        let checkout = CheckoutOptions {
            force: options.force,
            link: LinkMode::Auto,
        };
        let report = checkout::restore(ws, tracked, &checkout, progress)?;
        Ok(GetReport {
            digest: located.pointer.digest.to_string(),
            model: located.model,
            version: located.version,
            commit: located.commit,
            path: located.path,
            output: output.rel,
            checkout: report,
        })
    }

    /// [`Registry::get`] into `options.output`, an absolute path outside the workspace; the
    /// caller holds the workspace lock.
    fn get_outside(
        &self,
        ws: &Workspace,
        located: Located,
        options: &GetOptions,
        progress: &dyn Progress,
    ) -> Result<GetReport> {
        let dest = &options.output;
        check_outside(ws, dest, located.pointer.kind, options.force)?;
        // The cache is filled as for the model's own path; the workspace is not touched.
        let source = Tracked::new(ws.root(), &located.path, located.pointer.clone())?;
        let store = ws.store();
        transfer::fetch_missing_locked(
            ws,
            std::slice::from_ref(&source),
            &options.transfer(),
            progress,
        )?;
        if dest.symlink_metadata().is_ok() {
            replaceable_at(
                ws,
                dest,
                dest,
                &located.pointer,
                &self.registered_digests(&located.model),
            )?;
        }
        let restored = copy_out(&store, &located.pointer, dest)?;
        Ok(GetReport {
            digest: located.pointer.digest.to_string(),
            model: located.model,
            version: located.version,
            commit: located.commit,
            path: located.path,
            output: dest.clone(),
            checkout: CheckoutReport {
                restored,
                ..CheckoutReport::default()
            },
        })
    }

    /// The digests every registration of `model` records (its `mlops:` line), deregistered
    /// versions included.
    fn registered_digests(&self, model: &str) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e.model == model && e.action == Action::Registered)
            .filter_map(|e| e.model_info.as_ref()?.get("digest")?.as_str())
            .map(str::to_owned)
            .collect()
    }
}

/// Checks where `model get` may put `located`: `rel` (workspace-relative, as the user gave it)
/// must pass the workspace's path check, overlap no tracked path or pointer file, and be new or
/// an empty directory, or with `force` an existing one (or file) that [`check_replaceable`]
/// then checks holds only the model's files. `get` deletes what the model does not list in its
/// output, so anything else there would be lost.
pub fn check_output(ws: &Workspace, located: &Located, rel: &Path, force: bool) -> Result<Tracked> {
    let tracked = Tracked::new(ws.root(), rel, located.pointer.clone())?;
    let refuse = |why: String| Error::BadOutput {
        path: tracked.rel.clone(),
        why,
    };
    let mut others = workspace_tracked(ws)?;
    others.sort_by(|a, b| a.rel.cmp(&b.rel));
    for other in &others {
        let pointer = pointer_path(&other.rel);
        let why = if tracked.rel.starts_with(&other.rel) {
            format!("it is inside the tracked path `{}`", other.rel.display())
        } else if other.rel.starts_with(&tracked.rel) {
            format!("it holds the tracked path `{}`", other.rel.display())
        } else if tracked.rel.starts_with(&pointer) || pointer.starts_with(&tracked.rel) {
            format!("it overlaps the pointer file `{}`", pointer.display())
        } else {
            continue;
        };
        return Err(refuse(why));
    }
    check_existing(&ws.abs(&tracked.rel), located.pointer.kind, force)
        .map_err(|why| refuse(why.into()))?;
    Ok(tracked)
}

/// Why `model get` may not put a model of `kind` at `abs`, if it may not: a link, a directory
/// for a one-file model, something that is neither file nor directory, or (without `force`)
/// anything but a new path or an empty directory. With `force`, the caller then checks that
/// what is there is an earlier copy of the model ([`check_replaceable`]).
fn check_existing(abs: &Path, kind: EntryKind, force: bool) -> Result<(), &'static str> {
    let Ok(meta) = abs.symlink_metadata() else {
        return Ok(());
    };
    if meta.file_type().is_symlink() {
        return Err("it is a symbolic link");
    }
    if meta.is_dir() && kind == EntryKind::File {
        return Err("it is a directory, and the model is one file");
    }
    if !meta.is_dir() && (kind == EntryKind::Dir || !meta.is_file()) {
        return Err("it exists and is not a directory");
    }
    let empty = meta.is_dir() && fs_err::read_dir(abs).is_ok_and(|mut d| d.next().is_none());
    if !empty && !force {
        return Err(
            "it is not empty: give a new or empty directory, or --force to replace an earlier \
             copy of this model there",
        );
    }
    Ok(())
}

/// Checks that the existing output of `model get` (see [`check_output`]) is an earlier copy of
/// the model, which `--force` may replace: a directory holding only files and directories the
/// model it receives lists, by name (the model's tree must be in the cache), or, for a one-file
/// model, a file whose content is a registered version of the model (`registered` holds their
/// digests) or is safe in the cache. Anything else would be lost, so it is refused.
pub fn check_replaceable(ws: &Workspace, output: &Tracked, registered: &[String]) -> Result<()> {
    let abs = ws.abs(&output.rel);
    if abs.symlink_metadata().is_err() {
        return Ok(());
    }
    replaceable_at(ws, &abs, &output.rel, &output.pointer, registered)
}

/// [`check_replaceable`] for the existing output at `abs`, named `shown` in errors.
fn replaceable_at(
    ws: &Workspace,
    abs: &Path,
    shown: &Path,
    pointer: &Pointer,
    registered: &[String],
) -> Result<()> {
    let refuse = |why: String| Error::BadOutput {
        path: shown.to_owned(),
        why,
    };
    if pointer.kind == EntryKind::File {
        let (digest, _) = Digest::of_file(abs)?;
        let hex = digest.to_string();
        if registered.contains(&hex) || ws.store().contains(&digest) {
            return Ok(());
        }
        return Err(refuse(
            "it is not a version of this model nor safe in the cache, and --force replaces \
             only an earlier copy of the model"
                .into(),
        ));
    }
    // Paths relative to `abs`: the tree is read as if rooted there.
    let tree = mlops_core::tree::read_tree(&ws.store(), &pointer.digest, Path::new(""))?;
    let files: std::collections::HashSet<&Path> =
        tree.files.iter().map(|f| f.rel.as_path()).collect();
    let dirs: std::collections::HashSet<&Path> = tree.dirs.iter().map(PathBuf::as_path).collect();
    let mut queue = vec![PathBuf::new()];
    while let Some(dir) = queue.pop() {
        for entry in fs_err::read_dir(abs.join(&dir))? {
            let entry = entry?;
            let rel = dir.join(entry.file_name());
            let kind = entry.file_type()?;
            if kind.is_dir() && dirs.contains(rel.as_path()) {
                queue.push(rel);
            } else if !(kind.is_file() && files.contains(rel.as_path())) {
                return Err(refuse(format!(
                    "`{}` is not a file of this model, and --force replaces only those",
                    shown.join(&rel).display()
                )));
            }
        }
    }
    Ok(())
}

/// Checks where `model get` may put the model outside the workspace: `dest` (absolute) must not
/// lead into the workspace through a symbolic link, must not be a link itself, and must be new
/// or an empty directory, or with `force` an existing one (or file) that [`replaceable_at`] then
/// checks holds only the model's files.
fn check_outside(ws: &Workspace, dest: &Path, kind: EntryKind, force: bool) -> Result<()> {
    let refuse = |why: String| Error::BadOutput {
        path: dest.to_owned(),
        why,
    };
    if dest.file_name().is_none() {
        return Err(refuse("it names no directory to create or fill".into()));
    }
    // Resolved, a link on the way may point into the workspace, where the workspace's own
    // checks (tracked paths, .git, .mlops) must apply.
    let root = fs_err::canonicalize(ws.root())?;
    if mlops_core::safepath::resolve_existing(dest).starts_with(&root) {
        return Err(refuse(
            "it leads into the workspace through a symbolic link: name it by its path inside \
             the workspace"
                .into(),
        ));
    }
    check_existing(dest, kind, force).map_err(|why| refuse(why.into()))
}

/// Copies the model `pointer` describes from the cache to `dest` (absolute, outside the
/// workspace), checking each file's content: into a temp file or directory beside `dest`,
/// which then takes its place, so `dest` never holds half a model. Returns the files written.
fn copy_out(store: &Store, pointer: &Pointer, dest: &Path) -> Result<u64> {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = dest.parent().unwrap_or(dest);
    fs_err::create_dir_all(parent)?;
    // What an earlier, killed copy left beside `dest`: its temp copy, or the old copy it had
    // swapped out and not yet removed.
    mlops_core::atomic::remove_stale_temps(parent);
    let temp = mlops_core::atomic::temp_path(parent, &name);
    let written = fill(store, pointer, &temp).and_then(|written| {
        if pointer.kind == EntryKind::Dir && dest.exists() {
            swap_in(&temp, dest)?;
        } else {
            mlops_core::faults::write_step();
            fs_err::rename(&temp, dest)?;
        }
        Ok(written)
    });
    if written.is_err() && temp.symlink_metadata().is_ok() {
        // Best effort: the error that stopped the copy is the one to report.
        let _ = fs_err::remove_dir_all(&temp).or_else(|_| fs_err::remove_file(&temp));
    }
    written
}

/// Puts the new copy `temp` at `dest`, which holds an earlier copy, then removes the earlier
/// copy (left at `temp`'s name). A directory cannot be renamed over a non-empty one, so the two
/// are exchanged in one step (`RENAME_EXCHANGE`): at every moment `dest` holds a whole copy, old
/// or new. Only where the filesystem refuses the exchange is the old copy moved aside first,
/// leaving a moment with no copy at `dest`.
fn swap_in(temp: &Path, dest: &Path) -> Result<()> {
    mlops_core::faults::write_step();
    let exchanged = rustix::fs::renameat_with(
        rustix::fs::CWD,
        temp,
        rustix::fs::CWD,
        dest,
        rustix::fs::RenameFlags::EXCHANGE,
    );
    match exchanged {
        Ok(()) => {}
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            let parent = dest.parent().unwrap_or(dest);
            let name = dest
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let old = mlops_core::atomic::temp_path(parent, &name);
            fs_err::rename(dest, &old)?;
            mlops_core::faults::write_step();
            fs_err::rename(temp, dest)?;
            mlops_core::faults::write_step();
            fs_err::remove_dir_all(&old)?;
            return Ok(());
        }
        Err(e) => {
            let kind = std::io::Error::from(e).kind();
            return Err(std::io::Error::new(
                kind,
                format!(
                    "failed to exchange `{}` with `{}`: {e}",
                    temp.display(),
                    dest.display()
                ),
            )
            .into());
        }
    }
    mlops_core::faults::write_step();
    fs_err::remove_dir_all(temp)?;
    Ok(())
}

/// Writes the model `pointer` describes at `target` (new), from the cache, each file verified
/// against its digest on the way out.
fn fill(store: &Store, pointer: &Pointer, target: &Path) -> Result<u64> {
    if pointer.kind == EntryKind::File {
        store.materialize(&pointer.digest, target, pointer.exec, LinkMode::Auto)?;
        return Ok(1);
    }
    let tree = mlops_core::tree::read_tree(store, &pointer.digest, Path::new(""))?;
    for dir in &tree.dirs {
        fs_err::create_dir_all(target.join(dir))?;
    }
    for file in &tree.files {
        store.materialize(
            &file.digest,
            &target.join(&file.rel),
            file.exec,
            LinkMode::Auto,
        )?;
    }
    Ok(tree.files.len() as u64)
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
