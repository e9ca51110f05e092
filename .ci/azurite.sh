#!/usr/bin/env bash
# Installs Azurite, Microsoft's Azure Storage emulator (npm `azurite`), under $HOME/.cache for
# the Azure remote test (tests/cli/azure.rs); prints the path of its `azurite-blob`. Idempotent:
# an install whose azurite-blob runs is reused. Fails loudly when it cannot be installed (node
# and npm are needed): CI must not skip the test.
set -euo pipefail
dir="${MLOPS_AZURITE_DIR:-${HOME:-/tmp}/.cache/mlops/azurite}"
blob="$dir/node_modules/.bin/azurite-blob"
if [ -x "$blob" ] && "$blob" --version >/dev/null 2>&1; then
    echo "$blob"
    exit 0
fi
if ! command -v npm >/dev/null; then
    echo "error: node and npm are needed to install Azurite for the Azure remote test" >&2
    exit 1
fi
# Several test processes may race to install it: one installs, the others wait on the lock.
mkdir -p "$dir"
exec 9>"$dir.lock"
flock 9
if ! { [ -x "$blob" ] && "$blob" --version >/dev/null 2>&1; }; then
    npm install --silent --no-audit --no-fund --prefix "$dir" 'azurite@3' >&2
fi
echo "$blob"
