//! Workspace configuration: `.mlops/config.yaml` (committed) under `.mlops/config.local.yaml`
//! (machine-local, git-ignored, the place for credentials and local overrides).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How a workspace copy of a tracked file relates to its cache object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkMode {
    /// Reflink where the filesystem supports it, else an ordinary copy: safe everywhere.
    #[default]
    Auto,
    /// Copy-on-write clone; fails where the filesystem has none.
    Reflink,
    /// Hard link to the read-only object: instant, but the file must not be edited in place.
    Hardlink,
    /// Symbolic link to the read-only object.
    Symlink,
    /// A plain copy.
    Copy,
}

impl LinkMode {
    /// Whether workspace files in this mode share the cache object's inode or point at it, so
    /// they are read-only and `mlops unprotect` is needed before editing them.
    pub fn shares_object(self) -> bool {
        matches!(self, Self::Hardlink | Self::Symlink)
    }

    /// Whether this mode's protection is void for this process: a hard or symbolic link run as
    /// root, where the read-only bit stops nothing and editing a workspace file in place changes
    /// the cache object itself (mlops then detects it: `status` shows the file modified, and the
    /// object is verified before it is linked or uploaded).
    pub fn unprotected_here(self) -> bool {
        self.shares_object() && rustix::process::geteuid().is_root()
    }
}

/// One configuration file as written on disk; every field is optional so files can layer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default, skip_serializing_if = "CacheSection::is_empty")]
    pub cache: CacheSection,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub remotes: BTreeMap<String, RemoteConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_remote: Option<String>,
    #[serde(default, skip_serializing_if = "HooksSection::is_empty")]
    pub hooks: HooksSection,
    #[serde(default, skip_serializing_if = "ClusterSection::is_empty")]
    pub cluster: ClusterSection,
    /// Object-store credentials by remote name; read from `config.local.yaml` only.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub credentials: BTreeMap<String, RemoteCredentials>,
    /// Secrets by name (alert sinks' webhook URLs and keys); read from `config.local.yaml`
    /// only. An environment variable of the same name wins over an entry here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
}

/// One entry of `credentials:` in `config.local.yaml`: an access key for an object-store remote.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
}

impl std::fmt::Debug for RemoteCredentials {
    // Never the secret: errors and logs may print a config.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The `hooks:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HooksSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_commit: Option<PreCommitMode>,
}

impl HooksSection {
    fn is_empty(&self) -> bool {
        self.pre_commit.is_none()
    }
}

/// What the pre-commit hook does about pipeline stages that are out of date in `mlops.lock`.
/// Data changed without `mlops add` is refused either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PreCommitMode {
    /// Warn and let the commit go ahead: data is often committed before the pipeline reruns.
    #[default]
    Warn,
    /// Refuse the commit.
    Strict,
}

/// How many entries (files and directories) a tracked directory may hold, unless
/// `cache.max_tree_entries` in `config.local.yaml` says otherwise: above real data sets
/// (the `ImageNet` training set is 1.3 million files), far below what a few kilobytes of hostile
/// manifests could make mlops expand; expanding this many takes about 1.5 GB.
pub(crate) const DEFAULT_MAX_TREE_ENTRIES: u64 = 10_000_000;

/// The `cluster:` section: how cluster jobs reach the workspace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// Whether the cluster's nodes mount this workspace at the same path (default: yes). When
    /// not, a job builds a workspace of its own from the default remote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<bool>,
    /// Where such a job builds its workspace on the node (default: `/tmp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scratch: Option<PathBuf>,
}

impl ClusterSection {
    fn is_empty(&self) -> bool {
        self.shared.is_none() && self.scratch.is_none()
    }
}

/// The `cache:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkMode>,
    /// The most entries one tracked directory may expand to; read from `config.local.yaml` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tree_entries: Option<u64>,
}

impl CacheSection {
    fn is_empty(&self) -> bool {
        self.link.is_none() && self.max_tree_entries.is_none()
    }
}

/// One entry of `remotes:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteConfig {
    /// A directory path (relative paths are relative to the workspace root), a `file://` URL,
    /// or an object-store URL (`s3://bucket/prefix`).
    pub url: String,
    /// An S3-compatible store's endpoint (`MinIO`, Ceph); not a secret, so it is committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The AWS profile (in `~/.aws/credentials` and `~/.aws/config`) whose credentials to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

impl ConfigFile {
    /// Reads a config file; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Self> {
        let text = match fs_err::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(e.into()),
        };
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        crate::yaml::from_str(&text).map_err(|message| Error::Config {
            path: path.to_owned(),
            message,
        })
    }

    /// Reads the committed config file, which must hold no credentials.
    pub(crate) fn load_shared(path: &Path) -> Result<Self> {
        let file = Self::load(path)?;
        for (section, present) in [
            ("credentials", !file.credentials.is_empty()),
            ("secrets", !file.secrets.is_empty()),
        ] {
            if present {
                return Err(Error::Config {
                    path: path.to_owned(),
                    message: format!(
                        "`{section}` belong in `config.local.yaml` (git-ignored), never in the committed config"
                    ),
                });
            }
        }
        Ok(file)
    }

    /// Writes the file atomically, with a header saying what it is; a `private` file (the local
    /// config, meant for credentials) is readable by its owner only.
    pub fn save(&self, path: &Path, header: &str, private: bool) -> Result<()> {
        let body = crate::yaml::to_string(self).expect("config serialises to YAML");
        let body = if body.trim() == "{}" {
            String::new()
        } else {
            body
        };
        let text = format!("{header}{body}");
        // Config files live in `.mlops/`; their temp files go to `.mlops/tmp` beside them.
        let temp_dir = crate::workspace::temp_dir_in(crate::atomic::parent_of(path));
        if private {
            crate::atomic::write_private_in(&temp_dir, path, text.as_bytes())?;
        } else {
            crate::atomic::write_in(&temp_dir, path, text.as_bytes())?;
        }
        Ok(())
    }
}

