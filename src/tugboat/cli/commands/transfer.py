"""`tug commit` and `tug cp`: moving a container's files into images and out to the host.

cp follows docker/cli cli/command/container/cp.go: the daemon is asked to stat, tar or untar
one path, and the copy rules (see ``tugboat.cli.cpcopy``) are applied here, so `docker cp`
and `tug cp` behave the same against either engine.
"""

from __future__ import annotations

import os
import sys
import tempfile

from tugboat.cli.context import Context
from tugboat.cli.cpcopy import (
    CopyError,
    CopyInfo,
    copy_info_destination,
    copy_info_source,
    prepare_archive_copy,
    rebase_name,
    split_path_dir_entry,
    tar_source,
    untar,
)
from tugboat.cli.flags import B, L, S, Spec, parse
from tugboat.client.errors import APIError, DaemonUnreachable

MODE_DIR = 1 << 31
MODE_SYMLINK = 1 << 27
_MODE_TYPE = (1 << 31) | (1 << 27) | (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19)


def _split_ref(ref: str) -> tuple[str | None, str | None]:
    """REPOSITORY[:TAG] -> (repo, tag); a digest is refused as the client library does."""
    if not ref:
        return None, None
    if "@" in ref:
        raise ValueError("refusing to create a tag with a digest reference")
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1:]
    return ref, None


