//! The renderings of `mlops validate check`'s report: text and Markdown (per file or batch its
//! verdict, then one line per rule with its outcome, unexpected count and first examples), one
//! HTML page of the same tables, and Prometheus gauges per rule and section for a scheduled job.

use std::fmt::Write as _;

use mlops_validate::report::{FileReport, RuleResult, ValidateReport};
use mlops_validate::schema::Severity;
use serde_json::Value;

use crate::render::html::{escape, page};
use crate::render::{self, Format, prometheus};

/// The formats of the validation report besides JSON.
pub(crate) const FORMATS: [Format; 4] = [
    Format::Text,
    Format::Markdown,
    Format::Html,
    Format::Prometheus,
];

/// The columns of a rule table.
const HEADER: [&str; 6] = [
    "",
    "rule",
    "expectation",
    "severity",
    "unexpected",
    "examples",
];

/// How many unexpected values a line shows.
const EXAMPLES: usize = 3;

/// The report in `format` (JSON is rendered by the caller).
pub(crate) fn render(r: &ValidateReport, format: Format) -> String {
    match format {
        Format::Html => html(r),
        Format::Prometheus => self::prometheus(r),
        _ => text(r, format),
    }
}

/// What a section is: `` `data/a.parquet` `` or `` batch `2026-12-01` ``.
pub(crate) fn section_name(file: &FileReport) -> String {
    match (&file.file, &file.batch) {
        (Some(path), _) => format!("`{path}`"),
        (None, Some(batch)) => format!("batch `{batch}`"),
        (None, None) => "the data".to_owned(),
    }
}

/// A section's verdict: `1000 rows, FAILED (2 rules failed), 1 warning`.
fn verdict(file: &FileReport) -> String {
    let failed = file.rules.iter().filter(|rule| rule.fails()).count();
    let warned = file
        .rules
        .iter()
        .filter(|rule| !rule.outcome.success && rule.severity == Severity::Warn)
        .count();
    format!(
        "{} rows, {}{}",
        file.rows,
        if failed == 0 {
            "passed".to_owned()
        } else {
            format!("FAILED ({failed} rule{} failed)", plural(failed))
        },
        if warned == 0 {
            String::new()
        } else {
            format!(", {warned} warning{}", plural(warned))
        }
    )
}

/// The last line: whether the check passed.
fn conclusion(r: &ValidateReport) -> &'static str {
    if r.passed {
        "every error rule passed"
    } else {
        "an error rule failed"
    }
}

/// Text or Markdown.
fn text(r: &ValidateReport, format: Format) -> String {
    let md = format == Format::Markdown;
    let mut out = String::new();
    for file in &r.files {
        let _ = writeln!(
            out,
            "{}{}: {}",
            if md { "## Validation: " } else { "" },
            section_name(file),
            verdict(file)
        );
        if md {
            out.push('\n');
        }
        let rows: Vec<Vec<String>> = file.rules.iter().map(row).collect();
        out.push_str(&render::table(&HEADER, &rows, format));
        out.push('\n');
    }
    let _ = writeln!(out, "{}", conclusion(r));
    out
}

/// One self-contained page: per section its verdict and its rules, failed rows highlighted.
fn html(r: &ValidateReport) -> String {
    let mut body = format!(
        "<h1>Validation</h1><p>contract <code>{}</code>: <span class=\"{}\">{}</span></p>",
        escape(&r.schema),
        if r.passed { "pass" } else { "fail" },
        conclusion(r)
    );
    for file in &r.files {
        let _ = write!(
            body,
            "<h2>{}</h2><p>{}</p>",
            escape(&section_name(file).replace('`', "")),
            escape(&verdict(file))
        );
        let rows: Vec<(Vec<String>, bool)> = file
            .rules
            .iter()
            .map(|rule| (row(rule), !rule.outcome.success))
            .collect();
        body.push_str(&render::html::table(&HEADER, &rows));
    }
    page("mlops validate", &body)
}

