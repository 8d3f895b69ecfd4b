"""Typed build options: what POST /build's query parameters (or `tug build` flags) mean,
kept apart from HTTP so the route only parses and the builder only builds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    # resources for RUN containers (shmsize, memory, cpu*, extrahosts, ulimits...), as HostConfig
    host_config: dict[str, Any] = field(default_factory=dict)
    # X-Registry-Config: registry (as the client keys it) -> registry.AuthConfig, for FROM pulls
    auth_configs: dict[str, Any] = field(default_factory=dict)
