"""Host port reservations: bound sockets, dockerd's conflict messages, ephemeral choice."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tugboat import errors
from tugboat.network import ports
from tugboat.network.ports import PortReservations


@pytest.fixture
def res() -> Iterator[PortReservations]:
    r = PortReservations()
    yield r
    for proto, ip, port in r.held():
        r.release(proto, ip, port)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def can_bind(ip: str, port: int, kind: int = socket.SOCK_STREAM) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # even a lenient binder is kept out
        try:
            s.bind((ip, port))
        except OSError:
            return False
        return True


def test_reserved_port_is_held_until_released(res: PortReservations) -> None:
    port = free_port()
    assert res.reserve("tcp", "0.0.0.0", port) == port
    assert not can_bind("0.0.0.0", port) and not can_bind("127.0.0.1", port)
    assert can_bind("0.0.0.0", port, socket.SOCK_DGRAM)        # udp is another port space
    res.release("tcp", "0.0.0.0", port)
    res.release("tcp", "0.0.0.0", port)                        # idempotent
    assert can_bind("0.0.0.0", port)


def test_second_reservation_is_docker_already_allocated(res: PortReservations) -> None:
    port = free_port()
    res.reserve("tcp", "0.0.0.0", port)
    with pytest.raises(errors.Conflict) as e:
        res.reserve("tcp", "0.0.0.0", port)
    assert e.value.message == f"Bind for 0.0.0.0:{port} failed: port is already allocated"
    with pytest.raises(errors.Conflict) as e:
        res.reserve("tcp", "127.0.0.1", port)                  # overlaps 0.0.0.0
    assert e.value.message == f"Bind for 127.0.0.1:{port} failed: port is already allocated"


def test_port_of_another_process_is_docker_userland_proxy_error(res: PortReservations) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
        other.bind(("0.0.0.0", 0))
        port = other.getsockname()[1]
        with pytest.raises(errors.Conflict) as e:
            res.reserve("udp", "0.0.0.0", port)
    assert e.value.message == (f"Error starting userland proxy: listen udp4 0.0.0.0:{port}: "
                               "bind: address already in use")
    assert res.held() == []


def test_port_zero_picks_from_the_ephemeral_range(res: PortReservations) -> None:
    low, high = ports.ephemeral_range()
    a = res.reserve("tcp", "0.0.0.0", 0)
    b = res.reserve("tcp", "0.0.0.0", 0)
    assert low <= a <= high and low <= b <= high and a != b
    assert not can_bind("0.0.0.0", a)
    assert sorted(p for _proto, _ip, p in res.held()) == sorted([a, b])


def test_ephemeral_range_falls_back_to_dockerd_range(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(ports, "PORT_RANGE_FILE", tmp_path / "missing")
    assert ports.ephemeral_range() == (49153, 65535)


def test_invalid_arguments(res: PortReservations) -> None:
    with pytest.raises(errors.InvalidArgument):
        res.reserve("sctp", "0.0.0.0", 80)
    with pytest.raises(errors.InvalidArgument):
        res.reserve("tcp", "0.0.0.0", 70000)


def test_concurrent_reservations_of_one_port_one_wins(res: PortReservations) -> None:
    port = free_port()
    results: list[str] = []

    def take() -> None:
        try:
            res.reserve("tcp", "0.0.0.0", port)
            results.append("ok")
        except errors.Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict"] * 7 + ["ok"]
