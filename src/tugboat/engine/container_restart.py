"""Restart policies ("no", "always", "unless-stopped", "on-failure[:N]"), as moby's restartmanager.

A container that exits is restarted when its policy says so and it was not stopped
through the API; the delay starts at 100 ms and doubles per restart up to a minute,
going back to 100 ms once a run lasted 10 seconds.  The same rule decides which
containers a starting tugd brings back up.
"""

from __future__ import annotations

DEFAULT_DELAY = 0.1
MAX_DELAY = 60.0
RESET_AFTER_NS = 10 * 1_000_000_000


def should_restart(policy: dict | None, exit_code: int, restart_count: int, manually_stopped: bool) -> bool:
    """moby's RestartManager.ShouldRestart.  "always" ignores ``manually_stopped``: a stop
    cancels the restart of that one exit (the caller's job), but a starting tugd brings
    an "always" container back however it was stopped."""
    name = (policy or {}).get("Name") or "no"
    if name == "always":
        return True
    if name == "unless-stopped":
        return not manually_stopped
    if name == "on-failure":
        limit = int((policy or {}).get("MaximumRetryCount") or 0)
        return exit_code != 0 and (limit == 0 or restart_count < limit)
    return False


def next_delay(previous: float, ran_for_ns: int) -> float:
    """The wait before the next restart, given the last one and how long the run lasted."""
    if ran_for_ns >= RESET_AFTER_NS:
        previous = 0.0
    delay = DEFAULT_DELAY if previous == 0 else previous * 2
    return min(delay, MAX_DELAY)
