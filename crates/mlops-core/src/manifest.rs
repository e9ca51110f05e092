//! Directory manifests: one object per directory, listing its entries as git lists a tree.
//!
//! A manifest is compact JSON with one entry per line, sorted by name, so the same directory always
//! serialises to the same bytes and so to the same digest. Changing one file rewrites only the
//! manifests on its path up to the root; the rest are shared with the previous version.

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{Error, Result};

/// The manifest format this version writes and reads.
pub(crate) const MANIFEST_FORMAT: u32 = 1;

/// What a manifest entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Dir,
}

/// One entry of a directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// A single path component: never empty, `.`, `..`, or containing `/`.
    pub name: String,
    pub kind: EntryKind,
    /// The file's content, or the subdirectory's manifest.
    pub digest: Digest,
    /// Bytes of the file, or of every file below the subdirectory.
    pub size: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exec: bool,
}

/// One directory level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    format: u32,
    entries: Vec<Entry>,
}

impl Manifest {
    /// Builds a manifest from entries in any order.
    pub fn new(mut entries: Vec<Entry>) -> Self {
        entries.sort_unstable_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        Self { entries }
    }

    /// The canonical bytes, and so the digest, of this manifest.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.entries.len() * 140);
        out.extend_from_slice(b"{\"format\":1,\"entries\":[");
        for (i, entry) in self.entries.iter().enumerate() {
            out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
            serde_json::to_writer(&mut out, entry).expect("entries serialise");
        }
        out.extend_from_slice(b"\n]}\n");
        out
    }

    /// Parses and validates the manifest object `digest`.
    pub fn parse(digest: &Digest, bytes: &[u8]) -> Result<Self> {
        let bad = |problem: String| Error::BadManifest {
            digest: *digest,
            problem,
        };
        let doc: Document = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if doc.format != MANIFEST_FORMAT {
            return Err(bad(format!(
                "format {} is not supported (this mlops reads format {MANIFEST_FORMAT})",
                doc.format
            )));
        }
        for (i, entry) in doc.entries.iter().enumerate() {
            check_name(&entry.name)
                .map_err(|problem| bad(format!("entry `{}`: {problem}", entry.name)))?;
            if entry.size > crate::pointer::MAX_SIZE {
                return Err(bad(format!(
                    "entry `{}`: size {} is larger than any real data",
                    entry.name, entry.size
                )));
            }
            if let Some(next) = doc.entries.get(i + 1) {
                match entry.name.as_bytes().cmp(next.name.as_bytes()) {
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => {
                        return Err(bad(format!("duplicate entry `{}`", entry.name)));
                    }
                    std::cmp::Ordering::Greater => {
                        return Err(bad(format!("entry `{}` is out of order", next.name)));
                    }
                }
            }
        }
        Ok(Self {
            entries: doc.entries,
        })
    }
}

/// Why `name` cannot be one path component, if it cannot.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("empty name")
    } else if name == "." || name == ".." {
        Err("`.` and `..` are not allowed")
    } else if name.contains('/') || name.contains('\\') {
        Err("names must not contain path separators or be absolute")
    } else if name.contains('\0') || name.contains('\n') {
        Err("names must not contain NUL or newline characters")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> Entry {
        Entry {
            name: name.into(),
            kind: EntryKind::File,
            digest: Digest::of_bytes(b"x"),
            size: 1,
            exec: false,
        }
    }

    #[test]
    fn round_trip_is_canonical() {
        let m = Manifest::new(vec![
            entry("b"),
            entry("a"),
            Entry {
                exec: true,
                ..entry("ä")
            },
        ]);
        let bytes = m.to_bytes();
        let d = Digest::of_bytes(&bytes);
        let back = Manifest::parse(&d, &bytes).expect("parse");
        assert_eq!(back, m);
        assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn rejects_dangerous_names() {
        for name in ["..", "/etc", "a/b", ""] {
            let bytes = Manifest {
                entries: vec![entry(name)],
            }
            .to_bytes();
            let err = Manifest::parse(&Digest::of_bytes(&bytes), &bytes).expect_err(name);
            assert!(err.to_string().contains("invalid manifest"), "{err}");
        }
        let bytes = Manifest {
            entries: vec![entry("a"), entry("a")],
        }
        .to_bytes();
        let err = Manifest::parse(&Digest::of_bytes(&bytes), &bytes).expect_err("dup");
        assert!(err.to_string().contains("duplicate entry `a`"), "{err}");
    }
}
