"""docker's --format machinery: `table ...`, `json`, raw templates, row contexts and headers.

Like docker's cli/command/formatter: each output row is a context object whose capitalised methods
are the template's fields (`{{.ID}}`, `{{.Label "k"}}`); the header row renders the same template
on a context that answers each field with its column title.
"""

from __future__ import annotations

import sys
import time

from tugboat.cli.humanize import ago, go_time_string, human_size
from tugboat.cli.table import tabwrite

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

TABLE = "table"


class FormatError(Exception):
    """Printed as-is to stderr, exit 1."""


def ellipsis(s: str, width: int) -> str:
    """formatter.Ellipsis: cut to width-1 characters plus "…"."""
    if width <= 0:
        return ""
    if len(s) <= width:
        return s
    return s[: width - 1] + "…"


def truncate_id(id: str) -> str:
    if ":" in id:
        id = id.split(":", 1)[1]
    return id[:12]


def natural_key(name: str) -> list[Any]:
    """docker's sortorder.NaturalLess as a sort key: digit runs compare as numbers (network/volume ls)."""
    import re
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name) if p]


class Header:
    """The header "row": every field resolves to its column title."""

    go_type = "formatter.SubHeaderContext"

    def __init__(self, titles: dict[str, str]) -> None:
        self._titles = titles

    def Label(self, name: str = "") -> str:  # noqa: N802 - a template field
        """SubHeaderContext.Label: `{{.Label "com.x-y"}}` is headed "x y"."""
        return name.split(".")[-1].replace("-", " ").replace("_", " ")

    def __getattr__(self, name: str) -> Callable[..., str]:
        if name.startswith("_") or not name[:1].isupper():
            raise AttributeError(name)
        title = self._titles.get(name)
        if title is None:
            raise AttributeError(name)
        return lambda *a: title


def expand_format(fmt: str) -> tuple[bool, str]:
    """(is_table, template text) after docker's preFormat: strip `table`, trim spaces, `\\t` -> tab."""
    is_table = fmt.startswith(TABLE)
    text = fmt[len(TABLE):] if is_table else fmt
    text = text.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
    return is_table, text


PS_ERRORS = ("failed to parse template: ", "failed to execute template: ")
IMAGE_ERRORS = ("template parsing error: ", "template parsing error: ")  # docker 28 images/history


def simple_fields(text: str) -> list[tuple[bool, str]] | None:
    """Split a template made only of text and `{{.Field}}` actions (docker's default formats and
    most user ones) into (is_field, text) parts; None if it needs the real template engine."""
    parts: list[tuple[bool, str]] = []
    i = 0
    while True:
        j = text.find("{{", i)
        if j < 0:
            parts.append((False, text[i:]))
            return parts
        k = text.find("}}", j)
        if k < 0:
            return None
        inner = text[j + 2:k].strip(" ")
        if not (inner.startswith(".") and inner[1:].isidentifier()):
            return None
        parts += [(False, text[i:j]), (True, inner[1:])]
        i = k + 2


def render_rows(fmt: str, rows: Iterable[Any], titles: dict[str, str], out: Any = None,
                probe: Any = None, errors: tuple[str, str] = PS_ERRORS) -> None:
    """Write rows with `fmt` (already resolved from table/json/quiet defaults) to out.

    `probe` is an empty row the template is tried on first: docker does that (to see whether
    .Size is used), so a bad field fails even when there are no rows. Templates of plain
    `{{.Field}}` actions on known fields skip the template engine (and its import of `re`)."""
    out = out or sys.stdout
    is_table, text = expand_format(fmt)
    parts = simple_fields(text)
    if parts is not None and all(name in titles and name != "Label" for is_field, name in parts if is_field):
        def fill(row: Any) -> str:
            vals = []
            for is_field, t in parts:
                if not is_field:
                    vals.append(t)
                    continue
                v = getattr(row, t)()
                vals.append("<nil>" if v is None else v if isinstance(v, str) else str(v))
            return "".join(vals)

        if probe is not None:
            fill(probe)
        lines = [fill(Header(titles)) + "\n"] if is_table else []
        lines += [fill(r) + "\n" for r in rows]
        text_out = "".join(lines)
        out.write(tabwrite(text_out) if is_table else text_out)
        return
    from tugboat.cli.gotemplate import Template, TemplateError
    try:
        tmpl = Template(text)
    except TemplateError as e:
        raise FormatError(f"{errors[0]}{e}") from None
    buf: list[str] = []
    if probe is not None:
        try:
            tmpl.execute(probe)
        except TemplateError as e:
            raise FormatError(f"{errors[1]}{e}") from None
    if is_table:
        try:
            buf.append(tmpl.execute(Header(titles)) + "\n")
        except TemplateError:
            buf.append("\n")
    try:
        for r in rows:
            buf.append(tmpl.execute(r) + "\n")
    except TemplateError as e:
        raise FormatError(f"{errors[1]}{e}") from None
    text_out = "".join(buf)
    if is_table:
        text_out = tabwrite(text_out)
    out.write(text_out)


