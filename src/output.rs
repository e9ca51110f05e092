//! Everything the binary writes: data on stdout (text or `--json`), notes, warnings, errors and
//! progress bars on stderr, colour only where wanted.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::cli::{ColorChoice, GlobalArgs};
use crate::render::text::size;

/// Writes output as the global flags ask.
#[derive(Debug, Clone)]
pub(crate) struct Printer {
    quiet: bool,
    json: bool,
    color: bool,
}

impl Printer {
    pub(crate) fn new(global: &GlobalArgs) -> Self {
        let color = match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stderr().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        Self {
            quiet: global.quiet,
            json: global.json,
            color,
        }
    }

    pub(crate) fn stderr_color(&self) -> bool {
        self.color
    }

    /// Prints `report` as JSON, or the text `human` makes of it.
    pub(crate) fn report<T: Serialize>(
        &self,
        report: &T,
        human: impl FnOnce(&T) -> String,
    ) -> anyhow::Result<()> {
        if self.json {
            crate::render::print(&crate::render::json::pretty(report)?)
        } else {
            crate::render::print(&human(report))
        }
    }

    /// Writes bytes of data to stdout: the one place the binary writes its data, so that a
    /// reader that went away (`mlops status | head -1`) always surfaces as an error marked as
    /// stdout's ([`mlops_core::outfile::stdout_error`]), which `main` turns into a quiet exit 0.
    pub(crate) fn data(bytes: &[u8]) -> std::io::Result<()> {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(bytes)
            .and_then(|()| stdout.flush())
            .map_err(mlops_core::outfile::stdout_error)
    }

    /// Whether `--json` was given.
    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// A note for the user on stderr (suppressed by `-q` and `--json`).
    pub(crate) fn note(&self, text: &str) {
        if !self.quiet && !self.json {
            let _ = writeln!(std::io::stderr(), "{text}");
        }
    }

    /// A warning on stderr (suppressed by `-q`).
    pub(crate) fn warn(&self, text: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "{} {text}", self.paint("warning:", "33"));
        }
    }

    /// `error:` with the message, each cause, and the hint.
    pub(crate) fn error(&self, err: &anyhow::Error, hint: Option<&str>) {
        let mut out = format!("{} {err}\n", self.paint("error:", "31"));
        for cause in err.chain().skip(1) {
            let _ = writeln!(out, "  caused by: {cause}");
        }
        if let Some(hint) = hint {
            let _ = write!(out, "\n{} {hint}\n", self.paint("hint:", "36"));
        }
        // A web URL's credentials (`https://user:pass@host/...`) are never printed.
        let out = mlops_core::remote::url::redact(&out);
        let _ = std::io::stderr().write_all(out.as_bytes());
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[1;{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// A progress reporter: a bar on a terminal, nothing otherwise.
    pub(crate) fn progress(&self) -> BarProgress {
        BarProgress {
            enabled: std::io::stderr().is_terminal() && !self.quiet,
            bar: Mutex::new(None),
            counts: Arc::default(),
        }
    }
}

/// Whether `err` is only stdout's reader going away (`mlops status | head -1`): a write to
/// stdout that failed with a broken pipe, marked so where it was written
/// ([`mlops_core::outfile::stdout_error`], or [`from_stdout`]). A broken pipe anywhere else, such
/// as a remote's connection, is an error like any other, whatever stdout is.
pub(crate) fn closed_stdout(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(mlops_core::outfile::is_closed_stdout)
    })
}

/// `err`, from a command whose only stdout-bound output is the one that failed, as a closed
/// stdout when it is one. For writers that keep only the text of an I/O error (Parquet's, as in
/// `predict -o - | head -c 100`): the OS's text for `EPIPE` in a message then means stdout,
/// since the caller knows the output is stdout and writes nothing else there.
pub(crate) fn from_stdout(err: anyhow::Error) -> anyhow::Error {
    // EPIPE is 32 on Linux and macOS alike.
    const EPIPE: i32 = 32;
    let epipe = std::io::Error::from_raw_os_error(EPIPE);
    let text = epipe.to_string();
    if err.chain().any(|cause| cause.to_string().contains(&text)) {
        return mlops_core::outfile::stdout_error(epipe).into();
    }
    err
}

/// Shows [`mlops_core::progress::Progress`] as an indicatif bar: files done of all, bytes done of
/// all with the rate, and an ETA once the rate is known ([`eta`]). The text right of the bar is
/// [`files_text`] or [`rows_text`], computed at each redraw so the ETA follows the clock.
pub(crate) struct BarProgress {
    enabled: bool,
    bar: Mutex<Option<ProgressBar>>,
    counts: Arc<Counts>,
}

/// The files and bytes of the work in progress, shared with the bar's text.
#[derive(Default)]
struct Counts {
    items: AtomicU64,
    total_items: AtomicU64,
    bytes: AtomicU64,
    total_bytes: AtomicU64,
}

