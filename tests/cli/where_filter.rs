//! `--where` on every reading command (issue 16): a filtered input gives what the matching rows
//! alone give, whether rows are left out one by one (CSV), whole row groups are skipped by their
//! statistics (a Parquet file sorted by the filtered column) or whole files by their partition
//! values (`date=...` directories); a name that is not a column, or a comparison of types that
//! do not compare, is an input error.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};

use crate::rng::Rng;
use crate::support::TestEnv;

/// (age, income, plan, tenure, label, score): the inputs of the `binary` fixture model, a label
/// and a score.
type Row = (i64, i64, &'static str, i64, i64, f64);

fn rows() -> Vec<Row> {
    let mut rng = Rng(61);
    (0..200)
        .map(|_| {
            let label = i64::from(rng.uniform() < 0.5);
            #[allow(clippy::cast_possible_truncation, reason = "small whole numbers")]
            let whole = |rng: &mut Rng, low: f64, span: f64| (low + span * rng.uniform()) as i64;
            #[allow(clippy::cast_precision_loss, reason = "0 or 1")]
            let score = (0.3 + 0.4 * label as f64 + rng.uniform() * 0.6 - 0.3).clamp(0.01, 0.99);
            (
                whole(&mut rng, 18.0, 62.0),
                whole(&mut rng, 20_000.0, 80_000.0),
                rng.pick(&["basic", "plus", "pro"]),
                whole(&mut rng, 0.0, 48.0),
                label,
                score,
            )
        })
        .collect()
}

/// The condition, and the same test in Rust.
const CONDITION: &str = "age >= 40 and plan != \"basic\" or not (tenure > 6)";

fn holds(row: &Row) -> bool {
    let (age, _, plan, tenure, ..) = *row;
    (age >= 40 && plan != "basic") || tenure <= 6
}

fn csv(rows: &[Row]) -> String {
    let mut text = String::from("age,income,plan,tenure,label,score\n");
    for (age, income, plan, tenure, label, score) in rows {
        writeln!(text, "{age},{income},{plan},{tenure},{label},{score}").expect("write");
    }
    text
}

/// `rows` as Parquet, in row groups of `group` rows.
fn write_parquet(path: &Path, rows: &[Row], group: usize) {
    let int =
        |f: fn(&Row) -> i64| -> ArrayRef { Arc::new(rows.iter().map(f).collect::<Int64Array>()) };
    let batch = RecordBatch::try_from_iter([
        ("age", int(|r| r.0)),
        ("income", int(|r| r.1)),
        (
            "plan",
            Arc::new(rows.iter().map(|r| Some(r.2)).collect::<StringArray>()) as ArrayRef,
        ),
        ("tenure", int(|r| r.3)),
        ("label", int(|r| r.4)),
        (
            "score",
            Arc::new(rows.iter().map(|r| r.5).collect::<Float64Array>()) as ArrayRef,
        ),
    ])
    .expect("batch");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let properties = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(group))
        .build();
    let file = std::fs::File::create(path).expect("create");
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(properties))
        .expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

/// The rows: whole, matching, sorted by age in row groups of 20 (so that `age >= 40` skips the
/// first groups by their statistics), and in date partitions of 50.
fn data() -> TestEnv {
    let env = TestEnv::bare();
    let rows = rows();
    let subset: Vec<Row> = rows.iter().copied().filter(holds).collect();
    assert!((50..150).contains(&subset.len()), "{}", subset.len());
    env.write("all.csv", csv(&rows));
    env.write("subset.csv", csv(&subset));
    let mut sorted = rows.clone();
    sorted.sort_by_key(|r| r.0);
    write_parquet(&env.path("sorted.parquet"), &sorted, 20);
    let sorted: Vec<Row> = sorted.into_iter().filter(holds).collect();
    env.write("sorted-subset.csv", csv(&sorted));
    for (part, chunk) in rows.chunks(50).enumerate() {
        let path = format!("parquet/date=2026-12-{:02}/part-0.parquet", part + 1);
        write_parquet(&env.path(&path), chunk, 50);
    }
    env
}

