"""Host-path bind mounts and tmpfs mounts from HostConfig.Binds / HostConfig.Mounts.

They are parsed at create (so a bad spec fails `docker create`, with dockerd's
messages) and turned into OCI mounts at start; inspect and list show them in
dockerd's MountPoint shape.  Named and anonymous volumes need a volume service,
which does not exist yet: asking for one is a 501, not a silently missing mount.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from tugboat.errors import InvalidArgument, NotImplementedYet, TugboatError

_PROPAGATION = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
_MODES = {"ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated", *_PROPAGATION}


@dataclass(frozen=True)
class MountPoint:
    type: str            # "bind" | "tmpfs"
    source: str
    destination: str
    rw: bool
    mode: str = ""       # the Binds mode string as given ("ro", "ro,rslave", ...)
    propagation: str = "rprivate"
    create_source: bool = False   # Binds (not Mounts): dockerd creates a missing host dir at start
    tmpfs_options: tuple[str, ...] = ()

    def to_api(self) -> dict:
        return {"Type": self.type, "Source": self.source, "Destination": self.destination,
                "Mode": self.mode, "RW": self.rw, "Propagation": self.propagation}

    def to_oci(self) -> dict:
        if self.type == "tmpfs":
            return {"destination": self.destination, "type": "tmpfs", "source": "tmpfs",
                    "options": ["nosuid", "nodev", "noexec", *self.tmpfs_options]}
        opts = ["rbind", self.propagation]
        if not self.rw:
            opts.append("ro")
        return {"destination": self.destination, "type": "bind", "source": self.source, "options": opts}


def _bind_error(spec: str, why: str) -> TugboatError:
    return TugboatError(f"invalid volume specification: '{spec}': invalid mount config for type \"bind\": {why}")


def parse_bind(spec: str) -> MountPoint:
    """One HostConfig.Binds entry: "/host:/ctr[:mode]"."""
    parts = spec.split(":")
    if len(parts) < 2 or len(parts) > 3 or not parts[0] or not parts[1]:
        if len(parts) == 1 and spec.startswith("/"):
            raise NotImplementedYet("anonymous volumes are not supported yet")
        raise TugboatError(f"invalid volume specification: '{spec}'")
    src, dst = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else ""
    for m in filter(None, mode.split(",")):
        if m not in _MODES:
            raise TugboatError(f"invalid mode: {mode}")
    if not src.startswith("/"):
        raise NotImplementedYet(f"named volumes are not supported yet ({src})")
    if not dst.startswith("/"):
        raise _bind_error(spec, f"invalid mount path: '{dst}' mount path must be absolute")
    flags = set(mode.split(","))
    prop = next((p for p in _PROPAGATION if p in flags), "rprivate")
    return MountPoint("bind", os.path.normpath(src), os.path.normpath(dst), "ro" not in flags, mode, prop,
                      create_source=True)


def parse_mount(m: dict) -> MountPoint:
    """One HostConfig.Mounts entry (the --mount syntax)."""
    kind = m.get("Type") or ""
    target = m.get("Target") or ""
    if not target.startswith("/"):
        raise InvalidArgument(f'invalid mount config for type "{kind}": invalid mount path: '
                              f"'{target}' mount path must be absolute")
    if kind == "bind":
        src = m.get("Source") or ""
        if not src.startswith("/"):
            raise InvalidArgument('invalid mount config for type "bind": invalid mount path: '
                                  f"'{src}' mount path must be absolute")
        if not os.path.exists(src):
            raise InvalidArgument(f'invalid mount config for type "bind": bind source path does not exist: {src}')
        prop = (m.get("BindOptions") or {}).get("Propagation") or "rprivate"
        return MountPoint("bind", os.path.normpath(src), os.path.normpath(target), not m.get("ReadOnly"), "", prop)
    if kind == "tmpfs":
        if m.get("Source"):
            raise InvalidArgument('invalid mount config for type "tmpfs": source must not be specified')
        opts = m.get("TmpfsOptions") or {}
        extra = []
        if opts.get("SizeBytes"):
            extra.append(f"size={int(opts['SizeBytes'])}")
        if opts.get("Mode"):
            extra.append(f"mode={int(opts['Mode']):o}")
        return MountPoint("tmpfs", "", os.path.normpath(target), not m.get("ReadOnly"), "", "",
                          tmpfs_options=tuple(extra + (["ro"] if m.get("ReadOnly") else [])))
    if kind == "volume":
        raise NotImplementedYet("volumes are not supported yet")
    raise InvalidArgument(f"mount type unknown: {kind!r}" if kind else "invalid mount config: type is required")


def mount_points(host_config: dict) -> list[MountPoint]:
    """All mounts of a container, failing on duplicates as dockerd does."""
    out = [parse_bind(b) for b in host_config.get("Binds") or []]
    out += [parse_mount(m) for m in host_config.get("Mounts") or []]
    seen: set[str] = set()
    for mp in out:
        if mp.destination in seen:
            raise InvalidArgument(f"Duplicate mount point: {mp.destination}")
        seen.add(mp.destination)
    return out


def prepare_sources(points: list[MountPoint]) -> None:
    """At start: dockerd creates a missing Binds source directory (not for --mount)."""
    for mp in points:
        if mp.type == "bind" and mp.create_source and not os.path.exists(mp.source):
            os.makedirs(mp.source, mode=0o755, exist_ok=True)