/// How often the bar redraws: on a clock rather than on progress (indicatif's ticker then does
/// all the drawing), so that the ETA appears, and grows, while one large file is worked on.
const TICK: Duration = Duration::from_millis(250);

impl BarProgress {
    /// Shows `bar` with `text` right of it, redrawn every [`TICK`], replacing any earlier bar.
    fn show(
        &self,
        bar: ProgressBar,
        what: &str,
        text: impl Fn(&indicatif::ProgressState) -> String + Send + Sync + Clone + 'static,
    ) {
        let style = ProgressStyle::with_template("{msg} {wide_bar} {status}")
            .expect("the template is valid")
            .with_key(
                "status",
                move |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_str(&text(state));
                },
            )
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(what.to_owned());
        bar.enable_steady_tick(TICK);
        let old = self
            .bar
            .lock()
            .expect("no panics while holding the lock")
            .replace(bar);
        if let Some(old) = old {
            old.finish_and_clear();
        }
    }
}

impl mlops_core::progress::Progress for BarProgress {
    fn start(&self, what: &str, items: u64, bytes: u64) {
        if !self.enabled || items == 0 {
            return;
        }
        let counts = &self.counts;
        counts.items.store(0, Ordering::Relaxed);
        counts.total_items.store(items, Ordering::Relaxed);
        counts.bytes.store(0, Ordering::Relaxed);
        counts.total_bytes.store(bytes, Ordering::Relaxed);
        // The bar fills by bytes when they are known, by files otherwise.
        let len = if bytes > 0 { bytes } else { items };
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        let counts = Arc::clone(&self.counts);
        self.show(bar, what, move |state| {
            files_text(
                state.elapsed(),
                (
                    counts.items.load(Ordering::Relaxed),
                    counts.total_items.load(Ordering::Relaxed),
                ),
                (
                    counts.bytes.load(Ordering::Relaxed),
                    counts.total_bytes.load(Ordering::Relaxed),
                ),
            )
        });
    }

    fn start_rows(&self, what: &str, rows: u64) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(rows), ProgressDrawTarget::stderr());
        self.show(bar, what, move |state| {
            rows_text(state.elapsed(), state.pos(), rows)
        });
    }

    fn advance_rows(&self, rows: u64) {
        if let Some(bar) = &*self.bar.lock().expect("no panics while holding the lock") {
            bar.inc(rows);
        }
    }

    fn advance(&self, bytes: u64) {
        if let Some(bar) = &*self.bar.lock().expect("no panics while holding the lock") {
            self.counts.items.fetch_add(1, Ordering::Relaxed);
            self.counts.bytes.fetch_add(bytes, Ordering::Relaxed);
            bar.inc(if self.counts.total_bytes.load(Ordering::Relaxed) > 0 {
                bytes
            } else {
                1
            });
        }
    }

    fn finish(&self) {
        if let Some(bar) = self
            .bar
            .lock()
            .expect("no panics while holding the lock")
            .take()
        {
            bar.finish_and_clear();
        }
    }
}

/// How long a bar must have run before its rate counts as known: a rate measured over less
/// swings wildly (the first file may be tiny, or sit in the page cache), and so would an ETA.
pub(crate) const RATE_KNOWN_AFTER: Duration = Duration::from_secs(1);

/// Units done per second, the average since the start: `None` until [`RATE_KNOWN_AFTER`] has
/// passed and something is done.
pub(crate) fn rate(elapsed: Duration, done: u64) -> Option<f64> {
    if elapsed < RATE_KNOWN_AFTER || done == 0 {
        return None;
    }
    #[expect(clippy::cast_precision_loss, reason = "a rounded figure for people")]
    Some(done as f64 / elapsed.as_secs_f64())
}

/// The time left to finish `total` units at the average rate so far ([`rate`]): `None` while
/// the rate is unknown, when the total is unknown (0), and once all is done.
pub(crate) fn eta(elapsed: Duration, done: u64, total: u64) -> Option<Duration> {
    if total == 0 || done >= total {
        return None;
    }
    let rate = rate(elapsed, done)?;
    #[expect(clippy::cast_precision_loss, reason = "a rounded figure for people")]
    let left = (total - done) as f64 / rate;
    // Whole seconds: a bar's ETA needs no more, and this keeps it from flickering.
    Duration::try_from_secs_f64(left.ceil()).ok()
}

/// A duration as a bar shows it: `45s`, `3m 05s`, `2h 07m`.
pub(crate) fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

/// The text right of a bar of files, from (done, total) files and (done, total) bytes:
/// `3/10 files, 1.2 MiB/4.0 MiB, 512.0 KiB/s, eta 6s`. With no bytes known (0 in all) the rate
/// and ETA count files: `3/10 files, 2.5 files/s, eta 3s`.
pub(crate) fn files_text(elapsed: Duration, files: (u64, u64), bytes: (u64, u64)) -> String {
    let mut out = format!("{}/{} files", files.0, files.1);
    let (done, total) = if bytes.1 > 0 {
        let _ = write!(out, ", {}/{}", size(bytes.0), size(bytes.1));
        if let Some(rate) = rate(elapsed, bytes.0) {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a rate for people, never negative"
            )]
            let _ = write!(out, ", {}/s", size(rate as u64));
        }
        bytes
    } else {
        if let Some(rate) = rate(elapsed, files.0) {
            let _ = write!(out, ", {rate:.1} files/s");
        }
        files
    };
    if let Some(eta) = eta(elapsed, done, total) {
        let _ = write!(out, ", eta {}", short_duration(eta));
    }
    out
}

