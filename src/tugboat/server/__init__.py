"""tugd's HTTP layer: the Docker Engine API v1.41 on unix sockets.

HTTP stops here.  ``listener`` binds sockets, ``connection`` speaks HTTP/1.1
(keep-alive, chunked streams, hijacking), ``router`` matches method + path and
negotiates the API version, ``routes/`` holds one table per resource whose
handlers call one engine method each, and ``errors`` is the only place that maps
engine errors to status codes.
"""

from tugboat.server.listener import APIServer

__all__ = ["APIServer"]
