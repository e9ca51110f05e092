//! Routing a request among a route's variants: one model (`single`), a canary share with its
//! ramp (`canary`), fixed shares among several (`ab`), all to the live one of two
//! (`blue-green`, switched by `POST /admin/route/switch`), all to the champion while the
//! challenger scores copies (`shadow`, see `shadow`), or as the arms' rewards say (`thompson`,
//! `epsilon-greedy`, see `bandit`).
//!
//! A route is served under a name of its own (`/v2/models/ROUTE/infer`, and `/invocations`
//! without `?model=`); each variant stays addressable by its own name too. When the route is
//! sticky, a request's key (a header, or a field of the request's parameters) is hashed with
//! the route's name into `[0, 1)` with BLAKE3, so the same key always gets the same variant,
//! across requests, restarts and replicas, while the share of distinct keys each variant gets
//! is its share. A request without a key is placed at random.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mlops_core::rng::SplitMix;

pub use crate::bandit::Policy;

/// A route, checked: every variant it names is a model served.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The name requests address the route by.
    pub name: String,
    pub strategy: Strategy,
    /// The header (or request parameter) whose value places a request, when sticky.
    pub sticky: Option<String>,
}

/// How a route shares its traffic.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// Every request to one model.
    Single { model: String },
    /// A share of the requests to the challenger, the rest to the champion; the share follows
    /// the ramp's steps as time passes since the route started.
    Canary {
        champion: String,
        challenger: String,
        share: f64,
        ramp: Vec<Step>,
        /// Limits that send every request back to the champion once the challenger crosses
        /// one (`guard`).
        guard: Option<Guard>,
    },
    /// Fixed shares among the variants, in order; they sum to 1.
    Ab { variants: Vec<(String, f64)> },
    /// Every request to the live one of two models: `live` when the route starts, until a
    /// switch (which the server keeps across restarts).
    BlueGreen {
        blue: String,
        green: String,
        live: Colour,
    },
    /// Every request answered by the champion; the challenger scores a copy of `share` of
    /// them off the request path.
    Shadow {
        champion: String,
        challenger: String,
        share: f64,
    },
    /// Requests shared among the arms as their rewards say (`bandit`).
    Bandit { arms: Vec<String>, policy: Policy },
}

impl Strategy {
    /// A shadow route's challenger and the share of requests it scores a copy of.
    pub fn shadow(&self) -> Option<(&str, f64)> {
        match self {
            Strategy::Shadow {
                challenger, share, ..
            } => Some((challenger, *share)),
            _ => None,
        }
    }
}

/// The two sides of a blue-green route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    Blue,
    Green,
}

impl Colour {
    pub fn name(self) -> &'static str {
        match self {
            Colour::Blue => "blue",
            Colour::Green => "green",
        }
    }
}

/// A canary's limits; the challenger is held to them once it was sent `min_rows` rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Guard {
    pub max_error_rate: Option<f64>,
    pub max_p99: Option<Duration>,
    pub max_score_psi: Option<f64>,
    pub min_rows: u64,
}

/// A ramp step: the challenger's share from `after` since the route started.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub share: f64,
    pub after: Duration,
}

impl Plan {
    /// Every model the route sends requests to.
    pub fn variants(&self) -> Vec<&str> {
        match &self.strategy {
            Strategy::Single { model } => vec![model],
            Strategy::Canary {
                champion,
                challenger,
                ..
            }
            | Strategy::Shadow {
                champion,
                challenger,
                ..
            } => vec![champion, challenger],
            Strategy::Ab { variants } => variants.iter().map(|(name, _)| name.as_str()).collect(),
            Strategy::BlueGreen { blue, green, .. } => vec![blue, green],
            Strategy::Bandit { arms, .. } => arms.iter().map(String::as_str).collect(),
        }
    }

    /// The strategy's name, as `serve.yaml` writes it.
    pub fn strategy_name(&self) -> &'static str {
        match self.strategy {
            Strategy::Single { .. } => "single",
            Strategy::Canary { .. } => "canary",
            Strategy::Ab { .. } => "ab",
            Strategy::BlueGreen { .. } => "blue-green",
            Strategy::Shadow { .. } => "shadow",
            Strategy::Bandit {
                policy: Policy::Thompson,
                ..
            } => "thompson",
            Strategy::Bandit {
                policy: Policy::EpsilonGreedy { .. },
                ..
            } => "epsilon-greedy",
        }
    }

    /// Each variant's share of the requests `elapsed` after the route started, in the order of
    /// [`Plan::variants`]; a blue-green route's as its config says (the server knows the side
    /// live now).
    pub fn shares(&self, elapsed: Duration) -> Vec<f64> {
        match &self.strategy {
            Strategy::Single { .. } => vec![1.0],
            Strategy::Canary { .. } => {
                let share = self.canary_share(elapsed).unwrap_or(0.0);
                vec![1.0 - share, share]
            }
            Strategy::Ab { variants } => variants.iter().map(|(_, share)| *share).collect(),
            Strategy::BlueGreen { live, .. } => match live {
                Colour::Blue => vec![1.0, 0.0],
                Colour::Green => vec![0.0, 1.0],
            },
            // The challenger answers none.
            Strategy::Shadow { .. } => vec![1.0, 0.0],
            // Before any reward: evenly (the server knows the shares its rewards make).
            Strategy::Bandit { arms, .. } => {
                #[allow(clippy::cast_precision_loss, reason = "a few arms")]
                let even = 1.0 / arms.len() as f64;
                vec![even; arms.len()]
            }
        }
    }

    /// The canary's share `elapsed` after the route started: the last step reached, else the
    /// first share. `None` for other strategies.
    pub fn canary_share(&self, elapsed: Duration) -> Option<f64> {
        let Strategy::Canary { share, ramp, .. } = &self.strategy else {
            return None;
        };
        Some(
            // The steps come in order of `after`.
            ramp.iter()
                .rev()
                .find(|step| step.after <= elapsed)
                .map_or(*share, |step| step.share),
        )
    }

    /// The variant a request goes to: placed by its `key` when it has one, else at random;
    /// `elapsed` since the route started (the canary's ramp).
    pub(crate) fn choose(&self, key: Option<&str>, elapsed: Duration) -> &str {
        let point = key.map_or_else(random_point, |key| key_point(&self.name, key));
        match &self.strategy {
            Strategy::Single { model } => model,
            Strategy::Canary {
                champion,
                challenger,
                ..
            } => {
                let share = self.canary_share(elapsed).unwrap_or(0.0);
                if point < share { challenger } else { champion }
            }
            Strategy::Ab { variants } => {
                let mut upto = 0.0;
                for (name, share) in variants {
                    upto += share;
                    if point < upto {
                        return name;
                    }
                }
                // Shares summing to a hair under 1 leave the top of the interval to the last.
                &variants[variants.len() - 1].0
            }
            Strategy::BlueGreen { blue, green, live } => match live {
                Colour::Blue => blue,
                Colour::Green => green,
            },
            Strategy::Shadow { champion, .. } => champion,
            // Without its rewards (which the server holds), a bandit picks evenly.
            Strategy::Bandit { arms, .. } => {
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    clippy::cast_precision_loss,
                    reason = "an index below the arms' count"
                )]
                let at = ((point * arms.len() as f64) as usize).min(arms.len() - 1);
                &arms[at]
            }
        }
    }
}

