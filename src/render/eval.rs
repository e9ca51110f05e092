//! The text, Markdown and Prometheus renderings of `mlops eval`'s report (the HTML page is
//! [`super::eval_html`]), and the cells the three table formats share: metrics with their
//! intervals, slices, fairness groups and aggregates, gates.

use std::fmt::Write as _;

use mlops_eval::evaluate::task_name;
use mlops_eval::report::{
    EvalReport, FairnessReport, GroupReport, Intervals, SliceReport, SliceTest, ordered,
};

use crate::render::{self, Format, prometheus};

/// The human formats of the eval report.
pub(crate) const FORMATS: [Format; 4] = [
    Format::Text,
    Format::Markdown,
    Format::Html,
    Format::Prometheus,
];

/// The report in `format` (JSON is rendered by the caller).
pub(crate) fn render(r: &EvalReport, format: Format) -> String {
    match format {
        Format::Markdown => text(r, true),
        Format::Html => super::eval_html::render(r),
        Format::Prometheus => self::prometheus(r),
        // CSV is not among eval's formats: `targets` refuses it first.
        Format::Text | Format::Json | Format::Csv => text(r, false),
    }
}

/// A table as text, or as Markdown with `md`.
fn table(header: &[&str], rows: &[Vec<String>], md: bool) -> String {
    let format = if md { Format::Markdown } else { Format::Text };
    render::table(header, rows, format)
}

/// A metric value, or `undefined`.
pub(crate) fn number(v: Option<f64>) -> String {
    v.map_or_else(|| "undefined".to_owned(), |v| format!("{v:.4}"))
}

/// The header of a slice table for the tested metric.
pub(crate) fn slice_header(test: &SliceTest) -> Vec<&str> {
    let effect = if test.effect == "relative" {
        "worse by (relative)"
    } else {
        "worse by"
    };
    vec!["slice", "rows", &test.metric, "95% CI", "p (BH)", effect]
}

/// One slice's cells under [`slice_header`]: the text, Markdown and HTML reports share them.
pub(crate) fn slice_cells(s: &SliceReport, test: &SliceTest) -> Vec<String> {
    let name: Vec<String> = s
        .columns
        .iter()
        .zip(&s.values)
        .map(|(c, v)| format!("{c}={v}"))
        .collect();
    let metric = test.metric.as_str();
    let effect = |e: f64| {
        if test.effect == "relative" {
            format!("{:+.1}%", e * 100.0)
        } else {
            format!("{e:+.3}")
        }
    };
    vec![
        name.join(" & "),
        s.rows.to_string(),
        number(s.metrics.get(metric).copied().flatten()),
        interval_cell(&s.ci, metric),
        s.p_value.map_or_else(|| "-".into(), |p| format!("{p:.2e}")),
        s.effect_size.map_or_else(|| "-".into(), effect),
    ]
}

/// A metric's interval as a cell, or `-`.
fn interval_cell(ci: &Intervals, metric: &str) -> String {
    ci.get(metric)
        .map_or_else(|| "-".into(), |[lo, hi]| format!("[{lo:.3}, {hi:.3}]"))
}

/// The header of the overall metric table.
pub(crate) const METRIC_HEADER: [&str; 3] = ["metric", "value", "95% CI"];

/// The overall metric table's rows: the text, Markdown and HTML reports share them.
pub(crate) fn metric_rows(r: &EvalReport) -> Vec<Vec<String>> {
    r.overall
        .iter()
        .map(|(k, v)| {
            let value = r
                .undefined
                .get(k)
                .map_or_else(|| number(*v), |why| format!("undefined ({why})"));
            vec![k.clone(), value, interval_cell(&r.overall_ci, k)]
        })
        .collect()
}

/// The header of the fairness aggregate table.
pub(crate) const AGGREGATE_HEADER: [&str; 3] = ["aggregate", "value", "95% CI"];

