"""Write a busybox root filesystem as an uncompressed tar, made from the host's busybox-static.

    python -m tugboat.tools.busybox_image [-o FILE] [--busybox /bin/busybox]

The tar is the single layer of the default ``busybox:latest`` image (see scripts/ensure-busybox.sh,
which pipes it into ``tug import``). It imitates Docker Hub's ``busybox`` image:

- ``/bin/busybox`` plus one hard link per applet of ``busybox --list-full``, all of them in ``/bin``
  as in the official image (so ``/bin/sh``, ``/bin/ls``, ``/bin/env``; there is no ``/usr/bin/env``),
  whatever directory the applet list names. ``linuxrc`` (an initrd init) is left out.
- ``/etc/passwd`` and ``/etc/group`` with the official image's accounts (root, daemon, ..., nobody).
- the directories ``/root`` (0700), ``/tmp`` (1777), ``/home``, ``/var``, ``/var/spool/mail``,
  ``/var/www``, ``/usr/sbin``, ``/dev``, ``/proc``, ``/sys``, ``/etc``.

Everything is owned by 0:0 (no user or group names in the headers) and has one fixed mtime, and the
entries come in a fixed order, so the same busybox binary always gives the same bytes and thus the
same layer digest (diff ID).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import BinaryIO

# 2000-01-01T00:00:00Z: any fixed value does; 0 upsets some tools.
DEFAULT_MTIME = 946684800

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""

GROUP = """\
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:daemon
operator:x:37:
utmp:x:43:
users:x:100:
staff:x:50:
nogroup:x:65534:
"""

# (path, mode) in the order written; parents before children.
DIRECTORIES: list[tuple[str, int]] = [
    ("bin", 0o755),
    ("dev", 0o755),
    ("etc", 0o755),
    ("home", 0o755),
    ("proc", 0o755),
    ("root", 0o700),
    ("sys", 0o755),
    ("tmp", 0o1777),
    ("usr", 0o755),
    ("usr/sbin", 0o755),
    ("var", 0o755),
    ("var/spool", 0o755),
    ("var/spool/mail", 0o755),
    ("var/www", 0o755),
]

SKIP_APPLETS = {"busybox", "linuxrc"}


def applet_names(busybox: str) -> list[str]:
    """The applets the binary provides (basenames), sorted, without busybox itself."""
    out = subprocess.run([busybox, "--list-full"], check=True, capture_output=True, text=True).stdout
    names = {line.strip().rsplit("/", 1)[-1] for line in out.splitlines() if line.strip()}
    return sorted(names - SKIP_APPLETS)


def _info(name: str, type_: bytes, mode: int, mtime: int, size: int = 0, linkname: str = "") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = type_
    ti.mode = mode
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    ti.mtime = mtime
    ti.size = size
    ti.linkname = linkname
    return ti


def write_rootfs(out: BinaryIO, busybox: str = "/bin/busybox", mtime: int = DEFAULT_MTIME) -> None:
    """Write the whole root filesystem tar to ``out``."""
    binary = Path(busybox).read_bytes()
    applets = applet_names(busybox)
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.USTAR_FORMAT) as tar:
        for path, mode in DIRECTORIES:
            tar.addfile(_info(path, tarfile.DIRTYPE, mode, mtime))
            if path == "bin":
                tar.addfile(_info("bin/busybox", tarfile.REGTYPE, 0o755, mtime, len(binary)),
                            io.BytesIO(binary))
                for name in applets:
                    tar.addfile(_info(f"bin/{name}", tarfile.LNKTYPE, 0o755, mtime, linkname="bin/busybox"))
            elif path == "etc":
                for fname, text in (("group", GROUP), ("passwd", PASSWD)):
                    data = text.encode()
                    tar.addfile(_info(f"etc/{fname}", tarfile.REGTYPE, 0o644, mtime, len(data)), io.BytesIO(data))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="busybox_image", description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("-o", "--output", help="file to write (default: standard output)")
    p.add_argument("--busybox", default=os.environ.get("TUGBOAT_BUSYBOX", "/bin/busybox"),
                   help="the static busybox binary to use (default /bin/busybox, from busybox-static)")
    p.add_argument("--mtime", type=int, default=int(os.environ.get("SOURCE_DATE_EPOCH", DEFAULT_MTIME)),
                   help="mtime of every entry (default $SOURCE_DATE_EPOCH or 2000-01-01)")
    ns = p.parse_args(argv)
    if not os.path.exists(ns.busybox):
        print(f"busybox_image: {ns.busybox} not found (install the Debian package busybox-static)", file=sys.stderr)
        return 1
    if ns.output and ns.output != "-":
        tmp = ns.output + ".tmp"
        with open(tmp, "wb") as f:
            write_rootfs(f, ns.busybox, ns.mtime)
        os.replace(tmp, ns.output)
    else:
        if sys.stdout.isatty():
            print("busybox_image: refusing to write a tar to a terminal (use -o FILE or a pipe)", file=sys.stderr)
            return 1
        try:
            write_rootfs(sys.stdout.buffer, ns.busybox, ns.mtime)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            # the reader went away (e.g. the import failed and said why); no traceback on top
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            print("busybox_image: output closed early", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
