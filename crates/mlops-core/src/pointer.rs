//! Pointer files: `<path>.mlops`, the small YAML file committed to git in place of the data.
//!
//! ```yaml
//! # mlops pointer: commit this file; `mlops checkout` restores `data` from the cache.
//! format: 1
//! kind: dir
//! digest: 3f1c…        # blake3 of the file, or of the directory's root manifest
//! size: 1048576        # bytes of data
//! files: 1000          # directories only
//! ```

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::EntryKind;

/// The pointer format this version writes and reads.
pub(crate) const POINTER_FORMAT: u32 = 1;
/// The largest size (and file count) a pointer or manifest may state: far beyond any real data,
/// and small enough that sums of many of them never overflow.
pub const MAX_SIZE: u64 = 1 << 60;
/// The suffix that makes a file a pointer.
pub const POINTER_SUFFIX: &str = ".mlops";

/// The content of one pointer file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    pub kind: EntryKind,
    pub digest: Digest,
    pub size: u64,
    /// Number of files, for a directory.
    pub files: Option<u64>,
    /// The executable bit, for a file.
    pub exec: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PointerFile {
    format: u32,
    kind: EntryKind,
    digest: String,
    size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    files: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    exec: bool,
}

#[derive(Deserialize)]
struct FormatOnly {
    format: Option<u32>,
}

/// The pointer file path for a tracked path.
pub fn pointer_path(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(POINTER_SUFFIX);
    PathBuf::from(name)
}

/// The tracked path a pointer file stands for, if `path` is a pointer file name.
pub fn target_of(pointer: &Path) -> Option<PathBuf> {
    let name = pointer.file_name()?.as_bytes();
    let stem = name
        .strip_suffix(POINTER_SUFFIX.as_bytes())
        .filter(|s| !s.is_empty())?;
    Some(pointer.with_file_name(OsStr::from_bytes(stem)))
}

impl Pointer {
    /// Reads and validates the pointer file at `path` (absolute or relative to the process).
    pub fn load(path: &Path) -> Result<Self> {
        let text = fs_err::read_to_string(path)?;
        Self::parse(path, &text)
    }

    /// Parses pointer text; `path` names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let yaml_err = |message: String| Error::Yaml {
            path: path.to_owned(),
            message,
        };
        // Check the format first, so a newer file gets "upgrade mlops", not "unknown field".
        let format = crate::yaml::from_str::<FormatOnly>(text)
            .map_err(yaml_err)?
            .format;
        match format {
            Some(POINTER_FORMAT) => {}
            Some(found) => {
                return Err(Error::PointerFormat {
                    path: path.to_owned(),
                    found,
                    supported: POINTER_FORMAT,
                });
            }
            None => {
                return Err(Error::Yaml {
                    path: path.to_owned(),
                    message: "missing field `format`".into(),
                });
            }
        }
        let file: PointerFile = crate::yaml::from_str(text).map_err(yaml_err)?;
        for (key, value) in [("size", Some(file.size)), ("files", file.files)] {
            if let Some(value) = value.filter(|v| *v > MAX_SIZE) {
                return Err(Error::Yaml {
                    path: path.to_owned(),
                    message: format!(
                        "`{key}: {value}` is larger than any real data (at most 2^60)"
                    ),
                });
            }
        }
        let digest = file.digest.parse().map_err(|_| Error::BadDigest {
            path: path.to_owned(),
            value: file.digest.clone(),
        })?;
        Ok(Self {
            kind: file.kind,
            digest,
            size: file.size,
            files: file.files,
            exec: file.exec,
        })
    }

    /// The YAML text of this pointer for the tracked path named `name`.
    pub fn to_text(&self, name: &str) -> String {
        let file = PointerFile {
            format: POINTER_FORMAT,
            kind: self.kind,
            digest: self.digest.to_string(),
            size: self.size,
            files: self.files,
            exec: self.exec,
        };
        let body = crate::yaml::to_string(&file).expect("pointers serialise");
        format!(
            "# mlops pointer: commit this file; `mlops checkout` restores `{name}` from the cache.\n{body}"
        )
    }

    /// Writes the pointer for the tracked path `target` (absolute) atomically, through a temp
    /// file in `temp_dir` (the workspace's `.mlops/tmp`).
    pub fn save(&self, target: &Path, temp_dir: &Path) -> Result<()> {
        let name = target
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        crate::atomic::write_in(
            temp_dir,
            &pointer_path(target),
            self.to_text(&name).as_bytes(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pointer() -> Pointer {
        Pointer {
            kind: EntryKind::Dir,
            digest: Digest::of_bytes(b"m"),
            size: 10,
            files: Some(2),
            exec: false,
        }
    }

    #[test]
    fn round_trip() {
        let text = pointer().to_text("data");
        assert_eq!(
            Pointer::parse(Path::new("data.mlops"), &text).expect("parse"),
            pointer()
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let path = Path::new("d.mlops");
        let err = Pointer::parse(path, "format: 2\nkind: dir\n").expect_err("format");
        assert!(err.to_string().contains("pointer format 2"), "{err}");
        let err = Pointer::parse(path, "format: 1\nkind: file\ndigest: abc\nsize: 1\n")
            .expect_err("digest");
        assert!(err.to_string().contains("invalid digest `abc`"), "{err}");
        let err = Pointer::parse(path, "format: [1\n").expect_err("yaml");
        assert!(
            err.to_string().starts_with("invalid YAML in `d.mlops`"),
            "{err}"
        );
    }

    #[test]
    fn target_names() {
        assert_eq!(
            target_of(Path::new("a/data.mlops")),
            Some(PathBuf::from("a/data"))
        );
        assert_eq!(target_of(Path::new("a/.mlops")), None);
        assert_eq!(pointer_path(Path::new("a/b")), PathBuf::from("a/b.mlops"));
    }
}