/// (input, `--where`, an input of the matching rows alone).
const CASES: [(&str, &str, &str); 4] = [
    ("all.csv", CONDITION, "subset.csv"),
    ("sorted.parquet", CONDITION, "sorted-subset.csv"),
    (
        "parquet",
        "date >= \"2026-12-03\"",
        "parquet/date=2026-12-0[3-4]/*.parquet",
    ),
    (
        "parquet",
        "date == \"2026-12-02\" or date == \"2026-12-04\"",
        "parquet/date=2026-12-0{2,4}/*.parquet",
    ),
];

/// What `command` reports for `input` (and `filter`), reduced to figures that depend only on the
/// rows read.
fn report(env: &TestEnv, command: &str, input: &str, filter: Option<&str>) -> String {
    let mut args = crate::inputs::reading_args(command, input);
    args.extend(filter.iter().flat_map(|f| ["--where", f]));
    let v = env.json(&args);
    let figures = match command {
        "eval" => [&v["rows"], &v["overall"]["roc_auc"]],
        // Filtered alike on both sides: the same rows, so no drift.
        "drift" => [&v["reference"]["rows"], &v["batches"][0]["rows"]],
        "profile" => [&v["rows"], &v["columns"]],
        "predict" => [&v["rows_read"], &v["rows_written"]],
        "split" => [&v["train"], &v["test"]],
        "train" => [&v["rows_train"], &v["rows_validation"]],
        _ => unreachable!("{command}"),
    };
    assert!(!figures.iter().any(|f| f.is_null()), "{command}: {v}");
    format!("{} {}", figures[0], figures[1])
}

#[test]
fn every_reading_command_reads_only_the_rows_where_the_condition_holds() {
    let env = data();
    for command in ["eval", "drift", "profile", "predict", "split", "train"] {
        for (input, condition, alone) in CASES {
            assert_eq!(
                report(&env, command, input, Some(condition)),
                report(&env, command, alone, None),
                "`mlops {command} {input} --where '{condition}'` differs from `{alone}`"
            );
        }
    }
}

