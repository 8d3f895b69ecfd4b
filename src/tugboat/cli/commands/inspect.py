"""`inspect`, `container inspect`, `image inspect`: raw daemon JSON re-indented like Go's
json.Indent (so key order and escapes are the daemon's), or a Go template per object."""

from __future__ import annotations

import json

from tugboat.cli.context import Context
from tugboat.cli.flags import B, S, Spec, parse
from tugboat.client.errors import APIError, DaemonUnreachable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from tugboat.cli.gotemplate import Template

FORMAT_HELP = "Format output using a custom template"


def indent_json(raw: str, indent: str = "    ") -> str:
    """Go's json.Indent(dst, src, "", indent): strings are copied verbatim, `[]`/`{}` stay compact."""
    out: list[str] = []
    depth = 0
    i, n = 0, len(raw)
    need_indent = False
    while i < n:
        ch = raw[i]
        if ch in " \t\r\n":
            i += 1
            continue
        if need_indent and ch not in "]}":
            out.append("\n" + indent * depth)
            need_indent = False
        if ch == '"':
            j = i + 1
            while j < n and raw[j] != '"':
                j += 2 if raw[j] == "\\" else 1
            out.append(raw[i:j + 1])
            i = j + 1
            continue
        if ch in "[{":
            out.append(ch)
            depth += 1
            need_indent = True
        elif ch in "]}":
            depth -= 1
            if need_indent:  # empty container
                need_indent = False
            else:
                out.append("\n" + indent * depth)
            out.append(ch)
        elif ch == ",":
            out.append(",")
            need_indent = True
        elif ch == ":":
            out.append(": ")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _fetch(ctx: Context, kind: str, name: str, size: bool) -> str:
    t = ctx.client.transport
    path = {"container": f"/containers/{name}/json", "image": f"/images/{name}/json",
            "network": f"/networks/{name}", "volume": f"/volumes/{name}"}[kind]
    resp = t.request("GET", path, {"size": True} if size and kind == "container" else None)
    return resp.read().decode("utf-8", "replace").strip()


def _inspect(ctx: Context, argv: list[str], path: str, kind: str | None) -> int:
    usage = {None: "docker inspect [OPTIONS] NAME|ID [NAME|ID...]",
             "container": f"docker {path} [OPTIONS] CONTAINER [CONTAINER...]",
             "image": f"docker {path} [OPTIONS] IMAGE [IMAGE...]"}[kind]
    flags = [S("format", "f", FORMAT_HELP)]
    if kind != "image":
        flags.append(B("size", "s", "Display total file sizes" + (" if the type is container" if kind is None
                                                                  else "")))
    if kind is None:
        flags.append(S("type", help="Only inspect objects of the given type"))
    spec = Spec(path, usage, "Return low-level information on Docker objects", flags, 1, -1)
    opts, args = parse(spec, argv)
    want = kind or opts.get("type")
    if want not in (None, "", "container", "image", "network", "volume"):
        ctx.eprint(f'unknown type: "{want}": must be one of "config", "container", "image", "network", '
                   '"node", "plugin", "secret", "service", "task", "volume"')
        return 1
    fmt = opts["format"]
    from tugboat.cli.gotemplate import TemplateError
    try:
        tmpl = compile_format(fmt)
    except TemplateError as e:
        ctx.eprint(f"template parsing error: {e}")
        return 64
    raws: list[str] = []
    raw_kinds: list[str] = []   # each raw's object type (templates see docker's typed struct)
    errors: list[str] = []  # printed after the output, as docker does
    for name in args:
        kinds = [want] if want else ["container", "image", "network", "volume"]
        got = None
        last_err: Exception | None = None
        for k in kinds:
            try:
                got = _fetch(ctx, k, name, bool(opts.get("size")))
                break
            except APIError as e:
                last_err = e
                if e.status != 404:
                    break
            except DaemonUnreachable as e:
                last_err = e
                break
        if got is None:
            if isinstance(last_err, APIError) and last_err.status == 404:
                if want:
                    errors.append(f"Error response from daemon: {last_err.message}")
                else:
                    errors.append(f"Error: No such object: {name}")
            elif isinstance(last_err, APIError):
                errors.append(f"Error response from daemon: {last_err.message}")
            elif last_err is not None:
                errors.append(str(last_err))
            continue
        raws.append(got)
        raw_kinds.append(k)
    from tugboat.cli.inspect_types import execute
    return print_inspected(ctx, fmt, tmpl, raws, errors,
                           lambda t, i: execute(t, json.loads(raws[i]), raw_kinds[i]))


def compile_format(fmt: str | None) -> Template | None:
    """--format as a Go template (None for no format or "json"); raises TemplateError."""
    if not fmt or fmt == "json":
        return None
    from tugboat.cli.gotemplate import Template
    return Template(fmt.replace("\\t", "\t").replace("\\n", "\n"))


def print_inspected(ctx: Context, fmt: str | None, tmpl: Template | None, raws: list[str], errors: list[str],
                    render: Callable[[Template, int], str]) -> int:
    """The objects fetched (raws, the daemon's JSON) as docker prints them, then the errors.
    render(tmpl, i) executes the template over the i-th object."""
    if tmpl is not None:
        # docker's TemplateInspector: a failing element adds an error and is skipped; an empty
        # output still prints one newline; errors follow the output.
        from tugboat.cli.gotemplate import TemplateError
        buf = []
        for i in range(len(raws)):
            try:
                buf.append(render(tmpl, i) + "\n")
            except TemplateError as e:
                errors.append(f"template parsing error: {e}")
        ctx.out.write("".join(buf) or "\n")
    elif fmt == "json":  # docker 28: the daemon's objects as one compact JSON array
        ctx.out.write("[" + ",".join(raws) + "]\n")
    elif not raws:
        ctx.out.write("[]\n")
    else:
        ctx.out.write(indent_json("[" + ",".join(raws) + "]") + "\n")
    ctx.out.flush()
    for msg in errors:
        ctx.eprint(msg)
    return 1 if errors else 0


def inspect_each(ctx: Context, fmt: str | None, names: list[str], fetch: Callable[[str], str],
                 render: Callable[[Template, str], str] | None = None) -> int:
    """`network inspect`, `volume inspect`: fetch(name) gives each object's JSON; a failed one is an
    error printed after the output. render(tmpl, raw) executes the template (default: over the plain JSON)."""
    from tugboat.cli.gotemplate import TemplateError
    try:
        tmpl = compile_format(fmt)
    except TemplateError as e:
        ctx.eprint(f"template parsing error: {e}")
        return 64
    raws, errors = [], []
    for name in names:
        try:
            raws.append(fetch(name))
        except APIError as e:
            errors.append(f"Error response from daemon: {e.message}")
        except DaemonUnreachable as e:
            errors.append(str(e))
    run = render or (lambda t, raw: t.execute(json.loads(raw)))
    return print_inspected(ctx, fmt, tmpl, raws, errors, lambda t, i: run(t, raws[i]))


def inspect(ctx: Context, argv: list[str], path: str) -> int:
    return _inspect(ctx, argv, path, None)


def container_inspect(ctx: Context, argv: list[str], path: str) -> int:
    return _inspect(ctx, argv, path, "container")


def image_inspect(ctx: Context, argv: list[str], path: str) -> int:
    return _inspect(ctx, argv, path, "image")

