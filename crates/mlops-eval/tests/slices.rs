//! Error analysis on generated data: a planted weak slice is flagged; data with no weak slice
//! flags nothing in at least 19 of 20 seeds; small slices are reported but never flagged.

mod common;

use common::Rng;
use mlops_eval::slices::{MISSING, ProportionMetric, SliceColumn, SliceOptions, analyze};

struct Data {
    labels: Vec<bool>,
    predictions: Vec<bool>,
    region: Vec<Option<String>>,
    age: Vec<Option<f64>>,
}

/// 10,000 rows over 5 regions; the model is right 85% of the time, or `weak_accuracy` in `r3`.
fn generate(seed: u64, weak_accuracy: f64) -> Data {
    let mut rng = Rng(seed);
    let mut data = Data {
        labels: Vec::new(),
        predictions: Vec::new(),
        region: Vec::new(),
        age: Vec::new(),
    };
    for i in 0..10_000 {
        let region = format!("r{}", i % 5);
        let accuracy = if region == "r3" { weak_accuracy } else { 0.85 };
        let label = rng.uniform() < 0.4;
        let right = rng.uniform() < accuracy;
        data.labels.push(label);
        data.predictions.push(if right { label } else { !label });
        data.region.push(Some(region));
        data.age.push(Some((18.0 + rng.uniform() * 60.0).floor()));
    }
    data
}

fn flagged(data: &Data, options: &SliceOptions) -> Vec<String> {
    let columns = [
        SliceColumn::Categorical {
            name: "region",
            values: &data.region,
        },
        SliceColumn::Numeric {
            name: "age",
            values: &data.age,
        },
    ];
    analyze(
        &data.labels,
        &data.predictions,
        ProportionMetric::Accuracy,
        &columns,
        options,
    )
    .into_iter()
    .filter(|s| s.underperforming)
    .map(|s| format!("{}={}", s.columns.join("*"), s.values.join("*")))
    .collect()
}

#[test]
fn a_planted_weak_slice_is_flagged() {
    let data = generate(1, 0.6);
    let options = SliceOptions {
        crossings: vec![vec![0, 1]],
        ..SliceOptions::default()
    };
    let found = flagged(&data, &options);
    assert!(found.contains(&"region=r3".to_owned()), "{found:?}");
    assert!(
        found.iter().all(|f| f.contains("r3")),
        "only slices inside r3 are flagged: {found:?}"
    );
}

#[test]
fn no_weak_slice_flags_nothing_in_at_least_19_of_20_seeds() {
    let options = SliceOptions {
        crossings: vec![vec![0, 1]],
        ..SliceOptions::default()
    };
    let seeds_with_flags = (100..120)
        .filter(|&seed| !flagged(&generate(seed, 0.85), &options).is_empty())
        .count();
    assert!(
        seeds_with_flags <= 1,
        "{seeds_with_flags} of 20 seeds flagged a slice"
    );
}

#[test]
fn small_slices_are_reported_but_never_flagged_and_missing_values_form_a_slice() {
    let labels = vec![true; 100];
    let mut predictions = vec![true; 100];
    let mut group: Vec<Option<String>> = vec![Some("big".into()); 100];
    for i in 0..10 {
        predictions[i] = false; // a tiny slice where the model is always wrong
        group[i] = Some("tiny".into());
    }
    group[99] = None;
    let columns = [SliceColumn::Categorical {
        name: "group",
        values: &group,
    }];
    let results = analyze(
        &labels,
        &predictions,
        ProportionMetric::Accuracy,
        &columns,
        &SliceOptions::default(),
    );
    let tiny = results
        .iter()
        .find(|s| s.values == ["tiny"])
        .expect("the tiny slice is reported");
    assert_eq!(
        (tiny.rows, tiny.value, tiny.p_value, tiny.underperforming),
        (10, Some(0.0), None, false)
    );
    assert!(results.iter().any(|s| s.values == [MISSING] && s.rows == 1));
    let ci = tiny.ci.expect("an interval");
    assert!(
        ci.0 == 0.0 && ci.1 > 0.2,
        "a Wilson interval, not a point: {ci:?}"
    );
}

#[test]
fn lower_is_better_metrics_flag_high_values() {
    let data = generate(5, 0.6);
    let columns = [SliceColumn::Categorical {
        name: "region",
        values: &data.region,
    }];
    let results = analyze(
        &data.labels,
        &data.predictions,
        ProportionMetric::Fnr,
        &columns,
        &SliceOptions::default(),
    );
    let r3 = results.iter().find(|s| s.values == ["r3"]).expect("r3");
    assert!(
        r3.underperforming && r3.effect_size.expect("effect") > 0.0,
        "{r3:?}"
    );
}

#[test]
fn discovery_finds_the_weak_region_and_does_not_repeat_its_sub_slices() {
    let data = generate(9, 0.6);
    let columns = [
        SliceColumn::Categorical {
            name: "region",
            values: &data.region,
        },
        SliceColumn::Numeric {
            name: "age",
            values: &data.age,
        },
    ];
    let outcomes =
        mlops_eval::slices::outcomes(ProportionMetric::Accuracy, &data.labels, &data.predictions);
    let found = mlops_eval::slices::discover(&columns, &outcomes, &SliceOptions::default(), 10);
    assert_eq!(found[0].values, ["r3"], "{found:?}");
    assert!(
        found
            .iter()
            .all(|s| s.columns.len() == 1 || !s.values.contains(&"r3".to_owned())),
        "{found:?}"
    );
    let clean = generate(10, 0.85);
    let outcomes = mlops_eval::slices::outcomes(
        ProportionMetric::Accuracy,
        &clean.labels,
        &clean.predictions,
    );
    let columns = [
        SliceColumn::Categorical {
            name: "region",
            values: &clean.region,
        },
        SliceColumn::Numeric {
            name: "age",
            values: &clean.age,
        },
    ];
    assert!(
        mlops_eval::slices::discover(&columns, &outcomes, &SliceOptions::default(), 10).is_empty()
    );
}
