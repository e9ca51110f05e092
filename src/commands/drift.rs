//! `mlops drift`: test current data against a reference, column by column and batch by batch.

use std::fmt::Write as _;
use std::path::PathBuf;

use mlops_drift::drift::{self, BatchBy, Input, Options, Period};
use mlops_drift::gates::Gate;
use mlops_drift::methods::Method;
use mlops_drift::report::{BatchReport, ColumnReport, DriftReport};

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::output::table;

/// Test current data against a reference for drift, per column and per batch; exit status 1
/// when a batch shows dataset drift or a gate fails
#[derive(Debug, clap::Args)]
pub(crate) struct DriftArgs {
    /// The reference data: a Parquet or CSV (`*.csv`) file, a directory of Parquet files, a
    /// quoted pattern such as 'train/*.parquet' (the files read as one table), or a profile
    /// written by `mlops profile` (`*.profile`)
    #[arg(long, value_name = "DATA")]
    reference: PathBuf,
    /// Current data, each one batch: a file, a directory or a quoted pattern, as --reference
    #[arg(required = true, value_name = "CURRENT")]
    current: Vec<PathBuf>,
    /// Split the current data into batches by this column's values (one batch per value), or
    /// with --every by periods of its dates (Parquet dates or timestamps, or ISO date text)
    #[arg(long, value_name = "COLUMN")]
    batch_by: Option<String>,
    /// The period of each batch with --batch-by: a day, a week (from Monday) or a month
    #[arg(long, value_enum, requires = "batch_by")]
    every: Option<Every>,
    /// Test only these columns (comma-separated or repeated)
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    /// Leave out these columns (comma-separated or repeated)
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<String>,
    /// The test for every column (`--test psi`), or for one (`--test age=ks`); repeatable.
    /// Default: Evidently's rule by reference size and distinct values
    #[arg(long, value_name = "[COLUMN=]TEST")]
    test: Vec<String>,
    /// Drift threshold for every test (a p-value for tests, a distance otherwise) [default: each
    /// test's own]
    #[arg(long)]
    threshold: Option<f64>,
    /// Equal-width bins for PSI, KL, Jensen-Shannon and Hellinger on numeric columns [default:
    /// Sturges' rule]
    #[arg(long)]
    bins: Option<usize>,
    /// The share of drifted columns at which a batch shows dataset drift
    #[arg(long, default_value_t = 0.5)]
    drift_share: f64,
    /// A column's kind, overriding the inferred one: `--kind zip=categorical`; repeatable
    #[arg(long, value_name = "COLUMN=numeric|categorical")]
    kind: Vec<String>,
    /// The prediction column (reported as prediction drift, not counted in the share)
    #[arg(long)]
    prediction: Option<String>,
    /// The label column (reported as target drift, not counted in the share)
    #[arg(long)]
    target: Option<String>,
    /// A condition every batch must meet, e.g. `share_drifted < 0.3` or
    /// `column(income).psi < 0.2`; repeatable
    #[arg(long)]
    gate: Vec<String>,
    /// How to print the report (`--json` prints it as JSON)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the report to this file instead of stdout
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Exit 0 even when drift is detected or a gate fails
    #[arg(long)]
    no_fail: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Every {
    #[value(name = "1d")]
    Day,
    #[value(name = "1w")]
    Week,
    #[value(name = "1mo")]
    Month,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    Text,
    Markdown,
    /// Gauges in the Prometheus text format, for a node-exporter textfile collector or a
    /// Pushgateway
    Prometheus,
    /// One self-contained page with charts (write it with -o)
    Html,
}

impl DriftArgs {
    fn options(&self) -> anyhow::Result<Options> {
        let parse = |name: &str| {
            Method::parse(name).ok_or_else(|| mlops_drift::Error::UnknownTest {
                name: name.to_owned(),
            })
        };
        let mut test = None;
        let mut column_tests = Vec::new();
        for spec in &self.test {
            match spec.split_once('=') {
                Some((column, name)) => column_tests.push((column.to_owned(), parse(name)?)),
                None => test = Some(parse(spec)?),
            }
        }
        Ok(Options {
            columns: self.columns.clone(),
            exclude: self.exclude.clone(),
            test,
            column_tests,
            threshold: self.threshold,
            bins: self.bins,
            drift_share: self.drift_share,
            prediction: self.prediction.clone(),
            target: self.target.clone(),
            kinds: crate::commands::profile::parse_kinds(&self.kind)?,
            batch_by: self.batch_by.as_ref().map(|column| BatchBy {
                column: column.clone(),
                every: self.every.map(|every| match every {
                    Every::Day => Period::Day,
                    Every::Week => Period::Week,
                    Every::Month => Period::Month,
                }),
            }),
            gates: self
                .gate
                .iter()
                .map(|g| Gate::parse(g).map_err(mlops_drift::Error::from))
                .collect::<Result<_, _>>()?,
        })
    }
}

pub(crate) fn run(args: &DriftArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let options = args.options()?;
    let input = |path: &PathBuf| -> anyhow::Result<Input> {
        Ok(Input {
            name: path.display().to_string(),
            paths: mlops_core::table::expand(&ctx.cwd.join(path))?,
        })
    };
    let reference = input(&args.reference)?;
    let batches: Vec<Input> = args
        .current
        .iter()
        .map(input)
        .collect::<anyhow::Result<_>>()?;
    if let Some(output) = &args.output {
        let inputs: Vec<&PathBuf> = std::iter::once(&reference)
            .chain(&batches)
            .flat_map(|input| &input.paths)
            .collect();
        mlops_core::outfile::ensure_not_input(&ctx.output(output), &inputs)?;
    }
    let report = drift::drift(&reference, &batches, &options)?;
    let rendered = |r: &DriftReport| match args.format {
        Format::Text => render(r, false),
        Format::Markdown => render(r, true),
        Format::Prometheus => prometheus(r),
        Format::Html => crate::commands::drift_html::render(r),
    };
    ctx.emit(&report, args.output.as_ref(), rendered)?;
    if report.dataset_drift {
        ctx.printer.warn("dataset drift detected");
    }
    for gate in report.gates.iter().filter(|g| !g.passed) {
        let detail = match (&gate.reason, gate.value) {
            (Some(reason), _) => reason.clone(),
            (None, Some(value)) => format!("value {value:.4}"),
            (None, None) => String::new(),
        };
        ctx.printer.warn(&format!(
            "gate failed on {}: {} ({detail})",
            gate.batch, gate.gate
        ));
    }
    Ok(
        if (report.dataset_drift || !report.passed) && !args.no_fail {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        },
    )
}

/// The report as text or Markdown: per batch, its verdict, then its columns, drifted first.
fn render(r: &DriftReport, md: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}reference {}, {} rows; {} batch{}{}",
        if md { "## Drift: " } else { "" },
        r.reference.source,
        r.reference.rows,
        r.batches.len(),
        if r.batches.len() == 1 { "" } else { "es" },
        if r.dataset_drift {
            ", dataset drift detected"
        } else {
            ", no dataset drift"
        }
    );
    for batch in &r.batches {
        render_batch(&mut out, batch, md);
    }
    if !r.gates.is_empty() {
        let _ = writeln!(out, "\n{}Gates", if md { "### " } else { "" });
        for g in &r.gates {
            let _ = writeln!(
                out,
                "{}{} {} on {}{}",
                if md { "- " } else { "" },
                if g.passed { "PASS" } else { "FAIL" },
                g.gate,
                g.batch,
                g.value.map_or_else(
                    || g.reason
                        .clone()
                        .map_or_else(String::new, |r| format!(" ({r})")),
                    |v| format!(" (value {v:.4})")
                )
            );
        }
    }
    if r.batches.len() > 1 && !r.first_drifted.is_empty() {
        let _ = writeln!(out, "\n{}First drift", if md { "### " } else { "" });
        let rows: Vec<Vec<String>> = r
            .first_drifted
            .iter()
            .map(|(column, batch)| vec![column.clone(), batch.clone()])
            .collect();
        out.push_str(&table(&["column", "first drifted in"], &rows, md));
    }
    out
}

