//! Where command output goes: a closed stdout, `-o` onto an input, and `-o` onto files that are
//! not regular files (devices, FIFOs, symlinks, `-`).

use std::fmt::Write as _;
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
    // Parquet written to stdout by the library, whose writer keeps only the error's text.
    let model = model_fixture();
    let input = format!("{model}/input.parquet");
    let predict = ["predict", "--model", &model, &input, "-o"];
    for args in [
        &["--json", "status"][..],
        &["status"],
        &["completions", "zsh"],
        &["completions", "bash"],
        &["man"],
        &[&predict[..], &["-"]].concat(),
        &[&predict[..], &["/dev/stdout"]].concat(),
    ] {
        let (code, stderr) = with_closed_stdout(&env, args);
        assert_eq!(code, Some(0), "mlops {args:?}: {stderr}");
        assert!(stderr.is_empty(), "mlops {args:?}: {stderr}");
    }
}

#[test]
fn a_closed_stdout_neither_stops_a_run_nor_hides_its_exit_status() {
    let env = TestEnv::new();
    env.write(
        "mlops.yaml",
        "stages:\n  talk:\n    cmd: echo one && echo two > out.txt\n    outs: [out.txt]\n  \
         fail:\n    cmd: 'false'\n    deps: [out.txt]\n",
    );
    for args in [&["run"][..], &["--json", "run"]] {
        let _ = std::fs::remove_file(env.path("out.txt"));
        let (code, stderr) = with_closed_stdout(&env, args);
        assert_eq!(code, Some(1), "mlops {args:?}: {stderr}");
        assert_eq!(env.read("out.txt"), b"two\n", "mlops {args:?}");
    }
}

/// Labels and scores, as CSV: enough for eval, drift, profile, split and train.
fn scores_csv() -> String {
    let mut text = String::from("label,score,x\n");
    for i in 0..40 {
        let label = i % 2;
        let score = if label == 1 { 0.6 } else { 0.3 } + f64::from(i % 5) / 20.0;
        let _ = writeln!(text, "{label},{score},{}", f64::from(i) / 10.0);
    }
    text
}

fn model_fixture() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/models/binary")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn an_output_that_is_an_input_is_refused_and_the_input_kept() {
    let env = TestEnv::bare();
    env.write("a.csv", scores_csv());
    env.run(&["split", "a.csv", "-o", "parts"]);
    env.run(&["profile", "a.csv", "-o", "a.profile"]);
    std::fs::hard_link(env.path("a.csv"), env.path("hard.csv")).expect("hard link");
    // Training writes `metrics.json` into its directory: here a link to the training data.
    std::fs::create_dir_all(env.path("model")).expect("mkdir");
    std::os::unix::fs::symlink("../a.csv", env.path("model/metrics.json")).expect("symlink");
    let model = model_fixture();
    let eval = ["eval", "a.csv", "--score", "score", "-o"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        ([&eval[..], &["a.csv"]].concat(), "a.csv"),
        ([&eval[..], &["./a.csv"]].concat(), "a.csv"),
        ([&eval[..], &["hard.csv"]].concat(), "a.csv"),
        (
            vec![
                "drift",
                "--reference",
                "a.csv",
                "parts/test.parquet",
                "-o",
                "parts/test.parquet",
            ],
            "parts/test.parquet",
        ),
        (
            vec!["profile", "merge", "a.profile", "-o", "./a.profile"],
            "a.profile",
        ),
        (
            vec!["split", "parts/train.parquet", "-o", "parts"],
            "parts/train.parquet",
        ),
        (
            vec![
                "predict",
                "--model",
                &model,
                "parts/test.parquet",
                "-o",
                "parts/test.parquet",
            ],
            "parts/test.parquet",
        ),
        (
            vec![
                "train", "--data", "a.csv", "--label", "label", "--model", "logistic", "--epochs",
                "1", "-o", "model",
            ],
            "a.csv",
        ),
    ];
    for (args, input) in cases {
        let before = env.read(input);
        let (_, stderr) = env.fails(2, &args);
        assert!(
            stderr.starts_with("error: the output `") && stderr.contains("is the input"),
            "mlops {args:?}: {stderr}"
        );
        assert_eq!(env.read(input), before, "mlops {args:?} changed {input}");
    }
}

