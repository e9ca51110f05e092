#!/usr/bin/env bash
# Benchmarks the git integration on a generated repository: a tracked directory of FILES small
# files and COMMITS commits that each change 10 of them (with the hooks installed, so each
# commit also records its note). Measures the pre-commit and post-commit hooks, `diff` across
# all commits (with the changed files inside the directory), `log` of the directory, `gc
# --all-commits`, and the registry (register, list, history over COMMITS versions). Prints a
# Markdown table of wall time, CPU time (user+sys) and peak memory. Not a test: nothing here
# asserts a time.
#
# Usage: benches/history.sh [FILES] [COMMITS]     Env: MLOPS (binary, default $CARGO_TARGET_DIR or target/, then release/mlops)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mlops=${MLOPS:-${CARGO_TARGET_DIR:-$root/target}/release/mlops}
[ -x "$mlops" ] || { echo "build first: cargo build --release" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
files=${1:-10000}
commits=${2:-50}
source "$root/benches/lib.sh"

repo="$work/repo"
mkdir -p "$repo/data"
cd "$repo"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
git init -q -b main .
git config user.name bench
git config user.email bench@example.com
"$mlops" -q init >/dev/null
for i in $(seq 1 "$files"); do echo "row $i" >"data/f$i.csv"; done
"$mlops" -q hooks install >/dev/null
for c in $(seq 1 "$commits"); do
    for i in $(seq 1 10); do echo "commit $c" >>"data/f$(( (c * 10 + i) % files + 1 )).csv"; done
    "$mlops" -q add data >/dev/null
    git add -A
    git commit -q -m "change $c"
    "$mlops" -q model register churn --path data >/dev/null
done

echo "| operation ($files files, $commits commits) | wall | CPU | peak RSS |"
echo "|---|---|---|---|"
measure "hook pre-commit (clean workspace)" "$mlops" -q hook pre-commit
measure "hook post-commit (record the note)" "$mlops" -q hook post-commit
measure "diff HEAD~$((commits - 1)) HEAD (files inside)" "$mlops" -q --json diff "HEAD~$((commits - 1))" HEAD
measure "log data -n $commits" "$mlops" -q --json log data -n "$commits"
measure "gc --all-commits --dry-run" "$mlops" -q --json gc --all-commits --dry-run
measure "model list ($commits versions)" "$mlops" -q --json model list
measure "model history" "$mlops" -q --json model history churn
