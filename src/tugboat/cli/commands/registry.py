"""Registry commands: pull, push, login, logout, search (docker's cli/command/image and registry).

Credentials come from the docker CLI's config.json (cli/dockerconfig.py) and travel in the
X-Registry-Auth header; progress is rendered as docker renders it when stdout is not a terminal
(one line per message, progress bars left out).
"""

from __future__ import annotations

import sys

from tugboat.cli.context import Context
from tugboat.cli.flags import B, I, L, S, Spec, parse
from tugboat.cli.jsonmessage import show
from tugboat.client.errors import APIError, DaemonUnreachable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _name_only(image: str) -> bool:
    last = image.rsplit("/", 1)[-1]
    return "@" not in image and ":" not in last


def _full_ref(image: str) -> str:
    from tugboat.cli.commands.run import normalize_repo
    if "@" in image:
        repo, _, digest = image.partition("@")
        return normalize_repo(repo) + "@" + digest
    head, sep, last = image.rpartition("/")
    name, colon, tag = last.partition(":")
    return normalize_repo(head + sep + name) + (":" + tag if colon else "")


def _with_default_tag(ctx: Context, opts: dict[str, Any], image: str) -> str | None:
    """docker's rules shared by pull and push: -a takes a bare name; without -a a bare name gets
    ":latest" (announced unless -q). None after printing the error."""
    if opts["all_tags"] and not _name_only(image):
        ctx.eprint("tag can't be used with --all-tags/-a")
        return None
    if not opts["all_tags"] and _name_only(image):
        image += ":latest"
        if not opts["quiet"]:
            ctx.print("Using default tag: latest")
    return image


def pull(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry", [
        B("all-tags", "a", "Download all tagged images in the repository"),
        B("disable-content-trust", help="Skip image verification (default true)"),
        S("platform", help="Set platform if server is multi-platform capable"),
        B("quiet", "q", "Suppress verbose output"),
    ], 1, 1)
    opts, args = parse(spec, argv)
    image = _with_default_tag(ctx, opts, args[0])
    if image is None:
        return 1
    from tugboat.cli import dockerconfig
    repo, tag = image, None
    if "@" not in image and not opts["all_tags"]:
        head, sep, last = image.rpartition("/")
        name, _, tag = last.partition(":")
        repo = head + sep + name
    try:
        resp = ctx.client.images.pull(repo, tag, opts["platform"], dockerconfig.header_for_image(image))
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    rc = show(ctx, resp, None if opts["quiet"] else ctx.out)
    if rc == 0:
        ctx.print(_full_ref(image))
    return rc


def push(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] NAME[:TAG]", "Upload an image to a registry", [
        B("all-tags", "a", "Push all tags of an image to the repository"),
        B("disable-content-trust", help="Skip image signing (default true)"),
        B("quiet", "q", "Suppress verbose output"),
    ], 1, 1)
    opts, args = parse(spec, argv)
    image = _with_default_tag(ctx, opts, args[0])
    if image is None:
        return 1
    head, sep, last = image.rpartition("/")
    name, _, tag = last.partition(":")
    from tugboat.cli import dockerconfig
    try:
        resp = ctx.client.images.push(head + sep + name, tag or None, dockerconfig.header_for_image(image))
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    rc = show(ctx, resp, None if opts["quiet"] else ctx.out)
    if rc == 0 and opts["quiet"]:
        ctx.print(image)
    return rc


def login(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] [SERVER]",
                "Log in to a Docker registry.\nIf no server is specified, the default is defined by the daemon.", [
                    S("password", "p", "Password"),
                    B("password-stdin", help="Take the password from stdin"),
                    S("username", "u", "Username"),
                ], 0, 1)
    opts, args = parse(spec, argv)
    from tugboat.cli import dockerconfig
    server = args[0] if args else dockerconfig.HUB
    user, password = opts["username"] or "", opts["password"] or ""
    if opts["password_stdin"]:
        if password:
            ctx.eprint("--password and --password-stdin are mutually exclusive")
            return 1
        if not user:
            ctx.eprint("Must provide --username with --password-stdin")
            return 1
        password = sys.stdin.read().rstrip("\r\n")
    elif password:
        ctx.eprint("WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
    if not user or not password:
        stored = dockerconfig.credentials(server)
        if not sys.stdin.isatty() and (not user or not password):
            if stored.get("username") and stored.get("password") and not user:
                user, password = stored["username"], stored["password"]
            else:
                ctx.eprint("Error: Cannot perform an interactive login from a non TTY device")
                return 1
        else:
            if not user:
                user = input(f"Username{' (' + stored['username'] + ')' if stored.get('username') else ''}: ") \
                    or stored.get("username", "")
            if not password:
                import getpass
                password = getpass.getpass("Password: ")
    if not user:
        ctx.eprint("Error: Non-null Username Required")
        return 1
    try:
        res = ctx.client.system.auth(user, password, server)
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    try:
        dockerconfig.store(server, user, password, (res or {}).get("IdentityToken") or "")
    except OSError as e:
        ctx.eprint(f"Error saving credentials: {e}")
        return 1
    ctx.eprint(f"\nWARNING! Your credentials are stored unencrypted in '{dockerconfig.config_path()}'.\n"
               "Configure a credential helper to remove this warning. See\n"
               "https://docs.docker.com/go/credential-store/\n")
    ctx.print((res or {}).get("Status") or "Login Succeeded")
    return 0


def logout(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [SERVER]",
                "Log out from a Docker registry.\nIf no server is specified, the default is defined by the daemon.",
                [], 0, 1)
    _, args = parse(spec, argv)
    from tugboat.cli import dockerconfig
    server = args[0] if args else dockerconfig.HUB
    key = dockerconfig.server_key(server)
    if not dockerconfig.erase(server):
        ctx.print(f"Not logged in to {key}")
        return 0
    ctx.print(f"Removing login credentials for {key}")
    return 0


def search(ctx: Context, argv: list[str], path: str) -> int:
    spec = Spec(path, f"docker {path} [OPTIONS] TERM", "Search the Docker Hub for images", [
        L("filter", "f", "Filter output based on conditions provided", metavar="filter"),
        S("format", help="Pretty-print search using a Go template"),
        I("limit", help="Max number of search results", default=25),
        B("no-trunc", help="Don't truncate output"),
    ], 1, 1)
    opts, args = parse(spec, argv)
    from tugboat.cli.filters import filter_flag
    filters = filter_flag(opts["filter"], spec)
    from tugboat.cli import dockerconfig
    try:
        results = ctx.client.images.search(args[0], opts["limit"], filters,
                                           dockerconfig.header_for_image(args[0]))
    except (APIError, DaemonUnreachable) as e:
        ctx.daemon_error(e)
        return 1
    from tugboat.cli.table import tabwrite
    lines = ["NAME\tDESCRIPTION\tSTARS\tOFFICIAL\tAUTOMATED"]
    for r in results:
        desc = str(r.get("description", "")).replace("\n", " ")
        if not opts["no_trunc"] and len(desc) > 45:
            desc = desc[:44] + "…"
        lines.append(f"{r.get('name', '')}\t{desc}\t{r.get('star_count', 0)}\t"
                     f"{'[OK]' if r.get('is_official') else ''}\t{'[OK]' if r.get('is_automated') else ''}")
    ctx.out.write(tabwrite("\n".join(lines) + "\n"))
    return 0
