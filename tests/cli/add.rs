//! `mlops add`: pointers, `.gitignore`, link modes, re-adding and `unprotect`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use crate::support::{TestEnv, object_path, pointer_digest};

#[test]
fn add_a_file_writes_pointer_gitignore_and_object() {
    let env = TestEnv::new();
    env.write("models/model.bin", "weights");
    let out = env.run(&["add", "models/model.bin"]);
    assert!(out.starts_with("added models/model.bin: 7 B"), "{out}");
    let pointer = String::from_utf8(env.read("models/model.bin.mlops")).expect("utf-8");
    assert!(pointer.contains("format: 1\nkind: file\n"), "{pointer}");
    let digest = pointer_digest(&env, "models/model.bin.mlops");
    assert_eq!(digest, blake3::hash(b"weights").to_hex().as_str());
    assert_eq!(
        std::fs::read(object_path(&env, &digest)).expect("object"),
        b"weights"
    );
    let mode = std::fs::metadata(object_path(&env, &digest))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o222, 0, "objects are read-only");
    assert_eq!(env.read("models/.gitignore"), b"/model.bin\n");
    // git sees the pointer, not the data.
    let status = env.git(&["status", "--porcelain", "--untracked-files=all"]);
    assert!(
        status.contains("models/model.bin.mlops") && !status.contains("models/model.bin\n"),
        "{status}"
    );
}

#[test]
fn add_json_reports_each_path() {
    let env = TestEnv::new();
    env.write("data/a", "1").write("data/b/c", "2");
    let report = env.json(&["add", "data"]);
    let added = &report["added"][0];
    assert_eq!(added["path"], "data");
    assert_eq!(added["kind"], "dir");
    assert_eq!(added["files"], 2);
    assert_eq!(added["size"], 2);
    assert_eq!(added["changed"], true);
}

#[test]
fn re_add_updates_the_pointer_only_when_content_changed() {
    let env = TestEnv::new();
    env.write("data/a", "1").write("data/b", "2");
    env.run(&["add", "data"]);
    let first = pointer_digest(&env, "data.mlops");
    let out = env.run(&["add", "data"]);
    assert!(out.contains("data is unchanged"), "{out}");
    env.write("data/b", "22");
    let report = env.json(&["add", "data"]);
    assert_eq!(report["added"][0]["changed"], true);
    assert_eq!(
        report["added"][0]["new_objects"], 2,
        "one file object and the root manifest"
    );
    assert_ne!(pointer_digest(&env, "data.mlops"), first);
}

#[test]
fn changing_one_file_rewrites_only_the_manifests_on_its_path() {
    let env = TestEnv::new();
    for i in 0..20 {
        env.write(&format!("data/dir{i}/sub/file"), format!("{i}"));
    }
    env.run(&["add", "data"]);
    env.write("data/dir3/sub/file", "changed");
    let report = env.json(&["add", "data"]);
    // The file, `data/dir3/sub`, `data/dir3` and `data`: four new objects, not twenty-odd.
    assert_eq!(report["added"][0]["new_objects"], 4);
}

#[test]
fn hardlink_mode_links_read_only_files_and_unprotect_gives_a_private_copy() {
    let env = TestEnv::new();
    env.write("data/a.csv", "a\n").write("data/b.csv", "b\n");
    env.run(&["add", "--link", "hardlink", "data"]);
    let meta = std::fs::metadata(env.path("data/a.csv")).expect("stat");
    assert_eq!(meta.nlink(), 2, "linked to the cache object");
    assert_eq!(meta.permissions().mode() & 0o222, 0, "read-only");
    let out = env.run(&["unprotect", "data/a.csv"]);
    assert!(out.contains("unprotected 1 file"), "{out}");
    let meta = std::fs::metadata(env.path("data/a.csv")).expect("stat");
    assert_eq!(meta.nlink(), 1);
    assert_ne!(meta.permissions().mode() & 0o200, 0, "writable again");
    std::fs::write(env.path("data/a.csv"), "edited\n").expect("edit");
    let digest = blake3::hash(b"a\n").to_hex().to_string();
    assert_eq!(
        std::fs::read(object_path(&env, &digest)).expect("object"),
        b"a\n",
        "the cache is intact"
    );
}

#[test]
fn symlink_mode_points_at_the_cache() {
    let env = TestEnv::new();
    env.write("big.bin", "payload");
    env.run(&["add", "--link", "symlink", "big.bin"]);
    let target = std::fs::read_link(env.path("big.bin")).expect("a symlink");
    assert!(
        target.starts_with(env.path(".mlops/cache")),
        "{}",
        target.display()
    );
    assert_eq!(env.read("big.bin"), b"payload");
    assert!(env.run(&["status"]).contains("everything is up to date"));
    env.run(&["unprotect", "big.bin"]);
    assert!(std::fs::read_link(env.path("big.bin")).is_err());
    assert_eq!(env.read("big.bin"), b"payload");
}

#[test]
fn a_large_file_streams_into_the_cache() {
    let env = TestEnv::new();
    let data: Vec<u8> = (0..20_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    env.write("big.bin", &data);
    env.run(&["add", "big.bin"]);
    let digest = pointer_digest(&env, "big.bin.mlops");
    assert_eq!(digest, blake3::hash(&data).to_hex().as_str());
    assert_eq!(
        std::fs::read(object_path(&env, &digest)).expect("object"),
        data
    );
}

#[test]
fn add_from_a_subdirectory_resolves_paths_there() {
    let env = TestEnv::new();
    env.write("sub/data.csv", "x");
    let out = env
        .cmd_in(&env.path("sub"), &["add", "data.csv"])
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(env.path("sub/data.csv.mlops").is_file());
}
