//! Remotes: where objects go with `push` and come from with `pull`.
//!
//! A remote is anything that can answer four questions about objects by digest (list, exists, put,
//! get): the directory remote (a local or mounted path, or a `file://` URL) and the
//! object-store remote (`s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix`,
//! module `object`), both laying objects out as the cache does. Module `store` builds every
//! object-store client from a URL; [`url`] reads data inputs given as URLs through it. Callers verify digests on both sides: an object is
//! checked before it is put, and after it is got and before it enters the cache.

use std::collections::HashSet;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::atomic::temp_path;
use crate::config::RemoteConfig;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::ops::transfer::DEFAULT_JOBS;
use crate::safepath::is_named;
use crate::workspace::{MLOPS_DIR, Workspace};

mod object;
mod store;
pub(crate) use store::runtime;
pub mod url;

use store::{ObjectUrl, Scheme};

/// Object storage somewhere else.
pub trait Remote: Sync {
    /// The configured name.
    fn name(&self) -> &str;
    /// Every object the remote holds.
    fn list(&self) -> Result<HashSet<Digest>>;
    fn exists(&self, digest: &Digest) -> Result<bool>;
    /// Uploads the local file `src` as object `digest`; a partial upload is never visible.
    /// An object already there may be left as it is (its name is its content's digest).
    fn put(&self, digest: &Digest, src: &Path) -> Result<()>;
    /// Uploads `src` over the remote's corrupt copy of object `digest` (`push --verify`).
    fn replace(&self, digest: &Digest, src: &Path) -> Result<()> {
        self.put(digest, src)
    }
    /// Downloads object `digest` into the new file `dest`.
    fn get(&self, digest: &Digest, dest: &Path) -> Result<()>;
    /// Hashes the remote's copy of object `digest`, to find copies corrupted there.
    fn hash(&self, digest: &Digest) -> Result<Digest>;
    /// Removes what killed uploads of ours left behind (before a push).
    fn remove_stale_temps(&self) {}
    /// Objects in flight at once when the user does not say.
    fn default_jobs(&self) -> usize {
        DEFAULT_JOBS
    }
    /// Uploads `src` as the small file `name` in the remote's [`NAMED_DIR`] (what a cluster job
    /// without the workspace leaves for its driver), replacing one of that name.
    fn put_named(&self, name: &str, src: &Path) -> Result<()>;
    /// Downloads the named file into the new file `dest`; false when the remote has none.
    fn get_named(&self, name: &str, dest: &Path) -> Result<bool>;
    /// Removes the named file, if there.
    fn remove_named(&self, name: &str) -> Result<()>;
}

/// The directory (key prefix) of a remote's named files, beside its objects: never a
/// two-character name, so that listing objects passes it by.
pub const NAMED_DIR: &str = "named";

/// Checks a named file's name: one plain component, as the driver makes them.
fn check_name(name: &str) -> Result<()> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if plain {
        Ok(())
    } else {
        Err(Error::BadNamedFile {
            name: name.to_owned(),
        })
    }
}

/// A remote in a directory.
#[derive(Debug)]
pub(crate) struct DirRemote {
    name: String,
    root: PathBuf,
}

impl DirRemote {
    fn object_path(&self, digest: &Digest) -> PathBuf {
        let (dir, rest) = digest.split_hex();
        self.root.join(dir).join(rest)
    }

    fn unusable(&self, source: std::io::Error) -> Error {
        Error::RemoteUnusable {
            path: self.root.clone(),
            source,
        }
    }
}

impl Remote for DirRemote {
    fn name(&self) -> &str {
        &self.name
    }

    fn list(&self) -> Result<HashSet<Digest>> {
        if !self.root.exists() {
            return Ok(HashSet::new());
        }
        crate::store::list_objects(&self.root)
    }

    fn exists(&self, digest: &Digest) -> Result<bool> {
        Ok(self.object_path(digest).exists())
    }

