//! A route at run time: its plan, when it started, the requests it sent each model, a
//! blue-green route's live side and its switch, a canary's guard, a shadow's copies; and what
//! of that outlives a restart, through `state`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use mlops_data::rows::Values;

use crate::bandit::{Bandit, Reward};
use crate::error::Result;
use crate::guard::Watch;
use crate::reply::ApiError;
use crate::route::{Colour, Plan, Strategy};
use crate::shadow::Shadows;
use crate::state::{self, RouteState, SavedArm, Tripped};

/// A route at run time. It starts when the server loads it (a canary's ramp counts from then);
/// a reload that leaves the route and its models' versions as they were keeps it, with its
/// counts, and any other reload starts it afresh (reading back what the state directory kept).
pub(crate) struct Routing {
    pub(crate) plan: Plan,
    /// The plan's variants, in its order (`Plan::variants`, made once, not per request).
    variants: Vec<String>,
    /// Each variant's version when the route started, in the plan's order.
    pub(crate) versions: Vec<String>,
    started: Instant,
    /// Requests each variant was chosen for since the route started, in the plan's order.
    chosen: Vec<AtomicU64>,
    /// A blue-green route's live side: green when set.
    green: AtomicBool,
    /// Where the route's state is kept across restarts, if anywhere; the lock orders writes.
    state_dir: Option<PathBuf>,
    saving: Mutex<()>,
    /// A shadow route's copies and how they agreed.
    pub(crate) shadows: Shadows,
    /// A guarded canary's answers since the route started.
    watch: Option<Mutex<Watch>>,
    /// A bandit's arms, and when they were last kept in the state directory.
    bandit: Option<Mutex<Bandit>>,
    bandit_saved: Mutex<Instant>,
    /// Why a canary's guard tripped, once it has: every request goes to the champion then.
    tripped: Mutex<Option<String>>,
    is_tripped: AtomicBool,
}

impl Routing {
    /// The route `plan` describes among models of `versions`, with the run-time state of
    /// `before` (the route it replaces on a reload, when it has the same name), else the state
    /// a run before left in `state_dir`.
    pub(crate) fn new(
        plan: Plan,
        versions: Vec<String>,
        state_dir: Option<PathBuf>,
        before: Option<&Routing>,
    ) -> Result<Routing> {
        let saved = match (before.filter(|b| b.plan.name == plan.name), &state_dir) {
            (Some(before), _) => before.snapshot(),
            (None, Some(dir)) => state::read(dir, &plan.name)?,
            (None, None) => RouteState::default(),
        };
        let live = match &plan.strategy {
            Strategy::BlueGreen { live, .. } => saved.live.unwrap_or(*live),
            _ => Colour::Blue,
        };
        // A guard tripped by this very challenger version stays tripped; a new version starts
        // afresh.
        let tripped = saved
            .tripped
            .filter(|t| versions.get(1) == Some(&t.version))
            .map(|t| t.reason);
        let watch = match &plan.strategy {
            Strategy::Canary { guard: Some(_), .. } => Some(Mutex::new(Watch::default())),
            _ => None,
        };
        let bandit = match &plan.strategy {
            Strategy::Bandit { arms, policy } => {
                // Each arm's tally as a run before left it, when the arm is the same model
                // version; a new version starts from nothing.
                let tallies = arms
                    .iter()
                    .zip(&versions)
                    .map(|(arm, version)| {
                        saved
                            .arms
                            .iter()
                            .find(|s| s.name == *arm && s.version == *version)
                            .map(|s| s.tally.clone())
                            .unwrap_or_default()
                    })
                    .collect();
                #[allow(clippy::cast_possible_truncation, reason = "a seed")]
                let seed = crate::log::now().as_nanos() as u64;
                Some(Mutex::new(Bandit::new(*policy, tallies, seed)))
            }
            _ => None,
        };
        let variants: Vec<String> = plan.variants().into_iter().map(str::to_owned).collect();
        let chosen = variants.iter().map(|_| AtomicU64::new(0)).collect();
        Ok(Routing {
            plan,
            variants,
            versions,
            started: Instant::now(),
            chosen,
            green: AtomicBool::new(live == Colour::Green),
            state_dir,
            saving: Mutex::new(()),
            shadows: Shadows::default(),
            watch,
            bandit,
            bandit_saved: Mutex::new(Instant::now()),
            is_tripped: AtomicBool::new(tripped.is_some()),
            tripped: Mutex::new(tripped),
        })
    }

