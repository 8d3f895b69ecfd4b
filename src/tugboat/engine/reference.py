"""Image references, parsed and normalized exactly as dockerd 20.10 does it.

dockerd vendors docker/distribution's ``reference`` package (v2.7/2.8 era: no IPv6
domains, ``[-]*`` separators).  Users type familiar names (``busybox``), the
reference store keeps normalized ones (``docker.io/library/busybox:latest``) and
every API answer shows the familiar form again, so the three conversions here
(ParseNormalizedNamed, TagNameOnly, FamiliarString) must agree with Docker's
byte for byte: scripts compare ``RepoTags`` strings and error messages.

A bare 64-hex string is an image ID, never a repository name (Docker refuses to
create such a name), and ``sha256:<hex>`` is a digest.  ``parse_any_reference``
returns a :class:`DigestRef` for those and a :class:`Reference` otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from tugboat.errors import InvalidArgument

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

# The grammar of distribution/reference/regexp.go as vendored by moby 20.10.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]*)"
_NAME_COMPONENT = _ALNUM + r"(?:(?:" + _SEPARATOR + _ALNUM + r")+)?"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = _DOMAIN_COMPONENT + r"(?:(?:\." + _DOMAIN_COMPONENT + r")+)?(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}"
_NAME = r"(?:" + _DOMAIN + r"/)?" + _NAME_COMPONENT + r"(?:(?:/" + _NAME_COMPONENT + r")+)?"

REFERENCE_RE = re.compile(r"^(" + _NAME + r")(?::(" + _TAG + r"))?(?:@(" + _DIGEST + r"))?$", re.ASCII)
ANCHORED_NAME_RE = re.compile(
    r"^(?:(" + _DOMAIN + r")/)?(" + _NAME_COMPONENT + r"(?:(?:/" + _NAME_COMPONENT + r")+)?)$", re.ASCII)
TAG_RE = re.compile(r"^" + _TAG + r"$", re.ASCII)
IDENTIFIER_RE = re.compile(r"^[a-f0-9]{64}$")
SHORT_IDENTIFIER_RE = re.compile(r"^[a-f0-9]{6,64}$")

# go-digest: the algorithms dockerd links in, and their hex lengths.
_DIGEST_ALGOS = {"sha256": 64, "sha384": 96, "sha512": 128}
_GO_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")

ERR_INVALID_FORMAT = "invalid reference format"
ERR_UPPERCASE = "repository name must be lowercase"
ERR_NAME_EMPTY = "repository name must have at least one component"
ERR_NAME_TOO_LONG = f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
ERR_TAG_FORMAT = "invalid tag format"
ERR_DIGEST_FORMAT = "invalid checksum digest format"
ERR_DIGEST_LENGTH = "invalid checksum digest length"
ERR_DIGEST_UNSUPPORTED = "unsupported digest algorithm"


class ReferenceError(InvalidArgument):
    """A string that is not a valid image reference (dockerd answers 400)."""


@dataclass(frozen=True)
class Reference:
    """A named reference: ``domain/path[:tag][@digest]``.

    ``domain`` is empty only for references from :func:`parse` on a string that
    carried none; normalized references always have one.
    """

    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}" if self.domain else self.path

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s

    @property
    def is_name_only(self) -> bool:
        return not self.tag and not self.digest

    @property
    def is_canonical(self) -> bool:
        """Has a digest (Go's reference.Canonical)."""
        return bool(self.digest)

    @property
    def is_tagged(self) -> bool:
        """Has a tag (Go's reference.NamedTagged)."""
        return bool(self.tag)

    def familiar_name(self) -> str:
        if self.domain == DEFAULT_DOMAIN:
            # "library/" is dropped only for single-component official names:
            # dockerd 20.10 shows "library/foo/bar:1" as such.
            rest = self.path.removeprefix(OFFICIAL_REPO_PREFIX)
            return rest if "/" not in rest else self.path
        return self.name

    def familiar(self) -> str:
        """FamiliarString: ``busybox:latest``, ``user/app@sha256:...``."""
        s = self.familiar_name()
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s

    def trimmed(self) -> Reference:
        """TrimNamed: the repository alone."""
        return Reference(self.domain, self.path)

    def with_tag(self, tag: str) -> Reference:
        if not TAG_RE.match(tag):
            raise ReferenceError(ERR_TAG_FORMAT)
        return replace(self, tag=tag)

    def tag_name_only(self) -> Reference:
        """TagNameOnly: add ``:latest`` to a bare repository name."""
        return replace(self, tag=DEFAULT_TAG) if self.is_name_only else self


@dataclass(frozen=True)
class DigestRef:
    """A reference that is only a digest / image ID: ``sha256:<64 hex>``."""

    digest: str

    def __str__(self) -> str:
        return self.digest

    def familiar(self) -> str:
        return self.digest


def validate_digest(d: str) -> None:
    """go-digest's Digest.Validate, with its error texts."""
    i = d.find(":")
    if i <= 0 or i + 1 == len(d):
        raise ReferenceError(ERR_DIGEST_FORMAT)
    algo, encoded = d[:i], d[i + 1:]
    if algo not in _DIGEST_ALGOS:
        if not _GO_DIGEST_RE.match(d):
            raise ReferenceError(ERR_DIGEST_FORMAT)
        raise ReferenceError(ERR_DIGEST_UNSUPPORTED)
    if len(encoded) != _DIGEST_ALGOS[algo]:
        raise ReferenceError(ERR_DIGEST_LENGTH)
    if not re.fullmatch(r"[a-f0-9]+", encoded):
        raise ReferenceError(ERR_DIGEST_FORMAT)


def is_digest(d: str) -> bool:
    try:
        validate_digest(d)
    except ReferenceError:
        return False
    return True


def parse(s: str) -> Reference | DigestRef:
    """distribution's reference.Parse: syntax only, no normalization."""
    m = REFERENCE_RE.match(s)
    if m is None:
        if s == "":
            raise ReferenceError(ERR_NAME_EMPTY)
        if REFERENCE_RE.match(s.lower()) is not None:
            raise ReferenceError(ERR_UPPERCASE)
        raise ReferenceError(ERR_INVALID_FORMAT)
    name, tag, digest = m.group(1), m.group(2) or "", m.group(3) or ""
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise ReferenceError(ERR_NAME_TOO_LONG)
    nm = ANCHORED_NAME_RE.match(name)
    domain, path = (nm.group(1) or "", nm.group(2)) if nm else ("", name)
    if digest:
        validate_digest(digest)
    return Reference(domain, path, tag, digest)


def split_docker_domain(name: str) -> tuple[str, str]:
    """Split off the registry: the first component is a domain only if it
    contains '.' or ':' or is 'localhost'."""
    i = name.find("/")
    if i == -1 or (not any(c in name[:i] for c in ".:") and name[:i] != "localhost"):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = name[:i], name[i + 1:]
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def parse_normalized_named(s: str) -> Reference:
    """ParseNormalizedNamed: ``busybox`` -> ``docker.io/library/busybox``."""
    if IDENTIFIER_RE.match(s):
        raise ReferenceError(
            f"invalid repository name ({s}), cannot specify 64-byte hexadecimal strings")
    domain, remainder = split_docker_domain(s)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        raise ReferenceError(ERR_INVALID_FORMAT + ": " + ERR_UPPERCASE)
    ref = parse(domain + "/" + remainder)
    if not isinstance(ref, Reference):  # pragma: no cover - parse always names here
        raise ReferenceError(f"reference {ref} has no name")
    return ref


def parse_any_reference(s: str) -> Reference | DigestRef:
    """ParseAnyReference: a 64-hex ID or a ``sha256:`` digest, else a name."""
    if IDENTIFIER_RE.match(s):
        return DigestRef("sha256:" + s)
    if is_digest(s):
        return DigestRef(s)
    return parse_normalized_named(s)


def normalize(s: str) -> str:
    """The string the reference store keys on: normalized, with a default tag."""
    return str(parse_normalized_named(s).tag_name_only())


def familiar(normalized: str) -> str:
    """FamiliarString of an already-normalized reference string."""
    ref = parse(normalized)
    return ref.familiar() if isinstance(ref, Reference) else str(ref)


def short_id(image_id: str) -> str:
    """stringid.TruncateID: 12 hex characters, without the algorithm."""
    return image_id.split(":", 1)[-1][:12]


# ---- Go's path.Match, used by `reference=` filters (reference.FamiliarMatch) ----

class BadPattern(InvalidArgument):
    """path.ErrBadPattern."""


def _get_esc(chunk: str) -> tuple[str, str]:
    if not chunk or chunk[0] in "-]":
        raise BadPattern("syntax error in pattern")
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if not chunk:
            raise BadPattern("syntax error in pattern")
    r, rest = chunk[0], chunk[1:]
    if not rest:
        raise BadPattern("syntax error in pattern")
    return r, rest


def _scan_chunk(pattern: str) -> tuple[bool, str, str]:
    star = False
    while pattern and pattern[0] == "*":
        pattern, star = pattern[1:], True
    inrange, i = False, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if i + 1 < len(pattern):
                i += 1
        elif c == "[":
            inrange = True
        elif c == "]":
            inrange = False
        elif c == "*" and not inrange:
            break
        i += 1
    return star, pattern[:i], pattern[i:]


def _match_chunk(chunk: str, s: str) -> tuple[str, bool]:
    failed = False
    while chunk:
        if not failed and not s:
            failed = True
        c = chunk[0]
        if c == "[":
            r = ""
            if not failed:
                r, s = s[0], s[1:]
            chunk = chunk[1:]
            negated = False
            if chunk and chunk[0] == "^":
                negated, chunk = True, chunk[1:]
            matched, nrange = False, 0
            while True:
                if chunk and chunk[0] == "]" and nrange > 0:
                    chunk = chunk[1:]
                    break
                lo, chunk = _get_esc(chunk)
                hi = lo
                if chunk[0] == "-":
                    hi, chunk = _get_esc(chunk[1:])
                if not failed and lo <= r <= hi:
                    matched = True
                nrange += 1
            if matched == negated:
                failed = True
        elif c == "?":
            if not failed:
                if s[0] == "/":
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
        else:
            if c == "\\":
                chunk = chunk[1:]
                if not chunk:
                    raise BadPattern("syntax error in pattern")
            if not failed:
                if chunk[0] != s[0]:
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
    return ("", False) if failed else (s, True)


def path_match(pattern: str, name: str) -> bool:
    """Go's path.Match: '*' and '?' never cross '/'; raises BadPattern."""
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and chunk == "":
            return "/" not in name
        t, ok = _match_chunk(chunk, name)
        if ok and (not t or pattern):
            name = t
            continue
        if star:
            found = False
            i = 0
            while i < len(name) and name[i] != "/":
                t, ok = _match_chunk(chunk, name[i + 1:])
                if ok and not (not pattern and t):
                    name, found = t, True
                    break
                i += 1
            if found:
                continue
        while pattern:
            _, chunk, pattern = _scan_chunk(pattern)
            _match_chunk(chunk, "")
        return False
    return not name


def familiar_match(pattern: str, ref: Reference) -> bool:
    """reference.FamiliarMatch: match the familiar string, then the familiar name."""
    if path_match(pattern, ref.familiar()):
        return True
    return path_match(pattern, ref.familiar_name())
