//! The reports of `mlops metrics show`, `mlops metrics diff` and `mlops params diff`: tables as
//! text or Markdown, and (for `metrics show`) Prometheus gauges of the numeric values.

use mlops_pipeline::metrics::{DiffReport, MetricsReport};
use serde_json::Value;

use crate::render::{Format, prometheus, table};

/// The human formats of `metrics show`.
pub(crate) const SHOW_FORMATS: [Format; 3] = [Format::Text, Format::Markdown, Format::Prometheus];

/// The human formats of `metrics diff` and `params diff`.
pub(crate) const DIFF_FORMATS: [Format; 2] = [Format::Text, Format::Markdown];

/// `metrics show`: one row per key of every metrics file, or gauges for Prometheus.
pub(crate) fn show(r: &MetricsReport, format: Format) -> String {
    if format == Format::Prometheus {
        return show_prometheus(r);
    }
    if r.files.is_empty() {
        return "no metrics files yet: declare them under `metrics:` in mlops.yaml and run the pipeline".into();
    }
    let rows: Vec<Vec<String>> = r
        .files
        .iter()
        .flat_map(|f| {
            f.values
                .iter()
                .map(|(k, v)| vec![f.path.display().to_string(), k.clone(), text(Some(v))])
        })
        .collect();
    table(&["path", "key", "value"], &rows, format)
}

/// Every numeric metric as one sample of the `mlops_metric` gauge, labelled by file and key
/// (booleans as 0 and 1; text values have no sample).
fn show_prometheus(r: &MetricsReport) -> String {
    const NAME: &str = "mlops_metric";
    let mut out = String::new();
    prometheus::gauge(
        &mut out,
        NAME,
        "A value from a metrics file the pipeline's stages write, by file and dotted key.",
    );
    for file in &r.files {
        let path = file.path.display().to_string();
        for (key, value) in &file.values {
            let number = match value {
                Value::Number(n) => n.as_f64(),
                Value::Bool(b) => Some(f64::from(u8::from(*b))),
                _ => None,
            };
            if let Some(number) = number {
                prometheus::sample(&mut out, NAME, &[("path", &path), ("key", key)], number);
            }
        }
    }
    out
}

/// `metrics diff` and `params diff`: one row per key that changed, the decimal numbers to
/// `precision` significant digits when given; `what` names the values in the empty case.
pub(crate) fn diff(r: &DiffReport, format: Format, what: &str, precision: Option<u8>) -> String {
    if r.rows.is_empty() {
        return format!("no {what} changed between {} and {}", r.old, r.new);
    }
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            // The difference of two integers is shown whole, as the integers are.
            let integers = [&row.old, &row.new]
                .iter()
                .all(|v| matches!(v, Some(Value::Number(n)) if !n.is_f64()));
            let change = row.change.map_or_else(
                || "-".into(),
                |c| match precision {
                    Some(digits) if !integers && c >= 0.0 => format!("+{}", general(c, digits)),
                    Some(digits) if !integers => general(c, digits),
                    _ => format!("{c:+}"),
                },
            );
            vec![
                row.path.display().to_string(),
                row.key.clone(),
                rounded(row.old.as_ref(), precision),
                rounded(row.new.as_ref(), precision),
                change,
            ]
        })
        .collect();
    table(&["path", "key", &r.old, &r.new, "change"], &rows, format)
}

fn text(value: Option<&Value>) -> String {
    rounded(value, None)
}

/// `value` as text, a decimal number to `precision` significant digits when given (integers
/// are shown whole, as DVC shows them).
pub(crate) fn rounded(value: Option<&Value>, precision: Option<u8>) -> String {
    match (value, precision) {
        (None, _) => "-".into(),
        (Some(Value::String(s)), _) => s.clone(),
        (Some(Value::Number(n)), Some(digits)) if n.is_f64() => n
            .as_f64()
            .map_or_else(|| n.to_string(), |x| general(x, digits)),
        (Some(v), _) => v.to_string(),
    }
}

/// `x` to `digits` significant digits, written as Python's `format(x, ".{digits}g")` writes it
/// (which DVC uses): trailing zeros dropped, exponent form below 1e-4 and from 10^digits up.
fn general(x: f64, digits: u8) -> String {
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let digits = usize::from(digits.max(1));
    let scientific = format!("{:.*e}", digits - 1, x);
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific;
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return scientific;
    };
    let limit = i32::try_from(digits).unwrap_or(i32::MAX);
    if exponent < -4 || exponent >= limit {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{}e{sign}{:02}",
            without_trailing_zeros(mantissa),
            exponent.abs()
        )
    } else {
        let decimals = usize::try_from(limit - 1 - exponent).unwrap_or(0);
        without_trailing_zeros(&format!("{x:.decimals$}")).to_owned()
    }
}

fn without_trailing_zeros(number: &str) -> &str {
    if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.')
    } else {
        number
    }
}

#[cfg(test)]
mod tests {
    use super::general;

    #[test]
    fn general_matches_python_g_format() {
        // Expected values are Python's `format(x, ".5g")` (and ".3g").
        assert_eq!(general(0.123_456_789, 5), "0.12346");
        assert_eq!(general(1.0, 5), "1");
        assert_eq!(general(123_456.7, 5), "1.2346e+05");
        assert_eq!(general(0.000_012_345_67, 5), "1.2346e-05");
        assert_eq!(general(0.000_123_456_7, 5), "0.00012346");
        assert_eq!(general(-2.5, 3), "-2.5");
        assert_eq!(general(99_999.5, 5), "1e+05");
        assert_eq!(general(0.0, 5), "0");
    }
}
