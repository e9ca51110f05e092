//! `mlops model card`: the quickstart's model, registered, with a mitigated copy made by the
//! pipeline: its card lists the lineage (stages, data digests and schemas, params), both
//! evaluations (as trained, and after mitigation), the counterfactual check, metrics and drift,
//! and what is missing; an old version keeps its own reports; `card.yaml` is read at the
//! version's commit and checked. A stage's output that has an eval report's keys but another
//! schema is listed as missing, naming the file.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::support::{TestEnv, git_in};

// The card's top-level schema, pinned: a key added or renamed fails here.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "the fields pin the schema; some are only parsed")]
struct Card {
    model: String,
    version: Option<String>,
    path: PathBuf,
    digest: Option<String>,
    side: String,
    revision: Option<Value>,
    registry: Option<Value>,
    about: Value,
    spec: Option<Value>,
    training: Option<Value>,
    lineage: Option<Value>,
    evaluations: Vec<Value>,
    fairness_checks: Vec<Value>,
    postprocess: Option<Value>,
    metrics: Vec<Value>,
    drift: Vec<Value>,
    monitoring: Vec<Value>,
    missing: Vec<Missing>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Missing {
    section: String,
    why: String,
}

impl Card {
    fn sections_missing(&self) -> Vec<&str> {
        self.missing.iter().map(|m| m.section.as_str()).collect()
    }
}

/// The stages that score the training split, mitigate the model (`models/credit-mitigated`),
/// score and evaluate the mitigated model on the test split, and ask the model the
/// counterfactual question: what a project adds to the quickstart's pipeline to mitigate.
fn mitigation_stages(mlops: &str) -> String {
    format!(
        "  card_score_train:
    cmd: >-
      {mlops} -q predict --model models/credit data/prepared/train.parquet --keep gender,default -o scores/card-train.parquet
    deps: [models/credit, data/prepared]
    outs: [scores/card-train.parquet]
  card_mitigate:
    cmd: >-
      {mlops} -q fairness mitigate --scores scores/card-train.parquet --label default --sensitive gender --model models/credit -o models/credit-mitigated --force
    deps: [scores/card-train.parquet, models/credit]
    outs: [models/credit-mitigated]
  card_predict_mitigated:
    cmd: >-
      {mlops} -q predict --model models/credit-mitigated data/prepared/test.parquet --keep gender,default,region -o scores/card-test-mitigated.parquet
    deps: [models/credit-mitigated, data/prepared]
    outs: [scores/card-test-mitigated.parquet]
  card_evaluate_mitigated:
    cmd: >-
      mkdir -p reports && {mlops} -q eval scores/card-test-mitigated.parquet --label default --prediction prediction --slice region --sensitive gender -o reports/card-eval-mitigated.json
    deps: [scores/card-test-mitigated.parquet]
    outs: [reports/card-eval-mitigated.json]
  card_counterfactual:
    cmd: >-
      mkdir -p reports && {mlops} -q fairness counterfactual --model models/credit data/prepared/test.parquet --sensitive gender -o reports/card-counterfactual.json
    deps: [models/credit, data/prepared]
    outs: [reports/card-counterfactual.json]
"
    )
}

/// The quickstart at a small size in `demo/`, with a git identity for the registry's tags.
fn quickstart() -> (TestEnv, PathBuf) {
    let env = TestEnv::bare();
    env.run(&["-q", "quickstart", "demo", "--rows", "2000"]);
    let dir = env.path("demo");
    git_in(&dir, &["config", "user.name", "Ada"]);
    git_in(&dir, &["config", "user.email", "ada@example.com"]);
    (env, dir)
}

fn commit(dir: &Path, message: &str) {
    git_in(dir, &["add", "-A"]);
    git_in(dir, &["commit", "-q", "-m", message]);
}

/// `mlops -C demo --json ARGS`, parsed as a card.
fn model_card(env: &TestEnv, args: &[&str]) -> (Card, Value) {
    let mut all = vec!["-C", "demo", "model", "card"];
    all.extend_from_slice(args);
    let value = env.json(&all);
    let card = serde_json::from_value(value.clone()).expect("the card's schema");
    (card, value)
}

fn files(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|e| e["file"].as_str().expect("a file"))
        .collect()
}

