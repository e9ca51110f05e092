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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow_select::filter::filter_record_batch;
use mlops_core::outfile::OutFile;
use mlops_data::rows::Values;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};

/// Requests' batches the channel holds before rows are dropped.
const CAPACITY: usize = 1024;

/// Bytes of rows the channel holds before rows are dropped: with requests of up to
/// `--max-body`, a count of batches alone would not bound the memory.
const CAPACITY_BYTES: usize = 256 << 20;

/// The least time between two warnings about dropped rows: each says how many were dropped
/// since the one before, so a full queue gives a line every so often, not one per request.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Where warnings go: the library does not print, the binary does (to stderr). Called from
/// request tasks, so it must be quick.
#[derive(Clone)]
pub struct Warn(pub Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for Warn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Warn(..)")
    }
}

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
    /// Told when rows are dropped because the queue was full, at most once every ten seconds
    /// with the count since the last time, and once more at shutdown if some went untold.
    pub warn: Option<Warn>,
    /// Where the labels log goes (`--labels-dir`); `None` puts it beside this one.
    pub labels: Option<PathBuf>,
}

impl LogOptions {
    /// Where labels sent to `POST /v2/feedback` go: `labels` when given, else the sibling
    /// `labels` of the prediction log's directory (`.mlops/labels/` beside
    /// `.mlops/predictions/`), so that reading the prediction log never reads labels too.
    pub fn labels_dir(&self) -> PathBuf {
        self.labels
            .clone()
            .unwrap_or_else(|| self.dir.with_file_name("labels"))
    }
}

/// One answered request's rows, as the requests hand them to the writer.
pub(crate) struct Answered<'a> {
    pub(crate) inputs: &'a RecordBatch,
    pub(crate) scored: &'a [(String, Values)],
    pub(crate) model: &'a str,
    pub(crate) version: &'a str,
    /// The route's variant when a route chose the model; `None` for a request to the model.
    pub(crate) variant: Option<&'a str>,
    pub(crate) id: &'a str,
    pub(crate) latency: Duration,
}

/// The requests' end of the log.
pub(crate) struct Log {
    /// Taken at shutdown, which closes the channel and lets the writer finish.
    sender: Mutex<Option<SyncSender<Entry>>>,
    dropped: Dropped,
    /// Bytes of the batches handed over and not yet written.
    queued: Arc<AtomicUsize>,
}

/// Rows dropped and not yet warned about, and when the last warning went out.
struct Dropped {
    warn: Option<Warn>,
    /// Rows untold, when the last warning went out, and why the last rows were dropped.
    state: Mutex<(u64, Option<Instant>, &'static str)>,
}

impl Dropped {
    fn new(warn: Option<Warn>) -> Self {
        Dropped {
            warn,
            state: Mutex::new((0, None, "")),
        }
    }

