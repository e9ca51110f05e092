//! Everything the binary writes: data on stdout (text or `--json`), notes, warnings, errors and
//! progress bars on stderr, colour only where wanted.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::cli::{ColorChoice, GlobalArgs};

/// Writes output as the global flags ask.
#[derive(Debug)]
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
        let text = if self.json {
            serde_json::to_string_pretty(report)? + "\n"
        } else {
            let text = human(report);
            if text.is_empty() {
                return Ok(());
            }
            format!("{}\n", text.trim_end())
        };
        Ok(Self::data(text.as_bytes())?)
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
            items: AtomicU64::new(0),
            total: AtomicU64::new(0),
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

/// Shows [`mlops_core::progress::Progress`] as an indicatif bar of bytes and items.
pub(crate) struct BarProgress {
    enabled: bool,
    bar: Mutex<Option<ProgressBar>>,
    items: AtomicU64,
    total: AtomicU64,
}

impl mlops_core::progress::Progress for BarProgress {
    fn start(&self, what: &str, items: u64, bytes: u64) {
        if !self.enabled || items == 0 {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} {wide_bar} {bytes}/{total_bytes} ({prefix}, {bytes_per_sec}, eta {eta})",
            )
            .expect("the template is valid")
            .progress_chars("=> "),
        );
        bar.set_message(what.to_owned());
        self.items.store(0, Ordering::Relaxed);
        self.total.store(items, Ordering::Relaxed);
        bar.set_prefix(format!("0/{items}"));
        *self.bar.lock().expect("no panics while holding the lock") = Some(bar);
    }

    fn start_rows(&self, what: &str, rows: u64) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(rows), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} {wide_bar} {human_pos}/{human_len} rows ({per_sec}, eta {eta})",
            )
            .expect("the template is valid")
            .progress_chars("=> "),
        );
        bar.set_message(what.to_owned());
        *self.bar.lock().expect("no panics while holding the lock") = Some(bar);
    }

    fn advance_rows(&self, rows: u64) {
        if let Some(bar) = &*self.bar.lock().expect("no panics while holding the lock") {
            bar.inc(rows);
        }
    }

    fn advance(&self, bytes: u64) {
        if let Some(bar) = &*self.bar.lock().expect("no panics while holding the lock") {
            let done = self.items.fetch_add(1, Ordering::Relaxed) + 1;
            bar.set_prefix(format!("{done}/{}", self.total.load(Ordering::Relaxed)));
            bar.inc(bytes);
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

/// Bytes as a person reads them: `512 B`, `4.0 KiB`, `1.5 GiB`.
pub(crate) fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    #[expect(clippy::cast_precision_loss, reason = "a rounded figure for people")]
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `1 file`, `2 files`.
pub(crate) fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Rows under a header, as aligned text columns or, with `markdown`, a Markdown table.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>], markdown: bool) -> String {
    let mut out = String::new();
    if markdown {
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(
            out,
            "|{}|",
            header.iter().map(|_| "---").collect::<Vec<_>>().join("|")
        );
        for row in rows {
            let _ = writeln!(
                out,
                "| {} |",
                row.iter()
                    .map(|c| c.replace('|', "\\|"))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        return out;
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let _ = writeln!(out, "{}", line(header.to_vec()));
    for row in rows {
        let _ = writeln!(out, "{}", line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// Seconds as a person reads them: `0.42 s`, `12 ms`.
pub(crate) fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
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
}
