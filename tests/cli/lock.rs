//! The workspace lock: a second writer waits, then names the holder.

use std::io::Write;

use crate::support::TestEnv;

#[test]
fn a_second_writer_fails_naming_the_holder_pid() {
    let env = TestEnv::new();
    env.write("a.csv", "x");
    let mut lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(env.path(".mlops/lock"))
        .expect("open");
    lock.lock().expect("lock");
    write!(lock, "4242").expect("write pid");
    let (_, err) = env
        .cmd(&["add", "a.csv"])
        .env("MLOPS_LOCK_WAIT", "0.3")
        .output()
        .map(|o| {
            assert_eq!(o.status.code(), Some(2));
            (o.stdout, String::from_utf8_lossy(&o.stderr).into_owned())
        })
        .expect("run");
    assert!(
        err.starts_with("error: the workspace is locked by process 4242"),
        "{err}"
    );
    // Readers do not wait for writers.
    env.run(&["status"]);
    drop(lock);
    env.run(&["add", "a.csv"]);
}
