//! The content-addressed object store: `.mlops/cache/<first 2 hex>/<remaining 62 hex>`.
//!
//! Objects are read-only files named by the blake3 digest of their content. They enter the store
//! through a temp file in `.mlops/tmp` and a rename, so a killed process leaves at most a stray temp
//! file (cleared by the next writer), never a partial object. Every copy in or out of the store
//! hashes the bytes it moves and checks them against the expected digest, in the same read pass.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;

use fs_err::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::atomic::temp_path;
use crate::config::LinkMode;
use crate::digest::{Digest, LARGE_FILE};
use crate::error::{Error, Result};

/// Mode of every object: read-only for everyone, so hard and symbolic links to it are too.
const OBJECT_MODE: u32 = 0o444;
/// Chunk size when streaming a large file through the hasher.
const CHUNK: usize = 8 << 20;

/// Whether a copy may, must or must not be a copy-on-write clone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reflink {
    Never,
    /// Clone when the filesystem can, else copy bytes.
    Try,
    /// Clone or fail.
    Require,
}

/// The local object cache of a workspace.
#[derive(Debug)]
pub struct Store {
    objects: PathBuf,
    tmp: PathBuf,
    /// Set after the first failed clone, so `Reflink::Try` stops asking the filesystem.
    reflink_unsupported: AtomicBool,
    /// The most entries a tracked directory's manifests may expand to.
    max_tree_entries: u64,
}

impl Store {
    pub fn new(objects: PathBuf, tmp: PathBuf) -> Self {
        Self {
            objects,
            tmp,
            reflink_unsupported: AtomicBool::new(false),
            max_tree_entries: crate::config::DEFAULT_MAX_TREE_ENTRIES,
        }
    }

    /// Sets the most entries a tracked directory's manifests may expand to.
    #[must_use]
    pub(crate) fn with_max_tree_entries(mut self, limit: u64) -> Self {
        self.max_tree_entries = limit;
        self
    }

    /// The most entries a tracked directory's manifests may expand to.
    pub fn max_tree_entries(&self) -> u64 {
        self.max_tree_entries
    }

    /// The directory holding the objects.
    pub fn root(&self) -> &Path {
        &self.objects
    }

    /// Where the object named `digest` lives (whether or not it exists).
    pub fn object_path(&self, digest: &Digest) -> PathBuf {
        let (dir, rest) = digest.split_hex();
        self.objects.join(dir).join(rest)
    }

    pub fn contains(&self, digest: &Digest) -> bool {
        self.object_path(digest).exists()
    }