/// `key`'s place in `[0, 1)` on route `route`: the first 53 bits of the BLAKE3 hash of both,
/// so that each route places customers afresh (the same 5% are not every canary's).
fn key_point(route: &str, key: &str) -> f64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(route.as_bytes());
    hasher.update(&[0]);
    hasher.update(key.as_bytes());
    let hash = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    unit(u64::from_le_bytes(first))
}

/// A random place in `[0, 1)` for a request without a key: each thread's own `SplitMix`
/// (mlops-core's), seeded from the clock and the thread's turn; enough to split traffic
/// (nothing here is a secret).
pub(crate) fn random_point() -> f64 {
    static THREADS: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static RNG: RefCell<SplitMix> = RefCell::new({
            #[allow(clippy::cast_possible_truncation, reason = "the low bits vary most")]
            let nanos = crate::log::now().as_nanos() as u64;
            let turn = THREADS.fetch_add(1, Ordering::Relaxed);
            SplitMix(nanos ^ turn.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        });
    }
    RNG.with(|rng| rng.borrow_mut().uniform())
}

/// The top 53 bits of `bits` as a number in `[0, 1)`.
fn unit(bits: u64) -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "53 bits: exact")]
    let value = (bits >> 11) as f64;
    value / 9_007_199_254_740_992.0 // 2^53
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canary(share: f64, ramp: Vec<Step>) -> Plan {
        Plan {
            name: "churn".to_owned(),
            strategy: Strategy::Canary {
                champion: "champion".to_owned(),
                challenger: "challenger".to_owned(),
                share,
                ramp,
                guard: None,
            },
            sticky: Some("customer".to_owned()),
        }
    }

    #[test]
    fn a_key_always_gets_the_same_variant_and_keys_split_by_the_share() {
        let plan = canary(0.2, Vec::new());
        let mut challenged = 0;
        for i in 0..20_000 {
            let key = format!("customer-{i}");
            let first = plan.choose(Some(&key), Duration::ZERO);
            assert_eq!(first, plan.choose(Some(&key), Duration::from_secs(60)));
            challenged += usize::from(first == "challenger");
        }
        // Binomial(20,000, 0.2): sd 57; 4.5 sd either way.
        assert!((3_740..=4_260).contains(&challenged), "{challenged}");
    }

    #[test]
    fn requests_without_a_key_split_by_the_share() {
        let plan = Plan {
            name: "r".to_owned(),
            strategy: Strategy::Ab {
                variants: vec![
                    ("a".to_owned(), 0.5),
                    ("b".to_owned(), 0.3),
                    ("c".to_owned(), 0.2),
                ],
            },
            sticky: None,
        };
        let mut counts = [0usize; 3];
        for _ in 0..30_000 {
            let i = match plan.choose(None, Duration::ZERO) {
                "a" => 0,
                "b" => 1,
                _ => 2,
            };
            counts[i] += 1;
        }
        // Expected 15,000 / 9,000 / 6,000; sd 87 / 79 / 69.
        assert!(counts[0].abs_diff(15_000) < 450, "{counts:?}");
        assert!(counts[1].abs_diff(9_000) < 400, "{counts:?}");
        assert!(counts[2].abs_diff(6_000) < 350, "{counts:?}");
    }

    #[test]
    fn the_ramp_raises_the_share_step_by_step() {
        let plan = canary(
            0.05,
            vec![
                Step {
                    share: 0.25,
                    after: Duration::from_secs(1800),
                },
                Step {
                    share: 1.0,
                    after: Duration::from_secs(7200),
                },
            ],
        );
        let at = |secs| {
            plan.canary_share(Duration::from_secs(secs))
                .expect("a canary")
        };
        assert!((at(0) - 0.05).abs() < 1e-12);
        assert!((at(1799) - 0.05).abs() < 1e-12);
        assert!((at(1800) - 0.25).abs() < 1e-12);
        assert!((at(7200) - 1.0).abs() < 1e-12);
        assert_eq!(
            plan.choose(Some("any"), Duration::from_secs(7200)),
            "challenger"
        );
    }
}