/// The quickstart with the mitigation stages run and committed, its model registered as
/// `credit` v0.0.1 and assigned to prod.
fn mitigated_quickstart() -> (TestEnv, PathBuf) {
    let (env, dir) = quickstart();
    let mlops = format!("'{}'", assert_cmd::cargo::cargo_bin("mlops").display());
    let pipeline = std::fs::read_to_string(dir.join("mlops.yaml")).expect("mlops.yaml");
    let at = pipeline
        .find("# `mlops plots show")
        .expect("the plots after the stages");
    let pipeline = format!(
        "{}{}{}",
        &pipeline[..at],
        mitigation_stages(&mlops),
        &pipeline[at..]
    );
    std::fs::write(dir.join("mlops.yaml"), pipeline).expect("write mlops.yaml");
    env.run(&["-q", "-C", "demo", "run"]);
    commit(&dir, "Mitigate");
    env.run(&[
        "-C",
        "demo",
        "model",
        "register",
        "credit",
        "--path",
        "models/credit",
    ]);
    env.run(&[
        "-C",
        "demo",
        "model",
        "assign",
        "credit",
        "--version",
        "v0.0.1",
        "--stage",
        "prod",
    ]);
    (env, dir)
}

/// The lineage of the quickstart's model: the stages from the data to the model, their
/// inputs' digests, sizes and schemas, and their params.
fn check_lineage(lineage: &Value) {
    assert_eq!(lineage["producer"], "train");
    let stages: Vec<&str> = lineage["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(stages, ["prepare", "train"]);
    let data = &lineage["stages"][0]["deps"][0];
    assert_eq!(data["path"], "data/customers.parquet");
    assert_eq!(data["digest"].as_str().map(str::len), Some(64));
    assert!(data["size"].as_u64().is_some_and(|s| s > 0), "{data}");
    assert_eq!(data["tables"][0]["rows"], 2000);
    let columns: Vec<&str> = data["tables"][0]["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert!(
        columns.contains(&"gender") && columns.contains(&"income"),
        "{columns:?}"
    );
    assert_eq!(
        lineage["stages"][1]["params"]["params.yaml:train.epochs"],
        4
    );
    assert_eq!(lineage["stages"][1]["deps"][0]["produced_by"], "prepare");
}

#[test]
fn the_quickstart_models_card_lists_its_lineage_and_both_evaluations() {
    let (env, dir) = mitigated_quickstart();
    let (card, json) = model_card(&env, &["credit#prod"]);
    assert_eq!(
        (card.model.as_str(), card.version.as_deref()),
        ("credit", Some("v0.0.1"))
    );
    assert_eq!(card.path, Path::new("models/credit"));
    assert_eq!(card.side, "commit");
    assert_eq!(json["registry"]["stages"], serde_json::json!(["prod"]));
    assert_eq!(json["registry"]["registered_by"], "Ada <ada@example.com>");
    check_lineage(card.lineage.as_ref().expect("a lineage"));
    // Both evaluations: the model as trained, and the mitigated model made from it.
    assert_eq!(
        files(&card.evaluations),
        ["reports/eval.json", "reports/card-eval-mitigated.json"]
    );
    let (trained, mitigated) = (&card.evaluations[0], &card.evaluations[1]);
    assert_eq!(trained["stage"], "evaluate");
    assert_eq!(trained["model"]["path"], "models/credit");
    assert_eq!(trained["model"]["postprocessed"], false);
    assert_eq!(mitigated["model"]["path"], "models/credit-mitigated");
    assert_eq!(mitigated["model"]["stage"], "card_mitigate");
    assert_eq!(mitigated["model"]["postprocessed"], true);
    assert!(
        trained["weak_slices"]
            .as_array()
            .expect("slices")
            .iter()
            .any(|s| s["slice"] == "region=east"),
        "{trained}"
    );
    assert!(trained["overall"][0]["ci"].is_array(), "{trained}");
    assert_eq!(
        trained["fairness"]["sensitive"],
        serde_json::json!(["gender"])
    );
    assert_eq!(
        files(&card.fairness_checks),
        ["reports/card-counterfactual.json"]
    );
    assert_eq!(files(&card.metrics), ["reports/metrics.json"]);
    assert_eq!(files(&card.drift), ["reports/drift.json"]);
    assert_eq!(card.drift[0]["dataset_drift"], true);
    assert_eq!(card.drift[0]["stage"], "monitor");
    // Nothing is invented: no card.yaml, so its section is listed as missing, and only it.
    assert_eq!(card.sections_missing(), ["card"], "{:?}", card.missing);
    assert!(
        card.missing[0].why.contains("models/credit.card.yaml"),
        "{:?}",
        card.missing
    );

    let markdown = env.run(&["-C", "demo", "model", "card", "credit#prod"]);
    crate::render::snapshot_redacting(
        &env,
        "model_card_markdown",
        &markdown,
        &[
            // The mlops binary the pipeline's commands run.
            (r"'[^']*/mlops'", "mlops"),
            // Short digests and commits.
            (r"\b[0-9a-f]{12}\b", "[SHORT]"),
            // File sizes, which follow the Parquet writer's encoding.
            (r"\b\d+(\.\d)? (B|KiB|MiB)\b", "[SIZE]"),
        ],
    );

    env.run(&["-C", "demo", "model", "card", "credit", "-o", "card.html"]);
    let page = std::fs::read_to_string(dir.join("card.html")).expect("the page");
    assert!(page.len() < 1 << 20, "{} bytes", page.len());
    assert!(!page.contains("http://") && !page.contains("https://"));
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<h2>Lineage</h2>"));
    assert!(page.contains("reports/card-eval-mitigated.json"));

    // The mitigated model, given as a directory: read from the workspace, with its
    // post-processing's comparison and no registry.
    let (card, json) = model_card(&env, &["models/credit-mitigated"]);
    assert_eq!(card.side, "workspace");
    assert!(
        card.sections_missing().contains(&"registry"),
        "{:?}",
        card.missing
    );
    assert_eq!(json["postprocess"]["method"], "threshold_optimizer");
    assert_eq!(json["postprocess"]["sensitive"], "gender");
    let ratio = json["postprocess"]["comparison"]
        .as_array()
        .expect("comparison")
        .iter()
        .find(|r| r["metric"] == "demographic_parity_ratio")
        .expect("the ratio before and after");
    assert!(
        ratio["after"].as_f64() > ratio["before"].as_f64(),
        "{ratio}"
    );
    assert_eq!(
        card.lineage.as_ref().expect("lineage")["producer"],
        "card_mitigate"
    );
}

#[test]
fn an_old_version_keeps_its_reports_and_card_yaml_is_read_at_its_commit() {
    let (env, dir) = quickstart();
    env.run(&[
        "-C",
        "demo",
        "model",
        "register",
        "credit",
        "--path",
        "models/credit",
    ]);
    let (first, _) = model_card(&env, &["credit@v0.0.1"]);
    let digest = |card: &Card| card.evaluations[0]["digest"].clone();

    // A retrained model and its card.yaml, committed and registered as v0.0.2.
    let params = std::fs::read_to_string(dir.join("params.yaml")).expect("params");
    std::fs::write(
        dir.join("params.yaml"),
        params.replace("epochs: 4", "epochs: 5"),
    )
    .expect("write params");
    std::fs::write(
        dir.join("models/credit.card.yaml"),
        "intended_use: |\n  Ranking applications for review.\nowners: credit-risk team\nlicense: Apache-2.0\n",
    )
    .expect("write card.yaml");
    env.run(&["-q", "-C", "demo", "run"]);
    commit(&dir, "Retrain");
    env.run(&[
        "-C",
        "demo",
        "model",
        "register",
        "credit",
        "--path",
        "models/credit",
    ]);

    let (old, _) = model_card(&env, &["credit@v0.0.1"]);
    assert_eq!(digest(&old), digest(&first), "v0.0.1 shows its own report");
    assert_eq!(
        old.lineage.as_ref().expect("lineage")["stages"][1]["params"]["params.yaml:train.epochs"],
        4
    );
    let why = &old
        .missing
        .iter()
        .find(|m| m.section == "card")
        .expect("no card.yaml at v0.0.1")
        .why;
    assert!(why.contains("not committed with it"), "{why}");

    let (new, json) = model_card(&env, &["credit"]);
    assert_eq!(new.version.as_deref(), Some("v0.0.2"));
    assert_ne!(digest(&new), digest(&first));
    assert_eq!(
        json["about"]["owners"],
        serde_json::json!(["credit-risk team"])
    );
    assert_eq!(
        json["about"]["intended_use"],
        "Ranking applications for review.\n"
    );
    assert_eq!(json["about"]["file"], "models/credit.card.yaml");
    let missing = new.sections_missing();
    for key in ["description", "limitations", "ethical_considerations"] {
        assert!(missing.contains(&key), "{key}: {missing:?}");
    }
    assert!(!missing.contains(&"card") && !missing.contains(&"intended_use"));

    // A key card.yaml does not know, an unknown model, a file that is not a report: exit 2.
    std::fs::write(dir.join("models/credit.card.yaml"), "intended_us: typo\n").expect("write");
    let (_, err) = env.fails(2, &["-C", "demo", "model", "card", "models/credit"]);
    assert!(
        err.contains("models/credit.card.yaml") && err.contains("unknown field `intended_us`"),
        "{err}"
    );
    let (_, err) = env.fails(2, &["-C", "demo", "model", "card", "churn"]);
    assert!(err.contains("no model `churn` in the registry"), "{err}");
    let (_, err) = env.fails(2, &["-C", "demo", "model", "card", "credit@v9.0.0"]);
    assert!(
        err.contains("`credit@v9.0.0` names nothing in the registry"),
        "{err}"
    );
    let (_, err) = env.fails(
        2,
        &[
            "-C",
            "demo",
            "model",
            "card",
            "credit",
            "--eval",
            "params.yaml",
        ],
    );
    assert!(err.contains("params.yaml"), "{err}");
}

#[test]
fn a_report_that_does_not_read_is_listed_as_missing() {
    let env = TestEnv::new();
    env.write(
        "mlops.yaml",
        "stages:
  train:
    cmd: mkdir -p models/m && cp spec.yaml models/m/model.yaml
    deps: [spec.yaml]
    outs: [models/m]
  evaluate:
    cmd: mkdir -p reports && cp drifted.json reports/eval.json && cp notes.json reports/notes.json
    deps: [models/m, drifted.json, notes.json]
    outs: [reports]
",
    )
    // An eval report's keys with another schema; and a file that is no report at all.
    .write(
        "drifted.json",
        r#"{"task": 1, "rows": 10, "overall": [0.9], "passed": "yes"}"#,
    )
    .write("notes.json", r#"{"task": "binary", "passed": true}"#)
    .write("spec.yaml", "task: binary\n");
    env.run(&["-q", "run"]);

    let value = env.json(&["model", "card", "models/m"]);
    let card: Card = serde_json::from_value(value).expect("the card's schema");
    let sections = card.sections_missing();
    assert!(
        sections.contains(&"eval report reports/eval.json") && sections.contains(&"evaluations"),
        "{:?}",
        card.missing
    );
    assert!(
        !sections.iter().any(|s| s.contains("notes.json")),
        "{sections:?}"
    );
    let why = &card
        .missing
        .iter()
        .find(|m| m.section == "eval report reports/eval.json")
        .expect("listed")
        .why;
    assert!(
        why.starts_with(
            "`reports/eval.json` (stage `evaluate`) looks like an `mlops eval` report but does not read: "
        ) && why.contains("invalid type")
            && !why.contains('\n'),
        "{why}"
    );
}
