#!/usr/bin/env bash
# Set up (first time) and launch TFTSR. Extra arguments go to `tftsr`, e.g. `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash build/setup.sh
exec .venv/bin/tftsr "$@"