    /// Counts `rows` dropped because of `why`, and warns if the last warning is old enough
    /// (or at `last`, if any went untold).
    fn count(&self, rows: u64, why: Option<&'static str>, last: bool) {
        let Some(warn) = &self.warn else {
            return;
        };
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.0 += rows;
        if let Some(why) = why {
            state.2 = why;
        }
        let due = state.1.is_none_or(|at| at.elapsed() >= WARN_EVERY) || last;
        if state.0 > 0 && due {
            let since = if state.1.is_some() {
                " since the last warning"
            } else {
                ""
            };
            (warn.0)(&format!(
                "the prediction log dropped {} rows{since}: {}; \
                 mlops_serve_log_dropped_rows_total counts them all",
                state.0, state.2
            ));
            state.0 = 0;
            state.1 = Some(Instant::now());
        }
    }
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

/// Starts the writer thread for `options`, once the temporary files a killed writer left in
/// its directory are gone.
pub(crate) fn start(options: &LogOptions) -> Result<(Arc<Log>, Writer)> {
    sweep(&options.dir);
    let (sender, receiver) = std::sync::mpsc::sync_channel(CAPACITY);
    let dropped = Dropped::new(options.warn.clone());
    let options = options.clone();
    let queued = Arc::new(AtomicUsize::new(0));
    let written = Arc::clone(&queued);
    let thread = std::thread::Builder::new()
        .name("mlops-serve-log".to_owned())
        .spawn(move || write_all(&options, &receiver, &written))
        .map_err(Error::Io)?;
    let log = Log {
        sender: Mutex::new(Some(sender)),
        dropped,
        queued,
    };
    Ok((Arc::new(log), Writer { thread }))
}

impl Log {
    /// Hands `answered`'s rows (those `keep` keeps, when given) to the writer; returns the rows
    /// dropped (all or none), because the channel was full, the writer had stopped, or the rows
    /// could not be assembled.
    pub(crate) fn record(&self, answered: &Answered<'_>, keep: Option<&BooleanArray>) -> u64 {
        let rows = keep.map_or(answered.inputs.num_rows(), BooleanArray::true_count) as u64;
        let now = now();
        let kept = assemble(answered, now).and_then(|batch| match keep {
            Some(keep) => filter_record_batch(&batch, keep).map_err(|e| e.to_string()),
            None => Ok(batch),
        });
        let refused = match kept {
            Ok(batch) => self.offer(batch, now).err(),
            Err(_) => Some("their columns could not be put together"),
        };
        let Some(why) = refused else {
            return 0;
        };
        self.dropped.count(rows, Some(why), false);
        rows
    }

    /// Hands `batch`, written at `now`, to the writer; false when it was dropped because the
    /// channel was full or the writer had stopped.
    pub(crate) fn send(&self, batch: RecordBatch, now: Duration) -> bool {
        self.offer(batch, now).is_ok()
    }

    /// [`Log::send`], saying why a batch was dropped.
    fn offer(&self, batch: RecordBatch, now: Duration) -> Result<(), &'static str> {
        let full = Err("its queue was full (is the disk slow?)");
        let bytes = batch.get_array_memory_size();
        if self.queued.fetch_add(bytes, Ordering::Relaxed) + bytes > CAPACITY_BYTES {
            self.queued.fetch_sub(bytes, Ordering::Relaxed);
            return full;
        }
        let entry = Entry {
            batch,
            date: civil_date(now.as_secs()),
        };
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        let sent = sender.as_ref().map(|s| s.try_send(entry));
        if !matches!(sent, Some(Ok(()))) {
            self.queued.fetch_sub(bytes, Ordering::Relaxed);
        }
        match sent {
            Some(Ok(())) => Ok(()),
            Some(Err(TrySendError::Full(_))) => full,
            Some(Err(TrySendError::Disconnected(_))) => {
                Err("its writer stopped on an error, which the server reports as it exits")
            }
            None => Err("the log was closed"),
        }
    }

