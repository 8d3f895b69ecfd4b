"""The build cache, the classic builder's way (moby image/cache): no index of its own.

Every step's result is an image whose local parent is the previous step's image and
whose ``container_config`` records what the step was (its Cmd carries the instruction,
the COPY/ADD content checksum and the "|N k=v" build args prefix).  A step is cached if
a child of the current image has an equal ``container_config``; the newest wins.
Because image configs and parent links are what the image store persists anyway, the
cache survives tugd restarts, costs nothing to keep consistent (an ``rmi`` removes its
entries), and a rebuild only reads a few small configs.

``--cache-from`` images (which may have arrived by ``load`` or pull and so lack parent
links) are matched as dockerd matches them: through their history.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
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


def _history(h: dict[str, Any]) -> tuple[Any, ...]:
    """An image.History entry for comparison (absent fields equal their zero values)."""
    return (h.get("created") or "", h.get("author") or "", h.get("created_by") or "", h.get("comment") or "",
            bool(h.get("empty_layer")))


def _diff_ids(cfg: dict[str, Any]) -> list[str]:
    return list((cfg.get("rootfs") or {}).get("diff_ids") or [])


def _valid_parent(img: dict[str, Any], parent: dict[str, Any] | None) -> bool:
    """isValidParent: ``img``'s history and layers start with all of ``parent``'s."""
    hist = img.get("history") or []
    if not hist:
        return False
    if parent is None or (not parent.get("history") and not _diff_ids(parent)):
        return True
    p_hist, p_ids, ids = parent.get("history") or [], _diff_ids(parent), _diff_ids(img)
    if len(p_hist) >= len(hist) or len(p_ids) > len(ids):
        return False
    return all(_history(a) == _history(b) for a, b in zip(p_hist, hist, strict=False)) and ids[:len(p_ids)] == p_ids


def _layer_at(img: dict[str, Any], index: int) -> str:
    """getLayerForHistoryIndex: the diff ID history entry ``index`` added ("" if none)."""
    layer = 0
    for i, h in enumerate(img.get("history") or []):
        if i == index:
            if h.get("empty_layer"):
                return ""
            break
        if not h.get("empty_layer"):
            layer += 1
    ids = _diff_ids(img)
    return ids[layer] if layer < len(ids) else ""


class ImageCache:
    """Looks steps up among the images of an image store (``ids``/``get``/``children``/
    ``get_parent``/``put``/``set_parent``, the store.images.ImageStore interface).

    With ``cache_from`` it is dockerd's ImageCache: a local hit counts only if it is one of
    the sources or their ancestors, and a source that has no parent links (pulled or loaded)
    is matched step by step through its history (``created_by`` against the step's Cmd);
    each matched step is restored as an image of its own (the source's layer, the step's
    history entry) so the next step has a parent to probe from."""

    def __init__(self, store: Any, cache_from: list[str] | None = None,
                 put_config: Callable[[dict[str, Any]], str] | None = None) -> None:
        self.store = store
        self.sources = list(cache_from or [])   # resolved image IDs
        self.put_config = put_config

    def _config(self, image_id: str) -> dict[str, Any] | None:
        try:
            return json.loads(self.store.get(image_id))
        except Exception:  # noqa: BLE001 - a vanished or unreadable image is simply no hit
            return None

    def _local(self, parent: str, container_config: dict[str, Any]) -> str | None:
        """The newest child of ``parent`` built by the same step."""
        want = cache_key(container_config)
        best: tuple[str, str] | None = None
        found = list(self.store.children(parent)) if parent else \
            [i for i in self.store.ids() if not self.store.get_parent(i)]
        for image_id in found:
            cfg = self._config(image_id)
            if not cfg or cache_key(cfg.get("container_config")) != want:
                continue
            created = str(cfg.get("created") or "")
            if best is None or created > best[0]:
                best = (created, image_id)
        return best[1] if best else None

    def _is_ancestor(self, image_id: str, of: str) -> bool:
        cur: str | None = of
        for _ in range(1000):
            if not cur:
                return False
            if cur == image_id:
                return True
            cur = self.store.get_parent(cur)
        return False

    def probe(self, parent: str, container_config: dict[str, Any]) -> str | None:
        """The ID of the image the step would build from ``parent``, if it is cached."""
        hit = self._local(parent, container_config)
        if not self.sources:
            return hit
        if hit and any(self._is_ancestor(hit, s) for s in self.sources):
            return hit
        parent_cfg = self._config(parent) if parent else None
        if parent and parent_cfg is None:
            return None
        n = len(parent_cfg.get("history") or []) if parent_cfg else 0
        created_by = " ".join(container_config.get("Cmd") or [])
        for src in self.sources:
            target = self._config(src)
            if target is None or not _valid_parent(target, parent_cfg):
                continue
            hist = target.get("history") or []
            if len(hist) <= n or (hist[n].get("created_by") or "") != created_by:
                continue
            if len(hist) - 1 == n:   # the source itself is this step's image
                if parent:
                    self.store.set_parent(src, parent)
                return src
            restored = self._restore(parent, parent_cfg, target, n, container_config)
            self.sources = [src]   # as dockerd: do not jump between sources
            return restored
        return None

    def _restore(self, parent: str, parent_cfg: dict[str, Any] | None, target: dict[str, Any], n: int,
                 container_config: dict[str, Any]) -> str | None:
        """restoreCachedImage: the step's image, rebuilt from the source's history entry and layer."""
        if self.put_config is None:
            return None
        history = list((parent_cfg or {}).get("history") or []) + [target["history"][n]]
        diff_ids = _diff_ids(parent_cfg or {})
        layer = _layer_at(target, n)
        if layer:
            diff_ids.append(layer)
        cfg: dict[str, Any] = {
            "architecture": target.get("architecture") or "", "os": target.get("os") or "linux",
            "author": target.get("author") or "", "config": container_config,
            "created": history[-1].get("created") or "", "history": history,
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
        image_id = self.put_config(cfg)
        if parent:
            self.store.set_parent(image_id, parent)
        return image_id
