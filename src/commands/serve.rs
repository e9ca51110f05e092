//! `mlops serve`: answer scoring requests for model directories and registered versions over
//! HTTP (KServe V2 and MLflow), and reload them on SIGHUP or `POST /admin/reload`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use mlops_infer::device::{Device, DeviceChoice};

use crate::commands::Context;
use crate::commands::predict::{load_model_versioned, prepare_compute, threads_or_all};
use crate::error::ExitStatus;
use crate::output::Printer;

/// Serve models over HTTP: the Open Inference Protocol (KServe V2) at `/v2/models/NAME/infer`
/// and MLflow's `/invocations`, until SIGTERM or Ctrl-C; SIGHUP reloads them
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct ServeArgs {
    #[command(subcommand)]
    command: Option<ServeCommand>,
    /// Model directories (each served under its base name), or registered versions:
    /// NAME@v1.2.0, NAME@latest, NAME#prod (served as NAME)
    #[arg(value_name = "MODEL", required_unless_present = "config")]
    models: Vec<PathBuf>,
    /// A serve.yaml listing models to serve (`models: [{model, name, threshold}]`), beside
    /// those given as MODEL; reread at every reload
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The port to listen on; 0 picks a free one (the ready line says which)
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// The largest request body accepted: bytes, or with KiB, MiB or GiB
    #[arg(long, default_value = "64MiB", value_parser = parse_size, value_name = "SIZE")]
    max_body: usize,
    /// Threads that answer and score requests [default: the machine's cores]
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// A binary model predicts its second class when its score is at least this
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Log every row answered (inputs, outputs, model, request id, time, latency) as Parquet
    /// under DIR/date=YYYY-MM-DD/ [default: .mlops/predictions/ in a workspace, else no log]
    #[arg(long, value_name = "DIR", conflicts_with = "no_log")]
    log_dir: Option<PathBuf>,
    /// Where labels sent to POST /v2/feedback go [default: labels/ beside the prediction log,
    /// .mlops/labels/ in a workspace]
    #[arg(long, value_name = "DIR", conflicts_with = "no_log")]
    labels_dir: Option<PathBuf>,
    /// Rows per prediction log file before the next one starts
    #[arg(long, default_value_t = 100_000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    log_rows: u64,
    /// How long a prediction log file stays open before the next one starts (rows or not):
    /// a number with s, m or h, e.g. 30s, 10m, 1h
    #[arg(long, default_value = "1h", value_parser = mlops_serve::config::parse_duration, value_name = "DURATION")]
    log_every: std::time::Duration,
    /// Keep no prediction log, even in a workspace
    #[arg(long)]
    no_log: bool,
    /// Score concurrent requests to a model together: while every scoring thread is busy,
    /// gather the requests that arrive, for at most this many microseconds from the first, and
    /// score them at once next (0: each request alone; a lone request never waits)
    #[arg(long, default_value_t = 0, value_name = "MICROSECONDS")]
    batch_wait: u64,
    /// A micro-batch stops gathering once it holds this many rows
    #[arg(long, default_value_t = 1024, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    batch_rows: u64,
    /// Where a route's run-time state (a blue-green route's live side) is kept across restarts
    /// [default: .mlops/serve/ in a workspace, else kept in memory only]
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

/// Calls to a running server's admin routes.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ServeCommand {
    /// Show a running server's route: its strategy, each model's share now and the requests
    /// the route sent it
    Status {
        #[command(flatten)]
        server: RunningServer,
    },
    /// Switch a running server's blue-green route: every request from the next goes to SIDE
    /// (blue, green, or either side's model); kept across restarts
    Switch {
        /// blue, green, or the model of either side
        #[arg(value_name = "SIDE")]
        to: String,
        #[command(flatten)]
        server: RunningServer,
    },
}

