//! Walking the workspace: the files under a tracked path with their stat stamps, their digests
//! (from the hash index where the stamp is unchanged), and the manifests they add up to.
//!
//! Directories are read in parallel with rayon; on a cold index the hashing is parallel too.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::index::{HashIndex, Stamp};
use crate::manifest::{Entry, EntryKind, Manifest, check_name};
use crate::pointer::target_of;
use crate::store::Store;
use crate::workspace::MLOPS_DIR;

/// A regular file found in the workspace.
#[derive(Debug, Clone)]
pub struct FileNode {
    /// Relative to the workspace root.
    pub rel: PathBuf,
    pub stamp: Stamp,
    pub exec: bool,
    /// Known once looked up in the index or hashed.
    pub digest: Option<Digest>,
}

/// A directory found in the workspace, its children sorted by name.
#[derive(Debug, Clone)]
pub struct DirNode {
    pub rel: PathBuf,
    pub children: Vec<(String, Node)>,
}

#[derive(Debug, Clone)]
pub enum Node {
    File(FileNode),
    Dir(DirNode),
}

/// The totals of a built tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub digest: Digest,
    pub size: u64,
    pub files: u64,
    /// Manifests this build wrote to the store (ones it did not have).
    pub new_manifests: u64,
    /// Every manifest of the tree, the root first.
    pub manifests: Vec<Digest>,
}

