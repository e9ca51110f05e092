//! Where an input file's bytes come from: the one place the data layer opens a file to read.
//!
//! Every format reader (Parquet, Arrow IPC, CSV, NDJSON) opens its files through [`open`], so
//! that an input on another medium (an object store URL) is one change here, not one per format.

use std::io::Read;
use std::path::Path;

use crate::error::Result;

/// The bytes of `path`, from its start, buffered.
///
/// # Errors
/// When the file cannot be opened; the error names it.
pub(crate) fn open(path: &Path) -> Result<Box<dyn Read + Send>> {
    let file = fs_err::File::open(path)?;
    Ok(Box::new(std::io::BufReader::with_capacity(
        256 * 1024,
        file,
    )))
}
