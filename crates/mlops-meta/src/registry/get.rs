//! `model get`: a registered version placed at a path the user names, inside the workspace
//! (checked out like any tracked path) or outside it (copied from the cache), never over
//! anything but a new or empty directory or, with `--force`, an earlier copy of the model.

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

use super::{Action, Located, Registry};
use crate::error::{Error, Result};

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
            jobs: Some(self.jobs),
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

impl GetReport {
    /// What a get of the `located` version into `output` did.
    fn new(located: Located, output: PathBuf, checkout: CheckoutReport) -> Self {
        Self {
            digest: located.pointer.digest.to_string(),
            model: located.model,
            version: located.version,
            commit: located.commit,
            path: located.path,
            output,
            checkout,
        }
    }
}

impl Registry<'_> {
    /// Materialises the version `reference` names at `options.output`: checks the output (a
    /// safe path overlapping no tracked path or pointer file, new or an empty directory, or
    /// with `force` an earlier copy of this model), fetches from the default remote what the
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
        Ok(GetReport::new(located, output.rel, report))
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
        let checkout = CheckoutReport {
            restored,
            ..CheckoutReport::default()
        };
        Ok(GetReport::new(located, dest.clone(), checkout))
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
pub(crate) fn check_output(
    ws: &Workspace,
    located: &Located,
    rel: &Path,
    force: bool,
) -> Result<Tracked> {
    let tracked = Tracked::new(ws.root(), rel, located.pointer.clone())?;
    let refuse = |why: String| Error::BadOutput {
        path: tracked.rel.clone(),
        why,
    };
    let others = mlops_pipeline::tracked::all(ws)?;
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
pub(crate) fn check_replaceable(
    ws: &Workspace,
    output: &Tracked,
    registered: &[String],
) -> Result<()> {
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