/// A fairness aggregate table's rows (`aggregates` with their intervals).
pub(crate) fn aggregate_rows(
    aggregates: &std::collections::BTreeMap<String, Option<f64>>,
    ci: &Intervals,
) -> Vec<Vec<String>> {
    ordered(aggregates)
        .iter()
        .map(|(k, v)| vec![(*k).to_owned(), number(*v), interval_cell(ci, k)])
        .collect()
}

/// A fairness group table: its header (the groups' metrics, binary rates or regression errors)
/// and one row per group.
pub(crate) fn group_table(groups: &[GroupReport]) -> (Vec<String>, Vec<Vec<String>>) {
    let names: Vec<&str> = groups
        .first()
        .map(|g| ordered(&g.metrics).into_iter().map(|(k, _)| k).collect())
        .unwrap_or_default();
    let header = ["group", "rows"]
        .into_iter()
        .chain(names.iter().copied())
        .map(str::to_owned)
        .collect();
    let rows = groups
        .iter()
        .map(|g| {
            let mut cells = vec![g.values.join(" & "), format!("{}", g.rows)];
            cells.extend(
                names
                    .iter()
                    .map(|n| number(g.metrics.get(*n).copied().flatten())),
            );
            cells
        })
        .collect();
    (header, rows)
}

/// A table with an optional caption: caption, header, rows.
pub(crate) type Captioned = (Option<String>, Vec<String>, Vec<Vec<String>>);

/// The fairness section's tables in order, each with its caption (none for the first two): the
/// groups, the aggregates, and for multiclass each class's one-vs-rest groups and aggregates.
pub(crate) fn fairness_tables(f: &FairnessReport) -> Vec<Captioned> {
    let aggregate_header: Vec<String> = AGGREGATE_HEADER.iter().map(|h| (*h).to_owned()).collect();
    let (header, rows) = group_table(&f.groups);
    let mut tables = vec![
        (None, header, rows),
        (
            None,
            aggregate_header.clone(),
            aggregate_rows(&f.aggregates, &f.ci),
        ),
    ];
    for class in &f.classes {
        let (header, rows) = group_table(&class.groups);
        tables.push((
            Some(format!("class `{}` against the rest", class.class)),
            header,
            rows,
        ));
        tables.push((
            None,
            aggregate_header.clone(),
            aggregate_rows(&class.aggregates, &class.ci),
        ));
    }
    tables
}

/// A gate with what it found: its value and margin, or why it has none.
pub(crate) fn describe_gate(g: &mlops_eval::report::GateReport) -> String {
    match (&g.reason, g.value, g.margin) {
        (Some(reason), _, _) => format!("{} ({reason})", g.gate),
        (None, Some(value), Some(margin)) => {
            format!("{} (value {value:.4}, margin {margin:+.4})", g.gate)
        }
        _ => g.gate.clone(),
    }
}

/// The report as text or Markdown.
fn text(r: &EvalReport, md: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}{} task, {} rows",
        if md { "## Evaluation: " } else { "" },
        task_name(r.task),
        r.rows
    );
    if let Some(join) = &r.join {
        let _ = writeln!(
            out,
            "labels joined on {}: {} rows labelled, {} without a label left out ({} labels matched no row, {} replaced by a later one)",
            join.keys.join(", "),
            join.labelled,
            join.unlabelled,
            join.unmatched_labels,
            join.superseded_labels
        );
    }
    if let Some(sharded) = &r.sharded {
        let _ = write!(
            out,
            "merged from {} shards; no bootstrap intervals",
            sharded.shards
        );
        let errors: Vec<String> = sharded
            .max_error
            .iter()
            .map(|(metric, error)| {
                if *error == 0.0 {
                    format!("{metric} exact")
                } else {
                    format!("{metric} within {error:.1e}")
                }
            })
            .collect();
        if !errors.is_empty() {
            let _ = write!(out, "; from histograms: {}", errors.join(", "));
        }
        out.push('\n');
    }
    render_metrics(&mut out, r, md);
    if let Some(test) = &r.slice_test {
        render_slices(&mut out, r, test, md);
        render_discovered(&mut out, r, test, md);
    }
    render_fairness(&mut out, r, md);
    render_gates(&mut out, r, md);
    out
}

