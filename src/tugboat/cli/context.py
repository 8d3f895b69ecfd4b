"""What every command gets: the chosen host, a lazily built client, and docker's error printing."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

    from tugboat.client import Client


class Context:
    def __init__(self, host: str | None = None, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.host = host
        self.out: TextIO = out or sys.stdout
        self.err: TextIO = err or sys.stderr
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            from tugboat.client import Client
            self._client = Client(self.host)
        return self._client

    def print(self, *a: Any) -> None:
        print(*a, file=self.out)

    def eprint(self, *a: Any) -> None:
        print(*a, file=self.err)

    def daemon_error(self, e: Exception) -> None:
        """`Error response from daemon: <message>` for API errors, the bare text for the rest."""
        from tugboat.client import APIError
        if isinstance(e, APIError):
            self.eprint(f"Error response from daemon: {e.message}")
        else:
            self.eprint(str(e))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
