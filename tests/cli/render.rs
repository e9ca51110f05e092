//! The human output of every reporting command, pinned by insta snapshots
//! (`tests/cli/snapshots/`), and the output flags they share: `--format`, `--json`, repeatable
//! `-o FILE` with the format named by the extension, and the conflicts between them.
//!
//! Snapshots redact what changes from run to run: the temp directory, hashes and timings. After a
//! deliberate change to a report, review the new snapshots with `cargo insta review` (or run with
//! `INSTA_UPDATE=always` and read the diff) and commit them; CI (`CI=true`) fails on a missing one.

use std::fmt::Write as _;

use crate::support::TestEnv;

/// Asserts `text` matches the snapshot `name`, with the run-to-run parts redacted: the test's
/// temp directory as `[TMP]`, digests and commits as `[HASH]`, durations as `[TIME]`, dates as
/// `[DATE]`; decimals are cut to six places.
pub(crate) fn snapshot(env: &TestEnv, name: &str, text: &str) {
    snapshot_redacting(env, name, text, &[]);
}

/// [`snapshot`], with more `(regex, replacement)` redactions.
pub(crate) fn snapshot_redacting(env: &TestEnv, name: &str, text: &str, more: &[(&str, &str)]) {
    let tmp = env
        .root()
        .parent()
        .expect("the workspace is inside the temp directory")
        .display()
        .to_string();
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex_escape(&tmp), "[TMP]");
    // blake3 digests (64 hex digits) and git commits (40); not long decimals.
    settings.add_filter(r"\b[0-9a-f]{40}(?:[0-9a-f]{24})?\b", "[HASH]");
    // With the padding after it, which depends on the figure's width.
    settings.add_filter(r"\b\d+(\.\d+)? (ms|s)\b *", "[TIME] ");
    // Dates and times: RFC 3339 (run records) and `YYYY-MM-DD HH:MM` (model history).
    settings.add_filter(
        r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?",
        "[DATE]",
    );
    // Six decimals at most: the last digits of a sum may differ between platforms.
    settings.add_filter(r"(\.\d{6})\d+", "$1");
    for (regex, replacement) in more {
        settings.add_filter(regex, *replacement);
    }
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// `text` with the regex metacharacters escaped.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A reference and a current batch in CSV: `x` shifted, `y` the same, `city` with a new value.
fn drift_env() -> TestEnv {
    let env = TestEnv::bare();
    let mut reference = String::from("x,y,city\n");
    let mut current = String::from("x,y,city\n");
    for i in 0..60 {
        let city = ["paris", "rome", "oslo"][i % 3];
        let _ = writeln!(reference, "{},{},{city}", i % 20, i % 7);
        let city = ["paris", "rome", "lima"][i % 3];
        let _ = writeln!(current, "{},{},{city}", i % 20 + 8, i % 7);
    }
    env.write("ref.csv", reference).write("cur.csv", current);
    env
}

const DRIFT: [&str; 5] = ["drift", "--reference", "ref.csv", "cur.csv", "--no-fail"];

#[test]
fn drift_text_markdown_and_prometheus() {
    let env = drift_env();
    let gated = [&DRIFT[..], &["--gate", "share_drifted < 0.5"]].concat();
    for (name, format) in [
        ("drift_text", "text"),
        ("drift_markdown", "markdown"),
        ("drift_prometheus", "prometheus"),
    ] {
        let out = env.run(&[&gated[..], &["--format", format]].concat());
        snapshot(&env, name, &out);
    }
}