def json_object(ctx: Any, fields: Iterable[str]) -> dict[str, Any]:
    return {f: getattr(ctx, f)() for f in fields}


# ---------------------------------------------------------------------------------------------------
# containers (docker ps)

CONTAINER_TITLES = {
    "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE",
    "Names": "NAMES", "Labels": "LABELS", "Label": "LABEL", "Mounts": "MOUNTS", "Networks": "NETWORKS",
    "LocalVolumes": "LOCAL VOLUMES", "Platform": "PLATFORM",
}
CONTAINER_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
CONTAINER_JSON_FIELDS = ["Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names",
                         "Networks", "Platform", "Ports", "RunningFor", "Size", "State", "Status"]


def _strip_image_digest(image: str) -> str:
    """Familiar name with tag, without a digest (reference.FamiliarString(WithTag(TrimNamed)))."""
    name, _, _digest = image.partition("@")
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if name.startswith(prefix) and "/" not in name[len(prefix):].split(":")[0] or \
                name.startswith(prefix) and prefix == "docker.io/":
            name = name[len(prefix):]
            break
    return name


def display_ports(ports: list[dict[str, Any]] | None) -> str:
    """docker/cli's DisplayablePorts: unpublished ports grouped into ranges per protocol, then
    published ones ("0.0.0.0:8080->80/tcp"), in its sort order."""
    if not ports:
        return ""

    def key(p: dict[str, Any]) -> tuple[int, str, int, str]:
        return (p.get("PrivatePort", 0), p.get("IP", ""), p.get("PublicPort", 0), p.get("Type", ""))

    def form(k: str, first: int, last: int) -> str:
        ip, _, proto = k.rpartition("/")
        group = str(first) if first == last else f"{first}-{last}"
        if ip:
            group = f"{f'[{ip}]' if ':' in ip else ip}:{group}->{group}"
        return f"{group}/{proto}"

    groups: dict[str, list[int]] = {}
    result: list[str] = []
    mappings: list[str] = []
    for p in sorted(ports, key=key):
        cur, proto, ip = p.get("PrivatePort", 0), p.get("Type", ""), p.get("IP", "")
        k = proto
        if ip:
            if p.get("PublicPort", 0) != cur:
                host = f"[{ip}]" if ":" in ip else ip
                mappings.append(f"{host}:{p.get('PublicPort', 0)}->{cur}/{proto}")
                continue
            k = f"{ip}/{proto}"
        g = groups.get(k)
        if g is None:
            groups[k] = [cur, cur]
        elif cur == g[1] + 1:
            g[1] = cur
        else:
            result.append(form(k, g[0], g[1]))
            groups[k] = [cur, cur]
    result += [form(k, g[0], g[1]) for k, g in groups.items()]
    return ", ".join(result + mappings)


