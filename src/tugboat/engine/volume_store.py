"""What a local volume is on disk: ``<data-root>/volumes/<name>/_data`` plus its metadata.

dockerd's local driver keeps the data under ``<name>/_data`` and the options in ``opts.json``
(labels in a bolt database); Tugboat keeps name, creation time, labels and options together in
``<name>/volume.json`` (written atomically), so one directory is the whole volume.  Options are
the local driver's mount options (type, device, o): such a volume is a mount on ``_data`` made
while a container uses it; ``local_mount`` says what to mount.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tugboat.errors import InvalidArgument
from tugboat.store.atomic import write_atomic

DRIVER = "local"
META = "volume.json"
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_VALID_OPTS = ("type", "device", "o")
_REQUIRED = {"device": ("type",), "type": ("device",), "o": ("device", "type")}


def check_name(name: str) -> None:
    if len(name) == 1:
        raise InvalidArgument(f"create {name}: volume name is too short, names should be at least two "
                              "alphanumeric characters")
    if not _NAME.match(name):
        raise InvalidArgument(
            f'create {name}: "{name}" includes invalid characters for a local volume name, only '
            '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, '
            "use absolute path")


def check_options(name: str, opts: dict[str, str]) -> None:
    """The local driver's validateOpts, with dockerd's messages."""
    for key in opts:
        if key not in _VALID_OPTS:
            raise InvalidArgument(f'create {name}: invalid option: "{key}"')
    for key, needed in _REQUIRED.items():
        if key in opts:
            for other in needed:
                if other not in opts:
                    raise InvalidArgument(f'create {name}: missing required option: "{other}"')


@dataclass
class Volume:
    name: str
    root: Path                     # <data-root>/volumes/<name>
    created_at: str                # RFC 3339, seconds, as dockerd shows it
    labels: dict[str, str] | None = None
    options: dict[str, str] | None = None
    anonymous: bool = False        # created without a name (a container's -v /path or VOLUME)

    @property
    def data(self) -> Path:
        return self.root / "_data"

    @property
    def has_mount(self) -> bool:
        """A volume with driver options is a mount (tmpfs, bind, nfs, ...) made on use."""
        return bool(self.options)

    def to_api(self) -> dict:
        return {"CreatedAt": self.created_at, "Driver": DRIVER, "Labels": self.labels or None,
                "Mountpoint": str(self.data), "Name": self.name, "Options": self.options or None,
                "Scope": "local"}

    def save(self) -> None:
        doc = {"Name": self.name, "CreatedAt": self.created_at, "Labels": self.labels,
               "Options": self.options, "Anonymous": self.anonymous}
        write_atomic(self.root / META, json.dumps(doc).encode())

    @classmethod
    def load(cls, root: Path) -> Volume:
        doc = json.loads((root / META).read_text())
        return cls(name=doc["Name"], root=root, created_at=doc["CreatedAt"], labels=doc.get("Labels"),
                   options=doc.get("Options"), anonymous=bool(doc.get("Anonymous")))


def new_volume(root: Path, name: str, labels: dict[str, str] | None, options: dict[str, str] | None,
               anonymous: bool) -> Volume:
    """Make the directories and metadata of a new volume (the caller holds the service lock)."""
    root.mkdir(mode=0o701, exist_ok=True)
    (root / "_data").mkdir(mode=0o755, exist_ok=True)
    created = datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    v = Volume(name, root, created, dict(labels) if labels else None, dict(options) if options else None,
               anonymous)
    v.save()
    return v


def local_mount(v: Volume) -> tuple[str, str, str]:
    """(fstype, device, options) of a volume with driver options, as the local driver mounts it."""
    opts = v.options or {}
    return opts.get("type", ""), opts.get("device", ""), opts.get("o", "")


def dir_size(path: Path) -> int:
    """Bytes used by regular files below path (hard links counted once), as moby's directory.Size."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                st = os.lstat(os.path.join(dirpath, f))
            except OSError:
                continue
            if st.st_nlink > 1:
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total
