"""A small Docker Engine API client (stdlib only) used by `tug`, compose and the tests.

    from tugboat.client import Client
    c = Client()                       # -H / TUG_HOST / DOCKER_HOST / unix:///run/tugboat/tugboat.sock
    c.containers.list(all=True)

Resources live in one module each (containers, images, system); transport.py holds the HTTP part.
"""

from __future__ import annotations

from tugboat.client.errors import APIError, ClientError, DaemonUnreachable
from tugboat.client.transport import DEFAULT_HOST, Transport, resolve_host

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tugboat.client.archive import Archive
    from tugboat.client.containers import Containers
    from tugboat.client.events import Events
    from tugboat.client.images import Images
    from tugboat.client.networks import Networks
    from tugboat.client.system import System
    from tugboat.client.volumes import Volumes

__all__ = ["APIError", "Client", "ClientError", "DaemonUnreachable", "DEFAULT_HOST", "Transport",
           "resolve_host"]


class Client:
    """Entry point: resource groups are created on first use so an import costs almost nothing."""

    def __init__(self, host: str | None = None, version: str | None = None,
                 timeout: float | None = None) -> None:
        self.transport = Transport(host, version, timeout)

    @property
    def host(self) -> str:
        return self.transport.host

    @property
    def api_version(self) -> str:
        return self.transport.version

    @property
    def containers(self) -> Containers:
        from tugboat.client.containers import Containers
        return Containers(self.transport)

    @property
    def images(self) -> Images:
        from tugboat.client.images import Images
        return Images(self.transport)

    @property
    def system(self) -> System:
        from tugboat.client.system import System
        return System(self.transport)

    @property
    def volumes(self) -> Volumes:
        from tugboat.client.volumes import Volumes
        return Volumes(self.transport)

    @property
    def networks(self) -> Networks:
        from tugboat.client.networks import Networks
        return Networks(self.transport)

    @property
    def archive(self) -> Archive:
        from tugboat.client.archive import Archive
        return Archive(self.transport)

    @property
    def events(self) -> Events:
        from tugboat.client.events import Events
        return Events(self.transport)

    def close(self) -> None:
        self.transport.close()
