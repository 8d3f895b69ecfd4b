"""Dockerfile instructions applied to an image config: ``import -c`` / ``commit -c``.

dockerd runs the ``changes`` strings through the Dockerfile parser and the
builder's dispatchers (builder/dockerfile BuildFromConfig), so quoting, ``$VAR``
expansion, exec versus shell form and the error texts are the Dockerfile's.
This module mirrors that for the instructions a change may use; the builder can
reuse :func:`apply_instruction` with a wider ``allowed`` set.
"""

from __future__ import annotations

import copy
import json
import posixpath
import re
from collections.abc import Iterable
from typing import Any

from tugboat.api.timefmt import parse_duration
from tugboat.errors import InvalidArgument

# builder/dockerfile validCommitCommands in dockerd 20.10 (STOPSIGNAL is not one).
COMMIT_CHANGE_COMMANDS = frozenset(
    {"cmd", "entrypoint", "healthcheck", "env", "expose", "label", "onbuild", "user", "volume", "workdir"})
DEFAULT_SHELL = ["/bin/sh", "-c"]


def parse_words(rest: str, escape: str = "\\") -> list[str]:
    """buildkit parser.parseWords: split on blanks, keeping quotes and escapes."""
    words: list[str] = []
    word, quote, blank_ok, phase = "", "", False, 0  # 0 spaces, 1 word, 2 quote
    i, n = 0, len(rest)
    while i <= n:
        ch = rest[i] if i < n else ""
        if phase == 0:
            if i == n:
                break
            if ch.isspace():
                i += 1
                continue
            phase = 1
        if i == n:
            if blank_ok or word:
                words.append(word)
            break
        if phase == 1:
            if ch.isspace():
                phase = 0
                if blank_ok or word:
                    words.append(word)
                word, blank_ok = "", False
                i += 1
                continue
            if ch in "'\"":
                quote, blank_ok, phase = ch, True, 2
            if ch == escape:
                if i + 1 == n:
                    i += 1
                    continue
                word += ch
                i += 1
                ch = rest[i]
            word += ch
            i += 1
            continue
        # phase 2: inside quotes
        if ch == quote:
            phase = 1
        if ch == escape and quote != "'":
            if i + 1 == n:
                phase = 1
                i += 1
                continue
            word += ch
            i += 1
            ch = rest[i]
        word += ch
        i += 1
    return words


def expand(word: str, env: list[str] | None, escape: str = "\\") -> str:
    """The Dockerfile shell lexer: quote removal, escapes, $VAR / ${VAR[:-+]word}."""
    vals: dict[str, str] = {}
    for kv in env or []:
        k, _, v = kv.partition("=")
        vals[k] = v
    out: list[str] = []
    i, n = 0, len(word)

    def dollar(i: int) -> tuple[str, int]:
        # word[i] == "$"
        if i + 1 < n and word[i + 1] == "{":
            j = word.find("}", i + 2)
            if j < 0:
                raise InvalidArgument(f"failed to process \"{word}\": missing '}}'")
            body = word[i + 2:j]
            m = re.match(r"^([A-Za-z0-9_]+)(?::?([-+])(.*))?$", body, re.S)
            if not m:
                raise InvalidArgument(f"failed to process \"{word}\": unexpected character in variable name")
            name, op, alt = m.group(1), m.group(2), m.group(3) or ""
            colon = ":" in body[len(name):len(name) + 1]
            val = vals.get(name)
            if op == "-":
                res = val if (val is not None and (val or not colon)) else expand(alt, env, escape)
            elif op == "+":
                res = expand(alt, env, escape) if (val is not None and (val or not colon)) else ""
            else:
                res = val or ""
            return res, j + 1
        m = re.match(r"[A-Za-z0-9_]+", word[i + 1:])
        if not m:
            return "$", i + 1
        return vals.get(m.group(0), ""), i + 1 + m.end()

    while i < n:
        ch = word[i]
        if ch == "'":
            j = word.find("'", i + 1)
            if j < 0:
                raise InvalidArgument(f"failed to process \"{word}\": unexpected end of statement while looking for matching single-quote")
            out.append(word[i + 1:j])
            i = j + 1
        elif ch == '"':
            i += 1
            while True:
                if i >= n:
                    raise InvalidArgument(f"failed to process \"{word}\": unexpected end of statement while looking for matching double-quote")
                c = word[i]
                if c == '"':
                    i += 1
                    break
                if c == "$":
                    s, i = dollar(i)
                    out.append(s)
                    continue
                if c == escape and i + 1 < n and word[i + 1] in ('"', "$", escape):
                    out.append(word[i + 1])
                    i += 2
                    continue
                out.append(c)
                i += 1
        elif ch == escape:
            if i + 1 < n:
                out.append(word[i + 1])
            i += 2
        elif ch == "$":
            s, i = dollar(i)
            out.append(s)
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _maybe_json(rest: str) -> tuple[list[str], bool]:
    """parseMaybeJSON: an exec-form JSON string array, else the raw shell string."""
    rest = rest.strip()
    if rest.startswith("["):
        try:
            val = json.loads(rest)
        except ValueError:
            val = None
        if isinstance(val, list) and all(isinstance(v, str) for v in val):
            return val, True
    return ([rest] if rest else []), False


