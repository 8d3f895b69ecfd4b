"""Resolve Config.User against the container's own /etc/passwd and /etc/group.

Docker resolves names inside the image, not on the host, and its error messages
are what users match on; the rules below reproduce dockerd 20.10 (runc's
libcontainer/user.GetExecUser plus moby's getUser), checked against it:

- "" means uid 0 (its passwd entry, if any, gives gid and home);
- a numeric uid with no passwd entry is allowed (gid 0, home "/"); a name is not;
- "user:group" sets the primary gid and no supplementary groups;
- otherwise the supplementary groups are the primary gid followed by every group
  in /etc/group that lists the user's name as a member (file order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tugboat.errors import InvalidArgument
from tugboat.fsscope import resolve_in_scope

_MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class ResolvedUser:
    uid: int
    gid: int
    additional_gids: list[int] = field(default_factory=list)
    home: str = "/"


def _read_db(path: Path) -> list[list[str]] | None:
    """Parse a colon-separated database; None when the file does not exist."""
    try:
        data = path.read_text(errors="replace")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    rows = []
    for line in data.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        rows.append(line.split(":"))
    return rows


def _int(s: str) -> int | None:
    try:
        v = int(s)
    except ValueError:
        return None
    return v


def _in_rootfs(rootfs: Path, path: str) -> Path:
    """``path`` inside ``rootfs`` resolved as a chroot would (like securejoin): every component
    that is a symlink is replaced by its target, absolute targets restart at ``rootfs`` and ``..``
    stops at it, so a container's ``/etc -> /etc`` or ``/etc -> ../../..`` never makes tugd read
    the host's files."""
    return rootfs.joinpath(*resolve_in_scope(rootfs, path))


def resolve_user(rootfs: Path, spec: str, group_add: list[str] | None = None) -> ResolvedUser:
    """Resolve ``spec`` ("", "uid", "name", "uid:gid", "name:group") in ``rootfs``."""
    user_arg, _, group_arg = spec.partition(":")
    passwd = _read_db(_in_rootfs(rootfs, "/etc/passwd"))
    groups = _read_db(_in_rootfs(rootfs, "/etc/group"))

    uid, gid, home, name = 0, 0, "/", ""
    uid_num = _int(user_arg) if user_arg else 0
    entry = None
    for row in passwd or []:
        if len(row) < 7:
            row = row + [""] * (7 - len(row))
        ruid = _int(row[2])
        if ruid is None:
            continue
        if (uid_num is not None and ruid == uid_num) or (uid_num is None and row[0] == user_arg):
            entry = row
            break
    if entry is not None:
        name, uid, gid, home = entry[0], int(entry[2]), _int(entry[3]) or 0, entry[5] or "/"
    elif uid_num is None:
        raise InvalidArgument(f"unable to find user {user_arg}: no matching entries in passwd file")
    else:
        if not 0 <= uid_num <= _MAX_ID:
            raise InvalidArgument("uids and gids must be in range 0-2147483647")
        uid = uid_num

    sgids: list[int] = []
    if group_arg:
        gid_num = _int(group_arg)
        found = None
        for row in groups or []:
            if len(row) < 3:
                continue
            rgid = _int(row[2])
            if rgid is None:
                continue
            if (gid_num is not None and rgid == gid_num) or (gid_num is None and row[0] == group_arg):
                found = rgid
                break
        if found is None:
            if gid_num is None:
                raise InvalidArgument(
                    f"unable to find group {group_arg}: no matching entries in group file")
            if not 0 <= gid_num <= _MAX_ID:
                raise InvalidArgument("uids and gids must be in range 0-2147483647")
            found = gid_num
        gid = found
        sgids = [gid]
    else:
        sgids = [gid]
        if name:
            for row in groups or []:
                if len(row) < 4:
                    continue
                rgid = _int(row[2])
                members = [m.strip() for m in row[3].split(",")]
                if rgid is not None and name in members:
                    sgids.append(rgid)

    for extra in group_add or []:
        sgids.append(_resolve_group_add(extra, groups))
    ordered: list[int] = []
    for g in sgids:
        if g not in ordered:
            ordered.append(g)
    return ResolvedUser(uid=uid, gid=gid, additional_gids=ordered, home=home)


def _resolve_group_add(g: str, groups: list[list[str]] | None) -> int:
    """HostConfig.GroupAdd: a group name or a gid (which need not exist)."""
    for row in groups or []:
        if len(row) >= 3 and (row[0] == g or row[2] == g) and _int(row[2]) is not None:
            return int(row[2])
    num = _int(g)
    if num is None:
        raise InvalidArgument(f"Unable to find group {g}: no matching entries in group file")
    return num
