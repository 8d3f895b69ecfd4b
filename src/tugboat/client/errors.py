"""Errors the client raises; the CLI turns them into docker's messages and exit codes."""

from __future__ import annotations


class ClientError(Exception):
    """Base of everything tugboat.client raises."""


class APIError(ClientError):
    """A non-2xx answer from the daemon: `status` and the daemon's own `message` (shown verbatim)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @classmethod
    def from_body(cls, status: int, body: bytes) -> APIError:
        text = body.decode("utf-8", "replace").strip()
        try:
            from tugboat.client.jsonlite import loads
            obj = loads(text)
            if isinstance(obj, dict) and "message" in obj:
                text = str(obj["message"]).strip()   # docker's client trims the daemon's message
        except ValueError:
            pass
        return cls(status, text or f"status {status}")

    @property
    def not_found(self) -> bool:
        return self.status == 404


class DaemonUnreachable(ClientError):
    """The socket could not be reached; the CLI prints docker's "Cannot connect ..." line."""

    def __init__(self, host: str, detail: str = "") -> None:
        # docker's exact words: scripts match on them.
        super().__init__(f"Cannot connect to the Docker daemon at {host}. Is the docker daemon running?")
        self.host = host
        self.detail = detail
