//! `mlops runs diff A B`: what differs between two recorded runs, or between the runs recorded
//! at two git commits (the latest run of each stage at each, compared stage by stage): command,
//! params, deps, outputs, metrics and environment (host, mlops version, lock-file digests, and
//! the packages added, removed, upgraded or downgraded).
//!
//! A and B are run numbers, as `mlops runs` shows them (the line of the record in
//! `.mlops/runs/records.jsonl`, from 1), or git revisions (`HEAD~1`, a branch, a commit).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use mlops_core::Digest;
use serde::Serialize;

use crate::env::{EnvDetail, EnvRecord, Packages};
use crate::error::{Error, Result};
use crate::records::{self, RunRecord};

/// Which runs to compare.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The old side and the new; both `None`: the last two runs of `stage` (or of the stage
    /// that ran last).
    pub sides: Option<(String, String)>,
    /// Only this stage (or the stages a `foreach`/`matrix` made from it).
    pub stage: Option<String>,
}

/// A run as the diff names it.
#[derive(Debug, Clone, Serialize)]
pub struct RunRef {
    /// As `mlops runs` numbers it.
    pub number: usize,
    pub started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// Whether the run recorded its environment (runs of mlops before it did, did not).
    pub env: bool,
}

/// A value on each side; `None` where the side lacks it.
#[derive(Debug, Clone, Serialize)]
pub struct Change<T> {
    pub key: String,
    pub old: Option<T>,
    pub new: Option<T>,
}

/// How a package changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageChangeKind {
    Added,
    Removed,
    Upgraded,
    Downgraded,
    /// Other versions that do not compare (several versions, specifiers).
    Changed,
}

/// One package of one source.
#[derive(Debug, Clone, Serialize)]
pub struct PackageChange {
    /// A lock file's path, or `python`.
    pub source: String,
    pub name: String,
    pub old: Option<String>,
    pub new: Option<String>,
    pub change: PackageChangeKind,
}

/// What differs in the environment.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EnvDiff {
    /// `os`, `kernel`, `arch`, `cpu`, `cpus`, `gpus`, `gpu_driver`, `mlops_version`, `python`.
    pub host: Vec<Change<String>>,
    /// Lock files by path, with their digests.
    pub files: Vec<Change<Digest>>,
    pub packages: Vec<PackageChange>,
    /// Named commands' outputs.
    pub commands: Vec<Change<String>>,
    /// A side's package lists are no longer in `.mlops/runs/envs/` (runs recorded in another
    /// clone): only digests are compared there.
    pub detail_missing: bool,
}

impl EnvDiff {
    pub fn is_empty(&self) -> bool {
        self.host.is_empty()
            && self.files.is_empty()
            && self.packages.is_empty()
            && self.commands.is_empty()
    }
}

/// One stage's two runs.
#[derive(Debug, Clone, Serialize)]
pub struct StageDiff {
    pub stage: String,
    /// `None`: no run of the stage on that side.
    pub old: Option<RunRef>,
    pub new: Option<RunRef>,
    /// When the two runs are of different stages: the new run's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Change<String>>,
    pub params: Vec<Change<serde_json::Value>>,
    pub deps: Vec<Change<Digest>>,
    pub outs: Vec<Change<Digest>>,
    pub metrics: Vec<Change<serde_json::Value>>,
    /// `None` when a side recorded no environment.
    pub env: Option<EnvDiff>,
}

impl StageDiff {
    /// Whether anything differs (a stage on one side only does).
    pub fn changed(&self) -> bool {
        self.old.is_none()
            || self.new.is_none()
            || self.new_stage.is_some()
            || self.cmd.is_some()
            || !self.params.is_empty()
            || !self.deps.is_empty()
            || !self.outs.is_empty()
            || !self.metrics.is_empty()
            || self.env.as_ref().is_some_and(|e| !e.is_empty())
    }
}

/// The report of `mlops runs diff`.
#[derive(Debug, Clone, Serialize)]
pub struct RunsDiff {
    /// The sides as given (or the run numbers chosen).
    pub old: String,
    pub new: String,
    pub stages: Vec<StageDiff>,
}

