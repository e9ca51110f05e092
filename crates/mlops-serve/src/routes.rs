//! The routes, request bodies and shutdown signals.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use arrow_array::RecordBatch;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mlops_data::rows::Values;
use serde_json::json;

use crate::Served;
use crate::feedback;
use crate::ipc;
use crate::log::{self, Answered};
use crate::metrics::Route;
use crate::reply::{self, ApiError};
use crate::{mlflow, v2};

type Shared = Arc<Served>;

/// Every route, with bodies limited to `max_body` bytes.
pub(crate) fn router(served: Shared, max_body: usize) -> Router {
    Router::new()
        .route(
            "/v2/health/live",
            get(|| async { reply::ok(&json!({ "live": true })) }),
        )
        .route(
            "/v2/health/ready",
            get(|| async { reply::ok(&json!({ "ready": true })) }),
        )
        .route("/v2/models/{name}", get(metadata))
        .route("/v2/models/{name}/ready", get(model_ready))
        .route("/v2/models/{name}/infer", post(infer))
        .route("/v2/feedback", post(feedback))
        .route("/ping", get(|| async { StatusCode::OK }))
        .route("/invocations", post(invocations))
        .route("/metrics", get(metrics))
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(served)
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "path",
        format!("no route for {method} {}", uri.path()),
    )
}

/// The served model when `name` is its name.
fn model<'a>(served: &'a Shared, name: &str) -> Result<&'a Served, ApiError> {
    if name == served.name {
        Ok(served)
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "model",
            format!("no model `{name}` is served here (served: {})", served.name),
        ))
    }
}

async fn metadata(State(served): State<Shared>, Path(name): Path<String>) -> Response {
    match model(&served, &name) {
        Ok(served) => reply::ok(&v2::metadata(served)),
        Err(e) => e.into_response(),
    }
}

async fn model_ready(State(served): State<Shared>, Path(name): Path<String>) -> Response {
    match model(&served, &name) {
        Ok(served) => reply::ok(&json!({ "name": served.name, "ready": true })),
        Err(e) => e.into_response(),
    }
}

async fn infer(
    State(served): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let _in_flight = served.metrics.begin();
    let known = name == served.name;
    let answer = async {
        model(&served, &name)?;
        if ipc::is_ipc(&headers) {
            return arrow_stream(&served, &read(body)?, started).await;
        }
        let body = reply::parse_json(&read(body)?)?;
        let request = v2::request(&served, &body)?;
        let (batch, scored) = score(Arc::clone(&served), request.batch).await?;
        let id = request.id.unwrap_or_else(generated_id);
        let response = v2::response(&served, &id, (request.fp64, request.proba), &scored);
        logged(&served, &batch, &scored, &id, started);
        Ok::<_, ApiError>(reply::ok(&response))
    };
    let response = responded(answer.await);
    served
        .metrics
        .answered(Route::V2Infer, known, response.status(), started.elapsed());
    response
}

async fn invocations(
    State(served): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let _in_flight = served.metrics.begin();
    let answer = async {
        if ipc::is_ipc(&headers) {
            return arrow_stream(&served, &read(body)?, started).await;
        }
        let body = reply::parse_json(&read(body)?)?;
        let batch = mlflow::request(&served.model.features, &body)?;
        let (batch, scored) = score(Arc::clone(&served), batch).await?;
        let response = mlflow::response(&scored);
        logged(&served, &batch, &scored, &generated_id(), started);
        Ok::<_, ApiError>(reply::ok(&response))
    };
    let response = responded(answer.await);
    served.metrics.answered(
        Route::MlflowInvocations,
        true,
        response.status(),
        started.elapsed(),
    );
    response
}

/// Labels for rows answered earlier, into the labels log; 503 when its queue is full, so the
/// client sends them again rather than losing them.
async fn feedback(State(served): State<Shared>, body: Result<Bytes, BytesRejection>) -> Response {
    let answer = (|| {
        let Some(labels) = &served.labels else {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "labels",
                "this server keeps no prediction log (--no-log), so no labels log either",
            ));
        };
        let body = reply::parse_json(&read(body)?)?;
        let now = log::now();
        let batch = feedback::labels(&body, now)?;
        let rows = batch.num_rows();
        if !labels.send(batch, now) {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "labels",
                "the labels log's queue is full or closed; send the labels again",
            ));
        }
        Ok(json!({ "id": body["id"], "rows": rows }))
    })();
    answered(answer)
}

