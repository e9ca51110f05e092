//! Git history in real temporary repositories: `mlops diff` across commits, `gc --all-commits`
//! keeping what older commits need, and the model registry on git tags.

use crate::support::TestEnv;

/// A workspace in a git repository with an identity for commits and tags.
pub(crate) fn repo() -> TestEnv {
    let env = TestEnv::new();
    env.git(&["config", "user.name", "Ada"]);
    env.git(&["config", "user.email", "ada@example.com"]);
    env
}

pub(crate) fn commit(env: &TestEnv, message: &str) {
    env.git(&["add", "-A"]);
    env.git(&["commit", "-q", "-m", message]);
}

/// A bare repository beside the workspace, added as the git remote `origin`.
pub(crate) fn bare_origin(env: &TestEnv) -> std::path::PathBuf {
    let origin = env.outside("origin.git");
    let path = origin.to_str().expect("utf-8");
    crate::support::git_in(env.root(), &["init", "-q", "--bare", "-b", "main", path]);
    env.git(&["remote", "add", "origin", path]);
    origin
}

/// Runs `git commit`, expecting a hook to refuse it; returns git's standard error.
pub(crate) fn commit_refused(env: &TestEnv, message: &str) -> String {
    let output = std::process::Command::new("git")
        .args(["commit", "-q", "-m", message])
        .current_dir(env.root())
        .output()
        .expect("git commit");
    assert!(!output.status.success(), "the commit went through");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Three commits: data with two files; data with one changed and one added file; a model.
fn three_commits(env: &TestEnv) {
    env.write("data/a.csv", "x\n1\n")
        .write("data/b.csv", "x\n2\n");
    env.run(&["add", "data"]);
    commit(env, "data v1");
    env.write("data/a.csv", "x\n1\n10\n")
        .write("data/c.csv", "x\n3\n");
    env.run(&["add", "data"]);
    commit(env, "data v2");
    env.write("model.bin", "weights");
    env.run(&["add", "model.bin"]);
    commit(env, "model");
}

#[test]
fn diff_shows_what_changed_between_commits_and_in_the_workspace() {
    let env = repo();
    three_commits(&env);
    let report = env.json(&["diff", "HEAD~2", "HEAD~1"]);
    let changes = report["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{report}");
    assert_eq!(changes[0]["path"], "data");
    assert_eq!(changes[0]["change"], "modified");
    assert_eq!(changes[0]["files"]["added"], serde_json::json!(["c.csv"]));
    assert_eq!(
        changes[0]["files"]["modified"],
        serde_json::json!(["a.csv"])
    );
    assert_eq!(changes[0]["size_before"], 8);

    let report = env.json(&["diff", "HEAD~1", "HEAD"]);
    assert_eq!(report["changes"][0]["path"], "model.bin");
    assert_eq!(report["changes"][0]["change"], "added");

    let text = env.run(&["diff", "HEAD~2", "HEAD"]);
    assert!(
        text.contains("modified  data") && text.contains("  + c.csv"),
        "{text}"
    );
    assert!(text.contains("added     model.bin"), "{text}");

    // HEAD against the workspace: nothing, then a change that was added but not committed.
    assert!(env.run(&["diff"]).starts_with("no tracked data differs"));
    std::fs::remove_file(env.path("data/b.csv")).expect("remove");
    env.run(&["add", "data"]);
    let report = env.json(&["diff"]);
    assert_eq!(report["to"], "workspace");
    assert_eq!(
        report["changes"][0]["files"]["removed"],
        serde_json::json!(["b.csv"])
    );

    let (_, err) = env.fails(2, &["diff", "no-such-branch"]);
    assert!(err.contains("unknown revision `no-such-branch`"), "{err}");
}

#[test]
fn gc_all_commits_keeps_what_older_commits_need() {
    let env = repo();
    three_commits(&env);
    let plain = env.json(&["gc", "--dry-run"]);
    assert!(
        plain["removed_objects"].as_u64().expect("count") > 0,
        "{plain}"
    );
    let kept = env.json(&["gc", "--all-commits"]);
    assert_eq!(kept["removed_objects"], 0, "{kept}");

    // The first commit's data still checks out after gc.
    env.git(&["checkout", "-q", "HEAD~2"]);
    env.run(&["checkout"]);
    assert_eq!(env.read("data/a.csv"), b"x\n1\n");
    assert!(!env.path("data/c.csv").exists());
}

#[test]
fn the_registry_registers_assigns_and_gets_versions() {
    let env = repo();
    env.write("models/churn/weights.bin", "v1").write(
        "models/churn/metrics.json",
        r#"{"validation": {"roc_auc": 0.81}}"#,
    );
    env.run(&["add", "models/churn"]);
    commit(&env, "churn v1");
    let first = env.json(&["model", "register", "churn", "--path", "models/churn"]);
    assert_eq!(first["tag"], "churn@v0.0.1");
    assert_eq!(first["model_info"]["metrics"]["roc_auc"], 0.81);

    env.write("models/churn/weights.bin", "v2");
    env.run(&["add", "models/churn"]);
    commit(&env, "churn v2");
    let second = env.json(&[
        "model",
        "register",
        "churn",
        "--path",
        "models/churn",
        "--bump",
        "minor",
    ]);
    assert_eq!(second["tag"], "churn@v0.1.0");

    for (version, stage) in [
        ("v0.0.1", "prod"),
        ("v0.1.0", "staging"),
        ("v0.1.0", "prod"),
    ] {
        let assign = ["model", "assign", "churn", "--version", version];
        env.run(&[&assign[..], &["--stage", stage]].concat());
    }

    let list = env.json(&["model", "list"]);
    assert_eq!(list[0]["latest"], "v0.1.0");
    assert_eq!(list[0]["stages"]["prod"], "v0.1.0");
    assert_eq!(list[0]["stages"]["staging"], "v0.1.0");

    let history = env.json(&["model", "history", "churn"]);
    let changes: Vec<(String, String)> = history
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["tag"].as_str().expect("tag").to_owned(),
                e["by"].as_str().expect("by").to_owned(),
            )
        })
        .collect();
    let tags: Vec<&str> = changes.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        tags,
        [
            "churn@v0.0.1",
            "churn@v0.1.0",
            "churn#prod#1",
            "churn#staging#2",
            "churn#prod#3"
        ]
    );
    assert!(changes.iter().all(|(_, by)| by == "Ada <ada@example.com>"));
    assert_eq!(history[2]["version"], "v0.0.1");
    assert_eq!(history[4]["version"], "v0.1.0");

    // What prod holds comes back from the cache, even after the workspace moved on.
    env.write("models/churn/weights.bin", "v3");
    env.run(&["model", "get", "churn#prod", "-o", "deployed/churn"]);
    assert_eq!(env.read("deployed/churn/weights.bin"), b"v2");
    env.run(&["model", "get", "churn@v0.0.1", "-o", "old/churn"]);
    assert_eq!(env.read("old/churn/weights.bin"), b"v1");

    // Plain git reads the tags and their messages.
    let tags = env.git(&["tag", "-n"]);
    assert!(
        tags.contains("churn@v0.1.0") && tags.contains("Registering artifact churn version v0.1.0"),
        "{tags}"
    );

    env.run(&["model", "unassign", "churn", "--stage", "staging"]);
    env.run(&["model", "deprecate", "churn", "--version", "v0.0.1"]);
    let list = env.json(&["model", "list"]);
    assert_eq!(list[0]["versions"], serde_json::json!(["v0.1.0"]));
    assert!(list[0]["stages"].get("staging").is_none(), "{list}");
}