    /// The size of an object, or [`Error::ObjectMissing`].
    pub fn size(&self, digest: &Digest) -> Result<u64> {
        match fs_err::symlink_metadata(self.object_path(digest)) {
            Ok(meta) => Ok(meta.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(Error::ObjectMissing { digest: *digest })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A fresh temp path inside the store's own temp directory.
    pub fn temp_path(&self) -> PathBuf {
        temp_path(&self.tmp, "object")
    }

    /// Every object in the store: 256 directory reads instead of one `stat` per object.
    pub fn list(&self) -> Result<HashSet<Digest>> {
        list_objects(&self.objects)
    }

    /// Every object with its size in bytes.
    pub(crate) fn list_with_sizes(&self) -> Result<Vec<(Digest, u64)>> {
        let mut out = Vec::new();
        for digest in self.list()? {
            out.push((digest, self.size(&digest)?));
        }
        out.sort_unstable();
        Ok(out)
    }

    /// Stores `bytes` (already known to hash to `digest`) unless present; true if written.
    pub(crate) fn put_bytes(&self, digest: &Digest, bytes: &[u8]) -> Result<bool> {
        if self.contains(digest) {
            return Ok(false);
        }
        let temp = self.temp_path();
        let result = (|| {
            let mut file = create_file(&temp, OBJECT_MODE)?;
            file.write_all(bytes)?;
            drop(file);
            self.commit_temp(&temp, digest)
        })();
        if result.is_err() {
            let _ = fs_err::remove_file(&temp);
        }
        result.map(|()| true)
    }

    /// Copies the file at `src` into the store, hashing as it reads; returns its digest, its
    /// size and whether a new object was written.
    pub(crate) fn ingest(&self, src: &Path, reflink: Reflink) -> Result<(Digest, u64, bool)> {
        let len = fs_err::metadata(src)?.len();
        if len < LARGE_FILE && reflink != Reflink::Require {
            // Small files: one read, then write only if the store lacks the content.
            let bytes = fs_err::read(src)?;
            let digest = Digest::of_bytes(&bytes);
            let new = self.put_bytes(&digest, &bytes)?;
            return Ok((digest, bytes.len() as u64, new));
        }
        let temp = self.temp_path();
        let (digest, size) = match self.copy_hashing(src, &temp, OBJECT_MODE, reflink) {
            Ok(done) => done,
            Err(e) => {
                let _ = fs_err::remove_file(&temp);
                return Err(e);
            }
        };
        if self.contains(&digest) {
            fs_err::remove_file(&temp)?;
            return Ok((digest, size, false));
        }
        self.commit_temp(&temp, &digest)?;
        Ok((digest, size, true))
    }

    /// Moves a verified temp file into place as the object `digest`.
    pub(crate) fn commit_temp(&self, temp: &Path, digest: &Digest) -> Result<()> {
        crate::faults::write_step();
        let dest = self.object_path(digest);
        match fs_err::rename(temp, &dest) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && temp.exists() => {
                fs_err::create_dir_all(dest.parent().expect("object paths have a parent"))?;
                fs_err::rename(temp, &dest)?;
            }
            other => other?,
        }
        Ok(())
    }

    /// Reads an object whole and checks its digest (for manifests and other small objects).
    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>> {
        let path = self.object_path(digest);
        let bytes = match fs_err::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::ObjectMissing { digest: *digest });
            }
            Err(e) => return Err(e.into()),
        };
        let actual = Digest::of_bytes(&bytes);
        if actual != *digest {
            return Err(Error::ObjectCorrupt { path, actual });
        }
        Ok(bytes)
    }

    /// Re-hashes an object and fails if its content does not match its name.
    pub fn verify(&self, digest: &Digest) -> Result<u64> {
        let path = self.object_path(digest);
        let (actual, size) = match Digest::of_file(&path) {
            Ok(done) => done,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::ObjectMissing { digest: *digest });
            }
            Err(e) => return Err(e.into()),
        };
        if actual != *digest {
            return Err(Error::ObjectCorrupt { path, actual });
        }
        Ok(size)
    }

    /// Removes an object (for `gc`); its directory stays.
    pub fn remove(&self, digest: &Digest) -> Result<()> {
        crate::faults::write_step();
        fs_err::remove_file(self.object_path(digest))?;
        Ok(())
    }

    /// Places the object `digest` at `dest` (absolute) as `link` asks, checking its content on
    /// the way; `dest` is replaced atomically, never left half-written. The temp file is made in
    /// the store's temp directory, so a killed checkout leaves nothing in the workspace.
    pub fn materialize(
        &self,
        digest: &Digest,
        dest: &Path,
        executable: bool,
        link: LinkMode,
    ) -> Result<()> {
        let object = self.object_path(digest);
        let mode = if executable { 0o777 } else { 0o666 };
        // A shared inode or link target cannot carry a per-file executable bit: copy those.
        let link = if executable && link.shares_object() {
            LinkMode::Copy
        } else {
            link
        };
        if link.shares_object() {
            // Never link a corrupt object into the workspace: it would spread.
            self.verify(digest)?;
        }
        let result = crate::atomic::replace_via(&self.tmp, dest, |temp| {
            match link {
                LinkMode::Hardlink => fs_err::hard_link(&object, temp)?,
                LinkMode::Symlink => fs_err::os::unix::fs::symlink(&object, temp)?,
                LinkMode::Auto | LinkMode::Reflink | LinkMode::Copy => {
                    let reflink = match link {
                        LinkMode::Auto => Reflink::Try,
                        LinkMode::Reflink => Reflink::Require,
                        _ => Reflink::Never,
                    };
                    let (actual, _) = self.copy_hashing(&object, temp, mode, reflink)?;
                    if actual != *digest {
                        return Err(Error::ObjectCorrupt {
                            path: object.clone(),
                            actual,
                        });
                    }
                }
            }
            Ok(())
        });
        if result.is_err() && !object.exists() {
            return Err(Error::ObjectMissing { digest: *digest });
        }
        result
    }

    /// The store's temp directory (inside `.mlops/`, cleared under the workspace lock).
    pub fn temp_dir(&self) -> &Path {
        &self.tmp
    }

    /// Copies `src` to a new file `dest` created with `mode`, returning the digest of the bytes
    /// written. With a clone, the clone itself is hashed: it is exactly what was stored.
    pub(crate) fn copy_hashing(
        &self,
        src: &Path,
        dest: &Path,
        mode: u32,
        reflink: Reflink,
    ) -> Result<(Digest, u64)> {
        let mut input = fs_err::File::open(src)?;
        let len = input.metadata()?.len();
        let mut output = create_file(dest, mode)?;
        let try_clone = match reflink {
            Reflink::Never => false,
            Reflink::Try => len >= LARGE_FILE && !self.reflink_unsupported.load(Ordering::Relaxed),
            Reflink::Require => true,
        };
        if try_clone {
            match rustix::fs::ioctl_ficlone(output.file(), input.file()) {
                Ok(()) => {
                    drop(output);
                    return Ok(Digest::of_file(dest)?);
                }
                Err(e) if reflink == Reflink::Require => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::Unsupported,
                        format!(
                            "cannot reflink `{}` to `{}`: {} (the filesystem may not support reflinks)",
                            src.display(),
                            dest.display(),
                            std::io::Error::from(e)
                        ),
                    )
                    .into());
                }
                Err(_) => self.reflink_unsupported.store(true, Ordering::Relaxed),
            }
        }
        if len < LARGE_FILE {
            let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
            input.read_to_end(&mut bytes)?;
            output.write_all(&bytes)?;
            return Ok((Digest::of_bytes(&bytes), bytes.len() as u64));
        }
        let mut hasher = blake3::Hasher::new();
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0u64;
        loop {
            let n = read_full(&mut input, &mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update_rayon(&buf[..n]);
            output.write_all(&buf[..n])?;
            total += n as u64;
        }
        Ok((Digest::from(*hasher.finalize().as_bytes()), total))
    }

    /// Whether the workspace file at `path` is a hard link to, or a symlink at, the object.
    pub fn is_linked(&self, path: &Path, digest: &Digest) -> bool {
        let object = self.object_path(digest);
        match fs_err::read_link(path) {
            Ok(target) => target == object,
            Err(_) => match (fs_err::metadata(path), fs_err::metadata(&object)) {
                (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
                _ => false,
            },
        }
    }
}

