//! The workspace: the directory holding `.mlops/`, its layout, its configuration, and how user
//! paths map onto workspace-relative ones.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::config::{Config, ConfigFile};
use crate::error::{Error, Result};
use crate::lock::WorkspaceLock;
use crate::store::Store;

/// How long a writer waits for another to release the lock before giving up.
pub(crate) const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(5);

/// The directory name that marks a workspace root.
pub const MLOPS_DIR: &str = ".mlops";

/// Where every temp file for the workspace is made, given its `.mlops/` directory: the next
/// writer to take the lock empties it, so nothing a killed process was writing outlives it.
pub fn temp_dir_in(mlops_dir: &Path) -> PathBuf {
    mlops_dir.join("tmp")
}

const CONFIG_HEADER: &str = "# mlops workspace configuration, committed to git.\n\
# Credentials and machine-specific settings belong in config.local.yaml.\n";
const LOCAL_CONFIG_HEADER: &str =
    "# Machine-local mlops settings, never committed; they override config.yaml.\n";
const MLOPS_GITIGNORE: &str = "/config.local.yaml\n/cache/\n/tmp/\n/index\n/lock\n/logs/\n/runs/\n\
     /run-cache/\n/running/\n/predictions/\n/labels/\n/exps/\n";

/// Where experiments' worktrees live, in the main workspace's `.mlops/`: each is named as a temp
/// file of [`crate::atomic`] (so by the process that made it), and the next command removes those
/// of processes no longer running.
pub const EXPS_DIR: &str = "exps";

/// An opened workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    config: Config,
    lock_wait: Duration,
    /// For an experiment's worktree: the main workspace's `.mlops/`, whose object cache, run
    /// cache and run records it shares.
    shared: Option<PathBuf>,
}

/// What `init` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InitReport {
    pub root: PathBuf,
    /// False when the workspace already existed and nothing was changed.
    pub created: bool,
    pub git: bool,
}

impl Workspace {
    /// Creates a workspace at the git work-tree root containing `dir`, or at `dir` itself with
    /// `no_git`. A second call is a no-op.
    pub fn init(dir: &Path, no_git: bool) -> Result<InitReport> {
        let dir = fs_err::canonicalize(dir)?;
        let root = if no_git {
            dir
        } else {
            crate::git::work_tree_root(&dir).ok_or(Error::NotInGit { dir: dir.clone() })?
        };
        let root = fs_err::canonicalize(root)?;
        let mlops = root.join(MLOPS_DIR);
        if mlops.join("config.yaml").is_file() {
            return Ok(InitReport {
                root,
                created: false,
                git: !no_git,
            });
        }
        fs_err::create_dir_all(mlops.join("cache"))?;
        fs_err::create_dir_all(temp_dir_in(&mlops))?;
        crate::atomic::write_in(
            &temp_dir_in(&mlops),
            &mlops.join(".gitignore"),
            MLOPS_GITIGNORE.as_bytes(),
        )?;
        ConfigFile::default().save(&mlops.join("config.local.yaml"), LOCAL_CONFIG_HEADER, true)?;
        // config.yaml last: its presence is what marks a finished init.
        ConfigFile::default().save(&mlops.join("config.yaml"), CONFIG_HEADER, false)?;
        Ok(InitReport {
            root,
            created: true,
            git: !no_git,
        })
    }

    /// Opens the workspace containing `start` (or `start` itself). Inside an experiment's
    /// worktree, that is the worktree attached to the main workspace (see [`Workspace::attach`]),
    /// so a stage's own `mlops` commands read the shared cache.
    pub fn discover(start: &Path) -> Result<Self> {
        let start = fs_err::canonicalize(start)?;
        let root = start
            .ancestors()
            .find(|dir| dir.join(MLOPS_DIR).join("config.yaml").is_file())
            .ok_or_else(|| Error::NotAWorkspace {
                start: start.clone(),
            })?
            .to_path_buf();
        if let Some(main_root) = main_of_worktree(&root) {
            let main = Self::discover(&main_root)?;
            return Self::attach(&root, &main);
        }
        let mlops = root.join(MLOPS_DIR);
        make_private(&mlops.join("config.local.yaml"));
        // Whatever command this is, the worktrees of killed experiments go first (only those
        // whose process is gone: a read of one small directory when there are none).
        crate::worktrees::remove_stale(&root, &mlops.join(EXPS_DIR));
        let config = Config::layered(
            ConfigFile::load_shared(&mlops.join("config.yaml"))?,
            ConfigFile::load(&mlops.join("config.local.yaml"))?,
        );
        Ok(Self {
            root,
            config,
            lock_wait: DEFAULT_LOCK_WAIT,
            shared: None,
        })
    }