    fn live(&self) -> Colour {
        if self.green.load(Ordering::Acquire) {
            Colour::Green
        } else {
            Colour::Blue
        }
    }

    /// The variant for a request with sticky key `key`, counted as chosen.
    pub(crate) fn choose(&self, key: Option<&str>) -> &str {
        let variant = match &self.plan.strategy {
            Strategy::Bandit { arms, .. } if self.bandit.is_some() => {
                let bandit = self.bandit.as_ref().map(|b| lock(b).choose());
                &arms[bandit.unwrap_or(0)]
            }
            Strategy::BlueGreen { blue, green, .. } => match self.live() {
                Colour::Blue => blue,
                Colour::Green => green,
            },
            Strategy::Canary { champion, .. } if self.is_tripped.load(Ordering::Acquire) => {
                champion
            }
            _ => self.plan.choose(key, self.started.elapsed()),
        };
        if let Some(at) = self.variants.iter().position(|v| v == variant) {
            self.chosen[at].fetch_add(1, Ordering::Relaxed);
        }
        variant
    }

    /// Records what `variant` answered request `id`: a guarded canary's side its scores, a
    /// bandit's arm the request, for its reward.
    pub(crate) fn scored(&self, variant: &str, id: &str, scored: &[(String, Values)]) {
        if let Some(bandit) = &self.bandit
            && let Some(arm) = self.variants.iter().position(|v| v == variant)
        {
            let predictions = scored.first().map(|(_, p)| p);
            lock(bandit).answered(id, arm, predictions);
        }
        if let Some((watch, champion)) = self.watched() {
            let mut watch = watch.lock().unwrap_or_else(PoisonError::into_inner);
            let side = if variant == champion {
                &mut watch.champion
            } else {
                &mut watch.challenger
            };
            side.scored(scored);
        }
    }

    /// Records how a guarded canary's side answered a request; when that trips the guard,
    /// keeps it tripped in the state directory and gives the reason, to report.
    pub(crate) fn answered(&self, variant: &str, success: bool, took: Duration) -> Option<String> {
        let (watch, champion) = self.watched()?;
        let Strategy::Canary {
            guard: Some(guard), ..
        } = &self.plan.strategy
        else {
            return None;
        };
        let reason = {
            let mut watch = watch.lock().unwrap_or_else(PoisonError::into_inner);
            if variant == champion {
                watch.champion.answered(success, took);
                return None;
            }
            watch.challenger.answered(success, took);
            watch.check(guard)?
        };
        let mut tripped = self.tripped.lock().unwrap_or_else(PoisonError::into_inner);
        if tripped.is_some() {
            return None;
        }
        *tripped = Some(reason.clone());
        self.is_tripped.store(true, Ordering::Release);
        drop(tripped);
        let kept = self.save(|state| {
            state.tripped = Some(Tripped {
                reason: reason.clone(),
                version: self.versions.get(1).cloned().unwrap_or_default(),
            });
        });
        Some(match kept {
            Ok(()) => reason,
            Err(e) => format!("{reason} (not kept across restarts: {e})"),
        })
    }

