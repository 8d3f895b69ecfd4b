"""A container's mounts: binds, volumes (named and anonymous) and tmpfs, as dockerd's MountPoints.

Where they come from, in dockerd's order (registerMountPoints, createContainerOSSpecificSettings):
``--volumes-from`` first, then HostConfig.Binds (``-v``) and HostConfig.Mounts (``--mount``), which
replace a volumes-from mount on the same destination, then an anonymous volume for each
Config.Volumes entry (the image's VOLUME and ``-v /path`` from the CLI) not mounted yet.  They are
parsed at create (a bad spec fails ``docker create`` with dockerd's message), the volumes are
created then, and a new empty volume is filled from the image (copy-up, unless nocopy); the
resolved list is kept in the container's record (``MountPoints``), so anonymous volumes keep their
names across restarts.  ``ContainerVolumes`` is what the container service calls at create, start,
exit and remove; the volumes themselves belong to the volume service.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tugboat.engine.volume_copyup import copy_up
from tugboat.errors import InvalidArgument, TugboatError

if TYPE_CHECKING:
    from tugboat.engine.volumes import VolumeService

_PROPAGATION = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
_MODES = {"ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated", *_PROPAGATION}
LOCAL = "local"


@dataclass(frozen=True)
class MountPoint:
    type: str            # "bind" | "volume" | "tmpfs"
    source: str          # host path: the bind source, a volume's _data ("" until created, tmpfs)
    destination: str
    rw: bool
    mode: str = ""       # the Binds mode string as given ("ro", "ro,rslave", ...; "z" for volumes)
    propagation: str = "rprivate"
    name: str = ""       # volume name ("" = a new anonymous volume, named at create)
    driver: str = ""
    named: bool = False  # the user named the volume: `rm -v` keeps it
    copy_data: bool = False         # a volume filled from the image at create (not nocopy)
    create_source: bool = False     # Binds (not Mounts): dockerd creates a missing host dir at start
    tmpfs_options: tuple[str, ...] = ()
    volume_options: tuple[tuple[str, str], ...] = ()   # --mount volume-opt: for a new volume only
    volume_labels: tuple[tuple[str, str], ...] = ()    # --mount volume-label: for a new volume only

    def to_api(self) -> dict:
        if self.type == "volume":
            return {"Type": "volume", "Name": self.name, "Source": self.source, "Destination": self.destination,
                    "Driver": self.driver, "Mode": self.mode, "RW": self.rw, "Propagation": self.propagation}
        return {"Type": self.type, "Source": self.source, "Destination": self.destination,
                "Mode": self.mode, "RW": self.rw, "Propagation": self.propagation}

    def to_oci(self) -> dict:
        if self.type == "tmpfs":
            return {"destination": self.destination, "type": "tmpfs", "source": "tmpfs",
                    "options": ["nosuid", "nodev", "noexec", *self.tmpfs_options]}
        opts = ["rbind", self.propagation or "rprivate"]
        if not self.rw:
            opts.append("ro")
        return {"destination": self.destination, "type": "bind", "source": self.source, "options": opts}

    def to_record(self) -> dict:
        d = asdict(self)
        for k in ("tmpfs_options", "volume_options", "volume_labels"):
            d[k] = [list(x) if isinstance(x, tuple) else x for x in d[k]]
        return d

    @classmethod
    def from_record(cls, d: dict) -> MountPoint:
        return cls(**{**d, "tmpfs_options": tuple(d.get("tmpfs_options") or ()),
                      "volume_options": tuple(tuple(x) for x in d.get("volume_options") or ()),
                      "volume_labels": tuple(tuple(x) for x in d.get("volume_labels") or ())})


def _bind_error(spec: str, why: str) -> TugboatError:
    return TugboatError(f"invalid volume specification: '{spec}': invalid mount config for type \"bind\": {why}")


def parse_bind(spec: str) -> MountPoint:
    """One HostConfig.Binds entry: "/host:/ctr[:mode]", "name:/ctr[:mode]" or "/ctr"."""
    parts = spec.split(":")
    if len(parts) == 1 and spec.startswith("/"):
        return MountPoint("volume", "", os.path.normpath(spec), True, "z", "", driver=LOCAL, copy_data=True)
    if len(parts) < 2 or len(parts) > 3 or not parts[0] or not parts[1]:
        raise TugboatError(f"invalid volume specification: '{spec}'")
    src, dst = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else ""
    for m in filter(None, mode.split(",")):
        if m not in _MODES:
            raise TugboatError(f"invalid mode: {mode}")
    if not dst.startswith("/"):
        raise _bind_error(spec, f"invalid mount path: '{dst}' mount path must be absolute")
    flags = set(mode.split(","))
    if not src.startswith("/"):
        return MountPoint("volume", "", os.path.normpath(dst), "ro" not in flags, mode or "z", "", name=src,
                          driver=LOCAL, named=True, copy_data="nocopy" not in flags)
    prop = next((p for p in _PROPAGATION if p in flags), "rprivate")
    return MountPoint("bind", os.path.normpath(src), os.path.normpath(dst), "ro" not in flags, mode, prop,
                      create_source=True)


def _volume_mount(m: dict, target: str) -> MountPoint:
    opts = m.get("VolumeOptions") or {}
    if m.get("BindOptions"):
        raise InvalidArgument('invalid mount config for type "volume": BindOptions must not be specified')
    if m.get("TmpfsOptions"):
        raise InvalidArgument('invalid mount config for type "volume": TmpfsOptions must not be specified')
    driver_cfg = opts.get("DriverConfig") or {}
    driver = driver_cfg.get("Name") or LOCAL
    src = m.get("Source") or ""
    return MountPoint("volume", "", target, not m.get("ReadOnly"), "z" if driver == LOCAL else "", "",
                      name=src, driver=driver, named=bool(src), copy_data=not opts.get("NoCopy"),
                      volume_options=tuple(sorted((driver_cfg.get("Options") or {}).items())),
                      volume_labels=tuple(sorted((opts.get("Labels") or {}).items())))


def parse_mount(m: dict) -> MountPoint:
    """One HostConfig.Mounts entry (the --mount syntax)."""
    kind = m.get("Type") or ""
    target = m.get("Target") or ""
    if not target.startswith("/"):
        raise InvalidArgument(f'invalid mount config for type "{kind}": invalid mount path: '
                              f"'{target}' mount path must be absolute")
    target = os.path.normpath(target)
    if kind == "bind":
        src = m.get("Source") or ""
        if not src.startswith("/"):
            raise InvalidArgument('invalid mount config for type "bind": invalid mount path: '
                                  f"'{src}' mount path must be absolute")
        if not os.path.exists(src):
            raise InvalidArgument(f'invalid mount config for type "bind": bind source path does not exist: {src}')
        prop = (m.get("BindOptions") or {}).get("Propagation") or "rprivate"
        return MountPoint("bind", os.path.normpath(src), target, not m.get("ReadOnly"), "", prop)
    if kind == "tmpfs":
        if m.get("Source"):
            raise InvalidArgument('invalid mount config for type "tmpfs": source must not be specified')
        opts = m.get("TmpfsOptions") or {}
        extra = []
        if opts.get("SizeBytes"):
            extra.append(f"size={int(opts['SizeBytes'])}")
        if opts.get("Mode"):
            extra.append(f"mode={int(opts['Mode']):o}")
        return MountPoint("tmpfs", "", target, not m.get("ReadOnly"), "", "",
                          tmpfs_options=tuple(extra + (["ro"] if m.get("ReadOnly") else [])))
    if kind == "volume":
        return _volume_mount(m, target)
    raise InvalidArgument(f"mount type unknown: {kind!r}" if kind else "invalid mount config: type is required")


def parse_binds(host_config: dict) -> list[MountPoint]:
    return [parse_bind(b) for b in host_config.get("Binds") or []]


def parse_mounts(host_config: dict) -> list[MountPoint]:
    return [parse_mount(m) for m in host_config.get("Mounts") or []]


def mount_points(host_config: dict) -> list[MountPoint]:
    """The Binds and Mounts of a container, failing on duplicates as dockerd does."""
    out = parse_binds(host_config) + parse_mounts(host_config)
    seen: set[str] = set()
    for mp in out:
        if mp.destination in seen:
            raise InvalidArgument(f"Duplicate mount point: {mp.destination}")
        seen.add(mp.destination)
    return out


def _volumes_from(spec: str, lookup: Callable[[str], list[MountPoint]]) -> list[MountPoint]:
    ref, _, mode = spec.partition(":")
    if mode not in ("", "ro", "rw"):
        raise InvalidArgument(f"invalid mode: {mode}")
    return [replace(mp, rw=mp.rw and mode != "ro", mode="", copy_data=False, create_source=False)
            for mp in lookup(ref)]


def plan(host_config: dict, config_volumes: dict | None,
         lookup: Callable[[str], list[MountPoint]]) -> list[MountPoint]:
    """Every mount of a new container, before its volumes exist (see the module docstring)."""
    by_dst: dict[str, MountPoint] = {}
    driver = host_config.get("VolumeDriver") or LOCAL   # -v and VOLUME volumes (--mount names its own)
    for spec in host_config.get("VolumesFrom") or []:
        for mp in _volumes_from(spec, lookup):
            by_dst[mp.destination] = mp
    for mp in parse_binds(host_config):
        by_dst[mp.destination] = replace(mp, driver=driver) if mp.type == "volume" else mp
    for mp in parse_mounts(host_config):
        by_dst[mp.destination] = mp
    for dst in config_volumes or {}:
        dst = os.path.normpath(dst)
        if dst not in by_dst:
            by_dst[dst] = MountPoint("volume", "", dst, True, "", "", driver=driver, copy_data=True)
    return list(by_dst.values())


def recorded(rec: Any) -> list[MountPoint]:
    """A container's resolved mounts (records written before volumes existed: parsed again)."""
    if rec.mounts is not None:
        return [MountPoint.from_record(d) for d in rec.mounts]
    try:
        return mount_points(rec.host_config)
    except TugboatError:
        return []