def _name_vals(name: str, rest: str) -> list[tuple[str, str]]:
    """parseNameVal: ``KEY name value`` (old) or ``KEY a=b c=d`` (new)."""
    words = parse_words(rest)
    if not words:
        return []
    if "=" not in words[0]:
        parts = re.split(r"[\t\v\f\r ]+", rest.strip(), maxsplit=1)
        if len(parts) < 2:
            raise InvalidArgument(f"{name} must have two arguments")
        return [(parts[0], parts[1])]
    out = []
    for w in words:
        if "=" not in w:
            raise InvalidArgument(
                f'Syntax error - can\'t find = in "{w}". Must be of the form: name=value')
        k, _, v = w.partition("=")
        out.append((k, v))
    return out


def parse_port_spec(spec: str) -> list[str]:
    """nat.ParsePortSpecs for EXPOSE values: ``80``, ``80/udp``, ``8000-8010/tcp``."""
    port, _, proto = spec.partition("/")
    proto = proto or "tcp"
    if proto.lower() not in ("tcp", "udp", "sctp"):
        raise InvalidArgument(f"Invalid proto: {proto}")
    m = re.fullmatch(r"(\d+)(?:-(\d+))?", port)
    if not m:
        raise InvalidArgument(f"Invalid containerPort: {port}")
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else start
    if start > 65535 or end > 65535:
        raise InvalidArgument(f"Invalid containerPort: {port}")
    if end < start:
        raise InvalidArgument(f"Invalid range specified for the Port: {port}")
    return [f"{p}/{proto.lower()}" for p in range(start, end + 1)]


_HC_FLAGS = {"interval": "Interval", "timeout": "Timeout", "start-period": "StartPeriod", "retries": "Retries"}


