//! The report of `mlops monitor` as text, Markdown and a Prometheus textfile (the HTML page is
//! `monitor_html`).
//!
//! Text and Markdown give one row per window and metric. The per-column series (`drift.COLUMN`,
//! `missing.COLUMN`) show only where they alert, so that the table stays readable with many
//! features; `--json` holds every point. The textfile holds the latest window only: a gauge is a
//! current value, and a window label per day would grow Prometheus' series without end.

use std::fmt::Write as _;

use mlops_monitor::report::{MonitorReport, Series};

use crate::render::{Format, prometheus, table};

/// The formats `mlops monitor` renders besides JSON.
pub(crate) const FORMATS: [Format; 4] = [
    Format::Text,
    Format::Markdown,
    Format::Html,
    Format::Prometheus,
];

pub(crate) fn render(r: &MonitorReport, format: Format) -> String {
    match format {
        Format::Prometheus => textfile(r),
        Format::Html => crate::render::monitor_html::render(r),
        _ => human(r, format),
    }
}

/// A number to 4 decimals, or `-`.
fn figure(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"))
}

/// Whether a series is one column's (shown in the table only where it alerts).
fn per_column(series: &Series) -> bool {
    let column_series = ["drift.", "missing."];
    column_series.iter().any(|p| series.name.starts_with(p))
        && ![
            "drift.share",
            "drift.prediction",
            "drift.score",
            "drift.label",
        ]
        .contains(&series.name.as_str())
}

/// The summary lines above the table.
pub(crate) fn summary(r: &MonitorReport) -> Vec<String> {
    let mut lines = vec![format!(
        "{} windows of {} ({} computed now); reference {} rows in {} windows, {} features",
        r.windows.len(),
        r.window,
        r.computed.len(),
        r.reference.rows,
        r.reference.windows,
        r.reference.features.len()
    )];
    let mut methods = Vec::new();
    if let Some(calibrated) = r.reference.calibrated {
        methods.push(format!(
            "CBPE {}",
            if calibrated {
                "with isotonic calibration"
            } else {
                "on the scores as they are"
            }
        ));
    }
    if let (Some(k), Some(share)) = (r.reference.components, r.reference.explained_variance) {
        methods.push(format!(
            "PCA {} ({:.1}% of variance)",
            crate::render::text::count(k as u64, "component", "components"),
            share * 100.0
        ));
    }
    if !methods.is_empty() {
        lines.push(methods.join("; "));
    }
    lines
}

fn human(r: &MonitorReport, format: Format) -> String {
    let mut out = String::new();
    let markdown = format == Format::Markdown;
    if markdown {
        out.push_str("## Monitor\n\n");
    }
    for line in summary(r) {
        let _ = writeln!(out, "{line}");
    }
    out.push('\n');
    let header = [
        "window", "rows", "metric", "value", "interval", "band", "alert",
    ];
    let mut rows = Vec::new();
    let mut hidden = 0;
    for (w, window) in r.windows.iter().enumerate() {
        for series in &r.metrics {
            let point = series.points[w];
            if per_column(series) && !point.alert {
                hidden += 1;
                continue;
            }
            let interval = match (point.low, point.high) {
                (Some(l), Some(h)) => format!("{l:.4}..{h:.4}"),
                _ => "-".to_owned(),
            };
            let band = match (series.lower, series.upper) {
                (None, None) => "-".to_owned(),
                (l, u) => format!("{}..{}", figure(l), figure(u)),
            };
            rows.push(vec![
                window.key.clone(),
                window.rows.to_string(),
                series.name.clone(),
                figure(point.value),
                interval,
                band,
                if point.alert { "ALERT" } else { "" }.to_owned(),
            ]);
        }
    }
    out.push_str(&table(&header, &rows, format));
    if hidden > 0 {
        let _ = writeln!(
            out,
            "\n{hidden} per-column rows without an alert are not shown (--json has every point)"
        );
    }
    if !r.alerts.is_empty() {
        out.push('\n');
        if markdown {
            out.push_str("### Alerts\n\n");
        }
        for a in &r.alerts {
            let verdict = if a.fired.is_empty() {
                "ok".to_owned()
            } else {
                format!("FIRED on {}", a.fired.join(", "))
            };
            let _ = writeln!(
                out,
                "{}alert {}: {verdict} ({}{})",
                if markdown { "- " } else { "" },
                a.name,
                a.rule,
                if a.windows_in_a_row > 1 {
                    format!(", {} windows in a row", a.windows_in_a_row)
                } else {
                    String::new()
                }
            );
        }
    }
    out
}

/// A gauge's value for a series on a window.
type Value = fn(&Series, usize) -> Option<f64>;

/// The latest window's values as gauges.
fn textfile(r: &MonitorReport) -> String {
    let mut out = String::new();
    let Some((last, window)) = r.windows.iter().enumerate().next_back() else {
        return out;
    };
    let labels = |metric: &str| {
        vec![
            ("metric", metric.to_owned()),
            ("window", window.key.clone()),
        ]
    };
    let families: [(&str, &str, Value); 4] = [
        (
            "mlops_monitor_metric",
            "A metric on the latest window (estimated.*, realised.*, multivariate.error, drift.*, missing.*).",
            |s, w| s.points[w].value,
        ),
        (
            "mlops_monitor_metric_lower",
            "The lower side of the metric's reference band.",
            |s, _| s.lower,
        ),
        (
            "mlops_monitor_metric_upper",
            "The upper side of the metric's reference band.",
            |s, _| s.upper,
        ),
        (
            "mlops_monitor_metric_alert",
            "1 when the metric lies outside its reference band on the latest window.",
            |s, w| Some(f64::from(u8::from(s.points[w].alert))),
        ),
    ];
    for (name, help, value) in families {
        prometheus::gauge(&mut out, name, help);
        for series in &r.metrics {
            if let Some(v) = value(series, last) {
                let pairs = labels(&series.name);
                let borrowed: Vec<(&str, &str)> =
                    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                prometheus::sample(&mut out, name, &borrowed, v);
            }
        }
    }
    prometheus::gauge(
        &mut out,
        "mlops_monitor_window_rows",
        "Rows in the latest window.",
    );
    #[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^52")]
    prometheus::sample(
        &mut out,
        "mlops_monitor_window_rows",
        &[("window", &window.key)],
        window.rows as f64,
    );
    prometheus::gauge(
        &mut out,
        "mlops_monitor_alert_firing",
        "1 when the alert rule fires on the latest window.",
    );
    for a in &r.alerts {
        let firing = a.fired.last() == Some(&window.key);
        prometheus::sample(
            &mut out,
            "mlops_monitor_alert_firing",
            &[("alert", &a.name)],
            f64::from(u8::from(firing)),
        );
    }
    out
}
