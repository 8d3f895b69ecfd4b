"""`tug build`: the docker CLI's classic-builder client (DOCKER_BUILDKIT=0).

It does what docker's CLI does before the daemon sees anything: finds the Dockerfile
(``-f`` is relative to the current directory, may be outside the context, or ``-`` for
stdin), leaves what .dockerignore excludes out of the context tar (the Dockerfile and
.dockerignore always go, the daemon removes them if excluded), sends files as root-owned,
accepts a tar or a bare Dockerfile on stdin for a ``-`` context, then prints the daemon's
stream and exits with a failed RUN's exit code.
"""

from __future__ import annotations

import os
import sys

from tugboat.cli.context import Context
from tugboat.cli.flags import B, Flag, L, S, Spec, parse
from tugboat.client.errors import APIError, DaemonUnreachable

TYPE_CHECKING = False
if TYPE_CHECKING:
    import tarfile
    from typing import IO, Any


def human_size(size: float) -> str:
    """The context size as docker build prints it: go-units HumanSize (4 significant digits)."""
    from tugboat.cli import humanize
    return humanize.human_size(size, 4)


def _root_owned(ti: tarfile.TarInfo) -> tarfile.TarInfo:
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


class _NoPatterns:
    """No .dockerignore: nothing excluded (without importing the matcher)."""

    patterns: list[str] = []
    exclusions = False


def context_tar(context_dir: str, dockerfile_rel: str, extra: tuple[str, bytes] | None, out: IO[bytes]) -> None:
    """Write the context of ``context_dir`` to ``out`` (a tar), .dockerignore applied."""
    import tarfile

    pm: Any = _NoPatterns
    ignore = os.path.join(context_dir, ".dockerignore")
    if os.path.isfile(ignore):
        from tugboat.api.dockerignore import PatternMatcher, read_patterns
        with open(ignore, "rb") as f:
            patterns = read_patterns(f.read())
        pm = PatternMatcher(patterns + ["!.dockerignore", "!" + dockerfile_rel])
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.GNU_FORMAT) as tf:
        for dirpath, dirnames, filenames in os.walk(context_dir):
            rel_dir = os.path.relpath(dirpath, context_dir)
            dirnames.sort()
            keep_dirs = []
            for name in dirnames:
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                if pm.patterns and pm.matches(rel) and not pm.exclusions:
                    continue
                keep_dirs.append(name)
                full = os.path.join(dirpath, name)
                if os.path.islink(full) or not (pm.patterns and pm.matches(rel)):
                    tf.add(full, rel, recursive=False, filter=_root_owned)
            dirnames[:] = [d for d in keep_dirs if not os.path.islink(os.path.join(dirpath, d))]
            for name in sorted(filenames):
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                if pm.patterns and pm.matches(rel):
                    continue
                tf.add(os.path.join(dirpath, name), rel, recursive=False, filter=_root_owned)
        if extra is not None:
            import io
            ti = tarfile.TarInfo(extra[0])
            ti.size, ti.mode = len(extra[1]), 0o600
            tf.addfile(ti, io.BytesIO(extra[1]))
        end = tf.offset + 2 * tarfile.BLOCKSIZE
    out.truncate(end)   # no padding to tarfile's 10 KiB records: the size docker reports
    out.seek(end)


def _is_archive(head: bytes) -> bool:
    return (head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd"))
            or (len(head) > 262 and head[257:262] == b"ustar"))