    /// Counts `reward` for request `id` on a bandit route: `None` on another route, else
    /// whether the request was one it remembers. The arms are kept in the state directory at
    /// most once a second (and when the server stops).
    pub(crate) fn reward(&self, id: &str, reward: &Reward<'_>) -> Option<bool> {
        let bandit = self.bandit.as_ref()?;
        let rewarded = lock(bandit).reward(id, reward).is_some();
        let due = {
            let mut saved = lock(&self.bandit_saved);
            let due = saved.elapsed() >= Duration::from_secs(1);
            if due {
                *saved = Instant::now();
            }
            due
        };
        if rewarded && due {
            // A failed save is tried again a second later, and at shutdown.
            let _ = self.keep_arms();
        }
        Some(rewarded)
    }

    /// Keeps a bandit's arms in the state directory.
    pub(crate) fn keep_arms(&self) -> Result<()> {
        if self.bandit.is_none() {
            return Ok(());
        }
        let arms = self.saved_arms();
        self.save(|state| state.arms = arms)
    }

    /// A bandit's arms, each with its model's name and version; none for other routes.
    fn saved_arms(&self) -> Vec<SavedArm> {
        let Some(bandit) = &self.bandit else {
            return Vec::new();
        };
        let bandit = lock(bandit);
        self.variants
            .iter()
            .zip(&self.versions)
            .zip(&bandit.arms)
            .map(|((name, version), tally)| SavedArm {
                name: name.clone(),
                version: version.clone(),
                tally: tally.clone(),
            })
            .collect()
    }

