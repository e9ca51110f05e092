//! Where an input file's bytes come from: the one place the data layer opens a file to read.
//!
//! Every format reader (Parquet, Arrow IPC, CSV, NDJSON) opens its files through this module, so
//! an input on another medium is one change here, not one per format. An input is a local path
//! or, carried through the same `Path`-based APIs unchanged, an object-store or HTTP URL
//! (`s3://bucket/key`, see [`crate::input::is_url`]), read through `mlops_core::remote::url`:
//! - CSV and NDJSON objects are streamed from one request ([`open`]), Arrow IPC objects fetched
//!   whole ([`open_seekable`]: an IPC file's footer is at its end);
//! - Parquet objects are read by ranged requests ([`parquet`]): the footer first (the last
//!   64 KiB, one request), then, for each row group, only the column chunks the reader asks for,
//!   each in one request. Parquet's synchronous reader asks for a column chunk page by page (a
//!   header read, then the page's bytes), so a page-by-page client would pay two round trips a
//!   page; [`RemoteParquet`] instead fetches whole column chunks (their byte ranges come from the
//!   footer) and serves their pages from memory, holding one row group's chunks at a time, as
//!   arrow-rs's async reader does. Told which columns the reader will read ([`Planner`]), it
//!   fetches all of a row group's chunks of those columns when the reader first reaches the row
//!   group, adjacent ones in one request and the rest in parallel; untold, the chunk a request
//!   falls in. A projection therefore saves the bytes of the columns not read, and a row group
//!   the reader skips (`--where`) is not fetched at all.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Seek};
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use mlops_core::remote::url::Object;
use parquet::arrow::ProjectionMask;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::file::reader::{ChunkReader, Length};

use crate::error::{Error, Result};
use crate::input::url_of;

/// The bytes of `path`, from its start, buffered; an object's bytes as they arrive for a URL.
///
/// # Errors
/// When the file cannot be opened or the object read; the error names it.
pub(crate) fn open(path: &Path) -> Result<Box<dyn Read + Send>> {
    if let Some(url) = url_of(path) {
        // Streamed: a CSV or NDJSON object larger than memory reads as a local file does.
        return Ok(Box::new(std::io::BufReader::with_capacity(
            256 * 1024,
            Object::new(url)?.reader()?,
        )));
    }
    let file = fs_err::File::open(path)?;
    Ok(Box::new(std::io::BufReader::with_capacity(
        256 * 1024,
        file,
    )))
}

/// A reader that can also seek (Arrow IPC files keep their footer at the end).
pub(crate) trait ReadSeek: Read + Seek + Send {}

impl<T: Read + Seek + Send> ReadSeek for T {}

/// The bytes of `path` with seeking: the file itself, or an object's whole bytes for a URL.
///
/// # Errors
/// As [`open`].
pub(crate) fn open_seekable(path: &Path) -> Result<Box<dyn ReadSeek>> {
    if let Some(url) = url_of(path) {
        return Ok(Box::new(Cursor::new(Object::new(url)?.read()?)));
    }
    Ok(Box::new(fs_err::File::open(path)?.into_parts().0))
}

/// A Parquet file's bytes for Parquet's readers: the local file, or ranged requests on an
/// object (see the module's doc).
///
/// # Errors
/// When the file cannot be opened, or the object does not exist or cannot be reached.
pub(crate) fn parquet(path: &Path) -> Result<ParquetSource> {
    let Some(url) = url_of(path) else {
        return Ok(ParquetSource::File(
            fs_err::File::open(path)?.into_parts().0,
        ));
    };
    let object = Object::new(url)?;
    // The footer first, with the object's size, in one request; once a run, as a command may
    // open a file several times for different columns (drift reads a few at a time).
    let (len, tail) = footer(&object)?;
    let state = State {
        tail: Some((len.saturating_sub(tail.len() as u64), tail)),
        ..State::default()
    };
    Ok(ParquetSource::Remote(RemoteParquet(Arc::new(Remote {
        object,
        len,
        state: Mutex::new(state),
    }))))
}

/// Footers fetched this run, by URL.
type Footers = BTreeMap<String, (u64, Bytes)>;

/// Footers kept at most: their bytes are at most [`TAIL`] each.
const FOOTERS: usize = 256;

/// An object's size and last [`TAIL`] bytes, fetched once a run.
fn footer(object: &Object) -> Result<(u64, Bytes)> {
    static SEEN: Mutex<Footers> = Mutex::new(BTreeMap::new());
    if let Some(found) = SEEN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(object.url())
    {
        return Ok(found.clone());
    }
    let fetched = object.tail(TAIL)?;
    let mut seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    if seen.len() >= FOOTERS {
        seen.clear();
    }
    seen.insert(object.url().to_owned(), fetched.clone());
    Ok(fetched)
}

