#!/usr/bin/env bash
# Build TFTSR's two executables with PyInstaller, from one Analysis:
#
#   build/build_exe.sh [OUTPUT_DIR]      default OUTPUT_DIR: dist/ in the checkout
#
# Writes
#   OUTPUT_DIR/tftsr            the single file (Linux, macOS): a small launcher plus the
#                               folder build as an archive, unpacked once per version into
#                               a cache folder (~/.cache/tftsr/VERSION-HASH) and started
#                               from there. On Windows: tftsr.exe, PyInstaller's one-file
#                               executable.
#   OUTPUT_DIR/tftsr-portable/  the portable folder, started by tftsr-portable/tftsr
#                               (tftsr.exe on Windows). Its tftsr-portable.marker file
#                               keeps every byte of data in tftsr-portable/data/. On
#                               macOS it holds TFTSR.app instead of the bare folder
#                               build, and tftsr is a script that starts the app's
#                               executable (untested: no macOS machine here).
# and prints the size budget (the biggest parts of the build). PyInstaller's intermediate
# files go to a temporary folder that is removed afterwards -- never to ./build, which
# holds our sources. Uses .venv/bin/python when present (build/setup.sh --test creates it
# with PyInstaller), else $PYTHON or python3.
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

VERSION="$(PYTHONPATH="$ROOT/backend" "$PYTHON" -c 'import tftsr; print(tftsr.__version__)')"

# PyInstaller's own cache (stripped libraries) lives in this build's temporary folder:
# with --clean a build empties the shared ~/.cache/pyinstaller when it starts, which
# broke any other build running at that moment ("bincache may be corrupted").
export PYINSTALLER_CONFIG_DIR="$WORK/pyinstaller-cache"

start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --workpath "$WORK/work" --distpath "$WORK/dist" "$ROOT/build/tftsr.spec"
folder="$WORK/dist/tftsr"
if [ ! -d "$folder" ]; then
  echo "PyInstaller finished but its folder build $folder is missing." >&2
  exit 1
fi

# Qt WebEngine creates this empty folder beside its resources on its first start when it is
# missing: shipped, a run changes nothing in the program's folder (a portable folder may
# sit on read-only media; the single file's unpacked copy stays as unpacked).
if [ -d "$folder/_internal/PyQt6/Qt6/resources" ]; then
  mkdir -p "$folder/_internal/PyQt6/Qt6/resources/locales"
fi

portable="$OUT/tftsr-portable"
rm -rf "$portable" "$OUT/tftsr" "$OUT/tftsr.exe"
case "$(uname -s)" in
  MINGW*|MSYS*|CYGWIN*|Windows_NT)
    exe="$OUT/tftsr.exe"
    cp "$WORK/dist/tftsr-onefile.exe" "$exe"
    ;;
  *)
    exe="$OUT/tftsr"
    "$PYTHON" "$ROOT/build/make_single_file.py" "$folder" "$exe" "$VERSION"
    ;;
esac
if [ -d "$WORK/dist/TFTSR.app" ]; then
  # macOS: the app bundle (with its icon) replaces the bare folder build.
  mkdir -p "$portable"
  mv "$WORK/dist/TFTSR.app" "$portable/TFTSR.app"
  cat >"$portable/tftsr" <<'LAUNCHER'
#!/bin/sh
# Starts TFTSR.app (beside this script) from a terminal, with its arguments.
exec "$(cd "$(dirname "$0")" && pwd)/TFTSR.app/Contents/MacOS/tftsr" "$@"
LAUNCHER
  chmod 755 "$portable/tftsr"
else
  mv "$folder" "$portable"
fi
cat >"$portable/tftsr-portable.marker" <<'MARKER'
This file switches TFTSR into portable mode: the database, logs, settings, caches and
temporary files all stay in the data/ folder beside it, and nothing is written to the
home folder, the XDG folders, the OS keyring or the registry of the computer it runs on.
The database key is derived from a passphrase, asked for at start (or taken from the
TFTSR_PASSPHRASE environment variable); it is never stored in a file.
Delete this file to make the folder an ordinary installation.
MARKER
end=$(date +%s)

for built in "$exe" "$portable/tftsr"; do
  [ -f "$built" ] || [ -f "$built.exe" ] || { echo "The build did not produce $built." >&2; exit 1; }
done
"$PYTHON" "$ROOT/build/make_single_file.py" --budget "$portable" "$exe"
size=$(wc -c <"$exe" | tr -d ' ')
echo "Built $exe: $((size / 1024 / 1024)) MiB"
echo "Built $portable/ (start it with $portable/tftsr)"
echo "Build time: $((end - start)) s"
