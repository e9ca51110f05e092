# Shared by the benchmark scripts (sourced, not run). Needs $root (the repository) and $work (a
# scratch directory).

# generator NAME: builds the benchmark data generator `benches/NAME.rs` and prints its path.
generator() {
    cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bench "$1"
    ls -t "${CARGO_TARGET_DIR:-$root/target}"/release/deps/"$1"-* | grep -v '\.d$' | head -1
}

# measure LABEL COMMAND...: runs the command under GNU time and prints one Markdown table row of
# wall time, CPU time (user+sys) and peak resident memory; stops the benchmark if it fails.
# MEASURE_DECIMALS sets the precision of the times (default 2). The command's stdout is kept in
# $work/.last.out.
measure() {
    local label=$1; shift
    local timing="$work/.timing"
    /usr/bin/time -f "%e %U %S %M" -o "$timing" "$@" >"$work/.last.out" 2>"$work/.last.err" || {
        echo "$label failed:"; cat "$work/.last.err"; exit 1; } >&2
    local wall user sys rss_kib
    read -r wall user sys rss_kib <"$timing"
    local d=${MEASURE_DECIMALS:-2}
    printf "| %s | %.${d}f s | %.${d}f s | %.0f MiB |\n" "$label" "$wall" "$(echo "$user + $sys" | bc -l)" "$(echo "$rss_kib / 1024" | bc -l)"
}