#[test]
fn one_run_writes_every_format_each_named_by_its_extension() {
    let env = drift_env();
    let outputs = [
        "-o", "r.html", "-o", "r.md", "-o", "r.json", "-o", "r.prom", "-o", "r.txt", "-o", "r.out",
    ];
    let stdout = env.run(&[&DRIFT[..], &outputs[..]].concat());
    assert_eq!(stdout, "", "every rendering went to a file");
    let read = |name: &str| String::from_utf8(env.read(name)).expect("utf-8");
    let same = |name: &str, flags: &[&str]| {
        let printed = env.run(&[&DRIFT[..], flags].concat());
        assert_eq!(
            read(name).trim_end(),
            printed.trim_end(),
            "{name} vs {flags:?}"
        );
    };
    same("r.md", &["--format", "markdown"]);
    same("r.json", &["--json"]);
    same("r.json", &["--format", "json"]);
    same("r.prom", &["--format", "prometheus"]);
    same("r.txt", &[]);
    // An extension that names no format takes --format's (text by default).
    same("r.out", &[]);
    assert!(read("r.html").starts_with("<!DOCTYPE html>"));
    // `-` is stdout, beside files.
    let stdout = env.run(&[&DRIFT[..], &["-o", "-", "-o", "again.md"]].concat());
    assert_eq!(stdout.trim_end(), read("r.txt").trim_end());
    assert_eq!(read("again.md"), read("r.md"));
    // The other reporting commands take the same flags.
    env.run(&[
        "profile",
        "ref.csv",
        "-o",
        "ref.profile",
        "--format",
        "markdown",
    ]);
    let json = env.json(&["profile", "ref.csv", "-o", "ref.profile"]);
    assert_eq!(json["rows"], 60);
    assert_eq!(json["columns"][2]["categories"], 3);
}

/// Conflicting or unsupported output flags: exit 2 with one line naming both sides, before
/// any data is read (the inputs here do not exist).
#[test]
fn conflicting_output_flags_are_one_line_usage_errors() {
    let env = TestEnv::new();
    let drift = ["drift", "--reference", "no.csv", "no2.csv"];
    let cases: [(&[&str], &str); 10] = [
        (
            &["--json", "--format", "markdown"],
            "`--json` and `--format markdown` ask for different formats",
        ),
        (
            &["--format", "markdown", "-o", "r.html"],
            "`r.html` names a html file, but `--format markdown` asks for markdown",
        ),
        (
            &["--json", "-o", "r.md"],
            "`r.md` names a markdown file, but `--json` asks for json",
        ),
        (&["-o", "r.md", "-o", "./r.md"], "is given twice"),
        (&["-o", "-", "-o", "-"], "`-o -` is given twice"),
        (
            &["status", "--format", "html"],
            "`mlops status` has no html output: it prints text, markdown, json",
        ),
        (
            &["diff", "-o", "d.prom"],
            "`mlops diff` has no prometheus output",
        ),
        (
            &["metrics", "diff", "--md", "--format", "text"],
            "`--md` and `--format text` ask for different formats",
        ),
        (
            &["metrics", "show", "--md", "--json"],
            "`--md` and `--json` ask for different formats",
        ),
        (
            &["dag", "--format", "dot", "--json"],
            "`--json` and `--format dot` ask for different formats",
        ),
    ];
    for (args, expected) in cases {
        let args: Vec<&str> = if matches!(args[0], "status" | "diff" | "metrics" | "dag") {
            args.to_vec()
        } else {
            // Global flags may come first or after the subcommand alike.
            [&drift[..], args].concat()
        };
        let (stdout, stderr) = env.fails(2, &args);
        assert_eq!(stdout, "", "mlops {args:?}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(expected),
            "mlops {args:?}: {stderr}"
        );
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "mlops {args:?}: {stderr}"
        );
    }
}

#[test]
fn status_and_diff_text_and_markdown() {
    let env = TestEnv::new();
    env.write("data/a", "1")
        .write("data/b", "2")
        .write("data/c", "3")
        .write("model.bin", "weights");
    env.run(&["add", "data", "model.bin"]);
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "data"]);
    env.write("data/a", "changed").write("data/new", "4");
    std::fs::remove_file(env.path("data/c")).expect("rm");
    std::fs::remove_file(env.path("model.bin")).expect("rm");
    for (name, format) in [("status_text", "text"), ("status_markdown", "markdown")] {
        let (out, _) = env.fails(1, &["status", "--check", "--format", format]);
        snapshot(&env, name, &out);
    }
    env.run(&["add", "data"]);
    for (name, format) in [("diff_text", "text"), ("diff_markdown", "markdown")] {
        snapshot(&env, name, &env.run(&["diff", "--format", format]));
    }
    for (name, format) in [("fsck_text", "text"), ("fsck_markdown", "markdown")] {
        snapshot(&env, name, &env.run(&["fsck", "--format", format]));
    }
}

