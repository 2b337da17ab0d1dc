#!/usr/bin/env bash
# Installs the headless browser the experiment report's test looks at index.html with:
# Chromium from the distribution's packages (Debian's `chromium`), unless one is on PATH.
# Needs root (or sudo) for apt-get; nothing is downloaded from anywhere else.
set -euo pipefail
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then
    echo "headless browser: $(command -v "$b") ($("$b" --version 2>/dev/null || echo unknown version))"
    exit 0
  fi
done
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "headless browser: $(command -v chromium) ($(chromium --version 2>/dev/null))"
