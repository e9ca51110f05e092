//! `mlops exp show`: the table of experiments as text, Markdown or CSV, and an HTML page with
//! the table and a parallel-coordinates chart (one axis per column, one line per experiment).

use std::fmt::Write as _;

use mlops_exp::run::{Outcome, RunReport, Status};
use mlops_exp::show::{Kind, Row, ShowReport};
use serde_json::Value;

use crate::render::metrics::rounded;
use crate::render::{Format, html, table};

/// The human formats of `exp show`.
pub(crate) const SHOW_FORMATS: [Format; 4] =
    [Format::Text, Format::Markdown, Format::Csv, Format::Html];

/// A column's heading: its key alone when no other column has that key, else `file:key`.
fn heading(column: &str, all: &[&String]) -> String {
    let Some((_, key)) = column.split_once(':') else {
        return column.to_owned();
    };
    let same_key = all
        .iter()
        .filter(|c| c.split_once(':').is_some_and(|(_, k)| k == key))
        .count();
    if same_key > 1 {
        column.to_owned()
    } else {
        key.to_owned()
    }
}

/// A commit time as ISO 8601 UTC, as DVC's CSV writes it.
fn created(row: &Row) -> String {
    row.created
        .map(|s| {
            let (year, month, day) = mlops_data::table::civil_from_days(s.div_euclid(86_400));
            let secs = s.rem_euclid(86_400);
            format!(
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            )
        })
        .unwrap_or_default()
}

/// Each row's cells: name, rev, then metrics and params.
fn cells(r: &ShowReport, precision: u8, full: bool) -> (Vec<String>, Vec<Vec<String>>) {
    let all: Vec<&String> = r.metrics.iter().chain(&r.params).collect();
    let mut header = vec!["Experiment".to_owned(), "rev".to_owned()];
    if full {
        header.extend([
            "typ".to_owned(),
            "Created".to_owned(),
            "parent".to_owned(),
            "State".to_owned(),
        ]);
    }
    header.extend(all.iter().map(|c| heading(c, &all)));
    let last = r.rows.iter().rposition(|row| row.kind == Kind::Experiment);
    let rows = r
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let name = match row.kind {
                Kind::Experiment if !full && Some(i) == last => format!("└── {}", row.name),
                Kind::Experiment if !full => format!("├── {}", row.name),
                _ => row.name.clone(),
            };
            let mut cells = vec![name, row.rev.clone()];
            if full {
                cells.extend([
                    match row.kind {
                        Kind::Workspace => "workspace",
                        Kind::Baseline => "baseline",
                        Kind::Experiment => "branch_commit",
                    }
                    .to_owned(),
                    created(row),
                    row.baseline.clone().unwrap_or_default(),
                    row.state
                        .map(|s| {
                            serde_json::to_value(s)
                                .unwrap_or_default()
                                .as_str()
                                .unwrap_or_default()
                                .to_owned()
                        })
                        .unwrap_or_default(),
                ]);
            }
            for column in &r.metrics {
                cells.push(rounded(row.metrics.get(column), Some(precision)));
            }
            for column in &r.params {
                cells.push(rounded(row.params.get(column), Some(precision)));
            }
            cells
        })
        .collect();
    (header, rows)
}

/// `exp show` in a human format.
pub(crate) fn show(r: &ShowReport, format: Format, precision: u8) -> String {
    match format {
        Format::Csv => {
            let (header, rows) = cells(r, precision, true);
            csv(&header, &rows)
        }
        Format::Html => page(r, precision),
        _ => {
            let (header, rows) = cells(r, precision, false);
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            let mut out = table(&header, &rows, format);
            if r.rows.iter().all(|row| row.kind != Kind::Experiment) {
                out.push_str(
                    "\nno experiments of this commit yet: `mlops exp run -S key=value` runs one",
                );
            }
            out
        }
    }
}

