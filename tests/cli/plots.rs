//! `mlops plots show`: declared plots, dvclive's layout read as it is, comparisons across
//! experiments, the HTML page (one SVG per plot, under 1 MB, opening in headless Chromium when
//! it is installed) and the PNG drawn without a browser; and `mlops eval --plots` and `mlops
//! train`'s loss table as plot sources.

use std::fmt::Write as _;
use std::path::Path;

use crate::exp::{PIPELINE, project};
use crate::history::commit;
use crate::support::TestEnv;

/// A long step-wise metric per experiment: 5,000 steps whose curve depends on `train.lr`.
const CURVE: &str = "lr=$(awk '/lr:/{print $2}' params.yaml)
awk -v lr=\"$lr\" 'BEGIN{print \"step\\tloss\\tacc\"; for(i=0;i<5000;i++) printf \"%d\\t%.6f\\t%.4f\\n\", i, exp(-i*lr/50)+0.01*sin(i), 1-exp(-i*lr/50)}' > curve.tsv
printf 'actual,predicted\\na,a\\na,b\\nb,b\\nb,b\\n' > classes.csv
";

const PLOTS: &str = "  curve:
    cmd: sh curve.sh
    deps: [curve.sh]
    params: [train.lr]
    outs: [curve.tsv]
    metrics: [classes.csv]
plots:
  - curve.tsv:
      x: step
      y: [loss, acc]
      title: Learning curve
  - classes.csv:
      template: confusion
      x: actual
      y: predicted
";

fn plots_project() -> TestEnv {
    let env = project();
    env.write("curve.sh", CURVE)
        .write("mlops.yaml", format!("{PIPELINE}{PLOTS}"));
    env.run(&["run"]);
    commit(&env, "plots");
    env
}

fn svg_count(html: &str) -> usize {
    html.matches("<svg").count()
}

#[test]
fn experiments_plot_side_by_side_in_one_small_page_and_a_png() {
    let env = plots_project();
    env.run(&[
        "exp",
        "run",
        "-S",
        "train.lr=0.5,1,2,3,4,5,6,7,8,9,10",
        "-j",
        "2",
        "--name",
        "lr",
    ]);
    let names: Vec<String> = (1..=11).map(|i| format!("lr-{i}")).collect();
    env.run(&[
        "plots",
        "show",
        "--exp",
        &names.join(","),
        "-o",
        "plots.html",
        "-o",
        "plots.png",
    ]);
    let html = std::fs::read_to_string(env.path("plots.html")).expect("page");
    assert_eq!(svg_count(&html), 2, "one SVG per plot");
    assert!(html.len() < 1_000_000, "{} bytes", html.len());
    assert!(!html.contains("<script"), "the page runs no script");
    // 12 sources × 2 columns: every line drawn, each at most 1,000 points.
    assert_eq!(html.matches("<polyline").count(), 24);
    assert!(html.contains("lr-11 loss"));

    let png = std::fs::read(env.path("plots.png")).expect("png");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let image = resvg::tiny_skia::Pixmap::decode_png(&png).expect("decodes");
    assert_eq!((image.width(), image.height()), (1120, 340));
    let coloured = image
        .pixels()
        .iter()
        .filter(|p| !(p.red() > 240 && p.green() > 240 && p.blue() > 240))
        .count();
    assert!(
        coloured > 5_000,
        "the image is nearly blank: {coloured} pixels drawn"
    );

    // The summary names each plot and its sources; JSON holds the points.
    let text = env.run(&["plots", "show", "--exp", "lr-1"]);
    assert!(
        text.contains("curve.tsv") && text.contains("lr-1 loss (5000 points)"),
        "{text}"
    );
    let json = env.json(&["plots", "show", "--exp", "lr-1"]);
    assert_eq!(json["sources"], serde_json::json!(["workspace", "lr-1"]));
}

#[test]
fn dvclive_output_is_read_as_it_is() {
    let env = TestEnv::new();
    env.write(
        "dvclive/plots/metrics/train/loss.tsv",
        "timestamp\tstep\tloss\n1\t0\t0.9\n2\t1\t0.5\n3\t2\t0.3\n",
    )
    .write(
        "dvclive/plots/sklearn/roc.json",
        r#"{"roc": [{"fpr": 0, "tpr": 0, "threshold": 1}, {"fpr": 0.5, "tpr": 0.8, "threshold": 0.5}, {"fpr": 1, "tpr": 1, "threshold": 0}]}"#,
    )
    .write(
        "dvclive/plots/sklearn/confusion_matrix.json",
        r#"[{"actual": "0", "predicted": "0"}, {"actual": "1", "predicted": "0"}, {"actual": "1", "predicted": "1"}]"#,
    );
    let json = env.json(&["plots", "show"]);
    let plots = json["plots"].as_array().expect("plots");
    let ids: Vec<&str> = plots
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        [
            "dvclive/plots/metrics/train/loss.tsv",
            "dvclive/plots/sklearn/roc.json",
            "dvclive/plots/sklearn/confusion_matrix.json"
        ]
    );
    // The loss against dvclive's `step`, not its timestamp; the matrix counted from its rows.
    assert_eq!(
        plots[0]["drawing"]["data"][0]["points"],
        serde_json::json!([[0.0, 0.9], [1.0, 0.5], [2.0, 0.3]])
    );
    assert_eq!(plots[1]["template"], "simple");
    assert_eq!(
        plots[2]["drawing"]["data"][0]["counts"],
        serde_json::json!([[1.0, 0.0], [1.0, 1.0]])
    );
    env.run(&["plots", "show", "-o", "p.html"]);
    let html = std::fs::read_to_string(env.path("p.html")).expect("page");
    assert_eq!(svg_count(&html), 3);
}

