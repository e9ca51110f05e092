//! `mlops remove`: untracking a path keeps its data, as real files, and drops its pointer and
//! `.gitignore` line.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use crate::support::{TestEnv, object_path, pointer_digest};

/// Whether the workspace file `rel` is a private, writable copy (not a link into the cache).
fn private(env: &TestEnv, rel: &str) -> bool {
    let meta = std::fs::symlink_metadata(env.path(rel)).expect("stat");
    !meta.file_type().is_symlink() && meta.nlink() == 1 && meta.permissions().mode() & 0o200 != 0
}

#[test]
fn remove_untracks_a_file_and_keeps_its_data() {
    for link in ["copy", "hardlink", "symlink"] {
        let env = TestEnv::new();
        env.write("model.bin", "weights");
        env.run(&["add", "--link", link, "model.bin"]);
        let digest = pointer_digest(&env, "model.bin.mlops");
        let out = env.run(&["remove", "model.bin"]);
        assert!(out.contains("untracked model.bin"), "{link}: {out}");
        assert!(!env.path("model.bin.mlops").exists(), "{link}");
        assert!(
            !env.path(".gitignore").exists(),
            "{link}: emptied, so deleted"
        );
        assert_eq!(env.read("model.bin"), b"weights", "{link}");
        assert!(private(&env, "model.bin"), "{link}: a real file now");
        assert!(
            !env.run(&["status"]).contains("model.bin"),
            "{link}: status no longer lists it"
        );
        env.run(&["gc"]);
        assert!(
            !object_path(&env, &digest).exists(),
            "{link}: gc may drop it"
        );
        assert_eq!(
            env.read("model.bin"),
            b"weights",
            "{link}: gc keeps the data"
        );
    }
}

#[test]
fn remove_untracks_a_directory_by_its_pointer_and_keeps_other_gitignore_lines() {
    let env = TestEnv::new();
    env.write("data/a.csv", "1").write("data/sub/b.csv", "2");
    env.write("data.keep", "x").write("other", "o");
    env.write(".gitignore", "*.log\n");
    env.run(&["add", "--link", "symlink", "data", "other"]);
    env.run(&["remove", "data.mlops"]);
    assert!(!env.path("data.mlops").exists());
    assert!(env.path("other.mlops").exists());
    let ignore = String::from_utf8(env.read(".gitignore")).expect("utf-8");
    assert_eq!(ignore, "*.log\n/other\n");
    assert_eq!(env.read("data/sub/b.csv"), b"2");
    assert!(private(&env, "data/a.csv") && private(&env, "data/sub/b.csv"));
    let status = env.run(&["status"]);
    assert!(!status.contains("data"), "{status}");
}

#[test]
fn remove_refuses_untracked_paths_and_pipeline_outputs() {
    let env = TestEnv::new();
    env.write("loose.csv", "1");
    let (_, err) = env.fails(2, &["remove", "loose.csv"]);
    assert!(err.contains("`loose.csv` is not tracked"), "{err}");
    env.write(
        "mlops.yaml",
        "stages:\n  make:\n    cmd: echo hi > out.txt\n    outs: [out.txt]\n",
    );
    env.run(&["run"]);
    let (_, err) = env.fails(2, &["remove", "out.txt"]);
    assert!(
        err.contains("`out.txt` is an output of the pipeline"),
        "{err}"
    );
    assert!(err.contains("mlops.yaml"), "{err}");
    assert!(env.path("out.txt").exists());
}