    fn put(&self, digest: &Digest, src: &Path) -> Result<()> {
        let tmp_dir = self.root.join("tmp");
        fs_err::create_dir_all(&tmp_dir).map_err(|e| self.unusable(e))?;
        // Several machines may push to one remote: the name says which one made it.
        let temp = temp_path(&tmp_dir, &crate::atomic::shared_hint("push"));
        let dest = self.object_path(digest);
        let result = (|| {
            fs_err::copy(src, &temp)?;
            fs_err::set_permissions(&temp, std::fs::Permissions::from_mode(0o444))?;
            crate::faults::write_step();
            match fs_err::rename(&temp, &dest) {
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    fs_err::create_dir_all(dest.parent().expect("object paths have a parent"))?;
                    fs_err::rename(&temp, &dest)
                }
                other => other,
            }
        })();
        if result.is_err() {
            let _ = fs_err::remove_file(&temp);
        }
        Ok(result?)
    }

    fn hash(&self, digest: &Digest) -> Result<Digest> {
        match Digest::of_file(&self.object_path(digest)) {
            Ok((actual, _)) => Ok(actual),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(Error::RemoteObjectMissing {
                remote: self.name.clone(),
                digest: *digest,
            }),
            Err(e) => Err(e.into()),
        }
    }

    fn remove_stale_temps(&self) {
        crate::atomic::remove_stale_shared_temps(&self.root.join("tmp"));
    }

    fn get(&self, digest: &Digest, dest: &Path) -> Result<()> {
        match fs_err::copy(self.object_path(digest), dest) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound && !self.object_path(digest).exists() => {
                Err(Error::RemoteObjectMissing {
                    remote: self.name.clone(),
                    digest: *digest,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    fn put_named(&self, name: &str, src: &Path) -> Result<()> {
        check_name(name)?;
        let dir = self.root.join(NAMED_DIR);
        fs_err::create_dir_all(&dir).map_err(|e| self.unusable(e))?;
        let temp = temp_path(&dir, &crate::atomic::shared_hint("named"));
        let result = fs_err::copy(src, &temp).and_then(|_| fs_err::rename(&temp, dir.join(name)));
        if result.is_err() {
            let _ = fs_err::remove_file(&temp);
        }
        Ok(result?)
    }

    fn get_named(&self, name: &str, dest: &Path) -> Result<bool> {
        check_name(name)?;
        match fs_err::copy(self.root.join(NAMED_DIR).join(name), dest) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn remove_named(&self, name: &str) -> Result<()> {
        check_name(name)?;
        match fs_err::remove_file(self.root.join(NAMED_DIR).join(name)) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// Opens the remote called `name`, or the default remote.
pub fn open(ws: &Workspace, name: Option<&str>) -> Result<Box<dyn Remote>> {
    let name = match name {
        Some(name) => name.to_owned(),
        None => ws
            .config()
            .default_remote
            .clone()
            .ok_or(Error::NoDefaultRemote)?,
    };
    let config = ws
        .config()
        .remotes
        .get(&name)
        .ok_or_else(|| Error::RemoteNotFound { name: name.clone() })?;
    if let Some(url) = object_url(&config.url)? {
        let credentials = ws.config().credentials.get(&name);
        return Ok(Box::new(object::ObjectRemote::open(
            &name,
            &url,
            config,
            credentials,
        )?));
    }
    let root = directory_of(ws.root(), &config.url)?;
    Ok(Box::new(DirRemote { name, root }))
}

/// The object store a remote URL names (`s3://`, `gs://`, `az://`, `abfs://`), `None` for a
/// directory; a plain web server cannot be a remote (it cannot be listed or written).
fn object_url(url: &str) -> Result<Option<ObjectUrl>> {
    match ObjectUrl::parse(url) {
        None => Ok(None),
        Some(Err(problem)) => Err(Error::BadRemoteUrl {
            url: url.to_owned(),
            problem,
        }),
        Some(Ok(parsed)) if parsed.scheme == Scheme::Http => Err(Error::UnsupportedRemote {
            url: url.to_owned(),
        }),
        Some(Ok(parsed)) => Ok(Some(parsed)),
    }
}

/// The directory a remote URL names: a `file://` URL, an absolute path, or a path relative to
/// the workspace root. The URL may come from a committed config, so an empty one, the workspace
/// root itself, `.mlops/` and `.git/` are refused: a push must never write among the user's files.
pub(crate) fn directory_of(workspace_root: &Path, url: &str) -> Result<PathBuf> {
    let path = if let Some(rest) = url.strip_prefix("file://") {
        PathBuf::from(rest)
    } else if url.contains("://") {
        return Err(Error::UnsupportedRemote {
            url: url.to_owned(),
        });
    } else {
        PathBuf::from(url)
    };
    let refuse = |problem: &str| Error::BadRemoteUrl {
        url: url.to_owned(),
        problem: problem.to_owned(),
    };
    if path.as_os_str().is_empty() {
        return Err(refuse("it names no directory"));
    }
    let dir = crate::workspace::normalize(&workspace_root.join(path));
    // Check the path as written and as resolved: a committed symlink `r -> .git` is `.git`.
    for candidate in [dir.clone(), crate::safepath::resolve_existing(&dir)] {
        if let Ok(inner) = candidate.strip_prefix(workspace_root) {
            match inner.components().next() {
                None => return Err(refuse("it is the workspace root")),
                Some(Component::Normal(first))
                    if is_named(first, MLOPS_DIR) || is_named(first, ".git") =>
                {
                    return Err(refuse("it is inside `.mlops/` or `.git/`"));
                }
                _ => {}
            }
        }
    }
    Ok(dir)
}

/// How a URL given to `remote add` is stored: a directory inside the workspace as a path
/// relative to it, so the committed config works in every clone; anything else as given.
pub(crate) fn url_to_store(workspace_root: &Path, url: &str) -> Result<String> {
    if object_url(url)?.is_some() {
        return Ok(url.trim_end_matches('/').to_owned());
    }
    let dir = directory_of(workspace_root, url)?;
    if url.contains("://") || Path::new(url).is_relative() {
        return Ok(url.to_owned());
    }
    Ok(match dir.strip_prefix(workspace_root) {
        Ok(inner) => inner.to_string_lossy().into_owned(),
        Err(_) => url.to_owned(),
    })
}

/// One configured remote, for `mlops remote list`.
#[derive(Debug, Clone, Serialize)]
pub struct RemoteInfo {
    pub name: String,
    pub url: String,
    pub default: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Where an object-store remote's credentials come from (never the secret itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
}

/// An object-store remote's settings beside its URL (`remote add --endpoint-url ...`).
#[derive(Debug, Clone, Default)]
pub struct RemoteSettings {
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
}

/// The configured remotes, sorted by name.
pub fn list(ws: &Workspace) -> Vec<RemoteInfo> {
    let default = ws.config().default_remote.as_deref();
    ws.config()
        .remotes
        .iter()
        .map(|(name, config)| RemoteInfo {
            name: name.clone(),
            url: config.url.clone(),
            default: default == Some(name.as_str()),
            endpoint_url: config.endpoint_url.clone(),
            region: config.region.clone(),
            credentials: ObjectUrl::parse(&config.url)
                .and_then(Result::ok)
                .map(|url| {
                    store::credentials_source(&url, config, ws.config().credentials.get(name))
                }),
        })
        .collect()
}

/// Adds a remote to the shared config (or the local one with `local`); returns the URL as
/// stored (see `url_to_store`).
pub fn add(
    ws: &mut Workspace,
    name: &str,
    url: &str,
    settings: RemoteSettings,
    make_default: bool,
    local: bool,
) -> Result<String> {
    check_remote_name(name)?;
    let stored = url_to_store(ws.root(), url)?;
    let has_settings =
        settings.endpoint_url.is_some() || settings.region.is_some() || settings.profile.is_some();
    if has_settings && object_url(url)?.is_none() {
        return Err(Error::BadRemoteUrl {
            url: url.to_owned(),
            problem: "`--endpoint-url`, `--region` and `--profile` apply to object-store remotes only (`s3://`, `gs://`, `az://`)"
                .to_owned(),
        });
    }
    if ws.config().remotes.contains_key(name) {
        return Err(Error::RemoteExists {
            name: name.to_owned(),
        });
    }
    let _lock = ws.lock()?;
    ws.edit_config(local, |file| {
        file.remotes.insert(
            name.to_owned(),
            RemoteConfig {
                url: stored.clone(),
                endpoint_url: settings.endpoint_url,
                region: settings.region,
                profile: settings.profile,
            },
        );
        if make_default {
            file.default_remote = Some(name.to_owned());
        }
        Ok(())
    })?;
    Ok(stored)
}

/// Removes a remote from whichever config files name it, and unsets it as default.
pub fn remove(ws: &mut Workspace, name: &str) -> Result<()> {
    if !ws.config().remotes.contains_key(name) {
        return Err(Error::RemoteNotFound {
            name: name.to_owned(),
        });
    }
    let _lock = ws.lock()?;
    for local in [false, true] {
        ws.edit_config(local, |file| {
            file.remotes.remove(name);
            if file.default_remote.as_deref() == Some(name) {
                file.default_remote = None;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Makes `name` the default remote (in the shared config, or the local one with `local`).
pub fn set_default(ws: &mut Workspace, name: &str, local: bool) -> Result<()> {
    if !ws.config().remotes.contains_key(name) {
        return Err(Error::RemoteNotFound {
            name: name.to_owned(),
        });
    }
    let _lock = ws.lock()?;
    ws.edit_config(local, |file| {
        file.default_remote = Some(name.to_owned());
        Ok(())
    })
}

fn check_remote_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(Error::BadRemoteName {
            name: name.to_owned(),
        })
    }
}
