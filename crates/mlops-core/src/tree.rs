//! Reading a tracked tree back out of the store: the objects a pointer needs, and the files and
//! directories a directory pointer describes.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::digest::Digest;
use crate::error::{Error, Result};
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
///
/// A manifest names its subdirectories by digest, so a few kilobytes of crafted manifests can
/// describe a tree with billions of paths (one subtree listed twice at each of 30 levels). So
/// each distinct manifest is read and verified once, the size of the expanded tree is counted
/// over distinct subtrees first, and a tree past the store's limit on entries
/// (`cache.max_tree_entries`) is refused with [`Error::TreeTooLarge`] before it is expanded.
pub fn read_tree(store: &Store, digest: &Digest, rel: &Path) -> Result<Tree> {
    let mut parsed: HashMap<Digest, Rc<Manifest>> = HashMap::new();
    let mut counted: HashMap<Digest, u64> = HashMap::new();
    let limit = store.max_tree_entries();
    if count_entries(store, digest, &mut parsed, &mut counted)? > limit {
        return Err(Error::TreeTooLarge {
            path: rel.to_owned(),
            limit,
        });
    }
    let mut tree = Tree::default();
    let mut queue = vec![(rel.to_path_buf(), *digest)];
    while let Some((dir, digest)) = queue.pop() {
        let manifest = Rc::clone(&parsed[&digest]);
        tree.dirs.push(dir.clone());
        tree.manifests.push(digest);
        for entry in manifest.entries.iter().rev() {
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

/// The entries below the manifest `digest`, once expanded: each distinct manifest is read and
/// counted once (saturating, so a hostile tree cannot overflow the count).
fn count_entries(
    store: &Store,
    root: &Digest,
    parsed: &mut HashMap<Digest, Rc<Manifest>>,
    counted: &mut HashMap<Digest, u64>,
) -> Result<u64> {
    // Depth-first without recursion: a manifest is counted once all its subdirectories are.
    let mut stack = vec![(*root, false)];
    while let Some((digest, children_done)) = stack.pop() {
        if counted.contains_key(&digest) {
            continue;
        }
        let manifest = if let Some(manifest) = parsed.get(&digest) {
            Rc::clone(manifest)
        } else {
            let manifest = Rc::new(Manifest::parse(&digest, &store.read(&digest)?)?);
            parsed.insert(digest, Rc::clone(&manifest));
            manifest
        };
        let subdirs = manifest.entries.iter().filter(|e| e.kind == EntryKind::Dir);
        if children_done {
            let below = subdirs.fold(0u64, |sum, e| sum.saturating_add(counted[&e.digest]));
            counted.insert(digest, below.saturating_add(manifest.entries.len() as u64));
        } else {
            stack.push((digest, true));
            // No cycle check: the store verifies every manifest's content against its digest,
            // and a manifest cannot name its own hash.
            for entry in subdirs {
                stack.push((entry.digest, false));
            }
        }
    }
    Ok(counted[root])
}

/// Every object a pointer needs (manifests first), read through the manifests in `store`. Each
/// distinct object is listed once, and a repeated subtree is walked once, however often the
/// manifests name it.
pub(crate) fn objects_of(store: &Store, pointer: &Pointer) -> Result<Vec<Digest>> {
    match pointer.kind {
        EntryKind::File => Ok(vec![pointer.digest]),
        EntryKind::Dir => {
            let mut seen = HashSet::from([pointer.digest]);
            let mut manifests = vec![pointer.digest];
            let mut files = Vec::new();
            let mut next = 0;
            while let Some(digest) = manifests.get(next).copied() {
                next += 1;
                for entry in Manifest::parse(&digest, &store.read(&digest)?)?.entries {
                    if seen.insert(entry.digest) {
                        match entry.kind {
                            EntryKind::Dir => manifests.push(entry.digest),
                            EntryKind::File => files.push(entry.digest),
                        }
                    }
                }
            }
            manifests.extend(files);
            Ok(manifests)
        }
    }
}
