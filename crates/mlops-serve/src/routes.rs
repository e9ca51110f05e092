//! The routes, request bodies, and the signals that stop and reload the server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use arrow_array::RecordBatch;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mlops_data::rows::Values;
use serde_json::json;

use crate::Served;
use crate::bandit::Reward;
use crate::catalog::{App, Reloaded, Target};
use crate::feedback;
use crate::ipc;
use crate::log::{self, Answered};
use crate::metrics::Route;
use crate::reply::{self, ApiError};
use crate::{mlflow, review, v2};

type Shared = Arc<Served>;

/// Every route, with bodies limited to `max_body` bytes.
pub(crate) fn router(app: Arc<App>, max_body: usize) -> Router {
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
        .route("/admin/reload", post(reload))
        .route("/admin/route", get(route_state))
        .route("/admin/route/switch", post(switch))
        .fallback(no_route)
        .layer(axum::middleware::map_response(reply::json_errors))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(app)
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "path",
        format!("no route for {method} {}", uri.path()),
    )
}

async fn metadata(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    match app.model(&name) {
        Ok(served) => {
            // A route answers with its first model's inputs and outputs, under its own name.
            let mut metadata = v2::metadata(&served);
            metadata["name"] = name.into();
            reply::ok(&metadata)
        }
        Err(e) => e.into_response(),
    }
}

async fn model_ready(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    match app.model(&name) {
        Ok(served) => reply::ok(&json!({ "name": served.name, "ready": true })),
        Err(e) => e.into_response(),
    }
}

async fn infer(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let _in_flight = app.metrics.begin();
    let body = read(body);
    let found = app.target(&name, |key| sticky_key(&headers, body.as_deref().ok(), key));
    let answer = async {
        let target = found.as_ref().map_err(Clone::clone)?;
        let served = &target.served;
        let variant = target.routed.then_some(served.name.as_str());
        let given = request_id(&headers)?;
        let body = body?;
        if ipc::is_ipc(&headers) {
            return arrow_stream(&app, target, &body, given, started).await;
        }
        let request = v2::parse(served, &body)?;
        let (batch, scored) = score(Arc::clone(served), request.batch).await?;
        let id = request.id.or(given).unwrap_or_else(generated_id);
        let flags = review_flags(target, &scored);
        let answered = v2::Answered {
            variant,
            review: flags.as_deref(),
        };
        let request = (request.fp64, request.proba);
        let response = v2::response(served, &id, answered, request, &scored);
        let done = Done {
            batch,
            scored,
            flags,
            id: &id,
            started,
        };
        recorded(&app, target, done);
        Ok::<_, ApiError>(with_id(response, &id, variant))
    };
    let response = responded(answer.await);
    counted(&app, Route::V2Infer, &found, &response, started);
    response
}

/// After a scoring request: the route that chose its model hears how it answered, and the
/// metrics count it (under the model, or as an unknown one).
fn counted(
    app: &App,
    route: Route,
    found: &Result<Target, ApiError>,
    response: &Response,
    started: Instant,
) {
    let took = started.elapsed();
    let status = response.status();
    if let Ok(target) = found {
        app.observed(target, status.is_success(), took);
    }
    let labels = found.as_ref().ok().map(|t| &t.served.metric_labels);
    app.metrics.answered(route, labels, status, took);
}

/// MLflow's scoring route. MLflow serves one model per server: this scores through the route
/// when there is one, else the first model served, or what `?model=NAME` names.
async fn invocations(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let _in_flight = app.metrics.begin();
    let body = read(body);
    let found = app.invocations_target(query_model(&uri), |key| {
        sticky_key(&headers, body.as_deref().ok(), key)
    });
    let answer = async {
        let target = found.as_ref().map_err(Clone::clone)?;
        let served = &target.served;
        let variant = target.routed.then_some(served.name.as_str());
        let given = request_id(&headers)?;
        let body = body?;
        if ipc::is_ipc(&headers) {
            return arrow_stream(&app, target, &body, given, started).await;
        }
        let body = reply::parse_json(&body)?;
        let batch = mlflow::request(&served.request_features, &body)?;
        let (batch, scored) = score(Arc::clone(served), batch).await?;
        let id = given.unwrap_or_else(generated_id);
        let flags = review_flags(target, &scored);
        let mut answer = mlflow::response(&scored);
        if let Some(variant) = variant {
            answer["variant"] = json!(variant);
        }
        if let (Some(flags), Some(predictions)) = (&flags, answer["predictions"].as_array_mut()) {
            for (prediction, flag) in predictions.iter_mut().zip(flags) {
                prediction["needs_review"] = json!(flag);
            }
        }
        let done = Done {
            batch,
            scored,
            flags,
            id: &id,
            started,
        };
        recorded(&app, target, done);
        Ok::<_, ApiError>(with_id(reply::ok(&answer), &id, variant))
    };
    let response = responded(answer.await);
    counted(&app, Route::MlflowInvocations, &found, &response, started);
    response
}

