"""Registry errors (distribution's errcode JSON) and dockerd's translation of them.

A registry explains failures as ``{"errors": [{"code": "MANIFEST_UNKNOWN", "message": ...}]}``;
Go's errcode.Error prints as "<code in lower case with spaces>: <message>", and dockerd's
TranslatePullError wraps the first error in the sentences users know ("manifest for x:1 not
found: manifest unknown: manifest unknown").  Those are 404s before any output, so the docker
CLI prints "Error response from daemon: ...".
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tugboat.errors import NotFound, TugboatError, Unauthorized


@dataclass(frozen=True)
class ErrCode:
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code.lower().replace('_', ' ')}: {self.message}"


class RegistryError(TugboatError):
    """A registry answered with an error status; ``codes`` as parsed from its body."""

    def __init__(self, status: int, codes: list[ErrCode], text: str = "") -> None:
        self.status = status
        self.codes = codes
        if codes:
            msg = str(codes[0])
        elif status == 401 and text == "no basic auth credentials":
            msg = text
        elif status == 401:
            msg = "unauthorized: authentication required"
        else:
            msg = f"received unexpected HTTP status: {status} {text}".rstrip()
        super().__init__(msg)

    @property
    def code(self) -> str:
        return self.codes[0].code if self.codes else ""


class RegistryUnauthorized(RegistryError, Unauthorized):
    """401 after the auth dance (wrong or missing credentials)."""


def parse_error_body(status: int, body: bytes, reason: str = "") -> RegistryError:
    codes: list[ErrCode] = []
    try:
        obj = json.loads(body or b"{}")
        for e in obj.get("errors") or []:
            codes.append(ErrCode(str(e.get("code", "UNKNOWN")), str(e.get("message", ""))))
    except (ValueError, AttributeError):
        pass
    cls = RegistryUnauthorized if status == 401 else RegistryError
    return cls(status, codes, reason)


def translate_pull_error(err: RegistryError, familiar_name: str, familiar_ref: str) -> TugboatError:
    """distribution.TranslatePullError + notFoundError.Error()."""
    code = err.code
    first = err.codes[0] if err.codes else None
    if str(err) == "no basic auth credentials":
        # not a 401 for the client: docker 28's CLI would answer one with a login prompt
        return TugboatError(str(err))
    if code in ("DENIED", "UNAUTHORIZED") or (not first and err.status == 401):
        cause = str(first) if first else str(err)
        return NotFound(f"pull access denied for {familiar_name}, repository does not exist or may "
                        f"require 'docker login': {cause}")
    if code == "MANIFEST_UNKNOWN":
        return NotFound(f"manifest for {familiar_ref} not found: {first}")
    if code == "NAME_UNKNOWN":
        return NotFound(f"repository {familiar_name} not found: {first}")
    if err.status == 404 and not first:
        return NotFound(f"manifest for {familiar_ref} not found: manifest unknown: manifest unknown")
    return err
