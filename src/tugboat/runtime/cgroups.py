"""Cgroup facts the runtime needs, for cgroup v1 (incl. hybrid) and v2 hosts.

runc creates and configures a container's cgroups (cgroupfs driver) from the
spec's ``linux.cgroupsPath``; what is left for us is: knowing the layout (to
decide which resource knobs exist, so that the spec never asks runc for a file
the kernel lacks), finding the container's dirs in every hierarchy, and removing
those dirs (and a private parent, in tests) when runc did not.
"""

from __future__ import annotations

import errno
import os
from functools import lru_cache
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def is_v2() -> bool:
    """A pure (unified) cgroup v2 host: cgroup.controllers sits at the root."""
    return (CGROUP_ROOT / "cgroup.controllers").exists()


def _unescape(s: str) -> str:
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


@lru_cache(maxsize=1)
def hierarchies() -> tuple[tuple[Path, frozenset[str]], ...]:
    """(mountpoint, controllers) of every cgroup hierarchy mounted in our namespace.

    v1 controllers come from the super options ("cpu", "memory", "name=systemd");
    a v2 mount lists the controllers enabled at its root (empty on a hybrid host).
    """
    out: list[tuple[Path, frozenset[str]]] = []
    seen: set[str] = set()
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return ()
    for line in lines:
        pre, sep, post = line.partition(" - ")
        if not sep:
            continue
        fields, post_fields = pre.split(), post.split()
        if len(fields) < 5 or len(post_fields) < 3:
            continue
        fstype, superopts = post_fields[0], post_fields[2]
        mnt = _unescape(fields[4])
        if fstype not in ("cgroup", "cgroup2") or mnt in seen:
            continue
        seen.add(mnt)
        if fstype == "cgroup2":
            try:
                ctrls = frozenset(Path(mnt, "cgroup.controllers").read_text().split())
            except OSError:
                ctrls = frozenset()
        else:
            known = {"rw", "ro", "relatime", "noatime", "nosuid", "nodev", "noexec", "clone_children",
                     "xattr", "noprefix"}
            ctrls = frozenset(o for o in superopts.split(",") if o not in known and "=" not in o
                              or o.startswith("name="))
        out.append((Path(mnt), ctrls))
    return tuple(out)


def controller_root(controller: str) -> Path | None:
    """Mountpoint of the hierarchy holding ``controller`` (v1) or the v2 root."""
    for mnt, ctrls in hierarchies():
        if controller in ctrls:
            return mnt
    if is_v2():
        return CGROUP_ROOT
    return None


def has_controller(controller: str) -> bool:
    if is_v2():
        try:
            return controller in (CGROUP_ROOT / "cgroup.controllers").read_text().split()
        except OSError:
            return False
    return any(controller in ctrls for _, ctrls in hierarchies())


def container_dirs(cgroups_path: str) -> list[Path]:
    """The dirs runc's cgroupfs driver makes for an absolute ``cgroups_path``."""
    rel = cgroups_path.strip("/")
    if not rel:
        return []
    if is_v2():
        return [CGROUP_ROOT / rel]
    return [mnt / rel for mnt, _ in hierarchies()]


def has_knob(controller: str, filename: str) -> bool:
    """Whether the kernel offers a resource file (e.g. memory.memsw.limit_in_bytes).

    On v2 the file appears only in child cgroups, so the controller's presence in
    the root's cgroup.controllers is what counts there.
    """
    if is_v2():
        try:
            ctrls = (CGROUP_ROOT / "cgroup.controllers").read_text().split()
        except OSError:
            return False
        if controller not in ctrls:
            return False
        if filename in ("memory.swap.max", "io.weight", "io.bfq.weight"):
            return _v2_child_has(filename)
        return True
    root = controller_root(controller)
    return root is not None and (root / filename).exists()


def _v2_child_has(filename: str) -> bool:
    """On v2, look for the file in any existing child cgroup (root lacks them)."""
    try:
        with os.scandir(CGROUP_ROOT) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False) and Path(entry.path, filename).exists():
                    return True
    except OSError:
        pass
    return False


def oom_files(cgroups_path: str) -> list[str]:
    """Files whose "oom_kill N" line tells whether the kernel OOM-killed in the cgroup."""
    rel = cgroups_path.strip("/")
    if is_v2():
        return [str(CGROUP_ROOT / rel / "memory.events")]
    root = controller_root("memory")
    return [str(root / rel / "memory.oom_control")] if root else []


def remove_tree(path: Path) -> bool:
    """rmdir ``path`` and its sub-cgroups bottom-up; True when it is gone.

    A cgroup with processes cannot be removed (EBUSY); it is left in place and
    False is returned, so that callers never hide a leaked process.
    """
    if not path.exists():
        return True
    ok = True
    try:
        with os.scandir(path) as it:
            children = [e.path for e in it if e.is_dir(follow_symlinks=False)]
    except OSError:
        children = []
    for child in children:
        ok = remove_tree(Path(child)) and ok
    try:
        os.rmdir(path)
    except OSError as e:
        if e.errno != errno.ENOENT:
            ok = False
    return ok


def remove(cgroups_path: str) -> list[Path]:
    """Remove a container's (or a parent's) dirs in every hierarchy; return leftovers."""
    return [d for d in container_dirs(cgroups_path) if not remove_tree(d)]
