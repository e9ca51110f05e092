//! Bandit routes (`thompson`, `epsilon-greedy`): each arm (a model) has a Beta posterior over
//! its reward rate, from the rewards posted to `/v2/feedback` for the requests it answered, and
//! routing follows the posteriors as they learn.
//!
//! Thompson sampling draws a rate from every arm's Beta(1 + rewards, 1 + failures) and sends the
//! request to the highest draw, so an arm's share is the chance it is the best. Epsilon-greedy
//! sends a request to a random arm with probability epsilon, else to the arm of highest
//! posterior mean. A reward is 0 or 1, or labels compared with the request's predictions (each
//! row a success when its label is the prediction). The server remembers which arm answered the
//! last [`PENDING`] requests, and what they predicted when they were at most [`KEPT_ROWS`] rows.

use std::collections::{HashMap, VecDeque};

use mlops_core::rng::SplitMix;
use mlops_data::rows::Values;
use serde::{Deserialize, Serialize};

/// Requests whose arm is remembered for a reward; older ones are forgotten first.
const PENDING: usize = 100_000;

/// Requests of at most this many rows keep their predictions, for labels to be compared with.
const KEPT_ROWS: usize = 64;

/// Draws used to estimate Thompson sampling's shares for `/admin/route`.
const SHARE_DRAWS: usize = 2_000;

/// How a bandit picks an arm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Policy {
    Thompson,
    EpsilonGreedy { epsilon: f64 },
}

/// One arm's tally: the requests it answered and the rewards and failures posted for them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    pub pulls: u64,
    pub rewards: u64,
    pub failures: u64,
}

impl Arm {
    fn mean(&self) -> f64 {
        #[allow(clippy::cast_precision_loss, reason = "counts")]
        let mean = (1 + self.rewards) as f64 / (2 + self.rewards + self.failures) as f64;
        mean
    }
}

/// A request answered by an arm, waiting for its reward.
struct Pending {
    arm: usize,
    predictions: Option<Values>,
    /// Its place in `Bandit::order`: an id answered again is remembered from its last answer.
    seq: u64,
}

/// A bandit route's arms and what it remembers.
pub(crate) struct Bandit {
    policy: Policy,
    pub(crate) arms: Vec<Arm>,
    rng: SplitMix,
    pending: HashMap<String, Pending>,
    /// The ids in the order they were answered, with their place: the oldest are forgotten
    /// first. An entry whose id was rewarded or answered again since is skipped.
    order: VecDeque<(u64, String)>,
    next: u64,
}

/// A reward posted for a request.
pub(crate) enum Reward<'a> {
    /// 0 or 1.
    Value(bool),
    /// Labels of the request's rows, in row order, compared with its predictions.
    Labels(&'a [serde_json::Value]),
}

impl Bandit {
    pub(crate) fn new(policy: Policy, arms: Vec<Arm>, seed: u64) -> Bandit {
        Bandit {
            policy,
            arms,
            rng: SplitMix(seed),
            // Sized for the requests it remembers from the start: growing the map under the
            // lock every routed request takes would rehash it there, a pause of milliseconds.
            pending: HashMap::with_capacity(PENDING),
            order: VecDeque::with_capacity(PENDING),
            next: 0,
        }
    }

    /// The arm for the next request.
    pub(crate) fn choose(&mut self) -> usize {
        let arm = pick(self.policy, &self.arms, &mut self.rng);
        self.arms[arm].pulls += 1;
        arm
    }

    /// Remembers that `arm` answered request `id` with `predictions`.
    pub(crate) fn answered(&mut self, id: &str, arm: usize, predictions: Option<&Values>) {
        let predictions = predictions
            .filter(|p| crate::reply::len(p) <= KEPT_ROWS)
            .cloned();
        while self.order.len() >= PENDING {
            let Some((seq, oldest)) = self.order.pop_front() else {
                break;
            };
            if self.pending.get(&oldest).is_some_and(|p| p.seq == seq) {
                self.pending.remove(&oldest);
            }
        }
        let seq = self.next;
        self.next += 1;
        let pending = Pending {
            arm,
            predictions,
            seq,
        };
        self.pending.insert(id.to_owned(), pending);
        self.order.push_back((seq, id.to_owned()));
    }

    /// Counts `reward` for request `id`; the arm rewarded, or `None` when the request is not
    /// remembered (answered elsewhere, long ago, or rewarded already) or labels cannot be
    /// compared with its predictions.
    pub(crate) fn reward(&mut self, id: &str, reward: &Reward<'_>) -> Option<usize> {
        let pending = self.pending.get(id)?;
        let (successes, failures) = match reward {
            Reward::Value(won) => (u64::from(*won), u64::from(!*won)),
            Reward::Labels(labels) => {
                let predictions = pending.predictions.as_ref()?;
                if labels.len() != crate::reply::len(predictions) {
                    return None;
                }
                let right = labels
                    .iter()
                    .enumerate()
                    .filter(|(row, label)| {
                        same(label, &crate::reply::cell(predictions, *row, true))
                    })
                    .count() as u64;
                (right, labels.len() as u64 - right)
            }
        };
        let arm = pending.arm;
        self.pending.remove(id);
        self.arms[arm].rewards += successes;
        self.arms[arm].failures += failures;
        Some(arm)
    }

    /// What [`shares`] needs, copied, so that the draws run without holding the bandit (which
    /// every routed request needs): the policy, the arms and a copy of the generator.
    pub(crate) fn snapshot(&self) -> (Policy, Vec<Arm>, SplitMix) {
        (self.policy, self.arms.clone(), self.rng.clone())
    }
}

