"""docker's jsonmessage display for progress streams (pull, push, load, import).

Not on a terminal: one line per message, progress bars left out. On a terminal (as docker's
DisplayJSONMessagesStream): every id (a layer) keeps one line that later messages rewrite in
place (cursor up, clear line, cursor down), with the bar drawn client-side from progressDetail;
a message without an id or progress starts a new block. Errors are raised to the caller.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, TextIO


class StreamError(Exception):
    """An {"error": ...} message inside a 200 response."""


def progress_bar(detail: dict[str, Any] | None) -> str:
    """docker's JSONProgress.String(): `[=====>     ]  1.2MB/4.5MB` (sizes as go-units HumanSize)."""
    from tugboat.cli.humanize import human_size

    current = int((detail or {}).get("current") or 0)
    total = int((detail or {}).get("total") or 0)
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current):>8}"
    percentage = min(100, current * 100 // total)
    bar = f"[{'=' * (percentage // 2)}>{' ' * (50 - percentage // 2)}] "
    return bar + f"{human_size(current):>8}/{human_size(total)}"


def display(messages: Iterable[dict[str, Any]], out: TextIO | None,
            tty: bool | None = None) -> list[dict[str, Any]]:
    """Render ``messages`` to ``out`` (None: only check for errors); ``tty`` defaults to
    whether ``out`` is a terminal, as docker decides."""
    if tty is None:
        tty = bool(out is not None and out.isatty())
    seen = []
    ids: dict[str, int] = {}
    for m in messages:
        seen.append(m)
        if m.get("error") or m.get("errorDetail"):
            detail = m.get("errorDetail") or {}
            raise StreamError(m.get("error") or detail.get("message") or "unknown error")
        if out is None or m.get("aux") is not None:
            continue
        if "stream" in m:
            out.write(m["stream"])
            continue
        has_progress = "progressDetail" in m or bool(m.get("progress"))
        if not tty:
            if m.get("progress") or (m.get("progressDetail") or {}).get("current") is not None:
                continue  # docker leaves progress bars out when not on a terminal
            line = (f"{m['id']}: " if m.get("id") else "") + m.get("status", "")
            if line:
                out.write(line + "\n")
            continue
        diff = 0
        mid = m.get("id")
        if mid and has_progress:
            if mid not in ids:
                ids[mid] = len(ids)
                out.write("\n")
            diff = len(ids) - ids[mid]
            out.write(f"\x1b[{diff}A")
        else:
            ids = {}        # progress of an earlier block (pull -a) is never rewritten
        bar = progress_bar(m.get("progressDetail")) or m.get("progress") or ""
        text = (f"{mid}: " if mid else "") + m.get("status", "") + (f" {bar}" if bar else "")
        if has_progress:
            out.write(f"\x1b[2K\r{text}\r")
        else:
            out.write(f"\x1b[2K\r{text}\n")
        if mid and diff:
            out.write(f"\x1b[{diff}B")
        out.flush()
    if out is not None:
        out.flush()
    return seen


def show(ctx: Any, resp: Any, out: TextIO | None) -> int:
    """A command's whole progress stream (pull, push, load, import): 0, or 1 after printing the
    error the stream carried, as docker exits."""
    try:
        display(resp.iter_json(), out)
    except StreamError as e:
        ctx.eprint(str(e))
        return 1
    return 0