def _build_args(values: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for v in values:
        k, eq, val = v.partition("=")
        out[k] = val if eq else os.environ.get(k)
    return out


def build(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] PATH | URL | -", "Build an image from a Dockerfile", [
        L("add-host", help="Add a custom host-to-IP mapping (host:ip)"),
        L("build-arg", help="Set build-time variables"),
        S("cgroup-parent", help="Optional parent cgroup for the container"),
        S("cpu-shares", "c", "CPU shares (relative weight)", metavar="int"),
        S("memory", "m", "Memory limit", metavar="bytes"),
        S("shm-size", help="Size of /dev/shm", metavar="bytes"),
        L("cache-from", help="Images to consider as cache sources", metavar="strings"),
        S("file", "f", "Name of the Dockerfile (Default is 'PATH/Dockerfile')"),
        B("force-rm", help="Always remove intermediate containers"),
        S("iidfile", help="Write the image ID to the file"),
        L("label", help="Set metadata for an image"),
        S("network", help="Set the networking mode for the RUN instructions during build", default="default"),
        B("no-cache", help="Do not use cache when building the image"),
        S("platform", help="Set platform if server is multi-platform capable"),
        B("pull", help="Always attempt to pull a newer version of the image"),
        B("quiet", "q", "Suppress the build output and print image ID on success"),
        Flag("rm", "", "bool", True, "Remove intermediate containers after a successful build"),
        L("tag", "t", "Name and optionally a tag in the 'name:tag' format"),
        S("target", help="Set the target build stage to build."),
    ], 1, 1)
    opts, args = parse(spec, argv)
    from tugboat.client import jsonlite as json
    target = args[0]
    dockerfile = opts["file"] or ""
    labels = {}
    for lbl in opts["label"]:
        k, _, v = lbl.partition("=")
        labels[k] = v
    params: dict[str, Any] = {
        "t": opts["tag"] or None, "buildargs": json.dumps(_build_args(opts["build_arg"])),
        "labels": json.dumps(labels), "target": opts["target"] or None,
        "nocache": opts["no_cache"] or None, "rm": bool(opts["rm"]),
        "forcerm": opts["force_rm"] or None, "pull": opts["pull"] or None, "q": opts["quiet"] or None,
        "networkmode": opts["network"] or None, "cachefrom": json.dumps(opts["cache_from"]),
        "platform": opts["platform"] or None, "extrahosts": opts["add_host"] or None,
        "cgroupparent": opts["cgroup_parent"] or None, "cpushares": opts["cpu_shares"] or None,
    }
    for flag, param in (("memory", "memory"), ("shm_size", "shmsize")):
        if opts[flag]:
            from tugboat.cli.commands.run import RunError, ram_in_bytes
            try:
                params[param] = ram_in_bytes(opts[flag])
            except RunError as e:
                ctx.eprint(f'invalid argument "{opts[flag]}" for "--{flag.replace("_", "-")}" flag: {e}')
                return 125
    body = _scratch_file()
    try:
        if target == "-":
            if dockerfile == "-":
                ctx.eprint("invalid argument: can't use stdin for both build context and dockerfile")
                return 1
            data = sys.stdin.buffer.read()
            if _is_archive(data[:512]):
                body.write(data)
                params["dockerfile"] = dockerfile or None
            else:
                context_tar_of_dockerfile(data, body)
        elif "://" in target or target.startswith("git@"):
            params["remote"] = target
        else:
            if not os.path.isdir(target):
                ctx.eprint(f'unable to prepare context: path "{target}" not found')
                return 1
            ctx_abs = os.path.abspath(target)
            extra = None
            if dockerfile == "-":
                rel = ".dockerfile." + os.urandom(10).hex()
                extra = (rel, sys.stdin.buffer.read())
            else:
                df_abs = os.path.abspath(dockerfile) if dockerfile else os.path.join(ctx_abs, "Dockerfile")
                if not os.path.exists(df_abs):
                    alt = os.path.join(os.path.dirname(df_abs), os.path.basename(df_abs).lower())
                    if os.path.exists(alt):
                        df_abs = alt
                    else:
                        ctx.eprint(f"unable to prepare context: Cannot locate specified Dockerfile: {df_abs}")
                        return 1
                rel = os.path.relpath(df_abs, ctx_abs)
                if rel.startswith(".." + os.sep):
                    with open(df_abs, "rb") as f:
                        extra = (".dockerfile." + os.urandom(10).hex(), f.read())
                    rel = extra[0]
            context_tar(ctx_abs, rel, extra, body)
            params["dockerfile"] = rel
        size = body.tell()
        body.seek(0)
        if not opts["quiet"] and "remote" not in params:
            ctx.out.write(f"Sending build context to Docker daemon  {human_size(size)}\n\n")
            ctx.out.flush()
        return _send(ctx, body, params, opts)
    finally:
        body.close()