#[test]
fn metrics_and_params_text_markdown_and_prometheus() {
    let env = TestEnv::new();
    env.write(
        "mlops.yaml",
        "stages:\n  score:\n    cmd: echo\n    params: [train.lr]\n    metrics: [metrics.json]\n",
    );
    env.write("params.yaml", "train:\n  lr: 0.1\n");
    env.write(
        "metrics.json",
        r#"{"acc": 0.123456789, "n": 1000, "ok": true, "model": "mlp"}"#,
    );
    env.git(&["add", "-A"]);
    env.git(&["commit", "-qm", "v1"]);
    env.write("params.yaml", "train:\n  lr: 0.3\n");
    env.write(
        "metrics.json",
        r#"{"acc": 0.987654321, "n": 1200, "ok": true, "model": "mlp"}"#,
    );
    for (name, args) in [
        ("metrics_show_text", &["metrics", "show"][..]),
        ("metrics_show_markdown", &["metrics", "show", "--md"]),
        (
            "metrics_show_prometheus",
            &["metrics", "show", "--format", "prometheus"],
        ),
        ("metrics_diff_text", &["metrics", "diff"]),
        (
            "metrics_diff_markdown",
            &["metrics", "diff", "--format", "markdown"],
        ),
        ("params_diff_text", &["params", "diff"]),
        ("params_diff_markdown", &["params", "diff", "--md"]),
    ] {
        snapshot(&env, name, &env.run(args));
    }
    // An output onto a file the report reads is refused, and the file kept.
    for (args, file) in [
        (
            &["metrics", "show", "-o", "metrics.json"][..],
            "metrics.json",
        ),
        (&["metrics", "diff", "-o", "./mlops.yaml"], "mlops.yaml"),
        (
            &["params", "diff", "-o", "params.yaml", "-o", "d.md"],
            "params.yaml",
        ),
    ] {
        let before = env.read(file);
        let (_, stderr) = env.fails(2, args);
        assert!(stderr.contains("is the input"), "mlops {args:?}: {stderr}");
        assert_eq!(env.read(file), before, "mlops {args:?}");
        assert!(!env.path("d.md").exists(), "nothing is written");
    }
}

#[test]
fn profile_summary_text_markdown_and_json() {
    let env = drift_env();
    for (name, format) in [("profile_text", "text"), ("profile_markdown", "markdown")] {
        let out = env.run(&[
            "profile",
            "ref.csv",
            "-o",
            "ref.profile",
            "--format",
            format,
        ]);
        snapshot(&env, name, &out);
    }
    let summary = env.json(&["profile", "ref.csv", "-o", "ref.profile"]);
    assert_eq!(summary["columns"][0]["min"], 0.0);
    assert_eq!(summary["columns"][0]["max"], 19.0);
    assert!(
        summary["output"]
            .as_str()
            .is_some_and(|p| p.ends_with("ref.profile")),
        "{summary}"
    );
}

#[test]
fn runs_stages_and_the_registry_text_and_markdown() {
    let env = crate::history::repo();
    env.write(
        "mlops.yaml",
        "stages:\n  prepare:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n  \
         train:\n    cmd: cat a.txt > b.txt\n    deps: [a.txt]\n    outs: [b.txt]\n",
    );
    crate::history::commit(&env, "pipeline");
    env.run(&["run", "-j", "1"]);
    env.write(
        "mlops.yaml",
        String::from_utf8(env.read("mlops.yaml"))
            .expect("utf-8")
            .replace("echo a", "echo b"),
    );
    // The short commit beside each run.
    let commit = [(r"(?m)\b[0-9a-f]{8}\+?( |$)", "[COMMIT]$1")];
    for (name, format) in [("runs_text", "text"), ("runs_markdown", "markdown")] {
        snapshot_redacting(&env, name, &env.run(&["runs", "--format", format]), &commit);
    }
    for (name, format) in [
        ("stage_list_text", "text"),
        ("stage_list_markdown", "markdown"),
    ] {
        snapshot(&env, name, &env.run(&["stage", "list", "--format", format]));
    }
    env.write("models/churn/weights.bin", "v1");
    env.run(&["add", "models/churn"]);
    crate::history::commit(&env, "model");
    env.run(&["model", "register", "churn", "--path", "models/churn"]);
    env.run(&[
        "model",
        "assign",
        "churn",
        "--version",
        "v0.0.1",
        "--stage",
        "prod",
    ]);
    for (name, args) in [
        ("model_list_text", &["model", "list"][..]),
        (
            "model_list_markdown",
            &["model", "list", "--format", "markdown"],
        ),
        ("model_history_text", &["model", "history"]),
        (
            "model_history_markdown",
            &["model", "history", "--format", "markdown"],
        ),
    ] {
        snapshot(&env, name, &env.run(args));
    }
}