fn render_batch(out: &mut String, b: &BatchReport, md: bool) {
    let _ = writeln!(
        out,
        "\n{}{}: {} rows, {} of {} columns drifted ({:.0}%){}",
        if md { "### " } else { "" },
        b.name,
        b.rows,
        b.drifted_columns,
        b.columns.len(),
        b.share_drifted * 100.0,
        if b.dataset_drift {
            ", DATASET DRIFT"
        } else {
            ""
        }
    );
    if md {
        out.push('\n');
    }
    let mut columns: Vec<&ColumnReport> = b.columns.iter().collect();
    columns.sort_by_key(|c| !c.drifted);
    let rows: Vec<Vec<String>> = columns.iter().map(|c| column_cells(c)).collect();
    out.push_str(&table(&COLUMN_HEADER, &rows, md));
    let mut notes = Vec::new();
    for s in &b.skipped {
        notes.push(format!("skipped `{}`: {}", s.column, s.reason));
    }
    for (what, columns) in [
        ("added", &b.schema.added),
        ("removed", &b.schema.removed),
        ("changed type", &b.schema.changed_type),
    ] {
        if !columns.is_empty() {
            notes.push(format!("columns {what}: {}", columns.join(", ")));
        }
    }
    for note in notes {
        let _ = writeln!(out, "{}{note}", if md { "- " } else { "note: " });
    }
}

