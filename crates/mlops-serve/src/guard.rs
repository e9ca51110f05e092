//! A canary's guard: what the champion and the challenger answered since the route started,
//! and the limits that, once crossed by the challenger after `min_rows`, send every request
//! back to the champion.
//!
//! The challenger's error rate is its non-2xx answers over the requests routed to it, held
//! against the champion's over the same window (a client's mistakes fail on both); its p99
//! latency is read from a histogram of arrival-to-answer times (buckets a quarter of an octave
//! wide, so the figure is at most 19% above the true one); its score drift is the population
//! stability index of its scores against the champion's over the same window, in ten equal bins
//! of [0, 1] (a binary model's score, a multiclass model's top score; a regression has none).

use std::time::Duration;

use mlops_data::rows::Values;

use crate::route::Guard;

/// Latency buckets: bucket `i` holds times up to `FIRST * 2^(i / 4)`; the last holds the rest.
const LATENCY_BUCKETS: usize = 96;
const FIRST: Duration = Duration::from_micros(10);

/// Score bins: ten of 0.1 over [0, 1].
const SCORE_BINS: usize = 10;

/// What one side of a canary answered since the route started.
#[derive(Debug, Clone)]
pub(crate) struct Side {
    requests: u64,
    errors: u64,
    rows: u64,
    latency: [u64; LATENCY_BUCKETS],
    scores: [u64; SCORE_BINS],
}

impl Default for Side {
    fn default() -> Self {
        Side {
            requests: 0,
            errors: 0,
            rows: 0,
            latency: [0; LATENCY_BUCKETS],
            scores: [0; SCORE_BINS],
        }
    }
}

impl Side {
    /// Counts an answer: its status and its arrival-to-answer time.
    pub(crate) fn answered(&mut self, success: bool, took: Duration) {
        self.requests += 1;
        self.errors += u64::from(!success);
        let ratio = took.as_secs_f64() / FIRST.as_secs_f64();
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a bucket index, clamped"
        )]
        let bucket = if ratio <= 1.0 {
            0
        } else {
            ((ratio.log2() * 4.0).ceil() as usize).min(LATENCY_BUCKETS - 1)
        };
        self.latency[bucket] += 1;
    }

    /// Counts the rows a request scored, and their scores (`scored` is predict's columns).
    pub(crate) fn scored(&mut self, scored: &[(String, Values)]) {
        let Some((_, prediction)) = scored.first() else {
            return;
        };
        self.rows += crate::reply::len(prediction) as u64;
        for top in crate::reply::row_scores(scored).unwrap_or_default() {
            if top.is_finite() {
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "a bin index, clamped"
                )]
                let bin = ((top.clamp(0.0, 1.0) * 10.0) as usize).min(SCORE_BINS - 1);
                self.scores[bin] += 1;
            }
        }
    }

    /// Rows scored, and requests that failed (each counts as a row: it was sent one at least).
    fn seen(&self) -> u64 {
        self.rows + self.errors
    }

    fn error_rate(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss, reason = "request counts")]
        (self.requests > 0).then(|| self.errors as f64 / self.requests as f64)
    }

    /// The 99th percentile of the answer times, as its bucket's upper bound.
    fn p99(&self) -> Option<Duration> {
        let total: u64 = self.latency.iter().sum();
        if total == 0 {
            return None;
        }
        let needed = total - total / 100;
        let mut seen = 0;
        for (i, count) in self.latency.iter().enumerate() {
            seen += count;
            if seen >= needed {
                #[allow(clippy::cast_precision_loss, reason = "a bucket index")]
                return Some(FIRST.mul_f64((i as f64 / 4.0).exp2()));
            }
        }
        None
    }
}

/// The population stability index of `actual` against `expected` (bin counts): `None` while
/// either is empty. An empty bin counts as half an observation, so the index stays finite.
pub(crate) fn psi(expected: &[u64; SCORE_BINS], actual: &[u64; SCORE_BINS]) -> Option<f64> {
    let (e_total, a_total): (u64, u64) = (expected.iter().sum(), actual.iter().sum());
    if e_total == 0 || a_total == 0 {
        return None;
    }
    #[allow(clippy::cast_precision_loss, reason = "counts")]
    let share = |count: u64, total: u64| {
        let count = if count == 0 { 0.5 } else { count as f64 };
        count / total as f64
    };
    Some(
        expected
            .iter()
            .zip(actual)
            .map(|(&e, &a)| {
                let (p, q) = (share(e, e_total), share(a, a_total));
                (q - p) * (q / p).ln()
            })
            .sum(),
    )
}

/// The champion's and the challenger's answers since the route started.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    pub(crate) champion: Side,
    pub(crate) challenger: Side,
}