def commit(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
                "Create a new image from a container's changes", [
                    S("author", "a", 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'),
                    L("change", "c", "Apply Dockerfile instruction to the created image"),
                    S("message", "m", "Commit message"),
                    B("pause", "p", "Pause container during commit (default true)"),
                ], 1, 2)
    pause_given = any(a in ("-p", "--pause") or a.startswith(("--pause=", "-p=")) for a in argv)
    opts, args = parse(spec, argv)
    pause = bool(opts["pause"]) if pause_given else True
    try:
        repo, tag = _split_ref(args[1] if len(args) > 1 else "")
    except ValueError as e:
        ctx.eprint(str(e))
        return 1
    try:
        res = ctx.client.archive.commit(args[0], repo=repo, tag=tag, comment=opts["message"] or "",
                                        author=opts["author"] or "", changes=opts["change"] or [],
                                        pause=pause)
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    ctx.print(res.get("Id", ""))
    return 0


def _split_cp_arg(arg: str) -> tuple[str, str]:
    """splitCpArg: an absolute path (or one without ":") is local; else CONTAINER:PATH."""
    if arg.startswith("/") or ":" not in arg:
        return "", arg
    c, _, p = arg.partition(":")
    if c.startswith("."):   # an explicit local relative path like ./file:name.txt
        return "", arg
    return c, p


def _abs_local(p: str) -> str:
    """resolveLocalPath: filepath.Abs keeping a trailing "/" or "/."."""
    a = os.path.abspath(p)
    if p.endswith("/.") or p == ".":
        return a.rstrip("/") + "/." if a != "/" else "/."
    if p.endswith("/") and not a.endswith("/"):
        return a + "/"
    return a


def cp(ctx: Context, argv: list[str], path: str) -> int:
    from tugboat.cli.flags import PROG
    spec = Spec(path, f"docker {path} [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\t{PROG} {path} [OPTIONS] "
                "SRC_PATH|- CONTAINER:DEST_PATH", "Copy files/folders between a container and the local filesystem", [
                    B("archive", "a", "Archive mode (copy all uid/gid information)"),
                    B("follow-link", "L", "Always follow symbol link in SRC_PATH"),
                    B("quiet", "q", "Suppress progress output during copy"),
                ], 2, 2)
    opts, args = parse(spec, argv)
    src_c, src_p = _split_cp_arg(args[0])
    dst_c, dst_p = _split_cp_arg(args[1])
    try:
        if src_c and dst_c:
            raise CopyError("copying between containers is not supported")
        if not src_c and not dst_c:
            raise CopyError("must specify at least one container source")
        if not src_p or not dst_p:
            raise CopyError("filesystem path cannot be empty")
        if src_c:
            return _from_container(ctx, src_c, src_p, dst_p, bool(opts["follow_link"]))
        return _to_container(ctx, src_p, dst_c, dst_p, bool(opts["follow_link"]), bool(opts["archive"]))
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
    except CopyError as e:
        ctx.eprint(str(e))
    except OSError as e:
        ctx.eprint(f"{e.strerror or e}: {e.filename}" if e.filename else str(e))
    return 1


def _validate_output(dst: str) -> None:
    d = os.path.dirname(os.path.normpath(dst))
    if d and d != "." and not os.path.exists(d):
        raise CopyError(f'invalid output path: directory "{d}" does not exist')


def _from_container(ctx: Context, container: str, src: str, dst: str, follow: bool) -> int:
    if dst != "-":
        dst = _abs_local(dst)
        _validate_output(dst)
    archive = ctx.client.archive
    rebase = ""
    if follow:
        try:
            st = archive.stat(container, src)
        except APIError:
            st = {}
        if st and st.get("mode", 0) & MODE_SYMLINK:
            target = st.get("linkTarget", "")
            if not target.startswith("/"):
                target = os.path.join(split_path_dir_entry(src)[0], target)
            src, rebase = rebase_name(src, target)
    stat_, resp = archive.get(container, src)
    try:
        if dst == "-":
            out = sys.stdout.buffer
            for chunk in resp.iter_chunks():
                out.write(chunk)
            out.flush()
            return 0
        src_info = CopyInfo(src, True, bool(stat_.get("mode", 0) & MODE_DIR), rebase)
        old = new = None
        if rebase:
            old, new = split_path_dir_entry(src)[1], rebase
        dst_info = copy_info_destination(dst)
        dst_dir, old2, new2 = prepare_archive_copy(src_info, dst_info)
        if old2 is not None:   # the follow-link rebase and then the copy rule, composed
            old, new = (old if old is not None else old2), new2
        untar(_RawReader(resp.iter_chunks()), dst_dir, old, new)  # type: ignore[arg-type]
    finally:
        resp.close()
    return 0


def _to_container(ctx: Context, src: str, container: str, dst: str, follow: bool, copy_uid_gid: bool) -> int:
    archive = ctx.client.archive
    dst_info = CopyInfo(dst)
    # like docker/cli, a failed stat only means "assume the parent exists": the PUT reports problems
    st: dict | None
    try:
        st = archive.stat(container, dst)
    except APIError:
        st = None
    if st is not None and st.get("mode", 0) & MODE_SYMLINK:
        target = st.get("linkTarget", "")
        if not target.startswith("/"):
            target = os.path.join(split_path_dir_entry(dst)[0], target)
        dst_info.path = target
        try:
            st = archive.stat(container, target)
        except APIError:
            st = None
    if st is not None:
        mode = st.get("mode", 0)
        if mode & _MODE_TYPE and not mode & MODE_DIR:
            raise CopyError(f'destination "{container}:{dst}" must be a directory or a regular file')
        dst_info.exists, dst_info.is_dir = True, bool(mode & MODE_DIR)
    if src == "-":
        if not dst_info.is_dir:
            raise CopyError(f'destination "{container}:{dst}" must be a directory')
        from tugboat.client.transport import chunks_of
        archive.put(container, dst_info.path, chunks_of(sys.stdin.buffer), copy_uid_gid=copy_uid_gid)
        return 0
    src_info = copy_info_source(_abs_local(src), follow)
    dst_dir, old, new = prepare_archive_copy(src_info, dst_info)
    with tempfile.TemporaryFile() as tmp:
        tar_source(src_info, tmp, old, new)
        tmp.seek(0)
        from tugboat.client.transport import chunks_of
        archive.put(container, dst_dir, chunks_of(tmp), copy_uid_gid=copy_uid_gid)
    return 0


class _RawReader:
    """A read() view of an iterator of chunks, for tarfile's stream mode."""

    def __init__(self, chunks: object) -> None:
        self._it = iter(chunks)  # type: ignore[call-overload]
        self._buf = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            try:
                self._buf += next(self._it)
            except StopIteration:
                break
        if n < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out
