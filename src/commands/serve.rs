//! `mlops serve`: answer scoring requests for a model directory over HTTP (KServe V2 and MLflow).

use std::path::{Path, PathBuf};

use mlops_infer::device::DeviceChoice;

use crate::commands::Context;
use crate::commands::predict::{load_model, prepare_compute, threads_or_all};
use crate::error::ExitStatus;

/// Serve a model directory over HTTP: the Open Inference Protocol (KServe V2) at
/// `/v2/models/NAME/infer` and MLflow's `/invocations`, until SIGTERM or Ctrl-C
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// The model directory (served under its base name), or a registered version:
    /// NAME@v1.2.0, NAME@latest, NAME#prod (served as NAME)
    #[arg(value_name = "MODEL")]
    model: PathBuf,
    /// The address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The port to listen on; 0 picks a free one (the ready line says which)
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// The largest request body accepted: bytes, or with KiB, MiB or GiB
    #[arg(long, default_value = "64MiB", value_parser = parse_size, value_name = "SIZE")]
    max_body: usize,
    /// Threads that score requests [default: the machine's cores]
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// A binary model predicts its second class when its score is at least this
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Log every row answered (inputs, outputs, model, request id, time, latency) as Parquet
    /// under DIR/date=YYYY-MM-DD/ [default: .mlops/predictions/ in a workspace, else no log]
    #[arg(long, value_name = "DIR", conflicts_with = "no_log")]
    log_dir: Option<PathBuf>,
    /// Rows per prediction log file before the next one starts
    #[arg(long, default_value_t = 100_000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    log_rows: u64,
    /// Minutes a prediction log file stays open before the next one starts
    #[arg(long, default_value_t = 60, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    log_minutes: u64,
    /// Keep no prediction log, even in a workspace
    #[arg(long)]
    no_log: bool,
}

/// `64MiB`, `512KiB`, `1GiB` or a number of bytes.
fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let scale: usize = match text[digits.len()..].trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => return Err(format!("unknown unit `{other}`: use KiB, MiB or GiB")),
    };
    digits
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("expected a positive size such as 64MiB, got `{text}`"))
}

/// The name a model is addressed by: a reference's registry name, else the directory's base
/// name (`load_model` reads `model` as a reference only when no such path exists).
fn model_name(model: &Path, exists: bool) -> String {
    let text = model.to_string_lossy();
    if !exists
        && mlops_meta::registry::is_reference(model)
        && let Some(name) = text.split(['@', '#']).next()
    {
        return name.to_owned();
    }
    model.file_name().map_or_else(
        || text.trim_end_matches('/').to_owned(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Where the prediction log goes: `--log-dir`, else the workspace's `.mlops/predictions/`.
fn log_options(args: &ServeArgs, ctx: &Context) -> Option<mlops_serve::LogOptions> {
    if args.no_log {
        return None;
    }
    let dir = match &args.log_dir {
        Some(dir) => ctx.cwd.join(dir),
        None => mlops_core::workspace::Workspace::discover(&ctx.cwd)
            .ok()?
            .mlops_dir()
            .join("predictions"),
    };
    Some(mlops_serve::LogOptions {
        dir,
        rows: usize::try_from(args.log_rows).unwrap_or(usize::MAX),
        age: std::time::Duration::from_secs(args.log_minutes.saturating_mul(60)),
    })
}

pub(crate) fn run(args: &ServeArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    if !(0.0..=1.0).contains(&args.threshold) {
        anyhow::bail!("--threshold must lie in [0, 1], got {}", args.threshold);
    }
    let threads = threads_or_all(args.threads)?;
    prepare_compute(threads);
    let device = DeviceChoice::parse("cpu")?.open()?;
    let loading = std::time::Instant::now();
    let model = load_model(ctx, &args.model, &device)?;
    let load_time = loading.elapsed();
    let name = model_name(&args.model, ctx.cwd.join(&args.model).exists());
    let options = mlops_serve::Options {
        host: args.host.clone(),
        port: args.port,
        max_body: args.max_body,
        threads,
        threshold: args.threshold,
        load_time,
        log: log_options(args, ctx),
    };
    let server = mlops_serve::bind(name.clone(), model, device, &options)?;
    // The ready line is data (scripts read the port from it): stdout, whatever -q says.
    let address = server.address();
    crate::output::Printer::data(format!("serving {name} at http://{address}\n").as_bytes())?;
    server.run()?;
    Ok(ExitStatus::Success)
}