#[test]
fn files_without_a_declaration_plot_with_flags_and_bad_ones_are_named() {
    let env = TestEnv::new();
    env.write("m.csv", "epoch,a,b\n0,1,2\n1,3,4\n");
    let json = env.json(&["plots", "show", "m.csv", "-x", "epoch", "-y", "a"]);
    assert_eq!(
        json["plots"][0]["drawing"]["data"][0]["points"],
        serde_json::json!([[0.0, 1.0], [1.0, 3.0]])
    );
    // DVC's default: the last column against the row number.
    let json = env.json(&["plots", "show", "m.csv"]);
    assert_eq!(json["plots"][0]["drawing"]["data"][0]["y"], "b");
    for (args, expected) in [
        (
            vec!["m.csv", "-t", "pie"],
            "no template `pie` (templates: linear, simple",
        ),
        (
            vec!["m.csv", "-y", "c"],
            "`m.csv` has no column `c` (it has: epoch, a, b)",
        ),
        (vec!["m.csv", "--exp", "nope"], "no experiment named `nope`"),
    ] {
        let mut all = vec!["plots", "show"];
        all.extend(args.iter().copied());
        let (_, err) = env.fails(2, &all);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    env.write("mlops.yaml", "plots:\n  - m.csv:\n      colour: red\n");
    let (_, err) = env.fails(2, &["plots", "show"]);
    assert!(
        err.contains("unknown key `colour` in plot `m.csv`"),
        "{err}"
    );
}

#[test]
fn eval_writes_plot_files_and_a_metrics_file() {
    let env = TestEnv::new();
    let mut csv = String::from("y,score\n");
    for i in 0..200 {
        let y = i % 2;
        let score = (f64::from(i % 17) / 17.0 + f64::from(y) * 0.5) / 1.5;
        let _ = writeln!(csv, "{y},{score:.4}");
    }
    env.write("preds.csv", csv);
    env.run(&[
        "eval",
        "preds.csv",
        "--label",
        "y",
        "--score",
        "score",
        "--plots",
        "plots",
        "--metrics-file",
        "metrics.json",
        "-o",
        "eval.json",
    ]);
    let metrics: serde_json::Value =
        serde_json::from_slice(&env.read("metrics.json")).expect("metrics");
    let report: serde_json::Value = serde_json::from_slice(&env.read("eval.json")).expect("eval");
    assert_eq!(metrics["roc_auc"], report["overall"]["roc_auc"]);
    for file in ["roc.json", "precision_recall.json", "confusion_matrix.json"] {
        assert!(env.path("plots").join(file).is_file(), "{file}");
    }
    let json = env.json(&[
        "plots",
        "show",
        "plots/roc.json",
        "-t",
        "simple",
        "-x",
        "fpr",
        "-y",
        "tpr",
    ]);
    let points = json["plots"][0]["drawing"]["data"][0]["points"]
        .as_array()
        .expect("points")
        .len();
    assert!(points > 2, "{points}");
    let json = env.json(&[
        "plots",
        "show",
        "plots/confusion_matrix.json",
        "-t",
        "confusion",
        "-x",
        "actual",
        "-y",
        "predicted",
    ]);
    let counts = &json["plots"][0]["drawing"]["data"][0]["counts"];
    let total: f64 = counts
        .as_array()
        .expect("rows")
        .iter()
        .flat_map(|r| {
            r.as_array()
                .expect("row")
                .iter()
                .map(|c| c.as_f64().expect("count"))
        })
        .sum();
    assert!((total - 200.0).abs() < 1e-9, "{counts}");
}

/// Opens the page in headless Chromium (Debian's `chromium`, or `chromium-headless-shell`)
/// when one is installed: it must load without errors and hold one SVG per plot in its DOM.
/// `scripts/check_plots_chromium.sh` installs one and runs this test.
#[test]
#[allow(clippy::print_stderr, reason = "says why the test checked nothing")]
fn the_page_opens_in_headless_chromium_when_installed() {
    let Some(browser) = ["chromium", "chromium-headless-shell", "chromium-browser"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        eprintln!("no headless Chromium installed: scripts/check_plots_chromium.sh installs one");
        return;
    };
    let env = plots_project();
    env.run(&["plots", "show", "-o", "plots.html"]);
    let page = env.path("plots.html");
    let output = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .env("HOME", env.outside("chromium-home"))
        .output()
        .expect("chromium");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{browser} failed: {stderr}");
    assert!(
        !stderr.contains("Uncaught") && !stderr.contains("CONSOLE"),
        "{stderr}"
    );
    let dom = String::from_utf8_lossy(&output.stdout);
    assert_eq!(dom.matches("<svg").count(), 2, "{dom}");
    assert!(Path::new(&page).is_file());
}