/// Compares two runs, or the runs at two commits. `root` is the workspace (for git), and
/// `shared_dir` the `.mlops/` that holds the records.
pub fn diff(root: &Path, shared_dir: &Path, options: &Options) -> Result<RunsDiff> {
    let all = records::list(shared_dir, None)?;
    let numbered: Vec<(usize, &RunRecord)> =
        all.iter().enumerate().map(|(i, r)| (i + 1, r)).collect();
    let in_stage = |r: &RunRecord| {
        options
            .stage
            .as_deref()
            .is_none_or(|s| records::of_stage(r, s))
    };
    let (old_name, new_name, old, new) = if let Some((a, b)) = &options.sides {
        (
            a.clone(),
            b.clone(),
            resolve(root, &numbered, a, &in_stage)?,
            resolve(root, &numbered, b, &in_stage)?,
        )
    } else {
        let stage = match &options.stage {
            Some(stage) => stage.clone(),
            None => all.last().map(|r| r.stage.clone()).ok_or(Error::NoRuns)?,
        };
        let runs: Vec<(usize, &RunRecord)> = numbered
            .iter()
            .copied()
            .filter(|(_, r)| r.stage == stage)
            .collect();
        let [.., a, b] = runs.as_slice() else {
            return Err(Error::TooFewRuns { stage });
        };
        (a.0.to_string(), b.0.to_string(), vec![*a], vec![*b])
    };
    let mut stages = Vec::new();
    if let ([a], [b]) = (old.as_slice(), new.as_slice()) {
        stages.push(compare(shared_dir, Some(*a), Some(*b)));
    } else {
        let names: BTreeSet<&str> = old
            .iter()
            .chain(&new)
            .map(|(_, r)| r.stage.as_str())
            .collect();
        for name in names {
            stages.push(compare(
                shared_dir,
                of_name(&old, name),
                of_name(&new, name),
            ));
        }
    }
    Ok(RunsDiff {
        old: old_name,
        new: new_name,
        stages,
    })
}

fn of_name<'a>(side: &[(usize, &'a RunRecord)], name: &str) -> Option<(usize, &'a RunRecord)> {
    side.iter().copied().find(|(_, r)| r.stage == name)
}

/// The runs `side` names: one run by number, or the latest run of each stage at a commit.
fn resolve<'a>(
    root: &Path,
    numbered: &[(usize, &'a RunRecord)],
    side: &str,
    in_stage: &dyn Fn(&RunRecord) -> bool,
) -> Result<Vec<(usize, &'a RunRecord)>> {
    let number = side
        .parse::<usize>()
        .ok()
        .filter(|_| side.bytes().all(|b| b.is_ascii_digit()));
    if let Some(n) = number
        && (1..=numbered.len()).contains(&n)
    {
        return Ok(vec![numbered[n - 1]]);
    }
    let commit = match revision(root, side) {
        Ok(commit) => commit,
        // A number past the last run, and no commit by that name either.
        Err(Error::UnknownRevision { .. }) if number.is_some() => {
            return Err(Error::UnknownRun {
                run: side.to_owned(),
                count: numbered.len(),
            });
        }
        Err(e) => return Err(e),
    };
    let mut latest: BTreeMap<&str, (usize, &RunRecord)> = BTreeMap::new();
    for (n, record) in numbered {
        if record.git_commit.as_deref() == Some(commit.as_str()) && in_stage(record) {
            latest.insert(record.stage.as_str(), (*n, *record));
        }
    }
    if latest.is_empty() {
        return Err(Error::NoRunsAt {
            rev: side.to_owned(),
            commit,
        });
    }
    Ok(latest.into_values().collect())
}

/// The full id of the commit `rev` names.
fn revision(root: &Path, rev: &str) -> Result<String> {
    let repo = git2::Repository::discover(root).map_err(|_| Error::UnknownRevision {
        rev: rev.to_owned(),
    })?;
    let object = repo
        .revparse_single(rev)
        .map_err(|_| Error::UnknownRevision {
            rev: rev.to_owned(),
        })?;
    let commit = object
        .peel_to_commit()
        .map_err(|_| Error::UnknownRevision {
            rev: rev.to_owned(),
        })?;
    Ok(commit.id().to_string())
}

fn run_ref(number: usize, record: &RunRecord) -> RunRef {
    RunRef {
        number,
        started_at: record.started_at.clone(),
        git_commit: record.git_commit.clone(),
        env: record.env.is_some(),
    }
}

fn compare(
    shared_dir: &Path,
    old: Option<(usize, &RunRecord)>,
    new: Option<(usize, &RunRecord)>,
) -> StageDiff {
    let stage = old
        .or(new)
        .map(|(_, r)| r.stage.clone())
        .unwrap_or_default();
    let mut diff = StageDiff {
        new_stage: new
            .filter(|(_, r)| r.stage != stage)
            .map(|(_, r)| r.stage.clone()),
        stage,
        old: old.map(|(n, r)| run_ref(n, r)),
        new: new.map(|(n, r)| run_ref(n, r)),
        cmd: None,
        params: Vec::new(),
        deps: Vec::new(),
        outs: Vec::new(),
        metrics: Vec::new(),
        env: None,
    };
    let (Some((_, a)), Some((_, b))) = (old, new) else {
        return diff;
    };
    if a.cmd != b.cmd {
        diff.cmd = Some(Change {
            key: "cmd".into(),
            old: Some(a.cmd.clone()),
            new: Some(b.cmd.clone()),
        });
    }
    diff.params = changes(&a.params, &b.params);
    diff.metrics = changes(&a.metrics, &b.metrics);
    let by_path = |map: &BTreeMap<std::path::PathBuf, Digest>| -> BTreeMap<String, Digest> {
        map.iter()
            .map(|(p, d)| (p.display().to_string(), *d))
            .collect()
    };
    diff.deps = changes(&by_path(&a.deps), &by_path(&b.deps));
    diff.outs = changes(&by_path(&a.outs), &by_path(&b.outs));
    if let (Some(x), Some(y)) = (&a.env, &b.env) {
        diff.env = Some(env_diff(shared_dir, x, y));
    }
    diff
}

/// The keys whose values differ, or that one side lacks.
fn changes<T: Clone + PartialEq>(
    old: &BTreeMap<String, T>,
    new: &BTreeMap<String, T>,
) -> Vec<Change<T>> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| Change {
            key: k.clone(),
            old: old.get(k).cloned(),
            new: new.get(k).cloned(),
        })
        .collect()
}

