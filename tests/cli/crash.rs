//! The crash-safety suite: `add` (copy, hard and symbolic links; many files and one big file),
//! `checkout`, `push`, `fetch`, `gc`, `run` (copies and symbolic links; run and restored from the
//! run cache), `remove`, `move`, `model get -o` outside the workspace and `hooks install --force`
//! are each killed with SIGKILL just before write step 1, 2, 3, 4, 5, 8, 13, ... 144
//! (`MLOPS_KILL_AFTER_WRITES`, see `mlops_core::faults`; a write step is an object stored or
//! removed, a file renamed into place or deleted, an upload), until one run goes to the end. After every kill the workspace must keep its
//! promises:
//! - the same command run again completes;
//! - `mlops fsck` finds no corrupt object, and `mlops status --check` is clean;
//! - no temp file is left anywhere but `.mlops/tmp` (and that is empty) or the remote's `tmp/`;
//! - no workspace file is lost or half-written;
//! - every link into the cache names an object that `mlops gc` keeps.
//!
//! One test also kills a real `add` from outside at an arbitrary moment.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{TestEnv, make_tree, snapshot};

type Snapshot = std::collections::BTreeMap<String, (String, bool)>;

/// Kill points tried: dense at the start, where ordering matters most, then sparser.
const KILL_POINTS: [u64; 12] = [1, 2, 3, 4, 5, 8, 13, 21, 34, 55, 89, 144];

/// Runs `mlops args` armed to die before write step `n`; true if it was killed.
fn killed_at(env: &TestEnv, n: u64, args: &[&str]) -> bool {
    let output = env
        .cmd(args)
        .env("MLOPS_KILL_AFTER_WRITES", n.to_string())
        .output()
        .expect("run mlops");
    match output.status.code() {
        None => true,
        Some(0) => false,
        Some(code) => panic!(
            "mlops {args:?} armed at {n} exited {code}: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

/// Temp files of ours (or of any writer: `*.tmp`) anywhere in `dir`, except `.mlops/tmp`'s
/// own entries and `.git`.
pub(crate) fn stray_temps(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == ".git" {
                continue;
            }
            if entry.file_type().expect("type").is_dir() {
                stack.push(path);
            } else if matches!(
                Path::new(&name).extension().and_then(|e| e.to_str()),
                Some("tmp" | "mlops-tmp")
            ) {
                out.push(path);
            }
        }
    }
    out
}

/// Every symlink under `dir` (outside `.git`) with its target.
fn symlinks(dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let kind = entry.file_type().expect("type");
            if kind.is_symlink() {
                out.push((
                    entry.path(),
                    std::fs::read_link(entry.path()).expect("link"),
                ));
            } else if kind.is_dir() && entry.file_name() != ".git" {
                stack.push(entry.path());
            }
        }
    }
    out
}

/// What must hold after a kill and a completed rerun.
pub(crate) fn assert_consistent(env: &TestEnv, what: &str, expected: &[(&str, &Snapshot)]) {
    let fsck = env.json(&["fsck"]);
    assert_eq!(fsck["corrupt"], serde_json::json!([]), "{what}: {fsck}");
    let status = env.cmd(&["status", "--check"]).output().expect("status");
    assert!(
        status.status.success(),
        "{what}: status: {}",
        String::from_utf8_lossy(&status.stdout)
    );
    let strays = stray_temps(env.root());
    assert!(strays.is_empty(), "{what}: temp files left: {strays:?}");
    for (dir, files) in expected {
        // Beside the data there may now be its pointer and `.gitignore`; nothing else.
        let mut now = snapshot(&env.path(dir));
        now.retain(|name, _| {
            let name = Path::new(name);
            name.extension().is_none_or(|e| e != "mlops")
                && name.file_name().is_none_or(|n| n != ".gitignore")
        });
        assert_eq!(&now, *files, "{what}: `{dir}` is not what was added");
    }
    // Every link into the cache survives a gc: it is named by a pointer or the lock.
    env.run(&["gc"]);
    for (link, target) in symlinks(env.root()) {
        assert!(
            target.exists(),
            "{what}: `{}` links to a removed object",
            link.display()
        );
    }
}