/// The `model` query parameter of `/invocations`, when given.
fn query_model(uri: &Uri) -> Option<&str> {
    uri.query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        // Model names are plain (letters, digits, `-_.`): nothing to percent-decode.
        (key == "model").then_some(value)
    })
}

/// Reloads the models: the config reread, registry references resolved again, the new models
/// swapped in once all are loaded. With a token configured the request must carry it as a
/// bearer token; without one, only loopback clients may reload.
async fn reload(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = admitted(&app, peer, &headers) {
        return e.into_response();
    }
    match app.reload().await {
        Reloaded::Swapped { models, removed } => reply::ok(&json!({
            "models": models
                .iter()
                .map(|(name, version, loaded)| json!({
                    "name": name, "version": version, "loaded": loaded
                }))
                .collect::<Vec<_>>(),
            "removed": removed,
        })),
        Reloaded::Failed(message) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "reload",
            format!("{message}; the models served before are still served"),
        )
        .into_response(),
    }
}

/// The route served: its strategy, each variant's share now and the requests it was chosen
/// for since the route started.
async fn route_state(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = admitted(&app, peer, &headers) {
        return e.into_response();
    }
    match app.routing() {
        Some(routing) => reply::ok(&routing.state()),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "route",
            "this server has no route (serve.yaml's `route`)",
        )
        .into_response(),
    }
}

/// Switches a blue-green route to the side `{"to": "green"}` names (or its model), kept across
/// restarts; answers the route's state after.
async fn switch(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let answer = (|| {
        admitted(&app, peer, &headers)?;
        let body = reply::parse_json(&read(body)?)?;
        let to = body["to"]
            .as_str()
            .ok_or_else(|| ApiError::bad("to", "expected {\"to\": \"blue\" or \"green\"}"))?;
        let routing = app.routing().ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "route",
                "this server has no route (serve.yaml's `route`)",
            )
        })?;
        routing.switch(to)?;
        Ok(routing.state())
    })();
    answered(answer)
}

/// Whether an admin request may go on: the bearer token when one is configured, else a
/// loopback client.
fn admitted(app: &App, peer: SocketAddr, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &app.admin_token else {
        return if is_loopback(peer.ip()) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "authorization",
                "admin routes answer only loopback clients unless MLOPS_SERVE_TOKEN is set",
            ))
        };
    };
    // The scheme's name is case-insensitive (RFC 9110, 11.1).
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match given {
        Some(given) if constant_time_eq(given.as_bytes(), token.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "authorization",
            "the bearer token is not the server's",
        )),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authorization",
            "expected `Authorization: Bearer TOKEN` (the server's MLOPS_SERVE_TOKEN)",
        )),
    }
}

/// Whether `ip` is this machine's loopback, also as an IPv4-mapped IPv6 address (a server
/// bound to `::` sees 127.0.0.1 that way).
fn is_loopback(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => v4.is_loopback(),
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(v6.is_loopback(), |v4| v4.is_loopback()),
    }
}

