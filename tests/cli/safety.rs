//! The core promise under hostile files and mistakes (issue 14): nothing written outside the
//! workspace, no wrong bytes handed out, nothing the user owns lost. Each test reproduces one
//! defect exactly; `crash.rs` and `hostile.rs` hold the kill and hostile-repository suites.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::{TestEnv, corrupt, object_path, pointer_digest};

fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

#[test]
fn add_refuses_a_parent_that_is_a_symlink_out_of_the_workspace() {
    let env = TestEnv::new();
    let outside = env.outside("elsewhere");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("victim.csv"), "mine\n").expect("write");
    std::os::unix::fs::symlink(&outside, env.path("link")).expect("symlink");

    let (_, stderr) = env.fails(2, &["add", "link/victim.csv"]);
    assert!(stderr.contains("outside the workspace"), "{stderr}");
    assert_eq!(
        std::fs::read(outside.join("victim.csv")).expect("read"),
        b"mine\n"
    );
    assert!(!outside.join("victim.csv.mlops").exists());
    assert!(!outside.join(".gitignore").exists());
}

#[test]
fn add_refuses_a_file_name_that_is_not_utf8() {
    let env = TestEnv::new();
    let name = std::ffi::OsStr::from_bytes(b"data-\xff.csv");
    std::fs::write(env.root().join(name), "a\n").expect("write");
    let output = env.cmd(&["add"]).arg(name).output().expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not valid UTF-8"), "{stderr}");
}

#[test]
fn gc_keeps_the_objects_of_a_pointer_whose_name_is_not_utf8() {
    let env = TestEnv::new();
    env.write("sub/data.csv", "precious\n");
    env.run(&["add", "sub/data.csv"]);
    let digest = pointer_digest(&env, "sub/data.csv.mlops");
    // Someone else's tool renamed the data, its pointer and its directory.
    let dir = env.root().join(std::ffi::OsStr::from_bytes(b"d\xff"));
    std::fs::rename(env.path("sub"), &dir).expect("rename dir");
    std::fs::rename(
        dir.join("data.csv.mlops"),
        dir.join(std::ffi::OsStr::from_bytes(b"\xfe.mlops")),
    )
    .expect("rename pointer");
    std::fs::rename(
        dir.join("data.csv"),
        dir.join(std::ffi::OsStr::from_bytes(b"\xfe")),
    )
    .expect("rename data");
    env.run(&["gc"]);
    assert!(
        object_path(&env, &digest).exists(),
        "gc deleted the object of a pointer it could not name"
    );
}

#[test]
fn temp_files_are_never_versioned_and_long_names_work() {
    let env = TestEnv::new();
    env.write("data/a.csv", "a\n");
    // What a killed writer of another process left (pid above Linux's pid_max: never running).
    env.write("data/.a.csv.4194305.0.mlops-tmp", "half");
    let long = "x".repeat(250);
    env.write(&format!("data/{long}"), "long name\n");
    let report = env.json(&["add", "data"]);
    assert_eq!(report["added"][0]["files"], 2, "{report}");

    std::fs::remove_dir_all(env.path("data")).expect("rm");
    env.run(&["checkout", "data"]);
    assert_eq!(env.read(&format!("data/{long}")), b"long name\n");
    // A tracked path's own name must leave room for its pointer's `.mlops` suffix.
    env.write(&long, "top-level long name\n");
    let (_, stderr) = env.fails(2, &["add", &long]);
    assert!(stderr.contains("255-byte limit"), "{stderr}");
    let fits = "y".repeat(249);
    env.write(&fits, "fits\n");
    env.run(&["add", &fits]);
    std::fs::remove_file(env.path(&fits)).expect("rm");
    env.run(&["checkout", &fits]);
    assert_eq!(env.read(&fits), b"fits\n");
}

#[test]
fn a_push_removes_what_a_killed_push_left_on_the_remote() {
    let env = TestEnv::new();
    let remote = env.default_remote();
    env.write("data.csv", "a\n");
    env.run(&["add", "data.csv"]);
    std::fs::create_dir_all(remote.join("tmp")).expect("mkdir");
    // Another machine's upload, written to a minute ago: it may still be going on.
    let recent = remote.join("tmp/.push@elsewhere.4194305.7.mlops-tmp");
    std::fs::write(&recent, "partial").expect("write");
    // Another machine's upload, untouched for two hours: abandoned.
    let abandoned = remote.join("tmp/.push@elsewhere.4194305.8.mlops-tmp");
    let file = std::fs::File::create(&abandoned).expect("create");
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    file.set_modified(two_hours_ago).expect("set mtime");
    env.run(&["push"]);
    assert!(recent.exists(), "another machine's live upload is kept");
    assert!(!abandoned.exists(), "an abandoned upload is removed");
}

