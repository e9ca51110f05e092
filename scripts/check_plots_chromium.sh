#!/usr/bin/env bash
# Opens a `mlops plots show` page in headless Chromium: it must load without console errors and
# hold one SVG per plot. Installs Debian's `chromium-headless-shell` first when no Chromium is
# there (root, or sudo), then runs the test that checks it (which passes without a browser,
# saying so, so CI needs none). Usage: scripts/check_plots_chromium.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null && ! command -v chromium-headless-shell >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq chromium-headless-shell
fi
cargo test --test cli plots::the_page_opens_in_headless_chromium_when_installed -- --nocapture
