"""run/create flags for mounts: `-v` and `--mount`, as docker's CLI turns them into the request.

`-v /ctr` (no source) is an anonymous volume: Config.Volumes, not HostConfig.Binds; every other
`-v` is a bind string.  `--mount type=...,src=...,dst=...` values are parsed as opts/mount.go
does (CSV fields, defaults to type=volume) into HostConfig.Mounts; a malformed value is a usage
error with docker's text.
"""

from __future__ import annotations

from typing import Any

from tugboat.cli.flags import Spec, UsageError


class MountOptError(ValueError):
    pass


def _bool(key: str, value: str | None) -> bool:
    if value is None:
        return True
    low = value.lower()
    if low in ("1", "t", "true"):
        return True
    if low in ("0", "f", "false"):
        return False
    raise MountOptError(f"invalid value for {key}: {value}")


def parse_mount(value: str, ram_in_bytes: Any) -> dict[str, Any]:
    """One `--mount type=...,src=...,dst=...` value; ``ram_in_bytes`` parses tmpfs-size."""
    import csv

    fields = next(csv.reader([value]), [])
    m: dict[str, Any] = {"Type": "volume"}
    volume: dict[str, Any] = {}
    bind: dict[str, Any] = {}
    tmpfs: dict[str, Any] = {}
    for field in fields:
        key, eq, val = field.partition("=")
        key = key.strip().lower()
        if not eq and key not in ("readonly", "ro", "volume-nocopy", "bind-nonrecursive"):
            raise MountOptError(f"invalid field '{field}' must be a key=value pair")
        arg = val if eq else None
        if key == "type":
            m["Type"] = val
        elif key in ("source", "src"):
            m["Source"] = val
        elif key in ("target", "dst", "destination"):
            m["Target"] = val
        elif key in ("readonly", "ro"):
            m["ReadOnly"] = _bool(key, arg)
        elif key == "consistency":
            m["Consistency"] = val
        elif key == "bind-propagation":
            bind["Propagation"] = val
        elif key == "bind-nonrecursive":
            bind["NonRecursive"] = _bool(key, arg)
        elif key == "volume-nocopy":
            volume["NoCopy"] = _bool(key, arg)
        elif key == "volume-label":
            k, _, v = val.partition("=")
            volume.setdefault("Labels", {})[k] = v
        elif key == "volume-driver":
            volume.setdefault("DriverConfig", {})["Name"] = val
        elif key == "volume-opt":
            k, _, v = val.partition("=")
            volume.setdefault("DriverConfig", {}).setdefault("Options", {})[k] = v
        elif key == "tmpfs-size":
            try:
                tmpfs["SizeBytes"] = ram_in_bytes(val)
            except Exception:   # run.py's RunError: the size does not parse
                raise MountOptError(f"invalid value for {key}: {val}") from None
        elif key == "tmpfs-mode":
            try:
                tmpfs["Mode"] = int(val, 8)
            except ValueError:
                raise MountOptError(f"invalid value for {key}: {val}") from None
        else:
            raise MountOptError(f"unexpected key '{key}' in '{field}'")
    if not m.get("Target"):
        raise MountOptError("target is required")
    for opts, name, prefix in ((volume, "VolumeOptions", "volume"), (bind, "BindOptions", "bind"),
                               (tmpfs, "TmpfsOptions", "tmpfs")):
        if not opts:
            continue
        if m["Type"] != prefix:
            raise MountOptError(f"cannot mix '{prefix}-*' options with mount type '{m['Type']}'")
        m[name] = opts
    return m


def check_flags(opts: dict[str, Any], spec: Spec, ram_in_bytes: Any) -> None:
    """--mount values docker's CLI rejects while parsing (usage error, status 125)."""
    for value in opts["mount"]:
        try:
            parse_mount(value, ram_in_bytes)
        except MountOptError as e:
            raise UsageError(f'invalid argument "{value}" for "--mount" flag: {e}', spec) from None


def apply(opts: dict[str, Any], config: dict[str, Any], host: dict[str, Any], ram_in_bytes: Any) -> None:
    binds = [v for v in opts["volume"] if ":" in v]
    for v in opts["volume"]:
        if ":" not in v:
            config.setdefault("Volumes", {})[v] = {}
    host["Binds"] = binds or None
    if opts["mount"]:
        host["Mounts"] = [parse_mount(v, ram_in_bytes) for v in opts["mount"]]
