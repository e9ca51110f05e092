//! `mlops runs diff A B`: what differs between two recorded runs, or between the runs recorded
//! at two git commits (the latest run of each stage at each, compared stage by stage): command,
//! params, deps, outputs, metrics and environment (host, mlops version, lock-file digests, and
//! the packages added, removed, upgraded or downgraded).
//!
//! A and B are run numbers, as `mlops runs` shows them (the position of the record among those
//! of `.mlops/runs/records.jsonl` that read, from 1; `@N` always means run N), or git revisions
//! (`HEAD~1`, a branch, a commit). Digits that name both a run and a revision are refused as
//! ambiguous.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use mlops_core::Digest;
use serde::Serialize;

use crate::env::version::compare_public;
use crate::env::{EnvDetail, EnvRecord, Packages, Source};
use crate::error::{Error, Result};
use crate::records::{self, RunRecord};

/// Which runs to compare.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The old side and the new; `None`: the last two runs of the stage that ran last (of
    /// `stage` or one of its `foreach`/`matrix` items, when given).
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
    /// Package sources (a lock file, `python`) that could not be read on a side, with why; their
    /// packages are not compared.
    pub unreadable: Vec<Change<String>>,
    /// The Python's digest (its version and packages), where the package lists are missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<Change<Digest>>,
    /// A side's package lists are no longer in `.mlops/runs/envs/` (runs recorded in another
    /// clone): packages and command outputs are compared by digest only.
    pub detail_missing: bool,
}