fn workspace_with_tree(link: &str) -> TestEnv {
    let env = TestEnv::new();
    env.write(
        ".mlops/config.local.yaml",
        format!("cache:\n  link: {link}\n"),
    );
    make_tree(&env, "data", 40);
    env
}

#[test]
fn add_killed_at_every_point_in_every_link_mode() {
    for link in ["copy", "hardlink", "symlink"] {
        let reference = workspace_with_tree(link);
        let expected = snapshot(&reference.path("data"));
        for n in KILL_POINTS {
            let env = workspace_with_tree(link);
            let killed = killed_at(&env, n, &["add", "data"]);
            env.run(&["add", "data"]);
            let what = format!("add ({link}) killed at write {n}");
            assert_consistent(&env, &what, &[("data", &expected)]);
            if !killed {
                break;
            }
        }
    }
}

#[test]
fn add_of_one_big_file_killed_at_every_point() {
    let content: Vec<u8> = (0..(5u32 << 20)).map(|i| (i % 251) as u8).collect();
    for n in KILL_POINTS {
        let env = TestEnv::new();
        env.write("big/model.bin", &content);
        let expected = snapshot(&env.path("big"));
        let killed = killed_at(&env, n, &["add", "big/model.bin"]);
        env.run(&["add", "big/model.bin"]);
        assert_consistent(
            &env,
            &format!("big add killed at {n}"),
            &[("big", &expected)],
        );
        if !killed {
            break;
        }
    }
}

#[test]
fn checkout_push_fetch_and_gc_killed_at_every_point() {
    // One workspace reused: each round starts from a known state.
    let env = workspace_with_tree("copy");
    let remote = env.default_remote();
    env.run(&["add", "data"]);
    env.write("old.csv", "an old version\n");
    env.run(&["add", "old.csv"]);
    env.run(&["push"]);
    let expected = snapshot(&env.path("data"));

    for n in KILL_POINTS {
        std::fs::remove_dir_all(env.path("data")).expect("rm");
        let killed = killed_at(&env, n, &["checkout", "data"]);
        env.run(&["checkout", "data"]);
        assert_consistent(
            &env,
            &format!("checkout killed at {n}"),
            &[("data", &expected)],
        );
        if !killed {
            break;
        }
    }
    for n in KILL_POINTS {
        std::fs::remove_dir_all(&remote).expect("rm remote");
        let killed = killed_at(&env, n, &["push"]);
        env.run(&["push"]);
        assert_consistent(&env, &format!("push killed at {n}"), &[("data", &expected)]);
        let remote_strays = stray_temps(&remote);
        assert!(
            remote_strays.is_empty(),
            "push killed at {n}: {remote_strays:?}"
        );
        if !killed {
            break;
        }
    }
    for n in KILL_POINTS {
        std::fs::remove_dir_all(env.path(".mlops/cache")).expect("rm cache");
        let killed = killed_at(&env, n, &["fetch"]);
        env.run(&["fetch"]);
        assert_consistent(
            &env,
            &format!("fetch killed at {n}"),
            &[("data", &expected)],
        );
        if !killed {
            break;
        }
    }
    for n in KILL_POINTS {
        // Objects no pointer needs: the old version of a file, twice over.
        env.write("old.csv", format!("garbage {n}\n"));
        env.run(&["add", "old.csv"]);
        env.write("old.csv", format!("more garbage {n}\n"));
        env.run(&["add", "old.csv"]);
        env.run(&["push"]);
        let killed = killed_at(&env, n, &["gc"]);
        env.run(&["gc"]);
        assert_consistent(&env, &format!("gc killed at {n}"), &[("data", &expected)]);
        if !killed {
            break;
        }
    }
}

