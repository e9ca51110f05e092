//! `mlops fairness`: counterfactual flip rates equal to a numpy reference on a model with a
//! planted weight on the sensitive column (`scripts/golden/fairness_counterfactual.py` writes
//! `tests/fixtures/fairness/`), a column the model does not take, gates, consistency, and the
//! bad inputs `counterfactual`, `consistency` and `mitigate` refuse.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::support::TestEnv;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fairness");
const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fairness/model");
const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/fairness/data.csv"
);

// The report's schema, pinned: a key added or renamed fails here.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    model: String,
    data: String,
    rows: usize,
    compared: Option<String>,
    columns: Vec<ColumnReport>,
    gates: Vec<GateOutcome>,
    passed: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnReport {
    sensitive: Option<String>,
    model_takes_it: Option<bool>,
    overall: Option<Movement>,
    #[serde(default)]
    groups: Vec<GroupMovement>,
    #[serde(default)]
    swaps: Vec<SwapMovement>,
    #[serde(default)]
    largest: Vec<RowChange>,
    consistency: Option<ConsistencyReport>,
    consistency_unmeasured: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Movement {
    rows: usize,
    flip_rate: f64,
    mean_abs_change: f64,
    max_abs_change: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupMovement {
    value: String,
    rows: usize,
    flip_rate: f64,
    mean_abs_change: f64,
    max_abs_change: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SwapMovement {
    from: String,
    to: String,
    rows: usize,
    flip_rate: f64,
    mean_abs_change: f64,
    max_abs_change: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RowChange {
    row: usize,
    id: Option<String>,
    from: String,
    to: String,
    score: f64,
    counterfactual_score: f64,
    flipped: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyReport {
    neighbours: usize,
    rows: usize,
    dims: usize,
    consistency: f64,
    groups: Vec<GroupConsistency>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupConsistency {
    group: String,
    rows: usize,
    consistency: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GateOutcome {
    gate: String,
    passed: bool,
    value: Option<f64>,
    threshold: Option<f64>,
    reason: Option<String>,
}

/// `expected.json`: what the numpy reference computed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    rows: usize,
    overall: ExpectedMovement,
    groups: std::collections::BTreeMap<String, ExpectedMovement>,
    swaps: Vec<ExpectedSwap>,
    numpy: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedMovement {
    rows: usize,
    flipped: usize,
    flip_rate: f64,
    mean_abs_change: f64,
    max_abs_change: f64,
}

/// (serde cannot deny unknown fields beside a flattened struct.)
#[derive(Debug, Deserialize)]
struct ExpectedSwap {
    from: String,
    to: String,
    #[serde(flatten)]
    movement: ExpectedMovement,
}

/// `mlops fairness COMMAND` of the planted model on its data, then `more`.
fn on_fixture<'a>(command: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    [&["fairness", command, "--model", MODEL, DATA][..], more].concat()
}

fn expected() -> Expected {
    let text = std::fs::read_to_string(Path::new(FIXTURE).join("expected.json")).expect("read");
    serde_json::from_str(&text).expect("expected.json")
}

/// The exit status, stdout and stderr of `mlops args`.
fn outcome(env: &TestEnv, args: &[&str]) -> (i32, String, String) {
    let output = env.cmd(args).output().expect("run mlops");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "mlops {args:?}: {stderr}");
    (
        output.status.code().expect("an exit status"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr,
    )
}

/// The report of a successful `mlops --json args`.
fn report(env: &TestEnv, args: &[&str]) -> Report {
    serde_json::from_value(env.json(args)).expect("the report's schema")
}

/// The first line of stderr of a run that must exit 2 with an error.
fn error_line(env: &TestEnv, args: &[&str]) -> String {
    let (code, _, err) = outcome(env, args);
    assert_eq!(code, 2, "mlops {args:?}: {err}");
    let first = err.lines().next().unwrap_or_default().to_owned();
    assert!(first.starts_with("error: "), "mlops {args:?}: {err}");
    first
}

/// The same f64, bit for bit.
fn exact(got: f64, want: f64, what: &str) {
    assert_eq!(got.to_bits(), want.to_bits(), "{what}: {got} != {want}");
}

fn close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() <= 1e-6, "{what}: {got} vs {want}");
}

/// The rows, the flipped rows and the flip rate exactly, the score changes to 1e-6: a matrix
/// product may sum in another order than numpy's.
///
/// The flip rate is compared as parsed from both JSON documents, which hold the shortest text
/// of the same f64 when it is the same; not with `flipped as f64 / rows as f64` computed here,
/// since `serde_json` without its `float_roundtrip` feature may parse that text one ulp off.
#[expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "row counts fit an f64 exactly, and a rate times its rows is a count"
)]
fn check_movement(
    what: &str,
    (rows, flip_rate, mean, max): (usize, f64, f64, f64),
    want: &ExpectedMovement,
) {
    assert_eq!(rows, want.rows, "{what}: rows");
    exact(flip_rate, want.flip_rate, &format!("{what}: flip rate"));
    let flipped = (flip_rate * rows as f64).round() as usize;
    assert_eq!(flipped, want.flipped, "{what}: flipped rows");
    close(
        mean,
        want.mean_abs_change,
        &format!("{what}: mean |change|"),
    );
    close(max, want.max_abs_change, &format!("{what}: max |change|"));
}

#[test]
fn counterfactual_flip_rates_equal_the_numpy_reference() {
    let want = expected();
    assert!(!want.numpy.is_empty());
    let env = TestEnv::bare();
    let report = report(&env, &on_fixture("counterfactual", &["--sensitive", "sex"]));
    assert_eq!(report.rows, want.rows);
    assert!(report.model.ends_with("fairness/model"), "{}", report.model);
    assert!(report.data.contains("data.csv"), "{}", report.data);
    assert_eq!(report.compared, None);
    assert!(report.passed && report.gates.is_empty());
    assert_eq!(report.columns.len(), 1);
    let column = &report.columns[0];
    assert_eq!(column.sensitive.as_deref(), Some("sex"));
    assert_eq!(column.model_takes_it, Some(true));

    let overall = column.overall.as_ref().expect("an overall movement");
    check_movement(
        "overall",
        (
            overall.rows,
            overall.flip_rate,
            overall.mean_abs_change,
            overall.max_abs_change,
        ),
        &want.overall,
    );
    // The planted weight on `sex=f` flips many rows; the small one on `sex=x` flips some.
    assert!(want.overall.flipped > 0);

    let values: BTreeSet<&str> = column.groups.iter().map(|g| g.value.as_str()).collect();
    assert_eq!(values, BTreeSet::from(["f", "m", "x"]));
    for group in &column.groups {
        check_movement(
            &format!("group {}", group.value),
            (
                group.rows,
                group.flip_rate,
                group.mean_abs_change,
                group.max_abs_change,
            ),
            &want.groups[&group.value],
        );
    }

    assert_eq!(column.swaps.len(), want.swaps.len());
    assert_eq!(column.swaps.len(), 6, "every value to every other");
    for swap in &want.swaps {
        let got = column
            .swaps
            .iter()
            .find(|s| s.from == swap.from && s.to == swap.to)
            .unwrap_or_else(|| panic!("no swap {} -> {}", swap.from, swap.to));
        check_movement(
            &format!("swap {} -> {}", swap.from, swap.to),
            (
                got.rows,
                got.flip_rate,
                got.mean_abs_change,
                got.max_abs_change,
            ),
            &swap.movement,
        );
    }

    // The rows that move most (10 by default): flipped ones first, each across 0.5.
    assert_eq!(column.largest.len(), 10);
    for change in &column.largest {
        assert!(change.flipped, "{change:?}");
        assert_ne!(change.from, change.to);
        assert!(change.row < report.rows);
        assert_ne!(
            change.score >= 0.5,
            change.counterfactual_score >= 0.5,
            "{change:?}"
        );
    }

    // Consistency comes along, by the inputs other than `sex` (x1, x2).
    let consistency = column.consistency.as_ref().expect("consistency");
    assert_eq!((consistency.rows, consistency.dims), (want.rows, 2));
    assert!((0.0..=1.0).contains(&consistency.consistency));
}

#[test]
fn a_column_the_model_does_not_take_moves_nothing_and_passes_a_flip_rate_gate() {
    let env = TestEnv::bare();
    for column in ["region", "id"] {
        let args = [
            "fairness",
            "counterfactual",
            "--model",
            MODEL,
            DATA,
            "--sensitive",
            column,
            "--gate",
            "flip_rate <= 0.01",
        ];
        let report = report(&env, &args);
        let reported = &report.columns[0];
        assert_eq!(reported.sensitive.as_deref(), Some(column));
        assert_eq!(reported.model_takes_it, Some(false), "{column}");
        assert!(reported.overall.is_none(), "{column}: {reported:?}");
        assert!(reported.groups.is_empty() && reported.swaps.is_empty());
        assert!(reported.largest.is_empty());
        assert!(report.passed);
        let gate = &report.gates[0];
        assert_eq!(gate.gate, "flip_rate <= 0.01");
        assert!(gate.passed, "{gate:?}");
        assert_eq!(gate.value, Some(0.0));
        assert_eq!(gate.threshold, Some(0.01));
        assert!(gate.reason.is_none());

        let (code, out, err) = outcome(&env, &args);
        assert_eq!(code, 0, "{column}: {err}");
        assert!(
            out.contains(&format!("the model does not take `{column}`")),
            "{column}: {out}"
        );
        assert!(out.contains("gate passed: flip_rate <= 0.01"), "{out}");
    }
}

#[test]
fn gates_on_the_planted_model() {
    let env = TestEnv::bare();
    // (gate, exit status, what stderr holds)
    let cases: [(&str, i32, &str); 5] = [
        ("flip_rate <= 0.01", 1, "gate failed: flip_rate <= 0.01"),
        ("sex.flip_rate > 0.5", 0, ""),
        ("sex.flip_rate >= 0", 0, ""),
        ("consistency >= 0", 0, ""),
        ("bogus <= 0", 2, "`bogus`"),
    ];
    for (gate, status, stderr) in cases {
        let args = [
            "--json",
            "fairness",
            "counterfactual",
            "--model",
            MODEL,
            DATA,
            "--sensitive",
            "sex",
            "--gate",
            gate,
        ];
        let (code, out, err) = outcome(&env, &args);
        assert_eq!(code, status, "{gate}: {err}");
        assert!(err.contains(stderr), "{gate}: {err}");
        if status == 2 {
            assert!(err.starts_with("error: "), "{gate}: {err}");
            continue;
        }
        let report: Report = serde_json::from_str(&out).expect("the report");
        assert_eq!(report.passed, status == 0, "{gate}");
        assert_eq!(report.gates.len(), 1);
        assert_eq!(report.gates[0].gate, gate);
        assert_eq!(report.gates[0].passed, status == 0, "{gate}");
    }
    // The failing gate reports the flip rate it saw.
    let (_, out, _) = outcome(
        &env,
        &[
            "--json",
            "fairness",
            "counterfactual",
            "--model",
            MODEL,
            DATA,
            "--sensitive",
            "sex",
            "--gate",
            "flip_rate <= 0.01",
        ],
    );
    let report: Report = serde_json::from_str(&out).expect("the report");
    let value = report.gates[0].value.expect("a value");
    exact(value, expected().overall.flip_rate, "the gate's flip rate");
    assert_eq!(report.gates[0].threshold, Some(0.01));
}

#[test]
fn consistency_per_group_on_labels_and_scores() {
    let want = expected();
    let env = TestEnv::bare();
    let base = [
        "fairness",
        "consistency",
        "--model",
        MODEL,
        DATA,
        "--sensitive",
        "sex",
    ];
    for (extra, compared, neighbours) in [
        (&[][..], "labels", 5),
        (&["--on", "scores"][..], "scores", 5),
        (&["--neighbours", "3"][..], "labels", 3),
    ] {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let report = report(&env, &args);
        assert_eq!(report.compared.as_deref(), Some(compared), "{extra:?}");
        assert_eq!(report.rows, want.rows);
        let column = &report.columns[0];
        // Consistency alone: no counterfactual keys.
        assert!(column.model_takes_it.is_none() && column.overall.is_none());
        let consistency = column.consistency.as_ref().expect("consistency");
        assert_eq!(consistency.neighbours, neighbours);
        assert_eq!((consistency.rows, consistency.dims), (want.rows, 2));
        assert!(
            (0.0..=1.0).contains(&consistency.consistency),
            "{extra:?}: {consistency:?}"
        );
        let groups: BTreeSet<&str> = consistency
            .groups
            .iter()
            .map(|g| g.group.as_str())
            .collect();
        assert_eq!(groups, BTreeSet::from(["f", "m", "x"]), "{extra:?}");
        for group in &consistency.groups {
            assert_eq!(group.rows, want.groups[&group.group].rows, "{group:?}");
            assert!((0.0..=1.0).contains(&group.consistency), "{group:?}");
        }
    }
    let (code, out, err) = outcome(&env, &base);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("consistency (k = 5"), "{out}");

    let args: Vec<&str> = base.iter().copied().chain(["--neighbours", "0"]).collect();
    let line = error_line(&env, &args);
    assert!(line.contains("neighbour"), "{line}");
}

#[test]
fn an_unknown_sensitive_column_is_named() {
    let env = TestEnv::bare();
    for command in ["counterfactual", "consistency"] {
        let line = error_line(
            &env,
            &[
                "fairness",
                command,
                "--model",
                MODEL,
                DATA,
                "--sensitive",
                "nope",
            ],
        );
        assert!(line.contains("`nope`"), "{command}: {line}");
    }
}

/// Copies a model directory into the test's workspace, where `mitigate` may write.
fn copy_model(env: &TestEnv, from: &Path, name: &str) -> PathBuf {
    let to = env.path(name);
    std::fs::create_dir_all(&to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("list model") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
    to
}

#[test]
fn mitigate_refuses_groups_labels_and_models_it_cannot_fit() {
    let env = TestEnv::bare();
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models");
    copy_model(&env, Path::new(MODEL), "binary");
    copy_model(&env, &models.join("regression"), "regression");
    copy_model(&env, &models.join("multiclass"), "multiclass");
    let both = "0.1,0,f\n0.7,1,f\n0.4,1,f\n0.6,0,f\n0.2,0,m\n0.8,1,m\n0.3,1,m\n0.9,0,m\n";
    env.write("ok.csv", format!("score,label,sex\n{both}"));
    // fairlearn's degenerate group: `x` has one row, so one label.
    env.write("single.csv", format!("score,label,sex\n{both}0.6,1,x\n"));
    // `m` holds label 0 only: no threshold makes its true positive rate anything.
    env.write(
        "one_label.csv",
        "score,label,sex\n0.1,0,f\n0.7,1,f\n0.4,1,f\n0.6,0,f\n0.2,0,m\n0.8,0,m\n0.3,0,m\n",
    );
    env.write(
        "three_labels.csv",
        "score,label,sex\n0.1,0,f\n0.7,1,f\n0.4,2,f\n0.2,0,m\n0.8,1,m\n",
    );
    // (scores, model, extra arguments, what the error line names)
    let cases: [(&str, &str, &[&str], &str); 6] = [
        ("single.csv", "binary", &[], "`x`"),
        ("one_label.csv", "binary", &[], "`m`"),
        (
            "one_label.csv",
            "binary",
            &["--constraint", "true_positive_rate_parity"],
            "`m`",
        ),
        ("three_labels.csv", "binary", &[], "3 values"),
        ("ok.csv", "regression", &[], "regression"),
        ("ok.csv", "multiclass", &[], "multiclass"),
    ];
    for (scores, model, extra, named) in cases {
        let spec = env.read(&format!("{model}/model.yaml"));
        let mut args = vec![
            "fairness",
            "mitigate",
            "--scores",
            scores,
            "--sensitive",
            "sex",
            "--model",
            model,
        ];
        args.extend_from_slice(extra);
        let line = error_line(&env, &args);
        assert!(line.contains(named), "{scores} {model} {extra:?}: {line}");
        assert_eq!(
            env.read(&format!("{model}/model.yaml")),
            spec,
            "{scores} {model}: a refused fit leaves model.yaml as it was"
        );
    }
    // The same model fits where every group has both labels.
    let out = env.run(&[
        "fairness",
        "mitigate",
        "--scores",
        "ok.csv",
        "--sensitive",
        "sex",
        "--model",
        "binary",
        "-o",
        "fitted",
    ]);
    assert!(out.contains("wrote group thresholds on `sex`"), "{out}");
    let spec = String::from_utf8(env.read("fitted/model.yaml")).expect("utf-8");
    assert!(spec.contains("postprocess"), "{spec}");
}

#[test]
fn the_rows_that_moved_most_are_named_by_an_id_column() {
    let env = TestEnv::new();
    let report = report(
        &env,
        &on_fixture("counterfactual", &["--sensitive", "sex", "--id", "id"]),
    );
    let text = std::fs::read_to_string(DATA).expect("read");
    let ids: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().expect("an id"))
        .collect();
    let largest = &report.columns[0].largest;
    assert!(!largest.is_empty());
    for change in largest {
        assert_eq!(change.id.as_deref(), Some(ids[change.row]), "{change:?}");
    }
}

#[test]
fn a_tree_model_is_asked_through_its_own_encoding_as_predict_scores_it() {
    let env = TestEnv::new();
    // LightGBM's categorical split on `cat`, read as its codes.
    let data = crate::tree_models::fixture("categorical.input.csv");
    let model = crate::tree_models::fixture("lgb_categorical.txt");
    env.run(&["model", "import", model.to_str().expect("utf-8"), "-o", "m"]);
    env.run(&[
        "predict",
        "--model",
        "m",
        data.to_str().expect("utf-8"),
        "-o",
        "scored.csv",
    ]);
    let predicted = String::from_utf8(env.read("scored.csv")).expect("UTF-8");
    let scores: Vec<f64> = predicted
        .lines()
        .skip(1)
        .map(|l| {
            l.rsplit(',')
                .next()
                .expect("a score")
                .parse()
                .expect("a number")
        })
        .collect();
    let report = report(
        &env,
        &[
            "fairness",
            "counterfactual",
            "--model",
            "m",
            data.to_str().expect("utf-8"),
            "--sensitive",
            "cat",
        ],
    );
    let column = &report.columns[0];
    assert_eq!(column.model_takes_it, Some(true));
    let overall = column.overall.as_ref().expect("overall");
    assert!(
        overall.flip_rate > 0.0 && overall.flip_rate <= 1.0,
        "{overall:?}"
    );
    assert!(!column.largest.is_empty());
    for change in &column.largest {
        // The score as it is, the same f32 `predict` writes.
        close(change.score, scores[change.row], "a row's own score");
    }
    // Its missing inputs (trees take them) leave no neighbours to find: said, not failed.
    assert!(
        column.consistency.is_some() || column.consistency_unmeasured.is_some(),
        "{column:?}"
    );
}
