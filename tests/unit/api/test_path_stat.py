"""The X-Docker-Container-Path-Stat header of the archive API."""

from __future__ import annotations

import base64
import json
import os

from tugboat.api import path_stat as ap
from tugboat.store.rootfs_archive import path_stat


def test_stat_header_roundtrip(tmp_path):
    os.symlink("/etc", tmp_path / "evil")
    for ps in (path_stat("d", os.lstat(tmp_path)), path_stat("evil", os.lstat(tmp_path / "evil"), "/etc")):
        enc = ap.encode_stat(ps)
        assert json.loads(base64.b64decode(enc)) == ps
        assert ap.decode_stat(enc) == ps
