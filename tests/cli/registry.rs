//! The model registry against hostile or unlucky cases: versions sharing a commit, `model get`
//! into directories that hold other things, and hand-crafted tags.

use crate::history::{commit, repo};
use crate::support::TestEnv;

fn assign(env: &TestEnv, model: &str, version: &str, stage: &str) {
    env.run(&[
        "model",
        "assign",
        model,
        "--version",
        version,
        "--stage",
        stage,
    ]);
}

#[test]
fn a_stage_holds_the_version_its_tag_names_when_versions_share_a_commit() {
    let env = repo();
    env.write("models/churn/weights.bin", "w");
    env.run(&["add", "models/churn"]);
    commit(&env, "churn");
    for version in ["v0.0.1", "v0.1.0"] {
        env.run(&[
            "model",
            "register",
            "churn",
            "--path",
            "models/churn",
            "--version",
            version,
        ]);
    }
    assign(&env, "churn", "v0.0.1", "prod");

    let list = env.json(&["model", "list"]);
    assert_eq!(list[0]["latest"], "v0.1.0", "{list}");
    assert_eq!(list[0]["stages"]["prod"], "v0.0.1", "{list}");
    let history = env.json(&["model", "history", "churn"]);
    let assigned = history
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["tag"] == "churn#prod#1")
        .expect("the stage tag");
    assert_eq!(assigned["version"], "v0.0.1", "{history}");
    let got = env.json(&["model", "get", "churn#prod", "-o", "deployed"]);
    assert_eq!(got["version"], "v0.0.1", "{got}");

    // Unassigning names the version that held the stage, and moving on works from there.
    assign(&env, "churn", "v0.1.0", "prod");
    let list = env.json(&["model", "list"]);
    assert_eq!(list[0]["stages"]["prod"], "v0.1.0", "{list}");
    env.run(&["model", "unassign", "churn", "--stage", "prod"]);
    let history = env.json(&["model", "history", "churn"]);
    let last = history.as_array().expect("events").last().expect("event");
    assert_eq!(last["action"], "unassigned", "{history}");
    assert_eq!(last["version"], "v0.1.0", "{history}");
    assert!(
        env.json(&["model", "list"])[0]["stages"]
            .get("prod")
            .is_none()
    );
}
