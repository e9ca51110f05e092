//! `mlops quickstart`: a whole project in one command, offline: versioned synthetic data, a
//! pipeline that trains, scores, evaluates and monitors a model, and what it found.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use mlops_core::Workspace;
use mlops_core::ops::add::{self, AddOptions};
use mlops_quickstart::project::{
    self, BATCHES, CUSTOMERS, DRIFT_PAGE, DRIFT_REPORT, EVAL_PAGE, EVAL_REPORT,
};

use crate::commands::Context;
use crate::error::ExitStatus;

/// Create a demo project in a new git repository: seeded synthetic credit-scoring data with
/// planted flaws, versioned with mlops, and a pipeline that trains, scores, evaluates and
/// monitors a model; then run it and say what it found
#[derive(Debug, clap::Args)]
pub(crate) struct QuickstartArgs {
    /// Where to create the project (a new or empty directory)
    #[arg(default_value = "mlops-quickstart")]
    dir: PathBuf,
    /// Customers in the training data (each monthly batch has a tenth as many)
    #[arg(long, default_value_t = 200_000)]
    rows: usize,
    /// Only write the data (`data/customers.parquet`, `data/batches/`) into DIR, which may exist
    #[arg(long)]
    data_only: bool,
}

/// How the pipeline calls mlops: `mlops` when that is this binary on the `PATH`, else this
/// binary's path.
fn mlops_command() -> anyhow::Result<String> {
    let exe = std::env::current_exe()?.canonicalize()?;
    let on_path = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .any(|dir| dir.join("mlops").canonicalize().is_ok_and(|p| p == exe))
    });
    Ok(if on_path {
        "mlops".into()
    } else {
        format!("'{}'", exe.display().to_string().replace('\'', r"'\''"))
    })
}

pub(crate) fn run(args: &QuickstartArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    anyhow::ensure!(args.rows >= 1000, "--rows must be at least 1000");
    let started = std::time::Instant::now();
    let dir = ctx.cwd.join(&args.dir);
    if args.data_only {
        write_data_only(&dir, args.rows, ctx)?;
        return Ok(ExitStatus::Success);
    }
    anyhow::ensure!(
        !dir.exists() || fs_err::read_dir(&dir)?.next().is_none(),
        "`{}` is not empty: the quickstart needs a new or empty directory",
        dir.display()
    );
    let dir = project::init_repo(&dir)?;
    Workspace::init(&dir, false)?;
    ctx.printer.note(&format!(
        "writing the project and {} customers into {}",
        args.rows,
        dir.display()
    ));
    project::write_files(&dir, args.rows, &mlops_command()?)?;
    let ws = Workspace::discover(&dir)?;
    let options = AddOptions {
        link: ws.config().link,
    };
    let targets = [PathBuf::from(CUSTOMERS), PathBuf::from(BATCHES)];
    add::add(&ws, &targets, &options, &ctx.printer.progress())?;
    project::commit_all(
        &dir,
        "Quickstart: data tracked with mlops, pipeline and params",
    )?;

    run_pipeline(&dir, ctx)?;
    project::commit_all(&dir, "Quickstart: run the pipeline")?;

    let summary = summarise(&dir, started.elapsed().as_secs_f64())?;
    ctx.printer.report(&summary, |s| {
        s["text"].as_str().unwrap_or_default().to_owned()
    })?;
    Ok(ExitStatus::Success)
}

/// `--data-only`: the data files alone, into a directory that may exist but must not hold them.
fn write_data_only(dir: &Path, rows: usize, ctx: &Context) -> anyhow::Result<()> {
    for existing in [CUSTOMERS, BATCHES].map(|p| dir.join(p)) {
        anyhow::ensure!(
            !existing.exists(),
            "`{}` already exists; the quickstart writes new data only (remove it first)",
            existing.display()
        );
    }
    project::write_data(dir, rows)?;
    ctx.printer.note(&format!(
        "wrote {} and {}/ in {}",
        CUSTOMERS,
        BATCHES,
        dir.display()
    ));
    Ok(())
}