/// The text right of a bar of rows: `1200/5000 rows, 400 rows/s, eta 10s`; `1200 rows` and the
/// rate alone when the total is unknown (0).
pub(crate) fn rows_text(elapsed: Duration, done: u64, total: u64) -> String {
    let mut out = if total > 0 {
        format!("{done}/{total} rows")
    } else {
        format!("{done} rows")
    };
    if let Some(rate) = rate(elapsed, done) {
        let _ = write!(out, ", {rate:.0} rows/s");
    }
    if let Some(eta) = eta(elapsed, done, total) {
        let _ = write!(out, ", eta {}", short_duration(eta));
    }
    out
}

/// Logs from `tracing` go to stderr; `-v` raises the level, `RUST_LOG` overrides it.
pub(crate) fn init_tracing(verbose: u8, color: bool) {
    let default = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .without_time()
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_write_to_stdout_is_a_closed_stdout() {
        let epipe = || std::io::Error::from_raw_os_error(32);
        // A broken pipe elsewhere (a remote's connection) is an error, even as the cause.
        let remote = anyhow::Error::from(epipe()).context("failed to upload to remote `origin`");
        assert!(!closed_stdout(&remote));
        assert!(!closed_stdout(&from_stdout(anyhow::anyhow!(
            "no pipe here"
        ))));
        // Marked where stdout was written, or by a caller whose output is stdout.
        let marked = anyhow::Error::from(mlops_core::outfile::stdout_error(epipe()));
        assert!(closed_stdout(&marked));
        assert!(closed_stdout(&marked.context("failed to write the report")));
        let text_only = anyhow::anyhow!("parquet: External: {}", epipe());
        assert!(!closed_stdout(&text_only));
        assert!(closed_stdout(&from_stdout(text_only)));
    }

    const fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn no_eta_until_the_rate_is_known() {
        // Nothing elapsed, nothing done, or less than a second: no rate, so no ETA.
        assert_eq!(eta(Duration::ZERO, 50, 100), None);
        assert_eq!(eta(secs(10), 0, 100), None);
        assert_eq!(eta(Duration::from_millis(999), 99, 100), None);
        assert_eq!(rate(Duration::from_millis(10), 1_000_000), None);
        // An unknown total, or all done: nothing to estimate.
        assert_eq!(eta(secs(10), 5, 0), None);
        assert_eq!(eta(secs(10), 100, 100), None);
        // From the average rate: a quarter done in 2 s leaves 6 s; 1 in 1000 after 1 s, 999 s.
        assert_eq!(eta(secs(2), 25, 100), Some(secs(6)));
        assert_eq!(eta(secs(1), 1, 1000), Some(secs(999)));
        assert_eq!(eta(Duration::from_millis(1500), 2, 3), Some(secs(1)));
        assert_eq!(short_duration(secs(45)), "45s");
        assert_eq!(short_duration(secs(185)), "3m 05s");
        assert_eq!(short_duration(secs(7620)), "2h 07m");
    }

    #[test]
    fn bar_text_shows_files_and_bytes_and_a_late_eta() {
        let mib = 1024 * 1024;
        // At the start: counts only, no rate, no ETA.
        assert_eq!(
            files_text(Duration::ZERO, (0, 10), (0, 4 * mib)),
            "0/10 files, 0 B/4.0 MiB"
        );
        assert_eq!(
            files_text(Duration::from_millis(200), (3, 10), (mib, 4 * mib)),
            "3/10 files, 1.0 MiB/4.0 MiB"
        );
        // Later: the byte rate and the ETA from bytes (1 MiB/s, 3 MiB left).
        assert_eq!(
            files_text(secs(1), (3, 10), (mib, 4 * mib)),
            "3/10 files, 1.0 MiB/4.0 MiB, 1.0 MiB/s, eta 3s"
        );
        // No bytes known: the rate and the ETA count files.
        assert_eq!(files_text(Duration::ZERO, (0, 10), (0, 0)), "0/10 files");
        assert_eq!(
            files_text(secs(2), (4, 10), (0, 0)),
            "4/10 files, 2.0 files/s, eta 3s"
        );
        assert_eq!(rows_text(Duration::ZERO, 0, 5000), "0/5000 rows");
        assert_eq!(
            rows_text(secs(3), 1200, 5000),
            "1200/5000 rows, 400 rows/s, eta 10s"
        );
        assert_eq!(rows_text(secs(3), 1200, 0), "1200 rows, 400 rows/s");
    }
}
