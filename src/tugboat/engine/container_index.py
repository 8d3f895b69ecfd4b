"""Name and ID index: how a user's "ref" becomes a container.

Lookup order is dockerd's (daemon.GetContainer): exact full ID, exact name, then a
unique ID prefix.  An ambiguous prefix is a 500 "Multiple IDs found with provided
prefix: ..." as in moby's truncindex; nothing found is NotFound "No such container".
The index has its own lock; callers hold it only for the lookup itself.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from tugboat.errors import Conflict, NotFound, TugboatError

T = TypeVar("T")


class ContainerIndex(Generic[T]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, T] = {}
        self._names: dict[str, str] = {}   # "/name" -> id

    def __len__(self) -> int:
        return len(self._by_id)

    def values(self) -> list[T]:
        with self._lock:
            return list(self._by_id.values())

    def get(self, ref: str) -> T:
        with self._lock:
            if not ref:
                raise NotFound("No such container: ")
            if ref in self._by_id:
                return self._by_id[ref]
            cid = self._names.get(ref if ref.startswith("/") else "/" + ref)
            if cid is not None and cid in self._by_id:   # not yet added: still being created
                return self._by_id[cid]
            matches = [i for i in self._by_id if i.startswith(ref)]
            if len(matches) > 1:
                raise TugboatError(f"Multiple IDs found with provided prefix: {ref}")
            if matches:
                return self._by_id[matches[0]]
        raise NotFound(f"No such container: {ref}")

    def reserve(self, name: str, cid: str) -> None:
        """Claim a name ("/x") for a container ID, failing like dockerd if it is taken."""
        with self._lock:
            owner = self._names.get(name)
            if owner is not None and owner != cid:
                raise Conflict(
                    f'Conflict. The container name "{name}" is already in use by container "{owner}". '
                    "You have to remove (or rename) that container to be able to reuse that name.")
            self._names[name] = cid

    def name_taken(self, name: str) -> bool:
        with self._lock:
            return name in self._names

    def release_name(self, name: str, cid: str) -> None:
        with self._lock:
            if self._names.get(name) == cid:
                del self._names[name]

    def add(self, cid: str, item: T) -> None:
        with self._lock:
            self._by_id[cid] = item

    def remove(self, cid: str, name: str) -> None:
        with self._lock:
            self._by_id.pop(cid, None)
            if self._names.get(name) == cid:
                del self._names[name]

    def has_id(self, cid: str) -> bool:
        with self._lock:
            return cid in self._by_id
