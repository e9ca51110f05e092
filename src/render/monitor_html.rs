//! The HTML page of `mlops monitor`: the summary, the alert rules, and one chart per metric
//! over the windows (inline SVG): the reference band shaded, each window's interval as a bar,
//! the values joined by a line, and the windows outside the band marked in red. An estimated
//! metric's chart draws the realised one beside it (dashed) where labels have arrived.

use std::fmt::Write as _;

use mlops_monitor::report::{MonitorReport, Series};

use crate::render::html::{escape, page};

const LINE_COLOUR: &str = "#2563eb";
const BAND_COLOUR: &str = "#e5e7eb";
const ALERT_COLOUR: &str = "#b91c1c";
const REALISED_COLOUR: &str = "#15803d";

pub(crate) fn render(r: &MonitorReport) -> String {
    let mut body = String::from("<h1>Monitor</h1>");
    for line in crate::render::monitor::summary(r) {
        let _ = write!(body, "<p>{}</p>", escape(&line));
    }
    if !r.alerts.is_empty() {
        body.push_str("<h2>Alerts</h2><ul>");
        for a in &r.alerts {
            let (class, word) = if a.fired.is_empty() {
                ("pass", "ok".to_owned())
            } else {
                ("fail", format!("fired on {}", a.fired.join(", ")))
            };
            let _ = write!(
                body,
                "<li><span class=\"{class}\">{}</span> <code>{}</code>: <code>{}</code></li>",
                escape(&word),
                escape(&a.name),
                escape(&a.rule)
            );
        }
        body.push_str("</ul>");
    }
    let labels: Vec<&str> = r.windows.iter().map(|w| w.key.as_str()).collect();
    for group in [
        "estimated",
        "realised",
        "multivariate",
        "labelled",
        "drift",
        "missing",
    ] {
        let charts: Vec<String> = r
            .metrics
            .iter()
            .filter(|s| s.name.split('.').next() == Some(group))
            .map(|s| chart(s, realised_beside(r, s), &labels))
            .collect();
        if !charts.is_empty() {
            let _ = write!(
                body,
                "<h2>{}</h2><div class=\"charts\">{}</div>",
                escape(group),
                charts.concat()
            );
        }
    }
    page("mlops monitor", &body)
}

/// The realised series to draw beside an estimated one (`estimated.f1` beside `realised.f1`),
/// once labels have arrived.
fn realised_beside<'a>(r: &'a MonitorReport, series: &Series) -> Option<&'a Series> {
    let metric = series.name.strip_prefix("estimated.")?;
    r.metrics
        .iter()
        .find(|s| s.name.strip_prefix("realised.") == Some(metric))
}

/// One metric over the windows, with `beside` (its realised values) as a dashed line.
#[expect(clippy::cast_precision_loss, reason = "few windows")]
fn chart(series: &Series, beside: Option<&Series>, labels: &[&str]) -> String {
    let (width, height, margin) = (320.0, 120.0, 34.0);
    let Some((lo, hi)) = value_range(series, beside) else {
        return String::new();
    };
    let n = labels.len().max(2) - 1;
    let x = |i: usize| margin + width * i as f64 / n as f64;
    let y = |v: f64| margin + height * (1.0 - (v - lo) / (hi - lo));
    let mut svg = format!(
        "<figure><figcaption>{}</figcaption><svg width=\"{}\" height=\"{}\" role=\"img\">",
        escape(&series.name),
        width + 2.0 * margin,
        height + 2.0 * margin + 14.0
    );
    let band_top = series.upper.map_or(margin, y);
    let band_bottom = series.lower.map_or(margin + height, y);
    if series.lower.is_some() || series.upper.is_some() {
        let _ = write!(
            svg,
            "<rect x=\"{margin}\" y=\"{band_top:.1}\" width=\"{width}\" height=\"{:.1}\" fill=\"{BAND_COLOUR}\"/>",
            (band_bottom - band_top).max(0.0)
        );
    }
    let _ = write!(
        svg,
        "<text x=\"2\" y=\"{:.1}\">{}</text><text x=\"2\" y=\"{:.1}\">{}</text>",
        margin + 4.0,
        short(hi),
        margin + height,
        short(lo)
    );
    for (i, p) in series.points.iter().enumerate() {
        if let (Some(l), Some(h)) = (p.low, p.high) {
            let _ = write!(
                svg,
                "<line x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"#93c5fd\" stroke-width=\"3\"/>",
                x(i),
                y(l),
                y(h)
            );
        }
    }
    let line = |series: &Series, style: &str| {
        let points: Vec<String> = series
            .points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.value.map(|v| format!("{:.1},{:.1}", x(i), y(v))))
            .collect();
        format!(
            "<polyline points=\"{}\" fill=\"none\" stroke-width=\"2\" {style}/>",
            points.join(" ")
        )
    };
    svg.push_str(&line(series, &format!("stroke=\"{LINE_COLOUR}\"")));
    if let Some(beside) = beside {
        svg.push_str(&line(
            beside,
            &format!("stroke=\"{REALISED_COLOUR}\" stroke-dasharray=\"5 3\""),
        ));
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"12\" text-anchor=\"end\">dashed: {}</text>",
            margin + width,
            escape(&beside.name)
        );
    }
    for (i, p) in series.points.iter().enumerate() {
        if let Some(v) = p.value {
            let colour = if p.alert { ALERT_COLOUR } else { LINE_COLOUR };
            let r = if p.alert { 4.5 } else { 2.5 };
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{r}\" fill=\"{colour}\"><title>{}: {v:.4}{}</title></circle>",
                x(i),
                y(v),
                escape(labels[i]),
                if p.alert { " (alert)" } else { "" }
            );
        }
    }
    let step = labels.len().div_ceil(6).max(1);
    for (i, label) in labels.iter().enumerate().step_by(step) {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x(i),
            height + margin + 16.0,
            escape(label)
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

/// The range the chart shows: every value, interval and band side, padded by a tenth; `None`
/// when there is nothing to draw.
fn value_range(series: &Series, beside: Option<&Series>) -> Option<(f64, f64)> {
    let (lo, hi) = series
        .points
        .iter()
        .chain(beside.iter().flat_map(|b| b.points.iter()))
        .flat_map(|p| [p.value, p.low, p.high])
        .chain([series.lower, series.upper])
        .flatten()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return None;
    }
    let pad = ((hi - lo) * 0.1).max(1e-9);
    Some((lo - pad, hi + pad))
}

/// An axis figure: 3 significant digits.
fn short(v: f64) -> String {
    format!("{v:.3}")
}