/// The header of a column table.
pub(crate) const COLUMN_HEADER: [&str; 9] = [
    "column",
    "kind",
    "test",
    "statistic",
    "p-value",
    "threshold",
    "drift",
    "missing",
    "notes",
];

/// One column's cells under [`COLUMN_HEADER`]: the text, Markdown and HTML reports share them.
pub(crate) fn column_cells(c: &ColumnReport) -> Vec<String> {
    let mut notes = Vec::new();
    if !c.new_categories.is_empty() {
        notes.push(format!("new: {}", c.new_categories.join(", ")));
    }
    if c.out_of_range > 0 {
        notes.push(format!("{} out of range", c.out_of_range));
    }
    let role = match c.role {
        mlops_drift::report::Role::Feature => "",
        mlops_drift::report::Role::Prediction => " (prediction)",
        mlops_drift::report::Role::Target => " (target)",
    };
    vec![
        format!("{}{role}", c.column),
        format!("{:?}", c.kind).to_lowercase(),
        c.test.to_owned(),
        format!("{:.4}", c.statistic),
        c.p_value.map_or_else(|| "-".into(), |p| format!("{p:.3e}")),
        format!("{}", c.threshold),
        if c.drifted {
            "DRIFT".into()
        } else {
            "ok".into()
        },
        format!(
            "{:.1}% -> {:.1}%",
            c.missing_share_ref * 100.0,
            c.missing_share_cur * 100.0
        ),
        notes.join("; "),
    ]
}

/// A gauge: its name, its help text, and its value for one item.
type Gauge<T, V> = (&'static str, &'static str, fn(&T) -> V);

/// The report as Prometheus gauges (text exposition format): per column and batch the statistic,
/// the p-value (tests only) and whether it drifted; per batch the share drifted and the verdict.
fn prometheus(r: &DriftReport) -> String {
    let mut out = String::new();
    let gauge = |out: &mut String, name: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    };
    let labels = |b: &BatchReport, c: &ColumnReport| {
        format!(
            "column=\"{}\",test=\"{}\",batch=\"{}\"",
            escape_label(&c.column),
            c.test,
            escape_label(&b.name)
        )
    };
    let per_column: [Gauge<ColumnReport, Option<f64>>; 3] = [
        (
            "mlops_drift_statistic",
            "The drift test's statistic (a distance, or the test statistic) per column and batch.",
            |c| Some(c.statistic),
        ),
        (
            "mlops_drift_p_value",
            "The drift test's p-value per column and batch (tests only).",
            |c| c.p_value,
        ),
        (
            "mlops_drift_detected",
            "1 when the column drifted in the batch, else 0.",
            |c| Some(f64::from(u8::from(c.drifted))),
        ),
    ];
    for (name, help, value) in per_column {
        gauge(&mut out, name, help);
        for b in &r.batches {
            for c in &b.columns {
                if let Some(v) = value(c) {
                    let _ = writeln!(out, "{name}{{{}}} {}", labels(b, c), sample(v));
                }
            }
        }
    }
    let per_batch: [Gauge<BatchReport, f64>; 2] = [
        (
            "mlops_drift_share_drifted",
            "The share of drifted feature columns per batch.",
            |b| b.share_drifted,
        ),
        (
            "mlops_drift_dataset_drift",
            "1 when the batch shows dataset drift, else 0.",
            |b| f64::from(u8::from(b.dataset_drift)),
        ),
    ];
    for (name, help, value) in per_batch {
        gauge(&mut out, name, help);
        for b in &r.batches {
            let _ = writeln!(
                out,
                "{name}{{batch=\"{}\"}} {}",
                escape_label(&b.name),
                sample(value(b))
            );
        }
    }
    out
}

/// A label value with `\`, `"` and newlines escaped, as the exposition format requires.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A sample value: infinities and NaN spelled as Prometheus spells them.
fn sample(v: f64) -> String {
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