def _scratch_file() -> IO[bytes]:
    """An anonymous temporary file for the context (O_TMPFILE: no ``tempfile`` import, which
    costs a cached rebuild's start-up more than the whole build on the daemon's side)."""
    tmp = os.environ.get("TMPDIR") or "/tmp"
    try:
        fd = os.open(tmp, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except (OSError, AttributeError):
        import tempfile
        return tempfile.TemporaryFile()
    return open(fd, "w+b")


def context_tar_of_dockerfile(data: bytes, out: IO[bytes]) -> None:
    import io
    import tarfile
    with tarfile.open(fileobj=out, mode="w|") as tf:
        ti = tarfile.TarInfo("Dockerfile")
        ti.size, ti.mode = len(data), 0o600
        tf.addfile(ti, io.BytesIO(data))


def _send(ctx: Context, body: IO[bytes], params: dict[str, Any], opts: dict[str, Any]) -> int:
    from tugboat.client.transport import chunks_of
    try:
        resp = ctx.client.images.build(chunks_of(body), params)
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    image_id = ""
    quiet_out = ""
    try:
        for m in resp.iter_json():
            if m.get("error") or m.get("errorDetail"):
                detail = m.get("errorDetail") or {}
                ctx.out.flush()
                ctx.eprint(m.get("error") or detail.get("message") or "unknown error")
                return int(detail.get("code") or 1)
            if isinstance(m.get("aux"), dict) and m["aux"].get("ID"):
                image_id = m["aux"]["ID"]
                continue
            if "stream" in m and opts["quiet"]:
                quiet_out += m["stream"]
            elif "stream" in m:
                ctx.out.write(m["stream"])
                ctx.out.flush()
            elif "status" in m and not opts["quiet"]:
                ctx.out.write((f"{m['id']}: " if m.get("id") else "") + m["status"] + "\n")
    except DaemonUnreachable as e:
        ctx.daemon_error(e)
        return 1
    if opts["quiet"]:   # as docker: what the daemon said is the ID (and goes to --iidfile too)
        image_id = quiet_out
        ctx.out.write(quiet_out)
    if opts["iidfile"] and image_id:
        with open(opts["iidfile"], "w") as f:
            f.write(image_id)
    return 0


def prune(ctx: Context, argv: list[str], path: str) -> int:
    """`builder prune`: the classic builder keeps its cache as intermediate images, so the
    daemon reports nothing to reclaim (as dockerd does without BuildKit)."""
    spec = Spec(path, f"docker {path}", "Remove build cache", [
        B("all", "a", "Remove all unused build cache, not just dangling ones"),
        L("filter", help="Provide filter values (e.g. 'until=24h')", metavar="filter"),
        B("force", "f", "Do not prompt for confirmation"),
        S("keep-storage", help="Amount of disk space to keep for cache", metavar="bytes"),
    ], 0, 0)
    opts, _ = parse(spec, argv)
    from tugboat.cli import prune as pr
    warning = f"WARNING! This will remove all {'' if opts['all'] else 'dangling '}build cache."
    if not opts["force"] and not pr.confirmed(ctx.out, f"{warning} {pr.CONTINUE}"):
        return 0
    from tugboat.cli.filters import parse_filters
    try:
        report = ctx.client.images.build_prune(opts["all"], parse_filters(opts["filter"]))
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    pr.print_report(ctx, "build cache objects", report.get("CachesDeleted") or [],
                    report.get("SpaceReclaimed") or 0)
    return 0
