"""Manifests: which formats a pull accepts, how a platform is picked from a list, and the
schema 2 manifest a push writes.

Accepted: Docker schema 2 (``...manifest.v2+json``), OCI image manifests, and the lists
above them (Docker manifest lists, OCI indexes), from which the entry for the wanted
platform (default linux/<host arch>) is chosen as containerd's platform matcher does
(os and architecture must match; a variant, if asked for, too; arm64 defaults to v8).
Schema 1 is refused with the message current dockerd gives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tugboat.errors import InvalidArgument, NotFound

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
           "application/vnd.docker.distribution.manifest.v1+prettyjws")

ACCEPT = [DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX, *SCHEMA1]
LAYER_TYPES = {DOCKER_LAYER, DOCKER_FOREIGN_LAYER, "application/vnd.oci.image.layer.v1.tar",
               "application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar+zstd",
               "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"}


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    urls: tuple[str, ...] = ()
    platform: dict | None = None

    @classmethod
    def of(cls, obj: Any) -> Descriptor:
        if not isinstance(obj, dict) or not isinstance(obj.get("digest"), str):
            raise InvalidArgument("invalid manifest: descriptor without digest")
        return cls(str(obj.get("mediaType", "")), obj["digest"], int(obj.get("size", 0)),
                   tuple(obj.get("urls") or ()), obj.get("platform"))


@dataclass(frozen=True)
class ImageManifest:
    config: Descriptor
    layers: list[Descriptor]


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm", "armel": "arm",
                 "i386": "386", "i686": "386"}


def parse_platform(spec: str, default_arch: str) -> Platform:
    """containerd's platforms.Parse, for the "os[/arch[/variant]]" forms docker accepts."""
    if not spec:
        return Platform("linux", default_arch)
    parts = spec.lower().split("/")
    if len(parts) > 3 or not all(parts):
        raise InvalidArgument(f'"{spec}": unknown operating system or architecture: invalid argument')
    os_ = parts[0]
    arch = _ARCH_ALIASES.get(parts[1], parts[1]) if len(parts) > 1 else default_arch
    variant = parts[2] if len(parts) > 2 else ""
    if arch == "arm64" and variant == "v8":
        variant = ""
    return Platform(os_, arch, variant)


def detect_kind(body: bytes, content_type: str) -> tuple[str, dict]:
    """The manifest's media type (from the body if the header is vague) and its JSON."""
    try:
        obj = json.loads(body)
    except ValueError as e:
        raise InvalidArgument(f"invalid manifest: {e}") from None
    if not isinstance(obj, dict):
        raise InvalidArgument("invalid manifest: not a JSON object")
    kind = obj.get("mediaType") or content_type
    if obj.get("schemaVersion") == 1:
        kind = SCHEMA1[0]
    elif kind not in (DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX):
        kind = OCI_INDEX if "manifests" in obj else OCI_MANIFEST if "config" in obj else kind
    return kind, obj


def schema1_error(name: str) -> InvalidArgument:
    return InvalidArgument(
        "[DEPRECATION NOTICE] Docker Image Format v1 and Docker Image manifest version 2, schema 1 "
        "support is disabled by default and will be removed in an upcoming release. Suggest the author "
        f"of {name} to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2.")


def image_manifest(obj: dict) -> ImageManifest:
    config = Descriptor.of(obj.get("config"))
    layers = [Descriptor.of(x) for x in obj.get("layers") or []]
    for layer in layers:
        if layer.media_type and layer.media_type not in LAYER_TYPES:
            raise InvalidArgument(f"unsupported layer media type {layer.media_type}")
    return ImageManifest(config, layers)


def _matches(p: dict, want: Platform) -> bool:
    os_ = str(p.get("os", "")).lower()
    arch = _ARCH_ALIASES.get(str(p.get("architecture", "")).lower(), str(p.get("architecture", "")).lower())
    variant = str(p.get("variant", "")).lower()
    if arch == "arm64" and variant == "v8":
        variant = ""
    if os_ != want.os or arch != want.architecture:
        return False
    return not want.variant or variant == want.variant


def select_platform(obj: dict, want: Platform, name: str) -> Descriptor:
    """The manifest list entry for ``want``; dockerd's error when there is none."""
    entries = [Descriptor.of(m) for m in obj.get("manifests") or []]
    for d in entries:
        if d.platform is not None and _matches(d.platform, want):
            return d
    raise NotFound(f"no matching manifest for {want} in the manifest list entries")


def schema2_manifest(config_digest: str, config_size: int, layers: list[tuple[str, int]]) -> bytes:
    """The manifest push writes, serialized as Go's json.MarshalIndent(m, "", "   ") does,
    so that the same image pushed twice has the same digest."""
    obj = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "size": config_size, "digest": config_digest},
        "layers": [{"mediaType": DOCKER_LAYER, "size": size, "digest": digest} for digest, size in layers],
    }
    return json.dumps(obj, indent=3).encode()
