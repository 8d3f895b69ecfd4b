"""Small helpers for the integration tests (no fixtures here: see conftest.py)."""

from __future__ import annotations

import io
import json
import re
import select
import subprocess
import tarfile
import time
from collections.abc import Callable

HEX64 = re.compile(r"^[0-9a-f]{64}$")
# moby's names-generator: adjective_surname (a few surnames carry no underscore, never a digit suffix
# unless retried after a clash: then "_<digit>")
AUTO_NAME = re.compile(r"^[a-z]+_[a-z]+(_\d)?$")
RFC3339NANO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"


def ok(p: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    """Assert the command succeeded, showing its output if not."""
    assert p.returncode == 0, f"{p.args} exited {p.returncode}\nstdout: {p.stdout!r}\nstderr: {p.stderr!r}"
    return p


def wait_until(pred: Callable[[], bool], timeout: float = 20, interval: float = 0.1, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def read_until(proc: subprocess.Popen, needle: bytes, timeout: float = 20) -> bytes:
    """Read the process's stdout until ``needle`` appears (or fail)."""
    assert proc.stdout is not None
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out waiting for {needle!r}; got {buf!r}")
        r, _, _ = select.select([proc.stdout], [], [], left)
        if r:
            chunk = proc.stdout.read1(65536) if hasattr(proc.stdout, "read1") else proc.stdout.read(1)
            if not chunk:
                raise AssertionError(f"output ended before {needle!r}; got {buf!r}")
            buf += chunk
    return buf


def tar_members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return {m.name.rstrip("/"): m for m in t.getmembers()}


def tar_file(data: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        f = t.extractfile(name)
        assert f is not None, f"{name} is not a regular file in the archive"
        return f.read()


def archive_layer_digests(data: bytes) -> list[str]:
    """sha256 of each layer tar of a `docker save` archive, bottom to top, as manifest.json lists them."""
    import hashlib

    manifest = json.loads(tar_file(data, "manifest.json"))
    assert len(manifest) == 1, manifest
    out = []
    for layer in manifest[0]["Layers"]:
        out.append("sha256:" + hashlib.sha256(tar_file(data, layer)).hexdigest())
    return out
