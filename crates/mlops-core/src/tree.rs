//! Reading a tracked tree back out of the store: the objects a pointer needs, and the files and
//! directories a directory pointer describes.

use std::path::{Path, PathBuf};

use crate::digest::Digest;
use crate::error::Result;
use crate::manifest::{EntryKind, Manifest};
use crate::pointer::Pointer;
use crate::store::Store;

/// A file a manifest tree describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    /// Relative to the workspace root.
    pub rel: PathBuf,
    pub digest: Digest,
    pub size: u64,
    pub exec: bool,
}

/// The whole content of a directory pointer.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    pub files: Vec<TreeFile>,
    /// Every directory, the root first, parents before children.
    pub dirs: Vec<PathBuf>,
    /// Every manifest object, the root first.
    pub manifests: Vec<Digest>,
}

/// Reads the manifest tree rooted at `digest` for the workspace path `rel`.
pub fn read_tree(store: &Store, digest: &Digest, rel: &Path) -> Result<Tree> {
    let mut tree = Tree::default();
    let mut queue = vec![(rel.to_path_buf(), *digest)];
    while let Some((dir, digest)) = queue.pop() {
        let manifest = Manifest::parse(&digest, &store.read(&digest)?)?;
        tree.dirs.push(dir.clone());
        tree.manifests.push(digest);
        for entry in manifest.entries.into_iter().rev() {
            let child = dir.join(&entry.name);
            match entry.kind {
                EntryKind::Dir => queue.push((child, entry.digest)),
                EntryKind::File => {
                    tree.files.push(TreeFile {
                        rel: child,
                        digest: entry.digest,
                        size: entry.size,
                        exec: entry.exec,
                    });
                }
            }
        }
    }
    Ok(tree)
}

/// Every object a pointer needs (manifests first), read through the manifests in `store`.
pub fn objects_of(store: &Store, pointer: &Pointer, rel: &Path) -> Result<Vec<Digest>> {
    match pointer.kind {
        EntryKind::File => Ok(vec![pointer.digest]),
        EntryKind::Dir => {
            let tree = read_tree(store, &pointer.digest, rel)?;
            let mut out = tree.manifests;
            out.extend(tree.files.iter().map(|f| f.digest));
            Ok(out)
        }
    }
}
