"""A helper process that scans windows of a log for PII and compresses them, so that
a large ingest uses a second core (``python -m tftsr.pii.worker``).

It is started with an environment stripped of the database key and passphrase, never
opens the database and reads nothing but its standard input. Each request is one window
of the log's text; each reply its findings and the window's text compressed as raw
DEFLATE blocks that continue the log's gzip stream (the caller writes the gzip header
and trailer, as pigz does: each window is compressed with the 32 KiB before it as its
dictionary, and ends on a byte boundary).

Request:  ``<Q head bytes><Q tail bytes><I dictionary bytes><B last>`` then the UTF-8 head
          (the window to compress and to keep findings from), tail (read only as
          look-ahead for findings across the edge) and dictionary.
Reply:    ``<I findings><I compressed bytes>``, then the findings' starts and ends
          (``q`` arrays, character offsets into head + tail), their type numbers
          (``B``, indexes into ``PII_TYPES``) and the compressed bytes.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array

REQUEST = struct.Struct("<QQIB")
REPLY = struct.Struct("<II")
LEVEL = 6


def _read_exactly(stream, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError
    return data


def compress_window(data: bytes, dictionary: bytes, last: bool, level: int = LEVEL) -> bytes:
    """Raw DEFLATE of ``data`` continuing a stream whose previous 32 KiB are
    ``dictionary``; ends on a byte boundary (or with the final block when ``last``)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15, zdict=dictionary) if dictionary \
        else zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH)


def main() -> int:
    from tftsr.pii import PII_TYPES, detect_pii, prefilter

    if prefilter.available():
        prefilter.positions("x" * prefilter.MIN_CHARS)  # compile the prefilter before the first window
    type_number = {name: i for i, name in enumerate(PII_TYPES)}
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            head_size, tail_size, dict_size, last = REQUEST.unpack(_read_exactly(stdin, REQUEST.size))
            head = _read_exactly(stdin, head_size)
            tail = _read_exactly(stdin, tail_size)
            dictionary = _read_exactly(stdin, dict_size)
        except EOFError:
            return 0
        spans = detect_pii((head + tail).decode("utf-8", "surrogatepass"))
        starts, ends = array("q", (s.start for s in spans)), array("q", (s.end for s in spans))
        types = bytes(type_number[s.pii_type] for s in spans)
        packed = compress_window(head, dictionary, bool(last))
        stdout.write(REPLY.pack(len(spans), len(packed)))
        stdout.write(starts.tobytes())
        stdout.write(ends.tobytes())
        stdout.write(types)
        stdout.write(packed)
        stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
