"""Which registry blobs stand for which local layers (dockerd's V2MetadataService).

A pull learns that blob ``sha256:abc`` (compressed, in ``localhost:5000/app``) has diff ID
``sha256:def``; a push of that layer can then ask the registry about ``sha256:abc``
instead of compressing and uploading again, and mount it from ``app`` into another
repository of the same registry.  A push that compressed a layer records its digest the
same way, which keeps re-pushes stable.  Kept in one small JSON file; losing it only
costs a re-upload.
"""

from __future__ import annotations

import threading
from pathlib import Path

from tugboat.store.atomic import read_json, write_json

MAX_PER_LAYER = 50


class DistributionMetadata:
    def __init__(self, root: Path | None) -> None:
        self._path = root / "distribution" / "v2metadata.json" if root else None
        self._lock = threading.Lock()
        self._data: dict[str, list[dict[str, str]]] = {}
        if self._path is not None:
            self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            data = read_json(self._path, {})
            self._data = data if isinstance(data, dict) else {}

    def for_diff(self, diff_id: str) -> list[dict[str, str]]:
        """Entries {"Digest", "SourceRepository", "MediaType"}, most recent first."""
        with self._lock:
            return [dict(e) for e in self._data.get(diff_id, [])]

    def diff_for(self, digest: str) -> str | None:
        with self._lock:
            for diff_id, entries in self._data.items():
                if any(e.get("Digest") == digest for e in entries):
                    return diff_id
        return None

    def add(self, diff_id: str, digest: str, source_repo: str, media_type: str = "") -> None:
        entry = {"Digest": digest, "SourceRepository": source_repo, "MediaType": media_type}
        with self._lock:
            entries = [e for e in self._data.get(diff_id, [])
                       if (e.get("Digest"), e.get("SourceRepository")) != (digest, source_repo)]
            self._data[diff_id] = [entry, *entries][:MAX_PER_LAYER]
            if self._path is not None:
                write_json(self._path, self._data)
