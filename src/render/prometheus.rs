//! The Prometheus text exposition format: gauges with their `# HELP` and `# TYPE` lines, label
//! values escaped and samples spelled as Prometheus spells them, for a node-exporter textfile
//! collector or a Pushgateway.

use std::fmt::Write as _;

/// A gauge family: its name, its help text, and its value for one item.
pub(crate) type Gauge<T, V> = (&'static str, &'static str, fn(&T) -> V);

/// A gauge family's header: `# HELP` and `# TYPE ... gauge`.
pub(crate) fn gauge(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
}

/// One sample line: `name{labels} value`, the labels given as (name, value) pairs.
pub(crate) fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    let labels: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    let _ = writeln!(out, "{name}{{{}}} {}", labels.join(","), number(value));
}

/// A label value with `\`, `"` and newlines escaped, as the exposition format requires.
pub(crate) fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A sample value: infinities and NaN spelled as Prometheus spells them.
pub(crate) fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_escape_labels_and_spell_infinities() {
        let mut out = String::new();
        gauge(&mut out, "m", "Help.");
        sample(&mut out, "m", &[("column", "a\"b\\c\nd")], f64::INFINITY);
        sample(&mut out, "m", &[("column", "x")], 0.5);
        assert_eq!(
            out,
            "# HELP m Help.\n# TYPE m gauge\nm{column=\"a\\\"b\\\\c\\nd\"} +Inf\nm{column=\"x\"} 0.5\n"
        );
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::NEG_INFINITY), "-Inf");
    }
}