/// Binary scores with a region that is worse than the rest, a sensitive column, and a
/// regression target beside them.
fn eval_env() -> TestEnv {
    let env = TestEnv::bare();
    let mut csv = String::from("label,score,region,sex,target,estimate\n");
    for i in 0..240_u32 {
        let label = u32::from(i % 3 == 0);
        let region = ["north", "south", "east"][(i % 7 % 3) as usize];
        let sex = if i % 2 == 0 { "f" } else { "m" };
        // North's scores are noise; elsewhere they follow the label.
        let score = if region == "north" {
            f64::from(i % 10) / 10.0
        } else {
            0.2 + 0.6 * f64::from(label) + f64::from(i % 5) / 50.0
        };
        let target = f64::from(i % 13 + 1);
        let estimate = target + if region == "south" { 2.5 } else { 0.5 };
        let _ = writeln!(csv, "{label},{score},{region},{sex},{target},{estimate}");
    }
    env.write("preds.csv", csv);
    env
}

#[test]
fn eval_text_and_markdown_binary_and_regression() {
    let env = eval_env();
    let binary = [
        "eval",
        "preds.csv",
        "--score",
        "score",
        "--slice",
        "region",
        "--sensitive",
        "sex",
        "--bootstrap",
        "20",
        "--gate",
        "accuracy >= 0.6",
        "--gate",
        "roc_auc >= 0.99",
    ];
    let regression = [
        "eval",
        "preds.csv",
        "--label",
        "target",
        "--prediction",
        "estimate",
        "--task",
        "regression",
        "--slice",
        "region",
        "--sensitive",
        "sex",
        "--bootstrap",
        "20",
    ];
    for (name, args, code) in [
        ("eval_binary", &binary[..], 1),
        ("eval_regression", &regression[..], 0),
    ] {
        for format in ["text", "markdown"] {
            let args = [args, &["--format", format]].concat();
            let output = env.cmd(&args).output().expect("run mlops");
            assert_eq!(output.status.code(), Some(code), "mlops {args:?}");
            let stdout = String::from_utf8(output.stdout).expect("utf-8");
            snapshot(&env, &format!("{name}_{format}"), &stdout);
        }
    }
}

#[test]
fn eval_prometheus_gauges_and_every_format_from_one_run() {
    let env = eval_env();
    let args = [
        "eval",
        "preds.csv",
        "--score",
        "score",
        "--bootstrap",
        "0",
        "--gate",
        "accuracy >= 0.6",
    ];
    let gauges = env.run(&[&args[..], &["--format", "prometheus"]].concat());
    snapshot(&env, "eval_prometheus", &gauges);
    let files = ["-o", "e.html", "-o", "e.md", "-o", "e.json", "-o", "e.prom"];
    assert_eq!(env.run(&[&args[..], &files[..]].concat()), "");
    let read = |name: &str| String::from_utf8(env.read(name)).expect("utf-8");
    assert!(read("e.html").starts_with("<!DOCTYPE html>"));
    assert_eq!(read("e.prom"), gauges);
    let markdown = env.run(&[&args[..], &["--format", "markdown"]].concat());
    assert_eq!(read("e.md").trim_end(), markdown.trim_end());
    let json: serde_json::Value = serde_json::from_str(&read("e.json")).expect("json");
    assert_eq!(json, env.json(&args));
}