    /// The workspace at `root`, an experiment's worktree inside `main`'s `.mlops/exps/`: its own
    /// lock, index, logs and temp dir, `main`'s config (the worktree has no local config, where
    /// remotes and credentials live), object cache, run cache and run records.
    pub fn attach(root: &Path, main: &Workspace) -> Result<Self> {
        Ok(Self {
            root: fs_err::canonicalize(root)?,
            config: main.config.clone(),
            lock_wait: main.lock_wait,
            shared: Some(main.shared_dir()),
        })
    }

    /// The `.mlops/` whose cache, run cache and run records this workspace uses: its own, or
    /// the main workspace's for an experiment's worktree.
    pub fn shared_dir(&self) -> PathBuf {
        self.shared.clone().unwrap_or_else(|| self.mlops_dir())
    }

    /// Where experiments' worktrees are made.
    pub fn exps_dir(&self) -> PathBuf {
        self.shared_dir().join(EXPS_DIR)
    }

    /// Held shared by each `mlops exp run` while its runs store objects that no ref names yet,
    /// and exclusive by `gc`, which waits for them (then says experiments are running).
    pub fn experiments_lock(&self, exclusive: bool) -> Result<WorkspaceLock> {
        // A workspace made before experiments does not ignore their directory yet.
        if self.shared.is_none() {
            self.ensure_ignored(&["/exps/"])?;
        }
        let dir = self.exps_dir();
        fs_err::create_dir_all(&dir)?;
        let path = dir.join("lock");
        WorkspaceLock::acquire_as(&path, self.lock_wait, !exclusive).map_err(|e| match e {
            Error::Locked { path, .. } => Error::ExperimentsRunning { path },
            other => other,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn mlops_dir(&self) -> PathBuf {
        self.root.join(MLOPS_DIR)
    }

    /// Adds each of `entries` (lines such as `/predictions/`) that `.mlops/.gitignore` lacks,
    /// for workspaces made before mlops ignored what it now writes there.
    pub fn ensure_ignored(&self, entries: &[&str]) -> Result<()> {
        let mlops = self.mlops_dir();
        let path = mlops.join(".gitignore");
        let text = match fs_err::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e.into()),
        };
        let missing: Vec<&str> = entries
            .iter()
            .copied()
            .filter(|entry| !text.lines().any(|line| line.trim() == *entry))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut updated = text;
        if !updated.is_empty() && !updated.ends_with('\n') {
            updated.push('\n');
        }
        for entry in missing {
            updated.push_str(entry);
            updated.push('\n');
        }
        // The commands that call this (serve, feedback, monitor) take no workspace lock, whose
        // sweep would clear `.mlops/tmp`: a temp file of this write left by a killed run of
        // theirs is removed by the next one.
        let temp_dir = temp_dir_in(&mlops);
        crate::atomic::remove_stale_temps(&temp_dir);
        crate::atomic::write_in(&temp_dir, &path, updated.as_bytes())
    }

    /// The committed config file.
    pub(crate) fn shared_config_path(&self) -> PathBuf {
        self.mlops_dir().join("config.yaml")
    }

    /// The machine-local config file.
    pub(crate) fn local_config_path(&self) -> PathBuf {
        self.mlops_dir().join("config.local.yaml")
    }

    /// Rewrites one of the two config files through `edit`, then reloads the layered config.
    pub fn edit_config(
        &mut self,
        local: bool,
        edit: impl FnOnce(&mut ConfigFile) -> Result<()>,
    ) -> Result<()> {
        let (path, header) = if local {
            (self.local_config_path(), LOCAL_CONFIG_HEADER)
        } else {
            (self.shared_config_path(), CONFIG_HEADER)
        };
        let mut file = ConfigFile::load(&path)?;
        edit(&mut file)?;
        file.save(&path, header, local)?;
        self.config = Config::layered(
            ConfigFile::load_shared(&self.shared_config_path())?,
            ConfigFile::load(&self.local_config_path())?,
        );
        Ok(())
    }

    /// The local object cache (the main workspace's, for an experiment's worktree; the temp
    /// dir is this workspace's own, on the same filesystem).
    pub fn store(&self) -> Store {
        Store::new(
            self.shared_dir().join("cache"),
            temp_dir_in(&self.mlops_dir()),
        )
        .with_max_tree_entries(self.config.max_tree_entries)
    }

    /// Where the hash index lives.
    pub fn index_path(&self) -> PathBuf {
        self.mlops_dir().join("index")
    }

    /// Sets how long [`Workspace::lock`] waits for another writer.
    pub fn set_lock_wait(&mut self, wait: Duration) {
        self.lock_wait = wait;
    }

    /// Takes the write lock, and clears temp files that a killed writer may have left (no other
    /// writer can be using them while we hold the lock).
    pub fn lock(&self) -> Result<WorkspaceLock> {
        self.lock_within(self.lock_wait)
    }

    /// Takes the write lock if it is free right now (for opportunistic writes such as the index
    /// refresh in `status`).
    pub(crate) fn try_lock(&self) -> Option<WorkspaceLock> {
        self.lock_within(Duration::ZERO).ok()
    }

    fn lock_within(&self, wait: Duration) -> Result<WorkspaceLock> {
        let lock = WorkspaceLock::acquire(&self.mlops_dir().join("lock"), wait)?;
        let tmp = temp_dir_in(&self.mlops_dir());
        match fs_err::read_dir(&tmp) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    crate::atomic::remove_entry(&entry.path());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => fs_err::create_dir_all(&tmp)?,
            Err(e) => return Err(e.into()),
        }
        Ok(lock)
    }