#[test]
fn the_registry_refuses_bad_versions_and_names() {
    let env = repo();
    env.write("m/weights.bin", "w");
    env.run(&["add", "m"]);
    commit(&env, "m");
    env.run(&[
        "model",
        "register",
        "m",
        "--path",
        "m",
        "--version",
        "v1.0.0",
    ]);
    let (_, err) = env.fails(
        2,
        &["model", "register", "m", "--path", "m", "--version", "1.0"],
    );
    assert!(
        err.contains("`1.0` is not a version of the form vMAJOR.MINOR.PATCH"),
        "{err}"
    );
    let (_, err) = env.fails(
        2,
        &[
            "model",
            "register",
            "m",
            "--path",
            "m",
            "--version",
            "v1.0.0",
        ],
    );
    assert!(err.contains("`m@v1.0.0` is already registered"), "{err}");
    let (_, err) = env.fails(
        2,
        &[
            "model",
            "assign",
            "m",
            "--version",
            "v1.0.0",
            "--stage",
            "Prod#1",
        ],
    );
    assert!(err.contains("`Prod#1` is not a valid stage name"), "{err}");
    let (_, err) = env.fails(2, &["model", "register", "m", "--path", "nothing"]);
    assert!(
        err.contains("`nothing` is not tracked by mlops at HEAD"),
        "{err}"
    );
    let (_, err) = env.fails(2, &["model", "get", "m#prod", "-o", "out"]);
    assert!(
        err.contains("`m#prod` names nothing in the registry"),
        "{err}"
    );
}

