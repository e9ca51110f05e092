//! Online inference: one model directory served over HTTP.
//!
//! Speaks the Open Inference Protocol (KServe V2 REST, as MLServer and Triton do) and MLflow's
//! scoring protocol. Every request is turned into the Arrow columns `mlops predict` reads from a
//! file and scored through the same row encoder and network ([`mlops_infer::predict::score_rows`]),
//! so a row scores the same online as in batch. Scoring runs on tokio's bounded blocking pool,
//! never on the async workers. A client's mistake is a 4xx with a JSON body naming the field
//! (`reply::ApiError`); the server never panics on one. Both scoring routes also take and answer
//! Arrow IPC streams (`ipc`).
//! `GET /metrics` answers Prometheus' text format (`metrics`), with bounded label sets only.
//! Every row answered with success goes to the prediction log (`log`), off the request path;
//! labels that arrive later (`POST /v2/feedback`, `feedback`) go to a labels log beside it.
//!
//! This is the only crate with an async runtime besides mlops-core's object-store client.

mod cells;
mod error;
mod feedback;
mod ipc;
mod log;
mod metrics;
mod mlflow;
mod reply;
mod routes;
mod v2;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mlops_data::rows::RowEncoder;
use mlops_infer::Model;
use mlops_infer::device::Device;

pub use error::{Error, Result};
pub use log::LogOptions;

/// How to serve.
#[derive(Debug, Clone)]
pub struct Options {
    /// The address to bind, `127.0.0.1` unless told otherwise.
    pub host: String,
    /// The port; 0 picks a free one.
    pub port: u16,
    /// The largest request body accepted, in bytes.
    pub max_body: usize,
    /// Threads that score (the blocking pool's bound).
    pub threads: usize,
    /// A binary model predicts its second class when its score is at least this.
    pub threshold: f64,
    /// How long loading the model took, reported at `/metrics`.
    pub load_time: Duration,
    /// Where the prediction log goes; `None` keeps none.
    pub log: Option<LogOptions>,
}

/// A loaded model and what scoring a request with it needs.
pub(crate) struct Served {
    /// The name requests address it by.
    name: String,
    model: Model,
    device: Device,
    encoder: RowEncoder,
    threshold: f64,
    metrics: metrics::Metrics,
    log: Option<Arc<log::Log>>,
    labels: Option<Arc<log::Log>>,
}

impl Served {
    /// The version reported in metadata and responses: the weights' digest, shortened.
    fn version(&self) -> String {
        self.model.digest.to_string()[..12].to_owned()
    }
}

/// A server bound to its address, not yet answering.
pub struct Server {
    runtime: tokio::runtime::Runtime,
    listener: std::net::TcpListener,
    address: SocketAddr,
    router: axum::Router,
    shutdown: routes::Shutdown,
    log: Option<(Arc<log::Log>, log::Writer)>,
    labels: Option<(Arc<log::Log>, log::Writer)>,
}

/// Binds `options.host:options.port` for `model`, addressed as `name`, and prepares the
/// runtime and the signal handlers, so that once this returns, the address is live and
/// SIGTERM or Ctrl-C stop the server cleanly.
pub fn bind(name: String, model: Model, device: Device, options: &Options) -> Result<Server> {
    let address = format!("{}:{}", options.host, options.port);
    let listener = std::net::TcpListener::bind(&address).map_err(|source| Error::Bind {
        address: address.clone(),
        source,
    })?;
    listener.set_nonblocking(true).map_err(Error::Io)?;
    let address = listener.local_addr().map_err(Error::Io)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        // Workers only parse, route and write; scoring runs on the blocking pool.
        .worker_threads(2)
        .max_blocking_threads(options.threads.max(1))
        .enable_io()
        .build()
        .map_err(Error::Io)?;
    let shutdown = {
        let _entered = runtime.enter();
        routes::Shutdown::install().map_err(Error::Io)?
    };
    let version = model.digest.to_string()[..12].to_owned();
    let metrics = metrics::Metrics::new(
        &name,
        &version,
        &model.digest.to_string(),
        options.load_time,
    );
    if let Some(o) = &options.log
        && o.labels_dir() == o.dir
    {
        return Err(Error::Log(format!(
            "{} is named like the labels log that goes beside it; pick another --log-dir",
            o.dir.display()
        )));
    }
    let log = options.log.as_ref().map(log::start).transpose()?;
    let labels = options
        .log
        .as_ref()
        .map(|o| {
            log::start(&LogOptions {
                dir: o.labels_dir(),
                ..o.clone()
            })
        })
        .transpose()?;
    let served = Served {
        log: log.as_ref().map(|(log, _)| Arc::clone(log)),
        labels: labels.as_ref().map(|(labels, _)| Arc::clone(labels)),
        name,
        metrics,
        encoder: RowEncoder::new(model.features.clone()),
        model,
        device,
        threshold: options.threshold,
    };
    let router = routes::router(Arc::new(served), options.max_body);
    Ok(Server {
        runtime,
        listener,
        address,
        router,
        shutdown,
        log,
        labels,
    })
}

impl Server {
    /// The address bound, with the port picked when 0 was asked for.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Answers requests until SIGTERM or Ctrl-C, then finishes the requests in flight, completes
    /// the prediction log and returns.
    pub fn run(self) -> Result<()> {
        let Server {
            runtime,
            listener,
            router,
            shutdown,
            log,
            labels,
            ..
        } = self;
        let answered = runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).map_err(Error::Io)?;
            axum::serve(listener, router)
                .with_graceful_shutdown(shutdown.wait())
                .await
                .map_err(Error::Io)
        });
        // Every request has been answered: what the log holds is exactly what succeeded.
        for (log, writer) in [log, labels].into_iter().flatten() {
            log.close();
            writer.finish()?;
        }
        answered
    }
}
