"""A stand-in for ``kubectl`` that reports what it was given instead of talking to a
cluster: the KUBECONFIG path, the file's and folder's permission bits, the context and
server it points at, and its own arguments. Optional ``sleep`` argument: wait that many
seconds first (to test timeouts). Install with :func:`install` into a folder put first
on PATH."""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    if argv[:1] == ["sleep"]:
        print(f"KUBECONFIG={os.environ.get('KUBECONFIG', '')}", flush=True)
        time.sleep(float(argv[1]))
        return 0
    path = os.environ.get("KUBECONFIG")
    print(f"KUBECONFIG={path or ''}")
    print(f"ARGS={' '.join(argv)}")
    if not path:
        print("error: no KUBECONFIG", file=sys.stderr)
        return 1
    info = os.stat(path, follow_symlinks=False)
    folder = os.stat(os.path.dirname(path))
    print(f"FILE_MODE={stat.S_IMODE(info.st_mode):o}")
    print(f"REGULAR={stat.S_ISREG(info.st_mode)}")
    print(f"DIR_MODE={stat.S_IMODE(folder.st_mode):o}")
    text = Path(path).read_text()
    for line in text.splitlines():
        if line.startswith("current-context:"):
            print("CONTEXT=" + line.split(":", 1)[1].strip().strip("'\""))
        if line.strip().startswith("server:"):
            print("SERVER=" + line.split(":", 1)[1].strip())
    print(f"SECRET_ENV={'yes' if any(k.startswith('TFTSR_') for k in os.environ) else 'no'}")
    return 0


def install(folder: Path) -> Path:
    """Write an executable ``kubectl`` into ``folder`` that runs this module."""
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / "kubectl"
    exe.write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).resolve()} \"$@\"\n")
    exe.chmod(0o755)
    return exe


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
