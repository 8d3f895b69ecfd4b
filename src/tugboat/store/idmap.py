"""User-namespace id mappings (``userns-remap``): container ids <-> host ids.

A leaf value type shared by the layer store (layer files are unpacked owned by the shifted ids,
container diffs are archived with the ids mapped back, as moby's archive code does with its
IdentityMapping), the runtime (the spec's ``uidMappings``/``gidMappings``) and the engine (the
container's directories owned by the remapped root).  Which ranges to use is decided elsewhere
(runtime/userns_remap.py reads /etc/subuid and /etc/subgid).
"""

from __future__ import annotations

from dataclasses import dataclass

from tugboat.errors import InvalidArgument

OVERFLOW_ID = 65534   # /proc/sys/kernel/overflowuid: what a user namespace shows for unmapped ids


@dataclass(frozen=True)
class IdRange:
    container_id: int
    host_id: int
    size: int


def _to_host(ranges: tuple[IdRange, ...], cid: int) -> int:
    for r in ranges:
        if r.container_id <= cid < r.container_id + r.size:
            return r.host_id + cid - r.container_id
    raise InvalidArgument(f"Container ID {cid} cannot be mapped to a host ID")


def _to_container(ranges: tuple[IdRange, ...], hid: int) -> int:
    for r in ranges:
        if r.host_id <= hid < r.host_id + r.size:
            return r.container_id + hid - r.host_id
    raise InvalidArgument(f"Host ID {hid} cannot be mapped to a container ID")


@dataclass(frozen=True)
class IdMap:
    """moby's IdentityMapping: ``uids``/``gids`` are contiguous ranges, container id 0 first."""

    uids: tuple[IdRange, ...]
    gids: tuple[IdRange, ...]

    @classmethod
    def from_subordinate(cls, uid_ranges: list[tuple[int, int]], gid_ranges: list[tuple[int, int]]) -> IdMap:
        """Ranges (host start, size) in file order, stacked from container id 0, as moby's
        createIDMap does with the /etc/subuid and /etc/subgid entries of a user."""
        def stack(ranges: list[tuple[int, int]]) -> tuple[IdRange, ...]:
            out, next_id = [], 0
            for start, size in ranges:
                out.append(IdRange(next_id, start, size))
                next_id += size
            return tuple(out)
        return cls(stack(uid_ranges), stack(gid_ranges))

    def to_host(self, uid: int, gid: int) -> tuple[int, int]:
        return _to_host(self.uids, uid), _to_host(self.gids, gid)

    def to_container(self, uid: int, gid: int) -> tuple[int, int]:
        return _to_container(self.uids, uid), _to_container(self.gids, gid)

    def seen_inside(self, uid: int, gid: int) -> tuple[int, int]:
        """The ids a container sees for host ids: unmapped ones as the kernel's overflow id."""
        def one(ranges: tuple[IdRange, ...], hid: int) -> int:
            try:
                return _to_container(ranges, hid)
            except InvalidArgument:
                return OVERFLOW_ID
        return one(self.uids, uid), one(self.gids, gid)

    @property
    def root(self) -> tuple[int, int]:
        """The host (uid, gid) of the container's root."""
        return self.to_host(0, 0)

    @classmethod
    def from_oci(cls, uids: list[dict[str, int]], gids: list[dict[str, int]]) -> IdMap:
        """The inverse of ``oci`` (the chrooted archive child gets the mapping as JSON)."""
        def conv(items: list[dict[str, int]]) -> tuple[IdRange, ...]:
            return tuple(IdRange(int(m["containerID"]), int(m["hostID"]), int(m["size"])) for m in items)
        return cls(conv(uids), conv(gids))

    def oci(self) -> tuple[list[dict[str, int]], list[dict[str, int]]]:
        """(uidMappings, gidMappings) for the OCI spec."""
        def conv(ranges: tuple[IdRange, ...]) -> list[dict[str, int]]:
            return [{"containerID": r.container_id, "hostID": r.host_id, "size": r.size} for r in ranges]
        return conv(self.uids), conv(self.gids)
