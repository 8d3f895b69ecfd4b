"""The ``X-Docker-Container-Path-Stat`` header of the archive API (``docker cp``).

An API shape, so it stays in the engine: the stat it carries (types.ContainerPathStat, Go's
os.FileMode bits) is computed by store/rootfs_archive.py inside the container's chroot, and the
server only puts the encoded value in the header of HEAD and GET /containers/{id}/archive.
"""

from __future__ import annotations

import base64
import json
from typing import Any


def encode_stat(ps: dict[str, Any]) -> str:
    """The header value: base64 (standard alphabet) of the JSON."""
    return base64.b64encode(json.dumps(ps, separators=(",", ":")).encode()).decode()


def decode_stat(value: str) -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(value)))
