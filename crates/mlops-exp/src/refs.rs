//! Where experiments live in git: one ref each, so git pushes, fetches and keeps them.
//!
//! An experiment is `refs/mlops/exps/<baseline[0:2]>/<baseline[2:]>/<name>`, as DVC lays out
//! `refs/exps` (its name is unique per baseline commit); a queued one is
//! `refs/mlops/queue/<name>` until a `--run-all` claims it by renaming it to
//! `refs/mlops/running/<name>`. Each points at a commit whose message holds its
//! [`Summary`].

use git2::{Oid, Repository};

use crate::error::{Error, Result};
use crate::summary::{State, Summary};

/// The namespace of finished experiments.
pub const EXPS_PREFIX: &str = "refs/mlops/exps/";
/// The namespace of queued experiments.
pub const QUEUE_PREFIX: &str = "refs/mlops/queue/";
/// The namespace of queued experiments being run.
pub const RUNNING_PREFIX: &str = "refs/mlops/running/";

/// The ref of experiment `name` of `baseline`.
pub fn exp_ref(baseline: Oid, name: &str) -> String {
    let hex = baseline.to_string();
    format!("{EXPS_PREFIX}{}/{}/{name}", &hex[..2], &hex[2..])
}

/// An experiment found in the repository.
#[derive(Debug, Clone)]
pub struct Found {
    pub refname: String,
    pub commit: Oid,
    pub summary: Summary,
    /// Commit time, seconds since the epoch.
    pub time: i64,
}

impl Found {
    pub fn name(&self) -> &str {
        &self.summary.name
    }
}

/// Every experiment, queued and running one; refs without a readable summary are skipped.
pub fn list(repo: &Repository) -> Result<Vec<Found>> {
    let mut found = Vec::new();
    for (glob, state) in [
        ("refs/mlops/exps/*", None),
        ("refs/mlops/queue/*", Some(State::Queued)),
        ("refs/mlops/running/*", Some(State::Running)),
    ] {
        for reference in repo.references_glob(glob)? {
            let reference = reference?;
            let (Some(refname), Ok(commit)) = (reference.name(), reference.peel_to_commit()) else {
                continue;
            };
            let Some(mut summary) = commit.message().and_then(Summary::parse) else {
                continue;
            };
            if let Some(state) = state {
                summary.state = state;
            }
            found.push(Found {
                refname: refname.to_owned(),
                commit: commit.id(),
                summary,
                time: commit.time().seconds(),
            });
        }
    }
    Ok(found)
}

/// The experiment `name` names: a full ref, or a name (preferring `baseline`'s experiment when
/// several baselines have one of that name).
pub fn resolve(repo: &Repository, name: &str, baseline: Option<Oid>) -> Result<Found> {
    let all = list(repo)?;
    let matching: Vec<&Found> = all
        .iter()
        .filter(|f| f.refname == name || f.name() == name)
        .collect();
    let chosen = match matching.as_slice() {
        [one] => Some(*one),
        [] => None,
        several => {
            let of_baseline: Vec<&&Found> = several
                .iter()
                .filter(|f| {
                    Some(f.summary.baseline.as_str()) == baseline.map(|b| b.to_string()).as_deref()
                })
                .collect();
            match of_baseline.as_slice() {
                [one] => Some(**one),
                _ => {
                    return Err(Error::AmbiguousExperiment {
                        name: name.to_owned(),
                        refs: several.iter().map(|f| f.refname.clone()).collect(),
                    });
                }
            }
        }
    };
    chosen.cloned().ok_or_else(|| {
        let mut known: Vec<String> = all.iter().map(|f| f.name().to_owned()).collect();
        known.sort();
        known.dedup();
        Error::UnknownExperiment {
            name: name.to_owned(),
            known,
        }
    })
}

/// Whether `name` is a usable experiment name (it becomes the last part of a ref).
pub fn check_name(name: &str) -> Result<()> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.ends_with('.')
        && !name.contains("..")
        // Git refuses ref names ending `.lock`.
        && !std::path::Path::new(name)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("lock"));
    if ok {
        Ok(())
    } else {
        Err(Error::BadName {
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_follow_dvcs_layout() {
        let oid = Oid::from_str("0123456789abcdef0123456789abcdef01234567").expect("oid");
        assert_eq!(
            exp_ref(oid, "brisk-lark"),
            "refs/mlops/exps/01/23456789abcdef0123456789abcdef01234567/brisk-lark"
        );
    }

    #[test]
    fn names_are_checked() {
        for good in ["a", "lr-0.01", "run_2"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "-x", "a/b", "a..b", "x.lock", "a b", "é"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