/// An Arrow IPC stream body scored, answered with a stream of the output columns, and logged.
async fn arrow_stream(
    served: &Shared,
    body: &[u8],
    started: Instant,
) -> Result<Response, ApiError> {
    let batch = ipc::request(&served.model.features, body)?;
    let (batch, scored) = score(Arc::clone(served), batch).await?;
    let response = ipc::response(&scored)?;
    logged(served, &batch, &scored, &generated_id(), started);
    Ok(response)
}

fn responded(answer: Result<Response, ApiError>) -> Response {
    answer.unwrap_or_else(IntoResponse::into_response)
}

fn answered(answer: Result<serde_json::Value, ApiError>) -> Response {
    match answer {
        Ok(value) => reply::ok(&value),
        Err(e) => e.into_response(),
    }
}

/// The metrics in Prometheus' text format (`OpenMetrics` 1.0, which Prometheus scrapes natively).
async fn metrics(State(served): State<Shared>) -> Response {
    match served.metrics.encode() {
        Ok(text) => (
            StatusCode::OK,
            [(
                axum::http::header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "metrics", e.to_string())
            .into_response(),
    }
}

/// The body, or the error its reading gives (413 over `--max-body`) as a JSON error.
fn read(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        let status = rejection.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "the body is over the server's limit (--max-body)".to_owned()
        } else {
            rejection.body_text()
        };
        ApiError::new(status, "body", message)
    })
}

/// An id for a response whose request had none: unique within the process.
fn generated_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "mlops-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Hands a successful answer's rows to the prediction log, counting those it drops.
fn logged(
    served: &Served,
    batch: &RecordBatch,
    scored: &[(String, Values)],
    id: &str,
    started: Instant,
) {
    let Some(log) = &served.log else { return };
    let version = served.version();
    let dropped = log.record(&Answered {
        inputs: batch,
        scored,
        model: &served.name,
        version: &version,
        id,
        latency: started.elapsed(),
    });
    served.metrics.log_dropped(dropped);
}

/// Encodes and scores `batch` on the blocking pool, exactly as `mlops predict` scores a batch;
/// the batch comes back with its scores, for the prediction log.
async fn score(
    served: Shared,
    batch: RecordBatch,
) -> Result<(RecordBatch, Vec<(String, Values)>), ApiError> {
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let scored = score_now(&served, &batch)?;
        let binary = served.model.spec.task == mlops_infer::spec::Task::Binary;
        served
            .metrics
            .scored(&scored, binary, served.threshold, started.elapsed());
        Ok((batch, scored))
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "model", e.to_string()))?
}

fn score_now(served: &Served, batch: &RecordBatch) -> Result<Vec<(String, Values)>, ApiError> {
    let rows = served
        .encoder
        .encode(batch)
        .map_err(|e| ApiError::bad("inputs", e.to_string()))?;
    let scored =
        mlops_infer::predict::score_rows(&served.model, &served.device, &rows, served.threshold);
    scored.map_err(|e| match e {
        mlops_infer::Error::MissingInput { row, column, .. } => ApiError::bad(
            column.clone(),
            format!(
                "row {row}: input `{column}` is missing, NaN or null; the model needs a number"
            ),
        ),
        e => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "model", e.to_string()),
    })
}

/// SIGTERM and Ctrl-C, listened for from the moment the server binds.
pub(crate) struct Shutdown {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl Shutdown {
    /// Registers the handlers; runs inside the runtime.
    pub(crate) fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Shutdown {
                terminate: signal(SignalKind::terminate())?,
                interrupt: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Shutdown {})
    }

    /// Returns when either signal arrives.
    pub(crate) async fn wait(self) {
        #[cfg(unix)]
        {
            let Shutdown {
                mut terminate,
                mut interrupt,
            } = self;
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
