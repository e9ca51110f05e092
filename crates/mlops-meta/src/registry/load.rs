//! A registered version's files read straight from the cache, for readers that load a model
//! without a copy in the workspace (`predict --model NAME#stage`, and later serving). What the
//! files mean is the reader's business: the registry finds them and makes sure they are there.

use std::path::{Path, PathBuf};

use mlops_core::Workspace;
use mlops_core::ops::Tracked;
use mlops_core::ops::transfer::{self, TransferOptions};
use mlops_core::progress::Progress;

use super::{Located, Registry};
use crate::error::{Error, Result};
use crate::history::Repo;

/// Where a registered version's files are in the cache.
#[derive(Debug, Clone)]
pub struct VersionFiles {
    /// The version, its commit and the model's path there.
    pub located: Located,
    /// The cache object of each file asked for, in the order asked.
    pub files: Vec<PathBuf>,
}

impl Registry<'_> {
    /// The cache objects of the files `names` (relative to the model's directory) of the version
    /// `reference` names (`NAME@vX.Y.Z`, `NAME@latest`, `NAME#STAGE`). A fresh clone has the
    /// registry's tags but not the data: what the cache lacks is fetched from the default
    /// remote first, as for [`Registry::get`].
    pub fn files(
        &self,
        ws: &Workspace,
        reference: &str,
        names: &[&str],
        progress: &dyn Progress,
    ) -> Result<VersionFiles> {
        let located = self.locate(reference)?;
        let tracked = Tracked::new(ws.root(), &located.path, located.pointer.clone())?;
        transfer::fetch_missing(
            ws,
            std::slice::from_ref(&tracked),
            &TransferOptions::default(),
            progress,
        )
        .map_err(|source| Error::FetchFailed {
            reference: reference.to_owned(),
            source: Box::new(source),
        })?;
        let store = ws.store();
        let tree = mlops_core::tree::read_tree(&store, &located.pointer.digest, &located.path)
            .map_err(|source| Error::NotInCache {
                reference: reference.to_owned(),
                source: Box::new(source),
            })?;
        let files = names
            .iter()
            .map(|name| {
                let found = tree
                    .files
                    .iter()
                    .find(|f| f.rel == located.path.join(name))
                    .ok_or_else(|| Error::NoFileInVersion {
                        reference: reference.to_owned(),
                        path: located.path.clone(),
                        name: (*name).to_owned(),
                    })?;
                if !store.contains(&found.digest) {
                    return Err(Error::FileNotInCache {
                        reference: reference.to_owned(),
                        name: (*name).to_owned(),
                    });
                }
                Ok(store.object_path(&found.digest))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(VersionFiles { located, files })
    }
}

/// [`Registry::files`] of the workspace's registry: the one call a reader of registered
/// models makes.
pub fn version_files(
    ws: &Workspace,
    reference: &str,
    names: &[&str],
    progress: &dyn Progress,
) -> Result<VersionFiles> {
    let repo = Repo::open(ws)?;
    Registry::read(&repo)?.files(ws, reference, names, progress)
}

/// Whether `given` (a `--model` value that is not an existing path) is written as a registry
/// reference: `NAME@VERSION` or `NAME#STAGE`.
pub fn is_reference(given: &Path) -> bool {
    let text = given.to_string_lossy();
    text.contains('@') || text.contains('#')
}

#[cfg(test)]
mod tests {
    use mlops_core::config::LinkMode;
    use mlops_core::ops::add::{AddOptions, add};
    use mlops_core::progress::NoProgress;

    use super::*;

    /// A git repository whose model `churn` (a directory of two files) is registered as
    /// v0.0.1 and held by stage `prod`.
    fn registered() -> (tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let git = git2::Repository::init(root).expect("git init");
        let mut config = git.config().expect("git config");
        config.set_str("user.name", "t").expect("name");
        config
            .set_str("user.email", "t@example.com")
            .expect("email");
        Workspace::init(root, false).expect("mlops init");
        let ws = Workspace::discover(root).expect("workspace");
        fs_err::create_dir_all(root.join("models/churn")).expect("mkdir");
        fs_err::write(root.join("models/churn/model.yaml"), "spec").expect("write");
        fs_err::write(root.join("models/churn/weights"), "weights").expect("write");
        let options = AddOptions {
            link: LinkMode::Copy,
        };
        add(&ws, &[PathBuf::from("models/churn")], &options, &NoProgress).expect("add");
        let mut index = git.index().expect("index");
        index
            .add_all(["."], git2::IndexAddOption::DEFAULT, None)
            .expect("git add");
        let tree = git
            .find_tree(index.write_tree().expect("tree"))
            .expect("tree");
        let signature = git.signature().expect("signature");
        git.commit(Some("HEAD"), &signature, &signature, "model", &tree, &[])
            .expect("commit");
        let repo = Repo::open(&ws).expect("repo");
        let registry = Registry::read(&repo).expect("registry");
        registry
            .register(&ws, "churn", Path::new("models/churn"), "HEAD", None, None)
            .expect("register");
        let registry = Registry::read(&repo).expect("registry");
        registry.assign("churn", "v0.0.1", "prod").expect("assign");
        (dir, ws)
    }

    #[test]
    fn a_reference_gives_its_files_in_the_cache() {
        let (_dir, ws) = registered();
        for reference in ["churn#prod", "churn@v0.0.1", "churn@latest"] {
            let found = version_files(&ws, reference, &["weights", "model.yaml"], &NoProgress)
                .expect("the version's files");
            assert_eq!(found.located.version, "v0.0.1");
            assert_eq!(found.located.path, Path::new("models/churn"));
            let texts: Vec<String> = found
                .files
                .iter()
                .map(|f| fs_err::read_to_string(f).expect("read"))
                .collect();
            assert_eq!(texts, ["weights", "spec"], "{reference}");
            // Straight from the cache, not the workspace copy.
            assert!(found.files.iter().all(|f| f.starts_with(ws.mlops_dir())));
        }
    }

    #[test]
    fn a_missing_file_or_object_names_the_reference() {
        let (_dir, ws) = registered();
        let err = version_files(&ws, "churn#prod", &["model.safetensors"], &NoProgress)
            .expect_err("no such file");
        assert_eq!(
            err.to_string(),
            "`churn#prod` (models/churn) has no `model.safetensors`"
        );
        let weights = version_files(&ws, "churn#prod", &["weights"], &NoProgress)
            .expect("found")
            .files
            .remove(0);
        fs_err::remove_file(&weights).expect("remove the object");
        // No default remote to fetch it from.
        let err = version_files(&ws, "churn#prod", &["weights"], &NoProgress).expect_err("gone");
        assert!(matches!(err, Error::FetchFailed { .. }), "{err}");
        assert!(matches!(
            version_files(&ws, "churn#staging", &["weights"], &NoProgress),
            Err(Error::UnknownReference { .. })
        ));
    }

    #[test]
    fn references_are_told_from_paths() {
        for (given, reference) in [
            ("churn#prod", true),
            ("churn@v1.0.0", true),
            ("models/churn", false),
            ("churn", false),
        ] {
            assert_eq!(is_reference(Path::new(given)), reference, "{given}");
        }
    }
}
