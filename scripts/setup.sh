#!/usr/bin/env bash
# Create .venv and install the project with its exact pins.
#   bash scripts/setup.sh          # runtime (enough for `kedro run`)
#   bash scripts/setup.sh --test   # + test tools, and Debian's chromium for the kedro-viz browser test
set -euo pipefail
cd "$(dirname "$0")/.."
export KEDRO_DISABLE_TELEMETRY=true PIP_DISABLE_PIP_VERSION_CHECK=1

with_tests=0
[[ "${1:-}" == "--test" ]] && with_tests=1

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
fi
# torch is pinned to 2.13.0 exactly: pip's find-links on this machine carries the CPU wheel.
if [[ $with_tests == 1 ]]; then
  .venv/bin/pip install -q -e ".[test]"
else
  .venv/bin/pip install -q -e .
fi

if [[ $with_tests == 1 ]] && ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium for the kedro-viz browser test" >&2
  if [[ $(id -u) == 0 ]]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
echo "environment ready: .venv ($(.venv/bin/python --version))"