#[test]
fn the_same_file_check_comes_before_anything_is_read() {
    let env = TestEnv::bare();
    env.write("parts/a.csv", scores_csv())
        .write("parts/b.csv", scores_csv());
    // A glob or a directory of inputs is expanded before the check, as every command does.
    let before = env.read("parts/a.csv");
    let (_, stderr) = env.fails(
        2,
        &[
            "eval",
            "parts/*.csv",
            "--score",
            "score",
            "-o",
            "parts/a.csv",
        ],
    );
    assert!(stderr.contains("is the input `"), "{stderr}");
    assert_eq!(env.read("parts/a.csv"), before);
    // predict refuses before it loads the model: a broken one is never read.
    env.write("broken/model.yaml", "not a model")
        .write("x.parquet", "not parquet either");
    let (_, stderr) = env.fails(
        2,
        &[
            "predict",
            "--model",
            "broken",
            "x.parquet",
            "-o",
            "x.parquet",
        ],
    );
    assert!(stderr.contains("is the input `"), "{stderr}");
    assert_eq!(env.read("x.parquet"), b"not parquet either");
}

/// A FIFO in the test's directory, opened read-write so that the writer never blocks and the
/// test never hangs, whatever mlops does with the path.
fn fifo(path: &std::path::Path) -> std::fs::File {
    use std::os::unix::fs::OpenOptionsExt as _;
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(status.success(), "mkfifo");
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .expect("open fifo")
}

/// What is waiting in a non-blocking FIFO.
fn drain(file: &mut std::fs::File) -> Vec<u8> {
    use std::io::Read as _;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return out,
            Err(e) => panic!("read fifo: {e}"),
        }
    }
}

#[test]
fn outputs_that_are_not_regular_files_are_written_in_place() {
    use std::os::unix::fs::FileTypeExt as _;
    let env = TestEnv::bare();
    env.write("a.csv", scores_csv());
    let eval =
        |output: &str| env.run(&["--json", "eval", "a.csv", "--score", "score", "-o", output]);
    let kind = |rel: &str| {
        std::fs::symlink_metadata(env.path(rel))
            .expect("stat")
            .file_type()
    };

    // A FIFO stays a FIFO, and the report comes through it.
    let mut pipe = fifo(&env.path("report.fifo"));
    eval("report.fifo");
    assert!(kind("report.fifo").is_fifo());
    let report: serde_json::Value =
        serde_json::from_slice(&drain(&mut pipe)).expect("the report through the FIFO");
    assert!(report["overall"].is_object(), "{report}");

    // A character device stays a device (mknod needs root, as in CI; skipped otherwise).
    let made = std::process::Command::new("mknod")
        .arg(env.path("null"))
        .args(["c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success());
    if made {
        eval("null");
        assert!(kind("null").is_char_device());
    }

    // A symlink stays a link; its target gets the report, atomically.
    std::fs::create_dir_all(env.path("reports")).expect("mkdir");
    std::fs::write(env.path("reports/old.json"), "old").expect("write");
    std::os::unix::fs::symlink("reports/old.json", env.path("latest.json")).expect("symlink");
    eval("latest.json");
    assert!(kind("latest.json").is_symlink());
    let report: serde_json::Value =
        serde_json::from_slice(&env.read("reports/old.json")).expect("the report via the link");
    assert!(report["overall"].is_object(), "{report}");
    // A dangling link: the file is created where it points.
    std::os::unix::fs::symlink("reports/new.json", env.path("next.json")).expect("symlink");
    eval("next.json");
    assert!(kind("next.json").is_symlink());
    assert!(env.path("reports/new.json").is_file());
    let leftovers: Vec<_> = std::fs::read_dir(env.path("reports"))
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .filter(|n| n.to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // `-` and /dev/stdout are stdout.
    for output in ["-", "/dev/stdout"] {
        let text = eval(output);
        let report: serde_json::Value = serde_json::from_str(&text).expect("JSON on stdout");
        assert!(report["overall"].is_object(), "{report}");
        assert!(!env.path(output.trim_start_matches('/')).exists());
    }
    // Parquet on stdout, the summary on stderr.
    let model = model_fixture();
    let input = format!("{model}/input.parquet");
    let output = env
        .cmd(&["predict", "--model", &model, &input, "-o", "-"])
        .output()
        .expect("run mlops");
    crate::support::assert_success(&output, &["predict"]);
    assert!(
        output.stdout.starts_with(b"PAR1"),
        "{:?}",
        &output.stdout[..output.stdout.len().min(16)]
    );
    assert!(output.stdout.ends_with(b"PAR1"));
    assert!(String::from_utf8_lossy(&output.stderr).contains("scored"));
}
