"""What every `... prune` command shares (container, image, network, volume, builder, system): the
`[y/N]` confirmation, the "Deleted <things>:" listing and the "Total reclaimed space" line, worded
and spaced as docker's CLI prints them."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from tugboat.cli.context import Context

CONTINUE = "Are you sure you want to continue?"


def confirmed(out: TextIO, prompt: str) -> bool:
    """docker's command.PromptForConfirmation: prompt + " [y/N] ", then y or yes (any case) on stdin."""
    out.write(prompt + " [y/N] ")
    out.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def listing(title: str, items: list[str]) -> str:
    """"Deleted <title>:" and one item a line; nothing when nothing was deleted."""
    return f"Deleted {title}:\n" + "".join(f"{i}\n" for i in items) if items else ""


def print_report(ctx: Context, title: str, items: list[str], space: float | None) -> None:
    """The listing followed by a blank line, then (unless space is None) the total reclaimed."""
    if items:
        ctx.print(listing(title, items))
    if space is not None:
        from tugboat.cli.humanize import total_reclaimed
        ctx.print(total_reclaimed(space))
