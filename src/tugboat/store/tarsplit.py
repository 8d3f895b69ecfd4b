"""Reassembling a layer tar byte-for-byte from its unpacked directory (the tar-split idea).

Docker must hand back the exact bytes it was given (``docker save`` after ``docker load`` keeps the
layer digests), yet storing every layer twice would double the disk use.  Like vbatts/tar-split we
keep only what unpacking loses: every non-payload byte of the stream (headers, PAX and GNU long-name
records, padding, end blocks, trailing garbage) verbatim, and for each regular-file payload a
reference to the unpacked file plus its size and CRC-32.  A payload that did not land in the layer
(a whiteout's body, a file a later entry replaced) is kept verbatim or moved to ``blobs/<n>``.

On disk: ``tar-split.jsonl.gz`` in the layer's metadata directory, one JSON object per line,
``{"s": "<base64 bytes>"}`` for raw bytes or ``{"f": "<path in layer>", "n": size, "c": crc32}``
(the n-th such line may have been moved to ``blobs/<n>``).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

from tugboat.errors import TugboatError

SPLIT_FILE = "tar-split.jsonl.gz"
BLOBS_DIR = "blobs"
_FLUSH = 1 << 16
_CHUNK = 1 << 20


class SplitWriter:
    """Records a tar stream as raw segments and file references, in stream order."""

    def __init__(self, meta_dir: Path) -> None:
        self._meta = meta_dir
        self._out = gzip.GzipFile(meta_dir / SPLIT_FILE, "wb", compresslevel=6)
        self._raw = bytearray()
        self.files = 0

    def raw(self, data: bytes) -> None:
        self._raw += data
        if len(self._raw) >= _FLUSH:
            self._flush()

    def file(self, path: str, size: int, crc: int) -> int:
        """Reference a payload stored at ``path`` inside the layer; returns its file index."""
        self._flush()
        self._line({"f": path, "n": size, "c": crc})
        self.files += 1
        return self.files - 1

    def move_to_blob(self, index: int, src: str) -> None:
        """Keep the payload of file ``index`` although its path in the layer is about to go away."""
        blobs = self._meta / BLOBS_DIR
        blobs.mkdir(exist_ok=True)
        os.rename(src, blobs / str(index))

    def close(self) -> None:
        self._flush()
        self._out.close()

    def _flush(self) -> None:
        if self._raw:
            self._line({"s": base64.b64encode(bytes(self._raw)).decode()})
            self._raw.clear()

    def _line(self, obj: dict) -> None:
        self._out.write(json.dumps(obj, separators=(",", ":")).encode() + b"\n")


def assemble(layer_dir: Path, meta_dir: Path) -> Iterator[bytes]:
    """The original tar stream, from the records and the unpacked files (checked by CRC-32)."""
    index = 0
    with gzip.open(meta_dir / SPLIT_FILE, "rb") as f:
        for line in f:
            rec = json.loads(line)
            if "s" in rec:
                yield base64.b64decode(rec["s"])
                continue
            blob = meta_dir / BLOBS_DIR / str(index)
            path = blob if blob.exists() else layer_dir / rec["f"]
            yield from _payload(path, rec["n"], rec["c"], rec["f"])
            index += 1


def _payload(path: Path, size: int, crc: int, name: str) -> Iterator[bytes]:
    got = 0
    left = size
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        while left:
            chunk = os.read(fd, min(_CHUNK, left))
            if not chunk:
                break
            got = zlib.crc32(chunk, got)
            left -= len(chunk)
            yield chunk
    finally:
        os.close(fd)
    if left or got != crc:
        raise TugboatError(f"layer content of {name} is corrupted (size or checksum differ)")