impl Watch {
    /// Why `guard` trips now, if it does: the first limit the challenger crossed, once it was
    /// sent `min_rows` rows.
    pub(crate) fn check(&self, guard: &Guard) -> Option<String> {
        let challenger = &self.challenger;
        if challenger.seen() < guard.min_rows {
            return None;
        }
        // Over the champion's: requests a client got wrong (bad JSON, a body too large) fail
        // on both sides alike and must not trip the guard.
        if let (Some(limit), Some(rate)) = (guard.max_error_rate, challenger.error_rate()) {
            let baseline = self.champion.error_rate().unwrap_or(0.0);
            if rate - baseline > limit {
                return Some(format!(
                    "the challenger's error rate {rate:.4} ({} of {} requests) is over the \
                     champion's {baseline:.4} by more than max_error_rate {limit}",
                    challenger.errors, challenger.requests
                ));
            }
        }
        if let (Some(limit), Some(p99)) = (guard.max_p99, challenger.p99())
            && p99 > limit
        {
            return Some(format!(
                "the challenger's p99 latency {:.1} ms is over max_p99_ms {}",
                p99.as_secs_f64() * 1e3,
                limit.as_secs_f64() * 1e3
            ));
        }
        if let (Some(limit), Some(psi)) = (
            guard.max_score_psi,
            psi(&self.champion.scores, &challenger.scores),
        ) && psi > limit
        {
            return Some(format!(
                "the challenger's scores drifted from the champion's: PSI {psi:.3} is over \
                 max_score_psi {limit}"
            ));
        }
        None
    }

    /// The figures the guard reads, for `/admin/route`.
    pub(crate) fn state(&self) -> serde_json::Value {
        let side = |s: &Side| {
            serde_json::json!({
                "requests": s.requests,
                "errors": s.errors,
                "rows": s.rows,
                "error_rate": s.error_rate(),
                "p99_ms": s.p99().map(|d| d.as_secs_f64() * 1e3),
            })
        };
        serde_json::json!({
            "champion": side(&self.champion),
            "challenger": side(&self.challenger),
            "score_psi": psi(&self.champion.scores, &self.challenger.scores),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard {
        Guard {
            max_error_rate: Some(0.01),
            max_p99: Some(Duration::from_millis(50)),
            max_score_psi: Some(0.2),
            min_rows: 100,
        }
    }

    fn scores(values: &[f32]) -> Vec<(String, Values)> {
        vec![
            (
                "prediction".to_owned(),
                Values::Int64(vec![0; values.len()]),
            ),
            ("score".to_owned(), Values::Float32(values.to_vec())),
        ]
    }

    #[test]
    fn trips_on_errors_only_after_min_rows() {
        let mut watch = Watch::default();
        for _ in 0..50 {
            watch.challenger.answered(false, Duration::from_millis(1));
        }
        assert_eq!(watch.check(&guard()), None, "50 rows: under min_rows");
        for _ in 0..50 {
            watch.challenger.answered(false, Duration::from_millis(1));
        }
        let why = watch.check(&guard()).expect("tripped");
        assert!(why.contains("error rate 1.0000"), "{why}");
    }

    #[test]
    fn errors_both_sides_make_do_not_trip() {
        // Clients sending bad bodies: a fifth of the requests fail, on either side.
        let mut watch = Watch::default();
        for i in 0..1_000 {
            let success = i % 5 != 0;
            watch.champion.answered(success, Duration::from_millis(1));
            watch.challenger.answered(success, Duration::from_millis(1));
        }
        assert_eq!(watch.check(&guard()), None);
    }

    #[test]
    fn trips_on_a_slow_p99_and_on_shifted_scores() {
        let mut watch = Watch::default();
        for i in 0..200 {
            let took = if i < 196 { 2 } else { 200 };
            watch.challenger.answered(true, Duration::from_millis(took));
            watch.challenger.scored(&scores(&[0.3]));
            watch.champion.scored(&scores(&[0.3]));
        }
        // 4 of 200 slow: the p99 is slow.
        let why = watch.check(&guard()).expect("slow");
        assert!(why.contains("p99 latency"), "{why}");
        let p99 = watch.challenger.p99().expect("p99");
        assert!(
            p99 >= Duration::from_millis(200) && p99 < Duration::from_millis(240),
            "{p99:?}"
        );

        let mut watch = Watch::default();
        for i in 0..200u16 {
            let score = f32::from(i % 10) / 10.0 + 0.05;
            watch.champion.scored(&scores(&[score]));
            watch.challenger.answered(true, Duration::from_millis(1));
            watch.challenger.scored(&scores(&[(score + 0.3).min(0.99)]));
        }
        let why = watch.check(&guard()).expect("drifted");
        assert!(why.contains("PSI"), "{why}");
    }

    #[test]
    fn the_same_scores_have_no_drift() {
        let counts = [5, 10, 20, 30, 10, 5, 5, 5, 5, 5];
        assert!(psi(&counts, &counts).expect("psi").abs() < 1e-12);
        assert_eq!(psi(&[0; 10], &counts), None);
    }
}
