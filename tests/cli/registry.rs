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
    let newest = history.as_array().expect("events").last().expect("event");
    assert_eq!(newest["action"], "unassigned", "{history}");
    assert_eq!(newest["version"], "v0.1.0", "{history}");
    assert!(
        env.json(&["model", "list"])[0]["stages"]
            .get("prod")
            .is_none()
    );
}

/// A workspace with tracked data and two registered models, `churn` and `fraud`.
fn two_models() -> TestEnv {
    let env = repo();
    env.write("data/a.csv", "x\n1\n")
        .write("models/churn/weights.bin", "churn")
        .write("models/churn/sub/extra.txt", "extra")
        .write("models/fraud/weights.bin", "fraud");
    env.run(&["add", "data", "models/churn", "models/fraud"]);
    commit(&env, "data and models");
    for model in ["churn", "fraud"] {
        let path = format!("models/{model}");
        env.run(&["model", "register", model, "--path", &path]);
    }
    env
}

/// Every file of the workspace's data, models and cache.
fn files(env: &TestEnv) -> std::collections::BTreeMap<String, (String, bool)> {
    let mut all = std::collections::BTreeMap::new();
    for dir in ["data", "models", ".mlops/cache"] {
        for (path, entry) in crate::support::snapshot(&env.path(dir)) {
            all.insert(format!("{dir}/{path}"), entry);
        }
    }
    all
}

#[test]
fn model_get_writes_only_into_a_new_or_empty_directory() {
    let env = two_models();
    env.write("notes/readme.txt", "mine");
    let before = files(&env);
    for (output, why, forced) in [
        (".", "workspace root", "workspace root"),
        ("models", "models/churn", "models/churn"),
        (".mlops/x", ".mlops", ".mlops"),
        (".git/x", ".git", ".git"),
        ("data", "`data`", "`data`"),
        ("models/fraud/inner", "models/fraud", "models/fraud"),
        ("models/fraud.mlops", "models/fraud", "models/fraud"),
        (
            "notes",
            "not empty",
            "`notes/readme.txt` is not a file of this model",
        ),
    ] {
        let (_, err) = env.fails(2, &["model", "get", "churn@v0.0.1", "-o", output]);
        assert!(err.contains(why), "-o {output}: {err}");
        let (_, err) = env.fails(
            2,
            &["model", "get", "churn@v0.0.1", "-o", output, "--force"],
        );
        assert!(err.contains(forced), "-o {output} --force: {err}");
    }
    assert_eq!(files(&env), before, "a refused get changed files");
    assert_eq!(env.read("notes/readme.txt"), b"mine");
    env.run(&["fsck"]);

    // A new directory, then an empty one.
    env.run(&["model", "get", "churn@v0.0.1", "-o", "fresh/churn"]);
    assert_eq!(env.read("fresh/churn/weights.bin"), b"churn");
    assert_eq!(env.read("fresh/churn/sub/extra.txt"), b"extra");
    std::fs::create_dir(env.path("empty")).expect("mkdir");
    env.run(&["model", "get", "fraud@v0.0.1", "-o", "empty"]);
    assert_eq!(env.read("empty/weights.bin"), b"fraud");

    // Again into a directory holding only that model's files: only with --force.
    env.write("fresh/churn/weights.bin", "edited");
    env.fails(2, &["model", "get", "churn@v0.0.1", "-o", "fresh/churn"]);
    env.run(&[
        "model",
        "get",
        "churn@v0.0.1",
        "-o",
        "fresh/churn",
        "--force",
    ]);
    assert_eq!(env.read("fresh/churn/weights.bin"), b"churn");
    // Not over a file that is not one of the model's.
    env.write("fresh/churn/mine.txt", "mine");
    let (_, err) = env.fails(
        2,
        &[
            "model",
            "get",
            "churn@v0.0.1",
            "-o",
            "fresh/churn",
            "--force",
        ],
    );
    assert!(err.contains("fresh/churn/mine.txt"), "{err}");
    assert_eq!(env.read("fresh/churn/mine.txt"), b"mine");

    assert_eq!(env.read("data/a.csv"), b"x\n1\n");
    assert_eq!(env.read("models/fraud/weights.bin"), b"fraud");
    env.run(&["fsck"]);
}

