"""Image service.  CONTRACT STUB — to be implemented."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO


@dataclass(frozen=True)
class ImageRecord:
    """What the container service needs of an image."""

    id: str                    # "sha256:<hex>" — the digest of the config JSON
    config: dict               # the whole image config JSON (with "config", "rootfs", "history", ...)
    top_chain_id: str | None   # chain ID of the top layer, None for an image without layers
    repo_tags: tuple[str, ...] = ()


class ImageService:
    def __init__(self, *args, in_use: Callable[[str], list[str]] | None = None, **kwargs) -> None:
        """in_use(image_id) -> IDs of containers created from the image (injected by wiring,
        so that images never import containers)."""
        raise NotImplementedError

    def resolve(self, ref: str) -> ImageRecord:
        """By reference (name[:tag], name@digest), full ID, "sha256:" ID or unique ID prefix."""
        raise NotImplementedError

    def list(self, all: bool = False, filters: dict[str, list[str]] | None = None,
             digests: bool = False) -> list[dict]:
        raise NotImplementedError

    def inspect(self, ref: str) -> dict:
        raise NotImplementedError

    def remove(self, ref: str, force: bool = False, noprune: bool = False) -> list[dict]:
        raise NotImplementedError

    def tag(self, ref: str, repo: str, tag: str | None) -> None:
        raise NotImplementedError

    def history(self, ref: str) -> list[dict]:
        raise NotImplementedError

    def import_image(self, stream: BinaryIO, repo: str | None, tag: str | None,
                     changes: list[str], message: str = "") -> Iterator[dict]:
        raise NotImplementedError

    def save(self, refs: list[str]) -> Iterator[bytes]:
        raise NotImplementedError

    def load(self, stream: BinaryIO, quiet: bool = False) -> Iterator[dict]:
        raise NotImplementedError