/// Whether an object exists at `url`: its footer is fetched (and kept, for the reader that
/// opens it next) rather than asking for its size alone, which would cost the same request.
///
/// # Errors
/// When the request fails for another reason than a missing key.
pub(crate) fn exists(url: &str) -> Result<bool> {
    match footer(&Object::new(url)?) {
        Ok(_) => Ok(true),
        Err(Error::Url(mlops_core::Error::InputNotFound { .. })) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Tells a remote Parquet source which column chunks its reader will ask for.
pub(crate) struct Planner(Option<Arc<Remote>>);

impl Planner {
    /// The reader reads the columns of `mask`, in the row groups it reaches.
    pub(crate) fn plan(&self, metadata: &ParquetMetaData, mask: &ProjectionMask) {
        let Some(remote) = &self.0 else {
            return;
        };
        let groups = metadata
            .row_groups()
            .iter()
            .map(|group| {
                group
                    .columns()
                    .iter()
                    .enumerate()
                    .filter(|(leaf, _)| mask.leaf_included(*leaf))
                    .map(|(_, column)| {
                        let (start, length) = column.byte_range();
                        start..start + length
                    })
                    .collect()
            })
            .collect();
        remote
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .plan = Some(groups);
    }
}

/// A Parquet file on disk or in an object store.
pub(crate) enum ParquetSource {
    File(std::fs::File),
    Remote(RemoteParquet),
}

impl ParquetSource {
    /// What tells this source, once the reader's projection is known, which column chunks to
    /// fetch (nothing for a local file).
    pub(crate) fn planner(&self) -> Planner {
        Planner(match self {
            Self::File(_) => None,
            Self::Remote(remote) => Some(Arc::clone(&remote.0)),
        })
    }
}

impl Length for ParquetSource {
    fn len(&self) -> u64 {
        match self {
            Self::File(file) => file.len(),
            Self::Remote(remote) => remote.0.len,
        }
    }
}

impl ChunkReader for ParquetSource {
    type T = Box<dyn Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(match self {
            Self::File(file) => Box::new(file.get_read(start)?),
            Self::Remote(remote) => Box::new(RemoteRead {
                remote: Arc::clone(&remote.0),
                pos: start,
                buf: Bytes::new(),
            }),
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        match self {
            Self::File(file) => file.get_bytes(start, length),
            Self::Remote(remote) => remote.0.bytes(start, length),
        }
    }
}

/// A Parquet object read by ranged requests.
#[derive(Clone)]
pub(crate) struct RemoteParquet(Arc<Remote>);

/// The last bytes of a Parquet object fetched first: the footer and, for all but very wide
/// files, the whole metadata in one request.
const TAIL: u64 = 64 * 1024;

/// Bytes read past the column chunks the footer names (never, for a well-formed file).
const BLOCK: u64 = 64 * 1024;

struct Remote {
    object: Object,
    len: u64,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The object's last bytes, and where they start (fetched when the source is opened).
    tail: Option<(u64, Bytes)>,
    /// Every column chunk's byte range and row group, from the footer; `None` until read.
    chunks: Option<Vec<(Range<u64>, usize)>>,
    /// The column chunks fetched, of the row group being read.
    cached: Vec<(Range<u64>, usize, Bytes)>,
    /// The column chunks the reader will read, by row group (see [`Planner`]).
    plan: Option<Vec<Vec<Range<u64>>>>,
}

/// A failed request of a Parquet reader, kept (by URL) for [`take_failure`]: Parquet hands its
/// readers' errors to the caller as text only, which would lose which bucket and key failed
/// and how (denied, missing, unreachable), and with that the hint.
fn io_error(url: &str, err: mlops_core::Error) -> ParquetError {
    let message = err.to_string();
    failures()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(url.to_owned(), err);
    ParquetError::General(message)
}

fn failures() -> &'static Mutex<BTreeMap<String, mlops_core::Error>> {
    static FAILURES: Mutex<BTreeMap<String, mlops_core::Error>> = Mutex::new(BTreeMap::new());
    &FAILURES
}

/// The request failure that made reading the object at `path` fail, if one did.
pub(crate) fn take_failure(path: &Path) -> Option<Error> {
    let url = url_of(path)?;
    failures()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(url)
        .map(Error::Url)
}

impl Remote {
    /// Bytes `start..start + length`, from what is cached or one request.
    fn bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let end = start + length as u64;
        let segment = self.segment(start)?;
        if segment.len() >= length {
            return Ok(segment.slice(..length));
        }
        // A range across two column chunks: not one a reader asks for, but answered.
        self.fetch(start..end)
    }

    fn fetch(&self, range: Range<u64>) -> parquet::errors::Result<Bytes> {
        self.object
            .read_range(range)
            .map_err(|e| io_error(self.object.url(), e))
    }

    /// The bytes from `start` to the end of the cached segment (the tail or a column chunk)
    /// that holds it, fetching that segment first when needed.
    fn segment(&self, start: u64) -> parquet::errors::Result<Bytes> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let from = |range_start: u64, bytes: &Bytes| {
            bytes.slice(usize::try_from(start - range_start).unwrap_or(usize::MAX)..)
        };
        if start >= self.len {
            return Ok(Bytes::new());
        }
        if let Some((tail_start, tail)) = &state.tail
            && start >= *tail_start
        {
            return Ok(from(*tail_start, tail));
        }
        if let Some((range, _, bytes)) = state.cached.iter().find(|(r, ..)| r.contains(&start)) {
            return Ok(from(range.start, bytes));
        }
        if state.chunks.is_none() {
            state.chunks = Some(self.column_chunks(&state)?);
        }
        let chunk = state
            .chunks
            .iter()
            .flatten()
            .find(|(range, _)| range.contains(&start))
            .cloned();
        let Some((range, row_group)) = chunk else {
            return self.fetch(start..(start + BLOCK).min(self.len));
        };
        // The reader moves on row group by row group: the chunks of earlier ones are done.
        state.cached.retain(|(_, group, _)| *group == row_group);
        let planned = state
            .plan
            .as_ref()
            .and_then(|plan| plan.get(row_group))
            .filter(|ranges| ranges.contains(&range))
            .cloned();
        let fetched = match planned {
            Some(ranges) => {
                let bytes = self
                    .object
                    .read_ranges(&ranges)
                    .map_err(|e| io_error(self.object.url(), e))?;
                ranges.into_iter().zip(bytes).collect()
            }
            None => vec![(range.clone(), self.fetch(range.clone())?)],
        };
        let mut found = Bytes::new();
        for (chunk, bytes) in fetched {
            if chunk == range {
                found = from(chunk.start, &bytes);
            }
            state.cached.push((chunk, row_group, bytes));
        }
        Ok(found)
    }

    /// Every column chunk's byte range, from the footer (in the tail, or fetched).
    fn column_chunks(&self, state: &State) -> parquet::errors::Result<Vec<(Range<u64>, usize)>> {
        let (tail_start, tail) = state
            .tail
            .as_ref()
            .ok_or_else(|| ParquetError::General("the footer was not read".to_owned()))?;
        let footer = tail
            .len()
            .checked_sub(8)
            .map(|at| tail.slice(at..))
            .ok_or_else(|| {
                ParquetError::EOF("a Parquet file ends with 8 bytes of footer".to_owned())
            })?;
        let metadata_len = u64::from(u32::from_le_bytes([
            footer[0], footer[1], footer[2], footer[3],
        ]));
        let metadata_start = (self.len - 8).checked_sub(metadata_len).ok_or_else(|| {
            ParquetError::EOF("the footer's metadata length exceeds the file".to_owned())
        })?;
        let metadata = if metadata_start >= *tail_start {
            let at = usize::try_from(metadata_start - tail_start).unwrap_or(usize::MAX);
            tail.slice(at..tail.len() - 8)
        } else {
            self.fetch(metadata_start..self.len - 8)?
        };
        let metadata = ParquetMetaDataReader::decode_metadata(&metadata)?;
        let mut chunks = Vec::new();
        for (index, group) in metadata.row_groups().iter().enumerate() {
            for column in group.columns() {
                let (start, length) = column.byte_range();
                chunks.push((start..start + length, index));
            }
        }
        Ok(chunks)
    }
}

/// A reader from `pos` on, over [`Remote::segment`]s.
struct RemoteRead {
    remote: Arc<Remote>,
    pos: u64,
    buf: Bytes,
}

impl Read for RemoteRead {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.buf.is_empty() {
            if self.pos >= self.remote.len {
                return Ok(0);
            }
            self.buf = self
                .remote
                .segment(self.pos)
                .map_err(std::io::Error::other)?;
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.buf = self.buf.slice(n..);
        self.pos += n as u64;
        Ok(n)
    }
}
