#!/usr/bin/env bash
# A two-minute tour of mlops versioning, on a throwaway git repository:
# track data and a model, commit the pointers, push to a directory remote, change the data, go back
# to the old version, and pull everything into a fresh clone.
#
# Usage: examples/versioning/demo.sh [WORK_DIR]
# Uses $MLOPS if set, else builds the release binary first (under $CARGO_TARGET_DIR if set, else
# target/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ -z "${MLOPS:-}" ]; then
    cargo build --release --quiet --manifest-path "$root/Cargo.toml"
    # Where cargo put it: $CARGO_TARGET_DIR (relative to here, as cargo reads it) or target/.
    MLOPS=${CARGO_TARGET_DIR:-$root/target}/release/mlops
fi
case $MLOPS in */*) MLOPS=$(cd "$(dirname "$MLOPS")" && pwd)/$(basename "$MLOPS") ;; esac
work=${1:-$(mktemp -d)}
mkdir -p "$work"
export GIT_AUTHOR_NAME=demo GIT_AUTHOR_EMAIL=demo@example.com GIT_COMMITTER_NAME=demo GIT_COMMITTER_EMAIL=demo@example.com

mlops() { "$MLOPS" "$@"; }
step() { printf '\n$ %s\n' "$*"; "$@"; }

# Writes a small CSV of customers; $1 is how many rows, so two calls give two versions.
write_data() {
    mkdir -p data/raw
    awk -v n="$1" 'BEGIN { print "id,age,plan,churned"; for (i = 1; i <= n; i++) printf "%d,%d,%s,%d\n", i, 18 + (i * 7) % 60, (i % 3 ? "basic" : "pro"), (i % 5 == 0) }' >data/raw/customers.csv
    printf 'region,code\nnorth,1\nsouth,2\n' >data/raw/regions.csv
}

cd "$work"
git init -q -b main project
cd project
step mlops init
write_data 1000
mkdir -p models
awk 'BEGIN { for (i = 0; i < 4096; i++) printf "%c", 65 + i % 26 }' >models/churn.bin

step mlops add data models/churn.bin
step cat data.mlops
step git add .mlops/config.yaml .mlops/.gitignore .gitignore data.mlops models/.gitignore models/churn.bin.mlops
git commit -qm "Track data and model with mlops"

step mlops remote add --default storage ../storage
git commit -qam "Add the storage remote"
step mlops push
step mlops status

write_data 2000
step mlops status
step mlops add data
git commit -qam "Twice the data"
step wc -l data/raw/customers.csv

# Back to the first version of the data: git restores the pointer, mlops the bytes.
step git checkout -q HEAD~2 -- data.mlops
step mlops checkout
step wc -l data/raw/customers.csv
git checkout -q HEAD -- data.mlops
step mlops checkout

step mlops push
cd "$work"
step git clone -q project clone
cd clone
step mlops pull
step mlops status --check
step wc -l data/raw/customers.csv
printf '\nThe demo ran in %s\n' "$work"