/// Runs the new project's pipeline with this binary, as a user would (`mlops -C DIR run`); with
/// `--json` its stage output is dropped so stdout holds the summary alone.
fn run_pipeline(dir: &Path, ctx: &Context) -> anyhow::Result<()> {
    ctx.printer
        .note("running the pipeline: prepare, train, predict, evaluate, monitor");
    let exe = std::env::current_exe()?;
    let mut run = std::process::Command::new(&exe);
    run.arg("-C").arg(dir).args(["run", "-j", "2"]);
    if ctx.printer.is_json() {
        run.stdout(std::process::Stdio::null());
    }
    let status = run.status().context("cannot run the pipeline")?;
    anyhow::ensure!(
        status.success(),
        "the quickstart pipeline failed; see the stage output above"
    );
    Ok(())
}

fn read_json(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = fs_err::read_to_string(path)?;
    Ok(serde_json::from_str(&text)?)
}

/// What the reports found, as text and data.
fn summarise(dir: &Path, seconds: f64) -> anyhow::Result<serde_json::Value> {
    let eval = read_json(&dir.join(EVAL_REPORT))?;
    let drift = read_json(&dir.join(DRIFT_REPORT))?;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "\nquickstart ready in {} ({seconds:.1} s)\n",
        dir.display()
    );
    let auc = eval["overall"]["roc_auc"].as_f64().unwrap_or(f64::NAN);
    let _ = writeln!(text, "model: ROC AUC {auc:.3} on the test split");
    let weak = weak_slices(&eval);
    let _ = writeln!(
        text,
        "weak slices (significantly worse than the rest): {}",
        list_or_none(&weak)
    );
    let parity = eval["fairness"]["demographic_parity_ratio"].as_f64();
    if let Some(parity) = parity {
        let verdict = if parity < 0.8 { "fails" } else { "passes" };
        let _ = writeln!(
            text,
            "fairness by gender: demographic parity ratio {parity:.3}; the four-fifths gate \
             `fairness.demographic_parity_ratio >= 0.8` {verdict}"
        );
    }
    let drifted_batches = write_drift_by_batch(&drift, &mut text);
    write_next_steps(dir, &mut text);
    Ok(serde_json::json!({
        "dir": dir,
        "seconds": seconds,
        "roc_auc": auc,
        "weak_slices": weak,
        "demographic_parity_ratio": parity,
        "drifted_batches": drifted_batches,
        "reports": [dir.join(EVAL_PAGE), dir.join(DRIFT_PAGE)],
        "text": text,
    }))
}

/// The eval report's underperforming slices, each as `column=value & column=value`.
fn weak_slices(eval: &serde_json::Value) -> Vec<String> {
    eval["slices"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["underperforming"] == true)
        .map(|s| {
            let names = s["columns"].as_array().into_iter().flatten();
            let values = s["values"].as_array().into_iter().flatten();
            names
                .zip(values)
                .map(|(n, v)| {
                    format!(
                        "{}={}",
                        n.as_str().unwrap_or_default(),
                        v.as_str().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join(" & ")
        })
        .collect()
}

/// `a, b, c`, or `none` for an empty list.
fn list_or_none<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One line a batch naming its drifted columns; returns the names of the batches that drifted.
fn write_drift_by_batch(drift: &serde_json::Value, text: &mut String) -> Vec<String> {
    let mut drifted_batches = Vec::new();
    for batch in drift["batches"].as_array().into_iter().flatten() {
        let columns: Vec<&str> = batch["columns"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["drifted"] == true)
            .filter_map(|c| c["column"].as_str())
            .collect();
        let name = batch["name"].as_str().unwrap_or_default();
        let _ = writeln!(text, "drift in {name}: {}", list_or_none(&columns));
        if !columns.is_empty() {
            drifted_batches.push(name.to_owned());
        }
    }
    drifted_batches
}

/// Why the demo exits 0 though CI would fail, where the reports are, and what to try next.
fn write_next_steps(dir: &Path, text: &mut String) {
    let _ = writeln!(
        text,
        "\nThe demo exits 0, but in CI these findings fail: `mlops eval ... --gate \
         'fairness.demographic_parity_ratio >= 0.8'` and `mlops drift` (without --no-fail) exit 1 \
         on this data, because the data has a fairness gap and a drifted batch planted in it."
    );
    let _ = writeln!(
        text,
        "\nreports:\n  {}\n  {}",
        dir.join(EVAL_PAGE).display(),
        dir.join(DRIFT_PAGE).display()
    );
    let _ = writeln!(
        text,
        "next: cd {} && mlops dag && mlops run   (nothing to do: everything is up to date)",
        dir.display()
    );
}
