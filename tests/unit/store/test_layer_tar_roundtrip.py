"""``tar(chain_id)`` must give back the registered bytes exactly, whatever the tar's shape."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tugboat.errors import InvalidArgument
from tugboat.store.layers import LayerStore

from .helpers import dir_, make_tar, node, reg

LONG = "d" * 60 + "/" + "x" * 120


def _complex_entries() -> list:
    cap = b"\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    ping = reg("bin/ping", b"\x7fELF ping", mode=0o755)
    ping[0].pax_headers = {"SCHILY.xattr.security.capability": cap.decode("utf-8", "surrogateescape")}
    return [
        dir_("bin"),
        reg("bin/sh", b"#!/bin/sh\necho hi\n", mode=0o755, uid=0, gid=0),
        reg("bin/big", bytes(range(256)) * 700, mode=0o4755),
        ping,
        node("bin/sh2", tarfile.LNKTYPE, "bin/sh"),
        node("bin/ls", tarfile.SYMTYPE, "/bin/sh"),
        dir_("empty", mode=0o700),
        dir_("d" * 60),
        reg(LONG, b"long name content"),
        node("lnk" + "y" * 110, tarfile.SYMTYPE, "target/" + "z" * 120),
        reg("unicodé/fïle", b"utf8"),
        reg("etc/.wh.passwd", b""),
        dir_("var"),
        reg("var/.wh..wh..opq", b""),
        reg("var/new", b"new", uid=1000, gid=1000, uname="someone", gname="grp"),
        node("fifo", tarfile.FIFOTYPE, mode=0o644),
        reg("bigids", b"ids", uid=3_000_000, gid=3_000_001),
        reg("empty-file", b""),
        reg("raw-\udcff-name", b"not utf-8 on disk"),
        node("h" * 101, tarfile.LNKTYPE, LONG),
        reg("mtime-frac", b"t", mtime=1_600_000_000.5),
    ]


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_roundtrip_is_byte_identical(store: LayerStore, fmt: int) -> None:
    data = make_tar(_complex_entries(), fmt)
    layer = store.register(io.BytesIO(data), None)
    assert layer.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert b"".join(store.tar(layer.chain_id)) == data
    root = store.layer_path(layer.chain_id)
    assert (root / "raw-\udcff-name").read_bytes() == b"not utf-8 on disk"
    assert b"raw-\xff-name" in os.listdir(os.fsencode(root))
    assert os.lstat(root / ("h" * 101)).st_ino == os.lstat(root / LONG).st_ino
    if fmt == tarfile.PAX_FORMAT:
        assert os.lstat(root / "mtime-frac").st_mtime_ns == 1_600_000_000_500_000_000


def test_roundtrip_gzip_input_gives_uncompressed_tar(store: LayerStore) -> None:
    data = make_tar(_complex_entries())
    layer = store.register(io.BytesIO(gzip.compress(data)), None)
    assert layer.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert b"".join(store.tar(layer.chain_id)) == data


def test_roundtrip_zstd_input_gives_uncompressed_tar(store: LayerStore) -> None:
    """OCI layers may be tar+zstd (also as several frames); the diff ID is the plain tar's."""
    import zstandard

    data = make_tar(_complex_entries())
    half = len(data) // 2
    cctx = zstandard.ZstdCompressor()
    two_frames = cctx.compress(data[:half]) + cctx.compress(data[half:])
    layer = store.register(io.BytesIO(two_frames), None)
    assert layer.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert b"".join(store.tar(layer.chain_id)) == data


def test_corrupt_zstd_is_refused(store: LayerStore) -> None:
    import zstandard

    blob = bytearray(zstandard.ZstdCompressor().compress(make_tar([reg("f", b"x" * 5000)])))
    blob[len(blob) // 2] ^= 0xFF
    with pytest.raises(InvalidArgument, match="invalid layer archive"):
        store.register(io.BytesIO(bytes(blob)), None)


def test_roundtrip_trailing_garbage_and_duplicates(store: LayerStore) -> None:
    entries = [
        reg("a/f", b"first version"),
        reg("a/f", b"second, longer version"),       # same path twice with content
        reg("b/x/deep", b"deep content"),
        reg("b/x", b"b/x is now a file"),              # replaces a dir holding a payload
        reg("c", b"c content"),
        node("c2", tarfile.LNKTYPE, "c"),
        reg("c", b"c replaced"),
    ]
    data = make_tar(entries) + b"garbage after the end" + b"\0" * 300
    layer = store.register(io.BytesIO(data), None)
    assert b"".join(store.tar(layer.chain_id)) == data
    root = store.layer_path(layer.chain_id)
    assert (root / "a/f").read_bytes() == b"second, longer version"
    assert (root / "b/x").read_bytes() == b"b/x is now a file"
    assert (root / "c2").read_bytes() == b"c content"
    assert (root / "c").read_bytes() == b"c replaced"


@pytest.mark.skipif(shutil.which("tar") is None, reason="needs GNU tar")
def test_roundtrip_gnu_tar_cli(store: LayerStore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "usr/lib").mkdir(parents=True)
    (src / "usr/lib/libx.so.1").write_bytes(b"x" * 5000)
    (src / "usr/lib/libx.so").symlink_to("libx.so.1")
    (src / "usr" / ("n" * 150)).write_text("long")
    (src / "hl").hardlink_to(src / "usr/lib/libx.so.1")
    for fmt in ("gnu", "posix", "ustar", "v7"):
        if fmt in ("ustar", "v7"):
            (src / "usr" / ("n" * 150)).unlink(missing_ok=True)
        data = subprocess.run(["tar", f"--format={fmt}", "-C", str(src), "-cf", "-", "."],
                              check=True, capture_output=True).stdout
        layer = store.register(io.BytesIO(data), None)
        assert b"".join(store.tar(layer.chain_id)) == data, fmt


def test_truncated_tar_is_refused(store: LayerStore) -> None:
    data = make_tar([reg("f", b"x" * 2000)])
    with pytest.raises(InvalidArgument):
        store.register(io.BytesIO(data[:1000]), None)
    assert store.layers() == []


def test_empty_stream_is_an_empty_layer(store: LayerStore) -> None:
    layer = store.register(io.BytesIO(b""), None)
    assert layer.diff_id == "sha256:" + hashlib.sha256(b"").hexdigest()
    assert b"".join(store.tar(layer.chain_id)) == b""


def test_corrupted_layer_file_is_detected(store: LayerStore) -> None:
    data = make_tar([reg("f", b"hello world")])
    layer = store.register(io.BytesIO(data), None)
    (store.layer_path(layer.chain_id) / "f").write_bytes(b"HELLO WORLD")
    with pytest.raises(Exception, match="corrupted"):
        b"".join(store.tar(layer.chain_id))
