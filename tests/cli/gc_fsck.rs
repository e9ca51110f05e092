//! `mlops gc` and `mlops fsck`, and how corrupt objects are refused everywhere.

use crate::support::{TestEnv, corrupt, object_path, pointer_digest};

#[test]
fn gc_removes_only_unreferenced_objects() {
    let env = TestEnv::new();
    env.write("data/a", "v1").write("data/b", "same");
    env.run(&["add", "data"]);
    env.write("data/a", "v2");
    env.run(&["add", "data"]);
    let dry = env.json(&["gc", "--dry-run"]);
    assert_eq!(dry["removed_objects"], 2, "old file and old manifest");
    assert_eq!(dry["kept_objects"], 3);
    let old = object_path(&env, blake3::hash(b"v1").to_hex().as_str());
    assert!(old.exists(), "dry run removes nothing");
    let out = env.run(&["gc"]);
    assert!(out.starts_with("removed 2 objects"), "{out}");
    assert!(!old.exists());
    assert!(env.run(&["status", "--check"]).contains("up to date"));
    assert_eq!(env.json(&["gc"])["removed_objects"], 0);
}

#[test]
fn a_corrupt_object_is_reported_by_fsck_and_refused_by_checkout_and_push() {
    let env = TestEnv::new();
    let remote = env.default_remote();
    env.write("model.bin", "good weights");
    env.run(&["add", "model.bin"]);
    let digest = pointer_digest(&env, "model.bin.mlops");
    let object = object_path(&env, &digest);
    corrupt(&object);

    let (out, _) = env.fails(1, &["fsck"]);
    assert!(out.contains("1 corrupt"), "{out}");
    assert!(
        out.contains(&format!("corrupt: {}", object.display())),
        "{out}"
    );

    std::fs::remove_file(env.path("model.bin")).expect("rm");
    let (_, err) = env.fails(2, &["checkout"]);
    assert!(
        err.contains(&format!("cache object `{}` is corrupt", object.display())),
        "{err}"
    );
    assert!(err.contains("hint: run `mlops fsck`"), "{err}");
    assert!(
        !env.path("model.bin").exists(),
        "nothing corrupt reaches the workspace"
    );

    let (_, err) = env.fails(2, &["push"]);
    assert!(err.contains("is corrupt"), "{err}");
    assert!(
        !remote.join(&digest[..2]).join(&digest[2..]).exists(),
        "nothing corrupt reaches the remote"
    );
}

#[test]
fn fsck_of_a_healthy_cache() {
    let env = TestEnv::new();
    env.write("data/a", "1").write("data/b", "2");
    env.run(&["add", "data"]);
    let report = env.json(&["fsck"]);
    assert_eq!(report["checked"], 3);
    assert_eq!(report["corrupt"], serde_json::json!([]));
}

#[test]
fn a_corrupt_object_on_the_remote_never_enters_the_cache() {
    let env = TestEnv::new();
    let remote = env.default_remote();
    env.write("model.bin", "good weights");
    env.run(&["add", "model.bin"]);
    env.run(&["push"]);
    let digest = pointer_digest(&env, "model.bin.mlops");
    std::fs::remove_file(object_path(&env, &digest)).expect("rm");
    corrupt(&remote.join(&digest[..2]).join(&digest[2..]));
    let (_, err) = env.fails(2, &["fetch"]);
    assert!(
        err.contains(&format!(
            "object `{digest}` from remote `origin` is corrupt"
        )),
        "{err}"
    );
    assert!(!object_path(&env, &digest).exists());
}
