//! `mlops predict`: score Parquet or CSV batches with a model directory into a Parquet or CSV file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mlops_infer::Model;
use mlops_infer::device::{Device, DeviceChoice};
use mlops_infer::predict::{self, OnNan, PredictOptions, PredictReport};

use crate::commands::Context;
use crate::error::ExitStatus;
use crate::render::text;

/// Score Parquet or CSV data with a model directory (`model.yaml` + `model.safetensors`),
/// streaming batch by batch, into a Parquet or CSV file of predictions
#[derive(Debug, clap::Args)]
pub(crate) struct PredictArgs {
    /// The model directory, or a registered version: NAME@v1.2.0, NAME@latest, NAME#prod
    #[arg(long, value_name = "DIR|REF")]
    model: PathBuf,
    /// Parquet files, CSV files (`*.csv`, with a header row), Arrow IPC files and streams,
    /// directories (the tables under
    /// them), or quoted patterns (`**` crosses directories)
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    read: super::read::ReadArgs,
    /// Where to write the predictions: Parquet, or CSV when the name ends in `.csv`
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Input columns to copy into the output first, such as ids and labels (comma-separated or
    /// repeated)
    #[arg(long, value_delimiter = ',', value_name = "COLUMN")]
    keep: Vec<String>,
    /// Rows per batch
    #[arg(long, default_value_t = 8192, value_name = "ROWS")]
    batch_size: usize,
    /// Threads in all [default: the machine's cores]
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Where the network runs: cpu, cuda or cuda:N
    #[arg(long, default_value = "cpu")]
    device: String,
    /// What to do with a row whose numeric input is missing or NaN
    #[arg(long, value_enum, default_value_t = OnNanArg::Error)]
    on_nan: OnNanArg,
    /// A binary model predicts its second class when its score is at least this
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum OnNanArg {
    /// Stop with an error that counts such rows
    Error,
    /// Leave such rows out of the output
    Skip,
    /// Read a missing value as 0
    Zero,
}

/// Prepares the process for network compute on `threads` threads, before any pool starts.
///
/// Sizes candle's and rayon's pools (oversubscribed pools run many times slower than
/// right-sized ones), and keeps glibc from handing freed memory back to the kernel: candle
/// allocates a fresh buffer of megabytes for every operation of every batch, and returning them
/// made a quarter of scoring time page faults.
pub(crate) fn prepare_compute(threads: usize) {
    let threads = threads.max(1).to_string();
    // SAFETY: this runs on the main thread before any thread that reads the environment has
    // started (candle and rayon read these variables when they first build their pools).
    #[allow(
        unsafe_code,
        reason = "candle sizes its pools only from these variables"
    )]
    unsafe {
        std::env::set_var("RAYON_NUM_THREADS", &threads);
        std::env::set_var("CANDLE_NUM_THREADS", &threads);
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const KEEP_BYTES: libc::c_int = 256 << 20;
        // SAFETY: mallopt only sets allocator parameters; it is called before the compute
        // threads start, and any value is valid (a refused one leaves the default).
        #[allow(
            unsafe_code,
            reason = "glibc's allocator is tuned only through mallopt"
        )]
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, KEEP_BYTES);
            libc::mallopt(libc::M_TRIM_THRESHOLD, KEEP_BYTES);
        }
    }
}

/// The `--threads` value, or every core.
pub(crate) fn threads_or_all(threads: Option<usize>) -> anyhow::Result<usize> {
    match threads {
        Some(0) => anyhow::bail!("--threads must be at least 1"),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, std::num::NonZero::get)),
    }
}

/// The model `dir` names: a model directory, or a registry reference (`NAME@v1.2.0`,
/// `NAME@latest`, `NAME#prod`) read straight from the cache; with a hint when it is a tracked
/// path not checked out.
pub(crate) fn load_model(ctx: &Context, dir: &Path, device: &Device) -> anyhow::Result<Model> {
    Ok(load_model_versioned(ctx, dir, device)?.0)
}

/// [`load_model`], and the registered version when `dir` is a registry reference.
pub(crate) fn load_model_versioned(
    ctx: &Context,
    dir: &Path,
    device: &Device,
) -> anyhow::Result<(Model, Option<String>)> {
    let path = ctx.cwd.join(dir);
    if !path.exists() {
        if mlops_core::pointer::pointer_path(&path).is_file() {
            anyhow::bail!(
                "the model `{}` is tracked but not in the workspace; run `mlops checkout {}` first",
                dir.display(),
                dir.display()
            );
        }
        if mlops_meta::registry::is_reference(dir) {
            let (model, version) = registered_model(ctx, &dir.to_string_lossy(), device)?;
            return Ok((model, Some(version)));
        }
    }
    Ok((Model::load(&path, device)?, None))
}

