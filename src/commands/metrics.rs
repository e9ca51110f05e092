//! `mlops metrics show|diff` and `mlops params diff`: compare results across commits.

use mlops_pipeline::metrics::{self, DiffReport};
use mlops_pipeline::spec::Pipeline;
use serde_json::Value;

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::output::table;

/// Show and compare the metrics files the stages write
#[derive(Debug, clap::Subcommand)]
pub(crate) enum MetricsCommand {
    /// Show the metrics in the workspace
    Show {
        /// Print a Markdown table (to paste into a pull request)
        #[arg(long)]
        md: bool,
    },
    /// Compare metrics between two revisions (default: HEAD and the workspace)
    Diff {
        #[command(flatten)]
        diff: DiffArgs,
        /// Significant digits of the decimal numbers shown, as `dvc metrics diff --precision`
        /// (JSON output keeps the full values)
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=17))]
        precision: u8,
    },
}

/// Which two versions to compare.
#[derive(Debug, clap::Args)]
pub(crate) struct DiffArgs {
    /// The old revision (default: HEAD)
    old: Option<String>,
    /// The new revision (default: the workspace)
    new: Option<String>,
    /// Print a Markdown table (to paste into a pull request)
    #[arg(long)]
    md: bool,
}

/// Compare params
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ParamsCommand {
    /// Compare the params the stages read between two revisions (default: HEAD and the workspace)
    Diff {
        #[command(flatten)]
        diff: DiffArgs,
        /// List unchanged params too
        #[arg(long)]
        all: bool,
    },
}

fn text(value: Option<&Value>) -> String {
    rounded(value, None)
}

/// `value` as text, a decimal number to `precision` significant digits when given (integers
/// are shown whole, as DVC shows them).
fn rounded(value: Option<&Value>, precision: Option<u8>) -> String {
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

fn print_diff(
    ctx: &Context,
    report: &DiffReport,
    md: bool,
    what: &str,
    precision: Option<u8>,
) -> anyhow::Result<()> {
    ctx.printer.report(report, |r| {
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
                        Some(digits) if !integers && c >= 0.0 => {
                            format!("+{}", general(c, digits))
                        }
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
        let old = r.old.as_str();
        let new = r.new.as_str();
        table(&["path", "key", old, new, "change"], &rows, md)
    })
}

pub(crate) fn metrics(command: &MetricsCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    let pipeline = Pipeline::load(ws.root())?;
    match command {
        MetricsCommand::Show { md } => {
            let report = metrics::show(ws.root(), &pipeline)?;
            ctx.printer.report(&report, |r| {
                if r.files.is_empty() {
                    return "no metrics files yet: declare them under `metrics:` in mlops.yaml and run the pipeline".into();
                }
                let rows: Vec<Vec<String>> = r
                    .files
                    .iter()
                    .flat_map(|f| f.values.iter().map(|(k, v)| vec![f.path.display().to_string(), k.clone(), text(Some(v))]))
                    .collect();
                table(&["path", "key", "value"], &rows, *md)
            })?;
        }
        MetricsCommand::Diff {
            diff: args,
            precision,
        } => {
            let report = metrics::diff_metrics(
                ws.root(),
                &pipeline,
                args.old.as_deref(),
                args.new.as_deref(),
            )?;
            print_diff(ctx, &report, args.md, "metrics", Some(*precision))?;
        }
    }
    Ok(ExitStatus::Success)
}

pub(crate) fn params(command: &ParamsCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let ws = ctx.workspace()?;
    let pipeline = Pipeline::load(ws.root())?;
    match command {
        ParamsCommand::Diff { diff, all } => {
            let report = metrics::diff_params(
                ws.root(),
                &pipeline,
                diff.old.as_deref(),
                diff.new.as_deref(),
                *all,
            )?;
            print_diff(ctx, &report, diff.md, "params", None)?;
        }
    }
    Ok(ExitStatus::Success)
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