#[test]
fn run_killed_at_every_point_records_only_finished_outputs() {
    for link in ["copy", "symlink"] {
        for n in KILL_POINTS {
            let env = TestEnv::new();
            env.write(
                ".mlops/config.local.yaml",
                format!("cache:\n  link: {link}\n"),
            );
            env.write("in.txt", "input\n");
            env.write(
                "mlops.yaml",
                "stages:\n  copy:\n    cmd: mkdir -p out && cp in.txt out/a.txt && cp in.txt out/b.txt\n    deps: [in.txt]\n    outs: [out]\n",
            );
            let killed = killed_at(&env, n, &["run"]);
            env.run(&["run"]);
            let what = format!("run ({link}) killed at {n}");
            let out = snapshot(&env.path("out"));
            assert_eq!(out.len(), 2, "{what}: {out:?}");
            assert!(
                !env.run(&["status"]).contains("modified"),
                "{what}: outputs recorded as they are"
            );
            assert_consistent(&env, &what, &[]);
            if !killed {
                break;
            }
        }
    }
}

#[test]
fn add_killed_from_outside_at_an_arbitrary_moment_then_add_again() {
    let env = TestEnv::new();
    let chunk: Vec<u8> = (0..64 * 1024u32).map(|i| (i % 251) as u8).collect();
    for i in 0..3000 {
        let mut content = chunk.clone();
        content.extend_from_slice(format!("{i}").as_bytes());
        env.write(&format!("big/d{}/f{i}.bin", i % 10), content);
    }
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("mlops"))
        .args(["-q", "add", "big"])
        .current_dir(env.root())
        .env("NO_COLOR", "1")
        .spawn()
        .expect("spawn");
    // Kill as soon as objects start to land in the cache.
    let started = Instant::now();
    let cache = env.path(".mlops/cache");
    while std::fs::read_dir(&cache).expect("cache").next().is_none()
        && started.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    assert!(
        !env.path("big.mlops").exists(),
        "killed before the pointer was written"
    );

    let report = env.json(&["add", "big"]);
    assert_eq!(report["added"][0]["files"], 3000);
    let fsck = env.json(&["fsck"]);
    assert_eq!(fsck["corrupt"], serde_json::json!([]));
    assert!(env.run(&["status", "--check"]).contains("up to date"));
    let tmp = std::fs::read_dir(env.path(".mlops/tmp"))
        .expect("tmp")
        .count();
    assert_eq!(tmp, 0, "temp files from the killed add are cleared");
}

/// Whether `path` is a private, writable file (no link into the cache, no shared inode).
fn is_private(path: &Path) -> bool {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::symlink_metadata(path).expect("stat");
    meta.file_type().is_file() && meta.nlink() == 1 && meta.permissions().mode() & 0o200 != 0
}

/// Every file under `dir`, as paths.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let kind = entry.file_type().expect("type");
            if kind.is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    out
}

#[test]
fn remove_killed_at_every_point_leaves_the_data_private_and_unchanged() {
    for link in ["hardlink", "symlink"] {
        for n in KILL_POINTS {
            let env = workspace_with_tree(link);
            env.run(&["add", "data"]);
            let expected = snapshot(&env.path("data"));
            let killed = killed_at(&env, n, &["remove", "data"]);
            let what = format!("remove ({link}) killed at {n}");
            // Until the pointer goes, its objects stay: a gc in between loses nothing.
            env.run(&["gc"]);
            assert_eq!(snapshot(&env.path("data")), expected, "{what}: after gc");
            if env.path("data.mlops").exists() {
                env.run(&["remove", "data"]);
            }
            assert!(!env.path("data.mlops").exists(), "{what}: pointer left");
            for file in files_under(&env.path("data")) {
                assert!(
                    is_private(&file),
                    "{what}: `{}` not private",
                    file.display()
                );
            }
            assert_consistent(&env, &what, &[("data", &expected)]);
            assert_eq!(snapshot(&env.path("data")), expected, "{what}: after gc");
            if !killed {
                break;
            }
        }
    }
}

