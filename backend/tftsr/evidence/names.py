"""Display names for uploaded files.

A file name arrives from the page or from a path the user picked; it is shown in the UI
and stored in ``file_name`` / ``file_path``, and is never used to open anything. It is
reduced to something harmless to display: no directories, no control or bidirectional
formatting characters (an RTL override can make ``evil\u202egol.exe`` read as
``evilexe.log``), no Windows device names, and a bounded length.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_CHARS = 200
MAX_SUFFIX_CHARS = 16
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
             *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10)),
             *(f"COM{c}" for c in "¹²³"), *(f"LPT{c}" for c in "¹²³")}
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*]')
_SPACES = re.compile(r"\s+")


def display_name(raw: str | None, default: str) -> str:
    """A safe name to show for an uploaded file (``default`` when nothing usable is left)."""
    name = raw if isinstance(raw, str) else ""
    # Only the last path component: "../../etc/passwd" and "C:\\x\\y.log" name a file, not a place.
    name = re.split(r"[/\\]", name)[-1]
    if len(name) > 4096:  # a pathological name is cut (keeping its end) before more work
        name = name[:2048] + name[-2048:]
    name = unicodedata.normalize("NFC", name)
    # Drop control (Cc), format (Cf: bidi overrides, zero-width), surrogate (Cs),
    # private-use (Co) and unassigned (Cn) characters, and line/paragraph separators.
    name = "".join(ch for ch in name
                   if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
    name = _WINDOWS_FORBIDDEN.sub("_", name)
    name = _SPACES.sub(" ", name).strip(" .")
    if not name:
        return default
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    if stem.split(".")[0].strip().upper() in _RESERVED or name.upper() in _RESERVED:
        name = "_" + name
        stem = "_" + stem if dot else name
    if len(name) > MAX_NAME_CHARS:
        if dot and 0 < len(suffix) <= MAX_SUFFIX_CHARS:
            name = stem[: MAX_NAME_CHARS - len(suffix) - 2].rstrip(" .") + "\u2026." + suffix
        else:
            name = name[: MAX_NAME_CHARS - 1].rstrip(" .") + "\u2026"
    return name
