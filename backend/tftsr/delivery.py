"""Hand a generated file to the user: a native Save dialog on the desktop, a one-time
download from the local server in browser mode, the data folder's ``exports/`` otherwise."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from tftsr.errors import InvalidArgument

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
             *(f"LPT{i}" for i in range(1, 10))}


def safe_filename(name: str, default: str = "export") -> str:
    """A file name that is safe on every OS: no paths, no control or reserved names."""
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    name = name.replace("/", "_").replace("\\", "_")
    name = _UNSAFE.sub("_", name).strip(" .")
    name = re.sub(r"_+", "_", name)
    stem = name.split(".")[0].upper()
    if not name or stem in _RESERVED:
        name = default + ("" if not name else "_" + name)
    return name[:120]


def deliver_file(app, filename: str, mime: str, data: bytes) -> dict:
    filename = safe_filename(filename)
    if app.mode == "desktop" and app.save_dialog is not None:
        target = app.save_dialog(filename)
        if not target:
            return {"cancelled": True}
        path = Path(target)
        try:
            path.write_bytes(data)
        except OSError as exc:
            raise InvalidArgument(f"Could not save to {path}: {exc.strerror or exc}.") from None
        return {"path": str(path), "filename": path.name, "bytes": len(data)}
    if app.offer_download is not None:
        url = app.offer_download(filename, mime, data)
        return {"url": url, "filename": filename, "bytes": len(data)}
    folder = app.data_dir / "exports"
    folder.mkdir(exist_ok=True)
    path = folder / filename
    path.write_bytes(data)
    return {"path": str(path), "filename": filename, "bytes": len(data)}
