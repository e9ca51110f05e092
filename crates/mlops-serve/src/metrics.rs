//! `GET /metrics`: the server's counters, gauges and histograms in Prometheus' text format
//! (`OpenMetrics`), through the `prometheus-client` crate.
//!
//! Every label set is bounded: the served models' names and versions, the scoring route and the
//! status class. A model's info and load-time series leave when a reload stops serving it. A request that names a model not served here is counted under
//! [`UNKNOWN_MODEL`], never under the name it sent, so a client cannot grow the label set.

use std::sync::atomic::{AtomicI64, AtomicU64};
use std::time::Duration;

use axum::http::StatusCode;
use mlops_data::rows::Values;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::Served;

/// The `model` label of a request whose model is not served here.
pub(crate) const UNKNOWN_MODEL: &str = "_unknown";

/// The scoring routes, as the `route` label names them.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Route {
    V2Infer,
    MlflowInvocations,
}

impl Route {
    fn label(self) -> &'static str {
        match self {
            Route::V2Infer => "v2_infer",
            Route::MlflowInvocations => "mlflow_invocations",
        }
    }
}

/// A served model's `model` and `version` labels.
pub(crate) type ModelLabels = [(&'static str, String); 2];
type InfoLabels = [(&'static str, String); 3];
type RequestLabels = [(&'static str, String); 4];
type RouteLabels = [(&'static str, String); 3];
type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Seconds from 50 µs to about 3.3 s, doubling: a small request scores in well under a
/// millisecond, a large body can take seconds.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 17))
}

/// Rows per micro-batch: 1 to 2,048, doubling.
fn batch_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 12))
}

/// Scores lie in [0, 1]: twenty buckets of 0.05.
fn score_histogram() -> Histogram {
    Histogram::new((1..=20).map(|i| f64::from(i) * 0.05))
}

/// The server's metrics and the registry that encodes them.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Histograms<RouteLabels>,
    compute: Histograms<ModelLabels>,
    rows: Family<ModelLabels, Counter>,
    positives: Family<ModelLabels, Counter>,
    scores: Histograms<ModelLabels>,
    in_flight: Gauge<i64, AtomicI64>,
    log_dropped: Counter,
    info: Family<InfoLabels, Gauge>,
    load_seconds: Family<ModelLabels, Gauge<f64, AtomicU64>>,
    reloads: Family<[(&'static str, String); 1], Counter>,
    batch_rows: Histograms<ModelLabels>,
    routes: RouteMetrics,
}

type ShadowLabels = [(&'static str, String); 3];

/// What routes and the review band decided: a shadow route's copies (by the challenger's
/// labels), canary guards (by route), rows flagged for review (by model).
struct RouteMetrics {
    copies: Family<ShadowLabels, Counter>,
    rows: Family<ModelLabels, Counter>,
    agreeing: Family<ModelLabels, Counter>,
    difference: Family<ModelLabels, Counter<f64, AtomicU64>>,
    guard: Family<[(&'static str, String); 1], Gauge>,
    reviewed: Family<ModelLabels, Counter>,
}

impl RouteMetrics {
    fn register(registry: &mut Registry) -> Self {
        let copies = Family::<ShadowLabels, Counter>::default();
        registry.register(
            "mlops_serve_shadow_copies",
            "Requests a shadow route's challenger was given a copy of, by result: scored, \
             failed (it refused the rows) or skipped (too many copies scoring)",
            copies.clone(),
        );
        let rows = Family::<ModelLabels, Counter>::default();
        registry.register(
            "mlops_serve_shadow_rows",
            "Rows a shadow route's challenger scored",
            rows.clone(),
        );
        let agreeing = Family::<ModelLabels, Counter>::default();
        registry.register(
            "mlops_serve_shadow_agreeing_rows",
            "Rows whose shadow prediction was the champion's; agreement rate = this / \
             mlops_serve_shadow_rows_total",
            agreeing.clone(),
        );
        let difference = Family::<ModelLabels, Counter<f64, AtomicU64>>::default();
        registry.register(
            "mlops_serve_shadow_score_difference",
            "Sum over shadow rows of the mean absolute difference between the challenger's \
             scores and the champion's; mean difference = this / mlops_serve_shadow_rows_total",
            difference.clone(),
        );
        let reviewed = Family::<ModelLabels, Counter>::default();
        registry.register(
            "mlops_serve_review_rows",
            "Rows answered whose score fell in the review band (serve.yaml's review); review \
             rate = this / mlops_serve_rows_total",
            reviewed.clone(),
        );
        let guard = Family::<[(&'static str, String); 1], Gauge>::default();
        registry.register(
            "mlops_serve_route_guard_tripped",
            "1 once a canary's guard has tripped (every request to the route goes to the \
             champion), else 0",
            guard.clone(),
        );
        RouteMetrics {
            copies,
            rows,
            agreeing,
            difference,
            guard,
            reviewed,
        }
    }
}

impl Metrics {
    /// The metrics of a server, before any model is loaded.
    pub(crate) fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "mlops_serve_requests",
            "Scoring requests answered, by model, version, route and status class",
            requests.clone(),
        );
        let latency: Histograms<RouteLabels> = Family::new_with_constructor(latency_histogram);
        registry.register(
            "mlops_serve_request_duration_seconds",
            "Time from a scoring request's arrival to its answer (parsing, queueing for a \
             scoring thread, scoring, encoding the reply)",
            latency.clone(),
        );
        let compute: Histograms<ModelLabels> = Family::new_with_constructor(latency_histogram);
        registry.register(
            "mlops_serve_compute_duration_seconds",
            "Time a scoring thread spends encoding and scoring one request's rows",
            compute.clone(),
        );
        let rows = Family::<ModelLabels, Counter>::default();
        registry.register("mlops_serve_rows", "Rows scored successfully", rows.clone());
        let positives = Family::<ModelLabels, Counter>::default();
        registry.register(
            "mlops_serve_positive_predictions",
            "Rows a binary model predicted as its second (positive) class; positive rate = \
             this / mlops_serve_rows_total",
            positives.clone(),
        );
        let scores: Histograms<ModelLabels> = Family::new_with_constructor(score_histogram);
        registry.register(
            "mlops_serve_scores",
            "Scores of the rows scored: a binary model's positive score, a multiclass \
             model's top score",
            scores.clone(),
        );
        let in_flight = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "mlops_serve_requests_in_flight",
            "Scoring requests being answered now",
            in_flight.clone(),
        );
        let load_seconds = Family::<ModelLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "mlops_serve_model_load_seconds",
            "Seconds it took to load each served model",
            load_seconds.clone(),
        );
        let info = Family::<InfoLabels, Gauge>::default();
        registry.register(
            "mlops_serve_model_info",
            "The served models: name, version and weights' digest (value 1)",
            info.clone(),
        );
        let reloads = Family::<[(&'static str, String); 1], Counter>::default();
        registry.register(
            "mlops_serve_reloads",
            "Reloads (SIGHUP or POST /admin/reload), by result: swapped or failed",
            reloads.clone(),
        );
        let log_dropped = Counter::default();
        registry.register(
            "mlops_serve_log_dropped_rows",
            "Rows answered but left out of the prediction log (its queue was full or its writer \
             had stopped)",
            log_dropped.clone(),
        );
        let batch_rows: Histograms<ModelLabels> = Family::new_with_constructor(batch_histogram);
        registry.register(
            "mlops_serve_batch_rows",
            "Rows per micro-batch scored at once (--batch-wait): sum / count is the mean batch",
            batch_rows.clone(),
        );
        let routes = RouteMetrics::register(&mut registry);
        registry.register_collector(Box::new(Process));
        Metrics {
            registry,
            requests,
            latency,
            compute,
            rows,
            positives,
            scores,
            in_flight,
            log_dropped,
            info,
            load_seconds,
            reloads,
            batch_rows,
            routes,
        }
    }

    /// Counts `rows` of `served` flagged for review.
    pub(crate) fn reviewed(&self, served: &Served, rows: u64) {
        self.routes
            .reviewed
            .get_or_create(&served.metric_labels)
            .inc_by(rows);
    }

    /// Sets whether route `route`'s canary guard has tripped.
    pub(crate) fn guard(&self, route: &str, tripped: bool) {
        self.routes
            .guard
            .get_or_create(&[("route", route.to_owned())])
            .set(i64::from(tripped));
    }

    /// Counts a copy given to `challenger` by a shadow route, and when it scored, its rows,
    /// the rows that agreed and the summed score difference.
    pub(crate) fn shadow(
        &self,
        challenger: &Served,
        result: &str,
        scored: Option<(u64, u64, f64)>,
    ) {
        let [(_, model), (_, version)] = &challenger.metric_labels;
        self.routes
            .copies
            .get_or_create(&[
                ("model", model.clone()),
                ("version", version.clone()),
                ("result", result.to_owned()),
            ])
            .inc();
        if let Some((rows, agreeing, difference)) = scored {
            let labels = &challenger.metric_labels;
            self.routes.rows.get_or_create(labels).inc_by(rows);
            self.routes.agreeing.get_or_create(labels).inc_by(agreeing);
            self.routes
                .difference
                .get_or_create(labels)
                .inc_by(difference);
        }
    }

    /// Records a micro-batch of `rows` rows gathered for `served`.
    pub(crate) fn batched(&self, served: &Served, rows: usize) {
        #[allow(clippy::cast_precision_loss, reason = "a batch's rows")]
        self.batch_rows
            .get_or_create(&served.metric_labels)
            .observe(rows as f64);
    }

    /// Adds the series of a model now served.
    pub(crate) fn loaded(&self, served: &Served) {
        self.info.get_or_create(&info_labels(served)).set(1);
        self.load_seconds
            .get_or_create(&served.metric_labels)
            .set(served.load_time.as_secs_f64());
    }

    /// Removes the info and load-time series of a model no longer served (its counters stay:
    /// they only ever grow, as Prometheus expects).
    pub(crate) fn unloaded(&self, served: &Served) {
        self.info.remove(&info_labels(served));
        self.load_seconds.remove(&served.metric_labels);
    }

    /// Counts a reload.
    pub(crate) fn reloaded(&self, swapped: bool) {
        let result = if swapped { "swapped" } else { "failed" };
        self.reloads
            .get_or_create(&[("result", result.to_owned())])
            .inc();
    }

    /// Counts rows the prediction log dropped.
    pub(crate) fn log_dropped(&self, rows: u64) {
        if rows > 0 {
            self.log_dropped.inc_by(rows);
        }
    }

    /// Counts a scoring request as begun; the returned guard counts it as answered when
    /// dropped, so a request whose client goes away still leaves the gauge.
    pub(crate) fn begin(&self) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight(&self.in_flight)
    }

    /// Records an answered scoring request on `route` for `model`'s labels; `None` when it named
    /// a model not served here.
    pub(crate) fn answered(
        &self,
        route: Route,
        model: Option<&ModelLabels>,
        status: StatusCode,
        took: Duration,
    ) {
        let (model, version) = match model {
            Some([(_, model), (_, version)]) => (model.clone(), version.clone()),
            None => (UNKNOWN_MODEL.to_owned(), String::new()),
        };
        let class = format!("{}xx", status.as_u16() / 100);
        self.requests
            .get_or_create(&[
                ("model", model.clone()),
                ("version", version.clone()),
                ("route", route.label().to_owned()),
                ("status", class),
            ])
            .inc();
        self.latency
            .get_or_create(&[
                ("model", model),
                ("version", version),
                ("route", route.label().to_owned()),
            ])
            .observe(took.as_secs_f64());
    }

    /// Records one request's scoring: its compute time, rows, scores and positives.
    /// `scored` is predict's columns: the prediction, then the score column(s).
    pub(crate) fn scored(&self, served: &Served, scored: &[(String, Values)], took: Duration) {
        let labels = &served.metric_labels;
        let binary = served.model.spec.task == mlops_infer::spec::Task::Binary;
        let threshold = served.threshold;
        self.compute
            .get_or_create(labels)
            .observe(took.as_secs_f64());
        let Some((_, prediction)) = scored.first() else {
            return;
        };
        let rows = crate::reply::len(prediction);
        self.rows.get_or_create(labels).inc_by(rows as u64);
        // A regression model has no score.
        let Some(row_scores) = crate::reply::row_scores(scored) else {
            return;
        };
        let histogram = self.scores.get_or_create(labels);
        let mut positives = 0u64;
        for top in row_scores {
            histogram.observe(f64::from(top));
            if binary && f64::from(top) >= threshold {
                positives += 1;
            }
        }
        if binary {
            self.positives.get_or_create(labels).inc_by(positives);
        }
    }

    /// The exposition text.
    pub(crate) fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

fn info_labels(served: &Served) -> InfoLabels {
    [
        ("name", served.name.clone()),
        ("version", served.version.clone()),
        ("digest", served.model.digest.to_string()),
    ]
}

/// A scoring request in flight; dropping it counts it out.
pub(crate) struct InFlight<'a>(&'a Gauge<i64, AtomicI64>);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The process' resident memory and CPU seconds, read at each scrape from /proc (Linux only;
/// elsewhere nothing is reported rather than a made-up value).
#[derive(Debug)]
struct Process;

impl prometheus_client::collector::Collector for Process {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        if let Some(bytes) = resident_bytes() {
            let gauge = prometheus_client::metrics::gauge::ConstGauge::new(bytes);
            let metric = encoder.encode_descriptor(
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                None,
                gauge.metric_type(),
            )?;
            gauge.encode(metric)?;
        }
        if let Some(seconds) = cpu_seconds() {
            let counter = prometheus_client::metrics::counter::ConstCounter::new(seconds);
            let metric = encoder.encode_descriptor(
                "process_cpu_seconds",
                "User and system CPU time spent, in seconds",
                None,
                counter.metric_type(),
            )?;
            counter.encode(metric)?;
        }
        Ok(())
    }
}

/// `VmRSS` of /proc/self/status, in bytes.
fn resident_bytes() -> Option<i64> {
    let status = fs_err::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// utime + stime of /proc/self/stat, in seconds.
fn cpu_seconds() -> Option<f64> {
    // Linux reports these in USER_HZ ticks, which the kernel's ABI fixes at 100 per second.
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = fs_err::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after its `)` are plain.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After `)`, field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    #[allow(clippy::cast_precision_loss)]
    Some(ticks as f64 / TICKS_PER_SECOND)
}
