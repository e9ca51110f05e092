//! `mlops status`: every state, `--check`, and `--json`.

use crate::support::{TestEnv, object_path, pointer_digest};

#[test]
fn clean_workspace_is_up_to_date_and_check_passes() {
    let env = TestEnv::new();
    env.write("data/a", "1");
    env.run(&["add", "data"]);
    let out = env.run(&["status", "--check"]);
    assert_eq!(out.trim(), "everything is up to date (1 tracked)");
}

#[test]
fn modified_directory_lists_what_changed() {
    let env = TestEnv::new();
    env.write("data/a", "1")
        .write("data/b", "2")
        .write("data/c", "3");
    env.run(&["add", "data"]);
    env.write("data/a", "changed").write("data/new", "4");
    std::fs::remove_file(env.path("data/c")).expect("rm");
    let (out, _) = env.fails(1, &["status", "--check"]);
    assert_eq!(
        out.trim(),
        "data: modified (1 added, 1 modified, 1 deleted)\n  \
         added:    data/new\n  \
         modified: data/a\n  \
         deleted:  data/c"
    );
    let report = env.json(&["status"]);
    let path = &report["paths"][0];
    assert_eq!(path["states"], serde_json::json!(["modified"]));
    assert_eq!(path["changes"]["added"], serde_json::json!(["data/new"]));
    assert_eq!(path["changes"]["modified"], serde_json::json!(["data/a"]));
    assert_eq!(path["changes"]["deleted"], serde_json::json!(["data/c"]));
}

#[test]
fn modified_directory_names_ten_files_unless_all() {
    let env = TestEnv::new();
    env.write("data/a", "1");
    env.run(&["add", "data"]);
    for i in 0..12 {
        env.write(&format!("data/new{i:02}"), "n");
    }
    let out = env.run(&["status"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "data: modified (12 added, 0 modified, 0 deleted)");
    assert_eq!(lines[1], "  added:    data/new00");
    assert_eq!(lines[10], "  added:    data/new09");
    assert_eq!(
        lines[11],
        "  ... and 2 more (`mlops status --all` lists every one)"
    );
    assert_eq!(lines.len(), 12, "{out}");
    let out = env.run(&["status", "--all"]);
    assert_eq!(out.lines().count(), 13, "{out}");
    assert!(out.contains("  added:    data/new11\n"), "{out}");
}

#[test]
fn missing_and_not_in_cache() {
    let env = TestEnv::new();
    env.write("model.bin", "w");
    env.run(&["add", "model.bin"]);
    std::fs::remove_file(env.path("model.bin")).expect("rm");
    let digest = pointer_digest(&env, "model.bin.mlops");
    std::fs::remove_file(object_path(&env, &digest)).expect("rm object");
    let (out, _) = env.fails(1, &["status", "--check"]);
    assert_eq!(
        out.trim(),
        "model.bin: missing from workspace, not in cache"
    );
    // Without --check the answer is the same but the exit status is 0.
    env.run(&["status"]);
}

#[test]
fn not_pushed_until_pushed() {
    let env = TestEnv::new();
    env.default_remote();
    env.write("data/a", "1");
    env.run(&["add", "data"]);
    let (out, _) = env.fails(1, &["status", "--check"]);
    assert_eq!(out.trim(), "data: not pushed");
    env.run(&["push"]);
    let out = env.run(&["status", "--check"]);
    assert!(out.contains("pushed to `origin`"), "{out}");
}

#[test]
fn status_of_selected_targets_and_json_shape() {
    let env = TestEnv::new();
    env.write("a/x", "1").write("b/y", "2");
    env.run(&["add", "a", "b"]);
    env.write("b/y", "changed");
    let report = env.json(&["status", "a"]);
    assert_eq!(report["paths"].as_array().expect("array").len(), 1);
    assert_eq!(report["paths"][0]["path"], "a");
    assert_eq!(report["paths"][0]["kind"], "dir");
    assert_eq!(report["paths"][0]["states"], serde_json::json!([]));
    assert_eq!(report["remote"], serde_json::Value::Null);
    // A pointer file names its target too.
    let report = env.json(&["status", "b.mlops"]);
    assert_eq!(
        report["paths"][0]["states"],
        serde_json::json!(["modified"])
    );
}

#[test]
fn a_fresh_workspace_says_nothing_is_tracked() {
    let env = TestEnv::new();
    assert!(env.run(&["status"]).contains("nothing is tracked yet"));
}

#[test]
fn the_root_and_repeated_targets_mean_everything_once() {
    let env = TestEnv::new();
    env.write("a/x", "1").write("sub/b/y", "2");
    env.run(&["add", "a", "sub/b", "a"]);
    let report = env.json(&["status", "."]);
    assert_eq!(report["paths"].as_array().expect("array").len(), 2);
    let out = env
        .cmd_in(&env.path("sub"), &["--json", "status", "."])
        .output()
        .expect("run");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["paths"][0]["path"], "sub/b");
}
