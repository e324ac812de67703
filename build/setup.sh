#!/usr/bin/env bash
# Prepare a checkout: a virtual environment in .venv with TFTSR installed (editable).
#   build/setup.sh          app only
#   build/setup.sh --test   app, developer tools, and (Linux, root or sudo) the Debian
#                           packages the browser and desktop-window tests need
# With CI=true, anything that cannot be installed is an error (exit 1): a test run that
# skips what it cannot run has not passed. Without it, missing system packages are only
# reported and the tests that need them skip loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1
in_ci=0
case "${CI:-}" in 1|true|TRUE|True|yes) in_ci=1 ;; esac

missing_parts() {  # report what could not be installed; fatal in CI
  if [ $in_ci -eq 1 ]; then
    echo "ERROR (CI=true): $*" >&2
    exit 1
  fi
  echo "NOTE: $*; the tests that need them will skip and say so." >&2
}

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      PYTHON="$candidate"; break
    fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "TFTSR needs Python 3.11 or newer; none was found on PATH." >&2
  exit 1
fi

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; else
      missing_parts "missing system packages (${missing[*]}) need root or sudo to install"
      return 0
    fi
  fi
  echo "Installing system packages: ${missing[*]}"
  $sudo apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || missing_parts "could not install ${missing[*]}"
}

if [ "$(uname -s)" = "Linux" ] && command -v dpkg >/dev/null 2>&1; then
  # Libraries Qt WebEngine needs to open the desktop window.
  qt_libs=(libegl1 libgl1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
           libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0
           libnss3 libxcomposite1 libxdamage1 libxrandr2 libxtst6 libasound2 libxkbfile1
           fonts-dejavu-core)
  if [ $want_test -eq 1 ]; then
    apt_install "${qt_libs[@]}" chromium xvfb xauth x11-utils xdotool imagemagick poppler-utils desktop-file-utils
  else
    apt_install "${qt_libs[@]}"
  fi
elif [ $want_test -eq 1 ]; then
  missing_parts "system packages are installed with apt on Debian/Ubuntu only; install Chromium, Xvfb, xdotool, ImageMagick and poppler-utils yourself"
fi

if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
extras=""
[ $want_test -eq 1 ] && extras="[dev]"
pip_log="$(mktemp)"
if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}" >"$pip_log" 2>&1; then
  grep -v "^WARNING: Location" "$pip_log" >&2 || true
  rm -f "$pip_log"
  echo "pip could not install TFTSR${extras:+ with its developer tools}." >&2
  exit 1
fi
grep -v "^WARNING: Location" "$pip_log" || true
rm -f "$pip_log"
.venv/bin/python -c 'import tftsr, sqlcipher3' || { echo "TFTSR did not install correctly." >&2; exit 1; }

if [ $want_test -eq 1 ] && [ $in_ci -eq 1 ]; then
  # Everything the browser, desktop-window, executable and PDF tests run.
  absent=()
  for tool in chromium Xvfb xvfb-run xauth xdotool xwininfo convert import pdftotext pdftoppm; do
    command -v "$tool" >/dev/null 2>&1 || absent+=("$tool")
  done
  .venv/bin/python -c 'import PyQt6.QtWebEngineWidgets, playwright, PyInstaller, ruff' 2>/dev/null \
    || absent+=("Python test packages (PyQt6-WebEngine, playwright, PyInstaller, ruff)")
  [ ${#absent[@]} -eq 0 ] || missing_parts "not available after setup: ${absent[*]}"
fi
