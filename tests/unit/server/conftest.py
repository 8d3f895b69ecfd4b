"""Fixtures: an APIServer on a private socket with a fake engine, and small clients."""

from collections.abc import Iterator

import pytest
from server_fakes import FakeEngine
from server_http_helpers import UnixHTTPConnection

from tugboat.server import APIServer


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def sock_path() -> Iterator[str]:
    # AF_UNIX paths are limited to 108 bytes; pytest's tmp_path can be longer.
    import tempfile
    d = tempfile.mkdtemp(prefix="tugsrv-", dir="/tmp")
    yield f"{d}/sub/api.sock"
    import shutil
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def server(engine: FakeEngine, sock_path: str) -> Iterator[APIServer]:
    srv = APIServer(engine, [sock_path])
    srv.start()
    yield srv
    srv.shutdown()


@pytest.fixture
def conn(server: APIServer, sock_path: str) -> Iterator[UnixHTTPConnection]:
    c = UnixHTTPConnection(sock_path)
    yield c
    c.close()
