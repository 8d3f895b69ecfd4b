"""docker's jsonmessage display for progress streams (pull, load, import) when not on a terminal:
one line per message, `id: status progress`, errors raised to the caller."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, TextIO



class StreamError(Exception):
    """An {"error": ...} message inside a 200 response."""


def display(messages: Iterable[dict[str, Any]], out: TextIO | None) -> list[dict[str, Any]]:
    seen = []
    for m in messages:
        seen.append(m)
        if m.get("error") or m.get("errorDetail"):
            detail = m.get("errorDetail") or {}
            raise StreamError(m.get("error") or detail.get("message") or "unknown error")
        if out is None:
            continue
        if "stream" in m:
            out.write(m["stream"])
            continue
        if m.get("progress") or (m.get("progressDetail") or {}).get("current") is not None:
            continue  # docker leaves progress bars out when not on a terminal
        line = ""
        if m.get("id"):
            line += f"{m['id']}: "
        line += m.get("status", "")
        if m.get("progress") and False:
            line += " " + m["progress"]
        if line:
            out.write(line + "\n")
    if out is not None:
        out.flush()
    return seen
