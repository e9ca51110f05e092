//! Gates in `mlops eval` and `mlops drift` are one expression language (crates/mlops-expr): the
//! same text parses the same way and each operator means the same in both commands (issue 15,
//! item 11).

use std::fmt::Write as _;

use crate::support::TestEnv;

/// 10 rows, binary labels and predictions, for eval; the same file as drift's reference and
/// current batch, so that drift finds no drift and only the gate decides the exit status.
fn env() -> TestEnv {
    let env = TestEnv::bare();
    let mut data = String::from("label,prediction,x\n");
    for i in 0..10 {
        let _ = writeln!(data, "{},{},{}", i % 2, (i / 3) % 2, i * 7 % 10);
    }
    env.write("data.csv", data);
    env
}

/// `mlops eval` and `mlops drift` with one gate.
fn commands(gate: &str) -> [Vec<&str>; 2] {
    [
        vec![
            "eval",
            "data.csv",
            "--prediction",
            "prediction",
            "--gate",
            gate,
        ],
        vec![
            "drift",
            "--reference",
            "data.csv",
            "data.csv",
            "--gate",
            gate,
        ],
    ]
}

/// The exit status of `mlops eval` and of `mlops drift` with one gate.
fn statuses(env: &TestEnv, gate: &str) -> [Option<i32>; 2] {
    commands(gate).map(|args| {
        let output = env.cmd(&args).output().expect("run mlops");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        output.status.code()
    })
}

/// Before, eval's `==` allowed 1e-12 and drift's was exact; drift refused arithmetic, `+-`,
/// `and`/`or`/`not`, and eval refused all but `+`/`-` sums. Now both read every form alike.
#[test]
fn one_operator_means_the_same_in_eval_and_drift() {
    let env = env();
    // (gate, exit status of both commands)
    let cases = [
        // `==` is exact: 0.1 + 0.2 is 0.30000000000000004 (eval passed this before, drift
        // refused it).
        ("0.1 + 0.2 == 0.3", 1),
        ("0.1 + 0.2 != 0.3", 0),
        // A stated tolerance.
        ("0.1 + 0.2 == 0.3 +- 1e-9", 0),
        ("rows == 10.5 +- 0.5", 0),
        ("rows == 10.5 +- 0.4", 1),
        ("rows != 10.5 +- 0.4", 0),
        // Exact on counts, arithmetic, conditions.
        ("rows == 10", 0),
        ("rows * 2 / 4 == 5", 0),
        ("rows >= 10 and rows < 11", 0),
        ("rows > 10 or rows < 10", 1),
        ("not (rows > 10)", 0),
        // A malformed gate is a usage error in both, never a failed check.
        ("rows == 10 +- rows", 2),
        ("rows = 10", 2),
        ("0 < rows < 20", 2),
    ];
    for (gate, expected) in cases {
        assert_eq!(
            statuses(&env, gate),
            [Some(expected); 2],
            "{gate}: [eval, drift]"
        );
    }
}

/// The same malformed gate gives the same message, with the column, in both commands.
#[test]
fn a_malformed_gate_reads_the_same_in_eval_and_drift() {
    let env = env();
    let expected = "error: invalid gate `rows > 10 && rows < 20`: conditions are joined with `and` at column 11";
    for args in commands("rows > 10 && rows < 20") {
        let (_, stderr) = env.fails(2, &args);
        assert_eq!(stderr.lines().next(), Some(expected), "{stderr}");
    }
}
