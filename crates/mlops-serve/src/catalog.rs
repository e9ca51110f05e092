//! The models served, and reloading them without downtime.
//!
//! The server holds its models as one catalog behind a lock that is only ever held to clone or
//! replace an `Arc`: a request takes the catalog as it is when the request starts and keeps its
//! model alive until it is answered. A reload loads every model again through the caller's
//! [`Loader`] (which rereads the config and re-resolves registry references) on the blocking
//! pool, beside the models serving, and swaps the catalog whole once all of them are ready; a
//! model whose name, version, weights and threshold are unchanged is kept as it is, with its
//! metrics series. A reload that fails changes nothing.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use axum::http::StatusCode;
use mlops_data::rows::{Feature, RowEncoder};
use mlops_infer::Model;
use mlops_infer::device::Device;

use crate::Served;
use crate::bandit::Reward;
use crate::config::Review;
use crate::error::{Error, Result};
use crate::log::{self, Log, LogOptions, Writer};
use crate::metrics::Metrics;
use crate::reply::ApiError;
use crate::route::Plan;
use crate::routing::Routing;

/// A model loaded to be served.
pub struct Loaded {
    /// The name requests address it by.
    pub name: String,
    /// The version reported in metadata, responses, metrics and the log: the registered
    /// version, or the weights' digest shortened.
    pub version: String,
    pub model: Model,
    /// A binary model predicts its second class when its score is at least this.
    pub threshold: f64,
    /// How long loading took, reported at `/metrics`.
    pub load_time: Duration,
}

/// What a server serves: its models, the route among them when there is one, and the scores
/// to flag for review.
pub struct Setup {
    pub models: Vec<Loaded>,
    pub route: Option<Plan>,
    pub review: Option<Review>,
}

/// Loads the models to serve: at start, and again at every reload.
pub trait Loader: Send + Sync {
    /// Every model to serve now, with unique names, and the route: rereads the config and
    /// re-resolves registry references. The error is the message to report; the models serving
    /// stay as they are.
    fn load(&self) -> std::result::Result<Setup, String>;

    /// Hears how a reload went, to report it.
    fn reloaded(&self, outcome: &Reloaded);

    /// Hears that a canary's guard tripped: every request to `route` goes to its champion now.
    fn guard_tripped(&self, route: &str, reason: &str);
}

/// How a reload went.
#[derive(Debug, Clone)]
pub enum Reloaded {
    /// The catalog was swapped.
    Swapped {
        /// Each model served now, its version, and whether it was loaded anew (a new model, or a
        /// new version, weights or threshold of one served before).
        models: Vec<(String, String, bool)>,
        /// Models no longer served.
        removed: Vec<String>,
    },
    /// Loading failed; the models serving stay as they were.
    Failed(String),
}

/// The models served now, in the order loaded, and the route among them.
pub(crate) struct Catalog {
    models: Vec<Arc<Served>>,
    route: Option<Arc<Routing>>,
    review: Option<Review>,
}

/// What answers a request: a model, whether a route chose it, and the shadow route and
/// challenger that score a copy of it, if any.
pub(crate) struct Target {
    pub(crate) served: Arc<Served>,
    pub(crate) routed: bool,
    pub(crate) shadow: Option<(Arc<Routing>, Arc<Served>)>,
    /// The route that chose the model, to hear how it answered (a canary's guard).
    pub(crate) route: Option<Arc<Routing>>,
    /// The scores to flag for review.
    pub(crate) review: Option<Review>,
}