/// Each arm's share of the requests now: its chance of being picked. `rng` is a copy of the
/// bandit's: looking does not change what comes next.
pub(crate) fn shares(policy: Policy, arms: &[Arm], mut rng: SplitMix) -> Vec<f64> {
    let k = arms.len();
    match policy {
        Policy::EpsilonGreedy { epsilon } => {
            let best = best(arms);
            #[allow(clippy::cast_precision_loss, reason = "a few arms")]
            let spread = epsilon / k as f64;
            (0..k)
                .map(|i| spread + if i == best { 1.0 - epsilon } else { 0.0 })
                .collect()
        }
        Policy::Thompson => {
            let mut wins = vec![0usize; k];
            for _ in 0..SHARE_DRAWS {
                wins[pick(policy, arms, &mut rng)] += 1;
            }
            #[allow(clippy::cast_precision_loss, reason = "counts")]
            let shares = wins
                .iter()
                .map(|w| *w as f64 / SHARE_DRAWS as f64)
                .collect();
            shares
        }
    }
}

/// The arm `policy` picks given the tallies.
fn pick(policy: Policy, arms: &[Arm], rng: &mut SplitMix) -> usize {
    match policy {
        Policy::EpsilonGreedy { epsilon } => {
            if rng.uniform() < epsilon {
                rng.below(arms.len())
            } else {
                best(arms)
            }
        }
        Policy::Thompson => {
            let mut top = (0, f64::NEG_INFINITY);
            for (i, arm) in arms.iter().enumerate() {
                #[allow(clippy::cast_precision_loss, reason = "counts")]
                let draw = beta(rng, 1.0 + arm.rewards as f64, 1.0 + arm.failures as f64);
                if draw > top.1 {
                    top = (i, draw);
                }
            }
            top.0
        }
    }
}

/// The arm of highest posterior mean (the first of equals).
fn best(arms: &[Arm]) -> usize {
    let mut top = 0;
    for (i, arm) in arms.iter().enumerate() {
        if arm.mean() > arms[top].mean() {
            top = i;
        }
    }
    top
}

/// A draw from Beta(a, b), as X / (X + Y) of two Gamma draws.
fn beta(rng: &mut SplitMix, a: f64, b: f64) -> f64 {
    let x = gamma(rng, a);
    let y = gamma(rng, b);
    x / (x + y)
}

/// A draw from Gamma(shape, 1) for shape >= 1 (Marsaglia and Tsang, 2000).
fn gamma(rng: &mut SplitMix, shape: f64) -> f64 {
    let base = shape - 1.0 / 3.0;
    let spread = 1.0 / (9.0 * base).sqrt();
    loop {
        let normal = rng.normal();
        let cube = (1.0 + spread * normal).powi(3);
        if cube <= 0.0 {
            continue;
        }
        let accept = 0.5 * normal * normal + base - base * cube + base * cube.ln();
        if rng.uniform().ln() < accept {
            return base * cube;
        }
    }
}

/// Whether a posted label is the prediction: equal JSON, numbers compared as numbers.
fn same(label: &serde_json::Value, prediction: &serde_json::Value) -> bool {
    match (label.as_f64(), prediction.as_f64()) {
        (Some(l), Some(p)) => (l - p).abs() <= 1e-9,
        _ => label == prediction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beta_draws_have_the_right_mean() {
        let mut rng = SplitMix(7);
        let n = 20_000;
        let mean: f64 = (0..n).map(|_| beta(&mut rng, 8.0, 4.0)).sum::<f64>() / f64::from(n);
        assert!((mean - 8.0 / 12.0).abs() < 0.01, "{mean}");
    }

    #[test]
    fn thompson_sampling_finds_the_better_arm() {
        let mut bandit = Bandit::new(Policy::Thompson, vec![Arm::default(); 2], 3);
        let mut rng = SplitMix(11);
        let rates = [0.5, 0.7];
        let mut late = [0usize; 2];
        for round in 0..3_000 {
            let id = round.to_string();
            let arm = bandit.choose();
            bandit.answered(&id, arm, None);
            let won = rng.uniform() < rates[arm];
            assert_eq!(bandit.reward(&id, &Reward::Value(won)), Some(arm));
            if round >= 2_000 {
                late[arm] += 1;
            }
        }
        assert!(late[1] > 800, "{late:?}");
        let (policy, arms, rng) = bandit.snapshot();
        let shares = shares(policy, &arms, rng);
        assert!(shares[1] > 0.8, "{shares:?}");
    }

    #[test]
    fn labels_reward_the_rows_predicted_right_once() {
        let mut bandit = Bandit::new(
            Policy::EpsilonGreedy { epsilon: 0.1 },
            vec![Arm::default(); 2],
            5,
        );
        bandit.answered("r1", 1, Some(&Values::Int64(vec![1, 0, 1])));
        let labels = [
            serde_json::json!(1),
            serde_json::json!(1),
            serde_json::json!(1.0),
        ];
        assert_eq!(bandit.reward("r1", &Reward::Labels(&labels)), Some(1));
        assert_eq!(bandit.arms[1].rewards, 2);
        assert_eq!(bandit.arms[1].failures, 1);
        assert_eq!(
            bandit.reward("r1", &Reward::Value(true)),
            None,
            "rewarded once"
        );
        assert_eq!(
            bandit.reward("r2", &Reward::Value(true)),
            None,
            "never answered"
        );
        let (policy, arms, rng) = bandit.snapshot();
        let shares = shares(policy, &arms, rng);
        assert!((shares[1] - 0.95).abs() < 1e-12, "{shares:?}");
    }
}
