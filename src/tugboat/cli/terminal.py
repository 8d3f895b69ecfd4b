"""The local terminal during `run -t`, `start -a -t` and `exec -t`: the remote pty follows our
window size (now and on every SIGWINCH), and with -i our terminal goes raw so keystrokes, and
the detach keys, reach the container unmodified. One place for run and exec alike."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def attach_terminal(resize_remote: Callable[[int, int], None], stdin: bool) -> Callable[[], None] | None:
    """``resize_remote(height, width)`` is called with our size, now and on SIGWINCH; errors
    it raises are ignored (the container may be gone). Returns a function restoring the
    terminal when it was made raw, else None."""
    import signal

    out_fd = sys.stdout.fileno()
    if not os.isatty(out_fd):
        return None

    def resize(*_: object) -> None:
        try:
            size = os.get_terminal_size(out_fd)
            resize_remote(size.lines, size.columns)
        except Exception:  # noqa: BLE001 - a failed resize must never break the session
            pass

    resize()
    try:
        signal.signal(signal.SIGWINCH, resize)
    except (ValueError, OSError):
        pass
    in_fd = sys.stdin.fileno()
    if not stdin or not os.isatty(in_fd):
        return None
    import termios
    import tty

    saved = termios.tcgetattr(in_fd)
    tty.setraw(in_fd)

    def restore() -> None:
        termios.tcsetattr(in_fd, termios.TCSADRAIN, saved)

    return restore