/// Compares without stopping at the first difference, so the time taken does not tell how much
/// of a guessed token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Labels for rows answered earlier, into the labels log; 503 when its queue is full, so the
/// client sends them again rather than losing them. On a bandit route, a `reward` (0 or 1) or
/// the labels compared with the request's predictions reward the arm that answered it.
async fn feedback(State(app): State<Arc<App>>, body: Result<Bytes, BytesRejection>) -> Response {
    let answer = (|| {
        let body = reply::parse_json(&read(body)?)?;
        let reward = match body.get("reward") {
            None => None,
            Some(serde_json::Value::Bool(won)) => Some(*won),
            Some(value) => match value.as_u64() {
                Some(0) => Some(false),
                Some(1) => Some(true),
                _ => {
                    return Err(ApiError::bad(
                        "reward",
                        format!("expected 0 or 1 (or false or true), got {value}"),
                    ));
                }
            },
        };
        let has_labels = body.get("labels").is_some() || body.get("label").is_some();
        if let Some(won) = reward
            && !has_labels
        {
            let id = body["id"]
                .as_str()
                .filter(|id| !id.is_empty())
                .ok_or_else(|| ApiError::bad("id", "missing: the id of the request rewarded"))?;
            let rewarded = app.reward(id, &Reward::Value(won)).ok_or_else(|| {
                ApiError::bad(
                    "reward",
                    "this server has no bandit route (thompson or epsilon-greedy) to reward",
                )
            })?;
            return Ok(json!({ "id": id, "rows": 0, "rewarded": rewarded }));
        }
        let Some(labels) = &app.labels else {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "labels",
                "this server keeps no prediction log (--no-log), so no labels log either",
            ));
        };
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
        let mut answer = json!({ "id": body["id"], "rows": rows });
        let id = body["id"].as_str().unwrap_or_default();
        let rewarded = match (reward, body["labels"].as_array()) {
            (Some(won), _) => app.reward(id, &Reward::Value(won)),
            (None, Some(labels)) => app.reward(id, &Reward::Labels(labels)),
            (None, None) => None,
        };
        if let Some(rewarded) = rewarded {
            answer["rewarded"] = rewarded.into();
        }
        Ok(answer)
    })();
    answered(answer)
}

/// An Arrow IPC stream body scored, answered with a stream of the output columns, and logged
/// under the id `given` (the request's `X-Request-Id`) or a generated one.
async fn arrow_stream(
    app: &App,
    target: &Target,
    body: &[u8],
    given: Option<String>,
    started: Instant,
) -> Result<Response, ApiError> {
    let served = &target.served;
    let variant = target.routed.then_some(served.name.as_str());
    let batch = ipc::request(&served.request_features, body)?;
    let (batch, scored) = score(Arc::clone(served), batch).await?;
    let flags = review_flags(target, &scored);
    let response = ipc::response(&scored, flags.as_deref())?;
    let id = given.unwrap_or_else(generated_id);
    let done = Done {
        batch,
        scored,
        flags,
        id: &id,
        started,
    };
    recorded(app, target, done);
    Ok(with_id(response, &id, variant))
}

/// A request scored with success, once its answer is made.
struct Done<'a> {
    /// Its rows as the model read them, and predict's columns for them.
    batch: RecordBatch,
    scored: Vec<(String, Values)>,
    /// Each row's review flag, when a review band is set.
    flags: Option<Vec<bool>>,
    id: &'a str,
    started: Instant,
}

/// Each row's review flag: whether its score lies in the review band, when one is set.
fn review_flags(target: &Target, scored: &[(String, Values)]) -> Option<Vec<bool>> {
    target.review.and_then(|band| review::flagged(band, scored))
}

/// What follows every successful answer, whatever its protocol: the route hears what its model
/// answered, the rows go to the prediction log (those flagged to the review queue too), and a
/// shadow gets its copy.
fn recorded(app: &App, target: &Target, done: Done<'_>) {
    let served = &target.served;
    watched(target, done.id, &done.scored);
    let rows = Answered {
        inputs: &done.batch,
        scored: &done.scored,
        model: &served.name,
        version: served.version(),
        variant: target.routed.then_some(served.name.as_str()),
        id: done.id,
        latency: done.started.elapsed(),
    };
    logged(served, &rows);
    if let Some(flags) = &done.flags {
        queued(app, served, &rows, flags);
    }
    shadowed(target, done.batch, done.scored, done.id);
}

/// Hands the rows flagged for review to the review queue, and counts them.
fn queued(app: &App, served: &Served, rows: &Answered<'_>, flags: &[bool]) {
    let flagged = flags.iter().filter(|f| **f).count();
    if flagged == 0 {
        return;
    }
    served.metrics.reviewed(served, flagged as u64);
    if let Some(queue) = app.review_log() {
        let dropped = queue.record(rows, Some(&review::mask(flags)));
        served.metrics.log_dropped(dropped);
    }
}

/// Tells the route that chose the model what it answered request `id` (a guarded canary
/// watches the scores; a bandit waits for the request's reward).
fn watched(target: &Target, id: &str, scored: &[(String, Values)]) {
    if let Some(routing) = &target.route {
        routing.scored(&target.served.name, id, scored);
    }
}