/// Walks the workspace path `rel` (a file or a directory), following symlinks to files.
pub fn scan(root: &Path, rel: &Path) -> Result<Node> {
    let abs = root.join(rel);
    let meta = match fs_err::symlink_metadata(&abs) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::TargetMissing {
                path: rel.to_owned(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    if meta.is_dir() {
        scan_dir(root, rel.to_owned()).map(Node::Dir)
    } else {
        file_node(root, rel.to_owned(), meta).map(Node::File)
    }
}

fn scan_dir(root: &Path, rel: PathBuf) -> Result<DirNode> {
    let mut names = Vec::new();
    for entry in fs_err::read_dir(root.join(&rel))? {
        let entry = entry?;
        let name = entry.file_name();
        if crate::atomic::parse_temp_name(&name).is_some() {
            continue; // a write of ours in progress, or left by a killed one: never data
        }
        let name = name.into_string().map_err(|raw| Error::BadFileName {
            path: rel.join(raw),
            problem: "it is not valid UTF-8",
        })?;
        if let Err(problem) = check_name(&name) {
            return Err(Error::BadFileName {
                path: rel.join(&name),
                problem,
            });
        }
        let is_dir = entry.file_type()?.is_dir();
        names.push((name, is_dir, entry));
    }
    names.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let children = names
        .into_par_iter()
        .map(|(name, is_dir, entry)| {
            let child = rel.join(&name);
            let node = if is_dir {
                Node::Dir(scan_dir(root, child)?)
            } else {
                // fstatat on the open directory: no walk of the path from the root per file.
                let meta = entry.metadata()?;
                Node::File(file_node(root, child, meta)?)
            };
            Ok((name, node))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(DirNode { rel, children })
}

fn file_node(root: &Path, rel: PathBuf, meta: std::fs::Metadata) -> Result<FileNode> {
    let meta = if meta.file_type().is_symlink() {
        match fs_err::metadata(root.join(&rel)) {
            Ok(target) if target.is_file() => target,
            _ => return Err(Error::UnsupportedFileType { path: rel }),
        }
    } else if meta.is_file() {
        meta
    } else {
        return Err(Error::UnsupportedFileType { path: rel });
    };
    Ok(FileNode {
        rel,
        stamp: Stamp::of(&meta),
        exec: meta.permissions().mode() & 0o100 != 0,
        digest: None,
    })
}

impl Node {
    /// Every file below this node, for filling in digests in parallel.
    pub fn files_mut(&mut self) -> Vec<&mut FileNode> {
        let mut out = Vec::new();
        collect_files(self, &mut out);
        out
    }

    /// Every file below this node.
    pub fn files(&self) -> Vec<&FileNode> {
        fn walk<'a>(node: &'a Node, out: &mut Vec<&'a FileNode>) {
            match node {
                Node::File(file) => out.push(file),
                Node::Dir(dir) => dir.children.iter().for_each(|(_, child)| walk(child, out)),
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }

    /// Fills in each file's digest from the index; returns the files still without one.
    pub fn lookup_digests<'a>(&'a mut self, index: &HashIndex) -> Vec<&'a mut FileNode> {
        let mut unknown = Vec::new();
        for file in self.files_mut() {
            file.digest = index.get(&file.rel, &file.stamp);
            if file.digest.is_none() {
                unknown.push(file);
            }
        }
        unknown
    }

    /// Hashes, in parallel, every file without a digest yet (read-only: nothing is stored).
    pub fn hash_missing(&mut self, root: &Path, index: &HashIndex) -> Result<()> {
        self.lookup_digests(index)
            .into_par_iter()
            .try_for_each(|file| {
                let (digest, _) = Digest::of_file(&root.join(&file.rel))?;
                file.digest = Some(digest);
                Ok(())
            })
    }

    /// Records every file's digest in the index.
    pub fn record(&self, index: &mut HashIndex) {
        for file in self.files() {
            if let Some(digest) = file.digest {
                index.insert(&file.rel, file.stamp, digest);
            }
        }
    }

    /// Computes manifests bottom-up (every file must have its digest) and, given a store, saves
    /// each manifest in it. For a file, the result is the file's own digest.
    pub fn build(&self, store: Option<&Store>) -> Result<Built> {
        match self {
            Node::File(file) => Ok(Built {
                digest: file.digest.expect("digests are filled in before building"),
                size: file.stamp.size,
                files: 1,
                new_manifests: 0,
                manifests: Vec::new(),
            }),
            Node::Dir(dir) => {
                let built: Vec<Built> = dir
                    .children
                    .par_iter()
                    .map(|(_, child)| child.build(store))
                    .collect::<Result<_>>()?;
                let mut entries = Vec::with_capacity(dir.children.len());
                let (mut size, mut files, mut new_manifests) = (0, 0, 0);
                let mut manifests = vec![Digest::from([0; 32])]; // the root's, once known
                for ((name, child), b) in dir.children.iter().zip(built) {
                    let (kind, exec) = match child {
                        Node::File(f) => (EntryKind::File, f.exec),
                        Node::Dir(_) => (EntryKind::Dir, false),
                    };
                    entries.push(Entry {
                        name: name.clone(),
                        kind,
                        digest: b.digest,
                        size: b.size,
                        exec,
                    });
                    size += b.size;
                    files += b.files;
                    new_manifests += b.new_manifests;
                    manifests.extend(b.manifests);
                }
                let bytes = Manifest { entries }.to_bytes();
                let digest = Digest::of_bytes(&bytes);
                if let Some(store) = store {
                    new_manifests += u64::from(store.put_bytes(&digest, &bytes)?);
                }
                manifests[0] = digest;
                Ok(Built {
                    digest,
                    size,
                    files,
                    new_manifests,
                    manifests,
                })
            }
        }
    }
}

fn collect_files<'a>(node: &'a mut Node, out: &mut Vec<&'a mut FileNode>) {
    match node {
        Node::File(file) => out.push(file),
        Node::Dir(dir) => {
            for (_, child) in &mut dir.children {
                collect_files(child, out);
            }
        }
    }
}

/// Finds pointer files at or below the workspace-relative directory `under` (the root when
/// empty), in parallel. It does not descend into `.git`, `.mlops`, or tracked directories.
pub fn find_pointers(root: &Path, under: &Path) -> Result<Vec<PathBuf>> {
    let mut found = find_in(root, under)?;
    found.sort();
    Ok(found)
}

fn find_in(root: &Path, rel: &Path) -> Result<Vec<PathBuf>> {
    // Names are kept as the OS gives them: a pointer or a directory whose name is not UTF-8
    // must still be found, or `gc` would delete the objects it needs.
    let mut names = Vec::new();
    let mut pointer_targets = std::collections::HashSet::new();
    for entry in fs_err::read_dir(root.join(rel))? {
        let entry = entry?;
        let name = entry.file_name();
        let is_dir = entry.file_type()?.is_dir();
        if !is_dir && let Some(target) = target_of(Path::new(&name)) {
            pointer_targets.insert(target.into_os_string());
        }
        names.push((name, is_dir));
    }
    let results: Vec<Vec<PathBuf>> = names
        .into_par_iter()
        .map(|(name, is_dir)| {
            if is_dir {
                let skip = name == ".git" || name == MLOPS_DIR || pointer_targets.contains(&name);
                if skip {
                    Ok(Vec::new())
                } else {
                    find_in(root, &rel.join(&name))
                }
            } else if target_of(Path::new(&name)).is_some() {
                Ok(vec![rel.join(&name)])
            } else {
                Ok(Vec::new())
            }
        })
        .collect::<Result<_>>()?;
    Ok(results.into_iter().flatten().collect())
}
