#!/usr/bin/env bash
# Benchmarks mlops versioning on generated data, beside the floors (cp, find, b3sum when
# installed) measured in the same run. Prints one Markdown table: wall time, CPU time (user+sys)
# and peak resident memory per row. Not a test: nothing here asserts a time.
#
# Usage: benches/versioning.sh [--quick] [--dvc]
#   --quick: 256 MiB and 5,000 files instead of 2 GiB and 50,000
#   --dvc:   also run the same operations with DVC (needs `dvc` on PATH: pip install dvc)
# Env:   MLOPS (binary, default $CARGO_TARGET_DIR or target/, then release/mlops), BENCH_DIR (scratch dir, default a new temp dir)
set -euo pipefail

big_mib=2048 small_files=50000 with_dvc=false
for arg in "$@"; do
    case $arg in
        --quick) big_mib=256 small_files=5000 ;;
        --dvc) with_dvc=true ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
mlops=${MLOPS:-${CARGO_TARGET_DIR:-$root/target}/release/mlops}
[ -x "$mlops" ] || { echo "build first: cargo build --release" >&2; exit 2; }
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

source "$root/benches/lib.sh"

echo "generating ${big_mib} MiB in one file and ${small_files} files of 4 KiB under $work ..." >&2
python3 - "$work" "$big_mib" "$small_files" <<'PY'
import os, random, sys
work, big_mib, small = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(42)
os.makedirs(f"{work}/big/data", exist_ok=True)
with open(f"{work}/big/data/blob.bin", "wb") as f:
    block = rng.randbytes(1 << 20)
    for i in range(big_mib):
        f.write(i.to_bytes(8, "little") + block[8:])
for i in range(small):
    d = f"{work}/small/data/d{i % 100:02d}/e{(i // 100) % 10}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/f{i:06d}.bin", "wb") as f:
        f.write(rng.randbytes(4096))
PY
sync
sleep 2  # let the newest mtimes age past the hash index's racy window

for ws in big small; do (cd "$work/$ws" && "$mlops" -q init --no-git); done
"$mlops" -q -C "$work/small" remote add -d origin "$work/remote"

echo "| operation | wall | CPU | peak RSS |"
echo "|---|---|---|---|"
start=$(date +%s.%N)
for _ in $(seq 100); do "$mlops" --version >/dev/null; done
printf '| startup (`--version`), mean of 100 | %.2f ms | | |\n' "$(echo "($(date +%s.%N) - $start) * 10" | bc -l)"

if command -v b3sum >/dev/null; then
    measure "floor: b3sum ${big_mib} MiB" b3sum "$work/big/data/blob.bin"
fi
measure "floor: cp + sync ${big_mib} MiB" bash -c "cp '$work/big/data/blob.bin' '$work/blob.copy' && sync"
rm -f "$work/blob.copy"
measure "add ${big_mib} MiB file (copy into cache)" "$mlops" -q -C "$work/big" add data/blob.bin
measure "no-op status, 1 large file" "$mlops" -q -C "$work/big" status
touch "$work/big/data/blob.bin"
# The same multithreaded mmap hashing as b3sum; peak RSS counts the mapped file's page cache.
measure "re-hash ${big_mib} MiB (status after touch)" "$mlops" -q -C "$work/big" status

measure "floor: cp -r ${small_files} files" cp -r "$work/small/data" "$work/copy"
measure "floor: find stat walk ${small_files} files" find "$work/small/data" -type f -printf '%s %T@ %i\n'
measure "add ${small_files} small files" "$mlops" -q -C "$work/small" add data
sleep 2
measure "re-add, nothing changed (cold index after add)" "$mlops" -q -C "$work/small" add data
measure "no-op status ${small_files} files" "$mlops" -q -C "$work/small" status
echo changed >>"$work/small/data/d42/e3/f000342.bin"
measure "re-add after 1 file changed" "$mlops" -q -C "$work/small" add data
measure "push ${small_files} objects (directory remote)" "$mlops" -q -C "$work/small" push
measure "no-op push ${small_files} objects" "$mlops" -q -C "$work/small" push
measure "no-op status with remote check" "$mlops" -q -C "$work/small" status
index_bytes=$(stat -c %s "$work/small/.mlops/index")
# Checkout into a fresh workspace: the pointer file, and the cache moved over (a rename). Deleting
# the data first instead would make ext4 skip the just-freed inodes for minutes and slow every file
# creation, for cp as much as for mlops; the last two rows show that case.
mkdir "$work/fresh"
mv "$work/small/.mlops" "$work/fresh/.mlops"
cp "$work/small/data.mlops" "$work/fresh/"
measure "checkout ${small_files} files into an empty workspace (copy)" "$mlops" -q -C "$work/fresh" checkout
mv "$work/fresh/.mlops" "$work/small/.mlops"
measure "fsck $((small_files + 1000)) objects" "$mlops" -q -C "$work/small" fsck
echo "| hash index on disk | $index_bytes bytes, $((index_bytes / small_files)) bytes per file | | |"
rm -rf "$work/copy"
measure "floor: cp -r ${small_files} files right after deleting as many" cp -r "$work/small/data" "$work/copy"
rm -rf "$work/small/data"
measure "checkout ${small_files} files right after deleting as many" "$mlops" -q -C "$work/small" checkout

if $with_dvc; then
    # The same operations with DVC, on copies of the same data (DVC's default cache type on ext4
    # is a copy, as mlops's `auto` is there).
    mkdir -p "$work/dvc-big" "$work/dvc-small"
    cp -r "$work/big/data" "$work/dvc-big/"
    cp -r "$work/small/data" "$work/dvc-small/"
    for ws in dvc-big dvc-small; do (cd "$work/$ws" && dvc init -q --no-scm); done
    (cd "$work/dvc-small" && dvc remote add -q -d origin "$work/dvc-remote")
    sleep 2
    measure "DVC: startup (\`--version\`)" dvc --version
    measure "DVC: add ${big_mib} MiB file" bash -c "cd '$work/dvc-big' && dvc add -q data/blob.bin"
    measure "DVC: add ${small_files} small files" bash -c "cd '$work/dvc-small' && dvc add -q data"
    measure "DVC: no-op status ${small_files} files" bash -c "cd '$work/dvc-small' && dvc status -q"
    echo changed >>"$work/dvc-small/data/d42/e3/f000342.bin"
    measure "DVC: re-add after 1 file changed" bash -c "cd '$work/dvc-small' && dvc add -q data"
    measure "DVC: push ${small_files} objects" bash -c "cd '$work/dvc-small' && dvc push -q"
    measure "DVC: no-op push ${small_files} objects" bash -c "cd '$work/dvc-small' && dvc push -q"
    rm -rf "$work/dvc-small/data"
    sleep 1
    measure "DVC: checkout ${small_files} files right after deleting them" bash -c "cd '$work/dvc-small' && dvc checkout -q"
fi