/// Hands an answered request's rows to the shadow route's challenger, when it scores a copy.
fn shadowed(target: &Target, batch: RecordBatch, champion: Vec<(String, Values)>, id: &str) {
    if let Some((routing, challenger)) = &target.shadow {
        let copy = crate::shadow::Copy {
            batch,
            champion,
            id: id.to_owned(),
        };
        crate::shadow::score(routing, challenger, copy);
    }
}

/// The value of a route's sticky key named `key`: the request's header of that name, else the
/// entry of that name in a JSON body's request parameters (`parameters` in the Open Inference
/// Protocol, `params` in MLflow's), a string or a number. Reading the body for it costs a pass
/// over the JSON: a header is cheaper.
fn sticky_key(headers: &HeaderMap, body: Option<&[u8]>, key: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Parameters {
        #[serde(default, alias = "params")]
        parameters: Option<serde_json::Map<String, serde_json::Value>>,
    }
    if let Some(value) = headers.get(key).and_then(|v| v.to_str().ok()) {
        return Some(value.to_owned());
    }
    if ipc::is_ipc(headers) {
        return None;
    }
    let parsed: Parameters = serde_json::from_slice(body?).ok()?;
    match parsed.parameters?.get(key)? {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The header a client names its request by, and every scoring answer carries: the id its rows
/// are logged under and labels are sent for (`POST /v2/feedback`). A V2 body's `id` comes first.
const REQUEST_ID: &str = "x-request-id";

/// The request's `X-Request-Id`: 1 to 256 visible ASCII characters.
fn request_id(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(REQUEST_ID) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .ok()
        .filter(|t| (1..=256).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_graphic()));
    match text {
        Some(text) => Ok(Some(text.to_owned())),
        None => Err(ApiError::bad(
            "X-Request-Id",
            "expected 1 to 256 visible ASCII characters",
        )),
    }
}

/// The header naming the variant a route chose to answer a request (absent for a request to a
/// model by its own name).
const VARIANT: &str = "x-variant";

/// `response` with the `X-Request-Id` it answers, and the route's variant that answered.
fn with_id(mut response: Response, id: &str, variant: Option<&str>) -> Response {
    if let Ok(value) = axum::http::HeaderValue::from_str(id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    if let Some(value) = variant.and_then(|v| axum::http::HeaderValue::from_str(v).ok()) {
        response.headers_mut().insert(VARIANT, value);
    }
    response
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
async fn metrics(State(app): State<Arc<App>>) -> Response {
    match app.metrics.encode() {
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

/// An id for a request that named none: the process' start time and id, and a counter, so ids
/// do not repeat across restarts and replicas (in a container every process may be pid 1).
fn generated_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    static STARTED: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    let started = STARTED.get_or_init(|| log::now().as_micros());
    format!(
        "mlops-{started:x}-{:x}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Hands a successful answer's rows to the prediction log of the model that scored them,
/// counting those it drops.
pub(crate) fn logged(served: &Served, rows: &Answered<'_>) {
    let Some(log) = &served.log else { return };
    served.metrics.log_dropped(log.record(rows, None));
}

/// Multiply-adds (rows x the model's parameters) a request may cost and still be scored on the
/// runtime worker that read it, about a tenth of a millisecond of one core: handing a small
/// request to the blocking pool and back costs two thread wake-ups, more than scoring it, and
/// puts a scheduler's time slice into its latency. Larger requests go to the blocking pool, so
/// that one of them cannot hold up the requests the worker answers meanwhile.
const INLINE_WORK: usize = 1 << 20;

/// Encodes and scores `batch` exactly as `mlops predict` scores a batch: here when it is small,
/// else on the blocking pool. The batch comes back with its scores, for the prediction log.
async fn score(
    served: Shared,
    batch: RecordBatch,
) -> Result<(RecordBatch, Vec<(String, Values)>), ApiError> {
    if served.batcher.is_on() {
        return crate::batch::score(&served, batch).await;
    }
    if batch
        .num_rows()
        .saturating_mul(served.model.parameters.max(1))
        <= INLINE_WORK
    {
        // A bug that panics while scoring answers 500, as a panic on the blocking pool does,
        // instead of closing the connection.
        return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            score_counted(&served, batch)
        }))
        .unwrap_or_else(|_| Err(scoring_panicked()));
    }
    tokio::task::spawn_blocking(move || score_counted(&served, batch))
        .await
        .map_err(|_| scoring_panicked())?
}

/// The answer to a request whose scoring panicked (a bug of ours, never a client's mistake).
pub(crate) fn scoring_panicked() -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "model",
        "scoring failed unexpectedly; the server's stderr says why",
    )
}

/// [`score_now`], timed into the metrics.
fn score_counted(
    served: &Served,
    batch: RecordBatch,
) -> Result<(RecordBatch, Vec<(String, Values)>), ApiError> {
    let started = Instant::now();
    let scored = score_now(served, &batch)?;
    served.metrics.scored(served, &scored, started.elapsed());
    Ok((batch, scored))
}

pub(crate) fn score_now(
    served: &Served,
    batch: &RecordBatch,
) -> Result<Vec<(String, Values)>, ApiError> {
    crate::cells::check_finite(&served.model.features, batch)?;
    let rows = served
        .encoder
        .encode(batch)
        .map_err(|e| ApiError::bad("inputs", e.to_string()))?;
    // An input within f32's range can still scale past it (a large value of an input trained
    // with a small spread), and the network would answer that row with a NaN.
    if rows.first_missing.is_none()
        && let Some(at) = rows.values.iter().position(|v| v.is_infinite())
    {
        let row = at / (rows.values.len() / rows.rows.max(1)).max(1);
        return Err(ApiError::bad(
            "inputs",
            format!("row {row}: an input, scaled as the model was trained, is beyond f32's range"),
        ));
    }
    let sensitive = served
        .model
        .spec
        .postprocess
        .as_ref()
        .map(|post| {
            mlops_data::rows::Passed::new(batch.clone())
                .text(&post.sensitive)
                .map_err(|e| ApiError::bad(&post.sensitive, e.to_string()))
        })
        .transpose()?
        .flatten();
    let scored = mlops_infer::predict::score_rows(
        &served.model,
        &served.device,
        &rows,
        served.threshold,
        sensitive.as_deref(),
    );
    scored.map_err(|e| match e {
        mlops_infer::Error::Postprocess { row, problem, .. } => {
            let column = served
                .model
                .spec
                .postprocess
                .as_ref()
                .map_or("inputs", |post| post.sensitive.as_str());
            ApiError::bad(column, format!("row {row}: {problem}"))
        }
        mlops_infer::Error::MissingInput { row, column, .. } => ApiError::bad(
            column.clone(),
            format!(
                "row {row}: input `{column}` is missing, NaN or null; the model needs a number"
            ),
        ),
        e => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "model", e.to_string()),
    })
}

