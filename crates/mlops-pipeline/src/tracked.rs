//! The workspace's tracked paths: data tracked with pointer files and the pipeline outputs that
//! `mlops.lock` records. Both kinds are restored, pushed, pulled, kept by `gc` and shown by
//! `status` alike, so every command asks here rather than combining the two itself.
//!
//! It lives in this crate because this is the lowest layer that knows both: pointer files are
//! `mlops-core`'s, the lock is this crate's. `mlops-meta` (notes, diff, hooks, the registry) is
//! built on this crate and asks here too.

use std::path::PathBuf;

use mlops_core::Workspace;
use mlops_core::ops::gc::GcReport;
use mlops_core::ops::{self, Tracked};

use crate::error::Result;
use crate::lockfile::LockFile;

/// The tracked paths that `targets` name: workspace-relative tracked paths, pointer files, or
/// directories holding either (pipeline outputs and pointer files may share a directory). No
/// targets means every tracked path of the workspace. Sorted by path, each once.
///
/// A target that names neither a pointer file nor a pipeline output is an error
/// ([`mlops_core::Error::NotTracked`]), as is a lock output that is not a safe workspace path.
pub fn resolve(ws: &Workspace, targets: &[PathBuf]) -> Result<Vec<Tracked>> {
    let outputs = LockFile::load(ws.root())?.tracked_outputs(ws.root())?;
    let mut tracked = Vec::new();
    if targets.is_empty() {
        tracked = ops::resolve(ws, &[])?;
        tracked.extend(outputs.iter().cloned());
    }
    for target in targets {
        let inside: Vec<Tracked> = outputs
            .iter()
            .filter(|o| o.rel.starts_with(target))
            .cloned()
            .collect();
        if inside.is_empty() {
            tracked.extend(ops::resolve(ws, std::slice::from_ref(target))?);
            continue;
        }
        match ops::resolve(ws, std::slice::from_ref(target)) {
            Ok(found) => tracked.extend(found),
            Err(mlops_core::Error::NotTracked { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        tracked.extend(inside);
    }
    tracked.sort_by(|a, b| a.rel.cmp(&b.rel));
    tracked.dedup_by(|a, b| a.rel == b.rel);
    Ok(tracked)
}

/// Every tracked path of the workspace: [`resolve`] with no targets.
pub fn all(ws: &Workspace) -> Result<Vec<Tracked>> {
    resolve(ws, &[])
}

/// `mlops gc`: removes the cache objects that no tracked path of the workspace needs, nor any
/// of `also_keep` (tracked paths of other revisions). The tracked paths are read under the
/// workspace lock, so data that an `add` or a run recorded while `gc` waited for it is kept;
/// while cluster jobs wait to be taken up by `mlops run`, it refuses.
pub fn gc(ws: &Workspace, dry_run: bool, also_keep: &[Tracked]) -> Result<GcReport> {
    let _lock = ws.lock()?;
    // Jobs run with `--no-wait` or `--detach` cache outputs that no lock entry names yet.
    crate::cluster::driver::refuse_if_jobs_pending(ws)?;
    let mut keep = all(ws)?;
    keep.extend_from_slice(also_keep);
    Ok(ops::gc::gc_locked(ws, dry_run, &keep)?)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use mlops_core::manifest::EntryKind;
    use mlops_core::pointer::Pointer;

    use super::*;
    use crate::lockfile::{OutLock, StageLock};

    fn pointer(text: &str) -> Pointer {
        Pointer {
            kind: EntryKind::File,
            digest: mlops_core::Digest::from(*blake3::hash(text.as_bytes()).as_bytes()),
            size: text.len() as u64,
            files: None,
            exec: false,
        }
    }

    /// A workspace with data tracked by pointer files (`data/raw.csv`, `data/extra.csv`) and a
    /// lock recording two outputs (`data/prepared.csv`, `models/m.bin`).
    fn workspace() -> (tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().expect("tempdir");
        Workspace::init(dir.path(), true).expect("init");
        let ws = Workspace::discover(dir.path()).expect("workspace");
        let temp = ws.mlops_dir().join("tmp");
        fs_err::create_dir_all(ws.root().join("data")).expect("mkdir");
        for name in ["data/raw.csv", "data/extra.csv"] {
            pointer(name)
                .save(&ws.root().join(name), &temp)
                .expect("save a pointer");
        }
        let outs = ["data/prepared.csv", "models/m.bin"]
            .map(|path| OutLock::new(PathBuf::from(path), &pointer(path)))
            .to_vec();
        let mut lock = LockFile::load(ws.root()).expect("empty lock");
        lock.stages.insert(
            "prepare".into(),
            StageLock {
                cmd: "true".into(),
                deps: Vec::new(),
                params: std::collections::BTreeMap::new(),
                outs,
                metrics: Vec::new(),
                env: None,
            },
        );
        lock.save(ws.root()).expect("save the lock");
        (dir, ws)
    }

    fn paths(tracked: &[Tracked]) -> Vec<&Path> {
        tracked.iter().map(|t| t.rel.as_path()).collect()
    }

    #[test]
    fn all_is_the_pointers_and_the_lock_outputs_sorted() {
        let (_dir, ws) = workspace();
        let all = all(&ws).expect("resolve");
        assert_eq!(
            paths(&all),
            [
                "data/extra.csv",
                "data/prepared.csv",
                "data/raw.csv",
                "models/m.bin"
            ]
            .map(Path::new)
        );
        // Each keeps the pointer its file or the lock records.
        assert_eq!(all[1].pointer, pointer("data/prepared.csv"));
        assert_eq!(all[2].pointer, pointer("data/raw.csv"));
    }

    #[test]
    fn targets_select_pointers_outputs_and_directories_of_both() {
        let (_dir, ws) = workspace();
        let pick = |targets: &[&str]| {
            let targets: Vec<PathBuf> = targets.iter().map(PathBuf::from).collect();
            resolve(&ws, &targets).map(|t| {
                t.iter()
                    .map(|t| t.rel.display().to_string())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            pick(&["models/m.bin"]).expect("an output"),
            ["models/m.bin"]
        );
        assert_eq!(
            pick(&["data/raw.csv.mlops"]).expect("a pointer file"),
            ["data/raw.csv"]
        );
        // A directory holding both kinds gives both, and a path named twice comes once.
        assert_eq!(
            pick(&["data", "data/raw.csv"]).expect("a directory"),
            ["data/extra.csv", "data/prepared.csv", "data/raw.csv"]
        );
        assert!(matches!(
            pick(&["nothing/here"]),
            Err(crate::Error::Core(mlops_core::Error::NotTracked { .. }))
        ));
    }

    #[test]
    fn an_unsafe_lock_output_is_refused() {
        let (_dir, ws) = workspace();
        let mut lock = LockFile::load(ws.root()).expect("lock");
        lock.stages
            .get_mut("prepare")
            .expect("stage")
            .outs
            .push(OutLock::new(PathBuf::from("../outside"), &pointer("x")));
        lock.save(ws.root()).expect("save");
        assert!(matches!(all(&ws), Err(crate::Error::BadLock { .. })));
    }

    #[test]
    fn gc_keeps_the_objects_of_pointers_and_lock_outputs_only() {
        use mlops_core::config::LinkMode;
        use mlops_core::ops::add::{AddOptions, add};
        use mlops_core::progress::NoProgress;

        let dir = tempfile::tempdir().expect("tempdir");
        Workspace::init(dir.path(), true).expect("init");
        let ws = Workspace::discover(dir.path()).expect("workspace");
        for (name, text) in [
            ("raw.csv", "raw"),
            ("model.bin", "model"),
            ("old.txt", "old"),
        ] {
            fs_err::write(ws.root().join(name), text).expect("write");
        }
        let options = AddOptions {
            link: LinkMode::Copy,
        };
        let names = ["raw.csv", "model.bin", "old.txt"].map(PathBuf::from);
        add(&ws, &names, &options, &NoProgress).expect("add");
        // `model.bin` becomes a pipeline output (its pointer moves into the lock); `old.txt`'s
        // pointer goes, so nothing needs its object any more.
        let model = Pointer::load(&ws.root().join("model.bin.mlops")).expect("pointer");
        fs_err::remove_file(ws.root().join("model.bin.mlops")).expect("rm");
        fs_err::remove_file(ws.root().join("old.txt.mlops")).expect("rm");
        let mut lock = LockFile::load(ws.root()).expect("empty lock");
        lock.stages.insert(
            "train".into(),
            StageLock {
                cmd: "true".into(),
                deps: Vec::new(),
                params: std::collections::BTreeMap::new(),
                outs: vec![OutLock::new(PathBuf::from("model.bin"), &model)],
                metrics: Vec::new(),
                env: None,
            },
        );
        lock.save(ws.root()).expect("save the lock");

        let report = gc(&ws, false, &[]).expect("gc");
        assert_eq!((report.removed_objects, report.kept_objects), (1, 2));
        let store = ws.store();
        assert!(store.contains(&model.digest));
        let raw = Pointer::load(&ws.root().join("raw.csv.mlops")).expect("pointer");
        assert!(store.contains(&raw.digest));
    }
}
