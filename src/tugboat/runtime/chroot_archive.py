"""docker cp's stat, tar and untar, each run in a child process chrooted into a container's root.

Why a chroot (moby's pkg/chrootarchive does the same): resolving symlinks in Python and then
handing host paths to the kernel leaves a race — a process in a *running* container can swap a
checked directory for ``-> /`` between the check and the use, and the host kernel would follow
it to the host's root.  Inside a chroot the kernel itself resolves every path within the rootfs,
so no race can lead out of it.  The rules applied in there are store/rootfs_archive.py's; this
module only puts them behind the chroot, which is why it is in the runtime, the layer that talks
to the kernel.

The engine calls ``stat``, ``tar`` and ``untar`` with a root: a mounted rootfs directory, or
``running_root(cid, pid)`` for a running container's own view of itself.  Each spawns
``python -m tugboat.runtime.chroot_archive ROOT OP JSON-ARGS`` (OP ``stat`` prints the stat JSON,
``tar`` writes a tar on stdout, ``untar`` reads one on stdin); the child reports failures as
``{"kind": ..., "message": ...}`` on stderr and exits 1, and they are raised again here as the
same tugboat error.  In the child everything is imported *before* ``chroot``, and user/group
names are not looked up (glibc's NSS would load libraries from the container: CVE-2019-14271).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from tugboat.errors import InvalidArgument, NotFound, TugboatError
from tugboat.runtime import users
from tugboat.store import rootfs_archive, tarstream
from tugboat.store.idmap import IdMap

_ERRORS: dict[str, type[TugboatError]] = {"notfound": NotFound, "invalid": InvalidArgument}


def running_root(cid: str, pid: int) -> str:
    """The root of running container ``cid`` as its own mount namespace sees it (its volumes and
    /etc/hosts, hostname, resolv.conf included, as dockerd mounts them for cp); ``pid`` is its
    init process, checked to still belong to the container when the child enters it."""
    return f"{cid}@/proc/{int(pid)}/root"


def stat(root: str, ref: str, path: str) -> dict[str, Any]:
    """rootfs_archive.stat_path of ``path`` inside ``root``: {"stat", "resolved", "abs"}, with
    "resolved" a path inside the container."""
    proc = _spawn(root, "stat", {"ref": ref, "path": path})
    out, err = proc.communicate(timeout=120)
    if proc.returncode != 0:
        raise _child_error(proc, err)
    return dict(json.loads(out))


def tar(root: str, source_dir: str, source_base: str, rebase: str, idmap: IdMap | None = None) -> Iterator[bytes]:
    """rootfs_archive.tar_rebased inside ``root``, streamed; a failure cuts the stream (the API
    sends it as a binary body, so there is no way to report it in-band)."""
    proc = _spawn(root, "tar", {"dir": source_dir, "base": source_base, "rebase": rebase,
                                "idmap": idmap.oci() if idmap else None})
    assert proc.stdout is not None and proc.stderr is not None
    try:
        while True:
            chunk = os.read(proc.stdout.fileno(), 1 << 16)
            if not chunk:
                break
            yield chunk
        err = proc.stderr.read()
        if proc.wait() != 0:
            raise _child_error(proc, err)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def untar(root: str, stream: BinaryIO, dest: str, no_overwrite: bool, user: str | None,
          idmap: IdMap | None = None) -> None:
    """rootfs_archive.extract of ``stream`` into the container directory ``dest`` inside ``root``;
    with ``user`` (Config.User) the files are owned by that user as resolved in the container;
    ``idmap`` (userns-remap) shifts the owners to host ids."""
    proc = _spawn(root, "untar", {"dest": dest, "no_overwrite": no_overwrite, "user": user,
                                  "idmap": idmap.oci() if idmap else None},
                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stderr is not None
    try:
        while True:
            chunk = stream.read(1 << 16)
            if not chunk:
                break
            proc.stdin.write(chunk)
    except BrokenPipeError:
        pass   # the child gave up: its error follows
    finally:
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
    err = proc.stderr.read()
    proc.stderr.close()
    if proc.wait() != 0:
        raise _child_error(proc, err)


def _spawn(root: str, op: str, args: dict[str, Any], stdin: int = subprocess.DEVNULL,
           stdout: int = subprocess.PIPE) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tugboat.runtime.chroot_archive", root, op, json.dumps(args)],
                            stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, close_fds=True)


def _child_error(proc: subprocess.Popen[bytes], stderr: bytes) -> TugboatError:
    try:
        info = json.loads(stderr.decode(errors="replace").strip().splitlines()[-1])
        return _ERRORS.get(info.get("kind"), TugboatError)(str(info.get("message")))
    except (ValueError, IndexError, AttributeError):
        return TugboatError(f"archive helper failed (exit {proc.returncode}): {stderr[-400:]!r}")


# The child: everything below runs in ``python -m tugboat.runtime.chroot_archive``.

def _no_name(_id: int) -> str:
    return ""


def _in_container(pid: str, cid: str) -> bool:
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            return cid in f.read()
    except OSError:
        return False


def _enter(root: str) -> None:
    """chroot into root.  For a running_root the pid is checked to be in the container's cgroup
    before and after the directory is opened, so a pid reused by a host process is never entered."""
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


def _run(root: str, op: str, args: dict[str, Any]) -> None:
    tarstream._user_name = _no_name   # type: ignore[assignment]  # no NSS inside the chroot
    tarstream._group_name = _no_name  # type: ignore[assignment]
    idmap = IdMap.from_oci(*args["idmap"]) if args.get("idmap") else None
    _enter(root)
    if op == "stat":
        print(json.dumps(rootfs_archive.stat_path("/", args["ref"], args["path"])))
    elif op == "tar":
        out = sys.stdout.buffer
        for chunk in rootfs_archive.tar_rebased(args["dir"], args["base"], args["rebase"], idmap):
            out.write(chunk)
        out.flush()
    elif op == "untar":
        chown = None
        if args.get("user") is not None:
            u = users.resolve_user(Path("/"), args["user"])
            chown = (u.uid, u.gid)
        dest = rootfs_archive.host_path("/", args["dest"])
        rootfs_archive.extract(sys.stdin.buffer, dest, bool(args.get("no_overwrite")), chown, idmap)
    else:
        raise InvalidArgument(f"unknown archive operation {op}")


def main() -> int:
    root, op, raw = sys.argv[1], sys.argv[2], sys.argv[3]
    try:
        _run(root, op, json.loads(raw))
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
