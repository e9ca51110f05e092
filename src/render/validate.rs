//! The text and Markdown renderings of `mlops validate check`'s report: per file its verdict,
//! then one line per rule with its outcome, unexpected count and first examples.

use std::fmt::Write as _;

use mlops_validate::report::{RuleResult, ValidateReport};
use mlops_validate::schema::Severity;
use serde_json::Value;

use crate::render::{self, Format};

/// The human formats of the validation report.
pub(crate) const FORMATS: [Format; 2] = [Format::Text, Format::Markdown];

/// How many unexpected values a line shows.
const EXAMPLES: usize = 3;

/// The report in `format` (JSON is rendered by the caller).
pub(crate) fn render(r: &ValidateReport, format: Format) -> String {
    let md = format == Format::Markdown;
    let mut out = String::new();
    for file in &r.files {
        let failed = file.rules.iter().filter(|rule| rule.fails()).count();
        let warned = file
            .rules
            .iter()
            .filter(|rule| !rule.outcome.success && rule.severity == Severity::Warn)
            .count();
        let _ = writeln!(
            out,
            "{}`{}`: {} rows, {}{}",
            if md { "## Validation: " } else { "" },
            file.file,
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
        );
        if md {
            out.push('\n');
        }
        let rows: Vec<Vec<String>> = file.rules.iter().map(row).collect();
        out.push_str(&render::table(
            &[
                "",
                "rule",
                "expectation",
                "severity",
                "unexpected",
                "examples",
            ],
            &rows,
            format,
        ));
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{}",
        if r.passed {
            "every error rule passed"
        } else {
            "an error rule failed"
        }
    );
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
        (None, Some(observed)) => format!("observed {}", value(observed)),
        (None, None) => String::new(),
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

/// A value as a line shows it: text bare, missing as `null`, numbers and objects as JSON.
fn value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