#[test]
fn log_dag_and_the_everyday_commands_text() {
    let env = crate::history::repo();
    env.default_remote();
    env.write("data/a", "1").write("data/b", "2");
    let mut out = String::new();
    let mut step = |args: &[&str]| {
        let _ = writeln!(out, "$ mlops {}\n{}", args.join(" "), env.run(args));
    };
    step(&["add", "data"]);
    step(&["status"]);
    step(&["push"]);
    step(&["fsck", "--remote"]);
    step(&["remote", "list"]);
    crate::history::commit(&env, "data");
    step(&["gc"]);
    std::fs::remove_dir_all(env.path("data")).expect("rm");
    step(&["checkout"]);
    step(&["pull"]);
    snapshot(&env, "everyday_text", &out);

    env.write(
        "mlops.yaml",
        "stages:\n  prepare:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n    \
         metrics: [m.json]\n  train:\n    cmd: cat a.txt > b.txt\n    deps: [a.txt]\n    \
         outs: [b.txt]\n",
    );
    env.write("m.json", r#"{"acc": 0.5}"#);
    crate::history::commit(&env, "pipeline");
    for format in ["text", "dot", "mermaid"] {
        snapshot(
            &env,
            &format!("dag_{format}"),
            &env.run(&["dag", "--format", format]),
        );
    }
    for format in ["text", "markdown"] {
        let log = env.run(&["log", "--format", format]);
        snapshot_redacting(
            &env,
            &format!("log_{format}"),
            &log,
            &[(r"\b[0-9a-f]{10}\b", "[COMMIT]")],
        );
    }
}

#[test]
fn model_inspect_text() {
    let env = TestEnv::bare();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models");
    let model = fixtures.join("binary");
    let out = env.run(&["model", "inspect", model.to_str().expect("utf-8")]);
    let fixtures = fixtures.display().to_string();
    snapshot_redacting(
        &env,
        "model_inspect_text",
        &out,
        &[(&regex_escape(&fixtures), "[FIXTURES]")],
    );
}

#[test]
fn exp_show_text_markdown_csv_and_html() {
    let env = crate::exp::project();
    env.run(&["exp", "run", "-S", "train.lr=0.02,0.04", "--name", "lr"]);
    env.run(&["exp", "run", "-S", "train.depth=9", "--name", "deep"]);
    // A short commit of digits alone is right-aligned as a number in the HTML table.
    let revs = [
        (r"\b[0-9a-f]{7}\b", "[REV]"),
        (r#"<td class="num">\[REV\]"#, "<td>[REV]"),
    ];
    let args = ["exp", "show", "--sort-by", "score", "--sort-order", "desc"];
    for (name, extra) in [
        ("exp_show_text", None),
        ("exp_show_markdown", Some("--md")),
        ("exp_show_csv", Some("--csv")),
        ("exp_show_html", Some("--format=html")),
    ] {
        let mut all = args.to_vec();
        all.extend(extra);
        snapshot_redacting(&env, name, &env.run(&all), &revs);
    }
    let diff = env.run(&["exp", "diff", "lr-1", "deep"]);
    snapshot_redacting(&env, "exp_diff_text", &diff, &revs);
}

#[test]
fn plots_show_text_and_html() {
    let env = TestEnv::new();
    env.write(
        "loss.tsv",
        "step\ttrain_loss\tvalidation_loss\n0\t0.9\t0.95\n1\t0.5\t0.6\n2\t0.3\t0.45\n3\t0.25\t0.44\n",
    )
    .write("classes.csv", "actual,predicted\na,a\na,b\nb,b\nb,b\nc,a\n")
    .write(
        "mlops.yaml",
        "plots:\n  - loss.tsv:\n      y: [train_loss, validation_loss]\n      title: Loss\n  - classes.csv:\n      template: confusion\n      x: actual\n      y: predicted\n",
    );
    snapshot(&env, "plots_show_text", &env.run(&["plots", "show"]));
    snapshot(
        &env,
        "plots_show_html",
        &env.run(&["plots", "show", "--format", "html"]),
    );
}

#[test]
fn validate_text_markdown_and_prometheus() {
    let env = TestEnv::new();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/validate");
    for name in ["schema.yaml", "planted.csv"] {
        let bytes = fs_err::read(format!("{fixtures}/{name}")).expect("a golden fixture");
        env.write(name, bytes);
    }
    for (name, format) in [
        ("validate_text", "text"),
        ("validate_markdown", "markdown"),
        ("validate_prometheus", "prometheus"),
    ] {
        let (out, _) = env.fails(
            1,
            &[
                "validate",
                "check",
                "--schema",
                "schema.yaml",
                "planted.csv",
                "--id",
                "id",
                "--format",
                format,
            ],
        );
        snapshot(&env, name, &out);
    }
}
