"""One archive operation run in a child process chrooted into a container's rootfs.

Why a chroot (moby's pkg/chrootarchive does the same): resolving symlinks in Python and then
handing host paths to the kernel leaves a race — a process in a *running* container can swap a
checked directory for ``-> /`` between the check and the use, and the host kernel would follow
it to the host's root.  Inside a chroot the kernel itself resolves every path within the rootfs,
so no race can lead out of it.  Everything is imported *before* ``chroot``, and user/group names
are not looked up (glibc's NSS would load libraries from the container: CVE-2019-14271).

Usage (by container_archive only): ``python -m tugboat.engine.archive_chroot ROOT OP JSON-ARGS``
with OP ``stat`` (prints the stat JSON), ``tar`` (tar on stdout) or ``untar`` (tar on stdin).
Failures print ``{"kind": ..., "message": ...}`` on stderr and exit 1.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from tugboat.engine import archive_paths, container_archive
from tugboat.errors import InvalidArgument, NotFound, TugboatError
from tugboat.runtime import users
from tugboat.store import tarstream


def _no_name(_id: int) -> str:
    return ""


def _in_container(pid: str, cid: str) -> bool:
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            return cid in f.read()
    except OSError:
        return False


def enter(root: str) -> None:
    """chroot into root.  "<cid>@/proc/<pid>/root" is a running container's root as its own
    mount namespace sees it; the pid is checked to be in the container's cgroup before and
    after the directory is opened, so a pid reused by a host process is never entered."""
    cid, at, proc_root = root.partition("@")
    if not at:
        os.chroot(root)
        os.chdir("/")
        return
    pid = proc_root.split("/")[2]
    if not _in_container(pid, cid):
        raise TugboatError(f"container {cid} is not running")
    fd = os.open(proc_root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if not _in_container(pid, cid):
            raise TugboatError(f"container {cid} is not running")
        os.fchdir(fd)
    finally:
        os.close(fd)
    os.chroot(".")
    os.chdir("/")


def run(root: str, op: str, args: dict[str, Any]) -> None:
    tarstream._user_name = _no_name   # type: ignore[assignment]  # no NSS inside the chroot
    tarstream._group_name = _no_name  # type: ignore[assignment]
    enter(root)
    if op == "stat":
        print(json.dumps(container_archive.stat_path("/", args["ref"], args["path"])))
    elif op == "tar":
        out = sys.stdout.buffer
        for chunk in container_archive.tar_rebased(args["dir"], args["base"], args["rebase"]):
            out.write(chunk)
        out.flush()
    elif op == "untar":
        chown = None
        if args.get("user") is not None:
            u = users.resolve_user(__import__("pathlib").Path("/"), args["user"])
            chown = (u.uid, u.gid)
        dest = archive_paths.host_path("/", args["dest"])
        container_archive.extract(sys.stdin.buffer, dest, bool(args.get("no_overwrite")), chown)
    else:
        raise InvalidArgument(f"unknown archive operation {op}")


def main() -> int:
    root, op, raw = sys.argv[1], sys.argv[2], sys.argv[3]
    try:
        run(root, op, json.loads(raw))
    except TugboatError as e:
        kind = "notfound" if isinstance(e, NotFound) else "invalid" if isinstance(e, InvalidArgument) else "error"
        sys.stderr.write(json.dumps({"kind": kind, "message": e.message}))
        return 1
    except OSError as e:
        sys.stderr.write(json.dumps({"kind": "error", "message": str(e)}))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
