//! The bootstrap intervals are calibrated: on generated data, the Poisson bootstrap's percentile
//! interval of accuracy agrees with the Wilson interval, and that of ROC AUC with the DeLong
//! variance; the same seed gives the same replicates.

mod common;

use common::Rng;
use mlops_eval::grouped::{Ranked, bootstrap, pass, percentile_interval};
use mlops_eval::stats::wilson_interval;

struct Data {
    labels: Vec<bool>,
    predictions: Vec<bool>,
    scores: Vec<f64>,
}

/// `rows` rows, 40% positive, with scores that rank a positive above a negative about 80% of
/// the time.
fn generate(rows: usize, seed: u64) -> Data {
    let mut rng = Rng(seed);
    let mut data = Data {
        labels: Vec::new(),
        predictions: Vec::new(),
        scores: Vec::new(),
    };
    for _ in 0..rows {
        let label = rng.uniform() < 0.4;
        let score = (rng.uniform() + if label { 0.6 } else { 0.0 }) / 1.6;
        data.labels.push(label);
        data.predictions.push(score >= 0.5);
        data.scores.push(score);
    }
    data
}

/// Each replicate's value of `metric` on the whole data.
fn replicate_values(data: &Data, metric: &str, replicates: usize, seed: u64) -> Vec<f64> {
    let ranked = Ranked::new(&data.labels, &data.predictions, Some(&data.scores), None);
    let whole = ranked.whole();
    bootstrap(&ranked, &[&whole], replicates, seed, |sums| {
        sums[0][0]
            .metrics(true)
            .into_iter()
            .find(|(name, _)| *name == metric)
            .and_then(|(_, value)| value.ok())
            .expect("defined")
    })
}

#[test]
#[expect(clippy::cast_precision_loss, reason = "small counts")]
fn accuracy_intervals_agree_with_wilson() {
    let data = generate(4000, 1);
    let right = data
        .labels
        .iter()
        .zip(&data.predictions)
        .filter(|(y, p)| y == p)
        .count();
    let (lo, hi) = wilson_interval(right as f64, data.labels.len() as f64, 0.95).expect("rows");
    let mut values = replicate_values(&data, "accuracy", 1000, 0);
    let (blo, bhi) = percentile_interval(&mut values, 0.95).expect("replicates");
    assert!(
        (blo - lo).abs() < 0.004 && (bhi - hi).abs() < 0.004,
        "bootstrap [{blo}, {bhi}] vs Wilson [{lo}, {hi}]"
    );
}

/// The DeLong variance of ROC AUC: each positive's share of negatives ranked below it (ties
/// half), each negative's share of positives ranked above it.
#[expect(clippy::cast_precision_loss, reason = "small counts")]
fn delong_variance(data: &Data) -> f64 {
    let split = |positive: bool| -> Vec<f64> {
        data.scores
            .iter()
            .zip(&data.labels)
            .filter(|(_, y)| **y == positive)
            .map(|(s, _)| *s)
            .collect()
    };
    let (positives, negatives) = (split(true), split(false));
    let share = |x: f64, others: &[f64], above: bool| {
        let wins = others
            .iter()
            .map(|&o| match o.total_cmp(&x) {
                std::cmp::Ordering::Equal => 0.5,
                order => f64::from(u8::from((order == std::cmp::Ordering::Less) == above)),
            })
            .sum::<f64>();
        wins / others.len() as f64
    };
    let variance = |values: Vec<f64>| {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    };
    let v10: Vec<f64> = positives
        .iter()
        .map(|&p| share(p, &negatives, true))
        .collect();
    let v01: Vec<f64> = negatives
        .iter()
        .map(|&q| share(q, &positives, false))
        .collect();
    variance(v10) / positives.len() as f64 + variance(v01) / negatives.len() as f64
}

#[test]
fn roc_auc_intervals_agree_with_delong() {
    let data = generate(4000, 2);
    let ranked = Ranked::new(&data.labels, &data.predictions, Some(&data.scores), None);
    let whole = ranked.whole();
    let auc = pass(&ranked, &[&whole], None)[0][0]
        .metrics(true)
        .into_iter()
        .find(|(name, _)| *name == "roc_auc")
        .and_then(|(_, value)| value.ok())
        .expect("defined");
    let width = 2.0 * 1.959_964 * delong_variance(&data).sqrt();
    let mut values = replicate_values(&data, "roc_auc", 1000, 0);
    let (lo, hi) = percentile_interval(&mut values, 0.95).expect("replicates");
    let ratio = (hi - lo) / width;
    assert!(
        (0.9..1.1).contains(&ratio),
        "bootstrap width {} vs DeLong {width}",
        hi - lo
    );
    assert!(lo < auc && auc < hi, "[{lo}, {hi}] contains {auc}");
}

#[test]
fn the_same_seed_gives_the_same_replicates() {
    let data = generate(500, 3);
    assert_eq!(
        replicate_values(&data, "roc_auc", 20, 9),
        replicate_values(&data, "roc_auc", 20, 9)
    );
    assert_ne!(
        replicate_values(&data, "roc_auc", 20, 9),
        replicate_values(&data, "roc_auc", 20, 10)
    );
}
