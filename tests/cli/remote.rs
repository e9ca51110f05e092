//! Remotes: configuration, push, fetch and pull into a fresh clone.

use crate::support::{TestEnv, git_in, make_tree, snapshot};

#[test]
fn remote_add_list_default_remove() {
    let env = TestEnv::new();
    env.run(&["remote", "add", "origin", "/srv/mlops"]);
    env.run(&["remote", "add", "--local", "scratch", "file:///tmp/x"]);
    let out = env.run(&["remote", "list"]);
    assert_eq!(out, "origin\t/srv/mlops\nscratch\tfile:///tmp/x\n");
    let shared = String::from_utf8(env.read(".mlops/config.yaml")).expect("utf-8");
    assert!(
        shared.contains("origin") && !shared.contains("scratch"),
        "{shared}"
    );
    env.run(&["remote", "default", "origin"]);
    let list = env.json(&["remote", "list"]);
    assert_eq!(list[0]["default"], true);
    env.run(&["remote", "remove", "origin"]);
    assert_eq!(env.run(&["remote", "list"]), "scratch\tfile:///tmp/x\n");
    let (_, err) = env.fails(2, &["remote", "add", "scratch", "/y"]);
    assert!(err.contains("remote `scratch` already exists"), "{err}");
}

#[test]
fn push_clone_pull_gives_identical_bytes_and_a_second_push_moves_nothing() {
    let env = TestEnv::new();
    env.default_remote();
    make_tree(&env, "data", 200);
    env.write("models/model.bin", "weights");
    env.run(&["add", "data", "models/model.bin"]);
    let pushed = env.json(&["push", "-j", "4"]);
    assert!(pushed["transferred"].as_u64().expect("count") > 200);
    let again = env.json(&["push"]);
    assert_eq!(again["transferred"], 0);
    assert_eq!(again["bytes"], 0);
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "data"]);

    let clone = env.outside("clone");
    git_in(
        &env.outside(""),
        &["clone", "-q", env.root().to_str().expect("utf-8"), "clone"],
    );
    assert!(!clone.join("data").exists());
    let out = env.cmd_in(&clone, &["pull"]).output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(snapshot(&clone.join("data")), snapshot(&env.path("data")));
    assert_eq!(
        std::fs::read(clone.join("models/model.bin")).expect("read"),
        b"weights"
    );
    let out = env
        .cmd_in(&clone, &["status", "--check"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn fetch_fills_the_cache_without_touching_the_workspace() {
    let env = TestEnv::new();
    env.default_remote();
    env.write("data/a", "1").write("data/sub/b", "2");
    env.run(&["add", "data"]);
    env.run(&["push"]);
    std::fs::remove_dir_all(env.path(".mlops/cache")).expect("drop the cache");
    let report = env.json(&["fetch"]);
    assert_eq!(report["transferred"], 4, "two manifests and two files");
    assert!(env.run(&["status", "--check"]).contains("up to date"));
    assert_eq!(env.json(&["fetch"])["transferred"], 0);
}

#[test]
fn an_interrupted_push_leaves_no_partial_object_and_resumes() {
    let env = TestEnv::new();
    let remote = env.default_remote();
    env.write("data/a", "1").write("data/b", "2");
    env.run(&["add", "data"]);
    env.run(&["push"]);
    // Simulate a push killed mid-copy: a stray temp file and one object never renamed into place.
    let objects: Vec<_> = walk_objects(&remote);
    std::fs::remove_file(&objects[0]).expect("rm");
    std::fs::write(remote.join("tmp/.push.999.0.tmp"), "partial").expect("write");
    let report = env.json(&["push"]);
    assert_eq!(report["transferred"], 1);
    assert!(env.run(&["status"]).contains("pushed to `origin`"));
}

fn walk_objects(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(root).expect("read") {
        let dir = dir.expect("entry").path();
        if dir.file_name().is_some_and(|n| n.len() == 2) {
            out.extend(
                std::fs::read_dir(&dir)
                    .expect("read")
                    .map(|e| e.expect("entry").path()),
            );
        }
    }
    out.sort();
    out
}