/// SIGTERM and Ctrl-C, which stop the server, and SIGHUP, which reloads it: listened for from
/// the moment the server binds.
pub(crate) struct Signals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
}

/// SIGTERM and Ctrl-C.
pub(crate) struct Shutdown {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

/// SIGHUP (never, where there is none).
pub(crate) struct Hangup {
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Registers the handlers; runs inside the runtime.
    pub(crate) fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                terminate: signal(SignalKind::terminate())?,
                interrupt: signal(SignalKind::interrupt())?,
                hangup: signal(SignalKind::hangup())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    pub(crate) fn split(self) -> (Hangup, Shutdown) {
        #[cfg(unix)]
        {
            let Signals {
                terminate,
                interrupt,
                hangup,
            } = self;
            (
                Hangup { hangup },
                Shutdown {
                    terminate,
                    interrupt,
                },
            )
        }
        #[cfg(not(unix))]
        (Hangup {}, Shutdown {})
    }
}

impl Shutdown {
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

/// Reloads `app` at every SIGHUP, for as long as the server runs.
pub(crate) async fn reload_on(hangup: Hangup, app: Arc<App>) {
    #[cfg(unix)]
    {
        let Hangup { mut hangup } = hangup;
        while hangup.recv().await.is_some() {
            app.reload().await;
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (hangup, app);
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_clients_in_every_form() {
        for (ip, loopback) in [
            ("127.0.0.1", true),
            ("127.3.4.5", true),
            ("::1", true),
            ("::ffff:127.0.0.1", true),
            ("10.0.0.7", false),
            ("::ffff:10.0.0.7", false),
            ("2001:db8::1", false),
        ] {
            let parsed = ip.parse().expect("an address");
            assert_eq!(is_loopback(parsed), loopback, "{ip}");
        }
    }
}
