""".dockerignore files and Docker's pattern matching (moby/patternmatcher, docker/cli dockerignore).

Pure functions with no dependencies, because two sides need the same answers: the CLI
leaves ignored files out of the context it sends, and the daemon (for API clients that
send everything) removes them again.  The semantics are Docker's, not gitignore's:
patterns are relative to the context root (a leading ``/`` is dropped), ``*`` and ``?``
stop at ``/``, ``**`` spans directories, the last matching pattern wins and ``!`` makes it
an exception; a pattern that matches a directory excludes everything below it.
"""

from __future__ import annotations

import posixpath
import re


def read_patterns(text: str | bytes) -> list[str]:
    """dockerignore.ReadAll: one pattern per line, ``#`` comments, cleaned, leading ``/`` dropped."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    out: list[str] = []
    for i, raw in enumerate(text.split("\n")):
        line = raw.removeprefix("\ufeff") if i == 0 else raw
        line = line.rstrip("\r")
        if line.startswith("#"):
            continue
        line = line.strip()
        if not line:
            continue
        invert = line.startswith("!")
        if invert:
            line = line[1:].strip()
        if line:
            line = posixpath.normpath(line)
            if len(line) > 1 and line.startswith("/"):
                line = line[1:]
        out.append(("!" if invert else "") + line)
    return out


def _to_regex(pattern: str) -> re.Pattern[str]:
    out = "^"
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                out += ".*" if i >= n else "(.*/)?"
                continue
            out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch in ".$":
            out += "\\" + ch
        elif ch == "\\":
            if i + 1 < n:
                out += "\\" + pattern[i + 1]
                i += 1
            else:
                out += "\\\\"
        elif ch in "+()|{}^":
            out += "\\" + ch
        else:
            out += ch
        i += 1
    return re.compile(out + "$", re.S)


class _Pattern:
    # a plain class, not a dataclass: `tug build` imports this module, and dataclasses
    # (inspect, ast, dis) would add more to its start-up than a cached build takes
    __slots__ = ("text", "exclusion", "regex", "dirs")

    def __init__(self, text: str, exclusion: bool, regex: re.Pattern[str] | None, dirs: int) -> None:
        self.text, self.exclusion, self.regex, self.dirs = text, exclusion, regex, dirs

    def match(self, path: str) -> bool:
        return bool(self.regex and self.regex.match(path))


class PatternMatcher:
    """patternmatcher.PatternMatcher (the 20.10 "Matches" behaviour, parents included)."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns: list[_Pattern] = []
        for p in patterns:
            exclusion = p.startswith("!")
            text = p[1:] if exclusion else p
            if exclusion and not text:
                raise ValueError('illegal exclusion pattern: "!"')
            clean = posixpath.normpath(text) if text else text
            try:
                rx: re.Pattern[str] | None = _to_regex(clean)
            except re.error:
                raise ValueError(f"syntax error in pattern {text!r}") from None
            self.patterns.append(_Pattern(clean, exclusion, rx, len(clean.split("/"))))

    @property
    def exclusions(self) -> bool:
        return any(p.exclusion for p in self.patterns)

    def matches(self, path: str) -> bool:
        """Is ``path`` (relative, ``/``-separated) excluded?"""
        path = posixpath.normpath(path)
        parent = posixpath.dirname(path) or "."
        parent_dirs = parent.split("/")
        matched = False
        for p in self.patterns:
            hit = p.match(path)
            if not hit and parent != "." and p.dirs <= len(parent_dirs):
                hit = p.match("/".join(parent_dirs[:p.dirs]))
            if hit:
                matched = not p.exclusion
        return matched


def matches(path: str, patterns: list[str]) -> bool:
    return PatternMatcher(patterns).matches(path)
