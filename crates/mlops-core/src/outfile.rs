//! Outputs the user names (`-o FILE`): how each is written, and that none of them is an input.
//!
//! A new path or a regular file is written atomically: a temp file beside it, renamed over it, so
//! that a reader or a killed process never sees half a report. Anything else is written straight
//! through: renaming over `/dev/null` (as root), a FIFO or a terminal would replace the device
//! with a regular file that every later write to it then fills. `-` and `/dev/stdout` are the
//! process's standard output. A symlink is followed: its target is written (atomically when it is
//! a regular file or does not exist yet) and the link stays a link.
//!
//! [`ensure_not_input`] is the one check that an output does not overwrite an input of the same
//! command (`mlops predict x.parquet -o x.parquet`).

use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use fs_err::os::unix::fs::OpenOptionsExt as _;

/// Symlinks followed before giving up, as the kernel's own limit (`ELOOP` after 40).
const MAX_LINKS: usize = 40;

/// Why an output cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The output is the same file as an input, so writing it would destroy the input.
    #[error(
        "the output `{}` is the input `{}`; writing it would destroy the input",
        output.display(),
        input.display()
    )]
    OutputIsInput { output: PathBuf, input: PathBuf },
}

/// A write to standard output that failed. Every such error is wrapped in this one (inside an
/// [`io::Error`] of the same kind), so that the binary can tell a reader of stdout that went
/// away (`mlops status | head -1`, a quiet exit 0) from a broken pipe anywhere else, such as a
/// remote's connection, which is an error.
#[derive(Debug, thiserror::Error)]
#[error("failed to write to stdout: {error}")]
pub(crate) struct StdoutError {
    error: io::Error,
}

/// `error`, from a write to standard output, marked as such (see `StdoutError`).
#[must_use]
pub fn stdout_error(error: io::Error) -> io::Error {
    if error
        .get_ref()
        .is_some_and(<dyn std::error::Error + Send + Sync>::is::<StdoutError>)
    {
        return error;
    }
    io::Error::new(error.kind(), StdoutError { error })
}

/// Whether `error` is a write to standard output whose reader went away (marked by
/// [`stdout_error`]; a broken pipe anywhere else is not).
#[must_use]
pub fn is_closed_stdout(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::BrokenPipe
        && error
            .get_ref()
            .is_some_and(<dyn std::error::Error + Send + Sync>::is::<StdoutError>)
}

/// Where the bytes of an output go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A new path or a regular file (after following symlinks): a temp file beside it is renamed
    /// over it.
    Replace(PathBuf),
    /// A character or block device, a FIFO or a socket: opened and written in place.
    Direct(PathBuf),
    /// The process's standard output (`-` or `/dev/stdout`).
    Stdout,
}

/// Whether `path` names standard output: `-`, or `/dev/stdout` (whose link would lead to
/// `/proc/self/fd/1` and from there to a pipe that has no path).
#[must_use]
pub fn is_stdout(path: &Path) -> bool {
    path == Path::new("-") || path == Path::new("/dev/stdout")
}

/// How `path` is to be written.
///
/// # Errors
/// When `path` is a directory, or its metadata or links cannot be read.
pub fn target(path: &Path) -> io::Result<Target> {
    if is_stdout(path) {
        return Ok(Target::Stdout);
    }
    match fs_err::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(Target::Replace(resolve_links(path)?)),
        Ok(meta) if meta.is_dir() => Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            format!("the output `{}` is a directory", path.display()),
        )),
        Ok(_) => Ok(Target::Direct(path.to_owned())),
        // A new path, or a symlink to one: the file is created where the link leads.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Target::Replace(resolve_links(path)?)),
        Err(e) => Err(e),
    }
}

/// `path` with symlinks in its last component followed, target by target, to the first path
/// that is not a link (which may not exist yet). Links in the parents need no following: the
/// temp file is created through the same parents, so it lands in the same directory.
fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_owned();
    for _ in 0..MAX_LINKS {
        match fs_err::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs_err::read_link(&current)?;
                current = match current.parent() {
                    Some(parent) => parent.join(link),
                    None => link,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "the output `{}` leads through more than {MAX_LINKS} symlinks",
            path.display()
        ),
    ))
}

