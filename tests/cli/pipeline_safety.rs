//! `mlops run` under kills, hostile lock files and mistakes (issue 14).

use crate::support::TestEnv;

#[test]
fn a_hostile_lock_file_writes_nothing_outside_the_workspace() {
    let env = TestEnv::new();
    env.default_remote();
    env.write("seed.txt", "#!/bin/sh\necho owned\n");
    env.run(&["add", "seed.txt"]);
    env.run(&["push"]);
    let digest = crate::support::pointer_digest(&env, "seed.txt.mlops");
    let size = env.read("seed.txt").len();
    let abs = env.outside("abs-target");
    env.write(
        "mlops.yaml",
        "stages:\n  ok:\n    cmd: echo ok > ok.txt\n    outs: [ok.txt]\n",
    );
    for bad in [
        abs.to_str().expect("utf-8"),
        "../escaped",
        ".git/hooks/post-commit",
    ] {
        env.write(
            "mlops.lock",
            format!(
                "schema: 1\nstages:\n  ok:\n    cmd: echo ok > ok.txt\n    outs:\n    - path: {bad}\n      kind: file\n      digest: {digest}\n      size: {size}\n"
            ),
        );
        for args in [
            &["checkout", "--force"][..],
            &["pull"][..],
            &["run"][..],
            &["run", "--dry-run"][..],
        ] {
            let (_, stderr) = env.fails(2, args);
            assert!(stderr.contains(bad), "{args:?} names `{bad}`: {stderr}");
        }
        assert!(!abs.exists());
        assert!(!env.outside("escaped").exists());
        assert!(!env.path(".git/hooks/post-commit").exists());
        assert!(!env.path("ok.txt").exists(), "run refused before running");
    }
}