#[test]
fn an_unknown_column_or_a_type_mismatch_is_an_input_error() {
    let env = data();
    let (_, stderr) = env.fails(
        2,
        &[
            "profile",
            "all.csv",
            "-o",
            "a.profile",
            "--where",
            "agee > 30",
        ],
    );
    assert!(
        stderr.contains("filter `agee > 30` names column `agee`, which `")
            && stderr.contains("all.csv` does not have"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: did you mean `age`?"), "{stderr}");
    let (_, stderr) = env.fails(
        2,
        &["eval", "parquet", "--label", "label", "--where", "plan > 1"],
    );
    assert!(
        stderr.contains("invalid filter `plan > 1`: cannot compare text with a number"),
        "{stderr}"
    );
    let (_, stderr) = env.fails(
        2,
        &[
            "drift",
            "--reference",
            "parquet",
            "parquet",
            "--where",
            "date > 3",
        ],
    );
    assert!(
        stderr.contains("cannot compare a date with a number (write a date as ISO text"),
        "{stderr}"
    );
    let (_, stderr) = env.fails(
        2,
        &["split", "all.csv", "--output", "s", "--where", "age >"],
    );
    assert!(stderr.contains("invalid filter `age >`"), "{stderr}");
}

#[test]
fn drift_takes_a_condition_for_each_side_so_one_dataset_can_be_both() {
    let env = data();
    let figures = |args: &[&str]| {
        let mut all = vec!["drift", "--no-fail"];
        all.extend_from_slice(args);
        let v = env.json(&all);
        format!(
            "{} {} {}",
            v["reference"]["rows"], v["batches"][0]["rows"], v["batches"][0]["share_drifted"]
        )
    };
    assert_eq!(
        figures(&[
            "--reference",
            "parquet",
            "parquet",
            "--where",
            "age > 30",
            "--where-reference",
            "date <= \"2026-12-02\"",
            "--where-current",
            "date >= \"2026-12-03\"",
        ]),
        figures(&[
            "--reference",
            "parquet/date=2026-12-0[1-2]/*.parquet",
            "parquet/date=2026-12-0[3-4]/*.parquet",
        ])
    );
}

/// A condition no row meets leaves nothing to split: an input error, as eval, profile and drift
/// give, and no file written.
#[test]
fn split_where_no_row_matches_is_an_input_error() {
    let env = data();
    let (_, stderr) = env.fails(
        2,
        &["split", "all.csv", "--output", "s", "--where", "age > 1000"],
    );
    assert!(stderr.contains("all.csv` has no rows"), "{stderr}");
    assert!(!env.path("s/train.parquet").exists(), "{stderr}");
}

/// Where a condition leaves no row, the hint names `--where` beside an empty export.
#[test]
fn a_condition_no_row_meets_is_named_in_the_hint() {
    let env = data();
    let (_, stderr) = env.fails(
        2,
        &[
            "drift",
            "--reference",
            "all.csv",
            "all.csv",
            "--where",
            "age > 1000",
        ],
    );
    assert!(stderr.contains("has no rows"), "{stderr}");
    assert!(stderr.contains("`--where` keeps none"), "{stderr}");
}

/// A profile reference's rows were chosen when it was written: --where-reference cannot apply
/// to it and is refused, naming the flag; --where applies to the current data alone.
#[test]
fn drift_refuses_a_reference_condition_for_a_profile_and_filters_the_current_side() {
    let env = data();
    env.run(&["profile", "all.csv", "-o", "all.profile"]);
    let (_, stderr) = env.fails(
        2,
        &[
            "drift",
            "--reference",
            "all.profile",
            "all.csv",
            "--where-reference",
            "age > 30",
        ],
    );
    assert!(
        stderr.contains("--where-reference does not apply to a profile reference"),
        "{stderr}"
    );
    let current_rows = |args: &[&str]| {
        let mut all = vec!["drift", "--no-fail", "--reference", "all.profile"];
        all.extend_from_slice(args);
        env.json(&all)["batches"][0]["rows"].clone()
    };
    assert_eq!(
        current_rows(&["all.csv", "--where", CONDITION]),
        serde_json::json!(rows().iter().filter(|r| holds(r)).count())
    );
}

/// `is null` asks for the rows a comparison leaves out (issue 24): in a CSV with empty incomes,
/// `income is null` keeps those rows, `income is not null` the others, and a Hive directory
/// `__HIVE_DEFAULT_PARTITION__` is the partition whose value is missing.
#[test]
fn is_null_keeps_the_rows_where_a_value_is_missing() {
    let env = TestEnv::bare();
    env.write(
        "gaps.csv",
        "age,income,plan\n30,,basic\n41,52000,pro\n25,,plus\n60,71000,\n38,48000,pro\n",
    );
    let profiled = |condition: &str| {
        env.json(&[
            "profile",
            "gaps.csv",
            "-o",
            "g.profile",
            "--where",
            condition,
        ])["rows"]
            .clone()
    };
    assert_eq!(profiled("income is null"), serde_json::json!(2));
    assert_eq!(profiled("income is not null"), serde_json::json!(3));
    assert_eq!(profiled("not (income is null)"), serde_json::json!(3));
    assert_eq!(
        profiled("income > 0 or income is null"),
        serde_json::json!(5)
    );
    assert_eq!(
        profiled("income is null or plan is null"),
        serde_json::json!(3)
    );
    let rows = rows();
    for (dir, chunk) in [
        ("eu", &rows[..30]),
        ("__HIVE_DEFAULT_PARTITION__", &rows[30..50]),
    ] {
        write_parquet(
            &env.path(&format!("hive/region={dir}/part-0.parquet")),
            chunk,
            50,
        );
    }
    let hive = |condition: &str| {
        env.json(&["profile", "hive", "-o", "h.profile", "--where", condition])["rows"].clone()
    };
    assert_eq!(hive("region is null"), serde_json::json!(20));
    assert_eq!(hive("region is not null"), serde_json::json!(30));
    let (_, stderr) = env.fails(
        2,
        &[
            "profile",
            "gaps.csv",
            "-o",
            "g.profile",
            "--where",
            "income is nul",
        ],
    );
    assert!(
        stderr.contains("expected `null` after `is`, found `nul` at column 11"),
        "{stderr}"
    );
}