#[test]
fn model_get_copies_into_a_new_or_empty_directory_outside_the_workspace() {
    let env = two_models();
    let out = env.outside("deploy/churn");
    let out_arg = out.to_str().expect("utf-8");
    env.run(&["model", "get", "churn@v0.0.1", "-o", out_arg]);
    let got = crate::support::snapshot(&out);
    let want = crate::support::snapshot(&env.path("models/churn"));
    assert_eq!(got, want, "the outside copy differs from the model");
    // Copies, not links into the cache.
    let meta = std::fs::symlink_metadata(out.join("weights.bin")).expect("stat");
    assert!(meta.file_type().is_file(), "{meta:?}");
    {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(meta.nlink(), 1, "a hard link into the cache");
    }

    // An empty directory takes the model; a non-empty one is refused, --force or not.
    let empty = env.outside("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    env.run(&[
        "model",
        "get",
        "fraud@v0.0.1",
        "-o",
        empty.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        std::fs::read(empty.join("weights.bin")).expect("read"),
        b"fraud"
    );
    let busy = env.outside("busy");
    std::fs::create_dir(&busy).expect("mkdir");
    std::fs::write(busy.join("mine.txt"), "mine").expect("write");
    let busy_arg = busy.to_str().expect("utf-8");
    let (_, err) = env.fails(2, &["model", "get", "churn@v0.0.1", "-o", busy_arg]);
    assert!(err.contains("not empty"), "{err}");
    let (_, err) = env.fails(
        2,
        &["model", "get", "churn@v0.0.1", "-o", busy_arg, "--force"],
    );
    assert!(err.contains("mine.txt"), "{err}");
    assert_eq!(std::fs::read(busy.join("mine.txt")).expect("read"), b"mine");

    // Again over the earlier copy: only with --force, which restores it.
    std::fs::write(out.join("weights.bin"), "edited").expect("write");
    env.fails(2, &["model", "get", "churn@v0.0.1", "-o", out_arg]);
    env.run(&["model", "get", "churn@v0.0.1", "-o", out_arg, "--force"]);
    assert_eq!(crate::support::snapshot(&out), want);
    let leftovers: Vec<_> = std::fs::read_dir(env.outside("deploy"))
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("churn")]);

    // A link outside that leads back into the workspace gets the workspace's checks.
    let link = env.outside("into-ws");
    std::os::unix::fs::symlink(env.root(), &link).expect("symlink");
    let (_, err) = env.fails(
        2,
        &[
            "model",
            "get",
            "churn@v0.0.1",
            "-o",
            link.join("data/x").to_str().expect("utf-8"),
        ],
    );
    assert!(err.contains("symbolic link"), "{err}");
    assert!(!env.path("data/x").exists());
    env.run(&["fsck"]);
}

#[test]
fn a_crafted_tag_cannot_point_model_get_outside_the_workspace() {
    let env = repo();
    env.write(
        "mlops.yaml",
        "stages:\n  train:\n    cmd: mkdir -p model && echo w > model/weights.bin\n    outs: [model]\n",
    );
    env.run(&["run"]);
    commit(&env, "pipeline");
    let lock = String::from_utf8(env.read("mlops.lock")).expect("utf-8");
    assert!(lock.contains("path: model\n"), "{lock}");
    let outside = env.outside("abs");
    for (i, path) in [
        "../x",
        outside.to_str().expect("utf-8"),
        ".git/hooks/post-commit",
    ]
    .into_iter()
    .enumerate()
    {
        // Someone commits a lock whose output is `path`, and a registration tag naming it.
        env.git(&["checkout", "-q", "-b", &format!("evil{i}"), "main"]);
        env.write(
            "mlops.lock",
            lock.replace("path: model\n", &format!("path: {path}\n")),
        );
        commit(&env, "evil");
        let info = serde_json::json!({ "path": path, "digest": "0" });
        let message = format!("Registering artifact evil version v1.0.{i}\n\nmlops: {info}\n");
        let tag = format!("evil@v1.0.{i}");
        env.git(&["tag", "-a", &tag, "-m", &message]);
        env.git(&["checkout", "-q", "main"]);

        let (_, err) = env.fails(2, &["model", "get", &tag, "-o", "out"]);
        assert!(err.contains(&format!("tag `{tag}`")), "{path}: {err}");
        assert!(!env.path("out").exists(), "{path}");
    }
    assert!(!env.path("../x").exists());
    assert!(!outside.exists());
    assert!(!env.path(".git/hooks/post-commit").exists());
}