/// Refuses a `--threshold` other than its default for a model that decides by group thresholds
/// (`postprocess` in its model.yaml), which would be silently unused.
pub(crate) fn refuse_threshold(model: &Model, threshold: f64) -> anyhow::Result<()> {
    if let Some(post) = &model.spec.postprocess {
        #[expect(clippy::float_cmp, reason = "whether the flag left its default")]
        let given = threshold != 0.5;
        anyhow::ensure!(
            !given,
            "the model decides by its group thresholds on `{}` (`postprocess` in its model.yaml); --threshold is for models without them",
            post.sensitive
        );
    }
    Ok(())
}

/// A registered model version and its version (`v1.2.0`), its two files read from the cache
/// (the registry fetches them from the default remote when the cache lacks them).
fn registered_model(
    ctx: &Context,
    reference: &str,
    device: &Device,
) -> anyhow::Result<(Model, String)> {
    let ws = ctx.workspace()?;
    let progress = ctx.printer.progress();
    // The spec first: its format says which file holds the model.
    let spec = mlops_meta::registry::version_files(
        &ws,
        reference,
        &[mlops_infer::model::SPEC_FILE],
        &progress,
    )?;
    let format = mlops_infer::spec::ModelSpec::read(&spec.files[0])?.format;
    let found = mlops_meta::registry::version_files(
        &ws,
        reference,
        &[mlops_infer::model::SPEC_FILE, format.model_file()],
        &progress,
    )?;
    let model = Model::load_files(
        Path::new(reference),
        &found.files[0],
        &found.files[1],
        device,
    )?;
    Ok((model, found.located.version))
}

pub(crate) fn run(args: &PredictArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let threads = threads_or_all(args.threads)?;
    if args.batch_size == 0 {
        anyhow::bail!("--batch-size must be at least 1");
    }
    // One thread reads and decodes while the rest score a network; trees take every thread,
    // as decoding is little beside walking them (the spec is read again when the model loads).
    let trees = mlops_infer::spec::ModelSpec::read(
        &ctx.cwd
            .join(&args.model)
            .join(mlops_infer::model::SPEC_FILE),
    )
    .is_ok_and(|spec| spec.format.is_trees());
    prepare_compute(if trees {
        threads
    } else {
        threads.saturating_sub(1)
    });
    let data = args.read.dataset(ctx, &args.inputs)?;
    let output = ctx.output(&args.output);
    let model_files: Vec<PathBuf> = std::iter::once(mlops_infer::model::SPEC_FILE)
        .chain(mlops_infer::spec::ModelFormat::ALL.map(mlops_infer::spec::ModelFormat::model_file))
        .map(|name| ctx.cwd.join(&args.model).join(name))
        .collect();
    // Before the model is read: an output onto an input is refused whatever else is wrong.
    mlops_core::outfile::ensure_not_input(&output, &[data.files(), &model_files[..]].concat())?;
    let device = DeviceChoice::parse(&args.device)?.open()?;
    let model = load_model(ctx, &args.model, &device)?;
    refuse_threshold(&model, args.threshold)?;
    let options = PredictOptions {
        keep: args.keep.clone(),
        batch_rows: args.batch_size,
        threads,
        on_nan: match args.on_nan {
            OnNanArg::Error => OnNan::Error,
            OnNanArg::Skip => OnNan::Skip,
            OnNanArg::Zero => OnNan::Zero,
        },
        threshold: args.threshold,
    };
    let progress = ctx.printer.progress();
    // Ctrl-C stops at the next batch, so the output's temp file is removed, not left behind.
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    let report = predict::predict(
        &model, &device, &data, &output, &options, &cancel, &progress,
    )
    .map_err(|e| {
        let e = anyhow::Error::from(e);
        if mlops_core::outfile::is_stdout(&output) {
            crate::output::from_stdout(e)
        } else {
            e
        }
    })?;
    if ctx.printer.is_json() && !mlops_core::outfile::is_stdout(&args.output) {
        ctx.printer.report(&report, human)?;
    } else {
        // The scores are the data (in the output file, or the Parquet bytes on stdout); the
        // summary is information for people, on stderr, which `-q` silences.
        ctx.printer.note(human(&report).trim_end());
    }
    Ok(ExitStatus::Success)
}

fn human(report: &PredictReport) -> String {
    #[allow(clippy::cast_precision_loss, reason = "a rate for people")]
    let rate = report.rows_read as f64 / report.seconds.max(1e-9);
    let mut text = format!(
        "scored {} with {} ({}) into {} in {} ({:.2} M rows/s)\n",
        text::count(report.rows_read, "row", "rows"),
        report.model.display(),
        &report.digest[..12],
        report.output.display(),
        text::seconds(report.seconds),
        rate / 1e6,
    );
    if report.rows_skipped > 0 {
        let _ = writeln!(
            text,
            "left out {} with a missing input (--on-nan skip)",
            text::count(report.rows_skipped, "row", "rows")
        );
    }
    if report.rows_zeroed > 0 {
        let _ = writeln!(
            text,
            "read missing inputs as 0 in {} (--on-nan zero)",
            text::count(report.rows_zeroed, "row", "rows")
        );
    }
    let _ = writeln!(text, "columns: {}", report.columns.join(", "));
    text
}