/// The configuration in force: the local file layered over the shared one.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub link: LinkMode,
    pub max_tree_entries: u64,
    pub remotes: BTreeMap<String, RemoteConfig>,
    pub default_remote: Option<String>,
    pub pre_commit: PreCommitMode,
    /// Object-store credentials by remote name (from `config.local.yaml` only).
    pub credentials: BTreeMap<String, RemoteCredentials>,
    /// Named secrets (from `config.local.yaml` only); see [`Config::secret`].
    pub secrets: BTreeMap<String, String>,
    /// Whether cluster nodes share the workspace's filesystem (`cluster.shared`, default yes).
    pub cluster_shared: bool,
    /// Where a job on a node without the workspace builds its own (`cluster.scratch`).
    pub cluster_scratch: Option<PathBuf>,
}

impl Config {
    /// Layers `local` over `shared`: its scalar settings win, its remotes add to or replace
    /// the shared ones of the same name.
    pub(crate) fn layered(shared: ConfigFile, local: ConfigFile) -> Self {
        let mut remotes = shared.remotes;
        remotes.extend(local.remotes);
        Self {
            link: local.cache.link.or(shared.cache.link).unwrap_or_default(),
            // Only the machine-local file may raise the limit: it guards against crafted trees,
            // so a committed config (anyone's) must not lift it.
            max_tree_entries: local
                .cache
                .max_tree_entries
                .unwrap_or(DEFAULT_MAX_TREE_ENTRIES),
            remotes,
            default_remote: local.default_remote.or(shared.default_remote),
            pre_commit: local
                .hooks
                .pre_commit
                .or(shared.hooks.pre_commit)
                .unwrap_or_default(),
            cluster_shared: local
                .cluster
                .shared
                .or(shared.cluster.shared)
                .unwrap_or(true),
            cluster_scratch: local.cluster.scratch.or(shared.cluster.scratch),
            credentials: local.credentials,
            secrets: local.secrets,
        }
    }

    /// The secret `name`: the environment variable of that name, or else the `secrets:` entry
    /// of `config.local.yaml`. Never read from a committed file.
    pub fn secret(&self, name: &str) -> Option<String> {
        secret_from_env(name).or_else(|| self.secrets.get(name).cloned())
    }
}

/// The secret `name` from the environment alone (outside a workspace): the variable of that
/// name, when set and not empty.
pub fn secret_from_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_overrides_shared() {
        let shared: ConfigFile = crate::yaml::from_str(
            "cache: {link: copy}\nremotes: {origin: {url: /a}}\ndefault_remote: origin\n",
        )
        .expect("parse");
        let local: ConfigFile =
            crate::yaml::from_str("cache: {link: hardlink}\nremotes: {origin: {url: /b}}\n")
                .expect("parse");
        let config = Config::layered(shared, local);
        assert_eq!(config.link, LinkMode::Hardlink);
        assert_eq!(config.remotes["origin"].url, "/b");
        assert_eq!(config.default_remote.as_deref(), Some("origin"));
    }

    #[test]
    fn credentials_are_refused_in_the_committed_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.yaml");
        let text = "credentials:\n  origin:\n    access_key_id: a\n    secret_access_key: s3cr3t\n";
        fs_err::write(&path, text).expect("write");
        let err = ConfigFile::load_shared(&path).expect_err("refused");
        assert!(err.to_string().contains("config.local.yaml"), "{err}");
        assert!(!err.to_string().contains("s3cr3t"));
        let creds = ConfigFile::load(&path).expect("parses").credentials;
        assert!(!format!("{creds:?}").contains("s3cr3t"));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(crate::yaml::from_str::<ConfigFile>("cache: {lnk: copy}\n").is_err());
        assert!(crate::yaml::from_str::<ConfigFile>("hooks: {pre_comit: strict}\n").is_err());
        assert!(crate::yaml::from_str::<ConfigFile>("hooks: {pre_commit: never}\n").is_err());
    }

    #[test]
    fn pre_commit_mode_defaults_to_warn() {
        let config = Config::layered(ConfigFile::default(), ConfigFile::default());
        assert_eq!(config.pre_commit, PreCommitMode::Warn);
        let shared: ConfigFile =
            crate::yaml::from_str("hooks: {pre_commit: strict}\n").expect("parse");
        let config = Config::layered(shared, ConfigFile::default());
        assert_eq!(config.pre_commit, PreCommitMode::Strict);
    }
}
