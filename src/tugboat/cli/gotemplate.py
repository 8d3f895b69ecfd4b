"""A compact evaluator for the part of Go's text/template that `--format` users write.

docker formats output with Go templates, so `tug` must too: field chains (`.State.Status`), pipes
(`{{.X | json}}`), `range`/`if`/`with`/`else`/`end`, variables (`$`, `$x :=`), Go's builtins
(index, len, eq, ne, lt, le, gt, ge, and, or, not, print, printf, println, slice) and docker's
extras (json, join, split, title, lower, upper, pad, truncate). Values print the way Go's fmt
prints what docker's templates see: `[a b]` for lists, `map[k:v]` (sorted keys), `<no value>`
for a missing map key, `<nil>` for null.

Data are plain dicts/lists (from the API's JSON) or objects whose capitalised methods are fields
(the ps/images row contexts, like docker's formatter.ContainerContext).
"""

from __future__ import annotations

import json
import re

from tugboat.cli.goquote import go_quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class TemplateError(Exception):
    """Go's error text, without docker's "template parsing error: " prefix."""


class ParseError(TemplateError):
    pass


class ExecError(TemplateError):
    pass


class NoValue:
    """Go's "<no value>": what a missing key of a map yields."""

    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE = NoValue()


class GoMap(dict):
    """A dict that is a Go map (Labels, Networks...): a missing key is <no value>, not an error."""


class Struct(dict):
    """A dict standing for a Go struct whose Go field names differ from its JSON keys
    (`.Server.APIVersion` is the `ApiVersion` key): `aliases` maps field name -> key."""

    aliases: dict[str, str] = {}
    go_type = ""  # if set, a missing key is Go's "can't evaluate field X in type <go_type>"


class Typed(dict):
    """A JSON object standing for a Go struct some of whose fields the JSON omits (omitempty):
    ``omitted`` gives their Go zero values (None for a nil pointer, "<nil>" when printed)."""

    def __init__(self, value: dict, omitted: dict[str, Any]) -> None:
        super().__init__(value)
        self.omitted = omitted


class NilList(list):
    """A JSON null where Go has a nil slice: prints `[]`, `json` gives `null`."""


class NilMap(GoMap):
    """A JSON null where Go has a nil map: prints `map[]`, `json` gives `null`."""


# Keys whose values are Go maps / slices in docker's types (for printing nulls and missing keys).
MAP_KEYS = frozenset({"Labels", "Volumes", "ExposedPorts", "Networks", "Ports", "Options", "Data",
                      "DriverOpts", "Annotations", "Sysctls", "StorageOpt", "Tmpfs", "PortBindings",
                      "LogConfig.Config", "Config_map", "Metadata"})
LIST_KEYS = frozenset({"Entrypoint", "Cmd", "Env", "Mounts", "Binds", "Links", "Dns", "DnsOptions",
                       "DnsSearch", "ExtraHosts", "CapAdd", "CapDrop", "GroupAdd", "SecurityOpt",
                       "OnBuild", "Shell", "RepoTags", "RepoDigests", "Layers", "Args", "Devices",
                       "Ulimits", "Aliases", "Healthcheck.Test", "VolumesFrom", "ConsoleSize",
                       "DeviceRequests", "MaskedPaths", "ReadonlyPaths", "Secondary", "Warnings"})


def _wrap(key: str, v: Any) -> Any:
    if v is None:
        if key in LIST_KEYS:
            return NilList()
        if key in MAP_KEYS:
            return NilMap()
        return None
    if isinstance(v, dict) and key in MAP_KEYS and not isinstance(v, GoMap):
        return GoMap(v)
    return v


# ----------------------------------------------------------------------------------------------------
# printing values the way Go's fmt %v does

