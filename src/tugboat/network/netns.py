"""Network namespaces pinned as files, as `ip netns add` does but at any path.

A container's sandbox is created by tugd before runc starts the container, which joins it by path
(``{"type": "network", "path": ...}`` in the OCI spec). Pinning is a bind mount of the namespace's
nsfs file onto an empty file, so the namespace lives exactly as long as that mount (or a process
in it). Namespaces are per thread: ``create`` unshares in a short-lived thread of its own and
``entered`` switches only the calling thread, so the rest of the daemon never changes namespace.

The directory of the pin files is made a shared mount of itself (as iproute2 does for
/run/netns): a mount namespace copied from the host while a pin exists (a runc container before
its pivot_root, a systemd service with private mounts) receives the unmount of ``remove`` too, so
no copy keeps a removed namespace alive.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
USER_PIN_SUFFIX = ".user"   # userns-remap: the namespace's owning user namespace, pinned next to it
MS_BIND = 0x1000
MS_REC = 0x4000
MS_SHARED = 1 << 20
MNT_DETACH = 2
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_IFREQ = "16sH22x"  # struct ifreq: name, then ifr_flags in a 24-byte union

_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str, path: object = None) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", None if path is None else str(path))


def _mount(source: str, target: Path, flags: int) -> None:
    _check(_libc.mount(source.encode(), str(target).encode(), b"none", ctypes.c_ulong(flags), None),
           "mount", target)


def _setns(fd: int) -> None:
    _check(_libc.setns(fd, CLONE_NEWNET), "setns")


def _in_thread(fn: Callable[[], None]) -> None:
    """Run ``fn`` in a new thread (which may change its namespaces and then dies); re-raise its error."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            failure.append(e)

    t = threading.Thread(target=run, name="netns-create", daemon=True)
    t.start()
    t.join()
    if failure:
        raise failure[0]


def _make_shared(directory: Path) -> None:
    """Make ``directory`` a shared mount point (a bind mount of itself if it is none yet)."""
    try:
        _mount("", directory, MS_SHARED | MS_REC)
    except OSError as e:
        if e.errno != errno.EINVAL:
            raise
        _mount(str(directory), directory, MS_BIND | MS_REC)
        _mount("", directory, MS_SHARED | MS_REC)


def loopback_up() -> None:
    """Bring ``lo`` up in the calling thread's network namespace (one ioctl, no netlink)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, struct.pack(_IFREQ, b"lo", 0))
        flags = struct.unpack(_IFREQ, req)[1]
        if not flags & IFF_UP:
            fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | IFF_UP))


def _disable_ipv6() -> None:
    """As in Docker's containers on networks without IPv6: no ::1 on lo, no link-local on eth0."""
    for conf in ("all", "default"):
        with contextlib.suppress(FileNotFoundError), open(f"/proc/sys/net/ipv6/conf/{conf}/disable_ipv6", "w") as f:
            f.write("1")


def exists(path: Path) -> bool:
    """True when a namespace is pinned at ``path`` (the file is a mount point of its own)."""
    try:
        return os.stat(path).st_dev != os.stat(Path(path).parent).st_dev
    except OSError:
        return False


def create(path: Path, id_maps: tuple[str, str] | None = None) -> None:
    """A new network namespace pinned at ``path``: ``lo`` up, IPv6 off. FileExistsError if one is pinned there.

    ``id_maps`` (uid_map, gid_map texts; userns-remap): the namespace belongs to a new user namespace
    with these mappings, pinned at ``<path>.user``, which the container then joins (runc mounts
    sysfs and writes net.* sysctls only in a network namespace its user namespace owns)."""
    path = Path(path)
    if exists(path):
        raise FileExistsError(errno.EEXIST, "network namespace already pinned", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    _make_shared(path.parent)
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o444))

    def pin() -> None:
        _check(_libc.unshare(CLONE_NEWNET), "unshare")
        _mount("/proc/thread-self/ns/net", path, MS_BIND)
        _disable_ipv6()
        loopback_up()

    def configure() -> None:
        with entered(path):
            _disable_ipv6()
            loopback_up()

    try:
        if id_maps is None:
            _in_thread(pin)
        else:
            _pin_in_new_userns(path, id_maps)
            _in_thread(configure)
    except BaseException:
        remove(path)
        raise


def _pin_in_new_userns(path: Path, id_maps: tuple[str, str]) -> None:
    """setns into a user namespace needs a single-threaded caller: a forked child unshares both
    namespaces and waits while the parent writes its id maps and pins them."""
    user_pin = Path(str(path) + USER_PIN_SUFFIX)
    os.close(os.open(user_pin, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o444))
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: only async-signal-safe work until _exit
        try:
            os.close(go_w)
            ok = _libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0
            os.write(ready_w, b"1" if ok else b"0")
            os.read(go_r, 1)
        finally:
            os._exit(0)
    os.close(ready_w)
    os.close(go_r)
    try:
        if os.read(ready_r, 1) != b"1":
            raise OSError(errno.EPERM, "unshare of a user and network namespace failed")
        for name, text in (("uid_map", id_maps[0]), ("gid_map", id_maps[1])):
            with open(f"/proc/{pid}/{name}", "w") as f:
                f.write(text)
        _mount(f"/proc/{pid}/ns/user", user_pin, MS_BIND)
        _mount(f"/proc/{pid}/ns/net", path, MS_BIND)
    finally:
        os.close(go_w)
        os.close(ready_r)
        os.waitpid(pid, 0)


def remove(path: Path) -> None:
    """Unpin (lazy unmount) and delete the file; the namespace goes with its last process. Idempotent."""
    for pin in (Path(path), Path(str(path) + USER_PIN_SUFFIX)):
        for _ in range(8):  # pins may be stacked
            if _libc.umount2(str(pin).encode(), MNT_DETACH) != 0:
                break
        with contextlib.suppress(FileNotFoundError):
            pin.unlink()


@contextlib.contextmanager
def entered(path: Path) -> Iterator[None]:
    """The calling thread inside the namespace pinned at ``path``; back in its own one on exit.

    Sockets opened inside stay in that namespace after the block ends."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)