    /// Closes the channel: the writer completes its file once it has written what it holds.
    pub(crate) fn close(&self) {
        self.sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        self.dropped.count(0, None, true);
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

/// The columns the log adds after a request's inputs and outputs, which identify the answer.
const OWN_COLUMNS: [&str; 7] = [
    "model",
    "model_version",
    "variant",
    "request_id",
    "row",
    "timestamp",
    "latency_ms",
];

/// Refuses a model whose input is named like one of the log's own columns or like an output
/// (`score`, `prediction`, ...): its log would hold two columns of one name, which no reader
/// tells apart. Renaming either silently would move a column users join or compare on, so
/// the server refuses to start and says why, as `mlops predict` refuses a clashing `--keep`.
pub(crate) fn check_columns(name: &str, model: &mlops_infer::Model) -> Result<()> {
    let outputs: Vec<String> = mlops_infer::predict::added_columns(model)
        .into_iter()
        .map(|(output, _)| output)
        .collect();
    // The request's columns: the inputs, and the column group thresholds read beside them.
    let keyed = model
        .spec
        .postprocess
        .as_ref()
        .map(|p| p.sensitive.as_str());
    let columns = model
        .features
        .iter()
        .map(mlops_data::rows::Feature::column)
        .chain(keyed);
    for column in columns {
        let clashes = if OWN_COLUMNS.contains(&column) {
            "the prediction log's own column"
        } else if outputs.iter().any(|o| o == column) {
            "one of its outputs"
        } else {
            continue;
        };
        return Err(Error::LogColumnClash {
            model: name.to_owned(),
            column: column.to_owned(),
            clashes,
        });
    }
    Ok(())
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
    let [
        model,
        model_version,
        variant,
        request_id,
        row,
        timestamp_name,
        latency_ms,
    ] = OWN_COLUMNS;
    let variants: ArrayRef = Arc::new(StringArray::from(vec![answered.variant; rows]));
    let extra: [(&str, DataType, ArrayRef); 7] = [
        (model, DataType::Utf8, text(answered.model)),
        (model_version, DataType::Utf8, text(answered.version)),
        (variant, DataType::Utf8, variants),
        (request_id, DataType::Utf8, text(answered.id)),
        (row, DataType::Int64, row_indices(0..rows as u64)),
        (timestamp_name, timestamp.data_type().clone(), stamps),
        (
            latency_ms,
            DataType::Float64,
            Arc::new(Float64Array::from(vec![
                answered.latency.as_secs_f64()
                    * 1000.0;
                rows
            ])),
        ),
    ];
    for (name, data_type, array) in extra {
        // Only `variant` holds nulls (rows answered outside a route), in every file alike.
        fields.push(Field::new(name, data_type, name == variant));
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
fn write_all(options: &LogOptions, queue: &Receiver<Entry>, queued: &AtomicUsize) -> Result<()> {
    let mut parts = Parts::new(options);
    loop {
        // With a file open, wait no longer than its age allows, so a quiet server still
        // completes it on time.
        let received = match &parts.open {
            Some(o) => queue.recv_timeout(options.age.saturating_sub(o.opened.elapsed())),
            None => queue.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match received {
            Ok(entry) => {
                parts.write(&entry)?;
                queued.fetch_sub(entry.batch.get_array_memory_size(), Ordering::Relaxed);
            }
            Err(RecvTimeoutError::Timeout) => parts.complete()?,
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    parts.complete()
}

/// The part files of one log directory, written one at a time.
pub(crate) struct Parts<'a> {
    options: &'a LogOptions,
    open: Option<Open>,
    /// Files opened so far, which numbers the next.
    count: u64,
}

impl<'a> Parts<'a> {
    pub(crate) fn new(options: &'a LogOptions) -> Self {
        Parts {
            options,
            open: None,
            count: 0,
        }
    }

    /// Writes `entry` to the open file, or to a new one when it cannot go there.
    fn write(&mut self, entry: &Entry) -> Result<()> {
        // A new day, different columns (a request that sent other types), a full or old file
        // completes the file: one Parquet file holds one schema.
        if self.open.as_ref().is_some_and(|o| {
            o.date != entry.date
                || o.schema != entry.batch.schema()
                || o.rows >= self.options.rows
                || o.opened.elapsed() >= self.options.age
        }) {
            self.complete()?;
        }
        let current = if let Some(current) = &mut self.open {
            current
        } else {
            self.count += 1;
            self.open
                .insert(create(&self.options.dir, entry, self.count)?)
        };
        current
            .writer
            .write(&entry.batch)
            .map_err(|e| Error::Log(e.to_string()))?;
        current.rows += entry.batch.num_rows();
        Ok(())
    }

    /// Writes `batch`, stamped `now`, into its day's partition.
    pub(crate) fn write_batch(&mut self, batch: RecordBatch, now: Duration) -> Result<()> {
        self.write(&Entry {
            batch,
            date: civil_date(now.as_secs()),
        })
    }

    /// Completes the open file, if any: its footer written, renamed into place.
    pub(crate) fn complete(&mut self) -> Result<()> {
        self.open.take().map_or(Ok(()), complete)
    }
}

/// Removes the temporary part files that writers killed mid-file (SIGKILL, a crash) left
/// under `dir`, in its partitions and one level of subdirectories (a model's own log) below.
/// Only names of our temporary files whose process is gone are touched (see
/// [`mlops_core::atomic::remove_stale_temps`]); nothing else, and not a live server's file.
pub(crate) fn sweep(dir: &Path) {
    fn subdirectories(dir: &Path) -> Vec<PathBuf> {
        fs_err::read_dir(dir).map_or_else(
            |_| Vec::new(),
            |entries| {
                entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path())
                    .collect()
            },
        )
    }
    let mut level = vec![dir.to_owned()];
    for _ in 0..3 {
        for dir in &level {
            mlops_core::atomic::remove_stale_temps(dir);
        }
        level = level.iter().flat_map(|d| subdirectories(d)).collect();
    }
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

    use super::{Answered, CAPACITY_BYTES, Dropped, Log, Warn, civil_date};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_full_queue_drops_rows_without_waiting_and_warns_now_and_then() {
        let (sender, _queue) = std::sync::mpsc::sync_channel(1);
        let told = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = Arc::clone(&told);
        let warn = Warn(Arc::new(move |line: &str| {
            sink.lock().expect("lock").push(line.to_owned());
        }));
        let log = Log {
            sender: Mutex::new(Some(sender)),
            dropped: Dropped::new(Some(warn)),
            queued: Arc::default(),
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
            variant: None,
            id: "r",
            latency: Duration::from_millis(1),
        };
        assert_eq!(log.record(&answered, None), 0, "queued");
        assert_eq!(
            log.record(&answered, None),
            2,
            "full: dropped, not waited for"
        );
        assert_eq!(log.record(&answered, None), 2, "still full");
        log.close();
        assert_eq!(log.record(&answered, None), 2, "closed");
        let told = told.lock().expect("lock");
        // The first drop is told at once; the next within ten seconds waits for the one at
        // shutdown, which counts it.
        assert_eq!(told.len(), 2, "{told:?}");
        assert!(
            told[0].contains("dropped 2 rows: its queue was full"),
            "{told:?}"
        );
        assert!(
            told[1].contains("dropped 2 rows since the last warning"),
            "{told:?}"
        );
    }

    #[test]
    fn rows_over_the_queued_bytes_are_dropped_while_the_channel_has_room() {
        let (sender, queue) = std::sync::mpsc::sync_channel(16);
        let log = Log {
            sender: Mutex::new(Some(sender)),
            dropped: Dropped::new(None),
            // Nearly full: big requests' rows are waiting for a slow disk.
            queued: Arc::new(AtomicUsize::new(CAPACITY_BYTES - 64)),
        };
        let inputs =
            RecordBatch::try_from_iter([("a", Arc::new(Float64Array::from(vec![1.0; 64])) as _)])
                .expect("batch");
        let scored = [("score".to_owned(), Values::Float32(vec![0.5; 64]))];
        let answered = Answered {
            inputs: &inputs,
            scored: &scored,
            model: "m",
            version: "v",
            variant: None,
            id: "r",
            latency: Duration::from_millis(1),
        };
        assert_eq!(log.record(&answered, None), 64, "over the bytes: dropped");
        assert!(queue.try_recv().is_err(), "nothing was queued");
        assert_eq!(log.queued.load(Ordering::Relaxed), CAPACITY_BYTES - 64);
        // Once the writer has caught up, the rows go through and are counted as queued.
        log.queued.store(0, Ordering::Relaxed);
        assert_eq!(log.record(&answered, None), 0, "queued");
        let entry = queue.try_recv().expect("an entry");
        assert_eq!(
            log.queued.load(Ordering::Relaxed),
            entry.batch.get_array_memory_size()
        );
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(951_782_400), "2000-02-29");
        assert_eq!(civil_date(1_796_601_599), "2026-12-06");
    }
}