fn env_diff(shared_dir: &Path, old: &EnvRecord, new: &EnvRecord) -> EnvDiff {
    let host = |e: &EnvRecord| -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        let mut put = |key: &str, value: Option<String>| {
            if let Some(value) = value {
                map.insert(key.to_owned(), value);
            }
        };
        put("os", e.host.os.clone());
        put("kernel", e.host.kernel.clone());
        put("arch", Some(e.host.arch.clone()).filter(|a| !a.is_empty()));
        put("cpu", e.host.cpu.clone());
        put("cpus", Some(e.host.cpus.to_string()));
        put(
            "gpus",
            Some(e.host.gpus.join(", ")).filter(|g| !g.is_empty()),
        );
        put("gpu_driver", e.host.gpu_driver.clone());
        put("mlops_version", e.mlops_version.clone());
        put("python", e.python.as_ref().and_then(|p| p.version.clone()));
        map
    };
    let files = |e: &EnvRecord| -> BTreeMap<String, Digest> {
        e.files
            .iter()
            .map(|f| (f.path.display().to_string(), f.digest))
            .collect()
    };
    let mut diff = EnvDiff {
        host: changes(&host(old), &host(new)),
        files: changes(&files(old), &files(new)),
        ..EnvDiff::default()
    };
    let details = (
        crate::env::load_detail(shared_dir, &old.detail),
        crate::env::load_detail(shared_dir, &new.detail),
    );
    let (Some(a), Some(b)) = details else {
        diff.detail_missing = old.detail != new.detail;
        // Without the outputs, a command whose output changed shows by its digest.
        let digests = |e: &EnvRecord| -> BTreeMap<String, String> {
            e.commands
                .iter()
                .map(|c| (c.cmd.clone(), c.digest.to_string()))
                .collect()
        };
        diff.commands = changes(&digests(old), &digests(new));
        return diff;
    };
    diff.packages = package_changes(&a, &b);
    diff.commands = changes(&a.commands, &b.commands);
    diff
}

fn package_changes(old: &EnvDetail, new: &EnvDetail) -> Vec<PackageChange> {
    let empty = Packages::new();
    let sources: BTreeSet<&String> = old.packages.keys().chain(new.packages.keys()).collect();
    let mut out = Vec::new();
    for source in sources {
        let a = old.packages.get(source).unwrap_or(&empty);
        let b = new.packages.get(source).unwrap_or(&empty);
        for change in changes(a, b) {
            let kind = match (&change.old, &change.new) {
                (None, _) => PackageChangeKind::Added,
                (_, None) => PackageChangeKind::Removed,
                (Some(x), Some(y)) => version_change(x, y),
            };
            out.push(PackageChange {
                source: source.clone(),
                name: change.key,
                old: change.old,
                new: change.new,
                change: kind,
            });
        }
    }
    out
}

/// Upgraded or downgraded when both are single versions that compare; else changed.
fn version_change(old: &str, new: &str) -> PackageChangeKind {
    let plain = |v: &str| v.starts_with(|c: char| c.is_ascii_digit()) && !v.contains(", ");
    if !(plain(old) && plain(new)) {
        return PackageChangeKind::Changed;
    }
    match compare_versions(old, new) {
        Ordering::Less => PackageChangeKind::Upgraded,
        Ordering::Greater => PackageChangeKind::Downgraded,
        Ordering::Equal => PackageChangeKind::Changed,
    }
}