/// An output being written; it appears at its path when [`OutFile::finish`] returns, and a temp
/// file is removed if it is dropped unfinished.
#[derive(Debug)]
pub struct OutFile {
    file: fs_err::File,
    /// The temp file renamed over `dest` at the end, for [`Target::Replace`].
    temp: Option<PathBuf>,
    dest: PathBuf,
    /// Whether this is standard output, whose write errors are marked (see `StdoutError`).
    stdout: bool,
    finished: bool,
}

impl OutFile {
    /// Opens the output `path` names (see [`target`]) for writing.
    ///
    /// # Errors
    /// When `path` is a directory, or the file cannot be created or opened.
    pub fn create(path: &Path) -> io::Result<Self> {
        let (file, temp, dest) = match target(path)? {
            Target::Replace(dest) => {
                let dir = crate::atomic::parent_of(&dest);
                // The temp file sits beside the output (a rename cannot cross filesystems), so
                // those of killed runs are cleared here rather than in `.mlops/tmp`.
                crate::atomic::remove_stale_temps(dir);
                let temp = crate::atomic::temp_path(dir, &crate::atomic::hint_of(&dest));
                // The rename gives the output the temp file's mode: an existing output keeps
                // its own (a 0600 report stays private), a new one gets the umask's default.
                let mode = fs_err::metadata(&dest)
                    .ok()
                    .map(|m| m.permissions().mode() & 0o777);
                // A new file only, never one already at that path, and never more open than
                // the output it replaces, not even before its mode is set.
                let file = fs_err::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(mode.unwrap_or(0o666))
                    .open(&temp)?;
                if let Some(mode) = mode {
                    // Exactly the output's bits, whatever the umask took off at creation.
                    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
                }
                (file, Some(temp), dest)
            }
            Target::Direct(dest) => (
                fs_err::OpenOptions::new().write(true).open(&dest)?,
                None,
                dest,
            ),
            Target::Stdout => {
                use std::os::fd::AsFd as _;
                // A duplicate of descriptor 1, so that closing the file leaves stdout open.
                let fd = io::stdout().as_fd().try_clone_to_owned()?;
                let file = fs_err::File::from_parts(std::fs::File::from(fd), "-");
                (file, None, PathBuf::from("-"))
            }
        };
        Ok(Self {
            file,
            temp,
            stdout: is_stdout(path),
            dest,
            finished: false,
        })
    }

    /// Completes the output: a replaced file is synced and renamed into place.
    ///
    /// # Errors
    /// When the last bytes cannot be written, or the sync or the rename fails.
    pub fn finish(mut self) -> io::Result<()> {
        self.flush()?;
        if let Some(temp) = &self.temp {
            self.file.sync_all()?;
            // A kill point, as every atomic write's: a report killed here leaves its old
            // version (or none) and a temp file the next write beside it clears.
            crate::faults::write_step();
            fs_err::rename(temp, &self.dest)?;
        }
        self.finished = true;
        Ok(())
    }
}

impl OutFile {
    fn marked<T>(&self, result: io::Result<T>) -> io::Result<T> {
        if self.stdout {
            result.map_err(stdout_error)
        } else {
            result
        }
    }
}

impl Write for OutFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = self.file.write(buf);
        self.marked(result)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let result = self.file.write_all(buf);
        self.marked(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = self.file.flush();
        self.marked(result)
    }
}

impl Drop for OutFile {
    fn drop(&mut self) {
        if !self.finished
            && let Some(temp) = &self.temp
        {
            let _ = fs_err::remove_file(temp);
        }
    }
}

/// Writes `bytes` as the whole content of the output `path` names (see [`target`]).
///
/// # Errors
/// As `OutFile::create`, [`Write::write_all`] and `OutFile::finish`.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut out = OutFile::create(path)?;
    out.write_all(bytes)?;
    out.finish()
}

