//! A process killed with SIGKILL in the middle of `add` leaves a workspace that a second `add`
//! completes, with a clean cache.

use std::time::{Duration, Instant};

use crate::support::TestEnv;

#[test]
fn add_killed_midway_then_add_again_succeeds_and_fsck_is_clean() {
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