/// Which running server an admin call goes to; the token is `MLOPS_SERVE_TOKEN`, as the
/// server's.
#[derive(Debug, clap::Args)]
pub(crate) struct RunningServer {
    /// The running server's address
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    url: String,
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

/// Loads the models to serve, at start and at every reload: those given on the command line,
/// then the config's, read again each time, registry references resolved again each time.
struct ModelLoader {
    printer: Printer,
    cwd: PathBuf,
    models: Vec<PathBuf>,
    config: Option<PathBuf>,
    threshold: f64,
    device: Device,
}

impl ModelLoader {
    /// What to serve: the models given as `MODEL`, then the config's, with its route and
    /// review band.
    fn config(&self) -> anyhow::Result<mlops_serve::config::Config> {
        let mut config = match &self.config {
            Some(path) => {
                let path = self.cwd.join(path);
                let base = path.parent().unwrap_or(&self.cwd).to_owned();
                let mut config = mlops_serve::config::Config::read(&path)?;
                // A model directory is relative to the config file, as `eval.yaml`'s paths
                // are; a registry reference is no path.
                for entry in &mut config.models {
                    let local = base.join(&entry.model);
                    if local.exists() || !mlops_meta::registry::is_reference(&entry.model) {
                        entry.model = local;
                    }
                }
                config
            }
            None => mlops_serve::config::Config {
                models: Vec::new(),
                route: None,
                review: None,
            },
        };
        let given = self
            .models
            .iter()
            .map(|model| mlops_serve::config::ModelEntry {
                model: model.clone(),
                name: None,
                threshold: None,
            });
        config.models.splice(0..0, given);
        Ok(config)
    }

    fn load_all(&self) -> anyhow::Result<mlops_serve::Setup> {
        let ctx = Context {
            printer: &self.printer,
            cwd: self.cwd.clone(),
        };
        let config = self.config()?;
        let mut loaded = Vec::new();
        for entry in config.models {
            let started = Instant::now();
            let (model, registered) = load_model_versioned(&ctx, &entry.model, &self.device)?;
            let name = entry
                .name
                .unwrap_or_else(|| model_name(&entry.model, self.cwd.join(&entry.model).exists()));
            loaded.push(mlops_serve::Loaded {
                name,
                // A directory has no version of its own: its weights' digest stands in.
                version: registered
                    .unwrap_or_else(|| model.digest.to_string().chars().take(12).collect()),
                model,
                threshold: entry.threshold.unwrap_or(self.threshold),
                load_time: started.elapsed(),
            });
        }
        Ok(mlops_serve::Setup {
            models: loaded,
            route: config.route,
            review: config.review,
        })
    }
}

impl mlops_serve::Loader for ModelLoader {
    fn load(&self) -> Result<mlops_serve::Setup, String> {
        self.load_all().map_err(|e| format!("{e:#}"))
    }

    fn reloaded(&self, outcome: &mlops_serve::Reloaded) {
        match outcome {
            mlops_serve::Reloaded::Swapped { models, removed } => {
                let mut line = String::from("reloaded:");
                for (name, version, fresh) in models {
                    let state = if *fresh { "loaded" } else { "unchanged" };
                    let _ = write!(line, " {name} {version} ({state}),");
                }
                for name in removed {
                    let _ = write!(line, " {name} (removed),");
                }
                self.printer.note(line.trim_end_matches(','));
            }
            mlops_serve::Reloaded::Failed(message) => self.printer.warn(&format!(
                "reload failed, still serving the models loaded before: {message}"
            )),
        }
    }

