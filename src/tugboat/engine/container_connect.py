"""`docker network connect` / `disconnect`: ContainerService's side of POST /networks/{id}/connect.

Mixed into ContainerService rather than a collaborator like commit and cp (container_commit.py,
container_archive.py): it changes the container's record under the container's lock, and that
lock is the service's own. A running container gets (or loses) an endpoint on the spot, a new
``eth<N>`` in its namespace; a stopped one only has its record changed and joins at its next start.
The record is saved either way; the "connect"/"disconnect" network events come from
ContainerNetworking, as every endpoint join and leave does.
"""

from __future__ import annotations

from typing import Any

from tugboat.errors import TugboatError


class ContainerConnect:
    """Relies on ContainerService's index and its ``networking`` (engine/container_network.py)."""

    networking: Any

    def _get(self, ref: str) -> Any: ...

    def _networking(self) -> Any:
        if self.networking is None:
            raise TugboatError("networking is not configured in this daemon")
        return self.networking

    def connect_network(self, container_ref: str, net_ref: str, endpoint_config: dict | None = None) -> None:
        net = self._networking()
        c = self._get(container_ref)
        with c.lock:
            try:
                net.connect(c.rec, net_ref, endpoint_config or {})
            finally:
                c.rec.save()

    def disconnect_network(self, container_ref: str, net_ref: str, force: bool = False) -> None:
        net = self._networking()
        c = self._get(container_ref)
        with c.lock:
            try:
                net.disconnect(c.rec, net_ref, force)
            finally:
                c.rec.save()
