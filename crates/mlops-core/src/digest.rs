//! Content digests: the blake3 hash that names every object, and how files are hashed.
//!
//! Small files are read whole; large files are memory-mapped and hashed on all cores with
//! blake3's rayon support, which is how `b3sum` reaches disk speed.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Files at least this large are hashed through mmap on all cores; below it one read is cheaper.
pub(crate) const LARGE_FILE: u64 = 4 << 20;

/// A blake3 digest, shown as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

/// A string that is not 64 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseDigestError;

impl Digest {
    /// The digest of `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    /// The digest of the file at `path`, and its length.
    pub fn of_file(path: &Path) -> std::io::Result<(Self, u64)> {
        let mut file = fs_err::File::open(path)?;
        let len = file.metadata()?.len();
        if len >= LARGE_FILE {
            let mut hasher = blake3::Hasher::new();
            hasher.update_mmap_rayon(path).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("failed to read `{}`: {e}", path.display()),
                )
            })?;
            return Ok((Self(*hasher.finalize().as_bytes()), len));
        }
        let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.read_to_end(&mut buf)?;
        Ok((Self::of_bytes(&buf), buf.len() as u64))
    }

    /// The 64 lowercase hex digits, without allocating (this runs once per file in a scan).
    pub fn to_hex(&self) -> [u8; 64] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = DIGITS[usize::from(b >> 4)];
            out[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
        }
        out
    }

    /// Parses 64 lowercase hex digits given as bytes.
    pub(crate) fn from_hex(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            out[i] = (hex_value(pair[0]).ok()? << 4) | hex_value(pair[1]).ok()?;
        }
        Some(Self(out))
    }

    /// The hex text split as the object store lays it out: (first two, remaining 62).
    pub(crate) fn split_hex(&self) -> (String, String) {
        let hex = self.to_string();
        let rest = hex[2..].to_owned();
        (hex[..2].to_owned(), rest)
    }
}

impl From<[u8; 32]> for Digest {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl FromStr for Digest {
    type Err = ParseDigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s.as_bytes()).ok_or(ParseDigestError)
    }
}

fn hex_value(c: u8) -> Result<u8, ParseDigestError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        _ => Err(ParseDigestError),
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.to_hex();
        f.write_str(std::str::from_utf8(&hex).expect("hex digits are ASCII"))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(|_| {
            serde::de::Error::custom(format!(
                "`{text}` is not a digest (64 lowercase hex characters)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let d = Digest::of_bytes(b"hello");
        let text = d.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text.parse::<Digest>(), Ok(d));
    }

    #[test]
    fn rejects_bad_hex() {
        assert!("abc".parse::<Digest>().is_err());
        assert!("G".repeat(64).parse::<Digest>().is_err());
        assert!(
            "A".repeat(64).parse::<Digest>().is_err(),
            "uppercase is not canonical"
        );
    }

    #[test]
    fn large_and_small_files_hash_alike() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data: Vec<u8> = (0..(LARGE_FILE + 123)).map(|i| (i % 251) as u8).collect();
        let path = dir.path().join("big");
        fs_err::write(&path, &data).expect("write");
        let (digest, len) = Digest::of_file(&path).expect("hash");
        assert_eq!(len, data.len() as u64);
        assert_eq!(digest, Digest::of_bytes(&data));
    }
}
