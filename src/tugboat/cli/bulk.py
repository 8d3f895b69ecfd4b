"""Commands that act on several names at once (start, stop, rm, rmi, network rm, volume rm, ...):
docker's CLI runs the request for each name in turn, prints each success, prints each failure to
stderr and carries on, and exits 1 if any failed. One loop for all of them, so they cannot drift."""

from __future__ import annotations

from tugboat.client.errors import APIError, DaemonUnreachable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from tugboat.cli.context import Context


class Refused(Exception):
    """A name the CLI itself refuses before asking the daemon; its text is printed as it is."""


def for_each(ctx: Context, names: list[str], fn: Callable[[str], object], echo: bool = True,
             ignore: Callable[[APIError], bool] | None = None) -> int:
    """fn(name) for each name; echo prints the name after a success; an APIError that ignore()
    accepts is passed over silently (e.g. `network rm -f` of a missing network)."""
    failed = False
    for n in names:
        try:
            fn(n)
        except APIError as e:
            if ignore is not None and ignore(e):
                continue
            ctx.daemon_error(e)
            failed = True
            continue
        except (DaemonUnreachable, Refused) as e:
            ctx.daemon_error(e)
            failed = True
            continue
        if echo:
            ctx.print(n)
    return 1 if failed else 0
