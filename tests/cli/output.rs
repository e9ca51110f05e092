//! Where command output goes: a closed stdout, `-o` onto an input, and `-o` onto files that are
//! not regular files (devices, FIFOs, symlinks, `-`).

use std::process::Stdio;

use crate::support::TestEnv;

/// Runs `mlops` with stdout a pipe whose read end is already closed; returns (code, stderr).
fn with_closed_stdout(env: &TestEnv, args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let output = std_command(&env.cmd(args))
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("run mlops");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The same command as a `std::process::Command`, whose stdout can be any file.
fn std_command(cmd: &assert_cmd::Command) -> std::process::Command {
    let mut std = std::process::Command::new(cmd.get_program());
    std.args(cmd.get_args()).env_clear();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            std.env(key, value);
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        std.current_dir(dir);
    }
    std
}

#[test]
fn closed_stdout_exits_0_quietly() {
    let env = TestEnv::new();
    env.write("data/a", "1");
    env.run(&["add", "data"]);
    for args in [
        &["--json", "status"][..],
        &["status"],
        &["completions", "zsh"],
        &["completions", "bash"],
    ] {
        let (code, stderr) = with_closed_stdout(&env, args);
        assert_eq!(code, Some(0), "mlops {args:?}: {stderr}");
        assert!(stderr.is_empty(), "mlops {args:?}: {stderr}");
    }
}
