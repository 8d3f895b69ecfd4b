"""Typed build options: what POST /build's query parameters (or `tug build` flags) mean,
kept apart from HTTP so the route only parses and the builder only builds."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class BuildOptions:
    tags: list[str] = field(default_factory=list)
    dockerfile: str = "Dockerfile"
    build_args: dict[str, str | None] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    target: str = ""
    no_cache: bool = False
    rm: bool = True
    force_rm: bool = False
    pull: bool = False
    quiet: bool = False
    network_mode: str = ""
    cache_from: list[str] = field(default_factory=list)
    platform: str = ""
    remote: str = ""