#[test]
fn move_killed_at_every_point_keeps_the_data_reachable() {
    for link in ["copy", "symlink"] {
        for n in KILL_POINTS {
            let env = workspace_with_tree(link);
            env.run(&["add", "data"]);
            let expected = snapshot(&env.path("data"));
            let killed = killed_at(&env, n, &["move", "data", "moved"]);
            let what = format!("move ({link}) killed at {n}");
            let pointers: Vec<&str> = ["data", "moved"]
                .into_iter()
                .filter(|p| env.path(&format!("{p}.mlops")).exists())
                .collect();
            assert!(!pointers.is_empty(), "{what}: no pointer left");
            // The objects survive a gc, and checkout puts the data back at every pointer.
            env.run(&["gc"]);
            env.run(&["checkout"]);
            let expected_at: Vec<(&str, &Snapshot)> =
                pointers.iter().map(|p| (*p, &expected)).collect();
            assert_consistent(&env, &what, &expected_at);
            if !killed {
                break;
            }
        }
    }
}

#[test]
fn model_get_outside_killed_at_every_point_leaves_an_old_or_new_copy() {
    let env = crate::history::repo();
    // `--force` replaces only files of the model it writes: the new version has every file
    // of the old one, and more.
    let register = |version: &str| {
        let args = ["model", "register", "churn", "--path", "models/churn"];
        env.run(&[&args[..], &["--version", version]].concat());
    };
    env.write("models/churn/weights.bin", "old weights")
        .write("models/churn/sub/extra.txt", "old extra");
    env.run(&["add", "models/churn"]);
    crate::history::commit(&env, "v1");
    register("v0.0.1");
    let old = snapshot(&env.path("models/churn"));
    env.write("models/churn/weights.bin", "new weights")
        .write("models/churn/new.txt", "only in the new version");
    env.run(&["add", "models/churn"]);
    crate::history::commit(&env, "v2");
    register("v0.0.2");
    let new = snapshot(&env.path("models/churn"));
    let out = env.outside("deploy/churn");
    let out_arg = out.to_str().expect("utf-8");
    for n in KILL_POINTS {
        let what = format!("model get -o outside killed at {n}");
        if out.exists() {
            std::fs::remove_dir_all(&out).expect("rm");
        }
        env.run(&["model", "get", "churn@v0.0.1", "-o", out_arg]);
        assert_eq!(snapshot(&out), old, "{what}: the earlier copy");
        let killed = killed_at(
            &env,
            n,
            &["model", "get", "churn@v0.0.2", "-o", out_arg, "--force"],
        );
        let now = snapshot(&out);
        assert!(now == old || now == new, "{what}: half a model: {now:?}");
        env.run(&["model", "get", "churn@v0.0.2", "-o", out_arg, "--force"]);
        assert_eq!(snapshot(&out), new, "{what}: after a rerun");
        let leftovers: Vec<_> = std::fs::read_dir(env.outside("deploy"))
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("churn")], "{what}");
        // Not `assert_consistent`: its gc would drop the old version's objects, which the next
        // round copies out again.
        let fsck = env.json(&["fsck"]);
        assert_eq!(fsck["corrupt"], serde_json::json!([]), "{what}: {fsck}");
        if !killed {
            break;
        }
    }
}

#[test]
fn hooks_install_killed_at_every_point_keeps_the_foreign_hook_chained() {
    use std::os::unix::fs::PermissionsExt;
    let foreign = "#!/bin/sh\necho foreign >> \"$(git rev-parse --git-dir)/ran\"\n";
    for n in KILL_POINTS {
        let env = crate::history::repo();
        let hooks = env.path(".git/hooks");
        std::fs::create_dir_all(&hooks).expect("mkdir");
        let hook = hooks.join("pre-commit");
        std::fs::write(&hook, foreign).expect("write hook");
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let killed = killed_at(&env, n, &["hooks", "install", "--force"]);
        env.run(&["hooks", "install", "--force"]);
        let what = format!("hooks install --force killed at {n}");
        // The user's hook is kept somewhere in the hooks directory, and still runs, once.
        let kept = std::fs::read_dir(&hooks)
            .expect("read_dir")
            .filter_map(|e| std::fs::read_to_string(e.expect("entry").path()).ok())
            .filter(|text| text == foreign)
            .count();
        assert!(kept >= 1, "{what}: the foreign hook is lost");
        env.write("f.txt", "f");
        crate::history::commit(&env, "f");
        let ran = std::fs::read_to_string(env.path(".git/ran")).unwrap_or_default();
        assert_eq!(
            ran, "foreign\n",
            "{what}: the foreign hook did not run once"
        );
        if !killed {
            break;
        }
    }
}

