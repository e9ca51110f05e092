//! Progress reporting without printing: long operations call a [`Progress`] the binary provides
//! (an indicatif bar there); libraries and tests pass [`NoProgress`].

/// Receives progress from a long operation; called from many threads.
pub trait Progress: Sync {
    /// The work ahead: a number of items (files or objects) and of bytes.
    fn start(&self, _what: &str, _items: u64, _bytes: u64) {}
    /// One item of `bytes` bytes is done.
    fn advance(&self, _bytes: u64) {}
    /// The work ahead is `rows` rows of a table (0 when unknown).
    fn start_rows(&self, _what: &str, _rows: u64) {}
    /// `rows` more rows are done.
    fn advance_rows(&self, _rows: u64) {}
    /// The work is over (also on error).
    fn finish(&self) {}
}

/// Ignores all progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