    fn guard_tripped(&self, route: &str, reason: &str) {
        self.printer.warn(&format!(
            "route {route}: the canary's guard tripped, every request goes to the champion: {reason}"
        ));
    }
}

/// The token `POST /admin/reload` requires, from `MLOPS_SERVE_TOKEN` when set and not empty.
fn admin_token() -> anyhow::Result<Option<String>> {
    match std::env::var("MLOPS_SERVE_TOKEN") {
        Ok(token) if token.trim().is_empty() => Ok(None),
        Ok(token) => Ok(Some(token)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            anyhow::bail!("`MLOPS_SERVE_TOKEN` must be UTF-8 text")
        }
    }
}

/// Where the prediction log goes: `--log-dir`, else the workspace's `.mlops/predictions/`.
/// In a workspace, git ignores the default logs (workspaces made before serving existed are
/// brought up to date), so `git add -A` never commits them.
fn log_options(args: &ServeArgs, ctx: &Context) -> anyhow::Result<Option<mlops_serve::LogOptions>> {
    if args.no_log {
        return Ok(None);
    }
    let dir = if let Some(dir) = &args.log_dir {
        ctx.cwd.join(dir)
    } else {
        let Ok(ws) = mlops_core::workspace::Workspace::discover(&ctx.cwd) else {
            if args.labels_dir.is_some() {
                anyhow::bail!(
                    "outside a workspace there is no prediction log unless --log-dir names one, \
                     so --labels-dir needs --log-dir too"
                );
            }
            return Ok(None);
        };
        ws.ensure_ignored(&["/predictions/", "/labels/"])?;
        ws.mlops_dir().join("predictions")
    };
    Ok(Some(mlops_serve::LogOptions {
        dir,
        rows: usize::try_from(args.log_rows).unwrap_or(usize::MAX),
        age: args.log_every,
        warn: Some(warning(ctx)),
        labels: args.labels_dir.as_ref().map(|dir| ctx.cwd.join(dir)),
    }))
}

/// Warnings from the server (rows the log dropped) as the printer's warnings, on stderr.
fn warning(ctx: &Context) -> mlops_serve::Warn {
    let printer = ctx.printer.clone();
    mlops_serve::Warn(std::sync::Arc::new(move |line: &str| printer.warn(line)))
}

pub(crate) fn run(args: &ServeArgs, ctx: &Context) -> anyhow::Result<ExitStatus> {
    if let Some(command) = &args.command {
        return admin(command, ctx);
    }
    if !(0.0..=1.0).contains(&args.threshold) {
        anyhow::bail!("--threshold must lie in [0, 1], got {}", args.threshold);
    }
    let threads = threads_or_all(args.threads)?;
    prepare_compute(threads);
    let device = DeviceChoice::parse("cpu")?.open()?;
    let loader = ModelLoader {
        printer: ctx.printer.clone(),
        cwd: ctx.cwd.clone(),
        models: args.models.clone(),
        config: args.config.clone(),
        threshold: args.threshold,
        device: device.clone(),
    };
    let setup = loader.load_all()?;
    let options = mlops_serve::Options {
        host: args.host.clone(),
        port: args.port,
        max_body: args.max_body,
        threads,
        log: log_options(args, ctx)?,
        admin_token: admin_token()?,
        batch_wait: std::time::Duration::from_micros(args.batch_wait),
        batch_rows: usize::try_from(args.batch_rows).unwrap_or(usize::MAX),
        state_dir: state_dir(args, ctx)?,
    };
    let server = mlops_serve::bind(setup, Box::new(loader), device, &options)?;
    // The ready line is data (scripts read the port from it): stdout, whatever -q says.
    let models: Vec<String> = server
        .models()
        .iter()
        .map(|(name, version)| format!("{name} {version}"))
        .collect();
    let ready = format!(
        "serving {} at http://{}\n",
        models.join(", "),
        server.address()
    );
    crate::output::Printer::data(ready.as_bytes())?;
    server.run()?;
    Ok(ExitStatus::Success)
}

/// Where a route's state is kept: `--state-dir`, else the workspace's `.mlops/serve/`, which
/// git ignores (a server's run-time state is no one's to commit).
fn state_dir(args: &ServeArgs, ctx: &Context) -> anyhow::Result<Option<PathBuf>> {
    if let Some(dir) = &args.state_dir {
        return Ok(Some(ctx.cwd.join(dir)));
    }
    let Ok(ws) = mlops_core::workspace::Workspace::discover(&ctx.cwd) else {
        return Ok(None);
    };
    ws.ensure_ignored(&["/serve/"])?;
    Ok(Some(ws.mlops_dir().join("serve")))
}

/// `mlops serve status` and `mlops serve switch`: one call to the running server's admin
/// routes, and its route's state printed.
fn admin(command: &ServeCommand, ctx: &Context) -> anyhow::Result<ExitStatus> {
    let token = admin_token()?;
    let token = token.as_deref();
    let state = match command {
        ServeCommand::Status { server } => {
            mlops_serve::admin::call(&server.url, "GET", "/admin/route", None, token)?
        }
        ServeCommand::Switch { to, server } => {
            let body = serde_json::json!({ "to": to });
            let state = mlops_serve::admin::call(
                &server.url,
                "POST",
                "/admin/route/switch",
                Some(&body),
                token,
            )?;
            ctx.printer.note(&format!(
                "switched route {} to {}",
                state["name"].as_str().unwrap_or("?"),
                state["live"].as_str().unwrap_or("?")
            ));
            state
        }
    };
    ctx.printer.report(&state, route_text)?;
    Ok(ExitStatus::Success)
}

/// A route's state (`GET /admin/route`) as text: a line about the route, then each model's
/// share and requests.
fn route_text(state: &serde_json::Value) -> String {
    let text = |key: &str| state[key].as_str().unwrap_or("?").to_owned();
    let mut out = format!("route {}: {}", text("name"), text("strategy"));
    if let Some(live) = state["live"].as_str() {
        let _ = write!(out, ", live: {live}");
    }
    if let Some(sticky) = state["sticky"].as_str() {
        let _ = write!(out, ", sticky by {sticky}");
    }
    if let Some(seconds) = state["started_seconds_ago"].as_f64() {
        let since = crate::output::short_duration(std::time::Duration::from_secs_f64(seconds));
        let _ = write!(out, ", started {since} ago");
    }
    out.push('\n');
    let variants = state["variants"].as_array().cloned().unwrap_or_default();
    let width = variants
        .iter()
        .filter_map(|v| v["name"].as_str().map(str::len))
        .max()
        .unwrap_or(0)
        .max("model".len());
    let versions = variants
        .iter()
        .filter_map(|v| v["version"].as_str().map(str::len))
        .max()
        .unwrap_or(0)
        .max("version".len());
    let _ = writeln!(
        out,
        "{:width$}  {:versions$}  {:>6}  {:>9}",
        "model", "version", "share", "requests"
    );
    for variant in &variants {
        let _ = writeln!(
            out,
            "{:width$}  {:versions$}  {:>6.3}  {:>9}",
            variant["name"].as_str().unwrap_or("?"),
            variant["version"].as_str().unwrap_or("?"),
            variant["share"].as_f64().unwrap_or(f64::NAN),
            variant["requests"].as_u64().unwrap_or(0),
        );
    }
    let guard = &state["guard"];
    if guard.is_object() {
        let challenger = &guard["challenger"];
        let line = guard["reason"].as_str().map_or_else(
            || {
                format!(
                    "guard: holding; the canary answered {} requests, {} failed",
                    challenger["requests"], challenger["errors"]
                )
            },
            |reason| format!("guard: tripped, all traffic to the champion: {reason}"),
        );
        let _ = writeln!(out, "{line}");
    }
    let shadow = &state["shadow"];
    if shadow.is_object() {
        let _ = writeln!(
            out,
            "shadow {}: {} rows scored, agreement {}, mean score difference {}, {} failed, {} skipped",
            text_of(&shadow["model"]),
            shadow["rows"],
            text_of(&shadow["agreement"]),
            text_of(&shadow["mean_abs_score_difference"]),
            shadow["failed"],
            shadow["skipped"],
        );
    }
    for arm in state["arms"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "arm {}: {} pulls, {} rewards, {} failures, mean {}",
            text_of(&arm["name"]),
            arm["pulls"],
            arm["rewards"],
            arm["failures"],
            text_of(&arm["mean"]),
        );
    }
    out
}

/// A JSON value as text: a string as it is, a number to 3 decimals, null as `-`.
fn text_of(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => "-".to_owned(),
        other => other
            .as_f64()
            .map_or_else(|| other.to_string(), |v| format!("{v:.3}")),
    }
}
