#!/bin/sh
# TFTSR single-file launcher (Linux and macOS). Everything after the line
# "__TFTSR_PAYLOAD_BELOW__" is TFTSR's folder build as a gzip-compressed tar archive.
#
# On the first start of this version the archive is unpacked into a per-version cache
# folder -- $XDG_CACHE_HOME/tftsr/VERSION-HASH (~/.cache/tftsr/... by default,
# ~/Library/Caches/tftsr/... on macOS), or data/cache/ beside this file when a
# tftsr-portable.marker file sits next to it -- through a temporary folder in the same
# place that is renamed into place only once it is complete. Every later start runs the
# unpacked copy directly. Nothing is written to /tmp, so a crash leaves nothing there; an
# unpacking interrupted by a crash leaves a .unpack-PID-* folder in the cache, removed by
# the next start.
#
# Written by build/make_single_file.py from build/single_file_stub.sh; the @...@ fields
# are filled in there. A start that finds its unpacked copy runs no other program before
# it (no dirname, basename, uname or touch): only shell built-ins and one subshell.
set -u

TFTSR_VERSION='@VERSION@'
PAYLOAD_HASH='@HASH@'
PAYLOAD_OFFSET=@OFFSET@
BUILT_ON='@SYSTEM@'  # uname -s of the build machine: Linux or Darwin
KEEP_DAYS=30  # other versions' unpacked copies unused this long are removed

fail() {
  echo "tftsr: $*" >&2
  exit 1
}

case "$0" in
  /*) self="$0" ;;
  *) self="$PWD/$0" ;;
esac
self_dir="$(cd "${self%/*}/" && pwd)" || fail "cannot find the folder of $0"
self="$self_dir/${self##*/}"

if [ -f "$self_dir/tftsr-portable.marker" ]; then
  cache_root="$self_dir/data/cache/single-file"
else
  [ -n "${HOME:-}" ] || [ -n "${XDG_CACHE_HOME:-}" ] || fail "neither HOME nor XDG_CACHE_HOME is set"
  cache_home="${XDG_CACHE_HOME:-}"
  case "$cache_home" in
    /*) ;;  # the XDG spec ignores relative paths
    *)
      if [ "$BUILT_ON" = "Darwin" ]; then cache_home="$HOME/Library/Caches"
      else cache_home="$HOME/.cache"
      fi ;;
  esac
  cache_root="$cache_home/tftsr"
fi
target="$cache_root/$TFTSR_VERSION-$PAYLOAD_HASH"

unpack() {
  umask 077
  mkdir -p "$cache_root" || fail "cannot create the cache folder $cache_root"
  # Folders left by an unpacking that was killed: remove them once their process is gone.
  for stale in "$cache_root"/.unpack-*; do
    [ -d "$stale" ] || continue
    pid="${stale##*/.unpack-}"
    pid="${pid%%-*}"
    case "$pid" in ''|*[!0-9]*) continue ;; esac
    kill -0 "$pid" 2>/dev/null || rm -rf "$stale"
  done
  work="$(mktemp -d "$cache_root/.unpack-$$-XXXXXX")" || fail "cannot write to $cache_root"
  trap 'rm -rf "$work"' EXIT
  trap 'rm -rf "$work"; exit 130' INT
  trap 'rm -rf "$work"; exit 143' TERM HUP
  if [ -t 2 ]; then
    echo "Unpacking TFTSR $TFTSR_VERSION into $target (first start of this version)..." >&2
  fi
  tail -c +"$PAYLOAD_OFFSET" "$self" | gzip -dc | (cd "$work" && tar -xf -) 2>"$work/.unpack-errors"
  # The archive's last member; present only when everything before it was unpacked.
  if [ ! -f "$work/.tftsr-payload" ]; then
    fail "unpacking into $cache_root failed (is the disk full, or is $self damaged?): $(head -c 500 "$work/.unpack-errors" 2>/dev/null)"
  fi
  rm -f "$work/.unpack-errors"
  echo "$PAYLOAD_HASH" >"$work/.tftsr-complete"
  if ! mv "$work" "$target" 2>/dev/null || [ -d "$target/${work##*/}" ]; then
    # Another start unpacked the same version first: use its copy.
    rm -rf "$work" "$target/${work##*/}"
  fi
  trap - EXIT INT TERM HUP
  # Other versions' copies nobody has started for KEEP_DAYS days.
  find "$cache_root" -mindepth 2 -maxdepth 2 -name .tftsr-last-used -mtime +"$KEEP_DAYS" 2>/dev/null |
    while IFS= read -r used; do
      old="${used%/.tftsr-last-used}"
      [ "$old" = "$target" ] || rm -rf "$old"
    done
}

if [ ! -f "$target/.tftsr-complete" ] || [ ! -x "$target/tftsr" ]; then
  if [ -d "$target" ] && [ ! -f "$target/.tftsr-complete" ]; then
    rm -rf "$target"  # not made by this launcher: start again
  fi
  unpack
  [ -x "$target/tftsr" ] || fail "the unpacked copy in $target has no tftsr executable"
fi
# Truncating the (empty) file marks it modified, as touch would.
true 2>/dev/null >"$target/.tftsr-last-used" || true

# The unpacked program learns where the single file is (for launchers and portable mode).
TFTSR_EXECUTABLE="$self"
export TFTSR_EXECUTABLE
exec "$target/tftsr" "$@"
__TFTSR_PAYLOAD_BELOW__