def _healthcheck(rest: str) -> dict[str, Any]:
    """HEALTHCHECK [--interval=D --timeout=D --start-period=D --retries=N] CMD ... | NONE."""
    hc: dict[str, Any] = {}
    rest = rest.strip()
    while (m := re.match(r"--([\w-]+)(?:=(\S*))?\s*", rest)):
        flag, val = m.group(1), m.group(2) or ""
        rest = rest[m.end():]
        if flag not in _HC_FLAGS:
            raise InvalidArgument(f"Unknown flag: {flag}")
        if flag == "retries":
            try:
                hc["Retries"] = int(val)
            except ValueError:
                raise InvalidArgument(f'strconv.ParseInt: parsing "{val}": invalid syntax') from None
            if hc["Retries"] < 0:
                raise InvalidArgument("--retries cannot be negative")
            continue
        d = parse_duration(val) if val not in ("", "0") else 0
        if d is None:
            raise InvalidArgument(f'time: invalid duration "{val}"')
        if d and d < 1_000_000:
            raise InvalidArgument(f"Interval \"--{flag}\" cannot be less than 1ms")
        hc[_HC_FLAGS[flag]] = d
    kind, _, body = rest.partition(" ")
    if not kind:
        raise InvalidArgument("Missing command after HEALTHCHECK")
    kind, body = kind.upper(), body.strip()
    if kind == "NONE":
        if body:
            raise InvalidArgument("HEALTHCHECK NONE takes no arguments")
        return {"Test": ["NONE"]}
    if kind != "CMD":
        raise InvalidArgument(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    args, is_json = _maybe_json(body)
    test = (["CMD"] + args) if is_json else (["CMD-SHELL"] + args)
    return {"Test": test, **{k: hc[k] for k in ("Interval", "Timeout", "StartPeriod", "Retries") if k in hc}}


def split_instruction(line: str) -> tuple[str, str]:
    line = line.strip()
    m = re.match(r"^(\S+)\s*(.*)$", line, re.S)
    if not m:
        return "", ""
    return m.group(1).lower(), m.group(2)


def apply_instruction(cfg: dict[str, Any], cmd: str, rest: str, original: str,
                      state: dict[str, Any]) -> None:
    """Dispatch one parsed instruction onto cfg (a container.Config dict), in place."""
    env = cfg.get("Env") or []
    if cmd in ("cmd", "entrypoint"):
        args, is_json = _maybe_json(rest)
        line = args if is_json else list(cfg.get("Shell") or DEFAULT_SHELL) + args
        if cmd == "cmd":
            cfg["Cmd"] = line
            state["cmd_set"] = state.get("cmd_set") or bool(args)
        else:
            cfg["Entrypoint"] = line
            if not state.get("cmd_set"):
                cfg["Cmd"] = None
    elif cmd in ("env", "label"):
        kvs = _name_vals(cmd.upper(), rest)
        if not kvs:
            raise InvalidArgument(f"{cmd.upper()} requires at least one argument")
        for k, v in kvs:
            k, v = expand(k, env), expand(v, env)
            if cmd == "env":
                if not k:
                    raise InvalidArgument("ENV names can not be blank")
                old = cfg.get("Env") or []
                idx = next((i for i, e in enumerate(old) if e.partition("=")[0] == k), None)
                if idx is None:
                    new = old + [f"{k}={v}"]
                else:
                    new = old[:idx] + [f"{k}={v}"] + old[idx + 1:]
                cfg["Env"] = new
                env = new
            else:
                if not k:
                    raise InvalidArgument("LABEL names can not be blank")
                cfg["Labels"] = {**(cfg.get("Labels") or {}), k: v}
    elif cmd == "expose":
        specs = rest.split()
        if not specs:
            raise InvalidArgument("EXPOSE requires at least one argument")
        ports = dict(cfg.get("ExposedPorts") or {})
        for spec in specs:
            for p in parse_port_spec(expand(spec, env)):
                ports[p] = {}
        cfg["ExposedPorts"] = ports
    elif cmd in ("user", "workdir", "stopsignal"):
        if not rest.strip():
            raise InvalidArgument(f"{cmd.upper()} requires exactly one argument")
        val = expand(rest.strip(), env)
        if cmd == "user":
            cfg["User"] = val
        elif cmd == "stopsignal":
            cfg["StopSignal"] = val
        else:
            if not posixpath.isabs(val):
                val = posixpath.join("/", cfg.get("WorkingDir") or "", val)
            cfg["WorkingDir"] = posixpath.normpath(val).replace("//", "/")
    elif cmd == "volume":
        args, is_json = _maybe_json(rest)
        vols = args if is_json else rest.split()
        if not vols:
            raise InvalidArgument("VOLUME requires at least one argument")
        volumes = dict(cfg.get("Volumes") or {})
        for v in vols:
            v = expand(v.strip(), env) if not is_json else v.strip()
            if not v:
                raise InvalidArgument("VOLUME specified can not be an empty string")
            volumes[v] = {}
        cfg["Volumes"] = volumes
    elif cmd == "onbuild":
        trigger = rest.strip()
        if not trigger:
            raise InvalidArgument("ONBUILD requires at least one argument")
        first = trigger.split()[0].upper()
        if first == "ONBUILD":
            raise InvalidArgument("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        if first in ("MAINTAINER", "FROM"):
            raise InvalidArgument(f"{first} isn't allowed as an ONBUILD trigger")
        expr = re.sub(r"(?i)^\s*ONBUILD\s*", "", original, count=1)
        cfg["OnBuild"] = list(cfg.get("OnBuild") or []) + [expr]
    elif cmd == "healthcheck":
        cfg["Healthcheck"] = _healthcheck(rest)
    elif cmd == "shell":
        args, is_json = _maybe_json(rest)
        if not is_json:
            raise InvalidArgument("SHELL requires the arguments to be in JSON form")
        cfg["Shell"] = args
    else:  # pragma: no cover - filtered by the caller
        raise InvalidArgument(f"{cmd} is not a valid change command")


def apply_changes(config: dict[str, Any] | None, changes: Iterable[str],
                  allowed: frozenset[str] = COMMIT_CHANGE_COMMANDS) -> dict[str, Any]:
    """BuildFromConfig: a copy of config with every change applied.

    Raises InvalidArgument with dockerd's messages; nothing is applied unless all
    changes are valid."""
    cfg = copy.deepcopy(config or {})
    lines: list[tuple[str, str, str]] = []
    for change in changes:
        for raw in change.split("\n"):
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            cmd, rest = split_instruction(raw)
            lines.append((cmd, rest, raw.strip()))
    for cmd, _, _ in lines:
        if cmd not in allowed:
            raise InvalidArgument(f"{cmd} is not a valid change command")
    state: dict[str, Any] = {}
    for cmd, rest, original in lines:
        apply_instruction(cfg, cmd, rest, original, state)
    return cfg
