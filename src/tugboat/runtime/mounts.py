"""Mount and unmount a container's root filesystem with mount(2).

The storage layer says *what* to mount (store.layers.Mount: type, source,
options); this module is the only place that does it.  mount(2) through ctypes
costs microseconds where spawning mount(8) costs milliseconds per container.
One exception: overlay options longer than a page (many layers) do not fit in
mount(2)'s data argument; then mount(8) runs with its working directory at the
layers' common parent so that the lowerdir paths can be given relative to it
(what dockerd's overlay2 does with its short "l/" links, without a chdir in
this multi-threaded process).
"""

from __future__ import annotations

import ctypes
import errno
import os
import subprocess
from pathlib import Path
from typing import Any

from tugboat.errors import TugboatError

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

_FLAGS = {"ro": MS_RDONLY, "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC,
          "noatime": MS_NOATIME, "bind": MS_BIND, "rbind": MS_BIND | MS_REC}
_IGNORED = {"rw", "suid", "dev", "exec", "defaults"}
_PAGE = os.sysconf("SC_PAGE_SIZE")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def _b(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def sys_mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    if _libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {fstype or 'bind'} {source} on {target}: {os.strerror(err)}")


def sys_umount(target: str, flags: int = 0) -> None:
    if _libc.umount2(_b(target), flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"umount {target}: {os.strerror(err)}")


def _split_options(options: list[str]) -> tuple[int, list[str]]:
    flags, data = 0, []
    for o in options:
        if o in _FLAGS:
            flags |= _FLAGS[o]
        elif o not in _IGNORED:
            data.append(o)
    return flags, data


def _mount_overlay_long(source: str, target: str, data: list[str]) -> None:
    """mount(8) with paths relative to the common parent of all layer dirs."""
    dirs: list[str] = []
    for o in data:
        k, _, v = o.partition("=")
        if k in ("lowerdir", "upperdir", "workdir"):
            dirs += v.split(":")
    base = os.path.commonpath(dirs) if dirs else "/"
    if base in dirs:
        base = os.path.dirname(base)
    rel = []
    for o in data:
        k, _, v = o.partition("=")
        if k in ("lowerdir", "upperdir", "workdir"):
            o = k + "=" + ":".join(os.path.relpath(d, base) for d in v.split(":"))
        rel.append(o)
    opts = ",".join(rel)
    if len(opts) >= _PAGE:
        raise TugboatError(f"overlay mount options too long ({len(opts)} bytes) for {target}")
    proc = subprocess.run(["mount", "-t", "overlay", source, "-o", opts, target], cwd=base,
                          capture_output=True, check=False)
    if proc.returncode != 0:
        raise OSError(errno.EINVAL, proc.stderr.decode(errors="replace").strip())


def mount_one(m: Any, target: Path) -> None:
    """Mount one store.layers.Mount (duck-typed: .type .source .options) on target."""
    flags, data = _split_options(list(m.options or []))
    tgt = str(target)
    if m.type == "bind" or flags & MS_BIND:
        sys_mount(m.source, tgt, None, MS_BIND | MS_REC, None)
        if flags & ~(MS_BIND | MS_REC):
            sys_mount("", tgt, None, MS_REMOUNT | MS_BIND | (flags & ~(MS_BIND | MS_REC)), None)
        return
    opts = ",".join(data)
    if m.type == "overlay" and len(opts) >= _PAGE:
        _mount_overlay_long(m.source, tgt, data)
        return
    sys_mount(m.source, tgt, m.type, flags, opts or None)


def mountpoints() -> set[str]:
    out = set()
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split(" ", 5)[4]
                out.add(mp.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")
                        .replace("\\134", "\\"))
    except OSError:
        pass
    return out


def is_mounted(target: Path) -> bool:
    return str(target) in mountpoints()


def mount_rootfs(mounts: list[Any], target: Path) -> None:
    """Mount ``mounts`` in order on ``target``; on failure undo what was done."""
    target.mkdir(parents=True, exist_ok=True)
    try:
        for m in mounts:
            mount_one(m, target)
    except OSError as e:
        unmount(target)
        raise TugboatError(f"error mounting container rootfs: {e.strerror or e}") from e


def unmount(target: Path) -> None:
    """Unmount everything stacked on ``target`` (idempotent); lazily if busy."""
    tgt = str(target)
    for _ in range(64):
        if tgt not in mountpoints():
            return
        try:
            sys_umount(tgt)
        except OSError as e:
            if e.errno == errno.EINVAL:
                return
            if e.errno == errno.ENOENT:
                return
            try:
                sys_umount(tgt, MNT_DETACH)
            except OSError as e2:
                raise TugboatError(f"error unmounting {tgt}: {e2.strerror}") from e2
    raise TugboatError(f"error unmounting {tgt}: still mounted")


def mount_filesystem(fstype: str, device: str, options: str, target: Path) -> None:
    """A local volume's driver-option mount (``mount -t TYPE -o O DEVICE TARGET``): tmpfs,
    ``type=none o=bind device=/path``, or any filesystem the kernel mounts from ``device``."""
    from types import SimpleNamespace

    opts = [o for o in options.split(",") if o]
    try:
        mount_one(SimpleNamespace(type=fstype, source=device, options=opts), target)
    except OSError as e:
        raise TugboatError(f"error while mounting volume '{target}': failed to mount local volume: "
                           f"mount {device}:{target}, data: {options}: {e.strerror or e}") from e
