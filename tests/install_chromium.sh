#!/bin/sh
# Install Debian's Chromium for the headless-browser checks (tests/browser.py), non-interactively.
# Needs root; does nothing when chromium is already on PATH. Exit status 0 means chromium is usable.
set -eu

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install_chromium.sh: chromium is missing and installing it needs root" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium
command -v chromium >/dev/null 2>&1