#[test]
fn history_commands_outside_git_say_so() {
    let env = TestEnv::bare();
    env.run(&["init", "--no-git"]);
    let (_, err) = env.fails(2, &["diff"]);
    assert!(
        err.contains("is not inside a git repository") && err.contains("git init"),
        "{err}"
    );
}

#[test]
fn hooks_chain_an_existing_hook_and_uninstall_restores_it() {
    let env = repo();
    let original = "#!/bin/sh\necho ran >> \"$(git rev-parse --git-dir)/original-ran\"\n";
    let hook = env.path(".git/hooks/pre-commit");
    std::fs::write(&hook, original).expect("write hook");
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");

    let (_, err) = env.fails(2, &["hooks", "install"]);
    assert!(
        err.contains("is a hook mlops did not write") && err.contains("--force"),
        "{err}"
    );
    let installed = env.json(&["hooks", "install", "--force"]);
    assert_eq!(installed[0]["action"], "chained");

    // Both hooks run on a commit: the original first, then mlops's check.
    env.write("data/a.csv", "x\n1\n");
    env.run(&["add", "data"]);
    commit(&env, "data");
    assert!(
        env.path(".git/original-ran").exists(),
        "the original hook ran"
    );

    // A tracked file changed without `mlops add` stops the commit, naming it.
    env.write("data/a.csv", "x\n2\n");
    env.write("notes.txt", "n");
    env.git(&["add", "notes.txt"]);
    let err = commit_refused(&env, "refused");
    assert!(
        err.contains("data changed but was not added: run `mlops add data`")
            && err.contains("`git commit --no-verify` skips this check"),
        "{err}"
    );
    env.run(&["add", "data"]);
    commit(&env, "data v2");

    let removed = env.json(&["hooks", "uninstall"]);
    assert_eq!(removed[0]["action"], "restored");
    assert_eq!(std::fs::read_to_string(&hook).expect("hook"), original);
    assert!(!env.path(".git/hooks/post-commit").exists());
}

#[test]
fn post_checkout_brings_the_branch_data_and_post_commit_records_notes() {
    let env = repo();
    env.run(&["hooks", "install"]);
    env.write("data/a.csv", "main\n");
    env.run(&["add", "data"]);
    commit(&env, "main data");
    env.git(&["checkout", "-q", "-b", "other"]);
    env.write("data/a.csv", "other\n");
    env.run(&["add", "data"]);
    commit(&env, "other data");
    env.write("data/a.csv", "other v2\n");
    env.run(&["add", "data"]);
    commit(&env, "other data v2");

    env.git(&["checkout", "-q", "main"]);
    assert_eq!(env.read("data/a.csv"), b"main\n");
    env.git(&["checkout", "-q", "other"]);
    assert_eq!(env.read("data/a.csv"), b"other v2\n");

    // Every commit got a note, and `log` shows the data path's changes.
    let log = env.json(&["log", "data"]);
    let summaries: Vec<(&str, &str)> = log
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["summary"].as_str().expect("summary"),
                e["change"].as_str().expect("change"),
            )
        })
        .collect();
    assert_eq!(
        summaries,
        [
            ("other data v2", "modified"),
            ("other data", "modified"),
            ("main data", "added")
        ]
    );
    assert!(
        log.as_array()
            .expect("entries")
            .iter()
            .all(|e| e["noted"] == true),
        "{log}"
    );
    let notes = env.git(&["notes", "--ref", "mlops", "show", "HEAD"]);
    assert!(notes.contains("\"data\":{\"digest\""), "{notes}");

    // Notes travel to a remote and merge back without losing either side.
    let remote = bare_origin(&env);
    env.run(&["notes", "push"]);
    env.run(&["notes", "fetch"]);
    let remote_notes = crate::support::git_in(&remote, &["notes", "--ref", "mlops", "list"]);
    assert_eq!(remote_notes.lines().count(), 3, "{remote_notes}");
}

