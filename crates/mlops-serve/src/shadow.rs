//! Shadow routes: the champion answers every request; the challenger scores a copy (of every
//! request, or of a share) off the request path, on the blocking pool, after the answer is
//! ready. Its rows go to its own prediction log under the same request id, and how often the two
//! agree is counted: at `/admin/route` and at `/metrics`.
//!
//! A copy never holds up or changes an answer: at most [`IN_FLIGHT`] copies score at once, and
//! one more is skipped (counted) rather than queued; a copy that fails is counted too.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use arrow_array::RecordBatch;
use mlops_data::rows::Values;

use crate::Served;
use crate::routing::Routing;

/// Copies scoring at once; beyond it, a copy is skipped.
const IN_FLIGHT: usize = 64;

/// What the copies of a route came to since it started.
#[derive(Debug, Default)]
pub(crate) struct Agreement {
    /// Rows the challenger scored, and those whose prediction was the champion's.
    rows: u64,
    agreeing: u64,
    /// The sum over rows of the mean absolute difference of the scores (of the predictions,
    /// for a regression).
    score_difference: f64,
    /// Copies that failed to score (an input the challenger refuses), and copies skipped
    /// because [`IN_FLIGHT`] were scoring.
    failed: u64,
    skipped: u64,
}

/// A route's copies: their tally, and those scoring now.
#[derive(Debug, Default)]
pub(crate) struct Shadows {
    agreement: Mutex<Agreement>,
    in_flight: AtomicUsize,
}

impl Shadows {
    /// The tally as `/admin/route` shows it.
    pub(crate) fn state(&self) -> serde_json::Value {
        let a = self
            .agreement
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        #[allow(clippy::cast_precision_loss, reason = "row counts")]
        let (agreement, difference) = if a.rows == 0 {
            (None, None)
        } else {
            (
                Some(a.agreeing as f64 / a.rows as f64),
                Some(a.score_difference / a.rows as f64),
            )
        };
        serde_json::json!({
            "rows": a.rows,
            "agreement": agreement,
            "mean_abs_score_difference": difference,
            "failed": a.failed,
            "skipped": a.skipped,
        })
    }
}

/// What a copy needs: the request's rows as the champion scored them.
pub(crate) struct Copy {
    pub(crate) batch: RecordBatch,
    pub(crate) champion: Vec<(String, Values)>,
    pub(crate) id: String,
}

/// Scores `copy` with `challenger` on the blocking pool, logs its rows as the route's variant
/// and counts how it agreed; skipped when [`IN_FLIGHT`] copies are scoring.
pub(crate) fn score(routing: &Arc<Routing>, challenger: &Arc<Served>, copy: Copy) {
    let shadows = &routing.shadows;
    if shadows.in_flight.fetch_add(1, Ordering::AcqRel) >= IN_FLIGHT {
        shadows.in_flight.fetch_sub(1, Ordering::AcqRel);
        tally(shadows).skipped += 1;
        challenger.metrics.shadow(challenger, "skipped", None);
        return;
    }
    let (routing, challenger) = (Arc::clone(routing), Arc::clone(challenger));
    drop(tokio::task::spawn_blocking(move || {
        // Counted out as this copy ends, whatever happens while it scores.
        let _slot = Slot(&routing.shadows);
        score_copy(&routing.shadows, &challenger, &copy);
    }));
}

/// A copy scoring; its end frees its place among the [`IN_FLIGHT`].
struct Slot<'a>(&'a Shadows);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Scores `copy` with `challenger`, counts how it agreed with the champion, and logs its rows.
fn score_copy(shadows: &Shadows, challenger: &Served, copy: &Copy) {
    let started = Instant::now();
    let Ok(scored) = crate::routes::score_now(challenger, &copy.batch) else {
        tally(shadows).failed += 1;
        challenger.metrics.shadow(challenger, "failed", None);
        return;
    };
    challenger
        .metrics
        .scored(challenger, &scored, started.elapsed());
    let (agreeing, difference) = compare(&copy.champion, &scored);
    let rows = copy.batch.num_rows() as u64;
    {
        let mut a = tally(shadows);
        a.rows += rows;
        a.agreeing += agreeing;
        a.score_difference += difference;
    }
    let counts = Some((rows, agreeing, difference));
    challenger.metrics.shadow(challenger, "scored", counts);
    let copied = crate::log::Answered {
        inputs: &copy.batch,
        scored: &scored,
        model: &challenger.name,
        version: challenger.version(),
        variant: Some(challenger.name.as_str()),
        id: &copy.id,
        latency: started.elapsed(),
    };
    crate::routes::logged(challenger, &copied);
}