fn heading(out: &mut String, title: &str, md: bool) {
    let _ = if md {
        writeln!(out, "\n### {title}\n")
    } else {
        writeln!(out, "\n{title}")
    };
}

fn render_metrics(out: &mut String, r: &EvalReport, md: bool) {
    heading(out, "Metrics", md);
    out.push_str(&table(&METRIC_HEADER, &metric_rows(r), md));
}

fn render_slices(out: &mut String, r: &EvalReport, test: &SliceTest, md: bool) {
    if r.slices.is_empty() {
        return;
    }
    let flagged = r.slices.iter().filter(|s| s.underperforming).count();
    heading(
        out,
        &format!(
            "Slices ({}, {}; {flagged} underperforming)",
            test.metric, test.test
        ),
        md,
    );
    let rows: Vec<Vec<String>> = r
        .slices
        .iter()
        .map(|s| {
            let mut cells = slice_cells(s, test);
            cells.push(if s.underperforming {
                "UNDERPERFORMING".into()
            } else {
                String::new()
            });
            cells
        })
        .collect();
    let mut header = slice_header(test);
    header.push("flag");
    out.push_str(&table(&header, &rows, md));
}

fn render_discovered(out: &mut String, r: &EvalReport, test: &SliceTest, md: bool) {
    if r.discovered.is_empty() {
        return;
    }
    heading(
        out,
        &format!("Discovered slices ({}), largest first", test.metric),
        md,
    );
    let rows: Vec<Vec<String>> = r.discovered.iter().map(|s| slice_cells(s, test)).collect();
    out.push_str(&table(&slice_header(test), &rows, md));
}

fn render_fairness(out: &mut String, r: &EvalReport, md: bool) {
    let Some(f) = &r.fairness else { return };
    heading(
        out,
        &format!("Fairness ({}; {})", f.sensitive.join(" & "), f.method),
        md,
    );
    for (i, (caption, header, rows)) in fairness_tables(f).into_iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if let Some(caption) = caption {
            let _ = writeln!(
                out,
                "{}",
                if md {
                    format!("**{caption}**\n")
                } else {
                    format!("{caption}:")
                }
            );
        }
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        out.push_str(&table(&header, &rows, md));
    }
    for note in &f.notes {
        let _ = writeln!(out, "{}note: {note}", if md { "- " } else { "" });
    }
}

fn render_gates(out: &mut String, r: &EvalReport, md: bool) {
    if r.gates.is_empty() {
        return;
    }
    heading(out, "Gates", md);
    for g in &r.gates {
        let _ = writeln!(
            out,
            "{}{}  {}",
            if md { "- " } else { "" },
            if g.passed { "PASS" } else { "FAIL" },
            describe_gate(g)
        );
    }
    let _ = writeln!(
        out,
        "\n{}",
        if r.passed {
            "all gates passed"
        } else {
            "some gates failed"
        }
    );
}

/// The report as Prometheus gauges: every defined overall metric, and each gate's verdict.
fn prometheus(r: &EvalReport) -> String {
    let mut out = String::new();
    let task = task_name(r.task);
    prometheus::gauge(
        &mut out,
        "mlops_eval_metric",
        "A metric of the whole data (undefined ones have no sample).",
    );
    for (metric, value) in &r.overall {
        if let Some(value) = value {
            let labels = [("metric", metric.as_str()), ("task", task)];
            prometheus::sample(&mut out, "mlops_eval_metric", &labels, *value);
        }
    }
    if !r.gates.is_empty() {
        prometheus::gauge(
            &mut out,
            "mlops_eval_gate_passed",
            "1 when the gate held, else 0.",
        );
        for g in &r.gates {
            let passed = f64::from(u8::from(g.passed));
            prometheus::sample(
                &mut out,
                "mlops_eval_gate_passed",
                &[("gate", &g.gate)],
                passed,
            );
        }
    }
    out
}