class ContainerVolumes:
    """The container service's side of volumes: create/mount/unmount/release per container."""

    def __init__(self, volumes: VolumeService | None) -> None:
        self._volumes = volumes

    def _service(self) -> VolumeService:
        if self._volumes is None:
            raise TugboatError("volumes are not available in this daemon")
        return self._volumes

    def create(self, cid: str, points: list[MountPoint],
               rootfs: Callable[[], AbstractContextManager[str]]) -> list[dict]:
        """Create the volumes of a new container and copy the image's content into new empty ones.
        On failure the anonymous volumes made here are removed again."""
        made: list[str] = []
        out: list[MountPoint] = []
        try:
            for mp in points:
                if mp.type == "volume" and not mp.source:
                    if mp.driver != LOCAL:
                        raise TugboatError(f'create {mp.name}: error looking up volume plugin {mp.driver}: '
                                           f'plugin "{mp.driver}" not found')
                    v = self._service().ensure(mp.name or None, mp.driver, dict(mp.volume_options),
                                               dict(mp.volume_labels))
                    if not mp.name:
                        made.append(v.name)
                    mp = replace(mp, name=v.name, source=str(v.data), volume_options=(), volume_labels=())
                out.append(mp)
            copies = [mp for mp in out if mp.type == "volume" and mp.copy_data]
            if copies:
                with rootfs() as root:
                    for mp in copies:
                        self._copy(cid, root, mp)
        except BaseException:
            for name in made:
                self._service().remove_anonymous(name)
            raise
        return [replace(mp, copy_data=False).to_record() if mp.type == "volume" else mp.to_record()
                for mp in out]

    def _copy(self, cid: str, root: str, mp: MountPoint) -> None:
        svc = self._service()
        ref = f"copy-up:{cid}"
        path = svc.mount(mp.name, ref)
        try:
            copy_up(root, mp.destination, Path(path))
        finally:
            svc.unmount(mp.name, ref)

    def start(self, rec: Any) -> list[dict]:
        """At start: the OCI mounts, with every volume mounted for this container (mount events)."""
        out = []
        for mp in recorded(rec):
            if mp.type == "bind" and mp.create_source and not os.path.exists(mp.source):
                os.makedirs(mp.source, mode=0o755, exist_ok=True)
            if mp.type == "volume":
                mp = replace(mp, source=self._service().mount(mp.name, rec.id))
                self._service().publish(mp.name, "mount", {
                    "container": rec.id, "destination": mp.destination, "driver": mp.driver,
                    "propagation": mp.propagation, "read/write": "true" if mp.rw else "false"})
            out.append(mp.to_oci())
        return out

    def stop(self, rec: Any) -> None:
        """The container stopped (or failed to start): its volumes are unmounted for it."""
        if self._volumes is None:
            return
        for mp in recorded(rec):
            if mp.type == "volume" and self._volumes.unmount(mp.name, rec.id):
                self._volumes.publish(mp.name, "unmount", {"container": rec.id, "driver": mp.driver})

    def adopt(self, rec: Any) -> None:
        """tugd restarted and the container kept running: its volumes are in use again."""
        if self._volumes is None:
            return
        for mp in recorded(rec):
            if mp.type == "volume":
                self._volumes.adopt(mp.name, rec.id)

    def remove(self, rec: Any, remove_anonymous: bool) -> None:
        """The container is gone: with `rm -v` (or --rm) its anonymous volumes go too."""
        if self._volumes is None or not remove_anonymous:
            return
        for mp in recorded(rec):
            if mp.type == "volume" and not mp.named:
                self._volumes.remove_anonymous(mp.name)


def uses_volume(rec: Any, name: str) -> bool:
    return any(mp.type == "volume" and mp.name == name for mp in recorded(rec))


@contextmanager
def created_rootfs(runtime: Any, layers: Any, cid: str) -> Iterator[str]:
    """The root filesystem of a container being created, mounted for the copy-up only."""
    path = runtime.mount_rootfs(cid, list(layers.rw_mounts(cid)))
    try:
        yield os.fspath(path)
    finally:
        runtime.unmount_rootfs(cid)
