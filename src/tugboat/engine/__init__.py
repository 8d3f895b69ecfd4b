"""The engine: one service per subsystem, each a plain class with a narrow interface.

The engine knows nothing of HTTP. It takes typed arguments (API-shaped dicts for
container configs, as moby's daemon takes its container.Config), raises
``tugboat.errors`` and returns API-shaped values that the server encodes as JSON.
"""

from dataclasses import dataclass, field
from typing import Any

from tugboat.engine.container_archive import ArchiveService
from tugboat.engine.container_commit import CommitService
from tugboat.engine.containers import ContainerService
from tugboat.engine.events import EventBus
from tugboat.engine.images import ImageService
from tugboat.engine.system import SystemService


@dataclass(frozen=True)
class Engine:
    """The services the server routes to; built once by ``tugboat.wiring``."""

    containers: ContainerService
    images: ImageService
    system: SystemService
    events: EventBus = field(default_factory=EventBus)
    execs: Any = None    # engine.exec.ExecService
    commits: CommitService | None = None    # docker commit
    archives: ArchiveService | None = None  # docker cp (HEAD/GET/PUT /containers/{id}/archive)
    builds: Any = None   # engine.builder.BuildService (imported lazily: it pulls in the builder)
    volumes: Any = None  # engine.volumes.VolumeService
    networks: Any = None  # engine.networks.NetworkService
