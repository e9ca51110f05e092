#!/usr/bin/env bash
# Installs moto's standalone S3 server (PyPI `moto[server]`) into a venv cached under
# $HOME/.cache, for the S3 remote tests (tests/cli/s3.rs) and benches/s3.sh; prints the path of
# its `moto_server`. Idempotent: a venv whose moto_server runs is reused. Fails loudly when moto
# cannot be installed: CI must not skip the S3 tests.
set -euo pipefail
venv="${MLOPS_MOTO_VENV:-${HOME:-/tmp}/.cache/mlops/moto-venv}"
server="$venv/bin/moto_server"
if [ -x "$server" ] && "$venv/bin/python" -c 'import moto.server' 2>/dev/null; then
    echo "$server"
    exit 0
fi
python=$(command -v python3 || true)
if [ -z "$python" ]; then
    echo "error: python3 is needed to install moto's S3 server for the S3 tests" >&2
    exit 1
fi
# Several test processes may race to install it: one installs, the others wait on the lock.
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if ! { [ -x "$server" ] && "$venv/bin/python" -c 'import moto.server' 2>/dev/null; }; then
    rm -rf "$venv"
    "$python" -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet 'moto[server]>=5.1,<6' >&2
fi
echo "$server"
