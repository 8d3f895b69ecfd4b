"""Parsed nodes -> checked instructions grouped into stages (buildkit dockerfile/instructions).

Everything that dockerd rejects before the first step runs is rejected here, with its
words: ``dockerfile parse error line 3: unknown instruction: FORM``, ``FROM requires either
one or three arguments``, ``Unknown flag: bogus``.  What needs the build's state
(variable expansion, ports, signals) is checked when the step is dispatched, as dockerd does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tugboat.engine.builder.parser import Node, ParseError

_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-_\.]*$")

# instruction -> the flags it accepts (None: a value, True: a boolean)
_FLAGS: dict[str, dict[str, bool]] = {
    "from": {"platform": False},
    "copy": {"chown": False, "chmod": False, "from": False, "link": True},
    "add": {"chown": False, "chmod": False, "link": True, "checksum": False},
    "healthcheck": {"interval": False, "timeout": False, "start-period": False, "retries": False},
    "run": {},
}
KNOWN = frozenset({"add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck",
                   "label", "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume",
                   "workdir"})


@dataclass
class Instruction:
    """One instruction: ``kind`` (lower case), the parser's ``args``, parsed ``flags``."""

    kind: str
    node: Node
    args: list[str]
    flags: dict[str, str] = field(default_factory=dict)

    @property
    def line(self) -> int:
        return self.node.start_line

    @property
    def exec_form(self) -> bool:
        return self.node.json

    def step_text(self) -> str:
        """How dockerd echoes it in "Step n/m : ..."."""
        return self.node.original.strip()


@dataclass
class Stage:
    index: int
    name: str              # "" if unnamed (lower case as buildkit)
    base: str              # the FROM argument, not yet expanded
    platform: str
    from_instr: Instruction
    instructions: list[Instruction] = field(default_factory=list)


def _err(node: Node, msg: str) -> ParseError:
    return ParseError(f"dockerfile parse error line {node.start_line}: {msg}")


def parse_flags(node: Node) -> dict[str, str]:
    allowed = _FLAGS.get(node.cmd, {})
    out: dict[str, str] = {}
    for raw in node.flags:
        name, eq, value = raw[2:].partition("=")
        if name not in allowed:
            raise _err(node, f"Unknown flag: {name}")
        if allowed[name]:
            if eq and value.lower() not in ("true", "false"):
                raise _err(node, f"expecting boolean value for flag {name}, not: {value}")
            out[name] = "true" if not eq or value.lower() == "true" else "false"
        else:
            if not eq:
                raise _err(node, f"Missing a value on flag: {raw}")
            if name in out:
                raise _err(node, f"Duplicate flag specified: {name}")
            out[name] = value
    return out


def parse_instruction(node: Node) -> Instruction:
    kind = node.cmd
    if kind not in KNOWN:
        raise _err(node, f"unknown instruction: {kind.upper()}")
    if node.flags and kind not in _FLAGS:
        name = node.flags[0][2:].partition("=")[0]
        raise _err(node, f"Unknown flag: {name}")
    flags = parse_flags(node)
    args = list(node.args)
    up = kind.upper()
    if kind in ("env", "label"):
        if not args:
            raise _err(node, f"{up} requires at least one argument")
        for k in args[0::2]:
            if not k:
                raise _err(node, f"{up} names can not be blank")
    elif kind in ("add", "copy"):
        if len(args) < 2 and not (node.heredocs and args):
            raise _err(node, f"{up} requires at least two arguments")
    elif kind in ("expose", "volume", "arg"):
        if not args:
            raise _err(node, f"{up} requires at least one argument")
    elif kind in ("user", "workdir", "stopsignal", "maintainer"):
        if len(args) != 1:
            raise _err(node, f"{up} requires exactly one argument")
    elif kind == "shell":
        if not node.json:
            raise _err(node, "SHELL requires the arguments to be in JSON form")
        if not args:
            raise _err(node, "SHELL requires at least one argument")
    elif kind == "onbuild":
        if node.sub is None:
            raise _err(node, "ONBUILD requires at least one argument")
        sub = node.sub.cmd.upper()
        if sub == "ONBUILD":
            raise _err(node, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        if sub in ("MAINTAINER", "FROM"):
            raise _err(node, f"{sub} isn't allowed as an ONBUILD trigger")
    elif kind == "healthcheck":
        if not args:
            raise _err(node, "HEALTHCHECK requires an argument")
        typ = args[0].upper()
        if typ == "NONE":
            if len(args) > 1:
                raise _err(node, "HEALTHCHECK NONE takes no arguments")
        elif typ != "CMD":
            raise _err(node, f'Unknown type "{typ}" in HEALTHCHECK (try CMD)')
        elif len(args) < 2:
            raise _err(node, "Missing command after HEALTHCHECK CMD")
    elif kind == "from":
        if len(args) not in (1, 3) or (len(args) == 3 and args[1].lower() != "as"):
            raise _err(node, "FROM requires either one or three arguments")
        if len(args) == 3 and not _STAGE_NAME.match(args[2].lower()):
            raise _err(node, f'invalid name for build stage: "{args[2]}", name can\'t start with a number '
                             "or contain symbols")
    elif kind == "arg":
        pass
    return Instruction(kind, node, args, flags)


def parse_stages(nodes: list[Node]) -> tuple[list[Stage], list[Instruction]]:
    """(stages, meta ARGs before the first FROM)."""
    stages: list[Stage] = []
    meta: list[Instruction] = []
    for node in nodes:
        ins = parse_instruction(node)
        if ins.kind == "from":
            name = ins.args[2].lower() if len(ins.args) == 3 else ""
            stages.append(Stage(len(stages), name, ins.args[0], ins.flags.get("platform", ""), ins))
        elif not stages:
            if ins.kind != "arg":
                raise ParseError("no build stage in current context")
            meta.append(ins)
        else:
            stages[-1].instructions.append(ins)
    if not stages:
        raise ParseError("no build stage in current context")
    return stages, meta