    /// Maps a user-given path (relative to `cwd`, or absolute) to a normalised path relative to
    /// the workspace root (empty for the root itself), refusing paths outside it or inside
    /// `.mlops/`.
    pub fn relative(&self, cwd: &Path, path: &Path) -> Result<PathBuf> {
        let absolute = normalize(&cwd.join(path));
        let rel = absolute
            .strip_prefix(&self.root)
            .map_err(|_| Error::OutsideWorkspace {
                path: path.to_owned(),
                root: self.root.clone(),
            })?
            .to_path_buf();
        if rel.components().next() == Some(Component::Normal(MLOPS_DIR.as_ref())) {
            return Err(Error::InsideMlopsDir {
                path: path.to_owned(),
            });
        }
        Ok(rel)
    }

    /// The absolute path of a workspace-relative one.
    pub fn abs(&self, rel: &Path) -> PathBuf {
        self.root.join(rel)
    }
}

/// The main workspace root of a worktree root `<main>/.mlops/exps/<dir>[/<prefix>]`, if `root`
/// is one.
fn main_of_worktree(root: &Path) -> Option<PathBuf> {
    root.ancestors().find_map(|dir| {
        let exps = dir.parent()?;
        let mlops = exps.parent()?;
        (exps.file_name()? == EXPS_DIR
            && mlops.file_name()? == MLOPS_DIR
            && mlops.join("config.yaml").is_file()
            && crate::atomic::parse_temp_name(dir.file_name()?).is_some())
        .then(|| mlops.parent().map(Path::to_path_buf))
        .flatten()
    })
}

/// Makes a local config that an older mlops created readable by others (0644) its owner's only
/// (0600): it is the place for credentials. Best effort: a file mlops cannot change stays.
fn make_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs_err::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        let _ = fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}

/// Resolves `.` and `..` lexically, without touching the filesystem (the path may not exist).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_dots() {
        assert_eq!(normalize(Path::new("/a/./b/../c/")), PathBuf::from("/a/c"));
    }

    #[test]
    fn relative_refuses_outside_and_mlops_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        Workspace::init(dir.path(), true).expect("init");
        let ws = Workspace::discover(dir.path()).expect("discover");
        let root = ws.root().to_path_buf();
        assert_eq!(
            ws.relative(&root, Path::new("data/")).expect("rel"),
            PathBuf::from("data")
        );
        assert!(matches!(
            ws.relative(&root, Path::new("../x")),
            Err(Error::OutsideWorkspace { .. })
        ));
        assert!(matches!(
            ws.relative(&root, Path::new(".mlops/cache")),
            Err(Error::InsideMlopsDir { .. })
        ));
    }

    #[test]
    fn ensure_ignored_adds_only_what_is_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        Workspace::init(dir.path(), true).expect("init");
        let ws = Workspace::discover(dir.path()).expect("discover");
        let path = ws.mlops_dir().join(".gitignore");
        // A workspace made before serving: neither log is ignored, the file lacks a last newline.
        fs_err::write(&path, "/cache/\n/tmp/").expect("write");
        ws.ensure_ignored(&["/predictions/", "/labels/", "/cache/"])
            .expect("ensure");
        let text = fs_err::read_to_string(&path).expect("read");
        assert_eq!(text, "/cache/\n/tmp/\n/predictions/\n/labels/\n");
        ws.ensure_ignored(&["/predictions/", "/labels/"])
            .expect("again");
        assert_eq!(fs_err::read_to_string(&path).expect("read"), text);
    }
}
