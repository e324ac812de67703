#!/usr/bin/env bash
# Set up (first time) and run the whole test suite: lint, unit and integration tests,
# browser end-to-end tests in Debian's Chromium, the desktop window under Xvfb, and the
# single-file executable build. Extra arguments go to pytest (e.g. -m "not slow").
# With CI=true (as .ci/run sets it) a missing browser, display, Qt or tool fails the run
# instead of skipping tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash build/setup.sh --test
.venv/bin/python -m ruff check backend tests
# One worker per core, tests handed out as workers come free; the executables are built
# once and shared by the workers (tests/packaging/conftest.py). The 15 slowest tests are
# listed at the end, to keep an eye on the suite's time.
exec .venv/bin/python -m pytest -n auto --dist load --durations=15 "$@"
