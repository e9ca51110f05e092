//! `move`: rename a tracked path (as `dvc move`): its data, its pointer file and its `.gitignore`
//! line move together, and the cache is not touched.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::pointer::{Pointer, pointer_path};
use crate::workspace::Workspace;

/// What `move` did.
#[derive(Debug, Clone, Serialize)]
pub struct MoveReport {
    pub from: PathBuf,
    pub to: PathBuf,
    /// The new pointer file (commit it, and the old one's deletion).
    pub pointer: PathBuf,
    /// Whether the data was in the workspace and moved with it.
    pub data_moved: bool,
}

/// Moves the tracked path `source` (or the one its pointer file names) to `dest`, or into `dest`
/// when that is an existing directory. `pipeline_outputs` are refused on either side: the
/// pipeline owns them. Every check runs before anything changes.
pub fn move_path(
    ws: &Workspace,
    source: &Path,
    dest: &Path,
    pipeline_outputs: &[PathBuf],
) -> Result<MoveReport> {
    let _lock = ws.lock()?;
    let from = super::remove::tracked_path(ws, source, pipeline_outputs)?;
    let mut to = crate::safepath::check(ws.root(), dest)?;
    if to.as_os_str().is_empty() || ws.abs(&to).is_dir() && !ws.abs(&pointer_path(&to)).is_file() {
        to.push(from.file_name().expect("tracked paths have a name"));
        // `dest` is now a parent: one that is a symbolic link must not lead out.
        to = crate::safepath::check(ws.root(), &to)?;
    }
    check_dest(ws, &from, &to, pipeline_outputs)?;

    // The new pointer and `.gitignore` line come first and the old pointer goes last: a kill
    // in between leaves two pointers naming the same objects (so `gc` keeps them), never data
    // that git would see or objects that no pointer protects.
    let temp_dir = ws.store().temp_dir().to_owned();
    let pointer = Pointer::load(&ws.abs(&pointer_path(&from)))?;
    let to_parent = to.parent().unwrap_or(Path::new(""));
    fs_err::create_dir_all(ws.abs(to_parent))?;
    crate::git::ignore_in(&ws.abs(to_parent), &name_of(&to), &temp_dir)?;
    pointer.save(&ws.abs(&to), &temp_dir)?;
    let data_moved = fs_err::symlink_metadata(ws.abs(&from)).is_ok();
    if data_moved {
        crate::faults::write_step();
        fs_err::rename(ws.abs(&from), ws.abs(&to))?;
        // A rename keeps each file's stamp: the digests known for the old paths still hold.
        let mut index = crate::index::HashIndex::load(&ws.index_path());
        index.rename_under(&from, &to);
        index.save(&ws.index_path())?;
    }
    crate::faults::write_step();
    fs_err::remove_file(ws.abs(&pointer_path(&from)))?;
    let from_parent = from.parent().unwrap_or(Path::new(""));
    crate::git::unignore_in(&ws.abs(from_parent), &name_of(&from), &temp_dir)?;
    Ok(MoveReport {
        pointer: pointer_path(&to),
        from,
        to,
        data_moved,
    })
}

fn name_of(rel: &Path) -> String {
    rel.file_name()
        .expect("tracked paths have a name")
        .to_string_lossy()
        .into_owned()
}

/// Refuses a destination that overlaps the source, cannot be tracked (see
/// [`super::check_trackable`]), exists, or lies inside a pipeline output.
fn check_dest(ws: &Workspace, from: &Path, to: &Path, pipeline_outputs: &[PathBuf]) -> Result<()> {
    if to.starts_with(from) {
        return Err(Error::InsideTracked {
            path: to.to_owned(),
            tracked: from.to_owned(),
        });
    }
    super::check_trackable(ws, to)?;
    if fs_err::symlink_metadata(ws.abs(to)).is_ok() || ws.abs(&pointer_path(to)).is_file() {
        return Err(Error::Exists {
            path: to.to_owned(),
        });
    }
    if pipeline_outputs.iter().any(|o| to.starts_with(o)) {
        return Err(Error::PipelineOutput {
            path: to.to_owned(),
        });
    }
    Ok(())
}
