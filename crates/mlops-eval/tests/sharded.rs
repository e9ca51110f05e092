//! An evaluation merged from shards equals the evaluation of the rows read at once: exactly in
//! counts and everything computed from them, to rounding in the sums of scores, and within the
//! stated error where score histograms had to be coarsened.

use std::io::Write;
use std::path::PathBuf;

use mlops_data::{Dataset, ReadOptions};
use mlops_eval::evaluate::{self, Bootstrap, Options};
use mlops_eval::sharded;
use serde_json::Value;

/// A tiny deterministic generator, so the data needs no crate.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        #[expect(clippy::cast_precision_loss, reason = "53 bits of a random u64")]
        {
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }
}

/// `rows` rows in `files` CSV files: a 0/1 label, a score (rounded to `decimals` places, or
/// not with `None`), a region, a sex and a weight.
fn write_data(
    dir: &std::path::Path,
    rows: usize,
    files: usize,
    decimals: Option<i32>,
) -> Vec<PathBuf> {
    let mut rng = Lcg(7);
    let (paths, mut outs) = csv_parts(dir, "part", files, "label,score,region,sex,w");
    for r in 0..rows {
        let region = ["north", "south", "east", "west"][r % 4];
        let sex = if rng.next() < 0.4 { "f" } else { "m" };
        let label = rng.next() < 0.3 + if region == "east" { 0.2 } else { 0.0 };
        let mut score = (0.5 * rng.next() + if label { 0.4 } else { 0.1 }).min(1.0);
        if let Some(d) = decimals {
            let scale = 10f64.powi(d);
            score = (score * scale).round() / scale;
        }
        let weight = 0.5 + rng.next();
        // Contiguous runs of rows per file, as shards of one table are.
        let file = r * files / rows;
        writeln!(
            outs[file],
            "{},{score},{region},{sex},{weight}",
            u8::from(label)
        )
        .expect("write");
    }
    paths
}

/// `files` CSV files `NAME-k.csv` in `dir`, each begun with `header`, and their writers (rows
/// go in contiguous runs, as shards of one table hold them).
fn csv_parts(
    dir: &std::path::Path,
    name: &str,
    files: usize,
    header: &str,
) -> (Vec<PathBuf>, Vec<fs_err::File>) {
    let paths: Vec<PathBuf> = (0..files)
        .map(|f| dir.join(format!("{name}-{f}.csv")))
        .collect();
    let outs = paths
        .iter()
        .map(|p| {
            let mut f = fs_err::File::create(p).expect("create");
            writeln!(f, "{header}").expect("write");
            f
        })
        .collect();
    (paths, outs)
}

fn options(weighted: bool) -> Options {
    Options {
        scores: vec!["score".into()],
        weight: weighted.then(|| "w".into()),
        slices: vec![vec!["region".into()], vec!["region".into(), "sex".into()]],
        sensitive: vec!["sex".into()],
        privileged: Some(("sex".into(), "m".into())),
        bootstrap: Bootstrap {
            replicates: 0,
            seed: 0,
        },
        ..Options::default()
    }
}

/// The report of the files read at once, and merged from one shard per file.
fn both(files: &[PathBuf], options: &Options) -> (Value, Value, mlops_eval::report::EvalReport) {
    let whole = Dataset::of_files(files.to_vec(), ReadOptions::default());
    let local = evaluate::evaluate(&whole, options, None).expect("local evaluation");
    let mut merged: Option<sharded::Partial> = None;
    for file in files {
        let part = sharded::partial(
            &Dataset::of_files(vec![file.clone()], ReadOptions::default()),
            options,
        )
        .expect("a shard's part");
        // Through JSON, as the parts travel from the cluster's tasks.
        let part: sharded::Partial =
            serde_json::from_str(&serde_json::to_string(&part).expect("to JSON"))
                .expect("from JSON");
        match &mut merged {
            None => merged = Some(part),
            Some(m) => m.merge(part).expect("parts merge"),
        }
    }
    let report = sharded::report(&merged.expect("parts"), files.len(), "data", options, None)
        .expect("sharded report");
    let mut sharded_json = serde_json::to_value(&report).expect("JSON");
    sharded_json
        .as_object_mut()
        .expect("an object")
        .remove("sharded");
    (
        serde_json::to_value(&local).expect("JSON"),
        sharded_json,
        report,
    )
}

