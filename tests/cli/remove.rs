//! `mlops remove` and `mlops move`: untracking a path keeps its data, as real files, and drops
//! its pointer and `.gitignore` line; moving one takes both along.

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

#[test]
fn move_renames_the_data_its_pointer_and_gitignore_lines() {
    let env = TestEnv::new();
    env.write("data/a.csv", "1").write("data/sub/b.csv", "2");
    env.write(".gitignore", "*.log\n");
    env.run(&["add", "--link", "symlink", "data"]);
    let digest = pointer_digest(&env, "data.mlops");
    let out = env.run(&["move", "data", "inputs/raw"]);
    assert!(out.contains("moved data to inputs/raw"), "{out}");
    assert!(!env.path("data").exists() && !env.path("data.mlops").exists());
    assert_eq!(env.read("inputs/raw/sub/b.csv"), b"2");
    assert_eq!(pointer_digest(&env, "inputs/raw.mlops"), digest);
    assert_eq!(
        String::from_utf8(env.read(".gitignore")).expect("utf-8"),
        "*.log\n"
    );
    assert_eq!(
        String::from_utf8(env.read("inputs/.gitignore")).expect("utf-8"),
        "/raw\n"
    );
    assert!(env.run(&["status", "--check"]).contains("up to date"));

    // Into an existing directory, by the pointer's name.
    env.write("model.bin", "w");
    env.run(&["add", "model.bin"]);
    env.run(&["move", "model.bin.mlops", "inputs"]);
    assert_eq!(env.read("inputs/model.bin"), b"w");
    assert!(env.path("inputs/model.bin.mlops").is_file());
    assert!(env.run(&["status", "--check"]).contains("up to date"));
}

#[test]
fn move_refuses_overlaps_existing_targets_and_paths_outside() {
    let env = TestEnv::new();
    env.write("data/a.csv", "1")
        .write("taken", "t")
        .write("loose", "l");
    env.run(&["add", "data"]);
    let before = env.read("data.mlops");
    let (_, err) = env.fails(2, &["move", "data", "data/inner"]);
    assert!(err.contains("inside"), "{err}");
    let (_, err) = env.fails(2, &["move", "data", "taken"]);
    assert!(err.contains("`taken` already exists"), "{err}");
    let (_, err) = env.fails(2, &["move", "data", "../elsewhere"]);
    assert!(err.contains("outside the workspace"), "{err}");
    let (_, err) = env.fails(2, &["move", "data", ".mlops/x"]);
    assert!(err.contains(".mlops"), "{err}");
    let (_, err) = env.fails(2, &["move", "loose", "other"]);
    assert!(err.contains("`loose` is not tracked"), "{err}");
    assert_eq!(env.read("data.mlops"), before, "nothing changed");
    assert_eq!(env.read("data/a.csv"), b"1");
}

#[test]
fn move_refuses_a_directory_link_leading_out_of_the_workspace() {
    let env = TestEnv::new();
    env.write("model.bin", "w");
    env.run(&["add", "model.bin"]);
    let outside = env.outside("elsewhere");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::os::unix::fs::symlink(&outside, env.path("out")).expect("symlink");
    let (_, err) = env.fails(2, &["move", "model.bin", "out"]);
    assert!(err.contains("refusing the path"), "{err}");
    assert!(env.path("model.bin.mlops").is_file());
    assert_eq!(std::fs::read_dir(&outside).expect("list").count(), 0);
}

#[test]
fn remove_and_unprotect_keep_the_users_own_symlink_inside_a_tracked_dir() {
    let env = TestEnv::new();
    env.write("elsewhere/real.csv", "mine\n");
    env.write("data/a.csv", "1\n");
    std::os::unix::fs::symlink("../elsewhere/real.csv", env.path("data/link.csv"))
        .expect("symlink");
    env.run(&["add", "data"]);
    let is_link = |env: &TestEnv| {
        std::fs::symlink_metadata(env.path("data/link.csv"))
            .expect("stat")
            .file_type()
            .is_symlink()
    };
    env.run(&["unprotect", "data"]);
    assert!(is_link(&env), "unprotect replaced the user's own symlink");
    env.run(&["remove", "data"]);
    assert!(is_link(&env), "remove replaced the user's own symlink");
    assert_eq!(
        std::fs::read_link(env.path("data/link.csv")).expect("link"),
        std::path::Path::new("../elsewhere/real.csv")
    );
    assert_eq!(env.read("data/link.csv"), b"mine\n");
    assert!(private(&env, "data/a.csv"));
}

#[test]
fn move_keeps_the_hash_index_so_nothing_is_hashed_again() {
    let env = TestEnv::new();
    env.write("data/a.csv", "1\n")
        .write("data/sub/b.csv", "2\n");
    // Old enough that the hash index keeps their digests (recent ones are "racy").
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    for rel in ["data/a.csv", "data/sub/b.csv"] {
        std::fs::File::options()
            .write(true)
            .open(env.path(rel))
            .expect("open")
            .set_modified(two_hours_ago)
            .expect("set mtime");
    }
    env.run(&["add", "data"]);
    let again = env.json(&["add", "data"]);
    assert_eq!(again["added"][0]["hashed"], 0, "{again}");
    env.run(&["move", "data", "moved"]);
    let report = env.json(&["add", "moved"]);
    assert_eq!(report["added"][0]["hashed"], 0, "{report}");
}
