#!/usr/bin/env bash
# Set up (first time) and run the whole test suite: unit and integration tests, browser
# end-to-end tests in Debian's Chromium, the desktop window under Xvfb, and the
# single-file executable build. Extra arguments go to pytest (e.g. -m "not slow").
set -euo pipefail
cd "$(dirname "$0")/.."
bash build/setup.sh --test
exec .venv/bin/python -m pytest "$@"
