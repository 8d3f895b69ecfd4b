"""A small pflag/cobra look-alike: docker's flag syntax, messages and exit codes.

argparse would do most of the parsing but not docker's exact error texts ("unknown shorthand flag:
'x' in -x"), pflag's `-e=V` / `-eV` forms, `--rm=false`, or cobra's argument-count messages, and it
costs more to import. Each command declares a Spec; parse() returns (options, positionals).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PROG = "tug"


class UsageError(Exception):
    """Bad flags or argument count; main prints it with the usage line and exits (125 or 1)."""

    def __init__(self, message: str, spec: Spec, exit_code: int = 125, see: bool = False,
                 prefixed: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.spec = spec
        self.exit_code = exit_code
        self.see = see          # cobra says "See '...--help'" for "requires at least", "Run" otherwise
        self.prefixed = prefixed  # argument-count errors are prefixed with "docker: "

    def render(self) -> str:
        head = f"{PROG}: {self.message}" if self.prefixed else self.message
        verb = "See" if self.see else "Run"
        return (f"{head}\n\nUsage:  {self.spec.usage}\n\n"
                f"{verb} '{PROG} {self.spec.path} --help' for more information")


class HelpRequested(Exception):
    def __init__(self, spec: Spec) -> None:
        super().__init__(spec.path)
        self.spec = spec


class Flag:
    """One flag; kind is bool | string | int | list. (No dataclass: its import costs ~5 ms.)"""

    __slots__ = ("long", "short", "kind", "default", "help", "metavar", "hidden")

    def __init__(self, long: str, short: str = "", kind: str = "bool", default: Any = None, help: str = "",
                 metavar: str = "", hidden: bool = False) -> None:
        self.long, self.short, self.kind, self.default = long, short, kind, default
        self.help, self.metavar, self.hidden = help, metavar, hidden

    @property
    def dest(self) -> str:
        return self.long.replace("-", "_")

    @property
    def label(self) -> str:
        return f"-{self.short}, --{self.long}" if self.short else f"--{self.long}"


class Spec:
    """One command: `path` as typed after `tug` ("run", "container ls"), cobra's usage line, flags.
    max_args -1 means unlimited; interspersed=False stops flag parsing at the first positional
    (run/create: flags after the image belong to the container's command)."""

    def __init__(self, path: str, usage: str, desc: str = "", flags: list[Flag] | None = None,
                 min_args: int = 0, max_args: int = -1, interspersed: bool = True, aliases: str = "") -> None:
        self.path, self.desc, self.flags = path, desc, flags or []
        self.usage = usage.replace("docker ", f"{PROG} ", 1)
        self.min_args, self.max_args, self.interspersed, self.aliases = min_args, max_args, interspersed, aliases


def B(long: str, short: str = "", help: str = "", hidden: bool = False) -> Flag:
    return Flag(long, short, "bool", False, help, hidden=hidden)


def S(long: str, short: str = "", help: str = "", default: str | None = None, metavar: str = "string",
      hidden: bool = False) -> Flag:
    return Flag(long, short, "string", default, help, metavar, hidden)


def I(long: str, short: str = "", help: str = "", default: int | None = None, hidden: bool = False) -> Flag:  # noqa: E743
    return Flag(long, short, "int", default, help, "int", hidden)


def L(long: str, short: str = "", help: str = "", metavar: str = "list", hidden: bool = False) -> Flag:
    return Flag(long, short, "list", None, help, metavar, hidden)


_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def _convert(flag: Flag, value: str, spec: Spec) -> Any:
    if flag.kind == "bool":
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise UsageError(f'invalid argument "{value}" for "{flag.label}" flag: '
                         f'strconv.ParseBool: parsing "{value}": invalid syntax', spec)
    if flag.kind == "int":
        try:
            return int(value, 0) if value.lower().startswith(("0x", "0o", "0b")) else int(value)
        except ValueError:
            raise UsageError(f'invalid argument "{value}" for "{flag.label}" flag: '
                             f'strconv.ParseInt: parsing "{value}": invalid syntax', spec) from None
    return value


def parse(spec: Spec, argv: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Parse argv for `spec`. Raises UsageError / HelpRequested. Unset flags hold their default."""
    longs = {f.long: f for f in spec.flags}
    shorts = {f.short: f for f in spec.flags if f.short}
    opts: dict[str, Any] = {f.dest: ([] if f.kind == "list" else f.default) for f in spec.flags}
    opts["_set"] = set()
    args: list[str] = []

    def store(flag: Flag, value: str) -> None:
        v = _convert(flag, value, spec)
        if flag.kind == "list":
            opts[flag.dest].append(v)
        else:
            opts[flag.dest] = v
        opts["_set"].add(flag.dest)

    i = 0
    while i < len(argv):
        a = argv[i]
        i += 1
        if a == "--":
            args.extend(argv[i:])
            break
        if a.startswith("--") and len(a) > 2:
            name, eq, value = a[2:].partition("=")
            if name == "help":
                raise HelpRequested(spec)
            flag = longs.get(name)
            if flag is None:
                raise UsageError(f"unknown flag: --{name}", spec)
            if eq:
                store(flag, value)
            elif flag.kind == "bool":
                store(flag, "true")
            elif i < len(argv):
                store(flag, argv[i])
                i += 1
            else:
                raise UsageError(f"flag needs an argument: --{name}", spec)
        elif a.startswith("-") and len(a) > 1:
            j = 1
            while j < len(a):
                c = a[j]
                if c == "h" and "h" not in shorts:
                    raise HelpRequested(spec)
                flag = shorts.get(c)
                if flag is None:
                    raise UsageError(f"unknown shorthand flag: '{c}' in {a}", spec)
                rest = a[j + 1:]
                if flag.kind == "bool":
                    if rest.startswith("="):
                        store(flag, rest[1:])
                        break
                    store(flag, "true")
                    j += 1
                    continue
                if rest:
                    store(flag, rest[1:] if rest.startswith("=") else rest)
                elif i < len(argv):
                    store(flag, argv[i])
                    i += 1
                else:
                    raise UsageError(f"flag needs an argument: '{c}' in -{c}", spec)
                break
        else:
            args.append(a)
            if not spec.interspersed:
                args.extend(argv[i:])
                break
    check_args(spec, args)
    return opts, args


def check_args(spec: Spec, args: list[str]) -> None:
    n = len(args)
    name = f"'{PROG} {spec.path}'"
    lo, hi = spec.min_args, spec.max_args
    if lo == hi and n != lo:
        msg = "accepts no arguments" if lo == 0 else f"requires {lo} argument{'s' if lo != 1 else ''}"
        raise UsageError(f"{name} {msg}", spec, 1, prefixed=True)
    if n < lo:
        raise UsageError(f"{name} requires at least {lo} argument{'s' if lo != 1 else ''}", spec, 1,
                         see=True, prefixed=True)
    if hi >= 0 and n > hi:
        raise UsageError(f"{name} requires at most {hi} argument{'s' if hi != 1 else ''}", spec, 1,
                         prefixed=True)


_ALIASES = {
    "run": "container run", "create": "container create", "start": "container start",
    "stop": "container stop", "kill": "container kill", "restart": "container restart",
    "rm": "container rm, docker container remove", "wait": "container wait", "logs": "container logs",
    "export": "container export", "ps": "container ls, docker container list, docker container ps",
    "images": "image ls, docker image list", "rmi": "image rm, docker image remove", "tag": "image tag",
    "import": "image import", "save": "image save", "load": "image load", "history": "image history",
    "info": "system info", "pause": "container pause", "unpause": "container unpause",
    "rename": "container rename", "top": "container top", "diff": "container diff", "stats": "container stats",
}
_CANONICAL = {"ls": "ps", "list": "ps", "remove": "rm"}


def aliases_of(path: str) -> str:
    """cobra's "Aliases:" line, e.g. "docker container stop, docker stop"."""
    group, _, name = path.rpartition(" ")
    key = {"image ls": "images", "image list": "images", "image rm": "rmi", "image remove": "rmi",
           "system info": "info"}.get(path) or _CANONICAL.get(name, name)
    alias = _ALIASES.get(key)
    if alias is None or (group and group not in alias and key not in ("images", "rmi", "info")):
        return ""
    return f"docker {alias}, docker {key}"


def help_text(spec: Spec) -> str:
    """cobra's help layout: usage, description, aliases, aligned options."""
    out = [f"Usage:  {spec.usage}", ""]
    if spec.desc:
        out += [spec.desc, ""]
    aliases = spec.aliases or aliases_of(spec.path)
    if aliases:
        out += ["Aliases:", "  " + aliases.replace("docker ", f"{PROG} "), ""]
    visible = [f for f in spec.flags if not f.hidden]
    if visible:
        out.append("Options:")
        rows = []
        for f in visible:
            left = (f"-{f.short}, " if f.short else "    ") + f"--{f.long}"
            if f.kind != "bool":
                left += " " + (f.metavar or f.kind)
            rows.append((left, f.help + (f' (default "{f.default}")' if isinstance(f.default, str) and f.default
                                         else f" (default {f.default})" if f.kind == "int" and f.default
                                         not in (None, 0) else "")))
        w = max(len(r[0]) for r in rows)
        out += [f"  {left.ljust(w)}   {h}".rstrip() for left, h in rows]
    return "\n".join(out) + "\n"
