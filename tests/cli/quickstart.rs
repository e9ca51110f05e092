//! `mlops quickstart`: the whole demo at a small size finds what was planted in its data.

use crate::support::TestEnv;

#[test]
fn the_quickstart_runs_every_stage_and_finds_the_planted_flaws() {
    let env = TestEnv::bare();
    let report = env.json(&["quickstart", "demo", "--rows", "20000"]);
    let dir = env.path("demo");
    for report_file in [
        "reports/eval.html",
        "reports/drift.html",
        "reports/eval.json",
        "reports/drift.json",
    ] {
        assert!(dir.join(report_file).is_file(), "{report_file} is missing");
    }
    let weak = report["weak_slices"].as_array().expect("weak slices");
    assert!(weak.iter().any(|s| s == "region=east"), "{report}");
    assert!(
        report["demographic_parity_ratio"].as_f64().expect("ratio") < 0.8,
        "{report}"
    );
    assert_eq!(
        report["drifted_batches"],
        serde_json::json!(["data/batches/2026-03.parquet"])
    );
    let drift: serde_json::Value =
        serde_json::from_slice(&env.read("demo/reports/drift.json")).expect("drift report");
    let last = &drift["batches"][2];
    let mut drifted: Vec<&str> = last["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter(|c| c["drifted"] == true)
        .map(|c| c["column"].as_str().expect("name"))
        .collect();
    drifted.sort_unstable();
    assert_eq!(drifted, ["debt_ratio", "income", "region"]);

    // Every stage ran once; a second run has nothing to do, and git has it all committed.
    let records = env
        .cmd_in(&dir, &["--json", "runs"])
        .output()
        .expect("runs");
    let records: serde_json::Value = serde_json::from_slice(&records.stdout).expect("run records");
    let mut ran: Vec<&str> = records
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["status"] == "ran")
        .map(|r| r["stage"].as_str().expect("stage"))
        .collect();
    ran.sort_unstable();
    assert_eq!(ran, ["evaluate", "monitor", "predict", "prepare", "train"]);
    let eval: serde_json::Value =
        serde_json::from_slice(&env.read("demo/reports/eval.json")).expect("eval report");
    assert_eq!(
        eval["passed"], true,
        "the pipeline's own gate passes: {}",
        eval["gates"]
    );
    let runs = crate::support::git_in(&dir, &["log", "--oneline"]);
    assert_eq!(runs.lines().count(), 2, "{runs}");
    let again = env.cmd_in(&dir, &["--json", "run"]).output().expect("run");
    assert!(again.status.success());
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(
        text.contains("\"ran\":0") || text.contains("\"ran\": 0"),
        "{text}"
    );
    assert!(crate::support::git_in(&dir, &["status", "--porcelain"]).is_empty());

    let (_, err) = env.fails(2, &["quickstart", "demo"]);
    assert!(
        err.contains("the quickstart needs a new or empty directory"),
        "{err}"
    );
}