/// Reads until `buf` is full or the input ends.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Creates a new file with `mode` (before the umask), failing if it exists.
fn create_file(path: &Path, mode: u32) -> std::io::Result<fs_err::File> {
    fs_err::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
}

/// Lists the objects under a `<2 hex>/<62 hex>` tree, skipping anything else.
pub(crate) fn list_objects(root: &Path) -> Result<HashSet<Digest>> {
    let mut out = HashSet::new();
    let top = match fs_err::read_dir(root) {
        Ok(top) => top,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e.into()),
    };
    for dir in top {
        let dir = dir?;
        let prefix = dir.file_name();
        let Some(prefix) = prefix.to_str().filter(|p| p.len() == 2) else {
            continue;
        };
        if !dir.file_type()?.is_dir() {
            continue;
        }
        let mut hex = [0u8; 64];
        hex[..2].copy_from_slice(prefix.as_bytes());
        for entry in fs_err::read_dir(dir.path())? {
            let name = entry?.file_name();
            let rest = name.as_encoded_bytes();
            if rest.len() == 62 {
                hex[2..].copy_from_slice(rest);
                out.extend(Digest::from_hex(&hex));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        fs_err::create_dir_all(dir.path().join("tmp")).expect("mkdir");
        let store = Store::new(dir.path().join("cache"), dir.path().join("tmp"));
        (dir, store)
    }

    #[test]
    fn ingest_is_idempotent_and_read_only() {
        let (dir, store) = store();
        let src = dir.path().join("a");
        fs_err::write(&src, b"hello").expect("write");
        let (digest, size, new) = store.ingest(&src, Reflink::Never).expect("ingest");
        assert!(new);
        assert_eq!(size, 5);
        assert_eq!(digest, Digest::of_bytes(b"hello"));
        let (_, _, again) = store.ingest(&src, Reflink::Never).expect("ingest");
        assert!(!again);
        let mode = fs_err::metadata(store.object_path(&digest))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o444);
        assert_eq!(store.list().expect("list"), HashSet::from([digest]));
    }

    #[test]
    fn large_files_stream_through_the_hasher() {
        let (dir, store) = store();
        let data: Vec<u8> = (0..(LARGE_FILE * 2 + 7))
            .map(|i| (i * 7 % 253) as u8)
            .collect();
        let src = dir.path().join("big");
        fs_err::write(&src, &data).expect("write");
        let (digest, size, _) = store.ingest(&src, Reflink::Try).expect("ingest");
        assert_eq!(size, data.len() as u64);
        assert_eq!(digest, Digest::of_bytes(&data));
        assert_eq!(
            fs_err::read(store.object_path(&digest)).expect("read"),
            data
        );
    }

    #[test]
    fn corrupt_objects_are_refused() {
        let (dir, store) = store();
        let digest = Digest::of_bytes(b"good");
        store.put_bytes(&digest, b"good").expect("put");
        let path = store.object_path(&digest);
        fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        fs_err::write(&path, b"evil").expect("corrupt");
        assert!(matches!(
            store.verify(&digest),
            Err(Error::ObjectCorrupt { .. })
        ));
        let dest = dir.path().join("out");
        let err = store
            .materialize(&digest, &dest, false, LinkMode::Copy)
            .expect_err("refused");
        assert!(matches!(err, Error::ObjectCorrupt { .. }));
        assert!(!dest.exists(), "nothing is left behind");
    }
}
