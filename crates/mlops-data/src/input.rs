//! What an input names: the one function every reading command turns its inputs into files with.
//!
//! A file is itself; a directory is every Parquet, CSV and Arrow IPC file under it, subdirectories included
//! (so a hive-partitioned tree such as `date=2026-12-01/part-0.parquet` reads whole); a glob is
//! the files it matches, `**` crossing directories. Files come sorted by path, so daily files and
//! date partitions read in date order.
//!
//! An input may also be a URL (`s3://bucket/key`, `gs://`, `az://`, `abfs://`, `http(s)://`).
//! It travels through the same `Path`-based APIs unchanged (a `PathBuf` keeps its bytes as
//! given, so `s3://bucket/date=2026-12-01/part-0.parquet` still has its extension, its file name
//! and its hive segments); [`resolve`] is the one function a command turns what it was given into
//! an input with, so no URL is ever joined to the current directory, and the private `source`
//! module is the one place its bytes are read. A URL is expanded as a path is: a key is itself,
//! a prefix (a URL ending in `/`, or a key under which objects exist) the table files under it
//! at any depth, a glob the keys it matches (from one listing of the prefix before its first
//! glob character).

use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use mlops_core::remote::url;

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
    if let Some(url) = url_of(input) {
        return expand_url(input, url);
    }
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

/// Whether `input` is a URL read from an object store or a web server (`s3://`, `gs://`,
/// `az://`, `abfs://`, `http(s)://`) rather than a local path.
pub fn is_url(input: &Path) -> bool {
    url_of(input).is_some()
}

/// The URL `path` holds, when it is one.
pub(crate) fn url_of(path: &Path) -> Option<&str> {
    path.to_str().filter(|text| url::is_url(text))
}

/// The part of `path` that names the file, for telling its format by its extension: a web
/// URL without its `?query` (a signed link's `?X-Amz-Signature=...`), anything else as it is.
pub(crate) fn named(path: &Path) -> std::borrow::Cow<'_, Path> {
    match url_of(path)
        .filter(|url| url.starts_with("http://") || url.starts_with("https://"))
        .and_then(|url| url.split_once(['?', '#']))
    {
        Some((name, _)) => std::borrow::Cow::Owned(PathBuf::from(name)),
        None => std::borrow::Cow::Borrowed(path),
    }
}

/// An input as a command was given it, made usable from any directory: a URL as it is, a
/// `file://` URL as its path, a relative path joined to `cwd`.
pub fn resolve(cwd: &Path, input: &Path) -> PathBuf {
    if is_url(input) {
        return input.to_path_buf();
    }
    match input.to_str().and_then(|text| text.strip_prefix("file://")) {
        Some(path) => cwd.join(path),
        None => cwd.join(input),
    }
}

/// The objects a URL input names: a key is itself; a prefix (ending in `/`, or a key under
/// which objects exist) the table files under it at any depth, skipping hidden names as a
/// directory read does; a glob the keys it matches.
fn expand_url(input: &Path, text: &str) -> Result<Vec<PathBuf>> {
    let (scheme, rest) = text.split_once("://").unwrap_or(("", text));
    let (store, key) = rest.split_once('/').unwrap_or((rest, ""));
    let root = format!("{scheme}://{store}/");
    let segments: Vec<&str> = key.split('/').filter(|s| !s.is_empty()).collect();
    let web = scheme.starts_with("http");
    // A web URL names one file, and may carry a query (`?token=...`): never a glob.
    let first_glob = segments
        .iter()
        .position(|s| s.contains(['*', '?', '[', '{']))
        .filter(|_| !web);
    let mut files: Vec<PathBuf> = if let Some(first) = first_glob {
        let base = format!("{root}{}", segments[..first].join("/"));
        let matcher = glob(input, &segments[first..].join("/"))?;
        let prefix = format!("{}/", base.trim_end_matches('/'));
        url::list(&base)?
            .into_iter()
            .filter(|found| {
                let rel = found.strip_prefix(&prefix).unwrap_or(found);
                let dirs = rel.rsplit_once('/').map_or("", |(dirs, _)| dirs);
                matcher.is_match(rel) && !dirs.split('/').any(|d| hidden(d.as_ref()))
            })
            .map(PathBuf::from)
            .collect()
    } else if web || (!key.ends_with('/') && !segments.is_empty() && crate::source::exists(text)?) {
        return Ok(vec![input.to_path_buf()]);
    } else {
        let prefix = format!("{}/", text.trim_end_matches('/'));
        url::list(text)?
            .into_iter()
            .filter(|found| {
                let rel = found.strip_prefix(&prefix).unwrap_or(found);
                is_table_file(Path::new(rel)) && !rel.split('/').any(|s| hidden(s.as_ref()))
            })
            .map(PathBuf::from)
            .collect()
    };
    files.sort();
    if files.is_empty() && first_glob.is_none() && is_table_file(Path::new(key)) {
        // `data/missing.parquet` was listed as a prefix only because no such object exists.
        return Err(Error::Url(mlops_core::Error::InputNotFound {
            url: text.to_owned(),
            message: format!("bucket `{store}` has no object with key `{key}`"),
        }));
    }
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

/// Whether a file has a table's extension (`.parquet`, Arrow IPC's, `.csv`, `.ndjson` and `.jsonl`,
/// the last three also compressed, `.gz` or `.zst`; any case).
fn is_table_file(path: &Path) -> bool {
    crate::batches::is_ipc(path)
        || crate::text::is_text_table(path)
        || named(path)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
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
    fn urls_are_kept_as_given_and_file_urls_become_paths() {
        let cwd = Path::new("/work/project");
        for url in [
            "s3://bucket/date=2026-12-01/part-0.parquet",
            "gs://bucket/data/",
            "az://container/x.csv",
            "abfss://c@acct.dfs.core.windows.net/x.csv",
            "https://example.com/a.csv",
        ] {
            assert!(is_url(Path::new(url)), "{url}");
            assert_eq!(resolve(cwd, Path::new(url)), Path::new(url));
        }
        let url = Path::new("s3://bucket/date=2026-12-01/part-0.parquet");
        assert_eq!(url.extension().and_then(|e| e.to_str()), Some("parquet"));
        assert_eq!(
            crate::hive::segments(url),
            [("date".to_owned(), "2026-12-01".to_owned())]
        );
        assert_eq!(
            resolve(cwd, Path::new("file:///data/a.csv")),
            Path::new("/data/a.csv")
        );
        assert_eq!(
            resolve(cwd, Path::new("data/a.csv")),
            Path::new("/work/project/data/a.csv")
        );
        assert!(!is_url(Path::new("data/s3:/x.csv")));
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