/// RFC 4180 CSV: fields with commas, quotes or newlines quoted.
fn csv(header: &[String], rows: &[Vec<String>]) -> String {
    let field = |f: &String| {
        if f.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", f.replace('"', "\"\""))
        } else {
            f.clone()
        }
    };
    let mut out = String::new();
    for line in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        out.push_str(&line.iter().map(field).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

fn page(r: &ShowReport, precision: u8) -> String {
    let (header, rows) = cells(r, precision, false);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let rows: Vec<(Vec<String>, bool)> = rows.into_iter().map(|c| (c, false)).collect();
    let mut body = String::from("<h1>Experiments</h1>");
    if let Some(sort) = &r.sort_by {
        let _ = write!(
            body,
            "<p>Sorted by <code>{}</code>.</p>",
            html::escape(sort)
        );
    }
    body.push_str(&parallel_coordinates(r));
    body.push_str(&html::table(&header, &rows));
    html::page("mlops exp show", &body)
}

/// The chart's geometry: the distance between axes, the top margin, the axes' height, and the
/// left margin.
const STEP: f64 = 140.0;
const TOP: f64 = 40.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 60.0;
/// The lines' colours, in turn (the baseline is grey).
const COLOURS: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// One axis of the chart.
struct Axis {
    title: String,
    /// Numbers: (min, max); text values: the distinct values in order.
    scale: Scale,
}

enum Scale {
    Numbers(f64, f64),
    Labels(Vec<String>),
}

fn value<'a>(row: &'a Row, column: &str) -> Option<&'a Value> {
    row.metrics
        .get(column)
        .or_else(|| row.params.get(column))
        .filter(|v| !v.is_null())
}

/// Where `v` falls on `axis`, from 0 (bottom) to 1 (top).
fn position(axis: &Axis, v: &Value) -> Option<f64> {
    match &axis.scale {
        Scale::Numbers(lo, hi) => {
            let x = v.as_f64()?;
            Some(if hi > lo { (x - lo) / (hi - lo) } else { 0.5 })
        }
        Scale::Labels(labels) => {
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            let i = labels.iter().position(|l| *l == text)?;
            #[allow(clippy::cast_precision_loss, reason = "a handful of labels")]
            Some(if labels.len() > 1 {
                i as f64 / (labels.len() - 1) as f64
            } else {
                0.5
            })
        }
    }
}

/// An axis per column with a value in some row: numbers from their least to their greatest,
/// anything else as its distinct values in order.
fn axes_of<'a>(rows: &[&Row], all: &[&'a String]) -> Vec<(&'a String, Axis)> {
    let mut axes: Vec<(&String, Axis)> = Vec::new();
    for column in all {
        let values: Vec<&Value> = rows.iter().filter_map(|row| value(row, column)).collect();
        if values.is_empty() {
            continue;
        }
        let scale = if values.iter().all(|v| v.is_number()) {
            let numbers = values.iter().filter_map(|v| v.as_f64());
            let (lo, hi) = numbers.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                (lo.min(x), hi.max(x))
            });
            Scale::Numbers(lo, hi)
        } else {
            let mut labels: Vec<String> = values
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect();
            labels.sort();
            labels.dedup();
            Scale::Labels(labels)
        };
        axes.push((
            *column,
            Axis {
                title: heading(column, all),
                scale,
            },
        ));
    }
    axes
}

