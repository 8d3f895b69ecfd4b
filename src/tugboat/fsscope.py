"""Paths resolved inside a root directory as a chroot would (moby's FollowSymlinkInScope).

Layer unpacking, `docker cp`, the builder's COPY sources and user lookup in an image all take
paths that name things inside a container's filesystem, where symlinks may point anywhere
(``/etc -> /``, ``x -> ../../..``). One implementation, shared by the store, the runtime and
the engine, so the rule that a symlink never leads out of the root is written exactly once:
every component that is a symlink is replaced by its target, an absolute target restarts at
the root, and ``..`` stops at the root.
"""

import os
import stat

from tugboat.errors import InvalidArgument

MAX_SYMLINKS = 255


def resolve_in_scope(root: str | os.PathLike[str], path: str, follow_last: bool = True) -> list[str]:
    """The components of ``path`` under ``root`` with every symlink resolved inside ``root``.

    Missing components are kept as they are. With ``follow_last=False`` a symlink in the final
    component is left alone (lstat semantics). Raises InvalidArgument on a symlink loop.
    """
    parts = [p for p in path.split("/") if p not in ("", ".")]
    last = None
    if not follow_last and parts and parts[-1] != "..":
        last = parts.pop()
    out: list[str] = []
    todo = list(reversed(parts))
    hops = 0
    base = os.fspath(root)
    while todo:
        c = todo.pop()
        if c in ("", "."):
            continue
        if c == "..":
            if out:
                out.pop()
            continue
        host = os.path.join(base, *out, c)
        try:
            st = os.lstat(host)
        except (FileNotFoundError, NotADirectoryError):
            out.append(c)
            continue
        if stat.S_ISLNK(st.st_mode):
            hops += 1
            if hops > MAX_SYMLINKS:
                raise InvalidArgument(f"too many levels of symbolic links in {path}")
            target = os.readlink(host)
            if target.startswith("/"):
                out = []
            todo.extend(reversed(target.split("/")))
            continue
        out.append(c)
    if last is not None:
        out.append(last)
    return out
