//! The HTML report of `mlops eval`: one self-contained page (inline CSS and SVG, no scripts, no
//! network) with the metric, slice, fairness and gate tables, ROC and precision-recall curves, a
//! calibration plot and the confusion matrix.

use std::fmt::Write as _;

use mlops_eval::evaluate::task_name;
use mlops_eval::report::{ConfusionMatrix, EvalReport};

use crate::render::eval::{
    METRIC_HEADER, fairness_tables, metric_rows, number, slice_cells, slice_header,
};
use crate::render::html::{escape, gate_list, page, table};

/// A line chart on the unit square: `points` as a polyline, with an optional diagonal.
fn chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[(f64, f64)],
    diagonal: bool,
    dots: bool,
) -> String {
    let (size, margin) = (260.0, 36.0);
    let x = |v: f64| margin + v.clamp(0.0, 1.0) * size;
    let y = |v: f64| margin + (1.0 - v.clamp(0.0, 1.0)) * size;
    let mut svg = format!(
        "<figure><figcaption>{}</figcaption><svg width=\"{w}\" height=\"{w}\" viewBox=\"0 0 {w} {w}\" role=\"img\">",
        escape(title),
        w = size + 2.0 * margin
    );
    let _ = write!(
        svg,
        "<rect x=\"{margin}\" y=\"{margin}\" width=\"{size}\" height=\"{size}\" fill=\"none\" stroke=\"#999\"/>"
    );
    for t in [0.0, 0.5, 1.0] {
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{t}</text>",
            x(t),
            margin + size + 14.0
        );
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{t}</text>",
            margin - 4.0,
            y(t) + 4.0
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
        margin + size / 2.0,
        margin + size + 30.0,
        escape(x_label)
    );
    let _ = write!(
        svg,
        "<text transform=\"translate(10 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        margin + size / 2.0,
        escape(y_label)
    );
    if diagonal {
        let _ = write!(
            svg,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/>",
            x(0.0),
            y(0.0),
            x(1.0),
            y(1.0)
        );
    }
    let path: Vec<String> = points
        .iter()
        .map(|(a, b)| format!("{:.1},{:.1}", x(*a), y(*b)))
        .collect();
    let _ = write!(
        svg,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#2563eb\" stroke-width=\"2\"/>",
        path.join(" ")
    );
    if dots {
        for (a, b) in points {
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#2563eb\"/>",
                x(*a),
                y(*b)
            );
        }
    }
    svg.push_str("</svg></figure>");
    svg
}

/// The confusion matrix as a shaded grid: each cell's shade is its share of the true class.
fn confusion(matrix: &ConfusionMatrix) -> String {
    let n = matrix.classes.len();
    let (cell, margin) = (56.0, 70.0);
    #[expect(clippy::cast_precision_loss, reason = "class counts are small")]
    let side = margin + cell * n as f64 + 10.0;
    let mut svg = format!(
        "<figure><figcaption>Confusion matrix (rows: true, columns: predicted)</figcaption><svg width=\"{side}\" height=\"{side}\" viewBox=\"0 0 {side} {side}\" role=\"img\">"
    );
    for (i, row) in matrix.counts.iter().enumerate() {
        let total: f64 = row.iter().sum();
        for (j, count) in row.iter().enumerate() {
            let share = if total > 0.0 { count / total } else { 0.0 };
            #[expect(clippy::cast_precision_loss, reason = "class counts are small")]
            let (cx, cy) = (margin + cell * j as f64, margin + cell * i as f64);
            let _ = write!(
                svg,
                "<rect x=\"{cx}\" y=\"{cy}\" width=\"{cell}\" height=\"{cell}\" fill=\"rgba(37,99,235,{:.3})\" stroke=\"#fff\"/>\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{count}</text>",
                0.1 + 0.8 * share,
                cx + cell / 2.0,
                cy + cell / 2.0 + 4.0
            );
        }
    }
    for (k, class) in matrix.classes.iter().enumerate() {
        #[expect(clippy::cast_precision_loss, reason = "class counts are small")]
        let at = margin + cell * k as f64 + cell / 2.0;
        let label = escape(class);
        let _ = write!(
            svg,
            "<text x=\"{at}\" y=\"{}\" text-anchor=\"middle\">{label}</text>",
            margin - 8.0
        );
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{label}</text>",
            margin - 6.0,
            at + 4.0
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

/// The whole page.
pub(crate) fn render(r: &EvalReport) -> String {
    let mut body = format!(
        "<h1>Evaluation</h1><p>{} task, {} rows</p>",
        task_name(r.task),
        r.rows
    );
    gates(&mut body, r);
    metrics(&mut body, r);
    charts(&mut body, r);
    slices(&mut body, r);
    fairness(&mut body, r);
    page("mlops eval", &body)
}

fn gates(body: &mut String, r: &EvalReport) {
    body.push_str(&gate_list(r.gates.iter().map(|g| {
        let detail = g.reason.clone().unwrap_or_else(|| {
            format!(
                "value {}, threshold {}",
                number(g.value),
                number(g.threshold)
            )
        });
        (g.passed, g.gate.as_str(), format!("({detail})"))
    })));
}

fn metrics(body: &mut String, r: &EvalReport) {
    body.push_str("<h2>Metrics</h2>");
    let rows: Vec<(Vec<String>, bool)> = metric_rows(r).into_iter().map(|c| (c, false)).collect();
    body.push_str(&table(&METRIC_HEADER, &rows));
}

fn charts(body: &mut String, r: &EvalReport) {
    body.push_str("<div class=\"charts\">");
    if let Some(c) = &r.curves {
        if !c.roc.is_empty() {
            body.push_str(&chart(
                "ROC curve",
                "false positive rate",
                "true positive rate",
                &c.roc,
                true,
                false,
            ));
        }
        if !c.pr.is_empty() {
            body.push_str(&chart(
                "Precision-recall curve",
                "recall",
                "precision",
                &c.pr,
                false,
                false,
            ));
        }
        let calibration: Vec<(f64, f64)> = c
            .calibration
            .iter()
            .map(|(s, rate, _)| (*s, *rate))
            .collect();
        body.push_str(&chart(
            "Calibration",
            "mean score",
            "positive rate",
            &calibration,
            true,
            true,
        ));
    }
    if let Some(matrix) = &r.confusion_matrix {
        body.push_str(&confusion(matrix));
    }
    body.push_str("</div>");
}

fn slices(body: &mut String, r: &EvalReport) {
    let Some(test) = &r.slice_test else { return };
    if r.slices.is_empty() {
        return;
    }
    let _ = write!(
        body,
        "<h2>Slices ({}, {}), most severe first</h2>",
        escape(&test.metric),
        escape(&test.test)
    );
    let rows: Vec<(Vec<String>, bool)> = r
        .slices
        .iter()
        .map(|s| (slice_cells(s, test), s.underperforming))
        .collect();
    body.push_str(&table(&slice_header(test), &rows));
}

fn fairness(body: &mut String, r: &EvalReport) {
    let Some(f) = &r.fairness else { return };
    let _ = write!(
        body,
        "<h2>Fairness ({}; {})</h2>",
        escape(&f.sensitive.join(" & ")),
        escape(&f.method)
    );
    for (caption, header, rows) in fairness_tables(f) {
        if let Some(caption) = caption {
            let _ = write!(body, "<h3>{}</h3>", escape(&caption));
        }
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let rows: Vec<(Vec<String>, bool)> = rows.into_iter().map(|c| (c, false)).collect();
        body.push_str(&table(&header, &rows));
    }
    for note in &f.notes {
        let _ = write!(body, "<p>note: {}</p>", escape(note));
    }
}