class ContainerRow:
    """One container of GET /containers/json as docker's formatter.ContainerContext sees it."""

    go_type = "*formatter.ContainerContext"

    def __init__(self, c: dict[str, Any], trunc: bool = True, now: float | None = None) -> None:
        self.c = c
        self.trunc = trunc
        self.now = now if now is not None else time.time()

    def ID(self) -> str:
        return truncate_id(self.c.get("Id", "")) if self.trunc else self.c.get("Id", "")

    def Names(self) -> str:
        names = [n[1:] if n.startswith("/") else n for n in self.c.get("Names") or []]
        if self.trunc:
            for n in names:
                if "/" not in n:
                    names = [n]
                    break
        return ",".join(names)

    def Image(self) -> str:
        image = self.c.get("Image") or ""
        if not image:
            return "<no image>"
        if self.trunc:
            if truncate_id(self.c.get("ImageID", "")) == truncate_id(image):
                return truncate_id(image)
            if not image.startswith("sha256:"):
                return _strip_image_digest(image)
        return image

    def Command(self) -> str:
        cmd = self.c.get("Command") or ""
        from tugboat.cli.goquote import go_quote
        return go_quote(ellipsis(cmd, 20) if self.trunc else cmd)

    def CreatedAt(self) -> str:
        return go_time_string(self.c.get("Created", 0))

    def RunningFor(self) -> str:
        return ago(self.c.get("Created", 0), self.now)

    def Ports(self) -> str:
        return display_ports(self.c.get("Ports"))

    def State(self) -> str:
        return str(self.c.get("State", ""))

    def Status(self) -> str:
        return str(self.c.get("Status", ""))

    size_used = False  # set when a template reads .Size: ps then asks the daemon for sizes

    def Size(self) -> str:
        self.size_used = True
        if self.c.get("SizeRw") is None and self.c.get("SizeRootFs") is None:
            return "0B"
        srw = human_size(self.c.get("SizeRw") or 0)
        sv = human_size(self.c.get("SizeRootFs") or 0)
        return f"{srw} (virtual {sv})" if (self.c.get("SizeRootFs") or 0) > 0 else srw

    def Labels(self) -> str:
        labels = self.c.get("Labels") or {}
        return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))

    def Label(self, name: str) -> str:
        return str((self.c.get("Labels") or {}).get(name, ""))

    def Mounts(self) -> str:
        names = []
        for m in self.c.get("Mounts") or []:
            n = m.get("Name") or m.get("Source") or ""
            names.append(ellipsis(n, 15) if self.trunc else n)
        return ",".join(names)

    def LocalVolumes(self) -> str:
        return str(sum(1 for m in self.c.get("Mounts") or [] if m.get("Driver") == "local"))

    def Networks(self) -> str:
        nets = (self.c.get("NetworkSettings") or {}).get("Networks") or {}
        return ",".join(sorted(nets))

    def Platform(self) -> Any:
        return None  # API 1.41 has no per-container platform in the list

    def to_json(self) -> dict[str, Any]:
        return json_object(self, CONTAINER_JSON_FIELDS)


# ---------------------------------------------------------------------------------------------------
# images (docker images)

IMAGE_TITLES = {
    "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
    "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS",
    "VirtualSize": "SIZE", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
}
IMAGE_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
IMAGE_TABLE_DIGESTS = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
IMAGE_JSON_FIELDS = ["Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository", "SharedSize",
                     "Size", "Tag", "UniqueSize", "VirtualSize"]


def familiar_name(ref: str) -> str:
    for prefix in ("docker.io/library/", "docker.io/"):
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return ref


def split_repo_tag(ref: str) -> tuple[str, str]:
    """"busybox:latest" -> ("busybox", "latest"); a port colon is not a tag separator."""
    name, _, digest = ref.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:]
    return name, ""


class ImageRow:
    go_type = "*formatter.imageContext"

    def __init__(self, img: dict[str, Any], repo: str, tag: str, digest: str, trunc: bool = True,
                 now: float | None = None) -> None:
        self.i, self.repo, self.tag, self.digest = img, repo, tag, digest
        self.trunc = trunc
        self.now = now if now is not None else time.time()

    def ID(self) -> str:
        return truncate_id(self.i.get("Id", "")) if self.trunc else self.i.get("Id", "")

    def Repository(self) -> str:
        return self.repo

    def Tag(self) -> str:
        return self.tag

    def Digest(self) -> str:
        return self.digest

    def CreatedSince(self) -> str:
        created = self.i.get("Created", 0)
        return "N/A" if not created else ago(created, self.now)

    def CreatedAt(self) -> str:
        return go_time_string(self.i.get("Created", 0))

    def Size(self) -> str:
        return human_size(self.i.get("Size", 0) or 0)

    def VirtualSize(self) -> str:
        return human_size(self.i.get("VirtualSize", self.i.get("Size", 0)) or 0, 4)

    def SharedSize(self) -> str:
        s = self.i.get("SharedSize", -1)
        return "N/A" if s is None or s == -1 else human_size(s, 4)

    def UniqueSize(self) -> str:
        s = self.i.get("SharedSize", -1)
        if s is None or s == -1:
            return "N/A"
        return human_size((self.i.get("Size", 0) or 0) - s, 4)

    def Containers(self) -> str:
        n = self.i.get("Containers", -1)
        return "N/A" if n is None or n == -1 else str(n)

    def to_json(self) -> dict[str, Any]:
        return json_object(self, IMAGE_JSON_FIELDS)