#[test]
fn run_restored_from_the_run_cache_killed_at_every_point_links_only_recorded_outputs() {
    for n in KILL_POINTS {
        let env = TestEnv::new();
        env.write(".mlops/config.local.yaml", "cache:\n  link: symlink\n");
        env.write(
            "mlops.yaml",
            "stages:\n  copy:\n    cmd: mkdir -p out && cp in.txt out/a.txt && cp in.txt out/b.txt\n    deps: [in.txt]\n    outs: [out]\n",
        );
        env.write("in.txt", "first\n");
        env.run(&["run"]);
        env.write("in.txt", "second\n");
        env.run(&["run"]);
        env.write("in.txt", "first\n");
        let killed = killed_at(&env, n, &["run"]);
        let what = format!("run restored from the run cache killed at {n}");
        // Every link into the cache is named by mlops.lock: gc keeps what it links to.
        env.run(&["gc"]);
        for (link, target) in symlinks(env.root()) {
            assert!(
                target.exists(),
                "{what}: `{}` links to a removed object",
                link.display()
            );
        }
        env.run(&["run"]);
        let out = snapshot(&env.path("out"));
        assert_eq!(out.len(), 2, "{what}: {out:?}");
        assert_eq!(env.read("out/a.txt"), b"first\n", "{what}");
        assert_consistent(&env, &what, &[]);
        if !killed {
            break;
        }
    }
}

#[test]
fn validate_killed_at_every_point_leaves_whole_reports_and_no_temp() {
    let env = TestEnv::new();
    let rows: Vec<String> = (0..200).map(|i| format!("{i},{}", i % 7)).collect();
    env.write("data.csv", format!("id,x\n{}\n", rows.join("\n")));
    env.write(
        "c.yaml",
        "version: 1\ncolumns:\n  id:\n    - {expect: column_values_to_be_unique}\n",
    );
    let args = [
        "validate",
        "check",
        "--schema",
        "c.yaml",
        "data.csv",
        "-o",
        "report.json",
        "--profile",
        "data.profile",
    ];
    for n in KILL_POINTS {
        let killed = killed_at(&env, n, &args);
        let what = format!("validate killed at {n}");
        // What is there is whole: a report or profile is renamed into place complete.
        for name in ["report.json", "data.profile"] {
            if env.path(name).exists() {
                serde_json::from_slice::<serde_json::Value>(&env.read(name))
                    .unwrap_or_else(|e| panic!("{what}: {name} is not whole: {e}"));
            }
        }
        env.run(&args);
        assert!(
            stray_temps(env.root()).is_empty(),
            "{what}: {:?}",
            stray_temps(env.root())
        );
        if !killed {
            break;
        }
    }
}

#[test]
fn a_strict_run_killed_at_every_point_keeps_its_records_and_environments_readable() {
    for n in KILL_POINTS {
        let env = TestEnv::new();
        env.write("requirements.txt", "numpy==1.26.4\n");
        env.write(
            "mlops.yaml",
            "stages:\n  train:\n    cmd: echo m > m.txt\n    outs: [m.txt]\n    env: strict\n",
        );
        let killed = killed_at(&env, n, &["run"]);
        env.run(&["run"]);
        let what = format!("strict run killed at {n}");
        assert_consistent(&env, &what, &[]);
        // Every record reads, and every environment it names is whole.
        let records = env.json(&["runs"]);
        assert!(!records.as_array().expect("records").is_empty(), "{what}");
        if let Ok(entries) = std::fs::read_dir(env.path(".mlops/runs/envs")) {
            for entry in entries.flatten() {
                let bytes = std::fs::read(entry.path()).expect("read");
                serde_json::from_slice::<serde_json::Value>(&bytes)
                    .unwrap_or_else(|e| panic!("{what}: {:?} is not whole: {e}", entry.path()));
            }
        }
        // The lock's environment digest is the one the run left: nothing would run again.
        let plan = env.run(&["run", "--dry-run"]);
        assert!(!plan.contains("would run"), "{what}: {plan}");
        if !killed {
            break;
        }
    }
}
