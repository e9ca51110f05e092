//! Online inference: model directories and registered versions served over HTTP.
//!
//! Speaks the Open Inference Protocol (KServe V2 REST, as MLServer and Triton do) and MLflow's
//! scoring protocol. Every request is turned into the Arrow columns `mlops predict` reads from a
//! file and scored through the same row encoder and network ([`mlops_infer::predict::score_rows`]),
//! so a row scores the same online as in batch. A small request is scored on the async worker
//! that read it; a large one on tokio's bounded blocking pool, so that it cannot hold up the
//! others (`routes::score`). A client's mistake is a 4xx with a JSON body naming the field
//! (`reply::ApiError`); the server never panics on one. Both scoring routes also take and answer
//! Arrow IPC streams (`ipc`).
//! `GET /metrics` answers Prometheus' text format (`metrics`), with bounded label sets only.
//! Every row answered with success goes to its model's prediction log (`log`), off the request
//! path; labels that arrive later (`POST /v2/feedback`, `feedback`) go to a labels log beside it.
//! The models served are a `catalog::Catalog` swapped whole on reload (SIGHUP or
//! `POST /admin/reload`), so a request is scored by the model set it started with.
//!
//! This is the only crate with an async runtime besides mlops-core's object-store client.

pub mod admin;
pub mod bandit;
mod batch;
mod catalog;
mod cells;
pub mod config;
mod error;
mod feedback;
#[cfg(test)]
mod fuzz_parsers;
mod guard;
mod ipc;
mod log;
mod metrics;
mod mlflow;
mod reply;
pub mod review;
pub mod route;
mod routes;
mod routing;
mod shadow;
mod state;
mod v2;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mlops_data::rows::{Feature, RowEncoder};
use mlops_infer::Model;
use mlops_infer::device::Device;

pub use catalog::{Loaded, Loader, Reloaded, Setup};
pub use error::{Error, Result};
pub use feedback::{LabelColumns, Recorded, record as record_labels};
pub use log::{LogOptions, Warn};

/// How to serve.
#[derive(Debug, Clone)]
pub struct Options {
    /// The address to bind, `127.0.0.1` unless told otherwise.
    pub host: String,
    /// The port; 0 picks a free one.
    pub port: u16,
    /// The largest request body accepted, in bytes.
    pub max_body: usize,
    /// Threads that answer and score requests (the runtime's workers; also the bound of the
    /// pool that scores large requests).
    pub threads: usize,
    /// Where the prediction logs go (each model's under its name); `None` keeps none.
    pub log: Option<LogOptions>,
    /// The bearer token `POST /admin/reload` requires; without one, only loopback clients may
    /// call it.
    pub admin_token: Option<String>,
    /// How long a model's batcher gathers concurrent requests to score them together; zero
    /// scores each request alone (`batch`).
    pub batch_wait: Duration,
    /// A batch stops gathering once it holds this many rows.
    pub batch_rows: usize,
    /// Where a route's run-time state (a blue-green route's live side) is kept across
    /// restarts; `None` keeps it in memory only.
    pub state_dir: Option<std::path::PathBuf>,
}

/// A loaded model and what scoring a request with it needs.
pub(crate) struct Served {
    /// The name requests address it by.
    name: String,
    version: String,
    model: Model,
    device: Device,
    encoder: RowEncoder,
    /// The columns a request holds: the model's inputs, then the sensitive column its group
    /// thresholds read (a category, one of the groups they were fitted on).
    request_features: Vec<Feature>,
    threshold: f64,
    load_time: Duration,
    /// The server's metrics, and this model's `model` and `version` labels in them.
    metrics: Arc<metrics::Metrics>,
    metric_labels: metrics::ModelLabels,
    /// This model's prediction log.
    log: Option<Arc<log::Log>>,
    /// Gathers concurrent requests into one score when `--batch-wait` is on.
    batcher: batch::Batcher,
    /// The schemas of the common V2 request's batches, made on first use.
    plain_schemas: v2::PlainSchemas,
}

impl Served {
    /// The version reported in metadata, responses, metrics and the log.
    fn version(&self) -> &str {
        &self.version
    }
}

/// How long SIGTERM waits for the requests in flight before it stops anyway: under
/// Kubernetes' default grace period (30 s, then SIGKILL), so the logs are completed before it.
const DRAIN: Duration = Duration::from_secs(25);

/// A server bound to its address, not yet answering.
pub struct Server {
    runtime: tokio::runtime::Runtime,
    listener: std::net::TcpListener,
    address: SocketAddr,
    app: Arc<catalog::App>,
    router: axum::Router,
    signals: routes::Signals,
}

/// Binds `options.host:options.port` for the `models` the `loader` loaded, and prepares the
/// runtime and the signal handlers, so that once this returns, the address is live, SIGTERM or
/// Ctrl-C stop the server cleanly and SIGHUP reloads through `loader`.
pub fn bind(
    setup: Setup,
    loader: Box<dyn Loader>,
    device: Device,
    options: &Options,
) -> Result<Server> {
    let address = format!("{}:{}", options.host, options.port);
    let listener = std::net::TcpListener::bind(&address).map_err(|source| Error::Bind {
        address: address.clone(),
        source,
    })?;
    listener.set_nonblocking(true).map_err(Error::Io)?;
    let address = listener.local_addr().map_err(Error::Io)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        // Workers parse, route, write and score small requests; larger ones are scored on
        // the blocking pool (`routes::score`).
        .worker_threads(options.threads.max(1))
        .max_blocking_threads(options.threads.max(1))
        .enable_io()
        // The micro-batcher's window (`batch`).
        .enable_time()
        .build()
        .map_err(Error::Io)?;
    let signals = {
        let _entered = runtime.enter();
        routes::Signals::install().map_err(Error::Io)?
    };
    let app = Arc::new(catalog::App::new(setup, loader, device, options)?);
    let router = routes::router(Arc::clone(&app), options.max_body);
    Ok(Server {
        runtime,
        listener,
        address,
        app,
        router,
        signals,
    })
}

impl Server {
    /// The address bound, with the port picked when 0 was asked for.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// What is served: each model's name and version, in the order loaded.
    pub fn models(&self) -> Vec<(String, String)> {
        self.app.served()
    }

    /// Answers requests until SIGTERM or Ctrl-C, then finishes the requests in flight, completes
    /// the prediction logs and returns. SIGHUP and `POST /admin/reload` reload the models
    /// meanwhile.
    pub fn run(self) -> Result<()> {
        let Server {
            runtime,
            listener,
            app,
            router,
            signals,
            ..
        } = self;
        let (hangup, shutdown) = signals.split();
        let answered = runtime.block_on(async {
            tokio::spawn(routes::reload_on(hangup, Arc::clone(&app)));
            let listener = tokio::net::TcpListener::from_std(listener).map_err(Error::Io)?;
            let (signalled, draining) = tokio::sync::oneshot::channel();
            let serving = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                shutdown.wait().await;
                let _ = signalled.send(());
            });
            // A client that never finishes its request must not hold the shutdown open.
            let deadline = async {
                if draining.await.is_ok() {
                    tokio::time::sleep(DRAIN).await;
                } else {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                served = serving => served.map_err(Error::Io),
                () = deadline => Ok(()),
            }
        });
        // Every request has been answered: what the logs hold is exactly what succeeded.
        let logs = app.finish_logs();
        // What the route learnt is kept even when a log failed.
        let route = app.finish_route();
        logs?;
        route?;
        answered
    }
}
