//! `mlops checkout`: the round trip, unsaved changes, removals and `--force`.

use crate::support::{TestEnv, make_tree, snapshot};

#[test]
fn round_trip_of_a_thousand_files_keeps_digests_and_the_executable_bit() {
    let env = TestEnv::new();
    make_tree(&env, "data", 1000);
    std::fs::create_dir_all(env.path("data/empty-dir")).expect("mkdir");
    let before = snapshot(&env.path("data"));
    assert_eq!(before.len(), 1003);
    assert!(before["bin/run.sh"].1, "the script is executable");
    assert!(before.contains_key("naïve/日本語 ü.csv"));
    let report = env.json(&["add", "data"]);
    assert_eq!(report["added"][0]["files"], 1003);

    std::fs::remove_dir_all(env.path("data")).expect("delete");
    let out = env.run(&["checkout"]);
    assert!(out.contains("restored 1003 files"), "{out}");
    assert_eq!(snapshot(&env.path("data")), before);
    assert!(
        env.path("data/empty-dir").is_dir(),
        "empty directories come back"
    );
    assert!(env.run(&["status", "--check"]).contains("up to date"));
}

#[test]
fn checkout_restores_an_older_version_after_git_checkout() {
    let env = TestEnv::new();
    env.write("data/keep", "same").write("data/a", "v1");
    env.run(&["add", "data"]);
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "v1"]);
    env.write("data/a", "v2").write("data/added-in-v2", "new");
    env.run(&["add", "data"]);
    env.git(&["commit", "-qam", "v2"]);

    env.git(&["checkout", "-q", "HEAD~1"]);
    let report = env.json(&["checkout"]);
    assert_eq!(report["restored"], 1);
    assert_eq!(report["removed"], 1, "the file v1 does not list is removed");
    assert_eq!(env.read("data/a"), b"v1");
    assert!(!env.path("data/added-in-v2").exists());

    env.git(&["checkout", "-q", "main"]);
    env.run(&["checkout"]);
    assert_eq!(env.read("data/a"), b"v2");
    assert_eq!(env.read("data/added-in-v2"), b"new");
}

#[test]
fn unsaved_changes_are_never_overwritten_without_force() {
    let env = TestEnv::new();
    env.write("data/a", "tracked").write("data/b", "tracked b");
    env.run(&["add", "data"]);
    env.write("data/a", "my unsaved edit")
        .write("data/scratch", "my new file");
    let (out, err) = env.fails(1, &["checkout"]);
    assert!(out.contains("restored 0 files"), "{out}");
    assert!(
        err.contains("skipped `data/a`: its content is not saved in the cache"),
        "{err}"
    );
    assert!(err.contains("skipped `data/scratch`"), "{err}");
    assert_eq!(env.read("data/a"), b"my unsaved edit");
    assert_eq!(env.read("data/scratch"), b"my new file");

    env.run(&["checkout", "--force"]);
    assert_eq!(env.read("data/a"), b"tracked");
    assert!(!env.path("data/scratch").exists());
}

#[test]
fn checkout_of_a_single_file_and_the_executable_bit() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    env.write("tool.sh", "#!/bin/sh\n");
    std::fs::set_permissions(env.path("tool.sh"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    env.run(&["add", "tool.sh"]);
    assert!(
        String::from_utf8(env.read("tool.sh.mlops"))
            .expect("utf-8")
            .contains("exec: true")
    );
    std::fs::remove_file(env.path("tool.sh")).expect("rm");
    env.run(&["checkout", "tool.sh"]);
    let mode = std::fs::metadata(env.path("tool.sh"))
        .expect("stat")
        .permissions()
        .mode();
    assert_ne!(mode & 0o100, 0);
}

#[test]
fn hardlink_checkout_is_read_only() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let env = TestEnv::new();
    env.write(".mlops/config.yaml", "cache:\n  link: hardlink\n");
    env.write("data/a", "1");
    env.run(&["add", "data"]);
    std::fs::remove_dir_all(env.path("data")).expect("rm");
    env.run(&["checkout"]);
    let meta = std::fs::metadata(env.path("data/a")).expect("stat");
    assert_eq!(meta.nlink(), 2);
    assert_eq!(meta.permissions().mode() & 0o222, 0);
}
