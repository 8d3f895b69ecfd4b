"""daemon.json ``userns-remap``: which host ids a remapped container's root and users get.

As moby's parseRemappedRoot and idtools.NewIdentityMapping (20.10): the value is ``default``
(the user and group ``dockremap``, created with subordinate ranges when missing), or
``user[:group]`` with names or numeric ids (which must exist in /etc/passwd and /etc/group).
The ranges are the user's entries in /etc/subuid and the group's in /etc/subgid, looked up by
name, stacked from container id 0 in file order.
"""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
from pathlib import Path

from tugboat.errors import InvalidArgument
from tugboat.store.idmap import IdMap

DEFAULT_SPECIFIER = "default"
DEFAULT_REMAP_USER = "dockremap"
SUBUID = Path("/etc/subuid")
SUBGID = Path("/etc/subgid")
RANGE_SIZE = 65536
FIRST_SUBORDINATE = 100000


def _numeric(text: str) -> int | None:
    try:
        value = int(text, 10)
    except ValueError:
        return None
    return value if -(1 << 31) <= value < (1 << 31) else None


def parse_remapped_root(spec: str) -> tuple[str, str]:
    """(user name, group name) of a ``userns-remap`` value, dockerd's messages on error."""
    parts = spec.split(":")
    if len(parts) > 2:
        raise InvalidArgument(f'Invalid user/group specification in --userns-remap: "{spec}"')
    username = groupname = ""
    uid = _numeric(parts[0])
    if uid is not None:
        try:
            username = pwd.getpwuid(uid).pw_name
        except KeyError:
            raise InvalidArgument(f"Uid {uid} has no entry in /etc/passwd: no such user") from None
        if len(parts) == 1:
            try:
                groupname = grp.getgrgid(uid).gr_name
            except KeyError:
                raise InvalidArgument(f"Gid {uid} has no entry in /etc/group: no such group") from None
    else:
        name = DEFAULT_REMAP_USER if parts[0] == DEFAULT_SPECIFIER else parts[0]
        try:
            username = pwd.getpwnam(name).pw_name
        except KeyError:
            if parts[0] != DEFAULT_SPECIFIER:
                raise InvalidArgument(f'Error during uid lookup for "{name}": no such user') from None
            add_remap_user(DEFAULT_REMAP_USER)
            return DEFAULT_REMAP_USER, DEFAULT_REMAP_USER
        if len(parts) == 1:
            try:
                groupname = grp.getgrnam(name).gr_name
            except KeyError:
                raise InvalidArgument(f'Error during gid lookup for "{name}": no such group') from None
    if len(parts) == 2:
        gid = _numeric(parts[1])
        if gid is not None:
            try:
                groupname = grp.getgrgid(gid).gr_name
            except KeyError:
                raise InvalidArgument(f"Gid {gid} has no entry in /etc/passwd: no such group") from None
        else:
            try:
                grp.getgrnam(parts[1])
            except KeyError:
                raise InvalidArgument(f'Error during groupname lookup for "{parts[1]}": no such group') from None
            groupname = parts[1]
    return username, groupname


def subordinate_ranges(path: Path, name: str) -> list[tuple[int, int]]:
    """(start, size) of ``name``'s entries in /etc/subuid or /etc/subgid, in file order."""
    out: list[tuple[int, int]] = []
    try:
        text = path.read_text()
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        fields = line.strip().split(":")
        if len(fields) != 3 or fields[0] != name or line.lstrip().startswith("#"):
            continue
        try:
            start, size = int(fields[1]), int(fields[2])
        except ValueError:
            continue
        if start >= 0 and size > 0:
            out.append((start, size))
    return out


def identity_mapping(username: str, groupname: str) -> IdMap:
    uids = subordinate_ranges(SUBUID, username)
    if not uids:
        raise InvalidArgument(f'No subuid ranges found for user "{username}"')
    gids = subordinate_ranges(SUBGID, groupname)
    if not gids:
        raise InvalidArgument(f'No subgid ranges found for group "{groupname}"')
    return IdMap.from_subordinate(uids, gids)


def remap(spec: str) -> IdMap:
    """The id mapping a ``userns-remap`` value selects (the dockremap user created if needed)."""
    return identity_mapping(*parse_remapped_root(spec))


def next_free_start(taken: list[tuple[int, int]]) -> int:
    """The first 65536-id range from 100000 up that no existing entry overlaps (moby's
    findNextUIDRange)."""
    start = FIRST_SUBORDINATE
    for s, n in sorted(taken):
        if s + n <= start:
            continue
        if s >= start + RANGE_SIZE:
            break
        start = s + n
    return start


def _all_ranges(path: Path) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        fields = line.strip().split(":")
        if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
            out.append((int(fields[1]), int(fields[2])))
    return out


def add_remap_user(name: str) -> None:
    """moby's AddNamespaceRangesUser: a system user without login, then 65536 subordinate uids
    and gids starting at the first free id from 100000 (usermod -v/-w)."""
    try:
        subprocess.run(["useradd", "-r", "-s", "/bin/false", name], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", "") or str(e)
        raise InvalidArgument(f'Error during "{name}" user creation: {detail.strip()}') from None
    for path, flag in ((SUBUID, "--add-subuids"), (SUBGID, "--add-subgids")):
        if subordinate_ranges(path, name):
            continue
        start = next_free_start(_all_ranges(path))
        try:
            subprocess.run(["usermod", flag, f"{start}-{start + RANGE_SIZE - 1}", name], check=True,
                           capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as e:
            detail = getattr(e, "stderr", "") or str(e)
            raise InvalidArgument(f'Error during "{name}" user creation: {detail.strip()}') from None


def setup_remapped_root(data_root: Path, exec_root: Path, idmap: IdMap) -> Path:
    """moby's setupDaemonRoot with a remapped root: the data root becomes 0701 and the daemon's
    state moves to ``<data-root>/<uid>.<gid>`` (0710, group = the remapped root's gid, as its
    ``containers/``), so the container's root can reach its /etc/hosts and the like without
    seeing anything else; the exec root (bundles, the mounted root filesystems) becomes 0711."""
    uid, gid = idmap.root
    data_root.mkdir(parents=True, exist_ok=True)
    os.chmod(data_root, 0o701)
    root = data_root / f"{uid}.{gid}"
    for d in (root, root / "containers"):
        d.mkdir(exist_ok=True)
        os.chown(d, os.getuid(), gid)
        os.chmod(d, 0o710)
    for d in (exec_root, exec_root / "containers"):
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o711)
    for parent in data_root.parents:
        st = os.stat(parent)
        if not st.st_mode & 0o001:
            raise InvalidArgument(
                f"a subdirectory in your graphroot path ({root}) restricts access to the remapped root "
                "uid/gid; please fix by allowing 'o+x' permissions on existing directories")
    return root
