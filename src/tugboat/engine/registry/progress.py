"""dockerd's JSON progress messages (pkg/jsonmessage + pkg/progress) for pull and push.

Per-layer lines carry ``id`` (the first 12 hex digits of the blob digest) and, while bytes
move, ``progressDetail`` {current, total} plus the rendered ``progress`` bar that old
clients print verbatim.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

_UNITS = ["B", "kB", "MB", "GB", "TB", "PB"]


def human_size(size: float) -> str:
    """go-units HumanSize: decimal units, 4 significant digits ("1.2MB", "772.8kB")."""
    i = 0
    while size >= 1000 and i < len(_UNITS) - 1:
        size /= 1000.0
        i += 1
    return f"{size:.4g}{_UNITS[i]}"


def bar(current: int, total: int) -> str:
    """JSONProgress.String() at dockerd's default width."""
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current):>8}"
    pct = min(int(current / total * 100) // 2, 50)
    box = "[" + "=" * pct + ">" + " " * (50 - pct) + "] "
    numbers = "" if current > total else f"{human_size(current):>8}/{human_size(total)}"
    return box + numbers


def short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


def msg(status: str, id: str | None = None, current: int | None = None, total: int | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {"status": status}
    if current is not None:
        detail: dict[str, int] = {"current": current}
        if total:
            detail["total"] = total
        m["progressDetail"] = detail
        m["progress"] = bar(current, total or 0)
    elif id is not None:
        m["progressDetail"] = {}
    if id is not None:
        m["id"] = id
    return m


class Cancelled(Exception):
    """The client went away; the worker stops at its next progress report."""


def stream_job(work: Callable[[Callable[[dict[str, Any]], None]], None]) -> Iterator[dict[str, Any]]:
    """Run ``work(emit)`` in a thread and yield what it emits.

    The worker never waits for the HTTP client: messages queue up, so a slow or vanished
    client cannot hold the image lock that the worker may take.  An exception in the worker
    is raised here after the messages before it; closing this generator (client gone)
    makes the worker's next ``emit`` raise ``Cancelled``."""
    q: queue.Queue[tuple[str, Any]] = queue.Queue()
    cancel = threading.Event()

    def emit(m: dict[str, Any]) -> None:
        if cancel.is_set():
            raise Cancelled()
        q.put(("msg", m))

    def run() -> None:
        try:
            work(emit)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            q.put(("err", e))
        else:
            q.put(("done", None))

    t = threading.Thread(target=run, name="registry-job", daemon=True)
    t.start()
    try:
        while True:
            kind, val = q.get()
            if kind == "msg":
                yield val
            elif kind == "err":
                raise val
            else:
                return
    finally:
        cancel.set()