impl EnvDiff {
    pub fn is_empty(&self) -> bool {
        self.host.is_empty()
            && self.files.is_empty()
            && self.packages.is_empty()
            && self.commands.is_empty()
            && self.unreadable.is_empty()
            && self.python.is_none()
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
            resolve(root, &numbered, a, options.stage.as_deref())?,
            resolve(root, &numbered, b, options.stage.as_deref())?,
        )
    } else {
        // The stage of the last run (of --stage, or of a `foreach`/`matrix` item made from it).
        let stage = match numbered.iter().rev().find(|(_, r)| in_stage(r)) {
            Some((_, r)) => r.stage.clone(),
            None => {
                return Err(match &options.stage {
                    Some(stage) => Error::TooFewRuns {
                        stage: stage.clone(),
                    },
                    None => Error::NoRuns,
                });
            }
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
    stage: Option<&str>,
) -> Result<Vec<(usize, &'a RunRecord)>> {
    let in_stage = |r: &RunRecord| stage.is_none_or(|s| records::of_stage(r, s));
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let one = |n: usize| -> Result<Vec<(usize, &'a RunRecord)>> {
        let Some(found) = n.checked_sub(1).and_then(|i| numbered.get(i)) else {
            return Err(Error::UnknownRun {
                run: n.to_string(),
                count: numbered.len(),
            });
        };
        if !in_stage(found.1) {
            return Err(Error::RunOfOtherStage {
                run: n,
                stage: found.1.stage.clone(),
                wanted: stage.unwrap_or_default().to_owned(),
            });
        }
        Ok(vec![*found])
    };
    if let Some(n) = side.strip_prefix('@').filter(|n| digits(n)) {
        return one(n.parse().unwrap_or(usize::MAX));
    }
    let number = digits(side).then(|| side.parse::<usize>().unwrap_or(usize::MAX));
    let revision = revision(root, side);
    let commit = match (number, revision) {
        (Some(n), Ok(_)) if (1..=numbered.len()).contains(&n) => {
            return Err(Error::AmbiguousRun {
                side: side.to_owned(),
            });
        }
        (Some(n), Err(Error::UnknownRevision { .. })) => return one(n),
        (_, Ok(commit)) => commit,
        (_, Err(e)) => return Err(e),
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
    // Why a package source did not read, by source: its packages are not compared, or every
    // one of them would show as added or removed.
    let unreadable = |e: &EnvRecord| -> BTreeMap<String, String> {
        let files = e.files.iter().filter_map(|f| {
            f.error
                .clone()
                .map(|error| (f.path.display().to_string(), error))
        });
        let python = e.python.as_ref().and_then(|p| {
            p.error
                .clone()
                .map(|error| (crate::env::PYTHON.to_owned(), error))
        });
        files.chain(python).collect()
    };
    let (old_unreadable, new_unreadable) = (unreadable(old), unreadable(new));
    let mut diff = EnvDiff {
        host: changes(&host(old), &host(new)),
        files: changes(&files(old), &files(new)),
        unreadable: changes(&old_unreadable, &new_unreadable),
        ..EnvDiff::default()
    };
    let details = (
        crate::env::load_detail(shared_dir, &old.detail),
        crate::env::load_detail(shared_dir, &new.detail),
    );
    let (Some(a), Some(b)) = details else {
        diff.detail_missing = old.detail != new.detail;
        // Without the lists and outputs, the Python and the commands compare by their digests.
        let (old_sources, new_sources) = (old.sources(), new.sources());
        for source in new.changed_since(old) {
            let change = |key: String| Change {
                key,
                old: old_sources.get(&source).copied(),
                new: new_sources.get(&source).copied(),
            };
            match &source {
                Source::File(_) => {}
                Source::Python => diff.python = Some(change(crate::env::PYTHON.to_owned())),
                Source::Command(cmd) => {
                    let c = change(cmd.clone());
                    diff.commands.push(Change {
                        key: c.key,
                        old: c.old.map(|d| d.to_string()),
                        new: c.new.map(|d| d.to_string()),
                    });
                }
            }
        }
        return diff;
    };
    let skip: BTreeSet<&String> = old_unreadable.keys().chain(new_unreadable.keys()).collect();
    diff.packages = package_changes(&a, &b, &skip);
    diff.commands = changes(&a.commands, &b.commands);
    diff
}

/// The packages added, removed or changed, source by source, but for the sources in `skip`.
fn package_changes(
    old: &EnvDetail,
    new: &EnvDetail,
    skip: &BTreeSet<&String>,
) -> Vec<PackageChange> {
    let empty = Packages::new();
    let sources: BTreeSet<&String> = old
        .packages
        .keys()
        .chain(new.packages.keys())
        .filter(|s| !skip.contains(s))
        .collect();
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

/// Upgraded or downgraded when both are single versions that compare; else changed (a
/// specifier, several versions, or the same release with another local label: `2.3.0` and
/// `2.3.0+cu121`).
fn version_change(old: &str, new: &str) -> PackageChangeKind {
    let plain = |v: &str| v.starts_with(|c: char| c.is_ascii_digit()) && !v.contains(", ");
    if !(plain(old) && plain(new)) {
        return PackageChangeKind::Changed;
    }
    match compare_public(old, new) {
        Ordering::Less => PackageChangeKind::Upgraded,
        Ordering::Greater => PackageChangeKind::Downgraded,
        Ordering::Equal => PackageChangeKind::Changed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_change() {
        for (old, new, want) in [
            ("1.0", "1.1", PackageChangeKind::Upgraded),
            ("2.0.1", "1.9", PackageChangeKind::Downgraded),
            (">=1", ">=2", PackageChangeKind::Changed),
            ("0.52.0, 0.59.0", "0.59.0", PackageChangeKind::Changed),
            ("1.01", "1.1", PackageChangeKind::Changed),
            ("1.0", "1.0.0", PackageChangeKind::Changed),
            ("2.3.0", "2.3.0+cu121", PackageChangeKind::Changed),
            ("2.3.0+cu121", "2.3.0", PackageChangeKind::Changed),
            ("2.3.0+cu121", "2.3.1", PackageChangeKind::Upgraded),
            ("2.3.0+cu121", "2.2.0+cu121", PackageChangeKind::Downgraded),
            ("1!1.0", "2.0", PackageChangeKind::Downgraded),
            (
                "1.0",
                "@ https://example.invalid/a.whl",
                PackageChangeKind::Changed,
            ),
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
        let kinds: Vec<(String, PackageChangeKind)> = package_changes(&old, &new, &BTreeSet::new())
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
