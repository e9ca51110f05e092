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

# pipeline_100: prints the stages of the 100-stage pipeline the pipeline benchmarks run: a chain
# of 50 (each stage copies the one before) and a fan-out of 50 independent stages that read
# fan.factor from params.yaml (the caller writes it). Starts at `stages:`.
pipeline_100() {
    echo "stages:"
    echo "  chain0:"
    echo "    cmd: cat input.txt > chain/0.txt"
    echo "    deps: [input.txt]"
    echo "    outs: [chain/0.txt]"
    for i in $(seq 1 49); do
        echo "  chain$i:"
        echo "    cmd: cat chain/$((i - 1)).txt > chain/$i.txt"
        echo "    deps: [chain/$((i - 1)).txt]"
        echo "    outs: [chain/$i.txt]"
    done
    for i in $(seq 0 49); do
        echo "  fan$i:"
        echo "    cmd: echo \${fan.factor} | cat - input.txt > fan/$i.txt"
        echo "    deps: [input.txt]"
        echo "    params: [fan.factor]"
        echo "    outs: [fan/$i.txt]"
    done
}

# pipeline_100_floor: the same 100 commands, one per line, as the stages run them with
# fan.factor 1.
pipeline_100_floor() {
    echo "cat input.txt > chain/0.txt"
    for i in $(seq 1 49); do echo "cat chain/$((i - 1)).txt > chain/$i.txt"; done
    for i in $(seq 0 49); do echo "echo 1 | cat - input.txt > fan/$i.txt"; done
}

# start_moto: starts moto's S3 server (installed by .ci/moto.sh) on a free port of 127.0.0.1 and
# waits for it; sets $python (moto's venv, with boto3), $endpoint and $moto_pid (the caller's EXIT
# trap kills it). Its log goes to $work/moto.log.
start_moto() {
    local server port
    server=$("$root/.ci/moto.sh")
    python="$(dirname "$server")/python"
    port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
    moto_pid=$!
    endpoint="http://127.0.0.1:$port"
    for _ in $(seq 100); do
        "$python" -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
        sleep 0.2
    done
}