/// Refuses an `output` that is one of `inputs`: the same file by device and inode, so `./x`,
/// `x`, a hard link and a symlink to it all count. An output that does not exist yet, or stdout,
/// is no input.
///
/// # Errors
/// [`Error::OutputIsInput`] naming the output and the input as the user gave them.
pub fn ensure_not_input<P: AsRef<Path>>(output: &Path, inputs: &[P]) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt as _;
    if is_stdout(output) {
        return Ok(());
    }
    let Ok(out) = fs_err::metadata(output) else {
        return Ok(());
    };
    // Only a file can be overwritten; a device such as /dev/null may well be read and written.
    if !out.is_file() {
        return Ok(());
    }
    for input in inputs {
        let input = input.as_ref();
        if let Ok(meta) = fs_err::metadata(input)
            && meta.dev() == out.dev()
            && meta.ino() == out.ino()
        {
            return Err(Error::OutputIsInput {
                output: output.to_owned(),
                input: input.to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_regular_files_are_replaced_links_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a.json");
        assert_eq!(
            target(&file).expect("target"),
            Target::Replace(file.clone())
        );
        fs_err::write(&file, "old").expect("write");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("a.json", &link).expect("symlink");
        assert_eq!(
            target(&link).expect("target"),
            Target::Replace(file.clone())
        );
        write(&link, b"new").expect("write through the link");
        assert!(
            fs_err::symlink_metadata(&link)
                .expect("stat")
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs_err::read(&file).expect("read"), b"new");
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink("new.json", &dangling).expect("symlink");
        assert_eq!(
            target(&dangling).expect("target"),
            Target::Replace(dir.path().join("new.json"))
        );
    }

    #[test]
    fn only_stdout_errors_are_marked() {
        let pipe = io::Error::from(io::ErrorKind::BrokenPipe);
        assert!(!is_closed_stdout(&pipe), "a broken pipe elsewhere");
        let marked = stdout_error(pipe);
        assert!(is_closed_stdout(&marked));
        assert!(is_closed_stdout(&stdout_error(marked)), "marked twice");
        let full = stdout_error(io::Error::from(io::ErrorKind::StorageFull));
        assert!(!is_closed_stdout(&full), "another error writing stdout");
    }

    #[test]
    fn a_replaced_output_keeps_its_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("report.json");
        fs_err::write(&file, "old").expect("write");
        for mode in [0o600, 0o640, 0o666] {
            fs_err::set_permissions(&file, std::fs::Permissions::from_mode(mode)).expect("chmod");
            write(&file, b"new").expect("write");
            let meta = fs_err::metadata(&file).expect("stat");
            assert_eq!(meta.permissions().mode() & 0o777, mode, "{mode:o}");
        }
        assert_eq!(fs_err::read(&file).expect("read"), b"new");
    }

    #[test]
    fn devices_are_written_in_place_and_stdout_named() {
        assert_eq!(
            target(Path::new("/dev/null")).expect("target"),
            Target::Direct(PathBuf::from("/dev/null"))
        );
        assert_eq!(target(Path::new("-")).expect("target"), Target::Stdout);
        assert_eq!(
            target(Path::new("/dev/stdout")).expect("target"),
            Target::Stdout
        );
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(target(dir.path()).is_err());
    }

    #[test]
    fn an_input_is_no_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = dir.path().join("x.parquet");
        fs_err::write(&input, "x").expect("write");
        let hard = dir.path().join("hard.parquet");
        fs_err::hard_link(&input, &hard).expect("link");
        let other = dir.path().join("other.parquet");
        fs_err::write(&other, "y").expect("write");
        assert!(ensure_not_input(&hard, &[&input]).is_err());
        assert!(ensure_not_input(&dir.path().join("./x.parquet"), &[&input]).is_err());
        assert!(ensure_not_input(&other, &[&input]).is_ok());
        assert!(ensure_not_input(&dir.path().join("new"), &[&input]).is_ok());
        assert!(ensure_not_input(Path::new("-"), &[&input]).is_ok());
    }
}