/// Every difference between two JSON values beyond `tolerance` (relative, for numbers), skipping
/// the keys in `skip`, as paths.
fn differences(
    local: &Value,
    merged: &Value,
    path: &str,
    tolerance: f64,
    skip: &[&str],
    out: &mut Vec<String>,
) {
    match (local, merged) {
        (Value::Object(ours), Value::Object(theirs)) => {
            for key in ours.keys().chain(theirs.keys()) {
                if skip.contains(&key.as_str()) {
                    continue;
                }
                let (left, right) = (
                    ours.get(key).unwrap_or(&Value::Null),
                    theirs.get(key).unwrap_or(&Value::Null),
                );
                differences(left, right, &format!("{path}.{key}"), tolerance, skip, out);
            }
        }
        (Value::Array(ours), Value::Array(theirs)) if ours.len() == theirs.len() => {
            for (i, (left, right)) in ours.iter().zip(theirs).enumerate() {
                differences(left, right, &format!("{path}[{i}]"), tolerance, skip, out);
            }
        }
        (Value::Number(ours), Value::Number(theirs)) => {
            let (left, right) = (ours.as_f64().expect("f64"), theirs.as_f64().expect("f64"));
            if (left - right).abs() > tolerance * left.abs().max(right.abs()).max(1e-300) {
                out.push(format!("{path}: {left} vs {right}"));
            }
        }
        _ if local == merged => {}
        _ => out.push(format!("{path}: {local} vs {merged}")),
    }
}

#[test]
fn shards_merge_to_the_report_of_the_whole_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = write_data(dir.path(), 6000, 3, Some(3));
    for weighted in [false, true] {
        let options = options(weighted);
        let (local, merged, report) = both(&files, &options);
        // Counts and what is computed from them are equal to the bit; weighted sums, like the
        // sums of scores, differ by the order of additions only.
        let mut exact = Vec::new();
        differences(
            &local,
            &merged,
            "",
            0.0,
            &["log_loss", "brier", "expected_calibration_error"],
            &mut exact,
        );
        assert!(weighted || exact.is_empty(), "{exact:#?}");
        let mut close = Vec::new();
        differences(&local, &merged, "", 1e-12, &[], &mut close);
        assert!(close.is_empty(), "weighted {weighted}: {close:#?}");
        let sharded = report.sharded.expect("marked as sharded");
        assert_eq!(sharded.shards, 3);
        for metric in ["roc_auc", "average_precision"] {
            let error = sharded.max_error[metric];
            assert!(
                error.abs() < f64::MIN_POSITIVE,
                "{metric}: one score per bucket, {error}"
            );
        }
        assert!(!report.slices.is_empty() && report.fairness.is_some());
    }
}

#[test]
fn coarsened_histograms_stay_within_their_stated_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    // More distinct scores than a histogram keeps.
    let files = write_data(dir.path(), 3 * sharded::MAX_BUCKETS, 2, None);
    let options = Options {
        slices: Vec::new(),
        ..options(false)
    };
    let (local, merged, report) = both(&files, &options);
    let errors = report.sharded.expect("sharded").max_error;
    for metric in ["roc_auc", "average_precision"] {
        let (a, b) = (
            local["overall"][metric].as_f64().expect("defined"),
            merged["overall"][metric].as_f64().expect("defined"),
        );
        let error = errors[metric];
        assert!(
            error > 0.0 && error < 1e-3,
            "{metric}: stated error {error}"
        );
        assert!(
            (a - b).abs() <= error,
            "{metric}: {a} vs {b}, stated error {error}"
        );
    }
    let mut exact = Vec::new();
    differences(
        &local["confusion_matrix"],
        &merged["confusion_matrix"],
        "",
        0.0,
        &[],
        &mut exact,
    );
    assert!(exact.is_empty(), "{exact:#?}");
}

#[test]
fn what_does_not_merge_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = write_data(dir.path(), 100, 1, Some(2));
    let data = Dataset::of_files(files, ReadOptions::default());
    let cases: [(Options, &str); 3] = [
        (
            Options {
                bootstrap: Bootstrap::default(),
                ..options(false)
            },
            "bootstrap",
        ),
        (
            Options {
                discover: Some(5),
                ..options(false)
            },
            "--discover",
        ),
        (
            Options {
                slices: vec![vec!["score".into()]],
                ..options(false)
            },
            "numeric slice column `score`",
        ),
    ];
    for (options, expected) in cases {
        let error = sharded::partial(&data, &options)
            .expect_err(expected)
            .to_string();
        assert!(
            error.contains(expected) && error.contains("without --shards"),
            "{error}"
        );
    }
}

/// `rows` rows of a regression task in `files` CSV files: a target, a prediction (both rounded
/// to two places, so that absolute errors repeat), a region, a sex and a weight.
fn write_regression(dir: &std::path::Path, rows: usize, files: usize) -> Vec<PathBuf> {
    let mut rng = Lcg(11);
    let (paths, mut outs) = csv_parts(dir, "reg", files, "y,p,region,sex,w");
    for r in 0..rows {
        let region = ["north", "south", "east"][r % 3];
        let sex = if rng.next() < 0.4 { "f" } else { "m" };
        let y = (100.0 * (50.0 + 30.0 * rng.next())).round() / 100.0;
        let noise = if region == "east" { 8.0 } else { 3.0 };
        let p = (100.0 * (y + noise * (rng.next() - 0.5))).round() / 100.0;
        let weight = 0.5 + rng.next();
        writeln!(outs[r * files / rows], "{y},{p},{region},{sex},{weight}").expect("write");
    }
    paths
}

