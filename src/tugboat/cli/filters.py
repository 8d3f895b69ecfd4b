"""`-f key=value` flags -> the API's filters JSON, in the map form docker's CLI sends."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tugboat.cli.flags import Spec


class FilterError(ValueError):
    pass


def parse_filters(values: list[str]) -> dict[str, dict[str, bool]]:
    out: dict[str, dict[str, bool]] = {}
    for v in values:
        key, eq, val = v.partition("=")
        if not eq:
            raise FilterError("bad format of filter (expected name=value)")
        out.setdefault(key.strip().lower(), {})[val.strip()] = True
    return out


def filter_flag(values: list[str], spec: Spec) -> dict[str, dict[str, bool]]:
    """parse_filters of a command's --filter values; a bad one is a usage error naming the flag as
    pflag does (`-f, --filter` when the command has the shorthand)."""
    from tugboat.cli.flags import UsageError
    try:
        return parse_filters(values)
    except FilterError as e:
        short = next(f.short for f in spec.flags if f.long == "filter")
        name = f"-{short}, --filter" if short else "--filter"
        raise UsageError(f'invalid argument "{values[-1]}" for "{name}" flag: {e}', spec) from None
