"""commit and the archive API (docker cp): POST /commit, HEAD/GET/PUT /containers/{id}/archive.

The path stat travels in the ``X-Docker-Container-Path-Stat`` header (api/path_stat.py); it is
decoded here so callers see a plain dict (name, size, mode, mtime, linkTarget).
"""

from __future__ import annotations

from tugboat.api.path_stat import STAT_HEADER, decode_stat
from tugboat.client.errors import APIError
from tugboat.client.transport import Response, Transport

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _stat(resp: Response) -> dict[str, Any]:
    raw = resp.headers.get(STAT_HEADER.lower()) or ""   # header names arrive lower-cased
    if not raw:
        return {}
    return decode_stat(raw)


class Archive:
    def __init__(self, t: Transport) -> None:
        self._t = t

    def commit(self, container: str, repo: str | None = None, tag: str | None = None, comment: str = "",
               author: str = "", changes: list[str] | None = None, pause: bool = True,
               config: dict[str, Any] | None = None) -> dict[str, Any]:
        params = {"container": container, "repo": repo or None, "tag": tag or None,
                  "comment": comment or None, "author": author or None, "changes": changes or None,
                  "pause": pause}
        return self._t.post_json("/commit", params, config)

    def stat(self, container: str, path: str) -> dict[str, Any]:
        """HEAD: the ContainerPathStat; a 404 carries no body, so its message is docker's."""
        resp = self._t._send("HEAD", f"/containers/{container}/archive", None, {}, params={"path": path})
        resp.read()
        if resp.status == 404:
            raise APIError(404, f"Could not find the file {path} in container {container}")
        if resp.status >= 400:
            raise APIError(resp.status, f"error stating {path} in container {container} (HTTP {resp.status})")
        return _stat(resp)

    def get(self, container: str, path: str) -> tuple[dict[str, Any], Response]:
        resp = self._t.request("GET", f"/containers/{container}/archive", {"path": path})
        return _stat(resp), resp

    def put(self, container: str, path: str, body: Any, no_overwrite_dir_non_dir: bool = True,
            copy_uid_gid: bool = False) -> None:
        self._t.request("PUT", f"/containers/{container}/archive",
                        {"path": path, "noOverwriteDirNonDir": no_overwrite_dir_non_dir or None,
                         "copyUIDGID": copy_uid_gid or None}, body,
                        {"Content-Type": "application/x-tar"}).read()