#[test]
fn regression_shards_merge_to_the_report_of_the_whole_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = write_regression(dir.path(), 3000, 3);
    for weighted in [false, true] {
        let options = Options {
            label: "y".into(),
            prediction: Some("p".into()),
            task: Some(mlops_eval::input::Task::Regression),
            weight: weighted.then(|| "w".into()),
            slices: vec![vec!["region".into()], vec!["region".into(), "sex".into()]],
            sensitive: vec!["sex".into()],
            bootstrap: Bootstrap {
                replicates: 0,
                seed: 0,
            },
            ..Options::default()
        };
        let (local, merged, report) = both(&files, &options);
        // Sums, means and spreads merged in another order: equal to rounding.
        let mut close = Vec::new();
        differences(&local, &merged, "", 1e-9, &[], &mut close);
        assert!(close.is_empty(), "weighted {weighted}: {close:#?}");
        let error = report.sharded.expect("sharded").max_error["median_ae"];
        assert!(
            error.abs() < f64::MIN_POSITIVE,
            "errors repeat, one per bucket: {error}"
        );
        assert!(
            report.slices.iter().any(|s| s.underperforming),
            "east is worse"
        );
        assert!(report.fairness.is_some());
    }
}

/// `rows` rows of a three-class task in `files` CSV files: a label, one score per class (two
/// decimal places, so that scores repeat), a region, a sex and a weight. The last file holds
/// classes `a` and `b` only.
fn write_multiclass(dir: &std::path::Path, rows: usize, files: usize) -> Vec<PathBuf> {
    let mut rng = Lcg(5);
    let (paths, mut outs) = csv_parts(dir, "multi", files, "label,pa,pb,pc,guess,region,sex,w");
    for r in 0..rows {
        let file = r * files / rows;
        let classes = if file == files - 1 { 2 } else { 3 };
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a small index"
        )]
        let label = (rng.next() * f64::from(classes)) as usize;
        let mut raw: Vec<f64> = (0..3)
            .map(|c| rng.next() + if c == label { 0.8 } else { 0.0 })
            .collect();
        let total: f64 = raw.iter().sum();
        for v in &mut raw {
            *v = (*v / total * 100.0).round() / 100.0;
        }
        let guess = (0..3)
            .max_by(|&a, &b| raw[a].total_cmp(&raw[b]))
            .expect("three classes");
        let name = |c: usize| ["a", "b", "c"][c];
        let region = ["north", "south"][r % 2];
        let sex = if rng.next() < 0.4 { "f" } else { "m" };
        let weight = 0.5 + rng.next();
        writeln!(
            outs[file],
            "{},{},{},{},{},{region},{sex},{weight}",
            name(label),
            raw[0],
            raw[1],
            raw[2],
            name(guess)
        )
        .expect("write");
    }
    paths
}

#[test]
fn multiclass_shards_merge_to_the_report_of_the_whole_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = write_multiclass(dir.path(), 3000, 3);
    let base = Options {
        task: Some(mlops_eval::input::Task::Multiclass),
        slices: vec![vec!["region".into()], vec!["region".into(), "sex".into()]],
        sensitive: vec!["sex".into()],
        bootstrap: Bootstrap {
            replicates: 0,
            seed: 0,
        },
        ..Options::default()
    };
    // Predictions given: the last shard, which never saw class `c`, merges by class name.
    for weighted in [false, true] {
        let options = Options {
            prediction: Some("guess".into()),
            weight: weighted.then(|| "w".into()),
            ..base.clone()
        };
        let (local, merged, _) = both(&files, &options);
        let mut exact = Vec::new();
        differences(&local, &merged, "", 0.0, &[], &mut exact);
        assert!(weighted || exact.is_empty(), "{exact:#?}");
        let mut close = Vec::new();
        differences(&local, &merged, "", 1e-12, &[], &mut close);
        assert!(close.is_empty(), "weighted {weighted}: {close:#?}");
    }
    // Scores: ROC AUC from the histograms, exact here (scores repeat); a shard that lacks a
    // class cannot say which score column is which class, and says so.
    let scored = Options {
        scores: vec!["pa".into(), "pb".into(), "pc".into()],
        ..base.clone()
    };
    let (local, merged, report) = both(&files[..2], &scored);
    let mut close = Vec::new();
    differences(&local, &merged, "", 1e-12, &[], &mut close);
    assert!(close.is_empty(), "{close:#?}");
    let error = report.sharded.expect("sharded").max_error["roc_auc"];
    assert!(
        error.abs() < f64::MIN_POSITIVE,
        "one score per bucket: {error}"
    );
    let lacking = Dataset::of_files(vec![files[2].clone()], ReadOptions::default());
    let refused = sharded::partial(&lacking, &scored)
        .expect_err("a shard without class c")
        .to_string();
    assert!(refused.contains("lacks a class"), "{refused}");
}
