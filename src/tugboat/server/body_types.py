"""Type checks for JSON request bodies, as dockerd's Go decoder makes them.

dockerd decodes a body into typed Go structs before anything else runs, so a wrong JSON type
(``"PortBindings": "x"``) is refused up front with the decoder's words::

    json: cannot unmarshal string into Go struct field HostConfig.HostConfig.PortBindings of type nat.PortMap

(``<innermost struct>.<field path from the root>``; array indices and map keys are not part of
the path; a wrong top-level value is ``... into Go value of type runconfig.ContainerConfigWrapper``.)
``check_body`` does the same here, so no wrongly typed body reaches the engine (dockerd 20.10
answers 500 for some of these; tugboat answers 400, as it is the client's error).

Only types are checked, with Go's rules: ``null`` is accepted anywhere (Go leaves the zero
value); unknown fields are ignored; field names match case-insensitively; an integer field
refuses ``1.5`` and out-of-range values (``number -1 ... of type uint16``); ``strslice`` fields
(Cmd, Entrypoint, Shell, CapAdd, CapDrop) take a string or a list of strings.

The types come from tugboat/api/body_schemas.json, generated from the Engine API spec with the
Go types overlaid (see tugboat/tools/gen_api_schema.py for how to regenerate it).  The file is
compiled once at import into nested tuples, so a check is a plain walk of the body.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tugboat.errors import InvalidArgument

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "api" / "body_schemas.json"

_STR, _INT, _NUM, _BOOL, _STRSLICE, _ARR, _MAP, _OBJ, _ANY = range(9)
_KINDS = {"str": _STR, "int": _INT, "num": _NUM, "bool": _BOOL, "strslice": _STRSLICE,
          "arr": _ARR, "map": _MAP, "obj": _OBJ, "any": _ANY}
Node = tuple[Any, ...]


class _Mismatch(Exception):
    """A value of the wrong JSON type; the path is filled in (innermost first) on the way out."""

    def __init__(self, what: str, go: str):
        super().__init__(what)
        self.what = what
        self.go = go
        self.path: list[str] = []
        self.struct: str | None = None


def _compile(spec: dict[str, Any]) -> Node:
    kind = _KINDS[spec["k"]]
    if kind == _INT:
        return (kind, spec["go"], spec["lo"], spec["hi"])
    if kind == _STRSLICE:
        return (kind, "string")
    if kind == _ARR:
        return (kind, spec["go"], _compile(spec["items"]), spec.get("len"))
    if kind == _MAP:
        return (kind, spec["go"], _compile(spec["values"]))
    if kind == _OBJ:
        props = {name: (name, _compile(sub)) for name, sub in spec["props"].items()}
        folded = {name.lower(): entry for name, entry in props.items()}
        return (kind, spec["go"], spec["struct"], props, folded)
    if kind == _ANY:
        return (kind,)
    return (kind, spec["go"])


def _load(path: Path) -> dict[str, Node]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    compiled = {name: _compile(spec) for name, spec in raw.items() if "alias" not in spec}
    compiled.update({name: compiled[spec["alias"]] for name, spec in raw.items() if "alias" in spec})
    return compiled


def _what(value: Any) -> str:
    """The JSON kind as Go's UnmarshalTypeError names it."""
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dict):
        return "object"
    return "array"


def _check(node: Node, value: Any) -> None:
    if value is None:
        return
    kind = node[0]
    if kind == _STR:
        if type(value) is not str:
            raise _Mismatch(_what(value), node[1])
    elif kind == _BOOL:
        if type(value) is not bool:
            raise _Mismatch(_what(value), node[1])
    elif kind == _INT:
        if type(value) is int:
            if not node[2] <= value <= node[3]:
                raise _Mismatch(f"number {value}", node[1])
        elif type(value) is float:
            raise _Mismatch(f"number {value!r}", node[1])
        else:
            raise _Mismatch(_what(value), node[1])
    elif kind == _OBJ:
        if type(value) is not dict:
            raise _Mismatch(_what(value), node[1])
        props, folded = node[3], node[4]
        for key, val in value.items():
            entry = props.get(key) or folded.get(key.lower())
            if entry is None or val is None:
                continue
            try:
                _check(entry[1], val)
            except _Mismatch as e:
                e.path.append(entry[0])
                if e.struct is None:
                    e.struct = node[2]
                raise
    elif kind == _ARR:
        if type(value) is not list:
            raise _Mismatch(_what(value), node[1])
        item = node[2]
        if item[0] == _STR:   # the common []string, inline
            for val in value if node[3] is None else value[:node[3]]:
                if type(val) is not str and val is not None:
                    raise _Mismatch(_what(val), item[1])
        else:
            for val in value if node[3] is None else value[:node[3]]:
                _check(item, val)
    elif kind == _MAP:
        if type(value) is not dict:
            raise _Mismatch(_what(value), node[1])
        sub = node[2]
        for val in value.values():
            _check(sub, val)
    elif kind == _STRSLICE:
        if type(value) is list:
            if not all(type(v) is str or v is None for v in value):
                raise _Mismatch("array", node[1])
        elif type(value) is not str:
            raise _Mismatch(_what(value), node[1])
    elif kind == _NUM:
        if type(value) not in (int, float):
            raise _Mismatch(_what(value), node[1])


_BODIES = _load(SCHEMA_FILE)
BODY_TYPES = frozenset(_BODIES)


def check_body(body_type: str, body: Any) -> None:
    """InvalidArgument (400) with Go's decoder message if ``body`` has a value of the wrong JSON
    type for the Go struct dockerd decodes ``body_type`` (a name in BODY_TYPES) into."""
    root = _BODIES[body_type]
    try:
        _check(root, body)
    except _Mismatch as e:
        if not e.path:
            raise InvalidArgument(f"json: cannot unmarshal {e.what} into Go value of type {e.go}") from None
        field = ".".join(reversed(e.path))
        raise InvalidArgument(f"json: cannot unmarshal {e.what} into Go struct field {e.struct}.{field} "
                              f"of type {e.go}") from None
