//! The prediction log: every row answered with success, as Parquet under the log directory.
//!
//! Each row keeps its inputs as the request gave them, the outputs, the model's name and
//! version, the request id, the time it was answered and the request's latency. Files are
//! partitioned by date (`date=YYYY-MM-DD/part-*.parquet`, a hive layout every command reads)
//! and written by one thread, off the request path: requests hand their rows over a bounded
//! channel and never wait on it. When it is full the rows are dropped and counted
//! (`mlops_serve_log_dropped_rows_total`), so a slow disk neither stalls scoring nor grows
//! memory. A file is written under a temporary name and renamed when complete, so a reader
//! never sees half a file.
//!
//! The labels log (`feedback`) is written by the same writer: one more instance of it, under
//! the sibling `labels/` directory, fed with batches of request id, row, label and timestamp.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arrow_array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use mlops_core::outfile::OutFile;
use mlops_data::rows::Values;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};

/// Requests' batches the channel holds before rows are dropped.
const CAPACITY: usize = 1024;

/// Where and how the log is written.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// The directory the `date=` partitions go under.
    pub dir: PathBuf,
    /// A file is completed once it holds this many rows (a request's rows are never split
    /// across files), and at midnight UTC and on shutdown.
    pub rows: usize,
    /// A file is completed this long after it was opened, rows or not.
    pub age: Duration,
}

impl LogOptions {
    /// Where labels sent to `POST /v2/feedback` go: the sibling `labels` of the prediction
    /// log's directory (`.mlops/labels/` beside `.mlops/predictions/`), so that reading the
    /// prediction log never reads labels too.
    pub fn labels_dir(&self) -> PathBuf {
        self.dir.with_file_name("labels")
    }
}

/// One answered request's rows, as the requests hand them to the writer.
pub(crate) struct Answered<'a> {
    pub(crate) inputs: &'a RecordBatch,
    pub(crate) scored: &'a [(String, Values)],
    pub(crate) model: &'a str,
    pub(crate) version: &'a str,
    pub(crate) id: &'a str,
    pub(crate) latency: Duration,
}

/// The requests' end of the log.
pub(crate) struct Log {
    /// Taken at shutdown, which closes the channel and lets the writer finish.
    sender: Mutex<Option<SyncSender<Entry>>>,
}

/// A batch of rows and the day they were answered on.
struct Entry {
    batch: RecordBatch,
    date: String,
}

/// The writer thread, joined at shutdown.
pub(crate) struct Writer {
    thread: std::thread::JoinHandle<Result<()>>,
}

/// Starts the writer thread for `options`.
pub(crate) fn start(options: &LogOptions) -> Result<(Arc<Log>, Writer)> {
    let (sender, receiver) = std::sync::mpsc::sync_channel(CAPACITY);
    let options = options.clone();
    let thread = std::thread::Builder::new()
        .name("mlops-serve-log".to_owned())
        .spawn(move || write_all(&options, &receiver))
        .map_err(Error::Io)?;
    let log = Log {
        sender: Mutex::new(Some(sender)),
    };
    Ok((Arc::new(log), Writer { thread }))
}

impl Log {
    /// Hands `answered`'s rows to the writer; returns the rows dropped (all or none), because
    /// the channel was full, the writer had stopped, or the rows could not be assembled.
    pub(crate) fn record(&self, answered: &Answered<'_>) -> u64 {
        let rows = answered.inputs.num_rows() as u64;
        let now = now();
        match assemble(answered, now) {
            Ok(batch) => {
                if self.send(batch, now) {
                    0
                } else {
                    rows
                }
            }
            Err(_) => rows,
        }
    }

    /// Hands `batch`, written at `now`, to the writer; false when it was dropped because the
    /// channel was full or the writer had stopped.
    pub(crate) fn send(&self, batch: RecordBatch, now: Duration) -> bool {
        let entry = Entry {
            batch,
            date: civil_date(now.as_secs()),
        };
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        sender.as_ref().is_some_and(|s| s.try_send(entry).is_ok())
    }

    /// Closes the channel: the writer completes its file once it has written what it holds.
    pub(crate) fn close(&self) {
        self.sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

impl Writer {
    /// Waits for the writer to write every row handed over and complete its file.
    pub(crate) fn finish(self) -> Result<()> {
        self.thread
            .join()
            .unwrap_or_else(|_| Err(Error::Log("the log writer panicked".to_owned())))
    }
}

/// The time since the Unix epoch, which dates a batch and fills its `timestamp` column.
pub(crate) fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// The `timestamp` column: `now` on each of `rows` rows, in microseconds, UTC.
pub(crate) fn timestamps(now: Duration, rows: usize) -> (Field, ArrayRef) {
    let micros = i64::try_from(now.as_micros()).unwrap_or(i64::MAX);
    let data_type = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let array = TimestampMicrosecondArray::from(vec![micros; rows]).with_timezone("UTC");
    (Field::new("timestamp", data_type, false), Arc::new(array))
}

/// The `row` column: each row's index within its request, which labels join on.
pub(crate) fn row_indices(rows: impl Iterator<Item = u64>) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(
        rows.map(|r| i64::try_from(r).unwrap_or(i64::MAX)),
    ))
}

