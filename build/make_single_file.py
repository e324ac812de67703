"""Turn TFTSR's folder build into the single-file executable, and print the size budget.

    python build/make_single_file.py FOLDER OUTPUT VERSION

FOLDER is PyInstaller's folder build (the `tftsr` executable and `_internal/`). OUTPUT
becomes build/single_file_stub.sh (a POSIX shell launcher) followed by FOLDER as a
gzip-compressed tar archive whose last member is `.tftsr-payload`: the launcher unpacks
it once per version into a cache folder and starts the unpacked copy from then on,
instead of unpacking ~450 MB on every start as PyInstaller's one-file mode does.

    python build/make_single_file.py --budget FOLDER [SINGLE_FILE]

prints only the size budget: the biggest parts of the folder build.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import stat
import sys
import tarfile
import tempfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
STUB = HERE / "single_file_stub.sh"
PAYLOAD_LINE = b"__TFTSR_PAYLOAD_BELOW__\n"
LAST_MEMBER = ".tftsr-payload"
COMPRESSLEVEL = 6
BIG_FILE = 5 * 2**20  # files at least this big get their own line in the budget


def build_payload(folder: Path, out, version: str) -> None:
    """Write FOLDER as a tar.gz stream to ``out``; ``.tftsr-payload`` comes last."""
    with tarfile.open(fileobj=out, mode="w:gz", compresslevel=COMPRESSLEVEL,
                      format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder).as_posix()
            info = tar.gettarinfo(str(path), arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if info.isreg():
                with open(path, "rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
        marker = f"TFTSR {version}\n".encode()
        info = tarfile.TarInfo(LAST_MEMBER)
        info.size = len(marker)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(marker))


def fill_stub(template: str, version: str, digest: str) -> bytes:
    """The launcher with its fields filled in; the payload starts right after it."""
    if not template.endswith(PAYLOAD_LINE.decode()):
        raise SystemExit(f"{STUB} must end with the line {PAYLOAD_LINE.decode().strip()}")
    offset = 0
    while True:  # the offset's own digits change the launcher's length
        text = (template.replace("@VERSION@", version).replace("@HASH@", digest)
                .replace("@SYSTEM@", platform.system()).replace("@OFFSET@", str(offset)))
        data = text.encode("utf-8")
        if len(data) + 1 == offset:
            return data
        offset = len(data) + 1  # tail -c +N counts from 1


def make_single_file(folder: Path, output: Path, version: str) -> None:
    if not (folder / "tftsr").is_file():
        raise SystemExit(f"{folder} holds no tftsr executable")
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".tftsr-payload-", dir=output.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as payload:
            build_payload(folder, payload, version)
            payload.seek(0)
            sha = hashlib.sha256()
            for block in iter(lambda: payload.read(2**20), b""):
                sha.update(block)
            digest = sha.hexdigest()[:16]
            stub = fill_stub(STUB.read_text(encoding="utf-8"), version, digest)
            partial = output.with_name(output.name + ".partial")
            with open(partial, "wb") as fh:
                fh.write(stub)
                payload.seek(0)
                for block in iter(lambda: payload.read(2**20), b""):
                    fh.write(block)
        partial.chmod(0o755)
        partial.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"Single file {output}: launcher of {len(stub)} bytes + payload {digest} "
          f"(unpacked once into the cache folder tftsr/{version}-{digest}/)")


def _label(rel: str, size: int) -> str:
    parts = rel.split("/")
    if parts[0] == "_internal":
        parts = parts[1:]
    if not parts:
        return rel
    if parts == ["tftsr"] or parts == ["tftsr.exe"]:
        return f"{parts[0]} (the executable, with every Python module)"
    if size >= BIG_FILE:
        return "/".join(parts)
    if len(parts) == 1:
        if ".so" in parts[0] or parts[0].endswith((".dll", ".dylib")):
            return "system libraries at the top (*.so)"
        return parts[0]
    if parts[0] == "PyQt6" and len(parts) > 2 and parts[1] == "Qt6":
        return f"PyQt6/Qt6/{parts[2]}/ (other)"
    return f"{parts[0]}/"


def size_budget(folder: Path, single_file: Path | None = None, top: int = 16) -> str:
    groups: dict[str, int] = defaultdict(int)
    total = 0
    for path in folder.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        size = path.stat().st_size
        total += size
        groups[_label(path.relative_to(folder).as_posix(), size)] += size
    lines = [f"Size budget of {folder} ({total / 2**20:.0f} MiB unpacked"
             + (f", {single_file.stat().st_size / 2**20:.0f} MiB as the single file {single_file}"
                if single_file and single_file.exists() else "") + "), biggest parts:"]
    ranked = sorted(groups.items(), key=lambda kv: kv[1], reverse=True)
    for name, size in ranked[:top]:
        lines.append(f"  {size / 2**20:7.1f} MiB  {100 * size / total:4.1f}%  {name}")
    rest = sum(size for _, size in ranked[top:])
    if rest:
        lines.append(f"  {rest / 2**20:7.1f} MiB  {100 * rest / total:4.1f}%  "
                     f"everything else ({len(ranked) - top} parts)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", action="store_true", help="only print the size budget")
    parser.add_argument("folder", type=Path)
    parser.add_argument("output", type=Path, nargs="?")
    parser.add_argument("version", nargs="?")
    args = parser.parse_args(argv)
    if args.budget:
        print(size_budget(args.folder, args.output))
        return 0
    if args.output is None or not args.version:
        parser.error("FOLDER OUTPUT VERSION are needed")
    make_single_file(args.folder, args.output, args.version)
    mode = args.output.stat().st_mode
    args.output.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return 0


if __name__ == "__main__":
    sys.exit(main())
