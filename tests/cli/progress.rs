//! Progress bars on a terminal: `mlops` run under `script(1)`, whose pseudo-terminal makes
//! stderr a TTY. The bar's text and its ETA rule are unit-tested in `src/output.rs`; here only
//! what must hold at any speed: the first frame counts files and bytes and shows no ETA, and
//! `-q` shows no bar. Linux only: `script -qfec` is util-linux's; BSD `script` takes other flags.

#![cfg(target_os = "linux")]

use std::process::Command;

use crate::support::TestEnv;

/// Runs `mlops args` in `env` on a pseudo-terminal; returns what the terminal received.
fn on_a_terminal(env: &TestEnv, args: &str) -> String {
    let cmd = env.cmd(&[]);
    let binary = cmd.get_program().to_str().expect("utf-8 path").to_owned();
    let mut script = Command::new("script");
    script
        .args(["-qfec", &format!("'{binary}' {args}"), "/dev/null"])
        .env_clear();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            script.env(key, value);
        }
    }
    // indicatif draws nothing on a terminal it takes for a dumb one (no `TERM`).
    let output = script
        .env("PATH", "/usr/bin:/bin")
        .env("TERM", "xterm")
        .current_dir(env.root())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("`script` from util-linux runs");
    assert!(
        output.status.success(),
        "mlops {args} on a terminal: {output:?}"
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn bar_counts_files_and_bytes_with_no_eta_at_the_start() {
    let env = TestEnv::new();
    for i in 0..3 {
        env.write(&format!("data/f{i}"), vec![b'x'; 1024]);
    }
    let screen = on_a_terminal(&env, "add data");
    // The first frame, drawn before any file is done: counts, and no rate or ETA yet.
    let first = screen
        .split('\r')
        .find(|frame| frame.contains("adding"))
        .unwrap_or_else(|| panic!("no progress bar on the terminal: {screen:?}"));
    assert!(first.contains("0/3 files, 0 B/3.0 KiB"), "{first:?}");
    assert!(!first.contains("eta"), "{first:?}");
    assert!(!first.contains("/s"), "{first:?}");
    assert!(screen.contains("added data: 3 files"), "{screen:?}");

    env.write("more/f", "1");
    let quiet = on_a_terminal(&env, "-q add more");
    assert!(!quiet.contains("adding"), "{quiet:?}");
}