/// Gauges per rule and section (labelled `file` or `batch`), and per section its rows and
/// verdict.
fn prometheus(r: &ValidateReport) -> String {
    let mut out = String::new();
    let where_ = |file: &FileReport| -> (&'static str, String) {
        match (&file.file, &file.batch) {
            (Some(path), _) => ("file", path.clone()),
            (_, batch) => ("batch", batch.clone().unwrap_or_default()),
        }
    };
    #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^53")]
    let per_rule: [prometheus::Gauge<RuleResult, Option<f64>>; 3] = [
        (
            "mlops_validate_rule_success",
            "1 when the rule held on the file or batch, else 0.",
            |rule| Some(f64::from(u8::from(rule.outcome.success))),
        ),
        (
            "mlops_validate_rule_unexpected",
            "The rows that broke the rule.",
            |rule| rule.outcome.unexpected_count.map(|n| n as f64),
        ),
        (
            "mlops_validate_rule_unexpected_percent",
            "The rows that broke the rule per 100 rows tested (non-null).",
            |rule| rule.outcome.unexpected_percent,
        ),
    ];
    for (name, help, value) in per_rule {
        prometheus::gauge(&mut out, name, help);
        for file in &r.files {
            let (key, at) = where_(file);
            for rule in &file.rules {
                if let Some(v) = value(rule) {
                    let severity = match rule.severity {
                        Severity::Error => "error",
                        Severity::Warn => "warn",
                    };
                    let labels = [
                        ("rule", rule.name.as_str()),
                        ("expectation", rule.expect),
                        ("severity", severity),
                        (key, at.as_str()),
                    ];
                    prometheus::sample(&mut out, name, &labels, v);
                }
            }
        }
    }
    #[expect(clippy::cast_precision_loss, reason = "row counts are far below 2^53")]
    let per_section: [prometheus::Gauge<FileReport, f64>; 2] = [
        (
            "mlops_validate_rows",
            "The rows of the file or batch.",
            |file| file.rows as f64,
        ),
        (
            "mlops_validate_passed",
            "1 when no error rule failed on the file or batch, else 0.",
            |file| f64::from(u8::from(file.passed)),
        ),
    ];
    for (name, help, value) in per_section {
        prometheus::gauge(&mut out, name, help);
        for file in &r.files {
            let (key, at) = where_(file);
            prometheus::sample(&mut out, name, &[(key, at.as_str())], value(file));
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// One rule's line.
fn row(rule: &RuleResult) -> Vec<String> {
    let o = &rule.outcome;
    let mark = if o.success { "✓" } else { "✗" };
    let unexpected = match (o.unexpected_count, &o.observed_value) {
        (Some(n), _) => match o.unexpected_percent {
            Some(p) if n > 0 => format!("{n} ({p:.2}%)"),
            _ => n.to_string(),
        },
        (None, Some(_)) if mismatched_columns(o) => String::new(),
        (None, Some(observed)) => format!("observed {}", value(observed)),
        (None, None) => match o.details.as_ref().and_then(|d| d.get("missing_column")) {
            Some(column) => format!("column `{}` missing", value(column)),
            None => String::new(),
        },
    };
    let list = o.partial_unexpected_list.as_deref().unwrap_or_default();
    let ids = o.partial_unexpected_ids.as_deref();
    let mut examples: Vec<String> = list
        .iter()
        .take(EXAMPLES)
        .enumerate()
        .map(|(i, v)| match ids.and_then(|ids| ids.get(i)) {
            Some(id) => format!("{} (id {})", value(v), value(id)),
            None => value(v),
        })
        .collect();
    if o.unexpected_count.unwrap_or(0) > EXAMPLES as u64 && !examples.is_empty() {
        examples.push("...".into());
    }
    // A column set rule shows the columns that do not match, not all it observed.
    let mismatched = o.details.as_ref().and_then(|d| d.get("mismatched"));
    for (key, label) in [("missing", "missing"), ("unexpected", "not in the set")] {
        if let Some(Value::Array(columns)) = mismatched.and_then(|m| m.get(key)) {
            let names: Vec<String> = columns.iter().map(value).collect();
            examples.push(format!("{label}: {}", names.join(" ")));
        }
    }
    vec![
        mark.to_owned(),
        rule.name.clone(),
        rule.expect.to_owned(),
        match rule.severity {
            Severity::Error => "error".into(),
            Severity::Warn => "warn".into(),
        },
        unexpected,
        examples.join(", "),
    ]
}

/// Whether the outcome is a column set's mismatch, shown as such rather than as the columns.
fn mismatched_columns(o: &mlops_validate::report::Outcome) -> bool {
    o.details
        .as_ref()
        .is_some_and(|d| d.get("mismatched").is_some())
}

/// A value as a line shows it: text bare, missing as `null`, numbers and objects as JSON.
fn value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
