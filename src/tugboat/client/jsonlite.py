"""json.loads/json.dumps on the C accelerator directly.

Why: `import json` pulls in `re` (and through it enum/functools), ~2 ms of `tug`'s start-up on the
hot path (run, ps). The `_json` C scanner and encoder need none of that. Falls back to `json` on
interpreters without `_json`.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

try:
    import _json

    class _Context:
        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        parse_constant = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}.__getitem__
        memo: dict[str, str] = {}

    _scan = _json.make_scanner(_Context())  # type: ignore[arg-type]  # a duck-typed context

    def _default(o: Any) -> Any:
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

    _encode = _json.make_encoder(None, _default, _json.encode_basestring_ascii, None, ":", ",",
                                 False, False, True)

    def loads(s: str | bytes | bytearray) -> Any:
        text = s.decode("utf-8") if isinstance(s, (bytes, bytearray)) else s
        n = len(text)
        i = 0
        while i < n and text[i] in " \t\r\n":
            i += 1
        try:
            obj, end = _scan(text, i)
        except StopIteration as e:
            raise ValueError(f"Expecting value: char {e.value}") from None
        while end < n and text[end] in " \t\r\n":
            end += 1
        if end != n:
            raise ValueError(f"Extra data: char {end}")
        return obj

    def raw_decode(text: str, i: int = 0) -> tuple[Any, int]:
        """(object, end) for the JSON value starting at text[i:] (leading whitespace skipped)."""
        n = len(text)
        while i < n and text[i] in " \t\r\n":
            i += 1
        try:
            result: tuple[Any, int] = _scan(text, i)
            return result
        except StopIteration as e:
            raise ValueError(f"Expecting value: char {e.value}") from None

    def dumps(obj: Any) -> str:
        return "".join(_encode(obj, 0))

except ImportError:  # pragma: no cover - CPython always has _json
    import json as _stdjson

    def loads(s: str | bytes | bytearray) -> Any:
        return _stdjson.loads(s)

    def raw_decode(text: str, i: int = 0) -> tuple[Any, int]:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return _stdjson.JSONDecoder().raw_decode(text, i)

    def dumps(obj: Any) -> str:
        return _stdjson.dumps(obj, separators=(",", ":"))
