//! The text, Markdown and Prometheus renderings of `mlops drift`'s report (the HTML page is
//! [`super::drift_html`]): per batch its verdict, then its columns, drifted first; the gates; and
//! over several batches where each column first drifted.

use std::fmt::Write as _;

use mlops_drift::report::{BatchReport, ColumnReport, DriftReport};

use crate::render::{self, Format, prometheus};

/// The human formats of the drift report.
pub(crate) const FORMATS: [Format; 4] = [
    Format::Text,
    Format::Markdown,
    Format::Html,
    Format::Prometheus,
];

/// The report in `format` (JSON is rendered by the caller).
pub(crate) fn render(r: &DriftReport, format: Format) -> String {
    match format {
        Format::Markdown => self::text(r, true),
        Format::Prometheus => self::prometheus(r),
        Format::Html => super::drift_html::render(r),
        // CSV is not among drift's formats: `targets` refuses it first.
        Format::Text | Format::Json | Format::Csv => self::text(r, false),
    }
}

/// A table as text, or as Markdown with `md`.
fn table(header: &[&str], rows: &[Vec<String>], md: bool) -> String {
    let format = if md { Format::Markdown } else { Format::Text };
    render::table(header, rows, format)
}

/// The report as text or Markdown: per batch, its verdict, then its columns, drifted first.
pub(crate) fn text(r: &DriftReport, md: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}reference {}, {} rows; {} batch{}{}",
        if md { "## Drift: " } else { "" },
        r.reference.source,
        r.reference.rows,
        r.batches.len(),
        if r.batches.len() == 1 { "" } else { "es" },
        if r.dataset_drift {
            ", dataset drift detected"
        } else {
            ", no dataset drift"
        }
    );
    for batch in &r.batches {
        render_batch(&mut out, batch, md);
    }
    if !r.gates.is_empty() {
        let _ = writeln!(out, "\n{}Gates", if md { "### " } else { "" });
        for g in &r.gates {
            let _ = writeln!(
                out,
                "{}{} {} on {}{}",
                if md { "- " } else { "" },
                if g.passed { "PASS" } else { "FAIL" },
                g.gate,
                g.batch,
                g.value.map_or_else(
                    || g.reason
                        .clone()
                        .map_or_else(String::new, |r| format!(" ({r})")),
                    |v| format!(" (value {v:.4})")
                )
            );
        }
    }
    if r.batches.len() > 1 && !r.first_drifted.is_empty() {
        let _ = writeln!(out, "\n{}First drift", if md { "### " } else { "" });
        let rows: Vec<Vec<String>> = r
            .first_drifted
            .iter()
            .map(|(column, batch)| vec![column.clone(), batch.clone()])
            .collect();
        out.push_str(&table(&["column", "first drifted in"], &rows, md));
    }
    out
}

fn render_batch(out: &mut String, b: &BatchReport, md: bool) {
    let _ = writeln!(
        out,
        "\n{}{}: {} rows, {} of {} columns drifted ({:.0}%){}",
        if md { "### " } else { "" },
        b.name,
        b.rows,
        b.drifted_columns,
        b.columns.len(),
        b.share_drifted * 100.0,
        if b.dataset_drift {
            ", DATASET DRIFT"
        } else {
            ""
        }
    );
    if md {
        out.push('\n');
    }
    let mut columns: Vec<&ColumnReport> = b.columns.iter().collect();
    columns.sort_by_key(|c| !c.drifted);
    let rows: Vec<Vec<String>> = columns.iter().map(|c| column_cells(c)).collect();
    out.push_str(&table(&COLUMN_HEADER, &rows, md));
    let mut notes = Vec::new();
    for s in &b.skipped {
        notes.push(format!("skipped `{}`: {}", s.column, s.reason));
    }
    for (what, columns) in [
        ("added", &b.schema.added),
        ("removed", &b.schema.removed),
        ("changed type", &b.schema.changed_type),
    ] {
        if !columns.is_empty() {
            notes.push(format!("columns {what}: {}", columns.join(", ")));
        }
    }
    for note in notes {
        let _ = writeln!(out, "{}{note}", if md { "- " } else { "note: " });
    }
}

/// The header of a column table.
pub(crate) const COLUMN_HEADER: [&str; 9] = [
    "column",
    "kind",
    "test",
    "statistic",
    "p-value",
    "threshold",
    "drift",
    "missing",
    "notes",
];

/// One column's cells under [`COLUMN_HEADER`]: the text, Markdown and HTML reports share them.
pub(crate) fn column_cells(c: &ColumnReport) -> Vec<String> {
    let mut notes = Vec::new();
    if !c.new_categories.is_empty() {
        notes.push(format!("new: {}", c.new_categories.join(", ")));
    }
    if c.out_of_range > 0 {
        notes.push(format!("{} out of range", c.out_of_range));
    }
    let role = match c.role {
        mlops_drift::report::Role::Feature => "",
        mlops_drift::report::Role::Prediction => " (prediction)",
        mlops_drift::report::Role::Target => " (target)",
    };
    vec![
        format!("{}{role}", c.column),
        format!("{:?}", c.kind).to_lowercase(),
        c.test.to_owned(),
        format!("{:.4}", c.statistic),
        c.p_value.map_or_else(|| "-".into(), |p| format!("{p:.3e}")),
        format!("{}", c.threshold),
        if c.drifted {
            "DRIFT".into()
        } else {
            "ok".into()
        },
        format!(
            "{:.1}% -> {:.1}%",
            c.missing_share_ref * 100.0,
            c.missing_share_cur * 100.0
        ),
        notes.join("; "),
    ]
}

/// The report as Prometheus gauges (text exposition format): per column and batch the statistic,
/// the p-value (tests only) and whether it drifted; per batch the share drifted and the verdict.
fn prometheus(r: &DriftReport) -> String {
    let mut out = String::new();
    let per_column: [prometheus::Gauge<ColumnReport, Option<f64>>; 3] = [
        (
            "mlops_drift_statistic",
            "The drift test's statistic (a distance, or the test statistic) per column and batch.",
            |c| Some(c.statistic),
        ),
        (
            "mlops_drift_p_value",
            "The drift test's p-value per column and batch (tests only).",
            |c| c.p_value,
        ),
        (
            "mlops_drift_detected",
            "1 when the column drifted in the batch, else 0.",
            |c| Some(f64::from(u8::from(c.drifted))),
        ),
    ];
    for (name, help, value) in per_column {
        prometheus::gauge(&mut out, name, help);
        for b in &r.batches {
            for c in &b.columns {
                if let Some(v) = value(c) {
                    let labels = [
                        ("column", c.column.as_str()),
                        ("test", c.test),
                        ("batch", &b.name),
                    ];
                    prometheus::sample(&mut out, name, &labels, v);
                }
            }
        }
    }
    let per_batch: [prometheus::Gauge<BatchReport, f64>; 2] = [
        (
            "mlops_drift_share_drifted",
            "The share of drifted feature columns per batch.",
            |b| b.share_drifted,
        ),
        (
            "mlops_drift_dataset_drift",
            "1 when the batch shows dataset drift, else 0.",
            |b| f64::from(u8::from(b.dataset_drift)),
        ),
    ];
    for (name, help, value) in per_batch {
        prometheus::gauge(&mut out, name, help);
        for b in &r.batches {
            prometheus::sample(&mut out, name, &[("batch", &b.name)], value(b));
        }
    }
    out
}