def image_rows(images: list[dict[str, Any]], digests: bool, trunc: bool) -> list[ImageRow]:
    """One row per (repository, tag) like docker's imageFormat; untagged images show <none>."""
    now = time.time()
    rows: list[ImageRow] = []
    for img in images:
        repo_tags: dict[str, list[str]] = {}
        for ref in img.get("RepoTags") or []:
            if ref == "<none>:<none>":
                continue
            repo, tag = split_repo_tag(ref)
            repo_tags.setdefault(familiar_name(repo), []).append(tag)
        repo_digests: dict[str, list[str]] = {}
        for ref in img.get("RepoDigests") or []:
            if ref == "<none>@<none>":
                continue
            name, _, dg = ref.partition("@")
            repo_digests.setdefault(familiar_name(name), []).append(dg)
        for repo, tags in repo_tags.items():
            dgs = repo_digests.pop(repo, [])
            if not digests:
                for tag in tags:
                    rows.append(ImageRow(img, repo, tag, "<none>", trunc, now))
                continue
            if not dgs:
                for tag in tags:
                    rows.append(ImageRow(img, repo, tag, "<none>", trunc, now))
                continue
            for tag in tags:
                for dg in dgs:
                    rows.append(ImageRow(img, repo, tag, dg, trunc, now))
        for repo, dgs in repo_digests.items():
            if digests:
                for dg in dgs:
                    rows.append(ImageRow(img, repo, "<none>", dg, trunc, now))
            else:
                rows.append(ImageRow(img, repo, "<none>", "<none>", trunc, now))
        if not repo_tags and not repo_digests and not [r for r in rows if r.i is img]:
            rows.append(ImageRow(img, "<none>", "<none>", "<none>", trunc, now))
    return rows


# ---------------------------------------------------------------------------------------------------
# history

HISTORY_TITLES = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
                  "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"}
HISTORY_TABLE = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
HISTORY_JSON_FIELDS = ["Comment", "CreatedAt", "CreatedBy", "CreatedSince", "ID", "Size"]


class HistoryRow:
    go_type = "*image.historyContext"

    def __init__(self, h: dict[str, Any], trunc: bool, human: bool, now: float | None = None) -> None:
        self.h, self.trunc, self.human = h, trunc, human
        self.now = now if now is not None else time.time()

    def ID(self) -> str:
        id = self.h.get("Id", "")
        return truncate_id(id) if self.trunc and id != "<missing>" else id

    def CreatedAt(self) -> str:
        """time.RFC3339 in local time ("2026-11-22T17:20:31Z")."""
        t = time.localtime(int(self.h.get("Created", 0)))
        off = time.strftime("%z", t)
        zone = "Z" if off in ("+0000", "-0000") else f"{off[:3]}:{off[3:]}"
        return time.strftime("%Y-%m-%dT%H:%M:%S", t) + zone

    def CreatedSince(self) -> str:
        if not self.human:
            return self.CreatedAt()
        return ago(self.h.get("Created", 0), self.now)

    def CreatedBy(self) -> str:
        by = (self.h.get("CreatedBy") or "").replace("\t", " ")
        return ellipsis(by, 45) if self.trunc else by

    def Size(self) -> str:
        size = self.h.get("Size", 0) or 0
        return human_size(size) if self.human else str(size)

    def Comment(self) -> str:
        return str(self.h.get("Comment", ""))

    def to_json(self) -> dict[str, Any]:
        return json_object(self, HISTORY_JSON_FIELDS)


def resolve_format(fmt: str | None, default_table: str, quiet_fmt: str | None = None,
                   quiet: bool = False) -> str:
    """--format value -> template text ('json' and 'table' are keywords, like docker 28)."""
    if quiet and quiet_fmt and not fmt:
        return quiet_fmt
    if not fmt or fmt == TABLE:
        return quiet_fmt if quiet and quiet_fmt else default_table
    if fmt == "json":
        return "{{json .}}"
    return fmt


__all__ = ["ContainerRow", "FormatError", "ImageRow", "HistoryRow", "render_rows", "resolve_format",
           "image_rows"]
