//! What an input names: the one function every reading command turns its inputs into files with.
//!
//! A file is itself; a directory is every Parquet, CSV and Arrow IPC file under it, subdirectories included
//! (so a hive-partitioned tree such as `date=2026-12-01/part-0.parquet` reads whole); a glob is
//! the files it matches, `**` crossing directories. Files come sorted by path, so daily files and
//! date partitions read in date order.

use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

use crate::error::{Error, Result};

/// The files `input` names: a file as it is; a directory, the `*.parquet`, `*.csv` and Arrow IPC
/// (`*.arrow`, `*.feather`, `*.ipc`, `*.arrows`) files under it at any depth; a path with a glob (`*`, `?`, `[...]`, `{a,b}`; `**` for any number of
/// directories), the files that match, sorted by path.
///
/// Names starting with `.` or `_` (`_SUCCESS`, `.part-0.crc`, `_delta_log/`) are skipped in a
/// directory, as Spark and polars skip them; a symlink to a file is read, a symlink to a
/// directory is not followed (no loops).
///
/// # Errors
/// When a directory cannot be listed, a glob does not parse, or a directory or glob matches no
/// file.
pub fn expand(input: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if let Some((base, pattern)) = split_glob(input) {
        let matcher = glob(input, &pattern)?;
        // Without `**` a pattern matches at one depth only: no need to walk deeper.
        let depth = (!pattern.contains("**")).then(|| pattern.split('/').count());
        let listed = if base.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &base
        };
        walk(listed, depth, &mut |path| {
            let rel = path.strip_prefix(listed).unwrap_or(path);
            if matcher.is_match(rel) {
                files.push(base.join(rel));
            }
        })?;
    } else if input.is_dir() {
        walk(input, None, &mut |path| {
            if is_table_file(path) && !path.file_name().is_some_and(hidden) {
                files.push(path.to_path_buf());
            }
        })?;
    } else {
        return Ok(vec![input.to_path_buf()]);
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::NoTableFiles {
            pattern: input.to_path_buf(),
        });
    }
    Ok(files)
}

/// A glob input split into the directory before its first component with a glob character and
/// the pattern after it (with `/` separators); `None` for a plain path.
fn split_glob(input: &Path) -> Option<(PathBuf, String)> {
    let is_glob = |c: &Component<'_>| {
        c.as_os_str()
            .to_string_lossy()
            .contains(['*', '?', '[', '{'])
    };
    let first = input.components().position(|c| is_glob(&c))?;
    let base: PathBuf = input.components().take(first).collect();
    let pattern: Vec<String> = input
        .components()
        .skip(first)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some((base, pattern.join("/")))
}

/// The matcher of `pattern`, where `*` and `?` stay within one path component.
fn glob(input: &Path, pattern: &str) -> Result<GlobMatcher> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| Error::BadPattern {
            pattern: input.to_path_buf(),
            message: e.kind().to_string(),
        })
}

/// Whether a file has a table's extension (`.parquet`, `.csv`, Arrow IPC's; any case).
fn is_table_file(path: &Path) -> bool {
    crate::batches::is_ipc(path)
        || path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("csv"))
}

/// Whether a name is hidden from a directory read: `.name`, and `_name` as Spark writes beside
/// its data (`_SUCCESS`, `_committed_...`, `_delta_log`).
fn hidden(name: &std::ffi::OsStr) -> bool {
    name.to_string_lossy().starts_with(['.', '_'])
}

/// Calls `found` for every file under `dir`, `depth` levels down at most (`None`: any depth),
/// skipping hidden directories and not following symlinked ones.
fn walk(dir: &Path, depth: Option<usize>, found: &mut dyn FnMut(&Path)) -> Result<()> {
    if depth == Some(0) {
        return Ok(());
    }
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if !hidden(&entry.file_name()) {
                walk(&path, depth.map(|d| d - 1), found)?;
            }
        } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            // Files at the pattern's depth only when it has no `**`; the matcher decides.
            found(&path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for file in files {
            let path = dir.path().join(file);
            fs_err::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs_err::write(&path, "x\n1\n").expect("write");
        }
        dir
    }

    fn names(dir: &Path, input: &str) -> Vec<String> {
        expand(&dir.join(input))
            .expect("expand")
            .iter()
            .map(|p| {
                let rel = p.strip_prefix(dir).expect("inside");
                rel.to_string_lossy().replace('\\', "/")
            })
            .collect()
    }

    const FILES: [&str; 7] = [
        "day-01.parquet",
        "day-02.csv",
        "notes.txt",
        "_SUCCESS",
        "date=2026-12-02/part-0.parquet",
        "date=2026-12-01/part-0.parquet",
        ".hidden/x.parquet",
    ];

    #[test]
    fn a_directory_is_its_tables_at_any_depth_in_path_order() {
        let dir = tree(&FILES);
        assert_eq!(
            names(dir.path(), "."),
            [
                "date=2026-12-01/part-0.parquet",
                "date=2026-12-02/part-0.parquet",
                "day-01.parquet",
                "day-02.csv"
            ]
        );
    }

    #[test]
    fn globs_match_one_component_and_double_stars_any_number() {
        let dir = tree(&FILES);
        assert_eq!(names(dir.path(), "day-*.parquet"), ["day-01.parquet"]);
        assert_eq!(
            names(dir.path(), "day-0?.*"),
            ["day-01.parquet", "day-02.csv"]
        );
        assert_eq!(
            names(dir.path(), "*/part-0.parquet"),
            [
                "date=2026-12-01/part-0.parquet",
                "date=2026-12-02/part-0.parquet"
            ]
        );
        assert_eq!(
            names(dir.path(), "**/*.parquet"),
            [
                "date=2026-12-01/part-0.parquet",
                "date=2026-12-02/part-0.parquet",
                "day-01.parquet"
            ]
        );
        assert_eq!(
            names(dir.path(), "date=2026-12-0[2-9]/*.parquet"),
            ["date=2026-12-02/part-0.parquet"]
        );
        assert_eq!(names(dir.path(), "day-{01,03}.parquet"), ["day-01.parquet"]);
    }

    #[test]
    fn a_file_is_itself_and_an_empty_match_is_an_error() {
        let dir = tree(&FILES);
        assert_eq!(names(dir.path(), "notes.txt"), ["notes.txt"]);
        let err = expand(&dir.path().join("*.json")).expect_err("nothing matches");
        assert!(matches!(err, Error::NoTableFiles { .. }), "{err}");
        let err = expand(&dir.path().join("day-[.parquet")).expect_err("bad glob");
        assert!(matches!(err, Error::BadPattern { .. }), "{err}");
    }
}