def go_str(v: Any, top: bool = True) -> str:
    if v is None:
        return "<nil>"
    if isinstance(v, NoValue):
        return "<no value>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v == int(v) and abs(v) < 1e21:
            return str(int(v))
        return repr(v).replace("e+", "e+").replace("e-0", "e-0")
    if isinstance(v, str):
        return v
    if isinstance(v, GoMap):
        return "map[" + " ".join(f"{go_str(k, False)}:{go_str(v[k], False)}" for k in sorted(v)) + "]"
    if isinstance(v, dict):
        return "{" + " ".join(go_str(x, False) for x in v.values()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(go_str(x, False) for x in v) + "]"
    if hasattr(v, "go_string"):
        return str(v.go_string())
    return str(v)


def _unwrap_nil(v: Any) -> Any:
    if isinstance(v, (NilList, NilMap)):
        return None
    if isinstance(v, NoValue):
        return None
    if isinstance(v, GoMap):  # Go marshals map keys sorted
        return {k: _unwrap_nil(v[k]) for k in sorted(v)}
    if isinstance(v, dict):
        return {k: _unwrap_nil(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_unwrap_nil(x) for x in v]
    if hasattr(v, "to_json"):
        return v.to_json()
    return v


def go_json(v: Any) -> str:
    """docker's `json` func: encoding/json (no HTML escaping), no trailing newline.

    Key order is kept: the daemon's JSON already has Go's order (struct fields in declaration
    order, map keys sorted). Row contexts (ps/images) marshal themselves with json.Marshal, which
    does escape <, > and &."""
    text = json.dumps(_unwrap_nil(v), separators=(",", ":"), ensure_ascii=False)
    if hasattr(v, "to_json"):
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text


def truth(v: Any) -> bool:
    if v is None or isinstance(v, NoValue):
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float, str, list, tuple, dict)):
        return bool(v)
    return True


_FMT = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])")


def go_sprintf(fmt: str, *args: Any) -> str:
    it = iter(args)
    missing = object()

    def repl(m: re.Match[str]) -> str:
        flags, width, prec, verb = m.groups()
        if verb == "%":
            return "%"
        a: Any = next(it, missing)
        if a is missing:
            return f"%!{verb}(MISSING)"
        if verb in "vs":
            s = go_str(a)
            if prec is not None:
                s = s[: int(prec)]
        elif verb == "q":
            s = go_quote(go_str(a))
        elif verb == "d":
            try:
                s = str(int(a))
            except (TypeError, ValueError):
                return f"%!d({type(a).__name__}={go_str(a)})"
        elif verb == "t":
            s = go_str(a)
        elif verb in "xX":
            s = format(int(a), verb) if isinstance(a, (int, float)) else go_str(a).encode().hex()
        elif verb in "feg":
            s = format(float(a), f".{prec if prec is not None else 6}{verb}")
        else:
            s = go_str(a)
        if width:
            w = int(width)
            s = s.ljust(w) if "-" in flags else (s.rjust(w, "0") if "0" in flags and verb in "dfeg"
                                                else s.rjust(w))
        return s

    out = _FMT.sub(repl, fmt)
    extra = [a for a in it]
    if extra:
        out += "%!(EXTRA " + ", ".join(f"{type(a).__name__}={go_str(a)}" for a in extra) + ")"
    return out


def _go_print(*args: Any) -> str:
    out = ""
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out += " "
        out += go_str(a)
    return out


def _index(v: Any, *keys: Any) -> Any:
    for k in keys:
        if isinstance(v, dict):
            v = v.get(k, NO_VALUE if isinstance(v, GoMap) else None)
            if v is None:
                v = NO_VALUE
        elif isinstance(v, (list, tuple, str)):
            try:
                v = v[int(k)]
            except (IndexError, ValueError, TypeError):
                raise ExecError(f"error calling index: index out of range: {k}") from None
        elif v is None:
            raise ExecError("error calling index: index of untyped nil")
        else:
            raise ExecError(f"error calling index: can't index item of type {type(v).__name__}")
    return v


def _len(v: Any) -> int:
    try:
        return len(v)
    except TypeError:
        raise ExecError(f"error calling len: len of type {type(v).__name__}") from None


