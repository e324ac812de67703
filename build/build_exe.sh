#!/usr/bin/env bash
# Build the single-file TFTSR executable with PyInstaller.
#
#   build/build_exe.sh [OUTPUT_DIR]      default OUTPUT_DIR: dist/ in the checkout
#
# Writes OUTPUT_DIR/tftsr (tftsr.exe on Windows). PyInstaller's intermediate files go to
# a temporary folder that is removed afterwards -- never to ./build, which holds our
# sources. Uses .venv/bin/python when present (build/setup.sh --test creates it with
# PyInstaller), else $PYTHON or python3.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

OUT="${1:-$ROOT/dist}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"
  elif [ -x "$ROOT/.venv/Scripts/python.exe" ]; then PYTHON="$ROOT/.venv/Scripts/python.exe"
  else PYTHON=python3
  fi
fi
if ! "$PYTHON" -c 'import PyInstaller' 2>/dev/null; then
  echo "PyInstaller is not installed for $PYTHON; run build/setup.sh --test first." >&2
  exit 1
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tftsr-pyinstaller.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --workpath "$WORK/work" --distpath "$OUT" "$ROOT/build/tftsr.spec"
end=$(date +%s)

exe="$OUT/tftsr"
[ -f "$exe.exe" ] && exe="$exe.exe"
if [ ! -f "$exe" ]; then
  echo "PyInstaller finished but $exe is missing." >&2
  exit 1
fi
size=$(wc -c <"$exe" | tr -d ' ')
echo "Built $exe: $((size / 1024 / 1024)) MiB in $((end - start)) s"
