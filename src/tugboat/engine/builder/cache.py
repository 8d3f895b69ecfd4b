"""The build cache, the classic builder's way (moby image/cache): no index of its own.

Every step's result is an image whose local parent is the previous step's image and
whose ``container_config`` records what the step was (its Cmd carries the instruction,
the COPY/ADD content checksum and the "|N k=v" build args prefix).  A step is cached if
a child of the current image has an equal ``container_config``; the newest wins.
Because image configs and parent links are what the image store persists anyway, the
cache survives tugd restarts, costs nothing to keep consistent (an ``rmi`` removes its
entries), and a rebuild only reads a few small configs.

``--cache-from`` images (which may have arrived by ``load`` or pull and so lack parent
links) are matched through their own ancestry as well.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# container.Config fields that identify a step (moby compares a subset of these; the
# extra ones only make a hit stricter, never wrong).
_KEY_FIELDS = ("User", "Tty", "OpenStdin", "Cmd", "Env", "Labels", "ExposedPorts", "Entrypoint",
               "Volumes", "WorkingDir", "Shell", "Healthcheck", "StopSignal", "OnBuild")


def cache_key(config: dict[str, Any] | None) -> str:
    """A digest of the identifying part of a container config (also handy for tests)."""
    cfg = config or {}
    norm: dict[str, Any] = {}
    for k in _KEY_FIELDS:
        v = cfg.get(k)
        if v in (None, "", [], {}, False, 0):
            continue
        norm[k] = v
    return hashlib.sha256(json.dumps(norm, sort_keys=True).encode()).hexdigest()


class ImageCache:
    """Looks steps up among the images of an image store (``ids``/``get``/``children``/
    ``get_parent``, the store.images.ImageStore interface)."""

    def __init__(self, store: Any, cache_from: list[str] | None = None) -> None:
        self.store = store
        self.sources = list(cache_from or [])   # resolved image IDs

    def _config(self, image_id: str) -> dict[str, Any] | None:
        try:
            return json.loads(self.store.get(image_id))
        except Exception:  # noqa: BLE001 - a vanished or unreadable image is simply no hit
            return None

    def _candidates(self, parent: str) -> list[str]:
        if parent:
            found = list(self.store.children(parent))
        else:
            found = [i for i in self.store.ids() if not self.store.get_parent(i)]
        for src in self.sources:
            cur: str | None = src
            seen = 0
            while cur and seen < 1000:
                if (self.store.get_parent(cur) or "") == parent and cur not in found:
                    found.append(cur)
                cur = self.store.get_parent(cur)
                seen += 1
        return found

    def probe(self, parent: str, container_config: dict[str, Any]) -> str | None:
        """The ID of the newest image built from ``parent`` by the same step, if any."""
        want = cache_key(container_config)
        best: tuple[str, str] | None = None
        for image_id in self._candidates(parent):
            cfg = self._config(image_id)
            if not cfg or cache_key(cfg.get("container_config")) != want:
                continue
            created = str(cfg.get("created") or "")
            if best is None or created > best[0]:
                best = (created, image_id)
        return best[1] if best else None