/// A segment of a version: a number, or a word (`rc`, `dev`, `post`).
#[derive(Debug, PartialEq, Eq)]
enum Segment<'a> {
    Number(&'a str),
    Word(String),
}

fn segments(version: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let bytes = version.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        if bytes[i].is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Segment::Number(version[start..i].trim_start_matches('0')));
        } else if bytes[i].is_ascii_alphabetic() {
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            out.push(Segment::Word(version[start..i].to_ascii_lowercase()));
        } else {
            i += 1;
        }
    }
    out
}

/// Where a word stands among releases: `dev` before pre-releases (`a`, `b`, `rc`), those
/// before the release itself, `post` after it.
fn word_rank(word: &str) -> u8 {
    match word {
        "dev" => 0,
        "post" | "r" | "rev" => 3,
        _ => 1,
    }
}

/// Orders versions as PEP 440 and semver mostly agree: numbers numerically, `1.0rc1` and
/// `1.0-alpha` before `1.0`, `1.0.post1` after it, `1.0` before `1.0.1`. Good enough to tell an
/// upgrade from a downgrade; not a full implementation of either.
pub fn compare_versions(old: &str, new: &str) -> Ordering {
    let (left, right) = (segments(old), segments(new));
    (0..left.len().max(right.len()))
        .map(|i| compare_segments(left.get(i), right.get(i)))
        .find(|order| *order != Ordering::Equal)
        .unwrap_or(Ordering::Equal)
}

fn compare_segments(left: Option<&Segment>, right: Option<&Segment>) -> Ordering {
    match (left, right) {
        (Some(Segment::Number(l)), Some(Segment::Number(r))) => {
            l.len().cmp(&r.len()).then_with(|| l.cmp(r))
        }
        (Some(Segment::Word(l)), Some(Segment::Word(r))) => {
            word_rank(l).cmp(&word_rank(r)).then_with(|| l.cmp(r))
        }
        // A number goes on the release (1.0.1), which comes after any word on 1.0 (1.0.post1),
        // as more numbers come after fewer (1.0.1 after 1.0).
        (Some(Segment::Number(_)), Some(Segment::Word(_)) | None) => Ordering::Greater,
        (Some(Segment::Word(_)) | None, Some(Segment::Number(_))) => Ordering::Less,
        // A word where the other ran out is a pre-release, unless it is `post`.
        (Some(Segment::Word(word)), None) => {
            if word_rank(word) == 3 {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (None, Some(Segment::Word(word))) => {
            if word_rank(word) == 3 {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_in_order() {
        let ordered = [
            "0.9",
            "1.0.dev1",
            "1.0a1",
            "1.0b2",
            "1.0rc1",
            "1.0",
            "1.0.post1",
            "1.0.1",
            "1.2",
            "1.10",
            "2.0.0-alpha",
            "2.0.0",
            "10.0",
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(compare_versions(a, b), i.cmp(&j), "{a} vs {b}");
            }
        }
        assert_eq!(compare_versions("1.0", "1.0.0"), Ordering::Less);
        assert_eq!(compare_versions("1.01", "1.1"), Ordering::Equal);
    }

    #[test]
    fn kinds_of_change() {
        for (old, new, want) in [
            ("1.0", "1.1", PackageChangeKind::Upgraded),
            ("2.0.1", "1.9", PackageChangeKind::Downgraded),
            (">=1", ">=2", PackageChangeKind::Changed),
            ("0.52.0, 0.59.0", "0.59.0", PackageChangeKind::Changed),
            ("1.01", "1.1", PackageChangeKind::Changed),
        ] {
            assert_eq!(version_change(old, new), want, "{old} -> {new}");
        }
        let old = EnvDetail {
            packages: BTreeMap::from([(
                "uv.lock".to_owned(),
                Packages::from([("a".into(), "1.0".into()), ("b".into(), "2.0".into())]),
            )]),
            commands: BTreeMap::new(),
        };
        let new = EnvDetail {
            packages: BTreeMap::from([(
                "uv.lock".to_owned(),
                Packages::from([("a".into(), "1.1".into()), ("c".into(), "0.1".into())]),
            )]),
            commands: BTreeMap::new(),
        };
        let kinds: Vec<(String, PackageChangeKind)> = package_changes(&old, &new)
            .into_iter()
            .map(|c| (c.name, c.change))
            .collect();
        assert_eq!(
            kinds,
            [
                ("a".into(), PackageChangeKind::Upgraded),
                ("b".into(), PackageChangeKind::Removed),
                ("c".into(), PackageChangeKind::Added)
            ]
        );
    }
}