#[test]
fn checkout_keeps_the_workspace_copy_when_its_cache_object_is_corrupt() {
    let env = TestEnv::new();
    env.write("model.bin", "version 2\n");
    env.run(&["add", "model.bin"]);
    let v2_pointer = env.read("model.bin.mlops");
    env.write("model.bin", "version 1\n");
    env.run(&["add", "model.bin"]);
    corrupt(&object_path(&env, &pointer_digest(&env, "model.bin.mlops")));
    // `git checkout` of the commit that has version 2's pointer.
    env.write("model.bin.mlops", &v2_pointer);

    let (_, stderr) = env.fails(1, &["checkout"]);
    assert!(stderr.contains("skipped `model.bin`"), "{stderr}");
    assert_eq!(
        env.read("model.bin"),
        b"version 1\n",
        "the only intact copy"
    );
    env.run(&["checkout", "--force"]);
    assert_eq!(env.read("model.bin"), b"version 2\n");
}

#[test]
fn push_verify_and_fsck_remote_replace_a_corrupt_remote_object() {
    let env = TestEnv::new();
    let remote = env.default_remote();
    env.write("data.csv", "good bytes\n");
    env.run(&["add", "data.csv"]);
    env.run(&["push"]);
    let digest = pointer_digest(&env, "data.csv.mlops");
    let on_remote = remote.join(&digest[..2]).join(&digest[2..]);
    corrupt(&on_remote);

    let plain = env.json(&["push"]);
    assert_eq!(plain["transferred"], 0, "a plain push compares names only");
    let stdout = env.run(&["fsck", "--remote"]);
    assert!(stdout.contains("replaced corrupt object"), "{stdout}");
    assert_eq!(std::fs::read(&on_remote).expect("read"), b"good bytes\n");

    corrupt(&on_remote);
    let verified = env.json(&["push", "--verify"]);
    assert_eq!(verified["repaired"], 1, "{verified}");
    assert_eq!(std::fs::read(&on_remote).expect("read"), b"good bytes\n");
    let clean = env.json(&["fsck", "--remote"]);
    assert_eq!(clean["repaired"], serde_json::json!([]));
    assert_eq!(clean["corrupt"], serde_json::json!([]));

    // With no good copy anywhere, fetch refuses and says how to repair.
    corrupt(&on_remote);
    corrupt(&object_path(&env, &digest));
    std::fs::remove_file(object_path(&env, &digest)).expect("rm");
    let (_, stderr) = env.fails(2, &["fetch"]);
    assert!(stderr.contains("push --verify"), "{stderr}");
    env.fails(1, &["fsck", "--remote"]);
}

#[test]
fn an_edited_hard_link_is_detected_and_never_spread() {
    let env = TestEnv::new();
    let remote = env.default_remote();
    env.write("data.csv", "original\n");
    let output = env
        .cmd(&["add", "--link", "hardlink", "data.csv"])
        .output()
        .expect("run");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.contains("links into the cache do not protect it from root"),
        running_as_root(),
        "{stderr}"
    );
    // Edit in place, as root can despite the read-only bit: the cache object changes too.
    let path = env.path("data.csv");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::fs::write(&path, "edited in place\n").expect("edit");

    let status = env.json(&["status"]);
    assert_eq!(status["paths"][0]["states"][0], "modified", "{status}");
    let (_, stderr) = env.fails(2, &["push"]);
    assert!(stderr.contains("corrupt"), "{stderr}");
    assert!(
        std::fs::read_dir(&remote).map_or(true, |d| d.flatten().all(|e| e.file_name() == "tmp")),
        "nothing uploaded"
    );
    std::fs::remove_file(&path).expect("rm");
    let (_, stderr) = env.fails(2, &["checkout", "--link", "hardlink"]);
    assert!(stderr.contains("corrupt"), "{stderr}");
    assert!(!path.exists(), "the corrupt object was not linked back");
}

/// A manifest object written straight into the cache, as a crafted repository would ship it.
fn put_manifest(env: &TestEnv, entries: &str) -> String {
    let bytes = format!("{{\"format\":1,\"entries\":[\n{entries}\n]}}\n");
    let digest = blake3::hash(bytes.as_bytes()).to_hex().to_string();
    let path = object_path(env, &digest);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
    digest
}

