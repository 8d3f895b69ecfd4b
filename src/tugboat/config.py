"""tugd's configuration: dockerd's flags and daemon.json keys, for what is implemented.

A key given both as a flag and in the file is an error, as with dockerd.
"""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from tugboat.errors import InvalidArgument

DEFAULT_HOST = "unix:///run/tugboat/tugboat.sock"
DEFAULT_DATA_ROOT = "/var/lib/tugboat"
DEFAULT_EXEC_ROOT = "/run/tugboat"
DEFAULT_CONFIG_FILE = "/etc/tugboat/daemon.json"


@dataclass
class DaemonConfig:
    hosts: list[str] = field(default_factory=lambda: [DEFAULT_HOST])
    data_root: Path = Path(DEFAULT_DATA_ROOT)
    exec_root: Path = Path(DEFAULT_EXEC_ROOT)
    pidfile: Path | None = None
    log_level: str = "info"
    # cgroup parent of every container ("/tugboat" in each hierarchy): tests give
    # each private daemon its own so that nothing is shared or leaked.
    cgroup_parent: str = "tugboat"
    storage_driver: str = ""          # "overlay2" | "vfs"; "" picks overlay2 where it works
    runtime: str = "runc"             # path or name of the OCI runtime binary
    userns_remap: str = ""            # "default", "user[:group]" or "uid[:gid]" (runtime/userns_remap.py)
    # Everything else in daemon.json, kept for the subsystems that read it later
    # (bridge, bip, default-address-pools, registry-mirrors, ...).
    extra: dict = field(default_factory=dict)

    @property
    def unix_sockets(self) -> list[str]:
        out = []
        for h in self.hosts:
            if h.startswith("unix://"):
                out.append(h[len("unix://"):])
            elif h.startswith("/"):
                out.append(h)
            else:
                raise InvalidArgument(f"unsupported host: {h} (only unix:// sockets are served)")
        return out


_FILE_KEYS = {
    "hosts": "hosts",
    "data-root": "data_root",
    "exec-root": "exec_root",
    "pidfile": "pidfile",
    "log-level": "log_level",
    "cgroup-parent": "cgroup_parent",
    "storage-driver": "storage_driver",
    "userns-remap": "userns_remap",
}


def load(flags: dict, config_file: str | None) -> DaemonConfig:
    """flags: only the flags given on the command line (name in daemon.json spelling -> value)."""
    file_values: dict = {}
    path = config_file or DEFAULT_CONFIG_FILE
    if os.path.exists(path):
        try:
            with open(path) as f:
                text = f.read()
            file_values = json.loads(text) if text.strip() else {}
        except (OSError, ValueError) as e:
            raise InvalidArgument(f"unable to configure the Docker daemon with file {path}: {e}") from e
        if not isinstance(file_values, dict):
            raise InvalidArgument(f"unable to configure the Docker daemon with file {path}: not a JSON object")
    elif config_file:
        raise InvalidArgument(f"open {config_file}: no such file or directory")
    both = sorted(k for k in flags if k in file_values)
    if both:
        detail = ", ".join(f"{k}: (from flag: {flags[k]}, from file: {file_values[k]})" for k in both)
        raise InvalidArgument(
            "the following directives are specified both as a flag and in the configuration file: " + detail)
    cfg = DaemonConfig()
    if file_values.get("debug"):
        cfg.log_level = "debug"
    for key, value in {**file_values, **flags}.items():
        attr = _FILE_KEYS.get(key)
        if attr is None:
            cfg.extra[key] = value
            continue
        if attr in ("data_root", "exec_root", "pidfile"):
            value = Path(value)
        if attr == "hosts" and isinstance(value, str):
            value = [value]
        setattr(cfg, attr, value)
    return cfg