fn tally(shadows: &Shadows) -> std::sync::MutexGuard<'_, Agreement> {
    shadows
        .agreement
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Of two scorings of the same rows (predict's columns: the prediction, then the scores), the
/// rows whose predictions agree, and the sum over rows of the mean absolute difference of the
/// scores (of the predictions when there are no scores, as for a regression, or when the two
/// models' scores differ in shape).
pub(crate) fn compare(a: &[(String, Values)], b: &[(String, Values)]) -> (u64, f64) {
    let (Some((_, pa)), Some((_, pb))) = (a.first(), b.first()) else {
        return (0, 0.0);
    };
    let rows = crate::reply::len(pa).min(crate::reply::len(pb));
    let agreeing = (0..rows).filter(|&r| same(pa, pb, r)).count() as u64;
    let (sa, sb) = (&a[1..], &b[1..]);
    let difference: f64 = if !sa.is_empty() && sa.len() == sb.len() {
        #[allow(clippy::cast_precision_loss, reason = "a few score columns")]
        let columns = sa.len() as f64;
        (0..rows)
            .map(|r| {
                sa.iter()
                    .zip(sb)
                    .map(|((_, x), (_, y))| (value(x, r) - value(y, r)).abs())
                    .sum::<f64>()
                    / columns
            })
            .sum()
    } else {
        (0..rows).map(|r| (value(pa, r) - value(pb, r)).abs()).sum()
    };
    (agreeing, if difference.is_nan() { 0.0 } else { difference })
}

/// Whether a row of two prediction columns holds the same prediction.
fn same(first: &Values, second: &Values, row: usize) -> bool {
    match (first, second) {
        (Values::Int64(x), Values::Int64(y)) => x[row] == y[row],
        (Values::Float32(x), Values::Float32(y)) => (x[row] - y[row]).abs() <= 1e-6,
        (
            Values::Text {
                labels: lx,
                ids: ix,
            },
            Values::Text {
                labels: ly,
                ids: iy,
            },
        ) => lx[ix[row] as usize] == ly[iy[row] as usize],
        _ => false,
    }
}

/// Row `r` of a numeric column as a number; NaN for text.
fn value(values: &Values, r: usize) -> f64 {
    match values {
        Values::Float32(v) => f64::from(v[r]),
        #[allow(clippy::cast_precision_loss, reason = "class indices")]
        Values::Int64(v) => v[r] as f64,
        Values::Text { .. } => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agreeing_predictions_and_the_score_difference() {
        let champion = vec![
            ("prediction".to_owned(), Values::Int64(vec![1, 0, 1])),
            ("score".to_owned(), Values::Float32(vec![0.9, 0.2, 0.6])),
        ];
        let challenger = vec![
            ("prediction".to_owned(), Values::Int64(vec![1, 1, 1])),
            ("score".to_owned(), Values::Float32(vec![0.8, 0.6, 0.6])),
        ];
        let (agreeing, difference) = compare(&champion, &challenger);
        assert_eq!(agreeing, 2);
        assert!((difference - 0.5).abs() < 1e-6, "{difference}");
        let level = |v: Vec<f32>| vec![("prediction".to_owned(), Values::Float32(v))];
        let (agreeing, difference) = compare(&level(vec![1.0, 2.0]), &level(vec![1.0, 2.5]));
        assert_eq!(agreeing, 1);
        assert!((difference - 0.5).abs() < 1e-6, "{difference}");
    }
}