/// The parallel-coordinates chart: an axis per column that varies, a line per experiment (the
/// baseline dashed, the first row of a sorted table drawn thick).
fn parallel_coordinates(r: &ShowReport) -> String {
    let rows: Vec<&Row> = r
        .rows
        .iter()
        .filter(|row| row.kind != Kind::Workspace)
        .collect();
    let all: Vec<&String> = r.metrics.iter().chain(&r.params).collect();
    let axes = axes_of(&rows, &all);
    if axes.len() < 2 || rows.len() < 2 {
        return String::new();
    }
    #[allow(clippy::cast_precision_loss, reason = "a handful of axes")]
    let width = LEFT * 2.0 + STEP * (axes.len() - 1) as f64;
    let mut svg = format!(
        "<figure><figcaption>Parallel coordinates</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"{width:.0}\" height=\"{:.0}\" viewBox=\"0 0 {width:.0} {:.0}\" role=\"img\">",
        TOP + HEIGHT + 40.0,
        TOP + HEIGHT + 40.0
    );
    let x_of = |i: usize| {
        #[allow(clippy::cast_precision_loss, reason = "a handful of axes")]
        let i = i as f64;
        LEFT + STEP * i
    };
    let y_of = |t: f64| TOP + HEIGHT * (1.0 - t);
    let mut colour = 0;
    for (n, row) in rows.iter().enumerate() {
        let points: Vec<String> = axes
            .iter()
            .enumerate()
            .filter_map(|(i, (column, axis))| {
                let t = position(axis, value(row, column)?)?;
                Some(format!("{:.1},{:.1}", x_of(i), y_of(t)))
            })
            .collect();
        if points.len() < 2 {
            continue;
        }
        let (stroke, extra) = if row.kind == Kind::Baseline {
            ("#555", " stroke-dasharray=\"6 4\" stroke-width=\"2\"")
        } else {
            let c = COLOURS[colour % COLOURS.len()];
            colour += 1;
            let best = r.sort_by.is_some() && n == 1;
            (
                c,
                if best {
                    " stroke-width=\"3.5\""
                } else {
                    " stroke-width=\"1.5\" stroke-opacity=\"0.8\""
                },
            )
        };
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{stroke}\"{extra} points=\"{}\"><title>{}</title></polyline>",
            points.join(" "),
            html::escape(&row.name)
        );
    }
    for (i, (_, axis)) in axes.iter().enumerate() {
        let x = x_of(i);
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{TOP:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#333\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            TOP + HEIGHT,
            TOP - 14.0,
            html::escape(&axis.title)
        );
        let ticks: Vec<(f64, String)> = match &axis.scale {
            Scale::Numbers(lo, hi) => vec![(0.0, tick(*lo)), (1.0, tick(*hi))],
            Scale::Labels(labels) => labels
                .iter()
                .enumerate()
                .map(|(j, l)| {
                    #[allow(clippy::cast_precision_loss, reason = "a handful of labels")]
                    let t = if labels.len() > 1 {
                        j as f64 / (labels.len() - 1) as f64
                    } else {
                        0.5
                    };
                    (t, l.clone())
                })
                .collect(),
        };
        for (t, label) in ticks {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"start\">{}</text>",
                x + 4.0,
                y_of(t) + 4.0,
                html::escape(&label)
            );
        }
    }
    svg.push_str("</svg></figure>");
    svg
}

fn tick(x: f64) -> String {
    rounded(
        serde_json::Number::from_f64(x).map(Value::Number).as_ref(),
        Some(4),
    )
}

/// The line `exp run` prints as an experiment ends.
pub(crate) fn outcome_line(o: &Outcome) -> String {
    let overrides = o
        .overrides
        .iter()
        .map(|(k, v)| format!("{}={v}", k.strip_prefix("params.yaml:").unwrap_or(k)))
        .collect::<Vec<_>>()
        .join(" ");
    let took = crate::render::text::seconds(o.duration_s);
    match o.status {
        Status::Done => {
            let metrics = o
                .metrics
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        k.rsplit(':').next().unwrap_or(k),
                        rounded(Some(v), Some(5))
                    )
                })
                .collect::<Vec<_>>()
                .join(" ");
            format!(
                "experiment `{}` ({overrides}) done in {took}: {metrics}",
                o.name
            )
        }
        Status::Queued => format!("queued experiment `{}` ({overrides})", o.name),
        Status::Failed => format!(
            "experiment `{}` ({overrides}) failed{}{}",
            o.name,
            o.error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default(),
            o.logs
                .as_deref()
                .map(|l| format!(" (logs: {})", l.display()))
                .unwrap_or_default()
        ),
        Status::Interrupted => format!("experiment `{}` ({overrides}) was interrupted", o.name),
    }
}

/// The last line of `exp run`.
pub(crate) fn run_summary(r: &RunReport, seconds: f64) -> String {
    let count = |s: Status| r.experiments.iter().filter(|e| e.status == s).count();
    let mut text = format!(
        "{} done, {} failed",
        count(Status::Done),
        count(Status::Failed)
    );
    if count(Status::Queued) > 0 {
        text = format!(
            "{} queued: `mlops exp run --run-all` runs them",
            count(Status::Queued)
        );
        return text;
    }
    if r.interrupted {
        text.push_str(" (interrupted)");
    }
    format!("{text} in {}", crate::render::text::seconds(seconds))
}
