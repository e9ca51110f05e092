//! The HTML report of `mlops drift`: one self-contained page with the batch verdicts, the gates,
//! each column's table row, its reference and current distributions overlaid, and (over several
//! batches) its statistic per batch against the threshold, drawn as inline SVG.

use std::fmt::Write as _;

use mlops_drift::report::{ColumnReport, DriftReport, Histogram};

use crate::render::drift::{COLUMN_HEADER, column_cells};
use crate::render::html::{escape, gate_list, page, table};

const REFERENCE_COLOUR: &str = "#9ca3af";
const CURRENT_COLOUR: &str = "#2563eb";

/// The report as one self-contained page.
pub(crate) fn render(r: &DriftReport) -> String {
    let mut body = format!(
        "<h1>Drift</h1><p>reference {}, {} rows; {}</p>",
        escape(&r.reference.source),
        r.reference.rows,
        if r.dataset_drift {
            "<span class=\"fail\">dataset drift detected</span>"
        } else {
            "<span class=\"pass\">no dataset drift</span>"
        }
    );
    body.push_str(&gate_list(r.gates.iter().map(|g| {
        let detail = g.value.map_or_else(
            || g.reason.clone().unwrap_or_default(),
            |v| format!("value {v:.4}"),
        );
        (
            g.passed,
            g.gate.as_str(),
            format!("on {} ({detail})", g.batch),
        )
    })));
    body.push_str("<h2>Batches</h2>");
    let rows: Vec<(Vec<String>, bool)> = r
        .batches
        .iter()
        .map(|b| {
            (
                vec![
                    b.name.clone(),
                    b.rows.to_string(),
                    format!("{} of {}", b.drifted_columns, b.columns.len()),
                    format!("{:.3}", b.share_drifted),
                    if b.dataset_drift { "yes" } else { "no" }.to_owned(),
                ],
                b.dataset_drift,
            )
        })
        .collect();
    body.push_str(&table(
        &["batch", "rows", "drifted", "share", "dataset drift"],
        &rows,
    ));
    if let Some(last) = r.batches.last() {
        let _ = write!(body, "<h2>Columns in {}</h2>", escape(&last.name));
        let mut columns: Vec<&ColumnReport> = last.columns.iter().collect();
        columns.sort_by_key(|c| !c.drifted);
        let rows: Vec<(Vec<String>, bool)> = columns
            .iter()
            .map(|c| (column_cells(c), c.drifted))
            .collect();
        body.push_str(&table(&COLUMN_HEADER, &rows));
        body.push_str("<div class=\"charts\">");
        for column in columns {
            body.push_str(&distribution(column));
            if r.batches.len() > 1 {
                body.push_str(&over_batches(r, &column.column));
            }
        }
        body.push_str("</div>");
        for s in &last.skipped {
            let _ = write!(
                body,
                "<p>skipped <code>{}</code>: {}</p>",
                escape(&s.column),
                escape(&s.reason)
            );
        }
    }
    page("mlops drift", &body)
}

/// Reference and current shares per bin or category as paired bars.
#[expect(clippy::cast_precision_loss, reason = "few bars")]
fn distribution(c: &ColumnReport) -> String {
    let Histogram {
        labels,
        reference,
        current,
    } = &c.histogram;
    let (width, height, margin) = (360.0, 150.0, 30.0);
    let top = reference
        .iter()
        .chain(current)
        .copied()
        .fold(0.0f64, f64::max)
        .max(1e-12);
    let slot = width / labels.len().max(1) as f64;
    let y = |share: f64| margin + height * (1.0 - share / top);
    let mut svg = format!(
        "<figure><figcaption>{} ({}, {}: {:.4}{})</figcaption>\
         <svg width=\"{}\" height=\"{}\" role=\"img\">",
        escape(&c.column),
        if c.drifted { "drifted" } else { "no drift" },
        c.test,
        c.statistic,
        c.p_value
            .map_or_else(String::new, |p| format!(", p {p:.3e}")),
        width + 2.0 * margin,
        height + 2.0 * margin
    );
    for (i, (r, cur)) in reference.iter().zip(current).enumerate() {
        let x = margin + i as f64 * slot;
        for (offset, share, colour) in [(0.1, *r, REFERENCE_COLOUR), (0.5, *cur, CURRENT_COLOUR)] {
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"/>",
                x + offset * slot,
                y(share),
                0.4 * slot,
                height + margin - y(share)
            );
        }
    }
    let mut label_at = |i: usize| {
        if let Some(label) = labels.get(i) {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                margin + (i as f64 + 0.5) * slot,
                height + margin + 14.0,
                escape(label)
            );
        }
    };
    // Every label when they fit, else the first, middle and last.
    if labels.len() <= 8 {
        (0..labels.len()).for_each(&mut label_at);
    } else {
        [0, labels.len() / 2, labels.len() - 1]
            .into_iter()
            .for_each(&mut label_at);
    }
    let _ = write!(
        svg,
        "<text x=\"{margin}\" y=\"14\" fill=\"{REFERENCE_COLOUR}\">reference</text>\
         <text x=\"{:.1}\" y=\"14\" fill=\"{CURRENT_COLOUR}\">current</text></svg></figure>",
        margin + 70.0
    );
    svg
}

/// A column's statistic in each batch as a line, with its threshold dashed.
#[expect(clippy::cast_precision_loss, reason = "few batches")]
fn over_batches(r: &DriftReport, column: &str) -> String {
    let mut is_test = false;
    let points: Vec<(usize, f64, f64)> = r
        .batches
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            b.columns.iter().find(|c| c.column == column).map(|c| {
                is_test = c.p_value.is_some();
                (i, c.p_value.unwrap_or(c.statistic), c.threshold)
            })
        })
        .collect();
    let (width, height, margin) = (360.0, 150.0, 30.0);
    let top = points
        .iter()
        .flat_map(|&(_, v, t)| [v, t])
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-12)
        * 1.1;
    let x = |i: usize| margin + width * i as f64 / (r.batches.len().max(2) - 1) as f64;
    let y = |v: f64| margin + height * (1.0 - v.min(top) / top);
    let line: Vec<String> = points
        .iter()
        .map(|&(i, v, _)| format!("{:.1},{:.1}", x(i), y(v)))
        .collect();
    let threshold = points.first().map_or(0.0, |p| p.2);
    let mut svg = format!(
        "<figure><figcaption>{}: {} per batch, threshold dashed</figcaption>\
         <svg width=\"{}\" height=\"{}\" role=\"img\">\
         <line x1=\"{margin}\" y1=\"{t:.1}\" x2=\"{:.1}\" y2=\"{t:.1}\" stroke=\"#a11\" stroke-dasharray=\"4 3\"/>\
         <polyline points=\"{}\" fill=\"none\" stroke=\"{CURRENT_COLOUR}\" stroke-width=\"2\"/>",
        escape(column),
        if is_test { "p-value" } else { "distance" },
        width + 2.0 * margin,
        height + 2.0 * margin,
        margin + width,
        line.join(" "),
        t = y(threshold),
    );
    for (i, b) in r.batches.iter().enumerate() {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x(i),
            height + margin + 14.0,
            escape(&b.name)
        );
    }
    svg.push_str("</svg></figure>");
    svg
}
