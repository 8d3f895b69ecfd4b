"""The json-file log driver's options (moby daemon/logger/jsonfilelog), checked at create.

dockerd validates the option *names* at create and parses max-size/max-file when the
driver starts; Tugboat does both at create so that a bad value never reaches a started
container (the messages are dockerd's).  Unlike Docker, a container created without any
log option still gets its log rotated: DEFAULT_MAX_SIZE x DEFAULT_MAX_FILE bounds the disk
a chatty container can fill.  The defaults are applied when the monitor starts, not stored
in HostConfig, so `inspect` shows what the user asked for, as with Docker.
"""

from __future__ import annotations

import re
from typing import Any

from tugboat.errors import InvalidArgument

JSON_FILE_OPTS = ("max-file", "max-size", "compress", "labels", "labels-regex", "env", "env-regex", "tag")
DEFAULT_MAX_SIZE = "20m"
DEFAULT_MAX_FILE = "5"

_DECIMAL = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$")


def from_human_size(s: str) -> int:
    """go-units FromHumanSize: decimal units ("10m" = 10,000,000 bytes)."""
    m = _SIZE.match(s)
    if not m:
        raise InvalidArgument(f"invalid size: '{s}'")
    return int(float(m.group(1)) * _DECIMAL[(m.group(2) or "").lower()])


def _atoi(s: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", s):
        raise InvalidArgument(f'strconv.Atoi: parsing "{s}": invalid syntax')
    return int(s)


def validate(log_config: dict[str, Any]) -> None:
    """InvalidArgument with dockerd's words for an option json-file (or local) does not know
    or a max-size/max-file it cannot use."""
    if log_config.get("Type") not in ("json-file", "local"):
        return
    opts = log_config.get("Config") or {}
    for key in opts:
        if key not in JSON_FILE_OPTS:
            raise InvalidArgument(f"unknown log opt '{key}' for {log_config['Type']} log driver")
    rotation(log_config)


def rotation(log_config: dict[str, Any]) -> tuple[int, int]:
    """(max_size bytes, max_file) for the monitor; (0, 1) = never rotate (driver "none")."""
    if log_config.get("Type") not in ("json-file", "local"):
        return 0, 1
    opts = dict(log_config.get("Config") or {})
    if "max-size" not in opts and "max-file" not in opts:
        opts = {"max-size": DEFAULT_MAX_SIZE, "max-file": DEFAULT_MAX_FILE}
    size = 0
    if "max-size" in opts:
        size = from_human_size(str(opts["max-size"]))
        if size <= 0:
            raise InvalidArgument("max-size must be a positive number")
    files = 1
    if "max-file" in opts:
        files = _atoi(str(opts["max-file"]))
        if files < 1:
            raise InvalidArgument("max-file cannot be less than 1")
        if files > 1 and size <= 0:
            raise InvalidArgument("max-file can only be used in conjunction with max-size")
    return size, files
