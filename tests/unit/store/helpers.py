"""Tar builders and a mount helper shared by the store tests."""

from __future__ import annotations

import functools
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tugboat.store.layers import Layer, LayerStore, Mount
from tugboat.store.snapshots.overlay import overlay_supported


@functools.lru_cache(maxsize=1)
def can_overlay() -> bool:
    """Root and a working overlay mount, probed in a private directory (probes clean up after
    themselves, so two test runs must not share one)."""
    if os.geteuid() != 0:
        return False
    d = Path(tempfile.mkdtemp(prefix="tugboat-store-probe-"))
    try:
        return overlay_supported(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def make_tar(entries: Sequence[tuple[tarfile.TarInfo, bytes | None]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape") as tf:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def reg(name: str, data: bytes = b"", mode: int = 0o644, **kw: Any) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.mode, info.mtime = mode, kw.pop("mtime", 1_600_000_000)
    for k, v in kw.items():
        setattr(info, k, v)
    return info, data


def node(name: str, kind: bytes, linkname: str = "", mode: int = 0o755, **kw: Any
         ) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode, info.mtime = kind, linkname, mode, 1_600_000_000
    for k, v in kw.items():
        setattr(info, k, v)
    return info, None


def dir_(name: str, mode: int = 0o755, **kw: Any) -> tuple[tarfile.TarInfo, None]:
    return node(name, tarfile.DIRTYPE, mode=mode, **kw)


def register(store: LayerStore, entries: list, parent: str | None = None, fmt: int = tarfile.PAX_FORMAT) -> Layer:
    return store.register(io.BytesIO(make_tar(entries, fmt)), parent)


@contextmanager
def mounted(mounts: list[Mount], target: Path) -> Iterator[Path]:
    """Perform the described mounts at ``target`` (as the runtime would) and undo them."""
    target.mkdir(parents=True, exist_ok=True)
    done = 0
    try:
        for m in mounts:
            opts = [o for o in m.options if o not in ("rbind", "bind")]
            cmd = ["mount", "-t", m.type]
            if m.type == "bind":
                cmd = ["mount", "--rbind"]
            if opts:
                cmd += ["-o", ",".join(opts)]
            subprocess.run([*cmd, m.source, str(target)], check=True, capture_output=True)
            done += 1
        yield target
    finally:
        for _ in range(done):
            subprocess.run(["umount", "-l", str(target)], check=False, capture_output=True)