#[test]
fn model_get_places_copies_whatever_cache_link_says_so_gc_cannot_break_them() {
    let env = repo();
    env.write("models/churn/weights.bin", "v1");
    env.run(&["add", "models/churn"]);
    commit(&env, "v1");
    env.run(&["model", "register", "churn", "--path", "models/churn"]);
    // The workspace moves on: v1's objects are named by no pointer and no lock any more.
    env.write("models/churn/weights.bin", "v2");
    env.run(&["add", "models/churn"]);
    commit(&env, "v2");
    for link in ["symlink", "hardlink"] {
        env.write(".mlops/config.yaml", format!("cache:\n  link: {link}\n"));
        let out = format!("deployed-{link}");
        env.run(&["model", "get", "churn@v0.0.1", "-o", &out]);
        let meta = std::fs::symlink_metadata(env.path(&format!("{out}/weights.bin")));
        let meta = meta.expect("placed");
        assert!(meta.file_type().is_file(), "{link}: not a plain file");
        // A hard link shares the cache object's inode, which gc would then free under it.
        assert_eq!(std::os::unix::fs::MetadataExt::nlink(&meta), 1, "{link}");
    }
    env.run(&["gc"]);
    for link in ["symlink", "hardlink"] {
        assert_eq!(
            env.read(&format!("deployed-{link}/weights.bin")),
            b"v1",
            "{link}"
        );
    }
}

#[test]
fn model_get_force_replaces_a_one_file_model_only_over_a_registered_version() {
    let env = repo();
    env.write("models/m.bin", "v1");
    env.run(&["add", "models/m.bin"]);
    commit(&env, "v1");
    env.run(&["model", "register", "m", "--path", "models/m.bin"]);
    env.write("models/m.bin", "v2");
    env.run(&["add", "models/m.bin"]);
    commit(&env, "v2");
    env.run(&["model", "register", "m", "--path", "models/m.bin"]);

    // A file of the user's is never replaced, --force or not.
    env.write("out/m.bin", "mine");
    for force in [false, true] {
        let mut args = vec!["model", "get", "m@v0.0.1", "-o", "out/m.bin"];
        if force {
            args.push("--force");
        }
        let (_, err) = env.fails(2, &args);
        assert!(err.contains("out/m.bin"), "{err}");
        assert_eq!(env.read("out/m.bin"), b"mine", "--force {force}");
    }
    // Another registered version of the model is replaced with --force.
    std::fs::remove_file(env.path("out/m.bin")).expect("rm");
    env.run(&["model", "get", "m@v0.0.2", "-o", "out/m.bin"]);
    env.run(&["model", "get", "m@v0.0.1", "-o", "out/m.bin", "--force"]);
    assert_eq!(env.read("out/m.bin"), b"v1");
    // So is content that is safe in the cache: it can be restored.
    env.write("data/a.csv", "x\n1\n");
    env.run(&["add", "data/a.csv"]);
    env.write("out/m.bin", "x\n1\n");
    env.run(&["model", "get", "m@v0.0.2", "-o", "out/m.bin", "--force"]);
    assert_eq!(env.read("out/m.bin"), b"v2");
}