/// The log's columns for one request: the inputs, the outputs, then what identifies the answer.
fn assemble(answered: &Answered<'_>, now: Duration) -> std::result::Result<RecordBatch, String> {
    let rows = answered.inputs.num_rows();
    let mut fields: Vec<Field> = answered
        .inputs
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns: Vec<ArrayRef> = answered.inputs.columns().to_vec();
    for (name, values) in answered.scored {
        let array = values.clone().into_array();
        fields.push(Field::new(name, array.data_type().clone(), false));
        columns.push(array);
    }
    let text = |value: &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
            value, rows,
        )))
    };
    let (timestamp, stamps) = timestamps(now, rows);
    let extra: [(&str, DataType, ArrayRef); 6] = [
        ("model", DataType::Utf8, text(answered.model)),
        ("model_version", DataType::Utf8, text(answered.version)),
        ("request_id", DataType::Utf8, text(answered.id)),
        ("row", DataType::Int64, row_indices(0..rows as u64)),
        ("timestamp", timestamp.data_type().clone(), stamps),
        (
            "latency_ms",
            DataType::Float64,
            Arc::new(Float64Array::from(vec![
                answered.latency.as_secs_f64()
                    * 1000.0;
                rows
            ])),
        ),
    ];
    for (name, data_type, array) in extra {
        fields.push(Field::new(name, data_type, false));
        columns.push(array);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
}

/// The file being written: its day and columns, and the rows it holds.
struct Open {
    writer: ArrowWriter<OutFile>,
    date: String,
    schema: SchemaRef,
    rows: usize,
    opened: Instant,
}

/// The writer thread: writes every entry until the channel closes, then completes the file.
fn write_all(options: &LogOptions, queue: &Receiver<Entry>) -> Result<()> {
    let mut open: Option<Open> = None;
    let mut parts = 0_u64;
    loop {
        // With a file open, wait no longer than its age allows, so a quiet server still
        // completes it on time.
        let received = match &open {
            Some(o) => queue.recv_timeout(options.age.saturating_sub(o.opened.elapsed())),
            None => queue.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let entry = match received {
            Ok(entry) => entry,
            Err(RecvTimeoutError::Timeout) => {
                if let Some(current) = open.take() {
                    complete(current)?;
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        // A new day, different columns (a request that sent other types), a full or old file
        // completes the file: one Parquet file holds one schema.
        if let Some(current) = open.take_if(|o| {
            o.date != entry.date
                || o.schema != entry.batch.schema()
                || o.rows >= options.rows
                || o.opened.elapsed() >= options.age
        }) {
            complete(current)?;
        }
        let current = if let Some(current) = &mut open {
            current
        } else {
            parts += 1;
            open.insert(create(&options.dir, &entry, parts)?)
        };
        current
            .writer
            .write(&entry.batch)
            .map_err(|e| Error::Log(e.to_string()))?;
        current.rows += entry.batch.num_rows();
    }
    open.map_or(Ok(()), complete)
}

/// Opens a new part file for `entry`'s day and columns.
fn create(dir: &Path, entry: &Entry, part: u64) -> Result<Open> {
    let partition = dir.join(format!("date={}", entry.date));
    fs_err::create_dir_all(&partition).map_err(Error::Io)?;
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros();
    // The start time and process id keep names unique across restarts and servers.
    let name = format!("part-{started}-{}-{part:05}.parquet", std::process::id());
    let file = OutFile::create(&partition.join(name)).map_err(Error::Io)?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let schema = entry.batch.schema();
    let writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(properties))
        .map_err(|e| Error::Log(e.to_string()))?;
    Ok(Open {
        writer,
        date: entry.date.clone(),
        schema,
        rows: 0,
        opened: Instant::now(),
    })
}

/// Writes the footer and renames the file into place.
fn complete(open: Open) -> Result<()> {
    let file = open
        .writer
        .into_inner()
        .map_err(|e| Error::Log(e.to_string()))?;
    file.finish().map_err(Error::Io)
}

/// `YYYY-MM-DD` (UTC) of `seconds` since the Unix epoch (Howard Hinnant's `civil_from_days`).
fn civil_date(seconds: u64) -> String {
    let days = i64::try_from(seconds / 86_400).unwrap_or(0) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use arrow_array::{Float64Array, RecordBatch};
    use mlops_data::rows::Values;

    use super::{Answered, Log, civil_date};

    #[test]
    fn a_full_queue_drops_rows_without_waiting() {
        let (sender, _queue) = std::sync::mpsc::sync_channel(1);
        let log = Log {
            sender: Mutex::new(Some(sender)),
        };
        let inputs =
            RecordBatch::try_from_iter([("a", Arc::new(Float64Array::from(vec![1.0, 2.0])) as _)])
                .expect("batch");
        let scored = [("score".to_owned(), Values::Float32(vec![0.5, 0.25]))];
        let answered = Answered {
            inputs: &inputs,
            scored: &scored,
            model: "m",
            version: "v",
            id: "r",
            latency: Duration::from_millis(1),
        };
        assert_eq!(log.record(&answered), 0, "queued");
        assert_eq!(log.record(&answered), 2, "full: dropped, not waited for");
        log.close();
        assert_eq!(log.record(&answered), 2, "closed");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(951_782_400), "2000-02-29");
        assert_eq!(civil_date(1_796_601_599), "2026-12-06");
    }
}
