"""The ``X-Docker-Container-Path-Stat`` header of the archive API (``docker cp``): base64 (standard
alphabet) of the types.ContainerPathStat JSON. A wire format, so it lives here, shared by the
server (which encodes the stat store/rootfs_archive.py computed) and the client (which decodes it).
"""

from __future__ import annotations

import base64

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

STAT_HEADER = "X-Docker-Container-Path-Stat"


def encode_stat(ps: dict[str, Any]) -> str:
    import json  # here, not at module level: `tug` imports this module and its start-up is timed
    return base64.b64encode(json.dumps(ps, separators=(",", ":")).encode()).decode()


def decode_stat(value: str) -> dict[str, Any]:
    import json
    return dict(json.loads(base64.b64decode(value).decode()))