#[test]
fn log_shows_data_changes_with_the_metrics_of_each_commit() {
    let env = repo();
    env.run(&["hooks", "install"]);
    env.write(
        "mlops.yaml",
        "stages:\n  score:\n    cmd: cp data/m.json metrics.json\n    deps: [data]\n    metrics: [metrics.json]\n",
    );
    for (i, acc) in ["0.7", "0.8", "0.9"].iter().enumerate() {
        env.write("data/a.csv", format!("x\n{i}\n"));
        env.write("data/m.json", format!("{{\"acc\": {acc}}}"));
        env.run(&["add", "data"]);
        env.run(&["run"]);
        commit(&env, &format!("round {i}"));
    }
    let log = env.json(&["log", "data", "-n", "10"]);
    let rows: Vec<(String, f64)> = log
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["change"].as_str().expect("change").to_owned(),
                e["metrics"]["metrics.json:acc"].as_f64().expect("acc"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("modified".to_owned(), 0.9),
            ("modified".to_owned(), 0.8),
            ("added".to_owned(), 0.7)
        ]
    );
    let diff = env.json(&["diff", "HEAD~2", "HEAD"]);
    let paths: Vec<&str> = diff["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| c["path"].as_str().expect("path"))
        .collect();
    assert_eq!(paths, ["data", "metrics.json"]);
}

#[test]
fn pre_push_pushes_the_data_of_the_pushed_commits() {
    let env = repo();
    let storage = env.outside("storage");
    env.run(&[
        "remote",
        "add",
        "--default",
        "storage",
        storage.to_str().expect("utf-8"),
    ]);
    env.run(&["hooks", "install"]);
    env.write("data/a.csv", "x\n1\n");
    env.run(&["add", "data"]);
    commit(&env, "data");
    bare_origin(&env);
    let status = env.json(&["status"]);
    assert!(status.to_string().contains("not_pushed"), "{status}");
    env.git(&["push", "-q", "origin", "main"]);
    let status = env.json(&["status"]);
    assert!(!status.to_string().contains("not_pushed"), "{status}");
}

#[test]
fn hooks_print_a_pre_commit_config_and_refuse_newer_notes() {
    let env = repo();
    let config = env.run(&["hooks", "install", "--pre-commit-config"]);
    assert!(
        config.contains("entry: mlops hook pre-push") && config.contains("stages: [post-checkout]"),
        "{config}"
    );
    assert!(!env.path(".git/hooks/pre-commit").exists());

    env.write("f.txt", "f");
    commit(&env, "f");
    env.git(&[
        "notes",
        "--ref",
        "mlops",
        "add",
        "-m",
        r#"{"format": 99}"#,
        "HEAD",
    ]);
    let (_, err) = env.fails(2, &["log"]);
    assert!(
        err.contains("has format 99, newer than this mlops reads"),
        "{err}"
    );
}

#[test]
fn divergent_notes_merge_and_keep_both_sides() {
    let env = repo();
    env.run(&["hooks", "install"]);
    env.write("f.txt", "f");
    commit(&env, "one");
    let origin = bare_origin(&env);
    let origin_path = origin.to_str().expect("utf-8");
    env.git(&["push", "-q", "origin", "main"]);
    env.run(&["notes", "push"]);

    // A second clone records another line on the same commit and pushes it.
    let other = env.outside("other");
    crate::support::git_in(
        env.root(),
        &["clone", "-q", origin_path, other.to_str().expect("utf-8")],
    );
    let other_env = |args: &[&str]| crate::support::git_in(&other, args);
    other_env(&["fetch", "-q", "origin", "refs/notes/mlops:refs/notes/mlops"]);
    other_env(&[
        "notes",
        "--ref",
        "mlops",
        "append",
        "-m",
        r#"{"from":"other"}"#,
        "HEAD",
    ]);
    other_env(&["push", "-q", "origin", "refs/notes/mlops"]);

    // Meanwhile this clone adds its own line: the notes diverge.
    env.git(&[
        "notes",
        "--ref",
        "mlops",
        "append",
        "-m",
        r#"{"from":"here"}"#,
        "HEAD",
    ]);
    env.run(&["notes", "fetch"]);
    let merged = env.git(&["notes", "--ref", "mlops", "show", "HEAD"]);
    assert!(
        merged.contains(r#"{"from":"here"}"#) && merged.contains(r#"{"from":"other"}"#),
        "{merged}"
    );
    assert!(merged.contains("\"format\":1"), "{merged}");
    // The merge descends from both sides, so pushing it fast-forwards.
    env.run(&["notes", "push"]);
    let remote = crate::support::git_in(&origin, &["notes", "--ref", "mlops", "show", "main"]);
    assert!(
        remote.contains(r#"{"from":"here"}"#) && remote.contains(r#"{"from":"other"}"#),
        "{remote}"
    );
}