#[test]
fn a_tiny_manifest_dag_cannot_make_mlops_walk_billions_of_paths() {
    let env = TestEnv::new();
    let file = blake3::hash(b"x").to_hex().to_string();
    let mut digest = put_manifest(
        &env,
        &format!("{{\"name\":\"f\",\"kind\":\"file\",\"digest\":\"{file}\",\"size\":1}}"),
    );
    // 40 levels, each listing the level below twice: 2^40 paths in a few kilobytes.
    for _ in 0..40 {
        digest = put_manifest(
            &env,
            &format!(
                "{{\"name\":\"a\",\"kind\":\"dir\",\"digest\":\"{digest}\",\"size\":1}},\n\
                 {{\"name\":\"b\",\"kind\":\"dir\",\"digest\":\"{digest}\",\"size\":1}}"
            ),
        );
    }
    env.write(
        "data.mlops",
        format!("format: 1\nkind: dir\ndigest: {digest}\nsize: 1\nfiles: 1\n"),
    );
    // The crafted repository's committed config cannot lift the limit.
    env.write(
        ".mlops/config.yaml",
        "cache:\n  max_tree_entries: 18446744073709551615\n",
    );
    let (_, stderr) = env.fails(2, &["checkout", "data"]);
    assert!(stderr.contains("lists more than"), "{stderr}");
    assert!(stderr.contains("cache.max_tree_entries"), "{stderr}");
    // Reading the objects it needs visits each distinct manifest once.
    env.run(&["gc", "--dry-run"]);
    env.run(&["status"]);
}

#[test]
fn impossible_sizes_and_empty_remotes_are_refused() {
    let env = TestEnv::new();
    let digest = blake3::hash(b"x").to_hex().to_string();
    env.write(
        "data.csv.mlops",
        format!("format: 1\nkind: file\ndigest: {digest}\nsize: 18446744073709551615\n"),
    );
    let (_, stderr) = env.fails(2, &["status"]);
    assert!(stderr.contains("18446744073709551615"), "{stderr}");
    std::fs::remove_file(env.path("data.csv.mlops")).expect("rm");

    let (_, stderr) = env.fails(2, &["remote", "add", "r", "file://"]);
    assert!(stderr.contains("invalid remote URL `file://`"), "{stderr}");
    let root = env.root().to_str().expect("utf-8").to_owned();
    env.fails(2, &["remote", "add", "r", &root]);
    env.fails(2, &["remote", "add", "r", &format!("{root}/.git/objects")]);

    // A committed config naming the workspace root: push refuses, writes nothing there.
    env.write("data.csv", "a\n");
    env.run(&["add", "data.csv"]);
    let config = std::fs::read_to_string(env.path(".mlops/config.yaml")).expect("read");
    env.write(
        ".mlops/config.yaml",
        format!("{config}remotes:\n  r:\n    url: 'file://'\ndefault_remote: r\n"),
    );
    let before = std::fs::read_dir(env.root()).expect("ls").count();
    let (_, stderr) = env.fails(2, &["push"]);
    assert!(stderr.contains("it names no directory"), "{stderr}");
    assert_eq!(std::fs::read_dir(env.root()).expect("ls").count(), before);
}

#[test]
fn the_local_config_is_private_and_remotes_inside_are_stored_relative() {
    let env = TestEnv::new();
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    let local = env.path(".mlops/config.local.yaml");
    assert_eq!(mode(&local), 0o600);
    // One an older mlops made readable by all is made private by the next command.
    std::fs::set_permissions(&local, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    env.run(&["status"]);
    assert_eq!(mode(&local), 0o600);
    env.run(&["remote", "add", "--local", "secret", "/srv/remote"]);
    assert_eq!(mode(&local), 0o600, "still private after an edit");

    let inside = env.path("storage/remote");
    let output = env
        .cmd(&["remote", "add", "team", inside.to_str().expect("utf-8")])
        .output()
        .expect("run");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("stored as `storage/remote`"), "{stderr}");
    let config = std::fs::read_to_string(env.path(".mlops/config.yaml")).expect("read");
    assert!(config.contains("url: storage/remote"), "{config}");
    assert!(
        !config.contains(env.root().to_str().expect("utf-8")),
        "{config}"
    );
}

#[test]
fn deeply_nested_yaml_from_others_is_refused_before_parsing() {
    let env = TestEnv::new();
    // A megabyte of brackets: the YAML scanner would spend minutes on it.
    let brackets = "[".repeat(1 << 20);
    env.write("data.mlops", format!("format: 1\nkind: {brackets}\n"));
    let (_, stderr) = env.fails(2, &["status"]);
    assert!(stderr.contains("nest deeper than 256 levels"), "{stderr}");
    std::fs::remove_file(env.path("data.mlops")).expect("rm");
    env.write(
        "mlops.yaml",
        format!("stages:\n  a:\n    cmd: {brackets}\n"),
    );
    let (_, stderr) = env.fails(2, &["run"]);
    assert!(stderr.contains("nest deeper than 256 levels"), "{stderr}");
}
