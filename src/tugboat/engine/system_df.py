"""`GET /system/df` (`docker system df`): moby 20.10's SystemDiskUsage, assembled from the other services.

- ``LayersSize``: the diff sizes of every layer that some image references (images without a
  reference and with children, i.e. the classic builder's intermediate images, do not count), each
  layer once (imageService.LayerDiskUsage).
- ``Images``: the top-level images (`docker images`) with ``Containers`` (how many containers, running
  or not, use the image) and ``SharedSize`` (the diff sizes of its layers that another top-level image
  references too) filled in, as Images(..., withExtraAttrs).
- ``Containers``: every container with ``SizeRw``/``SizeRootFs``.
- ``Volumes``: local volumes with ``UsageData {Size, RefCount}`` (the volume service's ``usage()``).
- ``BuildCache``/``BuilderSize``: the classic builder keeps its cache as images, so nothing: null and
  0, what dockerd answers when BuildKit holds no cache.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tugboat.engine.image_config import chain_ids
from tugboat.errors import NotFound


def _has_reference(summary: dict[str, Any]) -> bool:
    tags = [t for t in summary.get("RepoTags") or [] if t != "<none>:<none>"]
    digests = [d for d in summary.get("RepoDigests") or [] if d != "<none>@<none>"]
    return bool(tags or digests)


class DiskUsage:
    """Reads the container, image, layer and volume services; keeps nothing itself."""

    def __init__(self, containers: Any, images: Any, layers: Any, volumes: Any = None) -> None:
        self._containers = containers
        self._images = images
        self._layers = layers
        self._volumes = volumes

    def _chains(self, image_id: str) -> list[str]:
        try:
            diff_ids = (self._images.inspect(image_id).get("RootFS") or {}).get("Layers") or []
        except NotFound:
            return []
        return chain_ids(list(diff_ids))

    def _diff_size(self, chain_id: str) -> int:
        try:
            return int(self._layers.get(chain_id).size or 0)
        except (NotFound, KeyError, FileNotFoundError):
            return 0

    def usage(self) -> dict[str, Any]:
        everything = self._images.list(all=True)
        parents = {i.get("ParentId") for i in everything if i.get("ParentId")}
        counted = [i for i in everything if _has_reference(i) or i["Id"] not in parents]
        chains = {i["Id"]: self._chains(i["Id"]) for i in counted}
        layers_size = sum(self._diff_size(c) for c in {c for cs in chains.values() for c in cs})

        top = self._images.list(all=False)
        refs: Counter[str] = Counter()
        for i in top:
            chains.setdefault(i["Id"], self._chains(i["Id"]))
            refs.update(chains[i["Id"]])
        images = []
        for i in top:
            shared = sum(self._diff_size(c) for c in chains[i["Id"]] if refs[c] > 1)
            images.append({**i, "Containers": len(self._containers.ids_using_image(i["Id"])),
                           "SharedSize": shared})
        volumes = self._volumes.usage() if self._volumes is not None else []
        return {"LayersSize": layers_size, "Images": images,
                "Containers": self._containers.list(all=True, size=True), "Volumes": volumes,
                "BuildCache": None, "BuilderSize": 0}