def _cmp(op: str) -> Callable[..., bool]:
    def f(a: Any, *bs: Any) -> bool:
        if isinstance(a, NoValue):
            a = None
        if op == "eq":
            return any(a == b for b in bs)
        (b,) = bs
        try:
            return {"ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]
        except TypeError:
            raise ExecError(f"error calling {op}: incompatible types for comparison") from None
    return f


def _title(s: str) -> str:
    return re.sub(r"(^|[^\w'])(\w)", lambda m: m.group(1) + m.group(2).upper(), s)


def _truncate(s: str, n: int) -> str:
    return s[:n] if len(s) > n else s


def _pad(s: str, prefix: int, suffix: int) -> str:
    return " " * prefix + s + " " * suffix


FUNCS: dict[str, Callable[..., Any]] = {
    "json": go_json, "join": lambda a, sep: sep.join(go_str(x) for x in a),
    "split": lambda s, sep: s.split(sep) if sep else list(s), "title": _title,
    "lower": lambda s: go_str(s).lower(), "upper": lambda s: go_str(s).upper(),
    "pad": _pad, "truncate": _truncate,
    "index": _index, "len": _len, "print": _go_print,
    "println": lambda *a: " ".join(go_str(x) for x in a) + "\n", "printf": go_sprintf,
    "eq": _cmp("eq"), "ne": _cmp("ne"), "lt": _cmp("lt"), "le": _cmp("le"), "gt": _cmp("gt"),
    "ge": _cmp("ge"), "not": lambda a: not truth(a),
    "slice": lambda v, *ix: v[slice(*(int(i) for i in ix))] if ix else v,
    "urlquery": lambda *a: __import__("urllib.parse").parse.quote_plus(_go_print(*a)),
    "html": lambda *a: __import__("html").escape(_go_print(*a)),
    "js": lambda *a: json.dumps(_go_print(*a))[1:-1],
}
_SPECIAL = {"and", "or"}


# ----------------------------------------------------------------------------------------------------
# lexing and parsing

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\]|\\.)+')
  | (?P<num>[-+]?(?:0[xX][0-9a-fA-F_]+|\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))
  | (?P<decl>:=)
  | (?P<assign>=)
  | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+)
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<dot>\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<pipe>\|)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
""", re.X)


class Node:
    pos = 0
    src = ""


class Text(Node):
    def __init__(self, text: str) -> None:
        self.text = text


class Operand(Node):
    """kind: field (dot + names), var (name + names), dot, lit (value), ident (function), pipe."""

    def __init__(self, kind: str, pos: int, src: str, value: Any = None, names: tuple[str, ...] = (),
                 pipe: Pipe | None = None) -> None:
        self.kind, self.pos, self.src, self.value, self.names, self.pipe = kind, pos, src, value, names, pipe


class Command(Node):
    def __init__(self, args: list[Operand]) -> None:
        self.args = args
        self.pos = args[0].pos if args else 0


class Pipe(Node):
    def __init__(self, decl: list[str], assign: bool, cmds: list[Command], pos: int, src: str) -> None:
        self.decl, self.assign, self.cmds, self.pos, self.src = decl, assign, cmds, pos, src


class Action(Node):
    def __init__(self, pipe: Pipe) -> None:
        self.pipe = pipe


class Branch(Node):
    def __init__(self, kind: str, pipe: Pipe, body: list[Node], other: list[Node] | None) -> None:
        self.kind, self.pipe, self.body, self.other = kind, pipe, body, other


class Template:
    """Parse once with Template(text); render with .execute(data)."""

    def __init__(self, text: str, funcs: dict[str, Callable[..., Any]] | None = None,
                 name: str = "") -> None:
        self.text = text
        self.name = name
        self.funcs = {**FUNCS, **(funcs or {})}
        self._items = self._lex(text)
        self._i = 0
        body, end = self._parse_list()
        if end is not None:
            raise ParseError(f"template: {name}:{self._line(end[1])}: unexpected {{{{{end[0]}}}}}")
        self.root = body

    # -- lexing: text and action token lists ------------------------------------------------------------
    def _line(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def _col(self, pos: int) -> int:
        return pos - (self.text.rfind("\n", 0, pos) + 1)

    def _lex(self, text: str) -> list[tuple[str, Any, int]]:
        items: list[tuple[str, Any, int]] = []
        i = 0
        trim_next = False
        while True:
            j = text.find("{{", i)
            if j < 0:
                chunk = text[i:]
                items.append(("text", chunk.lstrip() if trim_next else chunk, i))
                break
            chunk = text[i:j]
            if trim_next:
                chunk = chunk.lstrip()
            start = j + 2
            if text.startswith("- ", start) or text.startswith("-\t", start) or text.startswith("-\n", start):
                chunk = chunk.rstrip()
                start += 1
            items.append(("text", chunk, i))
            k = start
            while k < len(text) and text[k] in " \t\r\n":
                k += 1
            if text.startswith("/*", k):
                e = text.find("*/", k)
                if e < 0:
                    raise ParseError(f"template: {self.name}:{self._line(j)}: unclosed comment")
                close = text.find("}}", e)
                if close < 0:
                    raise ParseError(f"template: {self.name}:{self._line(j)}: unclosed action")
                trim_next = text[e + 2:close].strip() == "-"
                i = close + 2
                continue
            toks, end = self._lex_action(text, start, j)
            trim_next = text[end - 3:end - 2] == "-" and text[end - 4:end - 3] in " \t\r\n"
            items.append(("action", toks, j))
            i = end
        return items

    def _lex_action(self, text: str, pos: int, start: int) -> tuple[list[tuple[str, str, int]], int]:
        toks: list[tuple[str, str, int]] = []
        while True:
            if pos >= len(text):
                raise ParseError(f"template: {self.name}:{self._line(start)}: unclosed action")
            if text.startswith("}}", pos):
                return toks, pos + 2
            if text.startswith(" -}}", pos) or text.startswith("\t-}}", pos) or text.startswith("\n-}}", pos):
                return toks, pos + 4
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                if text[pos] == "\n":
                    raise ParseError(f"template: {self.name}:{self._line(start)}: unclosed action")
                ch = text[pos]
                raise ParseError(f"template: {self.name}:{self._line(pos)}: bad character "
                                 f"U+{ord(ch):04X} '{ch}'")
            kind = m.lastgroup or ""
            if kind != "ws":
                toks.append((kind, m.group(), pos))
            pos = m.end()

    # -- parsing --------------------------------------------------------------------------------------
    def _parse_list(self) -> tuple[list[Node], tuple[str, int, list[tuple[str, str, int]]] | None]:
        """Nodes until {{end}}/{{else}} (returned as the terminator) or the end of input."""
        nodes: list[Node] = []
        while self._i < len(self._items):
            kind, payload, pos = self._items[self._i]
            self._i += 1
            if kind == "text":
                if payload:
                    nodes.append(Text(payload))
                continue
            toks = payload
            if not toks:
                raise ParseError(f"template: {self.name}:{self._line(pos)}: missing value for command")
            head = toks[0]
            if head[0] == "ident" and head[1] in ("end", "else"):
                return nodes, (head[1], pos, toks[1:])
            if head[0] == "ident" and head[1] in ("if", "range", "with"):
                nodes.append(self._parse_branch(head[1], toks[1:], pos))
                continue
            if head[0] == "ident" and head[1] in ("define", "template", "block", "break", "continue"):
                raise ParseError(f"template: {self.name}:{self._line(pos)}: {{{{{head[1]}}}}} is not supported")
            p = self._parse_pipe(toks, pos)
            nodes.append(Action(p))
        return nodes, None

    def _parse_branch(self, kind: str, toks: list[tuple[str, str, int]], pos: int) -> Branch:
        pipe = self._parse_pipe(toks, pos, allow_range_decl=kind == "range")
        body, end = self._parse_list()
        if end is None:
            raise ParseError(f"template: {self.name}:{self._line(len(self.text))}: unexpected EOF")
        other: list[Node] | None = None
        if end[0] == "else":
            rest = end[2]
            if rest and rest[0][0] == "ident" and rest[0][1] in ("if", "with"):
                other = [self._parse_branch(rest[0][1], rest[1:], end[1])]
                return Branch(kind, pipe, body, other)
            other, end2 = self._parse_list()
            if end2 is None or end2[0] != "end":
                raise ParseError(f"template: {self.name}:{self._line(len(self.text))}: unexpected EOF")
        return Branch(kind, pipe, body, other)

    def _parse_pipe(self, toks: list[tuple[str, str, int]], pos: int, allow_range_decl: bool = False) -> Pipe:
        decl: list[str] = []
        assign = False
        # variable declarations: $x := ... / $i, $e := ...
        for n in (3, 1) if allow_range_decl else (1,):
            if n == 3 and len(toks) > 4 and toks[0][0] == "var" and toks[1][0] == "comma" \
                    and toks[2][0] == "var" and toks[3][0] == "decl":
                decl = [toks[0][1], toks[2][1]]
                toks = toks[4:]
                break
            if n == 1 and len(toks) > 2 and toks[0][0] == "var" and toks[1][0] in ("decl", "assign"):
                decl = [toks[0][1]]
                assign = toks[1][0] == "assign"
                toks = toks[2:]
                break
        src = " ".join(t[1] for t in toks)
        cmds: list[Command] = []
        cur: list[Operand] = []
        i = 0
        while i < len(toks):
            kind, val, p = toks[i]
            if kind == "pipe":
                if not cur:
                    raise ParseError(f"template: {self.name}:{self._line(p)}: missing value for command")
                cmds.append(Command(cur))
                cur = []
                i += 1
                continue
            op, i = self._operand(toks, i)
            cur.append(op)
        if cur:
            cmds.append(Command(cur))
        elif cmds or not decl:
            raise ParseError(f"template: {self.name}:{self._line(pos)}: missing value for command")
        return Pipe(decl, assign, cmds, pos, src)

    def _operand(self, toks: list[tuple[str, str, int]], i: int) -> tuple[Operand, int]:
        kind, val, p = toks[i]
        i += 1
        line = self._line(p)
        if kind == "field":
            # Go reports a chain at its second field (its parser's ChainNode starts there):
            # `.Config.Foo.Bar` is "at" the offset of `.Foo`.
            second = max(val.find(".", 1), 0)
            return Operand("field", p + second, val, names=tuple(val[1:].split("."))), i
        if kind == "var":
            name, *names = val.split(".")
            return Operand("var", p, val, value=name, names=tuple(names)), i
        if kind == "dot":
            return Operand("dot", p, "."), i
        if kind == "str":
            try:
                s = json.loads(val)
            except ValueError:
                import ast
                s = ast.literal_eval(val)
            return Operand("lit", p, val, value=s), i
        if kind == "raw":
            return Operand("lit", p, val, value=val[1:-1]), i
        if kind == "num":
            v = val.replace("_", "")
            num: Any = float(v) if any(c in v for c in ".eE") and not v.lower().startswith("0x") else int(v, 0)
            return Operand("lit", p, val, value=num), i
        if kind == "ident":
            if val in ("true", "false"):
                return Operand("lit", p, val, value=val == "true"), i
            if val == "nil":
                return Operand("lit", p, val, value=None), i
            if val not in self.funcs and val not in _SPECIAL:
                raise ParseError(f'template: {self.name}:{line}: function "{val}" not defined')
            return Operand("ident", p, val, value=val), i
        if kind == "lparen":
            depth, j = 1, i
            while j < len(toks):
                if toks[j][0] == "lparen":
                    depth += 1
                elif toks[j][0] == "rparen":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= len(toks):
                raise ParseError(f"template: {self.name}:{line}: unclosed left paren")
            inner = self._parse_pipe(toks[i:j], p)
            i = j + 1
            chain: tuple[str, ...] = ()
            if i < len(toks) and toks[i][0] == "field" and toks[i][2] == toks[j][2] + 1:
                chain = tuple(toks[i][1][1:].split("."))
                i += 1
            return Operand("pipe", p, "(" + inner.src + ")", names=chain, pipe=inner), i
        if kind == "rparen":
            raise ParseError(f"template: {self.name}:{line}: unexpected right paren")
        raise ParseError(f"template: {self.name}:{line}: unexpected \"{val}\" in command")

    # -- execution ------------------------------------------------------------------------------------
    def execute(self, data: Any) -> str:
        out: list[str] = []
        self._run(self.root, data, [("$", data)], out)
        return "".join(out)

    def _err(self, node: Node, msg: str) -> ExecError:
        return ExecError(f'template: {self.name}:{self._line(node.pos)}:{self._col(node.pos)}: '
                         f'executing "{self.name}" at <{node.src}>: {msg}')

    def _run(self, nodes: list[Node], dot: Any, vars: list[tuple[str, Any]], out: list[str]) -> None:
        for n in nodes:
            if isinstance(n, Text):
                out.append(n.text)
            elif isinstance(n, Action):
                v = self._pipe(n.pipe, dot, vars)
                if not n.pipe.decl:
                    out.append(go_str(v))
            elif isinstance(n, Branch):
                scope = list(vars)
                if n.kind == "range":
                    self._range(n, dot, scope, out)
                    continue
                v = self._pipe(n.pipe, dot, scope)
                if truth(v):
                    self._run(n.body, v if n.kind == "with" else dot, scope, out)
                elif n.other is not None:
                    self._run(n.other, dot, scope, out)

    def _range(self, n: Branch, dot: Any, scope: list[tuple[str, Any]], out: list[str]) -> None:
        decl, n.pipe.decl = n.pipe.decl, []
        try:
            v = self._pipe(n.pipe, dot, scope)
        finally:
            n.pipe.decl = decl
        if isinstance(v, dict):
            pairs: list[tuple[Any, Any]] = [(k, v[k]) for k in sorted(v)]
        elif isinstance(v, (list, tuple)):
            pairs = list(enumerate(v))
        elif isinstance(v, int) and not isinstance(v, bool):
            pairs = [(k, k) for k in range(v)]
        elif v is None or isinstance(v, NoValue):
            pairs = []
        else:
            at = n.pipe.cmds[0].args[0] if n.pipe.cmds and n.pipe.cmds[0].args else n.pipe
            raise self._err(at, f"range can't iterate over {go_str(v)}")
        if not pairs:
            if n.other is not None:
                self._run(n.other, dot, scope, out)
            return
        for k, item in pairs:
            inner = list(scope)
            if len(decl) == 1:
                inner.append((decl[0], item))
            elif len(decl) == 2:
                inner += [(decl[0], k), (decl[1], item)]
            self._run(n.body, item, inner, out)

    def _pipe(self, p: Pipe, dot: Any, vars: list[tuple[str, Any]]) -> Any:
        val: Any = _MISSING
        for c in p.cmds:
            val = self._command(c, dot, vars, val)
        if p.decl:
            if p.assign:
                for idx in range(len(vars) - 1, -1, -1):
                    if vars[idx][0] == p.decl[0]:
                        vars[idx] = (p.decl[0], val)
                        break
                else:
                    raise self._err(p, f"undefined variable: {p.decl[0]}")
            else:
                vars.append((p.decl[0], val))
        return val

    def _command(self, c: Command, dot: Any, vars: list[tuple[str, Any]], piped: Any) -> Any:
        first = c.args[0]
        rest = c.args[1:]
        if first.kind == "ident":
            name = str(first.value)
            if name in _SPECIAL:
                vals: list[Callable[[], Any]] = [
                    (lambda a=a: self._operand_value(a, dot, vars)) for a in rest]  # type: ignore[misc]
                if piped is not _MISSING:
                    vals.append(lambda: piped)
                result: Any = True if name == "and" else False
                for get in vals:
                    result = get()
                    if (name == "and") != truth(result):
                        return result
                return result
            args = [self._operand_value(a, dot, vars) for a in rest]
            if piped is not _MISSING:
                args.append(piped)
            try:
                return self.funcs[name](*args)
            except ExecError as e:
                raise self._err(c, str(e)) from None
            except TypeError as e:
                raise self._err(c, f"error calling {name}: {e}") from None
            except (AttributeError, ValueError) as e:
                raise self._err(c, f"error calling {name}: {e}") from None
        if first.kind == "field" and (rest or piped is not _MISSING):
            args = [self._operand_value(a, dot, vars) for a in rest]
            if piped is not _MISSING:
                args.append(piped)
            return self._chain(first, dot, first.names, args)
        if rest or piped is not _MISSING:
            raise self._err(first, f"can't give argument to non-function {first.src}")
        return self._operand_value(first, dot, vars)

    def _operand_value(self, a: Operand, dot: Any, vars: list[tuple[str, Any]]) -> Any:
        if a.kind == "lit":
            return a.value
        if a.kind == "dot":
            return dot
        if a.kind == "field":
            return self._chain(a, dot, a.names, [])
        if a.kind == "var":
            for name, v in reversed(vars):
                if name == a.value:
                    return self._chain(a, v, a.names, [])
            raise ParseError(f"template: {self.name}:{self._line(a.pos)}: undefined variable \"{a.value}\"")
        if a.kind == "pipe" and a.pipe is not None:
            return self._chain(a, self._pipe(a.pipe, dot, list(vars)), a.names, [])
        if a.kind == "ident":
            return self._command(Command([a]), dot, vars, _MISSING)
        raise self._err(a, "unexpected operand")

    def _chain(self, node: Operand, v: Any, names: tuple[str, ...], args: list[Any]) -> Any:
        for idx, name in enumerate(names):
            last = idx == len(names) - 1
            if isinstance(v, dict):
                if args and last:
                    raise self._err(node, f"{name} is not a method but has arguments")
                if name in v:
                    v = _wrap(name, v[name])
                elif isinstance(v, Struct) and v.aliases.get(name) in v:
                    v = _wrap(name, v[v.aliases[name]])
                elif isinstance(v, Typed) and name in v.omitted:
                    v = v.omitted[name]
                elif isinstance(v, GoMap):
                    v = NO_VALUE
                elif isinstance(v, Struct) and v.go_type:
                    raise self._err(node, f"can't evaluate field {name} in type {v.go_type}")
                else:
                    raise self._err(node, f'map has no entry for key "{name}"')
            elif v is None or isinstance(v, NoValue):
                raise self._err(node, f"nil pointer evaluating interface {{}}.{name}")
            elif isinstance(v, (str, int, float, list)):
                tname = {str: "string", int: "int", float: "float64", bool: "bool"}.get(type(v), "[]interface {}")
                raise self._err(node, f"can't evaluate field {name} in type {tname}")
            else:
                attr = getattr(v, name, None) if name[:1].isupper() else None
                if attr is None:
                    tname = getattr(v, "go_type", type(v).__name__)
                    raise self._err(node, f"can't evaluate field {name} in type {tname}")
                if callable(attr):
                    try:
                        v = attr(*args) if last else attr()
                    except TypeError:
                        raise self._err(node, f"wrong number of args for {name}: want "
                                        f"{attr.__code__.co_argcount - 1} got {len(args)}") from None
                    if last:
                        args = []
                else:
                    v = attr
        if args:
            raise self._err(node, f"can't give argument to non-function {node.src}")
        return v


class _Missing:
    pass


_MISSING = _Missing()


def render(text: str, data: Any, funcs: dict[str, Callable[..., Any]] | None = None) -> str:
    return Template(text, funcs).execute(data)
