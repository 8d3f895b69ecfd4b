"""The Dockerfile line parser (buildkit frontend/dockerfile/parser, as vendored by dockerd).

It turns the text into ``Node``s — one per instruction, with its flags, its arguments as
the per-instruction line parser splits them (JSON exec form, whitespace lists, key=value
pairs), the original line and its line numbers — and knows nothing about what an
instruction means (``instructions.py`` does).  Doing it the way buildkit does matters
because users rely on the corner cases: parser directives only before anything else,
comments inside continuations, empty continuation lines, the escape character.

Heredocs (``RUN <<EOF``) are a Dockerfile 1.4 feature that dockerd 20.10's classic builder
lacks; they are parsed here as buildkit does (a deliberate superset of the reference).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from tugboat.engine.image_changes import parse_words
from tugboat.errors import InvalidArgument

_DIRECTIVE = re.compile(r"^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$")
_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
_HEREDOC = re.compile(r"^<<(-?)\s*(['\"]?)([a-zA-Z_][a-zA-Z0-9_]*)\2$")
HEREDOC_COMMANDS = frozenset({"run", "copy", "add"})


class ParseError(InvalidArgument):
    """A Dockerfile that cannot be parsed (HTTP 400, as dockerd's InvalidParameter)."""


@dataclass
class Heredoc:
    name: str
    content: str
    expand: bool = True    # an unquoted terminator: variables expand (RUN: by the shell)
    chomp: bool = False    # <<- : leading tabs stripped


@dataclass
class Node:
    """One instruction.  ``args`` are the line parser's words (for ONBUILD, the trigger
    line is ``args[0]``); ``json`` tells exec form; ``original`` is the joined line."""

    cmd: str                       # lower case ("run")
    args: list[str]
    original: str
    start_line: int
    end_line: int
    flags: list[str] = field(default_factory=list)
    json: bool = False
    heredocs: list[Heredoc] = field(default_factory=list)
    sub: Node | None = None        # ONBUILD's trigger, parsed
    comments: list[str] = field(default_factory=list)


@dataclass
class Result:
    nodes: list[Node]
    escape: str = "\\"
    warnings: list[str] = field(default_factory=list)
    syntax: str = ""


def _is_comment(line: str) -> bool:
    return line.lstrip(" \t").startswith("#")


class _Directives:
    def __init__(self) -> None:
        self.escape = "\\"
        self.done = False
        self.seen: set[str] = set()
        self.syntax = ""

    def possible(self, line: str) -> None:
        if self.done:
            return
        m = _DIRECTIVE.match(line)
        if not m:
            self.done = True
            return
        key, value = m.group(1).lower(), m.group(2)
        if key not in ("escape", "syntax", "check"):
            self.done = True   # an ordinary comment ends the directive block
            return
        if key in self.seen:
            raise ParseError(f"only one {key} parser directive can be used")
        self.seen.add(key)
        if key == "escape":
            if value not in ("`", "\\"):
                raise ParseError(f"invalid escape token '{value}' does not match ` or \\")
            self.escape = value
        elif key == "syntax":
            self.syntax = value


def _trim_continuation(line: str, escape: str) -> tuple[str, bool]:
    """(line without its trailing escape, is this the end of the logical line)."""
    m = re.search(re.escape(escape) + r"[ \t]*$", line)
    if m:
        return line[:m.start()], False
    return line, True


def extract_flags(rest: str) -> tuple[str, list[str]]:
    """extractBuilderFlags: leading ``--name[=value]`` words (quotes allowed); ``--`` ends them."""
    flags: list[str] = []
    i, n = 0, len(rest)
    while True:
        while i < n and rest[i] in " \t":
            i += 1
        if not rest.startswith("--", i):
            return rest[i:], flags
        j, word, quote = i, "", ""
        while j < n:
            ch = rest[j]
            if quote:
                if ch == quote:
                    quote = ""
                elif ch == "\\" and quote == '"' and j + 1 < n:
                    j += 1
                    word += rest[j]
                else:
                    word += ch
            elif ch in "'\"":
                quote = ch
            elif ch in " \t":
                break
            else:
                word += ch
            j += 1
        if quote:
            raise ParseError("unexpected end of statement while looking for matching " +
                             ("single-quote" if quote == "'" else "double-quote"))
        i = j
        if word == "--":
            return rest[i:].lstrip(" \t"), flags
        flags.append(word)


def _split_command(line: str) -> tuple[str, list[str], str]:
    parts = _WHITESPACE.split(line.strip(), maxsplit=1)
    cmd = parts[0].lower()
    if len(parts) < 2:
        return cmd, [], ""
    rest, flags = extract_flags(parts[1])
    return cmd, flags, rest.strip()


def _maybe_json(rest: str) -> tuple[list[str], bool]:
    """parseMaybeJSON: a JSON array of strings is exec form, anything else one shell string."""
    if not rest:
        return [], False
    if rest.lstrip().startswith("["):
        try:
            val = json.loads(rest)
        except ValueError:
            val = None
        if isinstance(val, list):
            if not all(isinstance(v, str) for v in val):
                raise ParseError("when using JSON array syntax, arrays must be comprised of strings only")
            return val, True
    return [rest], False


def _name_val(rest: str, key: str, escape: str) -> list[str]:
    """parseNameVal (ENV, LABEL): [k1, v1, k2, v2, ...] for both syntaxes."""
    words = parse_words(rest, escape)
    if not words:
        return []
    if "=" not in words[0]:
        parts = _WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise ParseError(f"{key} must have two arguments")
        return [parts[0], parts[1]]
    out: list[str] = []
    for w in words:
        if "=" not in w:
            raise ParseError(f'Syntax error - can\'t find = in "{w}". Must be of the form: name=value')
        k, _, v = w.partition("=")
        out += [k, v]
    return out


def _line_args(cmd: str, rest: str, escape: str) -> tuple[list[str], bool]:
    """The dispatch table of buildkit's line parsers."""
    if cmd in ("cmd", "entrypoint", "run", "shell"):
        return _maybe_json(rest)
    if cmd in ("add", "copy", "volume"):
        args, is_json = _maybe_json(rest)
        if is_json or not rest:
            return args, is_json
        return _WHITESPACE.split(rest), False
    if cmd in ("env", "label"):
        return _name_val(rest, cmd.upper(), escape), False
    if cmd == "arg":
        return parse_words(rest, escape), False
    if cmd in ("expose", "from"):
        return (_WHITESPACE.split(rest) if rest else []), False
    if cmd == "healthcheck":
        m = re.match(r"(\S+)\s*(.*)$", rest, re.S)
        if not m:
            return [], False
        args, is_json = _maybe_json(m.group(2))
        return [m.group(1), *args], is_json
    return ([rest] if rest else []), False


def node_from_line(line: str, escape: str, start: int, end: int, comments: list[str] | None = None) -> Node:
    cmd, flags, rest = _split_command(line)
    args, is_json = _line_args(cmd, rest, escape)
    node = Node(cmd=cmd, args=args, original=line, start_line=start, end_line=end, flags=flags,
                json=is_json, comments=list(comments or []))
    if cmd == "onbuild" and rest:
        node.sub = node_from_line(rest, escape, start, end)
    return node


def heredoc_names(node: Node) -> list[tuple[str, bool, bool]]:
    """(name, expand, chomp) of each ``<<NAME`` word of a RUN/COPY/ADD shell-form line."""
    if node.cmd not in HEREDOC_COMMANDS or node.json:
        return []
    words = _WHITESPACE.split(" ".join(node.args).strip()) if node.args else []
    out = []
    for w in words:
        m = _HEREDOC.match(w)
        if m:
            out.append((m.group(3), not m.group(2), bool(m.group(1))))
    return out


def parse(text: str | bytes) -> Result:
    """Parse a whole Dockerfile.  Errors as buildkit's (the caller adds dockerd's prefix)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.removeprefix("\ufeff")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    d = _Directives()
    nodes: list[Node] = []
    warnings: list[str] = []
    comments: list[str] = []
    i, n = 0, len(lines)
    while i < n:
        raw = lines[i].rstrip("\r")
        i += 1
        if _is_comment(raw):
            c = raw.lstrip(" \t")[1:].strip()
            comments = comments + [c] if c else []
        d.possible(raw.lstrip(" \t"))
        start = i
        line = "" if _is_comment(raw) else raw.lstrip(" \t")
        line, eol = _trim_continuation(line, d.escape)
        if eol and not line.strip():
            continue
        empty_continuation = False
        while not eol and i < n:
            nxt = lines[i].rstrip("\r")
            i += 1
            d.possible(nxt)
            if _is_comment(nxt):
                continue
            if not nxt.strip():
                empty_continuation = True
                continue
            part, eol = _trim_continuation(nxt, d.escape)
            line += part
        if empty_continuation:
            warnings.append("[WARNING]: Empty continuation line found in:\n    " + line)
        node = node_from_line(line, d.escape, start, i, comments)
        for name, expand, chomp in heredoc_names(node):
            body: list[str] = []
            while True:
                if i >= n:
                    raise ParseError(f"dockerfile parse error line {start}: unterminated heredoc")
                content = lines[i].rstrip("\r")
                i += 1
                candidate = content.lstrip("\t") if chomp else content
                if candidate == name:
                    break
                body.append((content.lstrip("\t") if chomp else content) + "\n")
            node.heredocs.append(Heredoc(name, "".join(body), expand, chomp))
        node.end_line = i
        nodes.append(node)
        comments = []
    if not nodes:
        raise ParseError("file with no instructions")
    return Result(nodes, d.escape, warnings, d.syntax)