/// The server's state: the catalog, and what outlives a reload (metrics, logs, the loader).
pub(crate) struct App {
    catalog: RwLock<Arc<Catalog>>,
    pub(crate) metrics: Arc<Metrics>,
    loader: Box<dyn Loader>,
    device: Device,
    log: Option<LogOptions>,
    /// Each model's prediction log by name, kept across reloads (a model's new version goes on
    /// in the same log) and completed at shutdown, which leaves `None`: no log starts after.
    logs: Mutex<Option<Vec<ModelLog>>>,
    /// The labels log (`POST /v2/feedback`), one for the server.
    pub(crate) labels: Option<Arc<Log>>,
    labels_writer: Mutex<Option<Writer>>,
    /// One reload at a time: a second waits for the first, then loads again.
    reloading: tokio::sync::Mutex<()>,
    pub(crate) admin_token: Option<String>,
    /// Each model's micro-batching window, batch size and scoring threads (`Options::batch_wait`,
    /// `batch_rows`, `threads`).
    batch: (Duration, usize, usize),
    /// Where a route's state is kept across restarts (`Options::state_dir`).
    state_dir: Option<PathBuf>,
}

struct ModelLog {
    name: String,
    log: Arc<Log>,
    writer: Writer,
}

impl App {
    pub(crate) fn new(
        setup: Setup,
        loader: Box<dyn Loader>,
        device: Device,
        options: &crate::Options,
    ) -> Result<App> {
        if let Some(o) = &options.log {
            let labels = o.labels_dir();
            // Reading either log whole must not read the other.
            if labels.starts_with(&o.dir) || o.dir.starts_with(&labels) {
                return Err(Error::Log(format!(
                    "the labels log ({}) and the prediction log ({}) would hold one another; \
                     pick another --log-dir or --labels-dir",
                    labels.display(),
                    o.dir.display()
                )));
            }
        }
        let (labels, labels_writer) = match &options.log {
            Some(o) => {
                // Every model's directory, those no longer served too; each log's own start
                // sweeps only its own.
                log::sweep(&o.dir);
                let (log, writer) = log::start(&LogOptions {
                    dir: o.labels_dir(),
                    ..o.clone()
                })?;
                (Some(log), Some(writer))
            }
            None => (None, None),
        };
        let app = App {
            catalog: RwLock::new(Arc::new(Catalog {
                models: Vec::new(),
                route: None,
                review: None,
            })),
            metrics: Arc::new(Metrics::new()),
            loader,
            device,
            log: options.log.clone(),
            logs: Mutex::new(Some(Vec::new())),
            labels,
            labels_writer: Mutex::new(labels_writer),
            reloading: tokio::sync::Mutex::new(()),
            admin_token: options.admin_token.clone(),
            batch: (options.batch_wait, options.batch_rows, options.threads),
            state_dir: options.state_dir.clone(),
        };
        let (catalog, _) = app.assemble(setup)?;
        app.swap(catalog);
        Ok(app)
    }

    fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(&self.catalog.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The model named `name`, as served now; for a route's name, its first variant (whose
    /// inputs and outputs the route's metadata shows).
    pub(crate) fn model(&self, name: &str) -> std::result::Result<Arc<Served>, ApiError> {
        let catalog = self.catalog();
        if let Some(routing) = catalog.route.as_ref().filter(|r| r.plan.name == name) {
            return catalog.named(routing.plan.variants()[0]);
        }
        catalog.named(name)
    }

    /// What answers a request addressed to `name`: the model of that name, or the variant the
    /// route of that name chooses for the request's sticky key (`key` reads it, given its
    /// name).
    pub(crate) fn target(
        &self,
        name: &str,
        key: impl FnOnce(&str) -> Option<String>,
    ) -> std::result::Result<Target, ApiError> {
        let catalog = self.catalog();
        match catalog.route.as_ref().filter(|r| r.plan.name == name) {
            Some(routing) => catalog.routed(routing, key),
            None => Ok(Target {
                served: catalog.named(name)?,
                routed: false,
                shadow: None,
                route: None,
                review: catalog.review,
            }),
        }
    }

    /// The route served now, if any.
    pub(crate) fn routing(&self) -> Option<Arc<Routing>> {
        self.catalog().route.clone()
    }

    /// What `/invocations` scores: the model its `model` query parameter names (or the route
    /// of that name), else the route, else the first model served (MLflow serves one model
    /// per server).
    pub(crate) fn invocations_target(
        &self,
        name: Option<&str>,
        key: impl FnOnce(&str) -> Option<String>,
    ) -> std::result::Result<Target, ApiError> {
        if let Some(name) = name {
            return self.target(name, key);
        }
        let catalog = self.catalog();
        if let Some(routing) = &catalog.route {
            return catalog.routed(routing, key);
        }
        let served = catalog.models.first().map(Arc::clone).ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "model",
                "no model is served",
            )
        })?;
        Ok(Target {
            served,
            routed: false,
            shadow: None,
            route: None,
            review: catalog.review,
        })
    }

    /// Each model served and its version.
    pub(crate) fn served(&self) -> Vec<(String, String)> {
        self.catalog()
            .models
            .iter()
            .map(|s| (s.name.clone(), s.version().to_owned()))
            .collect()
    }

    /// Loads every model again and swaps the catalog once all are ready; tells the loader how
    /// it went.
    pub(crate) async fn reload(self: &Arc<Self>) -> Reloaded {
        let _one_at_a_time = self.reloading.lock().await;
        let app = Arc::clone(self);
        let (sender, loaded) = tokio::sync::oneshot::channel();
        // A thread of its own, not the blocking pool: loading (maybe fetching from a remote)
        // must not take a scoring thread from the requests meanwhile.
        let started = std::thread::Builder::new()
            .name("mlops-serve-reload".to_owned())
            .spawn(move || {
                let _ = sender.send(app.load_and_swap());
            });
        let outcome = match started {
            Ok(_) => loaded
                .await
                .unwrap_or_else(|_| Err("the reload stopped".to_owned())),
            Err(e) => Err(format!("cannot start the reload: {e}")),
        }
        .unwrap_or_else(Reloaded::Failed);
        self.metrics
            .reloaded(matches!(outcome, Reloaded::Swapped { .. }));
        self.loader.reloaded(&outcome);
        outcome
    }

    /// Loads every model through the loader and swaps the catalog; the error is the message.
    fn load_and_swap(&self) -> std::result::Result<Reloaded, String> {
        let loaded = self.loader.load()?;
        let before = self.catalog();
        let (catalog, fresh) = self.assemble(loaded).map_err(|e| e.to_string())?;
        let models = catalog
            .models
            .iter()
            .zip(&fresh)
            .map(|(s, &fresh)| (s.name.clone(), s.version().to_owned(), fresh))
            .collect();
        let removed = before
            .names()
            .into_iter()
            .filter(|name| !catalog.names().contains(name))
            .collect();
        self.swap(catalog);
        Ok(Reloaded::Swapped { models, removed })
    }

    /// A catalog of `setup`, keeping the models served now that did not change (and the route,
    /// with its start, when it did not change); and for each model, whether it is new.
    fn assemble(&self, setup: Setup) -> Result<(Catalog, Vec<bool>)> {
        let Setup {
            models: loaded,
            route,
            review,
        } = setup;
        let before = self.catalog();
        if let Some(plan) = &route {
            check_route(plan, &loaded)?;
        }
        let route = route.map(|plan| {
            // Each variant's version: a new version of a model starts the route afresh.
            let versions: Vec<String> = plan
                .variants()
                .iter()
                .map(|v| {
                    loaded
                        .iter()
                        .find(|l| l.name == *v)
                        .map_or_else(String::new, |l| l.version.clone())
                })
                .collect();
            match &before.route {
                Some(same) if same.plan == plan && same.versions == versions => {
                    Ok(Arc::clone(same))
                }
                _ => Routing::new(
                    plan,
                    versions,
                    self.state_dir.clone(),
                    before.route.as_deref(),
                )
                .map(Arc::new),
            }
        });
        let route = route.transpose()?;
        let mut models: Vec<Arc<Served>> = Vec::with_capacity(loaded.len());
        let mut fresh = Vec::with_capacity(loaded.len());
        for loaded in loaded {
            check_name(&loaded.name)?;
            if models.iter().any(|s| s.name == loaded.name) {
                return Err(Error::DuplicateName { name: loaded.name });
            }
            let same = before.models.iter().find(|s| {
                s.name == loaded.name
                    && s.version() == loaded.version
                    && s.model.digest == loaded.model.digest
                    && s.threshold.to_bits() == loaded.threshold.to_bits()
            });
            if let Some(same) = same {
                models.push(Arc::clone(same));
                fresh.push(false);
            } else {
                models.push(Arc::new(self.prepare(loaded)?));
                fresh.push(true);
            }
        }
        Ok((
            Catalog {
                models,
                route,
                review,
            },
            fresh,
        ))
    }

    fn prepare(&self, loaded: Loaded) -> Result<Served> {
        let Loaded {
            name,
            version,
            model,
            threshold,
            load_time,
        } = loaded;
        if self.log.is_some() {
            log::check_columns(&name, &model)?;
        }
        let log = self.log_of(&name)?;
        let metric_labels = [("model", name.clone()), ("version", version.clone())];
        let mut request_features = model.features.clone();
        if let Some(post) = &model.spec.postprocess
            && !model.spec.inputs.contains(&post.sensitive)
        {
            request_features.push(Feature::Code {
                column: post.sensitive.clone(),
                categories: post.groups(),
            });
        }
        Ok(Served {
            encoder: RowEncoder::new(model.features.clone()),
            request_features,
            device: self.device.clone(),
            metrics: Arc::clone(&self.metrics),
            metric_labels,
            log,
            load_time,
            name,
            version,
            model,
            threshold,
            batcher: crate::batch::Batcher::new(self.batch.0, self.batch.1, self.batch.2),
            plain_schemas: crate::v2::PlainSchemas::default(),
        })
    }

    /// Makes `catalog` the one served, and the metrics' model series follow.
    fn swap(&self, catalog: Catalog) {
        let catalog = Arc::new(catalog);
        let before = std::mem::replace(
            &mut *self.catalog.write().unwrap_or_else(PoisonError::into_inner),
            Arc::clone(&catalog),
        );
        for gone in &before.models {
            if !catalog.models.iter().any(|s| Arc::ptr_eq(s, gone)) {
                self.metrics.unloaded(gone);
            }
        }
        for now in &catalog.models {
            if !before.models.iter().any(|s| Arc::ptr_eq(s, now)) {
                self.metrics.loaded(now);
            }
        }
        if let Some(routing) = &catalog.route {
            self.metrics
                .guard(&routing.plan.name, routing.tripped().is_some());
        }
    }

    /// The review queue's log, started on first use (`<log-dir>/_review/`); `None` without a
    /// prediction log.
    pub(crate) fn review_log(&self) -> Option<Arc<Log>> {
        self.log_of(crate::review::QUEUE_DIR).ok().flatten()
    }

    /// Counts a reward for request `id` on a bandit route: `None` when there is none, else
    /// whether the route remembered the request.
    pub(crate) fn reward(&self, id: &str, reward: &Reward<'_>) -> Option<bool> {
        self.catalog().route.as_ref()?.reward(id, reward)
    }

    /// Keeps what the route learnt (a bandit's arms) in the state directory, as the server
    /// stops.
    pub(crate) fn finish_route(&self) -> Result<()> {
        match &self.catalog().route {
            Some(routing) => routing.keep_arms(),
            None => Ok(()),
        }
    }

    /// Tells the route that chose `target`'s model how it answered; reports a canary's guard
    /// that trips on it.
    pub(crate) fn observed(&self, target: &Target, success: bool, took: Duration) {
        let Some(routing) = &target.route else {
            return;
        };
        if let Some(reason) = routing.answered(&target.served.name, success, took) {
            self.metrics.guard(&routing.plan.name, true);
            self.loader.guard_tripped(&routing.plan.name, &reason);
        }
    }

    /// Model `name`'s prediction log, started on first use: `<log dir>/<name>/`.
    fn log_of(&self, name: &str) -> Result<Option<Arc<Log>>> {
        let Some(options) = &self.log else {
            return Ok(None);
        };
        let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        // A reload that ends after shutdown began gets no log to write.
        let logs = logs.as_mut().ok_or(Error::ShuttingDown)?;
        if let Some(open) = logs.iter().find(|l| l.name == name) {
            return Ok(Some(Arc::clone(&open.log)));
        }
        let (log, writer) = log::start(&LogOptions {
            dir: options.dir.join(name),
            ..options.clone()
        })?;
        logs.push(ModelLog {
            name: name.to_owned(),
            log: Arc::clone(&log),
            writer,
        });
        Ok(Some(log))
    }

    /// Closes every log and waits for its writer to complete its file: after the last request
    /// was answered, so the logs hold exactly the rows answered with success.
    pub(crate) fn finish_logs(&self) -> Result<()> {
        let logs = self
            .logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .unwrap_or_default();
        let labels = self
            .labels_writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(log) = &self.labels {
            log.close();
        }
        let mut first_error = None;
        for ModelLog { log, writer, .. } in logs {
            log.close();
            if let Err(e) = writer.finish() {
                first_error.get_or_insert(e);
            }
        }
        if let Some(writer) = labels
            && let Err(e) = writer.finish()
        {
            first_error.get_or_insert(e);
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Catalog {
    fn names(&self) -> Vec<String> {
        self.models.iter().map(|s| s.name.clone()).collect()
    }

    /// The model named `name`.
    fn named(&self, name: &str) -> std::result::Result<Arc<Served>, ApiError> {
        self.models
            .iter()
            .find(|s| s.name == name)
            .map(Arc::clone)
            .ok_or_else(|| {
                let mut served = self.names();
                if let Some(routing) = &self.route {
                    served.push(format!("route {}", routing.plan.name));
                }
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "model",
                    format!(
                        "no model `{name}` is served here (served: {})",
                        served.join(", ")
                    ),
                )
            })
    }

    /// The variant `routing` chooses for the request whose sticky key `key` reads.
    fn routed(
        &self,
        routing: &Arc<Routing>,
        key: impl FnOnce(&str) -> Option<String>,
    ) -> std::result::Result<Target, ApiError> {
        let key = routing.plan.sticky.as_deref().and_then(key);
        let variant = routing.choose(key.as_deref());
        let shadow = match routing.plan.strategy.shadow() {
            Some((challenger, share)) if crate::route::random_point() < share => {
                Some((Arc::clone(routing), self.named(challenger)?))
            }
            _ => None,
        };
        Ok(Target {
            served: self.named(variant)?,
            routed: true,
            shadow,
            route: Some(Arc::clone(routing)),
            review: self.review,
        })
    }
}

/// Refuses a route naming a model not loaded, or named like one, or whose name could not be a
/// URL segment and its state file's name (`<state-dir>/<name>.json`).
fn check_route(plan: &Plan, loaded: &[Loaded]) -> Result<()> {
    let names: Vec<&str> = loaded.iter().map(|l| l.name.as_str()).collect();
    for variant in plan.variants() {
        if !names.contains(&variant) {
            return Err(Error::Route(format!(
                "`{variant}` is not among the models served ({})",
                names.join(", ")
            )));
        }
    }
    if names.contains(&plan.name.as_str()) {
        return Err(Error::Route(format!(
            "the route's name `{}` is a model's too; give the route another `name:`",
            plan.name
        )));
    }
    check_name(&plan.name).map_err(|_| {
        Error::Route(format!(
            "cannot name a route `{}`: use letters, digits, `-`, `_` and `.`, not first `.` or \
             `_` (route.name in --config)",
            plan.name
        ))
    })
}

/// A model's name is a URL path segment, a metrics label and its log's directory name: letters,
/// digits, `-`, `_` and `.`, not starting with `.` or `_` (names a reader of the log directory
/// skips).
fn check_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with(['.', '_'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(Error::BadName {
            name: name.to_owned(),
        })
    }
}