    /// Why a canary's guard tripped, once it has.
    pub(crate) fn tripped(&self) -> Option<String> {
        self.tripped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The guard's watch and the champion's name, while a guarded canary has not tripped.
    fn watched(&self) -> Option<(&Mutex<Watch>, &str)> {
        if self.is_tripped.load(Ordering::Acquire) {
            return None;
        }
        let Strategy::Canary { champion, .. } = &self.plan.strategy else {
            return None;
        };
        Some((self.watch.as_ref()?, champion))
    }

    /// Changes the route's kept state through `change`, whole or not at all; a route without a
    /// state directory keeps nothing.
    fn save(&self, change: impl FnOnce(&mut RouteState)) -> Result<()> {
        let _one_at_a_time = lock(&self.saving);
        self.save_holding(change)
    }

    /// [`Routing::save`], for a caller that holds `saving` (to change memory in the same turn).
    fn save_holding(&self, change: impl FnOnce(&mut RouteState)) -> Result<()> {
        let Some(dir) = &self.state_dir else {
            return Ok(());
        };
        let mut state = state::read(dir, &self.plan.name)?;
        change(&mut state);
        state::write(dir, &self.plan.name, &state)
    }

    /// The route's run-time state as it is now, for the route that replaces it on a reload:
    /// the live side, the guard's trip (with the canary's version) and the bandit's arms.
    fn snapshot(&self) -> RouteState {
        let _one_at_a_time = lock(&self.saving);
        let live = matches!(self.plan.strategy, Strategy::BlueGreen { .. }).then(|| self.live());
        let tripped = self.tripped().map(|reason| Tripped {
            reason,
            version: self.versions.get(1).cloned().unwrap_or_default(),
        });
        RouteState {
            live,
            tripped,
            arms: self.saved_arms(),
        }
    }

    /// Makes `to` (`blue`, `green`, or either side's model name) the live side of a blue-green
    /// route: kept in the state directory first, then every request from the next goes to it.
    pub(crate) fn switch(&self, to: &str) -> std::result::Result<Colour, ApiError> {
        let Strategy::BlueGreen { blue, green, .. } = &self.plan.strategy else {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "route",
                format!(
                    "route `{}` is {}, not blue-green: nothing to switch",
                    self.plan.name,
                    self.plan.strategy_name()
                ),
            ));
        };
        let colour = if to == "blue" || to == blue {
            Colour::Blue
        } else if to == "green" || to == green {
            Colour::Green
        } else {
            return Err(ApiError::bad(
                "to",
                format!("expected blue, green, `{blue}` or `{green}`, got `{to}`"),
            ));
        };
        // Kept and made live in one turn: two switches at once leave the file and the server
        // agreeing.
        let _one_at_a_time = lock(&self.saving);
        self.save_holding(|state| state.live = Some(colour))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "state",
                    format!("not switched: cannot keep the switch across restarts: {e}"),
                )
            })?;
        self.green.store(colour == Colour::Green, Ordering::Release);
        Ok(colour)
    }

    /// `GET /admin/route`: the route, each variant's share now and the requests it was chosen
    /// for since the route started.
    pub(crate) fn state(&self) -> serde_json::Value {
        let elapsed = self.started.elapsed();
        let shares = match (&self.plan.strategy, &self.bandit) {
            (Strategy::BlueGreen { .. }, _) if self.live() == Colour::Green => vec![0.0, 1.0],
            (Strategy::BlueGreen { .. }, _) => vec![1.0, 0.0],
            (Strategy::Canary { .. }, _) if self.is_tripped.load(Ordering::Acquire) => {
                vec![1.0, 0.0]
            }
            (_, Some(bandit)) => {
                let (policy, arms, rng) = lock(bandit).snapshot();
                crate::bandit::shares(policy, &arms, rng)
            }
            _ => self.plan.shares(elapsed),
        };
        let variants: Vec<serde_json::Value> = self
            .variants
            .iter()
            .zip(shares)
            .zip(&self.chosen)
            .zip(&self.versions)
            .map(|(((name, share), chosen), version)| {
                serde_json::json!({
                    "name": name,
                    "version": version,
                    "share": share,
                    "requests": chosen.load(Ordering::Relaxed),
                })
            })
            .collect();
        let mut state = serde_json::json!({
            "name": self.plan.name,
            "strategy": self.plan.strategy_name(),
            "sticky": self.plan.sticky,
            "started_seconds_ago": elapsed.as_secs_f64(),
            "variants": variants,
        });
        if matches!(self.plan.strategy, Strategy::BlueGreen { .. }) {
            state["live"] = self.live().name().into();
        }
        if let Strategy::Canary {
            guard: Some(guard), ..
        } = &self.plan.strategy
        {
            let mut watched = self.watch.as_ref().map_or(serde_json::Value::Null, |w| {
                w.lock().unwrap_or_else(PoisonError::into_inner).state()
            });
            watched["min_rows"] = guard.min_rows.into();
            watched["max_error_rate"] = guard.max_error_rate.into();
            watched["max_p99_ms"] = guard.max_p99.map(|d| d.as_secs_f64() * 1e3).into();
            watched["max_score_psi"] = guard.max_score_psi.into();
            let tripped = self.tripped.lock().unwrap_or_else(PoisonError::into_inner);
            watched["tripped"] = tripped.is_some().into();
            watched["reason"] = tripped.clone().into();
            state["guard"] = watched;
        }
        if let Some(bandit) = &self.bandit {
            let bandit = lock(bandit);
            let arms: Vec<serde_json::Value> = self
                .variants
                .iter()
                .zip(&bandit.arms)
                .map(|(name, arm)| {
                    #[allow(clippy::cast_precision_loss, reason = "counts")]
                    let mean = (1 + arm.rewards) as f64 / (2 + arm.rewards + arm.failures) as f64;
                    serde_json::json!({
                        "name": name,
                        "pulls": arm.pulls,
                        "rewards": arm.rewards,
                        "failures": arm.failures,
                        "mean": mean,
                    })
                })
                .collect();
            state["arms"] = arms.into();
        }
        if let Some((challenger, share)) = self.plan.strategy.shadow() {
            let mut shadow = self.shadows.state();
            shadow["model"] = challenger.into();
            shadow["share"] = share.into();
            state["shadow"] = shadow;
        }
        state
    }
}

/// `mutex`'s content, also after a panic elsewhere held it (every change here is whole).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
